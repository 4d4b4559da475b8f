/* eipc-renderer.h: a renderer process (ipcRenderer)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(EIPC_INSIDE) && !defined(EIPC_COMPILATION)
# error "Only <eipc/eipc.h> can be included directly."
#endif

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "eipc-emitter.h"
#include "eipc-event.h"
#include "eipc-version.h"

G_BEGIN_DECLS

/**
 * EipcRenderer:
 *
 * A renderer process attached to the main process of an application:
 * Electron's `ipcRenderer`.
 *
 * Since: 1.0
 */
#define EIPC_TYPE_RENDERER (eipc_renderer_get_type ())
EIPC_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (EipcRenderer, eipc_renderer, EIPC, RENDERER, EipcEmitter)

/**
 * EIPC_SYNC_TIMEOUT_DEFAULT:
 *
 * The default time in milliseconds a sendSync waits for its return value:
 * the D-Bus default call timeout.
 *
 * Since: 1.0
 */
#define EIPC_SYNC_TIMEOUT_DEFAULT 25000

EIPC_AVAILABLE_IN_1_0
EipcRenderer *eipc_renderer_new                   (const char          *app_id,
                                                   GError             **error);
EIPC_AVAILABLE_IN_1_0
EipcRenderer *eipc_renderer_new_for_address       (const char          *app_id,
                                                   const char          *address,
                                                   GError             **error);
EIPC_AVAILABLE_IN_1_0
EipcRenderer *eipc_renderer_new_guest             (const char          *app_id,
                                                   const char          *address,
                                                   guint64              host_id,
                                                   GError             **error);
EIPC_AVAILABLE_IN_1_0
void          eipc_renderer_new_async             (const char          *app_id,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
EIPC_AVAILABLE_IN_1_0
EipcRenderer *eipc_renderer_new_finish            (GAsyncResult        *result,
                                                   GError             **error);
EIPC_AVAILABLE_IN_1_0
guint64       eipc_renderer_get_id                (EipcRenderer        *self);
EIPC_AVAILABLE_IN_1_0
guint64       eipc_renderer_get_host_id           (EipcRenderer        *self);
EIPC_AVAILABLE_IN_1_0
const char   *eipc_renderer_get_app_id            (EipcRenderer        *self);
EIPC_AVAILABLE_IN_1_0
const char   *eipc_renderer_get_object_path       (EipcRenderer        *self);
EIPC_AVAILABLE_IN_1_0
gboolean      eipc_renderer_is_attached           (EipcRenderer        *self);
EIPC_AVAILABLE_IN_1_0
void          eipc_renderer_set_sync_timeout      (EipcRenderer        *self,
                                                   guint                timeout_msec);
EIPC_AVAILABLE_IN_1_0
guint         eipc_renderer_get_sync_timeout      (EipcRenderer        *self);
EIPC_AVAILABLE_IN_1_0
void          eipc_renderer_set_invoke_timeout    (EipcRenderer        *self,
                                                   guint                timeout_msec);
EIPC_AVAILABLE_IN_1_0
guint         eipc_renderer_get_invoke_timeout    (EipcRenderer        *self);
EIPC_AVAILABLE_IN_1_0
void          eipc_renderer_set_auto_reattach     (EipcRenderer        *self,
                                                   gboolean             auto_reattach);
EIPC_AVAILABLE_IN_1_0
gboolean      eipc_renderer_reattach              (EipcRenderer        *self,
                                                   GError             **error);

EIPC_AVAILABLE_IN_1_0
guint         eipc_renderer_on                    (EipcRenderer        *self,
                                                   const char          *channel,
                                                   EipcListenerFunc     listener,
                                                   gpointer             user_data,
                                                   GDestroyNotify       destroy);
EIPC_AVAILABLE_IN_1_0
guint         eipc_renderer_once                  (EipcRenderer        *self,
                                                   const char          *channel,
                                                   EipcListenerFunc     listener,
                                                   gpointer             user_data,
                                                   GDestroyNotify       destroy);
EIPC_AVAILABLE_IN_1_0
guint         eipc_renderer_prepend_listener      (EipcRenderer        *self,
                                                   const char          *channel,
                                                   EipcListenerFunc     listener,
                                                   gpointer             user_data,
                                                   GDestroyNotify       destroy);
EIPC_AVAILABLE_IN_1_0
gboolean      eipc_renderer_remove_listener       (EipcRenderer        *self,
                                                   const char          *channel,
                                                   EipcListenerFunc     listener,
                                                   gpointer             user_data);
EIPC_AVAILABLE_IN_1_0
gboolean      eipc_renderer_remove_listener_by_id (EipcRenderer        *self,
                                                   guint                listener_id);
EIPC_AVAILABLE_IN_1_0
void          eipc_renderer_remove_all_listeners  (EipcRenderer        *self,
                                                   const char          *channel);
EIPC_AVAILABLE_IN_1_0
guint         eipc_renderer_listener_count        (EipcRenderer        *self,
                                                   const char          *channel);
EIPC_AVAILABLE_IN_1_0
guint         eipc_renderer_on_host_message       (EipcRenderer        *self,
                                                   EipcListenerFunc     listener,
                                                   gpointer             user_data,
                                                   GDestroyNotify       destroy);

EIPC_AVAILABLE_IN_1_0
gboolean      eipc_renderer_send                  (EipcRenderer        *self,
                                                   const char          *channel,
                                                   JsonArray           *args,
                                                   GError             **error);
EIPC_AVAILABLE_IN_1_0
gboolean      eipc_renderer_send_json             (EipcRenderer        *self,
                                                   const char          *channel,
                                                   const char          *args_json,
                                                   GError             **error);
EIPC_AVAILABLE_IN_1_0
gboolean      eipc_renderer_post_message          (EipcRenderer        *self,
                                                   const char          *channel,
                                                   JsonNode            *message,
                                                   GPtrArray           *ports,
                                                   GError             **error);
EIPC_AVAILABLE_IN_1_0
gboolean      eipc_renderer_post_message_json     (EipcRenderer        *self,
                                                   const char          *channel,
                                                   const char          *message_json,
                                                   GPtrArray           *ports,
                                                   GError             **error);
EIPC_AVAILABLE_IN_1_0
void          eipc_renderer_invoke                (EipcRenderer        *self,
                                                   const char          *channel,
                                                   JsonArray           *args,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
EIPC_AVAILABLE_IN_1_0
void          eipc_renderer_invoke_json           (EipcRenderer        *self,
                                                   const char          *channel,
                                                   const char          *args_json,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
EIPC_AVAILABLE_IN_1_0
JsonNode     *eipc_renderer_invoke_finish         (EipcRenderer        *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);
EIPC_AVAILABLE_IN_1_0
char         *eipc_renderer_invoke_finish_json    (EipcRenderer        *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);
EIPC_AVAILABLE_IN_1_0
JsonNode     *eipc_renderer_send_sync             (EipcRenderer        *self,
                                                   const char          *channel,
                                                   JsonArray           *args,
                                                   GError             **error);
EIPC_AVAILABLE_IN_1_0
JsonNode     *eipc_renderer_send_sync_json        (EipcRenderer        *self,
                                                   const char          *channel,
                                                   const char          *args_json,
                                                   GError             **error);
EIPC_AVAILABLE_IN_1_0
void          eipc_renderer_send_to               (EipcRenderer        *self,
                                                   guint64              web_contents_id,
                                                   const char          *channel,
                                                   JsonArray           *args,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
EIPC_AVAILABLE_IN_1_0
void          eipc_renderer_send_to_json          (EipcRenderer        *self,
                                                   guint64              web_contents_id,
                                                   const char          *channel,
                                                   const char          *args_json,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
EIPC_AVAILABLE_IN_1_0
gboolean      eipc_renderer_send_to_finish        (EipcRenderer        *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);
EIPC_AVAILABLE_IN_1_0
void          eipc_renderer_send_to_host          (EipcRenderer        *self,
                                                   const char          *channel,
                                                   JsonArray           *args,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
EIPC_AVAILABLE_IN_1_0
void          eipc_renderer_send_to_host_json     (EipcRenderer        *self,
                                                   const char          *channel,
                                                   const char          *args_json,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
EIPC_AVAILABLE_IN_1_0
gboolean      eipc_renderer_send_to_host_finish   (EipcRenderer        *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);

EIPC_AVAILABLE_IN_1_0
gboolean      eipc_renderer_handle                (EipcRenderer        *self,
                                                   const char          *channel,
                                                   EipcListenerFunc     handler,
                                                   gpointer             user_data,
                                                   GDestroyNotify       destroy,
                                                   GError             **error);
EIPC_AVAILABLE_IN_1_0
gboolean      eipc_renderer_handle_once           (EipcRenderer        *self,
                                                   const char          *channel,
                                                   EipcListenerFunc     handler,
                                                   gpointer             user_data,
                                                   GDestroyNotify       destroy,
                                                   GError             **error);
EIPC_AVAILABLE_IN_1_0
gboolean      eipc_renderer_remove_handler        (EipcRenderer        *self,
                                                   const char          *channel);

G_END_DECLS
