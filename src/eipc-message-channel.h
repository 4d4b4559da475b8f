/* eipc-message-channel.h: a pair of entangled ports (MessageChannelMain)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(EIPC_INSIDE) && !defined(EIPC_COMPILATION)
# error "Only <eipc/eipc.h> can be included directly."
#endif

#include <glib-object.h>

#include "eipc-version.h"
#include "eipc-message-port.h"

G_BEGIN_DECLS

/**
 * EipcMessageChannel:
 *
 * Two entangled #EipcMessagePort objects: Electron's `MessageChannelMain`
 * (`new MessageChannelMain()`, `port1`, `port2`). What one port posts,
 * the other receives. Keep one and transfer the other, or transfer both
 * to link two renderers directly.
 *
 * Since: 1.0
 */
#define EIPC_TYPE_MESSAGE_CHANNEL (eipc_message_channel_get_type ())
EIPC_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (EipcMessageChannel, eipc_message_channel, EIPC, MESSAGE_CHANNEL, GObject)

EIPC_AVAILABLE_IN_1_0
EipcMessageChannel *eipc_message_channel_new       (void);
EIPC_AVAILABLE_IN_1_0
EipcMessagePort    *eipc_message_channel_get_port1 (EipcMessageChannel *self);
EIPC_AVAILABLE_IN_1_0
EipcMessagePort    *eipc_message_channel_get_port2 (EipcMessageChannel *self);

G_END_DECLS
