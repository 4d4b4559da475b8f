/* eipc-message-port.h: one end of a direct channel (MessagePortMain)
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
 * EIPC_MESSAGE_PORT_INLINE_MAX:
 *
 * Binary payloads (eipc_message_port_post_bytes()) up to this many bytes
 * travel inside the D-Bus message as `ay`; larger ones travel in a sealed
 * memfd that the receiver maps read-only. (Measured: below about 1 MiB the
 * socket's copies cost less than a memfd's page-cache pages; see
 * docs/message-ports.md.)
 *
 * Since: 1.0
 */
#define EIPC_MESSAGE_PORT_INLINE_MAX (1024 * 1024)

/**
 * EipcMessagePort:
 *
 * One end of a direct, two-way channel between two processes: Electron's
 * `MessagePortMain` (and the renderer's `MessagePort`). Ports come in
 * entangled pairs from an #EipcMessageChannel; one end is usually handed
 * to another process with eipc_web_contents_post_message(),
 * eipc_renderer_post_message() or eipc_message_port_post_message(), after
 * which the two processes talk without the main process or the bus
 * daemon: a port is a peer-to-peer D-Bus connection (interface
 * `org.eipc.Port1`) over one end of a socket pair.
 *
 * Messages that arrive are queued until eipc_message_port_start() is
 * called, as in Electron; then each one emits #EipcMessagePort::message.
 * When the other end is closed, or the process holding it dies,
 * #EipcMessagePort::close is emitted and later posts fail with
 * %EIPC_ERROR_DISCONNECTED.
 *
 * A port belongs to the thread-default #GMainContext it was created in
 * (or received in); its signals are emitted there.
 *
 * Since: 1.0
 */
#define EIPC_TYPE_MESSAGE_PORT (eipc_message_port_get_type ())
EIPC_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (EipcMessagePort, eipc_message_port, EIPC, MESSAGE_PORT, GObject)

EIPC_AVAILABLE_IN_1_0
EipcMessagePort *eipc_message_port_new_for_fd        (int               fd,
                                                      gboolean          server,
                                                      GError          **error);
EIPC_AVAILABLE_IN_1_0
int              eipc_message_port_steal_fd          (EipcMessagePort  *self,
                                                      gboolean         *server,
                                                      GError          **error);
EIPC_AVAILABLE_IN_1_0
gboolean         eipc_message_port_post_message      (EipcMessagePort  *self,
                                                      JsonNode         *message,
                                                      GPtrArray        *ports,
                                                      GError          **error);
EIPC_AVAILABLE_IN_1_0
gboolean         eipc_message_port_post_message_json (EipcMessagePort  *self,
                                                      const char       *json,
                                                      GPtrArray        *ports,
                                                      GError          **error);
EIPC_AVAILABLE_IN_1_0
gboolean         eipc_message_port_post_bytes        (EipcMessagePort  *self,
                                                      GBytes           *bytes,
                                                      GError          **error);
EIPC_AVAILABLE_IN_1_0
void             eipc_message_port_start             (EipcMessagePort  *self);
EIPC_AVAILABLE_IN_1_0
void             eipc_message_port_close             (EipcMessagePort  *self);
EIPC_AVAILABLE_IN_1_0
gboolean         eipc_message_port_is_closed         (EipcMessagePort  *self);
EIPC_AVAILABLE_IN_1_0
gboolean         eipc_message_port_is_transferred    (EipcMessagePort  *self);

G_END_DECLS
