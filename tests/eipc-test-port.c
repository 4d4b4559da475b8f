/* eipc-test-port.c: the other end of a message port, in its own process
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Usage: eipc-test-port ROLE MODE, with the port's socket as fd 3; ROLE
 * is "server" or "client" (eipc_message_port_new_for_fd()). Prints
 * "ready" once the port is started, then:
 *
 *   echo   posts every message back: JSON as it came, bytes of at most
 *          1 MiB as they came, larger bytes as {"size":N,"sha256":"..."};
 *          ports that come with a message are started and echo too, and
 *          a message "close" closes the port it came on. Exits 0 when the
 *          first port closes (printing "closed").
 *   hold   starts nothing and only waits (a process that holds a port).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <eipc/eipc.h>

static GMainLoop *loop;
static GPtrArray *ports;

static void port_watch (EipcMessagePort *port);

static void
on_message (EipcMessagePort *port,
            EipcEvent       *event,
            gpointer         user_data)
{
  g_autoptr(GError) error = NULL;
  GBytes *bytes = eipc_event_get_bytes (event);
  GPtrArray *came = eipc_event_get_ports (event);

  for (guint i = 0; i < came->len; i++)
    port_watch (g_ptr_array_index (came, i));

  if (bytes != NULL)
    {
      gsize size = g_bytes_get_size (bytes);

      if (size <= 1024 * 1024)
        eipc_message_port_post_bytes (port, bytes, &error);
      else
        {
          g_autofree char *sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
          g_autofree char *json = g_strdup_printf ("{\"size\":%" G_GSIZE_FORMAT
                                                   ",\"sha256\":\"%s\"}", size, sum);

          eipc_message_port_post_message_json (port, json, NULL, &error);
        }
    }
  else if (g_strcmp0 (eipc_event_get_data_json (event), "\"close\"") == 0)
    {
      eipc_message_port_close (port);
      if (port == g_ptr_array_index (ports, 0))
        g_main_loop_quit (loop);
      return;
    }
  else
    eipc_message_port_post_message_json (port, eipc_event_get_data_json (event),
                                         NULL, &error);
  if (error != NULL)
    {
      printf ("error %s\n", error->message);
      fflush (stdout);
    }
}

static void
on_close (EipcMessagePort *port,
          gpointer         user_data)
{
  if (port == g_ptr_array_index (ports, 0))
    {
      printf ("closed\n");
      fflush (stdout);
      g_main_loop_quit (loop);
    }
}

static void
port_watch (EipcMessagePort *port)
{
  g_ptr_array_add (ports, g_object_ref (port));
  g_signal_connect (port, "message", G_CALLBACK (on_message), NULL);
  g_signal_connect (port, "close", G_CALLBACK (on_close), NULL);
  eipc_message_port_start (port);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMessagePort) port = NULL;

  if (argc != 3)
    {
      fprintf (stderr, "usage: %s server|client echo|hold\n", argv[0]);
      return 2;
    }
  loop = g_main_loop_new (NULL, FALSE);
  ports = g_ptr_array_new_with_free_func (g_object_unref);
  port = eipc_message_port_new_for_fd (3, strcmp (argv[1], "server") == 0, &error);
  if (port == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  if (strcmp (argv[2], "echo") == 0)
    port_watch (port);
  printf ("ready\n");
  fflush (stdout);
  g_main_loop_run (loop);
  g_ptr_array_unref (ports);
  g_main_loop_unref (loop);
  return 0;
}
