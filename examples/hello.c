/* hello.c: both sides of one ipcMain.handle / ipcRenderer.invoke.
 *   hello main   the main process: serves 'greet' until stopped
 *   hello        a renderer: invokes 'greet' with ["world"], prints the answer
 * Build: cc hello.c $(pkg-config --cflags --libs eipc-1) -o hello */
#include <eipc/eipc.h>
#include <stdio.h>
#include <string.h>

static void
greet (EipcEvent *event, gpointer user_data)   /* ipcMain.handle('greet', ...) */
{
  const char *name = json_array_get_string_element (eipc_event_get_args (event), 0);
  g_autofree char *answer = g_strdup_printf ("\"hello %s, from the main process\"", name);

  eipc_event_resolve_json (event, answer, NULL);   /* or later, or eipc_event_reject () */
}

static void
greeted (GObject *renderer, GAsyncResult *result, gpointer loop)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = eipc_renderer_invoke_finish (EIPC_RENDERER (renderer),
                                                            result, &error);
  g_autofree char *text = answer != NULL ? json_to_string (answer, FALSE) : NULL;

  printf ("%s\n", answer != NULL ? text : error->message);
  g_main_loop_quit (loop);
}

int
main (int argc, char *argv[])
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMain) main_process = NULL;
  g_autoptr(EipcRenderer) renderer = NULL;

  if (argc > 1 && strcmp (argv[1], "main") == 0)
    {   /* owns the bus name org.example.Hello on the session bus */
      main_process = eipc_main_new ("org.example.Hello", &error);
      if (main_process != NULL)
        eipc_main_handle (main_process, "greet", greet, NULL, NULL, &error);
    }
  else if ((renderer = eipc_renderer_new ("org.example.Hello", &error)) != NULL)
    eipc_renderer_invoke_json (renderer, "greet", "[\"world\"]", NULL, greeted, loop);
  if (error != NULL)
    {
      fprintf (stderr, "hello: %s\n", error->message);
      return 1;
    }
  g_main_loop_run (loop);   /* messages, answers and callbacks arrive here */
  return 0;
}
