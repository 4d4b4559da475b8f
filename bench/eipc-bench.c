/* eipc-bench.c: eipc against raw sd-bus, GDBus and a unix socket, in one run
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One program, several processes. The coordinator starts a private
 * dbus-daemon and re-executes itself with --role=NAME for every peer: a
 * socket echo, a raw sd-bus server, a GDBus server, an eipc main process,
 * and for the fan-out cases a main process that starts its own renderers.
 * The client side of the point-to-point cases runs in the coordinator,
 * round after round; within a round the cases run one after the other,
 * so every case sees the same machine. The fan-out main process measures
 * its cases itself and reports them on its stdout.
 *
 * The raw sd-bus and GDBus peers are written the way a competent user
 * writes them: sd_bus_call_method() against an sd_bus_add_object_vtable()
 * server, g_dbus_connection_call_sync() against a
 * g_dbus_connection_register_object() server. Every payload is the text of
 * a JSON array holding one string, so all of them carry the same bytes.
 *
 * Every point-to-point case runs twice per round: with the client and its
 * server pinned to the same CPU, and pinned to two different CPUs
 * (sched_setaffinity on every thread of both processes; the bus daemon is
 * left where the scheduler puts it). The table says which ("same CPU",
 * "2 CPUs"), the JSON gives it as "pinning": "same-cpu" / "cross-cpu"
 * ("none" for the fan-out, attach and allocation cases).
 *
 * Adding a case (the ids are stable: scripts and the README quote them):
 *   1. register_cases(): case_new_pinned (ID, GROUP, LABEL, UNIT, REF_ID)
 *      for a point-to-point case (it then exists once per pinning, and
 *      compares with REF_ID of the same pinning), or case_new (...) for a
 *      case measured once. REF_ID is the raw sd-bus case it is measured
 *      against ("vs_raw_sdbus" in the JSON); NULL for none.
 *   2. Measure it: a RoundTripFunc and a Slot in a group of
 *      run_point_to_point_round() (round trips and their CPU time per call
 *      come for free), or case_add() / case_add_paired() from anywhere.
 *      A new server process: spawn it in run_coordinator(), give its pid
 *      to case_server_pid() (the CPU column) and to the pinning.
 *   3. A target of the issue: one line in targets[].
 * The bus comes from bus_start(): a private dbus-daemon, or --address.
 */

#include <errno.h>
#include <execinfo.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <systemd/sd-bus.h>

#include <eipc/eipc.h>

#define APP_ID           "org.eipc.Bench"
#define FANOUT_APP_ID    "org.eipc.BenchFanout"
#define RAW_NAME         "org.eipc.BenchRaw"
#define RAW_PATH         "/org/eipc/BenchRaw"
#define RAW_INTERFACE    "org.eipc.BenchRaw"
#define FANOUT_RAW_NAME  "org.eipc.BenchFanoutRaw"
#define FANOUT_RAW_PATH  "/org/eipc/BenchFanoutRaw"
#define RECEIVER_PATH    "/org/eipc/BenchFanoutRaw/Receiver"
#define GDBUS_NAME       "org.eipc.BenchGDBus"
#define GDBUS_PATH       "/org/eipc/BenchGDBus"
#define GDBUS_INTERFACE  "org.eipc.BenchGDBus"

#define SMALL            64      /* bytes of the small payload */
#define PIPELINE_DEPTH   64      /* calls in flight */
#define WAIT_LIMIT_S     120     /* a fan-out step that takes longer failed */
#define WATCHDOG_S       1800    /* the whole run, whatever happens */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sd_bus_message, sd_bus_message_unref)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (sd_bus_error, sd_bus_error_free)

static const gsize payload_sizes[] = { 64, 4096, 65536, 1048576 };

/* ---------------------------------------------------------------------- */
/* Heap allocations: every process of the bench is this program, and this
 * program's malloc family counts calls before handing them to glibc's own
 * (__libc_malloc and friends: no dlsym, so no bootstrap problem). The
 * "alloc" group reads the counters around N calls on both ends (each
 * process's main thread, which makes and answers the calls). */

extern void *__libc_malloc (size_t size);
extern void *__libc_calloc (size_t n, size_t size);
extern void *__libc_realloc (void *ptr, size_t size);
extern void *__libc_memalign (size_t alignment, size_t size);
extern void  __libc_free (void *ptr);

/* Per thread: the calls and their answers run in each process's main
 * thread, and the helper threads (GDBus's worker, GLib's) would only add
 * noise. */
static __thread guint64 n_allocs;
static gboolean alloc_trace;            /* --alloc-trace: print where */
static __thread gboolean in_trace;

static inline void
count_alloc (void)
{
  n_allocs++;
  if (G_UNLIKELY (alloc_trace) && !in_trace)
    {
      void *frames[12];
      char head[32];
      int n, len;

      in_trace = TRUE;
      n = backtrace (frames, G_N_ELEMENTS (frames));
      len = g_snprintf (head, sizeof head, "alloc %d:\n", (int) getpid ());
      if (write (2, head, len) == len)
        backtrace_symbols_fd (frames + 2, n - 2, 2);
      in_trace = FALSE;
    }
}

/* The allocations of the calling thread so far. */
static guint64
allocs_now (void)
{
  return n_allocs;
}

void *
malloc (size_t size)
{
  count_alloc ();
  return __libc_malloc (size);
}

void *
calloc (size_t n,
        size_t size)
{
  count_alloc ();
  return __libc_calloc (n, size);
}

void *
realloc (void   *ptr,
         size_t  size)
{
  count_alloc ();
  return __libc_realloc (ptr, size);
}

void
free (void *ptr)
{
  __libc_free (ptr);
}

void *
memalign (size_t alignment,
          size_t size)
{
  count_alloc ();
  return __libc_memalign (alignment, size);
}

void *
aligned_alloc (size_t alignment,
               size_t size)
{
  count_alloc ();
  return __libc_memalign (alignment, size);
}

int
posix_memalign (void   **ptr,
                size_t   alignment,
                size_t   size)
{
  void *p;

  count_alloc ();
  p = __libc_memalign (alignment, size);
  if (p == NULL)
    return ENOMEM;
  *ptr = p;
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Small helpers */

static gint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

static void die (const char *format,
                 ...) G_GNUC_PRINTF (1, 2) G_GNUC_NORETURN;

static void
die (const char *format,
     ...)
{
  va_list ap;

  fprintf (stderr, "eipc-bench[%d]: ", (int) getpid ());
  va_start (ap, format);
  vfprintf (stderr, format, ap);
  va_end (ap);
  fputc ('\n', stderr);
  exit (1);
}

/* The text of a JSON array holding one string, exactly @size bytes. */
static char *
make_payload (gsize size)
{
  char *text;

  g_assert (size >= 4);
  text = g_malloc (size + 1);
  text[0] = '[';
  text[1] = '"';
  memset (text + 2, 'x', size - 4);
  text[size - 2] = '"';
  text[size - 1] = ']';
  text[size] = '\0';
  return text;
}

static gboolean
read_full (int    fd,
           void  *buf,
           gsize  size)
{
  gsize done = 0;

  while (done < size)
    {
      ssize_t n = read (fd, (char *) buf + done, size - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      done += (gsize) n;
    }
  return TRUE;
}

static gboolean
write_full (int         fd,
            const void *buf,
            gsize       size)
{
  gsize done = 0;

  while (done < size)
    {
      ssize_t n = write (fd, (const char *) buf + done, size - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      done += (gsize) n;
    }
  return TRUE;
}

/* VmRSS and VmHWM of this process, in KiB. */
static void
read_memory (long *rss_kib,
             long *hwm_kib)
{
  g_autofree char *status = NULL;
  char *line;

  *rss_kib = *hwm_kib = -1;
  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return;
  for (line = status; line != NULL && *line != '\0';)
    {
      char *next = strchr (line, '\n');

      if (g_str_has_prefix (line, "VmRSS:"))
        *rss_kib = strtol (line + 6, NULL, 10);
      else if (g_str_has_prefix (line, "VmHWM:"))
        *hwm_kib = strtol (line + 6, NULL, 10);
      line = next != NULL ? next + 1 : NULL;
    }
}

/* CPU time a process has used, in ns: the sum of the first field of
 * /proc/PID/task/TID/schedstat over its threads (the scheduler's own
 * accounting, to the nanosecond). */
static guint64
process_cpu_ns (GPid pid)
{
  g_autofree char *dir_path = g_strdup_printf ("/proc/%d/task", (int) pid);
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *name;
  guint64 sum = 0;

  if (dir == NULL)
    return 0;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("%s/%s/schedstat", dir_path, name);
      g_autofree char *text = NULL;

      if (g_file_get_contents (path, &text, NULL, NULL))
        sum += g_ascii_strtoull (text, NULL, 10);
    }
  return sum;
}

/* The CPU time of a set of processes, in ns. */
static guint64
pids_cpu_ns (GArray *pids)
{
  guint64 sum = 0;

  for (guint i = 0; i < pids->len; i++)
    sum += process_cpu_ns (g_array_index (pids, GPid, i));
  return sum;
}

/* ---------------------------------------------------------------------- */
/* Pinning: sched_setaffinity on every thread of a process (threads made
 * later inherit it from the thread that makes them). */

typedef enum {
  PIN_NONE,
  PIN_SAME,     /* client and server on one CPU */
  PIN_CROSS,    /* client and server on two different CPUs */
} Pinning;

static const char * const pin_names[] = { "none", "same-cpu", "cross-cpu" };
static const char * const pin_labels[] = { "", "same CPU", "2 CPUs" };

static int usable_cpus[2] = { -1, -1 };   /* the first two CPUs we may use */
static cpu_set_t all_cpus;

static void
pin_init (void)
{
  guint n = 0;

  CPU_ZERO (&all_cpus);
  if (sched_getaffinity (0, sizeof all_cpus, &all_cpus) < 0)
    return;
  for (int cpu = 0; cpu < CPU_SETSIZE && n < 2; cpu++)
    if (CPU_ISSET (cpu, &all_cpus))
      usable_cpus[n++] = cpu;
}

/* Pins every thread of @pid to @cpu, or frees it (-1). */
static void
pin_process (GPid pid,
             int  cpu)
{
  g_autofree char *dir_path = g_strdup_printf ("/proc/%d/task", (int) pid);
  g_autoptr(GDir) dir = NULL;
  const char *name;
  cpu_set_t set;

  if (pid <= 0)
    return;
  if (cpu >= 0)
    {
      CPU_ZERO (&set);
      CPU_SET (cpu, &set);
    }
  else
    set = all_cpus;
  dir = g_dir_open (dir_path, 0, NULL);
  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    sched_setaffinity ((pid_t) atoi (name), sizeof set, &set);
}

static gboolean
on_wait_timeout (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the thread-default main context until *counter reaches target. */
static gboolean
wait_for (const guint *counter,
          guint        target,
          guint        limit_s)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (limit_s, on_wait_timeout, &timed_out);

  while (*counter < target && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return !timed_out;
}

static gboolean
on_quit_signal (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_CONTINUE;
}

/* Children print one line when they are ready to serve. */
static void
say (const char *format,
     ...) G_GNUC_PRINTF (1, 2);

static void
say (const char *format,
     ...)
{
  va_list ap;

  va_start (ap, format);
  vprintf (format, ap);
  va_end (ap);
  putchar ('\n');
  fflush (stdout);
}

/* ---------------------------------------------------------------------- */
/* Child processes */

typedef struct {
  char  *role;
  GPid   pid;
  FILE  *out;     /* the child's stdout, NULL if it goes to /dev/null */
} Child;

static char *self_exe;

static void
child_setup (gpointer user_data)
{
  /* Nothing outlives the coordinator, even when it is killed. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* Starts `eipc-bench --role=ROLE ARGS...`; @pass_fd becomes its fd 3.
 * EIPC_BENCH_WRAP (a command line, e.g. a valgrind invocation) wraps the
 * role named by EIPC_BENCH_WRAP_ROLE, for profiling. */
static Child *
child_spawn (const char         *role,
             const char * const *args,
             int                 pass_fd,
             gboolean            quiet)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  const char *wrap = g_getenv ("EIPC_BENCH_WRAP");
  const char *wrap_role = g_getenv ("EIPC_BENCH_WRAP_ROLE");
  Child *child = g_new0 (Child, 1);
  int target_fd = 3;
  int out_fd = -1;

  if (wrap != NULL && g_strcmp0 (wrap_role, role) == 0)
    {
      g_auto(GStrv) words = NULL;

      if (!g_shell_parse_argv (wrap, NULL, &words, &error))
        die ("EIPC_BENCH_WRAP: %s", error->message);
      for (guint i = 0; words[i] != NULL; i++)
        g_ptr_array_add (argv, g_strdup (words[i]));
    }
  g_ptr_array_add (argv, g_strdup (self_exe));
  g_ptr_array_add (argv, g_strconcat ("--role=", role, NULL));
  for (guint i = 0; args != NULL && args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (args[i]));
  g_ptr_array_add (argv, NULL);

  if (!g_spawn_async_with_pipes_and_fds (NULL,
                                         (const char * const *) argv->pdata,
                                         NULL,
                                         G_SPAWN_DO_NOT_REAP_CHILD |
                                         G_SPAWN_SEARCH_PATH |
                                         (quiet ? G_SPAWN_STDOUT_TO_DEV_NULL : 0),
                                         child_setup, NULL,
                                         -1, -1, -1,
                                         pass_fd >= 0 ? &pass_fd : NULL,
                                         pass_fd >= 0 ? &target_fd : NULL,
                                         pass_fd >= 0 ? 1 : 0,
                                         &child->pid, NULL,
                                         quiet ? NULL : &out_fd, NULL,
                                         &error))
    die ("cannot start the %s process: %s", role, error->message);
  child->role = g_strdup (role);
  if (out_fd >= 0)
    child->out = fdopen (out_fd, "r");
  return child;
}

/* The next line the child printed, without its newline. */
static char *
child_read_line (Child *child)
{
  char buf[1024];

  if (fgets (buf, sizeof buf, child->out) == NULL)
    die ("the %s process exited early", child->role);
  g_strchomp (buf);
  return g_strdup (buf);
}

static void
child_expect_ready (Child *child)
{
  g_autofree char *line = child_read_line (child);

  if (strcmp (line, "READY") != 0)
    die ("the %s process said '%s' instead of READY", child->role, line);
}

static void
child_stop (Child *child)
{
  int status;

  kill (child->pid, SIGTERM);
  while (waitpid (child->pid, &status, 0) < 0 && errno == EINTR)
    ;
  g_spawn_close_pid (child->pid);
  if (child->out != NULL)
    fclose (child->out);
  g_free (child->role);
  g_free (child);
}

/* ---------------------------------------------------------------------- */
/* Role: the two ends of a socketpair (the floor) */

static int
role_sock_echo (void)
{
  char buf[SMALL];

  for (;;)
    {
      if (!read_full (3, buf, sizeof buf))
        return 0;
      if (!write_full (3, buf, sizeof buf))
        return 1;
    }
}

/* ---------------------------------------------------------------------- */
/* Role: the other end of an eipc message port (fd 3), echoing */

static void
port_echo_on_message (EipcMessagePort *port,
                      EipcEvent       *event,
                      gpointer         user_data)
{
  GBytes *bytes = eipc_event_get_bytes (event);
  g_autoptr(GError) error = NULL;

  if (bytes != NULL)
    eipc_message_port_post_bytes (port, bytes, &error);
  else
    eipc_message_port_post_message_json (port, eipc_event_get_data_json (event),
                                         NULL, &error);
  if (error != NULL)
    die ("port echo: %s", error->message);
}

static void
port_echo_on_close (EipcMessagePort *port,
                    gpointer         user_data)
{
  g_main_loop_quit (user_data);
}

static int
role_port_echo (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(EipcMessagePort) port = eipc_message_port_new_for_fd (3, FALSE, &error);

  if (port == NULL)
    die ("port echo: %s", error->message);
  g_signal_connect (port, "message", G_CALLBACK (port_echo_on_message), NULL);
  g_signal_connect (port, "close", G_CALLBACK (port_echo_on_close), loop);
  eipc_message_port_start (port);
  g_main_loop_run (loop);
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Role: the raw sd-bus server */

typedef struct {
  guint32 count;
} RawServer;

static sd_bus *
raw_open (const char *address)
{
  sd_bus *bus = NULL;
  int r;

  r = sd_bus_new (&bus);
  if (r >= 0)
    r = sd_bus_set_address (bus, address);
  if (r >= 0)
    r = sd_bus_set_bus_client (bus, 1);
  if (r >= 0)
    r = sd_bus_start (bus);
  if (r < 0)
    die ("sd-bus cannot connect to %s: %s", address, g_strerror (-r));
  return bus;
}

static int
raw_method_echo (sd_bus_message *m,
                 void           *userdata,
                 sd_bus_error   *ret_error)
{
  const char *text;
  int r;

  r = sd_bus_message_read (m, "s", &text);
  if (r < 0)
    return r;
  return sd_bus_reply_method_return (m, "s", text);
}

static int
raw_method_count (sd_bus_message *m,
                  void           *userdata,
                  sd_bus_error   *ret_error)
{
  RawServer *server = userdata;
  guint32 count = server->count;

  server->count = 0;
  return sd_bus_reply_method_return (m, "u", count);
}

/* How many heap allocations this process has made so far. */
static int
raw_method_allocs (sd_bus_message *m,
                   void           *userdata,
                   sd_bus_error   *ret_error)
{
  return sd_bus_reply_method_return (m, "t", (uint64_t) allocs_now ());
}

static int
raw_on_flood (sd_bus_message *m,
              void           *userdata,
              sd_bus_error   *ret_error)
{
  RawServer *server = userdata;
  const char *text;

  if (sd_bus_message_read (m, "s", &text) >= 0)
    server->count++;
  return 0;
}

static const sd_bus_vtable raw_vtable[] = {
  SD_BUS_VTABLE_START (0),
  SD_BUS_METHOD ("Echo", "s", "s", raw_method_echo, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_METHOD ("Count", "", "u", raw_method_count, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_METHOD ("Allocs", "", "t", raw_method_allocs, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_SIGNAL ("Flood", "s", 0),
  SD_BUS_VTABLE_END
};

static int
role_sdbus_server (const char *address)
{
  RawServer server = { 0 };
  sd_bus *bus = raw_open (address);
  int r;

  r = sd_bus_add_object_vtable (bus, NULL, RAW_PATH, RAW_INTERFACE,
                                raw_vtable, &server);
  if (r >= 0)
    r = sd_bus_match_signal (bus, NULL, NULL, NULL, RAW_INTERFACE, "Flood",
                             raw_on_flood, &server);
  if (r >= 0)
    r = sd_bus_request_name (bus, RAW_NAME, 0);
  if (r < 0)
    die ("the sd-bus server cannot start: %s", g_strerror (-r));
  say ("READY");

  for (;;)
    {
      r = sd_bus_process (bus, NULL);
      if (r < 0)
        break;
      if (r > 0)
        continue;
      r = sd_bus_wait (bus, UINT64_MAX);
      if (r < 0 && r != -EINTR)
        break;
    }
  sd_bus_flush_close_unref (bus);
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Role: the GDBus server */

static const char gdbus_xml[] =
  "<node>"
  "  <interface name='" GDBUS_INTERFACE "'>"
  "    <method name='Echo'>"
  "      <arg type='s' name='text' direction='in'/>"
  "      <arg type='s' name='text' direction='out'/>"
  "    </method>"
  "  </interface>"
  "</node>";

static void
gdbus_method_call (GDBusConnection       *connection,
                   const char            *sender,
                   const char            *object_path,
                   const char            *interface_name,
                   const char            *method_name,
                   GVariant              *parameters,
                   GDBusMethodInvocation *invocation,
                   gpointer               user_data)
{
  const char *text;

  g_variant_get (parameters, "(&s)", &text);
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", text));
}

static const GDBusInterfaceVTable gdbus_vtable = {
  gdbus_method_call, NULL, NULL, { 0 }
};

static GDBusConnection *
gdbus_open (const char *address)
{
  g_autoptr(GError) error = NULL;
  GDBusConnection *connection;

  connection = g_dbus_connection_new_for_address_sync (address,
                                                       G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                       G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                       NULL, NULL, &error);
  if (connection == NULL)
    die ("GDBus cannot connect to %s: %s", address, error->message);
  return connection;
}

static int
role_gdbus_server (const char *address)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) connection = gdbus_open (address);
  g_autoptr(GDBusNodeInfo) info = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  guint32 result = 0;

  info = g_dbus_node_info_new_for_xml (gdbus_xml, &error);
  if (info == NULL ||
      g_dbus_connection_register_object (connection, GDBUS_PATH,
                                         info->interfaces[0], &gdbus_vtable,
                                         NULL, NULL, &error) == 0)
    die ("the GDBus server cannot register its object: %s", error->message);
  reply = g_dbus_connection_call_sync (connection, "org.freedesktop.DBus",
                                       "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "RequestName",
                                       g_variant_new ("(su)", GDBUS_NAME, 4),
                                       G_VARIANT_TYPE ("(u)"),
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  if (reply != NULL)
    g_variant_get (reply, "(u)", &result);
  if (result != 1)
    die ("the GDBus server cannot own %s", GDBUS_NAME);
  g_unix_signal_add (SIGTERM, on_quit_signal, loop);
  say ("READY");
  g_main_loop_run (loop);
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Role: the eipc main process of the point-to-point cases */

typedef struct {
  guint count;
} MainServer;

static void
main_on_echo (EipcEvent *event,
              gpointer   user_data)
{
  eipc_event_resolve_json (event, eipc_event_get_args_json (event), NULL);
}

static void
main_on_echo_sync (EipcEvent *event,
                   gpointer   user_data)
{
  eipc_event_set_return_value_json (event, eipc_event_get_args_json (event), NULL);
}

static void
main_on_flood (EipcEvent *event,
               gpointer   user_data)
{
  MainServer *server = user_data;

  server->count++;
}

static void
main_on_count (EipcEvent *event,
               gpointer   user_data)
{
  MainServer *server = user_data;
  char text[32];

  g_snprintf (text, sizeof text, "%u", server->count);
  server->count = 0;
  eipc_event_set_return_value_json (event, text, NULL);
}

static void
main_on_allocs (EipcEvent *event,
                gpointer   user_data)
{
  char text[32];

  g_snprintf (text, sizeof text, "%" G_GUINT64_FORMAT, allocs_now ());
  eipc_event_set_return_value_json (event, text, NULL);
  /* ["trace"]: print the stack of every allocation until the next query. */
  alloc_trace = strcmp (eipc_event_get_args_json (event), "[\"trace\"]") == 0;
}

static int
role_eipc_main (const char *address)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(EipcMain) main_process = NULL;
  MainServer server = { 0 };

  main_process = eipc_main_new_for_address (APP_ID, address, &error);
  if (main_process == NULL)
    die ("the eipc main process cannot start: %s", error->message);
  if (!eipc_main_handle (main_process, "echo", main_on_echo, NULL, NULL, &error))
    die ("%s", error->message);
  eipc_main_on (main_process, "echo-sync", main_on_echo_sync, NULL, NULL);
  eipc_main_on (main_process, "flood", main_on_flood, &server, NULL);
  eipc_main_on (main_process, "count", main_on_count, &server, NULL);
  eipc_main_on (main_process, "allocs", main_on_allocs, NULL, NULL);
  g_unix_signal_add (SIGTERM, on_quit_signal, loop);
  say ("READY");
  g_main_loop_run (loop);
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Role: a fan-out renderer */

typedef struct {
  EipcRenderer *renderer;
  GMainLoop    *loop;
  char         *payload;
  guint         bcast_count;
  guint         storm_left;
  gint64        storm_t0;
  GArray       *latencies;   /* gint64 ns, sent back as JSON when done,
                              * as the raw receivers keep theirs */
} FanRenderer;

static void
fan_renderer_on_bcast (EipcEvent *event,
                       gpointer   user_data)
{
  FanRenderer *fr = user_data;

  fr->bcast_count++;
}

static void
fan_renderer_on_bcast_end (EipcEvent *event,
                           gpointer   user_data)
{
  FanRenderer *fr = user_data;
  char text[32];

  g_snprintf (text, sizeof text, "[%u]", fr->bcast_count);
  fr->bcast_count = 0;
  eipc_renderer_send_json (fr->renderer, "bcast-done", text, NULL);
}

static void fan_renderer_storm_next (FanRenderer *fr);

static void
fan_renderer_storm_done (GObject      *source,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  FanRenderer *fr = user_data;
  g_autoptr(GError) error = NULL;
  /* Checked, not parsed: the raw clients do not parse theirs either. */
  g_autofree char *text = eipc_renderer_invoke_finish_json (fr->renderer, result,
                                                            &error);
  gint64 latency = text != NULL ? now_ns () - fr->storm_t0 : -1;

  g_array_append_val (fr->latencies, latency);
  fan_renderer_storm_next (fr);
}

static void
fan_renderer_storm_next (FanRenderer *fr)
{
  if (fr->storm_left == 0)
    {
      g_autoptr(GString) json = g_string_new ("[");

      for (guint i = 0; i < fr->latencies->len; i++)
        g_string_append_printf (json, "%s%" G_GINT64_FORMAT, i > 0 ? "," : "",
                                g_array_index (fr->latencies, gint64, i));
      g_string_append_c (json, ']');
      eipc_renderer_send_json (fr->renderer, "storm-done", json->str, NULL);
      g_array_set_size (fr->latencies, 0);
      return;
    }
  fr->storm_left--;
  fr->storm_t0 = now_ns ();
  eipc_renderer_invoke_json (fr->renderer, "echo", fr->payload, NULL,
                             fan_renderer_storm_done, fr);
}

static void
fan_renderer_on_storm (EipcEvent *event,
                       gpointer   user_data)
{
  FanRenderer *fr = user_data;
  JsonArray *args = eipc_event_get_args (event);

  fr->storm_left = (guint) json_array_get_int_element (args, 0);
  g_array_set_size (fr->latencies, 0);
  fan_renderer_storm_next (fr);
}

static void
fan_renderer_on_main_exited (EipcRenderer *renderer,
                             gpointer      user_data)
{
  FanRenderer *fr = user_data;

  g_main_loop_quit (fr->loop);
}

static int
role_fanout_renderer (const char *address)
{
  g_autoptr(GError) error = NULL;
  FanRenderer fr = { 0 };

  fr.loop = g_main_loop_new (NULL, FALSE);
  fr.payload = make_payload (SMALL);
  fr.latencies = g_array_new (FALSE, FALSE, sizeof (gint64));
  fr.renderer = eipc_renderer_new_for_address (FANOUT_APP_ID, address, &error);
  if (fr.renderer == NULL)
    die ("a fan-out renderer cannot attach: %s", error->message);
  eipc_renderer_on (fr.renderer, "bcast", fan_renderer_on_bcast, &fr, NULL);
  eipc_renderer_on (fr.renderer, "bcast-end", fan_renderer_on_bcast_end, &fr, NULL);
  eipc_renderer_on (fr.renderer, "storm", fan_renderer_on_storm, &fr, NULL);
  g_signal_connect (fr.renderer, "main-exited",
                    G_CALLBACK (fan_renderer_on_main_exited), &fr);
  g_unix_signal_add (SIGTERM, on_quit_signal, fr.loop);
  g_main_loop_run (fr.loop);

  g_clear_object (&fr.renderer);
  g_main_loop_unref (fr.loop);
  g_array_unref (fr.latencies);
  g_free (fr.payload);
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Role: a raw sd-bus receiver, the reference for the fan-out renderers:
 * it counts the broadcast signals of the fan-out main process, reports
 * with a unicast signal, and calls Echo in a loop when asked to. */

typedef struct {
  sd_bus *bus;
  guint   count;
  guint32 storm;     /* calls asked for, 0 = none */
} RawReceiver;

static void
raw_receiver_report (sd_bus     *bus,
                     const char *member,
                     const char *type,
                     const void *value,
                     gsize       n_items)
{
  g_autoptr(sd_bus_message) m = NULL;
  int r;

  r = sd_bus_message_new_signal (bus, &m, RECEIVER_PATH, RAW_INTERFACE, member);
  if (r >= 0 && type[0] == 'a')
    r = sd_bus_message_append_array (m, type[1], value, n_items * sizeof (gint64));
  else if (r >= 0 && type[0] != '\0')
    r = sd_bus_message_append_basic (m, type[0], value);
  if (r >= 0)
    r = sd_bus_send_to (bus, m, FANOUT_RAW_NAME, NULL);
  if (r < 0)
    die ("a raw receiver cannot report: %s", g_strerror (-r));
}

static int
raw_receiver_on_signal (sd_bus_message *m,
                        void           *userdata,
                        sd_bus_error   *ret_error)
{
  RawReceiver *rr = userdata;
  const char *member = sd_bus_message_get_member (m);
  const char *text;

  if (strcmp (member, "Bcast") == 0)
    {
      if (sd_bus_message_read (m, "s", &text) >= 0)
        rr->count++;
    }
  else if (strcmp (member, "BcastEnd") == 0)
    {
      guint32 count = rr->count;

      raw_receiver_report (rr->bus, "Done", "u", &count, 1);
      rr->count = 0;
    }
  else if (strcmp (member, "Storm") == 0)
    sd_bus_message_read (m, "u", &rr->storm);
  return 0;
}

static int
role_raw_receiver (const char *address)
{
  g_autofree char *payload = make_payload (SMALL);
  RawReceiver rr = { 0 };
  int r;

  rr.bus = raw_open (address);
  r = sd_bus_match_signal (rr.bus, NULL, NULL, FANOUT_RAW_PATH, RAW_INTERFACE,
                           NULL, raw_receiver_on_signal, &rr);
  if (r < 0)
    die ("a raw receiver cannot add its match: %s", g_strerror (-r));
  raw_receiver_report (rr.bus, "Hello", "", NULL, 0);

  for (;;)
    {
      r = sd_bus_process (rr.bus, NULL);
      if (r < 0)
        break;
      if (r > 0)
        continue;
      if (rr.storm > 0)
        {
          g_autoptr(GArray) latencies = g_array_sized_new (FALSE, FALSE, sizeof (gint64), rr.storm);

          for (guint i = 0; i < rr.storm; i++)
            {
              g_auto(sd_bus_error) error = SD_BUS_ERROR_NULL;
              g_autoptr(sd_bus_message) reply = NULL;
              gint64 t0 = now_ns (), latency;
              const char *text;

              r = sd_bus_call_method (rr.bus, FANOUT_RAW_NAME, FANOUT_RAW_PATH,
                                      RAW_INTERFACE, "Echo", &error, &reply,
                                      "s", payload);
              if (r >= 0)
                r = sd_bus_message_read (reply, "s", &text);
              latency = r >= 0 ? now_ns () - t0 : -1;
              g_array_append_val (latencies, latency);
            }
          raw_receiver_report (rr.bus, "StormDone", "ax", latencies->data,
                               latencies->len);
          rr.storm = 0;
          continue;
        }
      r = sd_bus_wait (rr.bus, UINT64_MAX);
      if (r < 0 && r != -EINTR)
        break;
    }
  sd_bus_flush_close_unref (rr.bus);
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Role: the fan-out main process. It runs the eipc cases and, on a raw
 * sd-bus connection of its own, the same cases against raw receivers,
 * round after round, and reports:
 *   MEM <renderers> <VmRSS KiB> <VmHWM KiB>
 *   BCAST|RAWBCAST <receivers> <round> <ns> <broadcasts lost>
 *                  <CPU ns: sender> <bus> <receivers>
 *   STORM|RAWSTORM <clients> <round> <ns> <calls> <p50 ns> <p99 ns> <failed>
 *                  <CPU ns: clients> <bus> <server>
 *   DONE */

typedef struct {
  guint   attached;
  guint   done;
  guint   expected;
  guint   lost;
  guint   failed;
  GArray *latencies;   /* gint64 ns */
} FanMain;

static void
fan_main_on_attached (EipcMain        *main_process,
                      EipcWebContents *web_contents,
                      gpointer         user_data)
{
  FanMain *fm = user_data;

  fm->attached++;
}

static void
fan_main_on_bcast_done (EipcEvent *event,
                        gpointer   user_data)
{
  FanMain *fm = user_data;
  guint got = (guint) json_array_get_int_element (eipc_event_get_args (event), 0);

  if (got < fm->expected)
    fm->lost += fm->expected - got;
  fm->done++;
}

static void
fan_main_on_storm_done (EipcEvent *event,
                        gpointer   user_data)
{
  FanMain *fm = user_data;
  JsonArray *args = eipc_event_get_args (event);
  guint n = json_array_get_length (args);

  for (guint i = 0; i < n; i++)
    {
      gint64 latency = json_array_get_int_element (args, i);

      if (latency < 0)
        fm->failed++;
      else
        g_array_append_val (fm->latencies, latency);
    }
  fm->done++;
}

static int
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static gboolean
fan_main_broadcast_round (EipcMain    *main_process,
                          FanMain     *fm,
                          guint        renderers,
                          guint        n,
                          const char  *payload,
                          gint64      *elapsed)
{
  g_autoptr(GError) error = NULL;
  gint64 t0;

  fm->done = 0;
  fm->lost = 0;
  fm->expected = n;
  t0 = now_ns ();
  for (guint i = 0; i < n; i++)
    if (!eipc_main_broadcast_json (main_process, "bcast", payload, &error))
      die ("broadcast: %s", error->message);
  if (!eipc_main_broadcast_json (main_process, "bcast-end", "[]", &error))
    die ("broadcast: %s", error->message);
  if (!wait_for (&fm->done, renderers, WAIT_LIMIT_S))
    return FALSE;
  *elapsed = now_ns () - t0;
  return TRUE;
}

typedef struct {
  sd_bus *bus;
  guint   hellos;
  guint   done;
  guint   expected;
  guint   lost;
  guint   failed;
  GArray *latencies;   /* gint64 ns */
} FanRaw;

static int
fan_raw_on_signal (sd_bus_message *m,
                   void           *userdata,
                   sd_bus_error   *ret_error)
{
  FanRaw *fr = userdata;
  const char *member = sd_bus_message_get_member (m);

  if (strcmp (member, "Hello") == 0)
    fr->hellos++;
  else if (strcmp (member, "Done") == 0)
    {
      guint32 got = 0;

      sd_bus_message_read (m, "u", &got);
      if (got < fr->expected)
        fr->lost += fr->expected - got;
      fr->done++;
    }
  else if (strcmp (member, "StormDone") == 0)
    {
      const gint64 *values = NULL;
      size_t size = 0;

      if (sd_bus_message_read_array (m, 'x', (const void **) &values, &size) >= 0)
        for (size_t i = 0; i < size / sizeof (gint64); i++)
          {
            if (values[i] < 0)
              fr->failed++;
            else
              g_array_append_val (fr->latencies, values[i]);
          }
      fr->done++;
    }
  return 0;
}

/* Runs the raw connection (sd_bus_process, sd_bus_wait) until *counter
 * reaches @target. */
static gboolean
fan_raw_wait_for (FanRaw      *fr,
                  const guint *counter,
                  guint        target,
                  guint        limit_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) limit_s * G_USEC_PER_SEC;

  while (*counter < target)
    {
      int r = sd_bus_process (fr->bus, NULL);

      if (r < 0)
        die ("the raw fan-out connection failed: %s", g_strerror (-r));
      if (r > 0)
        continue;
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      r = sd_bus_wait (fr->bus, 100000);
      if (r < 0 && r != -EINTR)
        die ("the raw fan-out connection failed: %s", g_strerror (-r));
    }
  return TRUE;
}

static void
fan_raw_broadcast (FanRaw     *fr,
                   const char *member,
                   const char *type,
                   const void *value)
{
  g_autoptr(sd_bus_message) m = NULL;
  int r;

  r = sd_bus_message_new_signal (fr->bus, &m, FANOUT_RAW_PATH, RAW_INTERFACE, member);
  if (r >= 0 && type != NULL)
    r = sd_bus_message_append_basic (m, type[0], value);
  if (r >= 0)
    r = sd_bus_send (fr->bus, m, NULL);
  if (r < 0)
    die ("raw broadcast: %s", g_strerror (-r));
}

static gboolean
fan_raw_broadcast_round (FanRaw     *fr,
                         guint       receivers,
                         guint       n,
                         const char *payload,
                         gint64     *elapsed)
{
  gint64 t0;

  fr->done = 0;
  fr->lost = 0;
  fr->expected = n;
  t0 = now_ns ();
  for (guint i = 0; i < n; i++)
    fan_raw_broadcast (fr, "Bcast", "s", payload);
  fan_raw_broadcast (fr, "BcastEnd", NULL, NULL);
  if (!fan_raw_wait_for (fr, &fr->done, receivers, WAIT_LIMIT_S))
    return FALSE;
  *elapsed = now_ns () - t0;
  return TRUE;
}

static void
latency_percentiles (GArray *latencies,
                     gint64 *p50,
                     gint64 *p99)
{
  *p50 = *p99 = 0;
  if (latencies->len == 0)
    return;
  g_array_sort (latencies, compare_gint64);
  *p50 = g_array_index (latencies, gint64, latencies->len / 2);
  *p99 = g_array_index (latencies, gint64,
                        MIN (latencies->len - 1, latencies->len * 99 / 100));
}

static void
spawn_quiet (GArray     *pids,
             const char *role,
             const char *address)
{
  const char *args[] = { address, NULL };
  Child *child = child_spawn (role, args, -1, TRUE);

  g_array_append_val (pids, child->pid);
  g_free (child->role);
  g_free (child);
}

static int
role_fanout_main (const char *address,
                  GPid        daemon_pid,
                  guint       rounds,
                  guint       n_bcast,
                  guint       n_storm,
                  guint       max_renderers)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMain) main_process = NULL;
  g_autoptr(GArray) renderers = g_array_new (FALSE, FALSE, sizeof (GPid));
  g_autoptr(GArray) receivers = g_array_new (FALSE, FALSE, sizeof (GPid));
  g_autofree char *payload = make_payload (SMALL);
  const guint levels[] = { 1, 10, 100 };
  RawServer raw_server = { 0 };
  FanMain fm = { 0 };
  FanRaw fr = { 0 };
  long rss, hwm;
  int r;

  fm.latencies = g_array_new (FALSE, FALSE, sizeof (gint64));
  fr.latencies = g_array_new (FALSE, FALSE, sizeof (gint64));
  main_process = eipc_main_new_for_address (FANOUT_APP_ID, address, &error);
  if (main_process == NULL)
    die ("the fan-out main process cannot start: %s", error->message);
  if (!eipc_main_handle (main_process, "echo", main_on_echo, NULL, NULL, &error))
    die ("%s", error->message);
  eipc_main_on (main_process, "bcast-done", fan_main_on_bcast_done, &fm, NULL);
  eipc_main_on (main_process, "storm-done", fan_main_on_storm_done, &fm, NULL);
  g_signal_connect (main_process, "web-contents-attached",
                    G_CALLBACK (fan_main_on_attached), &fm);

  /* The raw sd-bus reference: same process, a connection of its own,
   * driven only while the raw cases run. */
  fr.bus = raw_open (address);
  r = sd_bus_add_object_vtable (fr.bus, NULL, FANOUT_RAW_PATH, RAW_INTERFACE,
                                raw_vtable, &raw_server);
  if (r >= 0)
    r = sd_bus_match_signal (fr.bus, NULL, NULL, RECEIVER_PATH, RAW_INTERFACE,
                             NULL, fan_raw_on_signal, &fr);
  if (r >= 0)
    r = sd_bus_request_name (fr.bus, FANOUT_RAW_NAME, 0);
  if (r < 0)
    die ("the raw fan-out connection cannot start: %s", g_strerror (-r));

  read_memory (&rss, &hwm);
  say ("MEM 0 %ld %ld", rss, hwm);

  for (guint l = 0; l < G_N_ELEMENTS (levels); l++)
    {
      guint k = MIN (levels[l], max_renderers);
      gint64 elapsed;

      if (l > 0 && k <= renderers->len)
        break;
      while (renderers->len < k)
        spawn_quiet (renderers, "fanout-renderer", address);
      if (!wait_for (&fm.attached, k, WAIT_LIMIT_S))
        die ("only %u of %u renderers attached", fm.attached, k);
      /* Memory first, before any raw receiver talks to this process. */
      if (k == max_renderers)
        {
          read_memory (&rss, &hwm);
          say ("MEM %u %ld %ld", k, rss, hwm);
        }
      while (receivers->len < k)
        spawn_quiet (receivers, "raw-receiver", address);
      if (!fan_raw_wait_for (&fr, &fr.hellos, k, WAIT_LIMIT_S))
        die ("only %u of %u raw receivers started", fr.hellos, k);

      /* One short round each to warm up, then the measured ones, the
       * eipc and the raw round taking turns. */
      if (!fan_main_broadcast_round (main_process, &fm, k, MAX (n_bcast / 10, 1),
                                     payload, &elapsed) ||
          !fan_raw_broadcast_round (&fr, k, MAX (n_bcast / 10, 1), payload, &elapsed))
        die ("the warm-up broadcast to %u receivers did not finish", k);
      for (guint round = 0; round < rounds; round++)
        {
          guint64 c_self = process_cpu_ns (getpid ());
          guint64 c_daemon = process_cpu_ns (daemon_pid);
          guint64 c_peers = pids_cpu_ns (renderers);

          if (!fan_main_broadcast_round (main_process, &fm, k, n_bcast, payload,
                                         &elapsed))
            die ("a broadcast to %u renderers did not finish", k);
          /* CPU: the sender, the bus, all receivers together. */
          say ("BCAST %u %u %" G_GINT64_FORMAT " %u %" G_GUINT64_FORMAT
               " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT, k, round, elapsed, fm.lost,
               process_cpu_ns (getpid ()) - c_self,
               process_cpu_ns (daemon_pid) - c_daemon,
               pids_cpu_ns (renderers) - c_peers);
          c_self = process_cpu_ns (getpid ());
          c_daemon = process_cpu_ns (daemon_pid);
          c_peers = pids_cpu_ns (receivers);
          if (!fan_raw_broadcast_round (&fr, k, n_bcast, payload, &elapsed))
            die ("a raw broadcast to %u receivers did not finish", k);
          say ("RAWBCAST %u %u %" G_GINT64_FORMAT " %u %" G_GUINT64_FORMAT
               " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT, k, round, elapsed, fr.lost,
               process_cpu_ns (getpid ()) - c_self,
               process_cpu_ns (daemon_pid) - c_daemon,
               pids_cpu_ns (receivers) - c_peers);
        }

      if (k != max_renderers)
        continue;
      for (guint round = 0; round < rounds; round++)
        {
          char text[32];
          guint32 storm = n_storm;
          gint64 t0, p50, p99;
          guint64 c_self = process_cpu_ns (getpid ());
          guint64 c_daemon = process_cpu_ns (daemon_pid);
          guint64 c_peers = pids_cpu_ns (renderers);

          g_array_set_size (fm.latencies, 0);
          fm.done = 0;
          fm.failed = 0;
          g_snprintf (text, sizeof text, "[%u]", n_storm);
          t0 = now_ns ();
          if (!eipc_main_broadcast_json (main_process, "storm", text, &error))
            die ("broadcast: %s", error->message);
          if (!wait_for (&fm.done, k, WAIT_LIMIT_S))
            die ("the invoke storm of %u renderers did not finish", k);
          elapsed = now_ns () - t0;
          latency_percentiles (fm.latencies, &p50, &p99);
          /* CPU: all callers together, the bus, the server. */
          say ("STORM %u %u %" G_GINT64_FORMAT " %u %" G_GINT64_FORMAT
               " %" G_GINT64_FORMAT " %u %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
               " %" G_GUINT64_FORMAT, k, round, elapsed,
               fm.latencies->len, p50, p99, fm.failed,
               pids_cpu_ns (renderers) - c_peers,
               process_cpu_ns (daemon_pid) - c_daemon,
               process_cpu_ns (getpid ()) - c_self);

          c_self = process_cpu_ns (getpid ());
          c_daemon = process_cpu_ns (daemon_pid);
          c_peers = pids_cpu_ns (receivers);
          g_array_set_size (fr.latencies, 0);
          fr.done = 0;
          fr.failed = 0;
          t0 = now_ns ();
          fan_raw_broadcast (&fr, "Storm", "u", &storm);
          if (!fan_raw_wait_for (&fr, &fr.done, k, WAIT_LIMIT_S))
            die ("the call storm of %u raw clients did not finish", k);
          elapsed = now_ns () - t0;
          latency_percentiles (fr.latencies, &p50, &p99);
          say ("RAWSTORM %u %u %" G_GINT64_FORMAT " %u %" G_GINT64_FORMAT
               " %" G_GINT64_FORMAT " %u %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
               " %" G_GUINT64_FORMAT, k, round, elapsed,
               fr.latencies->len, p50, p99, fr.failed,
               pids_cpu_ns (receivers) - c_peers,
               process_cpu_ns (daemon_pid) - c_daemon,
               process_cpu_ns (getpid ()) - c_self);
        }
    }

  for (guint i = 0; i < renderers->len + receivers->len; i++)
    {
      GPid pid = i < renderers->len ? g_array_index (renderers, GPid, i)
                                    : g_array_index (receivers, GPid, i - renderers->len);
      int status;

      kill (pid, SIGTERM);
      while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
        ;
    }
  g_array_unref (fm.latencies);
  g_array_unref (fr.latencies);
  sd_bus_flush_close_unref (fr.bus);
  say ("DONE");
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Results */

typedef struct {
  const char *key;        /* interned: ID, or ID@PINNING for pinned cases */
  char       *id;         /* stable, as in the JSON */
  Pinning     pin;
  char       *group;
  char       *label;
  const char *unit;
  const char *ref;        /* key of the raw sd-bus case it compares with */
  gboolean    diff;       /* "vs raw" is a difference, not a ratio */
  GArray     *samples;    /* double, one per round */
  GArray     *slices;     /* double, one per slice: paired with the ref's */
  guint       lost;       /* messages that were not delivered */
  GString    *note;
  /* CPU time spent per call or message, summed over the recorded slices */
  double      cpu_client;
  double      cpu_daemon;
  double      cpu_server;
  guint64     cpu_ops;
} Case;

static GPtrArray *cases;

static void
case_free (gpointer data)
{
  Case *c = data;

  g_free (c->id);
  g_free (c->group);
  g_free (c->label);
  g_array_unref (c->samples);
  g_array_unref (c->slices);
  g_string_free (c->note, TRUE);
  g_free (c);
}

/* The key of case @id under @pin. */
static const char *
case_key (const char *id,
          Pinning     pin)
{
  g_autofree char *key = NULL;

  if (id == NULL || pin == PIN_NONE)
    return g_intern_string (id);
  key = g_strconcat (id, "@", pin_names[pin], NULL);
  return g_intern_string (key);
}

static Case *
case_lookup (const char *key)
{
  for (guint i = 0; i < cases->len; i++)
    {
      Case *c = g_ptr_array_index (cases, i);

      if (strcmp (c->key, key) == 0)
        return c;
    }
  return NULL;
}

static Case *
case_find (const char *key)
{
  Case *c = case_lookup (key);

  if (c == NULL)
    die ("no case %s", key);
  return c;
}

static Case *
case_new_full (const char *id,
               Pinning     pin,
               const char *group,
               const char *label,
               const char *unit,
               const char *ref)
{
  Case *c = g_new0 (Case, 1);

  c->key = case_key (id, pin);
  c->id = g_strdup (id);
  c->pin = pin;
  c->group = g_strdup (group);
  c->label = g_strdup (label);
  c->unit = unit;
  c->ref = case_key (ref, pin);
  c->diff = strcmp (unit, "allocs") == 0;
  c->samples = g_array_new (FALSE, FALSE, sizeof (double));
  c->slices = g_array_new (FALSE, FALSE, sizeof (double));
  c->note = g_string_new (NULL);
  g_ptr_array_add (cases, c);
  return c;
}

/* A case measured once per round. */
static void
case_new (const char *id,
          const char *group,
          const char *label,
          const char *unit,
          const char *ref)
{
  case_new_full (id, PIN_NONE, group, label, unit, ref);
}

/* A point-to-point case: measured under both pinnings, each compared
 * with @ref under the same pinning. */
static void
case_new_pinned (const char *id,
                 const char *group,
                 const char *label,
                 const char *unit,
                 const char *ref)
{
  case_new_full (id, PIN_SAME, group, label, unit, ref);
  case_new_full (id, PIN_CROSS, group, label, unit, ref);
}

static void
case_add (const char *id,
          double      value)
{
  g_array_append_val (case_find (id)->samples, value);
}

/* A value that is both a round's sample and a slice for the pairing. */
static void
case_add_paired (const char *id,
                 double      value)
{
  Case *c = case_find (id);

  g_array_append_val (c->samples, value);
  g_array_append_val (c->slices, value);
}

static int
compare_double (gconstpointer a,
                gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static gboolean
case_stats (Case   *c,
            double *median,
            double *min,
            double *max)
{
  g_autoptr(GArray) sorted = NULL;
  guint n = c->samples->len;

  if (n == 0)
    return FALSE;
  sorted = g_array_copy (c->samples);
  g_array_sort (sorted, compare_double);
  *min = g_array_index (sorted, double, 0);
  *max = g_array_index (sorted, double, n - 1);
  *median = n % 2 == 1 ? g_array_index (sorted, double, n / 2)
                       : (g_array_index (sorted, double, n / 2 - 1) +
                          g_array_index (sorted, double, n / 2)) / 2;
  return TRUE;
}

/* The ratio of @c to its raw sd-bus case: the median, over all slices,
 * of the value of @c in a slice over the ref's value in the slice of the
 * same turn, moments apart; for cases measured otherwise (fan-out), or
 * without slices, the ratio of the medians. */
static double
case_ratio (Case       *c,
            const char *ref_id)
{
  Case *ref = case_find (ref_id);
  g_autoptr(GArray) ratios = NULL;
  double median, min, max, ref_median;

  if (c->slices->len > 0 && c->slices->len == ref->slices->len)
    {
      ratios = g_array_new (FALSE, FALSE, sizeof (double));
      for (guint i = 0; i < c->slices->len; i++)
        {
          double r = g_array_index (c->slices, double, i) /
                     g_array_index (ref->slices, double, i);

          g_array_append_val (ratios, r);
        }
      g_array_sort (ratios, compare_double);
      return ratios->len % 2 == 1 ? g_array_index (ratios, double, ratios->len / 2)
                                  : (g_array_index (ratios, double, ratios->len / 2 - 1) +
                                     g_array_index (ratios, double, ratios->len / 2)) / 2;
    }
  if (!case_stats (c, &median, &min, &max) ||
      !case_stats (ref, &ref_median, &min, &max) || ref_median == 0)
    return 0;
  return median / ref_median;
}

static double
case_median (const char *id)
{
  double median, min, max;

  if (!case_stats (case_find (id), &median, &min, &max))
    return 0;
  return median;
}

/* ---------------------------------------------------------------------- */
/* The coordinator's clients */

typedef struct {
  guint            rounds;
  double           seconds;      /* per round-trip measurement */
  guint            flood;        /* one-way messages per round */
  guint            pipelined;    /* calls per pipelined round */
  guint            bcast;        /* broadcasts per fan-out round */
  guint            storm;        /* invokes per renderer per storm round */
  guint            renderers;    /* the most renderers of the fan-out */
  guint            attach;       /* renderers of the attach case */
  guint            alloc_calls;  /* calls per allocation count */
  gboolean         quick;
  gboolean         no_verify;
  gboolean         alloc_trace;  /* --alloc-trace */
  char            *alloc_case;   /* --alloc-case: only this one */
  gboolean         json;         /* --json given */
  char            *json_path;    /* NULL or "-": stdout */
  char            *only;
  char            *address;      /* --address: an existing bus */
  char            *bus;          /* --bus: dbus-daemon (default) or dbus-broker */
} Options;

typedef struct {
  Options         *opt;
  const char      *address;
  int              sock;
  sd_bus          *raw;
  GDBusConnection *gdbus;
  GMainContext    *gdbus_context;   /* where GDBus's deferred work runs */
  EipcRenderer    *renderer;
  char            *small;
  char            *payloads[G_N_ELEMENTS (payload_sizes)];
  GPid             daemon_pid;
  GPid             sock_pid;
  GPid             raw_pid;
  GPid             gdbus_pid;
  GPid             eipc_pid;
  Pinning          pin;             /* of the group that runs */
  EipcMessagePort *port;           /* its other end is the port-echo process */
  GMainContext    *port_context;   /* the port's, iterated by its cases only */
  GPid             port_pid;
  guint            port_replies;
  gsize            port_reply_size;
  GBytes          *port_mib;       /* the 1 MiB binary payload */
} Bench;

/* Where the report goes: stdout, or stderr when the JSON goes there. */
static FILE *report;

/* The process that serves a point-to-point case. */
static GPid
case_server_pid (Bench      *b,
                 const char *id)
{
  if (strstr (id, "socket") != NULL)
    return b->sock_pid;
  if (g_str_has_prefix (id, "port."))
    return b->port_pid;
  if (strstr (id, "sdbus") != NULL)
    return b->raw_pid;
  if (strstr (id, "gdbus") != NULL)
    return b->gdbus_pid;
  return b->eipc_pid;
}

typedef gboolean (*RoundTripFunc) (Bench      *b,
                                   const char *payload);

static gboolean
rtt_socket (Bench      *b,
            const char *payload)
{
  char buf[SMALL];

  return write_full (b->sock, payload, SMALL) &&
         read_full (b->sock, buf, SMALL);
}

static gboolean
rtt_sdbus (Bench      *b,
           const char *payload)
{
  g_auto(sd_bus_error) error = SD_BUS_ERROR_NULL;
  g_autoptr(sd_bus_message) reply = NULL;
  const char *text;
  int r;

  r = sd_bus_call_method (b->raw, RAW_NAME, RAW_PATH, RAW_INTERFACE, "Echo",
                          &error, &reply, "s", payload);
  if (r >= 0)
    r = sd_bus_message_read (reply, "s", &text);
  if (r < 0)
    g_printerr ("sd-bus Echo: %s\n", error.message != NULL ? error.message
                                                             : g_strerror (-r));
  return r >= 0;
}

static gboolean
rtt_gdbus (Bench      *b,
           const char *payload)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  const char *text;

  reply = g_dbus_connection_call_sync (b->gdbus, GDBUS_NAME, GDBUS_PATH,
                                       GDBUS_INTERFACE, "Echo",
                                       g_variant_new ("(s)", payload),
                                       G_VARIANT_TYPE ("(s)"),
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  if (reply == NULL)
    {
      g_printerr ("GDBus Echo: %s\n", error->message);
      return FALSE;
    }
  g_variant_get (reply, "(&s)", &text);
  /* GDBus leaves part of its work (freeing the call's state) to the
   * connection's main context: it is part of the call's cost, and must
   * not land on the next case's main loop. */
  while (g_main_context_iteration (b->gdbus_context, FALSE))
    ;
  return TRUE;
}

/* A message port to a process that echoes: post, then run the main
 * context until the answer came. */
static void
port_on_reply (EipcMessagePort *port,
               EipcEvent       *event,
               gpointer         user_data)
{
  Bench *b = user_data;
  GBytes *bytes = eipc_event_get_bytes (event);

  b->port_reply_size = bytes != NULL ? g_bytes_get_size (bytes)
                                     : strlen (eipc_event_get_data_json (event));
  b->port_replies++;
}

static gboolean
port_wait_reply (Bench *b,
                 guint  before,
                 gsize  size)
{
  while (b->port_replies == before)
    g_main_context_iteration (b->port_context, TRUE);
  if (b->port_reply_size != size)
    {
      g_printerr ("port echo: %" G_GSIZE_FORMAT " bytes back for %" G_GSIZE_FORMAT "\n",
                  b->port_reply_size, size);
      return FALSE;
    }
  return TRUE;
}

static gboolean
rtt_port (Bench      *b,
          const char *payload)
{
  g_autoptr(GError) error = NULL;
  guint before = b->port_replies;

  if (!eipc_message_port_post_message_json (b->port, payload, NULL, &error))
    {
      g_printerr ("port post: %s\n", error->message);
      return FALSE;
    }
  return port_wait_reply (b, before, strlen (payload));
}

/* The 1 MiB binary payload, whatever @payload is (the JSON text of the
 * same size the invoke case carries). */
static gboolean
rtt_port_bytes (Bench      *b,
                const char *payload)
{
  g_autoptr(GError) error = NULL;
  guint before = b->port_replies;

  if (!eipc_message_port_post_bytes (b->port, b->port_mib, &error))
    {
      g_printerr ("port post: %s\n", error->message);
      return FALSE;
    }
  return port_wait_reply (b, before, g_bytes_get_size (b->port_mib));
}

typedef struct {
  gboolean  done;
  JsonNode *result;
  GError   *error;
} InvokeWait;

static void
invoke_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  InvokeWait *wait = user_data;

  wait->result = eipc_renderer_invoke_finish (EIPC_RENDERER (source), result,
                                              &wait->error);
  wait->done = TRUE;
}

/* One invoke, then the renderer's main context runs until its answer. */
static gboolean
rtt_eipc_invoke (Bench      *b,
                 const char *payload)
{
  InvokeWait wait = { 0 };

  eipc_renderer_invoke_json (b->renderer, "echo", payload, NULL, invoke_done,
                             &wait);
  while (!wait.done)
    g_main_context_iteration (NULL, TRUE);
  if (wait.result == NULL)
    {
      g_printerr ("eipc invoke: %s\n", wait.error->message);
      g_error_free (wait.error);
      return FALSE;
    }
  json_node_unref (wait.result);
  return TRUE;
}

typedef struct {
  gboolean  done;
  char     *text;
  GError   *error;
} InvokeTextWait;

static void
invoke_text_done (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  InvokeTextWait *wait = user_data;

  wait->text = eipc_renderer_invoke_finish_json (EIPC_RENDERER (source), result,
                                                 &wait->error);
  wait->done = TRUE;
}

/* The same, the result as text: what a caller that passes it on does. */
static gboolean
rtt_eipc_invoke_text (Bench      *b,
                      const char *payload)
{
  InvokeTextWait wait = { 0 };

  eipc_renderer_invoke_json (b->renderer, "echo", payload, NULL, invoke_text_done,
                             &wait);
  while (!wait.done)
    g_main_context_iteration (NULL, TRUE);
  if (wait.text == NULL)
    {
      g_printerr ("eipc invoke: %s\n", wait.error->message);
      g_error_free (wait.error);
      return FALSE;
    }
  g_free (wait.text);
  return TRUE;
}

static gboolean
rtt_eipc_send_sync (Bench      *b,
                    const char *payload)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) result = NULL;

  result = eipc_renderer_send_sync_json (b->renderer, "echo-sync", payload, &error);
  if (result == NULL)
    g_printerr ("eipc sendSync: %s\n", error->message);
  return result != NULL;
}

static int compare_gint64 (gconstpointer a,
                           gconstpointer b);

/* One slice: round trips for at least @ns and @min_count calls; the time
 * of every call goes to @latencies. Returns the slice's median, in ns. */
static double
rtt_slice (Bench         *b,
           RoundTripFunc  func,
           const char    *payload,
           gint64         ns,
           guint          min_count,
           GArray        *latencies)
{
  gint64 t0 = now_ns (), t = t0;
  guint first = latencies->len;
  guint n = 0;
  g_autoptr(GArray) slice = NULL;

  do
    {
      gint64 start = t, latency;

      if (!func (b, payload))
        die ("a round trip failed");
      n++;
      t = now_ns ();
      latency = t - start;
      g_array_append_val (latencies, latency);
    }
  while (t - t0 < ns || n < min_count);

  slice = g_array_sized_new (FALSE, FALSE, sizeof (gint64), n);
  g_array_append_vals (slice, &g_array_index (latencies, gint64, first), n);
  g_array_sort (slice, compare_gint64);
  return (double) g_array_index (slice, gint64, n / 2);
}

/* @n one-way messages, then a call that returns how many arrived: the
 * time it took, in ns, until the receiver had counted them all. */
/* Not inlined, so that a profiler can single it out. */
G_GNUC_NO_INLINE static gint64
flood_sdbus (Bench *b,
             guint  n,
             guint *delivered)
{
  g_auto(sd_bus_error) error = SD_BUS_ERROR_NULL;
  g_autoptr(sd_bus_message) reply = NULL;
  gint64 t0 = now_ns ();
  int r;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(sd_bus_message) m = NULL;

      r = sd_bus_message_new_signal (b->raw, &m, RAW_PATH, RAW_INTERFACE, "Flood");
      if (r >= 0)
        r = sd_bus_message_append (m, "s", b->small);
      if (r >= 0)
        r = sd_bus_send_to (b->raw, m, RAW_NAME, NULL);
      if (r < 0)
        die ("sd-bus signal: %s", g_strerror (-r));
    }
  r = sd_bus_call_method (b->raw, RAW_NAME, RAW_PATH, RAW_INTERFACE, "Count",
                          &error, &reply, "");
  if (r >= 0)
    r = sd_bus_message_read (reply, "u", delivered);
  if (r < 0)
    die ("sd-bus Count: %s", g_strerror (-r));
  return now_ns () - t0;
}

G_GNUC_NO_INLINE static gint64
flood_eipc (Bench *b,
            guint  n,
            guint *delivered)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) count = NULL;
  gint64 t0 = now_ns ();

  for (guint i = 0; i < n; i++)
    if (!eipc_renderer_send_json (b->renderer, "flood", b->small, &error))
      die ("eipc send: %s", error->message);
  count = eipc_renderer_send_sync_json (b->renderer, "count", "[]", &error);
  if (count == NULL)
    die ("eipc sendSync count: %s", error->message);
  *delivered = (guint) json_node_get_int (count);
  return now_ns () - t0;
}

typedef struct {
  Bench *b;
  guint  total;
  guint  sent;
  guint  done;
  guint  failed;
} Pipeline;

static int raw_pipeline_done (sd_bus_message *reply,
                              void           *userdata,
                              sd_bus_error   *ret_error);

static void
raw_pipeline_send (Pipeline *p)
{
  int r;

  p->sent++;
  r = sd_bus_call_method_async (p->b->raw, NULL, RAW_NAME, RAW_PATH,
                                RAW_INTERFACE, "Echo", raw_pipeline_done, p,
                                "s", p->b->small);
  if (r < 0)
    die ("sd_bus_call_method_async: %s", g_strerror (-r));
}

static int
raw_pipeline_done (sd_bus_message *reply,
                   void           *userdata,
                   sd_bus_error   *ret_error)
{
  Pipeline *p = userdata;
  const char *text;

  p->done++;
  if (sd_bus_message_is_method_error (reply, NULL) ||
      sd_bus_message_read (reply, "s", &text) < 0)
    p->failed++;
  if (p->sent < p->total)
    raw_pipeline_send (p);
  return 0;
}

G_GNUC_NO_INLINE static gint64
pipeline_sdbus (Bench *b,
                guint  n)
{
  Pipeline p = { b, n, 0, 0, 0 };
  gint64 t0 = now_ns ();

  while (p.sent < MIN (n, PIPELINE_DEPTH))
    raw_pipeline_send (&p);
  while (p.done < n)
    {
      int r = sd_bus_process (b->raw, NULL);

      if (r < 0)
        die ("sd_bus_process: %s", g_strerror (-r));
      if (r > 0)
        continue;
      r = sd_bus_wait (b->raw, UINT64_MAX);
      if (r < 0 && r != -EINTR)
        die ("sd_bus_wait: %s", g_strerror (-r));
    }
  if (p.failed > 0)
    die ("%u pipelined sd-bus calls failed", p.failed);
  return now_ns () - t0;
}

static void eipc_pipeline_send (Pipeline *p);

static void
eipc_pipeline_done (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  Pipeline *p = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;

  node = eipc_renderer_invoke_finish (EIPC_RENDERER (source), result, &error);
  p->done++;
  if (node == NULL)
    p->failed++;
  if (p->sent < p->total)
    eipc_pipeline_send (p);
}

static void
eipc_pipeline_send (Pipeline *p)
{
  p->sent++;
  eipc_renderer_invoke_json (p->b->renderer, "echo", p->b->small, NULL,
                             eipc_pipeline_done, p);
}

G_GNUC_NO_INLINE static gint64
pipeline_eipc (Bench *b,
               guint  n)
{
  Pipeline p = { b, n, 0, 0, 0 };
  gint64 t0 = now_ns ();

  while (p.sent < MIN (n, PIPELINE_DEPTH))
    eipc_pipeline_send (&p);
  while (p.done < n)
    g_main_context_iteration (NULL, TRUE);
  if (p.failed > 0)
    die ("%u pipelined invokes failed", p.failed);
  return now_ns () - t0;
}

/* ---------------------------------------------------------------------- */
/* The coordinator */

static gboolean
want (Options    *opt,
      const char *group)
{
  g_auto(GStrv) groups = NULL;

  if (opt->only == NULL)
    return TRUE;
  groups = g_strsplit (opt->only, ",", -1);
  return g_strv_contains ((const char * const *) groups, group);
}

static char *
size_label (gsize size)
{
  if (size >= 1048576)
    return g_strdup_printf ("%" G_GSIZE_FORMAT " MiB", size / 1048576);
  if (size >= 1024)
    return g_strdup_printf ("%" G_GSIZE_FORMAT " KiB", size / 1024);
  return g_strdup_printf ("%" G_GSIZE_FORMAT " B", size);
}

static const guint attach_levels[] = { 5, 10, 100, 500 };

static void
register_cases (void)
{
#define RTT "Round trip, 64 B each way"
  case_new_pinned ("rtt.socket", RTT, "unix socketpair ping-pong (floor)", "us", "rtt.sdbus");
  case_new_pinned ("rtt.sdbus", RTT, "raw sd-bus, sd_bus_call_method", "us", "rtt.sdbus");
  case_new_pinned ("rtt.gdbus", RTT, "GDBus, g_dbus_connection_call_sync", "us", "rtt.sdbus");
  case_new_pinned ("rtt.invoke", RTT, "eipc invoke", "us", "rtt.sdbus");
  case_new_pinned ("rtt.invoke_json", RTT, "eipc invoke, result as text (finish_json)", "us", "rtt.sdbus");
  case_new_pinned ("rtt.sendsync", RTT, "eipc sendSync", "us", "rtt.sdbus");
  case_new_pinned ("port.rtt", RTT, "eipc message port (peer to peer, no bus)", "us", "rtt.sdbus");
#undef RTT

  case_new_pinned ("flood.sdbus", "One-way messages, 64 B, counted at the receiver", "raw sd-bus unicast signals", "msg/s", "flood.sdbus");
  case_new_pinned ("flood.eipc", "One-way messages, 64 B, counted at the receiver", "eipc send", "msg/s", "flood.sdbus");

  case_new_pinned ("pipe.sdbus", "Pipelined calls, 64 in flight, 64 B", "raw sd-bus, sd_bus_call_method_async", "calls/s", "pipe.sdbus");
  case_new_pinned ("pipe.eipc", "Pipelined calls, 64 in flight, 64 B", "eipc invoke", "calls/s", "pipe.sdbus");

  for (guint i = 0; i < G_N_ELEMENTS (payload_sizes); i++)
    {
      g_autofree char *size = size_label (payload_sizes[i]);
      g_autofree char *raw_id = g_strdup_printf ("size.%" G_GSIZE_FORMAT ".sdbus", payload_sizes[i]);
      g_autofree char *eipc_id = g_strdup_printf ("size.%" G_GSIZE_FORMAT ".eipc", payload_sizes[i]);
      g_autofree char *raw_label = g_strdup_printf ("%s raw sd-bus call", size);
      g_autofree char *eipc_label = g_strdup_printf ("%s eipc invoke", size);

      case_new_pinned (raw_id, "Payload round trip (echo, same bytes each way)", raw_label, "us", raw_id);
      case_new_pinned (eipc_id, "Payload round trip (echo, same bytes each way)", eipc_label, "us", raw_id);
      if (payload_sizes[i] == 1048576)
        case_new_pinned ("port.bytes.1048576", "Payload round trip (echo, same bytes each way)",
                         "1 MiB binary over an eipc message port (inline ay)", "us", raw_id);
    }

#define ALLOC "Heap allocations per call (malloc, calloc, realloc, memalign)"
  case_new ("alloc.sdbus.client", ALLOC, "raw sd-bus client, sd_bus_call_method", "allocs", NULL);
  case_new ("alloc.invoke_json.renderer", ALLOC, "eipc renderer, invoke_json + finish_json", "allocs", "alloc.sdbus.client");
  case_new ("alloc.invoke.renderer", ALLOC, "eipc renderer, invoke_json + finish (JsonNode)", "allocs", "alloc.sdbus.client");
  case_new ("alloc.sendsync.renderer", ALLOC, "eipc renderer, sendSync", "allocs", "alloc.sdbus.client");
  case_new ("alloc.sdbus.server", ALLOC, "raw sd-bus server, vtable method", "allocs", NULL);
  case_new ("alloc.invoke.main", ALLOC, "eipc main, handle + resolve", "allocs", "alloc.sdbus.server");
  case_new ("alloc.sendsync.main", ALLOC, "eipc main, on + returnValue", "allocs", "alloc.sdbus.server");
#undef ALLOC

#define FAN "Fan-out: one process broadcasts 64 B to N receivers"
  case_new ("fanraw.1", FAN, "raw sd-bus signal to 1 receiver", "bcast/s", "fanraw.1");
  case_new ("fan.1", FAN, "eipc broadcast to 1 renderer", "bcast/s", "fanraw.1");
  case_new ("fanraw.10", FAN, "raw sd-bus signal to 10 receivers", "bcast/s", "fanraw.10");
  case_new ("fan.10", FAN, "eipc broadcast to 10 renderers", "bcast/s", "fanraw.10");
  case_new ("fanraw.100", FAN, "raw sd-bus signal to 100 receivers", "bcast/s", "fanraw.100");
  case_new ("fan.100", FAN, "eipc broadcast to 100 renderers", "bcast/s", "fanraw.100");
#undef FAN
#define STORM "Fan-in: 100 clients call one process at once, 64 B"
  case_new ("stormraw.rate", STORM, "raw sd-bus calls handled", "calls/s", "stormraw.rate");
  case_new ("storm.rate", STORM, "eipc invokes handled", "calls/s", "stormraw.rate");
  case_new ("stormraw.p50", STORM, "raw sd-bus latency p50", "us", "stormraw.p50");
  case_new ("storm.p50", STORM, "eipc latency p50", "us", "stormraw.p50");
  case_new ("stormraw.p99", STORM, "raw sd-bus latency p99", "us", "stormraw.p99");
  case_new ("storm.p99", STORM, "eipc latency p99", "us", "stormraw.p99");
#undef STORM
#define ATTACH "Attach: one more renderer when N-1 are attached"
  for (guint i = 0; i < G_N_ELEMENTS (attach_levels); i++)
    {
      g_autofree char *time_id = g_strdup_printf ("attach.time.%u", attach_levels[i]);
      g_autofree char *bytes_id = g_strdup_printf ("attach.bytes.%u", attach_levels[i]);
      g_autofree char *time_label = g_strdup_printf ("time of attach #%u (connect + Attach)", attach_levels[i]);
      g_autofree char *bytes_label = g_strdup_printf ("bus bytes of attach #%u", attach_levels[i]);

      case_new (time_id, ATTACH, time_label, "us", NULL);
      case_new (bytes_id, ATTACH, bytes_label, "bytes", NULL);
    }
#undef ATTACH
  case_new ("mem.rss0", "Memory of the main process", "VmRSS, no renderer attached", "KiB", NULL);
  case_new ("mem.hwm", "Memory of the main process", "VmHWM (peak), 100 renderers attached", "KiB", NULL);
  case_new ("mem.per", "Memory of the main process", "VmRSS per attached renderer", "KiB", NULL);
}

/* ---------------------------------------------------------------------- */
/* The bus. Every case of a run uses one bus: a private dbus-daemon that
 * bus_start() starts, a private dbus-broker (--bus=dbus-broker), or the
 * bus at --address. */

typedef struct {
  char       *address;
  GPid        started;     /* the daemon we started and stop, 0 if none */
  GPid        pid;         /* the bus's process, for its CPU time; 0 unknown */
  const char *kind;        /* what the report calls it */
} BusInfo;

static void
bus_start_dbus_daemon (BusInfo *bus)
{
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "dbus-daemon", "--session", "--nofork",
                         "--print-address", NULL };
  char buf[512];
  int out_fd;
  FILE *out;

  if (!g_spawn_async_with_pipes_and_fds (NULL, argv, NULL,
                                         G_SPAWN_SEARCH_PATH |
                                         G_SPAWN_DO_NOT_REAP_CHILD,
                                         child_setup, NULL, -1, -1, -1,
                                         NULL, NULL, 0, &bus->started, NULL, &out_fd,
                                         NULL, &error))
    die ("cannot start dbus-daemon: %s", error->message);
  out = fdopen (out_fd, "r");
  if (fgets (buf, sizeof buf, out) == NULL)
    die ("dbus-daemon printed no address");
  fclose (out);
  g_strchomp (buf);
  bus->address = g_strdup (buf);
  bus->pid = bus->started;
  bus->kind = "private dbus-daemon";
}

/* A private dbus-broker, through the tests' eipc-test-broker helper
 * (BUILDDIR/tests/, beside this program's BUILDDIR/bench/): it runs
 * dbus-broker without systemd, with a session bus's policy and the limits
 * dbus-broker-launch would give it, and prints the address and then the
 * broker's pid. We stop the helper (SIGTERM: it stops the broker); the
 * CPU time is the broker's. */
static void
bus_start_dbus_broker (BusInfo *bus)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *bench_dir = g_path_get_dirname (self_exe);
  g_autofree char *build_dir = g_path_get_dirname (bench_dir);
  g_autofree char *helper = g_build_filename (build_dir, "tests", "eipc-test-broker", NULL);
  const char *argv[] = { helper, "--policy=session", NULL };
  char buf[512], pid_text[64];
  int out_fd;
  FILE *out;

  if (!g_spawn_async_with_pipes_and_fds (NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                         child_setup, NULL, -1, -1, -1,
                                         NULL, NULL, 0, &bus->started, NULL, &out_fd,
                                         NULL, &error))
    die ("cannot start %s: %s", helper, error->message);
  out = fdopen (out_fd, "r");
  if (fgets (buf, sizeof buf, out) == NULL || fgets (pid_text, sizeof pid_text, out) == NULL)
    die ("eipc-test-broker printed no address and pid (is dbus-broker installed?)");
  fclose (out);
  g_strchomp (buf);
  bus->address = g_strdup (buf);
  bus->pid = (GPid) g_ascii_strtoll (pid_text, NULL, 10);
  bus->kind = "private dbus-broker";
}

/* The pid of the process behind an existing bus, as the bus says it. */
static GPid
bus_query_pid (const char *address)
{
  g_auto(sd_bus_error) error = SD_BUS_ERROR_NULL;
  g_autoptr(sd_bus_message) reply = NULL;
  sd_bus *bus = raw_open (address);
  guint32 pid = 0;

  if (sd_bus_call_method (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                          &error, &reply, "s", "org.freedesktop.DBus") < 0 ||
      sd_bus_message_read (reply, "u", &pid) < 0)
    pid = 0;
  sd_bus_flush_close_unref (bus);
  return (GPid) pid;
}

static void
bus_start (Options *opt,
           BusInfo *bus)
{
  if (opt->address != NULL)
    {
      bus->address = g_strdup (opt->address);
      bus->pid = bus_query_pid (bus->address);
      bus->kind = "existing bus";
    }
  else if (g_strcmp0 (opt->bus, "dbus-broker") == 0)
    bus_start_dbus_broker (bus);
  else
    bus_start_dbus_daemon (bus);
}

static void
bus_stop (BusInfo *bus)
{
  if (bus->started > 0)
    {
      kill (bus->started, SIGTERM);
      waitpid (bus->started, NULL, 0);
      g_spawn_close_pid (bus->started);
    }
  g_free (bus->address);
}

static void
bench_connect (Bench *b)
{
  g_autoptr(GError) error = NULL;

  b->raw = raw_open (b->address);
  /* The GDBus connection gets a main context of its own. */
  b->gdbus_context = g_main_context_new ();
  g_main_context_push_thread_default (b->gdbus_context);
  b->gdbus = gdbus_open (b->address);
  g_main_context_pop_thread_default (b->gdbus_context);
  b->renderer = eipc_renderer_new_for_address (APP_ID, b->address, &error);
  if (b->renderer == NULL)
    die ("the eipc renderer cannot attach: %s", error->message);
}

/* Every peer must echo every payload exactly, or the timings mean
 * nothing: checked once, before the measurements. */
static void
bench_verify (Bench *b)
{
  for (guint i = 0; i < G_N_ELEMENTS (payload_sizes); i++)
    {
      const char *payload = b->payloads[i];
      g_auto(sd_bus_error) bus_error = SD_BUS_ERROR_NULL;
      g_autoptr(sd_bus_message) reply = NULL;
      g_autoptr(GVariant) variant = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) node = NULL;
      g_autofree char *text = NULL;
      InvokeWait wait = { 0 };
      const char *raw_text = NULL;
      const char *gdbus_text = NULL;

      if (sd_bus_call_method (b->raw, RAW_NAME, RAW_PATH, RAW_INTERFACE, "Echo",
                              &bus_error, &reply, "s", payload) < 0 ||
          sd_bus_message_read (reply, "s", &raw_text) < 0 ||
          strcmp (raw_text, payload) != 0)
        die ("the sd-bus server does not echo %" G_GSIZE_FORMAT " bytes", payload_sizes[i]);

      variant = g_dbus_connection_call_sync (b->gdbus, GDBUS_NAME, GDBUS_PATH,
                                             GDBUS_INTERFACE, "Echo",
                                             g_variant_new ("(s)", payload),
                                             G_VARIANT_TYPE ("(s)"),
                                             G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
      if (variant != NULL)
        g_variant_get (variant, "(&s)", &gdbus_text);
      if (gdbus_text == NULL || strcmp (gdbus_text, payload) != 0)
        die ("the GDBus server does not echo %" G_GSIZE_FORMAT " bytes", payload_sizes[i]);

      eipc_renderer_invoke_json (b->renderer, "echo", payload, NULL, invoke_done, &wait);
      while (!wait.done)
        g_main_context_iteration (NULL, TRUE);
      if (wait.result == NULL)
        die ("eipc invoke: %s", wait.error->message);
      text = json_to_string (wait.result, FALSE);
      json_node_unref (wait.result);
      if (strcmp (text, payload) != 0)
        die ("eipc invoke does not echo %" G_GSIZE_FORMAT " bytes", payload_sizes[i]);
      g_clear_pointer (&text, g_free);

      node = eipc_renderer_send_sync_json (b->renderer, "echo-sync", payload, &error);
      if (node == NULL)
        die ("eipc sendSync: %s", error->message);
      text = json_to_string (node, FALSE);
      if (strcmp (text, payload) != 0)
        die ("eipc sendSync does not echo %" G_GSIZE_FORMAT " bytes", payload_sizes[i]);
    }
  while (g_main_context_iteration (b->gdbus_context, FALSE))
    ;
}

typedef enum {
  SLOT_RTT,
  SLOT_FLOOD_SDBUS,
  SLOT_FLOOD_EIPC,
  SLOT_PIPE_SDBUS,
  SLOT_PIPE_EIPC,
} SlotKind;

typedef struct {
  const char    *id;
  SlotKind       kind;
  RoundTripFunc  func;
  const char    *payload;
  gint64         ns;
  guint64        count;
  GArray        *latencies;   /* gint64 ns of every call (SLOT_RTT) */
} Slot;

/* The cases of one group take turns, a slice each, until every case has
 * had its share of the round: noise from the rest of the machine then
 * falls on all of them alike. A round's value is the median time of one
 * call (round trips) or the case's total count over its total time
 * (messages and pipelined calls). The cases are those of b->pin. */
static void
run_group (Bench    *b,
           Slot     *slots,
           guint     n_slots,
           double    seconds,
           guint     batch,
           guint     min_count,
           gboolean  record)
{
  guint slices = record ? 10 : 2;
  gint64 slice_ns = (gint64) (seconds * 1e9 / slices);

  for (guint i = 0; i < n_slots; i++)
    {
      slots[i].ns = slots[i].count = 0;
      slots[i].latencies = g_array_new (FALSE, FALSE, sizeof (gint64));
    }

  for (guint s = 0; s < slices; s++)
    for (guint i = 0; i < n_slots; i++)
      {
        Slot *slot = &slots[i];
        guint delivered = 0;
        guint n = MAX (batch / slices, 1);
        double value;
        gint64 ns = 0;
        GPid server = case_server_pid (b, slot->id);
        guint64 ops_before = slot->count + slot->latencies->len;
        guint64 cpu_server = process_cpu_ns (server);
        guint64 cpu_daemon = process_cpu_ns (b->daemon_pid);
        guint64 cpu_client = process_cpu_ns (getpid ());   /* last in, first out */

        switch (slot->kind)
          {
          case SLOT_RTT:
            value = rtt_slice (b, slot->func, slot->payload, slice_ns,
                               MAX (min_count / slices, 1), slot->latencies) / 1000.0;
            break;
          case SLOT_FLOOD_SDBUS:
            ns = flood_sdbus (b, n, &delivered);
            break;
          case SLOT_FLOOD_EIPC:
            ns = flood_eipc (b, n, &delivered);
            break;
          case SLOT_PIPE_SDBUS:
            ns = pipeline_sdbus (b, n);
            delivered = n;
            break;
          case SLOT_PIPE_EIPC:
            ns = pipeline_eipc (b, n);
            delivered = n;
            break;
          default:
            g_assert_not_reached ();
          }
        if (slot->kind != SLOT_RTT)
          {
            slot->ns += ns;
            slot->count += n;
            value = n / (ns / 1e9);
          }
        if (record)
          {
            Case *c = case_find (case_key (slot->id, b->pin));

            g_array_append_val (c->slices, value);
            if (delivered < n && slot->kind != SLOT_RTT)
              c->lost += n - delivered;
            c->cpu_client += process_cpu_ns (getpid ()) - cpu_client;
            c->cpu_daemon += process_cpu_ns (b->daemon_pid) - cpu_daemon;
            c->cpu_server += process_cpu_ns (server) - cpu_server;
            c->cpu_ops += slot->count + slot->latencies->len - ops_before;
          }
      }

  for (guint i = 0; i < n_slots; i++)
    {
      Slot *slot = &slots[i];
      GArray *lat = slot->latencies;
      const char *key = case_key (slot->id, b->pin);

      if (record && slot->kind == SLOT_RTT)
        {
          g_array_sort (lat, compare_gint64);
          case_add (key, g_array_index (lat, gint64, lat->len / 2) / 1000.0);
        }
      else if (record)
        case_add (key, slot->count / (slot->ns / 1e9));
      g_array_unref (lat);
    }
}

/* Pins this process (the client of every point-to-point case) and the
 * server processes for @pin; PIN_NONE frees them all. */
static void
bench_pin (Bench   *b,
           Pinning  pin)
{
  int client_cpu = pin == PIN_NONE ? -1 : usable_cpus[0];
  int server_cpu = pin == PIN_NONE ? -1 : pin == PIN_SAME ? usable_cpus[0] : usable_cpus[1];
  GPid servers[] = { b->sock_pid, b->raw_pid, b->gdbus_pid, b->eipc_pid, b->port_pid };

  pin_process (getpid (), client_cpu);
  for (guint i = 0; i < G_N_ELEMENTS (servers); i++)
    pin_process (servers[i], server_cpu);
  b->pin = pin;
}

static void
run_point_to_point_pinned (Bench    *b,
                           gboolean  record)
{
  Options *opt = b->opt;
  double seconds = record ? opt->seconds : opt->seconds / 5;

  if (want (opt, "rtt"))
    {
      Slot slots[] = {
        { "rtt.socket", SLOT_RTT, rtt_socket, b->small, 0, 0 },
        { "rtt.sdbus", SLOT_RTT, rtt_sdbus, b->small, 0, 0 },
        { "rtt.gdbus", SLOT_RTT, rtt_gdbus, b->small, 0, 0 },
        { "rtt.invoke", SLOT_RTT, rtt_eipc_invoke, b->small, 0, 0 },
        { "rtt.invoke_json", SLOT_RTT, rtt_eipc_invoke_text, b->small, 0, 0 },
        { "rtt.sendsync", SLOT_RTT, rtt_eipc_send_sync, b->small, 0, 0 },
        { "port.rtt", SLOT_RTT, rtt_port, b->small, 0, 0 },
      };

      run_group (b, slots, G_N_ELEMENTS (slots), seconds, 0, 100, record);
    }

  if (want (opt, "flood"))
    {
      Slot slots[] = {
        { "flood.sdbus", SLOT_FLOOD_SDBUS, NULL, b->small, 0, 0 },
        { "flood.eipc", SLOT_FLOOD_EIPC, NULL, b->small, 0, 0 },
      };

      run_group (b, slots, G_N_ELEMENTS (slots), 0,
                 record ? opt->flood : opt->flood / 5, 0, record);
    }

  if (want (opt, "pipe"))
    {
      Slot slots[] = {
        { "pipe.sdbus", SLOT_PIPE_SDBUS, NULL, b->small, 0, 0 },
        { "pipe.eipc", SLOT_PIPE_EIPC, NULL, b->small, 0, 0 },
      };

      run_group (b, slots, G_N_ELEMENTS (slots), 0,
                 record ? opt->pipelined : opt->pipelined / 5, 0, record);
    }

  if (want (opt, "payload"))
    for (guint i = 0; i < G_N_ELEMENTS (payload_sizes); i++)
      {
        g_autofree char *raw_id = g_strdup_printf ("size.%" G_GSIZE_FORMAT ".sdbus", payload_sizes[i]);
        g_autofree char *eipc_id = g_strdup_printf ("size.%" G_GSIZE_FORMAT ".eipc", payload_sizes[i]);
        Slot slots[] = {
          { raw_id, SLOT_RTT, rtt_sdbus, b->payloads[i], 0, 0 },
          { eipc_id, SLOT_RTT, rtt_eipc_invoke, b->payloads[i], 0, 0 },
          { "port.bytes.1048576", SLOT_RTT, rtt_port_bytes, b->payloads[i], 0, 0 },
        };

        /* At least 10 calls per case and round, even of 1 MiB; the
         * message port carries the 1 MiB case only. */
        run_group (b, slots, G_N_ELEMENTS (slots) - (payload_sizes[i] == 1048576 ? 0 : 1),
                   seconds * 0.6, 0, 10, record);
      }
}

/* How many allocations the server of the eipc cases (@raw FALSE) or of
 * the raw sd-bus cases has made so far. */
static guint64
server_allocs (Bench    *b,
               gboolean  raw,
               gboolean  trace)
{
  g_auto(sd_bus_error) bus_error = SD_BUS_ERROR_NULL;
  g_autoptr(sd_bus_message) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  uint64_t count = 0;

  if (raw)
    {
      if (sd_bus_call_method (b->raw, RAW_NAME, RAW_PATH, RAW_INTERFACE, "Allocs",
                              &bus_error, &reply, "") < 0 ||
          sd_bus_message_read (reply, "t", &count) < 0)
        die ("sd-bus Allocs failed");
      return count;
    }
  node = eipc_renderer_send_sync_json (b->renderer, "allocs", trace ? "[\"trace\"]" : "[]",
                                       &error);
  if (node == NULL)
    die ("eipc sendSync allocs: %s", error->message);
  return (guint64) json_node_get_int (node);
}

/* Allocations per call of @func, on this side (@client_id) and in its
 * server (@server_id, NULL: not counted). The server's counter is read
 * twice before the calls, so the cost of reading it is known and taken
 * out. */
static void
measure_allocs (Bench         *b,
                RoundTripFunc  func,
                gboolean       raw_server,
                const char    *client_id,
                const char    *server_id)
{
  guint n = b->opt->alloc_calls;
  guint64 s0, s1, s2, c0, c1;

  for (guint i = 0; i < 20; i++)
    if (!func (b, b->small))
      die ("a round trip failed");
  if (b->opt->alloc_trace)
    {
      /* One call, every allocation of it with its stack, on stderr. */
      g_printerr ("--- %s: one call\n", client_id);
      if (!raw_server)
        server_allocs (b, FALSE, TRUE);
      alloc_trace = TRUE;
      func (b, b->small);
      alloc_trace = FALSE;
      if (!raw_server)
        server_allocs (b, FALSE, FALSE);
      g_printerr ("--- end\n");
    }
  s0 = server_allocs (b, raw_server, FALSE);
  s1 = server_allocs (b, raw_server, FALSE);
  c0 = allocs_now ();
  for (guint i = 0; i < n; i++)
    if (!func (b, b->small))
      die ("a round trip failed");
  c1 = allocs_now ();
  s2 = server_allocs (b, raw_server, FALSE);
  case_add (client_id, (double) (c1 - c0) / n);
  if (server_id != NULL)
    case_add (server_id, ((double) (s2 - s1) - (double) (s1 - s0)) / n);
}

static void
run_allocs (Bench *b)
{
  const char *only = b->opt->alloc_case;   /* for profiles: one case */

  if (only == NULL || strcmp (only, "sdbus") == 0)
    measure_allocs (b, rtt_sdbus, TRUE, "alloc.sdbus.client", "alloc.sdbus.server");
  if (only == NULL || strcmp (only, "invoke_json") == 0)
    measure_allocs (b, rtt_eipc_invoke_text, FALSE, "alloc.invoke_json.renderer", "alloc.invoke.main");
  if (only == NULL || strcmp (only, "invoke") == 0)
    measure_allocs (b, rtt_eipc_invoke, FALSE, "alloc.invoke.renderer", NULL);
  if (only == NULL || strcmp (only, "sendsync") == 0)
    measure_allocs (b, rtt_eipc_send_sync, FALSE, "alloc.sendsync.renderer", "alloc.sendsync.main");
}

static void
run_point_to_point_round (Bench    *b,
                          gboolean  record)
{
  for (Pinning pin = PIN_SAME; pin <= PIN_CROSS; pin++)
    {
      if (usable_cpus[pin == PIN_SAME ? 0 : 1] < 0)
        continue;
      bench_pin (b, pin);
      run_point_to_point_pinned (b, record);
    }
  bench_pin (b, PIN_NONE);
  if (record && want (b->opt, "alloc"))
    run_allocs (b);
}

static void
run_fanout (Bench *b)
{
  Options *opt = b->opt;
  g_autofree char *daemon = g_strdup_printf ("%d", (int) b->daemon_pid);
  g_autofree char *rounds = g_strdup_printf ("%u", opt->rounds);
  g_autofree char *bcast = g_strdup_printf ("%u", opt->bcast);
  g_autofree char *storm = g_strdup_printf ("%u", opt->storm);
  g_autofree char *renderers = g_strdup_printf ("%u", opt->renderers);
  const char *args[] = { b->address, daemon, rounds, bcast, storm, renderers, NULL };
  Child *child = child_spawn ("fanout-main", args, -1, FALSE);
  long rss0 = -1;

  for (;;)
    {
      g_autofree char *line = child_read_line (child);
      g_auto(GStrv) w = g_strsplit (line, " ", -1);
      guint n = g_strv_length (w);

      if (strcmp (w[0], "DONE") == 0)
        break;
      if (strcmp (w[0], "MEM") == 0 && n == 4)
        {
          guint k = (guint) atoi (w[1]);
          long rss = atol (w[2]), hwm = atol (w[3]);

          if (k == 0)
            {
              rss0 = rss;
              case_add ("mem.rss0", rss);
            }
          else
            {
              case_add ("mem.hwm", hwm);
              case_add ("mem.per", (double) (rss - rss0) / k);
              g_string_printf (case_find ("mem.hwm")->note, "VmRSS %ld KiB", rss);
            }
        }
      else if ((strcmp (w[0], "BCAST") == 0 || strcmp (w[0], "RAWBCAST") == 0) && n == 8)
        {
          gboolean raw = w[0][0] == 'R';
          g_autofree char *id = g_strdup_printf ("%s.%s", raw ? "fanraw" : "fan", w[1]);
          guint k = (guint) atoi (w[1]);
          double seconds = g_ascii_strtod (w[3], NULL) / 1e9;
          Case *c = case_find (id);

          /* One value per round; the eipc and the raw round of a level
           * take turns, so the rounds pair up like slices. */
          case_add_paired (id, opt->bcast / seconds);
          c->lost += (guint) atoi (w[4]);
          c->cpu_client += g_ascii_strtod (w[5], NULL);
          c->cpu_daemon += g_ascii_strtod (w[6], NULL);
          c->cpu_server += g_ascii_strtod (w[7], NULL);
          c->cpu_ops += opt->bcast;
          g_string_printf (c->note, "%.0f deliveries/s", case_median (id) * k);
        }
      else if ((strcmp (w[0], "STORM") == 0 || strcmp (w[0], "RAWSTORM") == 0) && n == 11)
        {
          const char *prefix = w[0][0] == 'R' ? "stormraw" : "storm";
          double seconds = g_ascii_strtod (w[3], NULL) / 1e9;
          g_autofree char *rate = g_strconcat (prefix, ".rate", NULL);
          g_autofree char *p50 = g_strconcat (prefix, ".p50", NULL);
          g_autofree char *p99 = g_strconcat (prefix, ".p99", NULL);
          Case *c = case_find (rate);

          case_add_paired (rate, g_ascii_strtod (w[4], NULL) / seconds);
          case_add_paired (p50, g_ascii_strtod (w[5], NULL) / 1000);
          case_add_paired (p99, g_ascii_strtod (w[6], NULL) / 1000);
          c->lost += (guint) atoi (w[7]);
          c->cpu_client += g_ascii_strtod (w[8], NULL);
          c->cpu_daemon += g_ascii_strtod (w[9], NULL);
          c->cpu_server += g_ascii_strtod (w[10], NULL);
          c->cpu_ops += (guint64) atoll (w[4]);
        }
      else
        g_printerr ("fan-out: %s\n", line);
    }
  child_stop (child);
}

/* ---------------------------------------------------------------------- */
/* Attach: how long one more attach takes and how many bytes it moves
 * over the bus, with N-1 renderers attached already. A monitor
 * connection (BecomeMonitor) counts the bytes of every message the bus
 * routes; a Peer.Ping to the main process from the raw connection marks
 * the end of an attach's traffic (the main process answers it after the
 * signals it emitted for the attach). */

#define ATTACH_APP_ID "org.eipc.BenchAttach"

typedef struct {
  char   *marker;       /* the raw connection's unique name */
  guint64 bytes;        /* atomic */
  guint   markers;      /* atomic: ping replies seen */
} Monitor;

static GDBusMessage *
monitor_filter (GDBusConnection *connection,
                GDBusMessage    *message,
                gboolean         incoming,
                gpointer         user_data)
{
  Monitor *mon = user_data;
  const char *sender = g_dbus_message_get_sender (message);
  const char *destination = g_dbus_message_get_destination (message);
  gsize size = 0;
  guchar *blob;

  /* Its own traffic (BecomeMonitor's reply) is not counted. */
  if (!incoming ||
      g_strcmp0 (destination, g_dbus_connection_get_unique_name (connection)) == 0)
    return message;
  if (g_strcmp0 (destination, mon->marker) == 0 &&
      g_dbus_message_get_message_type (message) == G_DBUS_MESSAGE_TYPE_METHOD_RETURN)
    __atomic_fetch_add (&mon->markers, 1, __ATOMIC_SEQ_CST);
  else if (g_strcmp0 (sender, mon->marker) != 0)
    {
      blob = g_dbus_message_to_blob (message, &size,
                                     G_DBUS_CAPABILITY_FLAGS_UNIX_FD_PASSING, NULL);
      g_free (blob);
      __atomic_fetch_add (&mon->bytes, (guint64) size, __ATOMIC_SEQ_CST);
    }
  g_object_unref (message);
  return NULL;
}

/* Waits until the monitor has seen everything the attach main process
 * sent before it answered a ping. */
static void
monitor_settle (Bench   *b,
                Monitor *mon)
{
  g_auto(sd_bus_error) error = SD_BUS_ERROR_NULL;
  g_autoptr(sd_bus_message) reply = NULL;
  guint before = __atomic_load_n (&mon->markers, __ATOMIC_SEQ_CST);
  gint64 deadline = g_get_monotonic_time () + WAIT_LIMIT_S * G_USEC_PER_SEC;

  if (sd_bus_call_method (b->raw, ATTACH_APP_ID, "/", "org.freedesktop.DBus.Peer",
                          "Ping", &error, &reply, "") < 0)
    die ("Ping of the attach main process: %s", error.message);
  while (__atomic_load_n (&mon->markers, __ATOMIC_SEQ_CST) == before)
    {
      if (g_get_monotonic_time () > deadline)
        die ("the bus monitor saw no ping reply");
      g_usleep (200);
    }
}

/* Waits until the bus has released @name: a main process that exited is
 * gone from the bus only once the bus has read its hang-up. */
static void
wait_name_released (Bench      *b,
                    const char *name)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_LIMIT_S * G_USEC_PER_SEC;

  for (;;)
    {
      g_auto(sd_bus_error) error = SD_BUS_ERROR_NULL;
      g_autoptr(sd_bus_message) reply = NULL;
      int has_owner = 0;

      if (sd_bus_call_method (b->raw, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                              "org.freedesktop.DBus", "NameHasOwner", &error, &reply,
                              "s", name) < 0 ||
          sd_bus_message_read (reply, "b", &has_owner) < 0)
        die ("NameHasOwner: %s", error.message != NULL ? error.message : "bad reply");
      if (!has_owner)
        return;
      if (g_get_monotonic_time () > deadline)
        die ("%s is still owned", name);
      g_usleep (10000);
    }
}

static void
run_attach (Bench *b)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) monitor = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GPtrArray) renderers = g_ptr_array_new_with_free_func (g_object_unref);
  const char *args[] = { b->address, NULL };
  Child *child;
  Monitor mon = { 0 };
  guint max = b->opt->attach;
  const char *unique = NULL;
  const char *no_rules[] = { NULL };

  /* The main process of the round before may still own the name. */
  wait_name_released (b, ATTACH_APP_ID);
  child = child_spawn ("attach-main", args, -1, FALSE);
  child_expect_ready (child);
  sd_bus_get_unique_name (b->raw, &unique);
  mon.marker = g_strdup (unique);
  monitor = gdbus_open (b->address);
  g_dbus_connection_add_filter (monitor, monitor_filter, &mon, NULL);
  reply = g_dbus_connection_call_sync (monitor, "org.freedesktop.DBus",
                                       "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus.Monitoring",
                                       "BecomeMonitor",
                                       g_variant_new ("(^asu)", no_rules, 0),
                                       NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                       &error);
  if (reply == NULL)
    die ("BecomeMonitor: %s", error->message);

  for (guint i = 1; i <= max; i++)
    {
      EipcRenderer *renderer;
      gboolean level = FALSE;
      guint64 bytes0 = 0;
      gint64 t0 = 0, elapsed;

      for (guint l = 0; l < G_N_ELEMENTS (attach_levels); l++)
        level |= attach_levels[l] == i;
      if (level)
        {
          monitor_settle (b, &mon);
          bytes0 = __atomic_load_n (&mon.bytes, __ATOMIC_SEQ_CST);
          t0 = now_ns ();
        }
      renderer = eipc_renderer_new_for_address (ATTACH_APP_ID, b->address, &error);
      if (renderer == NULL)
        die ("renderer %u cannot attach: %s", i, error->message);
      g_ptr_array_add (renderers, renderer);
      if (level)
        {
          g_autofree char *time_id = g_strdup_printf ("attach.time.%u", i);
          g_autofree char *bytes_id = g_strdup_printf ("attach.bytes.%u", i);

          elapsed = now_ns () - t0;
          monitor_settle (b, &mon);
          case_add (time_id, elapsed / 1000.0);
          case_add (bytes_id, (double) (__atomic_load_n (&mon.bytes, __ATOMIC_SEQ_CST) - bytes0));
        }
    }

  g_ptr_array_set_size (renderers, 0);
  g_dbus_connection_close_sync (monitor, NULL, NULL);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  child_stop (child);
  g_free (mon.marker);
}

/* ---------------------------------------------------------------------- */
/* The report */

static void
format_value (char       *buf,
              gsize       size,
              double      value,
              const char *unit)
{
  if (strcmp (unit, "us") == 0 || strcmp (unit, "KiB") == 0 ||
      strcmp (unit, "allocs") == 0)
    g_snprintf (buf, size, value < 100 ? "%.1f" : "%.0f", value);
  else
    g_snprintf (buf, size, "%.0f", value);
}

/* "eipc invoke [same CPU]" */
static char *
case_title (Case *c)
{
  if (c->pin == PIN_NONE)
    return g_strdup (c->label);
  return g_strdup_printf ("%s [%s]", c->label, pin_labels[c->pin]);
}

static void
case_vs_raw (Case  *c,
             char  *buf,
             gsize  size)
{
  Case *ref;

  buf[0] = '\0';
  if (c->ref == NULL || (ref = case_lookup (c->ref)) == NULL || ref->samples->len == 0)
    return;
  if (c->diff)
    g_snprintf (buf, size, "%+.1f", case_median (c->key) - case_median (ref->key));
  else
    g_snprintf (buf, size, "%.2fx", case_ratio (c, c->ref));
}

static void
print_table (void)
{
  const char *group = NULL;

  fprintf (report, "\n%-58s %10s %-7s %19s %9s\n", "case", "median", "unit",
           "min - max", "vs raw");
  for (guint i = 0; i < cases->len; i++)
    {
      Case *c = g_ptr_array_index (cases, i);
      g_autofree char *title = case_title (c);
      double median, min, max;
      char m[32], lo[32], hi[32], range[64], ratio[32];

      if (!case_stats (c, &median, &min, &max))
        continue;
      if (g_strcmp0 (group, c->group) != 0)
        {
          group = c->group;
          fprintf (report, "%s\n", group);
        }
      format_value (m, sizeof m, median, c->unit);
      format_value (lo, sizeof lo, min, c->unit);
      format_value (hi, sizeof hi, max, c->unit);
      g_snprintf (range, sizeof range, "%s - %s", lo, hi);
      case_vs_raw (c, ratio, sizeof ratio);
      fprintf (report, "  %-56s %10s %-7s %19s %9s", title, m, c->unit, range, ratio);
      if (c->lost > 0)
        fprintf (report, "  LOST %u", c->lost);
      if (c->note->len > 0)
        fprintf (report, "  (%s)", c->note->str);
      fputc ('\n', report);
    }
}

static double
case_cpu_total (Case *c)
{
  if (c == NULL || c->cpu_ops == 0)
    return 0;
  return (c->cpu_client + c->cpu_daemon + c->cpu_server) / c->cpu_ops / 1000;
}

static void
print_cpu (void)
{
  fprintf (report,
           "\nCPU time per call or message, us (all rounds; the scheduler's account of each\n"
           "process, so other load on the machine does not count). client: the caller or\n"
           "sender (fan-in: all 100 callers); server: the handler or receiver (fan-out: all\n"
           "receivers together); vs raw: total over the raw sd-bus case's total.\n");
  fprintf (report, "%-58s %8s %12s %8s %8s %7s\n", "case", "client", "bus daemon",
           "server", "total", "vs raw");
  for (guint i = 0; i < cases->len; i++)
    {
      Case *c = g_ptr_array_index (cases, i);
      g_autofree char *title = case_title (c);
      double n = c->cpu_ops;
      double ref_total = c->ref != NULL ? case_cpu_total (case_lookup (c->ref)) : 0;
      char ratio[32] = "";

      if (c->cpu_ops == 0)
        continue;
      if (ref_total > 0)
        g_snprintf (ratio, sizeof ratio, "%.2fx", case_cpu_total (c) / ref_total);
      fprintf (report, "  %-56s %8.1f %12.1f %8.1f %8.1f %7s\n", title,
               c->cpu_client / n / 1000, c->cpu_daemon / n / 1000,
               c->cpu_server / n / 1000, case_cpu_total (c), ratio);
    }
}

typedef enum {
  TARGET_RATIO,     /* paired ratio of a to b, as "vs raw" */
  TARGET_CPU,       /* CPU per call summed over the processes, a over b */
  TARGET_DIFF,      /* median of a minus median of b */
  TARGET_MEDIANS,   /* median of a over median of b */
} TargetKind;

typedef struct {
  const char *text;
  TargetKind  kind;
  gboolean    pinned;      /* evaluated under each pinning */
  const char *a;
  const char *b;
  double      limit;
  gboolean    at_most;
  const char *lossless;    /* a case that must have lost nothing */
} Target;

/* The targets of issue 11, every one. */
static const Target targets[] = {
  { "invoke 64 B round trip <= 1.10x raw sd-bus", TARGET_RATIO, TRUE, "rtt.invoke", "rtt.sdbus", 1.10, TRUE, NULL },
  { "sendSync 64 B round trip <= 1.10x raw sd-bus", TARGET_RATIO, TRUE, "rtt.sendsync", "rtt.sdbus", 1.10, TRUE, NULL },
  { "invoke CPU per call, 3 processes summed, <= 1.10x raw", TARGET_CPU, TRUE, "rtt.invoke", "rtt.sdbus", 1.10, TRUE, NULL },
  { "sendSync CPU per call, 3 processes summed, <= 1.10x raw", TARGET_CPU, TRUE, "rtt.sendsync", "rtt.sdbus", 1.10, TRUE, NULL },
  { "send >= 0.95x raw sd-bus signals, all delivered", TARGET_RATIO, TRUE, "flood.eipc", "flood.sdbus", 0.95, FALSE, "flood.eipc" },
  { "pipelined invoke >= 0.95x raw sd-bus async calls", TARGET_RATIO, TRUE, "pipe.eipc", "pipe.sdbus", 0.95, FALSE, NULL },
  { "invoke 64 KiB <= 1.15x raw sd-bus", TARGET_RATIO, TRUE, "size.65536.eipc", "size.65536.sdbus", 1.15, TRUE, NULL },
  { "invoke 1 MiB <= 1.15x raw sd-bus", TARGET_RATIO, TRUE, "size.1048576.eipc", "size.1048576.sdbus", 1.15, TRUE, NULL },
  { "broadcast to 100 renderers >= 0.95x raw, all delivered", TARGET_RATIO, FALSE, "fan.100", "fanraw.100", 0.95, FALSE, "fan.100" },
  { "fan-in of 100 clients >= 0.90x raw calls handled", TARGET_RATIO, FALSE, "storm.rate", "stormraw.rate", 0.90, FALSE, "storm.rate" },
  /* The raw client gets the result as text: so does finish_json. */
  { "renderer heap allocations per invoke (finish_json) <= raw + 4", TARGET_DIFF, FALSE, "alloc.invoke_json.renderer", "alloc.sdbus.client", 4, TRUE, NULL },
  { "main heap allocations per invoke <= raw + 3", TARGET_DIFF, FALSE, "alloc.invoke.main", "alloc.sdbus.server", 3, TRUE, NULL },
  /* Unique names grow by a digit or two between the 5th and the 500th
   * renderer: 2% is that, not the whole WebContents list. */
  { "attach #500 costs the bus no more bytes than attach #5 (2% for names)", TARGET_MEDIANS, FALSE, "attach.bytes.500", "attach.bytes.5", 1.02, TRUE, NULL },
  /* Issue 12: message ports, off the bus. */
  { "message port 64 B round trip <= 2x unix socketpair", TARGET_RATIO, TRUE, "port.rtt", "rtt.socket", 2.0, TRUE, NULL },
  { "message port 1 MiB binary >= 10x faster than 1 MiB invoke", TARGET_RATIO, TRUE, "size.1048576.eipc", "port.bytes.1048576", 10.0, FALSE, NULL },
};

static guint
print_targets (JsonBuilder *jb)
{
  guint missed = 0;

  fprintf (report, "\nTargets (issue 11; same bus, same run; ratios as in \"vs raw\")\n");
  json_builder_set_member_name (jb, "targets");
  json_builder_begin_array (jb);
  for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
    for (Pinning pin = PIN_NONE; pin <= PIN_CROSS; pin++)
      {
        const Target *t = &targets[i];
        const char *a, *bk;
        g_autofree char *text = NULL;
        char shown[64];
        double value = 0;
        gboolean pass, measured;

        if ((pin == PIN_NONE) == t->pinned)
          continue;
        a = case_key (t->a, pin);
        bk = case_key (t->b, pin);
        text = pin == PIN_NONE ? g_strdup (t->text)
                               : g_strdup_printf ("%s [%s]", t->text, pin_labels[pin]);
        measured = case_lookup (a) != NULL && case_lookup (bk) != NULL &&
                   case_find (a)->samples->len > 0 && case_find (bk)->samples->len > 0;
        if (measured)
          switch (t->kind)
            {
            case TARGET_RATIO:
              value = case_ratio (case_find (a), bk);
              break;
            case TARGET_CPU:
              measured = case_cpu_total (case_find (bk)) > 0;
              if (measured)
                value = case_cpu_total (case_find (a)) / case_cpu_total (case_find (bk));
              break;
            case TARGET_DIFF:
              /* Whole allocations: a fraction is a buffer that grows now
               * and then, on either side. */
              value = (double) (gint64) (case_median (a) + 0.5) - (double) (gint64) (case_median (bk) + 0.5);
              break;
            case TARGET_MEDIANS:
              measured = case_median (bk) > 0;
              if (measured)
                value = case_median (a) / case_median (bk);
              break;
            default:
              g_assert_not_reached ();
            }
        if (!measured)
          {
            fprintf (report, "  SKIP  %-72s not measured\n", text);
            continue;
          }
        pass = t->at_most ? value <= t->limit : value >= t->limit;
        if (t->lossless != NULL && case_find (case_key (t->lossless, pin))->lost > 0)
          pass = FALSE;
        if (!pass)
          missed++;
        if (t->kind == TARGET_DIFF)
          g_snprintf (shown, sizeof shown, "%+.1f", value);
        else
          g_snprintf (shown, sizeof shown, "%.2fx", value);
        fprintf (report, "  %s  %-72s %s\n", pass ? "PASS" : "FAIL", text, shown);

        json_builder_begin_object (jb);
        json_builder_set_member_name (jb, "target");
        json_builder_add_string_value (jb, t->text);
        json_builder_set_member_name (jb, "pinning");
        json_builder_add_string_value (jb, pin_names[pin]);
        json_builder_set_member_name (jb, "value");
        json_builder_add_double_value (jb, value);
        json_builder_set_member_name (jb, "limit");
        json_builder_add_double_value (jb, t->limit);
        json_builder_set_member_name (jb, "at_most");
        json_builder_add_boolean_value (jb, t->at_most);
        json_builder_set_member_name (jb, "pass");
        json_builder_add_boolean_value (jb, pass);
        json_builder_end_object (jb);
      }
  json_builder_end_array (jb);
  return missed;
}

static void
add_cases_json (JsonBuilder *jb)
{
  json_builder_set_member_name (jb, "cases");
  json_builder_begin_array (jb);
  for (guint i = 0; i < cases->len; i++)
    {
      Case *c = g_ptr_array_index (cases, i);
      Case *ref = c->ref != NULL ? case_lookup (c->ref) : NULL;
      double median, min, max;

      if (!case_stats (c, &median, &min, &max))
        continue;
      json_builder_begin_object (jb);
      json_builder_set_member_name (jb, "id");
      json_builder_add_string_value (jb, c->id);
      json_builder_set_member_name (jb, "pinning");
      json_builder_add_string_value (jb, pin_names[c->pin]);
      json_builder_set_member_name (jb, "group");
      json_builder_add_string_value (jb, c->group);
      json_builder_set_member_name (jb, "name");
      json_builder_add_string_value (jb, c->label);
      json_builder_set_member_name (jb, "unit");
      json_builder_add_string_value (jb, c->unit);
      json_builder_set_member_name (jb, "median");
      json_builder_add_double_value (jb, median);
      json_builder_set_member_name (jb, "min");
      json_builder_add_double_value (jb, min);
      json_builder_set_member_name (jb, "max");
      json_builder_add_double_value (jb, max);
      if (ref != NULL && ref->samples->len > 0 && ref != c)
        {
          json_builder_set_member_name (jb, c->diff ? "minus_raw_sdbus" : "vs_raw_sdbus");
          json_builder_add_double_value (jb, c->diff ? median - case_median (ref->key)
                                                     : case_ratio (c, c->ref));
        }
      json_builder_set_member_name (jb, "lost");
      json_builder_add_int_value (jb, c->lost);
      if (c->cpu_ops > 0)
        {
          json_builder_set_member_name (jb, "cpu_us_client");
          json_builder_add_double_value (jb, c->cpu_client / c->cpu_ops / 1000);
          json_builder_set_member_name (jb, "cpu_us_daemon");
          json_builder_add_double_value (jb, c->cpu_daemon / c->cpu_ops / 1000);
          json_builder_set_member_name (jb, "cpu_us_server");
          json_builder_add_double_value (jb, c->cpu_server / c->cpu_ops / 1000);
          json_builder_set_member_name (jb, "cpu_us_total");
          json_builder_add_double_value (jb, case_cpu_total (c));
          if (ref != NULL && ref != c && case_cpu_total (ref) > 0)
            {
              json_builder_set_member_name (jb, "cpu_vs_raw_sdbus");
              json_builder_add_double_value (jb, case_cpu_total (c) / case_cpu_total (ref));
            }
        }
      json_builder_set_member_name (jb, "samples");
      json_builder_begin_array (jb);
      for (guint j = 0; j < c->samples->len; j++)
        json_builder_add_double_value (jb, g_array_index (c->samples, double, j));
      json_builder_end_array (jb);
      json_builder_end_object (jb);
    }
  json_builder_end_array (jb);
}

static char *
cpu_model (void)
{
  g_autofree char *info = NULL;
  char *p, *end;

  if (!g_file_get_contents ("/proc/cpuinfo", &info, NULL, NULL) ||
      (p = strstr (info, "model name")) == NULL ||
      (p = strchr (p, ':')) == NULL)
    return g_strdup ("unknown CPU");
  p++;
  end = strchr (p, '\n');
  if (end != NULL)
    *end = '\0';
  return g_strstrip (g_strdup (p));
}

static int
run_coordinator (Options *opt)
{
  g_autoptr(JsonBuilder) jb = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *json = NULL;
  g_autofree char *cpu = cpu_model ();
  g_autofree char *pinning = NULL;
  struct utsname uts;
  BusInfo bus = { 0 };
  Bench b = { 0 };
  Child *sock_child, *raw_child, *gdbus_child, *eipc_child, *port_child;
  const char *addr_args[2] = { NULL, NULL };
  int pair[2];
  guint missed;
  gint64 t_start = now_ns ();

  uname (&uts);
  pin_init ();
  cases = g_ptr_array_new_with_free_func (case_free);
  register_cases ();

  bus_start (opt, &bus);
  b.daemon_pid = bus.pid;
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", bus.address, TRUE);
  addr_args[0] = bus.address;
  b.opt = opt;
  b.address = bus.address;
  b.small = make_payload (SMALL);
  for (guint i = 0; i < G_N_ELEMENTS (payload_sizes); i++)
    b.payloads[i] = make_payload (payload_sizes[i]);
  if (usable_cpus[1] >= 0)
    pinning = g_strdup_printf ("point-to-point cases pinned to CPU %d (same CPU) and to CPUs %d + %d (2 CPUs)",
                               usable_cpus[0], usable_cpus[0], usable_cpus[1]);
  else
    pinning = g_strdup_printf ("point-to-point cases pinned to CPU %d only (one CPU usable)",
                               usable_cpus[0]);

  g_printerr ("eipc-bench: %u rounds on a %s (%s), %s, %u CPUs, Linux %s\n",
              opt->rounds, bus.kind, bus.address, cpu, g_get_num_processors (), uts.release);

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
    die ("socketpair: %s", g_strerror (errno));
  sock_child = child_spawn ("sock-echo", NULL, pair[1], TRUE);
  b.sock_pid = sock_child->pid;
  close (pair[1]);
  b.sock = pair[0];
  /* The port gets a main context of its own: in the default one, its
   * source would be prepared and checked in every iteration of the eipc
   * cases too, which the raw sd-bus client (no main loop) does not pay. */
  b.port_context = g_main_context_new ();
  g_main_context_push_thread_default (b.port_context);
  {
    g_autoptr(EipcMessageChannel) channel = eipc_message_channel_new ();
    g_autoptr(GError) port_error = NULL;
    int port_fd = eipc_message_port_steal_fd (eipc_message_channel_get_port2 (channel),
                                              NULL, &port_error);

    if (port_fd < 0)
      die ("message port: %s", port_error->message);
    port_child = child_spawn ("port-echo", NULL, port_fd, TRUE);
    close (port_fd);
    b.port_pid = port_child->pid;
    b.port = g_object_ref (eipc_message_channel_get_port1 (channel));
    b.port_mib = g_bytes_new_take (make_payload (1048576), 1048576);
    g_signal_connect (b.port, "message", G_CALLBACK (port_on_reply), &b);
    eipc_message_port_start (b.port);
  }
  g_main_context_pop_thread_default (b.port_context);
  raw_child = child_spawn ("sdbus-server", addr_args, -1, FALSE);
  gdbus_child = child_spawn ("gdbus-server", addr_args, -1, FALSE);
  eipc_child = child_spawn ("eipc-main", addr_args, -1, FALSE);
  b.raw_pid = raw_child->pid;
  b.gdbus_pid = gdbus_child->pid;
  b.eipc_pid = eipc_child->pid;
  child_expect_ready (raw_child);
  child_expect_ready (gdbus_child);
  child_expect_ready (eipc_child);
  bench_connect (&b);
  if (!opt->no_verify)
    bench_verify (&b);

  /* A warm-up round, then the measured ones, every case in each. */
  run_point_to_point_round (&b, FALSE);
  for (guint round = 0; round < opt->rounds; round++)
    {
      g_printerr ("  round %u/%u\n", round + 1, opt->rounds);
      run_point_to_point_round (&b, TRUE);
    }

  if (want (opt, "fanout"))
    {
      g_printerr ("  fan-out: 1, 10, %u renderers\n", opt->renderers);
      run_fanout (&b);
    }

  if (want (opt, "attach"))
    for (guint round = 0; round < opt->rounds; round++)
      {
        g_printerr ("  attach: %u renderers, round %u/%u\n", opt->attach, round + 1,
                    opt->rounds);
        run_attach (&b);
      }

  g_clear_object (&b.renderer);
  g_clear_object (&b.gdbus);
  while (g_main_context_iteration (b.gdbus_context, FALSE))
    ;
  g_main_context_unref (b.gdbus_context);
  b.raw = sd_bus_flush_close_unref (b.raw);
  close (b.sock);
  eipc_message_port_close (b.port);
  g_clear_object (&b.port);
  g_clear_pointer (&b.port_mib, g_bytes_unref);
  while (g_main_context_iteration (b.port_context, FALSE))
    ;
  g_clear_pointer (&b.port_context, g_main_context_unref);
  child_stop (port_child);
  child_stop (sock_child);
  child_stop (raw_child);
  child_stop (gdbus_child);
  child_stop (eipc_child);

  fprintf (report, "eipc-bench: %u rounds, %s, %s, %u CPUs, Linux %s, %.0f s\n",
           opt->rounds, bus.kind, cpu, g_get_num_processors (), uts.release,
           (now_ns () - t_start) / 1e9);
  fprintf (report, "%s; the bus daemon and the fan-out processes are not pinned.\n", pinning);
  fprintf (report,
           "median and min - max: over rounds (round trips: the median call of a round).\n"
           "vs raw: the median, over all slices, of the case's value divided by raw sd-bus's\n"
           "value in the slice just before or after it (the cases of a group take turns in\n"
           "short slices): for us lower is better, for msg/s and calls/s higher is better;\n"
           "for allocs it is the difference.\n");
  print_table ();
  print_cpu ();

  json_builder_begin_object (jb);
  json_builder_set_member_name (jb, "rounds");
  json_builder_add_int_value (jb, opt->rounds);
  json_builder_set_member_name (jb, "bus");
  json_builder_add_string_value (jb, bus.kind);
  json_builder_set_member_name (jb, "cpu");
  json_builder_add_string_value (jb, cpu);
  json_builder_set_member_name (jb, "cpus");
  json_builder_add_int_value (jb, g_get_num_processors ());
  json_builder_set_member_name (jb, "pinned_cpus");
  json_builder_begin_array (jb);
  for (guint i = 0; i < G_N_ELEMENTS (usable_cpus); i++)
    if (usable_cpus[i] >= 0)
      json_builder_add_int_value (jb, usable_cpus[i]);
  json_builder_end_array (jb);
  json_builder_set_member_name (jb, "kernel");
  json_builder_add_string_value (jb, uts.release);
  json_builder_set_member_name (jb, "quick");
  json_builder_add_boolean_value (jb, opt->quick);
  add_cases_json (jb);
  missed = print_targets (jb);
  json_builder_end_object (jb);

  if (opt->json)
    {
      root = json_builder_get_root (jb);
      json_generator_set_root (gen, root);
      json_generator_set_pretty (gen, TRUE);
      json = json_generator_to_data (gen, NULL);
      if (opt->json_path != NULL && strcmp (opt->json_path, "-") != 0)
        {
          g_autoptr(GError) error = NULL;

          if (!g_file_set_contents (opt->json_path, json, -1, &error))
            die ("%s", error->message);
          fprintf (report, "\nJSON written to %s\n", opt->json_path);
        }
      else
        printf ("%s\n", json);
    }

  bus_stop (&bus);
  g_free (b.small);
  for (guint i = 0; i < G_N_ELEMENTS (payload_sizes); i++)
    g_free (b.payloads[i]);
  g_ptr_array_unref (cases);
  return missed > 0 ? 2 : 0;
}

/* ---------------------------------------------------------------------- */

static guint
parse_uint (const char *text)
{
  guint64 value;

  if (text == NULL ||
      !g_ascii_string_to_unsigned (text, 10, 1, G_MAXUINT, &value, NULL))
    die ("'%s' is not a positive number", text != NULL ? text : "(missing)");
  return (guint) value;
}

static int
role_attach_main (const char *address)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(EipcMain) main_process = NULL;

  main_process = eipc_main_new_for_address (ATTACH_APP_ID, address, &error);
  if (main_process == NULL)
    die ("the attach main process cannot start: %s", error->message);
  g_unix_signal_add (SIGTERM, on_quit_signal, loop);
  say ("READY");
  g_main_loop_run (loop);
  return 0;
}

static int
run_role (const char  *role,
          int          argc,
          char       **argv)
{
  const char *address = argc > 0 ? argv[0] : NULL;
  char comm[16];

  /* The role as the process's name (15 bytes), so that a profiler
   * (perf report --sort comm), top or strace -p $(pgrep -x ROLE) tells
   * the roles apart. */
  g_strlcpy (comm, role, sizeof comm);
  prctl (PR_SET_NAME, comm);
  if (strcmp (role, "sock-echo") == 0)
    return role_sock_echo ();
  if (strcmp (role, "port-echo") == 0)
    return role_port_echo ();
  if (address == NULL)
    die ("--role=%s needs a bus address", role);
  if (strcmp (role, "sdbus-server") == 0)
    return role_sdbus_server (address);
  if (strcmp (role, "gdbus-server") == 0)
    return role_gdbus_server (address);
  if (strcmp (role, "eipc-main") == 0)
    return role_eipc_main (address);
  if (strcmp (role, "attach-main") == 0)
    return role_attach_main (address);
  if (strcmp (role, "fanout-renderer") == 0)
    return role_fanout_renderer (address);
  if (strcmp (role, "raw-receiver") == 0)
    return role_raw_receiver (address);
  if (strcmp (role, "fanout-main") == 0 && argc == 6)
    return role_fanout_main (address, (GPid) atoi (argv[1]), parse_uint (argv[2]),
                             parse_uint (argv[3]), parse_uint (argv[4]),
                             parse_uint (argv[5]));
  die ("unknown role %s", role);
}

static gboolean
on_json_option (const char  *name,
                const char  *value,
                gpointer     data,
                GError     **error)
{
  Options *opt = data;

  opt->json = TRUE;
  g_free (opt->json_path);
  opt->json_path = g_strdup (value);
  return TRUE;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GOptionGroup) group = NULL;
  g_autoptr(GError) error = NULL;
  Options opt = { 0 };
  int rounds = 0, renderers = 0, attach = 0, alloc_calls = 0;
  GOptionEntry entries[] = {
    { "quick", 'q', 0, G_OPTION_ARG_NONE, &opt.quick, "A short run (2 rounds, fewer messages)", NULL },
    { "rounds", 'r', 0, G_OPTION_ARG_INT, &rounds, "Rounds of every case (default 5)", "N" },
    { "renderers", 0, 0, G_OPTION_ARG_INT, &renderers, "Renderers of the largest fan-out (default 100)", "N" },
    { "attach", 0, 0, G_OPTION_ARG_INT, &attach, "Renderers of the attach case (default 500)", "N" },
    { "json", 'j', G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK, on_json_option,
      "Also write the results as JSON: to FILE, or to stdout with --json or --json=- "
      "(the table then goes to stderr)", "FILE" },
    { "address", 'a', 0, G_OPTION_ARG_STRING, &opt.address,
      "Run on the existing bus at ADDR instead of a private dbus-daemon", "ADDR" },
    { "bus", 0, 0, G_OPTION_ARG_STRING, &opt.bus,
      "The private bus: dbus-daemon (default) or dbus-broker", "BUS" },
    { "only", 0, 0, G_OPTION_ARG_STRING, &opt.only, "Only these groups: rtt,flood,pipe,payload,alloc,fanout,attach", "LIST" },
    { "no-verify", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &opt.no_verify, "Skip the echo check (for profiles)", NULL },
    { "alloc-case", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt.alloc_case,
      "Only this allocation case: sdbus, invoke_json, invoke, sendsync (for profiles)", "CASE" },
    { "alloc-calls", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &alloc_calls,
      "Calls per allocation count (default 1000, 200 with --quick)", "N" },
    { "alloc-trace", 0, 0, G_OPTION_ARG_NONE, &opt.alloc_trace,
      "With the alloc group: print the stack of every allocation of one call of each client case to stderr", NULL },
    { NULL }
  };

  self_exe = g_file_read_link ("/proc/self/exe", NULL);
  if (self_exe == NULL)
    self_exe = g_strdup (argv[0]);

  if (argc >= 2 && g_str_has_prefix (argv[1], "--role="))
    return run_role (argv[1] + strlen ("--role="), argc - 2, argv + 2);

  context = g_option_context_new ("- eipc against raw sd-bus, GDBus and a unix socket");
  g_option_context_set_description (context,
    "Starts a private dbus-daemon (or dbus-broker with --bus=dbus-broker, or\n"
    "uses --address) and its peer processes,\n"
    "runs every case round after round, and prints the table, the CPU time per\n"
    "call and the targets of issue 11 (PASS/FAIL with the measured value).\n"
    "Exit status: 0 if every target passed, 2 if one failed.");
  group = g_option_group_new (NULL, NULL, NULL, &opt, NULL);
  g_option_group_add_entries (group, entries);
  g_option_context_set_main_group (context, g_steal_pointer (&group));
  if (!g_option_context_parse (context, &argc, &argv, &error))
    die ("%s", error->message);
  if (opt.bus != NULL && strcmp (opt.bus, "dbus-daemon") != 0 &&
      strcmp (opt.bus, "dbus-broker") != 0)
    die ("--bus=%s: not dbus-daemon or dbus-broker", opt.bus);

  opt.rounds = rounds > 0 ? (guint) rounds : opt.quick ? 2 : 5;
  opt.renderers = renderers > 0 ? MIN ((guint) renderers, 100) : 100;
  opt.attach = attach > 0 ? (guint) attach : 500;
  opt.alloc_calls = alloc_calls > 0 ? (guint) alloc_calls : opt.quick ? 200 : 1000;
  opt.seconds = opt.quick ? 0.1 : 0.4;
  opt.flood = opt.quick ? 5000 : 30000;
  opt.pipelined = opt.quick ? 3000 : 20000;
  opt.bcast = opt.quick ? 100 : 500;
  opt.storm = opt.quick ? 20 : 100;
  /* With the JSON on stdout, the report goes to stderr. */
  report = opt.json && (opt.json_path == NULL || strcmp (opt.json_path, "-") == 0)
           ? stderr : stdout;

  signal (SIGPIPE, SIG_IGN);
  alarm (WATCHDOG_S);
  return run_coordinator (&opt);
}
