/* test-main.c: ipcMain semantics, with renderers as child processes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <math.h>
#include <string.h>
#include <unistd.h>

#include "test-common.h"

typedef struct {
  EipcMain *main;
  GString  *log;     /* what the listeners saw, in order */
  GPtrArray *held;   /* events kept for a deferred answer */
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->main = eipc_main_new (TEST_APP_ID, &error);
  g_assert_no_error (error);
  f->log = g_string_new (NULL);
  f->held = g_ptr_array_new_with_free_func (g_object_unref);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_ptr_array_unref (f->held);
  if (f->main != NULL)
    g_assert_finalize_object (f->main);
  g_string_free (f->log, TRUE);
}

static void
log_listener (EipcEvent *event,
              gpointer   user_data)
{
  Fixture *f = user_data;

  g_string_append_printf (f->log, "%s%s", eipc_event_get_channel (event),
                          eipc_event_get_args_json (event));
}

/* A second main process for the same app fails at once. */
static void
test_name_taken (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMain) second = eipc_main_new (TEST_APP_ID, &error);

  g_assert_null (second);
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_NAME_TAKEN);
  g_assert_nonnull (strstr (error->message, TEST_APP_ID));
}

static void
test_invalid_app_id (void)
{
  const char *bad[] = { "", "noDots", ":1.5", "org..x", "org.example.", "1org.x" };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(EipcMain) main = eipc_main_new (bad[i], &error);

      g_assert_null (main);
      g_assert_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS);
    }
}

/* The base path is the app id with dots as slashes, other bytes escaped. */
static void
test_object_path (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMain) main = eipc_main_new ("org.eipc.my-app_2", &error);

  g_assert_no_error (error);
  g_assert_cmpstr (eipc_main_get_object_path (main), ==, "/org/eipc/my_2dapp_5f2");
}

static void
on_attached (EipcMain        *main,
             EipcWebContents *wc,
             gpointer         user_data)
{
  g_ptr_array_add (user_data, g_object_ref (wc));
}

/* Renderers get distinct ids, never 0, never reused; the main process
 * records their unique name and pid from the bus. */
static void
test_attach_ids (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GPtrArray) attached = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  guint64 last = 0;

  g_signal_connect (f->main, "web-contents-attached", G_CALLBACK (on_attached), attached);

  for (int i = 0; i < 3; i++)
    {
      TestChild *child = test_child_spawn ("listen:quit", "id", "wait:quit:1", NULL);
      g_autofree char *pid = g_strdup (test_child_pid (child));
      g_autofree char *line = test_child_expect (child, "id ");
      g_autofree char *out = NULL;
      guint64 id = g_ascii_strtoull (line + 3, NULL, 10);
      EipcWebContents *wc;
      int status;

      g_assert_cmpuint (id, !=, 0);
      g_assert_cmpuint (id, >, last);
      last = id;
      g_assert_false (g_hash_table_contains (seen, &id));

      wc = eipc_main_get_web_contents (f->main, id);
      g_assert_nonnull (wc);
      g_assert_cmpuint (eipc_web_contents_get_process_id (wc), ==,
                        g_ascii_strtoull (pid, NULL, 10));
      g_assert_cmpuint (eipc_web_contents_get_user_id (wc), ==, getuid ());
      g_assert_true (eipc_web_contents_get_unique_name (wc)[0] == ':');

      g_assert_true (eipc_web_contents_send_json (wc, "quit", "[]", NULL));
      out = test_child_finish (child, &status);
      g_assert_cmpint (status, ==, 0);
      g_hash_table_add (seen, g_memdup2 (&id, sizeof id));
    }
  g_assert_cmpuint (attached->len, ==, 3);
}

/* Listeners run in registration order; once is removed before it runs;
 * remove_listener and remove_all_listeners work as in Node. */
static void
order_listener (EipcEvent *event,
                gpointer   user_data)
{
  g_string_append ((GString *) user_data, eipc_event_get_args_json (event));
}

static void
append_a (EipcEvent *event, gpointer user_data) { g_string_append (user_data, "a"); }
static void
append_b (EipcEvent *event, gpointer user_data) { g_string_append (user_data, "b"); }

typedef struct {
  EipcMain *main;
  GString  *log;
} OnceCheck;

static void
once_checks_count (EipcEvent *event,
                   gpointer   user_data)
{
  OnceCheck *c = user_data;

  /* Removed before it runs: Electron's once. */
  g_string_append_printf (c->log, "once(%u)",
                          eipc_main_listener_count (c->main, "ch"));
}

static void
test_listeners (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GString) log = g_string_new (NULL);
  OnceCheck check = { f->main, log };
  g_autofree char *out = NULL;
  int status;

  eipc_main_on (f->main, "ch", append_a, log, NULL);
  eipc_main_once (f->main, "ch", once_checks_count, &check, NULL);
  eipc_main_on (f->main, "ch", append_b, log, NULL);
  eipc_main_on (f->main, "ch", append_a, log, NULL);
  g_assert_cmpuint (eipc_main_listener_count (f->main, "ch"), ==, 4);

  out = test_run_renderer (&status, "send:ch:[1]", "send:ch:[2]", "sync:flush:[]", NULL);
  g_assert_cmpint (status, ==, 0);
  /* Second message: the once listener is gone. */
  g_assert_cmpstr (log->str, ==, "aonce(3)ba" "aba");

  /* removeListener removes the most recent matching one. */
  g_assert_true (eipc_main_remove_listener (f->main, "ch", append_a, log));
  g_assert_cmpuint (eipc_main_listener_count (f->main, "ch"), ==, 2);
  g_assert_false (eipc_main_remove_listener (f->main, "ch", append_a, NULL));
  g_string_truncate (log, 0);
  g_free (out);
  out = test_run_renderer (&status, "send:ch:[3]", "sync:flush:[]", NULL);
  g_assert_cmpstr (log->str, ==, "ab");

  eipc_main_on (f->main, "other", order_listener, log, NULL);
  eipc_main_remove_all_listeners (f->main, "ch");
  g_assert_cmpuint (eipc_main_listener_count (f->main, "ch"), ==, 0);
  g_assert_cmpuint (eipc_main_listener_count (f->main, "other"), ==, 1);
  eipc_main_remove_all_listeners (f->main, NULL);
  g_assert_cmpuint (eipc_main_listener_count (f->main, "other"), ==, 0);
}

static void
flush_listener (EipcEvent *event,
                gpointer   user_data)
{
  eipc_event_set_return_value (event, NULL);
}

/* Electron's handler semantics and texts. */
static void
handle_pong (EipcEvent *event,
             gpointer   user_data)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_VALUE);

  json_node_set_string (node, "pong");
  g_assert_cmpint (eipc_event_get_kind (event), ==, EIPC_EVENT_INVOKE);
  g_assert_true (eipc_event_resolve (event, node));
  g_assert_false (eipc_event_resolve (event, node));
}

static void
handle_add (EipcEvent *event,
            gpointer   user_data)
{
  JsonArray *args = eipc_event_get_args (event);
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_VALUE);
  double sum = 0;

  for (guint i = 0; i < json_array_get_length (args); i++)
    sum += json_array_get_double_element (args, i);
  json_node_set_double (node, sum);
  eipc_event_resolve (event, node);
}

static void
handle_fail (EipcEvent *event,
             gpointer   user_data)
{
  eipc_event_reject (event, "boom");
}

static void
handle_hold (EipcEvent *event,
             gpointer   user_data)
{
  Fixture *f = user_data;

  g_ptr_array_add (f->held, g_object_ref (event));
}

static void
handle_drop (EipcEvent *event,
             gpointer   user_data)
{
}

static void
count_calls (EipcEvent *event,
             gpointer   user_data)
{
  (*(guint *) user_data)++;
  eipc_event_resolve_json (event, "1", NULL);
}

static gboolean
answer_held (gpointer user_data)
{
  Fixture *f = user_data;

  for (guint i = 0; i < f->held->len; i++)
    {
      EipcEvent *event = g_ptr_array_index (f->held, i);

      if (eipc_event_get_kind (event) == EIPC_EVENT_INVOKE)
        g_assert_true (eipc_event_resolve_json (event, "{\"late\":true}", NULL));
      else
        g_assert_true (eipc_event_set_return_value_json (event, "\"late\"", NULL));
    }
  g_ptr_array_set_size (f->held, 0);
  return G_SOURCE_REMOVE;
}

/* Keeps the event and answers it 200 ms after it arrived (the clock starts
 * with the event, not the test: a slow start must not make it early). */
static void
hold_then_answer (EipcEvent *event,
                  gpointer   user_data)
{
  handle_hold (event, user_data);
  g_timeout_add (200, answer_held, user_data);
}

static void
test_handle (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  guint once_calls = 0;
  int status;

  g_assert_true (eipc_main_handle (f->main, "ping", handle_pong, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (eipc_main_handle (f->main, "ping", handle_pong, NULL, NULL, &error));
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_HANDLER_EXISTS);
  g_assert_cmpstr (error->message, ==, "Attempted to register a second handler for 'ping'");
  g_clear_error (&error);

  eipc_main_handle (f->main, "add", handle_add, NULL, NULL, NULL);
  eipc_main_handle (f->main, "fail", handle_fail, NULL, NULL, NULL);
  eipc_main_handle (f->main, "drop", handle_drop, NULL, NULL, NULL);
  eipc_main_handle_once (f->main, "once", count_calls, &once_calls, NULL, NULL);
  eipc_main_handle (f->main, "gone", handle_pong, NULL, NULL, NULL);
  g_assert_true (eipc_main_remove_handler (f->main, "gone"));
  g_assert_false (eipc_main_remove_handler (f->main, "gone"));

  out = test_run_renderer (&status,
                           "invoke:ping:[]",
                           "invoke:add:[1,2,3.5]",
                           "invoke:fail:[]",
                           "invoke:nothing:[]",
                           "invoke:gone:[]",
                           "invoke:drop:[]",
                           "invoke:once:[]",
                           "invoke:once:[]",
                           NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (out, ==,
                   "invoke ping = \"pong\"\n"
                   "invoke add = 6.5\n"
                   "invoke fail ! org.eipc.Error.HandlerFailed Error invoking remote method 'fail': Error: boom\n"
                   "invoke nothing ! org.eipc.Error.NoHandler Error invoking remote method 'nothing': Error: No handler registered for 'nothing'\n"
                   "invoke gone ! org.eipc.Error.NoHandler Error invoking remote method 'gone': Error: No handler registered for 'gone'\n"
                   "invoke drop = null\n"
                   "invoke once = 1\n"
                   "invoke once ! org.eipc.Error.NoHandler Error invoking remote method 'once': Error: No handler registered for 'once'\n"
                   "done\n");
  g_assert_cmpuint (once_calls, ==, 1);
}

/* Whatever a handler resolves with travels as valid JSON: numbers at
 * their limits, non-finite doubles (null, as JSON.stringify writes them),
 * strings with quotes and control characters. */
static void
handle_values (EipcEvent *event,
               gpointer   user_data)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_array (b);
  json_builder_add_double_value (b, 1e308);
  json_builder_add_double_value (b, -2.5e-300);
  json_builder_add_double_value (b, 0.1);
  json_builder_add_double_value (b, INFINITY);
  json_builder_add_double_value (b, NAN);
  json_builder_add_int_value (b, G_MININT64);
  json_builder_add_string_value (b, "q\"b\\n\n\x01\xc3\xa9");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "z");
  json_builder_add_null_value (b);
  json_builder_set_member_name (b, "a");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_end_object (b);
  json_builder_end_array (b);
  root = json_builder_get_root (b);
  eipc_event_resolve (event, root);
}

typedef struct {
  const char *channel;
  char       *result;   /* the text on the wire */
  gboolean    done;
} WireCall;

static gpointer
wire_invoke_thread (gpointer data)
{
  WireCall *call = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) c = NULL;
  g_autoptr(GVariant) reply = NULL;

  c = test_client_new ();
  reply = g_dbus_connection_call_sync (c, TEST_APP_ID, "/org/eipc/Test", "org.eipc.Main1",
                                       "Invoke", g_variant_new ("(ss)", call->channel, "[]"),
                                       G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NONE, 5000,
                                       NULL, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(s)", &call->result);
  g_atomic_int_set (&call->done, TRUE);
  return NULL;
}

/* Invokes @channel from a plain D-Bus client and returns the result text
 * exactly as it travelled. */
static char *
invoke_on_the_wire (const char *channel)
{
  WireCall call = { channel, NULL, FALSE };
  GThread *thread = g_thread_new ("wire", wire_invoke_thread, &call);

  while (!g_atomic_int_get (&call.done))
    g_main_context_iteration (NULL, FALSE);
  g_thread_join (thread);
  return call.result;
}

static void
test_resolve_values (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *text = NULL;

  eipc_main_handle (f->main, "values", handle_values, NULL, NULL, NULL);
  text = invoke_on_the_wire ("values");
  g_assert_cmpstr (text, ==,
                   "[1e+308,-2.5e-300,0.1,null,null,"
                   "-9223372036854775808,\"q\\\"b\\\\n\\n\\u0001\xc3\xa9\",{\"z\":null,\"a\":true}]");
}

/* Doubles travel as JSON.stringify writes them (ECMAScript's
 * Number::toString): the shortest text that reads back as the same
 * double, exponents from 1e21 and below 1e-6, -0 as 0, NaN and the
 * infinities as null. The expected texts are what node prints for
 * JSON.stringify(x). */
static const struct {
  double      value;
  const char *json;
} number_table[] = {
  { 0.1, "0.1" },
  { 0.1 + 0.2, "0.30000000000000004" },
  { 0.7999999999999999, "0.7999999999999999" },
  { 1.0 / 3.0, "0.3333333333333333" },
  { 4.35, "4.35" },
  { 123.456, "123.456" },
  { 1.0, "1" },
  { 100.0, "100" },
  { -0.0, "0" },
  { 1e20, "100000000000000000000" },
  { 123456789012345680000.0, "123456789012345680000" },
  { 1e21, "1e+21" },
  { 1.2345e21, "1.2345e+21" },
  { 1e-6, "0.000001" },
  { 0.000001234, "0.000001234" },
  { 1e-7, "1e-7" },
  { -1e-7, "-1e-7" },
  { 1.5e-7, "1.5e-7" },
  { 123e-20, "1.23e-18" },
  { 5e-324, "5e-324" },
  { 2.2250738585072014e-308, "2.2250738585072014e-308" },
  { 1.7976931348623157e308, "1.7976931348623157e+308" },
  { -2.5e-300, "-2.5e-300" },
  { 9007199254740993.0, "9007199254740992" },   /* 2^53 + 1 */
  { 9007199254740991.0, "9007199254740991" },   /* Number.MAX_SAFE_INTEGER */
  { -1234.5678, "-1234.5678" },
  { INFINITY, "null" },
  { -INFINITY, "null" },
  { NAN, "null" },
};

static void
handle_number_table (EipcEvent *event,
                     gpointer   user_data)
{
  g_autoptr(JsonArray) array = json_array_new ();
  g_autoptr(JsonNode) root = json_node_new (JSON_NODE_ARRAY);

  for (gsize i = 0; i < G_N_ELEMENTS (number_table); i++)
    json_array_add_double_element (array, number_table[i].value);
  json_node_set_array (root, array);
  eipc_event_resolve (event, root);
}

static void
test_number_table (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) got = NULL;

  eipc_main_handle (f->main, "numbers", handle_number_table, NULL, NULL, NULL);
  text = invoke_on_the_wire ("numbers");
  g_assert_true (g_str_has_prefix (text, "[") && g_str_has_suffix (text, "]"));
  text[strlen (text) - 1] = '\0';
  got = g_strsplit (text + 1, ",", -1);
  g_assert_cmpuint (g_strv_length (got), ==, G_N_ELEMENTS (number_table));
  for (gsize i = 0; i < G_N_ELEMENTS (number_table); i++)
    {
      g_test_message ("%.17g", number_table[i].value);
      g_assert_cmpstr (got[i], ==, number_table[i].json);
    }
}

/* A handler may answer later; the renderer keeps waiting meanwhile. */
static void
test_handle_deferred (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *out = NULL;
  int status;

  eipc_main_handle (f->main, "later", hold_then_answer, f, NULL, NULL);
  eipc_main_on (f->main, "later-sync", hold_then_answer, f, NULL);
  out = test_run_renderer (&status, "invoke:later:[]", NULL);
  g_assert_cmpstr (out, ==, "invoke later = {\"late\":true}\ndone\n");

  g_free (out);
  out = test_run_renderer (&status, "sync:later-sync:[]", NULL);
  g_assert_cmpstr (out, ==, "sync later-sync = \"late\"\ndone\n");
}

static void
sync_echo (EipcEvent *event,
           gpointer   user_data)
{
  g_assert_cmpint (eipc_event_get_kind (event), ==, EIPC_EVENT_SEND_SYNC);
  g_assert_true (eipc_event_set_return_value_json (event, eipc_event_get_args_json (event), NULL));
}

static void
sync_second (EipcEvent *event,
             gpointer   user_data)
{
  /* The first value set is the answer. */
  g_assert_true (eipc_event_is_answered (event));
  g_assert_false (eipc_event_set_return_value_json (event, "2", NULL));
}

/* sendSync: the value, no listener, a dropped event, a timeout. */
static void
test_send_sync (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *out = NULL;
  gint64 start;
  int status;

  eipc_main_on (f->main, "echo", sync_echo, NULL, NULL);
  eipc_main_on (f->main, "echo", sync_second, NULL, NULL);
  eipc_main_on (f->main, "ignored", log_listener, f, NULL);
  eipc_main_on (f->main, "held", handle_hold, f, NULL);

  start = g_get_monotonic_time ();
  out = test_run_renderer (&status,
                           "sync:echo:[1,\"two\",{\"3\":[4]}]",
                           "sync:nobody:[]",
                           "sync:ignored:[]",
                           "timeout:300",
                           "sync:held:[]",
                           NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (out, ==,
                   "sync echo = [1,\"two\",{\"3\":[4]}]\n"
                   "sync nobody ! org.eipc.Error.NoListener No listener registered for sendSync on 'nobody'\n"
                   "sync ignored ! org.eipc.Error.NoReturnValue No listener set a return value for sendSync on 'ignored'\n"
                   "sync held ! org.eipc.Error.Timeout Connection timed out\n"
                   "done\n");
  /* Only the held one waited, for its 300 ms. */
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  g_ptr_array_set_size (f->held, 0);
}

/* Messages from one renderer arrive in order across send, invoke and
 * sendSync. */
static void
record_kind (EipcEvent *event,
             gpointer   user_data)
{
  Fixture *f = user_data;
  static const char *kinds[] = { "s", "i", "y" };

  g_string_append_printf (f->log, "%s%s ", kinds[eipc_event_get_kind (event)],
                          eipc_event_get_args_json (event));
  if (eipc_event_get_kind (event) == EIPC_EVENT_INVOKE)
    eipc_event_resolve (event, NULL);
  else if (eipc_event_get_kind (event) == EIPC_EVENT_SEND_SYNC)
    eipc_event_set_return_value (event, NULL);
}

static void
test_order (Fixture       *f,
            gconstpointer  data)
{
  g_autofree char *out = NULL;
  int status;

  eipc_main_on (f->main, "o", record_kind, f, NULL);
  eipc_main_handle (f->main, "o", record_kind, f, NULL, NULL);
  out = test_run_renderer (&status,
                           "send:o:[1]", "invoke-async:o:[2]", "send:o:[3]",
                           "sync:o:[4]", "invoke-async:o:[5]", "invoke-async:o:[6]",
                           "send:o:[7]", "sync:o:[8]", "pending", NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (f->log->str, ==, "s[1] i[2] s[3] y[4] i[5] i[6] s[7] y[8] ");
}

/* The event tells who sent it. */
static void
check_sender (EipcEvent *event,
              gpointer   user_data)
{
  Fixture *f = user_data;
  EipcWebContents *wc = eipc_event_get_sender (event);

  g_assert_nonnull (wc);
  g_assert_cmpuint (eipc_event_get_sender_id (event), ==, eipc_web_contents_get_id (wc));
  g_assert_cmpuint (eipc_event_get_process_id (event), ==,
                    eipc_web_contents_get_process_id (wc));
  g_assert_cmpstr (eipc_event_get_sender_name (event), ==,
                   eipc_web_contents_get_unique_name (wc));
  g_string_append_printf (f->log, "%" G_GUINT64_FORMAT ":%u",
                          eipc_event_get_sender_id (event),
                          eipc_event_get_process_id (event));
  eipc_event_set_return_value (event, NULL);
}

static void
test_event_sender (Fixture       *f,
                   gconstpointer  data)
{
  TestChild *child;
  g_autofree char *line = NULL, *out = NULL, *expected = NULL, *pid = NULL;

  eipc_main_on (f->main, "who", check_sender, f, NULL);
  child = test_child_spawn ("id", "sync:who:[]", NULL);
  /* Now: once the child has exited and been reaped, GSubprocess no
   * longer knows its pid. */
  pid = g_strdup (test_child_pid (child));
  line = test_child_expect (child, "id ");
  expected = g_strdup_printf ("%s:%s", line + 3, pid);
  out = test_child_finish (child, NULL);
  g_assert_cmpstr (f->log->str, ==, expected);
}

/* An event a listener keeps stays as it was, and data a listener sets on
 * an event does not show on the next one: events nobody keeps are
 * reused, so both are what a reuse must not touch. */
static void
keep_or_mark (EipcEvent *event,
              gpointer   user_data)
{
  Fixture *f = user_data;
  const char *args = eipc_event_get_args_json (event);

  g_assert_null (g_object_get_data (G_OBJECT (event), "test-mark"));
  g_string_append (f->log, args);
  if (strcmp (args, "[1]") == 0)
    g_ptr_array_add (f->held, g_object_ref (event));
  else if (strcmp (args, "[2]") == 0)
    g_object_set_data (G_OBJECT (event), "test-mark", f);
}

static void
test_kept_events (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *out = NULL;
  EipcEvent *kept;
  int status;

  eipc_main_on (f->main, "k", keep_or_mark, f, NULL);
  eipc_main_on (f->main, "flush", flush_listener, NULL, NULL);
  out = test_run_renderer (&status, "send:k:[1]", "send:k:[2]", "send:k:[3]",
                           "send:k:[4]", "sync:flush:[]", NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (f->log->str, ==, "[1][2][3][4]");
  g_assert_cmpuint (f->held->len, ==, 1);
  kept = g_ptr_array_index (f->held, 0);
  g_assert_cmpint (eipc_event_get_kind (kept), ==, EIPC_EVENT_SEND);
  g_assert_cmpstr (eipc_event_get_channel (kept), ==, "k");
  g_assert_cmpstr (eipc_event_get_args_json (kept), ==, "[1]");
  g_assert_nonnull (eipc_event_get_sender_name (kept));
}

/* A listener may drop the last reference to the main process while a
 * send is delivered: nothing touches the object after it is gone. */
static void
drop_main (EipcEvent *event,
           gpointer   user_data)
{
  Fixture *f = user_data;

  g_string_append (f->log, eipc_event_get_channel (event));
  g_clear_object (&f->main);
}

static void
test_drop_main_in_listener (Fixture       *f,
                            gconstpointer  data)
{
  g_autofree char *out = NULL;
  gpointer weak;
  int status;

  eipc_main_on (f->main, "bye", drop_main, f, NULL);
  weak = f->main;
  g_object_add_weak_pointer (G_OBJECT (f->main), &weak);
  out = test_run_renderer (&status, "send:bye:[]", NULL);
  g_assert_cmpint (status, ==, 0);
  /* The send may still wait in the socket when the renderer is gone. */
  while (f->main != NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (f->log->str, ==, "bye");
  g_assert_null (f->main);
  g_assert_null (weak);
}

/* Both ways of running the context work: a GMainLoop here (the other
 * tests use g_main_context_iteration). */
static gboolean
quit_on_child_exit (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static void
child_exited (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  g_idle_add (quit_on_child_exit, user_data);
}

static void
test_main_loop (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autofree char *helper = test_helper_path ("eipc-test-renderer");
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) child = NULL;

  eipc_main_handle (f->main, "ping", handle_pong, NULL, NULL, NULL);
  eipc_main_on (f->main, "log", log_listener, f, NULL);
  eipc_main_on (f->main, "flush", flush_listener, NULL, NULL);
  child = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error, helper,
                            "invoke:ping:[]", "send:log:[\"hi\"]", "sync:flush:[]", NULL);
  g_assert_no_error (error);
  g_subprocess_wait_async (child, NULL, child_exited, loop);
  g_main_loop_run (loop);
  g_assert_true (g_subprocess_get_successful (child));
  g_assert_cmpstr (f->log->str, ==, "log[\"hi\"]");
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

  ADD ("/ipc/main/name-taken", test_name_taken);
  g_test_add_func ("/ipc/main/invalid-app-id", test_invalid_app_id);
  g_test_add_func ("/ipc/main/object-path", test_object_path);
  ADD ("/ipc/main/attach-ids", test_attach_ids);
  ADD ("/ipc/main/listeners", test_listeners);
  ADD ("/ipc/main/handle", test_handle);
  ADD ("/ipc/main/handle-deferred", test_handle_deferred);
  ADD ("/ipc/main/resolve-values", test_resolve_values);
  ADD ("/ipc/main/json-numbers", test_number_table);
  ADD ("/ipc/main/send-sync", test_send_sync);
  ADD ("/ipc/main/order", test_order);
  ADD ("/ipc/main/event-sender", test_event_sender);
  ADD ("/ipc/main/kept-events", test_kept_events);
  ADD ("/ipc/main/drop-main-in-listener", test_drop_main_in_listener);
  ADD ("/ipc/main/main-loop", test_main_loop);

  ret = g_test_run ();
  test_bus_down ();
  return ret;
}
