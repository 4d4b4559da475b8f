/* eipc-demo-renderer.c: a renderer of the demo (Electron's ipcRenderer)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Usage: eipc-demo-renderer [--address=ADDR] [--app=ID] [--guest=HOSTID]
 *                           [--peer=ID] [--expect-guest] [--timeout=SECONDS]
 *
 * Attaches to the demo's main process (eipc-demo-main) and exercises
 * every kind of message, printing each step and what came back, every
 * line starting with "renderer N:" (N: its webContentsId):
 *
 *   send      log                 one-way, to the main process
 *   invoke    ping, add, fail     results and Electron's error texts
 *   invoke    a channel without a handler
 *   sendSync  echo-sync           blocks until the main process answers
 *   send      hello               the main process answers with
 *                                 event.reply (hello-reply), webContents.send
 *                                 (peers) and an invoke of this renderer's
 *                                 own get-title handler
 *   sendToHost                    with --guest=HOSTID (a webview's guest)
 *   sendTo    chat                to --peer=ID, or to the host of a guest;
 *                                 the peer answers with sendTo on chat-reply
 *                                 to the id it read from the message
 *   news                          the main process's broadcast when two
 *                                 renderers are attached
 *   port                          the main process links its two
 *                                 renderers with a message channel
 *                                 (MessageChannelMain): each gets one
 *                                 port, posts a greeting over it and
 *                                 prints the one that comes from the
 *                                 other renderer, directly, off the bus
 *                                 (optional: a renderer that gets no port,
 *                                 or no greeting within 2 s, is fine)
 *
 * With --expect-guest it also stays until a guest has sent it a host
 * message and a chat, and has been answered. It checks every answer (the
 * value or the error text of each call, the arguments and the sender id
 * of each message: hello-reply, peers, get-title, news, chat,
 * chat-reply, the host message) and
 * exits with 0 only if everything came as expected, 1 otherwise (and
 * after at most --timeout seconds, 10 by default).
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <eipc/eipc.h>

#define DEMO_APP_ID "org.eipc.Demo"

typedef struct {
  EipcRenderer *renderer;
  guint64       id;
  guint64       host;            /* our host, for a guest */
  guint64       peer;            /* whom we sendTo chat */
  guint         failures;
  gboolean      timed_out;

  /* What arrived from the main process and other renderers. */
  gboolean      got_hello_reply;
  gboolean      got_peers;
  gboolean      got_get_title;
  gboolean      got_news;
  gboolean      got_chat_reply;
  gboolean      got_host_message;
  gboolean      answered_chat;    /* our chat-reply to a peer was routed */

  /* The message port the main process linked us with, if any. */
  EipcMessagePort *port;
  guint64       port_peer;
  gboolean      got_port_message;
} Demo;

static const char *kind_names[] = {
  "send", "invoke", "sendSync", "sendTo", "sendToHost", "broadcast",
};

static void say (Demo       *demo,
                 const char *format,
                 ...) G_GNUC_PRINTF (2, 3);

static void
say (Demo       *demo,
     const char *format,
     ...)
{
  va_list ap;

  printf ("renderer %" G_GUINT64_FORMAT ": ", demo->id);
  va_start (ap, format);
  vprintf (format, ap);
  va_end (ap);
  putchar ('\n');
}

static void
print_event (Demo      *demo,
             EipcEvent *event)
{
  say (demo, "got '%s' (%s) from %s %" G_GUINT64_FORMAT ": %s",
       eipc_event_get_channel (event), kind_names[eipc_event_get_kind (event)],
       eipc_event_get_sender_id (event) == 0 ? "the main process, id"
                                             : "webContents",
       eipc_event_get_sender_id (event), eipc_event_get_args_json (event));
}

/* Checks an answer: @got (a value) or @error against what the demo main
 * process is meant to answer, @want_json or @want_error. */
static void
check (Demo        *demo,
       const char  *what,
       JsonNode    *got,
       const GError *error,
       const char  *want_json,
       const char  *want_error)
{
  if (got != NULL)
    {
      g_autofree char *text = json_to_string (got, FALSE);
      g_autoptr(JsonNode) want = want_json != NULL ? json_from_string (want_json, NULL) : NULL;

      say (demo, "%s = %s", what, text);
      if (want == NULL || !json_node_equal (got, want))
        {
          say (demo, "UNEXPECTED: wanted %s", want_json != NULL ? want_json : "an error");
          demo->failures++;
        }
    }
  else
    {
      say (demo, "%s failed: %s", what, error->message);
      if (want_error == NULL || strcmp (error->message, want_error) != 0)
        {
          say (demo, "UNEXPECTED: wanted %s", want_error != NULL ? want_error : want_json);
          demo->failures++;
        }
    }
}

/* Checks a message that arrived: its sender's id and its arguments
 * (JSON, compared as values). */
static void
check_event (Demo       *demo,
             EipcEvent  *event,
             guint64     want_sender,
             const char *want_args)
{
  g_autoptr(JsonNode) want = json_from_string (want_args, NULL);
  g_autoptr(JsonNode) got = json_node_new (JSON_NODE_ARRAY);

  json_node_set_array (got, eipc_event_get_args (event));
  if (eipc_event_get_sender_id (event) != want_sender)
    {
      say (demo, "UNEXPECTED: '%s' came from %" G_GUINT64_FORMAT ", not from %"
           G_GUINT64_FORMAT, eipc_event_get_channel (event),
           eipc_event_get_sender_id (event), want_sender);
      demo->failures++;
    }
  if (want == NULL || !json_node_equal (got, want))
    {
      say (demo, "UNEXPECTED: '%s' carried %s, not %s", eipc_event_get_channel (event),
           eipc_event_get_args_json (event), want_args);
      demo->failures++;
    }
}

/* A list of webContents ids as the main process sends them: positive,
 * each once, never @self, with @must (if not 0) among them. */
static gboolean
ids_look_right (JsonNode *node,
                guint64   self,
                guint64   must)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                                      g_free, NULL);
  gboolean found = must == 0;
  JsonArray *ids;

  if (!JSON_NODE_HOLDS_ARRAY (node))
    return FALSE;
  ids = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (ids); i++)
    {
      JsonNode *element = json_array_get_element (ids, i);
      gint64 *id;

      if (!JSON_NODE_HOLDS_VALUE (element) ||
          json_node_get_value_type (element) != G_TYPE_INT64)
        return FALSE;
      id = g_new (gint64, 1);
      *id = json_node_get_int (element);
      if (*id <= 0 || (guint64) *id == self || g_hash_table_contains (seen, id))
        {
          g_free (id);
          return FALSE;
        }
      if ((guint64) *id == must)
        found = TRUE;
      g_hash_table_add (seen, id);
    }
  return found;
}

static void
check_ok (Demo         *demo,
          const char   *what,
          gboolean      ok,
          const GError *error)
{
  if (ok)
    say (demo, "%s: ok", what);
  else
    {
      say (demo, "UNEXPECTED: %s failed: %s", what, error->message);
      demo->failures++;
    }
}

/* A message that came over the port, from the other renderer. */
static void
on_port_message (EipcMessagePort *port,
                 EipcEvent       *event,
                 gpointer         user_data)
{
  Demo *demo = user_data;

  say (demo, "over the port from webContents %" G_GUINT64_FORMAT ": %s",
       demo->port_peer, eipc_event_get_data_json (event));
  demo->got_port_message = TRUE;
}

/* webContents.postMessage('port', {peer: ID}, [port]): keep the port,
 * start it, greet the renderer at the other end. */
static void
on_port (EipcEvent *event,
         gpointer   user_data)
{
  Demo *demo = user_data;
  GPtrArray *ports = eipc_event_get_ports (event);
  JsonArray *args = eipc_event_get_args (event);
  JsonNode *message = json_array_get_length (args) == 1 ?
                      json_array_get_element (args, 0) : NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *greeting = NULL;

  if (ports->len != 1 || message == NULL || !JSON_NODE_HOLDS_OBJECT (message))
    {
      say (demo, "UNEXPECTED: a 'port' message with %u ports: %s", ports->len,
           eipc_event_get_args_json (event));
      demo->failures++;
      return;
    }
  /* A newer link replaces an older one (the main process links the two
   * renderers attached whenever there are two). */
  if (demo->port != NULL)
    {
      g_signal_handlers_disconnect_by_data (demo->port, demo);
      eipc_message_port_close (demo->port);
      g_clear_object (&demo->port);
      demo->got_port_message = FALSE;
    }
  demo->port_peer = json_object_get_int_member_with_default (json_node_get_object (message),
                                                             "peer", 0);
  demo->port = g_object_ref (g_ptr_array_index (ports, 0));
  say (demo, "got a message port from the main process, linked to webContents %"
       G_GUINT64_FORMAT, demo->port_peer);
  g_signal_connect (demo->port, "message", G_CALLBACK (on_port_message), demo);
  eipc_message_port_start (demo->port);
  greeting = g_strdup_printf ("\"hello over a port from webContents %" G_GUINT64_FORMAT "\"",
                              demo->id);
  if (!eipc_message_port_post_message_json (demo->port, greeting, NULL, &error))
    {
      say (demo, "UNEXPECTED: cannot post on the port: %s", error->message);
      demo->failures++;
    }
}

static gboolean
on_port_grace (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* The demo runs its steps one after the other: each waits here, running
 * the main context (which delivers the messages to the listeners) until
 * its answer came, or the time is up. */
static gboolean
wait_for (Demo       *demo,
          gboolean   *flag,
          const char *what)
{
  while (!*flag && !demo->timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!*flag)
    {
      say (demo, "UNEXPECTED: timed out waiting for %s", what);
      demo->failures++;
    }
  return *flag;
}

static gboolean
on_timeout (gpointer user_data)
{
  Demo *demo = user_data;

  demo->timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* An asynchronous call in flight: invoke, sendTo, sendToHost. */
typedef struct {
  gboolean  done;
  gboolean  ok;
  JsonNode *result;
  GError   *error;
} Call;

static void
call_clear (Call *call)
{
  g_clear_pointer (&call->result, json_node_unref);
  g_clear_error (&call->error);
  call->done = FALSE;
  call->ok = FALSE;
}

static void
invoke_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Call *call = user_data;

  call->result = eipc_renderer_invoke_finish (EIPC_RENDERER (source), result,
                                              &call->error);
  call->done = TRUE;
}

/* ipcRenderer.invoke(channel, ...args), awaited. */
static void
invoke (Demo       *demo,
        const char *channel,
        const char *args_json,
        const char *want_json,
        const char *want_error)
{
  g_autofree char *what = g_strdup_printf ("invoke('%s', %s)", channel, args_json);
  Call call = { 0 };

  eipc_renderer_invoke_json (demo->renderer, channel, args_json, NULL,
                             invoke_done, &call);
  if (wait_for (demo, &call.done, what))
    check (demo, what, call.result, call.error, want_json, want_error);
  call_clear (&call);
}

static void
send_to_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Call *call = user_data;

  call->ok = eipc_renderer_send_to_finish (EIPC_RENDERER (source), result,
                                           &call->error);
  call->done = TRUE;
}

static void
send_to_host_done (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Call *call = user_data;

  call->ok = eipc_renderer_send_to_host_finish (EIPC_RENDERER (source), result,
                                                &call->error);
  call->done = TRUE;
}

/* ipcRenderer.on('hello-reply'): the main process's event.reply. */
static void
on_hello_reply (EipcEvent *event,
                gpointer   user_data)
{
  Demo *demo = user_data;
  g_autofree char *want = g_strdup_printf ("[\"hello, webContents %" G_GUINT64_FORMAT "\"]",
                                           demo->id);

  print_event (demo, event);
  check_event (demo, event, 0, want);
  demo->got_hello_reply = TRUE;
}

/* ipcRenderer.on('peers'): the main process's webContents.send. */
static void
on_peers (EipcEvent *event,
          gpointer   user_data)
{
  Demo *demo = user_data;
  JsonArray *args = eipc_event_get_args (event);

  print_event (demo, event);
  /* [[the ids of the other attached renderers]]: our host among them. */
  if (eipc_event_get_sender_id (event) != 0 || json_array_get_length (args) != 1 ||
      !ids_look_right (json_array_get_element (args, 0), demo->id, demo->host))
    {
      say (demo, "UNEXPECTED: peers should be [[the other renderers' ids]] from the "
           "main process");
      demo->failures++;
    }
  demo->got_peers = TRUE;
}

/* ipcRenderer.on('news'): the main process's broadcast. */
static void
on_news (EipcEvent *event,
         gpointer   user_data)
{
  Demo *demo = user_data;
  JsonArray *args = eipc_event_get_args (event);

  print_event (demo, event);
  /* ["two renderers are attached", [two ids, ours among them]]. */
  if (eipc_event_get_sender_id (event) != 0 ||
      eipc_event_get_kind (event) != EIPC_EVENT_BROADCAST ||
      json_array_get_length (args) != 2 ||
      g_strcmp0 (json_array_get_string_element (args, 0), "two renderers are attached") != 0 ||
      !JSON_NODE_HOLDS_ARRAY (json_array_get_element (args, 1)) ||
      json_array_get_length (json_array_get_array_element (args, 1)) != 2 ||
      !ids_look_right (json_array_get_element (args, 1), 0, demo->id))
    {
      say (demo, "UNEXPECTED: news should be a broadcast of [\"two renderers are "
           "attached\",[two ids, %" G_GUINT64_FORMAT " among them]]", demo->id);
      demo->failures++;
    }
  demo->got_news = TRUE;
}

/* ipcRenderer.on('chat-reply'): a peer's answer, routed by the main
 * process. */
static void
on_chat_reply (EipcEvent *event,
               gpointer   user_data)
{
  Demo *demo = user_data;
  g_autofree char *want = g_strdup_printf ("[\"hello back from webContents %"
                                           G_GUINT64_FORMAT "\"]", demo->peer);

  print_event (demo, event);
  check_event (demo, event, demo->peer, want);
  demo->got_chat_reply = TRUE;
}

static void
chat_reply_sent (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Demo *demo = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok = eipc_renderer_send_to_finish (EIPC_RENDERER (source), result, &error);

  check_ok (demo, "sendTo chat-reply", ok, error);
  demo->answered_chat = TRUE;
}

/* ipcRenderer.on('chat'): another renderer's sendTo. The sender's id
 * travels with the message (set by the main process, not by the
 * sender), so the answer goes back with sendTo to that id. */
static void
on_chat (EipcEvent *event,
         gpointer   user_data)
{
  Demo *demo = user_data;
  guint64 peer = eipc_event_get_sender_id (event);
  g_autofree char *answer = NULL;

  g_autofree char *want = g_strdup_printf ("[\"hello from webContents %"
                                           G_GUINT64_FORMAT "\"]", peer);

  print_event (demo, event);
  /* The id the main process gives is the one the sender says it has. */
  if (peer == demo->id || eipc_event_get_kind (event) != EIPC_EVENT_SEND_TO)
    {
      say (demo, "UNEXPECTED: a chat should come from another renderer's sendTo");
      demo->failures++;
    }
  check_event (demo, event, peer, want);
  if (peer == 0)
    return;
  answer = g_strdup_printf ("[\"hello back from webContents %" G_GUINT64_FORMAT "\"]",
                            demo->id);
  say (demo, "sendTo(%" G_GUINT64_FORMAT ", 'chat-reply', %s)", peer, answer);
  eipc_renderer_send_to_json (demo->renderer, peer, "chat-reply", answer, NULL,
                              chat_reply_sent, demo);
}

/* A guest's sendToHost: the host's `ipc-message` event in Electron. */
static void
on_host_message (EipcEvent *event,
                 gpointer   user_data)
{
  Demo *demo = user_data;
  g_autofree char *want = g_strdup_printf ("[\"guest %" G_GUINT64_FORMAT " is ready\"]",
                                           eipc_event_get_sender_id (event));

  print_event (demo, event);
  if (eipc_event_get_sender_id (event) == 0 || eipc_event_get_sender_id (event) == demo->id ||
      g_strcmp0 (eipc_event_get_channel (event), "guest-ready") != 0)
    {
      say (demo, "UNEXPECTED: a host message should be a guest's guest-ready");
      demo->failures++;
    }
  check_event (demo, event, eipc_event_get_sender_id (event), want);
  demo->got_host_message = TRUE;
}

/* ipcRenderer's side of an invoke from the main process. */
static void
handle_get_title (EipcEvent *event,
                  gpointer   user_data)
{
  Demo *demo = user_data;
  g_autofree char *title = g_strdup_printf ("\"demo renderer %" G_GUINT64_FORMAT "\"",
                                            demo->id);

  print_event (demo, event);
  check_event (demo, event, 0, "[]");
  say (demo, "resolving get-title with %s", title);
  eipc_event_resolve_json (event, title, NULL);
  demo->got_get_title = TRUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) echoed = NULL;
  g_autofree char *address = NULL;
  g_autofree char *app_id = NULL;
  g_autofree char *args = NULL;
  gint64 host = 0, peer = 0;
  gboolean expect_guest = FALSE;
  int timeout = 10;
  Demo demo = { 0 };
  Call call = { 0 };
  const GOptionEntry entries[] = {
    { "address", 0, 0, G_OPTION_ARG_STRING, &address,
      "The D-Bus address of the bus (default: the session bus)", "ADDR" },
    { "app", 0, 0, G_OPTION_ARG_STRING, &app_id,
      "The app id (default: " DEMO_APP_ID ")", "ID" },
    { "guest", 0, 0, G_OPTION_ARG_INT64, &host,
      "Attach as a guest of the webContents HOSTID and sendToHost", "HOSTID" },
    { "peer", 0, 0, G_OPTION_ARG_INT64, &peer,
      "sendTo this webContents (default: the host of a guest)", "ID" },
    { "expect-guest", 0, 0, G_OPTION_ARG_NONE, &expect_guest,
      "Stay until a guest sent a host message and a chat", NULL },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout,
      "Give up after SECONDS (default: 10)", "SECONDS" },
    G_OPTION_ENTRY_NULL
  };

  setvbuf (stdout, NULL, _IOLBF, 0);

  context = g_option_context_new ("- a renderer of the eipc demo");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) ||
      host < 0 || peer < 0 || timeout <= 0)
    {
      fprintf (stderr, "renderer: %s\n", error != NULL ? error->message
                                                       : "ids and the timeout must be positive");
      return 2;
    }
  if (peer == 0)
    peer = host;
  demo.host = (guint64) host;
  demo.peer = (guint64) peer;
  g_timeout_add_seconds ((guint) timeout, on_timeout, &demo);

  /* Attaching gives the renderer its webContentsId; a guest names its
   * host (the embedder of a webview). */
  if (host != 0)
    demo.renderer = eipc_renderer_new_guest (app_id != NULL ? app_id : DEMO_APP_ID,
                                             address, (guint64) host, &error);
  else
    demo.renderer = eipc_renderer_new_for_address (app_id != NULL ? app_id : DEMO_APP_ID,
                                                   address, &error);
  if (demo.renderer == NULL)
    {
      printf ("renderer: cannot attach: %s\n", error->message);
      return 1;
    }
  demo.id = eipc_renderer_get_id (demo.renderer);
  if (host != 0)
    say (&demo, "attached as webContents %" G_GUINT64_FORMAT " at %s, a guest of "
         "webContents %" G_GUINT64_FORMAT, demo.id,
         eipc_renderer_get_object_path (demo.renderer), (guint64) host);
  else
    say (&demo, "attached as webContents %" G_GUINT64_FORMAT " at %s", demo.id,
         eipc_renderer_get_object_path (demo.renderer));

  /* Listeners and the handler go in before anything is sent; messages
   * are only delivered while the main context runs. */
  eipc_renderer_on (demo.renderer, "hello-reply", on_hello_reply, &demo, NULL);
  eipc_renderer_on (demo.renderer, "peers", on_peers, &demo, NULL);
  eipc_renderer_on (demo.renderer, "news", on_news, &demo, NULL);
  eipc_renderer_on (demo.renderer, "chat", on_chat, &demo, NULL);
  eipc_renderer_on (demo.renderer, "chat-reply", on_chat_reply, &demo, NULL);
  eipc_renderer_on (demo.renderer, "port", on_port, &demo, NULL);
  eipc_renderer_on_host_message (demo.renderer, on_host_message, &demo, NULL);
  eipc_renderer_handle (demo.renderer, "get-title", handle_get_title, &demo, NULL, NULL);

  /* ipcRenderer.send: one signal, no answer. */
  args = g_strdup_printf ("[\"renderer %" G_GUINT64_FORMAT " is up\"]", demo.id);
  say (&demo, "send('log', %s)", args);
  if (!eipc_renderer_send_json (demo.renderer, "log", args, &error))
    check_ok (&demo, "send log", FALSE, error);
  g_clear_error (&error);

  /* ipcRenderer.invoke: a method call answered later. */
  invoke (&demo, "ping", "[]", "\"pong\"", NULL);
  invoke (&demo, "add", "[1,2,3.5]", "6.5", NULL);
  invoke (&demo, "fail", "[]", NULL,
          "Error invoking remote method 'fail': Error: boom");
  invoke (&demo, "no-such-channel", "[]", NULL,
          "Error invoking remote method 'no-such-channel': Error: No handler registered for 'no-such-channel'");

  /* ipcRenderer.sendSync: blocks this thread until the main process has
   * set the return value. */
  g_free (args);
  args = g_strdup_printf ("[%" G_GUINT64_FORMAT ",\"sync\",{\"nested\":[true,null]}]",
                          demo.id);
  echoed = eipc_renderer_send_sync_json (demo.renderer, "echo-sync", args, &error);
  {
    g_autofree char *what = g_strdup_printf ("sendSync('echo-sync', %s)", args);

    check (&demo, what, echoed, error, args, NULL);
  }
  g_clear_error (&error);

  /* send('hello'): the answers come as messages. */
  say (&demo, "send('hello', [])");
  if (!eipc_renderer_send_json (demo.renderer, "hello", "[]", &error))
    check_ok (&demo, "send hello", FALSE, error);
  g_clear_error (&error);
  wait_for (&demo, &demo.got_hello_reply, "hello-reply (event.reply)");
  wait_for (&demo, &demo.got_peers, "peers (webContents.send)");
  wait_for (&demo, &demo.got_get_title, "the main process's invoke of get-title");

  /* ipcRenderer.sendToHost: a guest to its embedder. */
  if (host != 0)
    {
      g_free (args);
      args = g_strdup_printf ("[\"guest %" G_GUINT64_FORMAT " is ready\"]", demo.id);
      say (&demo, "sendToHost('guest-ready', %s)", args);
      eipc_renderer_send_to_host_json (demo.renderer, "guest-ready", args, NULL,
                                       send_to_host_done, &call);
      if (wait_for (&demo, &call.done, "sendToHost"))
        check_ok (&demo, "sendToHost", call.ok, call.error);
      call_clear (&call);
    }

  /* ipcRenderer.sendTo: another renderer, routed by the main process. */
  if (peer != 0)
    {
      g_free (args);
      args = g_strdup_printf ("[\"hello from webContents %" G_GUINT64_FORMAT "\"]",
                              demo.id);
      say (&demo, "sendTo(%" G_GINT64_FORMAT ", 'chat', %s)", peer, args);
      eipc_renderer_send_to_json (demo.renderer, (guint64) peer, "chat", args,
                                  NULL, send_to_done, &call);
      if (wait_for (&demo, &call.done, "sendTo"))
        check_ok (&demo, "sendTo chat", call.ok, call.error);
      if (call.ok)
        wait_for (&demo, &demo.got_chat_reply, "chat-reply from the peer");
      call_clear (&call);
    }

  /* A host: wait for its guest. */
  if (expect_guest)
    {
      wait_for (&demo, &demo.got_host_message, "a host message from a guest");
      wait_for (&demo, &demo.answered_chat, "a chat from a guest, answered");
    }

  /* With two renderers attached, the main process broadcasts. */
  if (expect_guest || host != 0)
    wait_for (&demo, &demo.got_news, "news (broadcast)");

  /* The greeting over the port, if a port came: a little grace, not a
   * requirement (a renderer of another language may hold the other end). */
  if (demo.port != NULL && !demo.got_port_message)
    {
      gboolean grace = FALSE;
      guint id = g_timeout_add (2000, on_port_grace, &grace);

      while (!demo.got_port_message && !grace)
        g_main_context_iteration (NULL, TRUE);
      if (!grace)
        g_source_remove (id);
    }

  if (demo.failures == 0)
    say (&demo, "all went as expected");
  else
    say (&demo, "%u things went wrong", demo.failures);

  /* Going away destroys the webContents on the main side. */
  g_clear_object (&demo.port);
  g_clear_object (&demo.renderer);
  return demo.failures == 0 ? 0 : 1;
}
