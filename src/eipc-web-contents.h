/* eipc-web-contents.h: the main side's handle of one renderer
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
 * EipcWebContents:
 *
 * The main process's handle of one attached renderer (Electron's
 * `webContents`). It lives at `BASE/WebContents/ID` on the bus. When the
 * renderer detaches or its connection goes away, the object emits
 * #EipcWebContents::destroyed and every call on it fails with
 * %EIPC_ERROR_NO_SUCH_WEB_CONTENTS.
 *
 * Since: 1.0
 */
#define EIPC_TYPE_WEB_CONTENTS (eipc_web_contents_get_type ())
EIPC_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (EipcWebContents, eipc_web_contents, EIPC, WEB_CONTENTS, EipcEmitter)

EIPC_AVAILABLE_IN_1_0
guint64      eipc_web_contents_get_id           (EipcWebContents     *self);
EIPC_AVAILABLE_IN_1_0
const char  *eipc_web_contents_get_unique_name  (EipcWebContents     *self);
EIPC_AVAILABLE_IN_1_0
guint32      eipc_web_contents_get_process_id   (EipcWebContents     *self);
EIPC_AVAILABLE_IN_1_0
guint32      eipc_web_contents_get_user_id      (EipcWebContents     *self);
EIPC_AVAILABLE_IN_1_0
guint64      eipc_web_contents_get_host_id      (EipcWebContents     *self);
EIPC_AVAILABLE_IN_1_0
void         eipc_web_contents_set_allow_guests (EipcWebContents     *self,
                                                 gboolean             allow);
EIPC_AVAILABLE_IN_1_0
gboolean     eipc_web_contents_get_allow_guests (EipcWebContents     *self);
EIPC_AVAILABLE_IN_1_0
const char  *eipc_web_contents_get_object_path  (EipcWebContents     *self);
EIPC_AVAILABLE_IN_1_0
gboolean     eipc_web_contents_is_destroyed     (EipcWebContents     *self);
EIPC_AVAILABLE_IN_1_0
void         eipc_web_contents_set_invoke_timeout (EipcWebContents   *self,
                                                   guint              timeout_msec);
EIPC_AVAILABLE_IN_1_0
guint        eipc_web_contents_get_invoke_timeout (EipcWebContents   *self);
EIPC_AVAILABLE_IN_1_0
gboolean     eipc_web_contents_is_responding    (EipcWebContents     *self);
EIPC_AVAILABLE_IN_1_0
void         eipc_web_contents_set_unresponsive_timeout (EipcWebContents *self,
                                                         guint            timeout_msec);
EIPC_AVAILABLE_IN_1_0
guint        eipc_web_contents_get_unresponsive_timeout (EipcWebContents *self);
EIPC_AVAILABLE_IN_1_0
gboolean     eipc_web_contents_send             (EipcWebContents     *self,
                                                 const char          *channel,
                                                 JsonArray           *args,
                                                 GError             **error);
EIPC_AVAILABLE_IN_1_0
gboolean     eipc_web_contents_send_json        (EipcWebContents     *self,
                                                 const char          *channel,
                                                 const char          *args_json,
                                                 GError             **error);
EIPC_AVAILABLE_IN_1_0
gboolean     eipc_web_contents_post_message     (EipcWebContents     *self,
                                                 const char          *channel,
                                                 JsonNode            *message,
                                                 GPtrArray           *ports,
                                                 GError             **error);
EIPC_AVAILABLE_IN_1_0
gboolean     eipc_web_contents_post_message_json (EipcWebContents    *self,
                                                 const char          *channel,
                                                 const char          *message_json,
                                                 GPtrArray           *ports,
                                                 GError             **error);
EIPC_AVAILABLE_IN_1_0
void         eipc_web_contents_invoke           (EipcWebContents     *self,
                                                 const char          *channel,
                                                 JsonArray           *args,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
EIPC_AVAILABLE_IN_1_0
void         eipc_web_contents_invoke_json      (EipcWebContents     *self,
                                                 const char          *channel,
                                                 const char          *args_json,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
EIPC_AVAILABLE_IN_1_0
JsonNode    *eipc_web_contents_invoke_finish    (EipcWebContents     *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);
EIPC_AVAILABLE_IN_1_0
char        *eipc_web_contents_invoke_finish_json (EipcWebContents     *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);

EIPC_AVAILABLE_IN_1_0
guint        eipc_web_contents_on                    (EipcWebContents   *self,
                                                      const char        *channel,
                                                      EipcListenerFunc   listener,
                                                      gpointer           user_data,
                                                      GDestroyNotify     destroy);
EIPC_AVAILABLE_IN_1_0
guint        eipc_web_contents_once                  (EipcWebContents   *self,
                                                      const char        *channel,
                                                      EipcListenerFunc   listener,
                                                      gpointer           user_data,
                                                      GDestroyNotify     destroy);
EIPC_AVAILABLE_IN_1_0
guint        eipc_web_contents_prepend_listener      (EipcWebContents   *self,
                                                      const char        *channel,
                                                      EipcListenerFunc   listener,
                                                      gpointer           user_data,
                                                      GDestroyNotify     destroy);
EIPC_AVAILABLE_IN_1_0
gboolean     eipc_web_contents_remove_listener       (EipcWebContents   *self,
                                                      const char        *channel,
                                                      EipcListenerFunc   listener,
                                                      gpointer           user_data);
EIPC_AVAILABLE_IN_1_0
gboolean     eipc_web_contents_remove_listener_by_id (EipcWebContents   *self,
                                                      guint              listener_id);
EIPC_AVAILABLE_IN_1_0
void         eipc_web_contents_remove_all_listeners  (EipcWebContents   *self,
                                                      const char        *channel);
EIPC_AVAILABLE_IN_1_0
guint        eipc_web_contents_listener_count        (EipcWebContents   *self,
                                                      const char        *channel);
EIPC_AVAILABLE_IN_1_0
gboolean     eipc_web_contents_handle                (EipcWebContents   *self,
                                                      const char        *channel,
                                                      EipcListenerFunc   handler,
                                                      gpointer           user_data,
                                                      GDestroyNotify     destroy,
                                                      GError           **error);
EIPC_AVAILABLE_IN_1_0
gboolean     eipc_web_contents_handle_once           (EipcWebContents   *self,
                                                      const char        *channel,
                                                      EipcListenerFunc   handler,
                                                      gpointer           user_data,
                                                      GDestroyNotify     destroy,
                                                      GError           **error);
EIPC_AVAILABLE_IN_1_0
gboolean     eipc_web_contents_remove_handler        (EipcWebContents   *self,
                                                      const char        *channel);

/* A method of EipcEvent, declared here rather than in eipc-event.h: it
 * needs EipcWebContents, whose typedef C99 allows only once. */
EIPC_AVAILABLE_IN_1_0
EipcWebContents *eipc_event_get_sender              (EipcEvent         *self);

G_END_DECLS
