/* test-trust.c: forged replies are refused, on a bus that lets them through
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The test bus is a dbus-daemon with a session-like configuration
 * (GTestDBus: eavesdropping allowed, unrequested replies let through),
 * where any client can answer another client's call: sd-bus matches a
 * reply by its serial alone. A raw GDBus client, the forger, answers the
 * calls it sees by eavesdropping (the exact serial, before the real
 * answer) or floods replies with serials 1..N at a renderer. Every
 * forgery must make the call fail with EIPC_ERROR_FORGED_REPLY naming
 * the forger, never give a forged result, and leave the connection
 * working for the next, honest, call.
 */

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>

#include "test-common.h"

#define FORGED_ID    666

/* ---------------------------------------------------------------------
 * The forger
 * --------------------------------------------------------------------- */

typedef struct {
  GDBusConnection *bus;
  char            *member;      /* the calls it answers */
  gboolean         as_error;    /* answer with an error, not a return */
  guint            filter_id;
  gint             answered;    /* atomic */
  GThread         *flooder;
  char            *flood_target;
  guint32          flood_max;   /* the highest serial it answers (400) */
  gint             stop;        /* atomic */
} Forger;

static GDBusMessage *
forger_filter (GDBusConnection *connection,
               GDBusMessage    *message,
               gboolean         incoming,
               gpointer         user_data)
{
  Forger *f = user_data;
  g_autoptr(GDBusMessage) reply = NULL;
  const char *member = g_dbus_message_get_member (message);
  const char *sender = g_dbus_message_get_sender (message);

  if (!incoming ||
      g_dbus_message_get_message_type (message) != G_DBUS_MESSAGE_TYPE_METHOD_CALL ||
      g_strcmp0 (member, f->member) != 0 ||
      g_strcmp0 (sender, g_dbus_connection_get_unique_name (connection)) == 0)
    return message;

  if (f->as_error)
    reply = g_dbus_message_new_method_error_literal (message,
                                                     "org.eipc.Error.HandlerFailed",
                                                     "forged error");
  else
    {
      reply = g_dbus_message_new_method_reply (message);
      if (strcmp (member, "Attach") == 0)
        g_dbus_message_set_body (reply, g_variant_new ("(to)", (guint64) FORGED_ID,
                                                       "/org/eipc/Test/WebContents/666"));
      else if (strcmp (member, "GetNameOwner") == 0)
        g_dbus_message_set_body (reply, g_variant_new ("(s)",
                                                       g_dbus_connection_get_unique_name (connection)));
      else
        g_dbus_message_set_body (reply, g_variant_new ("(s)", "\"forged\""));
    }
  g_dbus_connection_send_message (connection, reply,
                                  G_DBUS_SEND_MESSAGE_FLAGS_NONE, NULL, NULL);
  g_atomic_int_inc (&f->answered);
  /* The eavesdropped call is not for us: drop it. */
  g_object_unref (message);
  return NULL;
}

/* Answers every @member call it sees on the bus, first. */
static Forger *
forger_new (const char *member,
            gboolean    as_error)
{
  Forger *f = g_new0 (Forger, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autofree char *rule = NULL;

  f->bus = test_client_new ();
  f->member = g_strdup (member);
  f->as_error = as_error;
  f->filter_id = g_dbus_connection_add_filter (f->bus, forger_filter, f, NULL);
  rule = g_strdup_printf ("eavesdrop=true,type='method_call',member='%s'", member);
  reply = g_dbus_connection_call_sync (f->bus, "org.freedesktop.DBus",
                                       "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "AddMatch", g_variant_new ("(s)", rule), NULL,
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  g_assert_no_error (error);
  return f;
}

static const char *
forger_name (Forger *f)
{
  return g_dbus_connection_get_unique_name (f->bus);
}

/* Replies with serials 1..N, again and again, at @target. */
static gpointer
flood_run (gpointer data)
{
  Forger *f = data;

  while (!g_atomic_int_get (&f->stop))
    for (guint32 serial = 1; serial <= f->flood_max && !g_atomic_int_get (&f->stop); serial++)
      {
        g_autoptr(GDBusMessage) m = g_dbus_message_new ();

        g_dbus_message_set_flags (m, G_DBUS_MESSAGE_FLAGS_NO_REPLY_EXPECTED);
        g_dbus_message_set_reply_serial (m, serial);
        g_dbus_message_set_destination (m, f->flood_target);
        if (f->as_error)
          {
            g_dbus_message_set_message_type (m, G_DBUS_MESSAGE_TYPE_ERROR);
            g_dbus_message_set_error_name (m, "org.eipc.Error.HandlerFailed");
            g_dbus_message_set_body (m, g_variant_new ("(s)", "forged error"));
          }
        else
          {
            g_dbus_message_set_message_type (m, G_DBUS_MESSAGE_TYPE_METHOD_RETURN);
            g_dbus_message_set_body (m, g_variant_new ("(s)", "\"forged\""));
          }
        g_dbus_connection_send_message (f->bus, m, G_DBUS_SEND_MESSAGE_FLAGS_NONE,
                                        NULL, NULL);
        g_atomic_int_inc (&f->answered);
        /* No faster than the bus takes them: GDBus would queue without
         * bound while a slow victim (valgrind) reads. */
        if (serial % 64 == 0)
          g_dbus_connection_flush_sync (f->bus, NULL, NULL);
      }
  return NULL;
}

static void
forger_flood (Forger     *f,
              const char *target)
{
  f->flood_target = g_strdup (target);
  if (f->flood_max == 0)
    f->flood_max = 400;
  f->flooder = g_thread_new ("flood", flood_run, f);
}

static void
forger_free (Forger *f)
{
  if (f->flooder != NULL)
    {
      g_atomic_int_set (&f->stop, 1);
      g_thread_join (f->flooder);
    }
  g_dbus_connection_remove_filter (f->bus, f->filter_id);
  g_dbus_connection_close_sync (f->bus, NULL, NULL);
  g_object_unref (f->bus);
  g_free (f->member);
  g_free (f->flood_target);
  g_free (f);
}

/* dbus-broker delivers a reply only to a call it saw (and has no
 * eavesdropping): the forgeries cannot reach anybody there. */
static gboolean
skip_on_broker (void)
{
  if (!test_bus_is_broker ())
    return FALSE;
  g_test_skip ("dbus-broker drops replies nobody asked for");
  return TRUE;
}

static void
assert_forged (const GError *error,
               Forger       *f)
{
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_FORGED_REPLY);
  g_assert_nonnull (strstr (error->message, forger_name (f)));
}

/* ---------------------------------------------------------------------
 * The main process (its own thread) and its handlers
 * --------------------------------------------------------------------- */

typedef struct {
  TestMainThread *main;
  GPtrArray      *held;        /* events answered only at teardown */
  GMutex          lock;
  /* main-to-renderer invoke */
  gboolean        invoke_done;
  GError         *invoke_error;
  JsonNode       *invoke_result;
  /* the main thread held in a callback (main_hold ()) */
  GCond           gate_cond;
  gboolean        gate_holding;
  gboolean        gate_open;
} Fixture;

/* Runs in the main process's thread: holds it until main_release (), at
 * most 10 s, so the main process answers nothing meanwhile. */
static gboolean
main_gate (gpointer user_data)
{
  Fixture *f = user_data;
  gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  g_mutex_lock (&f->lock);
  f->gate_holding = TRUE;
  g_cond_broadcast (&f->gate_cond);
  while (!f->gate_open && g_cond_wait_until (&f->gate_cond, &f->lock, until))
    ;
  f->gate_holding = FALSE;
  g_mutex_unlock (&f->lock);
  return G_SOURCE_REMOVE;
}

static void
main_add_gate (EipcMain *main,
               gpointer  user_data)
{
  g_autoptr(GSource) idle = g_idle_source_new ();

  g_source_set_callback (idle, main_gate, user_data, NULL);
  g_source_attach (idle, g_main_context_get_thread_default ());
}

/* The main process stops answering (its thread is held) until
 * main_release (). */
static void
main_hold (Fixture *f)
{
  f->gate_open = FALSE;
  test_main_thread_call (f->main, main_add_gate, f);
  g_mutex_lock (&f->lock);
  while (!f->gate_holding)
    g_cond_wait (&f->gate_cond, &f->lock);
  g_mutex_unlock (&f->lock);
}

static void
main_release (Fixture *f)
{
  g_mutex_lock (&f->lock);
  f->gate_open = TRUE;
  g_cond_broadcast (&f->gate_cond);
  g_mutex_unlock (&f->lock);
}

static void
handle_hold (EipcEvent *event,
             gpointer   user_data)
{
  Fixture *f = user_data;

  g_mutex_lock (&f->lock);
  g_ptr_array_add (f->held, g_object_ref (event));
  g_mutex_unlock (&f->lock);
}

static void
handle_echo (EipcEvent *event,
             gpointer   user_data)
{
  eipc_event_resolve_json (event, "\"real\"", NULL);
}

static void
listen_echo (EipcEvent *event,
             gpointer   user_data)
{
  eipc_event_set_return_value_json (event, "\"real\"", NULL);
}

static void
main_setup (EipcMain *main,
            gpointer  user_data)
{
  Fixture *f = user_data;

  eipc_main_handle (main, "hold", handle_hold, f, NULL, NULL);
  eipc_main_handle (main, "echo", handle_echo, f, NULL, NULL);
  eipc_main_on (main, "hold-sync", handle_hold, f, NULL);
  eipc_main_on (main, "echo-sync", listen_echo, f, NULL);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_mutex_init (&f->lock);
  g_cond_init (&f->gate_cond);
  f->held = g_ptr_array_new_with_free_func (g_object_unref);
  f->main = test_main_thread_start (TEST_APP_ID, main_setup, f);
}

static void
release_held (EipcMain *main,
              gpointer  user_data)
{
  Fixture *f = user_data;

  g_mutex_lock (&f->lock);
  g_ptr_array_set_size (f->held, 0);
  g_mutex_unlock (&f->lock);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  test_main_thread_call (f->main, release_held, f);
  test_main_thread_stop (f->main);
  g_ptr_array_unref (f->held);
  g_clear_error (&f->invoke_error);
  g_clear_pointer (&f->invoke_result, json_node_unref);
  g_mutex_clear (&f->lock);
  g_cond_clear (&f->gate_cond);
}

static void
invoke_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  GError **out = user_data;
  g_autoptr(JsonNode) node = NULL;

  node = eipc_renderer_invoke_finish (EIPC_RENDERER (source), result, out);
  /* Never a forged (or any) result: the main process holds the call. */
  g_assert_null (node);
  g_assert_nonnull (*out);
}

/* An honest round trip after the forgery: the connection still works. */
static void
assert_renderer_answers (EipcRenderer *renderer,
                         const char   *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *text = NULL;

  node = eipc_renderer_send_sync_json (renderer, "echo-sync", "[]", &error);
  g_assert_no_error (error);
  text = json_to_string (node, FALSE);
  g_assert_cmpstr (text, ==, expected);
}

static void
assert_renderer_works (EipcRenderer *renderer)
{
  assert_renderer_answers (renderer, "\"real\"");
}

/* ---------------------------------------------------------------------
 * Tests
 * --------------------------------------------------------------------- */

/* A renderer being attached: the forger answers Attach (or the bus
 * driver's GetNameOwner, claiming to own the app name) first. */
static void
test_forged_attach (Fixture       *f,
                    gconstpointer  data)
{
  const char *member = data;
  guint refused = 0;
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcRenderer) renderer = NULL;
  Forger *forger;

  if (skip_on_broker ())
    return;
  forger = forger_new (member, FALSE);

  for (guint i = 0; i < 6; i++)
    {
      /* Every other try, the main process is held while the renderer
       * attaches, so the forged Attach answer surely comes first; the
       * others race it. */
      gboolean held = strcmp (member, "Attach") == 0 && i % 2 == 0;

      g_clear_error (&error);
      g_clear_object (&renderer);
      if (held)
        main_hold (f);
      renderer = eipc_renderer_new (TEST_APP_ID, &error);
      if (held)
        main_release (f);
      /* The real answer may win the race (then the forged one comes too
       * late and is ignored), and dbus-daemon does not show calls to
       * itself to eavesdroppers, so a GetNameOwner goes unanswered by
       * the forger: then the renderer attaches, to the real main
       * process. Never to the forger, never with its id. */
      if (renderer != NULL)
        {
          g_assert_cmpuint (eipc_renderer_get_id (renderer), !=, FORGED_ID);
          assert_renderer_works (renderer);
          continue;
        }
      assert_forged (error, forger);
      refused++;
    }
  /* The held tries are refused whatever the scheduling; the forger,
   * which answers at once while the main process first asks for the
   * client's credentials, wins most of the races too. */
  g_test_message ("%s: %u of 6 attaches refused the forged answer", member, refused);
  if (strcmp (member, "Attach") == 0)
    g_assert_cmpuint (refused, >=, 3);
  forger_free (forger);
  g_clear_error (&error);
  g_clear_object (&renderer);

  /* Without the forger, attaching works, with a real id. */
  renderer = eipc_renderer_new (TEST_APP_ID, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (eipc_renderer_get_id (renderer), !=, FORGED_ID);
  assert_renderer_works (renderer);
}

static void
test_forged_invoke (Fixture       *f,
                    gconstpointer  data)
{
  gboolean as_error = GPOINTER_TO_INT (data);
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcRenderer) renderer = NULL;
  Forger *forger;

  if (skip_on_broker ())
    return;

  renderer = eipc_renderer_new (TEST_APP_ID, &error);
  g_assert_no_error (error);
  forger = forger_new ("Invoke", as_error);

  eipc_renderer_invoke_json (renderer, "hold", "[]", NULL, invoke_done, &error);
  while (error == NULL)
    g_main_context_iteration (NULL, TRUE);
  assert_forged (error, forger);
  forger_free (forger);
  assert_renderer_works (renderer);
}

static void
test_forged_send_sync (Fixture       *f,
                       gconstpointer  data)
{
  gboolean as_error = GPOINTER_TO_INT (data);
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcRenderer) renderer = NULL;
  g_autoptr(JsonNode) node = NULL;
  Forger *forger;

  if (skip_on_broker ())
    return;

  renderer = eipc_renderer_new (TEST_APP_ID, &error);
  g_assert_no_error (error);
  forger = forger_new ("SendSync", as_error);

  node = eipc_renderer_send_sync_json (renderer, "hold-sync", "[]", &error);
  g_assert_null (node);
  assert_forged (error, forger);
  forger_free (forger);
  assert_renderer_works (renderer);
}

/* The renderer's unique name, as anyone sees it: the main process's
 * WebContents property lists it. */
static const char *
renderer_unique_name (EipcRenderer *renderer)
{
  g_autoptr(GDBusConnection) probe = test_client_new ();
  g_autoptr(GVariant) names = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;
  const char *unique = NULL;
  GVariantIter iter;
  guint64 id;
  const char *name;

  names = g_dbus_connection_call_sync (probe, TEST_APP_ID, "/org/eipc/Test",
                                       "org.freedesktop.DBus.Properties", "Get",
                                       g_variant_new ("(ss)", "org.eipc.Main1",
                                                      "WebContents"),
                                       NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                       &error);
  g_assert_no_error (error);
  g_variant_get (names, "(v)", &value);
  g_variant_iter_init (&iter, value);
  while (g_variant_iter_next (&iter, "(t&s@u@t)", &id, &name, NULL, NULL))
    if (id == eipc_renderer_get_id (renderer))
      unique = g_intern_string (name);
  g_assert_nonnull (unique);
  return unique;
}

/* Replies flooded at the renderer's unique name with serials 1..N, no
 * eavesdropping: whichever serial an invoke in flight has, it fails. */
static void
test_forged_flood (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcRenderer) renderer = NULL;
  Forger *forger;
  const char *unique;

  if (skip_on_broker ())
    return;

  renderer = eipc_renderer_new (TEST_APP_ID, &error);
  g_assert_no_error (error);
  unique = renderer_unique_name (renderer);

  forger = forger_new ("NoSuchMember", FALSE);
  forger_flood (forger, unique);
  eipc_renderer_invoke_json (renderer, "hold", "[]", NULL, invoke_done, &error);
  while (error == NULL)
    g_main_context_iteration (NULL, TRUE);
  assert_forged (error, forger);
  forger_free (forger);
  /* The flood's replies still on their way are ignored while nobody
   * waits on their serials; the next call must not take one of them
   * (it would fail as forged, which is right but not what this checks). */
  test_spin (500);
  assert_renderer_works (renderer);
}

/* The main process invoking a renderer's handler (which never answers):
 * the forger answers Renderer1.Invoke first. */
static void
renderer_hold (EipcEvent *event,
               gpointer   user_data)
{
  g_ptr_array_add (user_data, g_object_ref (event));
}

static void
main_invoke_done (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Fixture *f = user_data;
  GError *error = NULL;
  JsonNode *node;

  node = eipc_web_contents_invoke_finish (EIPC_WEB_CONTENTS (source), result, &error);
  g_mutex_lock (&f->lock);
  f->invoke_result = node;
  f->invoke_error = error;
  f->invoke_done = TRUE;
  g_mutex_unlock (&f->lock);
}

static void
main_invoke_first (EipcMain *main,
                   gpointer  user_data)
{
  Fixture *f = user_data;
  g_autoptr(GPtrArray) all = eipc_main_list_web_contents (main);

  g_assert_cmpuint (all->len, ==, 1);
  eipc_web_contents_invoke_json (g_ptr_array_index (all, 0), "hold", "[]",
                                 NULL, main_invoke_done, f);
}

static void
test_forged_main_invoke (Fixture       *f,
                         gconstpointer  data)
{
  gboolean as_error = GPOINTER_TO_INT (data);
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcRenderer) renderer = NULL;
  g_autoptr(GPtrArray) held = g_ptr_array_new_with_free_func (g_object_unref);
  Forger *forger;
  gboolean done = FALSE;

  if (skip_on_broker ())
    return;

  renderer = eipc_renderer_new (TEST_APP_ID, &error);
  g_assert_no_error (error);
  eipc_renderer_handle (renderer, "hold", renderer_hold, held, NULL, &error);
  g_assert_no_error (error);
  forger = forger_new ("Invoke", as_error);

  test_main_thread_call (f->main, main_invoke_first, f);
  while (!done)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
      g_mutex_lock (&f->lock);
      done = f->invoke_done;
      g_mutex_unlock (&f->lock);
    }
  g_assert_null (f->invoke_result);
  assert_forged (f->invoke_error, forger);
  forger_free (forger);
  assert_renderer_works (renderer);
}

/* ---------------------------------------------------------------------
 * Guests attach only with consent
 * --------------------------------------------------------------------- */

typedef struct {
  guint64 host_id;
  guint   asked;
  gboolean answer;
} GuestPolicy;

static gboolean
on_allow_guest (EipcMain        *main,
                EipcWebContents *host,
                const char      *unique_name,
                guint            pid,
                guint            uid,
                gpointer         user_data)
{
  GuestPolicy *policy = user_data;

  g_assert_true (g_dbus_is_unique_name (unique_name));
  g_assert_cmpuint (pid, ==, getpid ());
  policy->host_id = eipc_web_contents_get_id (host);
  policy->asked++;
  return policy->answer;
}

static void
connect_allow_guest (EipcMain *main,
                     gpointer  user_data)
{
  g_signal_connect (main, "allow-guest", G_CALLBACK (on_allow_guest), user_data);
}

static void
disconnect_allow_guest (EipcMain *main,
                        gpointer  user_data)
{
  g_signal_handlers_disconnect_by_data (main, user_data);
}

static void
test_guest_consent (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcRenderer) host = NULL;
  g_autoptr(EipcRenderer) guest = NULL;
  GuestPolicy policy = { 0, 0, FALSE };

  host = eipc_renderer_new (TEST_APP_ID, &error);
  g_assert_no_error (error);

  /* Nobody allowed it. */
  guest = eipc_renderer_new_guest (TEST_APP_ID, NULL, eipc_renderer_get_id (host), &error);
  g_assert_null (guest);
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_ACCESS_DENIED);
  g_clear_error (&error);

  /* The main process's handler refuses, then allows. */
  test_main_thread_call (f->main, connect_allow_guest, &policy);
  guest = eipc_renderer_new_guest (TEST_APP_ID, NULL, eipc_renderer_get_id (host), &error);
  g_assert_null (guest);
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_ACCESS_DENIED);
  g_clear_error (&error);
  g_assert_cmpuint (policy.asked, ==, 1);
  g_assert_cmpuint (policy.host_id, ==, eipc_renderer_get_id (host));

  policy.answer = TRUE;
  guest = eipc_renderer_new_guest (TEST_APP_ID, NULL, eipc_renderer_get_id (host), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (eipc_renderer_get_host_id (guest), ==, eipc_renderer_get_id (host));
  g_assert_cmpuint (policy.asked, ==, 2);
  assert_renderer_works (guest);
  g_clear_object (&guest);
  test_main_thread_call (f->main, disconnect_allow_guest, &policy);
}

/* ---------------------------------------------------------------------
 * Automatic re-attach only to the same program
 * --------------------------------------------------------------------- */

typedef struct {
  guint    attached;
  guint    exited;
  gboolean accept_all;
  guint    checked;
} Reattach;

static void
on_reattached (EipcRenderer *renderer,
               guint64       id,
               gpointer      user_data)
{
  ((Reattach *) user_data)->attached++;
}

static void
on_main_exited (EipcRenderer *renderer,
                gpointer      user_data)
{
  ((Reattach *) user_data)->exited++;
}

static gboolean
on_check_main (EipcRenderer *renderer,
               const char   *unique_name,
               guint         uid,
               const char   *executable,
               gpointer      user_data)
{
  Reattach *r = user_data;

  r->checked++;
  g_assert_cmpuint (uid, ==, getuid ());
  g_assert_nonnull (executable);
  return r->accept_all;
}

static void
spin_until (guint *counter,
            guint  value,
            guint  timeout_ms)
{
  gint64 end = g_get_monotonic_time () + timeout_ms * 1000;

  while (*counter < value && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
  g_assert_cmpuint (*counter, >=, value);
}

/* A copy of eipc-test-main under another name: another executable. */
static GSubprocess *
impostor_spawn (const char *dir)
{
  g_autofree char *helper = test_helper_path ("eipc-test-main");
  g_autofree char *copy = g_build_filename (dir, "impostor-main", NULL);
  g_autoptr(GFile) from = g_file_new_for_path (helper);
  g_autoptr(GFile) to = g_file_new_for_path (copy);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *line = NULL;
  GSubprocess *process;

  g_file_copy (from, to, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_chmod (copy, 0755);
  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, copy,
                              "echo-sync:echo-sync", NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  /* The pipe stays open: the impostor prints more, and would die of
   * SIGPIPE. */
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (out), FALSE);
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, "ready");
  return process;
}

static void
impostor_kill (GSubprocess *process)
{
  g_subprocess_force_exit (process);
  g_subprocess_wait (process, NULL, NULL);
  g_object_unref (process);
}

static void
test_reattach_credentials (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcRenderer) renderer = NULL;
  g_autofree char *dir = g_dir_make_tmp ("eipc-trust-XXXXXX", &error);
  g_autofree char *ready = NULL, *ready2 = NULL;
  Reattach r = { 0, 0, FALSE, 0 };
  TestChild *main1, *main2;
  GSubprocess *impostor;

  g_assert_no_error (error);
  main1 = test_main_child_spawn ("echo-sync:echo-sync", NULL);
  ready = test_child_expect (main1, "ready");
  renderer = eipc_renderer_new (TEST_APP_ID, &error);
  g_assert_no_error (error);
  eipc_renderer_set_auto_reattach (renderer, TRUE);
  g_signal_connect (renderer, "attached", G_CALLBACK (on_reattached), &r);
  g_signal_connect (renderer, "main-exited", G_CALLBACK (on_main_exited), &r);

  /* The main process dies; another program takes the app name: the
   * renderer does not attach to it. */
  test_child_kill (main1);
  g_free (test_child_finish (main1, NULL));
  spin_until (&r.exited, 1, 10000);
  impostor = impostor_spawn (dir);
  test_spin (500);
  g_assert_cmpuint (r.attached, ==, 0);
  g_assert_false (eipc_renderer_is_attached (renderer));
  impostor_kill (impostor);
  g_test_message ("impostor refused");

  /* The same program again: it does. */
  main2 = test_main_child_spawn ("echo-sync:echo-sync", NULL);
  ready2 = test_child_expect (main2, "ready");
  spin_until (&r.attached, 1, 10000);
  g_test_message ("re-attached to the same program");
  assert_renderer_answers (renderer, "[]");
  test_child_kill (main2);
  g_free (test_child_finish (main2, NULL));
  spin_until (&r.exited, 2, 10000);

  /* The application's own check decides instead. */
  r.accept_all = TRUE;
  g_signal_connect (renderer, "check-main", G_CALLBACK (on_check_main), &r);
  impostor = impostor_spawn (dir);
  spin_until (&r.attached, 2, 10000);
  g_assert_cmpuint (r.checked, ==, 1);
  assert_renderer_answers (renderer, "[]");
  impostor_kill (impostor);
  spin_until (&r.exited, 3, 10000);
  g_clear_object (&renderer);
  {
    g_autofree char *copy = g_build_filename (dir, "impostor-main", NULL);

    g_unlink (copy);
    g_rmdir (dir);
  }
}

/* ---------------------------------------------------------------------
 * Decoding costs a bounded multiple of the message's size
 * --------------------------------------------------------------------- */

/* A /proc/PID/status field, in bytes. */
static guint64
proc_status_bytes (const char *pid,
                   const char *field)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/status", pid);
  g_autofree char *text = NULL;
  const char *p;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  p = strstr (text, field);
  g_assert_nonnull (p);
  return g_ascii_strtoull (p + strlen (field) + 1, NULL, 10) * 1024;
}

static char *
invoke_text (GDBusConnection  *bus,
             const char       *channel,
             const char       *args,
             GError          **error)
{
  g_autoptr(GVariant) reply = NULL;
  char *text = NULL;

  reply = g_dbus_connection_call_sync (bus, TEST_APP_ID, "/org/eipc/Test",
                                       "org.eipc.Main1", "Invoke",
                                       g_variant_new ("(ss)", channel, args),
                                       G_VARIANT_TYPE ("(s)"),
                                       G_DBUS_CALL_FLAGS_NONE, 120000, NULL,
                                       error);
  if (reply != NULL)
    g_variant_get (reply, "(s)", &text);
  return text;
}

/* 16 MiB of [{},{},...] to a handler that reads its arguments: json-glib
 * would spend 1.7 GB on it (about 100 times the text). The main process
 * refuses it with LimitsExceeded, and a message it does decode (16 MiB in
 * long strings, or as many small numbers as the slack allows) peaks below
 * 10 times its size. */
/* The RSS bound holds for a plain build: AddressSanitizer's shadow and
 * quarantine, or valgrind, take more; there the numbers are reported
 * only. */
static gboolean
memory_is_plain (void)
{
#if defined(__SANITIZE_ADDRESS__)
  return FALSE;
#else
  return g_getenv ("EIPC_TEST_SCALE") == NULL;
#endif
}

static void
test_decode_amplification (void)
{
  const gsize size = 16 * 1024 * 1024 - 1024;
  g_autoptr(GDBusConnection) bus = test_client_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) args = g_string_sized_new (size + 16);
  g_autofree char *ready = NULL;
  g_autofree char *result = NULL;
  TestChild *main_child;
  const char *pid;
  guint64 start, peak;

  main_child = test_main_child_spawn ("count-args:count", NULL);
  ready = test_child_expect (main_child, "ready");
  pid = test_child_pid (main_child);
  start = proc_status_bytes (pid, "VmRSS:");

  g_string_append_c (args, '[');
  while (args->len < size - 3)
    g_string_append (args, "{},");
  g_string_append (args, "{}]");
  result = invoke_text (bus, "count", args->str, &error);
  g_assert_null (result);
  g_assert_nonnull (strstr (error->message, "LimitsExceeded"));
  peak = proc_status_bytes (pid, "VmHWM:");
  g_test_message ("[{},...] of %" G_GSIZE_FORMAT " bytes: refused; main RSS %"
                  G_GUINT64_FORMAT " -> peak %" G_GUINT64_FORMAT " (+%.1f x the message)",
                  args->len, start, peak, (double) (peak - start) / args->len);
  if (memory_is_plain ())
    g_assert_cmpuint (peak - start, <, 10 * (guint64) args->len);
  g_clear_error (&error);

  /* 16 MiB in 16 strings: decoded. */
  g_string_truncate (args, 0);
  g_string_append_c (args, '[');
  for (guint i = 0; i < 16; i++)
    {
      g_string_append_c (args, '"');
      for (gsize j = 0; j < size / 16 - 8; j++)
        g_string_append_c (args, 'a' + (char) (j % 26));
      g_string_append (args, i < 15 ? "\"," : "\"");
    }
  g_string_append_c (args, ']');
  g_clear_pointer (&result, g_free);
  result = invoke_text (bus, "count", args->str, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (result, ==, "16");
  peak = proc_status_bytes (pid, "VmHWM:");
  g_test_message ("16 strings, %" G_GSIZE_FORMAT " bytes: decoded; main RSS %"
                  G_GUINT64_FORMAT " -> peak %" G_GUINT64_FORMAT " (+%.1f x the message)",
                  args->len, start, peak, (double) (peak - start) / args->len);
  if (memory_is_plain ())
    g_assert_cmpuint (peak - start, <, 10 * (guint64) args->len);

  /* Small numbers: decoded up to the slack, refused past it. */
  g_string_truncate (args, 0);
  g_string_append_c (args, '[');
  for (guint i = 0; i < 20000; i++)
    g_string_append (args, i > 0 ? ",7" : "7");
  g_string_append_c (args, ']');
  g_clear_pointer (&result, g_free);
  result = invoke_text (bus, "count", args->str, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (result, ==, "20000");

  test_child_terminate (main_child);
  g_free (test_child_finish (main_child, NULL));
}

/* EIPC_SEND_WINDOW in src/eipc-private.h: one-way messages a renderer
 * has in flight before it waits for the main process to answer a ping. */
#define SEND_WINDOW 4096

/* The renderer's send window (one-way sends to the main process) is
 * acknowledged by the answers to its Peer.Ping calls. The main process
 * (a child) is stopped, so it answers nothing, while the forger floods
 * method returns with serials 1..N at the renderer: were any answer
 * taken, the renderer would go on sending past the window. It must stop
 * at the window: with ForgedReply when the forger answers the ping the
 * full window waits for, LimitsExceeded when nobody does in time. */
static void
test_forged_send_window (gconstpointer data)
{
  gboolean as_error = GPOINTER_TO_INT (data);
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcRenderer) renderer = NULL;
  g_autofree char *ready = NULL;
  TestChild *main_child;
  Forger *forger;
  const char *unique;
  GPid pid;
  guint sent;
  gint flooded;

  if (skip_on_broker ())
    return;

  main_child = test_main_child_spawn ("count:sink", "exit-on-disconnect", NULL);
  ready = test_child_expect (main_child, "ready");
  pid = (GPid) g_ascii_strtoll (test_child_pid (main_child), NULL, 10);
  renderer = eipc_renderer_new (TEST_APP_ID, &error);
  g_assert_no_error (error);
  unique = renderer_unique_name (renderer);

  g_assert_cmpint (kill (pid, SIGSTOP), ==, 0);
  forger = forger_new ("NoSuchMember", as_error);
  /* Every serial the renderer's pings can have up to a full window. */
  forger->flood_max = SEND_WINDOW + 512;
  forger_flood (forger, unique);

  /* The first early ping goes out at 256 messages: the flood passes over
   * its serial twice before the window fills, so that a forged answer
   * to it is read (and would count) while the renderer still sends. */
  for (sent = 0; sent < 300; sent++)
    g_assert_true (eipc_renderer_send_json (renderer, "sink", "[1]", &error));
  flooded = g_atomic_int_get (&forger->answered) + 2 * (gint) forger->flood_max;
  while (g_atomic_int_get (&forger->answered) < flooded)
    g_main_context_iteration (NULL, TRUE);

  for (; sent < 2 * SEND_WINDOW; sent++)
    {
      if (!eipc_renderer_send_json (renderer, "sink", "[1]", &error))
        break;
      /* Let the (forged) answers to the early pings in, a few at a
       * time: the flood never stops, so never until none is left. */
      if (sent % 64 == 0)
        for (guint i = 0; i < 16; i++)
          g_main_context_iteration (NULL, FALSE);
    }
  g_test_message ("%u one-way messages sent to a stopped main process "
                  "(the window is %u); the forger sent %d replies", sent,
                  SEND_WINDOW, g_atomic_int_get (&forger->answered));
  /* Going on before the checks: a failed one must not leave it stopped. */
  g_assert_cmpint (kill (pid, SIGCONT), ==, 0);
  g_assert_cmpuint (sent, <=, SEND_WINDOW);
  g_assert_nonnull (error);
  if (g_error_matches (error, EIPC_ERROR, EIPC_ERROR_FORGED_REPLY))
    assert_forged (error, forger);
  else
    g_assert_error (error, EIPC_ERROR, EIPC_ERROR_LIMITS_EXCEEDED);

  /* The victim first: the forger's connection flushes what it queued
   * when it closes, which needs a reader at the other end. */
  g_clear_object (&renderer);
  forger_free (forger);
  test_child_terminate (main_child);
  g_free (test_child_finish (main_child, NULL));
}

static void
count_signal (EipcWebContents *wc,
              gpointer         user_data)
{
  guint *count = user_data;

  (*count)++;
}

/* A forger who answers every ping the main process sends to a stopped
 * renderer (flooding replies at the main process's unique name) cannot
 * put off `unresponsive`: the timer runs from the first unanswered ping. */
static void
test_forged_unresponsive (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMain) main_process = NULL;
  g_autofree char *id_line = NULL;
  EipcWebContents *wc;
  TestChild *child;
  Forger *forger;
  guint unresponsive = 0;
  guint64 sent = 0;
  gint64 start, fired_after = -1;
  GPid pid;

  if (skip_on_broker ())
    return;

  main_process = eipc_main_new (TEST_APP_ID, &error);
  g_assert_no_error (error);
  child = test_child_spawn ("--app=" TEST_APP_ID, "id", "wait:quit:1", NULL);
  id_line = test_child_expect (child, "id ");
  wc = eipc_main_get_web_contents (main_process, g_ascii_strtoull (id_line + 3, NULL, 10));
  g_assert_nonnull (wc);
  pid = (GPid) eipc_web_contents_get_process_id (wc);
  g_signal_connect (wc, "unresponsive", G_CALLBACK (count_signal), &unresponsive);
  eipc_web_contents_set_unresponsive_timeout (wc, 500);

  g_assert_cmpint (kill (pid, SIGSTOP), ==, 0);
  forger = forger_new ("NoSuchMember", FALSE);
  /* Past every serial the main process uses here: a window of messages
   * and a ping after each forged answer. */
  forger->flood_max = 4096;
  forger_flood (forger, eipc_main_get_unique_name (main_process));

  start = g_get_monotonic_time ();
  while (unresponsive == 0 && g_get_monotonic_time () - start < 20 * G_USEC_PER_SEC)
    {
      /* Refused once its backlog is full: the flood of sends goes on. */
      if (eipc_web_contents_send_json (wc, "x", "[1]", NULL))
        sent++;
      g_main_context_iteration (NULL, FALSE);
    }
  if (unresponsive > 0)
    fired_after = (g_get_monotonic_time () - start) / 1000;
  g_test_message ("unresponsive after %" G_GINT64_FORMAT " ms (timeout 500 ms), "
                  "%" G_GUINT64_FORMAT " messages queued, %d forged replies",
                  fired_after, sent, g_atomic_int_get (&forger->answered));
  g_assert_cmpint (kill (pid, SIGCONT), ==, 0);
  g_assert_cmpuint (unresponsive, ==, 1);
  /* The victim first, as in send-window. */
  g_clear_object (&main_process);
  forger_free (forger);

  test_child_terminate (child);
  g_free (test_child_finish (child, NULL));
}

/* ---------------------------------------------------------------------
 * Replies from the bus driver: RequestName and AddMatch
 * --------------------------------------------------------------------- */

typedef enum {
  VICTIM_MAIN_TAKEN,    /* a main process for a name another one owns */
  VICTIM_MAIN_FREE,     /* a main process for a free name */
  VICTIM_RENDERER,      /* a renderer */
} VictimKind;

typedef struct {
  VictimKind  kind;
  const char *body;     /* the forged returns: a GVariant text, or NULL
                         * for errors */
  const char *member;   /* the one call answered (its serial read on the
                         * way), or NULL: serials 1..16, blindly */
  gboolean    async;    /* g_async_initable_new_async(), not _new() */
} DriverForgery;

/* A process's first calls all go to the bus driver (AddMatch, then
 * RequestName or GetNameOwner). The driver answers a call in the
 * transaction that shows it to eavesdroppers, so an eavesdropper answers
 * too late; and a new connection sends them all at once, right after
 * Hello, so dbus-daemon answers them before it reads anything more from
 * anybody else. A forger gets in first only if the victim is slow to
 * send them, and serials count up from 1. The relay makes it slow,
 * every time: it stands between the victim and the bus, lets Hello
 * through (and, to answer one call, everything before that call), and
 * holds the rest until the forger, which knows the next unique name
 * (dbus-daemon numbers connections in order), has sent replies with
 * serials 1..16 (or that call's) to it and the bus has routed them (a
 * call of the forger's to the bus comes back after them). */
typedef struct {
  Forger              *forger;
  const DriverForgery *forgery;
  char                *dir;
  char                *address;
  char                *target;     /* the victim's unique name */
  GSocket             *listener;
  GThread             *thread;
  GThread             *pump;
  GIOStream           *victim;
  GIOStream           *daemon;
  guint32              serial;     /* of the call answered, or 0 */
} Relay;

/* The bus's bytes to the victim, as they come. */
static gpointer
relay_pump (gpointer data)
{
  Relay *relay = data;
  GInputStream *in = g_io_stream_get_input_stream (relay->daemon);
  GOutputStream *out = g_io_stream_get_output_stream (relay->victim);
  char buffer[4096];
  gssize n;

  while ((n = g_input_stream_read (in, buffer, sizeof buffer, NULL, NULL)) > 0)
    if (!g_output_stream_write_all (out, buffer, n, NULL, NULL, NULL))
      break;
  g_socket_shutdown (g_socket_connection_get_socket (G_SOCKET_CONNECTION (relay->victim)),
                     FALSE, TRUE, NULL);
  return NULL;
}

/* Reads from the victim until @buffer holds @size bytes. */
static gboolean
relay_read_to (GInputStream *in,
               GByteArray   *buffer,
               gsize         size)
{
  while (buffer->len < size)
    {
      guint8 chunk[4096];
      gssize n = g_input_stream_read (in, chunk, sizeof chunk, NULL, NULL);

      if (n <= 0)
        return FALSE;
      g_byte_array_append (buffer, chunk, n);
    }
  return TRUE;
}

static void
relay_forge (Relay *relay)
{
  GDBusConnection *bus = relay->forger->bus;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) id = NULL;
  gboolean has_owner = FALSE;

  /* Hello has reached the bus: the victim's name is there. */
  while (!has_owner)
    {
      g_autoptr(GVariant) reply =
        g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                     "org.freedesktop.DBus", "NameHasOwner",
                                     g_variant_new ("(s)", relay->target),
                                     G_VARIANT_TYPE ("(b)"), G_DBUS_CALL_FLAGS_NONE,
                                     -1, NULL, &error);

      g_assert_no_error (error);
      g_variant_get (reply, "(b)", &has_owner);
      if (!has_owner)
        g_usleep (1000);
    }

  for (guint32 serial = 1; serial <= 16; serial++)
    {
      g_autoptr(GDBusMessage) m = NULL;

      if (relay->serial != 0 && serial != relay->serial)
        continue;
      m = g_dbus_message_new ();
      g_dbus_message_set_flags (m, G_DBUS_MESSAGE_FLAGS_NO_REPLY_EXPECTED);
      g_dbus_message_set_reply_serial (m, serial);
      g_dbus_message_set_destination (m, relay->target);
      if (relay->forgery->body == NULL)
        {
          g_dbus_message_set_message_type (m, G_DBUS_MESSAGE_TYPE_ERROR);
          g_dbus_message_set_error_name (m, "org.eipc.Error.HandlerFailed");
          g_dbus_message_set_body (m, g_variant_new ("(s)", "forged error"));
        }
      else
        {
          g_dbus_message_set_message_type (m, G_DBUS_MESSAGE_TYPE_METHOD_RETURN);
          g_dbus_message_set_body (m, g_variant_new_parsed (relay->forgery->body));
        }
      g_dbus_connection_send_message (bus, m, G_DBUS_SEND_MESSAGE_FLAGS_NONE, NULL, &error);
      g_assert_no_error (error);
      g_atomic_int_inc (&relay->forger->answered);
    }
  /* The bus handles a connection's messages in order: once it answered
   * this, it has routed the forged replies to the victim. */
  id = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                    "org.freedesktop.DBus", "GetId", NULL,
                                    G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NONE,
                                    -1, NULL, &error);
  g_assert_no_error (error);
}

static gpointer
relay_run (gpointer data)
{
  Relay *relay = data;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) held = g_byte_array_new ();
  GInputStream *in;
  GOutputStream *out;
  gsize begin = 0, sent = 0, hello_end;
  gssize hello_size;

  socket = g_socket_accept (relay->listener, NULL, &error);
  g_assert_no_error (error);
  relay->victim = G_IO_STREAM (g_socket_connection_factory_create_connection (socket));
  relay->daemon = g_dbus_address_get_stream_sync (test_bus_address (), NULL, NULL, &error);
  g_assert_no_error (error);
  relay->pump = g_thread_new ("relay-pump", relay_pump, relay);
  in = g_io_stream_get_input_stream (relay->victim);
  out = g_io_stream_get_output_stream (relay->daemon);

  /* The authentication (text lines, as they come), then Hello. */
  while (begin == 0)
    {
      const char *end;

      if (!relay_read_to (in, held, held->len + 1))
        goto done;
      /* Past the NUL byte that opens the authentication. */
      end = g_strstr_len ((const char *) held->data + 1, held->len - 1, "BEGIN\r\n");
      if (end != NULL)
        begin = (end - (const char *) held->data) + strlen ("BEGIN\r\n");
      if (!g_output_stream_write_all (out, held->data + sent,
                                      (begin != 0 ? begin : held->len) - sent,
                                      NULL, NULL, NULL))
        goto done;
      sent = begin != 0 ? begin : held->len;
    }
  if (!relay_read_to (in, held, begin + 16))
    goto done;
  hello_size = g_dbus_message_bytes_needed (held->data + begin, 16, &error);
  g_assert_no_error (error);
  hello_end = begin + hello_size;
  if (!relay_read_to (in, held, hello_end))
    goto done;
  g_assert_true (g_output_stream_write_all (out, held->data + sent, hello_end - sent,
                                            NULL, NULL, NULL));
  g_byte_array_remove_range (held, 0, hello_end);

  /* To answer one call: what comes before it goes on. */
  while (relay->forgery->member != NULL && relay->serial == 0)
    {
      g_autoptr(GDBusMessage) m = NULL;
      gssize size;

      if (!relay_read_to (in, held, 16))
        goto done;
      size = g_dbus_message_bytes_needed (held->data, 16, &error);
      g_assert_no_error (error);
      if (!relay_read_to (in, held, size))
        goto done;
      m = g_dbus_message_new_from_blob (held->data, size, 0, &error);
      g_assert_no_error (error);
      if (g_strcmp0 (g_dbus_message_get_member (m), relay->forgery->member) == 0)
        {
          relay->serial = g_dbus_message_get_serial (m);
          break;
        }
      g_assert_true (g_output_stream_write_all (out, held->data, size, NULL, NULL, NULL));
      g_byte_array_remove_range (held, 0, size);
    }

  /* The rest waits until the forged replies are on their way. */
  relay_forge (relay);
  if (held->len > 0 &&
      !g_output_stream_write_all (out, held->data, held->len, NULL, NULL, NULL))
    goto done;
  for (;;)
    {
      guint8 chunk[4096];
      gssize n = g_input_stream_read (in, chunk, sizeof chunk, NULL, NULL);

      if (n <= 0 || !g_output_stream_write_all (out, chunk, n, NULL, NULL, NULL))
        break;
    }

done:
  g_socket_shutdown (g_socket_connection_get_socket (G_SOCKET_CONNECTION (relay->daemon)),
                     FALSE, TRUE, NULL);
  return NULL;
}

static Relay *
relay_new (Forger              *forger,
           const DriverForgery *forgery)
{
  Relay *relay = g_new0 (Relay, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autofree char *path = NULL;
  const char *name = forger_name (forger);
  const char *dot = strrchr (name, '.');

  relay->forger = forger;
  relay->forgery = forgery;
  /* The relay's connection to the bus, made after the forger's, is the
   * next one. */
  g_assert_nonnull (dot);
  relay->target = g_strdup_printf ("%.*s.%" G_GUINT64_FORMAT, (int) (dot - name), name,
                                   g_ascii_strtoull (dot + 1, NULL, 10) + 1);
  relay->dir = g_dir_make_tmp ("eipc-relay-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (relay->dir, "bus", NULL);
  relay->address = g_strdup_printf ("unix:path=%s", path);
  relay->listener = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                                  G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  address = g_unix_socket_address_new (path);
  g_socket_bind (relay->listener, address, TRUE, &error);
  g_assert_no_error (error);
  g_socket_listen (relay->listener, &error);
  g_assert_no_error (error);
  relay->thread = g_thread_new ("relay", relay_run, relay);
  return relay;
}

/* After the victim closed its connection. */
static void
relay_free (Relay *relay)
{
  g_autofree char *path = g_build_filename (relay->dir, "bus", NULL);

  g_thread_join (relay->thread);
  g_thread_join (relay->pump);
  g_clear_object (&relay->victim);
  g_clear_object (&relay->daemon);
  g_clear_object (&relay->listener);
  g_unlink (path);
  g_rmdir (relay->dir);
  g_free (relay->dir);
  g_free (relay->address);
  g_free (relay->target);
  g_free (relay);
}

static void
victim_created (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  GObject **victim = user_data;
  GError *error = NULL;

  *victim = g_async_initable_new_finish (G_ASYNC_INITABLE (source), result, &error);
  if (*victim == NULL)
    g_object_set_data_full (source, "test-error", error, (GDestroyNotify) g_error_free);
  g_object_set_data (source, "test-done", GINT_TO_POINTER (TRUE));
}

/* The victim's set-up as the test asks: blocking, or asynchronous while
 * this thread's main context runs. */
static GObject *
victim_new (const DriverForgery  *forgery,
            const char           *app_id,
            const char           *address,
            GError              **error)
{
  GType type = forgery->kind == VICTIM_RENDERER ? EIPC_TYPE_RENDERER : EIPC_TYPE_MAIN;
  g_autoptr(GObject) object = NULL;
  GObject *victim = NULL;
  GError *async_error;

  if (!forgery->async)
    return g_initable_new (type, NULL, error, "app-id", app_id, "address", address, NULL);
  object = g_object_new (type, "app-id", app_id, "address", address, NULL);
  g_async_initable_init_async (G_ASYNC_INITABLE (object), G_PRIORITY_DEFAULT, NULL,
                               victim_created, &victim);
  while (g_object_get_data (object, "test-done") == NULL)
    g_main_context_iteration (NULL, TRUE);
  async_error = g_object_get_data (object, "test-error");
  if (async_error != NULL)
    g_propagate_error (error, g_error_copy (async_error));
  return victim;
}

/* The victim must never take the forged replies: its set-up fails with
 * ForgedReply naming the forger (before the fix: a main process took
 * "you own the name" while another one owned it, or "it is taken" while
 * it was free, and a renderer or a main process failed with the
 * forger's error to AddMatch). */
static void
test_forged_driver (Fixture       *f,
                    gconstpointer  data)
{
  const DriverForgery *forgery = data;
  const char *app_id = forgery->kind == VICTIM_MAIN_FREE ? "org.eipc.TestFree"
                                                         : TEST_APP_ID;
  g_autoptr(GError) error = NULL;
  g_autoptr(GObject) victim = NULL;
  Forger *forger;
  Relay *relay;

  if (skip_on_broker ())
    return;

  forger = forger_new ("NoSuchMember", FALSE);
  relay = relay_new (forger, forgery);
  victim = victim_new (forgery, app_id, relay->address, &error);
  g_test_message ("%s: %s", relay->target, error != NULL ? error->message : "set up");
  g_assert_null (victim);
  assert_forged (error, forger);

  relay_free (relay);
  forger_free (forger);

  /* Without the forger, the same set-up works (or finds the name taken). */
  g_clear_error (&error);
  if (forgery->kind == VICTIM_RENDERER)
    {
      g_autoptr(EipcRenderer) renderer = eipc_renderer_new (app_id, &error);

      g_assert_no_error (error);
      assert_renderer_works (renderer);
    }
  else
    {
      g_autoptr(EipcMain) main_process = eipc_main_new (app_id, &error);

      if (forgery->kind == VICTIM_MAIN_TAKEN)
        g_assert_error (error, EIPC_ERROR, EIPC_ERROR_NAME_TAKEN);
      else
        g_assert_no_error (error);
    }
}

/* A private bus gives DBUS_SESSION_BUS_ADDRESS back when it goes: the
 * test cases after it run on the suite's bus again. */
static void
test_private_bus_restores_address (void)
{
  g_autofree char *before = g_strdup (g_getenv ("DBUS_SESSION_BUS_ADDRESS"));
  TestPrivateBus *bus;

  g_assert_nonnull (before);
  bus = test_private_bus_start (NULL);
  g_assert_cmpstr (g_getenv ("DBUS_SESSION_BUS_ADDRESS"), ==,
                   test_private_bus_address (bus));
  test_private_bus_free (bus);
  g_assert_cmpstr (g_getenv ("DBUS_SESSION_BUS_ADDRESS"), ==, before);
}

int
main (int    argc,
      char **argv)
{
  int ret;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  test_bus_up ();

#define ADD(path, func, data) \
  g_test_add (path, Fixture, data, fixture_set_up, func, fixture_tear_down)
  ADD ("/trust/forged/attach", test_forged_attach, "Attach");
  ADD ("/trust/forged/name-owner", test_forged_attach, "GetNameOwner");
  ADD ("/trust/forged/credentials", test_forged_attach, "GetConnectionCredentials");
  ADD ("/trust/forged/invoke-result", test_forged_invoke, GINT_TO_POINTER (FALSE));
  ADD ("/trust/forged/invoke-error", test_forged_invoke, GINT_TO_POINTER (TRUE));
  ADD ("/trust/forged/send-sync-result", test_forged_send_sync, GINT_TO_POINTER (FALSE));
  ADD ("/trust/forged/send-sync-error", test_forged_send_sync, GINT_TO_POINTER (TRUE));
  ADD ("/trust/forged/flood", test_forged_flood, NULL);
  ADD ("/trust/forged/main-invoke-result", test_forged_main_invoke, GINT_TO_POINTER (FALSE));
  ADD ("/trust/forged/main-invoke-error", test_forged_main_invoke, GINT_TO_POINTER (TRUE));
  {
    static const DriverForgery taken = { VICTIM_MAIN_TAKEN, "(uint32 1,)", "RequestName", FALSE };
    static const DriverForgery taken_async = { VICTIM_MAIN_TAKEN, "(uint32 1,)", "RequestName", TRUE };
    static const DriverForgery free_name = { VICTIM_MAIN_FREE, "(uint32 3,)", "RequestName", FALSE };
    static const DriverForgery main_error = { VICTIM_MAIN_FREE, NULL, NULL, FALSE };
    static const DriverForgery renderer_error = { VICTIM_RENDERER, NULL, NULL, FALSE };
    static const DriverForgery renderer_match = { VICTIM_RENDERER, NULL, "AddMatch", FALSE };
    static const DriverForgery renderer_match_async = { VICTIM_RENDERER, NULL, "AddMatch", TRUE };

    /* RequestName alone answered "you own it" while another process
     * does, "it is taken" while it is free; serials 1..16 (AddMatch
     * first, then RequestName or GetNameOwner) answered with errors; a
     * renderer's first AddMatch alone answered with an error. */
    ADD ("/trust/forged/request-name-taken", test_forged_driver, &taken);
    ADD ("/trust/forged/request-name-taken-async", test_forged_driver, &taken_async);
    ADD ("/trust/forged/request-name-free", test_forged_driver, &free_name);
    ADD ("/trust/forged/driver-error-main", test_forged_driver, &main_error);
    ADD ("/trust/forged/driver-error-renderer", test_forged_driver, &renderer_error);
    ADD ("/trust/forged/match-error-renderer", test_forged_driver, &renderer_match);
    ADD ("/trust/forged/match-error-renderer-async", test_forged_driver, &renderer_match_async);
  }
#undef ADD
  g_test_add_data_func ("/trust/forged/send-window", GINT_TO_POINTER (FALSE),
                        test_forged_send_window);
  /* Forged errors: before the fix the send failed with the forger's. */
  g_test_add_data_func ("/trust/forged/send-window-error", GINT_TO_POINTER (TRUE),
                        test_forged_send_window);
  g_test_add_func ("/trust/forged/unresponsive", test_forged_unresponsive);
  g_test_add_func ("/trust/private-bus/restores-address", test_private_bus_restores_address);
  g_test_add_func ("/trust/decode/amplification", test_decode_amplification);
  g_test_add_func ("/trust/reattach/credentials", test_reattach_credentials);
  g_test_add ("/trust/guest/consent", Fixture, NULL, fixture_set_up,
              test_guest_consent, fixture_tear_down);

  ret = g_test_run ();
  test_bus_down ();
  return ret;
}
