/* test-cli.c: the `eipc` command-line tool against a real main process
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every subcommand runs as its own process (tools/eipc from the build
 * tree) on the test's private bus, against an EipcMain served by a
 * thread of the test, with renderers as child processes (`eipc listen`
 * and the eipc-test-renderer helper) and a plain GDBus client.
 */

#include <signal.h>
#include <stdarg.h>
#include <string.h>

#include <glib/gstdio.h>

#include "test-common.h"
#include "../tools/eipc-tool.h"

#define RENDERER_INTERFACE "org.eipc.Renderer1"

/* The main process -------------------------------------------------------- */

typedef struct {
  GMutex     lock;
  guint      notes;
  GString   *note_args;   /* every note's arguments, joined by ' ' */
  GPtrArray *held;        /* events of "hold", never answered */
  guint      floods;
} MainState;

static void
handle_add (EipcEvent *event,
            gpointer   user_data)
{
  JsonArray *args = eipc_event_get_args (event);
  double sum = 0;
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  for (guint i = 0; i < json_array_get_length (args); i++)
    sum += json_array_get_double_element (args, i);
  if (sum == (gint64) sum)
    g_snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, (gint64) sum);
  else
    g_ascii_dtostr (buf, sizeof buf, sum);
  eipc_event_resolve_json (event, buf, NULL);
}

static void
handle_fail (EipcEvent *event,
             gpointer   user_data)
{
  eipc_event_reject (event, "boom");
}

static void
handle_obj (EipcEvent *event,
            gpointer   user_data)
{
  eipc_event_resolve_json (event, "{\"a\":[1,2.5,null],\"b\":\"x\\ny\",\"c\":{}}", NULL);
}

static void
handle_hold (EipcEvent *event,
             gpointer   user_data)
{
  MainState *state = user_data;

  g_mutex_lock (&state->lock);
  g_ptr_array_add (state->held, g_object_ref (event));
  g_mutex_unlock (&state->lock);
}

static void
on_echo_sync (EipcEvent *event,
              gpointer   user_data)
{
  eipc_event_set_return_value_json (event, eipc_event_get_args_json (event), NULL);
}

static void
on_note (EipcEvent *event,
         gpointer   user_data)
{
  MainState *state = user_data;

  g_mutex_lock (&state->lock);
  state->notes++;
  if (state->note_args->len > 0)
    g_string_append_c (state->note_args, ' ');
  g_string_append (state->note_args, eipc_event_get_args_json (event));
  g_mutex_unlock (&state->lock);
}

static void
on_flood (EipcEvent *event,
          gpointer   user_data)
{
  MainState *state = user_data;

  g_mutex_lock (&state->lock);
  state->floods++;
  g_mutex_unlock (&state->lock);
}

static void
main_setup (EipcMain *main,
            gpointer  user_data)
{
  MainState *state = user_data;

  g_assert_true (eipc_main_handle (main, "add", handle_add, NULL, NULL, NULL));
  g_assert_true (eipc_main_handle (main, "fail", handle_fail, NULL, NULL, NULL));
  g_assert_true (eipc_main_handle (main, "obj", handle_obj, NULL, NULL, NULL));
  g_assert_true (eipc_main_handle (main, "hold", handle_hold, state, NULL, NULL));
  eipc_main_on (main, "echo-sync", on_echo_sync, NULL, NULL);
  eipc_main_on (main, "note", on_note, state, NULL);
  eipc_main_on (main, "flood", on_flood, state, NULL);
}

typedef struct {
  TestMainThread *thread;
  MainState       state;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_mutex_init (&f->state.lock);
  f->state.note_args = g_string_new (NULL);
  f->state.held = g_ptr_array_new_with_free_func (g_object_unref);
  f->thread = test_main_thread_start (TEST_APP_ID, main_setup, &f->state);
}

static void
drop_held (EipcMain *main,
           gpointer  user_data)
{
  MainState *state = user_data;

  g_ptr_array_set_size (state->held, 0);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  test_main_thread_call (f->thread, drop_held, &f->state);
  test_main_thread_stop (f->thread);
  g_ptr_array_unref (f->state.held);
  g_string_free (f->state.note_args, TRUE);
  g_mutex_clear (&f->state.lock);
}

/* Running eipc -------------------------------------------------------------- */

static char *
eipc_path (void)
{
  const char *root = g_getenv ("EIPC_BUILD_ROOT");

  g_assert_nonnull (root);
  return g_build_filename (root, "tools", "eipc", NULL);
}

static GPtrArray *
argv_new (const char *first,
          va_list     ap)
{
  GPtrArray *argv = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (argv, eipc_path ());
  for (const char *arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (argv, g_strdup (arg));
  g_ptr_array_add (argv, NULL);
  return argv;
}

/* Runs eipc with the arguments to its end; returns its exit status. */
static int
run_eipc (char       **out,
          char       **err,
          const char  *first,
          ...)
{
  g_autoptr(GPtrArray) argv = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  char *stdout_text = NULL, *stderr_text = NULL;
  va_list ap;

  va_start (ap, first);
  argv = argv_new (first, ap);
  va_end (ap);
  process = g_subprocess_newv ((const char * const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                               &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &stdout_text, &stderr_text, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  if (out != NULL)
    *out = stdout_text;
  else
    g_free (stdout_text);
  if (err != NULL)
    *err = stderr_text;
  else
    g_free (stderr_text);
  return g_subprocess_get_exit_status (process);
}

/* A long-running eipc (listen, monitor), read line by line. */
typedef struct {
  GSubprocess      *process;
  GDataInputStream *out;
  GDataInputStream *err;
} Tool;

static Tool *
tool_spawn (const char *first,
            ...)
{
  g_autoptr(GPtrArray) argv = NULL;
  g_autoptr(GError) error = NULL;
  Tool *tool = g_new0 (Tool, 1);
  va_list ap;

  va_start (ap, first);
  argv = argv_new (first, ap);
  va_end (ap);
  tool->process = g_subprocess_newv ((const char * const *) argv->pdata,
                                     G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                     G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  tool->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (tool->process));
  tool->err = g_data_input_stream_new (g_subprocess_get_stderr_pipe (tool->process));
  return tool;
}

typedef struct {
  gboolean  done;
  char     *line;
} LineRead;

static void
line_read_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  LineRead *read = user_data;

  read->line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source),
                                                          result, NULL, NULL);
  read->done = TRUE;
}

/* The next line (without its newline), or NULL at the end; fails the
 * test after 60 s. */
static char *
read_line (GDataInputStream *stream)
{
  LineRead read = { FALSE, NULL };

  g_data_input_stream_read_line_async (stream, G_PRIORITY_DEFAULT, NULL, line_read_done, &read);
  test_wait_for (&read.done, 60000);
  return read.line;
}

/* Reads stderr until a line starting with @prefix. */
static char *
tool_expect_err (Tool       *tool,
                 const char *prefix)
{
  for (;;)
    {
      char *line = read_line (tool->err);

      if (line == NULL)
        g_error ("eipc ended before printing '%s' on stderr", prefix);
      if (g_str_has_prefix (line, prefix))
        return line;
      g_test_message ("eipc stderr: %s", line);
      g_free (line);
    }
}

/* Interrupts it (Ctrl-C), reads the rest of stdout and stderr and
 * returns its exit status. */
static int
tool_finish (Tool       *tool,
             GPtrArray  *rest,
             char      **err_rest)
{
  g_autoptr(GString) err = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  char *line;
  int status;

  g_subprocess_send_signal (tool->process, SIGINT);
  while ((line = read_line (tool->out)) != NULL)
    {
      if (rest != NULL)
        g_ptr_array_add (rest, line);
      else
        g_free (line);
    }
  while ((line = read_line (tool->err)) != NULL)
    {
      g_string_append_printf (err, "%s\n", line);
      g_free (line);
    }
  g_subprocess_wait (tool->process, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (tool->process));
  status = g_subprocess_get_exit_status (tool->process);
  g_object_unref (tool->out);
  g_object_unref (tool->err);
  g_object_unref (tool->process);
  g_free (tool);
  if (err_rest != NULL)
    *err_rest = g_string_free (g_steal_pointer (&err), FALSE);
  return status;
}

static JsonNode *
parse_json (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  if (!json_parser_load_from_data (parser, text, -1, &error))
    g_error ("not JSON: '%s': %s", text, error->message);
  return json_node_ref (json_parser_get_root (parser));
}

/* Usage ------------------------------------------------------------------ */

static void
test_usage (void)
{
  g_autofree char *out = NULL, *err = NULL;

  g_assert_cmpint (run_eipc (NULL, &err, NULL), ==, 2);
  g_assert_nonnull (strstr (err, "Usage:"));
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (run_eipc (&out, NULL, "--help", NULL), ==, 0);
  for (const char *const *c = (const char *const[]) { "list", "info", "invoke", "send-sync",
                                                       "send", "send-to", "listen", "monitor",
                                                       NULL }; *c != NULL; c++)
    {
      g_autofree char *sub = NULL;

      g_assert_nonnull (strstr (out, *c));
      g_assert_cmpint (run_eipc (&sub, NULL, *c, "--help", NULL), ==, 0);
      g_assert_nonnull (strstr (sub, "Usage:"));
      g_assert_nonnull (strstr (sub, *c));
      g_assert_nonnull (strstr (sub, "--help-bus"));
    }
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (run_eipc (&out, NULL, "--version", NULL), ==, 0);
  g_assert_true (g_str_has_prefix (out, "eipc 1."));

  g_assert_cmpint (run_eipc (NULL, &err, "frobnicate", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "unknown command 'frobnicate'"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_eipc (NULL, &err, "--bogus", "list", NULL), ==, 2);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_eipc (NULL, &err, "list", "--bogus", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "--bogus"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_eipc (NULL, &err, "list", "extra", NULL), ==, 2);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_eipc (NULL, &err, "info", NULL), ==, 2);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_eipc (NULL, &err, "info", "not an app", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "not an app id"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_eipc (NULL, &err, "invoke", TEST_APP_ID, NULL), ==, 2);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_eipc (NULL, &err, "send-to", TEST_APP_ID, "zero", "ch", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "not a webContentsId"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_eipc (NULL, &err, "monitor", NULL), ==, 2);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_eipc (NULL, &err, "monitor", "--web-contents", "x", TEST_APP_ID, NULL),
                   ==, 2);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_eipc (NULL, &err, "listen", "--answer", "nojson=[", TEST_APP_ID, NULL),
                   ==, 2);
  g_clear_pointer (&err, g_free);
}

/* list, info --------------------------------------------------------------- */

static void
test_list (Fixture       *f,
           gconstpointer  data)
{
  g_autofree char *out = NULL, *err = NULL, *pid = g_strdup_printf (" %d ", getpid ());
  g_autoptr(JsonNode) root = NULL;
  JsonObject *app = NULL;
  JsonArray *apps;
  g_autoptr(GDBusConnection) other = test_client_new ();
  g_autoptr(GError) error = NULL;
  guint owner_id;

  /* A name that does not serve org.eipc.Main1 is not listed. */
  owner_id = g_bus_own_name_on_connection (other, "org.eipc.NotAnApp", G_BUS_NAME_OWNER_FLAGS_NONE,
                                           NULL, NULL, NULL, NULL);
  test_spin (100);

  g_assert_cmpint (run_eipc (&out, &err, "list", NULL), ==, 0);
  g_assert_true (g_str_has_prefix (out, "APP "));
  g_assert_nonnull (strstr (out, TEST_APP_ID " "));
  g_assert_nonnull (strstr (out, pid));
  g_assert_nonnull (strstr (out, "add, fail, hold, obj"));
  g_assert_null (strstr (out, "org.eipc.NotAnApp"));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (run_eipc (&out, NULL, "list", "--quiet", NULL), ==, 0);
  g_assert_cmpstr (out, ==, TEST_APP_ID "\n");
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (run_eipc (&out, NULL, "list", "--json", NULL), ==, 0);
  root = parse_json (out);
  apps = json_node_get_array (root);
  g_assert_cmpuint (json_array_get_length (apps), ==, 1);
  app = json_array_get_object_element (apps, 0);
  g_assert_cmpstr (json_object_get_string_member (app, "app"), ==, TEST_APP_ID);
  g_assert_cmpint (json_object_get_int_member (app, "pid"), ==, getpid ());
  g_assert_cmpint (json_object_get_int_member (app, "web_contents"), ==, 0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (app, "channels")), ==, 4);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (app, "unique_name"), ":"));

  g_bus_unown_name (owner_id);
  g_dbus_connection_close_sync (other, NULL, &error);
}

static void
test_info (Fixture       *f,
           gconstpointer  data)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(EipcRenderer) renderer = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *info, *wc;
  JsonArray *wcs;

  g_assert_cmpint (run_eipc (&out, &err, "info", TEST_APP_ID, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "App:         " TEST_APP_ID "\n"));
  g_assert_nonnull (strstr (out, "Strict:      no\n"));
  g_assert_nonnull (strstr (out, "Channels:    add\n             fail\n"));
  g_assert_nonnull (strstr (out, "WebContents: 0\n"));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (run_eipc (&out, NULL, "info", "--channels", TEST_APP_ID, NULL), ==, 0);
  g_assert_cmpstr (out, ==, "add\nfail\nhold\nobj\n");
  g_clear_pointer (&out, g_free);

  /* An attached renderer shows with its id, unique name, pid and host. */
  renderer = eipc_renderer_new_for_address (TEST_APP_ID, test_bus_address (), &error);
  g_assert_no_error (error);
  g_assert_cmpint (run_eipc (&out, NULL, "--address", test_bus_address (), "info", "--json",
                             TEST_APP_ID, NULL), ==, 0);
  root = parse_json (out);
  info = json_node_get_object (root);
  g_assert_cmpstr (json_object_get_string_member (info, "app"), ==, TEST_APP_ID);
  g_assert_false (json_object_get_boolean_member (info, "strict"));
  g_assert_cmpint (json_object_get_int_member (info, "pid"), ==, getpid ());
  wcs = json_object_get_array_member (info, "web_contents");
  g_assert_cmpuint (json_array_get_length (wcs), ==, 1);
  wc = json_array_get_object_element (wcs, 0);
  g_assert_cmpint (json_object_get_int_member (wc, "id"), ==, eipc_renderer_get_id (renderer));
  g_assert_cmpint (json_object_get_int_member (wc, "pid"), ==, getpid ());
  g_assert_cmpint (json_object_get_int_member (wc, "host_id"), ==, 0);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (wc, "unique_name"), ":"));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (run_eipc (&out, NULL, "info", TEST_APP_ID, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "WebContents: 1\n"));
}

/* An app that is not running: exit status 1 and a clear message. */
static void
test_not_running (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *err = NULL, *out = NULL;

  g_assert_cmpint (run_eipc (&out, &err, "info", "org.eipc.NotRunning", NULL), ==, 1);
  g_assert_cmpstr (out, ==, "");
  g_assert_cmpstr (err, ==, "No application 'org.eipc.NotRunning' is running on the bus.\n");
  g_clear_pointer (&err, g_free);
  g_clear_pointer (&out, g_free);

  for (const char *const *c = (const char *const[]) { "invoke", "send-sync", "send", NULL };
       *c != NULL; c++)
    {
      g_assert_cmpint (run_eipc (&out, &err, *c, "org.eipc.NotRunning", "add", "1", NULL), ==, 1);
      g_assert_cmpstr (out, ==, "");
      g_assert_nonnull (strstr (err, "org.eipc.NotRunning"));
      g_clear_pointer (&err, g_free);
      g_clear_pointer (&out, g_free);
    }
  g_assert_cmpint (run_eipc (&out, &err, "send-to", "org.eipc.NotRunning", "1", "ch", NULL), ==, 1);
  g_clear_pointer (&err, g_free);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_eipc (&out, &err, "listen", "org.eipc.NotRunning", NULL), ==, 1);
  g_assert_cmpstr (err, ==, "No application 'org.eipc.NotRunning' is running on the bus.\n");
  g_clear_pointer (&err, g_free);
  g_clear_pointer (&out, g_free);

  /* A bus that is not there. */
  g_assert_cmpint (run_eipc (&out, &err, "--address", "unix:path=/nonexistent/bus", "list", NULL),
                   ==, 1);
  g_assert_nonnull (strstr (err, "Failed to connect to the bus at unix:path=/nonexistent/bus"));
}

/* invoke, send-sync ------------------------------------------------------------ */

static void
test_invoke (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *out = NULL, *err = NULL;

  g_assert_cmpint (run_eipc (&out, &err, "invoke", TEST_APP_ID, "add", "1", "2", "3.5", NULL), ==, 0);
  g_assert_cmpstr (out, ==, "6.5\n");
  g_assert_cmpstr (err, ==, "");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Negative numbers after APP are arguments, not options. */
  g_assert_cmpint (run_eipc (&out, NULL, "invoke", TEST_APP_ID, "add", "-1", "0.1", NULL), ==, 0);
  g_assert_cmpstr (out, ==, "-0.9\n");
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (run_eipc (&out, NULL, "invoke", "--args", "[10, 20]", TEST_APP_ID, "add", NULL),
                   ==, 0);
  g_assert_cmpstr (out, ==, "30\n");
  g_clear_pointer (&out, g_free);

  /* Piped: compact, one line, no colours. */
  g_assert_cmpint (run_eipc (&out, NULL, "invoke", TEST_APP_ID, "obj", NULL), ==, 0);
  g_assert_cmpstr (out, ==, "{\"a\":[1,2.5,null],\"b\":\"x\\ny\",\"c\":{}}\n");
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_eipc (&out, NULL, "invoke", "--compact", TEST_APP_ID, "obj", NULL), ==, 0);
  g_assert_cmpstr (out, ==, "{\"a\":[1,2.5,null],\"b\":\"x\\ny\",\"c\":{}}\n");
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (run_eipc (&out, NULL, "send-sync", TEST_APP_ID, "echo-sync", "\"a\"", "1",
                             "{\"b\": [true, null]}", NULL), ==, 0);
  g_assert_cmpstr (out, ==, "[\"a\",1,{\"b\":[true,null]}]\n");
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_eipc (&out, NULL, "send-sync", "--args", "[]", TEST_APP_ID, "echo-sync",
                             NULL), ==, 0);
  g_assert_cmpstr (out, ==, "[]\n");
}

static void
test_invoke_errors (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *out = NULL, *err = NULL;

  /* An unknown channel: the renderer's error text, exit status 1. */
  g_assert_cmpint (run_eipc (&out, &err, "invoke", TEST_APP_ID, "nope", NULL), ==, 1);
  g_assert_cmpstr (out, ==, "");
  g_assert_nonnull (strstr (err, "No handler registered for 'nope'"));
  g_assert_true (g_str_has_suffix (err, "'nope'\n"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* A failing handler: Electron's text. */
  g_assert_cmpint (run_eipc (&out, &err, "invoke", TEST_APP_ID, "fail", NULL), ==, 1);
  g_assert_cmpstr (out, ==, "");
  g_assert_cmpstr (err, ==, "Error invoking remote method 'fail': Error: boom\n");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* sendSync without a listener. */
  g_assert_cmpint (run_eipc (&out, &err, "send-sync", TEST_APP_ID, "nobody", NULL), ==, 1);
  g_assert_cmpstr (out, ==, "");
  g_assert_nonnull (strstr (err, "nobody"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Bad JSON is bad usage: nothing is sent. */
  g_assert_cmpint (run_eipc (&out, &err, "invoke", TEST_APP_ID, "add", "1", "two", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "argument 2 is not JSON: 'two'"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_eipc (&out, &err, "invoke", "--args", "{\"a\":1}", TEST_APP_ID, "add", NULL),
                   ==, 2);
  g_assert_nonnull (strstr (err, "--args must be a JSON array"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_eipc (&out, &err, "invoke", "--args", "[1", TEST_APP_ID, "add", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "--args is not JSON"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_eipc (&out, &err, "invoke", "--args", "[1]", TEST_APP_ID, "add", "2", NULL),
                   ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_eipc (&out, &err, "send", TEST_APP_ID, "note", "{", NULL), ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* --timeout: a handler that never answers. */
  g_assert_cmpint (run_eipc (&out, &err, "invoke", "--timeout", "0.5", TEST_APP_ID, "hold", NULL),
                   ==, 1);
  g_assert_cmpstr (err, ==, "Error invoking remote method 'hold': no answer within 0.5 s\n");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_eipc (&out, &err, "invoke", "--timeout", "-1", TEST_APP_ID, "hold", NULL),
                   ==, 2);
}

/* send, send-to, listen ---------------------------------------------------------- */

static guint
main_notes (Fixture *f)
{
  guint n;

  g_mutex_lock (&f->state.lock);
  n = f->state.notes;
  g_mutex_unlock (&f->state.lock);
  return n;
}

static void
wait_notes (Fixture *f,
            guint    n)
{
  for (guint i = 0; i < 3000 && main_notes (f) < n; i++)
    g_usleep (10000);
  g_assert_cmpuint (main_notes (f), ==, n);
}

static void
test_send (Fixture       *f,
           gconstpointer  data)
{
  g_autofree char *out = NULL, *err = NULL;

  g_assert_cmpint (run_eipc (&out, &err, "send", TEST_APP_ID, "note", "1", "\"two\"", NULL), ==, 0);
  g_assert_cmpstr (out, ==, "");
  g_assert_cmpstr (err, ==, "");
  wait_notes (f, 1);
  g_assert_cmpstr (f->state.note_args->str, ==, "[1,\"two\"]");
}

static guint64
listen_id (Tool *tool)
{
  g_autofree char *line = tool_expect_err (tool, "Attached to " TEST_APP_ID " as webContents ");

  return g_ascii_strtoull (line + strlen ("Attached to " TEST_APP_ID " as webContents "), NULL, 10);
}

typedef struct {
  guint64   id;
  char     *channel;
  char     *args;
  gboolean  broadcast;
  gboolean  done;
  char     *result;
} MainOp;

static void
main_op_send (EipcMain *main,
              gpointer  user_data)
{
  MainOp *op = user_data;
  g_autoptr(GError) error = NULL;

  if (op->broadcast)
    g_assert_true (eipc_main_broadcast_json (main, op->channel, op->args, &error));
  else
    g_assert_true (eipc_web_contents_send_json (eipc_main_get_web_contents (main, op->id),
                                                op->channel, op->args, &error));
  g_assert_no_error (error);
}

static void
main_op_invoked (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  MainOp *op = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = eipc_web_contents_invoke_finish (EIPC_WEB_CONTENTS (source),
                                                              result, &error);

  op->result = node != NULL ? json_to_string (node, FALSE)
                            : g_strdup_printf ("! %s", error->message);
  g_atomic_int_set (&op->done, TRUE);
}

static void
main_op_invoke (EipcMain *main,
                gpointer  user_data)
{
  MainOp *op = user_data;

  eipc_web_contents_invoke_json (eipc_main_get_web_contents (main, op->id), op->channel,
                                 op->args, NULL, main_op_invoked, op);
}

/* webContents.invoke from the main process, waited for. */
static char *
main_invoke (Fixture    *f,
             guint64     id,
             const char *channel)
{
  MainOp op = { id, (char *) channel, (char *) "[]", FALSE, FALSE, NULL };

  test_main_thread_call (f->thread, main_op_invoke, &op);
  for (guint i = 0; i < 3000 && !g_atomic_int_get (&op.done); i++)
    g_usleep (10000);
  g_assert_true (g_atomic_int_get (&op.done));
  return op.result;
}

static void
main_send (Fixture    *f,
           guint64     id,
           const char *channel,
           const char *args)
{
  MainOp op = { id, (char *) channel, (char *) args, id == 0, FALSE, NULL };

  test_main_thread_call (f->thread, main_op_send, &op);
}

typedef struct {
  guint64  id;
  gboolean found;
} WcQuery;

static void
main_has_web_contents (EipcMain *main,
                       gpointer  user_data)
{
  WcQuery *query = user_data;

  query->found = eipc_main_get_web_contents (main, query->id) != NULL;
}

static gboolean
main_has (Fixture *f,
          guint64  id)
{
  WcQuery query = { id, FALSE };

  test_main_thread_call (f->thread, main_has_web_contents, &query);
  return query.found;
}

static void
main_allow_guests_of (EipcMain *main,
                      gpointer  user_data)
{
  WcQuery *query = user_data;

  eipc_web_contents_set_allow_guests (eipc_main_get_web_contents (main, query->id), TRUE);
}

static void
main_allow_guests (Fixture *f,
                   guint64  id)
{
  WcQuery query = { id, FALSE };

  test_main_thread_call (f->thread, main_allow_guests_of, &query);
}

static void
test_listen (Fixture       *f,
             gconstpointer  data)
{
  Tool *all = tool_spawn ("listen", "--answer", "ask={\"n\": 42}", TEST_APP_ID, NULL);
  Tool *some = tool_spawn ("listen", "--json", TEST_APP_ID, "hello", "direct", NULL);
  guint64 a = listen_id (all), b = listen_id (some);
  g_autofree char *id_a = g_strdup_printf ("%" G_GUINT64_FORMAT, a);
  g_autofree char *host_arg = g_strdup_printf ("--guest=%" G_GUINT64_FORMAT, a);
  g_autofree char *send_to = g_strdup_printf ("send-to:%" G_GUINT64_FORMAT ":direct:[\"x\"]", b);
  g_autofree char *out = NULL, *err = NULL, *result = NULL, *line = NULL;
  g_autoptr(GPtrArray) rest = g_ptr_array_new_with_free_func (g_free);
  int status;

  g_assert_cmpuint (a, !=, 0);
  g_assert_true (main_has (f, a));

  main_send (f, a, "hello", "[1,{\"k\":\"v\"}]");
  main_send (f, b, "hello", "[2]");
  main_send (f, b, "ignored", "[3]");
  main_send (f, 0, "all", "[\"x\"]");
  result = main_invoke (f, a, "ask");
  g_assert_cmpstr (result, ==, "{\"n\":42}");
  g_clear_pointer (&result, g_free);
  result = main_invoke (f, a, "other");
  g_assert_cmpstr (result, ==, "! Error invoking remote method 'other': Error: No handler registered for 'other'");

  /* sendTo from the tool; sendTo and sendToHost from a guest of a. */
  g_assert_cmpint (run_eipc (&out, &err, "send-to", TEST_APP_ID, id_a, "direct", "\"hi\"", NULL), ==, 0);
  g_assert_cmpstr (err, ==, "");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  /* A guest needs its host's consent. */
  main_allow_guests (f, a);
  g_free (test_run_renderer (&status, host_arg, send_to, "send-to-host:up:[\"guest\"]", NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  g_assert_cmpint (run_eipc (&out, &err, "send-to", TEST_APP_ID, "999", "direct", NULL), ==, 1);
  g_assert_cmpstr (err, ==, "No webContents with id 999 is attached\n");

  line = read_line (all->out);
  g_assert_cmpstr (line, ==, "webContents.send hello [1,{\"k\":\"v\"}]");
  g_free (line);
  line = read_line (all->out);
  g_assert_cmpstr (line, ==, "broadcast all [\"x\"]");
  g_free (line);
  line = read_line (all->out);
  g_assert_cmpstr (line, ==, "invoke ask [] -> {\"n\":42}");
  g_free (line);
  line = read_line (all->out);
  g_assert_cmpstr (line, ==, "invoke other [] -> no handler");
  g_free (line);
  line = read_line (all->out);
  g_assert_true (g_str_has_prefix (line, "sendTo direct [\"hi\"] from wc "));
  g_free (line);
  line = read_line (all->out);
  g_assert_true (g_str_has_prefix (line, "sendToHost up [\"guest\"] from guest "));
  g_clear_pointer (&line, g_free);

  /* Ctrl-C: exit status 0, detached. */
  g_assert_cmpint (tool_finish (all, rest, NULL), ==, 0);
  g_assert_cmpuint (rest->len, ==, 0);
  for (guint i = 0; i < 300 && main_has (f, a); i++)
    g_usleep (10000);
  g_assert_false (main_has (f, a));

  /* Only the channels asked for, as JSON. */
  g_assert_cmpint (tool_finish (some, rest, NULL), ==, 0);
  g_assert_cmpuint (rest->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (rest, 0), ==,
                   "{\"kind\":\"webContents.send\",\"channel\":\"hello\",\"args\":[2],\"sender_id\":0}");
  g_assert_true (g_str_has_prefix (g_ptr_array_index (rest, 1),
                                   "{\"kind\":\"sendTo\",\"channel\":\"direct\",\"args\":[\"x\"],"
                                   "\"sender_id\":"));
}

/* monitor ------------------------------------------------------------------------ */

/* One line of `eipc monitor --json` as "kind from>to channel payload". */
static char *
summarize (JsonObject *line,
           const char *plain_name)
{
  g_autoptr(GString) s = g_string_new (NULL);
  const char *ends[] = { "from", "to" };

  g_string_append (s, json_object_get_string_member (line, "kind"));
  for (guint i = 0; i < 2; i++)
    {
      const char *end = json_object_get_string_member (line, ends[i]);

      g_string_append_c (s, i == 0 ? ' ' : '>');
      if (g_str_has_prefix (end, "client "))
        end = strcmp (end + strlen ("client "), plain_name) == 0 ? "plain" : "client";
      g_string_append (s, end);
    }
  if (json_object_has_member (line, "call"))
    g_string_append_printf (s, " %s", json_object_get_string_member (line, "call"));
  if (json_object_has_member (line, "channel"))
    g_string_append_printf (s, " %s", json_object_get_string_member (line, "channel"));
  if (json_object_has_member (line, "args"))
    {
      g_autofree char *args = json_to_string (json_object_get_member (line, "args"), FALSE);

      g_string_append_printf (s, " %s", args);
    }
  if (json_object_has_member (line, "host_id"))
    g_string_append_printf (s, " host=%" G_GINT64_FORMAT,
                            json_object_get_int_member (line, "host_id"));
  if (json_object_has_member (line, "origin"))
    g_string_append_printf (s, " from %s", json_object_get_string_member (line, "origin"));
  if (json_object_has_member (line, "result"))
    {
      g_autofree char *result = json_to_string (json_object_get_member (line, "result"), FALSE);

      g_string_append_printf (s, " =%s", result);
    }
  if (json_object_has_member (line, "error"))
    g_string_append_printf (s, " !%s",
                            json_object_get_string_member (json_object_get_object_member (line, "error"),
                                                           "name"));
  if (json_object_has_member (line, "reason"))
    g_string_append_printf (s, " (%s)", json_object_get_string_member (line, "reason"));
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
call_plain (GDBusConnection *client,
            const char      *channel,
            const char      *args,
            char           **result,
            char           **error_name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  reply = g_dbus_connection_call_sync (client, TEST_APP_ID, "/org/eipc/Test", "org.eipc.Main1",
                                       "Invoke", g_variant_new ("(ss)", channel, args),
                                       G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NONE, 10000,
                                       NULL, &error);
  if (reply != NULL)
    g_variant_get (reply, "(s)", result);
  else
    *error_name = g_dbus_error_get_remote_error (error);
}

/* Reads @n lines of JSON from @tool's stdout. */
static GPtrArray *
read_json_lines (Tool  *tool,
                 guint  n)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);

  while (lines->len < n)
    {
      g_autofree char *line = read_line (tool->out);

      if (line == NULL)
        g_error ("the monitor ended after %u of %u lines", lines->len, n);
      g_test_message ("monitor: %s", line);
      g_ptr_array_add (lines, parse_json (line));
    }
  return lines;
}

static void
test_monitor (Fixture       *f,
              gconstpointer  data)
{
  Tool *monitor = tool_spawn ("monitor", "--json", TEST_APP_ID, NULL);
  Tool *by_channel = tool_spawn ("monitor", "--json", "--channel", "add", "--channel", "note",
                                 TEST_APP_ID, NULL);
  Tool *text = tool_spawn ("monitor", TEST_APP_ID, NULL);
  Tool *listen, *by_wc;
  g_autoptr(GDBusConnection) client = test_client_new ();
  g_autoptr(GPtrArray) lines = NULL, rest = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) expected = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) calls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *a_pid = NULL, *b_pid = NULL, *host_arg = NULL, *send_to = NULL;
  g_autofree char *result = NULL, *error_name = NULL, *err = NULL, *wc_a = NULL;
  const char *plain = g_dbus_connection_get_unique_name (client);
  TestChild *guest;
  guint64 a, b;
  int status;

  g_free (tool_expect_err (monitor, "Monitoring " TEST_APP_ID));
  g_free (tool_expect_err (by_channel, "Monitoring " TEST_APP_ID));
  g_free (tool_expect_err (text, "Monitoring " TEST_APP_ID));

  /* Renderer a: `eipc listen`, answering the main process's invokes. */
  listen = tool_spawn ("listen", "--answer", "ask=42", TEST_APP_ID, NULL);
  a = listen_id (listen);
  a_pid = g_strdup (g_subprocess_get_identifier (listen->process));
  wc_a = g_strdup_printf ("%" G_GUINT64_FORMAT, a);
  by_wc = tool_spawn ("monitor", "--json", "--web-contents", wc_a, TEST_APP_ID, NULL);
  g_free (tool_expect_err (by_wc, "Monitoring " TEST_APP_ID));

  /* Renderer b: a guest of a (with its consent), every kind of
   * renderer-to-main message. */
  main_allow_guests (f, a);
  host_arg = g_strdup_printf ("--guest=%" G_GUINT64_FORMAT, a);
  send_to = g_strdup_printf ("send-to:%" G_GUINT64_FORMAT ":direct:[\"hi\"]", a);
  guest = test_child_spawn (host_arg, "id", "send:note:[1]", "invoke:add:[1,2]",
                            "invoke:fail:[]", "sync:echo-sync:[\"s\"]", send_to,
                            "send-to-host:up:[\"guest\"]", NULL);
  b_pid = g_strdup (test_child_pid (guest));
  {
    g_autofree char *id_line = test_child_expect (guest, "id ");

    b = g_ascii_strtoull (id_line + 3, NULL, 10);
  }
  g_free (test_child_finish (guest, &status));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  /* b's departure (PropertiesChanged) comes before what follows. */
  for (guint i = 0; i < 3000 && main_has (f, b); i++)
    g_usleep (10000);
  g_assert_false (main_has (f, b));

  /* The main process: webContents.send, broadcast, invoke of a. */
  main_send (f, a, "hello", "[1]");
  main_send (f, 0, "all", "[\"x\"]");
  result = main_invoke (f, a, "ask");
  g_assert_cmpstr (result, ==, "42");
  g_clear_pointer (&result, g_free);

  /* A plain client that never attached. */
  call_plain (client, "add", "[2,3]", &result, &error_name);
  g_assert_cmpstr (result, ==, "5");
  g_clear_pointer (&result, g_free);
  call_plain (client, "nope", "[]", &result, &error_name);
  g_assert_cmpstr (error_name, ==, "org.eipc.Error.NoHandler");
  g_dbus_connection_emit_signal (client, TEST_APP_ID, "/org/eipc/Test", RENDERER_INTERFACE,
                                 "Message", g_variant_new ("(ss)", "note", "[\"plain\"]"), &error);
  g_assert_no_error (error);
  g_dbus_connection_flush_sync (client, NULL, &error);
  g_assert_no_error (error);
  wait_notes (f, 2);

  /* a detaches on Ctrl-C. */
  g_assert_cmpint (tool_finish (listen, NULL, NULL), ==, 0);

#define WC(x) (x == a ? "wc A" : "wc B")
  g_ptr_array_add (expected, g_strdup ("attach client>main"));
  /* WebContentsAttached comes just before the reply: the reply goes to
   * the new webContents. */
  g_ptr_array_add (expected, g_strdup_printf ("reply main>wc A attach ={\"id\":%" G_GUINT64_FORMAT
                                              ",\"path\":\"/org/eipc/Test/WebContents/%"
                                              G_GUINT64_FORMAT "\"}", a, a));
  g_ptr_array_add (expected, g_strdup_printf ("attach client>main host=%" G_GUINT64_FORMAT, a));
  g_ptr_array_add (expected, g_strdup_printf ("reply main>wc B attach ={\"id\":%" G_GUINT64_FORMAT
                                              ",\"path\":\"/org/eipc/Test/WebContents/%"
                                              G_GUINT64_FORMAT "\"}", b, b));
  g_ptr_array_add (expected, g_strdup ("send wc B>main note [1]"));
  g_ptr_array_add (expected, g_strdup ("invoke wc B>main add [1,2]"));
  g_ptr_array_add (expected, g_strdup ("reply main>wc B invoke add =3"));
  g_ptr_array_add (expected, g_strdup ("invoke wc B>main fail []"));
  g_ptr_array_add (expected, g_strdup ("reply main>wc B invoke fail !org.eipc.Error.HandlerFailed"));
  g_ptr_array_add (expected, g_strdup ("sendSync wc B>main echo-sync [\"s\"]"));
  g_ptr_array_add (expected, g_strdup ("reply main>wc B sendSync echo-sync =[\"s\"]"));
  g_ptr_array_add (expected, g_strdup ("sendTo wc B>wc A direct [\"hi\"]"));
  g_ptr_array_add (expected, g_strdup ("sendTo main>wc A direct [\"hi\"] from wc B"));
  g_ptr_array_add (expected, g_strdup ("reply main>wc B sendTo direct =null"));
  g_ptr_array_add (expected, g_strdup ("sendToHost wc B>wc A up [\"guest\"]"));
  g_ptr_array_add (expected, g_strdup ("sendToHost main>wc A up [\"guest\"] from wc B"));
  g_ptr_array_add (expected, g_strdup ("reply main>wc B sendToHost up =null"));
  g_ptr_array_add (expected, g_strdup ("detach wc B>main (left the bus)"));
  g_ptr_array_add (expected, g_strdup ("webContents.send main>wc A hello [1]"));
  g_ptr_array_add (expected, g_strdup ("broadcast main>all all [\"x\"]"));
  g_ptr_array_add (expected, g_strdup ("invoke main>wc A ask []"));
  g_ptr_array_add (expected, g_strdup ("reply wc A>main invoke ask =42"));
  g_ptr_array_add (expected, g_strdup ("invoke plain>main add [2,3]"));
  g_ptr_array_add (expected, g_strdup ("reply main>plain invoke add =5"));
  g_ptr_array_add (expected, g_strdup ("invoke plain>main nope []"));
  g_ptr_array_add (expected, g_strdup ("reply main>plain invoke nope !org.eipc.Error.NoHandler"));
  g_ptr_array_add (expected, g_strdup ("send plain>main note [\"plain\"]"));
  g_ptr_array_add (expected, g_strdup ("detach wc A>main"));
  g_ptr_array_add (expected, g_strdup ("reply main>wc A detach =null"));

  lines = read_json_lines (monitor, expected->len);
  for (guint i = 0; i < lines->len; i++)
    {
      JsonObject *line = json_node_get_object (g_ptr_array_index (lines, i));
      g_autofree char *summary = summarize (line, plain);
      g_autofree char *wanted = g_strdup (g_ptr_array_index (expected, i));
      g_autofree char *a_label = g_strdup_printf ("wc %" G_GUINT64_FORMAT, a);
      g_autofree char *b_label = g_strdup_printf ("wc %" G_GUINT64_FORMAT, b);
      g_autoptr(GString) s = g_string_new (summary);

      /* Ids as A and B, so the table above reads the same every run. */
      g_string_replace (s, a_label, "wc A", 0);
      g_string_replace (s, b_label, "wc B", 0);
      g_assert_cmpstr (s->str, ==, wanted);

      g_assert_true (json_object_has_member (line, "time"));
      /* A renderer's pid is its process's. */
      if (json_object_has_member (line, "from_id"))
        {
          guint64 id = (guint64) json_object_get_int_member (line, "from_id");
          g_autofree char *pid = g_strdup_printf ("%" G_GINT64_FORMAT,
                                                  json_object_get_int_member (line, "from_pid"));

          g_assert_cmpstr (pid, ==, id == a ? a_pid : b_pid);
        }
      /* Answers are paired with their calls by serial. */
      if (strcmp (json_object_get_string_member (line, "kind"), "reply") == 0)
        {
          g_autofree char *key = g_strdup_printf ("%s %" G_GINT64_FORMAT,
                                                  json_object_get_string_member (line, "to_unique"),
                                                  json_object_get_int_member (line, "reply_serial"));

          g_assert_true (g_hash_table_contains (calls, key));
          g_assert_cmpfloat (json_object_get_double_member (line, "latency_ms"), >=, 0);
        }
      else if (json_object_has_member (line, "serial"))
        g_hash_table_add (calls, g_strdup_printf ("%s %" G_GINT64_FORMAT,
                                                  json_object_get_string_member (line, "from_unique"),
                                                  json_object_get_int_member (line, "serial")));
    }
  g_assert_cmpint (tool_finish (monitor, rest, &err), ==, 0);
  g_assert_cmpuint (rest->len, ==, 0);
  g_assert_nonnull (strstr (err, " 0 missed."));
  g_clear_pointer (&err, g_free);

  /* --channel: the calls of those channels with their answers. */
  g_clear_pointer (&lines, g_ptr_array_unref);
  lines = read_json_lines (by_channel, 6);
  {
    const char *wanted[] = {
      "send wc B>main note [1]",
      "invoke wc B>main add [1,2]",
      "reply main>wc B invoke add =3",
      "invoke plain>main add [2,3]",
      "reply main>plain invoke add =5",
      "send plain>main note [\"plain\"]",
    };

    for (guint i = 0; i < G_N_ELEMENTS (wanted); i++)
      {
        g_autofree char *summary = summarize (json_node_get_object (g_ptr_array_index (lines, i)),
                                              plain);
        g_autofree char *b_label = g_strdup_printf ("wc %" G_GUINT64_FORMAT, b);
        g_autoptr(GString) s = g_string_new (summary);

        g_string_replace (s, b_label, "wc B", 0);
        g_assert_cmpstr (s->str, ==, wanted[i]);
      }
  }
  g_ptr_array_set_size (rest, 0);
  g_assert_cmpint (tool_finish (by_channel, rest, NULL), ==, 0);
  g_assert_cmpuint (rest->len, ==, 0);

  /* --web-contents: what a sent or received (b's calls to it with their
   * answers, the broadcast), nothing else. */
  g_clear_pointer (&lines, g_ptr_array_unref);
  g_ptr_array_set_size (rest, 0);
  g_assert_cmpint (tool_finish (by_wc, rest, NULL), ==, 0);
  g_assert_cmpuint (rest->len, ==, 12);
  for (guint i = 0; i < rest->len; i++)
    {
      g_autoptr(JsonNode) node = parse_json (g_ptr_array_index (rest, i));
      g_autofree char *summary = summarize (json_node_get_object (node), plain);

      g_assert_true (strstr (summary, wc_a) != NULL || g_str_has_prefix (summary, "broadcast") ||
                     g_str_has_prefix (summary, "reply main>wc "));
    }

  /* Text: one line per message, with the pid. */
  g_ptr_array_set_size (rest, 0);
  g_assert_cmpint (tool_finish (text, rest, NULL), ==, 0);
  g_assert_cmpuint (rest->len, ==, expected->len);
  {
    g_autofree char *needle = g_strdup_printf ("wc %" G_GUINT64_FORMAT " (pid %s)", b, b_pid);
    g_autofree char *needle2 = g_strdup_printf ("client %s", plain);
    gboolean seen_pid = FALSE, seen_plain = FALSE;

    for (guint i = 0; i < rest->len; i++)
      {
        const char *line = g_ptr_array_index (rest, i);

        seen_pid = seen_pid || strstr (line, needle) != NULL;
        seen_plain = seen_plain || strstr (line, needle2) != NULL;
      }
    g_assert_true (seen_pid);
    g_assert_true (seen_plain);
    g_assert_nonnull (strstr (g_ptr_array_index (rest, 6),
                              " reply            invoke add = 3 ("));
    g_assert_nonnull (strstr (g_ptr_array_index (rest, 8),
                              " ! org.eipc.Error.HandlerFailed: Error invoking remote method "
                              "'fail': Error: boom ("));
  }
#undef WC
}

/* On a terminal (a pty from script(1)) the result is indented and
 * coloured; --compact and NO_COLOR turn that off. */
static void
test_terminal (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *script = g_find_program_in_path ("script");
  g_autofree char *eipc = eipc_path ();
  const struct {
    const char *options;
    const char *output;
  } cases[] = {
    { "", "\033[1;39m[\033[0m\r\n  \033[1;39m{\033[0m\r\n    \033[34;1m\"a\"\033[0m"
          "\033[1;39m:\033[0m \033[0;32m\"x\"\033[0m\r\n  \033[1;39m}\033[0m\r\n"
          "\033[1;39m]\033[0m\r\n" },
    { "--compact", "[{\"a\":\"x\"}]\r\n" },
  };

  if (script == NULL)
    {
      g_test_skip ("no script(1) for a pseudo-terminal");
      return;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *command = g_strdup_printf ("%s send-sync %s " TEST_APP_ID
                                                  " echo-sync '{\"a\": \"x\"}'", eipc,
                                                  cases[i].options);
      g_autofree char *out = NULL;
      g_autoptr(GError) error = NULL;
      int status;

      g_assert_true (g_spawn_sync (NULL, (char *[]) { script, (char *) "-qec", command,
                                                      (char *) "/dev/null", NULL },
                                   NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status,
                                   &error));
      g_assert_no_error (error);
      g_assert_true (g_spawn_check_wait_status (status, NULL));
      g_assert_cmpstr (out, ==, cases[i].output);
    }
}

/* Bash completion: the commands, the app ids on the bus, the channels
 * of an app, from the tool itself. */
static void
test_completion (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *bash = g_find_program_in_path ("bash");
  g_autofree char *eipc = eipc_path ();
  g_autofree char *tools = g_path_get_dirname (eipc);
  g_autofree char *completion = g_build_filename (g_getenv ("EIPC_SOURCE_ROOT"), "tools",
                                                  "eipc.bash-completion", NULL);
  const struct {
    const char *words;
    const char *reply;
  } cases[] = {
    { "eipc ''", "list info invoke send-sync send send-to listen monitor\n" },
    { "eipc se", "send-sync send send-to\n" },
    { "eipc invoke ''", TEST_APP_ID "\n" },
    { "eipc --address \"$DBUS_SESSION_BUS_ADDRESS\" info ''", TEST_APP_ID "\n" },
    { "eipc invoke " TEST_APP_ID " ''", "add fail hold obj\n" },
    { "eipc invoke --compact " TEST_APP_ID " h", "hold\n" },
    { "eipc listen " TEST_APP_ID " a o", "obj\n" },
    { "eipc monitor --j", "--json\n" },
  };

  if (bash == NULL)
    {
      g_test_skip ("no bash");
      return;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *program = g_strdup_printf (
        "export PATH=\"%s:$PATH\"; source \"%s\"; COMP_WORDS=(%s); "
        "COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _eipc; echo \"${COMPREPLY[*]}\"",
        tools, completion, cases[i].words);
      g_autofree char *out = NULL;
      g_autoptr(GError) error = NULL;
      int status;

      g_assert_true (g_spawn_sync (NULL, (char *[]) { bash, (char *) "-c", program, NULL },
                                   NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status,
                                   &error));
      g_assert_no_error (error);
      g_assert_true (g_spawn_check_wait_status (status, NULL));
      g_assert_cmpstr (out, ==, cases[i].reply);
    }
}

/* A flood of sends and invokes: every message shown, none missed. */
static void
test_monitor_flood (Fixture       *f,
                    gconstpointer  data)
{
  const char *scale_env = g_getenv ("EIPC_TEST_SCALE");
  double scale = scale_env != NULL ? g_ascii_strtod (scale_env, NULL) : 1.0;
  guint n = MAX ((guint) (20000 * scale) / 100 * 100, 100), sends = 0, invokes = 0, replies = 0;
  g_autofree char *sendn = g_strdup_printf ("sendn:flood:%u", n);
  /* At most 100 invokes in flight: the test bus allows 128 pending calls. */
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  Tool *monitor = tool_spawn ("monitor", "--json", "--channel", "flood", "--channel", "add",
                              TEST_APP_ID, NULL);
  g_autoptr(GPtrArray) rest = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *err = NULL;
  gint64 start;
  char *line;
  int status;

  g_free (tool_expect_err (monitor, "Monitoring " TEST_APP_ID));
  start = g_get_monotonic_time ();
  g_ptr_array_add (args, sendn);
  for (guint i = 0; i < n / 100; i++)
    g_ptr_array_add (args, (gpointer) "invoken:add:100");
  g_ptr_array_add (args, NULL);
  g_free (test_child_finish (test_child_spawnv ((const char **) args->pdata), &status));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  while (sends + invokes + replies < 3 * n && (line = read_line (monitor->out)) != NULL)
    {
      if (strstr (line, "\"kind\":\"send\"") != NULL)
        sends++;
      else if (strstr (line, "\"kind\":\"invoke\"") != NULL)
        invokes++;
      else if (strstr (line, "\"kind\":\"reply\"") != NULL)
        replies++;
      g_free (line);
    }
  g_test_message ("%u messages shown in %.2f s", 3 * n,
                  (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC);
  g_assert_cmpuint (sends, ==, n);
  g_assert_cmpuint (invokes, ==, n);
  g_assert_cmpuint (replies, ==, n);
  g_assert_cmpint (tool_finish (monitor, rest, &err), ==, 0);
  g_assert_nonnull (strstr (err, " 0 missed."));
}

/* A bus that refuses BecomeMonitor: said clearly, exit status 1. */
static void
test_monitor_refused (void)
{
  TestPrivateBus *bus;
  g_autofree char *out = NULL, *err = NULL;

  if (test_bus_is_broker ())
    {
      /* Its policy comes from its launcher, not from a busconfig. */
      g_test_skip ("dbus-broker takes no <policy> elements here");
      return;
    }
  bus = test_private_bus_start (
    "  <policy context=\"mandatory\">\n"
    "    <deny send_destination=\"org.freedesktop.DBus\"\n"
    "          send_interface=\"org.freedesktop.DBus.Monitoring\"/>\n"
    "  </policy>\n");

  g_assert_cmpint (run_eipc (&out, &err, "--address", test_private_bus_address (bus), "monitor",
                             TEST_APP_ID, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "The bus refused to let eipc monitor it: "
                                 "org.freedesktop.DBus.Error.AccessDenied"));
  g_assert_nonnull (strstr (err, "only root may monitor"));
  test_private_bus_free (bus);
}

/* The monitor's JSON scanner: what it accepts goes into --json output
 * as it is, so it must accept exactly JSON (json-glib agrees). */
static void
test_json_scanner (void)
{
  const char *accepted[] = {
    "[]", "[1,2,3.5]", " [ 1 , \"a\" ] ", "{}", "{\"a\":{\"b\":[null,true,false]}}",
    "0", "-0", "-1.5e-3", "1E+9", "\"\"", "\"\\u00e9\\n\\\"\\/\"", "\"\xc3\xa9\"",
    "[[[[[]]]]]", "null",
  };
  const char *refused[] = {
    "", " ", "[", "]", "[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{a:1}", "01", "1.", ".5", "-",
    "1e", "+1", "tru", "nul", "[1] x", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\t\"",
    "\"\xff\"", "\"\xc3\"", "NaN", "[1 2]", "{\"a\":1,}", "'a'",
  };
  g_autoptr(GString) deep = g_string_new (NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (accepted); i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();

      g_test_message ("accepted: %s", accepted[i]);
      g_assert_true (tool_json_is_valid (accepted[i]));
      g_assert_true (json_parser_load_from_data (parser, accepted[i], -1, NULL));
    }
  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      /* Escaped: some are not UTF-8, which TAP readers refuse. */
      g_autofree char *shown = g_strescape (refused[i], NULL);

      g_test_message ("refused: %s", shown);
      g_assert_false (tool_json_is_valid (refused[i]));
    }
  /* 512 levels, as the library allows; not 513. */
  for (guint i = 0; i < 512; i++)
    g_string_append_c (deep, '[');
  for (guint i = 0; i < 512; i++)
    g_string_append_c (deep, ']');
  g_assert_true (tool_json_is_valid (deep->str));
  g_string_prepend_c (deep, '[');
  g_string_append_c (deep, ']');
  g_assert_false (tool_json_is_valid (deep->str));
}

/* Numbers print as the shortest text that reads back the same value;
 * print -> parse -> print is stable. */
static void
test_json_numbers (void)
{
  const struct {
    double      value;
    const char *text;
  } numbers[] = {
    { 6.5, "6.5" }, { 0.1, "0.1" }, { -0.9, "-0.9" }, { 1e21, "1e+21" }, { 3, "3" },
    { 1.0 / 3, "0.3333333333333333" }, { 123456789012345.0, "123456789012345" },
    { 5e-324, "4.94065645841247e-324" }, { 0.30000000000000004, "0.30000000000000004" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (numbers); i++)
    {
      g_autoptr(GString) s = g_string_new (NULL);

      tool_json_append_double (s, numbers[i].value);
      g_assert_cmpstr (s->str, ==, numbers[i].text);
      g_assert_cmpfloat (g_ascii_strtod (s->str, NULL), ==, numbers[i].value);
    }

  for (const char *const *text = (const char *const[]) {
         "{\"a\":[1,2.5,null,true],\"b\":\"x\\ny\\u0001\",\"c\":{}}", "[0.1,-0.9,1e+21]",
         "\"\xc3\xa9\"", NULL }; *text != NULL; text++)
    {
      g_autoptr(JsonNode) node = parse_json (*text);
      g_autoptr(GString) once = g_string_new (NULL), twice = g_string_new (NULL);
      g_autoptr(JsonNode) again = NULL;

      tool_json_append (once, node);
      again = parse_json (once->str);
      tool_json_append (twice, again);
      g_assert_cmpstr (once->str, ==, twice->str);
      g_assert_true (json_node_equal (node, again));
    }
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  test_bus_up ();

  g_test_add_func ("/cli/json-scanner", test_json_scanner);
  g_test_add_func ("/cli/json-numbers", test_json_numbers);
  g_test_add_func ("/cli/usage", test_usage);
  g_test_add ("/cli/list", Fixture, NULL, fixture_setup, test_list, fixture_teardown);
  g_test_add ("/cli/info", Fixture, NULL, fixture_setup, test_info, fixture_teardown);
  g_test_add ("/cli/not-running", Fixture, NULL, fixture_setup, test_not_running, fixture_teardown);
  g_test_add ("/cli/invoke", Fixture, NULL, fixture_setup, test_invoke, fixture_teardown);
  g_test_add ("/cli/invoke-errors", Fixture, NULL, fixture_setup, test_invoke_errors,
              fixture_teardown);
  g_test_add ("/cli/send", Fixture, NULL, fixture_setup, test_send, fixture_teardown);
  g_test_add ("/cli/listen", Fixture, NULL, fixture_setup, test_listen, fixture_teardown);
  g_test_add ("/cli/monitor", Fixture, NULL, fixture_setup, test_monitor, fixture_teardown);
  g_test_add ("/cli/terminal", Fixture, NULL, fixture_setup, test_terminal, fixture_teardown);
  g_test_add ("/cli/completion", Fixture, NULL, fixture_setup, test_completion, fixture_teardown);
  g_test_add ("/cli/monitor-flood", Fixture, NULL, fixture_setup, test_monitor_flood,
              fixture_teardown);
  g_test_add_func ("/cli/monitor-refused", test_monitor_refused);

  ret = g_test_run ();
  test_bus_down ();
  return ret;
}
