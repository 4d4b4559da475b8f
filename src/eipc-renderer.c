/* eipc-renderer.c: a renderer process (ipcRenderer)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <string.h>

#include "eipc-private.h"

struct _EipcRenderer
{
  EipcEmitter       parent_instance;

  char             *app_id;          /* construct-only properties */
  char             *address;
  char             *base_path;
  char             *broadcast_path;  /* BASE/WebContents */
  char             *path;            /* BASE/WebContents/ID once attached */
  sd_bus           *bus;
  GSource          *source;
  sd_bus_slot      *message_slot;
  sd_bus_slot      *owner_slot;
  sd_bus_slot      *vtable_slot;
  GCancellable     *reattach;        /* an automatic re-attach in flight */
  EipcCalls        *calls;           /* calls to the main process */

  guint64           id;
  guint64           host_id;
  char             *main_name;       /* unique name of the main process */
  gboolean          have_main_creds; /* of the first main process: */
  guint32           main_uid;
  char             *main_exe;
  gboolean          attached;
  gboolean          auto_reattach;
  guint             sync_timeout;
  guint             invoke_timeout;  /* msec, 0 = none */

  EipcListenerList  host_listeners;  /* on_host_message, beside the emitter */

  /* GInitable / GAsyncInitable */
  gboolean          init_started;
  gboolean          init_done;
  GError           *init_error;
  GTask            *init_task;       /* an async init's Attach in flight */
  EipcMatchCheck    match_check;     /* the answers to AddMatch */
  EipcCallSet      *pending;         /* calls in flight to the main process */
  EipcSendWindow    send_window;     /* sends to the main process */
  EipcEvent        *spare_event;     /* see eipc_event_release() */
  EipcAsync        *spare_invoke;    /* the last invoke's result, nobody kept it */
};

enum {
  SIGNAL_MAIN_EXITED,
  SIGNAL_ATTACHED,
  SIGNAL_DISCONNECTED,
  SIGNAL_CHECK_MAIN,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

enum {
  PROP_0,
  PROP_APP_ID,
  PROP_ADDRESS,
  PROP_HOST_ID,
  PROP_ID,
  PROP_ATTACHED,
  PROP_SYNC_TIMEOUT,
  PROP_AUTO_REATTACH,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

/* Every host message is filed under this key of host_listeners. */
#define HOST_MESSAGE_KEY ""

static void renderer_initable_iface_init       (GInitableIface      *iface);
static void renderer_async_initable_iface_init (GAsyncInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (EipcRenderer, eipc_renderer, EIPC_TYPE_EMITTER,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      renderer_initable_iface_init)
                               G_IMPLEMENT_INTERFACE (G_TYPE_ASYNC_INITABLE,
                                                      renderer_async_initable_iface_init))

static void renderer_detached (EipcRenderer *self,
                               EipcError     code,
                               const char   *why);

static gboolean
renderer_check_attached (EipcRenderer  *self,
                         GError       **error)
{
  if (self->attached)
    return TRUE;
  g_set_error (error, EIPC_ERROR, EIPC_ERROR_DISCONNECTED,
               "Not attached to the main process of %s (it exited or the "
               "bus went away)", self->app_id);
  return FALSE;
}

/* event.reply on the renderer side: to the main process, or, for a
 * message routed from another renderer, send-and-forget back to that
 * renderer, failing at once only for what can be checked here. */
static gboolean
renderer_event_reply (EipcEvent   *event,
                      const char  *channel,
                      const char  *args_json,
                      gpointer     data,
                      GError     **error)
{
  EipcRenderer *self = data;
  guint64 sender_id = eipc_event_get_sender_id (event);

  if (sender_id == 0)
    return eipc_renderer_send_json (self, channel, args_json, error);
  if (!renderer_check_attached (self, error) ||
      !eipc_channel_check (channel, error) ||
      !eipc_args_check (args_json, error))
    return FALSE;
  eipc_renderer_send_to_json (self, sender_id, channel, args_json,
                              NULL, NULL, NULL);
  return TRUE;
}

static const EipcEventFuncs renderer_event_funcs = { renderer_event_reply, NULL };

static EipcEvent *
renderer_event_new (EipcRenderer   *self,
                    EipcEventKind   kind,
                    sd_bus_message *m,
                    const char     *channel,
                    const char     *args,
                    guint64         sender_id)
{
  return eipc_event_take (&self->spare_event, kind, m, channel, args,
                          sender_id, NULL, 0, &renderer_event_funcs,
                          g_object_ref (self), g_object_unref);
}

/* org.eipc.Renderer1.Invoke, served on the renderer's own path: the main
 * process invoking one of eipc_renderer_handle()'s handlers. Runs from
 * the GSource, after sd_bus_process() (see eipc_bus_defer()). */
static void
invoke_deferred (gpointer        userdata,
                 sd_bus_message *m)
{
  EipcRenderer *self = userdata;
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcEvent) event = NULL;
  const char *channel, *args;
  int r;

  if (!self->attached ||
      g_strcmp0 (sd_bus_message_get_sender (m), self->main_name) != 0)
    {
      eipc_reply_error (m, EIPC_ERROR_ACCESS_DENIED,
                        "Only the main process of %s may invoke this "
                        "renderer", self->app_id);
      return;
    }

  r = eipc_message_read_strings (m, &channel, &args);
  if (r < 0)
    {
      sd_bus_reply_method_errno (m, r, NULL);
      return;
    }
  if (!eipc_channel_check (channel, &error) ||
      !eipc_json_check (args, TRUE, &error))
    {
      eipc_reply_gerror (m, error);
      return;
    }

  event = renderer_event_new (self, EIPC_EVENT_INVOKE, m, channel, args, 0);
  if (!eipc_emitter_dispatch (EIPC_EMITTER (self), channel, event))
    eipc_event_reject_no_handler (event);
  else
    eipc_event_handler_returned (event);
  eipc_event_release (&self->spare_event, g_steal_pointer (&event));
}

static int
method_invoke (sd_bus_message *m,
               void           *userdata,
               sd_bus_error   *ret_error)
{
  EipcRenderer *self = userdata;

  eipc_bus_defer (self->source, invoke_deferred, self, m);
  return 1;
}

static const sd_bus_vtable renderer_vtable[] = {
  SD_BUS_VTABLE_START (0),
  SD_BUS_METHOD_WITH_ARGS ("Invoke",
                           SD_BUS_ARGS ("s", channel, "s", args),
                           SD_BUS_RESULT ("s", result),
                           method_invoke, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_SIGNAL_WITH_ARGS ("Message", SD_BUS_ARGS ("s", channel, "s", args), 0),
  SD_BUS_VTABLE_END
};

/* org.eipc.WebContents1.PostMessage: webContents.postMessage, a message
 * with ports for the listeners of the channel. */
static int
renderer_on_post_message (EipcRenderer   *self,
                          sd_bus_message *m)
{
  g_autoptr(EipcEvent) event = NULL;
  g_autoptr(GPtrArray) ports = NULL;
  g_autoptr(GError) error = NULL;
  const char *channel, *message;

  if (!sd_bus_message_has_signature (m, "ssa(hb)") ||
      eipc_message_read_strings (m, &channel, &message) < 0 ||
      !eipc_channel_check (channel, &error) ||
      !eipc_json_check (message, FALSE, &error))
    {
      g_debug ("eipc: dropped a PostMessage that is not valid: %s",
               error != NULL ? error->message : "not (ssa(hb))");
      return 1;
    }
  ports = eipc_message_read_ports (m, g_source_get_context (self->source), &error);
  if (ports == NULL)
    {
      g_debug ("eipc: dropped a PostMessage: %s", error->message);
      return 1;
    }
  event = renderer_event_new (self, EIPC_EVENT_SEND, m, channel, message, 0);
  eipc_event_set_posted (event, eipc_message_posted_args (message),
                         g_steal_pointer (&ports));
  eipc_emitter_emit (EIPC_EMITTER (self), channel, event);
  return 1;
}

/* Signals of org.eipc.WebContents1 from the main process, delivered from
 * the GSource after sd_bus_process() (see eipc_bus_defer()). */
static void
web_contents_signal_deferred (gpointer        userdata,
                              sd_bus_message *m)
{
  EipcRenderer *self = userdata;
  g_autoptr(EipcEvent) event = NULL;
  g_autoptr(GError) error = NULL;
  const char *path = sd_bus_message_get_path (m);
  const char *member = sd_bus_message_get_member (m);
  const char *channel, *args;
  guint64 sender_id;
  EipcEventKind kind;
  gboolean own_path;

  /* Only the unique name that owned the app name when the renderer
   * attached speaks for the main process. */
  if (!self->attached ||
      g_strcmp0 (sd_bus_message_get_sender (m), self->main_name) != 0)
    return;
  own_path = g_strcmp0 (path, self->path) == 0;
  if (own_path && strcmp (member, "PostMessage") == 0)
    {
      renderer_on_post_message (self, m);
      return;
    }
  if (eipc_message_read_strings (m, &channel, &args) < 0 ||
      sd_bus_message_read_basic (m, 't', &sender_id) <= 0)
    return;

  if (own_path && strcmp (member, "Message") == 0)
    kind = sender_id == 0 ? EIPC_EVENT_SEND : EIPC_EVENT_SEND_TO;
  else if (own_path && strcmp (member, "HostMessage") == 0)
    kind = EIPC_EVENT_HOST_MESSAGE;
  else if (strcmp (path, self->broadcast_path) == 0 && strcmp (member, "Message") == 0)
    kind = EIPC_EVENT_BROADCAST;
  else
    return;
  /* Listeners rely on it (eipc_event_get_args()); the main process is
   * trusted to be the main process, not to send valid text. */
  if (!eipc_channel_check (channel, &error) ||
      !eipc_json_check (args, TRUE, &error))
    {
      g_debug ("eipc: dropped a %s of the main process: %s", member,
               error->message);
      return;
    }

  event = renderer_event_new (self, kind, m, channel, args, sender_id);
  if (kind == EIPC_EVENT_HOST_MESSAGE)
    eipc_listener_list_emit (&self->host_listeners, HOST_MESSAGE_KEY, event);
  else
    eipc_emitter_emit (EIPC_EMITTER (self), channel, event);
  eipc_event_release (&self->spare_event, g_steal_pointer (&event));
}

static int
on_web_contents_signal (sd_bus_message *m,
                        void           *userdata,
                        sd_bus_error   *ret_error)
{
  EipcRenderer *self = userdata;

  /* A cheap first look; the rest when it is delivered (by then, an
   * Attach in flight has been answered). */
  if (g_strcmp0 (sd_bus_message_get_sender (m), self->main_name) != 0)
    return 0;
  eipc_bus_defer (self->source, web_contents_signal_deferred, self, m);
  /* Handled: sd-bus need not try the other match rules on it. */
  return 1;
}

static int
renderer_take_attach_reply (EipcRenderer   *self,
                            sd_bus_message *reply,
                            const char     *owner)
{
  const char *path;
  guint64 id;
  int r;

  r = sd_bus_message_read (reply, "to", &id, &path);
  if (r < 0)
    return r;

  g_clear_pointer (&self->vtable_slot, sd_bus_slot_unref);
  g_object_freeze_notify (G_OBJECT (self));
  if (self->id != id)
    {
      self->id = id;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ID]);
    }
  g_free (self->path);
  self->path = g_strdup (path);
  g_free (self->main_name);
  self->main_name = g_strdup (owner);
  r = sd_bus_add_object_vtable (self->bus, &self->vtable_slot, self->path,
                                EIPC_RENDERER_INTERFACE, renderer_vtable, self);
  if (r >= 0)
    {
      self->attached = TRUE;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ATTACHED]);
    }
  g_object_thaw_notify (G_OBJECT (self));
  return r < 0 ? r : 0;
}

static int
renderer_new_attach_call (EipcRenderer    *self,
                          const char      *owner,
                          sd_bus_message **ret)
{
  g_autoptr(sd_bus_message) m = NULL;
  int r;

  /* To the unique name: only that name may answer (eipc-call.c). */
  r = sd_bus_message_new_method_call (self->bus, &m, owner,
                                      self->base_path, EIPC_MAIN_INTERFACE,
                                      "Attach");
  if (r < 0)
    return r;
  r = sd_bus_message_open_container (m, 'a', "{sv}");
  if (r >= 0 && self->host_id != 0)
    r = sd_bus_message_append (m, "{sv}", "host", "t", self->host_id);
  /* Without descriptors, the main process must not post ports here. */
  if (r >= 0 && sd_bus_can_send (self->bus, SD_BUS_TYPE_UNIX_FD) <= 0)
    r = sd_bus_message_append (m, "{sv}", "unix-fds", "b", 0);
  if (r >= 0)
    r = sd_bus_message_close_container (m);
  if (r < 0)
    return r;
  *ret = g_steal_pointer (&m);
  return 0;
}

static int
renderer_new_driver_call (EipcRenderer    *self,
                          const char      *member,
                          const char      *name,
                          sd_bus_message **ret)
{
  g_autoptr(sd_bus_message) m = NULL;
  int r;

  r = sd_bus_message_new_method_call (self->bus, &m, "org.freedesktop.DBus",
                                      "/org/freedesktop/DBus",
                                      "org.freedesktop.DBus", member);
  if (r >= 0)
    r = sd_bus_message_append_basic (m, 's', name);
  if (r < 0)
    return r;
  *ret = g_steal_pointer (&m);
  return 0;
}

/* Reads the uid and pid of a GetConnectionCredentials reply. */
static int
read_main_credentials (sd_bus_message *reply,
                       guint32        *uid,
                       guint32        *pid)
{
  gboolean have_uid = FALSE;
  int r;

  *pid = 0;
  r = sd_bus_message_enter_container (reply, 'a', "{sv}");
  if (r < 0)
    return r;
  while ((r = sd_bus_message_enter_container (reply, 'e', "sv")) > 0)
    {
      const char *key;

      r = sd_bus_message_read_basic (reply, 's', &key);
      if (r < 0)
        return r;
      if (strcmp (key, "UnixUserID") == 0 || strcmp (key, "ProcessID") == 0)
        {
          guint32 value;

          r = sd_bus_message_read (reply, "v", "u", &value);
          if (r < 0)
            return r;
          if (key[0] == 'U')
            {
              *uid = value;
              have_uid = TRUE;
            }
          else
            *pid = value;
        }
      else
        {
          r = sd_bus_message_skip (reply, "v");
          if (r < 0)
            return r;
        }
      r = sd_bus_message_exit_container (reply);
      if (r < 0)
        return r;
    }
  if (r < 0)
    return r;
  r = sd_bus_message_exit_container (reply);
  if (r < 0)
    return r;
  return have_uid ? 0 : -ENODATA;
}

static char *
executable_of (guint32 pid)
{
  g_autofree char *link = NULL;

  if (pid == 0)
    return NULL;
  link = g_strdup_printf ("/proc/%u/exe", pid);
  return g_file_read_link (link, NULL);
}

/* Whether the process behind @reply (its GetConnectionCredentials) may be
 * this renderer's main process: the application's
 * #EipcRenderer::check-main handler decides if it has one; else the uid
 * and the executable must be those of the first main process. The first
 * time, they are recorded. */
static gboolean
renderer_check_main (EipcRenderer    *self,
                     const char      *owner,
                     sd_bus_message  *reply,
                     GError         **error)
{
  g_autofree char *exe = NULL;
  guint32 uid = G_MAXUINT32, pid = 0;
  gboolean ok = FALSE;
  int r;

  r = read_main_credentials (reply, &uid, &pid);
  if (r < 0)
    {
      eipc_set_error_from_errno (error, r, "Cannot read the credentials of "
                                 "the main process");
      return FALSE;
    }
  exe = executable_of (pid);

  if (g_signal_has_handler_pending (self, signals[SIGNAL_CHECK_MAIN], 0, TRUE))
    {
      g_signal_emit (self, signals[SIGNAL_CHECK_MAIN], 0, owner, uid,
                     exe, &ok);
      if (!ok)
        g_set_error (error, EIPC_ERROR, EIPC_ERROR_ACCESS_DENIED,
                     "The application refused %s (uid %u, %s) as the main "
                     "process of %s", owner, uid, exe != NULL ? exe : "?",
                     self->app_id);
      return ok;
    }

  if (!self->have_main_creds)
    {
      self->have_main_creds = TRUE;
      self->main_uid = uid;
      self->main_exe = g_steal_pointer (&exe);
      return TRUE;
    }
  if (uid != self->main_uid || g_strcmp0 (exe, self->main_exe) != 0)
    {
      g_set_error (error, EIPC_ERROR, EIPC_ERROR_ACCESS_DENIED,
                   "%s now owns %s but is not the program this renderer "
                   "first attached to (uid %u, %s; expected uid %u, %s)",
                   owner, self->app_id, uid, exe != NULL ? exe : "?",
                   self->main_uid,
                   self->main_exe != NULL ? self->main_exe : "?");
      return FALSE;
    }
  return TRUE;
}

/* Blocking: learns the unique name that owns the app name, checks who it
 * is, and attaches to that name; every reply is checked against the name
 * it must come from. */
static gboolean
renderer_attach (EipcRenderer  *self,
                 GError       **error)
{
  g_autoptr(sd_bus_message) m = NULL;
  g_autoptr(sd_bus_message) reply = NULL;
  g_autofree char *owner = NULL;
  const char *name;
  int r;

  r = renderer_new_driver_call (self, "GetNameOwner", self->app_id, &m);
  if (r < 0)
    goto fail_errno;
  if (!eipc_calls_call_blocking (self->calls, m, 0, &reply, error))
    goto fail;
  /* The bus answered the match rules before this call. */
  if (!eipc_match_check_result (&self->match_check, error))
    goto fail;
  r = sd_bus_message_read_basic (reply, 's', &name);
  if (r == 0)
    r = -EBADMSG;
  if (r < 0 || !g_dbus_is_unique_name (name))
    goto fail_errno;
  owner = g_strdup (name);
  g_clear_pointer (&m, sd_bus_message_unref);
  g_clear_pointer (&reply, sd_bus_message_unref);

  r = renderer_new_driver_call (self, "GetConnectionCredentials", owner, &m);
  if (r < 0)
    goto fail_errno;
  if (!eipc_calls_call_blocking (self->calls, m, 0, &reply, error))
    goto fail;
  if (!renderer_check_main (self, owner, reply, error))
    goto fail;
  g_clear_pointer (&m, sd_bus_message_unref);
  g_clear_pointer (&reply, sd_bus_message_unref);

  /* Signals of the main process that come before the reply wait for it
   * (eipc_bus_defer()) and are taken from this name. */
  g_free (self->main_name);
  self->main_name = g_strdup (owner);
  r = renderer_new_attach_call (self, owner, &m);
  if (r < 0)
    goto fail_errno;
  if (!eipc_calls_call_blocking (self->calls, m, 0, &reply, error))
    goto fail;
  r = renderer_take_attach_reply (self, reply, owner);
  if (r < 0)
    {
      eipc_set_error_from_errno (error, r, "Bad reply to Attach");
      return FALSE;
    }
  return TRUE;

fail_errno:
  eipc_set_error_from_errno (error, r < 0 ? r : -EBADMSG, "D-Bus call failed");
fail:
  g_prefix_error (error, "Cannot attach to the main process of %s: ",
                  self->app_id);
  return FALSE;
}

static void
auto_attach_done (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  EipcRenderer *self = EIPC_RENDERER (source);
  g_autofree char *owner = user_data;
  g_autoptr(sd_bus_message) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_task_propagate_pointer (G_TASK (result), &error);
  if (reply == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_clear_object (&self->reattach);
          g_debug ("eipc: re-attach to %s failed: %s", self->app_id,
                   error->message);
        }
      return;
    }
  g_clear_object (&self->reattach);
  if (self->attached || renderer_take_attach_reply (self, reply, owner) < 0)
    return;
  g_signal_emit (self, signals[SIGNAL_ATTACHED], 0, self->id);
}

static void
auto_attach_checked (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  EipcRenderer *self = EIPC_RENDERER (source);
  g_autofree char *owner = user_data;
  g_autoptr(sd_bus_message) reply = NULL;
  g_autoptr(sd_bus_message) call = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GTask) task = NULL;
  int r;

  reply = g_task_propagate_pointer (G_TASK (result), &error);
  if (reply == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (reply == NULL || !renderer_check_main (self, owner, reply, &error))
    {
      g_clear_object (&self->reattach);
      g_message ("eipc: not re-attaching %s to %s: %s", self->app_id, owner,
                 error->message);
      return;
    }

  r = renderer_new_attach_call (self, owner, &call);
  if (r < 0)
    {
      g_clear_object (&self->reattach);
      g_debug ("eipc: cannot re-attach: %s", g_strerror (-r));
      return;
    }
  g_free (self->main_name);
  self->main_name = g_strdup (owner);
  task = g_task_new (self, self->reattach, auto_attach_done,
                     g_steal_pointer (&owner));
  eipc_call_start (self->calls, call, task, EIPC_CALL_RESULT_MESSAGE, 0,
                   self->pending);
}

/* A new main process owns the app name: check it, then attach to it. */
static void
renderer_auto_reattach (EipcRenderer *self,
                        const char   *owner)
{
  g_autoptr(sd_bus_message) call = NULL;
  g_autoptr(GTask) task = NULL;
  int r;

  r = renderer_new_driver_call (self, "GetConnectionCredentials", owner, &call);
  if (r < 0)
    {
      g_debug ("eipc: cannot re-attach: %s", g_strerror (-r));
      return;
    }
  self->reattach = g_cancellable_new ();
  task = g_task_new (self, self->reattach, auto_attach_checked, g_strdup (owner));
  eipc_call_start (self->calls, call, task, EIPC_CALL_RESULT_MESSAGE, 0,
                   self->pending);
}

/* The app name changed hands: our main process left, or a new one came. */
static void
main_owner_changed_deferred (gpointer        userdata,
                             sd_bus_message *m)
{
  EipcRenderer *self = userdata;
  const char *name, *old_owner, *new_owner;

  if (sd_bus_message_read (m, "sss", &name, &old_owner, &new_owner) < 0 ||
      strcmp (name, self->app_id) != 0)
    return;

  if (self->attached && g_strcmp0 (old_owner, self->main_name) == 0)
    renderer_detached (self, EIPC_ERROR_DISCONNECTED,
                       "The main process exited");

  if (new_owner[0] != '\0' && !self->attached && self->auto_reattach)
    {
      if (self->reattach != NULL)
        {
          g_cancellable_cancel (self->reattach);
          g_clear_object (&self->reattach);
        }
      renderer_auto_reattach (self, new_owner);
    }
}

static int
on_main_owner_changed (sd_bus_message *m,
                       void           *userdata,
                       sd_bus_error   *ret_error)
{
  EipcRenderer *self = userdata;

  /* Only the bus itself says who owns the app name. */
  if (g_strcmp0 (sd_bus_message_get_sender (m), "org.freedesktop.DBus") != 0)
    return 0;
  eipc_bus_defer (self->source, main_owner_changed_deferred, self, m);
  return 0;
}

static void
renderer_detached (EipcRenderer *self,
                   EipcError     code,
                   const char   *why)
{
  g_autoptr(GError) error = NULL;

  if (!self->attached)
    return;
  self->attached = FALSE;
  g_clear_pointer (&self->vtable_slot, sd_bus_slot_unref);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ATTACHED]);

  error = g_error_new (EIPC_ERROR, code, "%s before it answered", why);
  eipc_call_fail_all (self->pending, error);
  g_signal_emit (self, signals[SIGNAL_MAIN_EXITED], 0);
}

static void
renderer_bus_closed (gpointer user_data)
{
  EipcRenderer *self = user_data;

  renderer_detached (self, EIPC_ERROR_DISCONNECTED,
                     "The bus connection closed");
  g_signal_emit (self, signals[SIGNAL_DISCONNECTED], 0);
}

static void
eipc_renderer_dispose (GObject *object)
{
  EipcRenderer *self = EIPC_RENDERER (object);

  if (self->pending != NULL)
    {
      g_autoptr(GError) error =
        g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                             "The renderer object was disposed");

      eipc_call_fail_all (self->pending, error);
    }
  eipc_listener_list_remove_all (&self->host_listeners, NULL);
  if (self->reattach != NULL)
    g_cancellable_cancel (self->reattach);
  g_clear_object (&self->spare_event);
  g_clear_object (&self->spare_invoke);

  G_OBJECT_CLASS (eipc_renderer_parent_class)->dispose (object);
}

static void
eipc_renderer_finalize (GObject *object)
{
  EipcRenderer *self = EIPC_RENDERER (object);

  g_clear_pointer (&self->message_slot, sd_bus_slot_unref);
  g_clear_pointer (&self->owner_slot, sd_bus_slot_unref);
  g_clear_pointer (&self->vtable_slot, sd_bus_slot_unref);
  eipc_send_window_clear (&self->send_window);
  g_clear_object (&self->spare_event);
  g_clear_object (&self->spare_invoke);
  g_clear_object (&self->reattach);
  if (self->source != NULL)
    {
      g_source_destroy (self->source);
      g_clear_pointer (&self->source, g_source_unref);
    }
  g_clear_pointer (&self->calls, eipc_calls_free);
  g_clear_pointer (&self->bus, sd_bus_flush_close_unref);
  g_clear_pointer (&self->pending, eipc_call_pending_free);
  eipc_listener_list_clear (&self->host_listeners);
  g_clear_error (&self->init_error);
  eipc_match_check_clear (&self->match_check);
  g_free (self->app_id);
  g_free (self->address);
  g_free (self->base_path);
  g_free (self->broadcast_path);
  g_free (self->path);
  g_free (self->main_name);
  g_free (self->main_exe);

  G_OBJECT_CLASS (eipc_renderer_parent_class)->finalize (object);
}

static void
eipc_renderer_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  EipcRenderer *self = EIPC_RENDERER (object);

  switch (prop_id)
    {
    case PROP_APP_ID:
      g_value_set_string (value, self->app_id);
      break;
    case PROP_ADDRESS:
      g_value_set_string (value, self->address);
      break;
    case PROP_HOST_ID:
      g_value_set_uint64 (value, self->host_id);
      break;
    case PROP_ID:
      g_value_set_uint64 (value, self->id);
      break;
    case PROP_ATTACHED:
      g_value_set_boolean (value, self->attached);
      break;
    case PROP_SYNC_TIMEOUT:
      g_value_set_uint (value, self->sync_timeout);
      break;
    case PROP_AUTO_REATTACH:
      g_value_set_boolean (value, self->auto_reattach);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
eipc_renderer_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  EipcRenderer *self = EIPC_RENDERER (object);

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
    case PROP_HOST_ID:
      self->host_id = g_value_get_uint64 (value);
      break;
    case PROP_SYNC_TIMEOUT:
      eipc_renderer_set_sync_timeout (self, g_value_get_uint (value));
      break;
    case PROP_AUTO_REATTACH:
      eipc_renderer_set_auto_reattach (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
eipc_renderer_class_init (EipcRendererClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = eipc_renderer_dispose;
  object_class->finalize = eipc_renderer_finalize;
  object_class->get_property = eipc_renderer_get_property;
  object_class->set_property = eipc_renderer_set_property;

  /**
   * EipcRenderer:app-id:
   *
   * The app id of the main process to attach to (its well-known bus
   * name, such as `org.example.Editor`). Construct-only; checked by
   * g_initable_init().
   *
   * Since: 1.0
   */
  props[PROP_APP_ID] =
    g_param_spec_string ("app-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * EipcRenderer:address:
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
   * EipcRenderer:host-id:
   *
   * For a guest (a webview), the webContentsId of its host; 0 for a
   * renderer that is not a guest. Construct-only.
   *
   * Since: 1.0
   */
  props[PROP_HOST_ID] =
    g_param_spec_uint64 ("host-id", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * EipcRenderer:id:
   *
   * The webContentsId the main process gave this renderer; 0 before it
   * first attached. A new one after every (re-)attach.
   *
   * Since: 1.0
   */
  props[PROP_ID] =
    g_param_spec_uint64 ("id", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * EipcRenderer:attached:
   *
   * Whether the renderer is attached to a live main process. Becomes
   * %FALSE when the main process exits or the bus goes away, %TRUE again
   * when it re-attaches (see #EipcRenderer:auto-reattach).
   *
   * Since: 1.0
   */
  props[PROP_ATTACHED] =
    g_param_spec_boolean ("attached", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS);

  /**
   * EipcRenderer:sync-timeout:
   *
   * How long eipc_renderer_send_sync() waits, in milliseconds; setting 0
   * restores the default (%EIPC_SYNC_TIMEOUT_DEFAULT).
   *
   * Since: 1.0
   */
  props[PROP_SYNC_TIMEOUT] =
    g_param_spec_uint ("sync-timeout", NULL, NULL, 0, G_MAXUINT,
                       EIPC_SYNC_TIMEOUT_DEFAULT,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  /**
   * EipcRenderer:auto-reattach:
   *
   * Whether the renderer attaches again, by itself, when a new main
   * process owns the app name after the old one exited.
   *
   * Since: 1.0
   */
  props[PROP_AUTO_REATTACH] =
    g_param_spec_boolean ("auto-reattach", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, props);

  /**
   * EipcRenderer::main-exited:
   * @self: the #EipcRenderer
   *
   * The main process this renderer attached to is gone (it exited,
   * crashed, or the bus closed). Calls in flight have failed with
   * %EIPC_ERROR_DISCONNECTED, and sends fail until the renderer attaches
   * again.
   *
   * Since: 1.0
   */
  signals[SIGNAL_MAIN_EXITED] =
    g_signal_new ("main-exited", G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * EipcRenderer::attached:
   * @self: the #EipcRenderer
   * @id: the new webContentsId
   *
   * The renderer attached again, automatically, to a new main process
   * (see eipc_renderer_set_auto_reattach()).
   *
   * Since: 1.0
   */
  signals[SIGNAL_ATTACHED] =
    g_signal_new ("attached", G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_UINT64);

  /**
   * EipcRenderer::disconnected:
   * @self: the #EipcRenderer
   *
   * The bus connection closed; the renderer cannot attach again.
   *
   * Since: 1.0
   */
  signals[SIGNAL_DISCONNECTED] =
    g_signal_new ("disconnected", G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * EipcRenderer::check-main:
   * @self: the #EipcRenderer
   * @unique_name: the unique bus name that owns the app name
   * @uid: its user id, from the bus
   * @executable: (nullable): its executable (`/proc/PID/exe`), %NULL when
   *   it cannot be read
   *
   * Decides whether the process that owns the app name may be this
   * renderer's main process, before the renderer attaches to it
   * (first attach, eipc_renderer_reattach() and automatic re-attach).
   * Without a handler, the first main process is accepted and every
   * later one must have the same uid and executable; a renderer that
   * refuses one stays detached (an automatic re-attach logs why).
   *
   * Returns: %TRUE to attach to it
   *
   * Since: 1.0
   */
  signals[SIGNAL_CHECK_MAIN] =
    g_signal_new ("check-main", G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST, 0, g_signal_accumulator_first_wins, NULL,
                  NULL, G_TYPE_BOOLEAN, 3, G_TYPE_STRING, G_TYPE_UINT,
                  G_TYPE_STRING);
}

static void
eipc_renderer_init (EipcRenderer *self)
{
  eipc_listener_list_init (&self->host_listeners);
  self->pending = eipc_call_pending_new ();
  self->sync_timeout = EIPC_SYNC_TIMEOUT_DEFAULT;
}

/* The bus driver's answer to an AddMatch (renderer_prepare()). */
static int
renderer_match_installed (sd_bus_message *reply,
                          void           *userdata,
                          sd_bus_error   *ret_error)
{
  EipcRenderer *self = userdata;

  eipc_match_check_installed (&self->match_check, reply);
  return 1;
}

/* Everything before Attach: the paths, the connection, the match rules
 * (both before Attach, so nothing sent after it is missed). Nothing here
 * waits for the bus: the match rules go out asynchronously, and their
 * answers, which the bus sends before it answers GetNameOwner, are
 * checked with that answer (sd_bus_add_match() would take a forged
 * one). */
static gboolean
renderer_prepare (EipcRenderer  *self,
                  GError       **error)
{
  g_autofree char *rule = NULL;
  int r;

  /* A renderer launched by eipc_main_spawn_renderer() is told where its
   * main process is. */
  if (self->app_id == NULL)
    {
      self->app_id = g_strdup (g_getenv ("EIPC_APP_ID"));
      if (self->app_id == NULL)
        {
          g_set_error_literal (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                               "No app id given, and EIPC_APP_ID is not set "
                               "(only a renderer launched by "
                               "eipc_main_spawn_renderer() has it)");
          return FALSE;
        }
      if (self->address == NULL)
        self->address = g_strdup (g_getenv ("EIPC_ADDRESS"));
    }
  if (!eipc_app_id_check (self->app_id, error))
    return FALSE;
  self->base_path = eipc_app_id_to_path (self->app_id);
  self->broadcast_path = g_strconcat (self->base_path, EIPC_WEB_CONTENTS_SUFFIX, NULL);

  r = eipc_bus_open (self->address, &self->bus);
  if (r < 0)
    {
      eipc_set_error_from_errno (error, r, self->address != NULL
                                 ? "Cannot connect to the bus"
                                 : "Cannot connect to the session bus");
      return FALSE;
    }
  /* The source first: the callbacks defer their work to it. */
  self->source = eipc_bus_source_new (self->bus, renderer_bus_closed, self);
  self->calls = eipc_calls_new (self->bus);
  eipc_calls_set_source (self->calls, self->source);

  rule = g_strdup_printf ("type='signal',interface='" EIPC_WEB_CONTENTS_INTERFACE
                          "',path_namespace='%s'", self->broadcast_path);
  r = sd_bus_add_match_async (self->bus, &self->message_slot, rule,
                              on_web_contents_signal, renderer_match_installed, self);
  if (r < 0)
    goto fail;
  g_free (rule);
  /* No sender='org.freedesktop.DBus': sd-bus would let every message
   * through that test (it does not know which well-known names a sender
   * has) and take the longer way down its match tree for each of them;
   * on_main_owner_changed() checks the sender instead. */
  rule = g_strdup_printf ("type='signal',path='/org/freedesktop/DBus',"
                          "interface='org.freedesktop.DBus',"
                          "member='NameOwnerChanged',arg0='%s'", self->app_id);
  r = sd_bus_add_match_async (self->bus, &self->owner_slot, rule,
                              on_main_owner_changed, renderer_match_installed, self);
  if (r < 0)
    goto fail;
  return TRUE;

fail:
  eipc_set_error_from_errno (error, r, "Cannot set up the renderer");
  return FALSE;
}

/* GInitable: connects and attaches, blocking the thread (not its main
 * context's other sources: nothing is dispatched meanwhile). */
static gboolean
renderer_initable_init (GInitable     *initable,
                        GCancellable  *cancellable,
                        GError       **error)
{
  EipcRenderer *self = EIPC_RENDERER (initable);

  if (!self->init_started)
    {
      self->init_started = TRUE;
      if (renderer_prepare (self, &self->init_error))
        renderer_attach (self, &self->init_error);
      self->init_done = TRUE;
    }
  else if (!self->init_done)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PENDING,
                           "The renderer is being initialized asynchronously");
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
renderer_initable_iface_init (GInitableIface *iface)
{
  iface->init = renderer_initable_init;
}

/* GAsyncInitable: the steps of renderer_attach(), each an asynchronous
 * call whose reply is checked (eipc-call.c); the main context goes on
 * running meanwhile. */
static void
init_fail (EipcRenderer *self,
           GError       *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->init_task);

  g_prefix_error (&error, "Cannot attach to the main process of %s: ",
                  self->app_id);
  self->init_done = TRUE;
  self->init_error = error;
  if (task != NULL)
    g_task_return_error (task, g_error_copy (error));
}

static void
init_step (EipcRenderer        *self,
           sd_bus_message      *call,
           GAsyncReadyCallback  next,
           char                *owner)
{
  g_autoptr(GTask) step = g_task_new (self, NULL, next, owner);

  eipc_call_start (self->calls, call, step, EIPC_CALL_RESULT_MESSAGE, 0,
                   self->pending);
}

static void
init_attached (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  EipcRenderer *self = EIPC_RENDERER (source);
  g_autofree char *owner = user_data;
  g_autoptr(sd_bus_message) reply = NULL;
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  int r;

  reply = g_task_propagate_pointer (G_TASK (result), &error);
  if (reply == NULL)
    {
      init_fail (self, error);
      return;
    }
  r = renderer_take_attach_reply (self, reply, owner);
  if (r < 0)
    {
      eipc_set_error_from_errno (&error, r, "Bad reply to Attach");
      init_fail (self, error);
      return;
    }
  task = g_steal_pointer (&self->init_task);
  self->init_done = TRUE;
  if (task != NULL)
    g_task_return_boolean (task, TRUE);
}

static void
init_checked (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  EipcRenderer *self = EIPC_RENDERER (source);
  g_autofree char *owner = user_data;
  g_autoptr(sd_bus_message) reply = NULL;
  g_autoptr(sd_bus_message) call = NULL;
  GError *error = NULL;
  int r;

  reply = g_task_propagate_pointer (G_TASK (result), &error);
  if (reply == NULL || !renderer_check_main (self, owner, reply, &error))
    {
      init_fail (self, error);
      return;
    }
  g_free (self->main_name);
  self->main_name = g_strdup (owner);
  r = renderer_new_attach_call (self, owner, &call);
  if (r < 0)
    {
      eipc_set_error_from_errno (&error, r, "Cannot attach");
      init_fail (self, error);
      return;
    }
  init_step (self, call, init_attached, g_steal_pointer (&owner));
}

static void
init_owner_known (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  EipcRenderer *self = EIPC_RENDERER (source);
  g_autoptr(sd_bus_message) reply = NULL;
  g_autoptr(sd_bus_message) call = NULL;
  GError *error = NULL;
  const char *name = NULL;
  int r;

  reply = g_task_propagate_pointer (G_TASK (result), &error);
  /* The bus answered the match rules before GetNameOwner. */
  if (reply == NULL || !eipc_match_check_result (&self->match_check, &error))
    {
      init_fail (self, error);
      return;
    }
  r = sd_bus_message_read_basic (reply, 's', &name);
  if (r == 0 || (r > 0 && !g_dbus_is_unique_name (name)))
    r = -EBADMSG;
  if (r >= 0)
    r = renderer_new_driver_call (self, "GetConnectionCredentials", name, &call);
  if (r < 0)
    {
      eipc_set_error_from_errno (&error, r, "D-Bus call failed");
      init_fail (self, error);
      return;
    }
  init_step (self, call, init_checked, g_strdup (name));
}

static void
renderer_init_async (GAsyncInitable      *initable,
                     int                  io_priority,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  EipcRenderer *self = EIPC_RENDERER (initable);
  g_autoptr(GTask) task = NULL;
  g_autoptr(sd_bus_message) call = NULL;
  int r;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, renderer_init_async);
  g_task_set_priority (task, io_priority);

  if (self->init_started)
    {
      if (!self->init_done)
        g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                                 "The renderer is being initialized");
      else if (self->init_error != NULL)
        g_task_return_error (task, g_error_copy (self->init_error));
      else
        g_task_return_boolean (task, TRUE);
      return;
    }
  self->init_started = TRUE;

  if (!renderer_prepare (self, &self->init_error))
    {
      self->init_done = TRUE;
      g_task_return_error (task, g_error_copy (self->init_error));
      return;
    }
  r = renderer_new_driver_call (self, "GetNameOwner", self->app_id, &call);
  if (r < 0)
    {
      self->init_done = TRUE;
      eipc_set_error_from_errno (&self->init_error, r, "Cannot attach");
      g_task_return_error (task, g_error_copy (self->init_error));
      return;
    }
  /* The task keeps the renderer alive until Attach is answered (or the
   * connection closes, which fails the call). */
  self->init_task = g_steal_pointer (&task);
  init_step (self, call, init_owner_known, NULL);
}

static gboolean
renderer_init_finish (GAsyncInitable  *initable,
                      GAsyncResult    *result,
                      GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, initable), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
renderer_async_initable_iface_init (GAsyncInitableIface *iface)
{
  iface->init_async = renderer_init_async;
  iface->init_finish = renderer_init_finish;
}

/**
 * eipc_renderer_new:
 * @app_id: (nullable): the app id of the main process to attach to, or
 *   %NULL for the one in `EIPC_APP_ID` (then a %NULL @address means the
 *   bus in `EIPC_ADDRESS`), which eipc_main_spawn_renderer() sets
 * @error: return location for a #GError
 *
 * Connects to the session bus and attaches to the main process of
 * @app_id, which gives the renderer its webContentsId. The object belongs
 * to the thread-default main context.
 *
 * Returns: (transfer full): the renderer, or %NULL with @error set
 *   (%EIPC_ERROR_DISCONNECTED when no main process runs)
 *
 * Since: 1.0
 */
EipcRenderer *
eipc_renderer_new (const char  *app_id,
                   GError     **error)
{
  return eipc_renderer_new_guest (app_id, NULL, 0, error);
}

/**
 * eipc_renderer_new_for_address:
 * @app_id: (nullable): the app id of the main process to attach to, or
 *   %NULL for the one in `EIPC_APP_ID` (then a %NULL @address means the
 *   bus in `EIPC_ADDRESS`), which eipc_main_spawn_renderer() sets
 * @address: (nullable): a D-Bus address, %NULL for the session bus
 * @error: return location for a #GError
 *
 * Like eipc_renderer_new(), on the bus at @address.
 *
 * Returns: (transfer full): the renderer, or %NULL with @error set
 *
 * Since: 1.0
 */
EipcRenderer *
eipc_renderer_new_for_address (const char  *app_id,
                               const char  *address,
                               GError     **error)
{
  return eipc_renderer_new_guest (app_id, address, 0, error);
}

/**
 * eipc_renderer_new_guest:
 * @app_id: (nullable): the app id of the main process to attach to, or
 *   %NULL for the one in `EIPC_APP_ID` (then a %NULL @address means the
 *   bus in `EIPC_ADDRESS`), which eipc_main_spawn_renderer() sets
 * @address: (nullable): a D-Bus address, %NULL for the session bus
 * @host_id: the webContentsId of the host (the embedder of this webview),
 *   or 0 for none
 * @error: return location for a #GError
 *
 * Like eipc_renderer_new_for_address(), attaching as a guest of the
 * webContents @host_id, so eipc_renderer_send_to_host() reaches it.
 *
 * Returns: (transfer full): the renderer, or %NULL with @error set
 *   (%EIPC_ERROR_NO_SUCH_WEB_CONTENTS if @host_id is not attached)
 *
 * Since: 1.0
 */
EipcRenderer *
eipc_renderer_new_guest (const char  *app_id,
                         const char  *address,
                         guint64      host_id,
                         GError     **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_initable_new (EIPC_TYPE_RENDERER, NULL, error,
                         "app-id", app_id,
                         "address", address,
                         "host-id", host_id,
                         NULL);
}

/**
 * eipc_renderer_new_async:
 * @app_id: the app id of the main process to attach to
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the renderer is attached, or failed to
 * @user_data: (closure): data for @callback
 *
 * Like eipc_renderer_new(), without blocking: connects to the session
 * bus and sends Attach, and the thread-default main context goes on
 * running until the answer comes. Finish with eipc_renderer_new_finish().
 * For another bus or a guest, use g_async_initable_new_async() with the
 * #EipcRenderer:address and #EipcRenderer:host-id properties.
 *
 * Since: 1.0
 */
void
eipc_renderer_new_async (const char          *app_id,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  g_async_initable_new_async (EIPC_TYPE_RENDERER, G_PRIORITY_DEFAULT,
                              cancellable, callback, user_data,
                              "app-id", app_id, NULL);
}

/**
 * eipc_renderer_new_finish:
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes eipc_renderer_new_async() (or g_async_initable_new_async()
 * of an #EipcRenderer).
 *
 * Returns: (transfer full): the attached renderer, or %NULL with @error
 *   set
 *
 * Since: 1.0
 */
EipcRenderer *
eipc_renderer_new_finish (GAsyncResult  *result,
                          GError       **error)
{
  g_autoptr(GObject) source = NULL;

  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  source = g_async_result_get_source_object (result);
  return EIPC_RENDERER (g_async_initable_new_finish (G_ASYNC_INITABLE (source),
                                                     result, error));
}

/**
 * eipc_renderer_get_id:
 * @self: an #EipcRenderer
 *
 * Gets the webContentsId the main process gave this renderer.
 *
 * Returns: the webContentsId
 *
 * Since: 1.0
 */
guint64
eipc_renderer_get_id (EipcRenderer *self)
{
  g_return_val_if_fail (EIPC_IS_RENDERER (self), 0);
  return self->id;
}

/**
 * eipc_renderer_get_host_id:
 * @self: an #EipcRenderer
 *
 * Gets the webContentsId of the host of a guest renderer.
 *
 * Returns: the host's id, or 0 when this renderer is not a guest
 *
 * Since: 1.0
 */
guint64
eipc_renderer_get_host_id (EipcRenderer *self)
{
  g_return_val_if_fail (EIPC_IS_RENDERER (self), 0);
  return self->host_id;
}

/**
 * eipc_renderer_get_app_id:
 * @self: an #EipcRenderer
 *
 * Gets the app id.
 *
 * Returns: (transfer none): the app id
 *
 * Since: 1.0
 */
const char *
eipc_renderer_get_app_id (EipcRenderer *self)
{
  g_return_val_if_fail (EIPC_IS_RENDERER (self), NULL);
  return self->app_id;
}

/**
 * eipc_renderer_get_object_path:
 * @self: an #EipcRenderer
 *
 * Gets this renderer's webContents path, `BASE/WebContents/ID`.
 *
 * Returns: (transfer none): the object path
 *
 * Since: 1.0
 */
const char *
eipc_renderer_get_object_path (EipcRenderer *self)
{
  g_return_val_if_fail (EIPC_IS_RENDERER (self), NULL);
  return self->path;
}

/**
 * eipc_renderer_is_attached:
 * @self: an #EipcRenderer
 *
 * Tells whether the renderer is attached to a live main process.
 *
 * Returns: %TRUE while attached
 *
 * Since: 1.0
 */
gboolean
eipc_renderer_is_attached (EipcRenderer *self)
{
  g_return_val_if_fail (EIPC_IS_RENDERER (self), FALSE);
  return self->attached;
}

/**
 * eipc_renderer_set_sync_timeout:
 * @self: an #EipcRenderer
 * @timeout_msec: the timeout in milliseconds, 0 for the default
 *
 * Sets how long eipc_renderer_send_sync() waits for its return value
 * before it fails with %EIPC_ERROR_TIMEOUT.
 *
 * Since: 1.0
 */
void
eipc_renderer_set_sync_timeout (EipcRenderer *self,
                                guint         timeout_msec)
{
  g_return_if_fail (EIPC_IS_RENDERER (self));

  timeout_msec = timeout_msec != 0 ? timeout_msec : EIPC_SYNC_TIMEOUT_DEFAULT;
  if (self->sync_timeout == timeout_msec)
    return;
  self->sync_timeout = timeout_msec;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_SYNC_TIMEOUT]);
}

/**
 * eipc_renderer_get_sync_timeout:
 * @self: an #EipcRenderer
 *
 * Gets the sendSync timeout.
 *
 * Returns: the timeout in milliseconds
 *
 * Since: 1.0
 */
guint
eipc_renderer_get_sync_timeout (EipcRenderer *self)
{
  g_return_val_if_fail (EIPC_IS_RENDERER (self), 0);
  return self->sync_timeout;
}

/**
 * eipc_renderer_set_invoke_timeout:
 * @self: an #EipcRenderer
 * @timeout_msec: the timeout in milliseconds, 0 for none
 *
 * Sets how long eipc_renderer_invoke() waits for the main process's
 * answer before it fails with %EIPC_ERROR_TIMEOUT. By default (0) an
 * invoke waits as long as the handler takes, as Electron's
 * `ipcRenderer.invoke` does (a handler may wait for a user's answer in
 * a dialog). Applies to invokes started afterwards.
 *
 * Since: 1.0
 */
void
eipc_renderer_set_invoke_timeout (EipcRenderer *self,
                                  guint         timeout_msec)
{
  g_return_if_fail (EIPC_IS_RENDERER (self));
  self->invoke_timeout = timeout_msec;
}

/**
 * eipc_renderer_get_invoke_timeout:
 * @self: an #EipcRenderer
 *
 * Gets the invoke timeout set with eipc_renderer_set_invoke_timeout().
 *
 * Returns: the timeout in milliseconds, 0 for none (the default)
 *
 * Since: 1.0
 */
guint
eipc_renderer_get_invoke_timeout (EipcRenderer *self)
{
  g_return_val_if_fail (EIPC_IS_RENDERER (self), 0);
  return self->invoke_timeout;
}

/**
 * eipc_renderer_set_auto_reattach:
 * @self: an #EipcRenderer
 * @auto_reattach: whether to attach again when a main process comes back
 *
 * When set, a renderer whose main process exited attaches again as soon
 * as a new main process owns the app name, gets a fresh webContentsId
 * and emits #EipcRenderer::attached.
 *
 * Since: 1.0
 */
void
eipc_renderer_set_auto_reattach (EipcRenderer *self,
                                 gboolean      auto_reattach)
{
  g_return_if_fail (EIPC_IS_RENDERER (self));
  auto_reattach = !!auto_reattach;
  if (self->auto_reattach == auto_reattach)
    return;
  self->auto_reattach = auto_reattach;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_AUTO_REATTACH]);
}

/**
 * eipc_renderer_reattach:
 * @self: an #EipcRenderer
 * @error: return location for a #GError
 *
 * Attaches again, now (blocking), to the main process that owns the app
 * name, which gives a fresh webContentsId. Does nothing while attached.
 *
 * Returns: %TRUE when attached; %FALSE with @error set otherwise
 *
 * Since: 1.0
 */
gboolean
eipc_renderer_reattach (EipcRenderer  *self,
                        GError       **error)
{
  g_return_val_if_fail (EIPC_IS_RENDERER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->attached)
    return TRUE;
  return renderer_attach (self, error);
}

/**
 * eipc_renderer_on:
 * @self: an #EipcRenderer
 * @channel: the channel
 * @listener: (scope notified): the listener
 * @user_data: (closure): data for @listener
 * @destroy: (nullable): frees @user_data when the listener goes
 *
 * `ipcRenderer.on`: @listener runs for every message on @channel, after the
 * listeners added before it. See [method@Eipc.Emitter.on].
 *
 * Returns: the listener's id (never 0), for eipc_renderer_remove_listener_by_id()
 *
 * Since: 1.0
 */
guint
eipc_renderer_on (EipcRenderer     *self,
                  const char       *channel,
                  EipcListenerFunc  listener,
                  gpointer          user_data,
                  GDestroyNotify    destroy)
{
  g_return_val_if_fail (EIPC_IS_RENDERER (self), 0);
  return eipc_emitter_on (EIPC_EMITTER (self), channel, listener, user_data, destroy);
}

/**
 * eipc_renderer_once:
 * @self: an #EipcRenderer
 * @channel: the channel
 * @listener: (scope notified): the listener
 * @user_data: (closure): data for @listener
 * @destroy: (nullable): frees @user_data when the listener goes
 *
 * `ipcRenderer.once`: like eipc_renderer_on(), but the listener is removed
 * before it runs for the first message.
 *
 * Returns: the listener's id (never 0)
 *
 * Since: 1.0
 */
guint
eipc_renderer_once (EipcRenderer     *self,
                    const char       *channel,
                    EipcListenerFunc  listener,
                    gpointer          user_data,
                    GDestroyNotify    destroy)
{
  g_return_val_if_fail (EIPC_IS_RENDERER (self), 0);
  return eipc_emitter_once (EIPC_EMITTER (self), channel, listener, user_data, destroy);
}

/**
 * eipc_renderer_prepend_listener:
 * @self: an #EipcRenderer
 * @channel: the channel
 * @listener: (scope notified): the listener
 * @user_data: (closure): data for @listener
 * @destroy: (nullable): frees @user_data when the listener goes
 *
 * `ipcRenderer.prependListener`: like eipc_renderer_on(), but @listener runs
 * before the listeners already there.
 *
 * Returns: the listener's id (never 0)
 *
 * Since: 1.0
 */
guint
eipc_renderer_prepend_listener (EipcRenderer     *self,
                                const char       *channel,
                                EipcListenerFunc  listener,
                                gpointer          user_data,
                                GDestroyNotify    destroy)
{
  g_return_val_if_fail (EIPC_IS_RENDERER (self), 0);
  return eipc_emitter_prepend_listener (EIPC_EMITTER (self), channel, listener, user_data, destroy);
}

/**
 * eipc_renderer_remove_listener: (skip)
 * @self: an #EipcRenderer
 * @channel: the channel
 * @listener: (scope notified): the listener
 * @user_data: the data it was added with
 *
 * `ipcRenderer.removeListener`: removes the listener of @channel with this
 * function and data that is nearest the end of the list.
 *
 * A binding (Python, JavaScript) cannot name the C function it added, so
 * it removes a listener with eipc_renderer_remove_listener_by_id() instead;
 * this function is not in the introspection data.
 *
 * Returns: %TRUE if a listener was removed
 *
 * Since: 1.0
 */
gboolean
eipc_renderer_remove_listener (EipcRenderer     *self,
                               const char       *channel,
                               EipcListenerFunc  listener,
                               gpointer          user_data)
{
  g_return_val_if_fail (EIPC_IS_RENDERER (self), FALSE);
  return eipc_emitter_remove_listener (EIPC_EMITTER (self), channel, listener, user_data);
}

/**
 * eipc_renderer_remove_listener_by_id:
 * @self: an #EipcRenderer
 * @listener_id: an id from eipc_renderer_on(), eipc_renderer_once(),
 *   eipc_renderer_prepend_listener() or eipc_renderer_on_host_message()
 *
 * Removes one listener by its id.
 *
 * Returns: %TRUE if a listener was removed
 *
 * Since: 1.0
 */
gboolean
eipc_renderer_remove_listener_by_id (EipcRenderer *self,
                                     guint         listener_id)
{
  g_return_val_if_fail (EIPC_IS_RENDERER (self), FALSE);
  return eipc_emitter_remove_listener_by_id (EIPC_EMITTER (self), listener_id) ||
         eipc_listener_list_remove_by_id (&self->host_listeners, listener_id);
}

/**
 * eipc_renderer_remove_all_listeners:
 * @self: an #EipcRenderer
 * @channel: (nullable): a channel, or %NULL for every channel
 *
 * `ipcRenderer.removeAllListeners`. Handlers stay.
 *
 * Since: 1.0
 */
void
eipc_renderer_remove_all_listeners (EipcRenderer *self,
                                    const char   *channel)
{
  g_return_if_fail (EIPC_IS_RENDERER (self));
  eipc_emitter_remove_all_listeners (EIPC_EMITTER (self), channel);
}

/**
 * eipc_renderer_listener_count:
 * @self: an #EipcRenderer
 * @channel: the channel
 *
 * `ipcRenderer.listenerCount`.
 *
 * Returns: the number of listeners of @channel
 *
 * Since: 1.0
 */
guint
eipc_renderer_listener_count (EipcRenderer *self,
                              const char   *channel)
{
  g_return_val_if_fail (EIPC_IS_RENDERER (self), 0);
  return eipc_emitter_listener_count (EIPC_EMITTER (self), channel);
}

/**
 * eipc_renderer_on_host_message:
 * @self: an #EipcRenderer
 * @listener: (scope notified): the listener
 * @user_data: (closure): data for @listener
 * @destroy: (nullable): frees @user_data when the listener goes
 *
 * The `ipc-message` event of a webview element: @listener runs for every
 * eipc_renderer_send_to_host() of this renderer's guests, whatever the
 * channel; eipc_event_get_channel() and eipc_event_get_sender_id() (the
 * guest's id) tell which.
 *
 * Returns: the listener's id, for eipc_renderer_remove_listener_by_id()
 *
 * Since: 1.0
 */
guint
eipc_renderer_on_host_message (EipcRenderer     *self,
                               EipcListenerFunc  listener,
                               gpointer          user_data,
                               GDestroyNotify    destroy)
{
  g_return_val_if_fail (EIPC_IS_RENDERER (self), 0);
  g_return_val_if_fail (listener != NULL, 0);
  return eipc_listener_list_add (&self->host_listeners, HOST_MESSAGE_KEY,
                                 listener, user_data, destroy, 0);
}

/**
 * eipc_renderer_send:
 * @self: an #EipcRenderer
 * @channel: the channel
 * @args: (nullable): the arguments, %NULL for none
 * @error: return location for a #GError
 *
 * `ipcRenderer.send`: one D-Bus signal from this renderer's path to the
 * main process, whose listeners of @channel run. Messages of one renderer
 * arrive in the order they were sent, across send, invoke and sendSync.
 *
 * Returns: %TRUE if the message was queued; %FALSE with @error set
 *   otherwise (%EIPC_ERROR_DISCONNECTED once the main process is gone)
 *
 * Since: 1.0
 */
gboolean
eipc_renderer_send (EipcRenderer  *self,
                    const char    *channel,
                    JsonArray     *args,
                    GError       **error)
{
  g_autofree char *text = NULL;

  g_return_val_if_fail (EIPC_IS_RENDERER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  text = eipc_json_array_to_string (args);
  return eipc_renderer_send_json (self, channel, text, error);
}

/* The send window's blocking ping, checked by eipc-call.c like every
 * call of the renderer (EipcBlockingCallFunc). */
static gboolean
renderer_call_blocking (gpointer         data,
                        sd_bus_message  *message,
                        guint64          timeout_usec,
                        sd_bus_message **reply,
                        GError         **error)
{
  EipcRenderer *self = data;

  return eipc_calls_call_blocking (self->calls, message, timeout_usec, reply, error);
}

/**
 * eipc_renderer_send_json:
 * @self: an #EipcRenderer
 * @channel: the channel
 * @args_json: the arguments as the text of a JSON array
 * @error: return location for a #GError
 *
 * Like eipc_renderer_send(), with the arguments as JSON text.
 *
 * Returns: %TRUE if the message was queued; %FALSE with @error set
 *   otherwise
 *
 * Since: 1.0
 */
gboolean
eipc_renderer_send_json (EipcRenderer  *self,
                         const char    *channel,
                         const char    *args_json,
                         GError       **error)
{
  g_autoptr(sd_bus_message) m = NULL;
  int r;

  g_return_val_if_fail (EIPC_IS_RENDERER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!renderer_check_attached (self, error) ||
      !eipc_channel_check (channel, error) ||
      !eipc_args_check (args_json, error) ||
      !eipc_bus_check_queue (self->bus, error) ||
      !eipc_send_window_check (&self->send_window, self->bus, self->main_name,
                               "the main process", renderer_call_blocking, self,
                               error))
    return FALSE;

  r = sd_bus_message_new_signal (self->bus, &m, self->path,
                                 EIPC_RENDERER_INTERFACE, "Message");
  if (r >= 0)
    r = eipc_message_append_strings (m, channel, args_json);
  if (r >= 0)
    r = sd_bus_send_to (self->bus, m, self->main_name, NULL);
  if (r < 0)
    {
      eipc_set_error_from_errno (error, r, "Cannot send");
      return FALSE;
    }
  eipc_send_window_sent (&self->send_window, self->bus,
                         strlen (channel) + strlen (args_json));
  return TRUE;
}

/**
 * eipc_renderer_post_message:
 * @self: an #EipcRenderer
 * @channel: the channel
 * @message: (nullable): the message, any JSON value (%NULL: JSON null)
 * @ports: (nullable) (element-type EipcMessagePort): message ports to
 *   transfer with the message, or %NULL
 * @error: return location for a #GError
 *
 * `ipcRenderer.postMessage(channel, message, [transfer])`: sends
 * @message to the main process's listeners of @channel, which get it as
 * their one argument, with @ports in eipc_event_get_ports(). The ports
 * travel as file descriptors (org.eipc.Main1.PostMessage()) and can no
 * longer be used here; messages posted to them and not yet delivered
 * here go with them. One-way, like eipc_renderer_send() and Electron's
 * `ipcRenderer.postMessage`: what only the main process can refuse (a
 * message over its eipc_main_set_limits() size, a sender it does not
 * know) cannot fail this call; the main process reports it with
 * #EipcMain::message-rejected and closes the ports, so the ends kept
 * here emit #EipcMessagePort::close.
 *
 * Returns: %TRUE if the message was queued; %FALSE with @error set when
 *   not attached, when @channel, @message or @ports is not valid, or when
 *   the bus connection cannot pass file descriptors
 *
 * Since: 1.0
 */
gboolean
eipc_renderer_post_message (EipcRenderer  *self,
                            const char    *channel,
                            JsonNode      *message,
                            GPtrArray     *ports,
                            GError       **error)
{
  g_autofree char *json = NULL;

  g_return_val_if_fail (EIPC_IS_RENDERER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  json = message != NULL ? eipc_json_node_to_string (message) : g_strdup ("null");
  return eipc_renderer_post_message_json (self, channel, json, ports, error);
}

/**
 * eipc_renderer_post_message_json:
 * @self: an #EipcRenderer
 * @channel: the channel
 * @message_json: the message as JSON text (any JSON value)
 * @ports: (nullable) (element-type EipcMessagePort): message ports to
 *   transfer with the message, or %NULL
 * @error: return location for a #GError
 *
 * Like eipc_renderer_post_message(), with the message as JSON text.
 *
 * Returns: %TRUE if the message was queued
 *
 * Since: 1.0
 */
gboolean
eipc_renderer_post_message_json (EipcRenderer  *self,
                                 const char    *channel,
                                 const char    *message_json,
                                 GPtrArray     *ports,
                                 GError       **error)
{
  g_autoptr(sd_bus_message) m = NULL;
  int r;

  g_return_val_if_fail (EIPC_IS_RENDERER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!renderer_check_attached (self, error) ||
      !eipc_message_check_posted (channel, message_json, ports, error) ||
      !eipc_bus_check_fds (self->bus, ports, error) ||
      !eipc_bus_check_queue (self->bus, error))
    return FALSE;

  r = sd_bus_message_new_method_call (self->bus, &m, self->main_name,
                                      self->base_path, EIPC_MAIN_INTERFACE,
                                      "PostMessage");
  if (r >= 0)
    r = sd_bus_message_set_expect_reply (m, 0);
  if (r >= 0)
    r = eipc_message_append_strings (m, channel, message_json);
  if (r >= 0)
    r = eipc_message_append_ports (m, ports);
  if (r >= 0)
    r = sd_bus_send (self->bus, m, NULL);
  if (r < 0)
    {
      eipc_set_error_from_errno (error, r, "Cannot post");
      return FALSE;
    }
  eipc_message_ports_transferred (ports);
  return TRUE;
}

static void
renderer_call_main (EipcRenderer   *self,
                    gpointer        task,
                    guint64         timeout_usec,
                    const char     *member,
                    guint64         id,
                    const char     *channel,
                    const char     *args_json,
                    EipcCallResult  result)
{
  g_autoptr(sd_bus_message) m = NULL;
  g_autoptr(GError) error = NULL;
  int r;

  if (!renderer_check_attached (self, &error) ||
      !eipc_channel_check (channel, &error) ||
      !eipc_args_check (args_json, &error))
    {
      eipc_call_return_error (task, g_steal_pointer (&error));
      return;
    }

  r = sd_bus_message_new_method_call (self->bus, &m, self->main_name,
                                      self->base_path, EIPC_MAIN_INTERFACE,
                                      member);
  if (r >= 0 && id != 0)
    r = sd_bus_message_append (m, "t", id);
  if (r >= 0)
    r = eipc_message_append_strings (m, channel, args_json);
  if (r < 0)
    {
      eipc_set_error_from_errno (&error, r, "Cannot build the call");
      eipc_call_return_error (task, g_steal_pointer (&error));
      return;
    }
  eipc_call_start (self->calls, m, task, result, timeout_usec, self->pending);
}

/**
 * eipc_renderer_invoke:
 * @self: an #EipcRenderer
 * @channel: the channel
 * @args: (nullable): the arguments, %NULL for none
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the result
 * @user_data: (closure): data for @callback
 *
 * `ipcRenderer.invoke`: an asynchronous method call answered by the
 * handler of @channel in the main process. Fails with
 * %EIPC_ERROR_NO_HANDLER (`Error invoking remote method 'CHANNEL': Error: No handler registered for 'CHANNEL'`),
 * %EIPC_ERROR_HANDLER_FAILED (`Error invoking remote method 'CHANNEL':
 * Error: MESSAGE`), or %EIPC_ERROR_DISCONNECTED at once if the main process
 * exits first. It waits as long as the handler takes, as Electron's
 * invoke does, unless eipc_renderer_set_invoke_timeout() set a limit
 * (then %EIPC_ERROR_TIMEOUT).
 *
 * Since: 1.0
 */
void
eipc_renderer_invoke (EipcRenderer        *self,
                      const char          *channel,
                      JsonArray           *args,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_autofree char *text = NULL;

  g_return_if_fail (EIPC_IS_RENDERER (self));

  text = eipc_json_array_to_string (args);
  eipc_renderer_invoke_json (self, channel, text, cancellable, callback, user_data);
}

/**
 * eipc_renderer_invoke_json:
 * @self: an #EipcRenderer
 * @channel: the channel
 * @args_json: the arguments as the text of a JSON array
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the result
 * @user_data: (closure): data for @callback
 *
 * Like eipc_renderer_invoke(), with the arguments as JSON text.
 *
 * Since: 1.0
 */
void
eipc_renderer_invoke_json (EipcRenderer        *self,
                           const char          *channel,
                           const char          *args_json,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(EipcAsync) task = NULL;

  g_return_if_fail (EIPC_IS_RENDERER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  /* Not a GTask: an EipcAsync costs less per call (eipc-call.c), and
   * the one of the last invoke that nobody kept is used again. */
  task = eipc_async_new (self, cancellable, callback, user_data,
                         eipc_renderer_invoke_json, &self->spare_invoke);
  renderer_call_main (self, task, EIPC_CALL_TIMEOUT_USEC (self->invoke_timeout),
                      "Invoke", 0, channel, args_json,
                      EIPC_CALL_RESULT_JSON);
}

/**
 * eipc_renderer_invoke_finish:
 * @self: an #EipcRenderer
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes eipc_renderer_invoke().
 *
 * Returns: (transfer full): the value the handler resolved with, or
 *   %NULL with @error set
 *
 * Since: 1.0
 */
JsonNode *
eipc_renderer_invoke_finish (EipcRenderer  *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (EIPC_IS_RENDERER (self), NULL);
  g_return_val_if_fail (eipc_async_is_valid (result, self, eipc_renderer_invoke_json),
                        NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  return eipc_call_finish_node (result, error);
}

/**
 * eipc_renderer_invoke_finish_json:
 * @self: an #EipcRenderer
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes eipc_renderer_invoke() or eipc_renderer_invoke_json() with
 * the result as the text of one JSON value, as the main process sent it:
 * the text is checked, but no #JsonNode tree is built, so a caller that
 * wants text (to pass it on, print it or parse it its own way) pays for
 * neither the tree nor turning it back into text. Call either this or
 * eipc_renderer_invoke_finish(), once.
 *
 * Returns: (transfer full): the JSON text of the value the handler
 *   resolved with, or %NULL with @error set (as
 *   eipc_renderer_invoke_finish() sets it)
 *
 * Since: 1.0
 */
char *
eipc_renderer_invoke_finish_json (EipcRenderer  *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (EIPC_IS_RENDERER (self), NULL);
  g_return_val_if_fail (eipc_async_is_valid (result, self, eipc_renderer_invoke_json),
                        NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  return eipc_call_finish_text (result, error);
}

/**
 * eipc_renderer_send_sync:
 * @self: an #EipcRenderer
 * @channel: the channel
 * @args: (nullable): the arguments, %NULL for none
 * @error: return location for a #GError
 *
 * `ipcRenderer.sendSync`: a blocking method call; the listeners of
 * @channel in the main process run and one sets the return value. The
 * calling thread dispatches nothing else meanwhile, as in Electron;
 * messages that arrive are delivered afterwards, in order. Asynchronous
 * POSIX signals are held for the calling thread while it blocks and
 * delivered when the call returns.
 *
 * Returns: (transfer full): the return value, or %NULL with @error set:
 *   %EIPC_ERROR_NO_LISTENER at once without a listener,
 *   %EIPC_ERROR_NO_RETURN_VALUE when the listeners dropped the event,
 *   %EIPC_ERROR_TIMEOUT after eipc_renderer_get_sync_timeout(),
 *   %EIPC_ERROR_DISCONNECTED if the main process exits first
 *
 * Since: 1.0
 */
JsonNode *
eipc_renderer_send_sync (EipcRenderer  *self,
                         const char    *channel,
                         JsonArray     *args,
                         GError       **error)
{
  g_autofree char *text = NULL;

  g_return_val_if_fail (EIPC_IS_RENDERER (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  text = eipc_json_array_to_string (args);
  return eipc_renderer_send_sync_json (self, channel, text, error);
}

/**
 * eipc_renderer_send_sync_json:
 * @self: an #EipcRenderer
 * @channel: the channel
 * @args_json: the arguments as the text of a JSON array
 * @error: return location for a #GError
 *
 * Like eipc_renderer_send_sync(), with the arguments as JSON text.
 *
 * Returns: (transfer full): the return value, or %NULL with @error set
 *
 * Since: 1.0
 */
JsonNode *
eipc_renderer_send_sync_json (EipcRenderer  *self,
                              const char    *channel,
                              const char    *args_json,
                              GError       **error)
{
  g_autoptr(sd_bus_message) m = NULL;
  g_autoptr(sd_bus_message) reply = NULL;
  const char *text;
  int r;

  g_return_val_if_fail (EIPC_IS_RENDERER (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!renderer_check_attached (self, error) ||
      !eipc_channel_check (channel, error) ||
      !eipc_args_check (args_json, error))
    return NULL;

  r = sd_bus_message_new_method_call (self->bus, &m, self->main_name,
                                      self->base_path, EIPC_MAIN_INTERFACE,
                                      "SendSync");
  if (r >= 0)
    r = eipc_message_append_strings (m, channel, args_json);
  if (r < 0)
    {
      eipc_set_error_from_errno (error, r, "Cannot build the call");
      return NULL;
    }

  if (!eipc_calls_call_blocking (self->calls, m,
                                 (guint64) self->sync_timeout * 1000,
                                 &reply, error))
    return NULL;
  r = sd_bus_message_read_basic (reply, 's', &text);
  if (r == 0)
    r = -ENXIO;
  if (r < 0)
    {
      g_set_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                   "The reply is not (s): %s", g_strerror (-r));
      return NULL;
    }
  /* One pass checks and parses the return value (the caller's own
   * tree: not sealed). */
  return eipc_result_parse (text, error);
}

/**
 * eipc_renderer_send_to:
 * @self: an #EipcRenderer
 * @web_contents_id: the id of the receiving renderer
 * @channel: the channel
 * @args: (nullable): the arguments, %NULL for none
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (nullable): called when the main process routed the message,
 *   or %NULL to send and forget (a failure is then logged at debug level)
 * @user_data: (closure): data for @callback
 *
 * `ipcRenderer.sendTo`: routed through the main process, which delivers
 * the message on the target's path with this renderer's id as the sender
 * id (taken from the bus, never from the payload). Unlike Electron, a
 * target that is not attached is an error
 * (%EIPC_ERROR_NO_SUCH_WEB_CONTENTS), not a silent drop.
 *
 * Since: 1.0
 */
void
eipc_renderer_send_to (EipcRenderer        *self,
                       guint64              web_contents_id,
                       const char          *channel,
                       JsonArray           *args,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autofree char *text = NULL;

  g_return_if_fail (EIPC_IS_RENDERER (self));

  text = eipc_json_array_to_string (args);
  eipc_renderer_send_to_json (self, web_contents_id, channel, text,
                              cancellable, callback, user_data);
}

static void
log_routing_failure (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_debug ("eipc: a routed message was not delivered: %s", error->message);
}

/**
 * eipc_renderer_send_to_json:
 * @self: an #EipcRenderer
 * @web_contents_id: the id of the receiving renderer
 * @channel: the channel
 * @args_json: the arguments as the text of a JSON array
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (nullable): called when the main process routed the message
 * @user_data: (closure): data for @callback
 *
 * Like eipc_renderer_send_to(), with the arguments as JSON text, which
 * the main process passes on untouched.
 *
 * Since: 1.0
 */
void
eipc_renderer_send_to_json (EipcRenderer        *self,
                            guint64              web_contents_id,
                            const char          *channel,
                            const char          *args_json,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (EIPC_IS_RENDERER (self));

  task = g_task_new (self, cancellable,
                     callback != NULL ? callback : log_routing_failure,
                     user_data);
  eipc_task_set_source_tag (task, eipc_renderer_send_to_json);
  if (web_contents_id == 0)
    {
      g_task_return_new_error (task, EIPC_ERROR, EIPC_ERROR_NO_SUCH_WEB_CONTENTS,
                               "0 is not a webContentsId; use send() to reach "
                               "the main process");
      return;
    }
  renderer_call_main (self, task, 0, "SendTo", web_contents_id, channel,
                      args_json, EIPC_CALL_RESULT_NONE);
}

/**
 * eipc_renderer_send_to_finish:
 * @self: an #EipcRenderer
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes eipc_renderer_send_to().
 *
 * Returns: %TRUE if the main process delivered the message; %FALSE with
 *   @error set otherwise
 *
 * Since: 1.0
 */
gboolean
eipc_renderer_send_to_finish (EipcRenderer  *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (EIPC_IS_RENDERER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        eipc_renderer_send_to_json, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * eipc_renderer_send_to_host:
 * @self: an #EipcRenderer
 * @channel: the channel
 * @args: (nullable): the arguments, %NULL for none
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (nullable): called when the main process routed the message,
 *   or %NULL to send and forget
 * @user_data: (closure): data for @callback
 *
 * `ipcRenderer.sendToHost`: a guest sends to its host, whose
 * eipc_renderer_on_host_message() listeners run. Fails with
 * %EIPC_ERROR_NO_HOST when this renderer is not a guest.
 *
 * Since: 1.0
 */
void
eipc_renderer_send_to_host (EipcRenderer        *self,
                            const char          *channel,
                            JsonArray           *args,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autofree char *text = NULL;

  g_return_if_fail (EIPC_IS_RENDERER (self));

  text = eipc_json_array_to_string (args);
  eipc_renderer_send_to_host_json (self, channel, text, cancellable, callback,
                                   user_data);
}

/**
 * eipc_renderer_send_to_host_json:
 * @self: an #EipcRenderer
 * @channel: the channel
 * @args_json: the arguments as the text of a JSON array
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (nullable): called when the main process routed the message
 * @user_data: (closure): data for @callback
 *
 * Like eipc_renderer_send_to_host(), with the arguments as JSON text.
 *
 * Since: 1.0
 */
void
eipc_renderer_send_to_host_json (EipcRenderer        *self,
                                 const char          *channel,
                                 const char          *args_json,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (EIPC_IS_RENDERER (self));

  task = g_task_new (self, cancellable,
                     callback != NULL ? callback : log_routing_failure,
                     user_data);
  eipc_task_set_source_tag (task, eipc_renderer_send_to_host_json);
  if (self->host_id == 0)
    {
      g_task_return_new_error (task, EIPC_ERROR, EIPC_ERROR_NO_HOST,
                               "This renderer is not a guest: it has no host "
                               "to send to");
      return;
    }
  renderer_call_main (self, task, 0, "SendToHost", 0, channel, args_json,
                      EIPC_CALL_RESULT_NONE);
}

/**
 * eipc_renderer_send_to_host_finish:
 * @self: an #EipcRenderer
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes eipc_renderer_send_to_host().
 *
 * Returns: %TRUE if the main process delivered the message; %FALSE with
 *   @error set otherwise
 *
 * Since: 1.0
 */
gboolean
eipc_renderer_send_to_host_finish (EipcRenderer  *self,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  g_return_val_if_fail (EIPC_IS_RENDERER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        eipc_renderer_send_to_host_json, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * eipc_renderer_handle:
 * @self: an #EipcRenderer
 * @channel: the channel
 * @handler: (scope notified): the handler
 * @user_data: (closure): data for @handler
 * @destroy: (nullable): frees @user_data when the handler goes
 * @error: return location for a #GError
 *
 * `ipcRenderer.handle`: @handler answers every invoke on @channel with
 * eipc_event_resolve() or eipc_event_reject(), at once or later.
 *
 * Returns: %TRUE on success; %FALSE with %EIPC_ERROR_HANDLER_EXISTS
 *   (`Attempted to register a second handler for 'CHANNEL'`) if the
 *   channel has a handler already
 *
 * Since: 1.0
 */
gboolean
eipc_renderer_handle (EipcRenderer      *self,
                      const char        *channel,
                      EipcListenerFunc   handler,
                      gpointer           user_data,
                      GDestroyNotify     destroy,
                      GError           **error)
{
  g_return_val_if_fail (EIPC_IS_RENDERER (self), FALSE);
  return eipc_emitter_handle (EIPC_EMITTER (self), channel, handler, user_data, destroy, error);
}

/**
 * eipc_renderer_handle_once:
 * @self: an #EipcRenderer
 * @channel: the channel
 * @handler: (scope notified): the handler
 * @user_data: (closure): data for @handler
 * @destroy: (nullable): frees @user_data when the handler goes
 * @error: return location for a #GError
 *
 * `ipcRenderer.handleOnce`: like eipc_renderer_handle(), for the first
 * invoke only; the handler is removed before it runs.
 *
 * Returns: %TRUE on success; %FALSE with @error set otherwise
 *
 * Since: 1.0
 */
gboolean
eipc_renderer_handle_once (EipcRenderer      *self,
                           const char        *channel,
                           EipcListenerFunc   handler,
                           gpointer           user_data,
                           GDestroyNotify     destroy,
                           GError           **error)
{
  g_return_val_if_fail (EIPC_IS_RENDERER (self), FALSE);
  return eipc_emitter_handle_once (EIPC_EMITTER (self), channel, handler, user_data, destroy, error);
}

/**
 * eipc_renderer_remove_handler:
 * @self: an #EipcRenderer
 * @channel: the channel
 *
 * `ipcRenderer.removeHandler`. A handler may remove itself while it runs.
 *
 * Returns: %TRUE if @channel had a handler
 *
 * Since: 1.0
 */
gboolean
eipc_renderer_remove_handler (EipcRenderer *self,
                              const char   *channel)
{
  g_return_val_if_fail (EIPC_IS_RENDERER (self), FALSE);
  return eipc_emitter_remove_handler (EIPC_EMITTER (self), channel);
}

