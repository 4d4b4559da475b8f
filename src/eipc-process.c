/* eipc-process.c: the renderer processes the main process launches, and
 * why renderers go away (render-process-gone)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Of a renderer it did not launch, the main process only sees the bus
 * connection: a Detach is a clean exit, a connection that vanishes an
 * abnormal one. Of a renderer it launched with eipc_main_spawn_renderer()
 * it also knows the pid (the renderer attaches from that process, so the
 * bus credentials name it) and, from the child watch, the exit status:
 * that tells an exit code from a kill, a crash or the OOM killer. The
 * two news come in either order; the reason is given once both are in
 * (or after a grace period, for a process that lives on without its
 * connection).
 */

#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "eipc-private.h"

/* How long a vanished connection waits for its process's exit status. */
#define GONE_GRACE_MSEC 5000

typedef struct {
  EipcProcesses   *owner;
  GPid             pid;
  guint            watch_id;
  char            *memory_events;   /* its cgroup's memory.events, or NULL */
  guint64          oom_kills;       /* the oom_kill count there at spawn */
  EipcWebContents *wc;              /* the renderer it attached as */
  guint            grace_id;        /* wc's connection vanished: waiting */
  gboolean         reported;        /* its renderer's going was reported */
  gboolean         exited;
  int              wait_status;
} Child;

struct _EipcProcesses {
  GMainContext        *context;    /* where the watches and timers run */
  EipcProcessGoneFunc  gone;
  gpointer             user_data;
  GHashTable          *children;   /* pid -> Child */
};

/* The oom_kill count of a cgroup's memory.events; FALSE if unreadable. */
static gboolean
read_oom_kills (const char *path,
                guint64    *count)
{
  g_autofree char *text = NULL;
  const char *line;

  if (path == NULL || !g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  for (line = text; line != NULL && *line != '\0'; )
    {
      if (g_str_has_prefix (line, "oom_kill "))
        {
          *count = g_ascii_strtoull (line + strlen ("oom_kill "), NULL, 10);
          return TRUE;
        }
      line = strchr (line, '\n');
      if (line != NULL)
        line++;
    }
  return FALSE;
}

/* The memory.events file of @pid's cgroup (cgroup v2), or NULL. */
static char *
memory_events_path (GPid pid)
{
  g_autofree char *proc = g_strdup_printf ("/proc/%d/cgroup", (int) pid);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (proc, &text, NULL, NULL))
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "0::"))
      return g_build_filename ("/sys/fs/cgroup", lines[i] + 3, "memory.events", NULL);
  return NULL;
}

/* Electron's reasons from a wait status, as Chromium's
 * GetTerminationStatus() sorts them on Linux. */
static void
details_from_status (Child                        *child,
                     EipcRenderProcessGoneDetails *details)
{
  int status = child->wait_status;

  details->pid = (guint32) child->pid;
  if (WIFEXITED (status))
    {
      details->exit_code = WEXITSTATUS (status);
      details->reason = details->exit_code == 0 ? EIPC_RENDER_PROCESS_GONE_CLEAN_EXIT
                                                : EIPC_RENDER_PROCESS_GONE_ABNORMAL_EXIT;
      return;
    }
  if (!WIFSIGNALED (status))
    {
      details->exit_code = -1;
      details->reason = EIPC_RENDER_PROCESS_GONE_ABNORMAL_EXIT;
      return;
    }
  details->exit_code = WTERMSIG (status);
  switch (WTERMSIG (status))
    {
    case SIGKILL:
      {
        guint64 now = 0;

        /* The kernel counts its OOM kills per cgroup: one more since the
         * launch, and this process got a SIGKILL. (Another process of
         * the same cgroup killed by it at about the same time would
         * look the same.) */
        if (read_oom_kills (child->memory_events, &now) && now > child->oom_kills)
          details->reason = EIPC_RENDER_PROCESS_GONE_OOM;
        else
          details->reason = EIPC_RENDER_PROCESS_GONE_KILLED;
      }
      break;
    case SIGTERM:
    case SIGINT:
      details->reason = EIPC_RENDER_PROCESS_GONE_KILLED;
      break;
    case SIGSEGV:
    case SIGABRT:
    case SIGBUS:
    case SIGILL:
    case SIGFPE:
    case SIGTRAP:
    case SIGSYS:
      details->reason = EIPC_RENDER_PROCESS_GONE_CRASHED;
      break;
    default:
      details->reason = EIPC_RENDER_PROCESS_GONE_ABNORMAL_EXIT;
    }
}

/* What is left to do for a child that outlives the main process's
 * interest in it: reap it, so that no zombie stays. */
static void
reap_only (GPid     pid,
           int      wait_status,
           gpointer user_data)
{
  g_spawn_close_pid (pid);
}

static guint
attach_source (EipcProcesses *self,
               GSource       *source,
               GSourceFunc    func,
               gpointer       data)
{
  guint id;

  g_source_set_callback (source, func, data, NULL);
  id = g_source_attach (source, self->context);
  g_source_unref (source);
  return id;
}

static void
remove_source (EipcProcesses *self,
               guint         *id)
{
  GSource *source;

  if (*id == 0)
    return;
  source = g_main_context_find_source_by_id (self->context, *id);
  if (source != NULL)
    g_source_destroy (source);
  *id = 0;
}

static void
child_free (gpointer data)
{
  Child *child = data;
  EipcProcesses *self = child->owner;

  remove_source (self, &child->grace_id);
  if (child->watch_id != 0)
    {
      /* Still running: let GLib reap it when it goes, no zombie left. */
      remove_source (self, &child->watch_id);
      attach_source (self, g_child_watch_source_new (child->pid),
                     G_SOURCE_FUNC (reap_only), NULL);
    }
  else
    g_spawn_close_pid (child->pid);
  g_clear_object (&child->wc);
  g_free (child->memory_events);
  g_free (child);
}

static void
report (EipcProcesses                      *self,
        EipcWebContents                    *wc,
        const EipcRenderProcessGoneDetails *details)
{
  self->gone (wc, details, self->user_data);
}

/* wc's process is gone and its status known: say why, forget it. */
static void
child_report (Child *child)
{
  EipcProcesses *self = child->owner;
  g_autoptr(EipcWebContents) wc = g_steal_pointer (&child->wc);
  EipcRenderProcessGoneDetails details = { 0, };

  details_from_status (child, &details);
  g_hash_table_remove (self->children, GINT_TO_POINTER (child->pid));
  report (self, wc, &details);
}

static gboolean
grace_over (gpointer user_data)
{
  Child *child = user_data;
  EipcProcesses *self = child->owner;
  g_autoptr(EipcWebContents) wc = g_steal_pointer (&child->wc);
  EipcRenderProcessGoneDetails details = {
    EIPC_RENDER_PROCESS_GONE_ABNORMAL_EXIT, -1, (guint32) child->pid
  };

  /* The process lives on without its connection: it is no renderer
   * any more, whatever it does next. */
  child->grace_id = 0;
  child->reported = TRUE;
  report (self, wc, &details);
  return G_SOURCE_REMOVE;
}

static void
child_exited (GPid     pid,
              int      wait_status,
              gpointer user_data)
{
  Child *child = user_data;

  child->watch_id = 0;
  child->exited = TRUE;
  child->wait_status = wait_status;
  if (child->grace_id != 0)
    {
      /* Its connection went first: now the reason is known. */
      remove_source (child->owner, &child->grace_id);
      child_report (child);
    }
  else if (child->reported)
    g_hash_table_remove (child->owner->children, GINT_TO_POINTER (pid));
  else if (child->wc == NULL)
    child_report (child);   /* gone before it attached */
  /* Else its connection is still on the bus; on_gone() will come. */
}

EipcProcesses *
eipc_processes_new (EipcProcessGoneFunc gone,
                    gpointer            user_data)
{
  EipcProcesses *self = g_new0 (EipcProcesses, 1);

  self->context = g_main_context_ref_thread_default ();
  self->gone = gone;
  self->user_data = user_data;
  self->children = g_hash_table_new_full (NULL, NULL, NULL, child_free);
  return self;
}

void
eipc_processes_free (EipcProcesses *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->children);
  g_main_context_unref (self->context);
  g_free (self);
}

gboolean
eipc_processes_spawn (EipcProcesses       *self,
                      const char * const  *argv,
                      const char * const  *envp,
                      const char          *working_directory,
                      const char          *app_id,
                      const char          *address,
                      GPid                *pid_out,
                      GError             **error)
{
  g_auto(GStrv) env = envp != NULL ? g_strdupv ((char **) envp) : g_get_environ ();
  g_autoptr(GError) local_error = NULL;
  Child *child;
  GPid pid;

  env = g_environ_setenv (env, "EIPC_APP_ID", app_id, TRUE);
  if (address != NULL)
    env = g_environ_setenv (env, "EIPC_ADDRESS", address, TRUE);
  if (!g_spawn_async (working_directory, (char **) argv, env,
                      G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH,
                      NULL, NULL, &pid, &local_error))
    {
      EipcRenderProcessGoneDetails details = {
        EIPC_RENDER_PROCESS_GONE_LAUNCH_FAILED, local_error->code, 0
      };

      report (self, NULL, &details);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  child = g_new0 (Child, 1);
  child->owner = self;
  child->pid = pid;
  child->memory_events = memory_events_path (pid);
  if (!read_oom_kills (child->memory_events, &child->oom_kills))
    g_clear_pointer (&child->memory_events, g_free);
  child->watch_id = attach_source (self, g_child_watch_source_new (pid),
                                   G_SOURCE_FUNC (child_exited), child);
  g_hash_table_insert (self->children, GINT_TO_POINTER (pid), child);
  if (pid_out != NULL)
    *pid_out = pid;
  return TRUE;
}

void
eipc_processes_attached (EipcProcesses   *self,
                         EipcWebContents *wc)
{
  GPid pid = (GPid) eipc_web_contents_get_process_id (wc);
  Child *child = pid != 0 ? g_hash_table_lookup (self->children, GINT_TO_POINTER (pid)) : NULL;

  if (child != NULL && child->wc == NULL && child->grace_id == 0 && !child->exited)
    {
      child->wc = g_object_ref (wc);
      child->reported = FALSE;
    }
}

void
eipc_processes_web_contents_gone (EipcProcesses   *self,
                                  EipcWebContents *wc,
                                  gboolean         detached)
{
  GPid pid = (GPid) eipc_web_contents_get_process_id (wc);
  Child *child = pid != 0 ? g_hash_table_lookup (self->children, GINT_TO_POINTER (pid)) : NULL;
  EipcRenderProcessGoneDetails details = {
    detached ? EIPC_RENDER_PROCESS_GONE_CLEAN_EXIT : EIPC_RENDER_PROCESS_GONE_ABNORMAL_EXIT,
    detached ? 0 : -1,
    (guint32) pid
  };

  if (child == NULL || child->wc != wc || detached)
    {
      /* Not launched here, or a clean detach: the connection says all. */
      if (child != NULL && child->wc == wc)
        {
          g_clear_object (&child->wc);
          child->reported = TRUE;
        }
      report (self, wc, &details);
      return;
    }
  if (child->exited)
    {
      child_report (child);
      return;
    }
  /* The connection went first; the exit status follows soon. */
  child->grace_id = attach_source (self, g_timeout_source_new (GONE_GRACE_MSEC),
                                   grace_over, child);
}
