/* eipc-error.c: the error domain and its D-Bus names
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <string.h>

#include <gio/gio.h>

#include "eipc-private.h"

/* One table maps every code to its D-Bus name, both ways (as gdbuserror.c
 * does for GIO). */
static const GDBusErrorEntry error_entries[] = {
  { EIPC_ERROR_FAILED,               "org.eipc.Error.Failed" },
  { EIPC_ERROR_NO_HANDLER,           "org.eipc.Error.NoHandler" },
  { EIPC_ERROR_HANDLER_FAILED,       "org.eipc.Error.HandlerFailed" },
  { EIPC_ERROR_NO_LISTENER,          "org.eipc.Error.NoListener" },
  { EIPC_ERROR_NO_RETURN_VALUE,      "org.eipc.Error.NoReturnValue" },
  { EIPC_ERROR_INVALID_ARGS,         "org.eipc.Error.InvalidArgs" },
  { EIPC_ERROR_NOT_ATTACHED,         "org.eipc.Error.NotAttached" },
  { EIPC_ERROR_NO_SUCH_WEB_CONTENTS, "org.eipc.Error.NoSuchWebContents" },
  { EIPC_ERROR_ACCESS_DENIED,        "org.eipc.Error.AccessDenied" },
  { EIPC_ERROR_HANDLER_EXISTS,       "org.eipc.Error.HandlerExists" },
  { EIPC_ERROR_NAME_TAKEN,           "org.eipc.Error.NameTaken" },
  { EIPC_ERROR_DISCONNECTED,         "org.eipc.Error.Disconnected" },
  { EIPC_ERROR_TIMEOUT,              "org.eipc.Error.Timeout" },
  { EIPC_ERROR_LIMITS_EXCEEDED,      "org.eipc.Error.LimitsExceeded" },
  { EIPC_ERROR_NO_HOST,              "org.eipc.Error.NoHost" },
  { EIPC_ERROR_FORGED_REPLY,         "org.eipc.Error.ForgedReply" },
};

/* Standard D-Bus errors that have a natural eipc code. */
static const GDBusErrorEntry foreign_entries[] = {
  { EIPC_ERROR_TIMEOUT,              "org.freedesktop.DBus.Error.NoReply" },
  { EIPC_ERROR_TIMEOUT,              "org.freedesktop.DBus.Error.Timeout" },
  { EIPC_ERROR_TIMEOUT,              "org.freedesktop.DBus.Error.TimedOut" },
  { EIPC_ERROR_DISCONNECTED,         "org.freedesktop.DBus.Error.ServiceUnknown" },
  { EIPC_ERROR_DISCONNECTED,         "org.freedesktop.DBus.Error.NameHasNoOwner" },
  { EIPC_ERROR_DISCONNECTED,         "org.freedesktop.DBus.Error.Disconnected" },
  { EIPC_ERROR_DISCONNECTED,         "org.freedesktop.DBus.Error.NoServer" },
  { EIPC_ERROR_LIMITS_EXCEEDED,      "org.freedesktop.DBus.Error.LimitsExceeded" },
  { EIPC_ERROR_LIMITS_EXCEEDED,      "org.freedesktop.DBus.Error.NoMemory" },
  { EIPC_ERROR_INVALID_ARGS,         "org.freedesktop.DBus.Error.InvalidArgs" },
  { EIPC_ERROR_INVALID_ARGS,         "org.freedesktop.DBus.Error.InvalidSignature" },
  { EIPC_ERROR_ACCESS_DENIED,        "org.freedesktop.DBus.Error.AccessDenied" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (error_entries) == EIPC_ERROR_FORGED_REPLY + 1);

/**
 * eipc_error_quark:
 *
 * The quark of the %EIPC_ERROR domain. It is registered with GIO's D-Bus
 * error mapping too, so GDBus clients see the same codes.
 *
 * Returns: the error quark
 *
 * Since: 1.0
 */
GQuark
eipc_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("eipc-error-quark", &quark,
                                      error_entries,
                                      G_N_ELEMENTS (error_entries));
  return (GQuark) quark;
}

/**
 * eipc_error_to_dbus_name:
 * @code: an #EipcError
 *
 * Gives the D-Bus error name eipc uses on the wire for @code.
 *
 * Returns: the D-Bus error name, for example `org.eipc.Error.NoHandler`
 *
 * Since: 1.0
 */
const char *
eipc_error_to_dbus_name (EipcError code)
{
  if ((guint) code >= G_N_ELEMENTS (error_entries))
    code = EIPC_ERROR_FAILED;
  return error_entries[code].dbus_error_name;
}

/**
 * eipc_error_from_dbus_name:
 * @name: a D-Bus error name
 *
 * Maps a D-Bus error name to an #EipcError. Names under `org.eipc.Error.`
 * map back to their code; standard names with a natural meaning (NoReply,
 * ServiceUnknown, LimitsExceeded, InvalidArgs, AccessDenied, ...) map to
 * the matching code; anything else is %EIPC_ERROR_FAILED.
 *
 * Returns: the error code
 *
 * Since: 1.0
 */
EipcError
eipc_error_from_dbus_name (const char *name)
{
  g_return_val_if_fail (name != NULL, EIPC_ERROR_FAILED);

  for (gsize i = 0; i < G_N_ELEMENTS (error_entries); i++)
    if (strcmp (error_entries[i].dbus_error_name, name) == 0)
      return error_entries[i].error_code;
  for (gsize i = 0; i < G_N_ELEMENTS (foreign_entries); i++)
    if (strcmp (foreign_entries[i].dbus_error_name, name) == 0)
      return foreign_entries[i].error_code;
  return EIPC_ERROR_FAILED;
}

static EipcError
code_from_errno (int r)
{
  switch (-r)
    {
    case ENOTCONN:
    case ECONNRESET:
    case ECONNREFUSED:
    case EPIPE:
    case ESHUTDOWN:
    case ENOENT:
      return EIPC_ERROR_DISCONNECTED;
    case ETIMEDOUT:
      return EIPC_ERROR_TIMEOUT;
    case ENOBUFS:
    case E2BIG:
    case ENOMEM:
    case EMSGSIZE:
      return EIPC_ERROR_LIMITS_EXCEEDED;
    case EINVAL:
      return EIPC_ERROR_INVALID_ARGS;
    case EACCES:
    case EPERM:
      return EIPC_ERROR_ACCESS_DENIED;
    default:
      return EIPC_ERROR_FAILED;
    }
}

/* Converts a negative errno from sd-bus to a GError, once, at the public
 * boundary. */
void
eipc_set_error_from_errno (GError     **error,
                           int          r,
                           const char  *what)
{
  g_assert (r < 0);
  g_set_error (error, EIPC_ERROR, code_from_errno (r),
               "%s: %s", what, g_strerror (-r));
}

/* Converts the error of a failed call: a D-Bus error when the peer
 * answered with one, else the errno. */
void
eipc_set_error_from_bus_error (GError             **error,
                               const sd_bus_error  *bus_error,
                               int                  r)
{
  if (bus_error != NULL && sd_bus_error_is_set (bus_error))
    {
      EipcError code = eipc_error_from_dbus_name (bus_error->name);

      /* dbus-daemon answers NoReply both for a timeout and for a peer that
       * left without answering; only the text tells them apart. */
      if (sd_bus_error_has_name (bus_error, "org.freedesktop.DBus.Error.NoReply") &&
          bus_error->message != NULL &&
          strstr (bus_error->message, "disconnected") != NULL)
        code = EIPC_ERROR_DISCONNECTED;

      g_set_error_literal (error, EIPC_ERROR, code,
                           bus_error->message != NULL ? bus_error->message
                                                      : bus_error->name);
      return;
    }
  eipc_set_error_from_errno (error, r < 0 ? r : -EIO, "D-Bus call failed");
}

int
eipc_reply_error (sd_bus_message *call,
                  EipcError       code,
                  const char     *format,
                  ...)
{
  g_autofree char *message = NULL;
  va_list ap;

  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);

  return sd_bus_reply_method_errorf (call, eipc_error_to_dbus_name (code),
                                     "%s", message);
}

int
eipc_reply_gerror (sd_bus_message *call,
                   const GError   *error)
{
  EipcError code = error->domain == EIPC_ERROR ? error->code : EIPC_ERROR_FAILED;

  return eipc_reply_error (call, code, "%s", error->message);
}
