/* eipc-main.c: the main process (ipcMain)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <string.h>

#include "eipc-private.h"

#define DBUS_SERVICE    "org.freedesktop.DBus"
#define DBUS_PATH       "/org/freedesktop/DBus"
#define DBUS_INTERFACE  "org.freedesktop.DBus"

struct _EipcMain
{
  EipcEmitter       parent_instance;

  char             *app_id;         /* construct-only properties */
  char             *address;
  char             *path;           /* BASE */
  char             *broadcast_path; /* BASE/WebContents */
  sd_bus           *bus;
  GSource          *source;
  EipcCalls        *calls;          /* main-to-renderer invokes */
  sd_bus_slot      *vtable_slot;
  sd_bus_slot      *message_slot;
  sd_bus_slot      *owner_slot;
  sd_bus_slot      *wc_signals_slot;    /* BASE/WebContents[/ID] objects */
  sd_bus_slot      *wc_properties_slot;
  sd_bus_slot      *wc_enumerator_slot;
  EipcWebContentsRegistry registry; /* what those objects may look up */

  GHashTable       *by_id;          /* guint64* -> EipcWebContents */
  GHashTable       *by_name;        /* unique name -> EipcWebContents */
  GHashTable       *attaching;      /* unique name -> PendingAttach */
  guint64           last_id;
  gboolean          strict;

  /* Limits, settable; see eipc_main_set_limits(). */
  guint             max_pending_calls;
  gsize             max_args_size;
  GHashTable       *in_flight;      /* unique name -> ClientUse */
  EipcBudget        budget;         /* bytes held; see eipc_main_set_memory_limits() */
  EipcProcesses    *processes;      /* renderers launched here */
  EipcEvent        *spare_event;    /* see eipc_event_release() */

  /* GInitable / GAsyncInitable */
  gboolean          init_started;
  gboolean          init_done;
  GError           *init_error;
  EipcCallSet      *init_calls;     /* an async RequestName in flight */
  EipcMatchCheck    match_check;    /* the answers to AddMatch */
};

/* A client with calls in flight, or an attached renderer (its entry
 * stays, at 0 calls, while it is attached), or a client that never
 * attached and was answered (until it leaves the bus). */
typedef struct {
  guint     calls;      /* unanswered invokes and sendSyncs */
  EipcFlow *flow;       /* a client that never attached: its own; else NULL
                         * (the webContents' flow counts) */
  gboolean  gone;       /* it left the bus */
} ClientUse;

typedef struct {
  EipcMain       *main;
  sd_bus_message *call;
  sd_bus_slot    *slot;
  guint64         host_id;
  gboolean        no_fds;      /* its connection cannot take file descriptors */
  GPtrArray      *more_calls;  /* later Attach calls of the same client */
} PendingAttach;

enum {
  SIGNAL_WEB_CONTENTS_ATTACHED,
  SIGNAL_ALLOW_GUEST,
  SIGNAL_MESSAGE_REJECTED,
  SIGNAL_DISCONNECTED,
  SIGNAL_RENDER_PROCESS_GONE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

enum {
  PROP_0,
  PROP_APP_ID,
  PROP_ADDRESS,
  PROP_STRICT,
  PROP_OBJECT_PATH,
  PROP_MAX_CLIENT_BYTES,
  PROP_MAX_TOTAL_BYTES,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static void main_initable_iface_init       (GInitableIface      *iface);
static void main_async_initable_iface_init (GAsyncInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (EipcMain, eipc_main, EIPC_TYPE_EMITTER,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      main_initable_iface_init)
                               G_IMPLEMENT_INTERFACE (G_TYPE_ASYNC_INITABLE,
                                                      main_async_initable_iface_init))

static void
message_unref (gpointer data)
{
  sd_bus_message_unref (data);
}

static void
client_use_free (gpointer data)
{
  ClientUse *use = data;

  eipc_flow_free (use->flow);
  g_free (use);
}

static void
pending_attach_free (gpointer data)
{
  PendingAttach *pending = data;

  sd_bus_slot_unref (pending->slot);
  sd_bus_message_unref (pending->call);
  g_clear_pointer (&pending->more_calls, g_ptr_array_unref);
  g_free (pending);
}

static void
main_properties_changed (EipcMain   *self,
                         const char *property)
{
  int r;

  r = sd_bus_emit_properties_changed (self->bus, self->path,
                                      EIPC_MAIN_INTERFACE, property, NULL);
  if (r < 0)
    g_debug ("eipc: PropertiesChanged(%s) failed: %s", property, g_strerror (-r));
}

/* WebContentsAttached / WebContentsDetached: one renderer's entry, so
 * attaching the 500th renderer costs the bus what attaching the 5th did
 * (the WebContents property itself only says it changed). */
static void
main_web_contents_changed (EipcMain        *self,
                           EipcWebContents *wc,
                           gboolean         attached)
{
  int r;

  if (attached)
    r = sd_bus_emit_signal (self->bus, self->path, EIPC_MAIN_INTERFACE,
                            "WebContentsAttached", "tsut",
                            eipc_web_contents_get_id (wc),
                            eipc_web_contents_get_unique_name (wc),
                            eipc_web_contents_get_process_id (wc),
                            eipc_web_contents_get_host_id (wc));
  else
    r = sd_bus_emit_signal (self->bus, self->path, EIPC_MAIN_INTERFACE,
                            "WebContentsDetached", "ts",
                            eipc_web_contents_get_id (wc),
                            eipc_web_contents_get_unique_name (wc));
  if (r < 0)
    g_debug ("eipc: WebContents%s failed: %s", attached ? "Attached" : "Detached",
             g_strerror (-r));
  main_properties_changed (self, "WebContents");
}

static void
main_reject (EipcMain       *self,
             sd_bus_message *m,
             const GError   *error)
{
  const char *sender = sd_bus_message_get_sender (m);

  g_debug ("eipc: dropped a message from %s: %s",
           sender != NULL ? sender : "(unknown)", error->message);
  g_signal_emit (self, signals[SIGNAL_MESSAGE_REJECTED], 0, sender, error);
}

/* Who sent @m, and may it send? Sets *ret to its webContents, or NULL
 * for a client that never attached. */
static gboolean
main_check_sender (EipcMain         *self,
                   sd_bus_message   *m,
                   EipcWebContents **ret,
                   GError          **error)
{
  const char *sender = sd_bus_message_get_sender (m);
  EipcWebContents *wc = NULL;

  if (sender != NULL)
    wc = g_hash_table_lookup (self->by_name, sender);
  if (wc == NULL && self->strict)
    {
      g_set_error (error, EIPC_ERROR, EIPC_ERROR_NOT_ATTACHED,
                   "%s has not attached to %s; this main process only serves "
                   "attached renderers", sender != NULL ? sender : "The sender",
                   self->app_id);
      return FALSE;
    }
  *ret = wc;
  return TRUE;
}

/* Checks a message's channel and arguments; sets *@ret_size (if not
 * NULL) to what its call holds, eipc_flow_message_size (channel, args),
 * worked out from the length found here. */
static gboolean
main_check_message (EipcMain    *self,
                    const char  *channel,
                    const char  *args,
                    gsize       *ret_size,
                    GError     **error)
{
  gsize size = strnlen (args, self->max_args_size + 1);

  if (size > self->max_args_size)
    {
      g_set_error (error, EIPC_ERROR, EIPC_ERROR_LIMITS_EXCEEDED,
                   "The arguments are larger than the limit of %" G_GSIZE_FORMAT
                   " bytes", self->max_args_size);
      return FALSE;
    }
  if (!eipc_channel_check (channel, error) ||
      !eipc_json_check (args, TRUE, error))
    return FALSE;
  if (ret_size != NULL)
    *ret_size = EIPC_FLOW_MESSAGE_OVERHEAD + strlen (channel) + size;
  return TRUE;
}

/* The entry of @sender, made if @create. */
static ClientUse *
main_client_use (EipcMain   *self,
                 const char *sender,
                 gboolean    create)
{
  ClientUse *use = g_hash_table_lookup (self->in_flight, sender);

  if (use == NULL && create)
    {
      use = g_new0 (ClientUse, 1);
      g_hash_table_insert (self->in_flight, g_strdup (sender), use);
    }
  return use;
}

/* The flow that counts the bytes of @event's call (see main_track_call()):
 * the webContents of its sender may have gone since. */
static EipcFlow *
main_call_flow (EipcMain  *self,
                EipcEvent *event)
{
  ClientUse *use;
  EipcWebContents *wc = eipc_event_get_sender (event);

  if (wc != NULL)
    return eipc_web_contents_get_flow (wc);
  use = main_client_use (self, eipc_event_get_sender_name (event), FALSE);
  g_assert (use != NULL && use->flow != NULL);
  return use->flow;
}

/* The entry of the sender of a call from @wc (NULL: a client that never
 * attached) named @sender, made if @create. An attached renderer's entry
 * is kept with its webContents, so its calls look nothing up by name
 * (see main_remove_web_contents()). */
static ClientUse *
main_call_use (EipcMain        *self,
               EipcWebContents *wc,
               const char      *sender,
               gboolean         create)
{
  ClientUse *use = wc != NULL ? eipc_web_contents_get_main_use (wc) : NULL;

  if (use != NULL)
    return use;
  use = main_client_use (self, sender, create);
  /* Only an attached renderer's webContents keeps it. */
  if (use != NULL && wc != NULL && !eipc_web_contents_is_destroyed (wc))
    eipc_web_contents_set_main_use (wc, use);
  return use;
}

/* Counts a call the sender waits on, and the @size bytes it holds
 * (main_check_message() worked it out); refuses one past a limit. */
static gboolean
main_track_call (EipcMain         *self,
                 sd_bus_message   *m,
                 EipcWebContents  *wc,
                 gsize             size,
                 GError          **error)
{
  const char *sender = sd_bus_message_get_sender (m);
  ClientUse *use = main_call_use (self, wc, sender, FALSE);
  EipcFlow *flow;

  if (use != NULL && use->calls >= self->max_pending_calls)
    {
      g_set_error (error, EIPC_ERROR, EIPC_ERROR_LIMITS_EXCEEDED,
                   "Too many calls in flight from %s (the limit is %u)",
                   sender, self->max_pending_calls);
      return FALSE;
    }
  if (use == NULL)
    use = main_call_use (self, wc, sender, TRUE);
  /* The same flow as main_call_flow() finds for the event. */
  if (wc != NULL)
    flow = eipc_web_contents_get_flow (wc);
  else
    {
      if (use->flow == NULL)
        use->flow = eipc_flow_new (self->bus, sender, &self->budget,
                                   g_source_get_context (self->source), NULL, NULL);
      flow = use->flow;
    }
  if (!eipc_flow_hold (flow, size))
    {
      g_set_error (error, EIPC_ERROR, EIPC_ERROR_LIMITS_EXCEEDED,
                   "The calls of %s hold too much (%" G_GUINT64_FORMAT " bytes, "
                   "%" G_GSIZE_FORMAT " more; the limit is %" G_GUINT64_FORMAT
                   " per client, %" G_GUINT64_FORMAT " in all)", sender,
                   eipc_flow_get_client_bytes (flow),
                   size, self->budget.max_client, self->budget.max_total);
      if (use->calls == 0 && !g_hash_table_contains (self->by_name, sender) &&
          (use->flow == NULL || eipc_flow_get_client_bytes (use->flow) == 0))
        g_hash_table_remove (self->in_flight, sender);
      return FALSE;
    }
  use->calls++;
  return TRUE;
}

/* Called by an event once its call is answered (or dropped). An attached
 * renderer keeps its entry at 0 until it goes, so its calls cost no
 * copy of its name; a client that never attached keeps it while its
 * answers may wait in the bus for it (until it leaves the bus). */
static void
main_call_done (EipcMain   *self,
                EipcEvent  *event)
{
  const char *sender = eipc_event_get_sender_name (event);
  EipcWebContents *wc = eipc_event_get_sender (event);
  /* Kept by the webContents: it is attached, and its entry stays. */
  ClientUse *use = wc != NULL ? eipc_web_contents_get_main_use (wc) : NULL;
  gboolean attached = use != NULL;

  if (use == NULL)
    use = main_client_use (self, sender, FALSE);
  g_assert (use != NULL && use->calls > 0);
  eipc_flow_hold (main_call_flow (self, event), -(gint64) eipc_event_get_cost (event));
  if (--use->calls == 0 && !attached && !g_hash_table_contains (self->by_name, sender) &&
      (use->flow == NULL || use->gone || eipc_flow_get_client_bytes (use->flow) == 0))
    g_hash_table_remove (self->in_flight, sender);
}

static EipcWebContents *
main_lookup (EipcMain *self,
             guint64   id)
{
  return g_hash_table_lookup (self->by_id, &id);
}

/* event.reply on the main side: to the renderer that sent the event. */
static gboolean
main_event_reply (EipcEvent   *event,
                  const char  *channel,
                  const char  *args_json,
                  gpointer     data,
                  GError     **error)
{
  EipcWebContents *wc = eipc_event_get_sender (event);

  if (wc == NULL)
    {
      g_set_error (error, EIPC_ERROR, EIPC_ERROR_NOT_ATTACHED,
                   "Cannot reply to %s: it never attached, so it has no "
                   "webContents", eipc_event_get_sender_name (event));
      return FALSE;
    }
  return eipc_web_contents_send_json (wc, channel, args_json, error);
}

/* The call no longer counts against its sender's limit. */
static void
main_event_done (EipcEvent *event,
                 gboolean   answered,
                 gpointer   data)
{
  main_call_done (data, event);
}

/* An answer goes to the caller at once (never behind the one-way
 * messages that wait for it) if its budget has room, counting the bytes
 * its call releases; else the caller gets LimitsExceeded. */
static gboolean
main_event_may_answer (EipcEvent  *event,
                       gsize       size,
                       gpointer    data,
                       GError    **error)
{
  EipcFlow *flow = main_call_flow (data, event);

  size += EIPC_FLOW_MESSAGE_OVERHEAD;
  if (!eipc_flow_check_direct (flow, size, eipc_event_get_cost (event), error))
    return FALSE;
  eipc_flow_count (flow, size);
  return TRUE;
}

static const EipcEventFuncs main_send_funcs = { main_event_reply, NULL, NULL };
static const EipcEventFuncs main_call_funcs = { main_event_reply, main_event_done,
                                                main_event_may_answer };

/* An event from @wc (NULL: a client that never attached). A call's event
 * keeps the main process, whose count of calls in flight it updates. */
static EipcEvent *
main_event_new (EipcMain        *self,
                EipcEventKind    kind,
                sd_bus_message  *m,
                const char      *channel,
                const char      *args,
                EipcWebContents *wc)
{
  gboolean call = kind == EIPC_EVENT_INVOKE || kind == EIPC_EVENT_SEND_SYNC;

  return eipc_event_take (&self->spare_event, kind, m, channel, args,
                          wc != NULL ? eipc_web_contents_get_id (wc) : 0, wc,
                          wc != NULL ? eipc_web_contents_get_process_id (wc) : 0,
                          call ? &main_call_funcs : &main_send_funcs,
                          call ? g_object_ref (self) : NULL,
                          call ? g_object_unref : NULL);
}

static void
set_no_such_web_contents (GError  **error,
                          guint64   id)
{
  g_set_error (error, EIPC_ERROR, EIPC_ERROR_NO_SUCH_WEB_CONTENTS,
               "No webContents with id %" G_GUINT64_FORMAT " is attached", id);
}

static int
main_reply_no_such_web_contents (sd_bus_message *m,
                                 guint64         id)
{
  g_autoptr(GError) error = NULL;

  set_no_such_web_contents (&error, id);
  return eipc_reply_gerror (m, error);
}

static int
read_attach_options (sd_bus_message  *m,
                     guint64         *host_id,
                     gboolean        *no_fds,
                     const char     **bad_host_type)
{
  int r;

  r = sd_bus_message_enter_container (m, 'a', "{sv}");
  if (r < 0)
    return r;
  while ((r = sd_bus_message_enter_container (m, 'e', "sv")) > 0)
    {
      const char *key;

      r = sd_bus_message_read (m, "s", &key);
      if (r < 0)
        return r;
      if (strcmp (key, "host") == 0)
        {
          const char *contents = NULL;

          r = sd_bus_message_peek_type (m, NULL, &contents);
          if (r < 0)
            return r;
          if (g_strcmp0 (contents, "t") != 0)
            {
              *bad_host_type = contents;
              return -EINVAL;
            }
          r = sd_bus_message_read (m, "v", "t", host_id);
          if (r < 0)
            return r;
        }
      else if (strcmp (key, "unix-fds") == 0 &&
               sd_bus_message_verify_type (m, 'v', "b") > 0)
        {
          int can = 1;

          r = sd_bus_message_read (m, "v", "b", &can);
          if (r < 0)
            return r;
          *no_fds = !can;
        }
      else
        {
          /* Unknown options are ignored, for later versions. */
          r = sd_bus_message_skip (m, "v");
          if (r < 0)
            return r;
        }
      r = sd_bus_message_exit_container (m);
      if (r < 0)
        return r;
    }
  if (r < 0)
    return r;
  return sd_bus_message_exit_container (m);
}

static int
read_credentials (sd_bus_message *reply,
                  guint32        *pid,
                  guint32        *uid)
{
  int r;

  r = sd_bus_message_enter_container (reply, 'a', "{sv}");
  if (r < 0)
    return r;
  while ((r = sd_bus_message_enter_container (reply, 'e', "sv")) > 0)
    {
      const char *key;

      r = sd_bus_message_read (reply, "s", &key);
      if (r < 0)
        return r;
      if (strcmp (key, "ProcessID") == 0)
        r = sd_bus_message_read (reply, "v", "u", pid);
      else if (strcmp (key, "UnixUserID") == 0)
        r = sd_bus_message_read (reply, "v", "u", uid);
      else
        r = sd_bus_message_skip (reply, "v");
      if (r < 0)
        return r;
      r = sd_bus_message_exit_container (reply);
      if (r < 0)
        return r;
    }
  if (r < 0)
    return r;
  return sd_bus_message_exit_container (reply);
}

static int
reply_attached (sd_bus_message  *call,
                EipcWebContents *wc)
{
  return sd_bus_reply_method_return (call, "to",
                                     eipc_web_contents_get_id (wc),
                                     eipc_web_contents_get_object_path (wc));
}

/* A guest attaches only with consent: its host allows guests, or the
 * application's EipcMain::allow-guest handler says yes. */
static gboolean
main_allow_guest (EipcMain        *self,
                  EipcWebContents *host,
                  const char      *sender,
                  guint32          pid,
                  guint32          uid)
{
  gboolean allow = FALSE;

  if (eipc_web_contents_get_allow_guests (host))
    return TRUE;
  g_signal_emit (self, signals[SIGNAL_ALLOW_GUEST], 0, host, sender, pid, uid,
                 &allow);
  return allow;
}

/* Answers the Attach call and any later ones of the same client. */
static void
pending_attach_answer (PendingAttach   *pending,
                       EipcWebContents *wc,
                       const GError    *error)
{
  for (guint i = 0; i <= (pending->more_calls != NULL ? pending->more_calls->len : 0); i++)
    {
      sd_bus_message *call = i == 0 ? pending->call
                                    : g_ptr_array_index (pending->more_calls, i - 1);

      if (wc != NULL)
        reply_attached (call, wc);
      else
        eipc_reply_gerror (call, error);
    }
}

static int
attach_credentials_done (sd_bus_message *reply,
                         void           *userdata,
                         sd_bus_error   *ret_error)
{
  PendingAttach *pending = userdata;
  EipcMain *self = pending->main;
  g_autofree char *sender = g_strdup (sd_bus_message_get_sender (pending->call));
  const sd_bus_error *bus_error = sd_bus_message_get_error (reply);
  g_autoptr(GError) error = NULL;
  guint32 pid = 0, uid = G_MAXUINT32;
  EipcWebContents *wc = NULL;
  int r;

  if (g_strcmp0 (sd_bus_message_get_sender (reply), DBUS_SERVICE) != 0 &&
      g_strcmp0 (sd_bus_message_get_sender (reply), "org.freedesktop.DBus.Local") != 0)
    {
      /* sd-bus matches replies by serial alone: only the bus itself may
       * say whose credentials these are. */
      g_message ("eipc: refused a forged reply from %s to GetConnectionCredentials",
                 sd_bus_message_get_sender (reply));
      g_set_error (&error, EIPC_ERROR, EIPC_ERROR_FORGED_REPLY,
                   "The credentials of %s came from %s, not from the bus: "
                   "refused as forged", sender,
                   sd_bus_message_get_sender (reply));
    }
  else if (bus_error != NULL)
    {
      /* The client is gone already (or the bus refused): no webContents. */
      g_set_error (&error, EIPC_ERROR, EIPC_ERROR_DISCONNECTED,
                   "Cannot read the credentials of %s: %s", sender,
                   bus_error->message);
    }
  else if ((r = read_credentials (reply, &pid, &uid)) < 0)
    {
      g_set_error (&error, EIPC_ERROR, EIPC_ERROR_FAILED,
                   "Cannot parse the credentials of %s: %s", sender,
                   g_strerror (-r));
    }
  else if (pending->host_id != 0 && main_lookup (self, pending->host_id) == NULL)
    {
      set_no_such_web_contents (&error, pending->host_id);
    }
  else if (pending->host_id != 0 &&
           !main_allow_guest (self, main_lookup (self, pending->host_id),
                              sender, pid, uid))
    {
      g_set_error (&error, EIPC_ERROR, EIPC_ERROR_ACCESS_DENIED,
                   "webContents %" G_GUINT64_FORMAT " does not accept guests "
                   "(neither the host nor the main process allowed %s)",
                   pending->host_id, sender);
    }
  else
    {
      wc = eipc_web_contents_new (self->bus, self->calls, &self->budget,
                                  g_source_get_context (self->source), self->path,
                                  ++self->last_id, sender, pid, uid, pending->host_id);
      if (pending->no_fds)
        eipc_web_contents_set_no_fds (wc);
      g_hash_table_insert (self->by_id, g_memdup2 (&self->last_id, sizeof (guint64)), wc);
      g_hash_table_insert (self->by_name, g_strdup (sender), g_object_ref (wc));
      g_debug ("eipc: %s attached as webContents %" G_GUINT64_FORMAT " (pid %u)",
               sender, self->last_id, pid);
    }

  /* The bus signals first: an observer (eipc monitor) then knows the new
   * webContents before its renderer, which acts on the reply, can send
   * anything. */
  if (wc != NULL)
    main_web_contents_changed (self, wc, TRUE);
  pending_attach_answer (pending, wc, error);
  g_hash_table_remove (self->attaching, sender);
  if (wc != NULL)
    {
      eipc_processes_attached (self->processes, wc);
      g_signal_emit (self, signals[SIGNAL_WEB_CONTENTS_ATTACHED], 0, wc);
    }
  return 1;
}

/* A bus names the sender of every message; only a broken bus or a
 * peer-to-peer connection delivers one without, and nothing can then tell
 * who speaks (the registry is keyed by sender): refused before any
 * handler runs. Found by fuzz-dbus (tests/fuzz/corpus-dbus/main-no-sender). */
static int
main_refuse_anonymous (sd_bus_message *m,
                       void           *userdata,
                       sd_bus_error   *ret_error)
{
  if (sd_bus_message_get_sender (m) != NULL)
    return 0;
  g_debug ("eipc: dropped a message without a sender");
  if (sd_bus_message_is_method_call (m, NULL, NULL))
    eipc_reply_error (m, EIPC_ERROR_ACCESS_DENIED,
                      "A message without a sender is refused");
  return 1;
}

static int
method_attach (sd_bus_message *m,
               void           *userdata,
               sd_bus_error   *ret_error)
{
  EipcMain *self = userdata;
  const char *sender = sd_bus_message_get_sender (m);
  EipcWebContents *wc;
  PendingAttach *pending;
  const char *bad_host_type = NULL;
  guint64 host_id = 0;
  gboolean no_fds = FALSE;
  int r;

  r = read_attach_options (m, &host_id, &no_fds, &bad_host_type);
  if (r < 0 && bad_host_type != NULL)
    return eipc_reply_error (m, EIPC_ERROR_INVALID_ARGS,
                             "The attach option 'host' must be a webContents "
                             "id of type 't', not '%s'", bad_host_type);
  if (r < 0)
    return eipc_reply_error (m, EIPC_ERROR_INVALID_ARGS,
                             "Cannot read the attach options: %s",
                             g_strerror (-r));

  /* One connection is one renderer: attaching again gives the same
   * webContents, so a client that attaches thousands of times costs
   * nothing more. */
  wc = g_hash_table_lookup (self->by_name, sender);
  if (wc != NULL)
    return reply_attached (m, wc);
  if (host_id != 0 && main_lookup (self, host_id) == NULL)
    return main_reply_no_such_web_contents (m, host_id);

  pending = g_hash_table_lookup (self->attaching, sender);
  if (pending != NULL)
    {
      /* Its credentials are on their way already: answer with the rest. */
      if (pending->more_calls == NULL)
        pending->more_calls = g_ptr_array_new_with_free_func (message_unref);
      if (pending->more_calls->len >= self->max_pending_calls)
        return eipc_reply_error (m, EIPC_ERROR_LIMITS_EXCEEDED,
                                 "Too many Attach calls in flight from %s "
                                 "(the limit is %u)", sender,
                                 self->max_pending_calls);
      g_ptr_array_add (pending->more_calls, sd_bus_message_ref (m));
      return 1;
    }

  /* The credentials come from the bus, once, asynchronously: the main
   * process never blocks on a client. */
  pending = g_new0 (PendingAttach, 1);
  pending->main = self;
  pending->call = sd_bus_message_ref (m);
  pending->host_id = host_id;
  pending->no_fds = no_fds;
  r = sd_bus_call_method_async (self->bus, &pending->slot, DBUS_SERVICE,
                                DBUS_PATH, DBUS_INTERFACE,
                                "GetConnectionCredentials",
                                attach_credentials_done, pending, "s", sender);
  if (r < 0)
    {
      pending_attach_free (pending);
      return r;
    }
  g_hash_table_insert (self->attaching, g_strdup (sender), pending);
  return 1;
}

/* A renderer is gone (@how: it detached, its connection vanished, or
 * the main process's own bus closed): destroyed first, then
 * render-process-gone once the reason is known (not for the last). */
typedef enum {
  GONE_DETACHED,
  GONE_VANISHED,
  GONE_BUS_CLOSED,
} GoneHow;

static void
main_remove_web_contents (EipcMain        *self,
                          EipcWebContents *wc,
                          GoneHow          how,
                          const char      *reason)
{
  /* Kept alive until the end, past the tables' references. */
  G_GNUC_UNUSED g_autoptr(EipcWebContents) hold = g_object_ref (wc);
  guint64 id = eipc_web_contents_get_id (wc);

  g_debug ("eipc: webContents %" G_GUINT64_FORMAT " (%s) is gone: %s", id,
           eipc_web_contents_get_unique_name (wc), reason);

  g_hash_table_remove (self->by_name, eipc_web_contents_get_unique_name (wc));
  g_hash_table_remove (self->by_id, &id);
  /* Its entry stayed at 0 calls in flight while it was attached; with
   * calls still in flight, the last one to end removes it, found by
   * name from now on. */
  eipc_web_contents_set_main_use (wc, NULL);
  {
    ClientUse *use = g_hash_table_lookup (self->in_flight,
                                          eipc_web_contents_get_unique_name (wc));

    if (use != NULL && use->calls == 0)
      g_hash_table_remove (self->in_flight, eipc_web_contents_get_unique_name (wc));
  }
  main_web_contents_changed (self, wc, FALSE);
  eipc_web_contents_destroy (wc, reason);
  if (how != GONE_BUS_CLOSED)
    eipc_processes_web_contents_gone (self->processes, wc, how == GONE_DETACHED);
}

static int
method_detach (sd_bus_message *m,
               void           *userdata,
               sd_bus_error   *ret_error)
{
  EipcMain *self = userdata;
  EipcWebContents *wc;

  wc = g_hash_table_lookup (self->by_name, sd_bus_message_get_sender (m));
  if (wc == NULL)
    return eipc_reply_error (m, EIPC_ERROR_NOT_ATTACHED,
                             "%s is not attached", sd_bus_message_get_sender (m));
  main_remove_web_contents (self, wc, GONE_DETACHED, "detached");
  return sd_bus_reply_method_return (m, NULL);
}

static int
method_invoke (sd_bus_message *m,
               void           *userdata,
               sd_bus_error   *ret_error)
{
  EipcMain *self = userdata;
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcEvent) event = NULL;
  EipcWebContents *wc;
  const char *channel, *args;
  gsize size = 0;
  int r;

  r = eipc_message_read_strings (m, &channel, &args);
  if (r < 0)
    return r;
  if (!main_check_sender (self, m, &wc, &error) ||
      !main_check_message (self, channel, args, &size, &error))
    return eipc_reply_gerror (m, error);

  if (!main_track_call (self, m, wc, size, &error))
    return eipc_reply_gerror (m, error);

  event = main_event_new (self, EIPC_EVENT_INVOKE, m, channel, args, wc);
  eipc_event_set_cost (event, size);
  /* The first handler of the webContents' ipc (webContents.ipc.handle),
   * then ipcMain's, as Electron picks them. A handleOnce handler is gone
   * before it runs: handlers_changed. */
  /* Plain casts, here and in method_send_sync(): both are emitters by
   * type, and EIPC_EMITTER()'s check of a derivable type costs about 66
   * instructions each time. */
  if ((wc == NULL || !eipc_emitter_dispatch ((EipcEmitter *) wc, channel, event)) &&
      !eipc_emitter_dispatch ((EipcEmitter *) self, channel, event))
    {
      /* The event must not answer again when it goes. */
      eipc_event_reject_no_handler (event);
    }
  else
    eipc_event_handler_returned (event);
  eipc_event_release (&self->spare_event, g_steal_pointer (&event));
  return 1;
}

static int
method_send_sync (sd_bus_message *m,
                  void           *userdata,
                  sd_bus_error   *ret_error)
{
  EipcMain *self = userdata;
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcEvent) event = NULL;
  EipcWebContents *wc;
  const char *channel, *args;
  gsize size = 0;
  int r;

  r = eipc_message_read_strings (m, &channel, &args);
  if (r < 0)
    return r;
  if (!main_check_sender (self, m, &wc, &error) ||
      !main_check_message (self, channel, args, &size, &error))
    return eipc_reply_gerror (m, error);
  if (eipc_emitter_listener_count ((EipcEmitter *) self, channel) == 0 &&
      (wc == NULL || !eipc_web_contents_has_message_listeners (wc, channel, TRUE)))
    return eipc_reply_error (m, EIPC_ERROR_NO_LISTENER,
                             "No listener registered for sendSync on '%s'",
                             channel);

  if (!main_track_call (self, m, wc, size, &error))
    return eipc_reply_gerror (m, error);

  event = main_event_new (self, EIPC_EVENT_SEND_SYNC, m, channel, args, wc);
  eipc_event_set_cost (event, size);
  if (wc != NULL)
    eipc_web_contents_emit_message (wc, event);
  eipc_emitter_emit ((EipcEmitter *) self, channel, event);
  eipc_event_release (&self->spare_event, g_steal_pointer (&event));
  return 1;
}

static EipcWebContents *
main_attached_sender (EipcMain        *self,
                      sd_bus_message  *m,
                      GError         **error)
{
  const char *sender = sd_bus_message_get_sender (m);
  EipcWebContents *wc = g_hash_table_lookup (self->by_name, sender);

  if (wc == NULL)
    g_set_error (error, EIPC_ERROR, EIPC_ERROR_NOT_ATTACHED,
                 "%s must attach before it can route messages", sender);
  return wc;
}

static int
method_send_to (sd_bus_message *m,
                void           *userdata,
                sd_bus_error   *ret_error)
{
  EipcMain *self = userdata;
  g_autoptr(GError) error = NULL;
  EipcWebContents *wc, *target;
  const char *channel, *args;
  guint64 id;
  int r;

  r = sd_bus_message_read (m, "tss", &id, &channel, &args);
  if (r < 0)
    return r;
  wc = main_attached_sender (self, m, &error);
  if (wc == NULL || !main_check_message (self, channel, args, NULL, &error))
    return eipc_reply_gerror (m, error);
  target = main_lookup (self, id);
  if (target == NULL)
    return main_reply_no_such_web_contents (m, id);
  /* The text is passed on untouched; the sender id comes from the bus. */
  if (!eipc_web_contents_deliver (target, "Message", channel, args,
                                  eipc_web_contents_get_id (wc), &error))
    return eipc_reply_gerror (m, error);
  return sd_bus_reply_method_return (m, NULL);
}

static int
method_send_to_host (sd_bus_message *m,
                     void           *userdata,
                     sd_bus_error   *ret_error)
{
  EipcMain *self = userdata;
  g_autoptr(GError) error = NULL;
  EipcWebContents *wc, *host;
  const char *channel, *args;
  guint64 host_id;
  int r;

  r = eipc_message_read_strings (m, &channel, &args);
  if (r < 0)
    return r;
  wc = main_attached_sender (self, m, &error);
  if (wc == NULL || !main_check_message (self, channel, args, NULL, &error))
    return eipc_reply_gerror (m, error);
  host_id = eipc_web_contents_get_host_id (wc);
  if (host_id == 0)
    return eipc_reply_error (m, EIPC_ERROR_NO_HOST,
                             "webContents %" G_GUINT64_FORMAT " is not a guest: "
                             "it has no host to send to",
                             eipc_web_contents_get_id (wc));
  host = main_lookup (self, host_id);
  if (host == NULL)
    return main_reply_no_such_web_contents (m, host_id);
  if (!eipc_web_contents_deliver (host, "HostMessage", channel, args,
                                  eipc_web_contents_get_id (wc), &error))
    return eipc_reply_gerror (m, error);
  return sd_bus_reply_method_return (m, NULL);
}

static gint
compare_web_contents (gconstpointer a,
                      gconstpointer b)
{
  guint64 ia = eipc_web_contents_get_id (*(EipcWebContents **) a);
  guint64 ib = eipc_web_contents_get_id (*(EipcWebContents **) b);

  return ia < ib ? -1 : ia > ib;
}

static int
property_get_web_contents (sd_bus         *bus,
                           const char     *path,
                           const char     *interface,
                           const char     *property,
                           sd_bus_message *reply,
                           void           *userdata,
                           sd_bus_error   *ret_error)
{
  EipcMain *self = userdata;
  g_autoptr(GPtrArray) all = eipc_main_list_web_contents (self);
  int r;

  r = sd_bus_message_open_container (reply, 'a', "(tsut)");
  if (r < 0)
    return r;
  for (guint i = 0; i < all->len; i++)
    {
      EipcWebContents *wc = g_ptr_array_index (all, i);

      r = sd_bus_message_append (reply, "(tsut)",
                                 eipc_web_contents_get_id (wc),
                                 eipc_web_contents_get_unique_name (wc),
                                 eipc_web_contents_get_process_id (wc),
                                 eipc_web_contents_get_host_id (wc));
      if (r < 0)
        return r;
    }
  return sd_bus_message_close_container (reply);
}

static int
property_get_channels (sd_bus         *bus,
                       const char     *path,
                       const char     *interface,
                       const char     *property,
                       sd_bus_message *reply,
                       void           *userdata,
                       sd_bus_error   *ret_error)
{
  EipcMain *self = userdata;
  g_auto(GStrv) channels = eipc_emitter_handler_channels (EIPC_EMITTER (self));

  return sd_bus_message_append_strv (reply, channels);
}

static int
property_get_strict (sd_bus         *bus,
                     const char     *path,
                     const char     *interface,
                     const char     *property,
                     sd_bus_message *reply,
                     void           *userdata,
                     sd_bus_error   *ret_error)
{
  EipcMain *self = userdata;

  return sd_bus_message_append (reply, "b", self->strict);
}

/* ipcRenderer.postMessage is one-way: a renderer that wants no reply
 * cannot hear why its message was refused, so it is reported like a
 * rejected send; the ports that came with it close here, and the ends
 * the renderer kept emit close. */
static int
main_refuse_post (EipcMain       *self,
                  sd_bus_message *m,
                  const GError   *error)
{
  if (!sd_bus_message_get_expect_reply (m))
    main_reject (self, m, error);
  return eipc_reply_gerror (m, error);
}

/* org.eipc.Main1.PostMessage: ipcRenderer.postMessage, a message with
 * ports for the listeners of the channel. */
static int
method_post_message (sd_bus_message *m,
                     void           *userdata,
                     sd_bus_error   *ret_error)
{
  EipcMain *self = userdata;
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcEvent) event = NULL;
  g_autoptr(GPtrArray) ports = NULL;
  EipcWebContents *wc;
  const char *channel, *message;
  int r;

  r = eipc_message_read_strings (m, &channel, &message);
  if (r < 0)
    return r;
  if (!main_check_sender (self, m, &wc, &error))
    return main_refuse_post (self, m, error);
  if (strnlen (message, self->max_args_size + 1) > self->max_args_size)
    {
      g_set_error (&error, EIPC_ERROR, EIPC_ERROR_LIMITS_EXCEEDED,
                   "The message is larger than the limit of %" G_GSIZE_FORMAT
                   " bytes", self->max_args_size);
      return main_refuse_post (self, m, error);
    }
  if (!eipc_channel_check (channel, &error) ||
      !eipc_json_check (message, FALSE, &error))
    return main_refuse_post (self, m, error);
  ports = eipc_message_read_ports (m, g_source_get_context (self->source), &error);
  if (ports == NULL)
    return main_refuse_post (self, m, error);

  event = main_event_new (self, EIPC_EVENT_SEND, m, channel, message, wc);
  eipc_event_set_posted (event, eipc_message_posted_args (message),
                         g_steal_pointer (&ports));
  /* The same order as a send: the webContents' ipc-message, its ipc's
   * listeners, then ipcMain's. */
  if (wc != NULL)
    eipc_web_contents_emit_message (wc, event);
  eipc_emitter_emit (EIPC_EMITTER (self), channel, event);
  return sd_bus_reply_method_return (m, NULL);
}

static const sd_bus_vtable main_vtable[] = {
  SD_BUS_VTABLE_START (0),
  SD_BUS_METHOD_WITH_ARGS ("Attach",
                           SD_BUS_ARGS ("a{sv}", options),
                           SD_BUS_RESULT ("t", id, "o", path),
                           method_attach, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_METHOD_WITH_ARGS ("Detach",
                           SD_BUS_NO_ARGS, SD_BUS_NO_RESULT,
                           method_detach, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_METHOD_WITH_ARGS ("Invoke",
                           SD_BUS_ARGS ("s", channel, "s", args),
                           SD_BUS_RESULT ("s", result),
                           method_invoke, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_METHOD_WITH_ARGS ("SendSync",
                           SD_BUS_ARGS ("s", channel, "s", args),
                           SD_BUS_RESULT ("s", result),
                           method_send_sync, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_METHOD_WITH_ARGS ("SendTo",
                           SD_BUS_ARGS ("t", web_contents_id, "s", channel, "s", args),
                           SD_BUS_NO_RESULT,
                           method_send_to, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_METHOD_WITH_ARGS ("SendToHost",
                           SD_BUS_ARGS ("s", channel, "s", args),
                           SD_BUS_NO_RESULT,
                           method_send_to_host, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_METHOD_WITH_ARGS ("PostMessage",
                           SD_BUS_ARGS ("s", channel, "s", message, "a(hb)", ports),
                           SD_BUS_NO_RESULT,
                           method_post_message, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_SIGNAL_WITH_ARGS ("WebContentsAttached",
                           SD_BUS_ARGS ("t", id, "s", unique_name, "u", pid, "t", host_id),
                           0),
  SD_BUS_SIGNAL_WITH_ARGS ("WebContentsDetached",
                           SD_BUS_ARGS ("t", id, "s", unique_name),
                           0),
  SD_BUS_PROPERTY ("WebContents", "a(tsut)", property_get_web_contents, 0,
                   SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
  SD_BUS_PROPERTY ("Channels", "as", property_get_channels, 0,
                   SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_PROPERTY ("Strict", "b", property_get_strict, 0,
                   SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
  SD_BUS_VTABLE_END
};

/* org.eipc.Renderer1.Message: a renderer's ipcRenderer.send. */
static int
on_renderer_message (sd_bus_message *m,
                     void           *userdata,
                     sd_bus_error   *ret_error)
{
  EipcMain *self = userdata;
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcEvent) event = NULL;
  const char *destination = sd_bus_message_get_destination (m);
  const char *path = sd_bus_message_get_path (m);
  const char *unique_name = NULL;
  const char *channel, *args;
  EipcWebContents *wc;
  int r;

  sd_bus_get_unique_name (self->bus, &unique_name);
  if (destination == NULL ||
      (strcmp (destination, self->app_id) != 0 &&
       g_strcmp0 (destination, unique_name) != 0))
    {
      g_set_error (&error, EIPC_ERROR, EIPC_ERROR_ACCESS_DENIED,
                   "A Message signal must be sent to %s, not broadcast",
                   self->app_id);
      main_reject (self, m, error);
      return 0;
    }
  if (!main_check_sender (self, m, &wc, &error))
    {
      main_reject (self, m, error);
      return 0;
    }
  /* A renderer speaks only from its own path; a client that never
   * attached speaks from BASE. */
  if (g_strcmp0 (path, wc != NULL ? eipc_web_contents_get_object_path (wc)
                                  : self->path) != 0)
    {
      g_set_error (&error, EIPC_ERROR, EIPC_ERROR_ACCESS_DENIED,
                   "%s may not send from %s (its path is %s)",
                   sd_bus_message_get_sender (m), path,
                   wc != NULL ? eipc_web_contents_get_object_path (wc) : self->path);
      main_reject (self, m, error);
      return 0;
    }
  /* Exactly (ss): extra arguments are refused, not silently dropped. */
  if (sd_bus_message_has_signature (m, "ss"))
    r = eipc_message_read_strings (m, &channel, &args);
  else
    r = -ENXIO;
  if (r < 0)
    {
      g_set_error (&error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                   "A Message signal carries (ss), not (%s)",
                   sd_bus_message_get_signature (m, TRUE));
      main_reject (self, m, error);
      return 0;
    }
  if (!main_check_message (self, channel, args, NULL, &error))
    {
      main_reject (self, m, error);
      return 0;
    }

  event = main_event_new (self, EIPC_EVENT_SEND, m, channel, args, wc);
  /* A send's event does not keep the main process, and a listener may
   * drop the application's last reference to it: the spare event is
   * put back into a live object. */
  g_object_ref (self);
  /* Electron's order: the webContents' ipc-message, its ipc's
   * listeners, then ipcMain's. */
  if (wc != NULL)
    eipc_web_contents_emit_message (wc, event);
  eipc_emitter_emit (EIPC_EMITTER (self), channel, event);
  eipc_event_release (&self->spare_event, g_steal_pointer (&event));
  g_object_unref (self);
  /* Handled: sd-bus need not try the other match rules on it. */
  return 1;
}

/* A unique name left the bus: if it was a renderer, its webContents is
 * destroyed at once. */
static int
on_name_owner_changed (sd_bus_message *m,
                       void           *userdata,
                       sd_bus_error   *ret_error)
{
  EipcMain *self = userdata;
  const char *name, *old_owner, *new_owner;
  EipcWebContents *wc;

  /* Only the bus itself says who left (see main_start()). */
  if (g_strcmp0 (sd_bus_message_get_sender (m), DBUS_SERVICE) != 0)
    return 0;
  if (sd_bus_message_read (m, "sss", &name, &old_owner, &new_owner) < 0)
    return 0;
  if (name[0] != ':' || new_owner[0] != '\0')
    return 0;
  wc = g_hash_table_lookup (self->by_name, name);
  if (wc != NULL)
    main_remove_web_contents (self, wc, GONE_VANISHED, "the renderer left the bus");
  else
    {
      /* A client that never attached: what was counted for it goes (its
       * calls still in flight keep the entry until they end). */
      ClientUse *use = g_hash_table_lookup (self->in_flight, name);

      if (use != NULL && use->calls == 0)
        g_hash_table_remove (self->in_flight, name);
      else if (use != NULL)
        use->gone = TRUE;
    }
  return 0;
}

static void
main_bus_closed (gpointer user_data)
{
  EipcMain *self = user_data;
  g_autoptr(GPtrArray) all = eipc_main_list_web_contents (self);

  for (guint i = 0; i < all->len; i++)
    main_remove_web_contents (self, g_ptr_array_index (all, i), GONE_BUS_CLOSED,
                              "the bus connection closed");
  g_signal_emit (self, signals[SIGNAL_DISCONNECTED], 0);
}

static void
eipc_main_dispose (GObject *object)
{
  EipcMain *self = EIPC_MAIN (object);

  if (self->by_id != NULL)
    {
      g_autoptr(GPtrArray) all = eipc_main_list_web_contents (self);

      for (guint i = 0; i < all->len; i++)
        {
          eipc_web_contents_set_main_use (g_ptr_array_index (all, i), NULL);
          eipc_web_contents_destroy (g_ptr_array_index (all, i),
                                     "the main process object was disposed");
        }
      g_hash_table_remove_all (self->by_name);
      g_hash_table_remove_all (self->by_id);
    }
  if (self->attaching != NULL)
    g_hash_table_remove_all (self->attaching);
  g_clear_pointer (&self->processes, eipc_processes_free);
  g_clear_object (&self->spare_event);

  G_OBJECT_CLASS (eipc_main_parent_class)->dispose (object);
}

/* The Channels property lists the channels with a handler. */
static void
eipc_main_handlers_changed (EipcEmitter *emitter)
{
  EipcMain *self = EIPC_MAIN (emitter);

  if (self->bus != NULL)
    main_properties_changed (self, "Channels");
}

static void
eipc_main_finalize (GObject *object)
{
  EipcMain *self = EIPC_MAIN (object);

  g_clear_pointer (&self->vtable_slot, sd_bus_slot_unref);
  g_clear_pointer (&self->message_slot, sd_bus_slot_unref);
  g_clear_pointer (&self->owner_slot, sd_bus_slot_unref);
  g_clear_object (&self->spare_event);
  g_clear_pointer (&self->wc_signals_slot, sd_bus_slot_unref);
  g_clear_pointer (&self->wc_properties_slot, sd_bus_slot_unref);
  g_clear_pointer (&self->wc_enumerator_slot, sd_bus_slot_unref);
  if (self->source != NULL)
    {
      g_source_destroy (self->source);
      g_clear_pointer (&self->source, g_source_unref);
    }
  g_clear_pointer (&self->calls, eipc_calls_free);
  g_clear_pointer (&self->init_calls, eipc_call_pending_free);
  eipc_match_check_clear (&self->match_check);
  g_clear_pointer (&self->bus, sd_bus_flush_close_unref);
  g_clear_pointer (&self->by_id, g_hash_table_unref);
  g_clear_pointer (&self->by_name, g_hash_table_unref);
  g_clear_pointer (&self->attaching, g_hash_table_unref);
  g_clear_pointer (&self->in_flight, g_hash_table_unref);
  g_clear_error (&self->init_error);
  g_free (self->app_id);
  g_free (self->address);
  g_free (self->path);
  g_free (self->broadcast_path);

  G_OBJECT_CLASS (eipc_main_parent_class)->finalize (object);
}

static void
eipc_main_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  EipcMain *self = EIPC_MAIN (object);

  switch (prop_id)
    {
    case PROP_APP_ID:
      g_value_set_string (value, self->app_id);
      break;
    case PROP_ADDRESS:
      g_value_set_string (value, self->address);
      break;
    case PROP_STRICT:
      g_value_set_boolean (value, self->strict);
      break;
    case PROP_OBJECT_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_MAX_CLIENT_BYTES:
      g_value_set_uint64 (value, self->budget.max_client);
      break;
    case PROP_MAX_TOTAL_BYTES:
      g_value_set_uint64 (value, self->budget.max_total);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
eipc_main_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  EipcMain *self = EIPC_MAIN (object);

  switch (prop_id)
    {
    case PROP_APP_ID:
      g_assert (self->app_id == NULL);
      self->app_id = g_value_dup_string (value);
      break;
    case PROP_ADDRESS:
      g_assert (self->address == NULL);
      self->address = g_value_dup_string (value);
      break;
    case PROP_STRICT:
      eipc_main_set_strict (self, g_value_get_boolean (value));
      break;
    case PROP_MAX_CLIENT_BYTES:
      eipc_main_set_memory_limits (self, g_value_get_uint64 (value),
                                   self->budget.max_total);
      break;
    case PROP_MAX_TOTAL_BYTES:
      eipc_main_set_memory_limits (self, self->budget.max_client,
                                   g_value_get_uint64 (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
eipc_main_class_init (EipcMainClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  EipcEmitterClass *emitter_class = EIPC_EMITTER_CLASS (klass);

  object_class->dispose = eipc_main_dispose;
  object_class->finalize = eipc_main_finalize;
  object_class->get_property = eipc_main_get_property;
  object_class->set_property = eipc_main_set_property;
  emitter_class->handlers_changed = eipc_main_handlers_changed;

  /**
   * EipcMain:app-id:
   *
   * The app id, a well-known bus name such as `org.example.Editor`, which
   * the main process owns. Construct-only; checked by g_initable_init().
   *
   * Since: 1.0
   */
  props[PROP_APP_ID] =
    g_param_spec_string ("app-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * EipcMain:address:
   *
   * The D-Bus address of the bus, %NULL for the session bus.
   * Construct-only.
   *
   * Since: 1.0
   */
  props[PROP_ADDRESS] =
    g_param_spec_string ("address", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * EipcMain:strict:
   *
   * Whether clients that never attached are refused (see
   * eipc_main_set_strict()). Also the `Strict` property on the bus.
   *
   * Since: 1.0
   */
  props[PROP_STRICT] =
    g_param_spec_boolean ("strict", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS);

  /**
   * EipcMain:object-path:
   *
   * The base path, where the `org.eipc.Main1` object lives: the app id
   * with dots turned into slashes. %NULL until initialized.
   *
   * Since: 1.0
   */
  props[PROP_OBJECT_PATH] =
    g_param_spec_string ("object-path", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * EipcMain:max-client-bytes:
   *
   * The bytes one client may make the main process hold (its calls in
   * flight, the messages waiting for it, and what is on its way to it in
   * the bus); 0 sets the default. See eipc_main_set_memory_limits().
   *
   * Since: 1.0
   */
  props[PROP_MAX_CLIENT_BYTES] =
    g_param_spec_uint64 ("max-client-bytes", NULL, NULL, 0, G_MAXUINT64,
                         EIPC_DEFAULT_MAX_CLIENT_BYTES,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * EipcMain:max-total-bytes:
   *
   * The bytes all clients together may make the main process hold; 0
   * sets the default. See eipc_main_set_memory_limits().
   *
   * Since: 1.0
   */
  props[PROP_MAX_TOTAL_BYTES] =
    g_param_spec_uint64 ("max-total-bytes", NULL, NULL, 0, G_MAXUINT64,
                         EIPC_DEFAULT_MAX_TOTAL_BYTES,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, props);

  /**
   * EipcMain::web-contents-attached:
   * @self: the #EipcMain
   * @web_contents: the new #EipcWebContents
   *
   * A renderer attached and was given its webContentsId.
   *
   * Since: 1.0
   */
  signals[SIGNAL_WEB_CONTENTS_ATTACHED] =
    g_signal_new ("web-contents-attached", G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, EIPC_TYPE_WEB_CONTENTS);

  /**
   * EipcMain::allow-guest:
   * @self: the #EipcMain
   * @host: the #EipcWebContents the client wants to be a guest of
   * @unique_name: the client's unique bus name
   * @pid: its process id, from the bus
   * @uid: its user id, from the bus
   *
   * A client asks to attach as a guest of @host, which does not allow
   * guests itself (eipc_web_contents_set_allow_guests()). The first
   * handler that returns %TRUE lets it attach; without one, or when all
   * return %FALSE, the Attach fails with %EIPC_ERROR_ACCESS_DENIED.
   *
   * Returns: %TRUE to let the client attach as a guest of @host
   *
   * Since: 1.0
   */
  signals[SIGNAL_ALLOW_GUEST] =
    g_signal_new ("allow-guest", G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST, 0, g_signal_accumulator_true_handled,
                  NULL, NULL, G_TYPE_BOOLEAN, 4, EIPC_TYPE_WEB_CONTENTS,
                  G_TYPE_STRING, G_TYPE_UINT, G_TYPE_UINT);

  /**
   * EipcMain::message-rejected:
   * @self: the #EipcMain
   * @sender: the unique bus name of the sender
   * @error: why the message was dropped
   *
   * A signal (a renderer's send) was dropped because it was not valid:
   * bad JSON, a bad channel, a path that is not the sender's own, a
   * broadcast instead of a unicast. Method calls get a D-Bus error
   * instead; signals cannot, so they are logged (at debug level) and
   * reported here. So is a renderer's one-way postMessage that was
   * refused (larger than the limit of eipc_main_set_limits(), from a
   * sender not attached, bad ports): its ports are closed, and the
   * renderer's ends of them emit #EipcMessagePort::close.
   *
   * Since: 1.0
   */
  signals[SIGNAL_MESSAGE_REJECTED] =
    g_signal_new ("message-rejected", G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_ERROR);

  /**
   * EipcMain::disconnected:
   * @self: the #EipcMain
   *
   * The bus connection closed (the bus went away): every webContents was
   * destroyed and the app name is lost.
   *
   * Since: 1.0
   */
  signals[SIGNAL_DISCONNECTED] =
    g_signal_new ("disconnected", G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * EipcMain::render-process-gone:
   * @self: the #EipcMain
   * @web_contents: (nullable): the renderer's webContents; %NULL for a
   *   renderer launched with eipc_main_spawn_renderer() that went before
   *   it attached, or that could not be launched (`launch-failed`)
   * @details: why it went: its reason and exit code
   *
   * Electron's `render-process-gone` event of `app`: emitted after
   * #EipcWebContents::render-process-gone of @web_contents, and for
   * spawned renderers that never attached.
   *
   * Since: 1.0
   */
  signals[SIGNAL_RENDER_PROCESS_GONE] =
    g_signal_new ("render-process-gone", G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, EIPC_TYPE_WEB_CONTENTS,
                  EIPC_TYPE_RENDER_PROCESS_GONE_DETAILS | G_SIGNAL_TYPE_STATIC_SCOPE);
}

/* A renderer went, and why is known (eipc-process.c calls this). */
static void
main_render_process_gone (EipcWebContents                    *wc,
                          const EipcRenderProcessGoneDetails *details,
                          gpointer                            user_data)
{
  EipcMain *self = user_data;

  g_debug ("eipc: render process gone (pid %u): %s, exit code %d", details->pid,
           eipc_render_process_gone_reason_to_string (details->reason),
           details->exit_code);
  if (wc != NULL)
    eipc_web_contents_emit_render_process_gone (wc, details);
  g_signal_emit (self, signals[SIGNAL_RENDER_PROCESS_GONE], 0, wc, details);
}

static void
eipc_main_init (EipcMain *self)
{
  self->by_id = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                       g_object_unref);
  self->processes = eipc_processes_new (main_render_process_gone, self);
  self->by_name = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         g_object_unref);
  self->attaching = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           pending_attach_free);
  self->in_flight = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          client_use_free);
  self->budget.max_client = EIPC_DEFAULT_MAX_CLIENT_BYTES;
  self->budget.max_total = EIPC_DEFAULT_MAX_TOTAL_BYTES;
  self->max_pending_calls = EIPC_DEFAULT_MAX_PENDING_CALLS;
  self->max_args_size = EIPC_DEFAULT_MAX_ARGS_SIZE;
}

static EipcWebContents *
registry_lookup (guint64  id,
                 gpointer data)
{
  return main_lookup (data, id);
}

static GPtrArray *
registry_list (gpointer data)
{
  return eipc_main_list_web_contents (data);
}

/* The bus driver's answer to an AddMatch (main_prepare()). */
static int
main_match_installed (sd_bus_message *reply,
                      void           *userdata,
                      sd_bus_error   *ret_error)
{
  EipcMain *self = userdata;

  eipc_match_check_installed (&self->match_check, reply);
  return 1;
}

static gboolean
main_prepare (EipcMain  *self,
              GError   **error)
{
  g_autofree char *rule = NULL;
  int r;

  if (!eipc_app_id_check (self->app_id, error))
    return FALSE;
  self->path = eipc_app_id_to_path (self->app_id);
  self->broadcast_path = g_strconcat (self->path, EIPC_WEB_CONTENTS_SUFFIX, NULL);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_OBJECT_PATH]);

  r = eipc_bus_open (self->address, &self->bus);
  if (r < 0)
    {
      eipc_set_error_from_errno (error, r, self->address != NULL
                                 ? "Cannot connect to the bus"
                                 : "Cannot connect to the session bus");
      return FALSE;
    }

  self->calls = eipc_calls_new (self->bus);
  r = sd_bus_add_object_vtable (self->bus, &self->vtable_slot, self->path,
                                EIPC_MAIN_INTERFACE, main_vtable, self);
  if (r < 0)
    goto fail;
  /* Floating, and without data: it may run while the bus outlives us. */
  r = sd_bus_add_filter (self->bus, NULL, main_refuse_anonymous, NULL);
  if (r < 0)
    goto fail;
  self->registry.base_path = self->path;
  self->registry.lookup = registry_lookup;
  self->registry.list = registry_list;
  self->registry.data = self;
  r = eipc_web_contents_objects_register (self->bus, &self->registry,
                                          &self->wc_signals_slot,
                                          &self->wc_properties_slot,
                                          &self->wc_enumerator_slot);
  if (r < 0)
    goto fail;
  /* The match rules go out asynchronously, their answers are checked
   * when they come (sd_bus_add_match() would take a forged one): the bus
   * applies them before it reads RequestName, and answers them before
   * it answers RequestName, whose answer main_name_result() waits for. */
  r = sd_bus_add_match_async (self->bus, &self->message_slot,
                              "type='signal',interface='" EIPC_RENDERER_INTERFACE
                              "',member='Message'",
                              on_renderer_message, main_match_installed, self);
  if (r < 0)
    goto fail;
  /* One rule for every connection that leaves the bus, installed before
   * any renderer can attach, so no exit is missed. The rule names no
   * sender, on_name_owner_changed() checks it: sd-bus cannot tell which
   * well-known names a sender has, so a rule with sender='...' passes
   * its first test for every message and costs a lookup on every method
   * call the main process gets; without it, all the rules start with
   * type='signal' and a method call leaves the match tree at once. */
  rule = g_strdup ("type='signal',path='" DBUS_PATH "',interface='" DBUS_INTERFACE
                   "',member='NameOwnerChanged',arg2=''");
  r = sd_bus_add_match_async (self->bus, &self->owner_slot, rule,
                              on_name_owner_changed, main_match_installed, self);
  if (r < 0)
    goto fail;
  return TRUE;

fail:
  eipc_set_error_from_errno (error, r, "Cannot set up the main process");
  return FALSE;
}

/* RequestName's flags and answers (the D-Bus specification). */
#define DBUS_NAME_FLAG_DO_NOT_QUEUE        4
#define DBUS_REQUEST_NAME_REPLY_PRIMARY    1
#define DBUS_REQUEST_NAME_REPLY_ALREADY    4

/* RequestName for the app name, to the bus driver. It is sent and its
 * answer taken by eipc-call.c (sd_bus_request_name() would take any
 * reply with its serial): only the bus driver may answer it, a forged
 * answer fails the call with EIPC_ERROR_FORGED_REPLY naming the forger
 * (else a client could tell this process that it owns the name while
 * another one does, or that it does not). */
static int
main_new_request_name (EipcMain        *self,
                       sd_bus_message **ret)
{
  g_autoptr(sd_bus_message) m = NULL;
  int r;

  r = sd_bus_message_new_method_call (self->bus, &m, DBUS_SERVICE, DBUS_PATH,
                                      DBUS_INTERFACE, "RequestName");
  if (r >= 0)
    r = sd_bus_message_append (m, "su", self->app_id,
                               (guint32) DBUS_NAME_FLAG_DO_NOT_QUEUE);
  if (r < 0)
    return r;
  *ret = g_steal_pointer (&m);
  return 0;
}

/* The outcome of asking for the app name: the answers to the AddMatch
 * calls of main_prepare(), which the bus sent first, then its answer to
 * RequestName (@reply), or the call's error (@call_error, taken). */
static gboolean
main_name_result (EipcMain        *self,
                  sd_bus_message  *reply,
                  GError          *call_error,
                  GError         **error)
{
  g_autoptr(GError) local_error = call_error;
  guint32 answer = 0;
  int r;

  /* The AddMatch calls went first: their failure (a forged answer, most
   * likely) is the first to tell. */
  if (!eipc_match_check_result (&self->match_check, error))
    {
      g_prefix_error (error, "Cannot set up the main process: ");
      return FALSE;
    }
  if (local_error != NULL &&
      g_error_matches (local_error, EIPC_ERROR, EIPC_ERROR_ACCESS_DENIED))
    {
      /* The bus refused by policy (AccessDenied): on the system bus only
       * the user a dbus-1/system.d file names may own the app name. */
      g_set_error (error, EIPC_ERROR, EIPC_ERROR_ACCESS_DENIED,
                   "The bus policy does not allow this user to own the bus "
                   "name %s", self->app_id);
      return FALSE;
    }
  if (local_error != NULL)
    {
      g_prefix_error (&local_error, "Cannot own the app's bus name: ");
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  r = sd_bus_message_read_basic (reply, 'u', &answer);
  if (r <= 0)
    {
      eipc_set_error_from_errno (error, r < 0 ? r : -EBADMSG,
                                 "Cannot own the app's bus name");
      return FALSE;
    }
  if (answer != DBUS_REQUEST_NAME_REPLY_PRIMARY &&
      answer != DBUS_REQUEST_NAME_REPLY_ALREADY)
    {
      g_set_error (error, EIPC_ERROR, EIPC_ERROR_NAME_TAKEN,
                   "The bus name %s is already owned: another main process "
                   "of this app is running", self->app_id);
      return FALSE;
    }
  return TRUE;
}

/* GInitable: connects and owns the app name (a blocking call: a second
 * main process for the app fails at once, nothing is queued). While it
 * waits, the messages that come before the answer are dispatched, as in
 * the asynchronous init. */
static gboolean
main_initable_init (GInitable     *initable,
                    GCancellable  *cancellable,
                    GError       **error)
{
  EipcMain *self = EIPC_MAIN (initable);

  if (!self->init_started)
    {
      self->init_started = TRUE;

      if (main_prepare (self, &self->init_error))
        {
          g_autoptr(sd_bus_message) m = NULL;
          g_autoptr(sd_bus_message) reply = NULL;
          GError *call_error = NULL;
          int r;

          self->source = eipc_bus_source_new (self->bus, main_bus_closed, self);
          r = main_new_request_name (self, &m);
          if (r < 0)
            eipc_set_error_from_errno (&call_error, r, "Cannot ask for the name");
          else
            eipc_calls_call_blocking (self->calls, m, 0, &reply, &call_error);
          main_name_result (self, reply, call_error, &self->init_error);
        }
      self->init_done = TRUE;
    }
  else if (!self->init_done)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PENDING,
                           "The main process is being initialized asynchronously");
      return FALSE;
    }
  if (self->init_error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->init_error));
      return FALSE;
    }
  return TRUE;
}

static void
main_initable_iface_init (GInitableIface *iface)
{
  iface->init = main_initable_init;
}

/* The answer to the asynchronous RequestName (@user_data: the init
 * task). */
static void
init_name_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  EipcMain *self = EIPC_MAIN (source);
  g_autoptr(GTask) task = user_data;
  g_autoptr(sd_bus_message) reply = NULL;
  GError *call_error = NULL;

  reply = g_task_propagate_pointer (G_TASK (result), &call_error);
  self->init_done = TRUE;
  if (main_name_result (self, reply, call_error, &self->init_error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_error_copy (self->init_error));
}

/* GAsyncInitable: the same, with RequestName sent asynchronously; the
 * main context goes on running meanwhile. */
static void
main_init_async (GAsyncInitable      *initable,
                 int                  io_priority,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data)
{
  EipcMain *self = EIPC_MAIN (initable);
  g_autoptr(GTask) task = NULL;
  g_autoptr(GTask) call_task = NULL;
  g_autoptr(sd_bus_message) m = NULL;
  int r;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, main_init_async);
  g_task_set_priority (task, io_priority);

  if (self->init_started)
    {
      if (!self->init_done)
        g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                                 "The main process is being initialized");
      else if (self->init_error != NULL)
        g_task_return_error (task, g_error_copy (self->init_error));
      else
        g_task_return_boolean (task, TRUE);
      return;
    }
  self->init_started = TRUE;

  if (!main_prepare (self, &self->init_error))
    {
      self->init_done = TRUE;
      g_task_return_error (task, g_error_copy (self->init_error));
      return;
    }
  self->source = eipc_bus_source_new (self->bus, main_bus_closed, self);
  r = main_new_request_name (self, &m);
  if (r < 0)
    {
      self->init_done = TRUE;
      eipc_set_error_from_errno (&self->init_error, r, "Cannot own the app's bus name");
      g_task_return_error (task, g_error_copy (self->init_error));
      return;
    }
  /* The call's task holds the main process, and the init task, until the
   * answer comes or the connection closes (which fails the call). */
  self->init_calls = eipc_call_pending_new ();
  call_task = g_task_new (self, NULL, init_name_done, g_steal_pointer (&task));
  eipc_call_start (self->calls, m, call_task, EIPC_CALL_RESULT_MESSAGE, 0,
                   self->init_calls);
}

static gboolean
main_init_finish (GAsyncInitable  *initable,
                  GAsyncResult    *result,
                  GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, initable), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
main_async_initable_iface_init (GAsyncInitableIface *iface)
{
  iface->init_async = main_init_async;
  iface->init_finish = main_init_finish;
}

/**
 * eipc_main_new:
 * @app_id: the app id, a well-known bus name such as `org.example.Editor`
 * @error: return location for a #GError
 *
 * Creates the main process of @app_id on the session bus
 * (`DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus`) and owns the
 * app's bus name. The object belongs to the thread-default main context.
 *
 * Returns: (transfer full): the main process, or %NULL with @error set;
 *   %EIPC_ERROR_NAME_TAKEN if another process owns the name,
 *   %EIPC_ERROR_ACCESS_DENIED if the bus policy does not let this user
 *   own it (see data/eipc-app.conf.in)
 *
 * Since: 1.0
 */
EipcMain *
eipc_main_new (const char  *app_id,
               GError     **error)
{
  return eipc_main_new_for_address (app_id, NULL, error);
}

/**
 * eipc_main_new_for_address:
 * @app_id: the app id, a well-known bus name such as `org.example.Editor`
 * @address: (nullable): a D-Bus address, %NULL for the session bus
 * @error: return location for a #GError
 *
 * Like eipc_main_new(), on the bus at @address.
 *
 * Returns: (transfer full): the main process, or %NULL with @error set
 *
 * Since: 1.0
 */
EipcMain *
eipc_main_new_for_address (const char  *app_id,
                           const char  *address,
                           GError     **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_initable_new (EIPC_TYPE_MAIN, NULL, error,
                         "app-id", app_id,
                         "address", address,
                         NULL);
}

/**
 * eipc_main_new_async:
 * @app_id: the app id, a well-known bus name such as `org.example.Editor`
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the main process owns the app name, or failed to
 * @user_data: data for @callback
 *
 * Like eipc_main_new(), without blocking: connects to the session bus and
 * asks for the app name, and the thread-default main context goes on
 * running until the answer comes. Finish with eipc_main_new_finish().
 * For another bus, use g_async_initable_new_async() with the
 * #EipcMain:address property.
 *
 * Since: 1.0
 */
void
eipc_main_new_async (const char          *app_id,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  g_async_initable_new_async (EIPC_TYPE_MAIN, G_PRIORITY_DEFAULT,
                              cancellable, callback, user_data,
                              "app-id", app_id, NULL);
}

/**
 * eipc_main_new_finish:
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes eipc_main_new_async() (or g_async_initable_new_async() of an
 * #EipcMain).
 *
 * Returns: (transfer full): the main process, or %NULL with @error set
 *
 * Since: 1.0
 */
EipcMain *
eipc_main_new_finish (GAsyncResult  *result,
                      GError       **error)
{
  g_autoptr(GObject) source = NULL;

  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  source = g_async_result_get_source_object (result);
  return EIPC_MAIN (g_async_initable_new_finish (G_ASYNC_INITABLE (source),
                                                 result, error));
}

/**
 * eipc_main_get_app_id:
 * @self: an #EipcMain
 *
 * Gets the app id, which is also the bus name the main process owns.
 *
 * Returns: (transfer none): the app id
 *
 * Since: 1.0
 */
const char *
eipc_main_get_app_id (EipcMain *self)
{
  g_return_val_if_fail (EIPC_IS_MAIN (self), NULL);
  return self->app_id;
}

/**
 * eipc_main_get_object_path:
 * @self: an #EipcMain
 *
 * Gets the base path, where the `org.eipc.Main1` object lives.
 *
 * Returns: (transfer none): the base object path
 *
 * Since: 1.0
 */
const char *
eipc_main_get_object_path (EipcMain *self)
{
  g_return_val_if_fail (EIPC_IS_MAIN (self), NULL);
  return self->path;
}

/**
 * eipc_main_get_unique_name:
 * @self: an #EipcMain
 *
 * Gets the unique bus name of the main process's connection.
 *
 * Returns: (transfer none) (nullable): the unique name
 *
 * Since: 1.0
 */
const char *
eipc_main_get_unique_name (EipcMain *self)
{
  const char *name = NULL;

  g_return_val_if_fail (EIPC_IS_MAIN (self), NULL);
  if (sd_bus_get_unique_name (self->bus, &name) < 0)
    return NULL;
  return name;
}

/**
 * eipc_main_set_strict:
 * @self: an #EipcMain
 * @strict: whether to refuse clients that never attached
 *
 * In strict mode, send, invoke and sendSync from a client that never
 * attached get %EIPC_ERROR_NOT_ATTACHED (a dropped signal for send). The
 * default accepts them with sender id 0, so `busctl call` works.
 *
 * Since: 1.0
 */
void
eipc_main_set_strict (EipcMain *self,
                      gboolean  strict)
{
  g_return_if_fail (EIPC_IS_MAIN (self));

  strict = !!strict;
  if (self->strict == strict)
    return;
  self->strict = strict;
  if (self->bus != NULL)
    main_properties_changed (self, "Strict");
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STRICT]);
}

/**
 * eipc_main_get_strict:
 * @self: an #EipcMain
 *
 * Tells whether the main process refuses clients that never attached.
 *
 * Returns: %TRUE in strict mode
 *
 * Since: 1.0
 */
gboolean
eipc_main_get_strict (EipcMain *self)
{
  g_return_val_if_fail (EIPC_IS_MAIN (self), FALSE);
  return self->strict;
}

/**
 * eipc_main_on:
 * @self: an #EipcMain
 * @channel: the channel
 * @listener: (scope notified): the listener
 * @user_data: (closure): data for @listener
 * @destroy: (nullable): frees @user_data when the listener goes
 *
 * `ipcMain.on`: @listener runs for every message on @channel, after the
 * listeners added before it. See [method@Eipc.Emitter.on].
 *
 * Returns: the listener's id (never 0), for eipc_main_remove_listener_by_id()
 *
 * Since: 1.0
 */
guint
eipc_main_on (EipcMain         *self,
              const char       *channel,
              EipcListenerFunc  listener,
              gpointer          user_data,
              GDestroyNotify    destroy)
{
  g_return_val_if_fail (EIPC_IS_MAIN (self), 0);
  return eipc_emitter_on (EIPC_EMITTER (self), channel, listener, user_data, destroy);
}

/**
 * eipc_main_once:
 * @self: an #EipcMain
 * @channel: the channel
 * @listener: (scope notified): the listener
 * @user_data: (closure): data for @listener
 * @destroy: (nullable): frees @user_data when the listener goes
 *
 * `ipcMain.once`: like eipc_main_on(), but the listener is removed
 * before it runs for the first message.
 *
 * Returns: the listener's id (never 0)
 *
 * Since: 1.0
 */
guint
eipc_main_once (EipcMain         *self,
                const char       *channel,
                EipcListenerFunc  listener,
                gpointer          user_data,
                GDestroyNotify    destroy)
{
  g_return_val_if_fail (EIPC_IS_MAIN (self), 0);
  return eipc_emitter_once (EIPC_EMITTER (self), channel, listener, user_data, destroy);
}

/**
 * eipc_main_prepend_listener:
 * @self: an #EipcMain
 * @channel: the channel
 * @listener: (scope notified): the listener
 * @user_data: (closure): data for @listener
 * @destroy: (nullable): frees @user_data when the listener goes
 *
 * `ipcMain.prependListener`: like eipc_main_on(), but @listener runs
 * before the listeners already there.
 *
 * Returns: the listener's id (never 0)
 *
 * Since: 1.0
 */
guint
eipc_main_prepend_listener (EipcMain         *self,
                            const char       *channel,
                            EipcListenerFunc  listener,
                            gpointer          user_data,
                            GDestroyNotify    destroy)
{
  g_return_val_if_fail (EIPC_IS_MAIN (self), 0);
  return eipc_emitter_prepend_listener (EIPC_EMITTER (self), channel, listener, user_data, destroy);
}

/**
 * eipc_main_remove_listener: (skip)
 * @self: an #EipcMain
 * @channel: the channel
 * @listener: (scope notified): the listener
 * @user_data: the data it was added with
 *
 * `ipcMain.removeListener`: removes the listener of @channel with this
 * function and data that is nearest the end of the list.
 *
 * A binding (Python, JavaScript) cannot name the C function it added, so
 * it removes a listener with eipc_main_remove_listener_by_id() instead;
 * this function is not in the introspection data.
 *
 * Returns: %TRUE if a listener was removed
 *
 * Since: 1.0
 */
gboolean
eipc_main_remove_listener (EipcMain         *self,
                           const char       *channel,
                           EipcListenerFunc  listener,
                           gpointer          user_data)
{
  g_return_val_if_fail (EIPC_IS_MAIN (self), FALSE);
  return eipc_emitter_remove_listener (EIPC_EMITTER (self), channel, listener, user_data);
}

/**
 * eipc_main_remove_listener_by_id:
 * @self: an #EipcMain
 * @listener_id: an id from eipc_main_on(), eipc_main_once() or
 *   eipc_main_prepend_listener()
 *
 * Removes one listener by its id.
 *
 * Returns: %TRUE if a listener was removed
 *
 * Since: 1.0
 */
gboolean
eipc_main_remove_listener_by_id (EipcMain *self,
                                 guint     listener_id)
{
  g_return_val_if_fail (EIPC_IS_MAIN (self), FALSE);
  return eipc_emitter_remove_listener_by_id (EIPC_EMITTER (self), listener_id);
}

/**
 * eipc_main_remove_all_listeners:
 * @self: an #EipcMain
 * @channel: (nullable): a channel, or %NULL for every channel
 *
 * `ipcMain.removeAllListeners`. Handlers stay.
 *
 * Since: 1.0
 */
void
eipc_main_remove_all_listeners (EipcMain   *self,
                                const char *channel)
{
  g_return_if_fail (EIPC_IS_MAIN (self));
  eipc_emitter_remove_all_listeners (EIPC_EMITTER (self), channel);
}

/**
 * eipc_main_listener_count:
 * @self: an #EipcMain
 * @channel: the channel
 *
 * `ipcMain.listenerCount`.
 *
 * Returns: the number of listeners of @channel
 *
 * Since: 1.0
 */
guint
eipc_main_listener_count (EipcMain   *self,
                          const char *channel)
{
  g_return_val_if_fail (EIPC_IS_MAIN (self), 0);
  return eipc_emitter_listener_count (EIPC_EMITTER (self), channel);
}

/**
 * eipc_main_handle:
 * @self: an #EipcMain
 * @channel: the channel
 * @handler: (scope notified): the handler
 * @user_data: (closure): data for @handler
 * @destroy: (nullable): frees @user_data when the handler goes
 * @error: return location for a #GError
 *
 * `ipcMain.handle`: @handler answers every invoke on @channel with
 * eipc_event_resolve() or eipc_event_reject(), at once or later.
 *
 * Returns: %TRUE on success; %FALSE with %EIPC_ERROR_HANDLER_EXISTS
 *   (`Attempted to register a second handler for 'CHANNEL'`) if the
 *   channel has a handler already
 *
 * Since: 1.0
 */
gboolean
eipc_main_handle (EipcMain          *self,
                  const char        *channel,
                  EipcListenerFunc   handler,
                  gpointer           user_data,
                  GDestroyNotify     destroy,
                  GError           **error)
{
  g_return_val_if_fail (EIPC_IS_MAIN (self), FALSE);
  return eipc_emitter_handle (EIPC_EMITTER (self), channel, handler, user_data, destroy, error);
}

/**
 * eipc_main_handle_once:
 * @self: an #EipcMain
 * @channel: the channel
 * @handler: (scope notified): the handler
 * @user_data: (closure): data for @handler
 * @destroy: (nullable): frees @user_data when the handler goes
 * @error: return location for a #GError
 *
 * `ipcMain.handleOnce`: like eipc_main_handle(), for the first
 * invoke only; the handler is removed before it runs.
 *
 * Returns: %TRUE on success; %FALSE with @error set otherwise
 *
 * Since: 1.0
 */
gboolean
eipc_main_handle_once (EipcMain          *self,
                       const char        *channel,
                       EipcListenerFunc   handler,
                       gpointer           user_data,
                       GDestroyNotify     destroy,
                       GError           **error)
{
  g_return_val_if_fail (EIPC_IS_MAIN (self), FALSE);
  return eipc_emitter_handle_once (EIPC_EMITTER (self), channel, handler, user_data, destroy, error);
}

/**
 * eipc_main_remove_handler:
 * @self: an #EipcMain
 * @channel: the channel
 *
 * `ipcMain.removeHandler`. A handler may remove itself while it runs.
 *
 * Returns: %TRUE if @channel had a handler
 *
 * Since: 1.0
 */
gboolean
eipc_main_remove_handler (EipcMain   *self,
                          const char *channel)
{
  g_return_val_if_fail (EIPC_IS_MAIN (self), FALSE);
  return eipc_emitter_remove_handler (EIPC_EMITTER (self), channel);
}

/**
 * eipc_main_get_web_contents:
 * @self: an #EipcMain
 * @id: a webContentsId
 *
 * `webContents.fromId`.
 *
 * Returns: (transfer none) (nullable): the attached webContents with @id,
 *   or %NULL
 *
 * Since: 1.0
 */
EipcWebContents *
eipc_main_get_web_contents (EipcMain *self,
                            guint64   id)
{
  g_return_val_if_fail (EIPC_IS_MAIN (self), NULL);
  return main_lookup (self, id);
}

/**
 * eipc_main_list_web_contents:
 * @self: an #EipcMain
 *
 * `webContents.getAllWebContents`: every attached webContents, by id.
 *
 * Returns: (transfer container) (element-type EipcWebContents): the list
 *
 * Since: 1.0
 */
GPtrArray *
eipc_main_list_web_contents (EipcMain *self)
{
  GPtrArray *all;
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (EIPC_IS_MAIN (self), NULL);

  all = g_ptr_array_new_full (g_hash_table_size (self->by_id), g_object_unref);
  g_hash_table_iter_init (&iter, self->by_id);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (all, g_object_ref (value));
  g_ptr_array_sort (all, compare_web_contents);
  return all;
}

/**
 * eipc_main_broadcast:
 * @self: an #EipcMain
 * @channel: the channel
 * @args: (nullable): the arguments, %NULL for none
 * @error: return location for a #GError
 *
 * Sends one message to every attached renderer: one D-Bus signal on
 * `BASE/WebContents` with no destination, which every renderer matches.
 * Renderers see it with eipc_event_get_kind() = %EIPC_EVENT_BROADCAST.
 *
 * While some renderer is behind (it has not read what was sent to it,
 * see #EipcWebContents::unresponsive), the broadcast goes instead as one
 * copy per attached renderer, on the same path, unicast: the copies of a
 * renderer that is behind wait in the main process, in order, and a
 * copy past the limits of eipc_main_set_memory_limits() is dropped and
 * reported by #EipcWebContents::messages-dropped. Clients that did not
 * attach (a `dbus-monitor`) see only the broadcasts sent as one signal.
 *
 * Returns: %TRUE if the message was queued (a renderer's copy may have
 *   been dropped, see above); %FALSE with @error set otherwise
 *
 * Since: 1.0
 */
gboolean
eipc_main_broadcast (EipcMain    *self,
                     const char  *channel,
                     JsonArray   *args,
                     GError     **error)
{
  g_autofree char *text = NULL;

  g_return_val_if_fail (EIPC_IS_MAIN (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  text = eipc_json_array_to_string (args);
  return eipc_main_broadcast_json (self, channel, text, error);
}

static int
main_broadcast_message_new (EipcMain        *self,
                            const char      *channel,
                            const char      *args_json,
                            sd_bus_message **ret)
{
  g_autoptr(sd_bus_message) m = NULL;
  const guint64 no_sender = 0;   /* 0: from the main process */
  int r;

  r = sd_bus_message_new_signal (self->bus, &m, self->broadcast_path,
                                 EIPC_WEB_CONTENTS_INTERFACE, "Message");
  if (r >= 0)
    r = eipc_message_append_strings (m, channel, args_json);
  if (r >= 0)
    r = sd_bus_message_append_basic (m, 't', &no_sender);
  if (r < 0)
    return r;
  *ret = g_steal_pointer (&m);
  return 0;
}

/**
 * eipc_main_broadcast_json:
 * @self: an #EipcMain
 * @channel: the channel
 * @args_json: the arguments as the text of a JSON array
 * @error: return location for a #GError
 *
 * Like eipc_main_broadcast(), with the arguments as JSON text.
 *
 * Returns: %TRUE if the signal was queued; %FALSE with @error set otherwise
 *
 * Since: 1.0
 */
gboolean
eipc_main_broadcast_json (EipcMain    *self,
                          const char  *channel,
                          const char  *args_json,
                          GError     **error)
{
  g_autoptr(sd_bus_message) m = NULL;
  GHashTableIter iter;
  gpointer value;
  gboolean one_signal = TRUE;
  gsize size;
  int r;

  g_return_val_if_fail (EIPC_IS_MAIN (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!eipc_channel_check (channel, error) ||
      !eipc_args_check (args_json, error) ||
      !eipc_bus_check_queue (self->bus, error))
    return FALSE;

  /* One signal for all while every renderer has room in its window and
   * nothing waiting; else a copy each, so that what a renderer that is
   * behind does not read waits here, in its order, not in the bus. */
  size = eipc_flow_message_size (channel, args_json);
  g_hash_table_iter_init (&iter, self->by_id);
  while (one_signal && g_hash_table_iter_next (&iter, NULL, &value))
    one_signal = eipc_flow_can_send (eipc_web_contents_get_flow (value), size);

  if (one_signal)
    {
      r = main_broadcast_message_new (self, channel, args_json, &m);
      if (r >= 0)
        r = sd_bus_send (self->bus, m, NULL);
      if (r < 0)
        {
          eipc_set_error_from_errno (error, r, "Cannot broadcast");
          return FALSE;
        }
      g_hash_table_iter_init (&iter, self->by_id);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        eipc_flow_count (eipc_web_contents_get_flow (value), size);
      return TRUE;
    }

  /* A copy that cannot be kept is dropped and reported by its
   * webContents (messages-dropped); the others go. */
  g_hash_table_iter_init (&iter, self->by_id);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      g_autoptr(sd_bus_message) copy = NULL;
      g_autoptr(GError) local_error = NULL;

      r = main_broadcast_message_new (self, channel, args_json, &copy);
      if (r < 0)
        {
          eipc_set_error_from_errno (error, r, "Cannot broadcast");
          return FALSE;
        }
      if (!eipc_flow_send (eipc_web_contents_get_flow (value), copy, size, &local_error))
        g_debug ("eipc: broadcast: %s", local_error->message);
    }
  return TRUE;
}

/**
 * eipc_main_set_limits:
 * @self: an #EipcMain
 * @max_pending_calls: how many invokes and sendSyncs one client may have
 *   waiting for an answer at once, 0 for the default
 *   (%EIPC_DEFAULT_MAX_PENDING_CALLS)
 * @max_args_size: the largest arguments text accepted, in bytes, 0 for
 *   the default (%EIPC_DEFAULT_MAX_ARGS_SIZE)
 *
 * Bounds what one client can make the main process hold. A call past a
 * limit gets %EIPC_ERROR_LIMITS_EXCEEDED (`org.eipc.Error.LimitsExceeded`)
 * at once; a signal past it is dropped and reported through
 * #EipcMain::message-rejected. One connection is one renderer, however
 * often it attaches.
 *
 * Since: 1.0
 */
void
eipc_main_set_limits (EipcMain *self,
                      guint     max_pending_calls,
                      gsize     max_args_size)
{
  g_return_if_fail (EIPC_IS_MAIN (self));

  self->max_pending_calls = max_pending_calls != 0 ? max_pending_calls
                                                   : EIPC_DEFAULT_MAX_PENDING_CALLS;
  self->max_args_size = max_args_size != 0 ? max_args_size
                                           : EIPC_DEFAULT_MAX_ARGS_SIZE;
}

/**
 * eipc_main_set_memory_limits:
 * @self: an #EipcMain
 * @per_client_bytes: the bytes one client may make the main process hold,
 *   0 for the default (%EIPC_DEFAULT_MAX_CLIENT_BYTES)
 * @total_bytes: the bytes all clients together may make it hold, 0 for
 *   the default (%EIPC_DEFAULT_MAX_TOTAL_BYTES)
 *
 * Bounds in bytes what clients can make the main process hold: the
 * arguments of their calls in flight (invokes and sendSyncs not answered
 * yet), the messages that wait for a renderer that is behind, and, per
 * client, what is on its way to it in the bus (answers and
 * main-to-renderer invokes included). Past a limit: a new call gets
 * %EIPC_ERROR_LIMITS_EXCEEDED (`org.eipc.Error.LimitsExceeded`) at once,
 * an answer that does not fit is replaced by that error, a main-to-
 * renderer invoke fails with it, and a one-way message (send, sendTo,
 * broadcast copy) is dropped: eipc_web_contents_send() returns %FALSE
 * with that error and #EipcWebContents::messages-dropped reports the
 * episode. The other clients are served as before. See
 * docs/security.md for what this bounds and the measured figures.
 *
 * Since: 1.0
 */
void
eipc_main_set_memory_limits (EipcMain *self,
                             guint64   per_client_bytes,
                             guint64   total_bytes)
{
  g_return_if_fail (EIPC_IS_MAIN (self));

  per_client_bytes = per_client_bytes != 0 ? per_client_bytes
                                           : EIPC_DEFAULT_MAX_CLIENT_BYTES;
  total_bytes = total_bytes != 0 ? total_bytes : EIPC_DEFAULT_MAX_TOTAL_BYTES;
  if (self->budget.max_client != per_client_bytes)
    {
      self->budget.max_client = per_client_bytes;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_MAX_CLIENT_BYTES]);
    }
  if (self->budget.max_total != total_bytes)
    {
      self->budget.max_total = total_bytes;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_MAX_TOTAL_BYTES]);
    }
}

/**
 * eipc_main_get_max_client_bytes:
 * @self: an #EipcMain
 *
 * Gets the bytes one client may make the main process hold (see
 * eipc_main_set_memory_limits()).
 *
 * Returns: the limit in bytes
 *
 * Since: 1.0
 */
guint64
eipc_main_get_max_client_bytes (EipcMain *self)
{
  g_return_val_if_fail (EIPC_IS_MAIN (self), 0);
  return self->budget.max_client;
}

/**
 * eipc_main_get_max_total_bytes:
 * @self: an #EipcMain
 *
 * Gets the bytes all clients together may make the main process hold
 * (see eipc_main_set_memory_limits()).
 *
 * Returns: the limit in bytes
 *
 * Since: 1.0
 */
guint64
eipc_main_get_max_total_bytes (EipcMain *self)
{
  g_return_val_if_fail (EIPC_IS_MAIN (self), 0);
  return self->budget.max_total;
}

/**
 * eipc_main_get_held_bytes:
 * @self: an #EipcMain
 *
 * Gets what clients make the main process hold now, as the limits of
 * eipc_main_set_memory_limits() count it: the arguments of calls in
 * flight and the messages waiting for renderers that are behind.
 *
 * Returns: the bytes held
 *
 * Since: 1.0
 */
guint64
eipc_main_get_held_bytes (EipcMain *self)
{
  g_return_val_if_fail (EIPC_IS_MAIN (self), 0);
  return self->budget.used;
}

/**
 * eipc_main_get_max_pending_calls:
 * @self: an #EipcMain
 *
 * Gets the limit of calls one client may have waiting.
 *
 * Returns: the limit
 *
 * Since: 1.0
 */
guint
eipc_main_get_max_pending_calls (EipcMain *self)
{
  g_return_val_if_fail (EIPC_IS_MAIN (self), 0);
  return self->max_pending_calls;
}

/**
 * eipc_main_get_max_args_size:
 * @self: an #EipcMain
 *
 * Gets the largest arguments text accepted, in bytes.
 *
 * Returns: the limit
 *
 * Since: 1.0
 */
gsize
eipc_main_get_max_args_size (EipcMain *self)
{
  g_return_val_if_fail (EIPC_IS_MAIN (self), 0);
  return self->max_args_size;
}

/**
 * eipc_main_spawn_renderer:
 * @self: an #EipcMain
 * @argv: (array zero-terminated=1): the program and its arguments; the
 *   program is looked up in `PATH` unless it holds a slash
 * @envp: (array zero-terminated=1) (nullable): the program's environment,
 *   %NULL for this process's
 * @working_directory: (type filename) (nullable): where it runs, %NULL
 *   for this process's working directory
 * @pid: (out) (optional): the new process's id
 * @error: return location for a #GError
 *
 * Launches a renderer, as Electron's main process launches its
 * renderers: the program gets the main process's bus address and app id
 * in its environment (`EIPC_ADDRESS`, `EIPC_APP_ID`), so an #EipcRenderer
 * it creates with a %NULL app id (eipc_renderer_new (NULL, &error))
 * attaches to this main process. The main process keeps the pid (the
 * renderer must attach from that process, not from a child of it) and
 * watches the exit status, so #EipcWebContents::render-process-gone says
 * `killed` (SIGKILL, SIGTERM, SIGINT), `crashed` (SIGSEGV, SIGABRT,
 * SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS), `oom` (a SIGKILL while the
 * `oom_kill` count of its cgroup's `memory.events` went up), or the exit
 * code (`clean-exit` for 0, `abnormal-exit` otherwise). A program that
 * cannot be launched gives %FALSE with @error set and
 * #EipcMain::render-process-gone with `launch-failed`; one that goes
 * before it attached gives #EipcMain::render-process-gone with no
 * webContents. The process runs on if the main process goes away first.
 *
 * Returns: %TRUE if the program was launched
 *
 * Since: 1.0
 */
gboolean
eipc_main_spawn_renderer (EipcMain           *self,
                          const char * const *argv,
                          const char * const *envp,
                          const char         *working_directory,
                          GPid               *pid,
                          GError            **error)
{
  g_autofree char *address = NULL;
  const char *bus_address = NULL;

  g_return_val_if_fail (EIPC_IS_MAIN (self), FALSE);
  g_return_val_if_fail (argv != NULL && argv[0] != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->bus != NULL && sd_bus_get_address (self->bus, &bus_address) >= 0)
    address = g_strdup (bus_address);
  return eipc_processes_spawn (self->processes, argv, envp, working_directory,
                               self->app_id, address, pid, error);
}
