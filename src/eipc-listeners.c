/* eipc-listeners.c: EventEmitter semantics for listeners and handlers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Listeners run in registration order. An emission works on a snapshot
 * of the channel's listeners, as Node's EventEmitter does: a listener
 * added during an emission runs from the next one on. A `once` listener
 * is removed before it runs, so it runs at most once even when the
 * emission re-enters.
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
  gboolean          removed;
} EipcListener;

typedef struct {
  EipcListenerFunc  func;
  gpointer          user_data;
  GDestroyNotify    destroy;
  gboolean          once;
} EipcHandler;

/* Ids are unique in the process, so an id never names the wrong list. */
static guint last_listener_id;

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
eipc_listener_list_add (EipcListenerList *list,
                        const char       *channel,
                        EipcListenerFunc  func,
                        gpointer          user_data,
                        GDestroyNotify    destroy,
                        gboolean          once)
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
  listener->once = once;

  array = g_hash_table_lookup (list->channels, channel);
  if (array == NULL)
    {
      array = g_ptr_array_new_with_free_func (listener_unref);
      g_hash_table_insert (list->channels, g_strdup (channel), array);
    }
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

/* Removes the most recently added listener that matches, as Node's
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
          /* A once listener that already fired (in a nested emission) or
           * was removed does not run. */
          if (listener->removed)
            {
              listener_unref (listener);
              continue;
            }
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

static void
handler_free (gpointer data)
{
  EipcHandler *handler = data;

  if (handler->destroy != NULL)
    handler->destroy (handler->user_data);
  g_free (handler);
}

void
eipc_handler_table_init (EipcHandlerTable *table)
{
  table->handlers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           handler_free);
}

void
eipc_handler_table_clear (EipcHandlerTable *table)
{
  g_clear_pointer (&table->handlers, g_hash_table_unref);
}

gboolean
eipc_handler_table_add (EipcHandlerTable  *table,
                        const char        *channel,
                        EipcListenerFunc   func,
                        gpointer           user_data,
                        GDestroyNotify     destroy,
                        gboolean           once,
                        GError           **error)
{
  EipcHandler *handler;

  if (g_hash_table_contains (table->handlers, channel))
    {
      g_set_error (error, EIPC_ERROR, EIPC_ERROR_HANDLER_EXISTS,
                   "Attempted to register a second handler for '%s'", channel);
      return FALSE;
    }
  handler = g_new0 (EipcHandler, 1);
  handler->func = func;
  handler->user_data = user_data;
  handler->destroy = destroy;
  handler->once = once;
  g_hash_table_insert (table->handlers, g_strdup (channel), handler);
  return TRUE;
}

gboolean
eipc_handler_table_remove (EipcHandlerTable *table,
                           const char       *channel)
{
  return g_hash_table_remove (table->handlers, channel);
}

/* Runs the handler of @channel; FALSE when there is none. A handle_once
 * handler is removed before it runs; its user data is released after. */
gboolean
eipc_handler_table_dispatch (EipcHandlerTable *table,
                             const char       *channel,
                             EipcEvent        *event)
{
  EipcHandler *handler = g_hash_table_lookup (table->handlers, channel);

  if (handler == NULL)
    return FALSE;
  if (handler->once)
    {
      gpointer key;

      g_hash_table_steal_extended (table->handlers, channel, &key, NULL);
      g_free (key);
      handler->func (event, handler->user_data);
      handler_free (handler);
      return TRUE;
    }
  handler->func (event, handler->user_data);
  return TRUE;
}

static int
compare_strings (const void *a,
                 const void *b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

/* The channels with a handler, sorted, for the Channels property. */
char **
eipc_handler_table_channels (EipcHandlerTable *table)
{
  g_autofree gpointer *keys = NULL;
  guint n;
  char **channels;

  keys = g_hash_table_get_keys_as_array (table->handlers, &n);
  channels = g_new (char *, n + 1);
  for (guint i = 0; i < n; i++)
    channels[i] = g_strdup (keys[i]);
  channels[n] = NULL;
  qsort (channels, n, sizeof (char *), compare_strings);
  return channels;
}
