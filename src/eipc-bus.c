/* eipc-bus.c: the sd-bus connection, its GSource, names and paths
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>

#include <gio/gio.h>

#include "eipc-private.h"

/* How many messages one dispatch may process before it lets the other
 * sources of the main context run. */
#define DISPATCH_BATCH 64

/* A poll() that took longer than this many µs waited for the message
 * it returned with; a quicker one found messages already waiting. */
#define POLL_WAITED_USEC 20

typedef struct {
  GSource            source;
  sd_bus            *bus;
  int                fd;
  gpointer           fd_tag;       /* NULL while the fd is not polled */
  int                fd_events;
  guint64            deadline;     /* CLOCK_MONOTONIC µs, G_MAXUINT64 = none */
  guint              dispatching;  /* > 0 while sd_bus_process() runs */
  gint64             poll_start;   /* g_get_monotonic_time() in prepare */
  gboolean           waited;       /* this iteration's poll() waited */
  gboolean           closed;
  EipcBusClosedFunc  closed_func;
  EipcBusClosedFunc  dispatched_func;
  gpointer           closed_data;
  /* EipcBusWork in order, see eipc_bus_defer(): the items from
   * work_head on wait. A queue in one block that is reused, so deferring
   * allocates nothing in the steady state. */
  GArray            *work;
  guint              work_head;
} EipcBusSource;

typedef struct {
  EipcBusWorkFunc  func;
  gpointer         data;
  sd_bus_message  *message;
} EipcBusWork;

static gboolean bus_source_run_work (EipcBusSource *self);

static inline gboolean
bus_source_has_work (EipcBusSource *self)
{
  return self->work_head < self->work->len;
}

int
eipc_bus_open (const char  *address,
               sd_bus     **ret)
{
  g_autoptr(sd_bus) bus = NULL;
  int r;

  if (address == NULL)
    {
      r = sd_bus_open_user (&bus);
      if (r < 0)
        return r;
    }
  else
    {
      r = sd_bus_new (&bus);
      if (r < 0)
        return r;
      r = sd_bus_set_address (bus, address);
      if (r < 0)
        return r;
      r = sd_bus_set_bus_client (bus, 1);
      if (r < 0)
        return r;
      /* Access control is the bus policy's job (and the main process
       * checks identities itself): without this, sd-bus would query the
       * caller's credentials, blocking, for every method call. */
      r = sd_bus_set_trusted (bus, 1);
      if (r < 0)
        return r;
      r = sd_bus_start (bus);
      if (r < 0)
        return r;
    }

  *ret = g_steal_pointer (&bus);
  return 0;
}

/* Polls the fd for @events. With none, the fd leaves the poll set:
 * poll() reports a hang-up whatever the events asked, so a closed
 * connection kept there would wake the loop on every iteration. */
static void
bus_source_set_events (EipcBusSource *self,
                       int            events)
{
  GIOCondition cond = 0;

  if (events == self->fd_events)
    return;
  self->fd_events = events;
  if (events & POLLIN)
    cond |= G_IO_IN;
  if (events & POLLOUT)
    cond |= G_IO_OUT;

  if (cond == 0)
    {
      if (self->fd_tag != NULL)
        g_source_remove_unix_fd (&self->source, self->fd_tag);
      self->fd_tag = NULL;
    }
  else if (self->fd_tag == NULL)
    self->fd_tag = g_source_add_unix_fd (&self->source, self->fd, cond);
  else
    g_source_modify_unix_fd (&self->source, self->fd_tag, cond);
}

/* Reads the next two string arguments: sd_bus_message_read (m, "ss")
 * without the varargs and signature walk, on the paths every message
 * takes. Returns -ENXIO if the message has fewer. */
int
eipc_message_read_strings (sd_bus_message  *m,
                           const char     **first,
                           const char     **second)
{
  const char *a = NULL, *b = NULL;
  int r;

  r = sd_bus_message_read_basic (m, 's', &a);
  if (r > 0)
    r = sd_bus_message_read_basic (m, 's', &b);
  if (r == 0)
    r = -ENXIO;
  if (r < 0)
    return r;
  *first = a;
  *second = b;
  return 0;
}

/* Whether the @len bytes at @s are all ASCII: eight at a time. */
static gboolean
bytes_are_ascii (const char *s,
                 size_t      len)
{
  const guint64 highs = G_GUINT64_CONSTANT (0x8080808080808080);
  guint64 acc = 0;
  size_t i = 0;

  for (; i + 8 <= len; i += 8)
    {
      guint64 v;

      memcpy (&v, s + i, sizeof v);
      acc |= v;
    }
  for (; i < len; i++)
    acc |= (guchar) s[i];
  return (acc & highs) == 0;
}

/* sd_bus_message_append_basic (m, 's', s), cheaper for ASCII text.
 * sd-bus checks that a string is valid UTF-8 one character at a time
 * (about 20 instructions a byte, 20M for a 1 MiB argument). Text of
 * ASCII bytes is valid UTF-8, and strlen() found its only NUL, so it is
 * copied into the space sd_bus_message_append_string_space() makes,
 * which checks nothing. Any other text is appended, and checked, by
 * sd_bus_message_append_basic(), so what may go on the wire is the
 * same. */
int
eipc_message_append_string (sd_bus_message *m,
                            const char     *s)
{
  size_t len;
  char *space = NULL;
  int r;

  /* sd-bus sends NULL as the empty string. */
  if (s == NULL)
    s = "";
  len = strlen (s);
  if (!bytes_are_ascii (s, len))
    return sd_bus_message_append_basic (m, 's', s);
  r = sd_bus_message_append_string_space (m, len, &space);
  if (r < 0)
    return r;
  memcpy (space, s, len);
  return 0;
}

/* Replies to @call with one string: sd_bus_reply_method_return (call,
 * "s", text) without the varargs and signature walk. */
int
eipc_reply_string (sd_bus_message *call,
                   const char     *text)
{
  g_autoptr(sd_bus_message) reply = NULL;
  int r;

  /* What sd_bus_reply_method_return() checks first. */
  if (!sd_bus_is_open (sd_bus_message_get_bus (call)))
    return -ENOTCONN;
  if (!sd_bus_message_get_expect_reply (call))
    return 0;
  r = sd_bus_message_new_method_return (call, &reply);
  if (r < 0)
    return r;
  r = eipc_message_append_string (reply, text);
  if (r < 0)
    return r;
  return sd_bus_send (NULL, reply, NULL);
}

/* Appends two strings: sd_bus_message_append (m, "ss", ...) without
 * the varargs and signature walk (and, for ASCII text, without sd-bus's
 * UTF-8 check: eipc_message_append_string()). */
int
eipc_message_append_strings (sd_bus_message *m,
                             const char     *first,
                             const char     *second)
{
  int r;

  r = eipc_message_append_string (m, first);
  if (r < 0)
    return r;
  return eipc_message_append_string (m, second);
}

static void
bus_source_update (EipcBusSource *self)
{
  int events = 0;
  guint64 until = G_MAXUINT64;

  if (!self->closed)
    {
      int r = sd_bus_get_events (self->bus);
      int t;

      if (r > 0)
        events = r;
      t = sd_bus_get_timeout (self->bus, &until);
      /* Not open any more, though no sd_bus_process() said so yet: the
       * connection ended during the last batch (sd-bus then returns 1
       * and wants to be called again). Nothing on the fd will wake us:
       * dispatch now, and that call reports the end. */
      if (r < 0 || t < 0)
        until = r < 0 ? 0 : G_MAXUINT64;
    }

  bus_source_set_events (self, events);
  self->deadline = until;
}

static gboolean
bus_source_prepare (GSource *source,
                    gint    *timeout)
{
  EipcBusSource *self = (EipcBusSource *) source;
  gint64 now;

  self->waited = FALSE;
  self->poll_start = g_get_monotonic_time ();

  /* A main loop run from inside one of our callbacks: sd-bus cannot
   * process re-entrantly, so the fd leaves the poll set until the
   * callback returns (what GLib's blocking of a non-recursive source
   * would do, see eipc_bus_source_new()). */
  if (self->dispatching > 0)
    {
      bus_source_set_events (self, 0);
      *timeout = -1;
      return FALSE;
    }

  bus_source_update (self);

  *timeout = -1;
  if (bus_source_has_work (self))
    {
      *timeout = 0;
      return TRUE;
    }
  if (self->deadline == G_MAXUINT64)
    return FALSE;
  /* A deadline of 0 means messages already wait inside sd-bus (read
   * during a blocking call): dispatch without waiting for the fd. */
  now = g_source_get_time (source);
  if (self->deadline <= (guint64) now)
    {
      *timeout = 0;
      return TRUE;
    }
  *timeout = (gint) MIN ((self->deadline - now + 999) / 1000, G_MAXINT);
  return FALSE;
}

static gboolean
bus_source_check (GSource *source)
{
  EipcBusSource *self = (EipcBusSource *) source;

  if (self->dispatching > 0)
    return FALSE;
  if (bus_source_has_work (self))
    return TRUE;
  self->waited = g_get_monotonic_time () - self->poll_start > POLL_WAITED_USEC;
  if (self->fd_tag != NULL &&
      g_source_query_unix_fd (source, self->fd_tag) != 0)
    return TRUE;
  return self->deadline != G_MAXUINT64 &&
         self->deadline <= (guint64) g_source_get_time (source);
}

static gboolean
bus_source_dispatch (GSource     *source,
                     GSourceFunc  callback,
                     gpointer     user_data)
{
  EipcBusSource *self = (EipcBusSource *) source;
  guint batch = DISPATCH_BATCH;
  int r = 0;

  if (!bus_source_run_work (self) || self->closed)
    return G_SOURCE_CONTINUE;

  /* sd_bus_process() handles one message per call; keep going until it
   * is idle, but yield to other sources after a batch. While the bus is
   * closing, this is what fails the pending calls and delivers
   * Disconnected. When poll() waited for the message, though, that one
   * message is most often all there is: handle it and go back to poll(),
   * which waits anyway, instead of one more sd_bus_process() that would
   * only learn from a failing recvmsg() that nothing else came, a
   * syscall per message saved (a microsecond on a virtual machine).
   * Messages already waiting make the next poll() return at once, and
   * that iteration handles them in a batch. */
  if (self->waited)
    batch = 1;
  self->waited = FALSE;
  self->dispatching++;
  for (guint i = 0; i < batch; i++)
    {
      r = sd_bus_process (self->bus, NULL);
      self->dispatching--;
      /* What the callbacks deferred runs now, outside sd_bus_process(). */
      if (!bus_source_run_work (self))
        return G_SOURCE_CONTINUE;
      self->dispatching++;
      if (r <= 0)
        break;
      /* A callback released the object that owns this source (and
       * closed its bus): nothing more to do, nobody to tell. */
      if (g_source_is_destroyed (source))
        break;
    }
  self->dispatching--;

  if (g_source_is_destroyed (source))
    return G_SOURCE_REMOVE;
  if (r < 0 && r != -EBUSY)
    {
      g_debug ("eipc: bus connection closed: %s", g_strerror (-r));
      self->closed = TRUE;
      bus_source_update (self);
      if (self->closed_func != NULL)
        self->closed_func (self->closed_data);
    }
  else if (self->dispatched_func != NULL)
    self->dispatched_func (self->closed_data);

  return G_SOURCE_CONTINUE;
}


/* Runs the deferred work in order. Returns FALSE if the source was
 * destroyed meanwhile (its owner may be gone: stop touching it). */
static gboolean
bus_source_run_work (EipcBusSource *self)
{
  while (bus_source_has_work (self))
    {
      /* A copy: the function may defer more, which may move the array. */
      EipcBusWork work = g_array_index (self->work, EipcBusWork, self->work_head);

      self->work_head++;
      if (self->work_head == self->work->len)
        {
          g_array_set_size (self->work, 0);
          self->work_head = 0;
        }
      work.func (work.data, work.message);
      sd_bus_message_unref (work.message);
      if (g_source_is_destroyed (&self->source))
        return FALSE;
    }
  return TRUE;
}

static void
bus_source_finalize (GSource *source)
{
  EipcBusSource *self = (EipcBusSource *) source;

  for (guint i = self->work_head; i < self->work->len; i++)
    sd_bus_message_unref (g_array_index (self->work, EipcBusWork, i).message);
  g_array_unref (self->work);
  sd_bus_unref (self->bus);
}

static GSourceFuncs bus_source_funcs = {
  .prepare = bus_source_prepare,
  .check = bus_source_check,
  .dispatch = bus_source_dispatch,
  .finalize = bus_source_finalize,
};

/* Makes the GSource that drives @bus on the thread-default main context:
 * fd events from sd_bus_get_events(), timeouts from sd_bus_get_timeout(),
 * sd_bus_process() until idle. @closed runs once when the connection is
 * gone. */
GSource *
eipc_bus_source_new (sd_bus            *bus,
                     EipcBusClosedFunc  closed,
                     gpointer           user_data)
{
  return eipc_bus_source_new_full (bus, g_main_context_get_thread_default (),
                                   closed, NULL, user_data);
}

/* The same on @context; @dispatched (if not NULL) runs after every
 * dispatch that did not close the connection, outside sd_bus_process(),
 * where the owner may send, close or drop the connection. */
GSource *
eipc_bus_source_new_full (sd_bus            *bus,
                          GMainContext      *context,
                          EipcBusClosedFunc  closed,
                          EipcBusClosedFunc  dispatched,
                          gpointer           user_data)
{
  GSource *source;
  EipcBusSource *self;

  source = g_source_new (&bus_source_funcs, sizeof (EipcBusSource));
  self = (EipcBusSource *) source;
  self->bus = sd_bus_ref (bus);
  self->closed_func = closed;
  self->dispatched_func = dispatched;
  self->closed_data = user_data;
  self->deadline = G_MAXUINT64;
  self->fd = sd_bus_get_fd (bus);
  self->fd_events = 0;
  self->fd_tag = NULL;
  self->work = g_array_sized_new (FALSE, FALSE, sizeof (EipcBusWork), 16);
  g_source_set_static_name (source, "[eipc] sd-bus");
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  /* GLib blocks a source that cannot recurse while it dispatches: it
   * takes the fd out of the poll set and puts it back, and each of the
   * two writes the context's wakeup eventfd, so every dispatch would
   * cost two writes, a read and one more empty iteration. The source
   * keeps itself out of nested iterations instead (dispatching). */
  g_source_set_can_recurse (source, TRUE);
  g_source_attach (source, context);
  return source;
}

/* Runs @func (@data, @message) from @source's next dispatch, after
 * sd_bus_process() returned, in the order of the calls. An sd-bus
 * callback that would run application code defers it with this: code
 * run from inside sd_bus_process() could not make a blocking call that
 * checks its reply (see eipc_calls_call_blocking()), because
 * sd_bus_process() cannot be re-entered. */
void
eipc_bus_defer (GSource         *source,
                EipcBusWorkFunc  func,
                gpointer         data,
                sd_bus_message  *message)
{
  EipcBusSource *self = (EipcBusSource *) source;
  EipcBusWork work = {
    .func = func,
    .data = data,
    .message = message != NULL ? sd_bus_message_ref (message) : NULL,
  };

  g_array_append_val (self->work, work);
}

gboolean
eipc_app_id_check (const char  *app_id,
                   GError     **error)
{
  if (app_id == NULL || !g_dbus_is_name (app_id) || g_dbus_is_unique_name (app_id))
    {
      g_set_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                   "'%s' is not a valid app id (a well-known D-Bus name in "
                   "reverse-DNS form)", app_id != NULL ? app_id : "(null)");
      return FALSE;
    }
  return TRUE;
}

/* org.example.Editor -> /org/example/Editor; every byte that is not
 * [A-Za-z0-9] is escaped as _XX, the way sd-bus escapes path labels. */
char *
eipc_app_id_to_path (const char *app_id)
{
  GString *path = g_string_sized_new (strlen (app_id) + 8);

  g_string_append_c (path, '/');
  for (const char *p = app_id; *p != '\0'; p++)
    {
      if (*p == '.')
        g_string_append_c (path, '/');
      else if (g_ascii_isalnum (*p))
        g_string_append_c (path, *p);
      else
        g_string_append_printf (path, "_%02x", (guchar) *p);
    }
  return g_string_free (path, FALSE);
}

char *
eipc_web_contents_path (const char *base_path,
                        guint64     id)
{
  return g_strdup_printf ("%s" EIPC_WEB_CONTENTS_SUFFIX "/%" G_GUINT64_FORMAT,
                          base_path, id);
}

/* Parses BASE/WebContents/ID; FALSE for any other path. */
gboolean
eipc_web_contents_path_parse (const char *base_path,
                              const char *path,
                              guint64    *id)
{
  gsize base_len = strlen (base_path);
  const char *p;
  guint64 value;

  if (path == NULL || strncmp (path, base_path, base_len) != 0)
    return FALSE;
  p = path + base_len;
  if (!g_str_has_prefix (p, EIPC_WEB_CONTENTS_SUFFIX "/"))
    return FALSE;
  p += strlen (EIPC_WEB_CONTENTS_SUFFIX "/");
  if (!g_ascii_isdigit (*p) || (p[0] == '0' && p[1] != '\0'))
    return FALSE;
  if (!g_ascii_string_to_unsigned (p, 10, 0, G_MAXUINT64, &value, NULL))
    return FALSE;
  *id = value;
  return TRUE;
}

/* sd_bus_call() in libsystemd 252 fails with -EINTR when a signal (a
 * SIGCHLD, say) interrupts its poll, after the call was sent: retrying
 * would send it twice, and the reply would be lost. So the calling thread
 * holds asynchronous signals while it blocks (they are delivered when the
 * call returns); faults stay unblocked. eipc makes no blocking sd-bus
 * call of its own (AddMatch goes out asynchronously, RequestName and the
 * send window's ping through eipc_calls_call_blocking(), all checked, see
 * eipc_match_check_installed()); one that is added must be wrapped in
 * eipc_bus_hold_signals() and eipc_bus_release_signals(). */
void
eipc_bus_hold_signals (sigset_t *saved)
{
  sigset_t all;

  sigfillset (&all);
  sigdelset (&all, SIGSEGV);
  sigdelset (&all, SIGBUS);
  sigdelset (&all, SIGFPE);
  sigdelset (&all, SIGILL);
  sigdelset (&all, SIGTRAP);
  sigdelset (&all, SIGABRT);
  sigdelset (&all, SIGSYS);
  pthread_sigmask (SIG_BLOCK, &all, saved);
}

void
eipc_bus_release_signals (const sigset_t *saved)
{
  pthread_sigmask (SIG_SETMASK, saved, NULL);
}

/* --- Match rules whose installation is checked -------------------------
 *
 * sd_bus_add_match() sends AddMatch with sd_bus_call(), which takes the
 * first reply with the call's serial, from anybody: on a bus that lets
 * unrequested replies through (dbus-daemon's session configuration), a
 * client that eavesdrops or guesses serials could answer it with an
 * error (the connection's set-up would fail with the forger's error) or
 * with a return hiding the bus's refusal. So AddMatch goes out
 * asynchronously (sd_bus_add_match_async()) and its answer is checked
 * when it comes: only the bus driver, or sd-bus itself when the
 * connection closes (org.freedesktop.DBus.Local), may answer. The bus
 * applies a match as soon as it reads the call, and answers a
 * connection's calls to it in order, so the caller checks the result
 * when the answer to a later call to the bus has come (RequestName,
 * GetNameOwner): a forgery or a refusal then fails the set-up, a forged
 * answer with EIPC_ERROR_FORGED_REPLY naming the forger. */

/* Called by the install callback given to sd_bus_add_match_async() with
 * the answer to AddMatch. */
void
eipc_match_check_installed (EipcMatchCheck *check,
                            sd_bus_message *reply)
{
  const char *sender = sd_bus_message_get_sender (reply);

  if (g_strcmp0 (sender, "org.freedesktop.DBus") != 0 &&
      g_strcmp0 (sender, "org.freedesktop.DBus.Local") != 0)
    {
      g_message ("eipc: refused a forged reply from %s to AddMatch (sent to "
                 "org.freedesktop.DBus)", sender != NULL ? sender : "(no sender)");
      if (check->error == NULL)
        check->error = g_error_new (EIPC_ERROR, EIPC_ERROR_FORGED_REPLY,
                                    "A reply to AddMatch came from %s, not from "
                                    "org.freedesktop.DBus that the call went to: "
                                    "it was refused as forged, and the call failed",
                                    sender != NULL ? sender : "(no sender)");
      return;
    }
  if (sd_bus_message_is_method_error (reply, NULL) && check->error == NULL)
    {
      eipc_set_error_from_bus_error (&check->error, sd_bus_message_get_error (reply),
                                     -EIO);
      g_prefix_error (&check->error, "The bus did not add a match rule: ");
    }
}

/* FALSE with @error set if an answer to AddMatch came and was a refusal
 * or a forgery. Calls not answered yet are not waited for (the caller
 * asks once a later answer of the bus has come). */
gboolean
eipc_match_check_result (EipcMatchCheck  *check,
                         GError         **error)
{
  if (check->error == NULL)
    return TRUE;
  g_propagate_error (error, g_error_copy (check->error));
  return FALSE;
}

void
eipc_match_check_clear (EipcMatchCheck *check)
{
  g_clear_error (&check->error);
}

/* One-way messages are queued inside sd-bus when the bus does not take
 * them: dbus-daemon stops reading from a sender while the receiver's queue
 * is over its limit (max_outgoing_bytes), so a receiver that reads too
 * slowly makes the sender's queue grow. Past EIPC_MAX_QUEUED_MESSAGES a
 * send fails with a clear error instead of growing without bound. */
gboolean
eipc_bus_check_queue (sd_bus  *bus,
                      GError **error)
{
  uint64_t queued = 0;

  if (sd_bus_get_n_queued_write (bus, &queued) >= 0 &&
      queued >= EIPC_MAX_QUEUED_MESSAGES)
    {
      g_set_error (error, EIPC_ERROR, EIPC_ERROR_LIMITS_EXCEEDED,
                   "%" G_GUINT64_FORMAT " messages wait to be written: the bus "
                   "is not taking more (the receiver does not read fast enough)",
                   (guint64) queued);
      return FALSE;
    }
  return TRUE;
}

/* --- Acknowledged one-way messages --------------------------------------
 *
 * A one-way message (a signal to one peer) has no reply, so a sender
 * cannot tell whether it arrived. dbus-daemon, when the receiver's queue is
 * over max_outgoing_bytes, stops reading from the sender: the messages
 * wait in the sender's queue (see eipc_bus_check_queue). dbus-broker does
 * not stall: past the sending user's quota it drops a unicast signal
 * without telling anybody, or disconnects the sender. So a sender keeps
 * a window: every EIPC_SEND_ACK_EVERY messages it pings the receiver
 * (org.freedesktop.DBus.Peer.Ping, which sd-bus answers by itself, in
 * order, after every message before it); once EIPC_SEND_WINDOW messages
 * or EIPC_SEND_WINDOW_BYTES bytes are unacknowledged, the next send waits
 * for a ping's answer, at most EIPC_SEND_WINDOW_TIMEOUT_MS, and fails
 * with EIPC_ERROR_LIMITS_EXCEEDED (or DISCONNECTED) if none comes. Only
 * the receiver's own answer acknowledges anything: a forged answer to the
 * early ping is ignored (and logged), a forged answer to the ping a full
 * window waits for fails that send with EIPC_ERROR_FORGED_REPLY. No bus
 * then holds more than a window of a sender's messages, so none is lost
 * on either bus, and a sender whose receiver does not read is told so the
 * same way on both. */

static void
send_window_reset (EipcSendWindow *w,
                   const char     *peer)
{
  w->ping_slot = sd_bus_slot_unref (w->ping_slot);
  g_free (w->peer);
  w->peer = g_strdup (peer);
  w->sent = w->acked = w->ping_mark = 0;
  w->sent_bytes = w->acked_bytes = w->ping_mark_bytes = 0;
}

void
eipc_send_window_clear (EipcSendWindow *w)
{
  w->ping_slot = sd_bus_slot_unref (w->ping_slot);
  g_clear_pointer (&w->peer, g_free);
}

static int
send_window_ping_new (sd_bus          *bus,
                      const char      *peer,
                      sd_bus_message **ret)
{
  return sd_bus_message_new_method_call (bus, ret, peer, "/",
                                         "org.freedesktop.DBus.Peer", "Ping");
}

static int
send_window_ping_done (sd_bus_message *reply,
                       void           *userdata,
                       sd_bus_error   *ret_error)
{
  EipcSendWindow *w = userdata;
  const char *sender = sd_bus_message_get_sender (reply);

  /* An error answer leaves the window as it was: the next send that
   * finds it full asks again, and reports what it gets. So does an
   * answer from anybody but the peer: sd-bus matches a reply by its
   * serial alone, and a forger that acknowledged the window would let
   * the sender go on past it while the receiver does not read. */
  if (!sd_bus_message_is_method_error (reply, NULL) &&
      g_strcmp0 (sender, w->peer) != 0)
    g_message ("eipc: refused a forged answer from %s to a ping sent to %s: "
               "the send window stays unacknowledged",
               sender != NULL ? sender : "(no sender)", w->peer);
  else if (!sd_bus_message_is_method_error (reply, NULL))
    {
      w->acked = MAX (w->acked, w->ping_mark);
      w->acked_bytes = MAX (w->acked_bytes, w->ping_mark_bytes);
    }
  w->ping_slot = sd_bus_slot_unref (w->ping_slot);
  return 1;
}

gboolean
eipc_send_window_check (EipcSendWindow        *w,
                        sd_bus                *bus,
                        const char            *peer,
                        const char            *peer_role,
                        EipcBlockingCallFunc   call,
                        gpointer               call_data,
                        GError               **error)
{
  g_autoptr(sd_bus_message) ping = NULL;
  g_autoptr(sd_bus_message) reply = NULL;
  g_autoptr(GError) call_error = NULL;
  guint64 unacked;
  int r;

  if (g_strcmp0 (w->peer, peer) != 0)
    send_window_reset (w, peer);
  unacked = w->sent - w->acked;
  if (unacked < EIPC_SEND_WINDOW && w->sent_bytes - w->acked_bytes < EIPC_SEND_WINDOW_BYTES)
    return TRUE;

  /* Full: wait for the receiver to have read everything sent so far.
   * The caller's blocking call takes the answer only from the peer (and
   * an error only from the peer or the bus): sd_bus_call() took the
   * first reply with the ping's serial, from whoever sent it, and a
   * forged error failed the send with the forger's error. */
  w->ping_slot = sd_bus_slot_unref (w->ping_slot);
  r = send_window_ping_new (bus, peer, &ping);
  if (r < 0)
    {
      eipc_set_error_from_errno (error, r, "Cannot ask the receiver");
      return FALSE;
    }
  if (call (call_data, ping, EIPC_SEND_WINDOW_TIMEOUT_MS * (guint64) 1000,
            &reply, &call_error))
    {
      w->acked = w->sent;
      w->acked_bytes = w->sent_bytes;
      return TRUE;
    }

  if (g_error_matches (call_error, EIPC_ERROR, EIPC_ERROR_FORGED_REPLY))
    /* sd-bus drops the real answer that comes after it: waiting on
     * could only end in LimitsExceeded. */
    g_set_error (error, EIPC_ERROR, EIPC_ERROR_FORGED_REPLY,
                 "%s (%" G_GUINT64_FORMAT " messages to %s are not acknowledged)",
                 call_error->message, unacked, peer_role);
  else if (g_error_matches (call_error, EIPC_ERROR, EIPC_ERROR_TIMEOUT))
    g_set_error (error, EIPC_ERROR, EIPC_ERROR_LIMITS_EXCEEDED,
                 "%" G_GUINT64_FORMAT " messages to %s %s were not read in %u ms: "
                 "it does not read fast enough", unacked, peer_role, peer,
                 EIPC_SEND_WINDOW_TIMEOUT_MS);
  else if (g_error_matches (call_error, EIPC_ERROR, EIPC_ERROR_LIMITS_EXCEEDED))
    g_set_error (error, EIPC_ERROR, EIPC_ERROR_LIMITS_EXCEEDED,
                 "The bus holds no more messages for %s %s (%s)", peer_role, peer,
                 call_error->message);
  else
    /* dbus-broker disconnects a sender whose user is over its quota;
     * what it had accepted since the last answer may be gone. */
    g_set_error (error, call_error->domain, call_error->code,
                 "Cannot send to %s %s: %s; %" G_GUINT64_FORMAT " messages sent "
                 "since it last answered may not have arrived", peer_role, peer,
                 call_error->message, unacked);
  return FALSE;
}

void
eipc_send_window_sent (EipcSendWindow *w,
                       sd_bus         *bus,
                       gsize           size)
{
  g_autoptr(sd_bus_message) ping = NULL;
  int r;

  w->sent++;
  w->sent_bytes += size;
  if (w->ping_slot != NULL ||
      (w->sent - w->acked < EIPC_SEND_ACK_EVERY &&
       w->sent_bytes - w->acked_bytes < EIPC_SEND_WINDOW_BYTES / 4))
    return;

  /* Ask early, without waiting: a sender whose main context runs gets
   * the answer long before the window is full. */
  r = send_window_ping_new (bus, w->peer, &ping);
  if (r >= 0)
    r = sd_bus_call_async (bus, &w->ping_slot, ping, send_window_ping_done, w,
                           EIPC_SEND_WINDOW_TIMEOUT_MS * (guint64) 1000);
  if (r >= 0)
    {
      w->ping_mark = w->sent;
      w->ping_mark_bytes = w->sent_bytes;
    }
}
