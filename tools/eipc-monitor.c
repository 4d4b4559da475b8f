/* eipc-monitor.c: `eipc monitor`, a decoded live view of an app's IPC
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A connection of its own becomes a monitor (org.freedesktop.DBus.
 * Monitoring.BecomeMonitor) with match rules for everything the main
 * process sends or is sent, and turns each message into one line: time,
 * sender, receiver, kind, channel, arguments. A call's answer is paired
 * with its call by (caller, serial) and shown with its result or error
 * and its latency. Unique names become webContents ids through the
 * Main1.WebContents property (read once, then followed through the
 * WebContentsAttached / WebContentsDetached signals, which the monitor
 * sees as the main process's traffic) and through the replies to
 * Attach().
 *
 * Loss: the monitor sees every message the main process sends (the
 * sender='APP' rule), and a connection numbers its messages 1, 2, 3...,
 * so a gap in the main process's serials is a message the monitor
 * missed; they are counted and reported.
 */

#include <errno.h>
#include <string.h>
#include <time.h>

#include <glib-unix.h>

#include "eipc-tool.h"

#define MAIN_INTERFACE "org.eipc.Main1"
#define WEB_CONTENTS_INTERFACE "org.eipc.WebContents1"
#define RENDERER_INTERFACE "org.eipc.Renderer1"
#define PROPERTIES_INTERFACE "org.freedesktop.DBus.Properties"
/* Messages handled per dispatch before the main loop gets a turn. */
#define BATCH 4096

typedef struct {
  char    *name;         /* unique name */
  guint32  index;        /* for the pending-call keys */
  guint64  wc_id;        /* 0 when not attached */
  guint32  pid;
  guint64  host_id;
  gboolean detach_seen;  /* it called Detach() */
  guint32  last_serial;  /* for the main process's gap count */
} Peer;

typedef enum {
  CALL_INVOKE,
  CALL_SEND_SYNC,
  CALL_SEND_TO,
  CALL_SEND_TO_HOST,
  CALL_ATTACH,
  CALL_DETACH,
  CALL_RENDERER_INVOKE,
} CallType;

static const char *const call_kinds[] = {
  "invoke", "sendSync", "sendTo", "sendToHost", "attach", "detach", "invoke",
};

typedef struct {
  CallType  type;
  char     *channel;
  gint64    time;  /* monotonic, µs */
  gboolean  show;
  /* Who the caller was: a Detach() reply comes after the renderer left
   * the WebContents property. */
  guint64   caller_id;
  guint32   caller_pid;
} Pending;

typedef struct {
  ToolOptions *opts;
  sd_bus      *bus;
  char        *app_id;
  char        *base_path;
  char        *broadcast_path;
  char        *wc_prefix;
  Peer        *main_peer;
  GHashTable  *peers;          /* unique name -> Peer */
  GHashTable  *by_id;          /* &wc_id -> Peer */
  guint32      next_index;
  GHashTable  *pending;        /* guint64 key -> Pending */
  GHashTable  *channel_filter; /* or NULL */
  GArray      *wc_filter;      /* of guint64, or NULL */
  GString     *line;
  guint64      received;
  guint64      shown;
  guint64      flushed;     /* shown when stdout was last flushed */
  guint64      missed;
  time_t       clock_second;
  char         clock_text[32];
  GMainLoop   *loop;
  int          status;
} Monitor;

/* Who sent or receives a message. */
typedef struct {
  const char *role;    /* "main", "wc", "client", "all" */
  const char *unique;  /* or NULL */
  guint64     id;
  guint32     pid;
} End;

static void
peer_free (gpointer data)
{
  Peer *peer = data;

  g_free (peer->name);
  g_free (peer);
}

static void
pending_free (gpointer data)
{
  Pending *pending = data;

  g_free (pending->channel);
  g_free (pending);
}

static Peer *
get_peer (Monitor    *self,
          const char *name)
{
  Peer *peer;

  if (name == NULL || name[0] != ':')
    return NULL;
  peer = g_hash_table_lookup (self->peers, name);
  if (peer == NULL)
    {
      peer = g_new0 (Peer, 1);
      peer->name = g_strdup (name);
      peer->index = ++self->next_index;
      g_hash_table_insert (self->peers, peer->name, peer);
    }
  return peer;
}

static void
peer_set_id (Monitor *self,
             Peer    *peer,
             guint64  id)
{
  if (peer->wc_id == id)
    return;
  if (peer->wc_id != 0 && g_hash_table_lookup (self->by_id, &peer->wc_id) == peer)
    g_hash_table_remove (self->by_id, &peer->wc_id);
  peer->wc_id = id;
  if (id != 0)
    {
      Peer *old = g_hash_table_lookup (self->by_id, &id);

      if (old != NULL && old != peer)
        {
          g_hash_table_remove (self->by_id, &id);
          old->wc_id = 0;
        }
      g_hash_table_insert (self->by_id, &peer->wc_id, peer);
    }
}

static End
end_for_peer (Monitor *self,
              Peer    *peer)
{
  End end = { "client", NULL, 0, 0 };

  if (peer == NULL)
    return end;
  end.unique = peer->name;
  end.pid = peer->pid;
  if (peer == self->main_peer)
    end.role = "main";
  else if (peer->wc_id != 0)
    {
      end.role = "wc";
      end.id = peer->wc_id;
    }
  return end;
}

static End
end_for_name (Monitor    *self,
              const char *name)
{
  if (name != NULL && strcmp (name, self->app_id) == 0)
    return end_for_peer (self, self->main_peer);
  return end_for_peer (self, get_peer (self, name));
}

static End
end_for_id (Monitor *self,
            guint64  id)
{
  Peer *peer = g_hash_table_lookup (self->by_id, &id);
  End end = { "wc", NULL, id, 0 };

  if (peer != NULL)
    {
      end.unique = peer->name;
      end.pid = peer->pid;
    }
  return end;
}

static void
append_end_text (GString   *s,
                 const End *end)
{
  gsize start = s->len;

  if (strcmp (end->role, "main") == 0 || strcmp (end->role, "all") == 0)
    g_string_append (s, end->role);
  else if (strcmp (end->role, "wc") == 0)
    {
      g_string_append_printf (s, "wc %" G_GUINT64_FORMAT, end->id);
      if (end->pid != 0)
        g_string_append_printf (s, " (pid %u)", end->pid);
    }
  else
    g_string_append_printf (s, "client %s", end->unique != NULL ? end->unique : "?");
  while (s->len - start < 20)
    g_string_append_c (s, ' ');
}

static void
append_end_json (GString    *s,
                 const char *key,
                 const End  *end)
{
  g_string_append_printf (s, ",\"%s\":", key);
  if (strcmp (end->role, "wc") == 0)
    {
      g_string_append_printf (s, "\"wc %" G_GUINT64_FORMAT "\",\"%s_id\":%" G_GUINT64_FORMAT,
                              end->id, key, end->id);
    }
  else if (strcmp (end->role, "client") == 0)
    {
      g_string_append (s, "\"client ");
      g_string_append (s, end->unique != NULL ? end->unique : "?");
      g_string_append_c (s, '"');
    }
  else
    g_string_append_printf (s, "\"%s\"", end->role);
  if (end->pid != 0)
    g_string_append_printf (s, ",\"%s_pid\":%u", key, end->pid);
  if (end->unique != NULL)
    {
      g_string_append_printf (s, ",\"%s_unique\":", key);
      tool_json_append_string (s, end->unique);
    }
}

static void
append_args_json (GString    *s,
                  const char *args)
{
  if (tool_json_is_valid (args))
    g_string_append (s, args);
  else
    tool_json_append_string (s, args);
}

/* Starts a line: time, from, to, kind (the channel and the rest follow). */
static void
line_begin (Monitor    *self,
            const End  *from,
            const End  *to,
            const char *kind)
{
  GString *s = self->line;
  struct timespec ts;

  clock_gettime (CLOCK_REALTIME, &ts);
  g_string_truncate (s, 0);
  if (self->opts->json)
    {
      g_string_append_printf (s, "{\"time\":%lld.%06ld,\"kind\":\"%s\"",
                              (long long) ts.tv_sec, ts.tv_nsec / 1000, kind);
      append_end_json (s, "from", from);
      append_end_json (s, "to", to);
    }
  else
    {
      /* The clock time changes once a second. */
      if (ts.tv_sec != self->clock_second)
        {
          struct tm tm;

          localtime_r (&ts.tv_sec, &tm);
          strftime (self->clock_text, sizeof self->clock_text, "%H:%M:%S", &tm);
          self->clock_second = ts.tv_sec;
        }
      g_string_append_printf (s, "%s.%06ld ", self->clock_text, ts.tv_nsec / 1000);
      append_end_text (s, from);
      g_string_append (s, " -> ");
      append_end_text (s, to);
      g_string_append_printf (s, " %-16s", kind);
    }
}

static void
line_channel (Monitor    *self,
              const char *channel)
{
  if (self->opts->json)
    {
      g_string_append (self->line, ",\"channel\":");
      tool_json_append_string (self->line, channel);
    }
  else
    {
      g_string_append_c (self->line, ' ');
      g_string_append (self->line, channel);
    }
}

static void
line_args (Monitor    *self,
           const char *args)
{
  if (self->opts->json)
    {
      g_string_append (self->line, ",\"args\":");
      append_args_json (self->line, args);
    }
  else
    {
      g_string_append_c (self->line, ' ');
      g_string_append (self->line, args);
    }
}

static void
line_end (Monitor *self,
          guint32  serial)
{
  /* The kind column's padding, when nothing followed it. */
  while (self->line->len > 0 && self->line->str[self->line->len - 1] == ' ')
    g_string_truncate (self->line, self->line->len - 1);
  if (self->opts->json && serial != 0)
    g_string_append_printf (self->line, ",\"serial\":%u}\n", serial);
  else if (self->opts->json)
    g_string_append (self->line, "}\n");
  else
    g_string_append_c (self->line, '\n');
  fwrite (self->line->str, 1, self->line->len, stdout);
  self->shown++;
}

static gboolean
channel_passes (Monitor    *self,
                const char *channel)
{
  if (self->channel_filter == NULL)
    return TRUE;
  return channel != NULL && g_hash_table_contains (self->channel_filter, channel);
}

static gboolean
ids_pass (Monitor *self,
          guint64  a,
          guint64  b,
          guint64  c,
          gboolean broadcast)
{
  if (self->wc_filter == NULL || broadcast)
    return TRUE;
  for (guint i = 0; i < self->wc_filter->len; i++)
    {
      guint64 id = g_array_index (self->wc_filter, guint64, i);

      if (id == a || id == b || id == c)
        return TRUE;
    }
  return FALSE;
}

static guint64
pending_key (Peer    *caller,
             guint32  serial)
{
  return ((guint64) caller->index << 32) | serial;
}

/* Method calls ------------------------------------------------------------ */

static void
handle_call (Monitor        *self,
             sd_bus_message *m)
{
  const char *interface = sd_bus_message_get_interface (m);
  const char *member = sd_bus_message_get_member (m);
  const char *path = sd_bus_message_get_path (m);
  Peer *caller = get_peer (self, sd_bus_message_get_sender (m));
  const char *channel = NULL, *args = NULL;
  guint64 target = 0;
  End from, to;
  CallType type;
  uint64_t cookie = 0;
  gboolean show;
  int r;

  if (interface == NULL || member == NULL || path == NULL || caller == NULL)
    return;
  if (strcmp (interface, MAIN_INTERFACE) == 0 && strcmp (path, self->base_path) == 0)
    {
      if (strcmp (member, "Invoke") == 0)
        type = CALL_INVOKE;
      else if (strcmp (member, "SendSync") == 0)
        type = CALL_SEND_SYNC;
      else if (strcmp (member, "SendTo") == 0)
        type = CALL_SEND_TO;
      else if (strcmp (member, "SendToHost") == 0)
        type = CALL_SEND_TO_HOST;
      else if (strcmp (member, "Attach") == 0)
        type = CALL_ATTACH;
      else if (strcmp (member, "Detach") == 0)
        type = CALL_DETACH;
      else
        return;
      from = end_for_peer (self, caller);
      to = end_for_peer (self, self->main_peer);
    }
  else if (strcmp (interface, RENDERER_INTERFACE) == 0 && strcmp (member, "Invoke") == 0)
    {
      type = CALL_RENDERER_INVOKE;
      from = end_for_peer (self, caller);
      to = end_for_name (self, sd_bus_message_get_destination (m));
    }
  else
    return;

  if (type == CALL_SEND_TO)
    r = sd_bus_message_read (m, "tss", &target, &channel, &args);
  else if (type == CALL_ATTACH || type == CALL_DETACH)
    r = 1;
  else
    r = sd_bus_message_read (m, "ss", &channel, &args);
  if (r < 0)
    {
      channel = "?";
      args = "(not eipc's signature)";
    }
  if (type == CALL_SEND_TO)
    to = end_for_id (self, target);
  else if (type == CALL_SEND_TO_HOST)
    to = end_for_id (self, caller->host_id);

  show = channel_passes (self, channel) &&
         ids_pass (self, from.id, to.id, 0, FALSE);
  sd_bus_message_get_cookie (m, &cookie);

  if (show)
    {
      line_begin (self, &from, &to, call_kinds[type]);
      if (channel != NULL)
        {
          line_channel (self, channel);
          line_args (self, args);
        }
      if (type == CALL_ATTACH)
        {
          guint64 host = 0;

          /* Options a{sv}: show the host of a guest. */
          if (sd_bus_message_enter_container (m, 'a', "{sv}") > 0)
            {
              while (sd_bus_message_enter_container (m, 'e', "sv") > 0)
                {
                  const char *key;

                  if (sd_bus_message_read_basic (m, 's', &key) <= 0)
                    break;
                  if (strcmp (key, "host") == 0 &&
                      sd_bus_message_enter_container (m, 'v', "t") > 0)
                    {
                      sd_bus_message_read_basic (m, 't', &host);
                      sd_bus_message_exit_container (m);
                    }
                  else
                    sd_bus_message_skip (m, "v");
                  sd_bus_message_exit_container (m);
                }
            }
          if (host != 0)
            {
              if (self->opts->json)
                g_string_append_printf (self->line, ",\"host_id\":%" G_GUINT64_FORMAT, host);
              else
                g_string_append_printf (self->line, " guest of wc %" G_GUINT64_FORMAT, host);
            }
        }
      line_end (self, (guint32) cookie);
    }
  if (type == CALL_DETACH)
    caller->detach_seen = TRUE;

  if (!sd_bus_message_get_expect_reply (m))
    return;
  {
    Pending *pending = g_new0 (Pending, 1);
    guint64 *key = g_new (guint64, 1);

    pending->type = type;
    pending->channel = g_strdup (channel);
    pending->time = g_get_monotonic_time ();
    pending->show = show;
    pending->caller_id = caller->wc_id;
    pending->caller_pid = caller->pid;
    *key = pending_key (caller, (guint32) cookie);
    g_hash_table_replace (self->pending, key, pending);
  }
}

/* Replies ------------------------------------------------------------------ */

static void
handle_reply (Monitor        *self,
              sd_bus_message *m)
{
  Peer *caller = get_peer (self, sd_bus_message_get_destination (m));
  Peer *answerer = get_peer (self, sd_bus_message_get_sender (m));
  uint64_t reply_cookie = 0, cookie = 0;
  guint64 key;
  Pending *pending;
  const sd_bus_error *error;
  End from, to;

  if (caller == NULL || sd_bus_message_get_reply_cookie (m, &reply_cookie) < 0)
    return;
  key = pending_key (caller, (guint32) reply_cookie);
  pending = g_hash_table_lookup (self->pending, &key);
  if (pending == NULL)
    return;

  from = end_for_peer (self, answerer);
  to = end_for_peer (self, caller);
  if (pending->caller_id != 0 && strcmp (to.role, "client") == 0)
    {
      to.role = "wc";
      to.id = pending->caller_id;
      to.pid = pending->caller_pid;
    }
  error = sd_bus_message_get_error (m);
  sd_bus_message_get_cookie (m, &cookie);

  if (pending->show)
    {
      double latency = (double) (g_get_monotonic_time () - pending->time) / 1000.0;
      gboolean json = self->opts->json;

      line_begin (self, &from, &to, "reply");
      if (json)
        g_string_append_printf (self->line, ",\"call\":\"%s\"", call_kinds[pending->type]);
      else
        g_string_append_printf (self->line, " %s", call_kinds[pending->type]);
      if (pending->channel != NULL)
        line_channel (self, pending->channel);
      if (error != NULL)
        {
          if (json)
            {
              g_string_append (self->line, ",\"error\":{\"name\":");
              tool_json_append_string (self->line, error->name);
              g_string_append (self->line, ",\"message\":");
              tool_json_append_string (self->line, error->message != NULL ? error->message : "");
              g_string_append_c (self->line, '}');
            }
          else
            g_string_append_printf (self->line, " ! %s: %s", error->name,
                                    error->message != NULL ? error->message : "");
        }
      else
        {
          g_autoptr(GString) result = g_string_new (NULL);

          switch (pending->type)
            {
            case CALL_INVOKE:
            case CALL_SEND_SYNC:
            case CALL_RENDERER_INVOKE:
              {
                const char *text;

                if (sd_bus_message_read_basic (m, 's', &text) > 0)
                  append_args_json (result, text);
                else
                  g_string_append (result, "null");
                break;
              }
            case CALL_ATTACH:
              {
                guint64 id;
                const char *path;

                if (sd_bus_message_read (m, "to", &id, &path) > 0)
                  {
                    g_string_append_printf (result, "{\"id\":%" G_GUINT64_FORMAT ",\"path\":", id);
                    tool_json_append_string (result, path);
                    g_string_append_c (result, '}');
                  }
                else
                  g_string_append (result, "null");
                sd_bus_message_rewind (m, TRUE);
                break;
              }
            default:
              g_string_append (result, "null");
            }
          if (json)
            g_string_append_printf (self->line, ",\"result\":%s", result->str);
          else
            g_string_append_printf (self->line, " = %s", result->str);
        }
      if (json)
        g_string_append_printf (self->line, ",\"latency_ms\":%.3f,\"reply_serial\":%u",
                                latency, (guint32) reply_cookie);
      else
        g_string_append_printf (self->line, " (%.3f ms)", latency);
      line_end (self, (guint32) cookie);
    }

  /* The reply to Attach tells which webContents the caller now is. */
  if (pending->type == CALL_ATTACH && error == NULL)
    {
      guint64 id;
      const char *path;

      if (sd_bus_message_read (m, "to", &id, &path) > 0)
        {
          peer_set_id (self, caller, id);
          caller->detach_seen = FALSE;
        }
    }
  g_hash_table_remove (self->pending, &key);
}

/* The WebContents property ------------------------------------------------ */

typedef struct {
  char    *name;
  guint64  id;
  guint32  pid;
  guint64  host_id;
} Entry;

static void
entry_clear (gpointer data)
{
  Entry *entry = data;

  g_free (entry->name);
}

/* Reads a(tsut) at the current position. */
static GArray *
read_web_contents (sd_bus_message *m)
{
  g_autoptr(GArray) entries = g_array_new (FALSE, TRUE, sizeof (Entry));

  g_array_set_clear_func (entries, entry_clear);
  if (sd_bus_message_enter_container (m, 'a', "(tsut)") <= 0)
    return NULL;
  for (;;)
    {
      Entry entry = { 0 };
      const char *name;
      int r = sd_bus_message_read (m, "(tsut)", &entry.id, &name, &entry.pid, &entry.host_id);

      if (r < 0)
        return NULL;
      if (r == 0)
        break;
      entry.name = g_strdup (name);
      g_array_append_val (entries, entry);
    }
  sd_bus_message_exit_container (m);
  return g_steal_pointer (&entries);
}

/* @peer's webContents is gone: a renderer that left without Detach() is
 * reported, once. */
static void
web_contents_gone (Monitor  *self,
                   Peer     *peer,
                   gboolean  announce)
{
  if (announce && !peer->detach_seen && channel_passes (self, NULL) &&
      ids_pass (self, peer->wc_id, 0, 0, FALSE))
    {
      End from = end_for_peer (self, peer);
      End to = end_for_peer (self, self->main_peer);

      line_begin (self, &from, &to, "detach");
      if (self->opts->json)
        g_string_append (self->line, ",\"reason\":\"left the bus\"");
      else
        g_string_append (self->line, " (left the bus)");
      line_end (self, 0);
    }
  peer_set_id (self, peer, 0);
  peer->detach_seen = FALSE;
}

static void
apply_web_contents (Monitor  *self,
                    GArray   *entries,
                    gboolean  announce)
{
  g_autoptr(GHashTable) present = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autoptr(GPtrArray) gone = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  for (guint i = 0; i < entries->len; i++)
    {
      Entry *entry = &g_array_index (entries, Entry, i);
      Peer *peer = get_peer (self, entry->name);

      if (peer == NULL)
        continue;
      peer_set_id (self, peer, entry->id);
      if (entry->pid != 0)
        peer->pid = entry->pid;
      peer->host_id = entry->host_id;
      g_hash_table_add (present, peer);
    }
  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Peer *peer = value;

      if (peer->wc_id != 0 && !g_hash_table_contains (present, peer))
        g_ptr_array_add (gone, peer);
    }
  for (guint i = 0; i < gone->len; i++)
    web_contents_gone (self, g_ptr_array_index (gone, i), announce);
}

/* The main process's WebContentsAttached(t id, s name, u pid, t host_id)
 * and WebContentsDetached(t id, s name): one entry each, where
 * PropertiesChanged only says that the list changed. */
static void
handle_web_contents_signal (Monitor        *self,
                            sd_bus_message *m,
                            gboolean        attached)
{
  const char *name = NULL;
  guint64 id = 0, host_id = 0;
  guint32 pid = 0;
  Peer *peer;

  if (attached)
    {
      if (sd_bus_message_read (m, "tsut", &id, &name, &pid, &host_id) < 0 ||
          (peer = get_peer (self, name)) == NULL)
        return;
      peer_set_id (self, peer, id);
      if (pid != 0)
        peer->pid = pid;
      peer->host_id = host_id;
      return;
    }
  if (sd_bus_message_read (m, "ts", &id, &name) < 0 ||
      (peer = g_hash_table_lookup (self->peers, name)) == NULL || peer->wc_id != id)
    return;
  web_contents_gone (self, peer, TRUE);
}

static void
handle_properties_changed (Monitor        *self,
                           sd_bus_message *m)
{
  const char *interface;

  if (sd_bus_message_read_basic (m, 's', &interface) <= 0 ||
      strcmp (interface, MAIN_INTERFACE) != 0)
    return;
  if (sd_bus_message_enter_container (m, 'a', "{sv}") <= 0)
    return;
  while (sd_bus_message_enter_container (m, 'e', "sv") > 0)
    {
      const char *name;

      if (sd_bus_message_read_basic (m, 's', &name) <= 0)
        return;
      if (strcmp (name, "WebContents") == 0 &&
          sd_bus_message_enter_container (m, 'v', "a(tsut)") > 0)
        {
          g_autoptr(GArray) entries = read_web_contents (m);

          if (entries != NULL)
            apply_web_contents (self, entries, TRUE);
          return;
        }
      if (sd_bus_message_skip (m, "v") < 0 || sd_bus_message_exit_container (m) < 0)
        return;
    }
}

/* Signals ------------------------------------------------------------------ */

static void
set_main (Monitor    *self,
          const char *name)
{
  GHashTableIter iter;
  gpointer value;

  /* A new main process: new webContents ids. */
  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    peer_set_id (self, value, 0);
  self->main_peer = name != NULL && name[0] != '\0' ? get_peer (self, name) : NULL;
  if (self->main_peer != NULL)
    self->main_peer->last_serial = 0;
}

static void
handle_signal (Monitor        *self,
               sd_bus_message *m)
{
  const char *interface = sd_bus_message_get_interface (m);
  const char *member = sd_bus_message_get_member (m);
  const char *path = sd_bus_message_get_path (m);
  const char *sender = sd_bus_message_get_sender (m);
  Peer *from_peer;
  const char *channel, *args;
  guint64 extra = 0;
  uint64_t cookie = 0;

  if (interface == NULL || member == NULL || path == NULL)
    return;
  if (strcmp (interface, "org.freedesktop.DBus") == 0 &&
      strcmp (member, "NameOwnerChanged") == 0)
    {
      const char *name, *old_owner, *new_owner;

      if (sd_bus_message_read (m, "sss", &name, &old_owner, &new_owner) > 0 &&
          strcmp (name, self->app_id) == 0)
        {
          set_main (self, new_owner);
          if (new_owner[0] != '\0')
            fprintf (stderr, "%s: the main process is now %s\n", self->app_id, new_owner);
          else
            fprintf (stderr, "%s: the main process left the bus\n", self->app_id);
        }
      return;
    }

  from_peer = get_peer (self, sender);
  sd_bus_message_get_cookie (m, &cookie);

  if (strcmp (interface, RENDERER_INTERFACE) == 0 && strcmp (member, "Message") == 0)
    {
      End from = end_for_peer (self, from_peer);
      End to = end_for_name (self, sd_bus_message_get_destination (m));

      if (sd_bus_message_read (m, "ss", &channel, &args) < 0)
        return;
      if (!channel_passes (self, channel) || !ids_pass (self, from.id, to.id, 0, FALSE))
        return;
      line_begin (self, &from, &to, "send");
      line_channel (self, channel);
      line_args (self, args);
      line_end (self, (guint32) cookie);
      return;
    }

  if (from_peer == NULL || from_peer != self->main_peer)
    return;

  if (strcmp (interface, PROPERTIES_INTERFACE) == 0 &&
      strcmp (member, "PropertiesChanged") == 0 && strcmp (path, self->base_path) == 0)
    {
      handle_properties_changed (self, m);
      return;
    }
  if (strcmp (interface, MAIN_INTERFACE) == 0 && strcmp (path, self->base_path) == 0 &&
      (strcmp (member, "WebContentsAttached") == 0 ||
       strcmp (member, "WebContentsDetached") == 0))
    {
      handle_web_contents_signal (self, m, member[11] == 'A');
      return;
    }

  if (strcmp (interface, WEB_CONTENTS_INTERFACE) == 0)
    {
      End from = end_for_peer (self, from_peer), to, origin = { 0 };
      gboolean broadcast = strcmp (path, self->broadcast_path) == 0;
      const char *kind;

      if (sd_bus_message_read (m, "sst", &channel, &args, &extra) < 0)
        return;
      if (broadcast && strcmp (member, "Message") == 0)
        {
          kind = "broadcast";
          to = (End) { "all", NULL, 0, 0 };
        }
      else if (!broadcast && g_str_has_prefix (path, self->wc_prefix))
        {
          to = end_for_name (self, sd_bus_message_get_destination (m));
          if (strcmp (member, "Message") == 0)
            kind = extra == 0 ? "webContents.send" : "sendTo";
          else if (strcmp (member, "HostMessage") == 0)
            kind = "sendToHost";
          else
            return;
          if (extra != 0)
            origin = end_for_id (self, extra);
        }
      else
        return;
      if (!channel_passes (self, channel) || !ids_pass (self, to.id, extra, 0, broadcast))
        return;
      line_begin (self, &from, &to, kind);
      line_channel (self, channel);
      line_args (self, args);
      if (extra != 0)
        {
          if (self->opts->json)
            {
              append_end_json (self->line, "origin", &origin);
            }
          else
            {
              g_string_append (self->line, " (from ");
              append_end_text (self->line, &origin);
              g_strchomp (self->line->str);
              self->line->len = strlen (self->line->str);
              g_string_append_c (self->line, ')');
            }
        }
      line_end (self, (guint32) cookie);
    }
}

static void
count_gap (Monitor        *self,
           sd_bus_message *m)
{
  Peer *peer;
  uint64_t cookie;

  if (self->main_peer == NULL ||
      g_strcmp0 (sd_bus_message_get_sender (m), self->main_peer->name) != 0 ||
      sd_bus_message_get_cookie (m, &cookie) < 0)
    return;
  peer = self->main_peer;
  if (peer->last_serial != 0 && cookie > peer->last_serial + 1)
    self->missed += cookie - peer->last_serial - 1;
  peer->last_serial = (guint32) cookie;
}

static void
handle_message (Monitor        *self,
                sd_bus_message *m)
{
  uint8_t type = 0;

  self->received++;
  count_gap (self, m);
  sd_bus_message_get_type (m, &type);
  switch (type)
    {
    case SD_BUS_MESSAGE_METHOD_CALL:
      handle_call (self, m);
      break;
    case SD_BUS_MESSAGE_METHOD_RETURN:
    case SD_BUS_MESSAGE_METHOD_ERROR:
      handle_reply (self, m);
      break;
    case SD_BUS_MESSAGE_SIGNAL:
      handle_signal (self, m);
      break;
    default:
      break;
    }
}

static void
process_bus (sd_bus   *bus,
             gpointer  user_data)
{
  Monitor *self = user_data;

  for (guint i = 0; i < BATCH; i++)
    {
      g_autoptr(sd_bus_message) m = NULL;
      int r = sd_bus_process (bus, &m);

      if (r < 0)
        {
          fprintf (stderr, "The bus connection closed: %s\n", g_strerror (-r));
          self->status = EXIT_FAILED;
          g_main_loop_quit (self->loop);
          break;
        }
      if (m != NULL)
        {
          if (sd_bus_message_is_signal (m, "org.freedesktop.DBus.Local", "Disconnected"))
            {
              fprintf (stderr, "The bus connection closed.\n");
              self->status = EXIT_FAILED;
              g_main_loop_quit (self->loop);
              break;
            }
          handle_message (self, m);
        }
      if (r == 0)
        break;
    }
  /* On a terminal stdout is line-buffered; piped, it is flushed when its
   * buffer fills and by flush_output() at least every 50 ms. */
}

static gboolean
flush_output (gpointer user_data)
{
  Monitor *self = user_data;

  if (self->shown != self->flushed)
    {
      fflush (stdout);
      self->flushed = self->shown;
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_interrupt (gpointer user_data)
{
  Monitor *self = user_data;

  g_main_loop_quit (self->loop);
  return G_SOURCE_CONTINUE;
}

/* The main process's name and webContents before monitoring starts. */
static void
read_initial_state (Monitor *self)
{
  g_autoptr(sd_bus) bus = NULL;
  g_autoptr(sd_bus_message) reply = NULL;
  g_auto(sd_bus_error) error = SD_BUS_ERROR_NULL;
  const char *name;
  g_autofree char *owner = NULL;

  if (tool_bus_open (self->opts, FALSE, &bus) < 0)
    return;
  if (sd_bus_call_method (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "GetNameOwner", &error, &reply, "s",
                          self->app_id) < 0 ||
      sd_bus_message_read_basic (reply, 's', &name) <= 0)
    {
      fprintf (stderr, "%s is not running; waiting for it.\n", self->app_id);
      return;
    }
  /* The name lives in the reply, which goes next. */
  owner = g_strdup (name);
  set_main (self, owner);
  g_clear_pointer (&reply, sd_bus_message_unref);
  if (sd_bus_call_method (bus, owner, self->base_path, PROPERTIES_INTERFACE, "Get",
                          &error, &reply, "ss", MAIN_INTERFACE, "WebContents") >= 0 &&
      sd_bus_message_enter_container (reply, 'v', "a(tsut)") > 0)
    {
      g_autoptr(GArray) entries = read_web_contents (reply);

      if (entries != NULL)
        apply_web_contents (self, entries, FALSE);
    }
  else
    fprintf (stderr, "%s does not serve %s: %s\n", self->app_id, MAIN_INTERFACE,
             error.message != NULL ? error.message : "no WebContents property");
}

static int
become_monitor (Monitor *self)
{
  g_autoptr(sd_bus_message) m = NULL;
  g_auto(sd_bus_error) error = SD_BUS_ERROR_NULL;
  g_autofree char *by_sender = g_strdup_printf ("sender='%s'", self->app_id);
  g_autofree char *to_app = g_strdup_printf ("destination='%s'", self->app_id);
  g_autofree char *owner = g_strdup_printf ("type='signal',sender='org.freedesktop.DBus',"
                                            "interface='org.freedesktop.DBus',"
                                            "member='NameOwnerChanged',arg0='%s'",
                                            self->app_id);
  int r;

  r = sd_bus_message_new_method_call (self->bus, &m, "org.freedesktop.DBus",
                                      "/org/freedesktop/DBus",
                                      "org.freedesktop.DBus.Monitoring", "BecomeMonitor");
  if (r >= 0)
    r = sd_bus_message_append (m, "asu", 3, by_sender, to_app, owner, 0);
  if (r >= 0)
    r = sd_bus_call (self->bus, m, 0, &error, NULL);
  if (r < 0)
    {
      if (sd_bus_error_is_set (&error))
        {
          fprintf (stderr, "The bus refused to let eipc monitor it: %s: %s\n",
                   error.name, error.message != NULL ? error.message : "");
          if (sd_bus_error_has_name (&error, SD_BUS_ERROR_ACCESS_DENIED) ||
              sd_bus_error_has_name (&error, SD_BUS_ERROR_UNKNOWN_INTERFACE) ||
              sd_bus_error_has_name (&error, SD_BUS_ERROR_UNKNOWN_METHOD))
            fprintf (stderr, "Monitoring needs the bus's permission: on the system bus "
                     "only root may monitor (run it with sudo); the bus must "
                     "implement org.freedesktop.DBus.Monitoring.\n");
        }
      else
        fprintf (stderr, "Failed to become a monitor: %s\n", g_strerror (-r));
      return r;
    }
  return 0;
}

int
tool_cmd_monitor (ToolOptions  *opts,
                  int           argc,
                  char        **argv)
{
  g_auto(GStrv) channels = NULL;
  g_auto(GStrv) ids = NULL;
  const GOptionEntry entries[] = {
    { "channel", 'c', 0, G_OPTION_ARG_STRING_ARRAY, &channels,
      "Show only CHANNEL's messages (repeatable)", "CHANNEL" },
    { "web-contents", 'w', 0, G_OPTION_ARG_STRING_ARRAY, &ids,
      "Show only what webContents ID sends or receives (repeatable)", "ID" },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &opts->json,
      "Print one JSON object per line", NULL },
    { NULL }
  };
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  Monitor self = { 0 };
  guint sigint_id, sigterm_id, source_id, flush_id;
  int r;

  if (!tool_parse_options (opts, "monitor", "APP",
                           "Show all IPC of one application, decoded, one line per message:\n"
                           "time, sender, receiver, kind, channel and arguments; answers are\n"
                           "paired with their calls and show the result or error and the\n"
                           "latency. Uses the bus's monitoring interface (BecomeMonitor).",
                           entries, &argc, &argv))
    return EXIT_USAGE;
  if (argc != 2)
    return tool_usage_error ("monitor", argc < 2 ? "an APP is needed" : "too many arguments");
  if (!tool_app_id_is_valid (argv[1]))
    return tool_usage_error ("monitor", "'%s' is not an app id (a well-known bus name "
                             "such as org.example.Editor)", argv[1]);

  self.opts = opts;
  self.app_id = argv[1];
  self.base_path = tool_base_path (self.app_id);
  self.broadcast_path = g_strconcat (self.base_path, "/WebContents", NULL);
  self.wc_prefix = g_strconcat (self.base_path, "/WebContents/", NULL);
  self.peers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, peer_free);
  self.by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  self.pending = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, pending_free);
  self.line = g_string_sized_new (256);
  self.loop = loop;
  self.status = EXIT_OK;
  if (channels != NULL)
    {
      self.channel_filter = g_hash_table_new (g_str_hash, g_str_equal);
      for (guint i = 0; channels[i] != NULL; i++)
        g_hash_table_add (self.channel_filter, channels[i]);
    }
  if (ids != NULL)
    {
      self.wc_filter = g_array_new (FALSE, FALSE, sizeof (guint64));
      for (guint i = 0; ids[i] != NULL; i++)
        {
          guint64 id;

          if (!g_ascii_string_to_unsigned (ids[i], 10, 1, G_MAXUINT64, &id, NULL))
            {
              self.status = tool_usage_error ("monitor", "'%s' is not a webContentsId", ids[i]);
              goto out;
            }
          g_array_append_val (self.wc_filter, id);
        }
    }

  if (!isatty (STDOUT_FILENO))
    setvbuf (stdout, NULL, _IOFBF, 1 << 16);

  r = tool_bus_open (opts, TRUE, &self.bus);
  if (r < 0)
    {
      g_autofree char *address = tool_bus_address (opts);

      fprintf (stderr, "Failed to connect to the bus at %s: %s\n", address, g_strerror (-r));
      self.status = EXIT_FAILED;
      goto out;
    }
  /* Learn the names first: messages queue up meanwhile. */
  read_initial_state (&self);
  if (become_monitor (&self) < 0)
    {
      self.status = EXIT_FAILED;
      goto out;
    }
  fprintf (stderr, "Monitoring %s (Ctrl-C to stop).\n", self.app_id);

  source_id = tool_bus_attach (self.bus, process_bus, &self);
  flush_id = g_timeout_add (50, flush_output, &self);
  sigint_id = g_unix_signal_add (SIGINT, on_interrupt, &self);
  sigterm_id = g_unix_signal_add (SIGTERM, on_interrupt, &self);
  g_main_loop_run (loop);
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  g_source_remove (source_id);
  g_source_remove (flush_id);
  fflush (stdout);
  fprintf (stderr, "%" G_GUINT64_FORMAT " messages, %" G_GUINT64_FORMAT " shown, %"
           G_GUINT64_FORMAT " missed.\n", self.received, self.shown, self.missed);

out:
  if (self.bus != NULL)
    sd_bus_flush_close_unref (self.bus);
  g_free (self.base_path);
  g_free (self.broadcast_path);
  g_free (self.wc_prefix);
  g_clear_pointer (&self.peers, g_hash_table_unref);
  g_clear_pointer (&self.by_id, g_hash_table_unref);
  g_clear_pointer (&self.pending, g_hash_table_unref);
  g_clear_pointer (&self.channel_filter, g_hash_table_unref);
  g_clear_pointer (&self.wc_filter, g_array_unref);
  if (self.line != NULL)
    g_string_free (self.line, TRUE);
  return self.status;
}
