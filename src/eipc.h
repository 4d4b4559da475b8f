/* eipc.h: Electron's IPC model on D-Bus
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#define EIPC_INSIDE

#include "eipc-version.h"
#include "eipc-error.h"
#include "eipc-enum-types.h"
#include "eipc-event.h"
#include "eipc-render-process-gone.h"
#include "eipc-emitter.h"
#include "eipc-message-port.h"
#include "eipc-message-channel.h"
#include "eipc-web-contents.h"
#include "eipc-main.h"
#include "eipc-renderer.h"

#undef EIPC_INSIDE
