/* load-common.h: the main process's side of a load run
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Renderers (eipc-test-renderer's load command) send [SEQ] on "load",
 * SEQ counting from 0 per renderer, and invoke "load-invoke" with
 * [K, SENT]: the K-th invoke, issued after SENT sends. The main process
 * checks that every send arrives once and in order per sender id, that
 * the invokes arrive in order, and in order with the sends (SENT sends
 * arrived before invoke K), and answers [SENDER_ID, K]. It can also
 * broadcast [SEQ] on "bcast" while the load runs.
 */

#pragma once

#include <eipc/eipc.h>

G_BEGIN_DECLS

#define LOAD_CHANNEL        "load"
#define LOAD_INVOKE_CHANNEL "load-invoke"
#define LOAD_BCAST_CHANNEL  "bcast"

typedef struct {
  guint64     id;
  GByteArray *seen;              /* one byte per sequence number */
  guint64     received;          /* every send, duplicates included */
  guint64     unique;
  guint64     duplicates;
  guint64     reordered;         /* sends whose SEQ was not last + 1 */
  gint64      last;              /* last SEQ, -1 before the first */
  guint64     invokes;
  guint64     invoke_reordered;  /* invokes whose K was not last + 1 */
  guint64     cross_order;       /* invokes that overtook a send or lagged */
  gint64      last_invoke;
} LoadSender;

typedef struct {
  guint       senders;
  guint64     received;
  guint64     unique;
  guint64     duplicates;
  guint64     reordered;
  guint64     malformed;
  guint64     invokes;
  guint64     invoke_reordered;
  guint64     cross_order;
} LoadTotals;

typedef struct _LoadMain LoadMain;

/* Adds the listener and the handler to @main. */
LoadMain         *load_main_new               (EipcMain    *main);
/* Broadcasts [0] .. [@total - 1] on "bcast", @per_tick every @interval_ms,
 * from the thread-default main context. */
void              load_main_start_broadcast   (LoadMain    *self,
                                               guint        total,
                                               guint        per_tick,
                                               guint        interval_ms);
guint             load_main_get_broadcast_sent (LoadMain   *self);
gboolean          load_main_broadcast_done    (LoadMain    *self);
const LoadSender *load_main_lookup            (LoadMain    *self,
                                               guint64      id);
void              load_main_get_totals        (LoadMain    *self,
                                               LoadTotals  *totals);
char             *load_main_describe          (LoadMain    *self);
/* Removes the listener and the handler; stops broadcasting. */
void              load_main_free              (LoadMain    *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoadMain, load_main_free)

G_END_DECLS
