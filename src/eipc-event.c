/* eipc-event.c: the event handed to listeners and handlers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * As GIO's GDBusMethodInvocation knows only its connection and message,
 * an event knows its message and what its creator handed it: a reply
 * function for event.reply, and a notification that its call was
 * answered or dropped. It calls no function of the main process, the
 * renderer or the webContents.
 */

#include "config.h"

#include <string.h>

#include "eipc-private.h"

struct _EipcEvent
{
  GObject          parent_instance;

  EipcEventKind    kind;
  sd_bus_message  *message;    /* the inbound message; owns the texts */
  const char      *channel;
  const char      *args_json;
  JsonArray       *args;       /* parsed on first use */
  guint64          sender_id;
  EipcWebContents *sender;     /* main side, NULL for unattached clients */
  guint32          process_id;
  gboolean         answered;
  gboolean         done;       /* funcs->done was called */
  const EipcEventFuncs *funcs; /* from the creator; static */
  gpointer         data;
  GDestroyNotify   data_free;
  GPtrArray       *ports;      /* EipcMessagePort that came with it, or NULL */
  GBytes          *bytes;      /* a port's binary message */
  JsonNode        *port_data;  /* a port message's data, parsed on first use */
  char            *args_owned; /* args_json when the event made it */
  gsize            cost;       /* what the creator counted for it */
};

G_DEFINE_FINAL_TYPE (EipcEvent, eipc_event, G_TYPE_OBJECT)

static gboolean
event_expects_answer (EipcEvent *self)
{
  return self->kind == EIPC_EVENT_INVOKE || self->kind == EIPC_EVENT_SEND_SYNC;
}

/* Tells the creator, once, that the call was answered or dropped. */
static void
event_done (EipcEvent *self,
            gboolean   answered)
{
  if (self->done || !event_expects_answer (self))
    return;
  self->done = TRUE;
  if (self->funcs != NULL && self->funcs->done != NULL)
    self->funcs->done (self, answered, self->data);
}

/* What finalize does for the event itself, up to the creator's data,
 * which is handed back in @data and @data_free (not yet released). The
 * event is then as eipc_event_init() left it. */
static void
event_clear (EipcEvent      *self,
             gpointer       *data,
             GDestroyNotify *data_free)
{
  /* Nobody answered and nobody can any more: tell the caller now rather
   * than let it wait for its timeout. */
  if (event_expects_answer (self) && !self->answered)
    {
      if (self->kind == EIPC_EVENT_INVOKE)
        eipc_reply_error (self->message, EIPC_ERROR_NO_RETURN_VALUE,
                          "Error invoking remote method '%s': Error: the "
                          "handler released the event without replying",
                          self->channel);
      else
        eipc_reply_error (self->message, EIPC_ERROR_NO_RETURN_VALUE,
                          "No listener set a return value for sendSync on '%s'",
                          self->channel);
    }
  event_done (self, self->answered);

  *data = g_steal_pointer (&self->data);
  *data_free = self->data_free;
  self->data_free = NULL;
  g_clear_pointer (&self->args, json_array_unref);
  g_clear_pointer (&self->ports, g_ptr_array_unref);
  g_clear_pointer (&self->bytes, g_bytes_unref);
  g_clear_pointer (&self->port_data, json_node_unref);
  g_clear_pointer (&self->args_owned, g_free);
  g_clear_pointer (&self->message, sd_bus_message_unref);
  g_clear_object (&self->sender);
  self->channel = NULL;
  self->args_json = NULL;
  self->funcs = NULL;
  self->kind = EIPC_EVENT_SEND;
  self->sender_id = 0;
  self->process_id = 0;
  self->answered = FALSE;
  self->done = FALSE;
  self->cost = 0;
}

static void
eipc_event_finalize (GObject *object)
{
  EipcEvent *self = EIPC_EVENT (object);
  GDestroyNotify data_free = NULL;
  gpointer data = NULL;

  event_clear (self, &data, &data_free);
  if (data_free != NULL)
    data_free (data);

  G_OBJECT_CLASS (eipc_event_parent_class)->finalize (object);
}

/* Whether the caller holds the only reference to @self and nothing else
 * hangs on the object: no qdata, which is where GObject keeps weak
 * references, weak pointers, toggle references and the floating flag,
 * and where g_object_set_data() puts its data. Such an event can be
 * made new again in place of being finalized: nobody can tell. */
static gboolean
event_is_unshared (EipcEvent *self)
{
  /* No G_OBJECT(): its type check costs 70 instructions, twice per
   * message. */
  GObject *object = (GObject *) self;

  return g_atomic_int_get (&object->ref_count) == 1 && object->qdata == NULL;
}

/* Releases the caller's reference to @self (taken). If nobody else holds
 * the event (the listeners and handlers did not keep it) and @spare is
 * empty, the event is cleared as finalize would (an unanswered call is
 * answered, the creator told) and kept in @spare for the next
 * eipc_event_take(): a GObject costs about 2.8k instructions to make and
 * finalize, clearing it a few hundred. Else it is unreffed. */
void
eipc_event_release (EipcEvent **spare,
                    EipcEvent  *self)
{
  GDestroyNotify data_free = NULL;
  gpointer data = NULL;

  if (self == NULL)
    return;
  if (*spare != NULL || !event_is_unshared (self))
    {
      g_object_unref (self);
      return;
    }
  /* Not finalized, so no dispose: no signal handler may stay behind. */
  g_signal_handlers_destroy (self);
  event_clear (self, &data, &data_free);
  /* The creator's done function saw the event: check again. */
  if (*spare == NULL && event_is_unshared (self))
    *spare = self;
  else
    g_object_unref (self);
  /* Last: the creator's data may hold the owner of @spare. */
  if (data_free != NULL)
    data_free (data);
}

static void
eipc_event_class_init (EipcEventClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = eipc_event_finalize;
}

static void
eipc_event_init (EipcEvent *self)
{
}

/* @channel and @args_json point into @message, which the event keeps.
 * @funcs (static) and @data come from the creator; @data_free releases
 * @data when the event goes. An event that is answered (invoke,
 * sendSync) is made only from checked @args_json: event_answer_json()
 * relies on it. */
EipcEvent *
eipc_event_new (EipcEventKind         kind,
                sd_bus_message       *message,
                const char           *channel,
                const char           *args_json,
                guint64               sender_id,
                EipcWebContents      *sender,
                guint32               process_id,
                const EipcEventFuncs *funcs,
                gpointer              data,
                GDestroyNotify        data_free)
{
  return eipc_event_take (NULL, kind, message, channel, args_json, sender_id,
                          sender, process_id, funcs, data, data_free);
}

/* eipc_event_new(), reusing the event in @spare (a pointer to NULL, or
 * an event eipc_event_release() kept there) if there is one. @spare may
 * be NULL. */
EipcEvent *
eipc_event_take (EipcEvent            **spare,
                 EipcEventKind          kind,
                 sd_bus_message        *message,
                 const char            *channel,
                 const char            *args_json,
                 guint64                sender_id,
                 EipcWebContents       *sender,
                 guint32                process_id,
                 const EipcEventFuncs  *funcs,
                 gpointer               data,
                 GDestroyNotify         data_free)
{
  EipcEvent *self = NULL;

  if (spare != NULL)
    self = g_steal_pointer (spare);
  if (self == NULL)
    self = g_object_new (EIPC_TYPE_EVENT, NULL);

  self->kind = kind;
  self->message = sd_bus_message_ref (message);
  self->channel = channel;
  self->args_json = args_json;
  self->sender_id = sender_id;
  if (sender != NULL)
    self->sender = g_object_ref (sender);
  self->process_id = process_id;
  self->funcs = funcs;
  self->data = data;
  self->data_free = data_free;
  return self;
}

/* A message that came through a port: @data_json (pointing into
 * @message) or @bytes, and @ports (taken; may be NULL). Reuses the event
 * in @spare as eipc_event_take() does (@spare may be NULL). */
EipcEvent *
eipc_event_new_port_message (EipcEvent     **spare,
                             sd_bus_message *message,
                             const char     *data_json,
                             GBytes         *bytes,
                             GPtrArray      *ports)
{
  EipcEvent *self = eipc_event_take (spare, EIPC_EVENT_PORT_MESSAGE, message,
                                     NULL, data_json, 0, NULL, 0, NULL, NULL,
                                     NULL);

  self->bytes = bytes != NULL ? g_bytes_ref (bytes) : NULL;
  self->ports = ports;
  return self;
}

/* A posted message: its arguments are [MESSAGE], a text the event keeps
 * (taken), with the ports that came with it (taken; may be NULL). */
void
eipc_event_set_posted (EipcEvent *self,
                       char      *args_json,
                       GPtrArray *ports)
{
  g_free (self->args_owned);
  self->args_owned = args_json;
  self->args_json = args_json;
  g_clear_pointer (&self->ports, g_ptr_array_unref);
  self->ports = ports;
}

/* The ports that came with a message on the bus (taken; may be NULL). */
void
eipc_event_set_ports (EipcEvent *self,
                      GPtrArray *ports)
{
  g_clear_pointer (&self->ports, g_ptr_array_unref);
  self->ports = ports;
}

/* What the creator counted for the event (the main process: the bytes
 * its call holds), kept with it so that it is worked out once. */
void
eipc_event_set_cost (EipcEvent *self,
                     gsize      cost)
{
  self->cost = cost;
}

gsize
eipc_event_get_cost (EipcEvent *self)
{
  return self->cost;
}

/* Answers an invoke nobody handles, with Electron's text: the main
 * process throws `new Error ("No handler registered for 'CHANNEL'")`
 * (lib/browser/ipc-dispatch.ts) and the renderer prefixes it. */
void
eipc_event_reject_no_handler (EipcEvent *self)
{
  g_assert (!self->answered);
  self->answered = TRUE;
  eipc_reply_error (self->message, EIPC_ERROR_NO_HANDLER,
                    "Error invoking remote method '%s': Error: No handler "
                    "registered for '%s'", self->channel, self->channel);
  event_done (self, TRUE);
}

/**
 * eipc_event_get_kind:
 * @self: an #EipcEvent
 *
 * Tells which kind of message the event carries.
 *
 * Returns: the #EipcEventKind
 *
 * Since: 1.0
 */
EipcEventKind
eipc_event_get_kind (EipcEvent *self)
{
  g_return_val_if_fail (EIPC_IS_EVENT (self), EIPC_EVENT_SEND);
  return self->kind;
}

/**
 * eipc_event_get_channel:
 * @self: an #EipcEvent
 *
 * Gets the channel the message was sent on.
 *
 * Returns: (transfer none): the channel
 *
 * Since: 1.0
 */
const char *
eipc_event_get_channel (EipcEvent *self)
{
  g_return_val_if_fail (EIPC_IS_EVENT (self), NULL);
  return self->channel;
}

/**
 * eipc_event_get_args:
 * @self: an #EipcEvent
 *
 * Gets the arguments of the message, Electron's `...args`. The JSON text
 * is parsed on the first call only; a listener that only wants the text
 * should call eipc_event_get_args_json() instead.
 *
 * Returns: (transfer none): the arguments
 *
 * Since: 1.0
 */
JsonArray *
eipc_event_get_args (EipcEvent *self)
{
  g_return_val_if_fail (EIPC_IS_EVENT (self), NULL);

  if (self->kind == EIPC_EVENT_PORT_MESSAGE)
    {
      JsonNode *data = eipc_event_get_data (self);

      return data != NULL && JSON_NODE_HOLDS_ARRAY (data) ?
             json_node_get_array (data) : NULL;
    }

  if (self->args == NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) root = eipc_json_parse (self->args_json, &error);

      if (root != NULL && JSON_NODE_HOLDS_ARRAY (root))
        self->args = json_node_dup_array (root);
      else
        {
          /* The text passed the validator before the event was made. */
          g_warning ("eipc: json-glib refused arguments the validator "
                     "accepted: %s", error != NULL ? error->message : "not an array");
          self->args = json_array_new ();
        }
    }
  return self->args;
}

/**
 * eipc_event_get_args_json:
 * @self: an #EipcEvent
 *
 * Gets the arguments as the JSON text that travelled (a JSON array),
 * without parsing it.
 *
 * Returns: (transfer none): the arguments as JSON text
 *
 * Since: 1.0
 */
const char *
eipc_event_get_args_json (EipcEvent *self)
{
  g_return_val_if_fail (EIPC_IS_EVENT (self), NULL);
  return self->args_json;
}

/**
 * eipc_event_get_sender_id:
 * @self: an #EipcEvent
 *
 * Gets the webContentsId of the sender, as the main process knows it from
 * the sender's bus connection (never from the payload). On the main side
 * it is 0 for a client that never attached; on the renderer side it is 0
 * for messages from the main process.
 *
 * Returns: the sender's webContentsId
 *
 * Since: 1.0
 */
guint64
eipc_event_get_sender_id (EipcEvent *self)
{
  g_return_val_if_fail (EIPC_IS_EVENT (self), 0);
  return self->sender_id;
}

/**
 * eipc_event_get_process_id:
 * @self: an #EipcEvent
 *
 * Gets the process id of the sending renderer, from the bus credentials
 * taken when it attached (Electron's `event.processId`). It is 0 when not
 * known: for a client that never attached, and on the renderer side.
 *
 * Returns: the sender's process id, or 0
 *
 * Since: 1.0
 */
guint32
eipc_event_get_process_id (EipcEvent *self)
{
  g_return_val_if_fail (EIPC_IS_EVENT (self), 0);
  return self->process_id;
}

/**
 * eipc_event_get_sender_name:
 * @self: an #EipcEvent
 *
 * Gets the unique bus name of the connection the message came from.
 *
 * Returns: (transfer none): the sender's unique bus name
 *
 * Since: 1.0
 */
const char *
eipc_event_get_sender_name (EipcEvent *self)
{
  g_return_val_if_fail (EIPC_IS_EVENT (self), NULL);
  return sd_bus_message_get_sender (self->message);
}

/**
 * eipc_event_get_sender:
 * @self: an #EipcEvent
 *
 * Gets the webContents that sent the message (Electron's `event.sender`),
 * on the main side.
 *
 * Returns: (transfer none) (nullable): the sender, or %NULL for a client
 *   that never attached and on the renderer side
 *
 * Since: 1.0
 */
EipcWebContents *
eipc_event_get_sender (EipcEvent *self)
{
  g_return_val_if_fail (EIPC_IS_EVENT (self), NULL);
  return self->sender;
}

/**
 * eipc_event_get_ports:
 * @self: an #EipcEvent
 *
 * Gets the message ports that were transferred with the message:
 * Electron's `event.ports`. They came with
 * eipc_web_contents_post_message(), eipc_renderer_post_message() or
 * eipc_message_port_post_message(). Take a reference to keep one: ports
 * nobody keeps are closed when the event goes away.
 *
 * Returns: (transfer none) (element-type EipcMessagePort): the ports, an
 *   empty array when none came
 *
 * Since: 1.0
 */
GPtrArray *
eipc_event_get_ports (EipcEvent *self)
{
  g_return_val_if_fail (EIPC_IS_EVENT (self), NULL);

  if (self->ports == NULL)
    self->ports = g_ptr_array_new_with_free_func (g_object_unref);
  return self->ports;
}

/**
 * eipc_event_get_data:
 * @self: an #EipcEvent
 *
 * Gets the data of a message that came through a port (Electron's
 * `messageEvent.data`): the JSON value given to
 * eipc_message_port_post_message(). The text is parsed on the first
 * call.
 *
 * Returns: (transfer none) (nullable): the data, or %NULL for a binary
 *   message (see eipc_event_get_bytes()) and for events that did not come
 *   through a port
 *
 * Since: 1.0
 */
JsonNode *
eipc_event_get_data (EipcEvent *self)
{
  g_return_val_if_fail (EIPC_IS_EVENT (self), NULL);

  if (self->kind != EIPC_EVENT_PORT_MESSAGE || self->args_json == NULL)
    return NULL;
  if (self->port_data == NULL)
    {
      g_autoptr(GError) error = NULL;

      self->port_data = eipc_json_parse (self->args_json, &error);
      if (self->port_data == NULL)
        {
          /* The text passed the validator before the event was made. */
          g_warning ("eipc: json-glib refused data the validator accepted: %s",
                     error->message);
          self->port_data = json_node_new (JSON_NODE_NULL);
        }
    }
  return self->port_data;
}

/**
 * eipc_event_get_data_json:
 * @self: an #EipcEvent
 *
 * Gets the data of a message that came through a port as the JSON text
 * that travelled, without parsing it. For such events
 * eipc_event_get_args_json() returns the same text.
 *
 * Returns: (transfer none) (nullable): the data as JSON text, or %NULL
 *   for a binary message and for events that did not come through a port
 *
 * Since: 1.0
 */
const char *
eipc_event_get_data_json (EipcEvent *self)
{
  g_return_val_if_fail (EIPC_IS_EVENT (self), NULL);
  return self->kind == EIPC_EVENT_PORT_MESSAGE ? self->args_json : NULL;
}

/**
 * eipc_event_get_bytes:
 * @self: an #EipcEvent
 *
 * Gets the payload of a binary message that came through a port
 * (eipc_message_port_post_bytes(); in Electron, an `ArrayBuffer` or a
 * `Buffer` as `messageEvent.data`). A large payload is a read-only
 * mapping of the memory the sender filled, not a copy.
 *
 * Returns: (transfer none) (nullable): the bytes, or %NULL when the
 *   message was not binary
 *
 * Since: 1.0
 */
GBytes *
eipc_event_get_bytes (EipcEvent *self)
{
  g_return_val_if_fail (EIPC_IS_EVENT (self), NULL);
  return self->bytes;
}

/**
 * eipc_event_is_answered:
 * @self: an #EipcEvent
 *
 * Tells whether an invoke or a sendSync has had its answer.
 *
 * Returns: %TRUE once eipc_event_resolve(), eipc_event_reject() or
 *   eipc_event_set_return_value() succeeded
 *
 * Since: 1.0
 */
gboolean
eipc_event_is_answered (EipcEvent *self)
{
  g_return_val_if_fail (EIPC_IS_EVENT (self), FALSE);
  return self->answered;
}

static gboolean
event_answer_text (EipcEvent  *self,
                   const char *text)
{
  g_autoptr(GError) refused = NULL;
  int r;

  if (self->answered)
    return FALSE;
  self->answered = TRUE;
  /* The creator may refuse an answer the caller has no room for (it
   * gets LimitsExceeded instead). */
  if (self->funcs != NULL && self->funcs->may_answer != NULL &&
      !self->funcs->may_answer (self, strlen (text), self->data, &refused))
    r = eipc_reply_gerror (self->message, refused);
  else
    r = eipc_reply_string (self->message, text);
  event_done (self, TRUE);
  if (r < 0)
    g_debug ("eipc: could not answer '%s': %s", self->channel, g_strerror (-r));
  return TRUE;
}

static gboolean
event_answer_node (EipcEvent *self,
                   JsonNode  *value)
{
  g_autofree char *text = NULL;

  if (self->answered)
    return FALSE;
  text = eipc_json_node_to_string (value);
  return event_answer_text (self, text);
}

/* The handler of an invoke returned. If it neither answered nor kept
 * the event (only its creator holds it), the invoke resolves with null
 * now, as Electron resolves `ipcMain.handle ('x', () => {})` with
 * undefined (lib/browser/ipc-dispatch.ts replies with the handler's
 * return value). A kept event is a deferred answer: released without one
 * later, it fails with NoReturnValue as before. */
void
eipc_event_handler_returned (EipcEvent *self)
{
  if (self->kind != EIPC_EVENT_INVOKE || self->answered ||
      g_atomic_int_get (&G_OBJECT (self)->ref_count) > 1)
    return;
  event_answer_text (self, "null");
}

static gboolean
event_answer_json (EipcEvent   *self,
                   const char  *json,
                   GError     **error)
{
  /* The event's own arguments (an echo) were checked when they came: a
   * JSON array is a JSON value. Other text: one pass when it is good; the
   * two checks say what is wrong. */
  if (json != self->args_json && !eipc_json_check_utf8 (json, FALSE))
    {
      if (json == NULL || !g_utf8_validate (json, -1, NULL))
        {
          g_set_error_literal (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                               "The value is not valid UTF-8 text");
          return FALSE;
        }
      if (!eipc_json_check (json, FALSE, error))
        return FALSE;
    }
  if (self->answered)
    {
      g_set_error (error, EIPC_ERROR, EIPC_ERROR_FAILED,
                   "The event of '%s' was answered already", self->channel);
      return FALSE;
    }
  return event_answer_text (self, json);
}

/**
 * eipc_event_set_return_value:
 * @self: an #EipcEvent of kind %EIPC_EVENT_SEND_SYNC
 * @value: (nullable): the value, %NULL for JSON `null`
 *
 * Sets Electron's `event.returnValue`: the renderer's blocked sendSync
 * returns @value. The first value set is the answer; the call may happen
 * after the listener returned, as long as the event is kept alive.
 *
 * Returns: %TRUE if this was the answer, %FALSE if the event was answered
 *   already
 *
 * Since: 1.0
 */
gboolean
eipc_event_set_return_value (EipcEvent *self,
                             JsonNode  *value)
{
  g_return_val_if_fail (EIPC_IS_EVENT (self), FALSE);
  g_return_val_if_fail (self->kind == EIPC_EVENT_SEND_SYNC, FALSE);
  return event_answer_node (self, value);
}

/**
 * eipc_event_set_return_value_json:
 * @self: an #EipcEvent of kind %EIPC_EVENT_SEND_SYNC
 * @json: the value as JSON text
 * @error: return location for a #GError
 *
 * Like eipc_event_set_return_value(), with the value as JSON text, which
 * travels as it is once checked.
 *
 * Returns: %TRUE on success; %FALSE with @error set if @json is not valid
 *   JSON or the event was answered already
 *
 * Since: 1.0
 */
gboolean
eipc_event_set_return_value_json (EipcEvent   *self,
                                  const char  *json,
                                  GError     **error)
{
  g_return_val_if_fail (EIPC_IS_EVENT (self), FALSE);
  g_return_val_if_fail (self->kind == EIPC_EVENT_SEND_SYNC, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return event_answer_json (self, json, error);
}

/**
 * eipc_event_resolve:
 * @self: an #EipcEvent of kind %EIPC_EVENT_INVOKE
 * @result: (nullable): the result, %NULL for JSON `null`
 *
 * Answers an invoke with a value: what the promise of an Electron handler
 * resolves to. May be called after the handler returned (deferred reply)
 * as long as the event is kept alive.
 *
 * Returns: %TRUE if this was the answer, %FALSE if the event was answered
 *   already
 *
 * Since: 1.0
 */
gboolean
eipc_event_resolve (EipcEvent *self,
                    JsonNode  *result)
{
  g_return_val_if_fail (EIPC_IS_EVENT (self), FALSE);
  g_return_val_if_fail (event_expects_answer (self), FALSE);
  return event_answer_node (self, result);
}

/**
 * eipc_event_resolve_json:
 * @self: an #EipcEvent of kind %EIPC_EVENT_INVOKE
 * @json: the result as JSON text
 * @error: return location for a #GError
 *
 * Like eipc_event_resolve(), with the result as JSON text, which travels
 * as it is once checked.
 *
 * Returns: %TRUE on success; %FALSE with @error set if @json is not valid
 *   JSON or the event was answered already
 *
 * Since: 1.0
 */
gboolean
eipc_event_resolve_json (EipcEvent   *self,
                         const char  *json,
                         GError     **error)
{
  g_return_val_if_fail (EIPC_IS_EVENT (self), FALSE);
  g_return_val_if_fail (event_expects_answer (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return event_answer_json (self, json, error);
}

/* Rejects with what Electron's renderer sees when a handler throws
 * @thrown: `Error invoking remote method 'CHANNEL': ` followed by
 * `thrown.toString ()` (lib/browser/ipc-dispatch.ts sends
 * `error.toString ()`, lib/renderer/api/ipc-renderer.ts prefixes it).
 * For an Error that is Error.prototype.toString: NAME, MESSAGE or
 * `NAME: MESSAGE`; a thrown string is itself (@name NULL). */
static gboolean
event_reject (EipcEvent  *self,
              const char *name,
              const char *message)
{
  g_autofree char *thrown = NULL;
  int r;

  if (self->answered)
    return FALSE;
  self->answered = TRUE;
  if (name == NULL || name[0] == '\0')
    thrown = g_strdup (message);
  else if (message[0] == '\0')
    thrown = g_strdup (name);
  else
    thrown = g_strconcat (name, ": ", message, NULL);
  r = eipc_reply_error (self->message, EIPC_ERROR_HANDLER_FAILED,
                        "Error invoking remote method '%s': %s",
                        self->channel, thrown);
  event_done (self, TRUE);
  if (r < 0)
    g_debug ("eipc: could not answer '%s': %s", self->channel, g_strerror (-r));
  return TRUE;
}

/**
 * eipc_event_reject:
 * @self: an #EipcEvent of kind %EIPC_EVENT_INVOKE or %EIPC_EVENT_SEND_SYNC
 * @message: the error message
 *
 * Answers with an error: what an Electron handler does by throwing
 * `new Error (MESSAGE)`. The caller sees %EIPC_ERROR_HANDLER_FAILED with
 * Electron's text, `Error invoking remote method 'CHANNEL': Error: MESSAGE`.
 * eipc_event_reject_with_name() throws another kind of error,
 * eipc_event_reject_bare() a plain string.
 *
 * Returns: %TRUE if this was the answer, %FALSE if the event was answered
 *   already
 *
 * Since: 1.0
 */
gboolean
eipc_event_reject (EipcEvent  *self,
                   const char *message)
{
  g_return_val_if_fail (EIPC_IS_EVENT (self), FALSE);
  g_return_val_if_fail (event_expects_answer (self), FALSE);
  g_return_val_if_fail (message != NULL, FALSE);

  return event_reject (self, "Error", message);
}

/**
 * eipc_event_reject_with_name:
 * @self: an #EipcEvent of kind %EIPC_EVENT_INVOKE or %EIPC_EVENT_SEND_SYNC
 * @name: the error's name, for example `TypeError` or `RangeError`
 * @message: the error message
 *
 * Answers with an error of kind @name: what an Electron handler does by
 * throwing `new TypeError (MESSAGE)`. The caller sees
 * %EIPC_ERROR_HANDLER_FAILED with Electron's text, `Error invoking remote
 * method 'CHANNEL': NAME: MESSAGE` (as `Error.prototype.toString ()`
 * writes it: just NAME when @message is empty, just MESSAGE when @name
 * is).
 *
 * Returns: %TRUE if this was the answer, %FALSE if the event was answered
 *   already
 *
 * Since: 1.0
 */
gboolean
eipc_event_reject_with_name (EipcEvent  *self,
                             const char *name,
                             const char *message)
{
  g_return_val_if_fail (EIPC_IS_EVENT (self), FALSE);
  g_return_val_if_fail (event_expects_answer (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (message != NULL, FALSE);

  return event_reject (self, name, message);
}

/**
 * eipc_event_reject_bare:
 * @self: an #EipcEvent of kind %EIPC_EVENT_INVOKE or %EIPC_EVENT_SEND_SYNC
 * @text: what the handler throws
 *
 * Answers with a bare value rather than an Error: what an Electron
 * handler does by throwing a string (`throw 'boom'`). The caller sees
 * %EIPC_ERROR_HANDLER_FAILED with Electron's text, `Error invoking remote
 * method 'CHANNEL': TEXT`.
 *
 * Returns: %TRUE if this was the answer, %FALSE if the event was answered
 *   already
 *
 * Since: 1.0
 */
gboolean
eipc_event_reject_bare (EipcEvent  *self,
                        const char *text)
{
  g_return_val_if_fail (EIPC_IS_EVENT (self), FALSE);
  g_return_val_if_fail (event_expects_answer (self), FALSE);
  g_return_val_if_fail (text != NULL, FALSE);

  return event_reject (self, NULL, text);
}

/**
 * eipc_event_reply:
 * @self: an #EipcEvent
 * @channel: the channel to answer on
 * @args: (nullable): the arguments, %NULL for none
 * @error: return location for a #GError
 *
 * Electron's `event.reply`: sends a message back to whoever sent this
 * one. On the main side it reaches exactly the renderer that sent the
 * event (on its `BASE/WebContents/ID` path); on the renderer side it goes
 * to the main process, or, for a message routed from another renderer,
 * back to that renderer.
 *
 * Returns: %TRUE on success; %FALSE with @error set if the sender never
 *   attached or is gone
 *
 * Since: 1.0
 */
gboolean
eipc_event_reply (EipcEvent   *self,
                  const char  *channel,
                  JsonArray   *args,
                  GError     **error)
{
  g_autofree char *text = NULL;

  g_return_val_if_fail (EIPC_IS_EVENT (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  text = eipc_json_array_to_string (args);
  return eipc_event_reply_json (self, channel, text, error);
}

/**
 * eipc_event_reply_json:
 * @self: an #EipcEvent
 * @channel: the channel to answer on
 * @args_json: the arguments as the text of a JSON array
 * @error: return location for a #GError
 *
 * Like eipc_event_reply(), with the arguments as JSON text.
 *
 * Returns: %TRUE on success; %FALSE with @error set otherwise
 *
 * Since: 1.0
 */
gboolean
eipc_event_reply_json (EipcEvent   *self,
                       const char  *channel,
                       const char  *args_json,
                       GError     **error)
{
  g_return_val_if_fail (EIPC_IS_EVENT (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->funcs == NULL || self->funcs->reply == NULL)
    {
      g_set_error (error, EIPC_ERROR, EIPC_ERROR_NOT_ATTACHED,
                   "Cannot reply to %s", eipc_event_get_sender_name (self));
      return FALSE;
    }
  return self->funcs->reply (self, channel, args_json, self->data, error);
}
