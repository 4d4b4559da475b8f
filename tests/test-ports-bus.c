/* test-ports-bus.c: message ports transferred over the bus
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * webContents.postMessage and ipcRenderer.postMessage with ports, between
 * this process (the main process) and renderers in child processes
 * (eipc-test-renderer): event.ports on both sides, transferred ports
 * unusable by their sender, kill -9 of the renderer holding a port, and
 * two renderers linked by a channel the main process made, talking while
 * the main process does not run (its thread blocked, or the main process
 * a separate eipc-test-main stopped with SIGSTOP), with no message of
 * theirs on the bus.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "test-common.h"

typedef struct {
  GPtrArray *events;
  guint      n_closed;
} Inbox;

static void
inbox_message (EipcMessagePort *port,
               EipcEvent       *event,
               gpointer         user_data)
{
  Inbox *inbox = user_data;

  g_ptr_array_add (inbox->events, g_object_ref (event));
}

static void
inbox_close (EipcMessagePort *port,
             gpointer         user_data)
{
  ((Inbox *) user_data)->n_closed++;
}

static void
inbox_watch (Inbox           *inbox,
             EipcMessagePort *port)
{
  if (inbox->events == NULL)
    inbox->events = g_ptr_array_new_with_free_func (g_object_unref);
  g_signal_connect (port, "message", G_CALLBACK (inbox_message), inbox);
  g_signal_connect (port, "close", G_CALLBACK (inbox_close), inbox);
}

static void
iterate_until_count (guint *count,
                     guint  n)
{
  gint64 end = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (*count < n)
    {
      if (g_get_monotonic_time () > end)
        g_error ("waited 30 s for %u, have %u", n, *count);
      g_main_context_iteration (NULL, TRUE);
    }
}

static EipcWebContents *
renderer_web_contents (EipcMain  *main,
                       TestChild *child)
{
  g_autofree char *line = test_child_expect (child, "id ");
  guint64 id = g_ascii_strtoull (line + 3, NULL, 10);
  EipcWebContents *wc = eipc_main_get_web_contents (main, id);

  g_assert_nonnull (wc);
  return g_object_ref (wc);
}

/* webContents.postMessage with a port: the renderer's listener gets the
 * message as its argument and the port in event.ports; the port talks;
 * the main's copy is unusable; kill -9 of the renderer closes ours. */
static void
test_main_to_renderer (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMain) main = eipc_main_new (TEST_APP_ID, &error);
  g_autoptr(EipcMessageChannel) channel = eipc_message_channel_new ();
  g_autoptr(GPtrArray) transfer = g_ptr_array_new ();
  g_autoptr(EipcWebContents) wc = NULL;
  g_autofree char *line = NULL;
  EipcMessagePort *mine = eipc_message_channel_get_port1 (channel);
  EipcMessagePort *theirs = eipc_message_channel_get_port2 (channel);
  Inbox in = { NULL, 0 };
  TestChild *child;
  int status;

  g_assert_no_error (error);
  child = test_child_spawn ("port-listen:port:echo", "id", "port-wait-closed",
                            "sleep:100000", NULL);
  wc = renderer_web_contents (main, child);

  g_ptr_array_add (transfer, theirs);
  g_assert_true (eipc_web_contents_post_message_json (wc, "port", "{\"x\":1}",
                                                      transfer, &error));
  g_assert_no_error (error);
  g_assert_true (eipc_message_port_is_transferred (theirs));
  g_assert_false (eipc_message_port_post_message_json (theirs, "1", NULL, &error));
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS);
  g_clear_error (&error);
  /* Nor can it go a second time. */
  g_assert_false (eipc_web_contents_post_message_json (wc, "port", "2", transfer, &error));
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS);
  g_clear_error (&error);

  line = test_child_expect (child, "posted ");
  g_assert_cmpstr (line, ==, "posted port [{\"x\":1}] ports=1");

  inbox_watch (&in, mine);
  eipc_message_port_start (mine);
  g_assert_true (eipc_message_port_post_message_json (mine, "\"ping\"", NULL, &error));
  iterate_until_count (&in.events->len, 1);
  g_assert_cmpstr (eipc_event_get_data_json (g_ptr_array_index (in.events, 0)), ==, "\"ping\"");

  /* A message without ports is a message too. */
  g_assert_true (eipc_web_contents_post_message (wc, "port", NULL, NULL, &error));
  g_assert_no_error (error);
  g_clear_pointer (&line, g_free);
  line = test_child_expect (child, "posted ");
  g_assert_cmpstr (line, ==, "posted port [null] ports=0");

  test_child_kill (child);
  iterate_until_count (&in.n_closed, 1);
  g_assert_false (eipc_message_port_post_message_json (mine, "\"late\"", NULL, &error));
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_DISCONNECTED);
  g_clear_error (&error);
  g_free (test_child_finish (child, &status));
  g_signal_handlers_disconnect_by_data (mine, &in);
  g_ptr_array_unref (in.events);
}

/* webContents.postMessage of a port the main process used (started,
 * posted to, received on), as Electron allows: the renderer gets it
 * with the messages that were on their way to it, in order. */
static void
test_main_to_renderer_used (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMain) main = eipc_main_new (TEST_APP_ID, &error);
  g_autoptr(EipcMessageChannel) channel = eipc_message_channel_new ();
  g_autoptr(GPtrArray) transfer = g_ptr_array_new ();
  g_autoptr(EipcWebContents) wc = NULL;
  g_autofree char *line = NULL;
  EipcMessagePort *mine = eipc_message_channel_get_port1 (channel);
  EipcMessagePort *used = eipc_message_channel_get_port2 (channel);
  Inbox in = { NULL, 0 }, in_used = { NULL, 0 };
  const char *want[] = { "\"b\"", "1", "2", "3", "4" };
  TestChild *child;
  int status;

  g_assert_no_error (error);
  child = test_child_spawn ("port-listen:port:echo", "id", "port-wait-closed", NULL);
  wc = renderer_web_contents (main, child);

  inbox_watch (&in, mine);
  inbox_watch (&in_used, used);
  eipc_message_port_start (mine);
  eipc_message_port_start (used);
  g_assert_true (eipc_message_port_post_message_json (mine, "\"a\"", NULL, &error));
  iterate_until_count (&in_used.events->len, 1);
  g_assert_true (eipc_message_port_post_message_json (used, "\"b\"", NULL, &error));
  iterate_until_count (&in.events->len, 1);
  /* On their way to it when it goes. */
  for (guint i = 1; i <= 3; i++)
    {
      g_autofree char *json = g_strdup_printf ("%u", i);

      g_assert_true (eipc_message_port_post_message_json (mine, json, NULL, &error));
    }
  g_ptr_array_add (transfer, used);
  g_assert_true (eipc_web_contents_post_message_json (wc, "port", "\"used\"",
                                                      transfer, &error));
  g_assert_no_error (error);
  g_assert_true (eipc_message_port_is_transferred (used));
  g_assert_true (eipc_message_port_post_message_json (mine, "4", NULL, &error));
  line = test_child_expect (child, "posted ");
  g_assert_cmpstr (line, ==, "posted port [\"used\"] ports=1");

  /* The renderer echoes everything it gets on it. */
  iterate_until_count (&in.events->len, G_N_ELEMENTS (want));
  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    g_assert_cmpstr (eipc_event_get_data_json (g_ptr_array_index (in.events, i)), ==, want[i]);
  g_assert_cmpuint (in_used.events->len, ==, 1);

  eipc_message_port_close (mine);
  g_clear_pointer (&line, g_free);
  line = test_child_expect (child, "port-closed");
  g_free (test_child_finish (child, &status));
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  g_signal_handlers_disconnect_by_data (mine, &in);
  g_signal_handlers_disconnect_by_data (used, &in_used);
  g_ptr_array_unref (in.events);
  g_ptr_array_unref (in_used.events);
}

typedef struct {
  EipcEvent *event;
} Posted;

static void
on_posted (EipcEvent *event,
           gpointer   user_data)
{
  Posted *posted = user_data;

  g_assert_null (posted->event);
  posted->event = g_object_ref (event);
}

/* ipcRenderer.postMessage with a port: ipcMain's listener gets it in
 * event.ports, with the message as its argument. */
static void
test_renderer_to_main (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMain) main = eipc_main_new (TEST_APP_ID, &error);
  g_autofree char *line = NULL;
  Posted posted = { NULL };
  EipcMessagePort *port;
  Inbox in = { NULL, 0 };
  TestChild *child;
  GPtrArray *ports;
  int status;

  g_assert_no_error (error);
  eipc_main_on (main, "port", on_posted, &posted, NULL);
  child = test_child_spawn ("post-channel:port", "port-wait:1", "port-post:\"pong\"",
                            "port-wait-closed", NULL);
  while (posted.event == NULL)
    g_main_context_iteration (NULL, TRUE);

  g_assert_cmpint (eipc_event_get_kind (posted.event), ==, EIPC_EVENT_SEND);
  g_assert_cmpstr (eipc_event_get_channel (posted.event), ==, "port");
  g_assert_cmpstr (eipc_event_get_args_json (posted.event), ==, "[\"hi\"]");
  g_assert_cmpuint (eipc_event_get_sender_id (posted.event), !=, 0);
  ports = eipc_event_get_ports (posted.event);
  g_assert_cmpuint (ports->len, ==, 1);
  port = g_object_ref (g_ptr_array_index (ports, 0));
  g_clear_object (&posted.event);

  inbox_watch (&in, port);
  eipc_message_port_start (port);
  g_assert_true (eipc_message_port_post_message_json (port, "[1,\"two\"]", NULL, &error));
  line = test_child_expect (child, "port-msg ");
  g_assert_cmpstr (line, ==, "port-msg [1,\"two\"]");
  iterate_until_count (&in.events->len, 1);
  g_assert_cmpstr (eipc_event_get_data_json (g_ptr_array_index (in.events, 0)), ==, "\"pong\"");

  /* Closing here ends the renderer's wait. */
  eipc_message_port_close (port);
  g_clear_pointer (&line, g_free);
  line = test_child_expect (child, "port-closed");
  g_free (test_child_finish (child, &status));
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  g_assert_cmpuint (in.n_closed, ==, 0);
  g_signal_handlers_disconnect_by_data (port, &in);
  g_object_unref (port);
  g_ptr_array_unref (in.events);
}

static void
on_rejected (EipcMain     *main,
             const char   *sender,
             const GError *error,
             gpointer      user_data)
{
  GError **rejected = user_data;

  g_assert_null (*rejected);
  *rejected = g_error_copy (error);
}

/* ipcRenderer.postMessage that the main process refuses (here: larger
 * than its limit; the renderer cannot know it): one-way, as in Electron,
 * so the renderer's call cannot fail; the main process reports it with
 * message-rejected, no listener runs, and the port that came is closed,
 * so the renderer's end of the channel emits close. */
static void
test_renderer_to_main_refused (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) rejected = NULL;
  g_autoptr(EipcMain) main = eipc_main_new (TEST_APP_ID, &error);
  g_autofree char *line = NULL;
  Posted posted = { NULL };
  TestChild *child;
  gint64 end;
  int status;

  g_assert_no_error (error);
  eipc_main_set_limits (main, 0, 3);
  eipc_main_on (main, "port", on_posted, &posted, NULL);
  g_signal_connect (main, "message-rejected", G_CALLBACK (on_rejected), &rejected);
  /* "hi" is 4 bytes. */
  child = test_child_spawn ("post-channel:port", "port-wait-closed", NULL);
  line = test_child_expect (child, "port-closed");
  g_free (test_child_finish (child, &status));
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  end = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (rejected == NULL)
    {
      if (g_get_monotonic_time () > end)
        g_error ("waited 30 s for message-rejected");
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_assert_error (rejected, EIPC_ERROR, EIPC_ERROR_LIMITS_EXCEEDED);
  g_assert_null (posted.event);
}

/* ---- renderer to renderer ---- */

typedef struct {
  GMutex     lock;
  GPtrArray *senders;    /* unique names of every message the bus carried */
  GPtrArray *what;       /* each one: "SENDER INTERFACE.MEMBER -> DESTINATION" */
} Monitor;

static GDBusMessage *
monitor_filter (GDBusConnection *connection,
                GDBusMessage    *message,
                gboolean         incoming,
                gpointer         user_data)
{
  Monitor *monitor = user_data;
  const char *sender = g_dbus_message_get_sender (message);

  if (incoming)
    {
      g_mutex_lock (&monitor->lock);
      g_ptr_array_add (monitor->senders, g_strdup (sender != NULL ? sender : ""));
      g_ptr_array_add (monitor->what, g_strdup_printf ("%s %s.%s -> %s", sender,
                                                       g_dbus_message_get_interface (message),
                                                       g_dbus_message_get_member (message),
                                                       g_dbus_message_get_destination (message)));
      g_mutex_unlock (&monitor->lock);
    }
  return message;
}

static guint
monitor_count_from (Monitor    *monitor,
                    const char *name)
{
  guint n = 0;

  g_mutex_lock (&monitor->lock);
  for (guint i = 0; i < monitor->senders->len; i++)
    if (g_strcmp0 (g_ptr_array_index (monitor->senders, i), name) == 0)
      n++;
  g_mutex_unlock (&monitor->lock);
  return n;
}

typedef struct {
  guint64  id1, id2;
  char    *name1, *name2;
  gint64   blocked_from, blocked_until;   /* set in the main's thread */
} Link;

/* In the main process's thread: a channel, one port to each renderer. */
static void
link_renderers (EipcMain *main,
                gpointer  user_data)
{
  Link *link = user_data;
  g_autoptr(EipcMessageChannel) channel = eipc_message_channel_new ();
  g_autoptr(GPtrArray) one = g_ptr_array_new ();
  g_autoptr(GPtrArray) two = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  EipcWebContents *wc1 = eipc_main_get_web_contents (main, link->id1);
  EipcWebContents *wc2 = eipc_main_get_web_contents (main, link->id2);

  g_assert_nonnull (wc1);
  g_assert_nonnull (wc2);
  link->name1 = g_strdup (eipc_web_contents_get_unique_name (wc1));
  link->name2 = g_strdup (eipc_web_contents_get_unique_name (wc2));
  g_ptr_array_add (one, eipc_message_channel_get_port1 (channel));
  g_ptr_array_add (two, eipc_message_channel_get_port2 (channel));
  g_assert_true (eipc_web_contents_post_message_json (wc1, "link", "1", one, &error));
  g_assert_no_error (error);
  g_assert_true (eipc_web_contents_post_message_json (wc2, "link", "2", two, &error));
  g_assert_no_error (error);
}

static double
test_scale (void)
{
  const char *text = g_getenv ("EIPC_TEST_SCALE");
  double scale = text != NULL ? g_ascii_strtod (text, NULL) : 1.0;

  return scale > 0 ? scale : 1.0;
}

/* The main process stops answering anything: its thread sleeps. */
static gboolean
block_main (gpointer user_data)
{
  Link *link = user_data;
  guint seconds = test_scale () < 1 ? 15 : 4;

  g_atomic_pointer_set (&link->blocked_from, g_get_monotonic_time ());
  g_usleep (seconds * G_USEC_PER_SEC);
  g_atomic_pointer_set (&link->blocked_until, g_get_monotonic_time ());
  return G_SOURCE_REMOVE;
}

static void
block_main_soon (EipcMain *main,
                 gpointer  user_data)
{
  GSource *idle = g_idle_source_new ();

  g_source_set_callback (idle, block_main, user_data, NULL);
  g_source_attach (idle, g_main_context_get_thread_default ());
  g_source_unref (idle);
}

static guint64
child_id (TestChild *child)
{
  g_autofree char *line = test_child_expect (child, "id ");

  return g_ascii_strtoull (line + 3, NULL, 10);
}

/* The main process links two renderers with a channel; they talk
 * directly: their burst crosses neither the main process (it is not
 * running then) nor the bus (a monitor sees no message from them). */
static void
test_renderer_to_renderer (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autofree char *line1 = NULL, *line2 = NULL, *burst = NULL;
  Monitor monitor = { .senders = g_ptr_array_new_with_free_func (g_free),
                      .what = g_ptr_array_new_with_free_func (g_free) };
  TestMainThread *thread;
  TestChild *r1, *r2;
  Link link = { 0 };
  g_autofree char *dir = NULL;
  g_autofree char *go = NULL, *burst_arg = NULL, *wait_arg = NULL, *want = NULL;
  guint n_burst = test_scale () < 1 ? 20 : 200;
  gint64 done_at;
  guint n_before1, n_before2;
  int status;

  g_mutex_init (&monitor.lock);
  thread = test_main_thread_start (TEST_APP_ID, NULL, NULL);
  dir = g_dir_make_tmp ("eipc-ports-XXXXXX", &error);
  g_assert_no_error (error);
  go = g_build_filename (dir, "go", NULL);
  burst_arg = g_strdup_printf ("port-burst:%u", n_burst);
  wait_arg = g_strdup_printf ("wait-file:%s", go);
  /* r1 sends a burst once the main process has stopped; r2 echoes. */
  r1 = test_child_spawn ("port-listen:link:count", "id", wait_arg, burst_arg,
                         "port-post:\"bye\"", "sleep:300", NULL);
  r2 = test_child_spawn ("port-listen:link:echo", "id", "port-wait-closed", NULL);
  link.id1 = child_id (r1);
  link.id2 = child_id (r2);

  connection = test_client_new ();
  g_dbus_connection_add_filter (connection, monitor_filter, &monitor, NULL);
  reply = g_dbus_connection_call_sync (connection, "org.freedesktop.DBus",
                                       "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus.Monitoring",
                                       "BecomeMonitor",
                                       g_variant_new ("(asu)", NULL, 0),
                                       NULL, G_DBUS_CALL_FLAGS_NONE, 10000,
                                       NULL, &error);
  g_assert_no_error (error);

  test_main_thread_call (thread, link_renderers, &link);
  line1 = test_child_expect (r1, "posted ");
  g_assert_cmpstr (line1, ==, "posted link [1] ports=1");
  line2 = test_child_expect (r2, "posted ");
  g_assert_cmpstr (line2, ==, "posted link [2] ports=1");

  n_before1 = monitor_count_from (&monitor, link.name1);
  n_before2 = monitor_count_from (&monitor, link.name2);
  test_main_thread_call (thread, block_main_soon, &link);
  while (g_atomic_pointer_get (&link.blocked_from) == 0)
    g_usleep (1000);
  g_assert_true (g_file_set_contents (go, "", 0, NULL));

  burst = test_child_expect (r1, "burst ");
  want = g_strdup_printf ("burst %u ok ", n_burst);
  g_assert_true (g_str_has_prefix (burst, want));
  done_at = g_ascii_strtoll (burst + strlen (want), NULL, 10);
  for (guint i = 0; i < monitor.what->len; i++)
    g_test_message ("bus: %s", (char *) g_ptr_array_index (monitor.what, i));
  /* Nothing of the link went over the bus: no message from either
   * renderer since the ports went out. (Later, when they exit, they
   * remove their match rules: that does.) */
  g_assert_cmpuint (monitor_count_from (&monitor, link.name1), ==, n_before1);
  g_assert_cmpuint (monitor_count_from (&monitor, link.name2), ==, n_before2);
  while (g_atomic_pointer_get (&link.blocked_until) == 0)
    g_usleep (1000);
  g_test_message ("burst done %.3f s into the main's %.1f s stop",
                  (done_at - link.blocked_from) / 1e6,
                  (link.blocked_until - link.blocked_from) / 1e6);
  g_assert_cmpint (done_at, >, link.blocked_from);
  g_assert_cmpint (done_at, <, link.blocked_until);


  /* r1 closes its port by exiting: r2 hears it and exits. */
  g_free (test_child_finish (r1, &status));
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  g_free (test_child_expect (r2, "port-closed"));
  g_free (test_child_finish (r2, &status));
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);

  g_unlink (go);
  g_rmdir (dir);
  test_main_thread_stop (thread);
  g_dbus_connection_close_sync (connection, NULL, NULL);
  g_ptr_array_unref (monitor.senders);
  g_ptr_array_unref (monitor.what);
  g_mutex_clear (&monitor.lock);
  g_free (link.name1);
  g_free (link.name2);
}

/* ---- a bus connection that cannot pass file descriptors ----
 *
 * A proxy between a client and the test bus that answers the client's
 * NEGOTIATE_UNIX_FD with ERROR (as a bus over TCP, or one that does not
 * take descriptors, would) and relays everything else: the client's
 * connection then cannot pass file descriptors, while the bus and every
 * other connection can. It runs in a thread of its own. */

typedef struct {
  int      client;
  int      bus;
  gboolean begun;       /* the client sent BEGIN */
  GString *from_client; /* lines of the authentication */
  GString *from_bus;
  GQueue   answers;     /* who answers each command: 'B' the bus, 'P' us */
} ProxyPair;

typedef struct {
  char      *dir;
  char      *path;
  char      *address;
  char      *bus_path;
  gboolean   bus_abstract;
  int        listener;
  int        wake[2];
  GPtrArray *pairs;
  GThread   *thread;
} NoFdsProxy;

static void
write_all (int         fd,
           const char *data,
           gsize       size)
{
  while (size > 0)
    {
      ssize_t n = write (fd, data, size);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;
      data += n;
      size -= n;
    }
}

static void
proxy_pair_free (gpointer data)
{
  ProxyPair *pair = data;

  close (pair->client);
  close (pair->bus);
  g_string_free (pair->from_client, TRUE);
  g_string_free (pair->from_bus, TRUE);
  g_queue_clear (&pair->answers);
  g_free (pair);
}

/* Authentication lines from the client: NEGOTIATE_UNIX_FD is ours to
 * refuse, in its turn among the bus's answers. */
static void
proxy_client_lines (ProxyPair *pair)
{
  char *end;

  /* The credentials byte before the first command. */
  if (!pair->begun && pair->from_client->len > 0 && pair->from_client->str[0] == '\0')
    {
      write_all (pair->bus, pair->from_client->str, 1);
      g_string_erase (pair->from_client, 0, 1);
    }
  while (!pair->begun && (end = strstr (pair->from_client->str, "\r\n")) != NULL)
    {
      gsize len = end - pair->from_client->str + 2;
      const char *line = pair->from_client->str;

      if (g_str_has_prefix (line, "NEGOTIATE_UNIX_FD\r\n"))
        {
          if (g_queue_is_empty (&pair->answers))
            write_all (pair->client, "ERROR\r\n", 7);
          else
            g_queue_push_tail (&pair->answers, GINT_TO_POINTER ('P'));
        }
      else
        {
          write_all (pair->bus, line, len);
          if (g_str_has_prefix (line, "BEGIN\r\n"))
            pair->begun = TRUE;
          else
            g_queue_push_tail (&pair->answers, GINT_TO_POINTER ('B'));
        }
      g_string_erase (pair->from_client, 0, len);
    }
  if (pair->begun && pair->from_client->len > 0)
    {
      write_all (pair->bus, pair->from_client->str, pair->from_client->len);
      g_string_truncate (pair->from_client, 0);
    }
}

static void
proxy_bus_lines (ProxyPair *pair)
{
  char *end;

  while (!g_queue_is_empty (&pair->answers) &&
         (end = strstr (pair->from_bus->str, "\r\n")) != NULL)
    {
      gsize len = end - pair->from_bus->str + 2;

      write_all (pair->client, pair->from_bus->str, len);
      g_string_erase (pair->from_bus, 0, len);
      g_queue_pop_head (&pair->answers);
      while (GPOINTER_TO_INT (g_queue_peek_head (&pair->answers)) == 'P')
        {
          g_queue_pop_head (&pair->answers);
          write_all (pair->client, "ERROR\r\n", 7);
        }
    }
  if (g_queue_is_empty (&pair->answers) && pair->begun && pair->from_bus->len > 0)
    {
      write_all (pair->client, pair->from_bus->str, pair->from_bus->len);
      g_string_truncate (pair->from_bus, 0);
    }
}

static int
proxy_connect_bus (NoFdsProxy *proxy)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  gsize len = strlen (proxy->bus_path);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpuint (len + 1, <, sizeof sa.sun_path);
  memcpy (sa.sun_path + (proxy->bus_abstract ? 1 : 0), proxy->bus_path, len);
  if (connect (fd, (struct sockaddr *) &sa,
               offsetof (struct sockaddr_un, sun_path) + len +
               (proxy->bus_abstract ? 1 : 0)) < 0)
    g_error ("proxy: cannot connect to the bus: %s", g_strerror (errno));
  return fd;
}

static gpointer
proxy_run (gpointer data)
{
  NoFdsProxy *proxy = data;

  for (;;)
    {
      g_autofree struct pollfd *fds = g_new0 (struct pollfd, 2 + 2 * proxy->pairs->len);
      guint n = 0;

      fds[n++] = (struct pollfd) { .fd = proxy->wake[0], .events = POLLIN };
      fds[n++] = (struct pollfd) { .fd = proxy->listener, .events = POLLIN };
      for (guint i = 0; i < proxy->pairs->len; i++)
        {
          ProxyPair *pair = g_ptr_array_index (proxy->pairs, i);

          fds[n++] = (struct pollfd) { .fd = pair->client, .events = POLLIN };
          fds[n++] = (struct pollfd) { .fd = pair->bus, .events = POLLIN };
        }
      if (poll (fds, n, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          g_error ("proxy: poll: %s", g_strerror (errno));
        }
      if (fds[0].revents != 0)
        return NULL;
      if (fds[1].revents & POLLIN)
        {
          int client = accept4 (proxy->listener, NULL, NULL, SOCK_CLOEXEC);

          if (client >= 0)
            {
              ProxyPair *pair = g_new0 (ProxyPair, 1);

              pair->client = client;
              pair->bus = proxy_connect_bus (proxy);
              pair->from_client = g_string_new (NULL);
              pair->from_bus = g_string_new (NULL);
              g_queue_init (&pair->answers);
              g_ptr_array_add (proxy->pairs, pair);
            }
        }
      for (guint i = 0, k = 2; i < proxy->pairs->len && k < n; k += 2)
        {
          ProxyPair *pair = g_ptr_array_index (proxy->pairs, i);
          gboolean gone = FALSE;
          char buf[65536];

          if (fds[k].revents != 0)
            {
              ssize_t got = read (pair->client, buf, sizeof buf);

              if (got <= 0)
                gone = TRUE;
              else
                {
                  g_string_append_len (pair->from_client, buf, got);
                  proxy_client_lines (pair);
                }
            }
          if (!gone && fds[k + 1].revents != 0)
            {
              ssize_t got = read (pair->bus, buf, sizeof buf);

              if (got <= 0)
                gone = TRUE;
              else
                {
                  g_string_append_len (pair->from_bus, buf, got);
                  proxy_bus_lines (pair);
                }
            }
          if (gone)
            g_ptr_array_remove_index (proxy->pairs, i);
          else
            i++;
        }
    }
}

static NoFdsProxy *
no_fds_proxy_start (const char *bus_address)
{
  NoFdsProxy *proxy = g_new0 (NoFdsProxy, 1);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  g_autoptr(GError) error = NULL;
  const char *key;

  if ((key = strstr (bus_address, "path=")) != NULL)
    proxy->bus_path = g_strndup (key + 5, strcspn (key + 5, ","));
  else if ((key = strstr (bus_address, "abstract=")) != NULL)
    {
      proxy->bus_path = g_strndup (key + 9, strcspn (key + 9, ","));
      proxy->bus_abstract = TRUE;
    }
  else
    g_error ("proxy: no unix path in %s", bus_address);
  proxy->dir = g_dir_make_tmp ("eipc-nofds-XXXXXX", &error);
  g_assert_no_error (error);
  proxy->path = g_build_filename (proxy->dir, "bus", NULL);
  proxy->address = g_strdup_printf ("unix:path=%s", proxy->path);
  proxy->listener = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_strlcpy (sa.sun_path, proxy->path, sizeof sa.sun_path);
  g_assert_cmpint (bind (proxy->listener, (struct sockaddr *) &sa, sizeof sa), ==, 0);
  g_assert_cmpint (listen (proxy->listener, 16), ==, 0);
  g_assert_cmpint (pipe2 (proxy->wake, O_CLOEXEC), ==, 0);
  proxy->pairs = g_ptr_array_new_with_free_func (proxy_pair_free);
  proxy->thread = g_thread_new ("no-fds-proxy", proxy_run, proxy);
  return proxy;
}

static void
no_fds_proxy_stop (NoFdsProxy *proxy)
{
  write_all (proxy->wake[1], "x", 1);
  g_thread_join (proxy->thread);
  g_ptr_array_unref (proxy->pairs);
  close (proxy->wake[0]);
  close (proxy->wake[1]);
  close (proxy->listener);
  g_unlink (proxy->path);
  g_rmdir (proxy->dir);
  g_free (proxy->path);
  g_free (proxy->dir);
  g_free (proxy->address);
  g_free (proxy->bus_path);
  g_free (proxy);
}

/* A renderer whose bus connection cannot pass file descriptors: posting
 * ports fails with a clear error on both sides, main process to renderer
 * and renderer to main process; nothing is dropped silently. The same
 * renderer still gets a post without ports. */
static void
test_no_fds (void)
{
  g_autofree char *saved = g_strdup (g_getenv ("DBUS_SESSION_BUS_ADDRESS"));
  g_autofree char *line = NULL;
  NoFdsProxy *proxy = no_fds_proxy_start (test_bus_address ());
  TestChild *main_child, *r1, *r2;
  int status;

  main_child = test_main_child_spawn ("link-renderers", "count:posted", NULL);
  g_free (test_child_expect (main_child, "ready"));

  /* r1 through the proxy: no descriptors. */
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", proxy->address, TRUE);
  r1 = test_child_spawn ("port-listen:link:print", "id", "post-channel:posted",
                         "send:posted:[]", "sync:count:[]", "port-wait:1", NULL);
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", saved, TRUE);
  g_free (test_child_expect (r1, "id "));

  /* Renderer to main process: refused at once, and said why. */
  line = test_child_expect (r1, "post-channel");
  g_assert_true (g_str_has_prefix (line, "post-channel ! "));
  g_assert_nonnull (strstr (line, "file descriptors"));
  g_clear_pointer (&line, g_free);
  /* The send after it arrives, and the refused post did not. */
  line = test_child_expect (r1, "sync count");
  g_assert_cmpstr (line, ==, "sync count = 1");
  g_clear_pointer (&line, g_free);

  /* Main process to renderer: the second renderer attaches, the main
   * process posts a port to each, and is told r1 cannot take it. */
  r2 = test_child_spawn ("port-listen:link:echo", "id", "port-wait-closed", NULL);
  g_free (test_child_expect (r2, "id "));
  line = test_child_expect (main_child, "link");
  g_assert_true (g_str_has_prefix (line, "link ! "));
  g_assert_nonnull (strstr (line, "file descriptors"));
  g_clear_pointer (&line, g_free);

  test_child_kill (r1);
  g_free (test_child_finish (r1, &status));
  test_child_kill (r2);
  g_free (test_child_finish (r2, &status));
  test_child_terminate (main_child);
  g_free (test_child_finish (main_child, &status));
  no_fds_proxy_stop (proxy);
}

/* The state letter of process @pid ('T' when stopped). */
static char
process_state (const char *pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/stat", pid);
  g_autofree char *text = NULL;
  const char *end;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return '?';
  end = strrchr (text, ')');
  return end != NULL && end[1] == ' ' ? end[2] : '?';
}

static void
wait_process_state (const char *pid,
                    char        state)
{
  gint64 end = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (process_state (pid) != state)
    {
      if (g_get_monotonic_time () > end)
        g_error ("process %s is in state %c, not %c", pid, process_state (pid), state);
      g_usleep (1000);
    }
}

/* The main process is a separate process (eipc-test-main) that links two
 * renderers, then is stopped with SIGSTOP: the renderers go on talking
 * through their port, a burst there and back; after SIGCONT the main
 * process serves again. */
static void
test_renderer_to_renderer_main_stopped (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL, *go = NULL, *go2 = NULL;
  g_autofree char *wait_go = NULL, *wait_go2 = NULL, *burst_arg = NULL;
  g_autofree char *want = NULL, *line = NULL;
  guint n_burst = test_scale () < 1 ? 20 : 500;
  TestChild *main_child, *r1, *r2;
  const char *main_pid;
  int status;

  dir = g_dir_make_tmp ("eipc-ports-XXXXXX", &error);
  g_assert_no_error (error);
  go = g_build_filename (dir, "go", NULL);
  go2 = g_build_filename (dir, "go2", NULL);
  wait_go = g_strdup_printf ("wait-file:%s", go);
  wait_go2 = g_strdup_printf ("wait-file:%s", go2);
  burst_arg = g_strdup_printf ("port-burst:%u", n_burst);

  main_child = test_main_child_spawn ("link-renderers", "handle:ping:\"pong\"", NULL);
  g_free (test_child_expect (main_child, "ready"));
  main_pid = test_child_pid (main_child);
  r1 = test_child_spawn ("port-listen:link:count", "id", wait_go, burst_arg,
                         wait_go2, "invoke:ping:[]", NULL);
  g_free (test_child_expect (r1, "id "));
  r2 = test_child_spawn ("port-listen:link:echo", "id", "port-wait-closed", NULL);
  g_free (test_child_expect (r2, "id "));
  g_free (test_child_expect (main_child, "linked"));
  line = test_child_expect (r1, "posted ");
  g_assert_cmpstr (line, ==, "posted link [1] ports=1");
  g_clear_pointer (&line, g_free);
  line = test_child_expect (r2, "posted ");
  g_assert_cmpstr (line, ==, "posted link [2] ports=1");
  g_clear_pointer (&line, g_free);

  /* The main process stops; the renderers talk all the same. */
  g_assert_cmpint (kill (atoi (main_pid), SIGSTOP), ==, 0);
  wait_process_state (main_pid, 'T');
  g_assert_true (g_file_set_contents (go, "", 0, NULL));
  line = test_child_expect (r1, "burst ");
  want = g_strdup_printf ("burst %u ok ", n_burst);
  g_assert_true (g_str_has_prefix (line, want));
  g_assert_cmpint (process_state (main_pid), ==, 'T');

  /* It goes on, and serves as before. */
  g_assert_cmpint (kill (atoi (main_pid), SIGCONT), ==, 0);
  g_assert_true (g_file_set_contents (go2, "", 0, NULL));
  g_clear_pointer (&line, g_free);
  line = test_child_expect (r1, "invoke ping");
  g_assert_cmpstr (line, ==, "invoke ping = \"pong\"");

  /* r1 exits, closing its port: r2 hears it. */
  g_free (test_child_finish (r1, &status));
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  g_free (test_child_expect (r2, "port-closed"));
  g_free (test_child_finish (r2, &status));
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  test_child_terminate (main_child);
  g_free (test_child_finish (main_child, &status));
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);

  g_unlink (go);
  g_unlink (go2);
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  test_bus_up ();

  g_test_add_func ("/ipc/port/bus/main-to-renderer", test_main_to_renderer);
  g_test_add_func ("/ipc/port/bus/main-to-renderer-used", test_main_to_renderer_used);
  g_test_add_func ("/ipc/port/bus/renderer-to-main", test_renderer_to_main);
  g_test_add_func ("/ipc/port/bus/renderer-to-renderer", test_renderer_to_renderer);
  g_test_add_func ("/ipc/port/bus/renderer-to-main-refused", test_renderer_to_main_refused);
  g_test_add_func ("/ipc/port/bus/no-fds", test_no_fds);
  g_test_add_func ("/ipc/port/bus/renderer-to-renderer-main-stopped",
                   test_renderer_to_renderer_main_stopped);

  ret = g_test_run ();
  test_bus_down ();
  return ret;
}
