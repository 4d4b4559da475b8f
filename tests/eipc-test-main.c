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
 *   mark:CH            a message sent on CH prints "marked CH" (the
 *                      sender's calls before it have all been read)
 *   die-on:CH          invoke or sendSync on CH SIGKILLs this process
 *   count:CH           count the messages sent on CH; sendSync on
 *                      "count" returns how many arrived
 *   hold-sync:CH       sendSync on CH is kept, never answered
 *   count-args:CH      invoke on CH decodes its arguments and resolves
 *                      how many there are
 *   load               serve a load run (see load-common.h); prints
 *                      "load-stats ..." when it quits
 *   broadcast:N:MS     broadcast [0] .. [N-1] on "bcast", one every MS ms
 *   exit-on-disconnect quit, printing "disconnected", when the bus goes
 *   link-renderers     once two renderers attached, link them with a
 *                      channel: webContents.postMessage("link", 1, [port1])
 *                      to the first, ("link", 2, [port2]) to the second;
 *                      prints "linked" (or "link ! MESSAGE")
 */

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <eipc/eipc.h>
#include <glib-unix.h>

#include "load-common.h"

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
mark (EipcEvent *event,
      gpointer   user_data)
{
  printf ("marked %s\n", eipc_event_get_channel (event));
}

static void
count_args (EipcEvent *event,
            gpointer   user_data)
{
  JsonArray *args = eipc_event_get_args (event);
  g_autofree char *n = g_strdup_printf ("%u", args != NULL ? json_array_get_length (args) : 0);

  eipc_event_resolve_json (event, n, NULL);
}

static guint counted;

static void
count_message (EipcEvent *event,
               gpointer   user_data)
{
  counted++;
}

static void
report_count (EipcEvent *event,
              gpointer   user_data)
{
  g_autofree char *text = g_strdup_printf ("%u", counted);

  eipc_event_set_return_value_json (event, text, NULL);
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

static GPtrArray *to_link;

static void
link_attached (EipcMain        *main,
               EipcWebContents *wc,
               gpointer         user_data)
{
  g_autoptr(EipcMessageChannel) channel = NULL;
  g_autoptr(GPtrArray) one = g_ptr_array_new ();
  g_autoptr(GPtrArray) two = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (to_link, g_object_ref (wc));
  if (to_link->len != 2)
    return;
  channel = eipc_message_channel_new ();
  g_ptr_array_add (one, eipc_message_channel_get_port1 (channel));
  g_ptr_array_add (two, eipc_message_channel_get_port2 (channel));
  if (eipc_web_contents_post_message_json (g_ptr_array_index (to_link, 0), "link",
                                           "1", one, &error) &&
      eipc_web_contents_post_message_json (g_ptr_array_index (to_link, 1), "link",
                                           "2", two, &error))
    printf ("linked\n");
  else
    printf ("link ! %s\n", error->message);
}

static gboolean
quit (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static void
on_disconnected (EipcMain *main,
                 gpointer  user_data)
{
  printf ("disconnected\n");
  g_main_loop_quit (user_data);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMain) main_process = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(LoadMain) load = NULL;
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
      else if (strcmp (part[0], "mark") == 0)
        eipc_main_on (main_process, part[1], mark, NULL, NULL);
      else if (strcmp (part[0], "count") == 0)
        {
          eipc_main_on (main_process, part[1], count_message, NULL, NULL);
          eipc_main_on (main_process, "count", report_count, NULL, NULL);
        }
      else if (strcmp (part[0], "die-on") == 0)
        {
          eipc_main_handle (main_process, part[1], die, NULL, NULL, NULL);
          eipc_main_on (main_process, part[1], die, NULL, NULL);
        }
      else if (strcmp (part[0], "hold-sync") == 0)
        eipc_main_on (main_process, part[1], hold, NULL, NULL);
      else if (strcmp (part[0], "count-args") == 0)
        eipc_main_handle (main_process, part[1], count_args, NULL, NULL, NULL);
      else if (strcmp (part[0], "load") == 0 || strcmp (part[0], "broadcast") == 0)
        {
          if (load == NULL)
            load = load_main_new (main_process);
          if (strcmp (part[0], "broadcast") == 0)
            load_main_start_broadcast (load, (guint) g_ascii_strtoull (part[1], NULL, 10),
                                       1, (guint) g_ascii_strtoull (part[2], NULL, 10));
        }
      else if (strcmp (part[0], "link-renderers") == 0)
        {
          to_link = g_ptr_array_new_with_free_func (g_object_unref);
          g_signal_connect (main_process, "web-contents-attached",
                            G_CALLBACK (link_attached), NULL);
        }
      else if (strcmp (part[0], "exit-on-disconnect") == 0)
        g_signal_connect (main_process, "disconnected", G_CALLBACK (on_disconnected), loop);
      else
        g_error ("unknown setup '%s'", argv[i]);
    }

  g_unix_signal_add (SIGTERM, quit, loop);
  g_unix_signal_add (SIGINT, quit, loop);
  printf ("ready\n");
  g_main_loop_run (loop);
  if (load != NULL)
    {
      g_autofree char *stats = load_main_describe (load);

      printf ("load-stats %s\n", stats);
    }
  g_ptr_array_unref (held);
  g_clear_pointer (&to_link, g_ptr_array_unref);
  printf ("bye\n");
  return 0;
}
