/* test-electron.c: behaviour matched to Electron's, point by point
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each test pins one behaviour an Electron developer relies on (its docs,
 * lib/browser/ipc-main-impl.ts, lib/renderer/api/ipc-renderer.ts,
 * lib/browser/ipc-dispatch.ts and spec/api-ipc-*.spec.ts), with the
 * main process in this process and renderers as child processes.
 */

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

  ret = g_test_run ();
  test_bus_down ();
  return ret;
}
