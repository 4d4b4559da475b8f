/* test-bus.c: eipc on a bus with a system-like policy, dbus-daemon or
 * dbus-broker
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * test_private_bus_start_system() starts the bus EIPC_TEST_BUS names with
 * the restrictive default of the system bus (nobody owns names or sends
 * method calls, except to the bus and to the allowed names; signals and
 * requested replies pass): dbus-daemon through a busconfig, dbus-broker
 * through the same rules compiled into its AddListener policy
 * (tests/eipc-test-broker.c). The tests check that eipc works within such
 * a policy and reports what it refuses the same way on both buses:
 *  - owning an app name the policy does not allow fails with
 *    EIPC_ERROR_ACCESS_DENIED;
 *  - renderers reach the main process of an allowed app name (send,
 *    invoke, sendSync), and the main process's broadcasts and
 *    webContents.send (signals) reach them;
 *  - the main process's invoke of a renderer (a method call to a name
 *    the policy does not allow) fails with EIPC_ERROR_ACCESS_DENIED and
 *    the bus's own message, and the renderer sees nothing of it.
 * (The XML system policy of data/eipc-app.conf.in is test-policy's, on
 * dbus-daemon only.)
 */

#include <string.h>

#include "test-common.h"

static void
test_own_refused (void)
{
  const char *allowed[] = { TEST_APP_ID, NULL };
  TestPrivateBus *bus = test_private_bus_start_system (NULL, allowed);
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMain) main = NULL;

  main = eipc_main_new_for_address ("org.eipc.NotAllowed", test_private_bus_address (bus),
                                    &error);
  g_assert_null (main);
  g_test_message ("on %s: %s", test_bus_name (), error->message);
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_ACCESS_DENIED);
  g_assert_nonnull (strstr (error->message, "org.eipc.NotAllowed"));
  test_private_bus_free (bus);
}

typedef struct {
  gboolean  done;
  JsonNode *result;
  GError   *error;
} InvokeResult;

static void
invoke_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  InvokeResult *r = user_data;

  r->result = eipc_web_contents_invoke_finish (EIPC_WEB_CONTENTS (source), result, &r->error);
  r->done = TRUE;
}

static void
on_message (EipcEvent *event,
            gpointer   user_data)
{
  guint *count = user_data;

  (*count)++;
}

static void
handle_ping (EipcEvent *event,
             gpointer   user_data)
{
  g_assert_true (eipc_event_resolve_json (event, "\"pong\"", NULL));
}

static void
test_renderer_calls (void)
{
  const char *allowed[] = { TEST_APP_ID, NULL };
  TestPrivateBus *bus = test_private_bus_start_system (NULL, allowed);
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMain) main = NULL;
  g_autofree char *id_line = NULL, *line = NULL, *out = NULL;
  InvokeResult r = { FALSE, NULL, NULL };
  EipcWebContents *wc;
  TestChild *child;
  guint logged = 0;
  int status;

  main = eipc_main_new_for_address (TEST_APP_ID, test_private_bus_address (bus), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (eipc_main_on (main, "log", on_message, &logged, NULL), >, 0);
  g_assert_true (eipc_main_handle (main, "ping", handle_ping, NULL, NULL, &error));
  g_assert_no_error (error);

  child = test_child_spawn ("handle:ask:42", "listen:news", "listen:go", "id",
                            "send:log:[1]", "invoke:ping:[]",
                            "wait:news:2", "print:done", "wait:go:1", NULL);
  id_line = test_child_expect (child, "id ");
  wc = eipc_main_get_web_contents (main, g_ascii_strtoull (id_line + 3, NULL, 10));
  g_assert_nonnull (wc);

  /* Signals pass: a broadcast and a webContents.send. */
  g_assert_true (eipc_main_broadcast_json (main, "news", "[\"all\"]", &error));
  g_assert_no_error (error);
  g_assert_true (eipc_web_contents_send_json (wc, "news", "[\"you\"]", &error));
  g_assert_no_error (error);

  /* A method call to the renderer's unique name: the bus refuses it. */
  eipc_web_contents_invoke_json (wc, "ask", "[]", NULL, invoke_done, &r);
  test_wait_for (&r.done, 30000);
  g_assert_null (r.result);
  g_test_message ("on %s, invoking a renderer: %s", test_bus_name (), r.error->message);
  g_assert_error (r.error, EIPC_ERROR, EIPC_ERROR_ACCESS_DENIED);
  g_clear_error (&r.error);

  /* The renderer stays until the test lets it go. */
  line = test_child_expect (child, "done");
  g_assert_true (eipc_main_broadcast_json (main, "go", "[]", &error));
  g_assert_no_error (error);
  out = test_child_finish (child, &status);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  /* The renderer's send and invoke reached the main process; its handler
   * was never called. */
  g_assert_cmpuint (logged, ==, 1);
  g_assert_nonnull (strstr (out, "invoke ping = \"pong\""));

  g_clear_object (&main);
  test_private_bus_free (bus);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/bus/system-policy/own-refused", test_own_refused);
  g_test_add_func ("/bus/system-policy/renderer-calls", test_renderer_calls);
  return g_test_run ();
}
