/* test-policy.c: the system bus policy of data/eipc-app.conf.in, enforced
 * by a real dbus-daemon
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The test writes a bus configuration modelled on the system bus (the
 * restrictive default policy of system.conf: deny own, deny method calls,
 * allow signals and requested replies, allow the org.freedesktop.DBus
 * interface) that includes the policy generated from the template for
 * org.eipc.Demo (build/data/eipc-test-policy.conf: owner root, renderers
 * of every user), and starts `dbus-daemon --nofork --print-address` on it.
 *
 * The main process runs as root, in the test process. Other users are
 * child processes that switch to `nobody` before exec: the
 * eipc-test-renderer helper, and this program itself in client mode
 * (`test-policy --policy-client ADDRESS CHECK...`, a GDBus client that
 * prints one line per check: "CHECK ok" or "CHECK ! ERROR-NAME MESSAGE").
 * Without root (no setuid), or without a `nobody` user, the tests skip.
 *
 * Denials by the bus are told from denials by eipc by their error name:
 * the bus answers org.freedesktop.DBus.Error.AccessDenied before the
 * message reaches anybody, eipc answers org.eipc.Error.AccessDenied.
 */

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "test-common.h"

#define APP_ID          "org.eipc.Demo"
#define APP_PATH        "/org/eipc/Demo"
#define BUS_DENIED      "org.freedesktop.DBus.Error.AccessDenied"
#define EIPC_DENIED     "org.eipc.Error.AccessDenied"
#define CLIENT_ARG      "--policy-client"

/* ---------------------------------------------------------------------
 * Client mode: one process of some user, one line per check.
 * --------------------------------------------------------------------- */

static const char *
remote_error_name (const GError *error,
                   char        **to_free)
{
  if (error->domain == EIPC_ERROR)
    return eipc_error_to_dbus_name (error->code);
  *to_free = g_dbus_error_get_remote_error (error);
  return *to_free != NULL ? *to_free : g_quark_to_string (error->domain);
}

static void
client_print (const char   *check,
              const GError *error)
{
  g_autofree char *name = NULL;

  if (error == NULL)
    g_print ("%s ok\n", check);
  else
    g_print ("%s ! %s %s\n", check, remote_error_name (error, &name),
             error->message);
}

static void
client_call (GDBusConnection *bus,
             const char      *check,
             const char      *destination,
             const char      *path,
             const char      *interface,
             const char      *member,
             GVariant        *parameters)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  reply = g_dbus_connection_call_sync (bus, destination, path, interface,
                                       member, parameters, NULL,
                                       G_DBUS_CALL_FLAGS_NONE, 10000, NULL,
                                       &error);
  client_print (check, error);
}

typedef struct {
  GMutex   lock;
  guint32  serial;
  char    *error_name;
} SignalWatch;

/* Runs in GDBus's worker thread: catches the error the bus sends back
 * when it refuses a unicast signal. */
static GDBusMessage *
signal_error_filter (GDBusConnection *bus,
                     GDBusMessage    *message,
                     gboolean         incoming,
                     gpointer         user_data)
{
  SignalWatch *watch = user_data;

  if (!incoming ||
      g_dbus_message_get_message_type (message) != G_DBUS_MESSAGE_TYPE_ERROR)
    return message;
  g_mutex_lock (&watch->lock);
  if (watch->serial != 0 &&
      g_dbus_message_get_reply_serial (message) == watch->serial)
    {
      g_free (watch->error_name);
      watch->error_name = g_strdup (g_dbus_message_get_error_name (message));
    }
  g_mutex_unlock (&watch->lock);
  return message;
}

/* Sends a unicast signal (asking for an error back if the bus refuses
 * it), then makes a round trip to the bus: the bus answers in order, so
 * its refusal, if any, has arrived by then. */
static void
client_signal (GDBusConnection *bus,
               const char      *check,
               const char      *destination,
               const char      *path,
               const char      *interface,
               const char      *member,
               GVariant        *body)
{
  g_autoptr(GDBusMessage) message = g_dbus_message_new_signal (path, interface, member);
  g_autoptr(GVariant) id = NULL;
  g_autoptr(GError) error = NULL;
  SignalWatch watch = { 0 };
  guint filter;

  g_mutex_init (&watch.lock);
  filter = g_dbus_connection_add_filter (bus, signal_error_filter, &watch, NULL);
  g_dbus_message_set_destination (message, destination);
  g_dbus_message_set_body (message, body);
  g_dbus_message_set_flags (message, G_DBUS_MESSAGE_FLAGS_NONE);

  g_mutex_lock (&watch.lock);
  g_dbus_connection_send_message (bus, message, G_DBUS_SEND_MESSAGE_FLAGS_NONE,
                                  &watch.serial, &error);
  g_mutex_unlock (&watch.lock);
  if (error == NULL)
    id = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus",
                                      "/org/freedesktop/DBus",
                                      "org.freedesktop.DBus", "GetId", NULL,
                                      G_VARIANT_TYPE ("(s)"),
                                      G_DBUS_CALL_FLAGS_NONE, 10000, NULL,
                                      &error);
  g_dbus_connection_remove_filter (bus, filter);

  if (error != NULL)
    client_print (check, error);
  else if (watch.error_name != NULL)
    g_print ("%s ! %s refused by the bus\n", check, watch.error_name);
  else
    g_print ("%s ok\n", check);
  g_free (watch.error_name);
  g_mutex_clear (&watch.lock);
}

static void
client_run_check (GDBusConnection *bus,
                  const char      *address,
                  const char      *command)
{
  /* CHECK[,ARG,ARG]: unique names have colons, paths slashes. */
  g_auto(GStrv) part = g_strsplit (command, ",", 3);
  const char *check = part[0];

  if (strcmp (check, "own") == 0)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(EipcMain) main = eipc_main_new_for_address (APP_ID, address, &error);

      client_print (check, error);
    }
  else if (strcmp (check, "get") == 0)
    client_call (bus, check, APP_ID, APP_PATH, "org.freedesktop.DBus.Properties",
                 "Get", g_variant_new ("(ss)", "org.eipc.Main1", "Strict"));
  else if (strcmp (check, "get-all") == 0)
    client_call (bus, check, APP_ID, APP_PATH, "org.freedesktop.DBus.Properties",
                 "GetAll", g_variant_new ("(s)", "org.eipc.Main1"));
  else if (strcmp (check, "introspect") == 0)
    client_call (bus, check, APP_ID, APP_PATH,
                 "org.freedesktop.DBus.Introspectable", "Introspect", NULL);
  else if (strcmp (check, "set") == 0)
    client_call (bus, check, APP_ID, APP_PATH, "org.freedesktop.DBus.Properties",
                 "Set", g_variant_new ("(ssv)", "org.eipc.Main1", "Strict",
                                       g_variant_new_boolean (TRUE)));
  else if (strcmp (check, "ping") == 0)
    client_call (bus, check, APP_ID, APP_PATH, "org.freedesktop.DBus.Peer",
                 "Ping", NULL);
  else if (strcmp (check, "unknown-method") == 0)
    client_call (bus, check, APP_ID, APP_PATH, "org.eipc.Main1", "Shutdown", NULL);
  else if (strcmp (check, "invoke") == 0)
    client_call (bus, check, APP_ID, APP_PATH, "org.eipc.Main1", "Invoke",
                 g_variant_new ("(ss)", "ping", "[]"));
  else if (strcmp (check, "message") == 0)
    client_signal (bus, check, APP_ID, APP_PATH, "org.eipc.Renderer1", "Message",
                   g_variant_new ("(ss)", "client-note", "[]"));
  else if (strcmp (check, "other-signal") == 0)
    client_signal (bus, check, APP_ID, APP_PATH, "org.eipc.Renderer1", "Hello",
                   g_variant_new ("(ss)", "client-note", "[]"));
  /* invoke-renderer,UNIQUE-NAME,PATH */
  else if (strcmp (check, "invoke-renderer") == 0)
    client_call (bus, check, part[1], part[2], "org.eipc.Renderer1", "Invoke",
                 g_variant_new ("(ss)", "back", "[]"));
  /* web-contents-signal,UNIQUE-NAME,PATH */
  else if (strcmp (check, "web-contents-signal") == 0)
    client_signal (bus, check, part[1], part[2], "org.eipc.WebContents1", "Message",
                   g_variant_new ("(sst)", "forged", "[]", (guint64) 0));
  else
    g_error ("unknown check '%s'", command);
}

static int
client_main (int   argc,
             char *argv[])
{
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GError) error = NULL;
  const char *address = argv[2];

  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  bus = g_dbus_connection_new_for_address_sync (address,
                                                G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                NULL, NULL, &error);
  if (bus == NULL)
    {
      g_print ("connect ! %s\n", error->message);
      return 1;
    }
  g_print ("uid %u\n", (guint) getuid ());
  for (int i = 3; i < argc; i++)
    client_run_check (bus, address, argv[i]);
  g_dbus_connection_close_sync (bus, NULL, NULL);
  return 0;
}

/* ---------------------------------------------------------------------
 * The bus, and processes of other users.
 * --------------------------------------------------------------------- */

static struct {
  char        *skip;          /* why the tests cannot run, or NULL */
  char        *dir;           /* the bus socket and configuration */
  char        *address;
  GSubprocess *daemon;
  uid_t        nobody_uid;
  gid_t        nobody_gid;
} bus;

/* After fork, before exec: only system calls here. */
static void
child_setup (gpointer user_data)
{
  gboolean as_nobody = GPOINTER_TO_INT (user_data);

  if (as_nobody &&
      (setgroups (0, NULL) < 0 ||
       setgid (bus.nobody_gid) < 0 ||
       setuid (bus.nobody_uid) < 0))
    _exit (126);
  /* After setuid(), which clears it: no child outlives a failed test. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

typedef struct {
  GSubprocess      *process;
  GDataInputStream *out;
  GString          *all;
} Child;

static Child *
child_spawnv (gboolean             as_nobody,
              const char * const  *argv,
              GError             **error)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  Child *child;
  GSubprocess *process;

  /* eipc-test-renderer finds the bus as the session bus. */
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS",
                                bus.address, TRUE);
  g_subprocess_launcher_set_child_setup (launcher, child_setup,
                                         GINT_TO_POINTER (as_nobody), NULL);
  process = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (process == NULL)
    return NULL;

  child = g_new0 (Child, 1);
  child->process = process;
  child->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  child->all = g_string_new (NULL);
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

/* One line, or NULL at EOF; the main context (and so the main process of
 * the test) keeps running meanwhile. */
static char *
child_read_line (Child *child)
{
  ReadLine r = { FALSE, NULL, NULL };

  g_data_input_stream_read_line_async (child->out, G_PRIORITY_DEFAULT, NULL,
                                       read_line_done, &r);
  test_wait_for (&r.done, 30000);
  g_assert_no_error (r.error);
  if (r.line != NULL)
    {
      g_string_append_printf (child->all, "%s\n", r.line);
      if (g_test_verbose ())
        g_printerr ("child: %s\n", r.line);
    }
  return r.line;
}

static char *
child_expect (Child      *child,
              const char *prefix)
{
  for (;;)
    {
      char *line = child_read_line (child);

      if (line == NULL)
        g_error ("the child ended before it printed '%s...'; it printed:\n%s",
                 prefix, child->all->str);
      if (g_str_has_prefix (line, prefix))
        return line;
      g_free (line);
    }
}

/* Reads to EOF and reaps the child; returns its exit status (-1 if it
 * did not exit normally) and, in *output, everything it printed. */
static int
child_finish (Child  *child,
              char  **output)
{
  g_autoptr(GError) error = NULL;
  char *line;
  int status;

  while ((line = child_read_line (child)) != NULL)
    g_free (line);
  g_subprocess_wait (child->process, NULL, &error);
  g_assert_no_error (error);
  status = g_subprocess_get_if_exited (child->process)
           ? g_subprocess_get_exit_status (child->process) : -1;
  g_object_unref (child->out);
  g_object_unref (child->process);
  if (output != NULL)
    *output = g_string_free (child->all, FALSE);
  else
    g_string_free (child->all, TRUE);
  g_free (child);
  return status;
}

/* Runs this program in client mode with @checks, as nobody or as root,
 * to the end. Returns check -> "ok" or "! ERROR-NAME MESSAGE". */
static GHashTable *
run_client (gboolean             as_nobody,
            const char * const  *checks)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;
  g_autofree char *output = NULL;
  g_autofree char *uid = NULL;
  GHashTable *results = g_hash_table_new_full (g_str_hash, g_str_equal,
                                               g_free, g_free);
  Child *child;
  int status;

  g_ptr_array_add (argv, g_test_build_filename (G_TEST_BUILT, "test-policy", NULL));
  g_ptr_array_add (argv, g_strdup (CLIENT_ARG));
  g_ptr_array_add (argv, g_strdup (bus.address));
  for (guint i = 0; checks[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (checks[i]));
  g_ptr_array_add (argv, NULL);

  child = child_spawnv (as_nobody, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  status = child_finish (child, &output);
  g_assert_cmpint (status, ==, 0);

  lines = g_strsplit (output, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *space = strchr (lines[i], ' ');

      if (space != NULL)
        g_hash_table_replace (results, g_strndup (lines[i], space - lines[i]),
                              g_strdup (space + 1));
    }
  uid = g_strdup_printf ("%u", as_nobody ? (guint) bus.nobody_uid : 0);
  g_assert_cmpstr (g_hash_table_lookup (results, "uid"), ==, uid);
  return results;
}

/* "! NAME MESSAGE" -> NAME; "ok" -> "ok". */
static char *
result_name (GHashTable *results,
             const char *check)
{
  const char *result = g_hash_table_lookup (results, check);

  g_assert_nonnull (result);
  if (!g_str_has_prefix (result, "! "))
    return g_strdup (result);
  return g_strndup (result + 2, strcspn (result + 2, " "));
}

#define assert_result(results, check, expected)                        \
  G_STMT_START {                                                       \
    g_autofree char *name_ = result_name ((results), (check));         \
    if (g_strcmp0 (name_, (expected)) != 0)                            \
      g_error ("%s: expected %s, got: %s", (check), (expected),        \
               (const char *) g_hash_table_lookup ((results), (check))); \
  } G_STMT_END

static gboolean
set_flag_once (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
wait_for_count (guint *count,
                guint  n)
{
  gboolean timed_out = FALSE;
  guint timeout = g_timeout_add_seconds (30, set_flag_once, &timed_out);

  while (*count < n && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (timed_out)
    g_error ("timed out waiting for %u messages (got %u)", n, *count);
  g_source_remove (timeout);
}

static gboolean
can_run (void)
{
  if (bus.skip == NULL)
    return TRUE;
  g_test_skip (bus.skip);
  return FALSE;
}

static gboolean
name_has_owner (void)
{
  g_autoptr(GDBusConnection) conn = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  gboolean owned;

  conn = g_dbus_connection_new_for_address_sync (bus.address,
                                                 G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                 G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                 NULL, NULL, &error);
  g_assert_no_error (error);
  reply = g_dbus_connection_call_sync (conn, "org.freedesktop.DBus",
                                       "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner",
                                       g_variant_new ("(s)", APP_ID),
                                       G_VARIANT_TYPE ("(b)"),
                                       G_DBUS_CALL_FLAGS_NONE, 10000, NULL,
                                       &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(b)", &owned);
  g_dbus_connection_close_sync (conn, NULL, NULL);
  return owned;
}

/* Drops the main process and waits until the bus has released the app
 * name, so the next test starts from a free name. */
static void
main_release (EipcMain **main)
{
  g_clear_object (main);
  for (guint i = 0; name_has_owner (); i++)
    {
      g_assert_cmpuint (i, <, 500);
      test_spin (10);
    }
}

/* ---------------------------------------------------------------------
 * The tests.
 * --------------------------------------------------------------------- */

/* Only the owner user may own the app name: another user is refused by
 * the bus (AccessDenied, not NameTaken), whether the name is free or
 * taken; a second main process of the owner user gets NameTaken. */
static void
test_own (void)
{
  const char *own[] = { "own", NULL };
  g_autoptr(GHashTable) free_name = NULL;
  g_autoptr(GHashTable) taken_name = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMain) second = NULL;
  EipcMain *main;

  if (!can_run ())
    return;
  g_assert_false (name_has_owner ());

  free_name = run_client (TRUE, own);
  assert_result (free_name, "own", EIPC_DENIED);
  g_assert_nonnull (strstr (g_hash_table_lookup (free_name, "own"),
                            "does not allow this user to own the bus name " APP_ID));

  main = eipc_main_new_for_address (APP_ID, bus.address, &error);
  g_assert_no_error (error);
  g_assert_nonnull (main);
  g_assert_true (name_has_owner ());

  taken_name = run_client (TRUE, own);
  assert_result (taken_name, "own", EIPC_DENIED);

  second = eipc_main_new_for_address (APP_ID, bus.address, &error);
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_NAME_TAKEN);
  g_assert_null (second);

  main_release (&main);
}

typedef struct {
  guint    notes;
  guint64  note_sender;
  guint    client_notes;
} MainState;

static void
resolve_ping (EipcEvent *event,
              gpointer   user_data)
{
  g_autoptr(GError) error = NULL;

  eipc_event_resolve_json (event, "\"pong\"", &error);
  g_assert_no_error (error);
}

static void
echo_sync (EipcEvent *event,
           gpointer   user_data)
{
  g_autoptr(GError) error = NULL;

  eipc_event_set_return_value_json (event, eipc_event_get_args_json (event), &error);
  g_assert_no_error (error);
}

static void
count_note (EipcEvent *event,
            gpointer   user_data)
{
  MainState *state = user_data;

  state->notes++;
  state->note_sender = eipc_event_get_sender_id (event);
}

static void
count_client_note (EipcEvent *event,
                   gpointer   user_data)
{
  MainState *state = user_data;

  state->client_notes++;
}

static EipcMain *
main_start (MainState *state)
{
  g_autoptr(GError) error = NULL;
  EipcMain *main = eipc_main_new_for_address (APP_ID, bus.address, &error);

  g_assert_no_error (error);
  eipc_main_handle (main, "ping", resolve_ping, NULL, NULL, &error);
  g_assert_no_error (error);
  eipc_main_on (main, "echo", echo_sync, NULL, NULL);
  eipc_main_on (main, "note", count_note, state, NULL);
  eipc_main_on (main, "client-note", count_client_note, state, NULL);
  return main;
}

/* A renderer as nobody, which attaches, invokes, sendSyncs, sends, then
 * serves "back" and waits for a message on "quit". */
static Child *
renderer_start (guint64 *id)
{
  g_autofree char *helper = g_test_build_filename (G_TEST_BUILT, "eipc-test-renderer", NULL);
  const char *argv[] = {
    helper, "--app=" APP_ID, "listen:quit", "handle:back:\"from-renderer\"",
    "id", "invoke:ping:[1]", "sync:echo:[2]", "send:note:[3]", "print:ready",
    "wait:quit:1", NULL
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  Child *child;

  child = child_spawnv (TRUE, argv, &error);
  g_assert_no_error (error);
  line = child_expect (child, "id ");
  *id = g_ascii_strtoull (line + 3, NULL, 10);
  g_assert_cmpuint (*id, !=, 0);
  return child;
}

static void
renderer_stop (EipcWebContents *wc,
               Child           *child)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *output = NULL;

  eipc_web_contents_send_json (wc, "quit", "[]", &error);
  g_assert_no_error (error);
  g_assert_cmpint (child_finish (child, &output), ==, 0);
  g_assert_nonnull (strstr (output, "msg quit kind=send from=0 []\n"));
  g_assert_true (g_str_has_suffix (output, "done\n"));
}

typedef struct {
  gboolean  done;
  JsonNode *result;
  GError   *error;
} InvokeResult;

static void
wc_invoke_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  InvokeResult *r = user_data;

  r->result = eipc_web_contents_invoke_finish (EIPC_WEB_CONTENTS (source), result,
                                               &r->error);
  r->done = TRUE;
}

/* Everything a renderer does is open to another user: attach, invoke,
 * sendSync, send (a unicast signal to the main process); and the main
 * process (the owner) reaches the renderer: its invoke and its send. */
static void
test_renderer (void)
{
  MainState state = { 0 };
  InvokeResult r = { FALSE, NULL, NULL };
  g_autofree char *invoked = NULL, *synced = NULL;
  g_autofree char *result = NULL;
  EipcWebContents *wc;
  EipcMain *main;
  Child *child;
  guint64 id;

  if (!can_run ())
    return;
  main = main_start (&state);
  child = renderer_start (&id);

  invoked = child_expect (child, "invoke ping ");
  g_assert_cmpstr (invoked, ==, "invoke ping = \"pong\"");
  synced = child_expect (child, "sync echo ");
  g_assert_cmpstr (synced, ==, "sync echo = [2]");
  g_free (child_expect (child, "ready"));
  wait_for_count (&state.notes, 1);
  g_assert_cmpuint (state.note_sender, ==, id);

  /* The bus's credentials: the renderer really runs as another user. */
  wc = eipc_main_get_web_contents (main, id);
  g_assert_nonnull (wc);
  g_assert_cmpuint (eipc_web_contents_get_user_id (wc), ==, bus.nobody_uid);

  /* The owner may call org.eipc.Renderer1.Invoke on a renderer. */
  eipc_web_contents_invoke_json (wc, "back", "[]", NULL, wc_invoke_done, &r);
  test_wait_for (&r.done, 30000);
  g_assert_no_error (r.error);
  result = json_to_string (r.result, FALSE);
  g_assert_cmpstr (result, ==, "\"from-renderer\"");
  json_node_unref (r.result);

  /* ... and send it org.eipc.WebContents1 signals. */
  renderer_stop (wc, child);
  main_release (&main);
}

/* org.eipc.Renderer1.Invoke on a renderer is for the owner user only:
 * another user is refused by the bus; the owner user gets through the
 * bus (the renderer itself then refuses a caller that is not its main
 * process). Likewise only the owner user may send org.eipc.WebContents1
 * signals to a renderer. */
static void
test_renderer_invoke_only_owner (void)
{
  MainState state = { 0 };
  InvokeResult r = { FALSE, NULL, NULL };
  g_autoptr(GHashTable) as_nobody = NULL;
  g_autoptr(GHashTable) as_root = NULL;
  g_autofree char *invoke = NULL, *forge = NULL;
  EipcWebContents *wc;
  EipcMain *main;
  Child *child;
  guint64 id;

  if (!can_run ())
    return;
  main = main_start (&state);
  child = renderer_start (&id);
  g_free (child_expect (child, "ready"));
  wc = eipc_main_get_web_contents (main, id);
  g_assert_nonnull (wc);

  invoke = g_strdup_printf ("invoke-renderer,%s,%s",
                            eipc_web_contents_get_unique_name (wc),
                            eipc_web_contents_get_object_path (wc));
  forge = g_strdup_printf ("web-contents-signal,%s,%s",
                           eipc_web_contents_get_unique_name (wc),
                           eipc_web_contents_get_object_path (wc));
  {
    const char *checks[] = { invoke, forge, NULL };

    as_nobody = run_client (TRUE, checks);
    as_root = run_client (FALSE, checks);
  }
  assert_result (as_nobody, "invoke-renderer", BUS_DENIED);
  assert_result (as_nobody, "web-contents-signal", BUS_DENIED);
  assert_result (as_root, "invoke-renderer", EIPC_DENIED);
  assert_result (as_root, "web-contents-signal", "ok");

  /* The renderer still serves its main process. */
  eipc_web_contents_invoke_json (wc, "back", "[]", NULL, wc_invoke_done, &r);
  test_wait_for (&r.done, 30000);
  g_assert_no_error (r.error);
  json_node_unref (r.result);

  renderer_stop (wc, child);
  main_release (&main);
}

/* What any client may do to the main process: call the methods of
 * org.eipc.Main1 (here Invoke, as a client that never attached),
 * Introspect, Properties.Get and GetAll, send the Renderer1.Message
 * signal; and what nobody may: Properties.Set (the owner user included),
 * any other method or interface, any other signal to the app name. */
static void
test_main_calls (void)
{
  const char *checks[] = {
    "get", "get-all", "introspect", "invoke", "message",
    "set", "ping", "unknown-method", "other-signal", NULL
  };
  const char *root_checks[] = { "set", "unknown-method", "other-signal", NULL };
  MainState state = { 0 };
  g_autoptr(GHashTable) as_nobody = NULL;
  g_autoptr(GHashTable) as_root = NULL;
  EipcMain *main;

  if (!can_run ())
    return;
  main = main_start (&state);

  as_nobody = run_client (TRUE, checks);
  assert_result (as_nobody, "get", "ok");
  assert_result (as_nobody, "get-all", "ok");
  assert_result (as_nobody, "introspect", "ok");
  assert_result (as_nobody, "invoke", "ok");
  assert_result (as_nobody, "message", "ok");
  assert_result (as_nobody, "set", BUS_DENIED);
  assert_result (as_nobody, "ping", BUS_DENIED);
  assert_result (as_nobody, "unknown-method", BUS_DENIED);
  assert_result (as_nobody, "other-signal", BUS_DENIED);
  wait_for_count (&state.client_notes, 1);

  as_root = run_client (FALSE, root_checks);
  assert_result (as_root, "set", BUS_DENIED);
  assert_result (as_root, "unknown-method", BUS_DENIED);
  assert_result (as_root, "other-signal", BUS_DENIED);
  g_assert_false (eipc_main_get_strict (main));

  main_release (&main);
}

/* ---------------------------------------------------------------------
 * A system-like bus with the policy, for the whole program.
 * --------------------------------------------------------------------- */

static void
daemon_setup (gpointer user_data)
{
  /* The bus goes when the test goes, even if it crashes. */
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static char *
bus_config (const char *socket_path,
            const char *policy)
{
  g_autofree char *socket_xml = g_markup_escape_text (socket_path, -1);
  g_autofree char *policy_xml = g_markup_escape_text (policy, -1);

  /* The default policy of the system bus (system.conf). */
  return g_strdup_printf (
    "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN\"\n"
    " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
    "<busconfig>\n"
    "  <type>system</type>\n"
    "  <listen>unix:path=%s</listen>\n"
    "  <auth>EXTERNAL</auth>\n"
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
    "    <deny send_destination=\"org.freedesktop.DBus\"\n"
    "          send_interface=\"org.freedesktop.DBus\"\n"
    "          send_member=\"UpdateActivationEnvironment\"/>\n"
    "  </policy>\n"
    "  <include>%s</include>\n"
    "</busconfig>\n", socket_xml, policy_xml);
}

/* Can nobody run the programs of the build directory at all? */
static gboolean
nobody_can_run_tests (void)
{
  g_autofree char *self = g_test_build_filename (G_TEST_BUILT, "test-policy", NULL);
  const char *argv[] = { self, CLIENT_ARG, bus.address, NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *output = NULL;
  Child *child;

  child = child_spawnv (TRUE, argv, &error);
  if (child == NULL)
    return FALSE;
  return child_finish (child, &output) == 0 && g_str_has_prefix (output, "uid ");
}

static void
bus_up (void)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *daemon = NULL, *relative = NULL, *policy = NULL;
  g_autofree char *config = NULL;
  g_autofree char *config_path = NULL, *socket_path = NULL, *line = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  struct passwd *pw;

  if (test_bus_is_broker ())
    {
      bus.skip = g_strdup ("not on dbus-broker: it reads the XML policy of "
                           "data/eipc-app.conf.in only through its launcher, "
                           "dbus-broker-launch, which needs systemd and journald");
      return;
    }
  if (geteuid () != 0)
    {
      bus.skip = g_strdup ("needs root: the processes of other users are "
                           "children that switch to 'nobody' with setuid()");
      return;
    }
  pw = getpwnam ("nobody");
  if (pw == NULL || pw->pw_uid == 0)
    {
      bus.skip = g_strdup ("needs a user 'nobody' to run renderers as");
      return;
    }
  bus.nobody_uid = pw->pw_uid;
  bus.nobody_gid = pw->pw_gid;
  daemon = g_find_program_in_path ("dbus-daemon");
  if (daemon == NULL)
    {
      bus.skip = g_strdup ("dbus-daemon is not in PATH");
      return;
    }

  /* dbus-daemon reads an <include> relative to the configuration. */
  relative = g_test_build_filename (G_TEST_BUILT, "..", "data",
                                    "eipc-test-policy.conf", NULL);
  policy = g_canonicalize_filename (relative, NULL);
  g_assert_true (g_file_test (policy, G_FILE_TEST_IS_REGULAR));

  /* Other users reach the socket through the directory. */
  bus.dir = g_dir_make_tmp ("eipc-policy-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_no_errno (g_chmod (bus.dir, 0755));
  socket_path = g_build_filename (bus.dir, "bus", NULL);
  config_path = g_build_filename (bus.dir, "bus.conf", NULL);
  config = bus_config (socket_path, policy);
  g_file_set_contents (config_path, config, -1, &error);
  g_assert_no_error (error);

  /* The daemon logs every refusal on stderr: shown with --verbose. */
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        (g_test_verbose ()
                                         ? G_SUBPROCESS_FLAGS_NONE
                                         : G_SUBPROCESS_FLAGS_STDERR_SILENCE));
  g_subprocess_launcher_set_child_setup (launcher, daemon_setup, NULL, NULL);
  bus.daemon = g_subprocess_launcher_spawn (launcher, &error, daemon,
                                            "--config-file", config_path,
                                            "--nofork", "--print-address",
                                            NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (bus.daemon));
  line = g_data_input_stream_read_line_utf8 (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  bus.address = g_strdup (g_strstrip (line));
  g_test_message ("bus at %s with %s", bus.address, policy);

  if (!nobody_can_run_tests ())
    bus.skip = g_strdup_printf ("the user nobody cannot run %s (a directory "
                                "above it may be closed to other users)",
                                g_test_get_dir (G_TEST_BUILT));
}

static void
bus_down (void)
{
  if (bus.daemon != NULL)
    {
      g_subprocess_send_signal (bus.daemon, SIGTERM);
      g_subprocess_wait (bus.daemon, NULL, NULL);
      g_clear_object (&bus.daemon);
    }
  if (bus.dir != NULL)
    {
      g_autofree char *socket_path = g_build_filename (bus.dir, "bus", NULL);
      g_autofree char *config_path = g_build_filename (bus.dir, "bus.conf", NULL);

      g_unlink (socket_path);
      g_unlink (config_path);
      g_rmdir (bus.dir);
    }
  g_clear_pointer (&bus.dir, g_free);
  g_clear_pointer (&bus.address, g_free);
  g_clear_pointer (&bus.skip, g_free);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  if (argc >= 3 && strcmp (argv[1], CLIENT_ARG) == 0)
    return client_main (argc, argv);

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/policy/own/owner-only", test_own);
  g_test_add_func ("/policy/renderer/allowed", test_renderer);
  g_test_add_func ("/policy/renderer/invoke-only-owner", test_renderer_invoke_only_owner);
  g_test_add_func ("/policy/main/calls", test_main_calls);

  bus_up ();
  ret = g_test_run ();
  bus_down ();
  return ret;
}
