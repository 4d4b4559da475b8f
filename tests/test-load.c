/* test-load.c: load without loss
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Ten renderer processes each send 20,000 messages and make 2,000
 * invokes while the main process (this one) broadcasts: every message
 * arrives exactly once and in order per sender, no invoke is lost or
 * answered twice, and every renderer gets every broadcast in order.
 * Rounds of the same load leave the main process and the bus with no
 * more file descriptors and (outside sanitizers and valgrind) no more
 * memory than after the first (the main process; the bus's memory is
 * reported). It runs on dbus-daemon or dbus-broker, as
 * EIPC_TEST_BUS says. EIPC_TEST_SCALE (a factor, 1 by default) shrinks
 * the counts for slow runs such as valgrind's.
 */

#include <stdio.h>
#include <string.h>

#include "load-common.h"
#include "test-common.h"

#define N_RENDERERS 10
#define SENDS       20000
#define INVOKES     2000
#define BROADCASTS  2000

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

static guint
scaled (guint n)
{
  return MAX (1, (guint) (n * test_scale () + 0.5));
}

typedef struct {
  TestChild *child;
  guint64    id;
  guint      sends, invokes, answered, errors, disconnected, dup, wrong, backoff;
  guint      bcast_got, bcast_dup, bcast_reorder;
} Renderer;

static void
parse_load_line (Renderer   *r,
                 const char *line)
{
  int n = sscanf (line, "load sends=%u invokes=%u answered=%u errors=%u "
                  "disconnected=%u dup=%u wrong=%u backoff=%u",
                  &r->sends, &r->invokes, &r->answered, &r->errors,
                  &r->disconnected, &r->dup, &r->wrong, &r->backoff);

  if (n != 8)
    g_error ("cannot parse '%s'", line);
}

static void
parse_bcast_line (Renderer   *r,
                  const char *line)
{
  if (sscanf (line, "bcast got=%u dup=%u reorder=%u",
              &r->bcast_got, &r->bcast_dup, &r->bcast_reorder) != 3)
    g_error ("cannot parse '%s'", line);
}

/* One load run against @main: N_RENDERERS renderers, @sends messages
 * and @invokes invokes each, @broadcasts broadcasts; asserts that nothing
 * was lost, duplicated or reordered. */
static void
load_round (EipcMain *main,
            guint     sends,
            guint     invokes,
            guint     broadcasts)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(LoadMain) load = NULL;
  g_autofree char *load_cmd = NULL, *bcast_cmd = NULL, *summary = NULL;
  Renderer renderers[N_RENDERERS] = { { 0, } };
  guint64 lost = 0, dups = 0, reordered = 0, answered = 0, wrong = 0;
  guint64 bcast_lost = 0, bcast_dups = 0, bcast_reordered = 0, backoff = 0;
  LoadTotals totals;
  gint64 start;
  double elapsed;

  load = load_main_new (main);
  load_cmd = g_strdup_printf ("load:%u:%u", sends, invokes);
  bcast_cmd = g_strdup_printf ("bcast-wait:%u:50000", broadcasts);

  for (guint i = 0; i < N_RENDERERS; i++)
    renderers[i].child = test_child_spawn ("bcast-listen:" LOAD_BCAST_CHANNEL,
                                           "listen:go", "id", "wait:go:1",
                                           load_cmd, bcast_cmd, NULL);
  for (guint i = 0; i < N_RENDERERS; i++)
    {
      g_autofree char *line = test_child_expect (renderers[i].child, "id ");

      renderers[i].id = g_ascii_strtoull (line + 3, NULL, 10);
    }

  /* Everyone is attached and listening: go, and broadcast meanwhile. */
  start = g_get_monotonic_time ();
  g_assert_true (eipc_main_broadcast_json (main, "go", "[]", &error));
  g_assert_no_error (error);
  load_main_start_broadcast (load, broadcasts, 2, 1);

  for (guint i = 0; i < N_RENDERERS; i++)
    {
      Renderer *r = &renderers[i];
      g_autofree char *load_line = test_child_expect (r->child, "load ");
      g_autofree char *bcast_line = test_child_expect (r->child, "bcast ");
      g_autofree char *out = NULL;
      int status;

      parse_load_line (r, load_line);
      parse_bcast_line (r, bcast_line);
      out = test_child_finish (r->child, &status);
      g_assert_true (g_spawn_check_wait_status (status, NULL));
      if (strstr (out, "load-error ") != NULL)
        {
          const char *failure = strstr (out, "load-error ");

          g_test_message ("renderer %" G_GUINT64_FORMAT ": %u errors, the first: %.*s",
                          r->id, r->errors, (int) strcspn (failure, "\n"), failure);
        }
    }
  elapsed = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;

  /* The main process's view: per sender, every SEQ once, in order. */
  for (guint i = 0; i < N_RENDERERS; i++)
    {
      Renderer *r = &renderers[i];
      const LoadSender *s = load_main_lookup (load, r->id);

      g_assert_nonnull (s);
      lost += sends - MIN (s->unique, sends);
      dups += s->duplicates;
      reordered += s->reordered;
      answered += r->answered;
      wrong += r->wrong + r->dup;
      backoff += r->backoff;
      bcast_lost += broadcasts - MIN (r->bcast_got, broadcasts);
      bcast_dups += r->bcast_dup;
      bcast_reordered += r->bcast_reorder;
    }
  load_main_get_totals (load, &totals);
  summary = load_main_describe (load);

  g_test_message ("load: %u renderers x (%u sends + %u invokes), %u broadcasts, "
                  "in %.2f s", N_RENDERERS, sends, invokes, broadcasts, elapsed);
  g_test_message ("load: messages %" G_GUINT64_FORMAT "/%u, lost %" G_GUINT64_FORMAT
                  ", duplicates %" G_GUINT64_FORMAT ", reordered %" G_GUINT64_FORMAT
                  ", %.0f messages/s", totals.unique, N_RENDERERS * sends, lost,
                  dups, reordered, totals.received / elapsed);
  g_test_message ("load: invokes answered %" G_GUINT64_FORMAT "/%u, wrong or twice %"
                  G_GUINT64_FORMAT ", out of order %" G_GUINT64_FORMAT
                  ", overtaking sends %" G_GUINT64_FORMAT, answered,
                  N_RENDERERS * invokes, wrong, totals.invoke_reordered,
                  totals.cross_order);
  g_test_message ("load: broadcasts received %" G_GUINT64_FORMAT "/%u, lost %"
                  G_GUINT64_FORMAT ", duplicates %" G_GUINT64_FORMAT
                  ", reordered %" G_GUINT64_FORMAT "; sends held back by a full queue %"
                  G_GUINT64_FORMAT, (guint64) N_RENDERERS * broadcasts - bcast_lost,
                  N_RENDERERS * broadcasts, bcast_lost, bcast_dups, bcast_reordered,
                  backoff);
  g_test_message ("load: main side %s", summary);

  for (guint i = 0; i < N_RENDERERS; i++)
    {
      Renderer *r = &renderers[i];

      g_assert_cmpuint (r->sends, ==, sends);
      g_assert_cmpuint (r->invokes, ==, invokes);
      g_assert_cmpuint (r->answered, ==, invokes);
      g_assert_cmpuint (r->errors, ==, 0);
      g_assert_cmpuint (r->dup, ==, 0);
      g_assert_cmpuint (r->wrong, ==, 0);
      g_assert_cmpuint (r->bcast_got, ==, broadcasts);
      g_assert_cmpuint (r->bcast_dup, ==, 0);
      g_assert_cmpuint (r->bcast_reorder, ==, 0);
    }
  g_assert_cmpuint (totals.senders, ==, N_RENDERERS);
  g_assert_cmpuint (totals.malformed, ==, 0);
  g_assert_cmpuint (totals.received, ==, (guint64) N_RENDERERS * sends);
  g_assert_cmpuint (totals.unique, ==, (guint64) N_RENDERERS * sends);
  g_assert_cmpuint (lost, ==, 0);
  g_assert_cmpuint (dups, ==, 0);
  g_assert_cmpuint (reordered, ==, 0);
  g_assert_cmpuint (totals.invokes, ==, (guint64) N_RENDERERS * invokes);
  g_assert_cmpuint (totals.invoke_reordered, ==, 0);
  g_assert_cmpuint (totals.cross_order, ==, 0);
  g_assert_true (load_main_broadcast_done (load));
}

static void
test_load (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMain) main = eipc_main_new (TEST_APP_ID, &error);

  g_assert_no_error (error);
  g_test_message ("on %s", test_bus_name ());
  load_round (main, scaled (SENDS), scaled (INVOKES), scaled (BROADCASTS));
}

/* The open file descriptors of process @pid (0: this one), from /proc. */
static guint
count_fds (GPid pid)
{
  g_autofree char *path = pid != 0 ? g_strdup_printf ("/proc/%d/fd", (int) pid)
                                   : g_strdup ("/proc/self/fd");
  g_autoptr(GError) error = NULL;
  GDir *dir = g_dir_open (path, 0, &error);
  guint n = 0;

  g_assert_no_error (error);
  while (g_dir_read_name (dir) != NULL)
    n++;
  g_dir_close (dir);
  return n;
}

/* VmRSS of process @pid (0: this one) in KiB, from /proc. */
static guint64
rss_kib (GPid pid)
{
  g_autofree char *path = pid != 0 ? g_strdup_printf ("/proc/%d/status", (int) pid)
                                   : g_strdup ("/proc/self/status");
  g_autofree char *text = NULL;
  const char *line;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  line = strstr (text, "VmRSS:");
  g_assert_nonnull (line);
  return g_ascii_strtoull (line + strlen ("VmRSS:"), NULL, 10);
}

/* Rounds of load against one main process: after the first (which warms
 * caches and pools up), neither the main process nor the bus (dbus-daemon
 * or dbus-broker) holds more file descriptors, and their memory stays
 * within a small margin. */
static void
test_no_growth (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMain) main = eipc_main_new (TEST_APP_ID, &error);
  GPid bus = test_bus_pid ();
  guint sends = scaled (SENDS / 10), invokes = scaled (INVOKES / 10);
  guint broadcasts = scaled (BROADCASTS / 10);
  guint fds, bus_fds;
  guint64 rss, bus_rss;
  /* Sanitizers and valgrind keep freed memory aside: memory is their
   * job there, file descriptors are checked everywhere. */
  gboolean check_memory = g_getenv ("ASAN_OPTIONS") == NULL && test_scale () == 1.0;

  g_assert_no_error (error);
  load_round (main, sends, invokes, broadcasts);
  test_spin (200);
  fds = count_fds (0);
  bus_fds = count_fds (bus);
  rss = rss_kib (0);
  bus_rss = rss_kib (bus);

  /* The bus's memory follows the peak of its queues, which varies from
   * round to round (dbus-broker's by 20 MiB and more, when the main
   * process falls behind 10 renderers' windows): it is reported, not
   * checked. */
  for (guint round = 2; round <= 4; round++)
    {
      load_round (main, sends, invokes, broadcasts);
      test_spin (200);
      g_test_message ("%s, round %u: main process %u fds, %" G_GUINT64_FORMAT
                      " KiB (after round 1: %u, %" G_GUINT64_FORMAT "); bus %u fds, %"
                      G_GUINT64_FORMAT " KiB (%u, %" G_GUINT64_FORMAT ")",
                      test_bus_name (), round, count_fds (0), rss_kib (0), fds, rss,
                      count_fds (bus), rss_kib (bus), bus_fds, bus_rss);
      g_assert_cmpuint (count_fds (0), ==, fds);
      g_assert_cmpuint (count_fds (bus), ==, bus_fds);
      if (check_memory)
        {
          g_assert_cmpuint (rss_kib (0), <=, rss + 8 * 1024);
        }
    }
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  test_bus_up ();

  g_test_add_func ("/ipc/load/no-loss", test_load);
  g_test_add_func ("/ipc/load/no-growth", test_no_growth);

  ret = g_test_run ();
  test_bus_down ();
  return ret;
}
