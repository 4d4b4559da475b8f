/* eipc-message-channel.c: a pair of entangled ports (MessageChannelMain)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <sys/socket.h>

#include "eipc-private.h"

struct _EipcMessageChannel
{
  GObject          parent_instance;

  EipcMessagePort *port1;
  EipcMessagePort *port2;
};

G_DEFINE_FINAL_TYPE (EipcMessageChannel, eipc_message_channel, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PORT1,
  PROP_PORT2,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
eipc_message_channel_dispose (GObject *object)
{
  EipcMessageChannel *self = EIPC_MESSAGE_CHANNEL (object);

  g_clear_object (&self->port1);
  g_clear_object (&self->port2);

  G_OBJECT_CLASS (eipc_message_channel_parent_class)->dispose (object);
}

static void
eipc_message_channel_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  EipcMessageChannel *self = EIPC_MESSAGE_CHANNEL (object);

  switch (prop_id)
    {
    case PROP_PORT1:
      g_value_set_object (value, self->port1);
      break;
    case PROP_PORT2:
      g_value_set_object (value, self->port2);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
eipc_message_channel_constructed (GObject *object)
{
  EipcMessageChannel *self = EIPC_MESSAGE_CHANNEL (object);
  int fds[2];

  G_OBJECT_CLASS (eipc_message_channel_parent_class)->constructed (object);

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) < 0)
    {
      /* Out of file descriptors: two closed ports, whose posts say why. */
      g_debug ("eipc: no socket pair for a message channel: %s",
               g_strerror (errno));
      fds[0] = fds[1] = -1;
    }
  self->port1 = eipc_message_port_new_internal (fds[0], TRUE, NULL);
  self->port2 = eipc_message_port_new_internal (fds[1], FALSE, NULL);
  if (fds[0] < 0)
    {
      eipc_message_port_close (self->port1);
      eipc_message_port_close (self->port2);
    }
  eipc_message_port_set_partner (self->port1, self->port2);
  eipc_message_port_set_partner (self->port2, self->port1);
}

static void
eipc_message_channel_class_init (EipcMessageChannelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = eipc_message_channel_constructed;
  object_class->dispose = eipc_message_channel_dispose;
  object_class->get_property = eipc_message_channel_get_property;

  /**
   * EipcMessageChannel:port1:
   *
   * The first port (Electron's `port1`).
   *
   * Since: 1.0
   */
  properties[PROP_PORT1] =
    g_param_spec_object ("port1", NULL, NULL, EIPC_TYPE_MESSAGE_PORT,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * EipcMessageChannel:port2:
   *
   * The second port (Electron's `port2`).
   *
   * Since: 1.0
   */
  properties[PROP_PORT2] =
    g_param_spec_object ("port2", NULL, NULL, EIPC_TYPE_MESSAGE_PORT,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
eipc_message_channel_init (EipcMessageChannel *self)
{
}

/**
 * eipc_message_channel_new:
 *
 * Makes two entangled ports over a new socket pair: Electron's
 * `new MessageChannelMain()`. The ports belong to the thread-default
 * main context. If the process is out of file descriptors, both ports
 * are born closed and posting to them says so.
 *
 * Returns: (transfer full): a new #EipcMessageChannel
 *
 * Since: 1.0
 */
EipcMessageChannel *
eipc_message_channel_new (void)
{
  return g_object_new (EIPC_TYPE_MESSAGE_CHANNEL, NULL);
}

/**
 * eipc_message_channel_get_port1:
 * @self: an #EipcMessageChannel
 *
 * Gets the first port (Electron's `port1`).
 *
 * Returns: (transfer none): the first port
 *
 * Since: 1.0
 */
EipcMessagePort *
eipc_message_channel_get_port1 (EipcMessageChannel *self)
{
  g_return_val_if_fail (EIPC_IS_MESSAGE_CHANNEL (self), NULL);
  return self->port1;
}

/**
 * eipc_message_channel_get_port2:
 * @self: an #EipcMessageChannel
 *
 * Gets the second port (Electron's `port2`).
 *
 * Returns: (transfer none): the second port
 *
 * Since: 1.0
 */
EipcMessagePort *
eipc_message_channel_get_port2 (EipcMessageChannel *self)
{
  g_return_val_if_fail (EIPC_IS_MESSAGE_CHANNEL (self), NULL);
  return self->port2;
}
