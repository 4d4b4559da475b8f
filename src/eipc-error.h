/* eipc-error.h: the eipc error domain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(EIPC_INSIDE) && !defined(EIPC_COMPILATION)
# error "Only <eipc/eipc.h> can be included directly."
#endif

#include <glib.h>

#include "eipc-version.h"

G_BEGIN_DECLS

/**
 * EIPC_ERROR:
 *
 * The error domain of eipc. Every code has a D-Bus error name under
 * `org.eipc.Error.`, so a remote error keeps its code across the bus.
 *
 * Since: 1.0
 */
#define EIPC_ERROR (eipc_error_quark ())

/**
 * EipcError:
 * @EIPC_ERROR_FAILED: generic failure (`org.eipc.Error.Failed`)
 * @EIPC_ERROR_NO_HANDLER: invoke on a channel without a handler
 *   (`org.eipc.Error.NoHandler`)
 * @EIPC_ERROR_HANDLER_FAILED: the handler rejected the invoke
 *   (`org.eipc.Error.HandlerFailed`)
 * @EIPC_ERROR_NO_LISTENER: sendSync on a channel without a listener
 *   (`org.eipc.Error.NoListener`)
 * @EIPC_ERROR_NO_RETURN_VALUE: every listener of a sendSync let go of the
 *   event without setting a return value (`org.eipc.Error.NoReturnValue`)
 * @EIPC_ERROR_INVALID_ARGS: a channel or an argument list is not valid
 *   (`org.eipc.Error.InvalidArgs`)
 * @EIPC_ERROR_NOT_ATTACHED: the client has not attached
 *   (`org.eipc.Error.NotAttached`)
 * @EIPC_ERROR_NO_SUCH_WEB_CONTENTS: no webContents has that id
 *   (`org.eipc.Error.NoSuchWebContents`)
 * @EIPC_ERROR_ACCESS_DENIED: the sender is not allowed to do this, for
 *   example it claims another renderer's identity
 *   (`org.eipc.Error.AccessDenied`)
 * @EIPC_ERROR_HANDLER_EXISTS: a second handler for one channel
 *   (`org.eipc.Error.HandlerExists`)
 * @EIPC_ERROR_NAME_TAKEN: another process owns the app's bus name
 *   (`org.eipc.Error.NameTaken`)
 * @EIPC_ERROR_DISCONNECTED: the peer (main process, renderer or bus) went
 *   away (`org.eipc.Error.Disconnected`)
 * @EIPC_ERROR_TIMEOUT: no answer in time (`org.eipc.Error.Timeout`)
 * @EIPC_ERROR_LIMITS_EXCEEDED: a limit of eipc or of the bus was hit
 *   (`org.eipc.Error.LimitsExceeded`)
 * @EIPC_ERROR_NO_HOST: sendToHost from a renderer that is not a guest
 *   (`org.eipc.Error.NoHost`)
 * @EIPC_ERROR_FORGED_REPLY: the reply to a call came from another process
 *   than the one the call went to; it was refused and the call failed
 *   (`org.eipc.Error.ForgedReply`). The message names the sender.
 *
 * Error codes of the %EIPC_ERROR domain.
 *
 * Since: 1.0
 */
typedef enum {
  EIPC_ERROR_FAILED,
  EIPC_ERROR_NO_HANDLER,
  EIPC_ERROR_HANDLER_FAILED,
  EIPC_ERROR_NO_LISTENER,
  EIPC_ERROR_NO_RETURN_VALUE,
  EIPC_ERROR_INVALID_ARGS,
  EIPC_ERROR_NOT_ATTACHED,
  EIPC_ERROR_NO_SUCH_WEB_CONTENTS,
  EIPC_ERROR_ACCESS_DENIED,
  EIPC_ERROR_HANDLER_EXISTS,
  EIPC_ERROR_NAME_TAKEN,
  EIPC_ERROR_DISCONNECTED,
  EIPC_ERROR_TIMEOUT,
  EIPC_ERROR_LIMITS_EXCEEDED,
  EIPC_ERROR_NO_HOST,
  EIPC_ERROR_FORGED_REPLY,
} EipcError;

EIPC_AVAILABLE_IN_1_0
GQuark       eipc_error_quark            (void);
EIPC_AVAILABLE_IN_1_0
const char  *eipc_error_to_dbus_name     (EipcError    code);
EIPC_AVAILABLE_IN_1_0
EipcError    eipc_error_from_dbus_name   (const char  *name);

G_END_DECLS
