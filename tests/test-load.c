/* test-load.c: load without loss
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Ten renderer processes each send 20,000 messages and make 2,000
 * invokes while the main process (this one) broadcasts: every message
 * arrives exactly once and in order per sender, no invoke is lost or
 * answered twice, and every renderer gets every broadcast in order.
 * EIPC_TEST_SCALE (a factor, 1 by default) shrinks the counts for slow
 * runs such as valgrind's.
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

static void
test_load (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMain) main = eipc_main_new (TEST_APP_ID, &error);
  g_autoptr(LoadMain) load = NULL;
  g_autofree char *load_cmd = NULL, *bcast_cmd = NULL, *summary = NULL;
  guint sends = scaled (SENDS), invokes = scaled (INVOKES);
  guint broadcasts = scaled (BROADCASTS);
  Renderer renderers[N_RENDERERS] = { { 0, } };
  guint64 lost = 0, dups = 0, reordered = 0, answered = 0, wrong = 0;
  guint64 bcast_lost = 0, bcast_dups = 0, bcast_reordered = 0, backoff = 0;
  LoadTotals totals;
  gint64 start;
  double elapsed;

  g_assert_no_error (error);
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

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  test_bus_up ();

  g_test_add_func ("/ipc/load/no-loss", test_load);

  ret = g_test_run ();
  test_bus_down ();
  return ret;
}
