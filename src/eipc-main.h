/* eipc-main.h: the main process (ipcMain)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(EIPC_INSIDE) && !defined(EIPC_COMPILATION)
# error "Only <eipc/eipc.h> can be included directly."
#endif

#include <glib-object.h>
#include <json-glib/json-glib.h>

#include "eipc-emitter.h"
#include "eipc-event.h"
#include "eipc-render-process-gone.h"
#include "eipc-version.h"
#include "eipc-web-contents.h"

G_BEGIN_DECLS

/**
 * EipcMain:
 *
 * The main process of an application: it owns the app's bus name, keeps
 * the registry of attached renderers and serves `ipcMain`'s listeners and
 * handlers.
 *
 * Since: 1.0
 */
#define EIPC_TYPE_MAIN (eipc_main_get_type ())
EIPC_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (EipcMain, eipc_main, EIPC, MAIN, EipcEmitter)

/**
 * EIPC_DEFAULT_MAX_PENDING_CALLS:
 *
 * How many invokes and sendSyncs one client may have waiting for an answer
 * at once, unless eipc_main_set_limits() says otherwise.
 *
 * Since: 1.0
 */
#define EIPC_DEFAULT_MAX_PENDING_CALLS 1024

/**
 * EIPC_DEFAULT_MAX_ARGS_SIZE:
 *
 * The largest arguments text (bytes of JSON) the main process accepts,
 * unless eipc_main_set_limits() says otherwise: 16 MiB.
 *
 * Since: 1.0
 */
#define EIPC_DEFAULT_MAX_ARGS_SIZE (16 * 1024 * 1024)

/**
 * EIPC_DEFAULT_MAX_CLIENT_BYTES:
 *
 * The bytes one client may make the main process hold, unless
 * eipc_main_set_memory_limits() says otherwise: 32 MiB (room for a call
 * with the largest arguments and its answer).
 *
 * Since: 1.0
 */
#define EIPC_DEFAULT_MAX_CLIENT_BYTES (G_GUINT64_CONSTANT (32) * 1024 * 1024)

/**
 * EIPC_DEFAULT_MAX_TOTAL_BYTES:
 *
 * The bytes all clients together may make the main process hold, unless
 * eipc_main_set_memory_limits() says otherwise: 256 MiB.
 *
 * Since: 1.0
 */
#define EIPC_DEFAULT_MAX_TOTAL_BYTES (G_GUINT64_CONSTANT (256) * 1024 * 1024)

EIPC_AVAILABLE_IN_1_0
EipcMain        *eipc_main_new                    (const char       *app_id,
                                                   GError          **error);
EIPC_AVAILABLE_IN_1_0
EipcMain        *eipc_main_new_for_address        (const char       *app_id,
                                                   const char       *address,
                                                   GError          **error);
EIPC_AVAILABLE_IN_1_0
void             eipc_main_new_async              (const char          *app_id,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
EIPC_AVAILABLE_IN_1_0
EipcMain        *eipc_main_new_finish             (GAsyncResult     *result,
                                                   GError          **error);
EIPC_AVAILABLE_IN_1_0
const char      *eipc_main_get_app_id             (EipcMain         *self);
EIPC_AVAILABLE_IN_1_0
const char      *eipc_main_get_object_path        (EipcMain         *self);
EIPC_AVAILABLE_IN_1_0
const char      *eipc_main_get_unique_name        (EipcMain         *self);
EIPC_AVAILABLE_IN_1_0
void             eipc_main_set_strict             (EipcMain         *self,
                                                   gboolean          strict);
EIPC_AVAILABLE_IN_1_0
gboolean         eipc_main_get_strict             (EipcMain         *self);
EIPC_AVAILABLE_IN_1_0
void             eipc_main_set_limits             (EipcMain         *self,
                                                   guint             max_pending_calls,
                                                   gsize             max_args_size);
EIPC_AVAILABLE_IN_1_0
guint            eipc_main_get_max_pending_calls  (EipcMain         *self);
EIPC_AVAILABLE_IN_1_0
void             eipc_main_set_memory_limits      (EipcMain         *self,
                                                   guint64           per_client_bytes,
                                                   guint64           total_bytes);
EIPC_AVAILABLE_IN_1_0
guint64          eipc_main_get_max_client_bytes   (EipcMain         *self);
EIPC_AVAILABLE_IN_1_0
guint64          eipc_main_get_max_total_bytes    (EipcMain         *self);
EIPC_AVAILABLE_IN_1_0
guint64          eipc_main_get_held_bytes         (EipcMain         *self);
EIPC_AVAILABLE_IN_1_0
gsize            eipc_main_get_max_args_size      (EipcMain         *self);

EIPC_AVAILABLE_IN_1_0
guint            eipc_main_on                     (EipcMain         *self,
                                                   const char       *channel,
                                                   EipcListenerFunc  listener,
                                                   gpointer          user_data,
                                                   GDestroyNotify    destroy);
EIPC_AVAILABLE_IN_1_0
guint            eipc_main_once                   (EipcMain         *self,
                                                   const char       *channel,
                                                   EipcListenerFunc  listener,
                                                   gpointer          user_data,
                                                   GDestroyNotify    destroy);
EIPC_AVAILABLE_IN_1_0
guint            eipc_main_prepend_listener       (EipcMain         *self,
                                                   const char       *channel,
                                                   EipcListenerFunc  listener,
                                                   gpointer          user_data,
                                                   GDestroyNotify    destroy);
EIPC_AVAILABLE_IN_1_0
gboolean         eipc_main_remove_listener        (EipcMain         *self,
                                                   const char       *channel,
                                                   EipcListenerFunc  listener,
                                                   gpointer          user_data);
EIPC_AVAILABLE_IN_1_0
gboolean         eipc_main_remove_listener_by_id  (EipcMain         *self,
                                                   guint             listener_id);
EIPC_AVAILABLE_IN_1_0
void             eipc_main_remove_all_listeners   (EipcMain         *self,
                                                   const char       *channel);
EIPC_AVAILABLE_IN_1_0
guint            eipc_main_listener_count         (EipcMain         *self,
                                                   const char       *channel);

EIPC_AVAILABLE_IN_1_0
gboolean         eipc_main_handle                 (EipcMain         *self,
                                                   const char       *channel,
                                                   EipcListenerFunc  handler,
                                                   gpointer          user_data,
                                                   GDestroyNotify    destroy,
                                                   GError          **error);
EIPC_AVAILABLE_IN_1_0
gboolean         eipc_main_handle_once            (EipcMain         *self,
                                                   const char       *channel,
                                                   EipcListenerFunc  handler,
                                                   gpointer          user_data,
                                                   GDestroyNotify    destroy,
                                                   GError          **error);
EIPC_AVAILABLE_IN_1_0
gboolean         eipc_main_remove_handler         (EipcMain         *self,
                                                   const char       *channel);

EIPC_AVAILABLE_IN_1_0
EipcWebContents *eipc_main_get_web_contents       (EipcMain         *self,
                                                   guint64           id);
EIPC_AVAILABLE_IN_1_0
GPtrArray       *eipc_main_list_web_contents      (EipcMain         *self);
EIPC_AVAILABLE_IN_1_0
gboolean         eipc_main_broadcast              (EipcMain         *self,
                                                   const char       *channel,
                                                   JsonArray        *args,
                                                   GError          **error);
EIPC_AVAILABLE_IN_1_0
gboolean         eipc_main_broadcast_json         (EipcMain         *self,
                                                   const char       *channel,
                                                   const char       *args_json,
                                                   GError          **error);

EIPC_AVAILABLE_IN_1_0
gboolean         eipc_main_spawn_renderer         (EipcMain           *self,
                                                   const char * const *argv,
                                                   const char * const *envp,
                                                   const char         *working_directory,
                                                   GPid               *pid,
                                                   GError            **error);

G_END_DECLS
