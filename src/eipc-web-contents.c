/* eipc-web-contents.c: the main side's handle of one renderer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Everything sent to one renderer leaves from here: send, invoke, and
 * the routed messages (sendTo, sendToHost) through
 * eipc_web_contents_deliver(). A webContents knows the bus connection
 * and its own path, not the main process.
 */

#include "config.h"

#include "eipc-private.h"

struct _EipcWebContents
{
  EipcEmitter parent_instance;

  sd_bus     *bus;        /* the main process's; NULL once destroyed */
  EipcCalls  *calls;      /* the main process's (unowned); NULL once destroyed */
  guint64     id;
  char       *unique_name;
  char       *path;
  guint32     pid;
  guint32     uid;
  guint64     host_id;
  gboolean    allow_guests;
  gboolean    no_fds;     /* the renderer's connection cannot take fds */
  gboolean    destroyed;
  guint       invoke_timeout;   /* msec, 0 = none */
  EipcCallSet *pending;   /* main-to-renderer invokes in flight */
  EipcFlow   *flow;       /* what goes to the renderer, acknowledged */
  gpointer    main_use;   /* eipc-main.c's count of its calls, while attached */
};

enum {
  SIGNAL_DESTROYED,
  SIGNAL_RENDER_PROCESS_GONE,
  SIGNAL_IPC_MESSAGE,
  SIGNAL_IPC_MESSAGE_SYNC,
  SIGNAL_UNRESPONSIVE,
  SIGNAL_RESPONSIVE,
  SIGNAL_MESSAGES_DROPPED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

enum {
  PROP_0,
  PROP_ID,
  PROP_PROCESS_ID,
  PROP_UNIQUE_NAME,
  PROP_HOST_ID,
  PROP_DESTROYED,
  PROP_RESPONDING,
  PROP_UNRESPONSIVE_TIMEOUT,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (EipcWebContents, eipc_web_contents, EIPC_TYPE_EMITTER)

static void
eipc_web_contents_finalize (GObject *object)
{
  EipcWebContents *self = EIPC_WEB_CONTENTS (object);

  eipc_call_pending_free (self->pending);
  g_clear_pointer (&self->flow, eipc_flow_free);
  g_clear_pointer (&self->bus, sd_bus_unref);
  g_free (self->unique_name);
  g_free (self->path);

  G_OBJECT_CLASS (eipc_web_contents_parent_class)->finalize (object);
}

static void
eipc_web_contents_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  EipcWebContents *self = EIPC_WEB_CONTENTS (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_uint64 (value, self->id);
      break;
    case PROP_PROCESS_ID:
      g_value_set_uint (value, self->pid);
      break;
    case PROP_UNIQUE_NAME:
      g_value_set_string (value, self->unique_name);
      break;
    case PROP_HOST_ID:
      g_value_set_uint64 (value, self->host_id);
      break;
    case PROP_DESTROYED:
      g_value_set_boolean (value, self->destroyed);
      break;
    case PROP_RESPONDING:
      g_value_set_boolean (value, eipc_web_contents_is_responding (self));
      break;
    case PROP_UNRESPONSIVE_TIMEOUT:
      g_value_set_uint (value, eipc_web_contents_get_unresponsive_timeout (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
eipc_web_contents_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  EipcWebContents *self = EIPC_WEB_CONTENTS (object);

  switch (prop_id)
    {
    case PROP_UNRESPONSIVE_TIMEOUT:
      eipc_web_contents_set_unresponsive_timeout (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
eipc_web_contents_class_init (EipcWebContentsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = eipc_web_contents_finalize;
  object_class->get_property = eipc_web_contents_get_property;
  object_class->set_property = eipc_web_contents_set_property;

  /**
   * EipcWebContents:id:
   *
   * `webContents.id`: never 0, never reused while the main process
   * lives.
   *
   * Since: 1.0
   */
  props[PROP_ID] =
    g_param_spec_uint64 ("id", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * EipcWebContents:process-id:
   *
   * The renderer's process id, from the bus credentials taken when it
   * attached; 0 if the bus did not tell.
   *
   * Since: 1.0
   */
  props[PROP_PROCESS_ID] =
    g_param_spec_uint ("process-id", NULL, NULL, 0, G_MAXUINT32, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * EipcWebContents:unique-name:
   *
   * The unique bus name of the renderer's connection.
   *
   * Since: 1.0
   */
  props[PROP_UNIQUE_NAME] =
    g_param_spec_string ("unique-name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * EipcWebContents:host-id:
   *
   * For a guest, the id of its host webContents; 0 otherwise.
   *
   * Since: 1.0
   */
  props[PROP_HOST_ID] =
    g_param_spec_uint64 ("host-id", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * EipcWebContents:destroyed:
   *
   * `webContents.isDestroyed()`: %TRUE once the renderer is gone;
   * notified once, just before #EipcWebContents::destroyed.
   *
   * Since: 1.0
   */
  props[PROP_DESTROYED] =
    g_param_spec_boolean ("destroyed", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS);

  /**
   * EipcWebContents:responding:
   *
   * %FALSE while the renderer does not read what the main process sends
   * it: from #EipcWebContents::unresponsive to
   * #EipcWebContents::responsive.
   *
   * Since: 1.0
   */
  props[PROP_RESPONDING] =
    g_param_spec_boolean ("responding", NULL, NULL, TRUE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS);

  /**
   * EipcWebContents:unresponsive-timeout:
   *
   * How long, in milliseconds, the renderer may leave the main process's
   * messages unread before it is unresponsive; 0: never. See
   * eipc_web_contents_set_unresponsive_timeout().
   *
   * Since: 1.0
   */
  props[PROP_UNRESPONSIVE_TIMEOUT] =
    g_param_spec_uint ("unresponsive-timeout", NULL, NULL, 0, G_MAXUINT,
                       EIPC_FLOW_DEFAULT_TIMEOUT_MS,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, props);

  /**
   * EipcWebContents::unresponsive:
   * @self: the #EipcWebContents
   *
   * Electron's `unresponsive` event: the renderer stopped processing.
   * Emitted when messages the main process sent it have stayed unread
   * for longer than #EipcWebContents:unresponsive-timeout (the main
   * process asks every renderer to acknowledge what it read, see
   * docs/security.md). Meanwhile its one-way messages wait in the main
   * process, up to the limit set with eipc_main_set_memory_limits(),
   * and the other renderers are served as before.
   *
   * Since: 1.0
   */
  signals[SIGNAL_UNRESPONSIVE] =
    g_signal_new ("unresponsive", G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * EipcWebContents::responsive:
   * @self: the #EipcWebContents
   *
   * Electron's `responsive` event: an unresponsive renderer processes
   * again (it read what was sent to it); what waited for it follows.
   *
   * Since: 1.0
   */
  signals[SIGNAL_RESPONSIVE] =
    g_signal_new ("responsive", G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * EipcWebContents::messages-dropped:
   * @self: the #EipcWebContents
   * @messages: how many messages were dropped
   * @bytes: their size in bytes, as the main process counts them
   *
   * Messages for this renderer were dropped because it did not read
   * them and what waited for it passed the limit set with
   * eipc_main_set_memory_limits(): the sends that were dropped returned
   * %FALSE with %EIPC_ERROR_LIMITS_EXCEEDED (a broadcast still reaches
   * the other renderers). Emitted once per episode, with its counts,
   * when it ends: once what waited for the renderer has gone to it, or
   * when the renderer is gone.
   *
   * Since: 1.0
   */
  signals[SIGNAL_MESSAGES_DROPPED] =
    g_signal_new ("messages-dropped", G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                  G_TYPE_UINT64, G_TYPE_UINT64);

  /**
   * EipcWebContents::destroyed:
   * @self: the #EipcWebContents
   * @reason: why: detached, left the bus, ...
   *
   * The renderer is gone (it detached, exited or crashed, or the main
   * process shut down). The webContents has left the registry and the
   * `WebContents` property, and its pending invokes have failed.
   *
   * Since: 1.0
   */
  signals[SIGNAL_DESTROYED] =
    g_signal_new ("destroyed", G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  /**
   * EipcWebContents::render-process-gone:
   * @self: the #EipcWebContents
   * @details: why the renderer went away: its reason and exit code
   *
   * Electron's `render-process-gone` event of a webContents: the
   * renderer is gone, and @details says why. It comes after
   * #EipcWebContents::destroyed, as soon as the reason is known: at once
   * for a detach (`clean-exit`) or for a renderer the main process did
   * not launch whose connection vanished (`abnormal-exit`); for one
   * launched with eipc_main_spawn_renderer(), once its exit status is in
   * too (`killed`, `crashed`, `oom`, `clean-exit` or `abnormal-exit` with
   * the exit code). Not emitted when the main process itself shuts
   * down. #EipcMain::render-process-gone follows.
   *
   * Since: 1.0
   */
  /**
   * EipcWebContents::ipc-message:
   * @self: the #EipcWebContents
   * @event: the message (its arguments: eipc_event_get_args())
   * @channel: its channel
   *
   * Electron's `ipc-message` event of a webContents: every
   * `ipcRenderer.send` of this renderer, whatever its channel, before
   * the listeners of this webContents' ipc (eipc_web_contents_on()) and
   * then ipcMain's (eipc_main_on()) run for it.
   *
   * Since: 1.0
   */
  signals[SIGNAL_IPC_MESSAGE] =
    g_signal_new ("ipc-message", G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, EIPC_TYPE_EVENT, G_TYPE_STRING);

  /**
   * EipcWebContents::ipc-message-sync:
   * @self: the #EipcWebContents
   * @event: the message; answer it with eipc_event_set_return_value()
   * @channel: its channel
   *
   * Electron's `ipc-message-sync` event of a webContents: every
   * `ipcRenderer.sendSync` of this renderer, before the listeners of this
   * webContents' ipc and then ipcMain's. A sendSync that nothing would
   * see (no handler of this signal, no listener of its channel in either
   * scope) fails at once with %EIPC_ERROR_NO_LISTENER.
   *
   * Since: 1.0
   */
  signals[SIGNAL_IPC_MESSAGE_SYNC] =
    g_signal_new ("ipc-message-sync", G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, EIPC_TYPE_EVENT, G_TYPE_STRING);

  signals[SIGNAL_RENDER_PROCESS_GONE] =
    g_signal_new ("render-process-gone", G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1,
                  EIPC_TYPE_RENDER_PROCESS_GONE_DETAILS | G_SIGNAL_TYPE_STATIC_SCOPE);
}

/* The webContents' share of a message from its renderer, in Electron's
 * order (lib/browser/ipc-dispatch.ts): its ipc-message (or
 * ipc-message-sync) signal, then the listeners of its own ipc
 * (webContents.ipc.on). ipcMain's listeners come after, in eipc-main.c. */
void
eipc_web_contents_emit_message (EipcWebContents *self,
                                EipcEvent       *event)
{
  const char *channel = eipc_event_get_channel (event);
  guint signal = eipc_event_get_kind (event) == EIPC_EVENT_SEND_SYNC
                 ? SIGNAL_IPC_MESSAGE_SYNC : SIGNAL_IPC_MESSAGE;

  g_signal_emit (self, signals[signal], 0, event, channel);
  eipc_emitter_emit (EIPC_EMITTER (self), channel, event);
}

/* Whether anything of this webContents would see a message on @channel:
 * a handler of its ipc-message(-sync) signal or a listener of its ipc. */
gboolean
eipc_web_contents_has_message_listeners (EipcWebContents *self,
                                         const char      *channel,
                                         gboolean         sync)
{
  return g_signal_has_handler_pending (self, signals[sync ? SIGNAL_IPC_MESSAGE_SYNC
                                                          : SIGNAL_IPC_MESSAGE],
                                       0, FALSE) ||
         eipc_emitter_listener_count (EIPC_EMITTER (self), channel) > 0;
}

void
eipc_web_contents_emit_render_process_gone (EipcWebContents                    *self,
                                            const EipcRenderProcessGoneDetails *details)
{
  g_signal_emit (self, signals[SIGNAL_RENDER_PROCESS_GONE], 0, details);
}

static void
eipc_web_contents_init (EipcWebContents *self)
{
  self->pending = eipc_call_pending_new ();
}

static void
web_contents_responsive_changed (EipcFlow *flow,
                                 gboolean  responsive,
                                 gpointer  data)
{
  EipcWebContents *self = data;
  g_autoptr(EipcWebContents) hold = g_object_ref (self);

  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_RESPONDING]);
  g_signal_emit (self, signals[responsive ? SIGNAL_RESPONSIVE : SIGNAL_UNRESPONSIVE], 0);
}

static void
web_contents_dropped (EipcFlow *flow,
                      guint64   messages,
                      guint64   bytes,
                      gpointer  data)
{
  EipcWebContents *self = data;
  g_autoptr(EipcWebContents) hold = g_object_ref (self);

  g_debug ("eipc: %" G_GUINT64_FORMAT " messages (%" G_GUINT64_FORMAT " bytes) "
           "for webContents %" G_GUINT64_FORMAT " were dropped", messages, bytes,
           self->id);
  g_signal_emit (self, signals[SIGNAL_MESSAGES_DROPPED], 0, messages, bytes);
}

static const EipcFlowFuncs web_contents_flow_funcs = {
  web_contents_responsive_changed,
  web_contents_dropped,
};

EipcWebContents *
eipc_web_contents_new (sd_bus       *bus,
                       EipcCalls    *calls,
                       EipcBudget   *budget,
                       GMainContext *context,
                       const char   *base_path,
                       guint64       id,
                       const char   *unique_name,
                       guint32       pid,
                       guint32       uid,
                       guint64       host_id)
{
  EipcWebContents *self = g_object_new (EIPC_TYPE_WEB_CONTENTS, NULL);

  self->flow = eipc_flow_new (bus, unique_name, budget, context,
                              &web_contents_flow_funcs, self);
  self->bus = sd_bus_ref (bus);
  self->calls = calls;
  self->id = id;
  self->unique_name = g_strdup (unique_name);
  self->path = eipc_web_contents_path (base_path, id);
  self->pid = pid;
  self->uid = uid;
  self->host_id = host_id;
  return self;
}

/* Called by the main process once the webContents left its registry. */
void
eipc_web_contents_destroy (EipcWebContents *self,
                           const char      *reason)
{
  g_autoptr(GError) error = NULL;

  if (self->destroyed)
    return;
  self->destroyed = TRUE;
  g_clear_pointer (&self->bus, sd_bus_unref);
  self->calls = NULL;

  error = g_error_new (EIPC_ERROR, EIPC_ERROR_DISCONNECTED,
                       "webContents %" G_GUINT64_FORMAT " was destroyed (%s) "
                       "before it answered", self->id, reason);
  eipc_call_fail_all (self->pending, error);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_DESTROYED]);
  g_signal_emit (self, signals[SIGNAL_DESTROYED], 0, reason);
  /* What waited for it is dropped (and reported) after destroyed. */
  eipc_flow_close (self->flow);
}

EipcFlow *
eipc_web_contents_get_flow (EipcWebContents *self)
{
  return self->flow;
}

/* Where the main process keeps what it counts of this renderer's calls
 * while it is attached (opaque here): found with the webContents, so a
 * call costs no lookup by name. */
gpointer
eipc_web_contents_get_main_use (EipcWebContents *self)
{
  return self->main_use;
}

void
eipc_web_contents_set_main_use (EipcWebContents *self,
                                gpointer         use)
{
  self->main_use = use;
}

/**
 * eipc_web_contents_get_id:
 * @self: an #EipcWebContents
 *
 * Gets `webContents.id`: never 0, never reused while the main process
 * lives.
 *
 * Returns: the webContentsId
 *
 * Since: 1.0
 */
guint64
eipc_web_contents_get_id (EipcWebContents *self)
{
  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), 0);
  return self->id;
}

/**
 * eipc_web_contents_get_unique_name:
 * @self: an #EipcWebContents
 *
 * Gets the unique bus name of the renderer's connection.
 *
 * Returns: (transfer none): the unique name
 *
 * Since: 1.0
 */
const char *
eipc_web_contents_get_unique_name (EipcWebContents *self)
{
  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), NULL);
  return self->unique_name;
}

/**
 * eipc_web_contents_get_process_id:
 * @self: an #EipcWebContents
 *
 * Gets the renderer's process id, from the bus credentials taken when it
 * attached (`webContents.getOSProcessId`).
 *
 * Returns: the process id, or 0 if the bus did not tell
 *
 * Since: 1.0
 */
guint32
eipc_web_contents_get_process_id (EipcWebContents *self)
{
  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), 0);
  return self->pid;
}

/**
 * eipc_web_contents_get_user_id:
 * @self: an #EipcWebContents
 *
 * Gets the renderer's user id, from the bus credentials.
 *
 * Returns: the user id, or %G_MAXUINT32 if the bus did not tell
 *
 * Since: 1.0
 */
guint32
eipc_web_contents_get_user_id (EipcWebContents *self)
{
  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), G_MAXUINT32);
  return self->uid;
}

/**
 * eipc_web_contents_get_host_id:
 * @self: an #EipcWebContents
 *
 * Gets the id of the host webContents of a guest (a webview's embedder).
 *
 * Returns: the host's webContentsId, or 0 when it is not a guest
 *
 * Since: 1.0
 */
guint64
eipc_web_contents_get_host_id (EipcWebContents *self)
{
  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), 0);
  return self->host_id;
}

/**
 * eipc_web_contents_set_allow_guests:
 * @self: an #EipcWebContents
 * @allow: whether renderers may attach as guests of this one
 *
 * Lets renderers attach as guests of this webContents (webviews it
 * embeds, see eipc_renderer_new_guest()), which lets them reach it with
 * eipc_renderer_send_to_host(). By default no renderer may: a guest is
 * refused with %EIPC_ERROR_ACCESS_DENIED unless its host allows guests
 * or a handler of #EipcMain::allow-guest returns %TRUE for it.
 *
 * Since: 1.0
 */
void
eipc_web_contents_set_allow_guests (EipcWebContents *self,
                                    gboolean         allow)
{
  g_return_if_fail (EIPC_IS_WEB_CONTENTS (self));
  self->allow_guests = !!allow;
}

/**
 * eipc_web_contents_get_allow_guests:
 * @self: an #EipcWebContents
 *
 * Gets what eipc_web_contents_set_allow_guests() set.
 *
 * Returns: whether renderers may attach as guests of this one
 *
 * Since: 1.0
 */
gboolean
eipc_web_contents_get_allow_guests (EipcWebContents *self)
{
  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), FALSE);
  return self->allow_guests;
}

/**
 * eipc_web_contents_get_object_path:
 * @self: an #EipcWebContents
 *
 * Gets the object path of the webContents, `BASE/WebContents/ID`.
 *
 * Returns: (transfer none): the object path
 *
 * Since: 1.0
 */
const char *
eipc_web_contents_get_object_path (EipcWebContents *self)
{
  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), NULL);
  return self->path;
}

/**
 * eipc_web_contents_is_destroyed:
 * @self: an #EipcWebContents
 *
 * `webContents.isDestroyed`.
 *
 * Returns: %TRUE once the renderer is gone
 *
 * Since: 1.0
 */
gboolean
eipc_web_contents_is_destroyed (EipcWebContents *self)
{
  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), TRUE);
  return self->destroyed;
}

static gboolean
web_contents_check_alive (EipcWebContents  *self,
                          GError          **error)
{
  if (!self->destroyed)
    return TRUE;
  g_set_error (error, EIPC_ERROR, EIPC_ERROR_NO_SUCH_WEB_CONTENTS,
               "webContents %" G_GUINT64_FORMAT " is destroyed", self->id);
  return FALSE;
}

/**
 * eipc_web_contents_send:
 * @self: an #EipcWebContents
 * @channel: the channel
 * @args: (nullable): the arguments, %NULL for none
 * @error: return location for a #GError
 *
 * `webContents.send`: one signal on the webContents' path, unicast to the
 * renderer, whose listeners of @channel run with sender id 0.
 *
 * Returns: %TRUE if the message was queued; %FALSE with @error set
 *   otherwise
 *
 * Since: 1.0
 */
gboolean
eipc_web_contents_send (EipcWebContents  *self,
                        const char       *channel,
                        JsonArray        *args,
                        GError          **error)
{
  g_autofree char *text = NULL;

  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  text = eipc_json_array_to_string (args);
  return eipc_web_contents_send_json (self, channel, text, error);
}

/**
 * eipc_web_contents_send_json:
 * @self: an #EipcWebContents
 * @channel: the channel
 * @args_json: the arguments as the text of a JSON array
 * @error: return location for a #GError
 *
 * Like eipc_web_contents_send(), with the arguments as JSON text.
 *
 * Returns: %TRUE if the message was queued; %FALSE with @error set
 *   otherwise
 *
 * Since: 1.0
 */
gboolean
eipc_web_contents_send_json (EipcWebContents  *self,
                             const char       *channel,
                             const char       *args_json,
                             GError          **error)
{
  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!web_contents_check_alive (self, error) ||
      !eipc_channel_check (channel, error) ||
      !eipc_args_check (args_json, error))
    return FALSE;
  return eipc_web_contents_deliver (self, "Message", channel, args_json, 0, error);
}

/* Sends a signal of org.eipc.WebContents1 on the webContents' path,
 * unicast to the renderer's connection: webContents.send (@sender_id 0)
 * and the routed sendTo and sendToHost. @args_json has been checked. */
gboolean
eipc_web_contents_deliver (EipcWebContents  *self,
                           const char       *member,
                           const char       *channel,
                           const char       *args_json,
                           guint64           sender_id,
                           GError          **error)
{
  g_autoptr(sd_bus_message) m = NULL;
  int r;

  if (!web_contents_check_alive (self, error) ||
      !eipc_bus_check_queue (self->bus, error))
    return FALSE;
  r = sd_bus_message_new_signal (self->bus, &m, self->path,
                                 EIPC_WEB_CONTENTS_INTERFACE, member);
  if (r >= 0)
    r = eipc_message_append_strings (m, channel, args_json);
  if (r >= 0)
    r = sd_bus_message_append_basic (m, 't', &sender_id);
  if (r < 0)
    {
      eipc_set_error_from_errno (error, r, "Cannot send to the renderer");
      return FALSE;
    }
  /* Into the bus, or into the renderer's backlog while it is behind. */
  return eipc_flow_send (self->flow, m, eipc_flow_message_size (channel, args_json),
                         error);
}

/* The renderer said at Attach that its bus connection cannot pass file
 * descriptors: the bus would drop a signal carrying them, unseen. */
static gboolean
web_contents_check_fds (EipcWebContents  *self,
                        GPtrArray        *ports,
                        GError          **error)
{
  if (ports == NULL || ports->len == 0 || !self->no_fds)
    return TRUE;
  g_set_error (error, EIPC_ERROR, EIPC_ERROR_FAILED,
               "The bus connection of webContents %" G_GUINT64_FORMAT " cannot "
               "pass file descriptors, so it cannot take message ports",
               self->id);
  return FALSE;
}

void
eipc_web_contents_set_no_fds (EipcWebContents *self)
{
  self->no_fds = TRUE;
}

/**
 * eipc_web_contents_post_message:
 * @self: an #EipcWebContents
 * @channel: the channel
 * @message: (nullable): the message, any JSON value (%NULL: JSON null)
 * @ports: (nullable) (element-type EipcMessagePort): message ports to
 *   transfer with the message, or %NULL
 * @error: return location for a #GError
 *
 * `webContents.postMessage(channel, message, [transfer])`: sends
 * @message to the renderer's listeners of @channel, which get it as
 * their one argument, with @ports in eipc_event_get_ports(). The ports
 * travel as file descriptors (the signal `PostMessage` of
 * `org.eipc.WebContents1`) and can no longer be used here; messages
 * posted to them and not yet delivered here go with them.
 *
 * Returns: %TRUE if the message was queued; %FALSE with @error set when
 *   the renderer is gone, @channel, @message or @ports is not valid, or
 *   the bus connection cannot pass file descriptors
 *
 * Since: 1.0
 */
gboolean
eipc_web_contents_post_message (EipcWebContents  *self,
                                const char       *channel,
                                JsonNode         *message,
                                GPtrArray        *ports,
                                GError          **error)
{
  g_autofree char *json = NULL;

  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  json = message != NULL ? eipc_json_node_to_string (message) : g_strdup ("null");
  return eipc_web_contents_post_message_json (self, channel, json, ports, error);
}

/**
 * eipc_web_contents_post_message_json:
 * @self: an #EipcWebContents
 * @channel: the channel
 * @message_json: the message as JSON text (any JSON value)
 * @ports: (nullable) (element-type EipcMessagePort): message ports to
 *   transfer with the message, or %NULL
 * @error: return location for a #GError
 *
 * Like eipc_web_contents_post_message(), with the message as JSON text.
 *
 * Returns: %TRUE if the message was queued
 *
 * Since: 1.0
 */
gboolean
eipc_web_contents_post_message_json (EipcWebContents  *self,
                                     const char       *channel,
                                     const char       *message_json,
                                     GPtrArray        *ports,
                                     GError          **error)
{
  g_autoptr(sd_bus_message) m = NULL;
  int r;

  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!web_contents_check_alive (self, error) ||
      !eipc_message_check_posted (channel, message_json, ports, error) ||
      !eipc_bus_check_fds (self->bus, ports, error) ||
      !web_contents_check_fds (self, ports, error) ||
      !eipc_bus_check_queue (self->bus, error))
    return FALSE;
  r = sd_bus_message_new_signal (self->bus, &m, self->path,
                                 EIPC_WEB_CONTENTS_INTERFACE, "PostMessage");
  if (r >= 0)
    r = eipc_message_append_strings (m, channel, message_json);
  if (r >= 0)
    r = eipc_message_append_ports (m, ports);
  if (r < 0)
    {
      eipc_set_error_from_errno (error, r, "Cannot post to the renderer");
      return FALSE;
    }
  if (!eipc_flow_send (self->flow, m, eipc_flow_message_size (channel, message_json),
                       error))
    return FALSE;
  eipc_message_ports_transferred (ports);
  return TRUE;
}

/**
 * eipc_web_contents_invoke:
 * @self: an #EipcWebContents
 * @channel: the channel
 * @args: (nullable): the arguments, %NULL for none
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the result
 * @user_data: (closure): data for @callback
 *
 * Goes beyond Electron: the main process invokes a handler the renderer
 * registered with eipc_renderer_handle(), with the same semantics and
 * error texts as the other direction. If the renderer goes away first,
 * the call fails at once with %EIPC_ERROR_DISCONNECTED. It waits as long
 * as the handler takes unless eipc_web_contents_set_invoke_timeout() set
 * a limit (then %EIPC_ERROR_TIMEOUT).
 *
 * Since: 1.0
 */
void
eipc_web_contents_invoke (EipcWebContents     *self,
                          const char          *channel,
                          JsonArray           *args,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autofree char *text = NULL;

  g_return_if_fail (EIPC_IS_WEB_CONTENTS (self));

  text = eipc_json_array_to_string (args);
  eipc_web_contents_invoke_json (self, channel, text, cancellable, callback,
                                 user_data);
}

/**
 * eipc_web_contents_invoke_json:
 * @self: an #EipcWebContents
 * @channel: the channel
 * @args_json: the arguments as the text of a JSON array
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the result
 * @user_data: (closure): data for @callback
 *
 * Like eipc_web_contents_invoke(), with the arguments as JSON text.
 *
 * Since: 1.0
 */
void
eipc_web_contents_invoke_json (EipcWebContents     *self,
                               const char          *channel,
                               const char          *args_json,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(sd_bus_message) m = NULL;
  gsize size;
  int r;

  g_return_if_fail (EIPC_IS_WEB_CONTENTS (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  eipc_task_set_source_tag (task, eipc_web_contents_invoke_json);

  if (!web_contents_check_alive (self, &error) ||
      !eipc_channel_check (channel, &error) ||
      !eipc_args_check (args_json, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  /* A call goes at once, past the backlog of one-way messages, if the
   * renderer's budget has room for it (see docs/security.md). */
  size = eipc_flow_message_size (channel, args_json);
  if (!eipc_flow_check_direct (self->flow, size, 0, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  r = sd_bus_message_new_method_call (self->bus, &m, self->unique_name, self->path,
                                      EIPC_RENDERER_INTERFACE, "Invoke");
  if (r >= 0)
    r = eipc_message_append_strings (m, channel, args_json);
  if (r < 0)
    {
      eipc_set_error_from_errno (&error, r, "Cannot build the call");
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  eipc_call_start (self->calls, m, task, EIPC_CALL_RESULT_JSON,
                   EIPC_CALL_TIMEOUT_USEC (self->invoke_timeout), self->pending);
  eipc_flow_count (self->flow, size);
}

/**
 * eipc_web_contents_invoke_finish:
 * @self: an #EipcWebContents
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes eipc_web_contents_invoke().
 *
 * Returns: (transfer full): the value the renderer's handler resolved
 *   with, or %NULL with @error set
 *
 * Since: 1.0
 */
JsonNode *
eipc_web_contents_invoke_finish (EipcWebContents  *self,
                                 GAsyncResult     *result,
                                 GError          **error)
{
  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        eipc_web_contents_invoke_json, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  return eipc_call_finish_node (G_TASK (result), error);
}

/**
 * eipc_web_contents_invoke_finish_json:
 * @self: an #EipcWebContents
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes eipc_web_contents_invoke() or eipc_web_contents_invoke_json()
 * with the result as the text of one JSON value, as the renderer sent
 * it: the text is checked, but no #JsonNode tree is built. Call either
 * this or eipc_web_contents_invoke_finish(), once.
 *
 * Returns: (transfer full): the JSON text of the value the renderer's
 *   handler resolved with, or %NULL with @error set (as
 *   eipc_web_contents_invoke_finish() sets it)
 *
 * Since: 1.0
 */
char *
eipc_web_contents_invoke_finish_json (EipcWebContents  *self,
                                      GAsyncResult     *result,
                                      GError          **error)
{
  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        eipc_web_contents_invoke_json, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  return eipc_call_finish_text (G_TASK (result), error);
}

/**
 * eipc_web_contents_on:
 * @self: an #EipcWebContents
 * @channel: the channel
 * @listener: (scope notified): the listener
 * @user_data: (closure): data for @listener
 * @destroy: (nullable): frees @user_data when the listener goes
 *
 * `webContents.ipc.on`: @listener runs for every message on @channel, after the
 * listeners added before it. See [method@Eipc.Emitter.on].
 *
 * Returns: the listener's id (never 0), for eipc_web_contents_remove_listener_by_id()
 *
 * Since: 1.0
 */
guint
eipc_web_contents_on (EipcWebContents  *self,
                      const char       *channel,
                      EipcListenerFunc  listener,
                      gpointer          user_data,
                      GDestroyNotify    destroy)
{
  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), 0);
  return eipc_emitter_on (EIPC_EMITTER (self), channel, listener, user_data, destroy);
}

/**
 * eipc_web_contents_once:
 * @self: an #EipcWebContents
 * @channel: the channel
 * @listener: (scope notified): the listener
 * @user_data: (closure): data for @listener
 * @destroy: (nullable): frees @user_data when the listener goes
 *
 * `webContents.ipc.once`: like eipc_web_contents_on(), but the listener is removed
 * before it runs for the first message.
 *
 * Returns: the listener's id (never 0)
 *
 * Since: 1.0
 */
guint
eipc_web_contents_once (EipcWebContents  *self,
                        const char       *channel,
                        EipcListenerFunc  listener,
                        gpointer          user_data,
                        GDestroyNotify    destroy)
{
  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), 0);
  return eipc_emitter_once (EIPC_EMITTER (self), channel, listener, user_data, destroy);
}

/**
 * eipc_web_contents_prepend_listener:
 * @self: an #EipcWebContents
 * @channel: the channel
 * @listener: (scope notified): the listener
 * @user_data: (closure): data for @listener
 * @destroy: (nullable): frees @user_data when the listener goes
 *
 * `webContents.ipc.prependListener`: like eipc_web_contents_on(), but @listener runs
 * before the listeners already there.
 *
 * Returns: the listener's id (never 0)
 *
 * Since: 1.0
 */
guint
eipc_web_contents_prepend_listener (EipcWebContents  *self,
                                    const char       *channel,
                                    EipcListenerFunc  listener,
                                    gpointer          user_data,
                                    GDestroyNotify    destroy)
{
  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), 0);
  return eipc_emitter_prepend_listener (EIPC_EMITTER (self), channel, listener, user_data, destroy);
}

/**
 * eipc_web_contents_remove_listener: (skip)
 * @self: an #EipcWebContents
 * @channel: the channel
 * @listener: the listener
 * @user_data: the data it was added with
 *
 * `webContents.ipc.removeListener`: removes the listener of @channel with this
 * function and data that is nearest the end of the list.
 *
 * A binding (Python, JavaScript) cannot name the function it added, so
 * it removes a listener with eipc_web_contents_remove_listener_by_id() instead; this
 * function is not in the introspection data.
 *
 * Returns: %TRUE if a listener was removed
 *
 * Since: 1.0
 */
gboolean
eipc_web_contents_remove_listener (EipcWebContents  *self,
                                   const char       *channel,
                                   EipcListenerFunc  listener,
                                   gpointer          user_data)
{
  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), FALSE);
  return eipc_emitter_remove_listener (EIPC_EMITTER (self), channel, listener, user_data);
}

/**
 * eipc_web_contents_remove_listener_by_id:
 * @self: an #EipcWebContents
 * @listener_id: an id from eipc_web_contents_on(), eipc_web_contents_once() or
 *   eipc_web_contents_prepend_listener()
 *
 * Removes one listener by its id.
 *
 * Returns: %TRUE if a listener was removed
 *
 * Since: 1.0
 */
gboolean
eipc_web_contents_remove_listener_by_id (EipcWebContents *self,
                                         guint            listener_id)
{
  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), FALSE);
  return eipc_emitter_remove_listener_by_id (EIPC_EMITTER (self), listener_id);
}

/**
 * eipc_web_contents_remove_all_listeners:
 * @self: an #EipcWebContents
 * @channel: (nullable): a channel, or %NULL for every channel
 *
 * `webContents.ipc.removeAllListeners`. Handlers stay.
 *
 * Since: 1.0
 */
void
eipc_web_contents_remove_all_listeners (EipcWebContents *self,
                                        const char      *channel)
{
  g_return_if_fail (EIPC_IS_WEB_CONTENTS (self));
  eipc_emitter_remove_all_listeners (EIPC_EMITTER (self), channel);
}

/**
 * eipc_web_contents_listener_count:
 * @self: an #EipcWebContents
 * @channel: the channel
 *
 * `webContents.ipc.listenerCount`.
 *
 * Returns: the number of listeners of @channel
 *
 * Since: 1.0
 */
guint
eipc_web_contents_listener_count (EipcWebContents *self,
                                  const char      *channel)
{
  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), 0);
  return eipc_emitter_listener_count (EIPC_EMITTER (self), channel);
}

/**
 * eipc_web_contents_handle:
 * @self: an #EipcWebContents
 * @channel: the channel
 * @handler: (scope notified): the handler
 * @user_data: (closure): data for @handler
 * @destroy: (nullable): frees @user_data when the handler goes
 * @error: return location for a #GError
 *
 * `webContents.ipc.handle`: @handler answers every invoke on @channel with
 * eipc_event_resolve() or eipc_event_reject(), at once or later.
 *
 * Returns: %TRUE on success; %FALSE with %EIPC_ERROR_HANDLER_EXISTS
 *   (`Attempted to register a second handler for 'CHANNEL'`) if the
 *   channel has a handler already
 *
 * Since: 1.0
 */
gboolean
eipc_web_contents_handle (EipcWebContents   *self,
                          const char        *channel,
                          EipcListenerFunc   handler,
                          gpointer           user_data,
                          GDestroyNotify     destroy,
                          GError           **error)
{
  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), FALSE);
  return eipc_emitter_handle (EIPC_EMITTER (self), channel, handler, user_data, destroy, error);
}

/**
 * eipc_web_contents_handle_once:
 * @self: an #EipcWebContents
 * @channel: the channel
 * @handler: (scope notified): the handler
 * @user_data: (closure): data for @handler
 * @destroy: (nullable): frees @user_data when the handler goes
 * @error: return location for a #GError
 *
 * `webContents.ipc.handleOnce`: like eipc_web_contents_handle(), for the first
 * invoke only; the handler is removed before it runs.
 *
 * Returns: %TRUE on success; %FALSE with @error set otherwise
 *
 * Since: 1.0
 */
gboolean
eipc_web_contents_handle_once (EipcWebContents   *self,
                               const char        *channel,
                               EipcListenerFunc   handler,
                               gpointer           user_data,
                               GDestroyNotify     destroy,
                               GError           **error)
{
  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), FALSE);
  return eipc_emitter_handle_once (EIPC_EMITTER (self), channel, handler, user_data, destroy, error);
}

/**
 * eipc_web_contents_remove_handler:
 * @self: an #EipcWebContents
 * @channel: the channel
 *
 * `webContents.ipc.removeHandler`. A handler may remove itself while it runs.
 *
 * Returns: %TRUE if @channel had a handler
 *
 * Since: 1.0
 */
gboolean
eipc_web_contents_remove_handler (EipcWebContents *self,
                                  const char      *channel)
{
  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), FALSE);
  return eipc_emitter_remove_handler (EIPC_EMITTER (self), channel);
}

/**
 * eipc_web_contents_set_invoke_timeout:
 * @self: an #EipcWebContents
 * @timeout_msec: the timeout in milliseconds, 0 for none
 *
 * Sets how long eipc_web_contents_invoke() waits for the renderer's
 * answer before it fails with %EIPC_ERROR_TIMEOUT. By default (0) an
 * invoke waits as long as the renderer's handler takes, as an invoke
 * from a renderer does. Applies to invokes started afterwards.
 *
 * Since: 1.0
 */
void
eipc_web_contents_set_invoke_timeout (EipcWebContents *self,
                                      guint            timeout_msec)
{
  g_return_if_fail (EIPC_IS_WEB_CONTENTS (self));
  self->invoke_timeout = timeout_msec;
}

/**
 * eipc_web_contents_get_invoke_timeout:
 * @self: an #EipcWebContents
 *
 * Gets the timeout set with eipc_web_contents_set_invoke_timeout().
 *
 * Returns: the timeout in milliseconds, 0 for none (the default)
 *
 * Since: 1.0
 */
guint
eipc_web_contents_get_invoke_timeout (EipcWebContents *self)
{
  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), 0);
  return self->invoke_timeout;
}

/**
 * eipc_web_contents_is_responding:
 * @self: an #EipcWebContents
 *
 * Tells whether the renderer reads what the main process sends it: it is
 * not responding once it has left that unread for longer than
 * #EipcWebContents:unresponsive-timeout (see
 * #EipcWebContents::unresponsive).
 *
 * Returns: %FALSE from #EipcWebContents::unresponsive to
 *   #EipcWebContents::responsive, %TRUE otherwise
 *
 * Since: 1.0
 */
gboolean
eipc_web_contents_is_responding (EipcWebContents *self)
{
  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), TRUE);
  return !eipc_flow_is_unresponsive (self->flow);
}

/**
 * eipc_web_contents_set_unresponsive_timeout:
 * @self: an #EipcWebContents
 * @timeout_msec: the time in milliseconds, 0 for never
 *
 * Sets how long the renderer may leave the main process's messages
 * unread before #EipcWebContents::unresponsive (5000 ms by default).
 * The main process notices only while it has sent the renderer
 * something; a renderer that is sent nothing is never unresponsive.
 *
 * Since: 1.0
 */
void
eipc_web_contents_set_unresponsive_timeout (EipcWebContents *self,
                                            guint            timeout_msec)
{
  g_return_if_fail (EIPC_IS_WEB_CONTENTS (self));
  if (eipc_flow_get_timeout (self->flow) == timeout_msec)
    return;
  eipc_flow_set_timeout (self->flow, timeout_msec);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_UNRESPONSIVE_TIMEOUT]);
}

/**
 * eipc_web_contents_get_unresponsive_timeout:
 * @self: an #EipcWebContents
 *
 * Gets what eipc_web_contents_set_unresponsive_timeout() set.
 *
 * Returns: the time in milliseconds, 0 for never
 *
 * Since: 1.0
 */
guint
eipc_web_contents_get_unresponsive_timeout (EipcWebContents *self)
{
  g_return_val_if_fail (EIPC_IS_WEB_CONTENTS (self), 0);
  return eipc_flow_get_timeout (self->flow);
}
