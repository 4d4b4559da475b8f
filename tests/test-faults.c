/* test-faults.c: kill -9 of renderers, of the main process and of the bus
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each case runs on a bus of its own (test_private_bus_start: dbus-daemon,
 * or dbus-broker with EIPC_TEST_BUS=dbus-broker) so it can be killed. The random choices (which renderers die, when)
 * come from g_test_rand_int(): the seed is printed, and --seed repeats a
 * run. Afterwards no process hangs, every pending call ends with
 * EIPC_ERROR_DISCONNECTED and a message that names the cause, the
 * disconnection signals fire, and no file descriptor is left behind;
 * memory is the sanitizer and valgrind passes' job. EIPC_TEST_SCALE (a
 * factor, 1 by default) shrinks the load for slow runs.
 */

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

#include "load-common.h"
#include "test-common.h"

#define N_RENDERERS  6
#define SENDS        20000
#define INVOKES      2000
#define BROADCASTS   2000
/* A process must be gone this long after its peer died. */
#define EXIT_BOUND_MS  10000
/* A pending call must have failed this long after its peer died. */
#define QUICK_MS       5000
/* The same for a renderer killed under load: the main process learns of
 * it only after the messages queued before (up to 2,000 per renderer,
 * see eipc-test-renderer's load), slowly in a sanitized build. Still well
 * below the 25 s D-Bus call timeout. */
#define KILLED_MS      15000

static double
test_scale (void)
{
  const char *text = g_getenv ("EIPC_TEST_SCALE");
  double scale;

  if (text == NULL)
    return 1.0;
  scale = g_ascii_strtod (text, NULL);
  return scale > 0.0 && scale <= 1.0 ? scale : 1.0;
}

/* Counts, and the random times of the kills within a run. */
static guint
scaled (guint n)
{
  return MAX (1, (guint) (n * test_scale () + 0.5));
}

/* Waits until @child has exited (and was reaped); FALSE on timeout. */
static gboolean
child_wait_gone (TestChild *child,
                 guint      timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + timeout_ms * (gint64) 1000;

  while (test_child_pid (child) != NULL)
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      test_spin (10);
    }
  return TRUE;
}

static gboolean
flag_timeout (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* test_wait_for(), saying what it waited for. */
static void
wait_for (gboolean   *flag,
          guint       timeout_ms,
          const char *what)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (timeout_ms, flag_timeout, &timed_out);

  while (!*flag && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  if (!*flag)
    g_error ("timed out after %u ms waiting for %s", timeout_ms, what);
}
#define WAIT_FOR(flag, timeout_ms) wait_for ((flag), (timeout_ms), #flag)

/* The line of @out that starts with @prefix, or NULL. */
static char *
output_line (const char *out,
             const char *prefix)
{
  for (const char *p = out; p != NULL && *p != '\0'; )
    {
      const char *end = strchr (p, '\n');

      if (g_str_has_prefix (p, prefix))
        return end != NULL ? g_strndup (p, end - p) : g_strdup (p);
      p = end != NULL ? end + 1 : NULL;
    }
  return NULL;
}

typedef struct {
  guint sends, invokes, answered, errors, disconnected, dup, wrong, backoff;
} LoadLine;

static void
parse_load_line (const char *out,
                 LoadLine   *load)
{
  g_autofree char *line = output_line (out, "load ");

  if (line == NULL)
    g_error ("no load line in:\n%s", out);
  if (sscanf (line, "load sends=%u invokes=%u answered=%u errors=%u "
              "disconnected=%u dup=%u wrong=%u backoff=%u",
              &load->sends, &load->invokes, &load->answered, &load->errors,
              &load->disconnected, &load->dup, &load->wrong, &load->backoff) != 8)
    g_error ("cannot parse '%s'", line);
}

typedef struct {
  gboolean  done;
  gint64    when;
  JsonNode *result;
  GError   *error;
} Result;

static void
result_clear (Result *r)
{
  g_clear_pointer (&r->result, json_node_unref);
  g_clear_error (&r->error);
}

static void
renderer_invoke_done (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  Result *r = user_data;

  r->result = eipc_renderer_invoke_finish (EIPC_RENDERER (source), result, &r->error);
  r->when = g_get_monotonic_time ();
  r->done = TRUE;
}

static void
wc_invoke_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Result *r = user_data;

  r->result = eipc_web_contents_invoke_finish (EIPC_WEB_CONTENTS (source), result,
                                               &r->error);
  r->when = g_get_monotonic_time ();
  r->done = TRUE;
}

/* The call failed because its peer went away, and says why. */
static void
assert_disconnected (const GError *error,
                     const char   *cause1,
                     const char   *cause2)
{
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_DISCONNECTED);
  if (strstr (error->message, cause1) == NULL &&
      (cause2 == NULL || strstr (error->message, cause2) == NULL))
    g_error ("'%s' does not name the cause ('%s'%s%s)", error->message, cause1,
             cause2 != NULL ? " or " : "", cause2 != NULL ? cause2 : "");
}

static void
set_flag (gpointer instance,
          gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

static void
on_destroyed (EipcWebContents *wc,
              const char      *reason,
              gpointer         user_data)
{
  *(gboolean *) user_data = TRUE;
}

/* How often the thread-default main context wakes up in @ms when nothing
 * happens: a source that polls a dead fd makes it spin. */
static guint
count_idle_iterations (guint ms)
{
  GMainContext *context = g_main_context_ref_thread_default ();
  GSource *timeout = g_timeout_source_new (ms);
  gboolean done = FALSE;
  guint n = 0;

  g_source_set_callback (timeout, flag_timeout, &done, NULL);
  g_source_attach (timeout, context);
  while (!done)
    {
      g_main_context_iteration (context, TRUE);
      n++;
    }
  g_source_unref (timeout);
  g_main_context_unref (context);
  return n;
}

/* kill -9 of renderers at random points of a load run, served by a main
 * process in this process: the main process keeps serving, drops their
 * webContents, fails its invokes to them, and got an unbroken prefix of
 * what each sent; the other renderers lose nothing. */
typedef struct {
  TestChild       *child;
  guint64          id;
  gboolean         victim;
  guint            delay_ms;
  gboolean         killed;
  gint64           killed_at;
  EipcWebContents *wc;
  gboolean         destroyed;
  Result           held;      /* a main-to-renderer invoke the renderer holds */
} FaultRenderer;

static gboolean
kill_renderer (gpointer user_data)
{
  FaultRenderer *r = user_data;

  test_child_kill (r->child);
  r->killed_at = g_get_monotonic_time ();
  r->killed = TRUE;
  return G_SOURCE_REMOVE;
}

static void
test_renderers_killed (void)
{
  TestPrivateBus *bus = test_private_bus_start (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMain) main = eipc_main_new (TEST_APP_ID, &error);
  g_autoptr(LoadMain) load = NULL;
  g_autofree char *load_cmd = NULL, *bcast_cmd = NULL, *out = NULL, *line = NULL;
  g_autoptr(GString) victims = g_string_new (NULL);
  guint sends = scaled (SENDS), invokes = scaled (INVOKES);
  guint broadcasts = scaled (BROADCASTS);
  FaultRenderer r[N_RENDERERS] = { { 0, } };
  guint order[N_RENDERERS];
  guint n_victims;
  guint64 max_wait = 0;
  TestChild *late;
  int status;

  g_assert_no_error (error);
  load = load_main_new (main);
  load_cmd = g_strdup_printf ("load:%u:%u", sends, invokes);
  bcast_cmd = g_strdup_printf ("bcast-wait:%u:30000", broadcasts);

  /* Which renderers die, and when: at least one, never all. */
  for (guint i = 0; i < N_RENDERERS; i++)
    order[i] = i;
  for (guint i = N_RENDERERS - 1; i > 0; i--)
    {
      guint j = g_test_rand_int_range (0, i + 1), t = order[i];

      order[i] = order[j];
      order[j] = t;
    }
  n_victims = g_test_rand_int_range (1, N_RENDERERS);
  for (guint k = 0; k < n_victims; k++)
    {
      r[order[k]].victim = TRUE;
      r[order[k]].delay_ms = g_test_rand_int_range (0, scaled (2000));
    }

  /* A victim that is done before its time waits to be killed. */
  for (guint i = 0; i < N_RENDERERS; i++)
    r[i].child = test_child_spawn ("handle-hold:hold", "bcast-listen:" LOAD_BCAST_CHANNEL,
                                   "listen:go", "id", "wait:go:1", load_cmd, bcast_cmd,
                                   r[i].victim ? "sleep:100000" : NULL, NULL);
  for (guint i = 0; i < N_RENDERERS; i++)
    {
      g_autofree char *id = test_child_expect (r[i].child, "id ");

      r[i].id = g_ascii_strtoull (id + 3, NULL, 10);
      r[i].wc = g_object_ref (eipc_main_get_web_contents (main, r[i].id));
      g_signal_connect (r[i].wc, "destroyed", G_CALLBACK (on_destroyed), &r[i].destroyed);
    }
  for (guint i = 0; i < N_RENDERERS; i++)
    {
      g_autofree char *held = NULL;

      if (!r[i].victim)
        continue;
      eipc_web_contents_invoke_json (r[i].wc, "hold", "[]", NULL, wc_invoke_done, &r[i].held);
      held = test_child_expect (r[i].child, "held hold");
    }

  g_assert_true (eipc_main_broadcast_json (main, "go", "[]", &error));
  g_assert_no_error (error);
  load_main_start_broadcast (load, broadcasts, 2, 1);
  for (guint i = 0; i < N_RENDERERS; i++)
    if (r[i].victim)
      g_timeout_add (r[i].delay_ms, kill_renderer, &r[i]);

  /* The others finish their run without a loss. */
  for (guint i = 0; i < N_RENDERERS; i++)
    {
      const LoadSender *s;
      LoadLine l;
      g_autofree char *bcast = NULL;
      guint got, dup, reorder;

      if (r[i].victim)
        continue;
      g_clear_pointer (&line, g_free);
      line = test_child_expect (r[i].child, "bcast ");
      g_assert_true (child_wait_gone (r[i].child, EXIT_BOUND_MS));
      g_clear_pointer (&out, g_free);
      out = test_child_finish (r[i].child, &status);
      g_assert_true (g_spawn_check_wait_status (status, NULL));
      parse_load_line (out, &l);
      g_assert_cmpuint (l.sends, ==, sends);
      g_assert_cmpuint (l.answered, ==, invokes);
      g_assert_cmpuint (l.errors, ==, 0);
      g_assert_cmpuint (l.dup + l.wrong, ==, 0);
      g_assert_cmpint (sscanf (line, "bcast got=%u dup=%u reorder=%u", &got, &dup, &reorder), ==, 3);
      g_assert_cmpuint (got, ==, broadcasts);
      g_assert_cmpuint (dup + reorder, ==, 0);
      s = load_main_lookup (load, r[i].id);
      g_assert_nonnull (s);
      g_assert_cmpuint (s->unique, ==, sends);
      g_assert_cmpuint (s->duplicates + s->reordered, ==, 0);
      g_assert_cmpuint (s->invokes, ==, invokes);
      g_assert_cmpuint (s->invoke_reordered + s->cross_order, ==, 0);
    }

  /* The victims: gone at once, their webContents destroyed, the invoke
   * they held failed, and what they sent arrived without a gap. */
  for (guint i = 0; i < N_RENDERERS; i++)
    {
      const LoadSender *s;
      guint64 unique = 0;

      if (!r[i].victim)
        continue;
      WAIT_FOR (&r[i].killed, 30000);
      g_assert_true (child_wait_gone (r[i].child, EXIT_BOUND_MS));
      g_clear_pointer (&out, g_free);
      out = test_child_finish (r[i].child, &status);
      g_assert_false (g_spawn_check_wait_status (status, NULL));
      WAIT_FOR (&r[i].destroyed, KILLED_MS);
      WAIT_FOR (&r[i].held.done, KILLED_MS);
      g_assert_null (r[i].held.result);
      assert_disconnected (r[i].held.error, "left the bus", "disconnected");
      g_assert_cmpint (r[i].held.when - r[i].killed_at, <, KILLED_MS * 1000);
      max_wait = MAX (max_wait, (guint64) (r[i].held.when - r[i].killed_at));
      g_assert_null (eipc_main_get_web_contents (main, r[i].id));

      s = load_main_lookup (load, r[i].id);
      if (s != NULL)
        {
          g_assert_cmpuint (s->duplicates + s->reordered, ==, 0);
          g_assert_cmpint ((gint64) s->unique, ==, s->last + 1);
          g_assert_cmpuint (s->invoke_reordered + s->cross_order, ==, 0);
          unique = s->unique;
        }
      g_string_append_printf (victims, "%s#%" G_GUINT64_FORMAT " at %u ms after "
                              "%" G_GUINT64_FORMAT " sends (%s)",
                              victims->len > 0 ? ", " : "", r[i].id,
                              r[i].delay_ms, unique, r[i].held.error->message);
    }
  g_test_message ("killed %u of %u renderers: %s; their pending invokes failed "
                  "within %" G_GUINT64_FORMAT " ms", n_victims, N_RENDERERS,
                  victims->str, max_wait / 1000);

  /* The main process still serves. */
  late = test_child_spawn ("load:10:2", NULL);
  g_clear_pointer (&line, g_free);
  line = test_child_expect (late, "load ");
  g_assert_true (g_str_has_prefix (line, "load sends=10 invokes=2 answered=2 errors=0 "));
  g_clear_pointer (&out, g_free);
  out = test_child_finish (late, NULL);

  for (guint i = 0; i < N_RENDERERS; i++)
    {
      result_clear (&r[i].held);
      g_object_unref (r[i].wc);
    }
  g_clear_pointer (&load, load_main_free);
  g_assert_finalize_object (g_steal_pointer (&main));
  test_private_bus_free (bus);
}

/* kill -9 of the main process (a child) at a random point of a load run:
 * every renderer notices at once, its pending invokes fail with a clear
 * error, later calls fail at once, and every renderer process ends. */
static void
test_main_killed (void)
{
  TestPrivateBus *bus = test_private_bus_start (NULL);
  TestChild *main_child = test_main_child_spawn ("load", "hold:hold", "broadcast:1000000:1",
                                                 NULL);
  g_autofree char *ready = test_child_expect (main_child, "ready");
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcRenderer) renderer = NULL;
  g_autofree char *load_cmd = NULL, *out = NULL;
  g_autoptr(GString) figures = g_string_new (NULL);
  TestChild *children[N_RENDERERS];
  Result held[3] = { { 0, } }, late = { 0, };
  gboolean exited = FALSE, disconnected = FALSE;
  guint delay;
  gint64 killed_at;
  int status;

  renderer = eipc_renderer_new (TEST_APP_ID, &error);
  g_assert_no_error (error);
  g_signal_connect (renderer, "main-exited", G_CALLBACK (set_flag), &exited);
  g_signal_connect (renderer, "disconnected", G_CALLBACK (set_flag), &disconnected);
  for (guint i = 0; i < G_N_ELEMENTS (held); i++)
    eipc_renderer_invoke_json (renderer, "hold", "[]", NULL, renderer_invoke_done, &held[i]);

  load_cmd = g_strdup_printf ("load:%u:%u", scaled (SENDS), scaled (INVOKES));
  for (guint i = 0; i < N_RENDERERS; i++)
    children[i] = test_child_spawn ("bcast-listen:" LOAD_BCAST_CHANNEL, "id",
                                    "invoke-async:hold:[]", load_cmd,
                                    "bcast-wait:100000000:60000", "pending", NULL);
  for (guint i = 0; i < N_RENDERERS; i++)
    {
      g_autofree char *id = test_child_expect (children[i], "id ");
    }
  for (guint i = 0; i < G_N_ELEMENTS (held) + N_RENDERERS; i++)
    {
      g_autofree char *line = test_child_expect (main_child, "held hold");
    }

  delay = g_test_rand_int_range (0, scaled (1500));
  test_spin (delay);
  test_child_kill (main_child);
  killed_at = g_get_monotonic_time ();

  /* This process's renderer: its calls failed, it knows. */
  for (guint i = 0; i < G_N_ELEMENTS (held); i++)
    {
      WAIT_FOR (&held[i].done, QUICK_MS);
      g_assert_null (held[i].result);
      assert_disconnected (held[i].error, "main process exited", "disconnected");
      g_assert_cmpint (held[i].when - killed_at, <, QUICK_MS * 1000);
    }
  WAIT_FOR (&exited, QUICK_MS);
  g_assert_false (eipc_renderer_is_attached (renderer));
  g_assert_false (eipc_renderer_send_json (renderer, "load", "[0]", &error));
  assert_disconnected (error, "main process", NULL);
  g_clear_error (&error);
  eipc_renderer_invoke_json (renderer, "hold", "[]", NULL, renderer_invoke_done, &late);
  WAIT_FOR (&late.done, QUICK_MS);
  assert_disconnected (late.error, "main process", NULL);
  /* The bus is still there. */
  g_assert_false (disconnected);

  out = test_child_finish (main_child, &status);
  g_assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);

  for (guint i = 0; i < N_RENDERERS; i++)
    {
      g_autofree char *child_out = NULL, *invoke = NULL, *bcast = NULL;
      guint got, dup, reorder;
      LoadLine l;

      g_assert_true (child_wait_gone (children[i], EXIT_BOUND_MS));
      child_out = test_child_finish (children[i], &status);
      g_assert_true (g_spawn_check_wait_status (status, NULL));
      g_assert_nonnull (strstr (child_out, "\nmain-exited\n"));
      g_assert_nonnull (strstr (child_out, "\ndone\n"));
      invoke = output_line (child_out, "invoke hold ");
      g_assert_nonnull (invoke);
      g_assert_true (g_str_has_prefix (invoke, "invoke hold ! org.eipc.Error.Disconnected "));
      parse_load_line (child_out, &l);
      /* Whatever failed, failed for the one right reason. */
      g_assert_cmpuint (l.errors, ==, l.disconnected);
      g_assert_cmpuint (l.dup + l.wrong, ==, 0);
      bcast = output_line (child_out, "bcast ");
      g_assert_cmpint (sscanf (bcast, "bcast got=%u dup=%u reorder=%u", &got, &dup, &reorder), ==, 3);
      g_assert_cmpuint (dup, ==, 0);
      /* It joined a broadcast in progress: the first one it saw is not 0. */
      g_assert_cmpuint (reorder, <=, 1);
      g_string_append_printf (figures, "%s%u sends, %u/%u invokes answered, %u failed",
                              figures->len > 0 ? "; " : "", l.sends, l.answered,
                              l.invokes, l.errors);
    }
  g_test_message ("main killed %u ms into the run: %s; in-process calls failed with '%s'",
                  delay, figures->str, held[0].error->message);

  for (guint i = 0; i < G_N_ELEMENTS (held); i++)
    result_clear (&held[i]);
  result_clear (&late);
  g_assert_finalize_object (g_steal_pointer (&renderer));
  test_private_bus_free (bus);
}

/* The bus daemon goes away (kill -9) during a load run: the main process
 * and every renderer notice, in this process and in children; every
 * pending call, both ways, fails with a clear error; the children exit;
 * nothing spins on the dead connection. */
typedef struct {
  GMutex     lock;
  gboolean   disconnected;
  LoadMain  *load;
  GPtrArray *held;          /* invokes the main process holds */
  guint      calls;         /* main-to-renderer invokes started */
  guint      calls_done;
  GPtrArray *call_errors;   /* their GErrors */
  guint      broadcasts;
  guint      iterations;
  gboolean   late_resolved;
  guint      n_held_sync;
} BusMain;

static void
bus_main_disconnected (EipcMain *main,
                       gpointer  user_data)
{
  BusMain *state = user_data;

  g_mutex_lock (&state->lock);
  state->disconnected = TRUE;
  g_mutex_unlock (&state->lock);
}

static void
bus_main_hold (EipcEvent *event,
               gpointer   user_data)
{
  BusMain *state = user_data;

  g_ptr_array_add (state->held, g_object_ref (event));
}

static void
bus_main_setup (EipcMain *main,
                gpointer  user_data)
{
  BusMain *state = user_data;

  g_signal_connect (main, "disconnected", G_CALLBACK (bus_main_disconnected), state);
  state->load = load_main_new (main);
  eipc_main_handle (main, "hold", bus_main_hold, state, NULL, NULL);
  eipc_main_on (main, "hold-sync", bus_main_hold, state, NULL);
}

static void
bus_main_count_held (EipcMain *main,
                     gpointer  user_data)
{
  BusMain *state = user_data;

  state->n_held_sync = 0;
  for (guint i = 0; i < state->held->len; i++)
    if (eipc_event_get_kind (g_ptr_array_index (state->held, i)) == EIPC_EVENT_SEND_SYNC)
      state->n_held_sync++;
}

static void
bus_main_call_done (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  BusMain *state = user_data;
  GError *error = NULL;
  g_autoptr(JsonNode) node = eipc_web_contents_invoke_finish (EIPC_WEB_CONTENTS (source),
                                                              result, &error);

  g_mutex_lock (&state->lock);
  state->calls_done++;
  if (error != NULL)
    g_ptr_array_add (state->call_errors, error);
  g_mutex_unlock (&state->lock);
}

/* In the main process's thread: invoke "hold-r" of every renderer, go. */
static void
bus_main_start (EipcMain *main,
                gpointer  user_data)
{
  BusMain *state = user_data;
  g_autoptr(GPtrArray) all = eipc_main_list_web_contents (main);

  for (guint i = 0; i < all->len; i++)
    {
      eipc_web_contents_invoke_json (g_ptr_array_index (all, i), "hold-r", "[]", NULL,
                                     bus_main_call_done, state);
      state->calls++;
    }
  g_assert_true (eipc_main_broadcast_json (main, "go", "[]", NULL));
  load_main_start_broadcast (state->load, state->broadcasts, 2, 1);
}

/* In the main process's thread, after the bus died. */
static void
bus_main_after (EipcMain *main,
                gpointer  user_data)
{
  BusMain *state = user_data;

  /* Its broadcast timer would count. */
  g_clear_pointer (&state->load, load_main_free);
  state->iterations = count_idle_iterations (300);
  /* Answering now fails quietly: nobody can hear it. */
  for (guint i = 0; i < state->held->len; i++)
    eipc_event_resolve_json (g_ptr_array_index (state->held, i), "1", NULL);
  state->late_resolved = TRUE;
  g_ptr_array_set_size (state->held, 0);
}

typedef struct {
  EipcRenderer *renderer;
  gboolean      main_exited;
  gboolean      disconnected;
  Result        calls[2];
  GPtrArray    *held;       /* main-to-renderer invokes it holds */
} LocalRenderer;

static void
local_hold (EipcEvent *event,
            gpointer   user_data)
{
  LocalRenderer *l = user_data;

  g_ptr_array_add (l->held, g_object_ref (event));
}

static void
test_bus_killed (void)
{
  TestPrivateBus *bus = test_private_bus_start (NULL);
  BusMain state = { 0, };
  TestMainThread *thread;
  LocalRenderer local[2] = { { 0, } };
  TestChild *children[N_RENDERERS - 2];
  TestChild *other_main, *blocked;
  g_autofree char *load_cmd = NULL, *ready = NULL, *sync_line = NULL;
  g_autoptr(GString) figures = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  guint delay, iterations;
  gint64 killed_at;

  g_mutex_init (&state.lock);
  state.held = g_ptr_array_new_with_free_func (g_object_unref);
  state.call_errors = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  state.broadcasts = scaled (BROADCASTS);
  thread = test_main_thread_start (TEST_APP_ID, bus_main_setup, &state);

  /* Another app's main process, in a child, on the same bus. */
  other_main = test_main_child_spawn ("--app=org.eipc.Test.Other", "exit-on-disconnect", NULL);
  ready = test_child_expect (other_main, "ready");

  for (guint i = 0; i < G_N_ELEMENTS (local); i++)
    {
      LocalRenderer *l = &local[i];

      l->held = g_ptr_array_new_with_free_func (g_object_unref);
      l->renderer = eipc_renderer_new (TEST_APP_ID, &error);
      g_assert_no_error (error);
      g_signal_connect (l->renderer, "main-exited", G_CALLBACK (set_flag), &l->main_exited);
      g_signal_connect (l->renderer, "disconnected", G_CALLBACK (set_flag), &l->disconnected);
      eipc_renderer_handle (l->renderer, "hold-r", local_hold, l, NULL, &error);
      g_assert_no_error (error);
      for (guint j = 0; j < G_N_ELEMENTS (l->calls); j++)
        eipc_renderer_invoke_json (l->renderer, "hold", "[]", NULL, renderer_invoke_done,
                                   &l->calls[j]);
    }

  load_cmd = g_strdup_printf ("load:%u:%u", scaled (SENDS), scaled (INVOKES));
  for (guint i = 0; i < G_N_ELEMENTS (children); i++)
    children[i] = test_child_spawn ("handle-hold:hold-r", "bcast-listen:" LOAD_BCAST_CHANNEL,
                                    "listen:go", "id", "invoke-async:hold:[]", "wait:go:1",
                                    load_cmd, "bcast-wait:100000000:60000", "pending",
                                    "wait-disconnected", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (children); i++)
    {
      g_autofree char *id = test_child_expect (children[i], "id ");
    }

  /* A renderer blocked in sendSync. */
  blocked = test_child_spawn ("id", "sync:hold-sync:[]", NULL);
  while (state.n_held_sync == 0)
    {
      test_spin (10);
      test_main_thread_call (thread, bus_main_count_held, &state);
    }

  test_main_thread_call (thread, bus_main_start, &state);
  for (guint i = 0; i < G_N_ELEMENTS (children); i++)
    {
      g_autofree char *held = test_child_expect (children[i], "held hold-r");
    }
  while (local[0].held->len == 0 || local[1].held->len == 0)
    g_main_context_iteration (NULL, TRUE);

  delay = g_test_rand_int_range (0, scaled (1500));
  test_spin (delay);
  test_private_bus_kill (bus);
  killed_at = g_get_monotonic_time ();

  /* Renderers in this process. */
  for (guint i = 0; i < G_N_ELEMENTS (local); i++)
    {
      LocalRenderer *l = &local[i];
      Result late = { 0, };

      for (guint j = 0; j < G_N_ELEMENTS (l->calls); j++)
        {
          WAIT_FOR (&l->calls[j].done, QUICK_MS);
          g_assert_null (l->calls[j].result);
          assert_disconnected (l->calls[j].error, "bus", NULL);
          g_assert_cmpint (l->calls[j].when - killed_at, <, QUICK_MS * 1000);
        }
      WAIT_FOR (&l->main_exited, QUICK_MS);
      WAIT_FOR (&l->disconnected, QUICK_MS);
      g_assert_false (eipc_renderer_is_attached (l->renderer));
      g_assert_false (eipc_renderer_send_json (l->renderer, "load", "[0]", &error));
      assert_disconnected (error, "bus", NULL);
      g_clear_error (&error);
      eipc_renderer_invoke_json (l->renderer, "hold", "[]", NULL, renderer_invoke_done, &late);
      WAIT_FOR (&late.done, QUICK_MS);
      assert_disconnected (late.error, "bus", NULL);
      result_clear (&late);
      /* Answering the main process now fails quietly. */
      for (guint j = 0; j < l->held->len; j++)
        eipc_event_resolve_json (g_ptr_array_index (l->held, j), "1", NULL);
    }
  iterations = count_idle_iterations (300);

  /* The main process, in its thread. */
  test_main_thread_call (thread, bus_main_after, &state);
  g_mutex_lock (&state.lock);
  g_assert_true (state.disconnected);
  /* Every renderer: the children, this process's, the one in sendSync. */
  g_assert_cmpuint (state.calls, ==, G_N_ELEMENTS (children) + G_N_ELEMENTS (local) + 1);
  g_assert_cmpuint (state.calls_done, ==, state.calls);
  g_assert_cmpuint (state.call_errors->len, ==, state.calls);
  for (guint i = 0; i < state.call_errors->len; i++)
    assert_disconnected (g_ptr_array_index (state.call_errors, i), "bus", NULL);
  g_mutex_unlock (&state.lock);
  g_assert_true (state.late_resolved);

  /* Children: the other main process and the renderers all end. */
  g_assert_true (child_wait_gone (blocked, EXIT_BOUND_MS));
  {
    int status;
    g_autofree char *out = test_child_finish (blocked, &status);

    g_assert_true (g_spawn_check_wait_status (status, NULL));
    sync_line = output_line (out, "sync hold-sync ");
    g_assert_nonnull (sync_line);
    g_assert_true (g_str_has_prefix (sync_line, "sync hold-sync ! org.eipc.Error.Disconnected "));
    g_assert_nonnull (strstr (sync_line, "bus"));
  }
  g_assert_true (child_wait_gone (other_main, EXIT_BOUND_MS));
  {
    int status;
    g_autofree char *out = test_child_finish (other_main, &status);

    g_assert_true (g_spawn_check_wait_status (status, NULL));
    g_assert_nonnull (strstr (out, "\ndisconnected\n"));
  }
  for (guint i = 0; i < G_N_ELEMENTS (children); i++)
    {
      g_autofree char *out = NULL, *invoke = NULL;
      int status;
      LoadLine l;

      g_assert_true (child_wait_gone (children[i], EXIT_BOUND_MS));
      out = test_child_finish (children[i], &status);
      g_assert_true (g_spawn_check_wait_status (status, NULL));
      g_assert_nonnull (strstr (out, "\nmain-exited\n"));
      g_assert_nonnull (strstr (out, "\ndisconnected\n"));
      g_assert_nonnull (strstr (out, "\ndone\n"));
      invoke = output_line (out, "invoke hold ");
      g_assert_nonnull (invoke);
      g_assert_true (g_str_has_prefix (invoke, "invoke hold ! org.eipc.Error.Disconnected "));
      parse_load_line (out, &l);
      g_assert_cmpuint (l.errors, ==, l.disconnected);
      g_assert_cmpuint (l.dup + l.wrong, ==, 0);
      g_string_append_printf (figures, "%s%u sends, %u/%u invokes answered, %u failed",
                              figures->len > 0 ? "; " : "", l.sends, l.answered,
                              l.invokes, l.errors);
    }
  g_test_message ("bus killed %u ms into the run: %s; in-process calls failed with '%s'; "
                  "a blocked sendSync: '%s'; idle wake-ups in 300 ms afterwards: %u (test "
                  "thread), %u (main thread)", delay, figures->str,
                  local[0].calls[0].error->message, sync_line, iterations, state.iterations);
  /* A dead connection is not polled any more. */
  g_assert_cmpuint (iterations, <, 50);
  g_assert_cmpuint (state.iterations, <, 50);

  for (guint i = 0; i < G_N_ELEMENTS (local); i++)
    {
      for (guint j = 0; j < G_N_ELEMENTS (local[i].calls); j++)
        result_clear (&local[i].calls[j]);
      g_ptr_array_unref (local[i].held);
      g_assert_finalize_object (local[i].renderer);
    }
  test_main_thread_stop (thread);
  g_ptr_array_unref (state.held);
  g_ptr_array_unref (state.call_errors);
  g_mutex_clear (&state.lock);
  test_private_bus_free (bus);
}

/* No file descriptor is left behind by main processes, renderers and
 * connections made and destroyed, with calls in flight both ways, on a
 * live bus and on a bus that dies. Memory is for ASan and valgrind. */
static guint
count_fds (GString *listing)
{
  GDir *dir = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      n++;
      if (listing != NULL)
        {
          g_autofree char *path = g_build_filename ("/proc/self/fd", name, NULL);
          g_autofree char *target = g_file_read_link (path, NULL);

          g_string_append_printf (listing, " %s->%s", name, target != NULL ? target : "?");
        }
    }
  g_dir_close (dir);
  return n;
}

typedef struct {
  EipcMain  *main;          /* weak */
  GPtrArray *held;          /* in the main process's thread */
  guint      n_held;        /* held->len, for the test's thread */
  guint      calls;
  guint      calls_done;
  gboolean   disconnected;
} ChurnMain;

static void
churn_echo (EipcEvent *event,
            gpointer   user_data)
{
  eipc_event_resolve_json (event, eipc_event_get_args_json (event), NULL);
}

static void
churn_hold (EipcEvent *event,
            gpointer   user_data)
{
  ChurnMain *state = user_data;

  g_ptr_array_add (state->held, g_object_ref (event));
}

static void
churn_disconnected (EipcMain *main,
                    gpointer  user_data)
{
  ((ChurnMain *) user_data)->disconnected = TRUE;
}

static void
churn_setup (EipcMain *main,
             gpointer  user_data)
{
  ChurnMain *state = user_data;

  state->main = main;
  g_object_add_weak_pointer (G_OBJECT (main), (gpointer *) &state->main);
  eipc_main_handle (main, "echo", churn_echo, NULL, NULL, NULL);
  eipc_main_handle (main, "hold", churn_hold, state, NULL, NULL);
  g_signal_connect (main, "disconnected", G_CALLBACK (churn_disconnected), state);
}

static void
churn_call_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  ChurnMain *state = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = eipc_web_contents_invoke_finish (EIPC_WEB_CONTENTS (source),
                                                              result, &error);

  g_assert_null (node);
  g_assert_nonnull (error);
  state->calls_done++;
}

static void
churn_invoke_all (EipcMain *main,
                  gpointer  user_data)
{
  ChurnMain *state = user_data;
  g_autoptr(GPtrArray) all = eipc_main_list_web_contents (main);

  for (guint i = 0; i < all->len; i++)
    {
      eipc_web_contents_invoke_json (g_ptr_array_index (all, i), "hold-r", "[]", NULL,
                                     churn_call_done, state);
      state->calls++;
    }
}

/* A round trip to the main process's thread. */
static void
churn_sync (EipcMain *main,
            gpointer  user_data)
{
  ChurnMain *state = user_data;

  state->n_held = state->held->len;
}

static void
churn_release (EipcMain *main,
               gpointer  user_data)
{
  ChurnMain *state = user_data;

  /* Released unanswered: the callers get NoReturnValue at once. */
  g_ptr_array_set_size (state->held, 0);
}

static void
churn_hold_r (EipcEvent *event,
              gpointer   user_data)
{
  g_ptr_array_add (user_data, g_object_ref (event));
}

#define CHURN_RENDERERS 3

/* One main process in its thread, three renderers here: an invoke
 * answered, a send, an invoke held by the main process, one each way
 * held by the renderer, one cancelled; then everything goes, or the bus
 * dies first. */
static void
churn_round (gboolean kill_bus)
{
  TestPrivateBus *bus = kill_bus ? test_private_bus_start (NULL) : NULL;
  ChurnMain state = { NULL, g_ptr_array_new_with_free_func (g_object_unref), 0, 0, 0, FALSE };
  TestMainThread *thread = test_main_thread_start (TEST_APP_ID, churn_setup, &state);
  g_autoptr(GPtrArray) renderer_held = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  EipcRenderer *renderers[CHURN_RENDERERS];
  Result held[CHURN_RENDERERS] = { { 0, } }, cancelled = { 0, };
  gboolean main_done = FALSE;

  for (guint i = 0; i < CHURN_RENDERERS; i++)
    {
      g_autoptr(GError) error = NULL;
      Result echo = { 0, };

      renderers[i] = eipc_renderer_new (TEST_APP_ID, &error);
      g_assert_no_error (error);
      eipc_renderer_handle (renderers[i], "hold-r", churn_hold_r, renderer_held, NULL, &error);
      g_assert_no_error (error);
      eipc_renderer_invoke_json (renderers[i], "echo", "[1]", NULL, renderer_invoke_done, &echo);
      WAIT_FOR (&echo.done, QUICK_MS);
      g_assert_no_error (echo.error);
      result_clear (&echo);
      g_assert_true (eipc_renderer_send_json (renderers[i], "note", "[]", &error));
      eipc_renderer_invoke_json (renderers[i], "hold", "[]", NULL, renderer_invoke_done, &held[i]);
    }
  eipc_renderer_invoke_json (renderers[0], "hold", "[]", cancellable, renderer_invoke_done,
                             &cancelled);
  test_main_thread_call (thread, churn_invoke_all, &state);
  while (renderer_held->len < CHURN_RENDERERS)
    g_main_context_iteration (NULL, TRUE);
  g_cancellable_cancel (cancellable);
  WAIT_FOR (&cancelled.done, QUICK_MS);
  g_assert_error (cancelled.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  /* The renderers' connections race each other to the main process:
   * release only once it holds every call, the cancelled one too. */
  while (state.n_held < CHURN_RENDERERS + 1)
    {
      test_spin (5);
      test_main_thread_call (thread, churn_sync, &state);
    }

  if (kill_bus)
    test_private_bus_kill (bus);
  else
    test_main_thread_call (thread, churn_release, &state);
  for (guint i = 0; i < CHURN_RENDERERS; i++)
    {
      EipcError code = kill_bus ? EIPC_ERROR_DISCONNECTED : EIPC_ERROR_NO_RETURN_VALUE;

      WAIT_FOR (&held[i].done, QUICK_MS);
      g_assert_error (held[i].error, EIPC_ERROR, (gint) code);
      result_clear (&held[i]);
    }
  /* Released unanswered here too; the main process's calls end. */
  g_ptr_array_set_size (renderer_held, 0);
  while (!main_done)
    {
      test_spin (5);
      test_main_thread_call (thread, churn_sync, &state);
      main_done = state.calls_done == state.calls;
    }
  g_assert_cmpuint (state.calls, ==, CHURN_RENDERERS);
  g_assert_true (state.disconnected == kill_bus);

  result_clear (&cancelled);
  for (guint i = 0; i < CHURN_RENDERERS; i++)
    g_assert_finalize_object (renderers[i]);
  test_main_thread_call (thread, churn_release, &state);
  test_main_thread_stop (thread);
  /* The main process's object went with its thread. */
  g_assert_null (state.main);
  g_ptr_array_unref (state.held);
  if (bus != NULL)
    test_private_bus_free (bus);
}

static void
test_no_fd_leak (void)
{
  TestPrivateBus *bus = test_private_bus_start (NULL);
  g_autoptr(GString) before = g_string_new (NULL), after = g_string_new (NULL);
  guint rounds = MAX (2, scaled (20)), n0, n1, n2, n3;

  /* The first round opens what GLib keeps for good (worker thread and
   * its wakeup fd, ...). */
  churn_round (FALSE);
  n0 = count_fds (before);
  for (guint i = 0; i < rounds; i++)
    churn_round (FALSE);
  n1 = count_fds (after);
  if (n0 != n1)
    g_error ("%u fds before %u rounds, %u after:\n%s\n%s", n0, rounds, n1,
             before->str, after->str);
  test_private_bus_free (bus);

  g_string_truncate (before, 0);
  g_string_truncate (after, 0);
  n2 = count_fds (before);
  for (guint i = 0; i < 3; i++)
    churn_round (TRUE);
  n3 = count_fds (after);
  if (n2 != n3)
    g_error ("%u fds before 3 rounds with the bus killed, %u after:\n%s\n%s", n2, n3,
             before->str, after->str);
  g_test_message ("open fds: %u before and %u after %u rounds of a main process and %u "
                  "renderers; %u before and %u after 3 rounds whose bus was killed",
                  n0, n1, rounds, CHURN_RENDERERS, n2, n3);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/ipc/faults/renderers-killed", test_renderers_killed);
  g_test_add_func ("/ipc/faults/main-killed", test_main_killed);
  g_test_add_func ("/ipc/faults/bus-killed", test_bus_killed);
  g_test_add_func ("/ipc/faults/no-fd-leak", test_no_fd_leak);

  return g_test_run ();
}
