/* test-slow-receiver.c: a receiver that reads too slowly
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What dbus-daemon 1.14 does (measured here): when the queue of messages
 * for a receiver is over max_outgoing_bytes it stops reading from the
 * sender; it neither drops nor refuses (for unicast and for broadcast
 * signals alike). The messages then wait in the sender's own queue. eipc
 * bounds that queue: past EIPC's limit a send fails with
 * EIPC_ERROR_LIMITS_EXCEEDED, and nothing that was accepted is lost.
 */

#include <signal.h>
#include <string.h>

#include "test-common.h"

static void
test_slow_main (void)
{
  TestPrivateBus *bus;
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcRenderer) renderer = NULL;
  g_autoptr(JsonNode) count = NULL;
  g_autofree char *ready = NULL, *out = NULL;
  TestChild *main_child;
  const char *address;
  guint accepted = 0;
  gboolean refused = FALSE;

  if (test_skip_unless_bus (TEST_BUS_DBUS_DAEMON,
                            "dbus-broker does not stall the sender: past the "
                            "user's quota it drops the messages or disconnects "
                            "the sender, which eipc does not yet report"))
    return;
  bus = test_private_bus_start (
    "  <limit name=\"max_outgoing_bytes\">65536</limit>\n"
    "  <limit name=\"max_incoming_bytes\">65536</limit>\n");
  address = test_private_bus_address (bus);

  main_child = test_main_child_spawn ("count:load", NULL);
  ready = test_child_expect (main_child, "ready");
  renderer = eipc_renderer_new_for_address (TEST_APP_ID, address, &error);
  g_assert_no_error (error);

  /* The main process stops reading. */
  kill (atoi (test_child_pid (main_child)), SIGSTOP);
  while (accepted < 1000000)
    {
      char args[32];

      g_snprintf (args, sizeof args, "[%u]", accepted);
      if (!eipc_renderer_send_json (renderer, "load", args, &error))
        {
          refused = TRUE;
          break;
        }
      accepted++;
      if (accepted % 256 == 0)
        g_main_context_iteration (NULL, FALSE);
    }
  g_assert_true (refused);
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_LIMITS_EXCEEDED);
  g_assert_nonnull (strstr (error->message, "wait to be written"));
  g_test_message ("the sender was refused after %u messages: %s", accepted, error->message);
  g_clear_error (&error);

  /* It reads again: every accepted message arrives, once. */
  kill (atoi (test_child_pid (main_child)), SIGCONT);
  count = eipc_renderer_send_sync_json (renderer, "count", "[]", &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_node_get_int (count), ==, accepted);

  test_child_terminate (main_child);
  out = test_child_finish (main_child, NULL);
  g_clear_object (&renderer);
  test_private_bus_free (bus);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/ipc/slow-receiver/main", test_slow_main);
  return g_test_run ();
}
