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
 */
#define EIPC_TYPE_WEB_CONTENTS (eipc_web_contents_get_type ())
EIPC_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (EipcWebContents, eipc_web_contents, EIPC, WEB_CONTENTS, GObject)

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
const char  *eipc_web_contents_get_object_path  (EipcWebContents     *self);
EIPC_AVAILABLE_IN_1_0
gboolean     eipc_web_contents_is_destroyed     (EipcWebContents     *self);
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

G_END_DECLS
