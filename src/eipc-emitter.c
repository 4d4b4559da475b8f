/* eipc-emitter.c: Node's EventEmitter for channels, and invoke handlers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Why an abstract GObject base class and not a struct every object
 * embeds: the ten calls (on, once, prepend_listener, remove_listener,
 * remove_listener_by_id, remove_all_listeners, listener_count, handle,
 * handle_once, remove_handler) then exist once, as eipc_emitter_*(), for
 * C and for bindings alike; the per-type calls (eipc_main_on(), ...) are
 * one-line casts onto them. A subclass that must react to a change of
 * its handlers (EipcMain publishes them as the Channels property)
 * overrides handlers_changed.
 *
 * Emission follows Node's events.js: it works on a copy of the channel's
 * listeners taken when it starts. A listener added during the emission
 * runs from the next one on; one removed during it still runs in it. A
 * `once` listener is removed before it runs and runs at most once: like
 * Node's onceWrapper, it remembers that it fired, so it is skipped only
 * when it already ran (in a nested emission), not when an earlier
 * listener merely removed it.
 *
 * Listeners and handlers carry a reference count; whoever runs one holds
 * a reference for the time it runs, so removing it (or everything)
 * from inside frees nothing under its feet: its GDestroyNotify runs once
 * the last reference is gone.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "eipc-private.h"

typedef struct {
  grefcount         ref_count;
  guint             id;
  char             *channel;
  EipcListenerFunc  func;
  gpointer          user_data;
  GDestroyNotify    destroy;
  gboolean          once;
  gboolean          fired;     /* a once listener that ran */
  gboolean          removed;
} EipcListener;

typedef struct {
  grefcount         ref_count;
  EipcListenerFunc  func;
  gpointer          user_data;
  GDestroyNotify    destroy;
  gboolean          once;
} EipcHandler;

typedef struct {
  EipcListenerList  listeners;
  GHashTable       *handlers;   /* channel -> EipcHandler */
} EipcEmitterPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (EipcEmitter, eipc_emitter, G_TYPE_OBJECT)

/* Ids are unique in the process, so an id never names the wrong list. */
static guint last_listener_id;

/* Listener lists */

static EipcListener *
listener_ref (EipcListener *listener)
{
  g_ref_count_inc (&listener->ref_count);
  return listener;
}

static void
listener_unref (gpointer data)
{
  EipcListener *listener = data;

  if (!g_ref_count_dec (&listener->ref_count))
    return;
  if (listener->destroy != NULL)
    listener->destroy (listener->user_data);
  g_free (listener->channel);
  g_free (listener);
}

void
eipc_listener_list_init (EipcListenerList *list)
{
  list->channels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) g_ptr_array_unref);
  list->by_id = g_hash_table_new (NULL, NULL);
}

void
eipc_listener_list_clear (EipcListenerList *list)
{
  if (list->channels == NULL)
    return;
  eipc_listener_list_remove_all (list, NULL);
  g_clear_pointer (&list->channels, g_hash_table_unref);
  g_clear_pointer (&list->by_id, g_hash_table_unref);
}

guint
eipc_listener_list_add (EipcListenerList  *list,
                        const char        *channel,
                        EipcListenerFunc   func,
                        gpointer           user_data,
                        GDestroyNotify     destroy,
                        EipcListenerFlags  flags)
{
  EipcListener *listener;
  GPtrArray *array;

  listener = g_new0 (EipcListener, 1);
  g_ref_count_init (&listener->ref_count);
  listener->id = g_atomic_int_add (&last_listener_id, 1) + 1;
  listener->channel = g_strdup (channel);
  listener->func = func;
  listener->user_data = user_data;
  listener->destroy = destroy;
  listener->once = (flags & EIPC_LISTENER_ONCE) != 0;

  array = g_hash_table_lookup (list->channels, channel);
  if (array == NULL)
    {
      array = g_ptr_array_new_with_free_func (listener_unref);
      g_hash_table_insert (list->channels, g_strdup (channel), array);
    }
  if (flags & EIPC_LISTENER_PREPEND)
    g_ptr_array_insert (array, 0, listener);
  else
    g_ptr_array_add (array, listener);
  g_hash_table_insert (list->by_id, GUINT_TO_POINTER (listener->id), listener);
  return listener->id;
}

static void
listener_detach (EipcListenerList *list,
                 GPtrArray        *array,
                 guint             index)
{
  EipcListener *listener = g_ptr_array_index (array, index);

  listener->removed = TRUE;
  g_hash_table_remove (list->by_id, GUINT_TO_POINTER (listener->id));
  if (array->len == 1)
    g_hash_table_remove (list->channels, listener->channel);
  else
    g_ptr_array_remove_index (array, index);
}

/* Removes the matching listener nearest the end of the list, as Node's
 * removeListener() does. */
gboolean
eipc_listener_list_remove (EipcListenerList *list,
                           const char       *channel,
                           EipcListenerFunc  func,
                           gpointer          user_data)
{
  GPtrArray *array = g_hash_table_lookup (list->channels, channel);

  if (array == NULL)
    return FALSE;
  for (guint i = array->len; i > 0; i--)
    {
      EipcListener *listener = g_ptr_array_index (array, i - 1);

      if (listener->func == func && listener->user_data == user_data)
        {
          listener_detach (list, array, i - 1);
          return TRUE;
        }
    }
  return FALSE;
}

gboolean
eipc_listener_list_remove_by_id (EipcListenerList *list,
                                 guint             id)
{
  EipcListener *listener = g_hash_table_lookup (list->by_id, GUINT_TO_POINTER (id));
  GPtrArray *array;
  guint index;

  if (listener == NULL)
    return FALSE;
  array = g_hash_table_lookup (list->channels, listener->channel);
  g_assert (array != NULL);
  if (!g_ptr_array_find (array, listener, &index))
    g_assert_not_reached ();
  listener_detach (list, array, index);
  return TRUE;
}

void
eipc_listener_list_remove_all (EipcListenerList *list,
                               const char       *channel)
{
  GHashTableIter iter;
  GPtrArray *array;

  g_hash_table_iter_init (&iter, list->channels);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &array))
    {
      EipcListener *first = g_ptr_array_index (array, 0);

      if (channel != NULL && strcmp (first->channel, channel) != 0)
        continue;
      for (guint i = 0; i < array->len; i++)
        {
          EipcListener *listener = g_ptr_array_index (array, i);

          listener->removed = TRUE;
          g_hash_table_remove (list->by_id, GUINT_TO_POINTER (listener->id));
        }
      g_hash_table_iter_remove (&iter);
    }
}

guint
eipc_listener_list_count (EipcListenerList *list,
                          const char       *channel)
{
  GPtrArray *array = g_hash_table_lookup (list->channels, channel);

  return array != NULL ? array->len : 0;
}

guint
eipc_listener_list_emit (EipcListenerList *list,
                         const char       *channel,
                         EipcEvent        *event)
{
  GPtrArray *array = g_hash_table_lookup (list->channels, channel);
  EipcListener *stack_snapshot[8];
  EipcListener **snapshot;
  guint n, ran = 0;

  if (array == NULL)
    return 0;

  n = array->len;
  snapshot = n <= G_N_ELEMENTS (stack_snapshot) ? stack_snapshot
                                                : g_new (EipcListener *, n);
  for (guint i = 0; i < n; i++)
    snapshot[i] = listener_ref (g_ptr_array_index (array, i));

  for (guint i = 0; i < n; i++)
    {
      EipcListener *listener = snapshot[i];

      if (listener->once)
        {
          /* Node's onceWrapper: skipped only if it fired already (in a
           * nested emission); removed, if it still is listed, then run. */
          if (listener->fired)
            {
              listener_unref (listener);
              continue;
            }
          listener->fired = TRUE;
          if (!listener->removed)
            eipc_listener_list_remove_by_id (list, listener->id);
        }
      listener->func (event, listener->user_data);
      ran++;
      listener_unref (listener);
    }

  if (snapshot != stack_snapshot)
    g_free (snapshot);
  return ran;
}

/* Handlers */

static EipcHandler *
handler_ref (EipcHandler *handler)
{
  g_ref_count_inc (&handler->ref_count);
  return handler;
}

static void
handler_unref (gpointer data)
{
  EipcHandler *handler = data;

  if (!g_ref_count_dec (&handler->ref_count))
    return;
  if (handler->destroy != NULL)
    handler->destroy (handler->user_data);
  g_free (handler);
}

static void
emitter_handlers_changed (EipcEmitter *self)
{
  EipcEmitterClass *klass = EIPC_EMITTER_GET_CLASS (self);

  if (klass->handlers_changed != NULL)
    klass->handlers_changed (self);
}

/* Runs the handler of @channel; FALSE when there is none. A handle_once
 * handler is removed before it runs. The handler's user data is released
 * after it returned, even if it removed itself (or was replaced). */
gboolean
eipc_emitter_dispatch (EipcEmitter *self,
                       const char  *channel,
                       EipcEvent   *event)
{
  EipcEmitterPrivate *priv = eipc_emitter_get_instance_private (self);
  EipcHandler *handler;

  /* Most webContents have no handlers of their own: no hash of the
   * channel for them. */
  if (g_hash_table_size (priv->handlers) == 0)
    return FALSE;
  handler = g_hash_table_lookup (priv->handlers, channel);
  if (handler == NULL)
    return FALSE;
  handler_ref (handler);
  if (handler->once)
    {
      g_hash_table_remove (priv->handlers, channel);
      emitter_handlers_changed (self);
    }
  handler->func (event, handler->user_data);
  handler_unref (handler);
  return TRUE;
}

guint
eipc_emitter_emit (EipcEmitter *self,
                   const char  *channel,
                   EipcEvent   *event)
{
  EipcEmitterPrivate *priv = eipc_emitter_get_instance_private (self);

  return eipc_listener_list_emit (&priv->listeners, channel, event);
}

static int
compare_strings (const void *a,
                 const void *b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

/* The channels with a handler, sorted. */
char **
eipc_emitter_handler_channels (EipcEmitter *self)
{
  EipcEmitterPrivate *priv = eipc_emitter_get_instance_private (self);
  g_autofree gpointer *keys = NULL;
  guint n;
  char **channels;

  keys = g_hash_table_get_keys_as_array (priv->handlers, &n);
  channels = g_new (char *, n + 1);
  for (guint i = 0; i < n; i++)
    channels[i] = g_strdup (keys[i]);
  channels[n] = NULL;
  qsort (channels, n, sizeof (char *), compare_strings);
  return channels;
}

/* GObject */

static void
eipc_emitter_dispose (GObject *object)
{
  EipcEmitter *self = EIPC_EMITTER (object);
  EipcEmitterPrivate *priv = eipc_emitter_get_instance_private (self);

  /* Empty but usable: dispose may run more than once. */
  eipc_listener_list_remove_all (&priv->listeners, NULL);
  g_hash_table_remove_all (priv->handlers);

  G_OBJECT_CLASS (eipc_emitter_parent_class)->dispose (object);
}

static void
eipc_emitter_finalize (GObject *object)
{
  EipcEmitter *self = EIPC_EMITTER (object);
  EipcEmitterPrivate *priv = eipc_emitter_get_instance_private (self);

  eipc_listener_list_clear (&priv->listeners);
  g_clear_pointer (&priv->handlers, g_hash_table_unref);

  G_OBJECT_CLASS (eipc_emitter_parent_class)->finalize (object);
}

/**
 * EipcEmitterClass::handlers_changed:
 * @self: the emitter
 *
 * Called after a handler was added or removed (a `handle_once` handler
 * included, just before it runs). #EipcMain uses it to keep its
 * `Channels` property current.
 *
 * Since: 1.0
 */
static void
eipc_emitter_class_init (EipcEmitterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = eipc_emitter_dispose;
  object_class->finalize = eipc_emitter_finalize;
}

static void
eipc_emitter_init (EipcEmitter *self)
{
  EipcEmitterPrivate *priv = eipc_emitter_get_instance_private (self);

  eipc_listener_list_init (&priv->listeners);
  priv->handlers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          handler_unref);
}

static guint
emitter_add_listener (EipcEmitter       *self,
                      const char        *channel,
                      EipcListenerFunc   listener,
                      gpointer           user_data,
                      GDestroyNotify     destroy,
                      EipcListenerFlags  flags)
{
  EipcEmitterPrivate *priv = eipc_emitter_get_instance_private (self);

  return eipc_listener_list_add (&priv->listeners, channel, listener,
                                 user_data, destroy, flags);
}

/**
 * eipc_emitter_on:
 * @self: an #EipcEmitter
 * @channel: the channel
 * @listener: (scope notified): the listener
 * @user_data: (closure): data for @listener
 * @destroy: (nullable): frees @user_data when the listener goes
 *
 * Node's `emitter.on`: @listener runs for every message on @channel,
 * after the listeners added before it.
 *
 * Returns: the listener's id (never 0), for
 *   eipc_emitter_remove_listener_by_id()
 *
 * Since: 1.0
 */
guint
eipc_emitter_on (EipcEmitter      *self,
                 const char       *channel,
                 EipcListenerFunc  listener,
                 gpointer          user_data,
                 GDestroyNotify    destroy)
{
  g_return_val_if_fail (EIPC_IS_EMITTER (self), 0);
  g_return_val_if_fail (channel != NULL, 0);
  g_return_val_if_fail (listener != NULL, 0);
  return emitter_add_listener (self, channel, listener, user_data, destroy, 0);
}

/**
 * eipc_emitter_once:
 * @self: an #EipcEmitter
 * @channel: the channel
 * @listener: (scope notified): the listener
 * @user_data: (closure): data for @listener
 * @destroy: (nullable): frees @user_data when the listener goes
 *
 * Node's `emitter.once`: like eipc_emitter_on(), but the listener is
 * removed before it runs for the first message.
 *
 * Returns: the listener's id (never 0)
 *
 * Since: 1.0
 */
guint
eipc_emitter_once (EipcEmitter      *self,
                   const char       *channel,
                   EipcListenerFunc  listener,
                   gpointer          user_data,
                   GDestroyNotify    destroy)
{
  g_return_val_if_fail (EIPC_IS_EMITTER (self), 0);
  g_return_val_if_fail (channel != NULL, 0);
  g_return_val_if_fail (listener != NULL, 0);
  return emitter_add_listener (self, channel, listener, user_data, destroy,
                               EIPC_LISTENER_ONCE);
}

/**
 * eipc_emitter_prepend_listener:
 * @self: an #EipcEmitter
 * @channel: the channel
 * @listener: (scope notified): the listener
 * @user_data: (closure): data for @listener
 * @destroy: (nullable): frees @user_data when the listener goes
 *
 * Node's `emitter.prependListener`: like eipc_emitter_on(), but
 * @listener runs before the listeners already there.
 *
 * Returns: the listener's id (never 0)
 *
 * Since: 1.0
 */
guint
eipc_emitter_prepend_listener (EipcEmitter      *self,
                               const char       *channel,
                               EipcListenerFunc  listener,
                               gpointer          user_data,
                               GDestroyNotify    destroy)
{
  g_return_val_if_fail (EIPC_IS_EMITTER (self), 0);
  g_return_val_if_fail (channel != NULL, 0);
  g_return_val_if_fail (listener != NULL, 0);
  return emitter_add_listener (self, channel, listener, user_data, destroy,
                               EIPC_LISTENER_PREPEND);
}

/**
 * eipc_emitter_remove_listener: (skip)
 * @self: an #EipcEmitter
 * @channel: the channel
 * @listener: the listener
 * @user_data: the data it was added with
 *
 * Node's `emitter.removeListener`: removes the one listener of @channel
 * with this function and data that is nearest the end of the list (the
 * most recently added one, unless it was prepended).
 *
 * A binding (Python, JavaScript) cannot name the function it added, so
 * it removes a listener with eipc_emitter_remove_listener_by_id() instead; this
 * function is not in the introspection data.
 *
 * Returns: %TRUE if a listener was removed
 *
 * Since: 1.0
 */
gboolean
eipc_emitter_remove_listener (EipcEmitter      *self,
                              const char       *channel,
                              EipcListenerFunc  listener,
                              gpointer          user_data)
{
  EipcEmitterPrivate *priv;

  g_return_val_if_fail (EIPC_IS_EMITTER (self), FALSE);
  g_return_val_if_fail (channel != NULL, FALSE);
  priv = eipc_emitter_get_instance_private (self);
  return eipc_listener_list_remove (&priv->listeners, channel, listener, user_data);
}

/**
 * eipc_emitter_remove_listener_by_id:
 * @self: an #EipcEmitter
 * @listener_id: an id from eipc_emitter_on(), eipc_emitter_once() or
 *   eipc_emitter_prepend_listener()
 *
 * Removes one listener by its id.
 *
 * Returns: %TRUE if a listener was removed
 *
 * Since: 1.0
 */
gboolean
eipc_emitter_remove_listener_by_id (EipcEmitter *self,
                                    guint        listener_id)
{
  EipcEmitterPrivate *priv;

  g_return_val_if_fail (EIPC_IS_EMITTER (self), FALSE);
  priv = eipc_emitter_get_instance_private (self);
  return eipc_listener_list_remove_by_id (&priv->listeners, listener_id);
}

/**
 * eipc_emitter_remove_all_listeners:
 * @self: an #EipcEmitter
 * @channel: (nullable): a channel, or %NULL for every channel
 *
 * Node's `emitter.removeAllListeners`. Handlers stay.
 *
 * Since: 1.0
 */
void
eipc_emitter_remove_all_listeners (EipcEmitter *self,
                                   const char  *channel)
{
  EipcEmitterPrivate *priv;

  g_return_if_fail (EIPC_IS_EMITTER (self));
  priv = eipc_emitter_get_instance_private (self);
  eipc_listener_list_remove_all (&priv->listeners, channel);
}

/**
 * eipc_emitter_listener_count:
 * @self: an #EipcEmitter
 * @channel: the channel
 *
 * Node's `emitter.listenerCount`.
 *
 * Returns: the number of listeners of @channel
 *
 * Since: 1.0
 */
guint
eipc_emitter_listener_count (EipcEmitter *self,
                             const char  *channel)
{
  EipcEmitterPrivate *priv;

  g_return_val_if_fail (EIPC_IS_EMITTER (self), 0);
  g_return_val_if_fail (channel != NULL, 0);
  priv = eipc_emitter_get_instance_private (self);
  return eipc_listener_list_count (&priv->listeners, channel);
}

static gboolean
emitter_add_handler (EipcEmitter       *self,
                     const char        *channel,
                     EipcListenerFunc   func,
                     gpointer           user_data,
                     GDestroyNotify     destroy,
                     gboolean           once,
                     GError           **error)
{
  EipcEmitterPrivate *priv = eipc_emitter_get_instance_private (self);
  EipcHandler *handler;

  if (!eipc_channel_check (channel, error))
    return FALSE;
  if (g_hash_table_contains (priv->handlers, channel))
    {
      g_set_error (error, EIPC_ERROR, EIPC_ERROR_HANDLER_EXISTS,
                   "Attempted to register a second handler for '%s'", channel);
      return FALSE;
    }
  handler = g_new0 (EipcHandler, 1);
  g_ref_count_init (&handler->ref_count);
  handler->func = func;
  handler->user_data = user_data;
  handler->destroy = destroy;
  handler->once = once;
  g_hash_table_insert (priv->handlers, g_strdup (channel), handler);
  emitter_handlers_changed (self);
  return TRUE;
}

/**
 * eipc_emitter_handle:
 * @self: an #EipcEmitter
 * @channel: the channel
 * @handler: (scope notified): the handler
 * @user_data: (closure): data for @handler
 * @destroy: (nullable): frees @user_data when the handler goes
 * @error: return location for a #GError
 *
 * Electron's `handle`: @handler answers every invoke on @channel with
 * eipc_event_resolve() or eipc_event_reject(), at once or later.
 *
 * Returns: %TRUE on success; %FALSE with %EIPC_ERROR_HANDLER_EXISTS
 *   (`Attempted to register a second handler for 'CHANNEL'`) if the
 *   channel has a handler already, or %EIPC_ERROR_INVALID_ARGS for a
 *   channel that is not valid
 *
 * Since: 1.0
 */
gboolean
eipc_emitter_handle (EipcEmitter       *self,
                     const char        *channel,
                     EipcListenerFunc   handler,
                     gpointer           user_data,
                     GDestroyNotify     destroy,
                     GError           **error)
{
  g_return_val_if_fail (EIPC_IS_EMITTER (self), FALSE);
  g_return_val_if_fail (handler != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return emitter_add_handler (self, channel, handler, user_data, destroy,
                              FALSE, error);
}

/**
 * eipc_emitter_handle_once:
 * @self: an #EipcEmitter
 * @channel: the channel
 * @handler: (scope notified): the handler
 * @user_data: (closure): data for @handler
 * @destroy: (nullable): frees @user_data when the handler goes
 * @error: return location for a #GError
 *
 * Electron's `handleOnce`: like eipc_emitter_handle(), for the first
 * invoke only; the handler is removed before it runs.
 *
 * Returns: %TRUE on success; %FALSE with @error set otherwise
 *
 * Since: 1.0
 */
gboolean
eipc_emitter_handle_once (EipcEmitter       *self,
                          const char        *channel,
                          EipcListenerFunc   handler,
                          gpointer           user_data,
                          GDestroyNotify     destroy,
                          GError           **error)
{
  g_return_val_if_fail (EIPC_IS_EMITTER (self), FALSE);
  g_return_val_if_fail (handler != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return emitter_add_handler (self, channel, handler, user_data, destroy,
                              TRUE, error);
}

/**
 * eipc_emitter_remove_handler:
 * @self: an #EipcEmitter
 * @channel: the channel
 *
 * Electron's `removeHandler`. A handler may remove itself while it runs;
 * its user data is released once it returned.
 *
 * Returns: %TRUE if @channel had a handler
 *
 * Since: 1.0
 */
gboolean
eipc_emitter_remove_handler (EipcEmitter *self,
                             const char  *channel)
{
  EipcEmitterPrivate *priv;

  g_return_val_if_fail (EIPC_IS_EMITTER (self), FALSE);
  g_return_val_if_fail (channel != NULL, FALSE);
  priv = eipc_emitter_get_instance_private (self);
  if (!g_hash_table_remove (priv->handlers, channel))
    return FALSE;
  emitter_handlers_changed (self);
  return TRUE;
}

/**
 * eipc_emitter_has_handler:
 * @self: an #EipcEmitter
 * @channel: the channel
 *
 * Tells whether @channel has a handler.
 *
 * Returns: %TRUE if @channel has a handler
 *
 * Since: 1.0
 */
gboolean
eipc_emitter_has_handler (EipcEmitter *self,
                          const char  *channel)
{
  EipcEmitterPrivate *priv;

  g_return_val_if_fail (EIPC_IS_EMITTER (self), FALSE);
  g_return_val_if_fail (channel != NULL, FALSE);
  priv = eipc_emitter_get_instance_private (self);
  return g_hash_table_contains (priv->handlers, channel);
}
