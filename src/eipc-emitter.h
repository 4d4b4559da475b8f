/* eipc-emitter.h: listeners and handlers, shared by main, renderer and
 * webContents
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(EIPC_INSIDE) && !defined(EIPC_COMPILATION)
# error "Only <eipc/eipc.h> can be included directly."
#endif

#include <glib-object.h>

#include "eipc-event.h"
#include "eipc-version.h"

G_BEGIN_DECLS

/**
 * EipcEmitter:
 *
 * The abstract base of [class@Eipc.Main], [class@Eipc.Renderer] and
 * [class@Eipc.WebContents]: Node's `EventEmitter` for IPC channels plus
 * Electron's invoke handlers, in one place.
 *
 * Listeners (`on`, `once`, `prepend_listener`) run in order for every
 * message of their channel; a handler (`handle`, `handle_once`) answers
 * the invokes of its channel. Emission follows Node's rules exactly:
 *
 * - an emission runs over a copy of the channel's listeners taken when it
 *   starts, so a listener added during the emission does not run in it,
 *   and a listener removed during the emission by an earlier one still
 *   runs in it (a `once` listener included, unless it already ran);
 * - a `once` listener is removed before it runs, so it runs at most once
 *   even when the emission re-enters;
 * - `remove_listener` removes the last-added matching listener.
 *
 * Listeners and handlers are reference-counted while they run: one may
 * remove itself, another one, or everything on its channel, and its
 * `user_data` is released (with its `GDestroyNotify`) only after it
 * returned.
 *
 * Each subclass has the same calls under its own prefix, for example
 * eipc_main_on() and eipc_renderer_on(); the `eipc_emitter_` calls work
 * on any of them.
 *
 * Since: 1.0
 */
#define EIPC_TYPE_EMITTER (eipc_emitter_get_type ())
EIPC_AVAILABLE_IN_1_0
G_DECLARE_DERIVABLE_TYPE (EipcEmitter, eipc_emitter, EIPC, EMITTER, GObject)

/**
 * EipcEmitterClass:
 * @parent_class: the parent class
 * @handlers_changed: called after a handler was added or removed (a
 *   `handle_once` handler included, just before it runs)
 *
 * The class of #EipcEmitter.
 *
 * Since: 1.0
 */
struct _EipcEmitterClass
{
  GObjectClass parent_class;

  void (*handlers_changed) (EipcEmitter *self);

  /*< private >*/
  gpointer padding[8];
};

EIPC_AVAILABLE_IN_1_0
guint        eipc_emitter_on                    (EipcEmitter       *self,
                                                 const char        *channel,
                                                 EipcListenerFunc   listener,
                                                 gpointer           user_data,
                                                 GDestroyNotify     destroy);
EIPC_AVAILABLE_IN_1_0
guint        eipc_emitter_once                  (EipcEmitter       *self,
                                                 const char        *channel,
                                                 EipcListenerFunc   listener,
                                                 gpointer           user_data,
                                                 GDestroyNotify     destroy);
EIPC_AVAILABLE_IN_1_0
guint        eipc_emitter_prepend_listener      (EipcEmitter       *self,
                                                 const char        *channel,
                                                 EipcListenerFunc   listener,
                                                 gpointer           user_data,
                                                 GDestroyNotify     destroy);
EIPC_AVAILABLE_IN_1_0
gboolean     eipc_emitter_remove_listener       (EipcEmitter       *self,
                                                 const char        *channel,
                                                 EipcListenerFunc   listener,
                                                 gpointer           user_data);
EIPC_AVAILABLE_IN_1_0
gboolean     eipc_emitter_remove_listener_by_id (EipcEmitter       *self,
                                                 guint              listener_id);
EIPC_AVAILABLE_IN_1_0
void         eipc_emitter_remove_all_listeners  (EipcEmitter       *self,
                                                 const char        *channel);
EIPC_AVAILABLE_IN_1_0
guint        eipc_emitter_listener_count        (EipcEmitter       *self,
                                                 const char        *channel);
EIPC_AVAILABLE_IN_1_0
gboolean     eipc_emitter_handle                (EipcEmitter       *self,
                                                 const char        *channel,
                                                 EipcListenerFunc   handler,
                                                 gpointer           user_data,
                                                 GDestroyNotify     destroy,
                                                 GError           **error);
EIPC_AVAILABLE_IN_1_0
gboolean     eipc_emitter_handle_once           (EipcEmitter       *self,
                                                 const char        *channel,
                                                 EipcListenerFunc   handler,
                                                 gpointer           user_data,
                                                 GDestroyNotify     destroy,
                                                 GError           **error);
EIPC_AVAILABLE_IN_1_0
gboolean     eipc_emitter_remove_handler        (EipcEmitter       *self,
                                                 const char        *channel);
EIPC_AVAILABLE_IN_1_0
gboolean     eipc_emitter_has_handler           (EipcEmitter       *self,
                                                 const char        *channel);

G_END_DECLS
