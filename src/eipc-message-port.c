/* eipc-message-port.c: one end of a direct channel (MessagePortMain)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A port is one end of a unix socket pair. On first use it becomes a
 * peer-to-peer sd-bus connection on that socket (no daemon): one end runs
 * the server side of the D-Bus authentication, the other the client side,
 * which is why a transferred port travels with its role, as a(hb). Until
 * then the port is only a file descriptor, and can be handed to another
 * process; what the other end posts meanwhile waits in the socket (and in
 * the sender's queue), which is how messages queue until start().
 * A used port moves as a new socket pair: Moved tells the other end to
 * follow, and what it posted that was not delivered here comes back to
 * it, to be posted again first (port_move_out(), link_on_moved()).
 *
 * The connection lives in a PortLink, apart from the port: when the port
 * is closed or dropped while messages still wait to be written, the link
 * stays until they are written (or a timeout), as a closed socket would
 * lose them.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-id128.h>

#include "eipc-private.h"

/* What may wait to be written to one port (a post fails once the queue
 * holds this much, so it holds at most one message more), and what a
 * port keeps for start(): a receiver that does not read bounds the
 * sender. */
#define PORT_MAX_QUEUED_MESSAGES  4096
#define PORT_MAX_QUEUED_BYTES     (64 * 1024 * 1024)
#define PORT_MAX_QUEUED_FDS       256
#define PORT_MAX_INCOMING         65536
/* How long a closed port keeps trying to write what was posted. */
#define PORT_DRAIN_TIMEOUT_MS     30000

#define MEMFD_SEALS     (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)
#define MEMFD_REQUIRED  (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

typedef struct _PortLink PortLink;

typedef struct {
  sd_bus_message *m;     /* held messages only */
  guint64         bytes;
  guint           fds;
} SentEntry;

struct _PortLink
{
  sd_bus          *bus;
  GSource         *source;
  sd_bus_slot     *filter;
  sd_bus_slot     *vtable;
  EipcMessagePort *port;          /* NULL once the port let go */
  GQueue           held;          /* SentEntry: waits for the handshake */
  GQueue           sent;          /* SentEntry, oldest first */
  guint64          queued_bytes;  /* held and sent */
  guint            queued_fds;
  guint            in_filter;     /* > 0 while the filter runs */
  gboolean         server;
  gboolean         heard;         /* a message came from the other end */
  gboolean         pinged;        /* client: the first message is sent */
  gboolean         ready;         /* the handshake is done */
  gboolean         sent_any;      /* something was ever queued */
  gboolean         moving_out;    /* the port moved away: send back what comes */
  gboolean         acked;         /* moving out: the other end sends no more */
  gboolean         retiring;      /* the other end moved: what comes is ours */
  gboolean         hold_returns;  /* hold posts until the returns are in */
  guint            n_returns;     /* returns at the head of held */
  char            *violation;     /* the peer broke the protocol */
  GSource         *drain_timeout;
};

struct _EipcMessagePort
{
  GObject          parent_instance;

  GMainContext    *context;
  int              fd;            /* the socket until the link is made */
  gboolean         server;
  PortLink        *link;
  PortLink        *old_link;      /* the other end moved: its returns */
  int              move_fd;       /* a used port's new socket, before the move */
  EipcMessagePort *partner;       /* the other end, while in this process */
  gboolean         started;
  gboolean         closed;        /* here or by the other end */
  gboolean         transferred;
  gboolean         close_pending; /* emit close after the queued messages */
  char            *closed_reason;
  GQueue           incoming;      /* EipcEvent waiting for start() */
  GSource         *deliver;
  EipcEvent       *spare_event;   /* see eipc_event_release() */
};

enum {
  SIGNAL_MESSAGE,
  SIGNAL_CLOSE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (EipcMessagePort, eipc_message_port, G_TYPE_OBJECT)

static int port_method (sd_bus_message *m,
                        void           *user_data,
                        sd_bus_error   *ret_error);

/* What Introspect() shows. The messages themselves never get here:
 * port_filter() takes them first. */
static const sd_bus_vtable port_vtable[] = {
  SD_BUS_VTABLE_START (0),
  SD_BUS_METHOD_WITH_ARGS ("Message",
                           SD_BUS_ARGS ("s", data, "a(hb)", ports), SD_BUS_NO_RESULT,
                           port_method, SD_BUS_VTABLE_METHOD_NO_REPLY),
  SD_BUS_METHOD_WITH_ARGS ("Text",
                           SD_BUS_ARGS ("s", data), SD_BUS_NO_RESULT,
                           port_method, SD_BUS_VTABLE_METHOD_NO_REPLY),
  SD_BUS_METHOD_WITH_ARGS ("Bytes",
                           SD_BUS_ARGS ("ay", data), SD_BUS_NO_RESULT,
                           port_method, SD_BUS_VTABLE_METHOD_NO_REPLY),
  SD_BUS_METHOD_WITH_ARGS ("SealedBytes",
                           SD_BUS_ARGS ("h", memfd, "t", size), SD_BUS_NO_RESULT,
                           port_method, SD_BUS_VTABLE_METHOD_NO_REPLY),
  SD_BUS_METHOD_WITH_ARGS ("Moved",
                           SD_BUS_ARGS ("h", socket, "b", server), SD_BUS_NO_RESULT,
                           port_method, SD_BUS_VTABLE_METHOD_NO_REPLY),
  SD_BUS_METHOD_WITH_ARGS ("MoveAcknowledged",
                           SD_BUS_NO_ARGS, SD_BUS_NO_RESULT,
                           port_method, SD_BUS_VTABLE_METHOD_NO_REPLY),
  SD_BUS_VTABLE_END
};

static void port_link_lost (EipcMessagePort *self,
                            const char      *reason);
static void port_schedule_delivery (EipcMessagePort *self);
static void port_retire_done (EipcMessagePort *self);
static gboolean fd_is_unix_stream (int fd);
static int link_on_moved (PortLink       *link,
                          sd_bus_message *m);
static void link_return_event (PortLink  *link,
                               EipcEvent *event);

/* ---- the link: the sd-bus connection of a port ---- */

/* A message of org.eipc.Port1 to the other end: a method call that
 * wants no reply, without the interface field, on the path "/". A signal
 * must name its interface, and that field is the dearest part of a
 * small message for sd-bus: checking the name and growing the header to
 * build it, reading and checking it again at the other end (about 1,200
 * instructions per message, sender and receiver together); a path is
 * checked a character at a time at both ends too, and "/" is checked
 * at once (about 400 instructions per message less than
 * "/org/eipc/Port"). port_filter() takes both forms, on both paths. */
static int
link_new_message (PortLink        *link,
                  const char      *member,
                  sd_bus_message **ret)
{
  g_autoptr(sd_bus_message) m = NULL;
  int r;

  r = sd_bus_message_new_method_call (link->bus, &m, NULL, EIPC_PORT_PATH,
                                      NULL, member);
  if (r < 0)
    return r;
  r = sd_bus_message_set_expect_reply (m, 0);
  if (r < 0)
    return r;
  *ret = g_steal_pointer (&m);
  return 0;
}

static void
sent_entry_free (gpointer data)
{
  SentEntry *e = data;

  if (e->m != NULL)
    sd_bus_message_unref (e->m);
  g_free (e);
}

static void
link_free (PortLink *link)
{
  g_clear_pointer (&link->drain_timeout, g_source_destroy);
  g_clear_pointer (&link->filter, sd_bus_slot_unref);
  g_clear_pointer (&link->vtable, sd_bus_slot_unref);
  if (link->source != NULL)
    {
      g_source_destroy (link->source);
      g_clear_pointer (&link->source, g_source_unref);
    }
  g_queue_clear_full (&link->held, sent_entry_free);
  g_queue_clear_full (&link->sent, sent_entry_free);
  if (link->bus != NULL)
    {
      int fd = sd_bus_get_fd (link->bus);

      /* Other copies of the socket may live on (the message that brought
       * a port keeps one as long as its event): shut it down so the
       * other end hears the end now. */
      if (fd >= 0)
        shutdown (fd, SHUT_RDWR);
      sd_bus_close (link->bus);
      g_clear_pointer (&link->bus, sd_bus_unref);
    }
  g_free (link->violation);
  g_free (link);
}

/* Forgets the messages sd-bus has written: its write queue holds the
 * newest sent.length - n of them. */
static void
link_update_queue (PortLink *link)
{
  uint64_t n = 0;

  if (link->bus == NULL || sd_bus_get_n_queued_write (link->bus, &n) < 0)
    n = 0;
  while (link->sent.length > n)
    {
      SentEntry *e = g_queue_pop_head (&link->sent);

      link->queued_bytes -= e->bytes;
      link->queued_fds -= e->fds;
      sent_entry_free (e);
    }
}

static gboolean
link_drain_timeout (gpointer user_data)
{
  PortLink *link = user_data;

  g_debug ("eipc: a closed port dropped %u messages its peer never read",
           link->held.length + link->sent.length);
  link->drain_timeout = NULL;
  link_free (link);
  return G_SOURCE_REMOVE;
}

/* A link whose port let go ends once everything is written, and, on the
 * server end, once the client has spoken: until then the client may still
 * be reading the end of the handshake, and sd-bus drops what followed it
 * when the end of the stream comes in the same read. */
static void
link_drain_check (PortLink *link)
{
  link_update_queue (link);
  if (link->held.length == 0 && link->sent.length == 0 &&
      (!link->moving_out || link->acked) &&
      (!link->server || link->heard || !link->sent_any))
    {
      link_free (link);
      return;
    }
  if (link->drain_timeout == NULL)
    {
      link->drain_timeout = g_timeout_source_new (PORT_DRAIN_TIMEOUT_MS);
      g_source_set_callback (link->drain_timeout, link_drain_timeout, link, NULL);
      g_source_set_static_name (link->drain_timeout, "[eipc] port drain");
      g_source_attach (link->drain_timeout, g_source_get_context (link->source));
      g_source_unref (link->drain_timeout);
    }
}

/* May messages with file descriptors go now? Not before the handshake
 * (sd-bus would block until it knows the peer takes them), and on the
 * server end not before the client said something: the client could
 * read the end of the handshake and the descriptors in one recvmsg(),
 * and sd-bus drops the connection when descriptors come before it
 * agreed to take them. */
static gboolean
link_fds_ready (PortLink *link)
{
  return sd_bus_is_ready (link->bus) > 0 && (!link->server || link->heard);
}

/* The client end speaks first once the handshake is done: a Ping that
 * wants no reply, so the server end knows it may pass descriptors. */
static int
link_ping (PortLink *link)
{
  g_autoptr(sd_bus_message) m = NULL;
  int r;

  if (link->server || link->pinged || sd_bus_is_ready (link->bus) <= 0)
    return 0;
  link->pinged = TRUE;
  r = sd_bus_message_new_method_call (link->bus, &m, NULL, EIPC_PORT_PATH,
                                      "org.freedesktop.DBus.Peer", "Ping");
  if (r >= 0)
    r = sd_bus_message_set_expect_reply (m, 0);
  if (r >= 0)
    r = sd_bus_send (link->bus, m, NULL);
  return r;
}

/* Sends what waited for link_fds_ready(). */
static int
link_send_held (PortLink *link)
{
  SentEntry *e;

  if (link->held.length == 0 || link->hold_returns || !link_fds_ready (link))
    return 0;

  while ((e = g_queue_peek_head (&link->held)) != NULL)
    {
      int r = sd_bus_send (link->bus, e->m, NULL);

      if (r < 0)
        return r;
      g_queue_pop_head (&link->held);
      g_clear_pointer (&e->m, sd_bus_message_unref);
      g_queue_push_tail (&link->sent, e);
    }
  link_update_queue (link);
  return 0;
}

/* After a dispatch, outside sd_bus_process(). */
static void
link_dispatched (gpointer user_data)
{
  PortLink *link = user_data;
  int r;

  /* sd-bus reads the handshake in large reads that may take the first
   * messages along; they wait in its buffer, where poll() does not see
   * them: dispatch once more without waiting. */
  if (g_source_get_ready_time (link->source) != -1)
    g_source_set_ready_time (link->source, -1);
  if (!link->ready && sd_bus_is_ready (link->bus) > 0)
    {
      link->ready = TRUE;
      g_source_set_ready_time (link->source, 0);
    }

  if (link->violation != NULL)
    {
      g_autofree char *reason = g_steal_pointer (&link->violation);

      g_debug ("eipc: disconnecting a port's peer: %s", reason);
      if (link->retiring)
        port_retire_done (link->port);
      else if (link->port != NULL)
        port_link_lost (link->port, reason);
      else
        link_free (link);
      return;
    }

  r = link_ping (link);
  if (r >= 0)
    r = link_send_held (link);
  if (r < 0)
    {
      g_autofree char *reason = NULL;

      if (r == -EOPNOTSUPP)
        reason = g_strdup ("The other end of the port does not accept file "
                           "descriptors: a message with ports or a large "
                           "binary payload could not be sent");
      else
        reason = g_strdup_printf ("Could not write to the port: %s",
                                  g_strerror (-r));
      if (link->retiring)
        port_retire_done (link->port);
      else if (link->port != NULL)
        port_link_lost (link->port, reason);
      else
        link_free (link);
      return;
    }

  if (link->port == NULL)
    link_drain_check (link);
  else
    link_update_queue (link);
}

/* The connection is gone (the other end closed or died, or sent what
 * sd-bus could not parse). */
static void
link_closed (gpointer user_data)
{
  PortLink *link = user_data;

  if (link->retiring)
    port_retire_done (link->port);
  else if (link->port != NULL)
    port_link_lost (link->port,
                    link->violation != NULL ? link->violation :
                    "The other end of the port is closed");
  else
    link_free (link);
}

/* The port lets go: the link ends once what was posted is written. */
static void
link_release (PortLink *link)
{
  link->port = NULL;
  if (link->in_filter == 0)
    link_drain_check (link);
  /* else link_dispatched() checks after the message. */
}

/* ---- receiving ---- */

static gboolean
link_violation (PortLink   *link,
                const char *format,
                ...) G_GNUC_PRINTF (2, 3);

static gboolean
link_violation (PortLink   *link,
                const char *format,
                ...)
{
  va_list ap;

  if (link->violation == NULL)
    {
      va_start (ap, format);
      link->violation = g_strdup_vprintf (format, ap);
      va_end (ap);
    }
  return FALSE;
}

typedef struct {
  void   *data;
  size_t  size;
} Mapping;

static void
mapping_free (gpointer user_data)
{
  Mapping *mapping = user_data;

  munmap (mapping->data, mapping->size);
  g_free (mapping);
}

/* A sealed memfd of @size bytes, mapped read-only. */
static GBytes *
bytes_from_memfd (PortLink *link,
                  int       fd,
                  guint64   size)
{
  struct stat st;
  Mapping *mapping;
  int seals;
  void *p;

  seals = fcntl (fd, F_GET_SEALS);
  if (seals < 0 || (seals & MEMFD_REQUIRED) != MEMFD_REQUIRED)
    {
      link_violation (link, "SealedBytes came with a file that is not a "
                      "sealed memfd");
      return NULL;
    }
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_size < 0 ||
      (guint64) st.st_size != size || size > G_MAXSIZE)
    {
      link_violation (link, "SealedBytes announced %" G_GUINT64_FORMAT
                      " bytes in a file of another size", size);
      return NULL;
    }
  if (size == 0)
    return g_bytes_new (NULL, 0);
  p = mmap (NULL, size, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED)
    {
      link_violation (link, "SealedBytes could not be mapped: %s",
                      g_strerror (errno));
      return NULL;
    }
  mapping = g_new (Mapping, 1);
  mapping->data = p;
  mapping->size = size;
  return g_bytes_new_with_free_func (p, size, mapping_free, mapping);
}

static void
message_unref (gpointer m)
{
  sd_bus_message_unref (m);
}

static GBytes *
bytes_inline (sd_bus_message *m)
{
  const void *data = NULL;
  size_t size = 0;

  if (sd_bus_message_read_array (m, 'y', &data, &size) < 0)
    return NULL;
  /* The message owns the data: keep it instead of copying. */
  if (size == 0)
    return g_bytes_new (NULL, 0);
  return g_bytes_new_with_free_func (data, size, message_unref,
                                     sd_bus_message_ref (m));
}

static void
port_receive (EipcMessagePort *self,
              EipcEvent       *event)
{
  if (self->closed)
    {
      g_object_unref (event);
      return;
    }
  if (self->started && self->incoming.length == 0 && self->deliver == NULL)
    {
      g_autoptr(EipcMessagePort) hold = g_object_ref (self);

      g_signal_emit (self, signals[SIGNAL_MESSAGE], 0, event);
      g_object_unref (event);
      return;
    }
  if (self->incoming.length >= PORT_MAX_INCOMING)
    {
      g_object_unref (event);
      link_violation (self->link, "more than %d messages sent to a port that "
                      "was not started", PORT_MAX_INCOMING);
      return;
    }
  g_queue_push_tail (&self->incoming, event);
  if (self->started)
    port_schedule_delivery (self);
}

/* Reads a port message into an event; NULL (and a violation) when it is
 * not one. */
static EipcEvent *
link_parse (PortLink       *link,
            sd_bus_message *m,
            const char     *member)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) ports = NULL;
  g_autoptr(GBytes) bytes = NULL;
  const char *data = NULL;
  int r;

  if ((g_strcmp0 (member, "Text") == 0 && sd_bus_message_has_signature (m, "s")) ||
      (g_strcmp0 (member, "Message") == 0 &&
       sd_bus_message_has_signature (m, "sa(hb)")))
    {
      r = sd_bus_message_read_basic (m, 's', &data);
      if (r <= 0)
        return link_violation (link, "a %s without data", member), NULL;
      if (!eipc_json_check (data, FALSE, &error))
        return link_violation (link, "a %s whose data is not JSON: %s",
                               member, error->message), NULL;
      if (member[0] == 'M')
        {
          ports = eipc_message_read_ports (m, g_source_get_context (link->source),
                                           &error);
          if (ports == NULL)
            return link_violation (link, "%s", error->message), NULL;
        }
    }
  else if (g_strcmp0 (member, "Bytes") == 0 &&
           sd_bus_message_has_signature (m, "ay"))
    {
      bytes = bytes_inline (m);
      if (bytes == NULL)
        return link_violation (link, "unreadable Bytes"), NULL;
    }
  else if (g_strcmp0 (member, "SealedBytes") == 0 &&
           sd_bus_message_has_signature (m, "ht"))
    {
      int fd = -1;
      uint64_t size = 0;

      if (sd_bus_message_read_basic (m, 'h', &fd) <= 0 ||
          sd_bus_message_read_basic (m, 't', &size) <= 0)
        return link_violation (link, "unreadable SealedBytes"), NULL;
      bytes = bytes_from_memfd (link, fd, size);
      if (bytes == NULL)
        return NULL;
    }
  else
    return link_violation (link, "unknown port message %s(%s)",
                           member != NULL ? member : "",
                           sd_bus_message_get_signature (m, TRUE)), NULL;

  return eipc_event_new_port_message (link->port != NULL ?
                                      &link->port->spare_event : NULL,
                                      m, data, bytes, g_steal_pointer (&ports));
}

/* The vtable's handler: port_filter() takes every method call of
 * org.eipc.Port1 before sd-bus looks for one, so this is never called. */
static int
port_method (sd_bus_message *m,
             void           *user_data,
             sd_bus_error   *ret_error)
{
  return sd_bus_error_set (ret_error, SD_BUS_ERROR_FAILED,
                           "Port messages are handled by the port");
}

static int
port_filter (sd_bus_message *m,
             void           *user_data,
             sd_bus_error   *ret_error)
{
  PortLink *link = user_data;
  const char *interface;
  const char *member;
  const char *path;
  EipcEvent *event;
  uint8_t type = 0;

  link->heard = TRUE;
  /* Port messages are method calls of org.eipc.Port1, named or (as
   * link_new_message() sends them) without the interface field; the
   * signals of the same members that eipc sent before are taken too.
   * Everything else (Peer.Ping, Introspect) is sd-bus's. */
  if (sd_bus_message_get_type (m, &type) < 0)
    return 0;
  interface = sd_bus_message_get_interface (m);
  if (type == SD_BUS_MESSAGE_METHOD_CALL)
    {
      if (interface != NULL && strcmp (interface, EIPC_PORT_INTERFACE) != 0)
        return 0;
    }
  else if (type != SD_BUS_MESSAGE_SIGNAL ||
           g_strcmp0 (interface, EIPC_PORT_INTERFACE) != 0)
    return 0;
  /* The peer is on its way out. */
  if (link->violation != NULL)
    return 1;
  /* Nobody listens any more (a port moving away still does). */
  if (link->port == NULL && !link->moving_out)
    return 1;

  member = sd_bus_message_get_member (m);
  path = sd_bus_message_get_path (m);
  if (g_strcmp0 (path, EIPC_PORT_PATH) != 0 &&
      g_strcmp0 (path, EIPC_PORT_PATH_BEFORE) != 0)
    return link_violation (link, "a port message on path %s", path);

  if (g_strcmp0 (member, "Moved") == 0 && sd_bus_message_has_signature (m, "hb"))
    return link_on_moved (link, m);
  if (g_strcmp0 (member, "MoveAcknowledged") == 0 &&
      sd_bus_message_has_signature (m, ""))
    {
      if (!link->moving_out)
        return link_violation (link, "MoveAcknowledged without Moved");
      link->acked = TRUE;
      return 1;
    }

  event = link_parse (link, m, member);
  if (event == NULL)
    return 1;
  link->in_filter++;
  if (link->moving_out)
    /* Posted to the port that moved away, not delivered: back to the
     * sender, which posts it again to the port's new holder. */
    link_return_event (link, event);
  else if (link->retiring)
    /* Ours, coming back: they go first on the new connection. */
    {
      if (link->port->link != NULL)
        link_return_event (link->port->link, event);
    }
  else
    port_receive (link->port, g_object_ref (event));
  link->in_filter--;
  /* The port may have gone in a handler; if it is still here, the event
   * nobody kept serves the next message. */
  if (link->port != NULL)
    eipc_event_release (&link->port->spare_event, event);
  else
    g_object_unref (event);
  return 1;
}

/* ---- the port ---- */

static void
port_set_closed (EipcMessagePort *self,
                 const char      *reason)
{
  self->closed = TRUE;
  if (self->closed_reason == NULL)
    self->closed_reason = g_strdup (reason);
}

static void
port_emit_close (EipcMessagePort *self)
{
  g_autoptr(EipcMessagePort) hold = g_object_ref (self);

  self->close_pending = FALSE;
  g_signal_emit (self, signals[SIGNAL_CLOSE], 0);
}

/* The port lets go of its connections (closed or gone). */
static void
port_drop_links (EipcMessagePort *self)
{
  if (self->link != NULL)
    link_release (g_steal_pointer (&self->link));
  if (self->old_link != NULL)
    {
      self->old_link->retiring = FALSE;
      link_release (g_steal_pointer (&self->old_link));
    }
}

/* The connection ended by the other side's doing. */
static void
port_link_lost (EipcMessagePort *self,
                const char      *reason)
{
  PortLink *link = g_steal_pointer (&self->link);

  g_debug ("eipc: port closed: %s", reason);
  port_set_closed (self, reason);
  link->port = NULL;
  link_free (link);
  if (self->old_link != NULL)
    {
      self->old_link->retiring = FALSE;
      link_release (g_steal_pointer (&self->old_link));
    }
  /* Messages that came before the end are still delivered, then close. */
  if (self->started && self->incoming.length > 0)
    {
      self->close_pending = TRUE;
      port_schedule_delivery (self);
    }
  else
    port_emit_close (self);
}

static gboolean
port_deliver (gpointer user_data)
{
  EipcMessagePort *self = user_data;
  g_autoptr(EipcMessagePort) hold = g_object_ref (self);
  EipcEvent *event;

  g_clear_pointer (&self->deliver, g_source_unref);
  while (self->started && self->deliver == NULL &&
         (event = g_queue_pop_head (&self->incoming)) != NULL)
    {
      g_signal_emit (self, signals[SIGNAL_MESSAGE], 0, event);
      eipc_event_release (&self->spare_event, event);
    }
  if (self->close_pending && self->incoming.length == 0)
    port_emit_close (self);
  return G_SOURCE_REMOVE;
}

static void
port_schedule_delivery (EipcMessagePort *self)
{
  if (self->deliver != NULL)
    return;
  self->deliver = g_idle_source_new ();
  g_source_set_priority (self->deliver, G_PRIORITY_DEFAULT);
  g_source_set_callback (self->deliver, port_deliver, self, NULL);
  g_source_set_static_name (self->deliver, "[eipc] port delivery");
  g_source_attach (self->deliver, self->context);
}

static void
port_clear_incoming (EipcMessagePort *self)
{
  EipcEvent *event;

  while ((event = g_queue_pop_head (&self->incoming)) != NULL)
    g_object_unref (event);
  if (self->deliver != NULL)
    {
      g_source_destroy (self->deliver);
      g_clear_pointer (&self->deliver, g_source_unref);
    }
}

static gboolean
port_check_usable (EipcMessagePort  *self,
                   GError          **error)
{
  if (self->transferred)
    {
      g_set_error_literal (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                           "The port was transferred to another process and "
                           "can no longer be used here");
      return FALSE;
    }
  if (self->closed)
    {
      g_set_error (error, EIPC_ERROR, EIPC_ERROR_DISCONNECTED, "%s",
                   self->closed_reason != NULL ? self->closed_reason :
                   "The port is closed");
      return FALSE;
    }
  return TRUE;
}

/* Makes the connection on the socket, on first use. */
static gboolean
port_connect (EipcMessagePort  *self,
              GError          **error)
{
  g_autoptr(sd_bus) bus = NULL;
  PortLink *link;
  int r;

  if (!port_check_usable (self, error))
    return FALSE;
  if (self->link != NULL)
    return TRUE;

  r = sd_bus_new (&bus);
  if (r >= 0)
    r = sd_bus_set_fd (bus, self->fd, self->fd);
  if (r >= 0)
    self->fd = -1;   /* the bus owns it now */
  if (r >= 0 && self->server)
    {
      sd_id128_t id;

      r = sd_id128_randomize (&id);
      if (r >= 0)
        r = sd_bus_set_server (bus, 1, id);
    }
  /* No identities on a socket pair: both ends use ANONYMOUS. */
  if (r >= 0)
    r = sd_bus_set_anonymous (bus, 1);
  if (r >= 0)
    r = sd_bus_negotiate_fds (bus, 1);
  if (r >= 0)
    r = sd_bus_set_trusted (bus, 1);
  if (r < 0)
    goto fail;

  link = g_new0 (PortLink, 1);
  link->bus = g_steal_pointer (&bus);
  link->port = self;
  link->server = self->server;
  r = sd_bus_add_filter (link->bus, &link->filter, port_filter, link);
  if (r >= 0)
    r = sd_bus_add_object_vtable (link->bus, &link->vtable, EIPC_PORT_PATH,
                                  EIPC_PORT_INTERFACE, port_vtable, link);
  if (r >= 0)
    r = sd_bus_start (link->bus);
  if (r < 0)
    {
      link->port = NULL;
      link_free (link);
      goto fail;
    }
  link->source = eipc_bus_source_new_full (link->bus, self->context,
                                           link_closed, link_dispatched, link);
  g_source_set_static_name (link->source, "[eipc] port");
  self->link = link;
  return TRUE;

fail:
  if (self->fd >= 0)
    {
      close (self->fd);
      self->fd = -1;
    }
  port_set_closed (self, "The port's connection could not be made");
  eipc_set_error_from_errno (error, r, "Could not open the port's connection");
  return FALSE;
}

typedef enum {
  SEND_POST,      /* a post: bounded, after what is held */
  SEND_CONTROL,   /* Moved, a message sent back: not bounded */
  SEND_RETURNED,  /* a message that came back: before the posts held */
} SendKind;

/* Sends @m, or holds it until the handshake when it carries file
 * descriptors (and, on a port whose other end moved, until the messages
 * that come back are in). @bytes and @fds bound the sender's queue. */
static gboolean
link_send (PortLink         *link,
           sd_bus_message   *m,
           guint64           bytes,
           guint             fds,
           SendKind          kind,
           GError          **error)
{
  SentEntry *e;
  uint64_t n = 0;
  guint queued;
  int r;

  if (link->sent.length > 0)
    link_update_queue (link);
  queued = link->held.length + link->sent.length;
  if (kind == SEND_POST &&
      (queued >= PORT_MAX_QUEUED_MESSAGES ||
       link->queued_bytes >= PORT_MAX_QUEUED_BYTES ||
       (fds > 0 && link->queued_fds + fds > PORT_MAX_QUEUED_FDS)))
    {
      g_set_error (error, EIPC_ERROR, EIPC_ERROR_LIMITS_EXCEEDED,
                   "%u messages (%" G_GUINT64_FORMAT " bytes) wait to be "
                   "written to the port: the other end does not read fast "
                   "enough", queued, link->queued_bytes);
      return FALSE;
    }

  link->sent_any = TRUE;

  /* sd-bus would block until the handshake tells whether the other end
   * takes file descriptors; and order is kept behind held messages. */
  if (link->held.length > 0 || link->hold_returns ||
      (fds > 0 && !link_fds_ready (link)))
    {
      e = g_new0 (SentEntry, 1);
      e->bytes = bytes;
      e->fds = fds;
      e->m = sd_bus_message_ref (m);
      link->queued_bytes += bytes;
      link->queued_fds += fds;
      if (kind == SEND_RETURNED && link->hold_returns)
        g_queue_push_nth (&link->held, e, link->n_returns++);
      else
        g_queue_push_tail (&link->held, e);
      return TRUE;
    }

  r = sd_bus_send (link->bus, m, NULL);
  if (r == -EOPNOTSUPP)
    {
      g_set_error_literal (error, EIPC_ERROR, EIPC_ERROR_FAILED,
                           "The other end of the port does not accept file "
                           "descriptors");
      return FALSE;
    }
  if (r < 0)
    {
      eipc_set_error_from_errno (error, r, "Could not post to the port");
      if (error != NULL && *error != NULL && (r == -ENOTCONN || r == -ECONNRESET))
        (*error)->code = EIPC_ERROR_DISCONNECTED;
      return FALSE;
    }
  /* Written at once (the usual case): nothing to account for. */
  if (link->sent.length == 0 &&
      sd_bus_get_n_queued_write (link->bus, &n) >= 0 && n == 0)
    return TRUE;
  e = g_new0 (SentEntry, 1);
  e->bytes = bytes;
  e->fds = fds;
  link->queued_bytes += bytes;
  link->queued_fds += fds;
  g_queue_push_tail (&link->sent, e);
  link_update_queue (link);
  return TRUE;
}

static gboolean
port_send (EipcMessagePort  *self,
           sd_bus_message   *m,
           guint64           bytes,
           guint             fds,
           GError          **error)
{
  return link_send (self->link, m, bytes, fds, SEND_POST, error);
}

static int memfd_from_bytes (const guint8 *data,
                             gsize         size);

/* A Bytes or SealedBytes message with @bytes; *@fds says how many file
 * descriptors it carries. */
static int
link_new_bytes (PortLink        *link,
                GBytes          *bytes,
                sd_bus_message **ret,
                guint           *fds)
{
  g_autoptr(sd_bus_message) m = NULL;
  const guint8 *data;
  gsize size;
  int r;

  data = g_bytes_get_data (bytes, &size);
  if (size <= EIPC_MESSAGE_PORT_INLINE_MAX)
    {
      r = link_new_message (link, "Bytes", &m);
      if (r >= 0)
        r = sd_bus_message_append_array (m, 'y', data, size);
      *fds = 0;
    }
  else
    {
      int fd = memfd_from_bytes (data, size);
      uint64_t size64 = size;

      if (fd < 0)
        return fd;
      r = link_new_message (link, "SealedBytes", &m);
      if (r >= 0)
        r = sd_bus_message_append_basic (m, 'h', &fd);
      close (fd);   /* the message holds its own copy */
      if (r >= 0)
        r = sd_bus_message_append_basic (m, 't', &size64);
      *fds = 1;
    }
  if (r < 0)
    return r;
  *ret = g_steal_pointer (&m);
  return 0;
}

/* Sends @event, which came to the port that moved (or, on the side that
 * stays, came back from it), on @link: the same message again. */
static void
link_return_event (PortLink  *link,
                   EipcEvent *event)
{
  g_autoptr(sd_bus_message) m = NULL;
  g_autoptr(GError) error = NULL;
  GBytes *bytes = eipc_event_get_bytes (event);
  GPtrArray *ports = eipc_event_get_ports (event);
  guint fds = 0;
  gsize size = 0;
  int r;

  if (bytes != NULL)
    {
      size = g_bytes_get_size (bytes);
      r = link_new_bytes (link, bytes, &m, &fds);
    }
  else
    {
      const char *json = eipc_event_get_data_json (event);

      size = strlen (json);
      fds = ports->len;
      r = link_new_message (link, fds > 0 ? "Message" : "Text", &m);
      if (r >= 0)
        r = eipc_message_append_string (m, json);
      if (r >= 0 && fds > 0)
        r = eipc_message_append_ports (m, ports);
    }
  if (r < 0)
    {
      g_debug ("eipc: a message to a moved port is lost: %s", g_strerror (-r));
      return;
    }
  if (!link_send (link, m, size, fds,
                  link->hold_returns ? SEND_RETURNED : SEND_CONTROL, &error))
    {
      g_debug ("eipc: a message to a moved port is lost: %s", error->message);
      return;
    }
  /* Their sockets travel on: the copies here must not shut them down. */
  if (bytes == NULL)
    eipc_message_ports_transferred (ports);
}

/* The other end moved to another process (org.eipc.Port1.Moved): go on
 * with the socket that came, to its new holder. What comes on this
 * connection from now on are our own messages that the old holder had
 * not delivered; they go first on the new one. */
static int
link_on_moved (PortLink       *link,
               sd_bus_message *m)
{
  g_autoptr(sd_bus_message) ack = NULL;
  g_autoptr(GError) error = NULL;
  EipcMessagePort *port = link->port;
  int fd = -1, server = 0, copy, r;

  if (link->moving_out)
    return link_violation (link, "both ends of the port moved at once");
  if (port == NULL)
    return 1;   /* closed here: the socket that came closes, its holder hears it */
  if (port->old_link != NULL)
    return link_violation (link, "the port moved again before its previous "
                           "move was complete");
  if (sd_bus_message_read_basic (m, 'h', &fd) <= 0 ||
      sd_bus_message_read_basic (m, 'b', &server) <= 0 ||
      !fd_is_unix_stream (fd))
    return link_violation (link, "Moved without a unix stream socket");
  copy = fcntl (fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0)
    return link_violation (link, "could not keep the socket of a moved port: %s",
                           g_strerror (errno));

  port->old_link = link;
  port->link = NULL;
  port->fd = copy;
  port->server = server != 0;
  link->retiring = TRUE;
  if (!port_connect (port, &error))
    {
      port->old_link = NULL;
      port->link = link;
      link->retiring = FALSE;
      return link_violation (link, "could not follow the moved port: %s",
                             error->message);
    }
  port->link->hold_returns = TRUE;

  r = link_new_message (link, "MoveAcknowledged", &ack);
  if (r >= 0)
    r = sd_bus_send (link->bus, ack, NULL);
  if (r < 0)
    g_debug ("eipc: could not acknowledge a port's move: %s", g_strerror (-r));
  return 1;
}

/* The old connection of a port whose other end moved has ended: every
 * message that came back is queued on the new one, posts may follow. */
static void
port_retire_done (EipcMessagePort *self)
{
  PortLink *link = g_steal_pointer (&self->old_link);

  link->retiring = FALSE;
  link->port = NULL;
  link_free (link);
  if (self->link != NULL)
    {
      self->link->hold_returns = FALSE;
      self->link->n_returns = 0;
      g_source_set_ready_time (self->link->source, 0);
    }
}

/* A used port goes to another process: the other end learns of the new
 * socket (Moved), and what it posted that was not delivered here goes
 * back to it, to be posted again to the new holder. */
static void
port_move_out (EipcMessagePort *self)
{
  g_autoptr(sd_bus_message) m = NULL;
  g_autoptr(GError) error = NULL;
  PortLink *link = g_steal_pointer (&self->link);
  EipcEvent *event;
  int server = !self->server;
  int r;

  g_assert (self->move_fd >= 0);
  r = link_new_message (link, "Moved", &m);
  if (r >= 0)
    r = sd_bus_message_append_basic (m, 'h', &self->move_fd);
  if (r >= 0)
    r = sd_bus_message_append_basic (m, 'b', &server);
  close (g_steal_fd (&self->move_fd));
  if (r < 0)
    g_debug ("eipc: could not move a port: %s", g_strerror (-r));
  else if (!link_send (link, m, 0, 1, SEND_CONTROL, &error))
    g_debug ("eipc: could not move a port: %s", error->message);

  link->moving_out = TRUE;
  link->port = NULL;
  while ((event = g_queue_pop_head (&self->incoming)) != NULL)
    {
      link_return_event (link, event);
      g_object_unref (event);
    }
  port_clear_incoming (self);
  self->close_pending = FALSE;
  /* The link ends once the other end acknowledged and all is written. */
  g_source_set_ready_time (link->source, 0);
}


static void
eipc_message_port_dispose (GObject *object)
{
  EipcMessagePort *self = EIPC_MESSAGE_PORT (object);

  if (!self->closed && !self->transferred)
    eipc_message_port_close (self);
  port_clear_incoming (self);
  port_drop_links (self);
  g_clear_object (&self->spare_event);
  if (self->partner != NULL)
    {
      g_object_remove_weak_pointer (G_OBJECT (self->partner),
                                    (gpointer *) &self->partner);
      self->partner = NULL;
    }

  G_OBJECT_CLASS (eipc_message_port_parent_class)->dispose (object);
}

static void
eipc_message_port_finalize (GObject *object)
{
  EipcMessagePort *self = EIPC_MESSAGE_PORT (object);

  if (self->fd >= 0)
    close (self->fd);
  if (self->move_fd >= 0)
    close (self->move_fd);
  g_free (self->closed_reason);
  /* Kept by a delivery after dispose. */
  g_clear_object (&self->spare_event);
  g_main_context_unref (self->context);

  G_OBJECT_CLASS (eipc_message_port_parent_class)->finalize (object);
}

static void
eipc_message_port_class_init (EipcMessagePortClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = eipc_message_port_dispose;
  object_class->finalize = eipc_message_port_finalize;

  /**
   * EipcMessagePort::message:
   * @port: the port
   * @event: the message: eipc_event_get_data() (or
   *   eipc_event_get_data_json()) for a JSON message,
   *   eipc_event_get_bytes() for a binary one, eipc_event_get_ports() for
   *   the ports that came with it
   *
   * A message came from the other end (Electron's `message` event of
   * `MessagePortMain`). Messages are queued until
   * eipc_message_port_start() is called, then emitted in the order they
   * were posted. The event's kind is %EIPC_EVENT_PORT_MESSAGE.
   *
   * Since: 1.0
   */
  signals[SIGNAL_MESSAGE] =
    g_signal_new ("message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, EIPC_TYPE_EVENT);

  /**
   * EipcMessagePort::close:
   * @port: the port
   *
   * The other end was closed, or the process that held it died, or it
   * broke the protocol and was disconnected (Electron's `close` event of
   * `MessagePortMain`). Posting fails from then on with
   * %EIPC_ERROR_DISCONNECTED. Messages that arrived before are still
   * delivered first to a started port. Not emitted for
   * eipc_message_port_close() on this end.
   *
   * Since: 1.0
   */
  signals[SIGNAL_CLOSE] =
    g_signal_new ("close", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
eipc_message_port_init (EipcMessagePort *self)
{
  self->fd = -1;
  self->move_fd = -1;
  g_queue_init (&self->incoming);
}

/* Takes @fd, one end of a unix socket pair. */
EipcMessagePort *
eipc_message_port_new_internal (int           fd,
                                gboolean      server,
                                GMainContext *context)
{
  EipcMessagePort *self = g_object_new (EIPC_TYPE_MESSAGE_PORT, NULL);

  self->fd = fd;
  self->server = server;
  self->context = context != NULL ? g_main_context_ref (context) :
                                    g_main_context_ref_thread_default ();
  return self;
}

void
eipc_message_port_set_partner (EipcMessagePort *self,
                               EipcMessagePort *partner)
{
  self->partner = partner;
  g_object_add_weak_pointer (G_OBJECT (partner), (gpointer *) &self->partner);
}

static gboolean
fd_is_unix_stream (int fd)
{
  int domain = 0, type = 0;
  socklen_t len = sizeof domain;

  if (getsockopt (fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
      domain != AF_UNIX)
    return FALSE;
  len = sizeof type;
  return getsockopt (fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
         type == SOCK_STREAM;
}

/**
 * eipc_message_port_new_for_fd:
 * @fd: one end of a connected unix stream socket pair
 * @server: whether this end answers the D-Bus authentication; the other
 *   end must be given the opposite value
 * @error: return location for a #GError
 *
 * Makes a port of a socket the caller obtained another way, for example
 * one a parent process left open for a child it spawned, so two processes
 * can talk through a port without any bus. An #EipcMessageChannel made
 * in one process and transferred by eipc_web_contents_post_message() is
 * the usual way; this is the low-level one (no Electron equivalent). On
 * success the port owns @fd.
 *
 * Returns: (transfer full): a new port, or %NULL if @fd is not a unix
 *   stream socket
 *
 * Since: 1.0
 */
EipcMessagePort *
eipc_message_port_new_for_fd (int       fd,
                              gboolean  server,
                              GError  **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (fd < 0 || !fd_is_unix_stream (fd))
    {
      g_set_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                   "File descriptor %d is not a unix stream socket", fd);
      return NULL;
    }
  return eipc_message_port_new_internal (fd, server, NULL);
}

/**
 * eipc_message_port_steal_fd:
 * @self: an #EipcMessagePort that was never used
 * @server: (out) (optional): whether the socket's holder must answer the
 *   D-Bus authentication (give it to eipc_message_port_new_for_fd())
 * @error: return location for a #GError
 *
 * Takes the socket out of a port that was not used yet, to hand it to
 * another process in a way of the caller's own (fd inheritance, a unix
 * socket). The port then counts as transferred: using it fails.
 *
 * Returns: the socket, owned by the caller, or -1 when the port was
 *   already used, closed or transferred
 *
 * Since: 1.0
 */
int
eipc_message_port_steal_fd (EipcMessagePort  *self,
                            gboolean         *server,
                            GError          **error)
{
  g_autoptr(GPtrArray) one = NULL;
  int fd;

  g_return_val_if_fail (EIPC_IS_MESSAGE_PORT (self), -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  one = g_ptr_array_new ();
  g_ptr_array_add (one, self);
  if (!eipc_message_ports_check (one, NULL, error))
    return -1;
  if (self->link != NULL)
    {
      g_set_error_literal (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                           "The port was already used (started or posted to): "
                           "its socket can no longer be taken out");
      return -1;
    }
  fd = g_steal_fd (&self->fd);
  if (server != NULL)
    *server = self->server;
  self->transferred = TRUE;
  return fd;
}

/**
 * eipc_message_port_post_message:
 * @self: an #EipcMessagePort
 * @message: (nullable): the message, any JSON value (%NULL: JSON null)
 * @ports: (nullable) (element-type EipcMessagePort): ports to transfer
 *   with the message, or %NULL
 * @error: return location for a #GError
 *
 * Posts a message to the other end: Electron's
 * `port.postMessage(message, [transfer])`. The ports travel as file
 * descriptors and are unusable here afterwards; a port that was used
 * (started, posted to) takes along what was posted to it and not yet
 * delivered here. @self itself and its other end cannot be among them.
 * Posting does not wait for the other end: the message waits until it
 * is started, within a bound (%EIPC_ERROR_LIMITS_EXCEEDED when the other
 * end reads too slowly).
 *
 * Returns: %TRUE if the message was posted
 *
 * Since: 1.0
 */
gboolean
eipc_message_port_post_message (EipcMessagePort  *self,
                                JsonNode         *message,
                                GPtrArray        *ports,
                                GError          **error)
{
  g_autofree char *json = NULL;

  g_return_val_if_fail (EIPC_IS_MESSAGE_PORT (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (message == NULL)
    json = g_strdup ("null");
  else
    json = eipc_json_node_to_string (message);
  return eipc_message_port_post_message_json (self, json, ports, error);
}

/**
 * eipc_message_port_post_message_json:
 * @self: an #EipcMessagePort
 * @json: the message as JSON text (any JSON value)
 * @ports: (nullable) (element-type EipcMessagePort): ports to transfer
 *   with the message, or %NULL
 * @error: return location for a #GError
 *
 * Like eipc_message_port_post_message(), with the message as JSON text,
 * which travels as given once checked.
 *
 * Returns: %TRUE if the message was posted
 *
 * Since: 1.0
 */
gboolean
eipc_message_port_post_message_json (EipcMessagePort  *self,
                                     const char       *json,
                                     GPtrArray        *ports,
                                     GError          **error)
{
  g_autoptr(sd_bus_message) m = NULL;
  guint n_ports = ports != NULL ? ports->len : 0;
  gsize size;
  int r;

  g_return_val_if_fail (EIPC_IS_MESSAGE_PORT (self), FALSE);
  g_return_val_if_fail (json != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!port_check_usable (self, error))
    return FALSE;
  if (!eipc_json_check_utf8 (json, FALSE))
    {
      if (!g_utf8_validate (json, -1, NULL))
        {
          g_set_error_literal (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                               "The message is not valid UTF-8 text");
          return FALSE;
        }
      if (!eipc_json_check (json, FALSE, error))
        return FALSE;
    }
  if (n_ports > 0 && !eipc_message_ports_check (ports, self, error))
    return FALSE;
  if (!port_connect (self, error))
    return FALSE;

  /* Without ports, Text: no array to build and to read. */
  size = strlen (json);
  r = link_new_message (self->link, n_ports > 0 ? "Message" : "Text", &m);
  if (r >= 0)
    r = eipc_message_append_string (m, json);
  if (r >= 0 && n_ports > 0)
    r = eipc_message_append_ports (m, ports);
  if (r < 0)
    {
      if (r == -EOPNOTSUPP)
        g_set_error_literal (error, EIPC_ERROR, EIPC_ERROR_FAILED,
                             "The other end of the port does not accept file "
                             "descriptors");
      else
        eipc_set_error_from_errno (error, r, "Could not build the message");
      return FALSE;
    }
  if (!port_send (self, m, size, n_ports, error))
    return FALSE;
  eipc_message_ports_transferred (ports);
  return TRUE;
}

static int
memfd_from_bytes (const guint8 *data,
                  gsize         size)
{
  int fd, saved;
  gsize done = 0;

  fd = memfd_create ("eipc-port-bytes", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    return -errno;
  while (done < size)
    {
      ssize_t n = write (fd, data + done, size - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        goto fail;
      done += n;
    }
  if (fcntl (fd, F_ADD_SEALS, MEMFD_SEALS) < 0)
    goto fail;
  return fd;

fail:
  saved = errno != 0 ? errno : EIO;
  close (fd);
  return -saved;
}

/**
 * eipc_message_port_post_bytes:
 * @self: an #EipcMessagePort
 * @bytes: the payload
 * @error: return location for a #GError
 *
 * Posts binary data to the other end (Electron's
 * `port.postMessage(buffer)`), which gets it from eipc_event_get_bytes().
 * Up to %EIPC_MESSAGE_PORT_INLINE_MAX bytes travel inside the D-Bus
 * message; more are written once into a sealed memfd that travels as a
 * file descriptor and that the receiver maps read-only, without copying.
 *
 * Returns: %TRUE if the data was posted
 *
 * Since: 1.0
 */
gboolean
eipc_message_port_post_bytes (EipcMessagePort  *self,
                              GBytes           *bytes,
                              GError          **error)
{
  g_autoptr(sd_bus_message) m = NULL;
  guint fds = 0;
  int r;

  g_return_val_if_fail (EIPC_IS_MESSAGE_PORT (self), FALSE);
  g_return_val_if_fail (bytes != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!port_connect (self, error))
    return FALSE;

  r = link_new_bytes (self->link, bytes, &m, &fds);
  if (r < 0)
    {
      if (r == -EOPNOTSUPP)
        g_set_error_literal (error, EIPC_ERROR, EIPC_ERROR_FAILED,
                             "The other end of the port does not accept "
                             "file descriptors");
      else
        eipc_set_error_from_errno (error, r, "Could not build the message");
      return FALSE;
    }
  return port_send (self, m, g_bytes_get_size (bytes), fds, error);
}

/**
 * eipc_message_port_start:
 * @self: an #EipcMessagePort
 *
 * Starts the flow of messages (Electron's `port.start()`): the messages
 * queued so far, then each new one, emit #EipcMessagePort::message. Does
 * nothing on a port that is started, closed or transferred.
 *
 * Since: 1.0
 */
void
eipc_message_port_start (EipcMessagePort *self)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (EIPC_IS_MESSAGE_PORT (self));

  if (self->started || self->transferred)
    return;
  self->started = TRUE;
  if (!self->closed && !port_connect (self, &error))
    {
      g_debug ("eipc: a port could not start: %s", error->message);
      self->close_pending = TRUE;
    }
  if (self->incoming.length > 0 || self->close_pending)
    port_schedule_delivery (self);
}

/**
 * eipc_message_port_close:
 * @self: an #EipcMessagePort
 *
 * Closes the port (Electron's `port.close()`): the other end emits
 * #EipcMessagePort::close once it has the messages posted before, and
 * this end receives nothing more. Closing twice, or a transferred port,
 * does nothing.
 *
 * Since: 1.0
 */
void
eipc_message_port_close (EipcMessagePort *self)
{
  g_return_if_fail (EIPC_IS_MESSAGE_PORT (self));

  if (self->transferred || self->closed)
    return;
  port_set_closed (self, "The port is closed");
  self->close_pending = FALSE;
  port_clear_incoming (self);
  port_drop_links (self);
  if (self->fd >= 0)
    {
      shutdown (self->fd, SHUT_RDWR);
      close (self->fd);
      self->fd = -1;
    }
}

/**
 * eipc_message_port_is_closed:
 * @self: an #EipcMessagePort
 *
 * Tells whether the port was closed, here or by the other end.
 *
 * Returns: %TRUE when posting to the port would fail for that reason
 *
 * Since: 1.0
 */
gboolean
eipc_message_port_is_closed (EipcMessagePort *self)
{
  g_return_val_if_fail (EIPC_IS_MESSAGE_PORT (self), TRUE);
  return self->closed;
}

/**
 * eipc_message_port_is_transferred:
 * @self: an #EipcMessagePort
 *
 * Tells whether the port was transferred to another process (and is
 * unusable here).
 *
 * Returns: %TRUE once the port has been transferred
 *
 * Since: 1.0
 */
gboolean
eipc_message_port_is_transferred (EipcMessagePort *self)
{
  g_return_val_if_fail (EIPC_IS_MESSAGE_PORT (self), FALSE);
  return self->transferred;
}

/* ---- ports that travel with a message ---- */

/* Can @ports be transferred (through @via, if not NULL)? They must be
 * ports, distinct, never used, not closed or transferred, and neither
 * @via nor its other end. */
gboolean
eipc_message_ports_check (GPtrArray        *ports,
                          EipcMessagePort  *via,
                          GError          **error)
{
  if (ports == NULL)
    return TRUE;
  for (guint i = 0; i < ports->len; i++)
    {
      EipcMessagePort *port = g_ptr_array_index (ports, i);

      if (!EIPC_IS_MESSAGE_PORT (port))
        {
          g_set_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                       "Item %u of the ports to transfer is not a port", i);
          return FALSE;
        }
      if (via != NULL && (port == via || port == via->partner))
        {
          g_set_error_literal (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                               "A port cannot be transferred through itself "
                               "or through its other end");
          return FALSE;
        }
      for (guint j = 0; j < i; j++)
        if (g_ptr_array_index (ports, j) == port)
          {
            g_set_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                         "Port %u is listed twice in the ports to transfer", i);
            return FALSE;
          }
      if (port->transferred)
        {
          g_set_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                       "Port %u was already transferred to another process", i);
          return FALSE;
        }
      if (port->closed)
        {
          g_set_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                       "Port %u is closed", i);
          return FALSE;
        }
      if (port->old_link != NULL)
        {
          g_set_error (error, EIPC_ERROR, EIPC_ERROR_FAILED,
                       "Port %u cannot be transferred while its other end "
                       "is moving to another process", i);
          return FALSE;
        }
      if (port->link == NULL && port->fd < 0)
        {
          g_set_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                       "Port %u has no connection", i);
          return FALSE;
        }
    }
  return TRUE;
}

/* Checks what eipc_web_contents_post_message_json() and
 * eipc_renderer_post_message_json() send: a channel, one JSON value, ports
 * that can be transferred. */
gboolean
eipc_message_check_posted (const char  *channel,
                           const char  *message_json,
                           GPtrArray   *ports,
                           GError     **error)
{
  if (!eipc_channel_check (channel, error))
    return FALSE;
  if (message_json == NULL || !eipc_json_check_utf8 (message_json, FALSE))
    {
      if (message_json == NULL || !g_utf8_validate (message_json, -1, NULL))
        {
          g_set_error_literal (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                               "The message is not valid UTF-8 text");
          return FALSE;
        }
      if (!eipc_json_check (message_json, FALSE, error))
        return FALSE;
    }
  return eipc_message_ports_check (ports, NULL, error);
}

/* A posted message reaches listeners as their arguments: [MESSAGE], as
 * Electron's listener (event, message) gets it. */
char *
eipc_message_posted_args (const char *message_json)
{
  return g_strconcat ("[", message_json, "]", NULL);
}

/* Can @bus carry the file descriptors of @ports? */
gboolean
eipc_bus_check_fds (sd_bus     *bus,
                    GPtrArray  *ports,
                    GError    **error)
{
  if (ports == NULL || ports->len == 0)
    return TRUE;
  if (sd_bus_can_send (bus, SD_BUS_TYPE_UNIX_FD) <= 0)
    {
      g_set_error_literal (error, EIPC_ERROR, EIPC_ERROR_FAILED,
                           "This bus connection cannot pass file descriptors, "
                           "so it cannot transfer message ports");
      return FALSE;
    }
  return TRUE;
}

/* A used port travels as a new socket pair: one end goes with the
 * message, the other to the port's other end (see port_move_out()). */
static int
port_prepare_move (EipcMessagePort *port)
{
  int pair[2];

  if (port->link == NULL || port->move_fd >= 0)
    return 0;
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) < 0)
    return -errno;
  port->fd = pair[0];
  port->move_fd = pair[1];
  return 0;
}

/* Appends @ports (checked with eipc_message_ports_check()) as a(hb); the
 * message holds copies of their sockets. */
int
eipc_message_append_ports (sd_bus_message *m,
                           GPtrArray      *ports)
{
  int r;

  r = sd_bus_message_open_container (m, 'a', "(hb)");
  if (r < 0)
    return r;
  for (guint i = 0; ports != NULL && i < ports->len; i++)
    {
      EipcMessagePort *port = g_ptr_array_index (ports, i);
      int server = port->server;

      r = port_prepare_move (port);
      if (r >= 0)
        r = sd_bus_message_open_container (m, 'r', "hb");
      if (r >= 0)
        r = sd_bus_message_append_basic (m, 'h', &port->fd);
      if (r >= 0)
        r = sd_bus_message_append_basic (m, 'b', &server);
      if (r >= 0)
        r = sd_bus_message_close_container (m);
      if (r < 0)
        return r;
    }
  return sd_bus_message_close_container (m);
}

/* The message with @ports is on its way: they are the receiver's now. */
void
eipc_message_ports_transferred (GPtrArray *ports)
{
  for (guint i = 0; ports != NULL && i < ports->len; i++)
    {
      EipcMessagePort *port = g_ptr_array_index (ports, i);

      if (port->fd >= 0)
        {
          close (port->fd);
          port->fd = -1;
        }
      if (port->link != NULL)
        port_move_out (port);
      port->started = FALSE;
      port->transferred = TRUE;
    }
}

/* Reads a(hb) into new ports on @context; NULL with @error when the
 * array is not there or holds something other than unix sockets. */
GPtrArray *
eipc_message_read_ports (sd_bus_message  *m,
                         GMainContext    *context,
                         GError         **error)
{
  g_autoptr(GPtrArray) ports = g_ptr_array_new_with_free_func (g_object_unref);
  int r;

  r = sd_bus_message_enter_container (m, 'a', "(hb)");
  if (r <= 0)
    goto bad;
  while ((r = sd_bus_message_enter_container (m, 'r', "hb")) > 0)
    {
      int fd = -1, server = 0, copy;

      r = sd_bus_message_read_basic (m, 'h', &fd);
      if (r > 0)
        r = sd_bus_message_read_basic (m, 'b', &server);
      if (r > 0)
        r = sd_bus_message_exit_container (m);
      if (r < 0)
        goto bad;
      if (!fd_is_unix_stream (fd))
        {
          g_set_error_literal (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                               "A transferred port is not a unix stream socket");
          return NULL;
        }
      copy = fcntl (fd, F_DUPFD_CLOEXEC, 3);
      if (copy < 0)
        {
          eipc_set_error_from_errno (error, -errno, "Could not keep a "
                                     "transferred port");
          return NULL;
        }
      g_ptr_array_add (ports, eipc_message_port_new_internal (copy, server != 0,
                                                              context));
    }
  if (r < 0)
    goto bad;
  r = sd_bus_message_exit_container (m);
  if (r < 0)
    goto bad;
  return g_steal_pointer (&ports);

bad:
  g_set_error_literal (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                       "The transferred ports are not an array of "
                       "(socket, role)");
  return NULL;
}
