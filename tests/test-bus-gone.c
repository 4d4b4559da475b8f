/* test-bus-gone.c: the bus daemon goes away
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <sys/resource.h>

#include "test-common.h"

static void
set_flag (gpointer instance,
          gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

/* CPU time the process spends while its loop runs idle for @ms. */
static gint64
cpu_usec_while_idle (guint ms)
{
  struct rusage before, after;

  getrusage (RUSAGE_SELF, &before);
  test_spin (ms);
  getrusage (RUSAGE_SELF, &after);
  return (after.ru_utime.tv_sec - before.ru_utime.tv_sec) * G_USEC_PER_SEC +
         (after.ru_utime.tv_usec - before.ru_utime.tv_usec) +
         (after.ru_stime.tv_sec - before.ru_stime.tv_sec) * G_USEC_PER_SEC +
         (after.ru_stime.tv_usec - before.ru_stime.tv_usec);
}

/* The main process learns it at once and then idles: a closed connection
 * must leave the poll set, or poll() reports its hang-up forever. */
static void
test_main_side (void)
{
  TestPrivateBus *bus = test_private_bus_start (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMain) main = eipc_main_new_for_address (TEST_APP_ID,
                                                        test_private_bus_address (bus),
                                                        &error);
  gboolean disconnected = FALSE;
  gint64 cpu;

  g_assert_no_error (error);
  g_signal_connect (main, "disconnected", G_CALLBACK (set_flag), &disconnected);
  test_private_bus_kill (bus);
  test_wait_for (&disconnected, 5000);

  cpu = cpu_usec_while_idle (500);
  g_test_message ("CPU time over 500 ms after the bus went: %" G_GINT64_FORMAT " us", cpu);
  g_assert_cmpint (cpu, <, 100000);
  g_assert_false (eipc_main_broadcast_json (main, "x", "[]", &error));
  g_assert_nonnull (error);
  test_private_bus_free (bus);
}

static void
test_renderer_side (void)
{
  TestPrivateBus *bus = test_private_bus_start (NULL);
  TestChild *main_child = test_main_child_spawn ("hold:slow", NULL);
  g_autofree char *ready = test_child_expect (main_child, "ready");
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcRenderer) renderer = eipc_renderer_new_for_address (TEST_APP_ID,
                                                                    test_private_bus_address (bus),
                                                                    &error);
  g_autofree char *out = NULL;
  gboolean disconnected = FALSE, exited = FALSE;
  gint64 cpu;

  g_assert_no_error (error);
  g_signal_connect (renderer, "disconnected", G_CALLBACK (set_flag), &disconnected);
  g_signal_connect (renderer, "main-exited", G_CALLBACK (set_flag), &exited);
  test_private_bus_kill (bus);
  test_wait_for (&disconnected, 5000);
  g_assert_true (exited);
  g_assert_false (eipc_renderer_is_attached (renderer));

  cpu = cpu_usec_while_idle (500);
  g_test_message ("CPU time over 500 ms after the bus went: %" G_GINT64_FORMAT " us", cpu);
  g_assert_cmpint (cpu, <, 100000);
  g_assert_false (eipc_renderer_send_json (renderer, "x", "[]", &error));
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_DISCONNECTED);

  /* The main process saw the bus go too, and exits when told. */
  test_child_terminate (main_child);
  out = test_child_finish (main_child, NULL);
  test_private_bus_free (bus);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/ipc/bus-gone/main", test_main_side);
  g_test_add_func ("/ipc/bus-gone/renderer", test_renderer_side);
  return g_test_run ();
}
