/* test-construct.c: GObject construction (construct properties,
 * GInitable, GAsyncInitable), properties with notify, enum GTypes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <signal.h>
#include <string.h>
#include <sys/time.h>

#include "test-common.h"

static void
count_calls (gpointer user_data)
{
  (*(guint *) user_data)++;
}

/* g_object_new with properties, then g_initable_init: what PyGObject's
 * Eipc.Main(app_id=...) and GJS's new Eipc.Main({...}) do. */
static void
test_main_initable (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMain) main = NULL;
  g_autoptr(EipcMain) second = NULL;
  g_autofree char *app_id = NULL, *path = NULL, *address = NULL;
  gboolean strict = TRUE;
  guint notified = 0;

  main = g_object_new (EIPC_TYPE_MAIN, "app-id", TEST_APP_ID,
                       "address", test_bus_address (), NULL);
  g_assert_true (G_IS_INITABLE (main));
  g_assert_true (G_IS_ASYNC_INITABLE (main));
  g_assert_true (g_initable_init (G_INITABLE (main), NULL, &error));
  g_assert_no_error (error);
  /* A second init answers the same. */
  g_assert_true (g_initable_init (G_INITABLE (main), NULL, &error));

  g_object_get (main, "app-id", &app_id, "object-path", &path,
                "address", &address, "strict", &strict, NULL);
  g_assert_cmpstr (app_id, ==, TEST_APP_ID);
  g_assert_cmpstr (path, ==, "/org/eipc/Test");
  g_assert_cmpstr (address, ==, test_bus_address ());
  g_assert_false (strict);
  g_assert_nonnull (eipc_main_get_unique_name (main));

  g_signal_connect_swapped (main, "notify::strict", G_CALLBACK (count_calls), &notified);
  eipc_main_set_strict (main, TRUE);
  eipc_main_set_strict (main, TRUE);
  g_object_set (main, "strict", FALSE, NULL);
  g_assert_cmpuint (notified, ==, 2);
  g_assert_false (eipc_main_get_strict (main));

  /* A second main process of the app: the error comes from init. */
  second = g_object_new (EIPC_TYPE_MAIN, "app-id", TEST_APP_ID, NULL);
  g_assert_false (g_initable_init (G_INITABLE (second), NULL, &error));
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_NAME_TAKEN);
  g_clear_error (&error);
  /* And stays the answer. */
  g_assert_false (g_initable_init (G_INITABLE (second), NULL, &error));
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_NAME_TAKEN);
}

static void
test_invalid_app_id (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GObject) main = NULL;
  g_autoptr(GObject) renderer = NULL;

  main = g_initable_new (EIPC_TYPE_MAIN, NULL, &error, "app-id", "no dots", NULL);
  g_assert_null (main);
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS);
  g_clear_error (&error);
  renderer = g_initable_new (EIPC_TYPE_RENDERER, NULL, &error, NULL);
  g_assert_null (renderer);
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS);
}

/* An attached renderer from g_object_new + g_initable_init; the main
 * process runs in its own thread because the init blocks this one. */
static void
test_renderer_initable (void)
{
  TestMainThread *thread = test_main_thread_start (TEST_APP_ID, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcRenderer) renderer = NULL;
  g_autofree char *app_id = NULL;
  guint64 id = 0, host_id = 1;
  gboolean attached = FALSE, auto_reattach = TRUE;
  guint timeout = 0;

  renderer = g_object_new (EIPC_TYPE_RENDERER, "app-id", TEST_APP_ID,
                           "sync-timeout", 1234, NULL);
  g_assert_false (eipc_renderer_is_attached (renderer));
  g_assert_true (g_initable_init (G_INITABLE (renderer), NULL, &error));
  g_assert_no_error (error);
  g_object_get (renderer, "app-id", &app_id, "id", &id, "host-id", &host_id,
                "attached", &attached, "sync-timeout", &timeout,
                "auto-reattach", &auto_reattach, NULL);
  g_assert_cmpstr (app_id, ==, TEST_APP_ID);
  g_assert_cmpuint (id, !=, 0);
  g_assert_cmpuint (id, ==, eipc_renderer_get_id (renderer));
  g_assert_cmpuint (host_id, ==, 0);
  g_assert_true (attached);
  g_assert_cmpuint (timeout, ==, 1234);
  g_assert_false (auto_reattach);

  g_clear_object (&renderer);
  test_main_thread_stop (thread);
}

typedef struct {
  gboolean      done;
  GObject      *object;
  GError       *error;
} AsyncResult;

static void
async_new_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  AsyncResult *r = user_data;

  r->object = g_async_initable_new_finish (G_ASYNC_INITABLE (source), result,
                                           &r->error);
  r->done = TRUE;
}

static void
async_init_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  AsyncResult *r = user_data;

  if (g_async_initable_init_finish (G_ASYNC_INITABLE (source), result, &r->error))
    r->object = g_object_ref (source);
  r->done = TRUE;
}

static void
renderer_new_done (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  AsyncResult *r = user_data;

  r->object = G_OBJECT (eipc_renderer_new_finish (result, &r->error));
  r->done = TRUE;
}

static void
main_new_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  AsyncResult *r = user_data;

  r->object = G_OBJECT (eipc_main_new_finish (result, &r->error));
  r->done = TRUE;
}

static void
async_result_wait (AsyncResult *r)
{
  test_wait_for (&r->done, 15000);
}

/* The main process and the renderer in one thread: only an attach that
 * does not block lets the main process answer it. */
static void
test_async (void)
{
  AsyncResult m = { 0 }, r1 = { 0 }, r2 = { 0 }, r3 = { 0 }, taken = { 0 };
  g_autoptr(EipcRenderer) initable = NULL;
  g_autoptr(GPtrArray) all = NULL;

  eipc_main_new_async (TEST_APP_ID, NULL, main_new_done, &m);
  g_assert_false (m.done);
  async_result_wait (&m);
  g_assert_no_error (m.error);
  g_assert_true (EIPC_IS_MAIN (m.object));

  /* eipc_renderer_new_async */
  eipc_renderer_new_async (TEST_APP_ID, NULL, renderer_new_done, &r1);
  g_assert_false (r1.done);
  async_result_wait (&r1);
  g_assert_no_error (r1.error);
  g_assert_true (eipc_renderer_is_attached (EIPC_RENDERER (r1.object)));

  /* g_async_initable_new_async, as a guest of the first (which allows
   * guests) */
  eipc_web_contents_set_allow_guests (eipc_main_get_web_contents (EIPC_MAIN (m.object),
                                                                  eipc_renderer_get_id (EIPC_RENDERER (r1.object))),
                                      TRUE);
  g_async_initable_new_async (EIPC_TYPE_RENDERER, G_PRIORITY_DEFAULT, NULL,
                              async_new_done, &r2, "app-id", TEST_APP_ID,
                              "address", test_bus_address (),
                              "host-id", eipc_renderer_get_id (EIPC_RENDERER (r1.object)),
                              NULL);
  async_result_wait (&r2);
  g_assert_no_error (r2.error);
  g_assert_true (eipc_renderer_is_attached (EIPC_RENDERER (r2.object)));
  g_assert_cmpuint (eipc_renderer_get_host_id (EIPC_RENDERER (r2.object)), ==,
                    eipc_renderer_get_id (EIPC_RENDERER (r1.object)));

  /* g_object_new, then g_async_initable_init_async */
  initable = g_object_new (EIPC_TYPE_RENDERER, "app-id", TEST_APP_ID, NULL);
  g_async_initable_init_async (G_ASYNC_INITABLE (initable), G_PRIORITY_DEFAULT,
                               NULL, async_init_done, &r3);
  async_result_wait (&r3);
  g_assert_no_error (r3.error);
  g_assert_true (eipc_renderer_is_attached (initable));

  all = eipc_main_list_web_contents (EIPC_MAIN (m.object));
  g_assert_cmpuint (all->len, ==, 3);

  /* A second main process, asynchronously: NameTaken. */
  eipc_main_new_async (TEST_APP_ID, NULL, main_new_done, &taken);
  async_result_wait (&taken);
  g_assert_null (taken.object);
  g_assert_error (taken.error, EIPC_ERROR, EIPC_ERROR_NAME_TAKEN);
  g_clear_error (&taken.error);

  g_clear_object (&r3.object);
  g_clear_object (&initable);
  g_clear_object (&r2.object);
  g_clear_object (&r1.object);
  g_clear_object (&m.object);
}

/* No main process: the async attach fails with the error of the sync one. */
static void
test_async_no_main (void)
{
  AsyncResult r = { 0 };

  eipc_renderer_new_async (TEST_APP_ID, NULL, renderer_new_done, &r);
  async_result_wait (&r);
  g_assert_null (r.object);
  g_assert_nonnull (r.error);
  g_assert_nonnull (strstr (r.error->message, "Cannot attach to the main process"));
  g_clear_error (&r.error);
}

/* notify::attached when the main process goes away, and again when a new
 * one comes and the renderer re-attaches by itself; notify::id with it. */
static void
count_notify (GObject    *object,
              GParamSpec *pspec,
              gpointer    user_data)
{
  GString *log = user_data;
  gboolean attached;

  if (strcmp (pspec->name, "attached") == 0)
    {
      g_object_get (object, "attached", &attached, NULL);
      g_string_append (log, attached ? "attached;" : "detached;");
    }
  else
    g_string_append_printf (log, "%s;", pspec->name);
}

static gboolean
log_has (GString    *log,
         const char *text)
{
  return strstr (log->str, text) != NULL;
}

static void
test_notify_attached (void)
{
  TestChild *first = test_main_child_spawn (NULL, NULL);
  g_autofree char *ready = test_child_expect (first, "ready");
  g_autofree char *ready2 = NULL, *out1 = NULL, *out2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcRenderer) renderer = NULL;
  g_autoptr(EipcRenderer) other = NULL;
  g_autoptr(GString) log = g_string_new (NULL);
  TestChild *second;

  /* Another renderer attaches first, so this one is webContents 2 and
   * the next main process, which counts from 1, gives it a new id. */
  other = eipc_renderer_new (TEST_APP_ID, &error);
  g_assert_no_error (error);
  renderer = g_initable_new (EIPC_TYPE_RENDERER, NULL, &error,
                             "app-id", TEST_APP_ID, "auto-reattach", TRUE, NULL);
  g_assert_no_error (error);
  g_assert_cmpuint (eipc_renderer_get_id (renderer), ==, 2);
  g_signal_connect (renderer, "notify", G_CALLBACK (count_notify), log);

  test_child_terminate (first);
  out1 = test_child_finish (first, NULL);
  while (!log_has (log, "detached;"))
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (log->str, ==, "detached;");
  g_assert_false (eipc_renderer_is_attached (renderer));

  second = test_main_child_spawn (NULL, NULL);
  ready2 = test_child_expect (second, "ready");
  while (strlen (log->str) < strlen ("detached;id;attached;"))
    g_main_context_iteration (NULL, TRUE);
  /* The new id comes with it (one freeze: GLib picks the order). */
  if (strcmp (log->str, "detached;attached;id;") != 0)
    g_assert_cmpstr (log->str, ==, "detached;id;attached;");
  g_assert_true (eipc_renderer_is_attached (renderer));
  g_assert_cmpuint (eipc_renderer_get_id (renderer), ==, 1);
  g_assert_false (eipc_renderer_is_attached (other));

  test_child_terminate (second);
  out2 = test_child_finish (second, NULL);
}

static void
test_web_contents_properties (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMain) main = eipc_main_new (TEST_APP_ID, &error);
  g_autofree char *line = NULL, *out = NULL, *unique_name = NULL;
  EipcWebContents *wc;
  TestChild *child;
  guint64 id = 0, host_id = 7;
  guint pid = 0;
  g_autofree char *pid_text = NULL;
  gboolean destroyed = TRUE;
  guint notified = 0;

  g_assert_no_error (error);
  child = test_child_spawn ("id", "listen:quit", "wait:quit:1", NULL);
  line = test_child_expect (child, "id ");
  wc = eipc_main_get_web_contents (main, g_ascii_strtoull (line + 3, NULL, 10));
  g_assert_nonnull (wc);
  g_object_ref (wc);

  g_object_get (wc, "id", &id, "process-id", &pid, "unique-name", &unique_name,
                "host-id", &host_id, "destroyed", &destroyed, NULL);
  g_assert_cmpuint (id, ==, eipc_web_contents_get_id (wc));
  pid_text = g_strdup_printf ("%u", pid);
  g_assert_cmpstr (test_child_pid (child), ==, pid_text);
  g_assert_cmpstr (unique_name, ==, eipc_web_contents_get_unique_name (wc));
  g_assert_cmpuint (host_id, ==, 0);
  g_assert_false (destroyed);

  g_signal_connect_swapped (wc, "notify::destroyed", G_CALLBACK (count_calls), &notified);
  eipc_web_contents_send_json (wc, "quit", "[]", &error);
  g_assert_no_error (error);
  out = test_child_finish (child, NULL);
  while (!eipc_web_contents_is_destroyed (wc))
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (notified, ==, 1);
  g_object_get (wc, "destroyed", &destroyed, NULL);
  g_assert_true (destroyed);
  g_object_unref (wc);
}

/* The public enums have GTypes (glib-mkenums). */
static void
test_enum_types (void)
{
  g_autoptr(GEnumClass) kinds = NULL;
  g_autoptr(GEnumClass) errors = NULL;
  GEnumValue *value;

  g_assert_true (G_TYPE_IS_ENUM (EIPC_TYPE_EVENT_KIND));
  g_assert_true (G_TYPE_IS_ENUM (EIPC_TYPE_ERROR));
  kinds = g_type_class_ref (EIPC_TYPE_EVENT_KIND);
  value = g_enum_get_value (kinds, EIPC_EVENT_INVOKE);
  g_assert_nonnull (value);
  g_assert_cmpstr (value->value_name, ==, "EIPC_EVENT_INVOKE");
  g_assert_cmpstr (value->value_nick, ==, "invoke");
  errors = g_type_class_ref (EIPC_TYPE_ERROR);
  value = g_enum_get_value_by_nick (errors, "no-such-web-contents");
  g_assert_nonnull (value);
  g_assert_cmpint (value->value, ==, EIPC_ERROR_NO_SUCH_WEB_CONTENTS);
  g_assert_cmpuint (errors->n_values, ==, EIPC_ERROR_FORGED_REPLY + 1);
}

static volatile sig_atomic_t alarms;

static void
on_alarm (int sig)
{
  alarms++;
}

/* A process gets signals (SIGCHLD from its renderers, timers) while it
 * constructs its objects: sd-bus's blocking AddMatch and RequestName
 * failed with EINTR ("Cannot set up the main process: Interrupted system
 * call"; found by fuzz-dbus, whose libFuzzer timer is such a signal).
 * A timer signal every 20 µs, without SA_RESTART, while mains and
 * renderers are made, 30 times. */
static void
test_signals (void)
{
  TestMainThread *thread = test_main_thread_start (TEST_APP_ID, NULL, NULL);
  struct sigaction sa = { .sa_handler = on_alarm };
  struct itimerval every = { { 0, 20 }, { 0, 20 } }, off = { { 0, 0 }, { 0, 0 } };

  sigemptyset (&sa.sa_mask);
  g_assert_cmpint (sigaction (SIGALRM, &sa, NULL), ==, 0);
  g_assert_cmpint (setitimer (ITIMER_REAL, &every, NULL), ==, 0);
  for (guint i = 0; i < 30; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(EipcMain) main = NULL;
      g_autoptr(EipcRenderer) renderer = NULL;

      main = eipc_main_new_for_address ("org.eipc.TestSignals",
                                        test_bus_address (), &error);
      g_assert_no_error (error);
      renderer = eipc_renderer_new_for_address (TEST_APP_ID, test_bus_address (),
                                                &error);
      g_assert_no_error (error);
    }
  /* The handler stays: a signal still pending would kill the process. */
  g_assert_cmpint (setitimer (ITIMER_REAL, &off, NULL), ==, 0);
  g_test_message ("%d timer signals", (int) alarms);
  g_assert_cmpint (alarms, >, 0);
  test_main_thread_stop (thread);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  test_bus_up ();

  g_test_add_func ("/ipc/construct/main-initable", test_main_initable);
  g_test_add_func ("/ipc/construct/invalid-app-id", test_invalid_app_id);
  g_test_add_func ("/ipc/construct/renderer-initable", test_renderer_initable);
  g_test_add_func ("/ipc/construct/async", test_async);
  g_test_add_func ("/ipc/construct/async-no-main", test_async_no_main);
  g_test_add_func ("/ipc/construct/notify-attached", test_notify_attached);
  g_test_add_func ("/ipc/construct/web-contents-properties", test_web_contents_properties);
  g_test_add_func ("/ipc/construct/enum-types", test_enum_types);
  g_test_add_func ("/ipc/construct/signals", test_signals);

  ret = g_test_run ();
  test_bus_down ();
  return ret;
}
