/* eipc-test-renderer.c: a renderer process driven by its command line
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Usage: eipc-test-renderer [--app=ID | --from-env] [--guest=HOSTID] COMMAND...
 * (--from-env: no app id, as a renderer eipc_main_spawn_renderer()
 * launched creates it: EIPC_APP_ID and EIPC_ADDRESS say where to attach)
 * Each COMMAND runs in turn; every outcome is one line on stdout.
 *
 *   id                        print "id N"
 *   listen:CH                 print "msg CH kind=K from=ID ARGS" per message
 *   host-listen               print "host-msg CH from=ID ARGS" per host message
 *   wait:CH:N                 iterate until N messages arrived on CH
 *   send:CH:ARGS              ipcRenderer.send; prints only on error
 *   sendn:CH:N                N sends of [i] on CH
 *   invoke:CH:ARGS            invoke and wait: "invoke CH = R" / "invoke CH ! CODE MSG"
 *   invoke-async:CH:ARGS      invoke without waiting (printed when done)
 *   invoken:CH:N              N invokes of [i] in flight at once, then wait
 *   ping:CH:MS                invoke CH with [] one after the other for MS
 *                             milliseconds, measuring each round trip:
 *                             "ping n=N failed=N p50=US p99=US max=US"
 *   pending                   wait for every invoke in flight
 *   sync:CH:ARGS              sendSync: "sync CH = R" / "sync CH ! CODE MSG"
 *   timeout:MS                set the sendSync timeout
 *   invoke-timeout:MS         set the invoke timeout (0: none)
 *   send-to:ID:CH:ARGS        sendTo and wait: "send-to ID ok" / "send-to ID ! CODE MSG"
 *   send-to-host:CH:ARGS      sendToHost and wait
 *   handle:CH:JSON            answer the main process's invokes with JSON
 *   handle-once:CH:JSON       like handle, for the first invoke only
 *   handle-fail:CH:MSG        reject them with MSG
 *   handle-hold:CH            keep the event, never answer
 *   handle-later:CH:MS        answer "late" after MS milliseconds
 *   handle-nothing:CH         return without answering or keeping the event
 *   auto-reattach             attach again when a new main process comes
 *   wait-main-exit            iterate until the main process is gone
 *   wait-attached             iterate until attached again
 *   sleep:MS                  iterate the main loop for MS milliseconds
 *   print:TEXT                print TEXT
 *   kill                      SIGKILL itself
 *   segv                      SIGSEGV itself (no core file)
 *   exit:N                    exit with code N at once, without detaching
 *   load:SENDS:INVOKES        a load run (see load-common.h): SENDS sends of
 *                             [SEQ] on "load" and INVOKES invokes of
 *                             "load-invoke" interleaved, at most 32 in
 *                             flight; stops early when a send fails. Prints
 *                             "load sends=N invokes=N answered=N errors=N
 *                             disconnected=N dup=N wrong=N backoff=N",
 *                             then "load-error CODE MSG" for the first
 *                             failure; a send refused with LimitsExceeded
 *                             (a full queue) waits and is tried again;
 *                             "load-progress ..." every 2,000 sends
 *   bcast-listen:CH           check that broadcasts [SEQ] on CH come in order
 *   bcast-wait:N:MS           wait until N broadcasts came on CH, MS passed
 *                             or the main process is gone; prints "bcast
 *                             got=N dup=N reorder=N"
 *   wait-disconnected         iterate until the bus connection is closed
 *   port-listen:CH:MODE       on CH, print "posted CH ARGS ports=N" and keep
 *                             the ports that came, started; MODE "echo"
 *                             posts back what each port receives, "print"
 *                             prints "port-msg JSON" / "port-bytes N",
 *                             "count" only counts
 *   post-channel:CH           make a channel, keep port1 (printing), and
 *                             ipcRenderer.postMessage(CH, "hi", [port2])
 *   port-post:TEXT            post TEXT (JSON) on the first kept port:
 *                             "port-post ! CODE MSG" on error
 *   port-burst:N              post [i] N times on the first kept port and
 *                             wait for N messages back: "burst N ok T" with
 *                             T the CLOCK_MONOTONIC µs at the end
 *   port-wait:N               iterate until N port messages came
 *   port-wait-closed          iterate until a kept port emits close
 *                             (prints "port-closed")
 *   wait-file:PATH            iterate until PATH exists
 *
 * Every wait ends when the bus connection closes.
 *
 * "main-exited", "attached N" and "disconnected" are printed when the
 * renderer's signals of those names fire.
 */

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include <eipc/eipc.h>

static EipcRenderer *renderer;
static guint in_flight;
static gboolean main_exited;
static gboolean reattached;
static GHashTable *counts;   /* channel -> messages seen */
static GPtrArray *held;      /* events kept unanswered */
static GPtrArray *ports;     /* message ports kept */
static guint port_messages;
static gboolean port_closed;

static const char *
code_name (const GError *error)
{
  if (error->domain == EIPC_ERROR)
    return eipc_error_to_dbus_name (error->code);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return "cancelled";
  return g_quark_to_string (error->domain);
}

static void
print_node (const char *what,
            const char *channel,
            JsonNode   *node,
            GError     *error)
{
  if (node != NULL)
    {
      g_autofree char *text = json_to_string (node, FALSE);

      printf ("%s %s = %s\n", what, channel, text);
    }
  else
    printf ("%s %s ! %s %s\n", what, channel, code_name (error), error->message);
}

static void
on_message (EipcEvent *event,
            gpointer   user_data)
{
  static const char *kinds[] = { "send", "invoke", "sync", "send-to", "host", "broadcast" };
  const char *channel = eipc_event_get_channel (event);

  printf ("msg %s kind=%s from=%" G_GUINT64_FORMAT " %s\n", channel,
          kinds[eipc_event_get_kind (event)], eipc_event_get_sender_id (event),
          eipc_event_get_args_json (event));
  g_hash_table_replace (counts, g_strdup (channel),
                        GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (counts, channel)) + 1));
}

static void
on_host_message (EipcEvent *event,
                 gpointer   user_data)
{
  printf ("host-msg %s from=%" G_GUINT64_FORMAT " %s\n",
          eipc_event_get_channel (event), eipc_event_get_sender_id (event),
          eipc_event_get_args_json (event));
}

static void
invoke_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autofree char *channel = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = eipc_renderer_invoke_finish (renderer, result, &error);

  print_node ("invoke", channel, node, error);
  in_flight--;
}

static void
routed_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autofree char *what = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (g_str_has_prefix (what, "send-to-host"))
    ok = eipc_renderer_send_to_host_finish (renderer, result, &error);
  else
    ok = eipc_renderer_send_to_finish (renderer, result, &error);
  if (ok)
    printf ("%s ok\n", what);
  else
    printf ("%s ! %s %s\n", what, code_name (error), error->message);
  in_flight--;
}

static void
handle_value (EipcEvent *event,
              gpointer   user_data)
{
  g_autoptr(GError) error = NULL;

  if (!eipc_event_resolve_json (event, user_data, &error))
    g_error ("%s", error->message);
}

static void
handle_fail (EipcEvent *event,
             gpointer   user_data)
{
  eipc_event_reject (event, user_data);
}

static void
handle_hold (EipcEvent *event,
             gpointer   user_data)
{
  g_ptr_array_add (held, g_object_ref (event));
  printf ("held %s\n", eipc_event_get_channel (event));
}

static gboolean
answer_late (gpointer user_data)
{
  eipc_event_resolve_json (user_data, "\"late\"", NULL);
  return G_SOURCE_REMOVE;
}

static void
handle_later (EipcEvent *event,
              gpointer   user_data)
{
  g_timeout_add_full (G_PRIORITY_DEFAULT, GPOINTER_TO_UINT (user_data), answer_late,
                      g_object_ref (event), g_object_unref);
}

static void
handle_nothing (EipcEvent *event,
                gpointer   user_data)
{
}

static gboolean disconnected;

/* Nothing can come once the bus connection is closed: stop waiting,
 * after what is ready already (calls that failed). */
static void
iterate_until (gboolean (*done) (gpointer), gpointer data)
{
  while (!done (data) && !disconnected)
    g_main_context_iteration (NULL, TRUE);
  while (!done (data) && g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
}

typedef struct {
  gboolean done;
  gboolean failed;
} PingCall;

static void
ping_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  PingCall *call = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = eipc_renderer_invoke_finish (renderer, result, &error);

  call->failed = node == NULL;
  call->done = TRUE;
}

static gboolean
ping_finished (gpointer data)
{
  return ((PingCall *) data)->done;
}

static int
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static gboolean
no_invoke_in_flight (gpointer data)
{
  return in_flight == 0;
}

static gboolean
flag_set (gpointer data)
{
  return *(gboolean *) data;
}

typedef struct {
  const char *channel;
  guint       n;
} WaitCount;

static gboolean
count_reached (gpointer data)
{
  WaitCount *w = data;

  return GPOINTER_TO_UINT (g_hash_table_lookup (counts, w->channel)) >= w->n;
}

static gboolean
sleep_done (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
on_main_exited (EipcRenderer *r,
                gpointer      user_data)
{
  main_exited = TRUE;
  printf ("main-exited\n");
}

static void
on_attached (EipcRenderer *r,
             guint64       id,
             gpointer      user_data)
{
  reattached = TRUE;
  printf ("attached %" G_GUINT64_FORMAT "\n", id);
}

static void
on_disconnected (EipcRenderer *r,
                 gpointer      user_data)
{
  disconnected = TRUE;
  printf ("disconnected\n");
}

/* The renderer's side of a load run: see load-common.h. */
#define LOAD_WINDOW 32
/* Sends may run this far ahead of what the main process has confirmed
 * (an answered invoke tells it has read every send before it), so an
 * invoke never waits behind a queue so long that a slow (sanitized,
 * loaded) main process lets it reach the D-Bus call timeout. */
#define LOAD_AHEAD  2000

static struct {
  guint     sent;
  guint     acked;        /* sends the main process is known to have read */
  guint     issued;
  guint     in_flight;
  guint     answered;
  guint     errors;
  guint     disconnected;
  guint     dup;
  guint     wrong;
  guint     backoff;      /* sends refused because the queue was full */
  guint8   *answers;      /* one byte per invoke */
  guint    *sent_at;      /* per invoke, the sends before it */
  char     *first_error;
  gboolean  stopped;
} load;

static void
load_failed (const char   *what,
             const GError *error)
{
  load.errors++;
  if (g_error_matches (error, EIPC_ERROR, EIPC_ERROR_DISCONNECTED))
    load.disconnected++;
  if (load.first_error == NULL)
    load.first_error = g_strdup_printf ("%s %s %s", what, code_name (error),
                                        error->message);
}

static void
load_invoke_done (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  guint k = GPOINTER_TO_UINT (user_data);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = eipc_renderer_invoke_finish (renderer, result, &error);
  JsonArray *array;

  load.in_flight--;
  /* Answered or not, this invoke holds the sends back no longer. */
  load.acked = MAX (load.acked, load.sent_at[k]);
  if (node == NULL)
    {
      load_failed ("invoke", error);
      return;
    }
  if (load.answers[k])
    {
      load.dup++;
      return;
    }
  load.answers[k] = 1;
  load.answered++;
  array = JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  if (array == NULL || json_array_get_length (array) != 2 ||
      (guint64) json_array_get_int_element (array, 0) != eipc_renderer_get_id (renderer) ||
      (guint64) json_array_get_int_element (array, 1) != k)
    load.wrong++;
}

static void
run_load (guint sends,
          guint invokes)
{
  g_clear_pointer (&load.answers, g_free);
  g_clear_pointer (&load.sent_at, g_free);
  g_clear_pointer (&load.first_error, g_free);
  memset (&load, 0, sizeof load);
  load.answers = g_new0 (guint8, MAX (invokes, 1));
  load.sent_at = g_new0 (guint, MAX (invokes, 1));

  for (;;)
    {
      gboolean progress = FALSE, full = FALSE;

      /* Invokes are spread evenly among the sends, as long as the window
       * has room; the rest of the time, sends. */
      for (guint i = 0; i < 64 && !load.stopped && !full; i++)
        {
          g_autoptr(GError) error = NULL;
          char args[48];

          if (load.issued < invokes && load.in_flight < LOAD_WINDOW &&
              (guint64) load.issued * sends <= (guint64) load.sent * invokes)
            {
              g_snprintf (args, sizeof args, "[%u,%u]", load.issued, load.sent);
              load.sent_at[load.issued] = load.sent;
              load.in_flight++;
              eipc_renderer_invoke_json (renderer, "load-invoke", args, NULL,
                                         load_invoke_done,
                                         GUINT_TO_POINTER (load.issued));
              load.issued++;
              progress = TRUE;
            }
          else if (load.sent < sends &&
                   (load.sent - load.acked < LOAD_AHEAD ||
                    (load.issued == invokes && load.in_flight == 0)))
            {
              g_snprintf (args, sizeof args, "[%u]", load.sent);
              if (eipc_renderer_send_json (renderer, "load", args, &error))
                {
                  progress = TRUE;
                  /* Progress shows the test that the run is alive. */
                  if (++load.sent % 2000 == 0)
                    printf ("load-progress sent=%u answered=%u\n", load.sent,
                            load.answered);
                }
              else if (g_error_matches (error, EIPC_ERROR, EIPC_ERROR_LIMITS_EXCEEDED))
                {
                  /* The bus takes no more for now: wait until it does. */
                  load.backoff++;
                  full = TRUE;
                }
              else
                {
                  load_failed ("send", error);
                  load.stopped = TRUE;
                }
            }
          else
            break;
        }
      if (load.in_flight == 0 &&
          (load.stopped || (load.sent == sends && load.issued == invokes)))
        break;
      /* Nothing could go out: wait for answers, or for the bus to take
       * more. */
      g_main_context_iteration (NULL, !progress);
    }

  printf ("load sends=%u invokes=%u answered=%u errors=%u disconnected=%u "
          "dup=%u wrong=%u backoff=%u\n", load.sent, load.issued, load.answered,
          load.errors, load.disconnected, load.dup, load.wrong, load.backoff);
  if (load.first_error != NULL)
    printf ("load-error %s\n", load.first_error);
}

/* Broadcasts [SEQ] from the main process, checked for order. */
static struct {
  GByteArray *seen;
  gint64      last;
  guint       got;
  guint       dup;
  guint       reorder;
} bcast = { NULL, -1, 0, 0, 0 };

static void
on_bcast (EipcEvent *event,
          gpointer   user_data)
{
  const char *args = eipc_event_get_args_json (event);
  guint64 seq;

  if (args[0] != '[' || !g_ascii_isdigit (args[1]))
    return;
  seq = g_ascii_strtoull (args + 1, NULL, 10);
  if (seq >= 16 * 1024 * 1024)
    return;
  if (seq >= bcast.seen->len)
    {
      guint old = bcast.seen->len;
      guint size = MAX ((guint) seq + 1, old * 2);

      g_byte_array_set_size (bcast.seen, size);
      memset (bcast.seen->data + old, 0, size - old);
    }
  if (bcast.seen->data[seq])
    {
      bcast.dup++;
      return;
    }
  bcast.seen->data[seq] = 1;
  bcast.got++;
  if ((gint64) seq != bcast.last + 1)
    bcast.reorder++;
  bcast.last = (gint64) seq;
}

typedef struct {
  guint    n;
  gboolean timed_out;
} BcastWait;

static gboolean
bcast_wait_done (gpointer data)
{
  BcastWait *w = data;

  return bcast.got >= w->n || w->timed_out || !eipc_renderer_is_attached (renderer);
}

static void
on_port_message (EipcMessagePort *port,
                 EipcEvent       *event,
                 gpointer         user_data)
{
  const char *mode = user_data;
  GBytes *bytes = eipc_event_get_bytes (event);
  g_autoptr(GError) error = NULL;

  port_messages++;
  if (strcmp (mode, "echo") == 0)
    {
      if (bytes != NULL)
        eipc_message_port_post_bytes (port, bytes, &error);
      else
        eipc_message_port_post_message_json (port, eipc_event_get_data_json (event),
                                             NULL, &error);
      if (error != NULL)
        printf ("port-echo ! %s %s\n", code_name (error), error->message);
    }
  else if (strcmp (mode, "count") == 0)
    return;
  else if (bytes != NULL)
    printf ("port-bytes %" G_GSIZE_FORMAT "\n", g_bytes_get_size (bytes));
  else
    printf ("port-msg %s\n", eipc_event_get_data_json (event));
  fflush (stdout);
}

static void
on_port_close (EipcMessagePort *port,
               gpointer         user_data)
{
  port_closed = TRUE;
  printf ("port-closed\n");
  fflush (stdout);
}

static void
keep_port (EipcMessagePort *port,
           const char      *mode)
{
  if (ports == NULL)
    ports = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (ports, g_object_ref (port));
  g_signal_connect (port, "message", G_CALLBACK (on_port_message),
                    (gpointer) (g_strcmp0 (mode, "echo") == 0 ? "echo" :
                                g_strcmp0 (mode, "count") == 0 ? "count" : "print"));
  g_signal_connect (port, "close", G_CALLBACK (on_port_close), NULL);
  eipc_message_port_start (port);
}

static void
on_posted (EipcEvent *event,
           gpointer   user_data)
{
  GPtrArray *came = eipc_event_get_ports (event);

  printf ("posted %s %s ports=%u\n", eipc_event_get_channel (event),
          eipc_event_get_args_json (event), came->len);
  fflush (stdout);
  for (guint i = 0; i < came->len; i++)
    keep_port (g_ptr_array_index (came, i), user_data);
}

static gboolean
file_exists (gpointer data)
{
  return g_file_test (data, G_FILE_TEST_EXISTS);
}

static gboolean
file_exists_tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static gboolean
port_count_reached (gpointer data)
{
  return port_messages >= GPOINTER_TO_UINT (data);
}

static void
run_command (const char *command)
{
  g_auto(GStrv) part = g_strsplit (command, ":", 3);
  const char *verb = part[0];
  g_autoptr(GError) error = NULL;

  if (strcmp (verb, "id") == 0)
    printf ("id %" G_GUINT64_FORMAT "\n", eipc_renderer_get_id (renderer));
  else if (strcmp (verb, "listen") == 0)
    eipc_renderer_on (renderer, part[1], on_message, NULL, NULL);
  else if (strcmp (verb, "host-listen") == 0)
    eipc_renderer_on_host_message (renderer, on_host_message, NULL, NULL);
  else if (strcmp (verb, "wait") == 0)
    {
      WaitCount w = { part[1], (guint) g_ascii_strtoull (part[2], NULL, 10) };

      iterate_until (count_reached, &w);
    }
  else if (strcmp (verb, "send") == 0)
    {
      if (!eipc_renderer_send_json (renderer, part[1], part[2], &error))
        printf ("send %s ! %s %s\n", part[1], code_name (error), error->message);
    }
  else if (strcmp (verb, "sendn") == 0)
    {
      guint n = (guint) g_ascii_strtoull (part[2], NULL, 10);

      for (guint i = 0; i < n; i++)
        {
          char args[32];

          g_snprintf (args, sizeof args, "[%u]", i);
          if (!eipc_renderer_send_json (renderer, part[1], args, &error))
            {
              printf ("send %s ! %s %s\n", part[1], code_name (error), error->message);
              break;
            }
        }
    }
  else if (strcmp (verb, "invoke") == 0 || strcmp (verb, "invoke-async") == 0)
    {
      in_flight++;
      eipc_renderer_invoke_json (renderer, part[1], part[2], NULL, invoke_done,
                                 g_strdup (part[1]));
      if (strcmp (verb, "invoke") == 0)
        iterate_until (no_invoke_in_flight, NULL);
    }
  else if (strcmp (verb, "ping") == 0)
    {
      g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (gint64));
      gint64 end = g_get_monotonic_time () +
                   (gint64) g_ascii_strtoull (part[2], NULL, 10) * 1000;
      guint failed = 0, n;

      while (g_get_monotonic_time () < end && !disconnected)
        {
          PingCall call = { FALSE, FALSE };
          gint64 t0 = g_get_monotonic_time (), rtt;

          eipc_renderer_invoke_json (renderer, part[1], "[]", NULL, ping_done, &call);
          iterate_until (ping_finished, &call);
          rtt = g_get_monotonic_time () - t0;
          if (!call.done || call.failed)
            failed++;
          else
            g_array_append_val (times, rtt);
        }
      g_array_sort (times, compare_gint64);
      n = times->len;
      printf ("ping n=%u failed=%u p50=%" G_GINT64_FORMAT " p99=%" G_GINT64_FORMAT
              " max=%" G_GINT64_FORMAT "\n", n, failed,
              n > 0 ? g_array_index (times, gint64, n / 2) : -1,
              n > 0 ? g_array_index (times, gint64, MIN (n - 1, n * 99 / 100)) : -1,
              n > 0 ? g_array_index (times, gint64, n - 1) : -1);
    }
  else if (strcmp (verb, "invoken") == 0)
    {
      guint n = (guint) g_ascii_strtoull (part[2], NULL, 10);

      for (guint i = 0; i < n; i++)
        {
          char args[32];

          g_snprintf (args, sizeof args, "[%u]", i);
          in_flight++;
          eipc_renderer_invoke_json (renderer, part[1], args, NULL, invoke_done,
                                     g_strdup (part[1]));
        }
      iterate_until (no_invoke_in_flight, NULL);
    }
  else if (strcmp (verb, "pending") == 0)
    iterate_until (no_invoke_in_flight, NULL);
  else if (strcmp (verb, "sync") == 0)
    {
      g_autoptr(JsonNode) node = eipc_renderer_send_sync_json (renderer, part[1],
                                                               part[2], &error);

      print_node ("sync", part[1], node, error);
    }
  else if (strcmp (verb, "timeout") == 0)
    eipc_renderer_set_sync_timeout (renderer, (guint) g_ascii_strtoull (part[1], NULL, 10));
  else if (strcmp (verb, "invoke-timeout") == 0)
    eipc_renderer_set_invoke_timeout (renderer, (guint) g_ascii_strtoull (part[1], NULL, 10));
  else if (strcmp (verb, "send-to") == 0)
    {
      g_auto(GStrv) rest = g_strsplit (part[2], ":", 2);
      guint64 id = g_ascii_strtoull (part[1], NULL, 10);

      in_flight++;
      eipc_renderer_send_to_json (renderer, id, rest[0], rest[1], NULL,
                                  routed_done, g_strdup_printf ("send-to %s", part[1]));
      iterate_until (no_invoke_in_flight, NULL);
    }
  else if (strcmp (verb, "send-to-host") == 0)
    {
      in_flight++;
      eipc_renderer_send_to_host_json (renderer, part[1], part[2], NULL,
                                       routed_done, g_strdup ("send-to-host"));
      iterate_until (no_invoke_in_flight, NULL);
    }
  else if (strcmp (verb, "handle") == 0)
    eipc_renderer_handle (renderer, part[1], handle_value, g_strdup (part[2]),
                          g_free, NULL);
  else if (strcmp (verb, "handle-once") == 0)
    eipc_renderer_handle_once (renderer, part[1], handle_value, g_strdup (part[2]),
                               g_free, NULL);
  else if (strcmp (verb, "handle-fail") == 0)
    eipc_renderer_handle (renderer, part[1], handle_fail, g_strdup (part[2]),
                          g_free, NULL);
  else if (strcmp (verb, "handle-hold") == 0)
    eipc_renderer_handle (renderer, part[1], handle_hold, NULL, NULL, NULL);
  else if (strcmp (verb, "handle-nothing") == 0)
    eipc_renderer_handle (renderer, part[1], handle_nothing, NULL, NULL, NULL);
  else if (strcmp (verb, "handle-later") == 0)
    eipc_renderer_handle (renderer, part[1], handle_later,
                          GUINT_TO_POINTER ((guint) g_ascii_strtoull (part[2], NULL, 10)),
                          NULL, NULL);
  else if (strcmp (verb, "auto-reattach") == 0)
    eipc_renderer_set_auto_reattach (renderer, TRUE);
  else if (strcmp (verb, "wait-main-exit") == 0)
    iterate_until (flag_set, &main_exited);
  else if (strcmp (verb, "wait-attached") == 0)
    iterate_until (flag_set, &reattached);
  else if (strcmp (verb, "sleep") == 0)
    {
      gboolean done = FALSE;

      g_timeout_add ((guint) g_ascii_strtoull (part[1], NULL, 10), sleep_done, &done);
      iterate_until (flag_set, &done);
    }
  else if (strcmp (verb, "print") == 0)
    printf ("%s\n", command + strlen ("print:"));
  else if (strcmp (verb, "segv") == 0)
    {
      struct rlimit no_core = { 0, 0 };
      struct sigaction default_action = { 0 };

      /* The default action, not a sanitizer's handler (which aborts). */
      default_action.sa_handler = SIG_DFL;
      sigaction (SIGSEGV, &default_action, NULL);
      fflush (stdout);
      setrlimit (RLIMIT_CORE, &no_core);
      raise (SIGSEGV);
    }
  else if (strcmp (verb, "exit") == 0)
    {
      fflush (stdout);
      _exit ((int) g_ascii_strtoll (part[1], NULL, 10));
    }
  else if (strcmp (verb, "kill") == 0)
    {
      fflush (stdout);
      raise (SIGKILL);
    }
  else if (strcmp (verb, "load") == 0)
    run_load ((guint) g_ascii_strtoull (part[1], NULL, 10),
              (guint) g_ascii_strtoull (part[2], NULL, 10));
  else if (strcmp (verb, "bcast-listen") == 0)
    {
      if (bcast.seen == NULL)
        bcast.seen = g_byte_array_new ();
      eipc_renderer_on (renderer, part[1], on_bcast, NULL, NULL);
    }
  else if (strcmp (verb, "bcast-wait") == 0)
    {
      BcastWait w = { (guint) g_ascii_strtoull (part[1], NULL, 10), FALSE };
      guint id = g_timeout_add ((guint) g_ascii_strtoull (part[2], NULL, 10),
                                sleep_done, &w.timed_out);

      iterate_until (bcast_wait_done, &w);
      if (!w.timed_out)
        g_source_remove (id);
      printf ("bcast got=%u dup=%u reorder=%u\n", bcast.got, bcast.dup, bcast.reorder);
    }
  else if (strcmp (verb, "wait-disconnected") == 0)
    iterate_until (flag_set, &disconnected);
  else if (strcmp (verb, "port-listen") == 0)
    eipc_renderer_on (renderer, part[1], on_posted, g_strdup (part[2]), g_free);
  else if (strcmp (verb, "post-channel") == 0)
    {
      g_autoptr(EipcMessageChannel) channel = eipc_message_channel_new ();
      g_autoptr(GPtrArray) transfer = g_ptr_array_new ();

      g_ptr_array_add (transfer, eipc_message_channel_get_port2 (channel));
      if (!eipc_renderer_post_message_json (renderer, part[1], "\"hi\"", transfer, &error))
        printf ("post-channel ! %s %s\n", code_name (error), error->message);
      else
        keep_port (eipc_message_channel_get_port1 (channel), "print");
    }
  else if (strcmp (verb, "port-post") == 0)
    {
      if (!eipc_message_port_post_message_json (g_ptr_array_index (ports, 0),
                                                command + strlen ("port-post:"),
                                                NULL, &error))
        printf ("port-post ! %s %s\n", code_name (error), error->message);
    }
  else if (strcmp (verb, "port-burst") == 0)
    {
      guint n = (guint) g_ascii_strtoull (part[1], NULL, 10);
      guint want = port_messages + n;

      for (guint i = 0; i < n && error == NULL; i++)
        {
          g_autofree char *json = g_strdup_printf ("[%u]", i);

          eipc_message_port_post_message_json (g_ptr_array_index (ports, 0), json,
                                               NULL, &error);
        }
      if (error != NULL)
        printf ("port-burst ! %s %s\n", code_name (error), error->message);
      else
        {
          iterate_until (port_count_reached, GUINT_TO_POINTER (want));
          printf ("burst %u %s %" G_GINT64_FORMAT "\n", n,
                  port_messages >= want ? "ok" : "short", g_get_monotonic_time ());
        }
    }
  else if (strcmp (verb, "port-wait") == 0)
    iterate_until (port_count_reached,
                   GUINT_TO_POINTER ((guint) g_ascii_strtoull (part[1], NULL, 10)));
  else if (strcmp (verb, "port-wait-closed") == 0)
    iterate_until (flag_set, &port_closed);
  else if (strcmp (verb, "wait-file") == 0)
    {
      guint tick = g_timeout_add (10, file_exists_tick, NULL);

      iterate_until (file_exists, part[1]);
      g_source_remove (tick);
    }
  else
    g_error ("unknown command '%s'", command);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  const char *app_id = "org.eipc.Test";
  guint64 host_id = 0;
  int first = 1;

  setvbuf (stdout, NULL, _IOLBF, 0);
  counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  held = g_ptr_array_new_with_free_func (g_object_unref);

  for (; first < argc && g_str_has_prefix (argv[first], "--"); first++)
    {
      if (g_str_has_prefix (argv[first], "--app="))
        app_id = argv[first] + strlen ("--app=");
      else if (strcmp (argv[first], "--from-env") == 0)
        app_id = NULL;
      else if (g_str_has_prefix (argv[first], "--guest="))
        host_id = g_ascii_strtoull (argv[first] + strlen ("--guest="), NULL, 10);
    }

  renderer = eipc_renderer_new_guest (app_id, NULL, host_id, &error);
  if (renderer == NULL)
    {
      printf ("attach ! %s %s\n", code_name (error), error->message);
      return 2;
    }
  g_signal_connect (renderer, "main-exited", G_CALLBACK (on_main_exited), NULL);
  g_signal_connect (renderer, "attached", G_CALLBACK (on_attached), NULL);
  g_signal_connect (renderer, "disconnected", G_CALLBACK (on_disconnected), NULL);

  for (int i = first; i < argc; i++)
    run_command (argv[i]);

  printf ("done\n");
  g_clear_pointer (&held, g_ptr_array_unref);
  g_clear_object (&renderer);
  g_hash_table_unref (counts);
  g_clear_pointer (&load.answers, g_free);
  g_clear_pointer (&load.first_error, g_free);
  g_clear_pointer (&bcast.seen, g_byte_array_unref);
  return 0;
}
