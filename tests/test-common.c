/* test-common.c: a private bus, child renderers and loop helpers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include <glib/gstdio.h>

#include "test-common.h"

/* The bus of every test program: EIPC_TEST_BUS=dbus-daemon (the
 * default) or dbus-broker (`meson test --setup broker`). Both run the
 * same way: a program started here prints the address on its first line
 * (and dbus-broker's helper the broker's pid on its second), listens on a
 * socket in a directory of its own and stops on SIGTERM. */
TestBusKind
test_bus_kind (void)
{
  const char *name = g_getenv ("EIPC_TEST_BUS");

  if (name == NULL || name[0] == '\0' || g_str_equal (name, "dbus-daemon"))
    return TEST_BUS_DBUS_DAEMON;
  if (g_str_equal (name, "dbus-broker"))
    return TEST_BUS_DBUS_BROKER;
  g_error ("EIPC_TEST_BUS=%s: not dbus-daemon or dbus-broker", name);
}

const char *
test_bus_name (void)
{
  return test_bus_kind () == TEST_BUS_DBUS_BROKER ? "dbus-broker" : "dbus-daemon";
}

gboolean
test_bus_is_broker (void)
{
  return test_bus_kind () == TEST_BUS_DBUS_BROKER;
}

gboolean
test_skip_unless_bus (TestBusKind  kind,
                      const char  *why)
{
  g_autofree char *text = NULL;

  if (test_bus_kind () == kind)
    return FALSE;
  text = g_strdup_printf ("not on %s: %s", test_bus_name (), why);
  g_test_skip (text);
  return TRUE;
}
static TestPrivateBus *test_bus;

void
test_bus_up (void)
{
  g_assert_null (test_bus);
  test_bus = test_private_bus_start (NULL);
  /* Children inherit DBUS_SESSION_BUS_ADDRESS. */
  g_assert_nonnull (g_getenv ("DBUS_SESSION_BUS_ADDRESS"));
}

void
test_bus_down (void)
{
  g_clear_pointer (&test_bus, test_private_bus_free);
}

const char *
test_bus_address (void)
{
  g_assert_nonnull (test_bus);
  return test_private_bus_address (test_bus);
}

GPid
test_bus_pid (void)
{
  g_assert_nonnull (test_bus);
  return test_private_bus_pid (test_bus);
}

GDBusConnection *
test_client_new (void)
{
  g_autoptr(GError) error = NULL;
  GDBusConnection *c;

  c = g_dbus_connection_new_for_address_sync (test_bus_address (),
                                              G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                              G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                              NULL, NULL, &error);
  g_assert_no_error (error);
  return c;
}

static const char private_bus_config[] =
  "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
  " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
  "<busconfig>\n"
  "  <type>%s</type>\n"
  "  <listen>unix:dir=%s</listen>\n"
  "  <auth>EXTERNAL</auth>\n"
  "%s"
  "%s"
  "</busconfig>\n";

/* What the session bus allows: everything. */
static const char session_policy[] =
  "  <policy context=\"default\">\n"
  "    <allow user=\"*\"/>\n"
  "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
  "    <allow eavesdrop=\"true\"/>\n"
  "    <allow own=\"*\"/>\n"
  "  </policy>\n";

/* system.conf's default policy, and the allowed names (the %s). */
static const char system_policy[] =
  "  <policy context=\"default\">\n"
  "    <allow user=\"*\"/>\n"
  "    <deny own=\"*\"/>\n"
  "    <deny send_type=\"method_call\"/>\n"
  "    <allow send_type=\"signal\"/>\n"
  "    <allow send_requested_reply=\"true\" send_type=\"method_return\"/>\n"
  "    <allow send_requested_reply=\"true\" send_type=\"error\"/>\n"
  "    <allow receive_type=\"method_call\"/>\n"
  "    <allow receive_type=\"method_return\"/>\n"
  "    <allow receive_type=\"error\"/>\n"
  "    <allow receive_type=\"signal\"/>\n"
  "    <allow send_destination=\"org.freedesktop.DBus\"\n"
  "           send_interface=\"org.freedesktop.DBus\"/>\n"
  "    <allow send_destination=\"org.freedesktop.DBus\"\n"
  "           send_interface=\"org.freedesktop.DBus.Introspectable\"/>\n"
  "    <allow send_destination=\"org.freedesktop.DBus\"\n"
  "           send_interface=\"org.freedesktop.DBus.Properties\"/>\n"
  "%s"
  "  </policy>\n";

struct _TestPrivateBus {
  TestBusKind       kind;
  char             *dir;
  char             *config_path;
  char             *address;
  GPid              bus_pid;    /* the process that serves the bus */
  GSubprocess      *process;    /* dbus-daemon, or eipc-test-broker */
  GDataInputStream *out;
  char             *previous_address;  /* DBUS_SESSION_BUS_ADDRESS before */
};

/* A bus left behind by a test that failed dies with it. */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* The value of <limit name="@name">, or 0. */
static guint64
xml_limit (const char *limits,
           const char *name)
{
  g_autofree char *open = g_strdup_printf ("<limit name=\"%s\">", name);
  const char *at = limits != NULL ? strstr (limits, open) : NULL;

  if (at == NULL)
    return 0;
  return g_ascii_strtoull (at + strlen (open), NULL, 10);
}

/* dbus-broker's limits are per user, for everything a user's connections
 * hold in the broker; dbus-broker-launch computes them from the XML
 * limits (src/launch/launcher.c) with its defaults for the missing ones.
 * Limits dbus-broker has no equivalent of (max_incoming_bytes,
 * max_message_size, max_replies_per_connection, ...) are ignored: the
 * tests that set them measure what each bus does. */
static void
broker_limit_args (GPtrArray  *argv,
                   const char *limits)
{
  guint64 out_bytes = xml_limit (limits, "max_outgoing_bytes");
  guint64 out_fds = xml_limit (limits, "max_outgoing_unix_fds");
  guint64 per_user = xml_limit (limits, "max_connections_per_user");
  guint64 matches = xml_limit (limits, "max_match_rules_per_connection");

  if (out_bytes == 0)
    out_bytes = 8 * 1024 * 1024;
  if (out_fds == 0)
    out_fds = 64;
  if (per_user == 0)
    per_user = 64;
  if (matches == 0)
    matches = 256;
  g_ptr_array_add (argv, g_strdup_printf ("--max-bytes=%" G_GUINT64_FORMAT, per_user * out_bytes));
  g_ptr_array_add (argv, g_strdup_printf ("--max-fds=%" G_GUINT64_FORMAT, per_user * out_fds));
  g_ptr_array_add (argv, g_strdup_printf ("--max-matches=%" G_GUINT64_FORMAT, per_user * matches));
}

static TestPrivateBus *
private_bus_start (const char         *limits,
                   gboolean            system,
                   const char * const *allowed)
{
  TestPrivateBus *bus = g_new0 (TestPrivateBus, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);

  bus->kind = test_bus_kind ();
  bus->dir = g_dir_make_tmp ("eipc-bus-XXXXXX", &error);
  g_assert_no_error (error);

  if (bus->kind == TEST_BUS_DBUS_DAEMON)
    {
      g_autoptr(GString) allow = g_string_new (NULL);
      g_autofree char *policy = NULL, *config = NULL;

      for (guint i = 0; allowed != NULL && allowed[i] != NULL; i++)
        g_string_append_printf (allow,
                                "    <allow own_prefix=\"%s\"/>\n"
                                "    <allow send_destination_prefix=\"%s\"/>\n",
                                allowed[i], allowed[i]);
      policy = system ? g_strdup_printf (system_policy, allow->str) : g_strdup (session_policy);
      bus->config_path = g_build_filename (bus->dir, "bus.conf", NULL);
      config = g_strdup_printf (private_bus_config, system ? "system" : "session",
                                bus->dir, policy, limits != NULL ? limits : "");
      g_assert_true (g_file_set_contents (bus->config_path, config, -1, &error));
      g_ptr_array_add (argv, g_strdup ("dbus-daemon"));
      g_ptr_array_add (argv, g_strconcat ("--config-file=", bus->config_path, NULL));
      g_ptr_array_add (argv, g_strdup ("--nofork"));
      g_ptr_array_add (argv, g_strdup ("--print-address=1"));
    }
  else
    {
      g_ptr_array_add (argv, test_helper_path ("eipc-test-broker"));
      g_ptr_array_add (argv, g_strconcat ("--dir=", bus->dir, NULL));
      g_ptr_array_add (argv, g_strdup (system ? "--policy=system" : "--policy=session"));
      for (guint i = 0; allowed != NULL && allowed[i] != NULL; i++)
        g_ptr_array_add (argv, g_strconcat ("--allow=", allowed[i], NULL));
      broker_limit_args (argv, limits);
    }
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  bus->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata,
                                               &error);
  g_assert_no_error (error);
  bus->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (bus->process));
  bus->address = g_data_input_stream_read_line_utf8 (bus->out, NULL, NULL, &error);
  g_assert_no_error (error);
  if (bus->address == NULL)
    g_error ("%s printed no address", (const char *) argv->pdata[0]);
  if (bus->kind == TEST_BUS_DBUS_BROKER)
    {
      g_autofree char *pid = g_data_input_stream_read_line_utf8 (bus->out, NULL, NULL, &error);

      g_assert_no_error (error);
      g_assert_nonnull (pid);
      bus->bus_pid = (GPid) g_ascii_strtoll (pid, NULL, 10);
    }
  else
    bus->bus_pid = (GPid) g_ascii_strtoll (g_subprocess_get_identifier (bus->process), NULL, 10);
  g_assert_cmpint (bus->bus_pid, >, 0);
  /* Taken over while the bus lives; test_private_bus_free() gives the
   * previous value back (the suite's bus, for the test cases after). */
  bus->previous_address = g_strdup (g_getenv ("DBUS_SESSION_BUS_ADDRESS"));
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", bus->address, TRUE);
  return bus;
}

TestPrivateBus *
test_private_bus_start (const char *limits)
{
  return private_bus_start (limits, FALSE, NULL);
}

TestPrivateBus *
test_private_bus_start_system (const char         *limits,
                               const char * const *allowed)
{
  return private_bus_start (limits, TRUE, allowed);
}

const char *
test_private_bus_address (TestPrivateBus *bus)
{
  return bus->address;
}

GPid
test_private_bus_pid (TestPrivateBus *bus)
{
  return bus->bus_pid;
}

void
test_private_bus_kill (TestPrivateBus *bus)
{
  g_autoptr(GError) error = NULL;

  /* The bus itself: dbus-daemon, or the broker (its helper then sees
   * the broker gone and exits). */
  if (bus->bus_pid > 0)
    kill (bus->bus_pid, SIGKILL);
  bus->bus_pid = 0;
  g_subprocess_wait (bus->process, NULL, &error);
  g_assert_no_error (error);
}

void
test_private_bus_free (TestPrivateBus *bus)
{
  g_autoptr(GError) error = NULL;
  GDir *dir;
  const char *name;

  if (g_subprocess_get_identifier (bus->process) != NULL)
    {
      g_subprocess_send_signal (bus->process, SIGTERM);
      g_subprocess_wait (bus->process, NULL, &error);
      g_assert_no_error (error);
    }
  g_object_unref (bus->out);
  g_object_unref (bus->process);
  /* The socket of a killed bus stays behind. */
  dir = g_dir_open (bus->dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (bus->dir, name, NULL);

      g_unlink (path);
    }
  g_clear_pointer (&dir, g_dir_close);
  g_rmdir (bus->dir);
  if (g_strcmp0 (g_getenv ("DBUS_SESSION_BUS_ADDRESS"), bus->address) == 0)
    {
      if (bus->previous_address != NULL)
        g_setenv ("DBUS_SESSION_BUS_ADDRESS", bus->previous_address, TRUE);
      else
        g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");
    }
  g_free (bus->previous_address);
  g_free (bus->config_path);
  g_free (bus->dir);
  g_free (bus->address);
  g_free (bus);
}

static gboolean
timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

void
test_wait_for (gboolean *flag,
               guint     timeout_ms)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (timeout_ms, timeout_cb, &timed_out);

  while (!*flag && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  if (!*flag)
    g_error ("timed out after %u ms", timeout_ms);
}

void
test_spin (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, timeout_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

char *
test_helper_path (const char *name)
{
  return g_test_build_filename (G_TEST_BUILT, name, NULL);
}

struct _TestChild {
  GSubprocess      *process;
  GDataInputStream *out;
  GString          *all;
  gboolean          eof;
};

TestChild *
test_program_spawnv (const char * const *argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  TestChild *child = g_new0 (TestChild, 1);

  /* A child dies with the test program (spawned from its main thread):
   * one left behind by a failed assertion kept the program's stderr open
   * and meson waited for the test's timeout (300 s, 3000 s under
   * valgrind) to report the failure. */
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  child->process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  child->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (child->process));
  child->all = g_string_new (NULL);
  return child;
}

static TestChild *
child_spawn_program (const char  *program,
                     const char **args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (argv, test_helper_path (program));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (args[i]));
  g_ptr_array_add (argv, NULL);
  return test_program_spawnv ((const char * const *) argv->pdata);
}

TestChild *
test_helper_spawn_with_fd (const char *program,
                           int         fd,
                           const char *first_arg,
                           ...)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  TestChild *child = g_new0 (TestChild, 1);
  va_list ap;

  g_ptr_array_add (argv, test_helper_path (program));
  va_start (ap, first_arg);
  for (const char *arg = first_arg; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (argv, g_strdup (arg));
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  g_subprocess_launcher_take_fd (launcher, fd, 3);
  child->process = g_subprocess_launcher_spawnv (launcher,
                                                 (const char * const *) argv->pdata,
                                                 &error);
  g_assert_no_error (error);
  child->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (child->process));
  child->all = g_string_new (NULL);
  return child;
}

TestChild *
test_child_spawnv (const char **args)
{
  return child_spawn_program ("eipc-test-renderer", args);
}

TestChild *
test_main_child_spawn (const char *first_arg,
                       ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  va_list ap;

  va_start (ap, first_arg);
  for (const char *arg = first_arg; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  return child_spawn_program ("eipc-test-main", (const char **) args->pdata);
}

void
test_child_terminate (TestChild *child)
{
  g_subprocess_send_signal (child->process, SIGTERM);
}

static TestChild *
child_spawn_va (const char *first_arg,
                va_list     ap)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();

  for (const char *arg = first_arg; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) arg);
  g_ptr_array_add (args, NULL);
  return test_child_spawnv ((const char **) args->pdata);
}

TestChild *
test_child_spawn (const char *first_arg,
                  ...)
{
  TestChild *child;
  va_list ap;

  va_start (ap, first_arg);
  child = child_spawn_va (first_arg, ap);
  va_end (ap);
  return child;
}

typedef struct {
  gboolean  done;
  char     *line;
  GError   *error;
} ReadLine;

static void
read_line_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  ReadLine *r = user_data;

  r->line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source),
                                                       result, NULL, &r->error);
  r->done = TRUE;
}

/* One line, or NULL at EOF. */
static char *
child_read_line (TestChild *child)
{
  ReadLine r = { FALSE, NULL, NULL };

  if (child->eof)
    return NULL;
  g_data_input_stream_read_line_async (child->out, G_PRIORITY_DEFAULT, NULL,
                                       read_line_done, &r);
  test_wait_for (&r.done, 60000);
  g_assert_no_error (r.error);
  if (r.line == NULL)
    {
      child->eof = TRUE;
      return NULL;
    }
  g_string_append (child->all, r.line);
  g_string_append_c (child->all, '\n');
  if (g_test_verbose ())
    g_printerr ("child: %s\n", r.line);
  return r.line;
}

char *
test_child_expect (TestChild  *child,
                   const char *prefix)
{
  for (;;)
    {
      char *line = child_read_line (child);

      if (line == NULL)
        g_error ("child ended before printing '%s...'; it printed:\n%s",
                 prefix, child->all->str);
      if (g_str_has_prefix (line, prefix))
        return line;
      g_free (line);
    }
}

void
test_child_kill (TestChild *child)
{
  g_subprocess_send_signal (child->process, SIGKILL);
}

const char *
test_child_pid (TestChild *child)
{
  return g_subprocess_get_identifier (child->process);
}

char *
test_child_finish (TestChild *child,
                   int       *status)
{
  g_autoptr(GError) error = NULL;
  char *line, *out;

  while ((line = child_read_line (child)) != NULL)
    g_free (line);
  g_subprocess_wait (child->process, NULL, &error);
  g_assert_no_error (error);
  if (status != NULL)
    *status = g_subprocess_get_status (child->process);
  g_object_unref (child->out);
  g_object_unref (child->process);
  out = g_string_free (child->all, FALSE);
  g_free (child);
  return out;
}

char *
test_run_renderer (int        *status,
                   const char *first_arg,
                   ...)
{
  TestChild *child;
  va_list ap;

  va_start (ap, first_arg);
  child = child_spawn_va (first_arg, ap);
  va_end (ap);
  return test_child_finish (child, status);
}

struct _TestMainThread {
  GThread      *thread;
  GMainContext *context;
  GMainLoop    *loop;
  EipcMain     *main;
  char         *app_id;
  TestMainFunc  setup;
  gpointer      setup_data;
  GMutex        lock;
  GCond         cond;
  gboolean      ready;
};

static gpointer
main_thread_run (gpointer data)
{
  TestMainThread *t = data;
  g_autoptr(GError) error = NULL;

  g_main_context_push_thread_default (t->context);
  t->main = eipc_main_new (t->app_id, &error);
  g_assert_no_error (error);
  if (t->setup != NULL)
    t->setup (t->main, t->setup_data);

  g_mutex_lock (&t->lock);
  t->ready = TRUE;
  g_cond_signal (&t->cond);
  g_mutex_unlock (&t->lock);

  g_main_loop_run (t->loop);

  g_clear_object (&t->main);
  while (g_main_context_pending (t->context))
    g_main_context_iteration (t->context, FALSE);
  g_main_context_pop_thread_default (t->context);
  return NULL;
}

TestMainThread *
test_main_thread_start (const char   *app_id,
                        TestMainFunc  setup,
                        gpointer      user_data)
{
  TestMainThread *t = g_new0 (TestMainThread, 1);

  t->app_id = g_strdup (app_id);
  t->setup = setup;
  t->setup_data = user_data;
  t->context = g_main_context_new ();
  t->loop = g_main_loop_new (t->context, FALSE);
  g_mutex_init (&t->lock);
  g_cond_init (&t->cond);
  t->thread = g_thread_new ("eipc-test-main", main_thread_run, t);

  g_mutex_lock (&t->lock);
  while (!t->ready)
    g_cond_wait (&t->cond, &t->lock);
  g_mutex_unlock (&t->lock);
  return t;
}

typedef struct {
  TestMainThread *thread;
  TestMainFunc    func;
  gpointer        data;
  gboolean        done;
} MainCall;

static gboolean
main_call_run (gpointer user_data)
{
  MainCall *call = user_data;

  call->func (call->thread->main, call->data);
  g_mutex_lock (&call->thread->lock);
  call->done = TRUE;
  g_cond_broadcast (&call->thread->cond);
  g_mutex_unlock (&call->thread->lock);
  return G_SOURCE_REMOVE;
}

void
test_main_thread_call (TestMainThread *thread,
                       TestMainFunc    func,
                       gpointer        user_data)
{
  MainCall call = { thread, func, user_data, FALSE };

  g_main_context_invoke (thread->context, main_call_run, &call);
  g_mutex_lock (&thread->lock);
  while (!call.done)
    g_cond_wait (&thread->cond, &thread->lock);
  g_mutex_unlock (&thread->lock);
}

static gboolean
main_thread_quit (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

void
test_main_thread_stop (TestMainThread *thread)
{
  g_main_context_invoke (thread->context, main_thread_quit, thread->loop);
  g_thread_join (thread->thread);
  g_main_loop_unref (thread->loop);
  g_main_context_unref (thread->context);
  g_mutex_clear (&thread->lock);
  g_cond_clear (&thread->cond);
  g_free (thread->app_id);
  g_free (thread);
}
