/* eipc-render-process-gone.h: why a renderer process went away
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(EIPC_INSIDE) && !defined(EIPC_COMPILATION)
# error "Only <eipc/eipc.h> can be included directly."
#endif

#include <glib-object.h>

#include "eipc-version.h"

G_BEGIN_DECLS

/**
 * EipcRenderProcessGoneReason:
 * @EIPC_RENDER_PROCESS_GONE_CLEAN_EXIT: `clean-exit`: the renderer detached,
 *   or its process exited with code 0
 * @EIPC_RENDER_PROCESS_GONE_ABNORMAL_EXIT: `abnormal-exit`: its connection
 *   went away without a detach and no better reason is known, or its
 *   process exited with a nonzero code or died of a signal that is
 *   neither a kill nor a crash (`SIGHUP`, `SIGUSR1`, ...)
 * @EIPC_RENDER_PROCESS_GONE_KILLED: `killed`: a spawned renderer died of
 *   `SIGKILL`, `SIGTERM` or `SIGINT`
 * @EIPC_RENDER_PROCESS_GONE_CRASHED: `crashed`: a spawned renderer died of
 *   `SIGSEGV`, `SIGABRT`, `SIGBUS`, `SIGILL`, `SIGFPE`, `SIGTRAP` or
 *   `SIGSYS`
 * @EIPC_RENDER_PROCESS_GONE_OOM: `oom`: a spawned renderer was killed by the
 *   kernel's out-of-memory killer (`SIGKILL` while the `oom_kill` count in
 *   its cgroup's `memory.events` went up)
 * @EIPC_RENDER_PROCESS_GONE_LAUNCH_FAILED: `launch-failed`:
 *   eipc_main_spawn_renderer() could not start the program
 *
 * Why a renderer went away: the `reason` of Electron's
 * `RenderProcessGoneDetails`, as eipc can tell it. The reasons that need
 * the exit status (`killed`, `crashed`, `oom`, an exit code) are known
 * for renderers the main process launched with
 * eipc_main_spawn_renderer(); of any other renderer eipc only sees the
 * bus connection.
 *
 * Since: 1.0
 */
typedef enum {
  EIPC_RENDER_PROCESS_GONE_CLEAN_EXIT,
  EIPC_RENDER_PROCESS_GONE_ABNORMAL_EXIT,
  EIPC_RENDER_PROCESS_GONE_KILLED,
  EIPC_RENDER_PROCESS_GONE_CRASHED,
  EIPC_RENDER_PROCESS_GONE_OOM,
  EIPC_RENDER_PROCESS_GONE_LAUNCH_FAILED,
} EipcRenderProcessGoneReason;

/**
 * EipcRenderProcessGoneDetails:
 * @reason: why the renderer went away
 * @exit_code: the process's exit code when it exited; the signal number
 *   when a signal ended it; 0 for a detach; -1 when it is not known (a
 *   renderer the main process did not launch, whose connection vanished);
 *   the #GSpawnError code for `launch-failed`
 * @pid: the renderer's process id, 0 when it is not known
 *
 * Electron's `RenderProcessGoneDetails`, carried by the
 * `render-process-gone` signals of #EipcWebContents and #EipcMain.
 * eipc_render_process_gone_details_get_reason() gives the reason as
 * Electron's string.
 *
 * Since: 1.0
 */
typedef struct {
  EipcRenderProcessGoneReason reason;
  int                         exit_code;
  guint32                     pid;
} EipcRenderProcessGoneDetails;

#define EIPC_TYPE_RENDER_PROCESS_GONE_DETAILS (eipc_render_process_gone_details_get_type ())

EIPC_AVAILABLE_IN_1_0
GType        eipc_render_process_gone_details_get_type      (void) G_GNUC_CONST;
EIPC_AVAILABLE_IN_1_0
EipcRenderProcessGoneDetails *
             eipc_render_process_gone_details_copy          (const EipcRenderProcessGoneDetails *details);
EIPC_AVAILABLE_IN_1_0
void         eipc_render_process_gone_details_free          (EipcRenderProcessGoneDetails *details);
EIPC_AVAILABLE_IN_1_0
const char  *eipc_render_process_gone_details_get_reason    (const EipcRenderProcessGoneDetails *details);
EIPC_AVAILABLE_IN_1_0
int          eipc_render_process_gone_details_get_exit_code (const EipcRenderProcessGoneDetails *details);
EIPC_AVAILABLE_IN_1_0
const char  *eipc_render_process_gone_reason_to_string      (EipcRenderProcessGoneReason reason);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EipcRenderProcessGoneDetails, eipc_render_process_gone_details_free)

G_END_DECLS
