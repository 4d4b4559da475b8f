/* eipc-event.h: the event handed to listeners and handlers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(EIPC_INSIDE) && !defined(EIPC_COMPILATION)
# error "Only <eipc/eipc.h> can be included directly."
#endif

#include <glib-object.h>
#include <json-glib/json-glib.h>

#include "eipc-version.h"

G_BEGIN_DECLS

/**
 * EipcEventKind:
 * @EIPC_EVENT_SEND: a one-way message (`ipcRenderer.send`,
 *   `webContents.send`, `event.reply`, a broadcast)
 * @EIPC_EVENT_INVOKE: an invoke waiting for eipc_event_resolve() or
 *   eipc_event_reject()
 * @EIPC_EVENT_SEND_SYNC: a sendSync waiting for
 *   eipc_event_set_return_value()
 * @EIPC_EVENT_SEND_TO: a message routed from another renderer
 *   (`ipcRenderer.sendTo`)
 * @EIPC_EVENT_HOST_MESSAGE: a message from a guest to its host
 *   (`ipcRenderer.sendToHost`, the `ipc-message` event of a webview)
 * @EIPC_EVENT_BROADCAST: a message the main process sent to every renderer
 * @EIPC_EVENT_PORT_MESSAGE: a message that came through an
 *   #EipcMessagePort (Electron's `MessageEvent`): it has no channel; its
 *   data is in eipc_event_get_data() or eipc_event_get_bytes()
 *
 * What kind of message an #EipcEvent carries.
 *
 * Since: 1.0
 */
typedef enum {
  EIPC_EVENT_SEND,
  EIPC_EVENT_INVOKE,
  EIPC_EVENT_SEND_SYNC,
  EIPC_EVENT_SEND_TO,
  EIPC_EVENT_HOST_MESSAGE,
  EIPC_EVENT_BROADCAST,
  EIPC_EVENT_PORT_MESSAGE,
} EipcEventKind;

/**
 * EipcEvent:
 *
 * One message as a listener or a handler sees it: Electron's
 * `IpcMainEvent`, `IpcMainInvokeEvent` and `IpcRendererEvent` in one type.
 * An event that answers a call (invoke, sendSync) may be kept (with
 * g_object_ref()) and answered later; when the last reference goes
 * without an answer, the caller gets an error at once instead of waiting
 * for a timeout. An invoke handler that returns without answering and
 * without keeping the event resolves the invoke with JSON `null`, as
 * Electron resolves it with `undefined`.
 *
 * Since: 1.0
 */
#define EIPC_TYPE_EVENT (eipc_event_get_type ())
EIPC_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (EipcEvent, eipc_event, EIPC, EVENT, GObject)

/**
 * EipcListenerFunc:
 * @event: the message
 * @user_data: the data given when the listener was added
 *
 * A listener or a handler. Listeners (`on`, `once`) and handlers
 * (`handle`, `handle_once`) share this type: a handler answers with
 * eipc_event_resolve() or eipc_event_reject(), now or later.
 *
 * Since: 1.0
 */
typedef void (*EipcListenerFunc) (EipcEvent *event,
                                  gpointer   user_data);

EIPC_AVAILABLE_IN_1_0
EipcEventKind    eipc_event_get_kind              (EipcEvent   *self);
EIPC_AVAILABLE_IN_1_0
const char      *eipc_event_get_channel           (EipcEvent   *self);
EIPC_AVAILABLE_IN_1_0
JsonArray       *eipc_event_get_args              (EipcEvent   *self);
EIPC_AVAILABLE_IN_1_0
const char      *eipc_event_get_args_json         (EipcEvent   *self);
EIPC_AVAILABLE_IN_1_0
guint64          eipc_event_get_sender_id         (EipcEvent   *self);
EIPC_AVAILABLE_IN_1_0
guint32          eipc_event_get_process_id        (EipcEvent   *self);
EIPC_AVAILABLE_IN_1_0
const char      *eipc_event_get_sender_name       (EipcEvent   *self);
EIPC_AVAILABLE_IN_1_0
GPtrArray       *eipc_event_get_ports             (EipcEvent   *self);
EIPC_AVAILABLE_IN_1_0
JsonNode        *eipc_event_get_data              (EipcEvent   *self);
EIPC_AVAILABLE_IN_1_0
const char      *eipc_event_get_data_json         (EipcEvent   *self);
EIPC_AVAILABLE_IN_1_0
GBytes          *eipc_event_get_bytes             (EipcEvent   *self);
EIPC_AVAILABLE_IN_1_0
gboolean         eipc_event_is_answered           (EipcEvent   *self);
EIPC_AVAILABLE_IN_1_0
gboolean         eipc_event_set_return_value      (EipcEvent   *self,
                                                   JsonNode    *value);
EIPC_AVAILABLE_IN_1_0
gboolean         eipc_event_set_return_value_json (EipcEvent   *self,
                                                   const char  *json,
                                                   GError     **error);
EIPC_AVAILABLE_IN_1_0
gboolean         eipc_event_resolve               (EipcEvent   *self,
                                                   JsonNode    *result);
EIPC_AVAILABLE_IN_1_0
gboolean         eipc_event_resolve_json          (EipcEvent   *self,
                                                   const char  *json,
                                                   GError     **error);
EIPC_AVAILABLE_IN_1_0
gboolean         eipc_event_reject                (EipcEvent   *self,
                                                   const char  *message);
EIPC_AVAILABLE_IN_1_0
gboolean         eipc_event_reject_with_name      (EipcEvent   *self,
                                                   const char  *name,
                                                   const char  *message);
EIPC_AVAILABLE_IN_1_0
gboolean         eipc_event_reject_bare           (EipcEvent   *self,
                                                   const char  *text);
EIPC_AVAILABLE_IN_1_0
gboolean         eipc_event_reply                 (EipcEvent   *self,
                                                   const char  *channel,
                                                   JsonArray   *args,
                                                   GError     **error);
EIPC_AVAILABLE_IN_1_0
gboolean         eipc_event_reply_json            (EipcEvent   *self,
                                                   const char  *channel,
                                                   const char  *args_json,
                                                   GError     **error);

G_END_DECLS
