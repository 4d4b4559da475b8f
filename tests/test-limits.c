/* test-limits.c: what one client can make the main process hold is bounded
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "test-common.h"

typedef struct {
  EipcMain  *main;
  GPtrArray *held;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->main = eipc_main_new (TEST_APP_ID, &error);
  g_assert_no_error (error);
  f->held = g_ptr_array_new_with_free_func (g_object_unref);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_ptr_array_unref (f->held);
  g_assert_finalize_object (f->main);
}

static void
hold (EipcEvent *event,
      gpointer   user_data)
{
  Fixture *f = user_data;

  g_ptr_array_add (f->held, g_object_ref (event));
}

static void
answer_one (EipcEvent *event,
            gpointer   user_data)
{
  eipc_event_resolve_json (event, "1", NULL);
}

static void
test_defaults (Fixture       *f,
               gconstpointer  data)
{
  g_assert_cmpuint (eipc_main_get_max_pending_calls (f->main), ==, EIPC_DEFAULT_MAX_PENDING_CALLS);
  g_assert_cmpuint (eipc_main_get_max_args_size (f->main), ==, EIPC_DEFAULT_MAX_ARGS_SIZE);
  eipc_main_set_limits (f->main, 3, 100);
  g_assert_cmpuint (eipc_main_get_max_pending_calls (f->main), ==, 3);
  g_assert_cmpuint (eipc_main_get_max_args_size (f->main), ==, 100);
  eipc_main_set_limits (f->main, 0, 0);
  g_assert_cmpuint (eipc_main_get_max_pending_calls (f->main), ==, EIPC_DEFAULT_MAX_PENDING_CALLS);
}

/* A client that floods invokes without waiting for the answers: past
 * the limit each gets LimitsExceeded at once; answering frees the room. */
static void
test_pending_calls (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *out = NULL;
  TestChild *child;
  guint refused = 0, answered = 0;
  char **lines;

  eipc_main_set_limits (f->main, 8, 0);
  eipc_main_handle (f->main, "hold", hold, f, NULL, NULL);
  eipc_main_handle (f->main, "quick", answer_one, NULL, NULL, NULL);

  for (int i = 0; i < 20; i++)
    g_ptr_array_add (args, g_strdup ("invoke-async:hold:[]"));
  g_ptr_array_add (args, g_strdup ("print:flooded"));
  g_ptr_array_add (args, g_strdup ("pending"));
  g_ptr_array_add (args, g_strdup ("sync:quick:[]"));
  g_ptr_array_add (args, NULL);
  child = test_child_spawnv ((const char **) args->pdata);

  for (int i = 0; i < 12; i++)
    {
      g_autofree char *line = test_child_expect (child, "invoke hold ! ");

      g_assert_true (g_str_has_prefix (line, "invoke hold ! org.eipc.Error.LimitsExceeded "
                                       "Too many calls in flight from :"));
      g_assert_true (g_str_has_suffix (line, " (the limit is 8)"));
    }
  while (f->held->len < 8)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (f->held->len, ==, 8);

  for (guint i = 0; i < f->held->len; i++)
    eipc_event_resolve_json (g_ptr_array_index (f->held, i), "1", NULL);
  g_ptr_array_set_size (f->held, 0);

  out = test_child_finish (child, NULL);
  lines = g_strsplit (out, "\n", -1);
  for (char **l = lines; *l != NULL; l++)
    {
      if (g_str_has_prefix (*l, "invoke hold = 1"))
        answered++;
      if (g_str_has_prefix (*l, "invoke hold ! org.eipc.Error.LimitsExceeded"))
        refused++;
    }
  g_strfreev (lines);
  g_assert_cmpuint (answered, ==, 8);
  g_assert_cmpuint (refused, ==, 12);
  /* The room is free again: a sendSync goes through. */
  g_assert_nonnull (strstr (out, "sync quick ! org.eipc.Error.NoListener"));
}

/* Arguments past the size limit: a clear error, before any parsing. */
static void
test_args_size (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *big = NULL, *small = NULL, *out = NULL;
  g_autofree char *big_cmd = NULL, *small_cmd = NULL;
  GString *s;
  int status;

  eipc_main_set_limits (f->main, 0, 1024);
  eipc_main_handle (f->main, "x", answer_one, NULL, NULL, NULL);

  s = g_string_new ("[\"");
  for (int i = 0; i < 2000; i++)
    g_string_append_c (s, 'a');
  g_string_append (s, "\"]");
  big = g_string_free (s, FALSE);
  small = g_strdup ("[\"aaaa\"]");
  big_cmd = g_strconcat ("invoke:x:", big, NULL);
  small_cmd = g_strconcat ("invoke:x:", small, NULL);

  out = test_run_renderer (&status, big_cmd, small_cmd, NULL);
  g_assert_cmpstr (out, ==,
                   "invoke x ! org.eipc.Error.LimitsExceeded The arguments are larger "
                   "than the limit of 1024 bytes\n"
                   "invoke x = 1\n"
                   "done\n");
}

/* A client that attaches thousands of times, all calls in flight at once:
 * one webContents, every call answered with its id. */
typedef struct {
  guint   pending;
  guint   refused_by_bus;
  guint   refused_by_eipc;
  guint   answered;
  guint64 id;
  gboolean mismatch;
  gboolean done;
} AttachFlood;

static void
attach_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  AttachFlood *flood = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source),
                                                             result, &error);
  g_autofree char *remote = NULL;
  guint64 id;

  flood->pending--;
  if (error != NULL)
    {
      /* dbus-daemon bounds the replies a connection may wait for
       * (max_replies_per_connection, 128 here); dbus-broker only the
       * objects of a user, all of them (--max-objects), so there eipc's
       * own bound on calls in flight may answer instead. */
      remote = g_dbus_error_get_remote_error (error);
      if (g_strcmp0 (remote, "org.eipc.Error.LimitsExceeded") == 0)
        flood->refused_by_eipc++;
      else
        {
          g_assert_cmpstr (remote, ==, "org.freedesktop.DBus.Error.LimitsExceeded");
          flood->refused_by_bus++;
        }
      return;
    }
  g_variant_get (reply, "(t&o)", &id, NULL);
  if (flood->id == 0)
    flood->id = id;
  else if (flood->id != id)
    flood->mismatch = TRUE;
  flood->answered++;
}

static gpointer
attach_flood_thread (gpointer data)
{
  AttachFlood *flood = data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GDBusConnection) c = NULL;
  g_autoptr(GError) error = NULL;

  g_main_context_push_thread_default (context);
  c = test_client_new ();
  for (int i = 0; i < 3000; i++)
    {
      flood->pending++;
      g_dbus_connection_call (c, TEST_APP_ID, "/org/eipc/Test", "org.eipc.Main1", "Attach",
                              g_variant_new_parsed ("(@a{sv} {},)"), G_VARIANT_TYPE ("(to)"),
                              G_DBUS_CALL_FLAGS_NONE, G_MAXINT, NULL, attach_done, flood);
    }
  while (flood->pending > 0)
    g_main_context_iteration (context, TRUE);
  g_dbus_connection_close_sync (c, NULL, NULL);
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
  g_atomic_int_set (&flood->done, TRUE);
  return NULL;
}

static void
test_attach_flood (Fixture       *f,
                   gconstpointer  data)
{
  AttachFlood flood = { 0 };
  GThread *thread = g_thread_new ("attach-flood", attach_flood_thread, &flood);
  g_autoptr(GPtrArray) all = NULL;

  while (!g_atomic_int_get (&flood.done))
    g_main_context_iteration (NULL, FALSE);
  g_thread_join (thread);
  g_test_message ("3000 Attach calls on %s: %u answered, %u refused by the bus, "
                  "%u by eipc", test_bus_name (), flood.answered, flood.refused_by_bus,
                  flood.refused_by_eipc);
  g_assert_cmpuint (flood.answered + flood.refused_by_bus + flood.refused_by_eipc, ==, 3000);
  if (test_bus_is_broker ())
    g_assert_cmpuint (flood.refused_by_bus, ==, 0);
  g_assert_cmpuint (flood.answered, >=, 100);
  g_assert_false (flood.mismatch);
  g_assert_cmpuint (flood.id, !=, 0);
  /* The client closed: its one webContents goes too. */
  while (eipc_main_get_web_contents (f->main, flood.id) != NULL)
    g_main_context_iteration (NULL, TRUE);
  all = eipc_main_list_web_contents (f->main);
  g_assert_cmpuint (all->len, ==, 0);
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

  ADD ("/ipc/limits/defaults", test_defaults);
  ADD ("/ipc/limits/pending-calls", test_pending_calls);
  ADD ("/ipc/limits/args-size", test_args_size);
  ADD ("/ipc/limits/attach-flood", test_attach_flood);

  ret = g_test_run ();
  test_bus_down ();
  return ret;
}
