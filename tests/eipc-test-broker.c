/* eipc-test-broker.c: a private dbus-broker without systemd or its launcher
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * dbus-broker (the bus of Fedora, Arch and RHEL desktops) reads no
 * configuration file: its launcher, dbus-broker-launch, parses the XML
 * policy and hands the broker a listening socket and a compiled policy
 * over a private "controller" connection. The launcher needs systemd and
 * journald. This helper does the launcher's part the way dbus-broker's own
 * test suite does (test/dbus/util-broker.c): it forks
 * `dbus-broker --controller FD`, serves org.bus1.DBus.Controller on the
 * other end of the socket pair, and calls org.bus1.DBus.Broker.AddListener
 * with a listening socket of its own and a policy.
 *
 *   eipc-test-broker [--dir=DIR] [--policy=session|system]
 *                    [--allow=NAME]... [--max-bytes=N] [--max-fds=N]
 *                    [--max-matches=N] [--max-objects=N]
 *
 * It prints the bus address and then the broker's pid, one line each
 * (as `dbus-daemon --print-address=1 --print-pid=1` does), and runs until
 * SIGTERM or SIGINT (then it stops the broker, removes the socket and
 * exits 0) or until the broker exits (then it exits with the broker's
 * status). Killing the broker's pid with SIGKILL is a bus crash; this
 * helper then ends too. The broker dies with this helper.
 *
 * Policies (the wire format of dbus-broker 33's AddListener, which the
 * launcher's policy_export() writes, src/launch/policy.c):
 *  - session: everybody connects, owns every name, sends and receives
 *    everything (what a desktop's session.conf allows).
 *  - system: modelled on system.conf: owning names and sending method
 *    calls are denied, signals and replies allowed, except the names
 *    given with --allow (prefixes: NAME and NAME.*), which everybody
 *    may own and call.
 *
 * Limits are dbus-broker's own, per user: the launcher computes them
 * from the XML <limit>s (max_bytes = max_connections_per_user x
 * max_outgoing_bytes, and so on); tests/test-common.c does the same.
 * Without --max-* options the helper passes what the launcher passes for
 * a configuration without limits.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#define LISTENER_PATH "/org/bus1/DBus/Listener/0"

#define POLICY_T_BATCH \
  "bt"                 \
  "a(btbs)"            \
  "a(btssssuutt)"      \
  "a(btssssuutt)"

#define POLICY_T                     \
  "a(u(" POLICY_T_BATCH "))"         \
  "a(buu(" POLICY_T_BATCH "))"       \
  "a(ss)"                            \
  "bs"

/* D-Bus message types, as the policy's "type" field takes them. */
#define TYPE_ANY          0
#define TYPE_METHOD_CALL  1

static const char *arg_dir;
static bool arg_system;
static const char *arg_allow[32];
static unsigned n_allow;
static const char *arg_limits[8];
static unsigned n_limits;

static pid_t broker_pid;
static char socket_path[sizeof (((struct sockaddr_un *) 0)->sun_path)];
static char made_dir[4096];

static void
die (const char *what,
     int         r)
{
  fprintf (stderr, "eipc-test-broker: %s: %s\n", what, strerror (r < 0 ? -r : r));
  if (broker_pid > 0)
    kill (broker_pid, SIGKILL);
  exit (EXIT_FAILURE);
}

static void
check (int         r,
       const char *what)
{
  if (r < 0)
    die (what, r);
}

/* One xmit rule (send or receive): verdict, priority, destination (or
 * sender) name, path, interface, member, message type, broadcast
 * (unset), fd range. */
static int
append_xmit (sd_bus_message *m,
             bool            allow,
             uint64_t        priority,
             const char     *name,
             uint32_t        type)
{
  return sd_bus_message_append (m, "(btssssuutt)", allow, priority, name, "", "", "",
                                type, (uint32_t) 0, UINT64_C (0), UINT64_MAX);
}

static int
append_batch (sd_bus_message *m)
{
  uint64_t prio = 1;
  int r;

  r = sd_bus_message_open_container (m, 'r', POLICY_T_BATCH);
  if (r < 0)
    return r;

  /* connect: everybody */
  r = sd_bus_message_append (m, "bt", true, prio++);
  if (r < 0)
    return r;

  /* own: (verdict, priority, prefix, name); "" with prefix is every name */
  r = sd_bus_message_open_container (m, 'a', "(btbs)");
  if (r < 0)
    return r;
  r = sd_bus_message_append (m, "(btbs)", !arg_system, prio++, true, "");
  for (unsigned i = 0; r >= 0 && i < n_allow; i++)
    r = sd_bus_message_append (m, "(btbs)", true, prio++, true, arg_allow[i]);
  if (r < 0)
    return r;
  r = sd_bus_message_close_container (m);
  if (r < 0)
    return r;

  /* send: everything, or (system) everything but method calls, which
   * may go only to the bus driver and to the allowed names. Replies to
   * a call the bus let through are never checked. */
  r = sd_bus_message_open_container (m, 'a', "(btssssuutt)");
  if (r < 0)
    return r;
  r = append_xmit (m, true, prio++, "", TYPE_ANY);
  if (r >= 0 && arg_system)
    {
      r = append_xmit (m, false, prio++, "", TYPE_METHOD_CALL);
      if (r >= 0)
        r = append_xmit (m, true, prio++, "org.freedesktop.DBus", TYPE_METHOD_CALL);
      for (unsigned i = 0; r >= 0 && i < n_allow; i++)
        r = append_xmit (m, true, prio++, arg_allow[i], TYPE_METHOD_CALL);
    }
  if (r < 0)
    return r;
  r = sd_bus_message_close_container (m);
  if (r < 0)
    return r;

  /* receive: everything */
  r = sd_bus_message_open_container (m, 'a', "(btssssuutt)");
  if (r < 0)
    return r;
  r = append_xmit (m, true, prio++, "", TYPE_ANY);
  if (r < 0)
    return r;
  r = sd_bus_message_close_container (m);
  if (r < 0)
    return r;

  return sd_bus_message_close_container (m);
}

static int
append_policy (sd_bus_message *m)
{
  int r;

  r = sd_bus_message_open_container (m, 'v', "(" POLICY_T ")");
  if (r < 0)
    return r;
  r = sd_bus_message_open_container (m, 'r', POLICY_T);
  if (r < 0)
    return r;

  /* per-uid batches: one, for every uid ((uint32_t) -1) */
  r = sd_bus_message_open_container (m, 'a', "(u(" POLICY_T_BATCH "))");
  if (r < 0)
    return r;
  r = sd_bus_message_open_container (m, 'r', "u(" POLICY_T_BATCH ")");
  if (r < 0)
    return r;
  r = sd_bus_message_append (m, "u", (uint32_t) -1);
  if (r < 0)
    return r;
  r = append_batch (m);
  if (r < 0)
    return r;
  r = sd_bus_message_close_container (m);
  if (r < 0)
    return r;
  r = sd_bus_message_close_container (m);
  if (r < 0)
    return r;

  /* per-gid and uid-range batches: none; SELinux: none */
  r = sd_bus_message_append (m, "a(buu(" POLICY_T_BATCH "))a(ss)", 0, 0);
  if (r < 0)
    return r;
  /* AppArmor off; the bus type */
  r = sd_bus_message_append (m, "bs", false, arg_system ? "system" : "session");
  if (r < 0)
    return r;

  r = sd_bus_message_close_container (m);
  if (r < 0)
    return r;
  return sd_bus_message_close_container (m);
}

/* org.freedesktop.DBus.ReloadConfig reaches the controller: the policy
 * is the same as before, set again. */
static int
method_reload_config (sd_bus_message *message,
                      void           *userdata,
                      sd_bus_error   *error)
{
  sd_bus *bus = sd_bus_message_get_bus (message);
  sd_bus_message *m = NULL;
  int r;

  r = sd_bus_message_new_method_call (bus, &m, NULL, LISTENER_PATH,
                                      "org.bus1.DBus.Listener", "SetPolicy");
  if (r >= 0)
    r = append_policy (m);
  if (r >= 0)
    r = sd_bus_call (bus, m, 0, NULL, NULL);
  sd_bus_message_unref (m);
  if (r < 0)
    return r;
  return sd_bus_reply_method_return (message, NULL);
}

static const sd_bus_vtable controller_vtable[] = {
  SD_BUS_VTABLE_START (0),
  SD_BUS_METHOD ("ReloadConfig", "", "", method_reload_config, 0),
  SD_BUS_VTABLE_END
};

static void
cleanup_files (void)
{
  if (socket_path[0] != '\0')
    unlink (socket_path);
  if (made_dir[0] != '\0')
    rmdir (made_dir);
}

static int
on_stop_signal (sd_event_source               *source,
                const struct signalfd_siginfo *si,
                void                          *userdata)
{
  /* The broker exits on SIGTERM; on_child ends the loop then. */
  if (kill (broker_pid, SIGTERM) < 0)
    return sd_event_exit (sd_event_source_get_event (source), EXIT_FAILURE);
  return 0;
}

static int
on_child (sd_event_source *source,
          const siginfo_t *si,
          void            *userdata)
{
  int status = EXIT_FAILURE;

  if (si->si_code == CLD_EXITED)
    status = si->si_status;
  else if (si->si_code == CLD_KILLED && si->si_status == SIGTERM)
    status = EXIT_SUCCESS;
  broker_pid = 0;
  return sd_event_exit (sd_event_source_get_event (source), status);
}

static int
listen_socket (void)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int fd, r;

  if (arg_dir == NULL)
    {
      const char *tmp = getenv ("TMPDIR");

      snprintf (made_dir, sizeof made_dir, "%s/eipc-broker-XXXXXX",
                tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
      if (mkdtemp (made_dir) == NULL)
        die ("mkdtemp", errno);
      arg_dir = made_dir;
    }
  r = snprintf (socket_path, sizeof socket_path, "%s/bus", arg_dir);
  if (r < 0 || (size_t) r >= sizeof socket_path)
    die ("socket path too long", ENAMETOOLONG);
  memcpy (sa.sun_path, socket_path, strlen (socket_path) + 1);

  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    die ("socket", errno);
  if (bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    die ("bind", errno);
  /* Everybody may connect (the policy decides); tests switch users. */
  chmod (socket_path, 0777);
  if (listen (fd, 256) < 0)
    die ("listen", errno);
  return fd;
}

static void
read_machine_id (char *id, size_t size)
{
  FILE *f = fopen ("/etc/machine-id", "re");

  snprintf (id, size, "0123456789abcdef0123456789abcdef");
  if (f != NULL)
    {
      char line[64];

      if (fgets (line, sizeof line, f) != NULL && strlen (line) >= 32)
        {
          line[32] = '\0';
          snprintf (id, size, "%s", line);
        }
      fclose (f);
    }
}

static pid_t
fork_broker (int controller_fd)
{
  pid_t pid = fork ();

  if (pid < 0)
    die ("fork", errno);
  if (pid == 0)
    {
      const char *argv[32];
      unsigned n = 0;
      char fd_text[16], machine_id[64];
      const char *bin = getenv ("EIPC_DBUS_BROKER");

      /* The broker dies with us: a crashed test leaves nothing behind. */
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      if (getppid () == 1)
        _exit (EXIT_FAILURE);
      /* fd 3 for the controller, without O_CLOEXEC */
      if (dup2 (controller_fd, 3) < 0)
        _exit (EXIT_FAILURE);
      snprintf (fd_text, sizeof fd_text, "%d", 3);
      read_machine_id (machine_id, sizeof machine_id);
      if (bin == NULL || bin[0] == '\0')
        bin = "dbus-broker";
      argv[n++] = bin;
      argv[n++] = "--controller";
      argv[n++] = fd_text;
      argv[n++] = "--machine-id";
      argv[n++] = machine_id;
      /* What dbus-broker-launch passes with no <limit> in the
       * configuration (64 connections per user x 8 MiB, 64 fds, 256
       * matches); dbus-broker's own defaults allow only 128 fds per user,
       * which 100 connections of one user exhaust. Later ones win. */
      argv[n++] = "--max-bytes=536870912";
      argv[n++] = "--max-fds=4096";
      argv[n++] = "--max-matches=16384";
      for (unsigned i = 0; i < n_limits; i++)
        argv[n++] = arg_limits[i];
      argv[n] = NULL;
      execvp (bin, (char **) argv);
      fprintf (stderr, "eipc-test-broker: cannot run %s: %s\n", bin, strerror (errno));
      _exit (127);
    }
  return pid;
}

static void
parse_args (int    argc,
            char **argv)
{
  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i];

      if (strncmp (a, "--dir=", 6) == 0)
        arg_dir = a + 6;
      else if (strcmp (a, "--policy=session") == 0)
        arg_system = false;
      else if (strcmp (a, "--policy=system") == 0)
        arg_system = true;
      else if (strncmp (a, "--allow=", 8) == 0 && n_allow < 32)
        arg_allow[n_allow++] = a + 8;
      else if ((strncmp (a, "--max-bytes=", 12) == 0 ||
                strncmp (a, "--max-fds=", 10) == 0 ||
                strncmp (a, "--max-matches=", 14) == 0 ||
                strncmp (a, "--max-objects=", 14) == 0) && n_limits < 8)
        arg_limits[n_limits++] = a;
      else
        {
          fprintf (stderr,
                   "usage: eipc-test-broker [--dir=DIR] [--policy=session|system] [--allow=NAME]...\n"
                   "                        [--max-bytes=N] [--max-fds=N] [--max-matches=N] [--max-objects=N]\n");
          exit (2);
        }
    }
}

int
main (int    argc,
      char **argv)
{
  sd_event *event = NULL;
  sd_bus *bus = NULL;
  sd_bus_message *m = NULL;
  sd_bus_error error = SD_BUS_ERROR_NULL;
  sigset_t mask;
  int pair[2], listener, r, status;

  parse_args (argc, argv);

  /* SIGCHLD for sd_event_add_child, SIGTERM/SIGINT for a clean stop. */
  sigemptyset (&mask);
  sigaddset (&mask, SIGCHLD);
  sigaddset (&mask, SIGTERM);
  sigaddset (&mask, SIGINT);
  sigprocmask (SIG_BLOCK, &mask, NULL);

  listener = listen_socket ();
  atexit (cleanup_files);

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) < 0)
    die ("socketpair", errno);
  broker_pid = fork_broker (pair[1]);
  close (pair[1]);

  check (sd_event_new (&event), "sd_event_new");
  check (sd_event_add_child (event, NULL, broker_pid, WEXITED, on_child, NULL), "sd_event_add_child");
  check (sd_event_add_signal (event, NULL, SIGTERM, on_stop_signal, NULL), "sd_event_add_signal");
  check (sd_event_add_signal (event, NULL, SIGINT, on_stop_signal, NULL), "sd_event_add_signal");

  check (sd_bus_new (&bus), "sd_bus_new");
  check (sd_bus_set_fd (bus, pair[0], pair[0]), "sd_bus_set_fd");
  check (sd_bus_add_object_vtable (bus, NULL, "/org/bus1/DBus/Controller",
                                   "org.bus1.DBus.Controller", controller_vtable, NULL),
         "sd_bus_add_object_vtable");
  check (sd_bus_start (bus), "sd_bus_start");

  check (sd_bus_message_new_method_call (bus, &m, NULL, "/org/bus1/DBus/Broker",
                                         "org.bus1.DBus.Broker", "AddListener"),
         "AddListener");
  check (sd_bus_message_append (m, "oh", LISTENER_PATH, listener), "AddListener");
  check (append_policy (m), "AddListener policy");
  r = sd_bus_call (bus, m, 0, &error, NULL);
  if (r < 0)
    {
      fprintf (stderr, "eipc-test-broker: AddListener: %s\n",
               error.message != NULL ? error.message : strerror (-r));
      die ("AddListener", r);
    }
  m = sd_bus_message_unref (m);
  /* The broker has its own copy of the listening socket. */
  close (listener);

  check (sd_bus_attach_event (bus, event, SD_EVENT_PRIORITY_NORMAL), "sd_bus_attach_event");

  printf ("unix:path=%s\n%d\n", socket_path, (int) broker_pid);
  if (fflush (stdout) != 0)
    die ("stdout", errno);

  r = sd_event_loop (event);
  status = r < 0 ? EXIT_FAILURE : r;

  sd_bus_flush_close_unref (bus);
  sd_event_unref (event);
  return status;
}
