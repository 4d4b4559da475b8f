/* eipc-render-process-gone.c: why a renderer went away
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "eipc-private.h"

G_DEFINE_BOXED_TYPE (EipcRenderProcessGoneDetails, eipc_render_process_gone_details,
                     eipc_render_process_gone_details_copy,
                     eipc_render_process_gone_details_free)

/**
 * eipc_render_process_gone_details_copy:
 * @details: an #EipcRenderProcessGoneDetails
 *
 * Copies @details.
 *
 * Returns: (transfer full): a copy, to free with
 *   eipc_render_process_gone_details_free()
 *
 * Since: 1.0
 */
EipcRenderProcessGoneDetails *
eipc_render_process_gone_details_copy (const EipcRenderProcessGoneDetails *details)
{
  g_return_val_if_fail (details != NULL, NULL);
  return g_memdup2 (details, sizeof *details);
}

/**
 * eipc_render_process_gone_details_free:
 * @details: (nullable): an #EipcRenderProcessGoneDetails
 *
 * Frees a copy made with eipc_render_process_gone_details_copy().
 *
 * Since: 1.0
 */
void
eipc_render_process_gone_details_free (EipcRenderProcessGoneDetails *details)
{
  g_free (details);
}

static const char *reason_names[] = {
  [EIPC_RENDER_PROCESS_GONE_CLEAN_EXIT] = "clean-exit",
  [EIPC_RENDER_PROCESS_GONE_ABNORMAL_EXIT] = "abnormal-exit",
  [EIPC_RENDER_PROCESS_GONE_KILLED] = "killed",
  [EIPC_RENDER_PROCESS_GONE_CRASHED] = "crashed",
  [EIPC_RENDER_PROCESS_GONE_OOM] = "oom",
  [EIPC_RENDER_PROCESS_GONE_LAUNCH_FAILED] = "launch-failed",
};

/**
 * eipc_render_process_gone_reason_to_string:
 * @reason: an #EipcRenderProcessGoneReason
 *
 * Gives @reason as Electron writes it: `clean-exit`, `abnormal-exit`,
 * `killed`, `crashed`, `oom` or `launch-failed`.
 *
 * Returns: (transfer none): the reason's name
 *
 * Since: 1.0
 */
const char *
eipc_render_process_gone_reason_to_string (EipcRenderProcessGoneReason reason)
{
  g_return_val_if_fail ((guint) reason < G_N_ELEMENTS (reason_names), NULL);
  return reason_names[reason];
}

/**
 * eipc_render_process_gone_details_get_reason:
 * @details: an #EipcRenderProcessGoneDetails
 *
 * Gets the reason as Electron's `details.reason` string, for example
 * `crashed`.
 *
 * Returns: (transfer none): the reason's name
 *
 * Since: 1.0
 */
const char *
eipc_render_process_gone_details_get_reason (const EipcRenderProcessGoneDetails *details)
{
  g_return_val_if_fail (details != NULL, NULL);
  return eipc_render_process_gone_reason_to_string (details->reason);
}

/**
 * eipc_render_process_gone_details_get_exit_code:
 * @details: an #EipcRenderProcessGoneDetails
 *
 * Gets Electron's `details.exitCode`; see #EipcRenderProcessGoneDetails.
 *
 * Returns: the exit code
 *
 * Since: 1.0
 */
int
eipc_render_process_gone_details_get_exit_code (const EipcRenderProcessGoneDetails *details)
{
  g_return_val_if_fail (details != NULL, 0);
  return details->exit_code;
}
