/* test-lifecycle.c: renderers and main processes that exit or crash
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "test-common.h"

#define QUICK (3 * G_USEC_PER_SEC)

typedef struct {
  gboolean  done;
  JsonNode *result;
  GError   *error;
} Result;

static void
wc_invoke_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Result *r = user_data;

  r->result = eipc_web_contents_invoke_finish (EIPC_WEB_CONTENTS (source), result, &r->error);
  r->done = TRUE;
}

static void
renderer_invoke_done (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  Result *r = user_data;

  r->result = eipc_renderer_invoke_finish (EIPC_RENDERER (source), result, &r->error);
  r->done = TRUE;
}

static void
set_flag (gpointer instance,
          gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

static void
on_destroyed (EipcWebContents *wc,
              const char      *reason,
              gpointer         user_data)
{
  g_assert_nonnull (reason);
  *(gboolean *) user_data = TRUE;
}

static guint64
child_id (TestChild *child)
{
  g_autofree char *line = test_child_expect (child, "id ");

  return g_ascii_strtoull (line + 3, NULL, 10);
}

/* kill -9 of a renderer while the main process invokes it: the invoke
 * fails at once, the webContents is destroyed and leaves the registry. */
static void
test_renderer_killed_during_invoke (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMain) main = eipc_main_new (TEST_APP_ID, &error);
  TestChild *child = test_child_spawn ("handle-hold:slow", "id", "sleep:60000", NULL);
  guint64 id = child_id (child);
  g_autoptr(EipcWebContents) wc = g_object_ref (eipc_main_get_web_contents (main, id));
  gboolean destroyed = FALSE;
  Result r = { FALSE, NULL, NULL };
  g_autofree char *held = NULL, *out = NULL;
  gint64 start;

  g_assert_no_error (error);
  g_signal_connect (wc, "destroyed", G_CALLBACK (on_destroyed), &destroyed);
  eipc_web_contents_invoke_json (wc, "slow", "[]", NULL, wc_invoke_done, &r);
  held = test_child_expect (child, "held slow");

  start = g_get_monotonic_time ();
  test_child_kill (child);
  test_wait_for (&r.done, 5000);
  g_assert_cmpint (g_get_monotonic_time () - start, <, QUICK);
  g_assert_null (r.result);
  g_assert_error (r.error, EIPC_ERROR, EIPC_ERROR_DISCONNECTED);
  g_clear_error (&r.error);

  test_wait_for (&destroyed, 5000);
  g_assert_true (eipc_web_contents_is_destroyed (wc));
  g_assert_null (eipc_main_get_web_contents (main, id));
  g_assert_false (eipc_web_contents_send_json (wc, "x", "[]", &error));
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_NO_SUCH_WEB_CONTENTS);
  out = test_child_finish (child, NULL);
}

/* A renderer that dies while the main process holds its invoke: the
 * webContents goes, and answering later is harmless. */
static GPtrArray *held_events;

static void
hold_event (EipcEvent *event,
            gpointer   user_data)
{
  g_ptr_array_add (held_events, g_object_ref (event));
}

static void
test_renderer_killed_while_held (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMain) main = eipc_main_new (TEST_APP_ID, &error);
  g_autoptr(GPtrArray) all = NULL;
  TestChild *child;
  guint64 id;
  gboolean destroyed = FALSE;
  g_autofree char *out = NULL;

  held_events = g_ptr_array_new_with_free_func (g_object_unref);
  eipc_main_handle (main, "hold", hold_event, NULL, NULL, NULL);
  child = test_child_spawn ("id", "invoke-async:hold:[]", "sleep:200", "kill", NULL);
  id = child_id (child);
  g_signal_connect (eipc_main_get_web_contents (main, id), "destroyed",
                    G_CALLBACK (on_destroyed), &destroyed);
  test_wait_for (&destroyed, 5000);
  g_assert_cmpuint (held_events->len, ==, 1);
  g_assert_true (eipc_event_resolve_json (g_ptr_array_index (held_events, 0), "1", NULL));
  g_ptr_array_unref (held_events);
  all = eipc_main_list_web_contents (main);
  g_assert_cmpuint (all->len, ==, 0);
  out = test_child_finish (child, NULL);
}

/* The main process dies during an invoke and during a sendSync: both end
 * at once with a clear error, main-exited fires, send fails. */
static void
test_main_killed_during_invoke (void)
{
  TestChild *main_child = test_main_child_spawn ("hold:slow", NULL);
  g_autofree char *ready = test_child_expect (main_child, "ready");
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcRenderer) renderer = eipc_renderer_new (TEST_APP_ID, &error);
  gboolean exited = FALSE;
  Result r = { FALSE, NULL, NULL };
  g_autofree char *held = NULL, *out = NULL;
  gint64 start;

  g_assert_no_error (error);
  g_signal_connect (renderer, "main-exited", G_CALLBACK (set_flag), &exited);
  eipc_renderer_invoke_json (renderer, "slow", "[]", NULL, renderer_invoke_done, &r);
  held = test_child_expect (main_child, "held slow");

  start = g_get_monotonic_time ();
  test_child_kill (main_child);
  test_wait_for (&r.done, 5000);
  g_assert_cmpint (g_get_monotonic_time () - start, <, QUICK);
  g_assert_error (r.error, EIPC_ERROR, EIPC_ERROR_DISCONNECTED);
  g_clear_error (&r.error);
  test_wait_for (&exited, 5000);
  g_assert_false (eipc_renderer_is_attached (renderer));

  g_assert_false (eipc_renderer_send_json (renderer, "log", "[]", &error));
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_DISCONNECTED);
  out = test_child_finish (main_child, NULL);
}

static void
test_main_killed_during_send_sync (void)
{
  TestChild *main_child = test_main_child_spawn ("die-on:die", NULL);
  g_autofree char *ready = test_child_expect (main_child, "ready");
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcRenderer) renderer = eipc_renderer_new (TEST_APP_ID, &error);
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *out = NULL;
  gboolean exited = FALSE;
  gint64 start;

  g_assert_no_error (error);
  g_signal_connect (renderer, "main-exited", G_CALLBACK (set_flag), &exited);
  start = g_get_monotonic_time ();
  node = eipc_renderer_send_sync_json (renderer, "die", "[]", &error);
  g_assert_null (node);
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_DISCONNECTED);
  g_assert_cmpint (g_get_monotonic_time () - start, <, QUICK);
  test_wait_for (&exited, 5000);
  out = test_child_finish (main_child, NULL);
  g_assert_nonnull (strstr (out, "dying on die"));
}

/* A new main process for the app: the renderer attaches again by itself
 * and gets a fresh webContents; eipc_renderer_reattach() does it by hand. */
static void
on_reattached (EipcRenderer *renderer,
               guint64       id,
               gpointer      user_data)
{
  *(guint64 *) user_data = id;
}

static void
test_reattach (void)
{
  TestChild *first = test_main_child_spawn ("handle:who:\"first\"", NULL);
  g_autofree char *ready = test_child_expect (first, "ready");
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcRenderer) automatic = eipc_renderer_new (TEST_APP_ID, &error);
  g_autoptr(EipcRenderer) manual = eipc_renderer_new (TEST_APP_ID, &error);
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *out1 = NULL, *out2 = NULL, *ready2 = NULL;
  gboolean exited = FALSE;
  guint64 new_id = 0;
  TestChild *second;
  Result r = { FALSE, NULL, NULL };

  g_assert_no_error (error);
  eipc_renderer_set_auto_reattach (automatic, TRUE);
  g_signal_connect (automatic, "main-exited", G_CALLBACK (set_flag), &exited);
  g_signal_connect (automatic, "attached", G_CALLBACK (on_reattached), &new_id);

  test_child_terminate (first);
  out1 = test_child_finish (first, NULL);
  test_wait_for (&exited, 5000);

  second = test_main_child_spawn ("handle:who:\"second\"", NULL);
  ready2 = test_child_expect (second, "ready");
  while (new_id == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (eipc_renderer_is_attached (automatic));
  g_assert_cmpuint (eipc_renderer_get_id (automatic), ==, new_id);

  eipc_renderer_invoke_json (automatic, "who", "[]", NULL, renderer_invoke_done, &r);
  test_wait_for (&r.done, 5000);
  g_assert_no_error (r.error);
  g_assert_cmpstr (json_node_get_string (r.result), ==, "second");
  json_node_unref (r.result);

  /* The other renderer was not asked to re-attach: it stays detached
   * until it asks. */
  while (eipc_renderer_is_attached (manual))
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (eipc_renderer_reattach (manual, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (eipc_renderer_get_id (manual), !=, new_id);
  node = eipc_renderer_send_sync_json (manual, "nobody", "[]", &error);
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_NO_LISTENER);

  test_child_terminate (second);
  out2 = test_child_finish (second, NULL);
}

/* Strict mode refuses clients that never attached. */
static void
call_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Result *r = user_data;
  GVariant *v = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &r->error);

  if (v != NULL)
    g_variant_unref (v);
  r->done = TRUE;
}

static void
test_strict (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMain) main = eipc_main_new (TEST_APP_ID, &error);
  g_autoptr(GDBusConnection) client = NULL;
  g_autofree char *remote = NULL;
  Result r = { FALSE, NULL, NULL };

  g_assert_no_error (error);
  eipc_main_handle (main, "ping", hold_event, NULL, NULL, NULL);
  client = test_client_new ();

  eipc_main_set_strict (main, TRUE);
  g_assert_true (eipc_main_get_strict (main));
  g_dbus_connection_call (client, TEST_APP_ID, "/org/eipc/Test", "org.eipc.Main1",
                          "Invoke", g_variant_new ("(ss)", "ping", "[]"), NULL,
                          G_DBUS_CALL_FLAGS_NONE, 5000, NULL, call_done, &r);
  test_wait_for (&r.done, 5000);
  g_assert_nonnull (r.error);
  remote = g_dbus_error_get_remote_error (r.error);
  g_assert_cmpstr (remote, ==, "org.eipc.Error.NotAttached");
  g_clear_error (&r.error);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  test_bus_up ();

  g_test_add_func ("/ipc/lifecycle/renderer-killed-during-invoke", test_renderer_killed_during_invoke);
  g_test_add_func ("/ipc/lifecycle/renderer-killed-while-held", test_renderer_killed_while_held);
  g_test_add_func ("/ipc/lifecycle/main-killed-during-invoke", test_main_killed_during_invoke);
  g_test_add_func ("/ipc/lifecycle/main-killed-during-send-sync", test_main_killed_during_send_sync);
  g_test_add_func ("/ipc/lifecycle/reattach", test_reattach);
  g_test_add_func ("/ipc/lifecycle/strict", test_strict);

  ret = g_test_run ();
  test_bus_down ();
  return ret;
}
