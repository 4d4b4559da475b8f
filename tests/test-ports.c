/* test-ports.c: message ports (MessageChannelMain, MessagePortMain)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Ports in one process, and with the other end in a child process (the
 * eipc-test-port helper, given the socket as its fd 3): messages queue
 * until start(), JSON and binary data (inline and as a sealed memfd),
 * close from either side and by kill -9, ports passed through ports,
 * transferred ports unusable, a bounded queue towards a stopped reader,
 * a peer that sends garbage, and no file descriptor left behind.
 * EIPC_TEST_SCALE (a factor, 1 by default) shrinks the 100 MiB transfer
 * for valgrind.
 */

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test-common.h"

static double
test_scale (void)
{
  const char *text = g_getenv ("EIPC_TEST_SCALE");
  double scale = text != NULL ? g_ascii_strtod (text, NULL) : 1.0;

  return scale > 0 ? scale : 1.0;
}

static gint
compare_lines (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(char * const *) a, *(char * const *) b);
}

/* The open sockets and memfds (what ports use), as "FD:TARGET" lines.
 * GLib's own descriptors (eventfds, the pidfds of children it reaps in
 * its worker thread) come and go on their own schedule. */
static char *
list_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_strconcat ("/proc/self/fd/", name, NULL);
      g_autofree char *target = g_file_read_link (path, NULL);

      if (target == NULL ||
          !(g_str_has_prefix (target, "socket:") || g_str_has_prefix (target, "/memfd:")))
        continue;
      g_ptr_array_add (lines, g_strdup_printf ("%s:%s", name, target));
    }
  g_ptr_array_sort (lines, compare_lines);
  g_ptr_array_add (lines, NULL);
  return g_strjoinv ("\n", (char **) lines->pdata);
}

/* What one port received. */
typedef struct {
  GPtrArray *events;    /* EipcEvent */
  guint      n_closed;
} Inbox;

static void
inbox_message (EipcMessagePort *port,
               EipcEvent       *event,
               gpointer         user_data)
{
  Inbox *inbox = user_data;

  g_assert_cmpint (eipc_event_get_kind (event), ==, EIPC_EVENT_PORT_MESSAGE);
  g_ptr_array_add (inbox->events, g_object_ref (event));
}

static void
inbox_close (EipcMessagePort *port,
             gpointer         user_data)
{
  Inbox *inbox = user_data;

  inbox->n_closed++;
}

static void
inbox_init (Inbox           *inbox,
            EipcMessagePort *port)
{
  inbox->events = g_ptr_array_new_with_free_func (g_object_unref);
  inbox->n_closed = 0;
  g_signal_connect (port, "message", G_CALLBACK (inbox_message), inbox);
  g_signal_connect (port, "close", G_CALLBACK (inbox_close), inbox);
}

static void
inbox_clear (Inbox           *inbox,
             EipcMessagePort *port)
{
  g_signal_handlers_disconnect_by_data (port, inbox);
  g_clear_pointer (&inbox->events, g_ptr_array_unref);
}

/* Iterates until @inbox holds @n events. */
static void
inbox_wait (Inbox *inbox,
            guint  n)
{
  gint64 end = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (inbox->events->len < n)
    {
      if (g_get_monotonic_time () > end)
        g_error ("waited 60 s for %u messages, have %u", n, inbox->events->len);
      g_main_context_iteration (NULL, TRUE);
    }
}

static void
inbox_wait_closed (Inbox *inbox)
{
  gint64 end = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (inbox->n_closed == 0)
    {
      if (g_get_monotonic_time () > end)
        g_error ("waited 30 s for close");
      g_main_context_iteration (NULL, TRUE);
    }
}

static const char *
inbox_json (Inbox *inbox,
            guint  i)
{
  return eipc_event_get_data_json (g_ptr_array_index (inbox->events, i));
}

/* ---- in one process ---- */

/* Events nobody keeps are reused (eipc_event_release()): an event a
 * listener keeps stays as it was, data set on an event does not show on
 * the next one, and each event's data is its own. */
typedef struct {
  GString   *log;
  GPtrArray *kept;
  guint      n;
} KeepInbox;

static void
keep_or_mark (EipcMessagePort *port,
              EipcEvent       *event,
              gpointer         user_data)
{
  KeepInbox *inbox = user_data;
  const char *json = eipc_event_get_data_json (event);
  JsonNode *data = eipc_event_get_data (event);

  g_assert_null (g_object_get_data (G_OBJECT (event), "test-mark"));
  g_assert_cmpuint (eipc_event_get_ports (event)->len, ==, 0);
  g_assert_cmpint (json_node_get_int (data), ==, atoi (json));
  g_string_append_printf (inbox->log, "%s,", json);
  if (atoi (json) % 4 == 1)
    g_ptr_array_add (inbox->kept, g_object_ref (event));
  else if (atoi (json) % 4 == 2)
    g_object_set_data (G_OBJECT (event), "test-mark", inbox);
  inbox->n++;
}

static void
test_kept_events (void)
{
  g_autoptr(EipcMessageChannel) channel = eipc_message_channel_new ();
  EipcMessagePort *port1 = eipc_message_channel_get_port1 (channel);
  EipcMessagePort *port2 = eipc_message_channel_get_port2 (channel);
  g_autoptr(GError) error = NULL;
  KeepInbox inbox = { g_string_new (NULL),
                      g_ptr_array_new_with_free_func (g_object_unref), 0 };
  gint64 end = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  g_signal_connect (port2, "message", G_CALLBACK (keep_or_mark), &inbox);
  /* 1-4 wait for start() (the delivery), 5-8 come at once (the filter). */
  for (int i = 1; i <= 8; i++)
    {
      g_autofree char *json = g_strdup_printf ("%d", i);

      if (i == 5)
        {
          eipc_message_port_start (port2);
          while (inbox.n < 4)
            {
              g_assert_cmpint (g_get_monotonic_time (), <, end);
              g_main_context_iteration (NULL, TRUE);
            }
        }
      g_assert_true (eipc_message_port_post_message_json (port1, json, NULL, &error));
      g_assert_no_error (error);
    }
  while (inbox.n < 8)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, end);
      g_main_context_iteration (NULL, TRUE);
    }
  g_assert_cmpstr (inbox.log->str, ==, "1,2,3,4,5,6,7,8,");
  g_assert_cmpuint (inbox.kept->len, ==, 2);
  g_assert_cmpstr (eipc_event_get_data_json (g_ptr_array_index (inbox.kept, 0)), ==, "1");
  g_assert_cmpint (json_node_get_int (eipc_event_get_data (g_ptr_array_index (inbox.kept, 0))), ==, 1);
  g_assert_cmpstr (eipc_event_get_data_json (g_ptr_array_index (inbox.kept, 1)), ==, "5");
  g_assert_cmpint (eipc_event_get_kind (g_ptr_array_index (inbox.kept, 1)), ==,
                   EIPC_EVENT_PORT_MESSAGE);
  g_signal_handlers_disconnect_by_data (port2, &inbox);
  g_ptr_array_unref (inbox.kept);
  g_string_free (inbox.log, TRUE);
}

/* port1 and port2 are entangled: what one posts, the other gets, in
 * order, once started; messages posted before start() wait. */
static void
test_channel (void)
{
  g_autoptr(EipcMessageChannel) channel = eipc_message_channel_new ();
  EipcMessagePort *port1 = eipc_message_channel_get_port1 (channel);
  EipcMessagePort *port2 = eipc_message_channel_get_port2 (channel);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  EipcMessagePort *p1 = NULL, *p2 = NULL;
  Inbox in1, in2;
  JsonNode *data;
  guint n;

  g_assert_true (EIPC_IS_MESSAGE_PORT (port1));
  g_assert_true (EIPC_IS_MESSAGE_PORT (port2));
  g_assert_true (port1 != port2);
  g_object_get (channel, "port1", &p1, "port2", &p2, NULL);
  g_assert_true (p1 == port1 && p2 == port2);
  g_object_unref (p1);
  g_object_unref (p2);

  inbox_init (&in1, port1);
  inbox_init (&in2, port2);

  g_assert_true (eipc_message_port_post_message_json (port1, "{\"n\":1}", NULL, &error));
  g_assert_no_error (error);
  node = json_from_string ("[\"two\",2]", NULL);
  g_assert_true (eipc_message_port_post_message (port1, node, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (eipc_message_port_post_message (port1, NULL, NULL, &error));
  g_assert_no_error (error);

  /* Not started: nothing arrives. */
  test_spin (200);
  g_assert_cmpuint (in2.events->len, ==, 0);

  eipc_message_port_start (port2);
  inbox_wait (&in2, 3);
  g_assert_cmpstr (inbox_json (&in2, 0), ==, "{\"n\":1}");
  g_assert_cmpstr (inbox_json (&in2, 1), ==, "[\"two\",2]");
  g_assert_cmpstr (inbox_json (&in2, 2), ==, "null");
  data = eipc_event_get_data (g_ptr_array_index (in2.events, 0));
  g_assert_true (JSON_NODE_HOLDS_OBJECT (data));
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (data), "n"), ==, 1);
  g_assert_null (eipc_event_get_bytes (g_ptr_array_index (in2.events, 0)));
  g_assert_cmpuint (eipc_event_get_ports (g_ptr_array_index (in2.events, 0))->len, ==, 0);
  g_assert_null (eipc_event_get_channel (g_ptr_array_index (in2.events, 0)));
  g_assert_nonnull (eipc_event_get_args (g_ptr_array_index (in2.events, 1)));

  /* The other way. */
  eipc_message_port_start (port1);
  g_assert_true (eipc_message_port_post_message_json (port2, "\"back\"", NULL, &error));
  inbox_wait (&in1, 1);
  g_assert_cmpstr (inbox_json (&in1, 0), ==, "\"back\"");

  /* Refused texts, and the port is still fine after. */
  g_assert_false (eipc_message_port_post_message_json (port1, "{", NULL, &error));
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS);
  g_clear_error (&error);
  g_assert_false (eipc_message_port_post_message_json (port1, "\"\xff\"", NULL, &error));
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS);
  g_clear_error (&error);
  g_assert_true (eipc_message_port_post_message_json (port1, "4", NULL, &error));
  inbox_wait (&in2, 4);
  g_assert_cmpstr (inbox_json (&in2, 3), ==, "4");

  /* Text beyond ASCII arrives as it was posted. A noncharacter (U+FFFE)
   * is valid UTF-8 and JSON, but sd-bus refuses it in a string: either
   * it arrives, or the post fails; the port stays open. */
  g_assert_true (eipc_message_port_post_message_json (port1, "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]",
                                                      NULL, &error));
  g_assert_no_error (error);
  inbox_wait (&in2, 5);
  g_assert_cmpstr (inbox_json (&in2, 4), ==, "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]");
  if (eipc_message_port_post_message_json (port1, "\"\xef\xbf\xbe\"", NULL, &error))
    {
      inbox_wait (&in2, 6);
      g_assert_cmpstr (inbox_json (&in2, 5), ==, "\"\xef\xbf\xbe\"");
    }
  g_clear_error (&error);
  n = in2.events->len;
  g_assert_true (eipc_message_port_post_message_json (port1, "5", NULL, &error));
  g_assert_no_error (error);
  inbox_wait (&in2, n + 1);
  g_assert_cmpstr (inbox_json (&in2, n), ==, "5");

  g_assert_cmpuint (in1.n_closed + in2.n_closed, ==, 0);
  inbox_clear (&in1, port1);
  inbox_clear (&in2, port2);
}

static GBytes *
pattern_bytes (gsize size,
               guint seed)
{
  guint8 *data = g_malloc (size > 0 ? size : 1);

  for (gsize i = 0; i < size; i++)
    data[i] = (guint8) ((i * 31 + seed) ^ (i >> 9));
  return g_bytes_new_take (data, size);
}

/* Binary data inline and, above the threshold, as a sealed memfd that
 * arrives as a read-only mapping. */
static void
test_bytes (void)
{
  g_autoptr(EipcMessageChannel) channel = eipc_message_channel_new ();
  EipcMessagePort *port1 = eipc_message_channel_get_port1 (channel);
  EipcMessagePort *port2 = eipc_message_channel_get_port2 (channel);
  gsize sizes[] = { 0, 1, 4096, EIPC_MESSAGE_PORT_INLINE_MAX,
                    EIPC_MESSAGE_PORT_INLINE_MAX + 1, 3 * 1024 * 1024 + 7 };
  g_autoptr(GError) error = NULL;
  Inbox in2;

  inbox_init (&in2, port2);
  eipc_message_port_start (port2);
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr(GBytes) bytes = pattern_bytes (sizes[i], i);

      g_assert_true (eipc_message_port_post_bytes (port1, bytes, &error));
      g_assert_no_error (error);
    }
  inbox_wait (&in2, G_N_ELEMENTS (sizes));
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr(GBytes) want = pattern_bytes (sizes[i], i);
      EipcEvent *event = g_ptr_array_index (in2.events, i);
      GBytes *have = eipc_event_get_bytes (event);

      g_assert_nonnull (have);
      g_assert_null (eipc_event_get_data_json (event));
      g_assert_null (eipc_event_get_data (event));
      g_assert_true (g_bytes_equal (want, have));
    }
  inbox_clear (&in2, port2);
}

/* close() on one end: the other emits close after the messages posted
 * before; posting fails on both from then on. */
static void
test_close (void)
{
  g_autoptr(EipcMessageChannel) channel = eipc_message_channel_new ();
  EipcMessagePort *port1 = eipc_message_channel_get_port1 (channel);
  EipcMessagePort *port2 = eipc_message_channel_get_port2 (channel);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) big = pattern_bytes (200000, 3);
  Inbox in1, in2;

  inbox_init (&in1, port1);
  inbox_init (&in2, port2);
  eipc_message_port_start (port1);
  eipc_message_port_start (port2);
  g_assert_true (eipc_message_port_post_message_json (port1, "1", NULL, &error));
  g_assert_true (eipc_message_port_post_bytes (port1, big, &error));
  g_assert_no_error (error);
  eipc_message_port_close (port1);
  g_assert_true (eipc_message_port_is_closed (port1));
  eipc_message_port_close (port1);

  inbox_wait_closed (&in2);
  g_assert_cmpuint (in2.events->len, ==, 2);
  g_assert_cmpstr (inbox_json (&in2, 0), ==, "1");
  g_assert_true (g_bytes_equal (big, eipc_event_get_bytes (g_ptr_array_index (in2.events, 1))));
  g_assert_cmpuint (in2.n_closed, ==, 1);
  g_assert_true (eipc_message_port_is_closed (port2));
  g_assert_cmpuint (in1.n_closed, ==, 0);

  g_assert_false (eipc_message_port_post_message_json (port2, "2", NULL, &error));
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_DISCONNECTED);
  g_clear_error (&error);
  g_assert_false (eipc_message_port_post_bytes (port1, big, &error));
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_DISCONNECTED);
  g_clear_error (&error);

  test_spin (50);
  g_assert_cmpuint (in2.n_closed, ==, 1);
  inbox_clear (&in1, port1);
  inbox_clear (&in2, port2);
}

/* A port through a port; the transferred port is unusable by its
 * sender; what cannot be transferred is refused without harm. */
static void
test_transfer (void)
{
  g_autoptr(EipcMessageChannel) a = eipc_message_channel_new ();
  g_autoptr(EipcMessageChannel) b = eipc_message_channel_new ();
  g_autoptr(GPtrArray) ports = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  EipcMessagePort *received;
  Inbox in_a1, in_a2, in_b1, in_received;

  inbox_init (&in_a2, eipc_message_channel_get_port2 (a));
  inbox_init (&in_b1, eipc_message_channel_get_port1 (b));
  eipc_message_port_start (eipc_message_channel_get_port2 (a));
  eipc_message_port_start (eipc_message_channel_get_port1 (b));

  /* Refused: the port itself, its other end, twice the same. */
  g_ptr_array_add (ports, eipc_message_channel_get_port1 (a));
  g_assert_false (eipc_message_port_post_message_json (eipc_message_channel_get_port1 (a),
                                                       "0", ports, &error));
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS);
  g_clear_error (&error);
  g_ptr_array_set_size (ports, 0);
  g_ptr_array_add (ports, eipc_message_channel_get_port2 (a));
  g_assert_false (eipc_message_port_post_message_json (eipc_message_channel_get_port1 (a),
                                                       "0", ports, &error));
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS);
  g_clear_error (&error);
  g_ptr_array_set_size (ports, 0);
  g_ptr_array_add (ports, eipc_message_channel_get_port2 (b));
  g_ptr_array_add (ports, eipc_message_channel_get_port2 (b));
  g_assert_false (eipc_message_port_post_message_json (eipc_message_channel_get_port1 (a),
                                                       "0", ports, &error));
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS);
  g_clear_error (&error);
  g_assert_false (eipc_message_port_is_transferred (eipc_message_channel_get_port2 (b)));

  /* b.port2 through a. */
  g_ptr_array_set_size (ports, 1);
  g_assert_true (eipc_message_port_post_message_json (eipc_message_channel_get_port1 (a),
                                                      "\"take\"", ports, &error));
  g_assert_no_error (error);
  g_assert_true (eipc_message_port_is_transferred (eipc_message_channel_get_port2 (b)));
  g_assert_false (eipc_message_port_post_message_json (eipc_message_channel_get_port2 (b),
                                                       "1", NULL, &error));
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS);
  g_assert_nonnull (strstr (error->message, "transferred"));
  g_clear_error (&error);
  g_assert_cmpint (eipc_message_port_steal_fd (eipc_message_channel_get_port2 (b), NULL,
                                               &error), ==, -1);
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS);
  g_clear_error (&error);

  inbox_wait (&in_a2, 1);
  g_assert_cmpstr (inbox_json (&in_a2, 0), ==, "\"take\"");
  g_assert_cmpuint (eipc_event_get_ports (g_ptr_array_index (in_a2.events, 0))->len, ==, 1);
  received = g_ptr_array_index (eipc_event_get_ports (g_ptr_array_index (in_a2.events, 0)), 0);
  g_assert_true (EIPC_IS_MESSAGE_PORT (received));
  inbox_init (&in_received, received);
  eipc_message_port_start (received);

  /* The received port talks with b.port1 both ways. */
  g_assert_true (eipc_message_port_post_message_json (received, "\"via\"", NULL, &error));
  g_assert_true (eipc_message_port_post_message_json (eipc_message_channel_get_port1 (b),
                                                      "\"back\"", NULL, &error));
  g_assert_no_error (error);
  inbox_wait (&in_b1, 1);
  inbox_wait (&in_received, 1);
  g_assert_cmpstr (inbox_json (&in_b1, 0), ==, "\"via\"");
  g_assert_cmpstr (inbox_json (&in_received, 0), ==, "\"back\"");

  /* A port that was used moves on, with its other end following it. */
  g_ptr_array_set_size (ports, 0);
  g_ptr_array_add (ports, received);
  g_assert_true (eipc_message_port_post_message_json (eipc_message_channel_get_port2 (a),
                                                      "\"again\"", ports, &error));
  g_assert_no_error (error);
  g_assert_true (eipc_message_port_is_transferred (received));
  inbox_clear (&in_received, received);
  inbox_init (&in_a1, eipc_message_channel_get_port1 (a));
  eipc_message_port_start (eipc_message_channel_get_port1 (a));
  inbox_wait (&in_a1, 1);
  g_assert_cmpstr (inbox_json (&in_a1, 0), ==, "\"again\"");
  received = g_ptr_array_index (eipc_event_get_ports (g_ptr_array_index (in_a1.events, 0)), 0);
  inbox_init (&in_received, received);
  eipc_message_port_start (received);
  g_assert_true (eipc_message_port_post_message_json (eipc_message_channel_get_port1 (b),
                                                      "\"moved\"", NULL, &error));
  g_assert_true (eipc_message_port_post_message_json (received, "\"here\"", NULL, &error));
  g_assert_no_error (error);
  inbox_wait (&in_received, 1);
  inbox_wait (&in_b1, 2);
  g_assert_cmpstr (inbox_json (&in_received, 0), ==, "\"moved\"");
  g_assert_cmpstr (inbox_json (&in_b1, 1), ==, "\"here\"");

  /* Closing it is heard at the other end, though the event that brought
   * it (whose message holds a copy of the socket) is still alive. */
  eipc_message_port_close (received);
  inbox_wait_closed (&in_b1);
  inbox_clear (&in_received, received);
  inbox_clear (&in_a1, eipc_message_channel_get_port1 (a));
  g_ptr_array_set_size (in_a2.events, 0);

  inbox_clear (&in_a2, eipc_message_channel_get_port2 (a));
  inbox_clear (&in_b1, eipc_message_channel_get_port1 (b));
}

/* ---- with the other end in a child process ---- */

typedef struct {
  EipcMessagePort *port;
  TestChild       *child;
  Inbox            inbox;
} Peer;

/* A channel whose port2 goes to an eipc-test-port child. */
static void
peer_start (Peer       *p,
            const char *mode)
{
  g_autoptr(EipcMessageChannel) channel = eipc_message_channel_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  gboolean server = TRUE;
  int fd;

  p->port = g_object_ref (eipc_message_channel_get_port1 (channel));
  fd = eipc_message_port_steal_fd (eipc_message_channel_get_port2 (channel),
                                   &server, &error);
  g_assert_no_error (error);
  g_assert_cmpint (fd, >=, 0);
  g_assert_false (server);
  p->child = test_helper_spawn_with_fd ("eipc-test-port", fd, "client", mode, NULL);
  line = test_child_expect (p->child, "ready");
  inbox_init (&p->inbox, p->port);
  eipc_message_port_start (p->port);
}

static void
peer_finish (Peer *p)
{
  g_autofree char *out = NULL;
  int status;

  eipc_message_port_close (p->port);
  out = test_child_finish (p->child, &status);
  g_assert_true (WIFEXITED (status) || WIFSIGNALED (status));
  inbox_clear (&p->inbox, p->port);
  g_assert_finalize_object (p->port);
}

/* JSON and binary data to another process and back; 100 MiB once. */
static void
test_process_echo (void)
{
  gsize sizes[] = { 16, EIPC_MESSAGE_PORT_INLINE_MAX, 1024 * 1024 };
  gsize big = (gsize) (100 * 1024 * 1024 * test_scale ());
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) large = pattern_bytes (big, 9);
  g_autofree char *sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, large);
  g_autofree char *want = g_strdup_printf ("{\"size\":%" G_GSIZE_FORMAT
                                           ",\"sha256\":\"%s\"}", big, sum);
  guint n = 0;
  Peer p;

  peer_start (&p, "echo");
  g_assert_true (eipc_message_port_post_message_json (p.port, "{\"hello\":[1,2,3]}", NULL, &error));
  n++;
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++, n++)
    {
      g_autoptr(GBytes) bytes = pattern_bytes (sizes[i], i);

      g_assert_true (eipc_message_port_post_bytes (p.port, bytes, &error));
      g_assert_no_error (error);
    }
  g_assert_true (eipc_message_port_post_bytes (p.port, large, &error));
  g_assert_no_error (error);
  n++;
  inbox_wait (&p.inbox, n);

  g_assert_cmpstr (inbox_json (&p.inbox, 0), ==, "{\"hello\":[1,2,3]}");
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr(GBytes) bytes = pattern_bytes (sizes[i], i);

      g_assert_true (g_bytes_equal (bytes, eipc_event_get_bytes (g_ptr_array_index (p.inbox.events, i + 1))));
    }
  g_assert_cmpstr (inbox_json (&p.inbox, n - 1), ==, want);
  peer_finish (&p);
}

/* A port passed through a port to the other process: the two talk on
 * it; closing it there closes it here. */
static void
test_process_port_through_port (void)
{
  g_autoptr(EipcMessageChannel) channel = eipc_message_channel_new ();
  g_autoptr(GPtrArray) ports = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  EipcMessagePort *mine = eipc_message_channel_get_port1 (channel);
  Inbox in;
  Peer p;

  peer_start (&p, "echo");
  g_ptr_array_add (ports, eipc_message_channel_get_port2 (channel));
  g_assert_true (eipc_message_port_post_message_json (p.port, "\"a port\"", ports, &error));
  g_assert_no_error (error);
  inbox_init (&in, mine);
  eipc_message_port_start (mine);
  g_assert_true (eipc_message_port_post_message_json (mine, "\"through\"", NULL, &error));
  inbox_wait (&in, 1);
  g_assert_cmpstr (inbox_json (&in, 0), ==, "\"through\"");
  inbox_wait (&p.inbox, 1);
  g_assert_cmpstr (inbox_json (&p.inbox, 0), ==, "\"a port\"");

  /* The helper closes the port it gets "close" on. */
  g_assert_true (eipc_message_port_post_message_json (mine, "\"close\"", NULL, &error));
  inbox_wait_closed (&in);
  g_assert_cmpuint (p.inbox.n_closed, ==, 0);
  g_assert_false (eipc_message_port_post_message_json (mine, "1", NULL, &error));
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_DISCONNECTED);
  inbox_clear (&in, mine);
  peer_finish (&p);
}

/* Posts @n messages "0".."n-1" from @port. */
static void
post_numbers (EipcMessagePort *port,
              guint            from,
              guint            to)
{
  g_autoptr(GError) error = NULL;

  for (guint i = from; i < to; i++)
    {
      g_autofree char *json = g_strdup_printf ("%u", i);

      g_assert_true (eipc_message_port_post_message_json (port, json, NULL, &error));
      g_assert_no_error (error);
    }
}

/* @inbox holds @first, then the numbers @from..@to-1. */
static void
assert_numbers (Inbox      *inbox,
                const char *first,
                guint       from,
                guint       to)
{
  g_assert_cmpuint (inbox->events->len, ==, 1 + to - from);
  g_assert_cmpstr (inbox_json (inbox, 0), ==, first);
  for (guint i = from; i < to; i++)
    {
      g_autofree char *json = g_strdup_printf ("%u", i);

      g_assert_cmpstr (inbox_json (inbox, 1 + i - from), ==, json);
    }
}

/* A port that was used here (started, posted to, received on) moves to
 * another process as Electron's does: what was posted to it and not
 * delivered here yet (in flight, or queued because it was not started)
 * goes with it, in order, before what is posted after the move. */
static void
test_process_transfer_used (void)
{
  g_autoptr(EipcMessageChannel) a = eipc_message_channel_new ();
  g_autoptr(EipcMessageChannel) d = eipc_message_channel_new ();
  g_autoptr(GPtrArray) ports = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  EipcMessagePort *a1 = eipc_message_channel_get_port1 (a);
  EipcMessagePort *a2 = eipc_message_channel_get_port2 (a);
  EipcMessagePort *d1 = eipc_message_channel_get_port1 (d);
  EipcMessagePort *d2 = eipc_message_channel_get_port2 (d);
  Inbox in_a1, in_a2, in_d1, in_d2;
  Peer p;

  peer_start (&p, "echo");
  inbox_init (&in_a1, a1);
  inbox_init (&in_a2, a2);
  inbox_init (&in_d1, d1);
  inbox_init (&in_d2, d2);

  /* a1: started, received, posted; then 50 messages in flight to it. */
  eipc_message_port_start (a1);
  eipc_message_port_start (a2);
  g_assert_true (eipc_message_port_post_message_json (a2, "\"first\"", NULL, &error));
  inbox_wait (&in_a1, 1);
  g_assert_true (eipc_message_port_post_message_json (a1, "\"from a1\"", NULL, &error));
  inbox_wait (&in_a2, 1);
  post_numbers (a2, 0, 50);
  g_ptr_array_add (ports, a1);
  g_assert_true (eipc_message_port_post_message_json (p.port, "\"take a1\"", ports, &error));
  g_assert_no_error (error);
  g_assert_true (eipc_message_port_is_transferred (a1));
  g_assert_false (eipc_message_port_post_message_json (a1, "0", NULL, &error));
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS);
  g_clear_error (&error);
  post_numbers (a2, 50, 100);

  /* d1: posted to but never started, with messages waiting for start(). */
  g_assert_true (eipc_message_port_post_message_json (d1, "\"from d1\"", NULL, &error));
  eipc_message_port_start (d2);
  post_numbers (d2, 0, 20);
  inbox_wait (&in_d2, 1);
  test_spin (100);
  g_ptr_array_set_size (ports, 0);
  g_ptr_array_add (ports, d1);
  g_assert_true (eipc_message_port_post_message_json (p.port, "\"take d1\"", ports, &error));
  g_assert_no_error (error);
  post_numbers (d2, 20, 40);

  /* The child echoes all of it, from the new holder. */
  inbox_wait (&in_a2, 101);
  inbox_wait (&in_d2, 41);
  assert_numbers (&in_a2, "\"from a1\"", 0, 100);
  assert_numbers (&in_d2, "\"from d1\"", 0, 40);
  g_assert_cmpuint (in_a1.events->len, ==, 1);
  g_assert_cmpuint (in_d1.events->len, ==, 0);
  inbox_wait (&p.inbox, 2);
  g_assert_cmpstr (inbox_json (&p.inbox, 0), ==, "\"take a1\"");
  g_assert_cmpstr (inbox_json (&p.inbox, 1), ==, "\"take d1\"");

  /* The moved port closes there: heard here. */
  g_assert_true (eipc_message_port_post_message_json (a2, "\"close\"", NULL, &error));
  inbox_wait_closed (&in_a2);
  g_assert_cmpuint (in_a1.n_closed, ==, 0);

  inbox_clear (&in_a1, a1);
  inbox_clear (&in_a2, a2);
  inbox_clear (&in_d1, d1);
  inbox_clear (&in_d2, d2);
  peer_finish (&p);
}

/* kill -9 of the process holding the other end: close at once, then
 * posts fail. */
static void
test_process_killed (void)
{
  g_autoptr(GError) error = NULL;
  gint64 start;
  Peer p;

  peer_start (&p, "echo");
  g_assert_true (eipc_message_port_post_message_json (p.port, "1", NULL, &error));
  inbox_wait (&p.inbox, 1);
  start = g_get_monotonic_time ();
  test_child_kill (p.child);
  inbox_wait_closed (&p.inbox);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  g_assert_true (eipc_message_port_is_closed (p.port));
  g_assert_false (eipc_message_port_post_message_json (p.port, "2", NULL, &error));
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_DISCONNECTED);
  g_clear_error (&error);
  peer_finish (&p);
}

/* The other process closes its end when asked: close here, once. */
static void
test_process_closes (void)
{
  g_autoptr(GError) error = NULL;
  Peer p;

  peer_start (&p, "echo");
  g_assert_true (eipc_message_port_post_message_json (p.port, "\"close\"", NULL, &error));
  inbox_wait_closed (&p.inbox);
  g_assert_cmpuint (p.inbox.events->len, ==, 0);
  peer_finish (&p);
}

/* A reader that stopped (SIGSTOP) bounds the sender's queue: posts fail
 * with LimitsExceeded instead of growing it without end; the messages
 * still arrive once it reads again. */
static void
test_process_slow_receiver (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) chunk = pattern_bytes (60000, 1);
  GPid pid;
  guint sent = 0;
  Peer p;

  peer_start (&p, "echo");
  g_assert_true (eipc_message_port_post_message_json (p.port, "0", NULL, &error));
  inbox_wait (&p.inbox, 1);
  pid = atoi (test_child_pid (p.child));
  g_assert_no_errno (kill (pid, SIGSTOP));
  for (sent = 0; sent < 100000; sent++)
    if (!eipc_message_port_post_bytes (p.port, chunk, &error))
      break;
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_LIMITS_EXCEEDED);
  g_clear_error (&error);
  g_assert_cmpuint (sent, >, 10);
  g_assert_cmpuint (sent, <, 100000);
  g_assert_no_errno (kill (pid, SIGCONT));
  inbox_wait (&p.inbox, 1 + sent);
  peer_finish (&p);
}

/* ---- a peer that sends garbage ---- */

/* Bytes that are no D-Bus at all: during the handshake (sd-bus answers
 * REJECTED and waits, so the peer hangs up), and after a good handshake
 * (the peer keeps the socket open): the port emits close, and nothing
 * else happens. */
static void
test_garbage (void)
{
  static const char auth_garbage[] = "\0AUTH nonsense\r\nGET / HTTP/1.1\r\n\r\n";
  static const char text_garbage[] =
    "\0AUTH ANONYMOUS\r\nBEGIN\r\nGET / HTTP/1.1\r\n\r\n............";
  static const char header_garbage[] =
    "\0AUTH ANONYMOUS\r\nBEGIN\r\n"
    "l\x04\x01\x01\xff\xff\xff\x7f\x01\0\0\0\xff\xff\xff\xff";
  static const struct {
    const char *data;
    gsize       len;
  } garbage[] = {
    { auth_garbage, sizeof auth_garbage - 1 },
    { text_garbage, sizeof text_garbage - 1 },
    { header_garbage, sizeof header_garbage - 1 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (garbage); i++)
    {
      g_autoptr(EipcMessagePort) port = NULL;
      g_autoptr(GError) error = NULL;
      gsize len = garbage[i].len;
      int fds[2];
      Inbox in;

      g_assert_no_errno (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds));
      port = eipc_message_port_new_for_fd (fds[0], TRUE, &error);
      g_assert_no_error (error);
      inbox_init (&in, port);
      eipc_message_port_start (port);
      g_assert_cmpint (write (fds[1], garbage[i].data, len), ==, (gssize) len);
      if (i == 0)
        shutdown (fds[1], SHUT_WR);
      inbox_wait_closed (&in);
      g_assert_cmpuint (in.events->len, ==, 0);
      g_assert_true (eipc_message_port_is_closed (port));
      close (fds[1]);
      inbox_clear (&in, port);
    }
}

static void
connection_ready (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  GDBusConnection **connection = user_data;
  g_autoptr(GError) error = NULL;

  *connection = g_dbus_connection_new_finish (result, &error);
  g_assert_no_error (error);
}

/* A started port on one end of a socket pair (its events in @in), and
 * a GDBus peer connection on the other end, authenticated: a peer that
 * sends what eipc's ports would not. */
static GDBusConnection *
gdbus_peer_new (EipcMessagePort      **port,
                Inbox                 *in,
                GDBusConnectionFlags   flags)
{
  g_autoptr(GSocketConnection) stream = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GError) error = NULL;
  GDBusConnection *connection = NULL;
  int fds[2];

  g_assert_no_errno (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds));
  *port = eipc_message_port_new_for_fd (fds[0], TRUE, &error);
  g_assert_no_error (error);
  inbox_init (in, *port);
  eipc_message_port_start (*port);
  socket = g_socket_new_from_fd (fds[1], &error);
  g_assert_no_error (error);
  stream = g_socket_connection_factory_create_connection (socket);
  g_dbus_connection_new (G_IO_STREAM (stream), NULL,
                         G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | flags,
                         NULL, NULL, connection_ready, &connection);
  while (connection == NULL)
    g_main_context_iteration (NULL, TRUE);
  return connection;
}

/* A D-Bus peer (GDBus) that speaks the protocol but sends Port1
 * messages that are wrong: each gets it disconnected. */
static void
test_garbage_messages (void)
{
  struct {
    const char *member;
    const char *type;
  } bad[] = {
    { "Message", "(s)" },
    { "Message", "(sa(hb)s)" },
    { "Bytes", "(s)" },
    { "Text", "()" },
    { "Unknown", "()" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad) + 1; i++)
    {
      g_autoptr(EipcMessagePort) port = NULL;
      g_autoptr(GDBusConnection) connection = NULL;
      g_autoptr(GError) error = NULL;
      GVariant *body;
      Inbox in;

      connection = gdbus_peer_new (&port, &in, G_DBUS_CONNECTION_FLAGS_NONE);

      if (i == G_N_ELEMENTS (bad))
        {
          /* A good message gets through, as a control: JSON data that is
           * not JSON does not. */
          body = g_variant_new_parsed ("(%s, @a(hb) [])", "[1]");
          g_dbus_connection_emit_signal (connection, NULL, "/org/eipc/Port",
                                         "org.eipc.Port1", "Message", body, &error);
          g_assert_no_error (error);
          inbox_wait (&in, 1);
          g_assert_cmpstr (inbox_json (&in, 0), ==, "[1]");
          body = g_variant_new_parsed ("(%s, @a(hb) [])", "[1");
        }
      else if (strcmp (bad[i].type, "(s)") == 0)
        body = g_variant_new ("(s)", "x");
      else if (strcmp (bad[i].type, "()") == 0)
        body = NULL;
      else
        body = g_variant_new_parsed ("(%s, @a(hb) [], %s)", "1", "x");
      g_dbus_connection_emit_signal (connection, NULL, "/org/eipc/Port",
                                     "org.eipc.Port1",
                                     i < G_N_ELEMENTS (bad) ? bad[i].member : "Message",
                                     body, &error);
      g_assert_no_error (error);
      inbox_wait_closed (&in);
      g_assert_cmpuint (in.events->len, ==, i == G_N_ELEMENTS (bad) ? 1 : 0);
      inbox_clear (&in, port);
      g_dbus_connection_close_sync (connection, NULL, NULL);
    }
}

/* What a GDBus peer sees of a port's messages (its filter thread hands
 * them over). */
typedef struct {
  GAsyncQueue  *queue;     /* GDBusMessage on / */
  GMainContext *context;   /* woken for each */
} Seen;

static GDBusMessage *
seen_filter (GDBusConnection *connection,
             GDBusMessage    *message,
             gboolean         incoming,
             gpointer         user_data)
{
  Seen *seen = user_data;

  if (!incoming || g_dbus_message_get_message_type (message) == G_DBUS_MESSAGE_TYPE_METHOD_RETURN ||
      g_dbus_message_get_message_type (message) == G_DBUS_MESSAGE_TYPE_ERROR)
    return message;
  /* Taken here: GDBus has no object there to answer it. */
  g_async_queue_push (seen->queue, message);
  g_main_context_wakeup (seen->context);
  return NULL;
}

static GDBusMessage *
seen_next (Seen *seen)
{
  gint64 end = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  GDBusMessage *message;

  while ((message = g_async_queue_try_pop (seen->queue)) == NULL)
    {
      if (g_get_monotonic_time () > end)
        g_error ("waited 60 s for a port message");
      g_main_context_iteration (NULL, TRUE);
    }
  return message;
}

static void
send_port_call (GDBusConnection *connection,
                const char      *path,
                const char      *interface,
                const char      *member,
                GVariant        *body)
{
  g_autoptr(GDBusMessage) message = NULL;
  g_autoptr(GError) error = NULL;

  message = g_dbus_message_new_method_call (NULL, path, interface, member);
  g_dbus_message_set_flags (message, G_DBUS_MESSAGE_FLAGS_NO_REPLY_EXPECTED);
  g_dbus_message_set_body (message, body);
  g_dbus_connection_send_message (connection, message,
                                  G_DBUS_SEND_MESSAGE_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
}

/* The wire (org.eipc.Port1): a port sends its messages as method calls
 * on "/" that want no reply, without the interface field, and takes them
 * with or without it, on "/" or on /org/eipc/Port, and as the signals
 * eipc sent before; a call without an interface of a member that is not
 * the port's disconnects. */
static void
test_wire_forms (void)
{
  g_autoptr(EipcMessagePort) port = NULL;
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_bytes_new_static ("abc", 3);
  g_autoptr(GDBusMessage) text = NULL;
  g_autoptr(GDBusMessage) binary = NULL;
  Seen seen = { g_async_queue_new_full (g_object_unref), g_main_context_default () };
  guint filter;
  Inbox in;

  connection = gdbus_peer_new (&port, &in,
                               G_DBUS_CONNECTION_FLAGS_DELAY_MESSAGE_PROCESSING);
  filter = g_dbus_connection_add_filter (connection, seen_filter, &seen, NULL);
  g_dbus_connection_start_message_processing (connection);

  /* What the port sends. */
  g_assert_true (eipc_message_port_post_message_json (port, "[1]", NULL, &error));
  g_assert_no_error (error);
  g_assert_true (eipc_message_port_post_bytes (port, bytes, &error));
  g_assert_no_error (error);
  text = seen_next (&seen);
  binary = seen_next (&seen);
  g_assert_cmpint (g_dbus_message_get_message_type (text), ==,
                   G_DBUS_MESSAGE_TYPE_METHOD_CALL);
  g_assert_cmpint (g_dbus_message_get_message_type (binary), ==,
                   G_DBUS_MESSAGE_TYPE_METHOD_CALL);
  g_assert_null (g_dbus_message_get_interface (text));
  g_assert_null (g_dbus_message_get_interface (binary));
  g_assert_true (g_dbus_message_get_flags (text) & G_DBUS_MESSAGE_FLAGS_NO_REPLY_EXPECTED);
  g_assert_true (g_dbus_message_get_flags (binary) & G_DBUS_MESSAGE_FLAGS_NO_REPLY_EXPECTED);
  g_assert_cmpstr (g_dbus_message_get_path (text), ==, "/");
  g_assert_cmpstr (g_dbus_message_get_path (binary), ==, "/");
  g_assert_cmpstr (g_dbus_message_get_member (text), ==, "Text");
  g_assert_cmpstr (g_dbus_message_get_member (binary), ==, "Bytes");
  g_assert_cmpstr (g_dbus_message_get_signature (text), ==, "s");

  /* What it takes: a call without and with the interface, the signals. */
  send_port_call (connection, "/", NULL, "Text", g_variant_new ("(s)", "[2]"));
  send_port_call (connection, "/org/eipc/Port", "org.eipc.Port1", "Text",
                  g_variant_new ("(s)", "[3]"));
  send_port_call (connection, "/", NULL, "Message",
                  g_variant_new_parsed ("(%s, @a(hb) [])", "[4]"));
  g_dbus_connection_emit_signal (connection, NULL, "/org/eipc/Port", "org.eipc.Port1",
                                 "Text", g_variant_new ("(s)", "[5]"), &error);
  g_assert_no_error (error);
  g_dbus_connection_emit_signal (connection, NULL, "/org/eipc/Port", "org.eipc.Port1",
                                 "Message", g_variant_new_parsed ("(%s, @a(hb) [])", "[6]"),
                                 &error);
  g_assert_no_error (error);
  inbox_wait (&in, 5);
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *want = g_strdup_printf ("[%u]", i + 2);

      g_assert_cmpstr (inbox_json (&in, i), ==, want);
    }
  g_assert_cmpuint (in.n_closed, ==, 0);

  /* Not one of the port's members. */
  send_port_call (connection, "/", NULL, "Unknown", NULL);
  inbox_wait_closed (&in);
  g_assert_cmpuint (in.events->len, ==, 5);

  inbox_clear (&in, port);
  g_dbus_connection_remove_filter (connection, filter);
  g_dbus_connection_close_sync (connection, NULL, NULL);
  g_async_queue_unref (seen.queue);
}

/* ---- file descriptors ---- */

/* After channels, transfers, big payloads and closes, the process holds
 * exactly the descriptors it held before. */
static void
test_no_fd_leak (void)
{
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  /* Once first: GLib opens some descriptors lazily, for good (the
   * worker thread's wakeup when a child process is spawned). */
  test_channel ();
  test_process_killed ();
  before = list_fds ();
  for (guint i = 0; i < 3; i++)
    {
      test_channel ();
      test_bytes ();
      test_close ();
      test_transfer ();
      test_process_port_through_port ();
      test_process_transfer_used ();
      test_process_killed ();
    }
  test_spin (100);
  after = list_fds ();
  g_assert_cmpstr (after, ==, before);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  signal (SIGPIPE, SIG_IGN);

  g_test_add_func ("/ipc/port/channel", test_channel);
  g_test_add_func ("/ipc/port/bytes", test_bytes);
  g_test_add_func ("/ipc/port/kept-events", test_kept_events);
  g_test_add_func ("/ipc/port/close", test_close);
  g_test_add_func ("/ipc/port/transfer", test_transfer);
  g_test_add_func ("/ipc/port/process/echo", test_process_echo);
  g_test_add_func ("/ipc/port/process/port-through-port", test_process_port_through_port);
  g_test_add_func ("/ipc/port/process/transfer-used", test_process_transfer_used);
  g_test_add_func ("/ipc/port/process/killed", test_process_killed);
  g_test_add_func ("/ipc/port/process/closes", test_process_closes);
  g_test_add_func ("/ipc/port/process/slow-receiver", test_process_slow_receiver);
  g_test_add_func ("/ipc/port/garbage/bytes", test_garbage);
  g_test_add_func ("/ipc/port/garbage/messages", test_garbage_messages);
  g_test_add_func ("/ipc/port/wire-forms", test_wire_forms);
  g_test_add_func ("/ipc/port/no-fd-leak", test_no_fd_leak);

  return g_test_run ();
}
