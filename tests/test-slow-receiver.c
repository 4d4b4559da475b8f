/* test-slow-receiver.c: a receiver that reads too slowly, on both buses
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What the buses do (measured here, see docs/dbus-broker.md):
 *  - dbus-daemon 1.14: when the queue of messages for a receiver is over
 *    max_outgoing_bytes it stops reading from the sender; it neither drops
 *    nor refuses. The messages then wait in the sender's own queue.
 *  - dbus-broker 33: it never stops reading. Past the sending user's
 *    quota (--max-bytes, per user, shared by all of a user's connections)
 *    it drops a unicast signal without telling anybody, or disconnects
 *    the sender.
 * eipc keeps a window of unacknowledged sends (eipc-bus.c): past it a send
 * waits for the receiver a bounded time and then fails with
 * EIPC_ERROR_LIMITS_EXCEEDED, the same on both buses, and every message
 * that was accepted arrives, once.
 */

#include <signal.h>
#include <string.h>

#include "test-common.h"

/* eipc's window (EIPC_SEND_WINDOW in src/eipc-private.h). */
#define SEND_WINDOW  4096

typedef struct {
  guint   accepted;
  GError *error;
} Flood;

/* Sends [0], [1], ... on "load" until a send fails or @max were sent;
 * the main context runs now and then, as in an application. */
static void
flood (EipcRenderer *renderer,
       guint         max,
       Flood        *result)
{
  result->accepted = 0;
  while (result->accepted < max)
    {
      char args[32];

      g_snprintf (args, sizeof args, "[%u]", result->accepted);
      if (!eipc_renderer_send_json (renderer, "load", args, &result->error))
        break;
      result->accepted++;
      if (result->accepted % 256 == 0)
        g_main_context_iteration (NULL, FALSE);
    }
}

static void
test_slow_main (void)
{
  TestPrivateBus *bus;
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcRenderer) renderer = NULL;
  g_autoptr(JsonNode) count = NULL;
  g_autofree char *ready = NULL, *out = NULL;
  TestChild *main_child;
  Flood result = { 0, NULL };
  gint64 start, waited;

  /* dbus-daemon: a small queue per connection, so it stalls the sender
   * early. dbus-broker: the per-user quota its launcher gives by default
   * (512 MiB), which a window of eipc's sends stays far below. */
  if (test_bus_is_broker ())
    bus = test_private_bus_start (NULL);
  else
    bus = test_private_bus_start ("  <limit name=\"max_outgoing_bytes\">65536</limit>\n"
                                  "  <limit name=\"max_incoming_bytes\">65536</limit>\n");

  main_child = test_main_child_spawn ("count:load", NULL);
  ready = test_child_expect (main_child, "ready");
  renderer = eipc_renderer_new_for_address (TEST_APP_ID, test_private_bus_address (bus),
                                            &error);
  g_assert_no_error (error);

  /* The main process stops reading. */
  kill (atoi (test_child_pid (main_child)), SIGSTOP);
  start = g_get_monotonic_time ();
  flood (renderer, 1000000, &result);
  waited = (g_get_monotonic_time () - start) / 1000;
  g_assert_nonnull (result.error);
  g_test_message ("on %s the sender was refused after %u messages, %" G_GINT64_FORMAT
                  " ms: %s", test_bus_name (), result.accepted, waited,
                  result.error->message);
  g_assert_error (result.error, EIPC_ERROR, EIPC_ERROR_LIMITS_EXCEEDED);
  g_assert_nonnull (strstr (result.error->message, "does not read fast enough"));
  g_assert_cmpuint (result.accepted, >=, SEND_WINDOW);
  g_clear_error (&result.error);

  /* Refused again at once or after the same bounded wait. */
  g_assert_false (eipc_renderer_send_json (renderer, "load", "[-1]", &error));
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_LIMITS_EXCEEDED);
  g_clear_error (&error);

  /* It reads again: every accepted message arrives, once, and sends go
   * through again. */
  kill (atoi (test_child_pid (main_child)), SIGCONT);
  count = eipc_renderer_send_sync_json (renderer, "count", "[]", &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_node_get_int (count), ==, result.accepted);
  g_assert_true (eipc_renderer_send_json (renderer, "load", "[0]", &error));
  g_assert_no_error (error);

  test_child_terminate (main_child);
  out = test_child_finish (main_child, NULL);
  g_clear_object (&renderer);
  test_private_bus_free (bus);
}

/* dbus-broker with a small quota (what max_outgoing_bytes 65536 becomes
 * through its launcher: 64 x 64 KiB = 4 MiB per user), below eipc's
 * window: the broker disconnects the sender or drops messages. The sender
 * is told (EIPC_ERROR_DISCONNECTED or LIMITS_EXCEEDED); the test records
 * how many of the accepted messages arrived. */
static void
test_slow_broker_quota (void)
{
  TestPrivateBus *bus;
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcRenderer) renderer = NULL;
  g_autoptr(EipcRenderer) other = NULL;
  g_autoptr(JsonNode) count = NULL;
  g_autofree char *ready = NULL, *out = NULL;
  TestChild *main_child;
  Flood result = { 0, NULL };

  if (test_skip_unless_bus (TEST_BUS_DBUS_BROKER,
                            "dbus-daemon has no per-user quota on queued messages; "
                            "it stalls the sender (/ipc/slow-receiver/main)"))
    return;

  bus = test_private_bus_start ("  <limit name=\"max_outgoing_bytes\">65536</limit>\n");
  main_child = test_main_child_spawn ("count:load", NULL);
  ready = test_child_expect (main_child, "ready");
  renderer = eipc_renderer_new_for_address (TEST_APP_ID, test_private_bus_address (bus),
                                            &error);
  g_assert_no_error (error);

  kill (atoi (test_child_pid (main_child)), SIGSTOP);
  flood (renderer, 1000000, &result);
  g_assert_nonnull (result.error);
  g_test_message ("on dbus-broker with a 4 MiB quota the sender was refused after "
                  "%u messages: %s", result.accepted, result.error->message);
  g_assert_true (g_error_matches (result.error, EIPC_ERROR, EIPC_ERROR_DISCONNECTED) ||
                 g_error_matches (result.error, EIPC_ERROR, EIPC_ERROR_LIMITS_EXCEEDED));
  g_assert_cmpuint (result.accepted, <=, SEND_WINDOW);
  g_clear_error (&result.error);

  /* The main process reads again and goes on serving: a new renderer
   * counts what arrived. Until the main process has read the backlog the
   * user's quota is spent, and dbus-broker refuses the user's new
   * connections too. */
  kill (atoi (test_child_pid (main_child)), SIGCONT);
  for (guint attempt = 1; other == NULL; attempt++)
    {
      other = eipc_renderer_new_for_address (TEST_APP_ID, test_private_bus_address (bus),
                                             &error);
      if (other != NULL)
        break;
      g_test_message ("a new connection of the same user, attempt %u: %s",
                      attempt, error->message);
      g_assert_cmpuint (attempt, <, 100);
      g_clear_error (&error);
      test_spin (100);
    }
  count = eipc_renderer_send_sync_json (other, "count", "[]", &error);
  g_assert_no_error (error);
  g_test_message ("%" G_GINT64_FORMAT " of the %u accepted messages arrived",
                  json_node_get_int (count), result.accepted);
  g_assert_cmpint (json_node_get_int (count), <=, result.accepted);

  test_child_terminate (main_child);
  out = test_child_finish (main_child, NULL);
  g_clear_object (&renderer);
  g_clear_object (&other);
  test_private_bus_free (bus);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/ipc/slow-receiver/main", test_slow_main);
  g_test_add_func ("/ipc/slow-receiver/broker-quota", test_slow_broker_quota);
  return g_test_run ();
}
