/* eipc-test-main.c: a main process driven by its command line
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Usage: eipc-test-main [--app=ID] SETUP... ; runs until SIGTERM/SIGINT.
 * Prints "ready" once it owns the app name, "attached N" and "destroyed N".
 *
 *   handle:CH:JSON     invoke on CH resolves JSON
 *   hold:CH            invoke on CH is kept, never answered
 *   echo-sync:CH       sendSync on CH returns its arguments
 *   die-on:CH          invoke or sendSync on CH SIGKILLs this process
 */

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <eipc.h>
#include <glib-unix.h>

static GPtrArray *held;

static void
resolve_json (EipcEvent *event,
              gpointer   user_data)
{
  eipc_event_resolve_json (event, user_data, NULL);
}

static void
hold (EipcEvent *event,
      gpointer   user_data)
{
  g_ptr_array_add (held, g_object_ref (event));
  printf ("held %s\n", eipc_event_get_channel (event));
}

static void
echo_sync (EipcEvent *event,
           gpointer   user_data)
{
  eipc_event_set_return_value_json (event, eipc_event_get_args_json (event), NULL);
}

static void
die (EipcEvent *event,
     gpointer   user_data)
{
  printf ("dying on %s\n", eipc_event_get_channel (event));
  fflush (stdout);
  raise (SIGKILL);
}

static void
on_destroyed (EipcWebContents *wc,
              const char      *reason,
              gpointer         user_data)
{
  printf ("destroyed %" G_GUINT64_FORMAT "\n", eipc_web_contents_get_id (wc));
}

static void
on_attached (EipcMain        *main,
             EipcWebContents *wc,
             gpointer         user_data)
{
  printf ("attached %" G_GUINT64_FORMAT "\n", eipc_web_contents_get_id (wc));
  g_signal_connect (wc, "destroyed", G_CALLBACK (on_destroyed), NULL);
}

static gboolean
quit (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMain) main_process = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  const char *app_id = "org.eipc.Test";
  int first = 1;

  setvbuf (stdout, NULL, _IOLBF, 0);
  held = g_ptr_array_new_with_free_func (g_object_unref);
  if (argc > 1 && g_str_has_prefix (argv[1], "--app="))
    {
      app_id = argv[1] + strlen ("--app=");
      first = 2;
    }

  main_process = eipc_main_new (app_id, &error);
  if (main_process == NULL)
    {
      printf ("main ! %s\n", error->message);
      return 2;
    }
  g_signal_connect (main_process, "web-contents-attached", G_CALLBACK (on_attached), NULL);

  for (int i = first; i < argc; i++)
    {
      g_auto(GStrv) part = g_strsplit (argv[i], ":", 3);

      if (strcmp (part[0], "handle") == 0)
        eipc_main_handle (main_process, part[1], resolve_json, g_strdup (part[2]), g_free, NULL);
      else if (strcmp (part[0], "hold") == 0)
        eipc_main_handle (main_process, part[1], hold, NULL, NULL, NULL);
      else if (strcmp (part[0], "echo-sync") == 0)
        eipc_main_on (main_process, part[1], echo_sync, NULL, NULL);
      else if (strcmp (part[0], "die-on") == 0)
        {
          eipc_main_handle (main_process, part[1], die, NULL, NULL, NULL);
          eipc_main_on (main_process, part[1], die, NULL, NULL);
        }
      else
        g_error ("unknown setup '%s'", argv[i]);
    }

  g_unix_signal_add (SIGTERM, quit, loop);
  g_unix_signal_add (SIGINT, quit, loop);
  printf ("ready\n");
  g_main_loop_run (loop);
  g_ptr_array_unref (held);
  printf ("bye\n");
  return 0;
}
