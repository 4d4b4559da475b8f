/* eipc-demo-main.c: the demo's main process (Electron's ipcMain)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Usage: eipc-demo-main [--address=ADDR] [--app=ID] [--exit-after-renderers=N]
 *
 * Owns the app name org.eipc.Demo on the session bus (or on the bus at
 * ADDR) and serves:
 *
 *   invoke    ping        resolves "pong"
 *   invoke    add         resolves the sum of its numeric arguments
 *   invoke    fail        rejects with "boom"
 *   sendSync  echo-sync   returns its arguments array
 *   send      log         prints the message and who sent it
 *   send      hello       answers with event.reply on hello-reply, sends
 *                         the ids of the renderers attached before it on
 *                         peers (webContents.send) and invokes the
 *                         renderer's own get-title handler
 *
 * When a second renderer attaches it broadcasts on news. It prints every
 * attach and every destroyed webContents. It runs until SIGINT or
 * SIGTERM or, with --exit-after-renderers=N, until N renderers have come
 * and gone. Every line it prints starts with "main:".
 */

#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>

#include <eipc/eipc.h>

#define DEMO_APP_ID "org.eipc.Demo"

typedef struct {
  EipcMain  *main;
  GMainLoop *loop;
  guint      exit_after;   /* 0: run until SIGINT/SIGTERM */
  guint      gone;         /* renderers that came and went */
  int        status;
} Demo;

/* "webContents 3", or "a client that never attached (:1.9)" for a plain
 * D-Bus client such as busctl: its sender id is 0. */
static char *
describe_sender (EipcEvent *event)
{
  if (eipc_event_get_sender (event) != NULL)
    return g_strdup_printf ("webContents %" G_GUINT64_FORMAT,
                            eipc_event_get_sender_id (event));
  return g_strdup_printf ("a client that never attached (%s)",
                          eipc_event_get_sender_name (event));
}

static void
print_event (EipcEvent *event)
{
  static const char *kinds[] = {
    "send", "invoke", "sendSync", "sendTo", "sendToHost", "broadcast",
  };
  g_autofree char *sender = describe_sender (event);

  printf ("main: %s '%s' from %s: %s\n", kinds[eipc_event_get_kind (event)],
          eipc_event_get_channel (event), sender, eipc_event_get_args_json (event));
}

/* ipcMain.handle('ping', () => 'pong') */
static void
handle_ping (EipcEvent *event,
             gpointer   user_data)
{
  print_event (event);
  eipc_event_resolve_json (event, "\"pong\"", NULL);
}

/* ipcMain.handle('add', (e, ...n) => n.reduce((a, b) => a + b, 0)) */
static void
handle_add (EipcEvent *event,
            gpointer   user_data)
{
  JsonArray *args = eipc_event_get_args (event);
  g_autoptr(JsonNode) sum_node = json_node_new (JSON_NODE_VALUE);
  double sum = 0;

  print_event (event);
  for (guint i = 0; i < json_array_get_length (args); i++)
    {
      JsonNode *node = json_array_get_element (args, i);
      GType type = json_node_get_value_type (node);

      if (!JSON_NODE_HOLDS_VALUE (node) ||
          (type != G_TYPE_INT64 && type != G_TYPE_DOUBLE))
        {
          /* Rejecting is how a handler throws. */
          eipc_event_reject (event, "add takes numbers only");
          return;
        }
      sum += json_node_get_double (node);
    }

  /* Whole sums come back as integers, as JavaScript prints them. */
  if (sum == (double) (gint64) sum && sum > -1e15 && sum < 1e15)
    json_node_set_int (sum_node, (gint64) sum);
  else
    json_node_set_double (sum_node, sum);
  eipc_event_resolve (event, sum_node);
}

/* ipcMain.handle('fail', () => { throw new Error('boom') }): the caller
 * sees "Error invoking remote method 'fail': Error: boom". */
static void
handle_fail (EipcEvent *event,
             gpointer   user_data)
{
  print_event (event);
  eipc_event_reject (event, "boom");
}

/* ipcMain.on('echo-sync', e => { e.returnValue = args }) */
static void
on_echo_sync (EipcEvent *event,
              gpointer   user_data)
{
  g_autoptr(GError) error = NULL;

  print_event (event);
  if (eipc_event_get_kind (event) != EIPC_EVENT_SEND_SYNC)
    return;   /* a plain send: nobody waits for a value */
  if (!eipc_event_set_return_value_json (event, eipc_event_get_args_json (event),
                                         &error))
    printf ("main: cannot answer echo-sync: %s\n", error->message);
}

/* ipcMain.on('log', ...): one-way messages. */
static void
on_log (EipcEvent *event,
        gpointer   user_data)
{
  print_event (event);
  if (eipc_event_get_kind (event) == EIPC_EVENT_SEND_SYNC)
    eipc_event_set_return_value_json (event, "null", NULL);
}

/* The main process invokes a handler of the renderer (eipc_renderer_handle
 * on the other side): the result or the error comes back here. */
static void
get_title_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  EipcWebContents *wc = EIPC_WEB_CONTENTS (source);
  g_autoptr(GError) error = NULL;
  /* Only printed: the result as text, no JsonNode tree. */
  g_autofree char *title = eipc_web_contents_invoke_finish_json (wc, result, &error);

  if (title != NULL)
    printf ("main: webContents %" G_GUINT64_FORMAT " answered get-title: %s\n",
            eipc_web_contents_get_id (wc), title);
  else
    printf ("main: invoking get-title on webContents %" G_GUINT64_FORMAT
            " failed: %s\n", eipc_web_contents_get_id (wc), error->message);
}

/* ipcMain.on('hello', e => { e.reply(...); e.sender.send(...); }) */
static void
on_hello (EipcEvent *event,
          gpointer   user_data)
{
  Demo *demo = user_data;
  EipcWebContents *sender = eipc_event_get_sender (event);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *greeting = NULL;
  g_autofree char *peers = NULL;

  print_event (event);
  if (eipc_event_get_kind (event) == EIPC_EVENT_SEND_SYNC)
    eipc_event_set_return_value_json (event, "null", NULL);

  /* event.reply: back to the sender, on another channel. A client that
   * never attached has no webContents to reply to: this fails. */
  greeting = g_strdup_printf ("[\"hello, webContents %" G_GUINT64_FORMAT "\"]",
                              eipc_event_get_sender_id (event));
  if (!eipc_event_reply_json (event, "hello-reply", greeting, &error))
    {
      printf ("main: cannot reply: %s\n", error->message);
      return;
    }

  /* webContents.send: the ids of the renderers attached before this one,
   * which it may reach with sendTo. Only those: one that attaches while
   * this hello is on its way would be listed or not depending on timing. */
  all = eipc_main_list_web_contents (demo->main);
  builder = json_builder_new ();
  json_builder_begin_array (builder);   /* the arguments */
  json_builder_begin_array (builder);   /* the first one: a list of ids */
  for (guint i = 0; i < all->len; i++)
    {
      EipcWebContents *wc = g_ptr_array_index (all, i);

      if (eipc_web_contents_get_id (wc) < eipc_web_contents_get_id (sender))
        json_builder_add_int_value (builder, (gint64) eipc_web_contents_get_id (wc));
    }
  json_builder_end_array (builder);
  json_builder_end_array (builder);
  root = json_builder_get_root (builder);
  peers = json_to_string (root, FALSE);
  if (!eipc_web_contents_send_json (sender, "peers", peers, &error))
    printf ("main: cannot send peers: %s\n", error->message);
  g_clear_error (&error);

  /* And ask the renderer something: main-to-renderer invoke. */
  eipc_web_contents_invoke_json (sender, "get-title", "[]", NULL,
                                 get_title_done, NULL);
}

static void
on_destroyed (EipcWebContents *wc,
              const char      *reason,
              gpointer         user_data)
{
  Demo *demo = user_data;

  demo->gone++;
  printf ("main: webContents %" G_GUINT64_FORMAT " destroyed (%s)\n",
          eipc_web_contents_get_id (wc), reason);
  if (demo->exit_after != 0 && demo->gone == demo->exit_after)
    {
      printf ("main: %u renderers came and went, exiting\n", demo->gone);
      g_main_loop_quit (demo->loop);
    }
}

/* webContents.postMessage('port', {peer: ID}, [port]) to each of two
 * renderers, with the two ends of one channel. */
static void
link_renderers (EipcWebContents *a,
                EipcWebContents *b)
{
  g_autoptr(EipcMessageChannel) channel = eipc_message_channel_new ();
  g_autoptr(GPtrArray) one = g_ptr_array_new ();
  g_autoptr(GPtrArray) two = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *to_a = g_strdup_printf ("{\"peer\":%" G_GUINT64_FORMAT "}",
                                           eipc_web_contents_get_id (b));
  g_autofree char *to_b = g_strdup_printf ("{\"peer\":%" G_GUINT64_FORMAT "}",
                                           eipc_web_contents_get_id (a));

  g_ptr_array_add (one, eipc_message_channel_get_port1 (channel));
  g_ptr_array_add (two, eipc_message_channel_get_port2 (channel));
  printf ("main: linking webContents %" G_GUINT64_FORMAT " and %" G_GUINT64_FORMAT
          " with a message channel\n",
          eipc_web_contents_get_id (a), eipc_web_contents_get_id (b));
  if (!eipc_web_contents_post_message_json (a, "port", to_a, one, &error) ||
      !eipc_web_contents_post_message_json (b, "port", to_b, two, &error))
    printf ("main: cannot post a port: %s\n", error->message);
}

static void
on_attached (EipcMain        *main,
             EipcWebContents *wc,
             gpointer         user_data)
{
  Demo *demo = user_data;
  g_autoptr(GPtrArray) all = eipc_main_list_web_contents (main);
  g_autoptr(GError) error = NULL;
  guint64 host = eipc_web_contents_get_host_id (wc);
  g_autofree char *guest = host != 0
    ? g_strdup_printf (", guest of webContents %" G_GUINT64_FORMAT, host)
    : g_strdup ("");

  printf ("main: webContents %" G_GUINT64_FORMAT " attached (%s, pid %u%s) at %s\n",
          eipc_web_contents_get_id (wc), eipc_web_contents_get_unique_name (wc),
          eipc_web_contents_get_process_id (wc), guest,
          eipc_web_contents_get_object_path (wc));
  g_signal_connect (wc, "destroyed", G_CALLBACK (on_destroyed), demo);
  /* The demo's renderers may embed guests (webviews): the host renderer
   * of run-demo.sh does. Without this, guests are refused. */
  eipc_web_contents_set_allow_guests (wc, TRUE);

  /* Routing: one signal that every renderer receives. */
  if (all->len == 2)
    {
      g_autofree char *news = g_strdup_printf ("[\"two renderers are attached\",[%"
                                               G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT "]]",
                                               eipc_web_contents_get_id (all->pdata[0]),
                                               eipc_web_contents_get_id (all->pdata[1]));

      printf ("main: broadcast on news: %s\n", news);
      if (!eipc_main_broadcast_json (main, "news", news, &error))
        printf ("main: broadcast failed: %s\n", error->message);
      g_clear_error (&error);

      /* MessageChannelMain: one port to each renderer; they then talk
       * directly, without the main process or the bus. */
      link_renderers (all->pdata[0], all->pdata[1]);
    }
}

/* A send (a signal) that was not valid; method calls get a D-Bus error. */
static void
on_message_rejected (EipcMain     *main,
                     const char   *sender,
                     const GError *error,
                     gpointer      user_data)
{
  printf ("main: rejected a message from %s: %s\n", sender, error->message);
}

static void
on_disconnected (EipcMain *main,
                 gpointer  user_data)
{
  Demo *demo = user_data;

  printf ("main: the bus connection closed, exiting\n");
  demo->status = 1;
  g_main_loop_quit (demo->loop);
}

static gboolean
on_unix_signal (gpointer user_data)
{
  Demo *demo = user_data;

  printf ("main: got a signal, exiting\n");
  g_main_loop_quit (demo->loop);
  return G_SOURCE_CONTINUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *address = NULL;
  g_autofree char *app_id = NULL;
  int exit_after = 0;
  Demo demo = { NULL, NULL, 0, 0, 0 };
  const GOptionEntry entries[] = {
    { "address", 0, 0, G_OPTION_ARG_STRING, &address,
      "The D-Bus address of the bus (default: the session bus)", "ADDR" },
    { "app", 0, 0, G_OPTION_ARG_STRING, &app_id,
      "The app id (default: " DEMO_APP_ID ")", "ID" },
    { "exit-after-renderers", 0, 0, G_OPTION_ARG_INT, &exit_after,
      "Exit once N renderers have attached and gone away", "N" },
    G_OPTION_ENTRY_NULL
  };

  setvbuf (stdout, NULL, _IOLBF, 0);

  context = g_option_context_new ("- the eipc demo's main process");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || exit_after < 0)
    {
      fprintf (stderr, "main: %s\n", error != NULL ? error->message
                                                   : "N must not be negative");
      return 2;
    }
  demo.exit_after = (guint) exit_after;

  /* The main process owns the app name; a second one fails with
   * EIPC_ERROR_NAME_TAKEN. */
  demo.main = eipc_main_new_for_address (app_id != NULL ? app_id : DEMO_APP_ID,
                                         address, &error);
  if (demo.main == NULL)
    {
      printf ("main: cannot start: %s\n", error->message);
      return 1;
    }
  demo.loop = g_main_loop_new (NULL, FALSE);

  /* Invoke handlers: they show up in the Channels property. */
  eipc_main_handle (demo.main, "ping", handle_ping, NULL, NULL, NULL);
  eipc_main_handle (demo.main, "add", handle_add, NULL, NULL, NULL);
  eipc_main_handle (demo.main, "fail", handle_fail, NULL, NULL, NULL);

  /* Listeners: send and sendSync. */
  eipc_main_on (demo.main, "echo-sync", on_echo_sync, NULL, NULL);
  eipc_main_on (demo.main, "log", on_log, NULL, NULL);
  eipc_main_on (demo.main, "hello", on_hello, &demo, NULL);

  /* The registry of renderers. */
  g_signal_connect (demo.main, "web-contents-attached", G_CALLBACK (on_attached), &demo);
  g_signal_connect (demo.main, "message-rejected", G_CALLBACK (on_message_rejected), NULL);
  g_signal_connect (demo.main, "disconnected", G_CALLBACK (on_disconnected), &demo);

  g_unix_signal_add (SIGINT, on_unix_signal, &demo);
  g_unix_signal_add (SIGTERM, on_unix_signal, &demo);

  printf ("main: %s is ready at %s (unique name %s)\n",
          eipc_main_get_app_id (demo.main), eipc_main_get_object_path (demo.main),
          eipc_main_get_unique_name (demo.main));
  g_main_loop_run (demo.loop);

  g_clear_object (&demo.main);
  g_main_loop_unref (demo.loop);
  printf ("main: bye\n");
  return demo.status;
}
