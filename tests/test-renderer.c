/* test-renderer.c: ipcRenderer semantics, with the main process served
 * from its own thread
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "test-common.h"

typedef struct {
  TestMainThread *main_thread;
  EipcRenderer   *renderer;
  GString        *log;
} Fixture;

/* Set up in the main process's thread. */
static void
main_resolve_pong (EipcEvent *event,
                   gpointer   user_data)
{
  eipc_event_resolve_json (event, "\"pong\"", NULL);
}

static void
main_reject_boom (EipcEvent *event,
                  gpointer   user_data)
{
  eipc_event_reject (event, "boom");
}

static GPtrArray *held_events;

static void
main_hold (EipcEvent *event,
           gpointer   user_data)
{
  g_ptr_array_add (held_events, g_object_ref (event));
}

static void
main_echo_sync (EipcEvent *event,
                gpointer   user_data)
{
  eipc_event_set_return_value_json (event, eipc_event_get_args_json (event), NULL);
}

/* Resolves with the text of the arguments, as they came. */
static void
main_echo_text (EipcEvent *event,
                gpointer   user_data)
{
  eipc_event_resolve_json (event, eipc_event_get_args_json (event), NULL);
}

/* Sends three messages to the renderer, then answers the sendSync: the
 * messages arrive while the renderer is blocked. */
static void
main_send_then_answer (EipcEvent *event,
                       gpointer   user_data)
{
  EipcWebContents *wc = eipc_event_get_sender (event);

  for (int i = 1; i <= 3; i++)
    {
      g_autofree char *args = g_strdup_printf ("[%d]", i);

      g_assert_true (eipc_web_contents_send_json (wc, "during", args, NULL));
    }
  eipc_event_set_return_value_json (event, "\"answered\"", NULL);
}

static void
main_reply (EipcEvent *event,
            gpointer   user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (eipc_event_reply_json (event, "pong", eipc_event_get_args_json (event), &error));
  g_assert_no_error (error);
}

static gboolean
answer_later (gpointer user_data)
{
  eipc_event_set_return_value_json (user_data, "\"slow\"", NULL);
  return G_SOURCE_REMOVE;
}

/* Answers after 300 ms, from the main process's own context. */
static void
main_slow_sync (EipcEvent *event,
                gpointer   user_data)
{
  g_autoptr(GSource) source = g_timeout_source_new (300);

  g_source_set_callback (source, answer_later, g_object_ref (event), g_object_unref);
  g_source_attach (source, g_main_context_get_thread_default ());
}

static void
main_setup (EipcMain *main,
            gpointer  user_data)
{
  eipc_main_on (main, "slow-sync", main_slow_sync, NULL, NULL);
  eipc_main_handle (main, "ping", main_resolve_pong, NULL, NULL, NULL);
  eipc_main_handle (main, "fail", main_reject_boom, NULL, NULL, NULL);
  eipc_main_handle (main, "hold", main_hold, NULL, NULL, NULL);
  eipc_main_on (main, "echo", main_echo_sync, NULL, NULL);
  eipc_main_handle (main, "echo-text", main_echo_text, NULL, NULL, NULL);
  eipc_main_on (main, "send-then-answer", main_send_then_answer, NULL, NULL);
  eipc_main_on (main, "ping-reply", main_reply, NULL, NULL);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  held_events = g_ptr_array_new_with_free_func (g_object_unref);
  f->main_thread = test_main_thread_start (TEST_APP_ID, main_setup, NULL);
  f->renderer = eipc_renderer_new (TEST_APP_ID, &error);
  g_assert_no_error (error);
  f->log = g_string_new (NULL);
}

static void
clear_held (EipcMain *main,
            gpointer  user_data)
{
  g_ptr_array_set_size (held_events, 0);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_assert_finalize_object (f->renderer);
  test_main_thread_call (f->main_thread, clear_held, NULL);
  test_main_thread_stop (f->main_thread);
  g_ptr_array_unref (held_events);
  g_string_free (f->log, TRUE);
}

static void
test_attach (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *path = NULL;
  guint64 id = eipc_renderer_get_id (f->renderer);

  g_assert_cmpuint (id, !=, 0);
  g_assert_true (eipc_renderer_is_attached (f->renderer));
  g_assert_cmpuint (eipc_renderer_get_host_id (f->renderer), ==, 0);
  g_assert_cmpstr (eipc_renderer_get_app_id (f->renderer), ==, TEST_APP_ID);
  path = g_strdup_printf ("/org/eipc/Test/WebContents/%" G_GUINT64_FORMAT, id);
  g_assert_cmpstr (eipc_renderer_get_object_path (f->renderer), ==, path);
}

static void
test_no_main (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcRenderer) renderer = eipc_renderer_new ("org.eipc.Nobody", &error);

  g_assert_null (renderer);
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_DISCONNECTED);
  g_assert_nonnull (strstr (error->message, "org.eipc.Nobody"));
}

typedef struct {
  Fixture *f;
  guint    invoked;
  JsonNode *result;
  GError   *error;
} InvokeResult;

static void
invoke_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  InvokeResult *r = user_data;

  r->result = eipc_renderer_invoke_finish (EIPC_RENDERER (source), result, &r->error);
  r->invoked++;
}

static JsonNode *
invoke_and_wait (Fixture       *f,
                 const char    *channel,
                 JsonArray     *args,
                 GCancellable  *cancellable,
                 GError       **error)
{
  InvokeResult r = { f, 0, NULL, NULL };
  gboolean done = FALSE;

  eipc_renderer_invoke (f->renderer, channel, args, cancellable, invoke_done, &r);
  while (r.invoked == 0)
    g_main_context_iteration (NULL, TRUE);
  (void) done;
  if (r.error != NULL)
    g_propagate_error (error, r.error);
  return r.result;
}

static void
test_invoke (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) pong = NULL;
  g_autoptr(JsonNode) none = NULL;
  g_autoptr(JsonArray) args = json_array_new ();

  json_array_add_int_element (args, 1);
  pong = invoke_and_wait (f, "ping", args, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_node_get_string (pong), ==, "pong");

  none = invoke_and_wait (f, "fail", NULL, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_HANDLER_FAILED);
  g_assert_cmpstr (error->message, ==, "Error invoking remote method 'fail': Error: boom");
  g_clear_error (&error);

  none = invoke_and_wait (f, "missing", NULL, NULL, &error);
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_NO_HANDLER);
  g_assert_cmpstr (error->message, ==, "Error invoking remote method 'missing': Error: No handler registered for 'missing'");
}

static void
keep_result (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  GAsyncResult **ret = user_data;

  *ret = g_object_ref (result);
}

static GAsyncResult *
invoke_json_and_wait (EipcRenderer *renderer,
                      const char   *channel,
                      const char   *args_json)
{
  GAsyncResult *result = NULL;

  eipc_renderer_invoke_json (renderer, channel, args_json, NULL, keep_result, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return result;
}

/* eipc_renderer_invoke_finish_json() gives the result as the text the
 * main process sent, byte for byte (no tree, so no reformatting), and
 * the same errors as eipc_renderer_invoke_finish(). */
static void
test_invoke_finish_json (Fixture       *f,
                         gconstpointer  data)
{
  const char *spaced = "[ { \"a\" : [1, 2.50, \"x\\u00e9\"], \"b\": null } , 3e2 ]";
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autoptr(JsonNode) node = NULL;

  result = invoke_json_and_wait (f->renderer, "echo-text", spaced);
  text = eipc_renderer_invoke_finish_json (f->renderer, result, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, spaced);
  g_clear_object (&result);
  g_clear_pointer (&text, g_free);

  /* The same call finished as a tree. */
  result = invoke_json_and_wait (f->renderer, "echo-text", spaced);
  node = eipc_renderer_invoke_finish (f->renderer, result, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (node));
  g_assert_true (json_node_is_null (json_object_get_member (json_array_get_object_element (json_node_get_array (node), 0), "b")));
  g_clear_object (&result);

  /* eipc_renderer_invoke() finishes as text too. */
  eipc_renderer_invoke (f->renderer, "ping", NULL, NULL, keep_result, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  text = eipc_renderer_invoke_finish_json (f->renderer, result, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, "\"pong\"");
  g_clear_object (&result);
  g_clear_pointer (&text, g_free);

  result = invoke_json_and_wait (f->renderer, "fail", "[]");
  text = eipc_renderer_invoke_finish_json (f->renderer, result, &error);
  g_assert_null (text);
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_HANDLER_FAILED);
  g_assert_cmpstr (error->message, ==, "Error invoking remote method 'fail': Error: boom");
  g_clear_error (&error);
  g_clear_object (&result);

  result = invoke_json_and_wait (f->renderer, "missing", "[]");
  text = eipc_renderer_invoke_finish_json (f->renderer, result, &error);
  g_assert_null (text);
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_NO_HANDLER);
  g_assert_cmpstr (error->message, ==, "Error invoking remote method 'missing': Error: No handler registered for 'missing'");
}

/* Text goes out as it was given, ASCII (copied without sd-bus's UTF-8
 * check) and not (checked by sd-bus), of every length around the
 * eight-byte steps of the ASCII scan, with the non-ASCII byte anywhere. */
static void
test_invoke_text_bytes (Fixture       *f,
                        gconstpointer  data)
{
  const char *chars[] = { "a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9d\x84\x9e" };

  for (gsize c = 0; c < G_N_ELEMENTS (chars); c++)
    for (gsize len = 0; len < 20; len++)
      for (gsize at = 0; at <= len; at++)
        {
          g_autoptr(GString) args = g_string_new ("[\"");
          g_autoptr(GAsyncResult) result = NULL;
          g_autoptr(GError) error = NULL;
          g_autofree char *text = NULL;

          for (gsize i = 0; i < len; i++)
            g_string_append (args, i == at ? chars[c] : "x");
          g_string_append (args, "\"]");
          result = invoke_json_and_wait (f->renderer, "echo-text", args->str);
          text = eipc_renderer_invoke_finish_json (f->renderer, result, &error);
          g_assert_no_error (error);
          g_assert_cmpstr (text, ==, args->str);
        }
}

typedef struct {
  GAsyncResult *result;
  GMainContext *context;   /* the thread-default one in the callback */
} KeptResult;

static void
keep_result_and_context (GObject      *source,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  KeptResult *kept = user_data;

  kept->result = g_object_ref (result);
  kept->context = g_main_context_ref_thread_default ();
}

/* The GAsyncResult of an invoke behaves as a GTask's would: a result
 * the caller keeps stays its own while later invokes run (eipc reuses
 * the result objects nobody kept), it knows its source object, tag and
 * user data, and the callback runs from the main context that was the
 * thread-default one when the invoke started, with that context as the
 * thread-default one, even when the renderer's connection is dispatched
 * from another. */
static void
test_invoke_result (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GAsyncResult) first = NULL;
  g_autoptr(GAsyncResult) second = NULL;
  g_autoptr(GAsyncResult) later = NULL;
  g_autoptr(GObject) source = NULL;
  g_autoptr(GError) error = NULL;
  KeptResult kept = { NULL, NULL };
  char *text;

  first = invoke_json_and_wait (f->renderer, "echo-text", "[1]");
  second = invoke_json_and_wait (f->renderer, "echo-text", "[2]");
  g_assert_true (first != second);
  for (int i = 0; i < 3; i++)
    {
      g_autoptr(GAsyncResult) other = invoke_json_and_wait (f->renderer, "echo-text", "[3]");

      text = eipc_renderer_invoke_finish_json (f->renderer, other, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (text, ==, "[3]");
      g_free (text);
    }
  text = eipc_renderer_invoke_finish_json (f->renderer, second, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, "[2]");
  g_free (text);
  g_assert_true (g_async_result_is_tagged (first, eipc_renderer_invoke_json));
  g_assert_false (g_async_result_is_tagged (first, eipc_renderer_invoke));
  source = g_async_result_get_source_object (first);
  g_assert_true (source == G_OBJECT (f->renderer));
  text = eipc_renderer_invoke_finish_json (f->renderer, first, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, "[1]");
  g_free (text);

  /* Started with another thread-default context: the renderer's own
   * (the global default) handles the reply, the callback waits for the
   * other context. The replies come in order, so once the later invoke
   * is done, the first one's reply has been read. */
  g_main_context_push_thread_default (context);
  eipc_renderer_invoke_json (f->renderer, "echo-text", "[4]", NULL,
                             keep_result_and_context, &kept);
  g_main_context_pop_thread_default (context);
  later = invoke_json_and_wait (f->renderer, "echo-text", "[5]");
  g_assert_null (kept.result);
  while (kept.result == NULL)
    g_main_context_iteration (context, TRUE);
  g_assert_true (kept.context == context);
  g_assert_true (g_async_result_get_user_data (kept.result) == &kept);
  text = eipc_renderer_invoke_finish_json (f->renderer, kept.result, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, "[4]");
  g_free (text);
  g_clear_object (&kept.result);
  g_main_context_unref (kept.context);
}

/* A main process that is not eipc and answers Invoke with text that is
 * not JSON: served by GDBus from a thread of its own. */
#define FAKE_APP_ID "org.eipc.FakeMain"

static const char fake_main_xml[] =
  "<node><interface name='org.eipc.Main1'>"
  "<method name='Attach'><arg type='a{sv}' direction='in'/>"
  "<arg type='t' direction='out'/><arg type='o' direction='out'/></method>"
  "<method name='Invoke'><arg type='s' direction='in'/><arg type='s' direction='in'/>"
  "<arg type='s' direction='out'/></method>"
  "</interface></node>";

typedef struct {
  GMainLoop *loop;
  GMutex     lock;
  GCond      cond;
  gboolean   ready;
} FakeMain;

static void
fake_main_call (GDBusConnection       *connection,
                const char            *sender,
                const char            *object_path,
                const char            *interface_name,
                const char            *method_name,
                GVariant              *parameters,
                GDBusMethodInvocation *invocation,
                gpointer               user_data)
{
  const char *channel = NULL;

  if (strcmp (method_name, "Attach") == 0)
    {
      g_dbus_method_invocation_return_value (invocation,
                                             g_variant_new ("(to)", (guint64) 7,
                                                            "/org/eipc/FakeMain/WebContents/7"));
      return;
    }
  g_variant_get (parameters, "(&s&s)", &channel, NULL);
  g_dbus_method_invocation_return_value (invocation,
                                         g_variant_new ("(s)", strcmp (channel, "trailing") == 0
                                                        ? "[1] 2" : "not json"));
}

static gpointer
fake_main_thread (gpointer data)
{
  FakeMain *fake = data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GDBusNodeInfo) info = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  const GDBusInterfaceVTable vtable = { fake_main_call, NULL, NULL, { 0 } };

  g_main_context_push_thread_default (context);
  connection = g_dbus_connection_new_for_address_sync (test_bus_address (),
                                                       G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                       G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                       NULL, NULL, &error);
  g_assert_no_error (error);
  info = g_dbus_node_info_new_for_xml (fake_main_xml, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_dbus_connection_register_object (connection, "/org/eipc/FakeMain",
                                                       info->interfaces[0], &vtable,
                                                       NULL, NULL, &error), !=, 0);
  reply = g_dbus_connection_call_sync (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "RequestName",
                                       g_variant_new ("(su)", FAKE_APP_ID, 4),
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, -1,
                                       NULL, &error);
  g_assert_no_error (error);
  fake->loop = g_main_loop_new (context, FALSE);
  g_mutex_lock (&fake->lock);
  fake->ready = TRUE;
  g_cond_signal (&fake->cond);
  g_mutex_unlock (&fake->lock);
  g_main_loop_run (fake->loop);
  g_dbus_connection_close_sync (connection, NULL, NULL);
  g_main_loop_unref (fake->loop);
  g_main_context_pop_thread_default (context);
  return NULL;
}

static gboolean
quit_loop (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

/* A result that is not one JSON value fails in both finish functions,
 * as "The result is not valid JSON: ..." (InvalidArgs). */
static void
test_invoke_bad_result (void)
{
  FakeMain fake = { 0 };
  GThread *thread;
  g_autoptr(EipcRenderer) renderer = NULL;
  g_autoptr(GError) error = NULL;
  const char *channels[] = { "garbage", "trailing" };

  g_mutex_init (&fake.lock);
  g_cond_init (&fake.cond);
  thread = g_thread_new ("fake-main", fake_main_thread, &fake);
  g_mutex_lock (&fake.lock);
  while (!fake.ready)
    g_cond_wait (&fake.cond, &fake.lock);
  g_mutex_unlock (&fake.lock);

  renderer = eipc_renderer_new (FAKE_APP_ID, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < G_N_ELEMENTS (channels); i++)
    {
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(JsonNode) node = NULL;
      g_autofree char *text = NULL;

      result = invoke_json_and_wait (renderer, channels[i], "[]");
      text = eipc_renderer_invoke_finish_json (renderer, result, &error);
      g_assert_null (text);
      g_assert_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS);
      g_assert_true (g_str_has_prefix (error->message, "The result is not valid JSON: "));
      g_clear_error (&error);
      g_clear_object (&result);

      result = invoke_json_and_wait (renderer, channels[i], "[]");
      node = eipc_renderer_invoke_finish (renderer, result, &error);
      g_assert_null (node);
      g_assert_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS);
      g_assert_true (g_str_has_prefix (error->message, "The result is not valid JSON: "));
      g_clear_error (&error);
    }

  g_clear_object (&renderer);
  g_main_context_invoke (g_main_loop_get_context (fake.loop), quit_loop, fake.loop);
  g_thread_join (thread);
  g_mutex_clear (&fake.lock);
  g_cond_clear (&fake.cond);
}

static gboolean
cancel_later (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

/* A held invoke ends at once when its GCancellable fires. */
static void
test_invoke_cancel (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) result = NULL;
  gint64 start = g_get_monotonic_time ();

  g_timeout_add (100, cancel_later, cancellable);
  result = invoke_and_wait (f, "hold", NULL, cancellable, &error);
  g_assert_null (result);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  g_clear_error (&error);

  /* Cancelled before it starts. */
  result = invoke_and_wait (f, "ping", NULL, cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
log_args (EipcEvent *event,
          gpointer   user_data)
{
  Fixture *f = user_data;

  g_string_append_printf (f->log, "%s%s;", eipc_event_get_channel (event),
                          eipc_event_get_args_json (event));
}

/* sendSync blocks without dispatching: messages that arrive meanwhile
 * are delivered afterwards, in order. */
static void
test_send_sync (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) echo = NULL;
  g_autoptr(JsonNode) answered = NULL;
  g_autoptr(JsonArray) args = json_array_new ();
  g_autofree char *text = NULL;

  json_array_add_string_element (args, "a");
  json_array_add_int_element (args, 2);
  echo = eipc_renderer_send_sync (f->renderer, "echo", args, &error);
  g_assert_no_error (error);
  text = json_to_string (echo, FALSE);
  g_assert_cmpstr (text, ==, "[\"a\",2]");

  eipc_renderer_on (f->renderer, "during", log_args, f, NULL);
  answered = eipc_renderer_send_sync_json (f->renderer, "send-then-answer", "[]", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_node_get_string (answered), ==, "answered");
  /* Nothing was dispatched during the call. */
  g_assert_cmpstr (f->log->str, ==, "");
  while (f->log->len < strlen ("during[1];during[2];during[3];"))
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (f->log->str, ==, "during[1];during[2];during[3];");
}

/* A signal arriving while sendSync blocks (a SIGCHLD, say) does not
 * break the call: sd_bus_call() alone fails with EINTR after sending. */
static volatile sig_atomic_t got_usr1;

static void
on_usr1 (int signum)
{
  got_usr1 = 1;
}

typedef struct {
  pthread_t target;
} Kicker;

static gpointer
kick_later (gpointer data)
{
  Kicker *k = data;

  g_usleep (100 * 1000);
  pthread_kill (k->target, SIGUSR1);
  return NULL;
}

static void
test_send_sync_signal (Fixture       *f,
                       gconstpointer  data)
{
  struct sigaction action = { 0 }, saved;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  Kicker k = { pthread_self () };
  GThread *kicker;

  action.sa_handler = on_usr1;
  sigemptyset (&action.sa_mask);
  action.sa_flags = 0;  /* no SA_RESTART: poll() fails with EINTR */
  sigaction (SIGUSR1, &action, &saved);
  got_usr1 = 0;

  kicker = g_thread_new ("kicker", kick_later, &k);
  node = eipc_renderer_send_sync_json (f->renderer, "slow-sync", "[]", &error);
  g_thread_join (kicker);
  g_assert_no_error (error);
  g_assert_cmpstr (json_node_get_string (node), ==, "slow");
  /* Delivered: the call waited on after it. */
  g_assert_true (got_usr1);
  sigaction (SIGUSR1, &saved, NULL);
}

/* Listener rules on the renderer side, with messages from event.reply. */
static void
append_a (EipcEvent *event, gpointer user_data) { g_string_append (((Fixture *) user_data)->log, "a"); }
static void
append_b (EipcEvent *event, gpointer user_data) { g_string_append (((Fixture *) user_data)->log, "b"); }

static void
once_checks (EipcEvent *event,
             gpointer   user_data)
{
  Fixture *f = user_data;

  g_assert_cmpint (eipc_event_get_kind (event), ==, EIPC_EVENT_SEND);
  g_assert_cmpuint (eipc_event_get_sender_id (event), ==, 0);
  g_string_append_printf (f->log, "once(%u)",
                          eipc_renderer_listener_count (f->renderer, "pong"));
}

static void
wait_log (Fixture    *f,
          const char *expected)
{
  while (f->log->len < strlen (expected))
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (f->log->str, ==, expected);
  g_string_truncate (f->log, 0);
}

static void
test_listeners (Fixture       *f,
                gconstpointer  data)
{
  guint id;

  eipc_renderer_on (f->renderer, "pong", append_a, f, NULL);
  eipc_renderer_once (f->renderer, "pong", once_checks, f, NULL);
  id = eipc_renderer_on (f->renderer, "pong", append_b, f, NULL);
  eipc_renderer_on (f->renderer, "pong", append_a, f, NULL);

  g_assert_true (eipc_renderer_send_json (f->renderer, "ping-reply", "[1]", NULL));
  wait_log (f, "aonce(3)ba");
  g_assert_true (eipc_renderer_send_json (f->renderer, "ping-reply", "[2]", NULL));
  wait_log (f, "aba");

  g_assert_true (eipc_renderer_remove_listener (f->renderer, "pong", append_a, f));
  g_assert_true (eipc_renderer_remove_listener_by_id (f->renderer, id));
  g_assert_false (eipc_renderer_remove_listener_by_id (f->renderer, id));
  g_assert_true (eipc_renderer_send_json (f->renderer, "ping-reply", "[3]", NULL));
  wait_log (f, "a");

  eipc_renderer_remove_all_listeners (f->renderer, NULL);
  g_assert_cmpuint (eipc_renderer_listener_count (f->renderer, "pong"), ==, 0);
}

/* The convenience that takes JSON text checks it locally. */
static void
test_bad_json (Fixture       *f,
               gconstpointer  data)
{
  const char *bad[] = { "", "{}", "[1,", "[] []", "nope", "\"s\"" };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) node = NULL;

      g_assert_false (eipc_renderer_send_json (f->renderer, "log", bad[i], &error));
      g_assert_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS);
      g_clear_error (&error);
      node = eipc_renderer_send_sync_json (f->renderer, "echo", bad[i], &error);
      g_assert_null (node);
      g_assert_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS);
    }
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *huge = g_strnfill (4097, 'c');

    /* '' is an ordinary channel; a channel over 4096 bytes is not. */
    g_assert_true (eipc_renderer_send_json (f->renderer, "", "[]", &error));
    g_assert_no_error (error);
    g_assert_false (eipc_renderer_send_json (f->renderer, huge, "[]", &error));
    g_assert_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS);
  }
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

  ADD ("/ipc/renderer/attach", test_attach);
  g_test_add_func ("/ipc/renderer/no-main", test_no_main);
  ADD ("/ipc/renderer/invoke", test_invoke);
  ADD ("/ipc/renderer/invoke-cancel", test_invoke_cancel);
  ADD ("/ipc/renderer/invoke-finish-json", test_invoke_finish_json);
  ADD ("/ipc/renderer/invoke-result", test_invoke_result);
  ADD ("/ipc/renderer/invoke-text-bytes", test_invoke_text_bytes);
  g_test_add_func ("/ipc/renderer/invoke-bad-result", test_invoke_bad_result);
  ADD ("/ipc/renderer/send-sync", test_send_sync);
  ADD ("/ipc/renderer/send-sync-signal", test_send_sync_signal);
  ADD ("/ipc/renderer/listeners", test_listeners);
  ADD ("/ipc/renderer/bad-json", test_bad_json);

  ret = g_test_run ();
  test_bus_down ();
  return ret;
}
