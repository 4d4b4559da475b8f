/* eipc-flow.c: what the main process sends to one peer, acknowledged
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * dbus-daemon charges a sender for its messages still queued at a
 * receiver and stops reading from the sender once that is over its
 * limit; dbus-broker drops a sender's unicast signals past the sending
 * user's quota or disconnects it. Either way one peer that stops reading
 * must not hold the main process's messages in the bus: per peer, the
 * main process keeps a window of messages the bus may hold for it
 * (EIPC_FLOW_WINDOW messages, EIPC_FLOW_WINDOW_BYTES bytes), acknowledged
 * by org.freedesktop.DBus.Peer.Ping (sd-bus answers it in order, once
 * the peer has read everything sent before it; the answer is taken only
 * from the peer). One-way messages past the window wait in the peer's
 * backlog here, in order, and go as answers come; a backlog over the
 * peer's byte budget drops messages, counted and reported once per
 * episode. Direct messages (replies, calls) never wait in the backlog:
 * they go at once if the peer's budget allows, and count in the window.
 * A ping unanswered for longer than the timeout makes the peer
 * unresponsive; its answer makes it responsive again.
 */

#include "config.h"

#include <string.h>

#include "eipc-private.h"

struct _EipcFlow
{
  sd_bus        *bus;
  char          *peer;
  EipcBudget    *budget;        /* the main process's (unowned) */
  const EipcFlowFuncs *funcs;
  gpointer       data;

  guint64        sent, sent_bytes;     /* counted into the bus */
  guint64        acked, acked_bytes;   /* of those, read by the peer */
  guint64        mark, mark_bytes;     /* what the ping in flight acknowledges */
  sd_bus_slot   *ping_slot;
  gboolean       ping_failed;          /* ask again on the next send */

  GQueue         backlog;              /* of FlowItem, unsent */
  guint64        backlog_bytes;
  guint64        held_bytes;           /* the peer's calls, see eipc_flow_hold() */

  guint64        dropped, dropped_bytes;  /* this episode */
  gboolean       unresponsive;
  guint          timeout_ms;
  GMainContext  *context;
  GSource       *timer;                /* attached only while it runs */
  gboolean       closed;
};

typedef struct {
  sd_bus_message *message;
  gsize           size;
} FlowItem;

static void  flow_drain       (EipcFlow *self);
static void  flow_ping        (EipcFlow *self);
static gsize flow_queued_cost (gsize     size);

/* A quarter of the window is unacknowledged: time to ask. */
static inline gboolean
flow_wants_ping (EipcFlow *self)
{
  return self->sent - self->acked >= EIPC_FLOW_WINDOW / 4 ||
         self->sent_bytes - self->acked_bytes >= EIPC_FLOW_WINDOW_BYTES / 4;
}

static void
flow_item_free (FlowItem *item)
{
  sd_bus_message_unref (item->message);
  g_free (item);
}

static gboolean
flow_timer_dispatch (GSource     *source,
                     GSourceFunc  callback,
                     gpointer     user_data)
{
  return callback (user_data);
}

static GSourceFuncs flow_timer_funcs = {
  .dispatch = flow_timer_dispatch,
};

/* The unresponsive timer is a source of its own only while it runs: GLib
 * walks every attached source in each iteration's prepare and check, so
 * one idle source per attached renderer cost the main process about 130
 * instructions per renderer per iteration (100 renderers: ~13k, more
 * than half an invoke). */
static void
flow_timer_stop (EipcFlow *self)
{
  if (self->timer == NULL)
    return;
  g_source_destroy (self->timer);
  g_clear_pointer (&self->timer, g_source_unref);
}

static gboolean flow_timer_fired (gpointer user_data);

static void
flow_timer_start (EipcFlow *self)
{
  if (self->timer != NULL)
    return;
  self->timer = g_source_new (&flow_timer_funcs, sizeof (GSource));
  g_source_set_static_name (self->timer, "[eipc] unresponsive peer");
  g_source_set_callback (self->timer, flow_timer_fired, self, NULL);
  g_source_set_ready_time (self->timer, g_get_monotonic_time () +
                                        (gint64) self->timeout_ms * 1000);
  g_source_attach (self->timer, self->context);
}

static gboolean
flow_timer_fired (gpointer user_data)
{
  EipcFlow *self = user_data;

  /* GLib destroys the source when this returns G_SOURCE_REMOVE. */
  g_clear_pointer (&self->timer, g_source_unref);
  /* Waiting for an answer, or the last one was not the peer's. */
  if ((self->ping_slot == NULL && !self->ping_failed) || self->unresponsive ||
      self->closed)
    return G_SOURCE_REMOVE;
  self->unresponsive = TRUE;
  g_debug ("eipc: %s has not read for %u ms (%" G_GUINT64_FORMAT " messages "
           "unread, %" G_GUINT64_FORMAT " waiting here)", self->peer,
           self->timeout_ms, self->sent - self->acked, (guint64) self->backlog.length);
  if (self->funcs != NULL && self->funcs->responsive_changed != NULL)
    self->funcs->responsive_changed (self, FALSE, self->data);
  return G_SOURCE_REMOVE;
}

EipcFlow *
eipc_flow_new (sd_bus              *bus,
               const char          *peer,
               EipcBudget          *budget,
               GMainContext        *context,
               const EipcFlowFuncs *funcs,
               gpointer             data)
{
  EipcFlow *self = g_new0 (EipcFlow, 1);

  self->bus = sd_bus_ref (bus);
  self->peer = g_strdup (peer);
  self->budget = budget;
  self->funcs = funcs;
  self->data = data;
  self->timeout_ms = EIPC_FLOW_DEFAULT_TIMEOUT_MS;
  g_queue_init (&self->backlog);
  self->context = context != NULL ? g_main_context_ref (context) : NULL;
  return self;
}

static void
flow_report_dropped (EipcFlow *self)
{
  guint64 n = self->dropped, bytes = self->dropped_bytes;

  if (n == 0)
    return;
  self->dropped = self->dropped_bytes = 0;
  if (self->funcs != NULL && self->funcs->dropped != NULL)
    self->funcs->dropped (self, n, bytes, self->data);
}

/* The peer is gone: what waits for it is dropped (and reported), nothing
 * more is sent. */
void
eipc_flow_close (EipcFlow *self)
{
  FlowItem *item;

  if (self->closed)
    return;
  self->closed = TRUE;
  self->ping_slot = sd_bus_slot_unref (self->ping_slot);
  while ((item = g_queue_pop_head (&self->backlog)) != NULL)
    {
      self->dropped++;
      self->dropped_bytes += item->size;
      flow_item_free (item);
    }
  self->budget->used -= self->backlog_bytes;
  self->backlog_bytes = 0;
  flow_timer_stop (self);
  flow_report_dropped (self);
}

void
eipc_flow_free (EipcFlow *self)
{
  if (self == NULL)
    return;
  self->funcs = NULL;
  eipc_flow_close (self);
  g_assert (self->held_bytes == 0);
  flow_timer_stop (self);
  g_clear_pointer (&self->context, g_main_context_unref);
  sd_bus_unref (self->bus);
  g_free (self->peer);
  g_free (self);
}

static int
flow_ping_done (sd_bus_message *reply,
                void           *userdata,
                sd_bus_error   *ret_error)
{
  EipcFlow *self = userdata;
  gboolean was_unresponsive = self->unresponsive;

  self->ping_slot = sd_bus_slot_unref (self->ping_slot);
  /* Only the peer's own answer counts (any client can answer a serial it
   * saw; sd-bus matches by serial alone): a forged one is ignored, and
   * the next send asks again. */
  if (g_strcmp0 (sd_bus_message_get_sender (reply), self->peer) != 0 ||
      sd_bus_message_is_method_error (reply, NULL))
    {
      /* The bus answers for a peer that is gone (its departure is
       * handled elsewhere); anybody else is a forger. */
      if (g_strcmp0 (sd_bus_message_get_sender (reply), self->peer) != 0 &&
          g_strcmp0 (sd_bus_message_get_sender (reply), "org.freedesktop.DBus") != 0)
        g_message ("eipc: %s answered a ping sent to %s: ignored as forged",
                   sd_bus_message_get_sender (reply), self->peer);
      /* The unresponsive timer runs on from the first unanswered
       * ping: a forger answering every ping cannot put it off. */
      self->ping_failed = TRUE;
      return 1;
    }
  flow_timer_stop (self);
  self->acked = MAX (self->acked, self->mark);
  self->acked_bytes = MAX (self->acked_bytes, self->mark_bytes);
  self->unresponsive = FALSE;
  flow_drain (self);
  /* A quarter of the window or more is still unread (sent while this
   * ping was on its way): ask again now, as eipc_flow_count() would have
   * had no ping been in flight. Not for less: with messages going
   * steadily (a reply to each of a renderer's invokes) something is
   * always sent while a ping is on its way, and asking again at every
   * answer made it a ping per message, each a wake-up of the renderer
   * and two more messages through the bus. The burst a main process
   * sends without iterating in between still finds the window at least
   * three quarters empty (a broadcast has twice the window). */
  if (flow_wants_ping (self))
    flow_ping (self);
  if (self->backlog.length == 0)
    flow_report_dropped (self);
  if (was_unresponsive && self->funcs != NULL &&
      self->funcs->responsive_changed != NULL)
    self->funcs->responsive_changed (self, TRUE, self->data);
  return 1;
}

static void
flow_ping (EipcFlow *self)
{
  g_autoptr(sd_bus_message) ping = NULL;
  int r;

  if (self->ping_slot != NULL || self->closed)
    return;
  r = sd_bus_message_new_method_call (self->bus, &ping, self->peer, "/",
                                      "org.freedesktop.DBus.Peer", "Ping");
  if (r >= 0)
    r = sd_bus_call_async (self->bus, &self->ping_slot, ping, flow_ping_done, self,
                           G_MAXUINT64);
  if (r < 0)
    {
      g_debug ("eipc: cannot ping %s: %s", self->peer, g_strerror (-r));
      self->ping_failed = TRUE;
      return;
    }
  self->ping_failed = FALSE;
  self->mark = self->sent;
  self->mark_bytes = self->sent_bytes;
  if (!self->unresponsive && self->timeout_ms > 0)
    flow_timer_start (self);
}

/* @size bytes went into the bus for the peer (sent by the caller, or a
 * broadcast that reaches it). */
void
eipc_flow_count (EipcFlow *self,
                 gsize     size)
{
  self->sent++;
  self->sent_bytes += size;
  if (self->ping_slot == NULL && (self->ping_failed || flow_wants_ping (self)))
    flow_ping (self);
}

static gboolean
flow_window_has_room (EipcFlow *self,
                      gsize     size)
{
  /* An empty window takes any one message, however large. */
  return self->sent == self->acked ||
         (self->sent - self->acked < EIPC_FLOW_WINDOW &&
          self->sent_bytes - self->acked_bytes + size <= EIPC_FLOW_WINDOW_BYTES);
}

/* Whether a broadcast of @size bytes may go as one signal: nothing waits
 * for the peer and the bus holds less than twice its window for it. A
 * broadcast gets twice the room of a unicast: a main process that sends
 * a burst without iterating its main context between bursts hears the
 * answers to its pings only after the next burst, and a broadcast that
 * has to go as a copy per renderer costs it as many messages. */
gboolean
eipc_flow_can_send (EipcFlow *self,
                    gsize     size)
{
  return self->backlog.length == 0 &&
         (self->sent == self->acked ||
          (self->sent - self->acked < 2 * EIPC_FLOW_WINDOW &&
           self->sent_bytes - self->acked_bytes + size <= 2 * EIPC_FLOW_WINDOW_BYTES));
}

static void
flow_drain (EipcFlow *self)
{
  FlowItem *item;

  while (!self->closed && (item = g_queue_peek_head (&self->backlog)) != NULL)
    {
      gsize size = item->size;
      int r;

      if (!flow_window_has_room (self, size))
        break;
      g_queue_pop_head (&self->backlog);
      self->backlog_bytes -= flow_queued_cost (size);
      self->budget->used -= flow_queued_cost (size);
      r = sd_bus_send_to (self->bus, item->message, self->peer, NULL);
      flow_item_free (item);
      if (r < 0)
        {
          g_debug ("eipc: cannot send to %s: %s", self->peer, g_strerror (-r));
          self->dropped++;
          self->dropped_bytes += size;
          continue;
        }
      eipc_flow_count (self, size);
    }
}

/* What the peer's calls make the main process hold, plus what the bus
 * holds for it. The backlog of one-way messages has a bound of its own:
 * a renderer that is behind still has its calls served. */
static guint64
flow_direct_bytes (EipcFlow *self)
{
  return self->held_bytes + (self->sent_bytes - self->acked_bytes);
}

/* Sends a one-way message to the peer in its order: into the bus when
 * the window has room, else into the backlog; past the peer's budget
 * (or the main process's total) it is dropped, counted for the
 * episode's report, and FALSE returned with LIMITS_EXCEEDED. */
gboolean
eipc_flow_send (EipcFlow        *self,
                sd_bus_message  *m,
                gsize            size,
                GError         **error)
{
  FlowItem *item;
  int r;

  if (self->closed)
    {
      g_set_error (error, EIPC_ERROR, EIPC_ERROR_DISCONNECTED,
                   "%s is gone", self->peer);
      return FALSE;
    }
  if (self->backlog.length == 0 && flow_window_has_room (self, size))
    {
      r = sd_bus_send_to (self->bus, m, self->peer, NULL);
      if (r < 0)
        {
          eipc_set_error_from_errno (error, r, "Cannot send to the renderer");
          return FALSE;
        }
      eipc_flow_count (self, size);
      return TRUE;
    }

  if (self->backlog_bytes + flow_queued_cost (size) > self->budget->max_client ||
      self->budget->used + flow_queued_cost (size) > self->budget->max_total)
    {
      self->dropped++;
      self->dropped_bytes += size;
      g_set_error (error, EIPC_ERROR, EIPC_ERROR_LIMITS_EXCEEDED,
                   "%s does not read: %" G_GUINT64_FORMAT " bytes wait for it "
                   "(the limit is %" G_GUINT64_FORMAT " per client, %"
                   G_GUINT64_FORMAT " in all); the message was dropped",
                   self->peer, self->backlog_bytes, self->budget->max_client,
                   self->budget->max_total);
      return FALSE;
    }
  item = g_new (FlowItem, 1);
  item->message = sd_bus_message_ref (m);
  item->size = size;
  g_queue_push_tail (&self->backlog, item);
  self->backlog_bytes += flow_queued_cost (size);
  self->budget->used += flow_queued_cost (size);
  if (self->ping_slot == NULL)
    flow_ping (self);
  return TRUE;
}

/* A direct message (a reply, a call) of @size bytes is about to go to the
 * peer at once, past the backlog: FALSE with LIMITS_EXCEEDED if the peer's
 * budget has no room for it. @own is what the caller's call holds and
 * releases once answered. */
gboolean
eipc_flow_check_direct (EipcFlow  *self,
                        gsize      size,
                        gsize      own,
                        GError   **error)
{
  /* What is on its way to the peer in the bus and what its calls hold:
   * not the backlog of one-way messages, which a direct message passes
   * (and which has its own bound). */
  guint64 used = flow_direct_bytes (self);

  used = used > own ? used - own : 0;
  if (used + size <= self->budget->max_client)
    return TRUE;
  g_set_error (error, EIPC_ERROR, EIPC_ERROR_LIMITS_EXCEEDED,
               "%s does not read fast enough: %" G_GUINT64_FORMAT " bytes are "
               "on their way to it already, and %" G_GSIZE_FORMAT " more would "
               "pass the limit of %" G_GUINT64_FORMAT " per client",
               self->peer, used, size, self->budget->max_client);
  return FALSE;
}

/* The peer's calls hold @delta more bytes (negative: fewer) in the main
 * process. FALSE (and nothing counted) if that would pass a limit. */
gboolean
eipc_flow_hold (EipcFlow *self,
                gint64    delta)
{
  if (delta > 0 &&
      (flow_direct_bytes (self) + (guint64) delta > self->budget->max_client ||
       self->budget->used + (guint64) delta > self->budget->max_total))
    return FALSE;
  g_assert (delta >= 0 || self->held_bytes >= (guint64) -delta);
  self->held_bytes += delta;
  self->budget->used += delta;
  return TRUE;
}

guint64
eipc_flow_get_client_bytes (EipcFlow *self)
{
  return self->backlog_bytes + flow_direct_bytes (self);
}

gboolean
eipc_flow_is_unresponsive (EipcFlow *self)
{
  return self->unresponsive;
}

void
eipc_flow_set_timeout (EipcFlow *self,
                       guint     timeout_ms)
{
  self->timeout_ms = timeout_ms;
  if (timeout_ms == 0)
    flow_timer_stop (self);
}

guint
eipc_flow_get_timeout (EipcFlow *self)
{
  return self->timeout_ms;
}

/* What a message with these texts takes in the bus: the texts and a
 * header (and, for a call a client sent, about what it takes here). */
gsize
eipc_flow_message_size (const char *first,
                        const char *second)
{
  return EIPC_FLOW_MESSAGE_OVERHEAD + strlen (first) + (second != NULL ? strlen (second) : 0);
}

/* What a message of @size bytes built here costs while it waits in the
 * backlog: sd-bus grows a body it builds by doubling, so up to twice its
 * size, plus its sd_bus_message and the queue's entry (measured: about
 * 3 KB for 1 KB of text). */
static gsize
flow_queued_cost (gsize size)
{
  return 2 * size + 1024;
}
