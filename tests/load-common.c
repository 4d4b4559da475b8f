/* load-common.c: the main process's side of a load run
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "load-common.h"

/* More would be a malformed sequence number, not a big run. */
#define MAX_SEQ (64 * 1024 * 1024)

struct _LoadMain {
  EipcMain   *main;
  GHashTable *senders;         /* guint64* id -> LoadSender */
  guint64     malformed;
  guint       listener_id;
  GSource    *bcast_source;
  guint       bcast_total;
  guint       bcast_sent;
  guint       bcast_per_tick;
};

static void
sender_free (gpointer data)
{
  LoadSender *sender = data;

  g_byte_array_unref (sender->seen);
  g_free (sender);
}

static LoadSender *
get_sender (LoadMain *self,
            guint64   id)
{
  LoadSender *sender = g_hash_table_lookup (self->senders, &id);

  if (sender == NULL)
    {
      sender = g_new0 (LoadSender, 1);
      sender->id = id;
      sender->seen = g_byte_array_new ();
      sender->last = -1;
      sender->last_invoke = -1;
      g_hash_table_insert (self->senders, g_memdup2 (&id, sizeof id), sender);
    }
  return sender;
}

/* Parses "[N]" or "[N,M]": exactly @n unsigned numbers. */
static gboolean
parse_numbers (const char *text,
               guint64    *out,
               guint       n)
{
  const char *p = text;

  while (g_ascii_isspace (*p))
    p++;
  if (*p++ != '[')
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      char *end = NULL;

      while (g_ascii_isspace (*p))
        p++;
      if (!g_ascii_isdigit (*p))
        return FALSE;
      out[i] = g_ascii_strtoull (p, &end, 10);
      p = end;
      while (g_ascii_isspace (*p))
        p++;
      if (*p != (i + 1 < n ? ',' : ']'))
        return FALSE;
      p++;
    }
  while (g_ascii_isspace (*p))
    p++;
  return *p == '\0';
}

static void
on_load (EipcEvent *event,
         gpointer   user_data)
{
  LoadMain *self = user_data;
  LoadSender *sender;
  guint64 seq;

  if (!parse_numbers (eipc_event_get_args_json (event), &seq, 1) || seq >= MAX_SEQ)
    {
      self->malformed++;
      return;
    }
  sender = get_sender (self, eipc_event_get_sender_id (event));
  sender->received++;
  if (seq >= sender->seen->len)
    {
      guint old = sender->seen->len;
      guint size = MAX ((guint) seq + 1, old * 2);

      g_byte_array_set_size (sender->seen, size);
      memset (sender->seen->data + old, 0, size - old);
    }
  if (sender->seen->data[seq])
    {
      sender->duplicates++;
      return;
    }
  sender->seen->data[seq] = 1;
  sender->unique++;
  if ((gint64) seq != sender->last + 1)
    sender->reordered++;
  sender->last = (gint64) seq;
}

static void
on_load_invoke (EipcEvent *event,
                gpointer   user_data)
{
  LoadMain *self = user_data;
  LoadSender *sender;
  guint64 v[2];
  char answer[64];

  if (!parse_numbers (eipc_event_get_args_json (event), v, 2))
    {
      self->malformed++;
      eipc_event_reject (event, "malformed load invoke");
      return;
    }
  sender = get_sender (self, eipc_event_get_sender_id (event));
  sender->invokes++;
  if ((gint64) v[0] != sender->last_invoke + 1)
    sender->invoke_reordered++;
  sender->last_invoke = (gint64) v[0];
  /* The renderer had sent v[1] messages when it invoked: exactly those
   * must have arrived, no more, no fewer. */
  if (sender->received != v[1])
    sender->cross_order++;

  g_snprintf (answer, sizeof answer, "[%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT "]",
              sender->id, v[0]);
  eipc_event_resolve_json (event, answer, NULL);
}

LoadMain *
load_main_new (EipcMain *main)
{
  LoadMain *self = g_new0 (LoadMain, 1);
  g_autoptr(GError) error = NULL;

  self->main = g_object_ref (main);
  self->senders = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                         sender_free);
  self->listener_id = eipc_main_on (main, LOAD_CHANNEL, on_load, self, NULL);
  if (!eipc_main_handle (main, LOAD_INVOKE_CHANNEL, on_load_invoke, self, NULL, &error))
    g_error ("cannot handle %s: %s", LOAD_INVOKE_CHANNEL, error->message);
  return self;
}

static gboolean
broadcast_tick (gpointer user_data)
{
  LoadMain *self = user_data;

  for (guint i = 0; i < self->bcast_per_tick && self->bcast_sent < self->bcast_total; i++)
    {
      g_autoptr(GError) error = NULL;
      char args[32];

      g_snprintf (args, sizeof args, "[%u]", self->bcast_sent);
      if (!eipc_main_broadcast_json (self->main, LOAD_BCAST_CHANNEL, args, &error))
        {
          g_debug ("broadcast %u failed: %s", self->bcast_sent, error->message);
          break;
        }
      self->bcast_sent++;
    }
  if (self->bcast_sent < self->bcast_total)
    return G_SOURCE_CONTINUE;
  g_clear_pointer (&self->bcast_source, g_source_unref);
  return G_SOURCE_REMOVE;
}

void
load_main_start_broadcast (LoadMain *self,
                           guint     total,
                           guint     per_tick,
                           guint     interval_ms)
{
  g_assert (self->bcast_source == NULL);
  self->bcast_total = total;
  self->bcast_per_tick = MAX (per_tick, 1);
  self->bcast_source = g_timeout_source_new (interval_ms);
  g_source_set_callback (self->bcast_source, broadcast_tick, self, NULL);
  g_source_attach (self->bcast_source, g_main_context_get_thread_default ());
}

guint
load_main_get_broadcast_sent (LoadMain *self)
{
  return self->bcast_sent;
}

gboolean
load_main_broadcast_done (LoadMain *self)
{
  return self->bcast_sent >= self->bcast_total;
}

const LoadSender *
load_main_lookup (LoadMain *self,
                  guint64   id)
{
  return g_hash_table_lookup (self->senders, &id);
}

void
load_main_get_totals (LoadMain   *self,
                      LoadTotals *totals)
{
  GHashTableIter iter;
  gpointer value;

  memset (totals, 0, sizeof *totals);
  totals->malformed = self->malformed;
  g_hash_table_iter_init (&iter, self->senders);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      LoadSender *sender = value;

      totals->senders++;
      totals->received += sender->received;
      totals->unique += sender->unique;
      totals->duplicates += sender->duplicates;
      totals->reordered += sender->reordered;
      totals->invokes += sender->invokes;
      totals->invoke_reordered += sender->invoke_reordered;
      totals->cross_order += sender->cross_order;
    }
}

char *
load_main_describe (LoadMain *self)
{
  LoadTotals t;

  load_main_get_totals (self, &t);
  return g_strdup_printf ("senders=%u received=%" G_GUINT64_FORMAT
                          " unique=%" G_GUINT64_FORMAT " dup=%" G_GUINT64_FORMAT
                          " reorder=%" G_GUINT64_FORMAT " malformed=%" G_GUINT64_FORMAT
                          " invokes=%" G_GUINT64_FORMAT " invoke-reorder=%" G_GUINT64_FORMAT
                          " cross=%" G_GUINT64_FORMAT " bcast=%u",
                          t.senders, t.received, t.unique, t.duplicates,
                          t.reordered, t.malformed, t.invokes,
                          t.invoke_reordered, t.cross_order, self->bcast_sent);
}

void
load_main_free (LoadMain *self)
{
  if (self->bcast_source != NULL)
    {
      g_source_destroy (self->bcast_source);
      g_clear_pointer (&self->bcast_source, g_source_unref);
    }
  eipc_main_remove_listener_by_id (self->main, self->listener_id);
  eipc_main_remove_handler (self->main, LOAD_INVOKE_CHANNEL);
  g_object_unref (self->main);
  g_hash_table_unref (self->senders);
  g_free (self);
}
