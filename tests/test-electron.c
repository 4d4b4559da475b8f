/* test-electron.c: behaviour matched to Electron's, point by point
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each test pins one behaviour an Electron developer relies on (its docs,
 * lib/browser/ipc-main-impl.ts, lib/renderer/api/ipc-renderer.ts,
 * lib/browser/ipc-dispatch.ts and spec/api-ipc-*.spec.ts), with the
 * main process in this process and renderers as child processes.
 */

#include <signal.h>
#include <string.h>

#include "test-common.h"

#define BASE "/org/eipc/Test"

typedef struct {
  EipcMain *main;
  GString  *log;     /* what the main process's listeners saw, in order */
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->main = eipc_main_new (TEST_APP_ID, &error);
  g_assert_no_error (error);
  f->log = g_string_new (NULL);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_assert_finalize_object (f->main);
  g_string_free (f->log, TRUE);
}

static guint64
child_id (TestChild *child)
{
  g_autofree char *line = test_child_expect (child, "id ");

  return g_ascii_strtoull (line + 3, NULL, 10);
}

typedef struct {
  gboolean  done;
  JsonNode *result;
  GError   *error;
} Result;

static void
invoke_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Result *r = user_data;

  r->result = eipc_web_contents_invoke_finish (EIPC_WEB_CONTENTS (source), result, &r->error);
  r->done = TRUE;
}

/* Invokes @channel of @wc and returns the result as JSON text, or
 * "! CODE MESSAGE". */
static char *
invoke_renderer (EipcWebContents *wc,
                 const char      *channel)
{
  Result r = { 0, };
  char *text;

  eipc_web_contents_invoke_json (wc, channel, "[]", NULL, invoke_done, &r);
  test_wait_for (&r.done, 30000);
  if (r.error != NULL)
    text = g_strdup_printf ("! %s %s", eipc_error_to_dbus_name (r.error->code),
                            r.error->message);
  else
    text = json_to_string (r.result, FALSE);
  g_clear_error (&r.error);
  g_clear_pointer (&r.result, json_node_unref);
  return text;
}

typedef struct {
  gboolean  done;
  char     *out;
  char     *err;
  GError   *error;
} Command;

static void
communicate_done (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Command *c = user_data;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result,
                                        &c->out, &c->err, &c->error);
  c->done = TRUE;
}

/* Runs busctl on the test bus while this thread's main context goes on
 * serving; returns its stdout, puts its stderr in *err. */
static char *
run_busctl (char       **err,
            const char  *first_arg,
            ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  Command c = { 0, };
  va_list ap;

  g_ptr_array_add (argv, g_strdup ("busctl"));
  g_ptr_array_add (argv, g_strdup_printf ("--address=%s", test_bus_address ()));
  va_start (ap, first_arg);
  for (const char *arg = first_arg; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (argv, g_strdup (arg));
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  proc = g_subprocess_newv ((const char * const *) argv->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (proc, NULL, NULL, communicate_done, &c);
  test_wait_for (&c.done, 30000);
  g_assert_no_error (c.error);
  *err = c.err;
  return c.out;
}

/* --- the empty channel -------------------------------------------------- */

static void
log_listener (EipcEvent *event,
              gpointer   user_data)
{
  Fixture *f = user_data;
  static const char *kinds[] = { "send", "invoke", "sync", "send-to", "host", "broadcast" };

  g_string_append_printf (f->log, "[%s]%s%s;", eipc_event_get_channel (event),
                          kinds[eipc_event_get_kind (event)],
                          eipc_event_get_args_json (event));
  if (eipc_event_get_kind (event) == EIPC_EVENT_SEND_SYNC)
    eipc_event_set_return_value_json (event, "\"synced\"", NULL);
}

static void
resolve_handled (EipcEvent *event,
                 gpointer   user_data)
{
  eipc_event_resolve_json (event, "\"handled\"", NULL);
}

static void
on_broadcast (GDBusConnection *connection,
              const char      *sender,
              const char      *path,
              const char      *interface,
              const char      *member,
              GVariant        *parameters,
              gpointer         user_data)
{
  GString *seen = user_data;
  const char *channel, *args;
  guint64 id;

  g_variant_get (parameters, "(&s&st)", &channel, &args, &id);
  g_string_append_printf (seen, "[%s]%s;", channel, args);
}

/* '' is an ordinary channel in Electron: send, invoke, sendSync, the
 * main process's send, invoke and broadcast, busctl and a match rule
 * with arg0='' (what dbus-monitor "arg0=''" adds) all work with it. */
static void
test_empty_channel (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GDBusConnection) client = test_client_new ();
  g_autoptr(GString) seen = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL, *text = NULL;
  TestChild *child;
  EipcWebContents *wc;
  guint subscription;

  g_assert_cmpuint (eipc_main_on (f->main, "", log_listener, f, NULL), >, 0);
  g_assert_true (eipc_main_handle (f->main, "", resolve_handled, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (eipc_main_listener_count (f->main, ""), ==, 1);

  /* The renderer's side. */
  child = test_child_spawn ("listen:", "handle::\"from-renderer\"", "id",
                            "send::[1]", "invoke::[2]", "sync::[3]",
                            "wait::2", NULL);
  wc = eipc_main_get_web_contents (f->main, child_id (child));
  g_assert_nonnull (wc);
  text = invoke_renderer (wc, "");
  g_assert_cmpstr (text, ==, "\"from-renderer\"");

  /* A match rule on arg0='' gets the broadcast on '' and not the one
   * on 'x'. */
  subscription = g_dbus_connection_signal_subscribe (client, NULL, "org.eipc.WebContents1",
                                                     "Message", BASE "/WebContents", "",
                                                     G_DBUS_SIGNAL_FLAGS_NONE,
                                                     on_broadcast, seen, NULL);
  out = run_busctl (&err, "call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                    "org.freedesktop.DBus", "GetId", NULL);   /* the match is in place */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_true (eipc_web_contents_send_json (wc, "", "[\"to\"]", &error));
  g_assert_no_error (error);
  g_assert_true (eipc_main_broadcast_json (f->main, "x", "[\"x\"]", &error));
  g_assert_true (eipc_main_broadcast_json (f->main, "", "[\"all\"]", &error));
  g_assert_no_error (error);

  out = test_child_finish (child, NULL);
  g_test_message ("%s", out);
  g_assert_nonnull (strstr (out, "invoke  = \"handled\"\n"));
  g_assert_nonnull (strstr (out, "sync  = \"synced\"\n"));
  g_assert_nonnull (strstr (out, "msg  kind=send from=0 [\"to\"]\n"));
  g_assert_nonnull (strstr (out, "msg  kind=broadcast from=0 [\"all\"]\n"));
  g_assert_null (strstr (out, "!"));
  g_assert_cmpstr (f->log->str, ==, "[]send[1];[]sync[3];");

  /* busctl, as a plain client. */
  g_clear_pointer (&out, g_free);
  out = run_busctl (&err, "call", TEST_APP_ID, BASE, "org.eipc.Main1",
                    "Invoke", "ss", "", "[4]", NULL);
  g_assert_cmpstr (err, ==, "");
  g_assert_cmpstr (out, ==, "s \"\\\"handled\\\"\"\n");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  while (strstr (seen->str, "all") == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (seen->str, ==, "[][\"all\"];");
  g_dbus_connection_signal_unsubscribe (client, subscription);
}

/* --- Electron's texts for invoke failures ------------------------------- */

static void
reject_error (EipcEvent *event,
              gpointer   user_data)
{
  g_assert_true (eipc_event_reject (event, "boom"));
  g_assert_false (eipc_event_reject (event, "again"));
}

static void
reject_bare (EipcEvent *event,
             gpointer   user_data)
{
  g_assert_true (eipc_event_reject_bare (event, "boom"));
  g_assert_false (eipc_event_reject_bare (event, "again"));
}

static void
reject_type_error (EipcEvent *event,
                   gpointer   user_data)
{
  g_assert_true (eipc_event_reject_with_name (event, "TypeError", "x"));
  g_assert_false (eipc_event_reject_with_name (event, "TypeError", "again"));
}

static void
reject_name_only (EipcEvent *event,
                  gpointer   user_data)
{
  eipc_event_reject_with_name (event, "RangeError", "");
}

/* What Electron's renderer sees (lib/browser/ipc-dispatch.ts sends the
 * thrown value's toString (), lib/renderer/api/ipc-renderer.ts prefixes
 * it): `throw new Error ('boom')`, `throw 'boom'`,
 * `throw new TypeError ('x')`, `throw new RangeError ()`, and no
 * handler at all, in both directions. The D-Bus error names stay. */
static void
test_error_texts (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *out = NULL, *text = NULL;
  g_autoptr(GString) rest = NULL;
  TestChild *child;
  EipcWebContents *wc;

  eipc_main_handle (f->main, "plain", reject_error, NULL, NULL, NULL);
  eipc_main_handle (f->main, "bare", reject_bare, NULL, NULL, NULL);
  eipc_main_handle (f->main, "type", reject_type_error, NULL, NULL, NULL);
  eipc_main_handle (f->main, "name-only", reject_name_only, NULL, NULL, NULL);

  child = test_child_spawn ("listen:quit", "handle-fail:fails:nope", "id",
                            "invoke:plain:[]", "invoke:bare:[]", "invoke:type:[]",
                            "invoke:name-only:[]", "invoke:missing:[]",
                            "invoke::[]", "wait:quit:1", NULL);
  wc = eipc_main_get_web_contents (f->main, child_id (child));
  text = invoke_renderer (wc, "nothing");
  g_assert_cmpstr (text, ==, "! org.eipc.Error.NoHandler Error invoking remote method "
                   "'nothing': Error: No handler registered for 'nothing'");
  g_free (text);
  text = invoke_renderer (wc, "fails");
  g_assert_cmpstr (text, ==, "! org.eipc.Error.HandlerFailed Error invoking remote method "
                   "'fails': Error: nope");

  eipc_web_contents_send_json (wc, "quit", "[]", NULL);
  out = test_child_finish (child, NULL);
  /* The quit message may come between the answers. */
  rest = g_string_new (out);
  g_assert_cmpuint (g_string_replace (rest, "msg quit kind=send from=0 []\n", "", 1), ==, 1);
  g_assert_true (g_str_has_prefix (rest->str, "id "));
  g_assert_cmpstr (strchr (rest->str, '\n') + 1, ==,
                   "invoke plain ! org.eipc.Error.HandlerFailed Error invoking remote method 'plain': Error: boom\n"
                   "invoke bare ! org.eipc.Error.HandlerFailed Error invoking remote method 'bare': boom\n"
                   "invoke type ! org.eipc.Error.HandlerFailed Error invoking remote method 'type': TypeError: x\n"
                   "invoke name-only ! org.eipc.Error.HandlerFailed Error invoking remote method 'name-only': RangeError\n"
                   "invoke missing ! org.eipc.Error.NoHandler Error invoking remote method 'missing': Error: No handler registered for 'missing'\n"
                   "invoke  ! org.eipc.Error.NoHandler Error invoking remote method '': Error: No handler registered for ''\n"
                   "done\n");
}

/* --- webContents.ipc and the ipc-message events ------------------------- */

static void
scope_log (EipcEvent *event,
           gpointer   user_data)
{
  Fixture *f = g_object_get_data (G_OBJECT (eipc_event_get_sender (event)), "fixture");
  const char *scope = user_data;

  g_string_append_printf (f->log, "%s:%s%s;", scope, eipc_event_get_channel (event),
                          eipc_event_get_args_json (event));
  if (eipc_event_get_kind (event) == EIPC_EVENT_SEND_SYNC)
    {
      g_autofree char *value = g_strdup_printf ("\"%s\"", scope);

      eipc_event_set_return_value_json (event, value, NULL);
    }
}

static void
scope_resolve (EipcEvent *event,
               gpointer   user_data)
{
  g_autofree char *value = g_strdup_printf ("\"%s\"", (const char *) user_data);

  eipc_event_resolve_json (event, value, NULL);
}

static void
on_ipc_message (EipcWebContents *wc,
                EipcEvent       *event,
                const char      *channel,
                Fixture         *f)
{
  g_assert_cmpstr (channel, ==, eipc_event_get_channel (event));
  g_assert_true (eipc_event_get_sender (event) == wc);
  g_string_append_printf (f->log, "ipc-message:%s;", channel);
}

static void
on_ipc_message_sync (EipcWebContents *wc,
                     EipcEvent       *event,
                     const char      *channel,
                     Fixture         *f)
{
  g_string_append_printf (f->log, "ipc-message-sync:%s;", channel);
  if (strcmp (channel, "signal-only") == 0)
    eipc_event_set_return_value_json (event, "\"signal\"", NULL);
}

static void
scopes_attached (EipcMain        *main_process,
                 EipcWebContents *wc,
                 Fixture         *f)
{
  g_object_set_data (G_OBJECT (wc), "fixture", f);
  g_signal_connect (wc, "ipc-message", G_CALLBACK (on_ipc_message), f);
  g_signal_connect (wc, "ipc-message-sync", G_CALLBACK (on_ipc_message_sync), f);
  eipc_web_contents_on (wc, "both", scope_log, "contents", NULL);
  eipc_web_contents_once (wc, "once", scope_log, "contents-once", NULL);
  g_assert_true (eipc_web_contents_handle (wc, "both", scope_resolve, "contents", NULL, NULL));
  g_assert_true (eipc_web_contents_handle (wc, "gone", scope_resolve, "contents", NULL, NULL));
  g_assert_true (eipc_web_contents_remove_handler (wc, "gone"));
}

/* Electron's dispatch (lib/browser/ipc-dispatch.ts) with both scopes
 * registered: a message runs the webContents' ipc-message signal, then
 * contents.ipc's listeners, then ipcMain's; sendSync the same with
 * ipc-message-sync (the first return value set answers); an invoke runs
 * the first handler of contents.ipc, then of ipcMain. */
static void
test_web_contents_ipc (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *out = NULL;

  g_signal_connect (f->main, "web-contents-attached", G_CALLBACK (scopes_attached), f);
  eipc_main_on (f->main, "both", scope_log, "main", NULL);
  eipc_main_on (f->main, "main-only", scope_log, "main", NULL);
  eipc_main_on (f->main, "once", scope_log, "main", NULL);
  eipc_main_handle (f->main, "both", scope_resolve, "main", NULL, NULL);
  eipc_main_handle (f->main, "main-only", scope_resolve, "main", NULL, NULL);
  eipc_main_handle (f->main, "gone", scope_resolve, "main", NULL, NULL);

  out = test_run_renderer (NULL, "send:both:[1]", "send:main-only:[2]",
                           "send:once:[3]", "send:once:[4]",
                           "invoke:both:[]", "invoke:main-only:[]", "invoke:gone:[]",
                           "sync:both:[]", "sync:signal-only:[]", "sync:nobody:[]",
                           NULL);
  g_assert_cmpstr (out, ==,
                   "invoke both = \"contents\"\n"
                   "invoke main-only = \"main\"\n"
                   "invoke gone = \"main\"\n"
                   "sync both = \"contents\"\n"
                   "sync signal-only = \"signal\"\n"
                   /* The ipc-message-sync handler saw it and let it go. */
                   "sync nobody ! org.eipc.Error.NoReturnValue No listener set a return value for sendSync on 'nobody'\n"
                   "done\n");
  g_assert_cmpstr (f->log->str, ==,
                   "ipc-message:both;contents:both[1];main:both[1];"
                   "ipc-message:main-only;main:main-only[2];"
                   "ipc-message:once;contents-once:once[3];main:once[3];"
                   "ipc-message:once;main:once[4];"
                   "ipc-message-sync:both;contents:both[];main:both[];"
                   "ipc-message-sync:signal-only;"
                   "ipc-message-sync:nobody;");
  g_signal_handlers_disconnect_by_data (f->main, f);
}

/* --- a handler that returns without answering -------------------------- */

static void
handle_nothing (EipcEvent *event,
                gpointer   user_data)
{
}

static GPtrArray *kept_events;

static gboolean
release_kept (gpointer user_data)
{
  g_ptr_array_set_size (kept_events, 0);
  return G_SOURCE_REMOVE;
}

static void
handle_keep_then_drop (EipcEvent *event,
                       gpointer   user_data)
{
  g_ptr_array_add (kept_events, g_object_ref (event));
  g_idle_add (release_kept, NULL);
}

/* `ipcMain.handle ('x', () => { doIt () })` resolves the invoke with
 * undefined; eipc resolves it with null, in both directions. A handler
 * that keeps the event answers later: if it lets go without an answer,
 * that is still an error (NoReturnValue), at once. */
static void
test_handler_returns_nothing (Fixture       *f,
                              gconstpointer  data)
{
  g_autofree char *out = NULL, *text = NULL;
  EipcWebContents *wc;
  TestChild *child;

  kept_events = g_ptr_array_new_with_free_func (g_object_unref);
  eipc_main_handle (f->main, "nothing", handle_nothing, NULL, NULL, NULL);
  eipc_main_handle (f->main, "dropped", handle_keep_then_drop, NULL, NULL, NULL);
  child = test_child_spawn ("listen:quit", "handle-nothing:quiet", "id",
                            "invoke:nothing:[]", "invoke:dropped:[]", "wait:quit:1", NULL);
  wc = eipc_main_get_web_contents (f->main, child_id (child));
  text = invoke_renderer (wc, "quiet");
  g_assert_cmpstr (text, ==, "null");
  eipc_web_contents_send_json (wc, "quit", "[]", NULL);
  out = test_child_finish (child, NULL);
  g_assert_nonnull (strstr (out, "invoke nothing = null\n"));
  g_assert_nonnull (strstr (out, "invoke dropped ! org.eipc.Error.NoReturnValue "));
  g_ptr_array_unref (kept_events);
}

/* A renderer that answers every invoke with @user_data as its result. */
static void
raw_renderer_call (GDBusConnection       *connection,
                   const char            *sender,
                   const char            *path,
                   const char            *interface,
                   const char            *method,
                   GVariant              *parameters,
                   GDBusMethodInvocation *invocation,
                   gpointer               user_data)
{
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", user_data));
}

static const GDBusInterfaceVTable raw_renderer_vtable = { raw_renderer_call, NULL, NULL, { 0 } };

static void
call_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  GVariant **reply = user_data;
  g_autoptr(GError) error = NULL;

  *reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  g_assert_no_error (error);
}

/* A result that is not JSON fails the main process's invoke with
 * InvalidArgs, and says that the result is bad (not "the arguments"). */
static void
test_bad_result (Fixture       *f,
                 gconstpointer  data)
{
  static const char xml[] =
    "<node><interface name='org.eipc.Renderer1'><method name='Invoke'>"
    "<arg name='channel' type='s' direction='in'/><arg name='args' type='s' direction='in'/>"
    "<arg name='result' type='s' direction='out'/></method></interface></node>";
  g_autoptr(GDBusConnection) client = test_client_new ();
  g_autoptr(GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (xml, NULL);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  const char *path;
  guint64 id;
  guint registration;

  g_dbus_connection_call (client, TEST_APP_ID, BASE, "org.eipc.Main1", "Attach",
                          g_variant_new_parsed ("(@a{sv} {},)"), G_VARIANT_TYPE ("(to)"),
                          G_DBUS_CALL_FLAGS_NONE, -1, NULL, call_done, &reply);
  while (reply == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_variant_get (reply, "(t&o)", &id, &path);
  registration = g_dbus_connection_register_object (client, path, info->interfaces[0],
                                                    &raw_renderer_vtable, "not json",
                                                    NULL, &error);
  g_assert_no_error (error);

  text = invoke_renderer (eipc_main_get_web_contents (f->main, id), "x");
  g_assert_cmpstr (text, ==, "! org.eipc.Error.InvalidArgs The result is not valid JSON: "
                   "unexpected character at offset 0");
  g_dbus_connection_unregister_object (client, registration);
}

/* --- invoke waits as long as the handler takes -------------------------- */

static guint answered_late;

static gboolean
answer_late (gpointer user_data)
{
  eipc_event_resolve_json (user_data, "\"late\"", NULL);
  answered_late++;
  return G_SOURCE_REMOVE;
}

static void
handle_in_3s (EipcEvent *event,
              gpointer   user_data)
{
  g_timeout_add_full (G_PRIORITY_DEFAULT, 3000, answer_late, g_object_ref (event),
                      g_object_unref);
}

static void
fixture_setup_short_bus_timeout (Fixture       *f,
                                 gconstpointer  data)
{
  /* sd-bus's default call timeout (25 s, what a usec of 0 means) comes
   * from $SYSTEMD_BUS_TIMEOUT when it is set: 2 s here, for this process
   * and the renderers it starts, so an invoke that used the default
   * would fail after 2 s. */
  g_setenv ("SYSTEMD_BUS_TIMEOUT", "2", TRUE);
  fixture_setup (f, data);
}

static void
fixture_teardown_short_bus_timeout (Fixture       *f,
                                    gconstpointer  data)
{
  fixture_teardown (f, data);
  g_unsetenv ("SYSTEMD_BUS_TIMEOUT");
}

/* Electron's invoke has no timeout, in either direction: a handler that
 * answers after 3 s (past the bus library's default, 2 s here) still
 * resolves it. A timeout set with eipc_renderer_set_invoke_timeout() or
 * eipc_web_contents_set_invoke_timeout() ends it with
 * EIPC_ERROR_TIMEOUT. */
static void
test_invoke_no_timeout (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *text = NULL, *out = NULL;
  TestChild *child;
  EipcWebContents *wc;
  gint64 start;

  answered_late = 0;
  eipc_main_handle (f->main, "slow", handle_in_3s, NULL, NULL, NULL);
  child = test_child_spawn ("listen:quit", "handle-later:later:3000", "id",
                            "invoke:slow:[]",
                            "invoke-timeout:300", "invoke:slow:[]", "wait:quit:1", NULL);
  wc = eipc_main_get_web_contents (f->main, child_id (child));
  g_assert_nonnull (wc);
  g_assert_cmpuint (eipc_web_contents_get_invoke_timeout (wc), ==, 0);

  /* The main process invokes the renderer while the renderer's own
   * invoke waits. */
  start = g_get_monotonic_time ();
  text = invoke_renderer (wc, "later");
  g_assert_cmpstr (text, ==, "\"late\"");
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 2900 * 1000);
  g_clear_pointer (&text, g_free);

  eipc_web_contents_set_invoke_timeout (wc, 300);
  g_assert_cmpuint (eipc_web_contents_get_invoke_timeout (wc), ==, 300);
  start = g_get_monotonic_time ();
  text = invoke_renderer (wc, "later");
  g_assert_true (g_str_has_prefix (text, "! org.eipc.Error.Timeout "));
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2900 * 1000);

  eipc_web_contents_send_json (wc, "quit", "[]", NULL);
  out = test_child_finish (child, NULL);
  g_test_message ("%s", out);
  g_assert_nonnull (strstr (out, "invoke slow = \"late\"\n"));
  g_assert_nonnull (strstr (out, "invoke slow ! org.eipc.Error.Timeout "));

  /* The second answer comes after the renderer gave up: it goes nowhere. */
  while (answered_late < 2)
    g_main_context_iteration (NULL, TRUE);
}

static void
handle_in_2s (EipcEvent *event,
              gpointer   user_data)
{
  g_timeout_add_full (G_PRIORITY_DEFAULT, 2000, answer_late, g_object_ref (event),
                      g_object_unref);
}

/* dbus-daemon has a reply timeout of its own, reply_timeout: never by
 * default (bus/config-parser.c), and neither session.conf nor
 * system.conf of dbus 1.14 sets it. A configuration that does ends every
 * call still unanswered after it, eipc's invokes included, with
 * org.freedesktop.DBus.Error.NoReply from the bus (EIPC_ERROR_TIMEOUT):
 * the answer that comes later goes nowhere. dbus-broker has no reply
 * timeout at all (the limit is not one of its per-user ones): there the
 * invoke waits for its answer. */
static void
test_daemon_reply_timeout (void)
{
  TestPrivateBus *bus = test_private_bus_start ("<limit name=\"reply_timeout\">500</limit>");
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMain) main_process = NULL;
  g_autofree char *out = NULL;
  g_autofree char *old_address = g_strdup (test_bus_address ());

  main_process = eipc_main_new (TEST_APP_ID, &error);
  g_assert_no_error (error);
  answered_late = 0;
  eipc_main_handle (main_process, "slow", handle_in_2s, NULL, NULL, NULL);
  out = test_run_renderer (NULL, "invoke:slow:[]", NULL);
  if (test_bus_is_broker ())
    g_assert_cmpstr (out, ==, "invoke slow = \"late\"\ndone\n");
  else
    g_assert_cmpstr (out, ==, "invoke slow ! org.eipc.Error.Timeout Message did not "
                     "receive a reply (timeout by message bus)\ndone\n");
  while (answered_late < 1)
    g_main_context_iteration (NULL, TRUE);
  g_clear_object (&main_process);
  test_private_bus_free (bus);
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", old_address, TRUE);
}

/* --- render-process-gone, and renderers the main process launches ------- */

typedef struct {
  GPtrArray       *gone;       /* "ID reason code", main's signal, in order */
  GString         *order;      /* which signal came first */
  EipcWebContents *attached;   /* the last renderer that attached */
} GoneLog;

static void
on_wc_gone (EipcWebContents                    *wc,
            EipcRenderProcessGoneDetails       *details,
            gpointer                            user_data)
{
  GoneLog *log = user_data;

  g_assert_true (eipc_web_contents_is_destroyed (wc));
  g_string_append_printf (log->order, "wc%" G_GUINT64_FORMAT ":%s;",
                          eipc_web_contents_get_id (wc),
                          eipc_render_process_gone_details_get_reason (details));
}

static void
on_main_gone (EipcMain                     *main_process,
              EipcWebContents              *wc,
              EipcRenderProcessGoneDetails *details,
              gpointer                      user_data)
{
  GoneLog *log = user_data;

  g_string_append_printf (log->order, "main%" G_GUINT64_FORMAT ":%s;",
                          wc != NULL ? eipc_web_contents_get_id (wc) : 0,
                          eipc_render_process_gone_details_get_reason (details));
  g_ptr_array_add (log->gone, g_strdup_printf ("%s %s %d", wc != NULL ? "wc" : "none",
                                               eipc_render_process_gone_details_get_reason (details),
                                               eipc_render_process_gone_details_get_exit_code (details)));
}

static void
on_gone_attached (EipcMain        *main_process,
                  EipcWebContents *wc,
                  GoneLog         *log)
{
  g_set_object (&log->attached, wc);
  g_signal_connect (wc, "render-process-gone", G_CALLBACK (on_wc_gone), log);
}

/* Launches the test renderer with @commands, its output thrown away (the
 * shell execs it: same pid), and waits until it attached if @attach. */
static GPid
spawn_renderer (EipcMain   *main_process,
                GoneLog    *log,
                gboolean    attach,
                const char *commands)
{
  g_autofree char *helper = test_helper_path ("eipc-test-renderer");
  g_autofree char *script = g_strdup_printf ("exec \"$0\" --from-env %s >/dev/null", commands);
  const char *argv[] = { "/bin/sh", "-c", script, helper, NULL };
  g_autoptr(GError) error = NULL;
  GPid pid = 0;

  g_clear_object (&log->attached);
  g_assert_true (eipc_main_spawn_renderer (main_process, argv, NULL, NULL, &pid, &error));
  g_assert_no_error (error);
  g_assert_cmpint (pid, >, 0);
  while (attach && log->attached == NULL)
    g_main_context_iteration (NULL, TRUE);
  if (attach)
    g_assert_cmpuint (eipc_web_contents_get_process_id (log->attached), ==, (guint) pid);
  return pid;
}

/* Waits for the next render-process-gone and returns "wc|none REASON CODE". */
static const char *
next_gone (GoneLog *log,
           guint   *seen)
{
  while (log->gone->len <= *seen)
    g_main_context_iteration (NULL, TRUE);
  return g_ptr_array_index (log->gone, (*seen)++);
}

/* Electron's render-process-gone reasons: from the connection for any
 * renderer (a detach is clean-exit, a vanished connection
 * abnormal-exit), from the exit status for renderers the main process
 * launched (kill -9 and SIGTERM are killed, SIGSEGV crashed, an exit
 * code clean-exit or abnormal-exit, going before attaching is reported
 * on EipcMain only, a program that cannot start is launch-failed). The
 * launched renderers attach with no app id or address of their own. */
static void
test_render_process_gone (Fixture       *f,
                          gconstpointer  data)
{
  GoneLog log = { g_ptr_array_new_with_free_func (g_free), g_string_new (NULL), NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  const char *missing[] = { "/nonexistent/eipc-renderer", NULL };
  guint seen = 0;
  TestChild *child;
  guint64 id;
  GPid pid;

  g_signal_connect (f->main, "render-process-gone", G_CALLBACK (on_main_gone), &log);
  g_signal_connect (f->main, "web-contents-attached", G_CALLBACK (on_gone_attached), &log);

  /* Spawned, clean: it exits with code 0. */
  spawn_renderer (f->main, &log, TRUE, "sleep:10");
  id = eipc_web_contents_get_id (log.attached);
  g_assert_cmpstr (next_gone (&log, &seen), ==, "wc clean-exit 0");
  {
    g_autofree char *want = g_strdup_printf ("wc%" G_GUINT64_FORMAT ":clean-exit;main%"
                                             G_GUINT64_FORMAT ":clean-exit;", id, id);

    g_assert_cmpstr (log.order->str, ==, want);
  }

  /* Spawned, kill -9'd while attached. */
  pid = spawn_renderer (f->main, &log, TRUE, "sleep:60000");
  kill (pid, SIGKILL);
  g_assert_cmpstr (next_gone (&log, &seen), ==, "wc killed 9");

  /* SIGTERM. */
  pid = spawn_renderer (f->main, &log, TRUE, "sleep:60000");
  kill (pid, SIGTERM);
  g_assert_cmpstr (next_gone (&log, &seen), ==, "wc killed 15");

  /* SIGSEGV. */
  spawn_renderer (f->main, &log, TRUE, "sleep:10 segv");
  g_assert_cmpstr (next_gone (&log, &seen), ==, "wc crashed 11");

  /* Exit codes, without a detach. */
  spawn_renderer (f->main, &log, TRUE, "sleep:10 exit:3");
  g_assert_cmpstr (next_gone (&log, &seen), ==, "wc abnormal-exit 3");
  spawn_renderer (f->main, &log, TRUE, "sleep:10 exit:0");
  g_assert_cmpstr (next_gone (&log, &seen), ==, "wc clean-exit 0");

  /* Gone before it attached: EipcMain only, with no webContents. */
  {
    const char *argv[] = { "/bin/sh", "-c", "exit 4", NULL };

    g_assert_true (eipc_main_spawn_renderer (f->main, argv, NULL, NULL, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (next_gone (&log, &seen), ==, "none abnormal-exit 4");
  }

  /* A program that cannot start. */
  g_assert_false (eipc_main_spawn_renderer (f->main, missing, NULL, NULL, &pid, &error));
  g_assert_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_NOENT);
  g_clear_error (&error);
  g_assert_cmpuint (log.gone->len, ==, seen + 1);
  {
    g_autofree char *want = g_strdup_printf ("none launch-failed %d", G_SPAWN_ERROR_NOENT);

    g_assert_cmpstr (next_gone (&log, &seen), ==, want);
  }

  /* Not launched here: the connection is all the main process sees. A
   * Detach is a clean exit... */
  {
    g_autoptr(GDBusConnection) client = test_client_new ();
    g_autoptr(GVariant) reply = NULL;

    g_dbus_connection_call (client, TEST_APP_ID, BASE, "org.eipc.Main1", "Attach",
                            g_variant_new_parsed ("(@a{sv} {},)"), G_VARIANT_TYPE ("(to)"),
                            G_DBUS_CALL_FLAGS_NONE, -1, NULL, call_done, &reply);
    while (reply == NULL)
      g_main_context_iteration (NULL, TRUE);
    g_clear_pointer (&reply, g_variant_unref);
    g_dbus_connection_call (client, TEST_APP_ID, BASE, "org.eipc.Main1", "Detach",
                            NULL, G_VARIANT_TYPE ("()"), G_DBUS_CALL_FLAGS_NONE, -1,
                            NULL, call_done, &reply);
    g_assert_cmpstr (next_gone (&log, &seen), ==, "wc clean-exit 0");
    while (reply == NULL)
      g_main_context_iteration (NULL, TRUE);
  }
  /* ...a connection that goes without one is not, however the process
   * ended. */
  child = test_child_spawn ("id", NULL);
  out = test_child_finish (child, NULL);
  g_assert_cmpstr (next_gone (&log, &seen), ==, "wc abnormal-exit -1");
  child = test_child_spawn ("id", "kill", NULL);
  g_free (test_child_expect (child, "id "));
  g_free (out);
  out = test_child_finish (child, NULL);
  g_assert_cmpstr (next_gone (&log, &seen), ==, "wc abnormal-exit -1");

  /* Nothing more came meanwhile (each one was reported once). */
  test_spin (200);
  g_assert_cmpuint (log.gone->len, ==, seen);

  g_signal_handlers_disconnect_by_data (f->main, &log);
  g_clear_object (&log.attached);
  g_ptr_array_unref (log.gone);
  g_string_free (log.order, TRUE);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  test_bus_up ();

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/ipc/electron/empty-channel", test_empty_channel);
  ADD ("/ipc/electron/error-texts", test_error_texts);
  ADD ("/ipc/electron/web-contents-ipc", test_web_contents_ipc);
  ADD ("/ipc/electron/handler-returns-nothing", test_handler_returns_nothing);
  ADD ("/ipc/electron/render-process-gone", test_render_process_gone);
  ADD ("/ipc/electron/bad-result", test_bad_result);
  g_test_add_func ("/ipc/electron/daemon-reply-timeout", test_daemon_reply_timeout);
  g_test_add ("/ipc/electron/invoke-no-timeout", Fixture, NULL,
              fixture_setup_short_bus_timeout, test_invoke_no_timeout,
              fixture_teardown_short_bus_timeout);

  ret = g_test_run ();
  test_bus_down ();
  return ret;
}
