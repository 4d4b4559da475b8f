/* fuzz-dbus.c: a libFuzzer target that feeds whole D-Bus messages to an
 * EipcMain or an EipcRenderer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The harness plays the bus. A thread listens on an abstract unix socket,
 * does the SASL handshake with the library's sd-bus connection and answers
 * what the library asks of a bus driver (Hello, RequestName, AddMatch,
 * GetNameOwner, GetConnectionCredentials, ...), Peer.Ping to any name, and,
 * for a renderer, Attach as the main process ":1.1" would. Replies are
 * built with GDBusMessage, independent of sd-bus.
 *
 * Input: one selector byte (bit 0: 0 = EipcMain, 1 = EipcRenderer), then
 * D-Bus messages in wire format, back to back. The complete messages
 * (as GDBusMessage frames them) are written to the library's connection
 * as they are, whatever their header fields say, followed by a Peer.Ping
 * of the harness; the GLib main context is iterated until the ping is
 * answered or the library closes its connection, with a bound of
 * FUZZ_INPUT_TIMEOUT_S. A fresh object and connection for every input, so
 * a crash replays from its input alone.
 *
 * A well-formed message whose UNIX_FDS header field asks for descriptors
 * gets that many (up to FUZZ_MAX_FDS a message and FUZZ_MAX_INPUT_FDS an
 * input, else none), each one end of a socket pair, as
 * a MessagePort is; the harness closes the other ends when the input
 * ends. Descriptors left open after an input are a finding.
 *
 * The library is the bus client ":1.100". As the main process it owns the
 * app name org.eipc.Fuzz (base path /org/eipc/Fuzz); as a renderer it is
 * attached to ":1.1" as webContents 7 (/org/eipc/Fuzz/WebContents/7).
 * The seed corpus (tests/fuzz/corpus-dbus, made by
 * tools/fuzz-dbus-seeds.py) follows these names.
 *
 * Built with clang -fsanitize=fuzzer when meson's `fuzzing` option is on;
 * otherwise a normal program that replays the corpus directories given on
 * its command line, run by `meson test`.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <gio/gunixfdlist.h>

#include "eipc/eipc.h"

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

#define FUZZ_APP_ID            "org.eipc.Fuzz"
#define FUZZ_BASE_PATH         "/org/eipc/Fuzz"
#define FUZZ_LIBRARY_NAME      ":1.100"
#define FUZZ_MAIN_NAME         ":1.1"
#define FUZZ_RENDERER_ID       7
#define FUZZ_PING_SERIAL       0x7fff0000u
#define FUZZ_INPUT_TIMEOUT_S   10
#define FUZZ_CLOSE_TIMEOUT_S   10
#define FUZZ_MAX_FDS           4    /* per message */
#define FUZZ_MAX_INPUT_FDS     16   /* per input */

/* One input's fake bus: the thread owns the socket. */
typedef struct {
  gboolean       renderer;       /* which object the library is */
  int            listen_fd;
  int            wake[2];        /* main thread -> bus thread */
  GMainContext  *context;        /* woken when a flag below changes */

  GMutex         lock;
  GByteArray    *to_write;       /* queued for the library */
  int            fds[FUZZ_MAX_FDS];  /* sent with the bytes from fds_at on */
  guint          n_fds;
  gsize          fds_at;
  int            peer_fds[FUZZ_MAX_INPUT_FDS];  /* their other ends, the harness's */
  guint          n_peer_fds;
  gboolean       stop;           /* give up (the library never closed) */

  gint           pinged;         /* atomic: the final ping was answered */
  gint           closed;         /* atomic: the library closed */
  gint           disconnected;   /* the object said ::disconnected */
  guint32        serial;         /* the bus thread's own serials */
} FakeBus;

static char *listen_address;
static gboolean verbose;      /* FUZZ_DBUS_VERBOSE=1: print the messages both ways */
static GCancellable *cancellable;  /* the calls of one input */
static int listen_fd = -1;

static gboolean
write_all (int           fd,
           const guint8 *data,
           gsize         length,
           gsize        *written)
{
  while (*written < length)
    {
      ssize_t n = send (fd, data + *written, length - *written,
                        MSG_NOSIGNAL | MSG_DONTWAIT);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return TRUE;
      if (n < 0)
        return FALSE;
      *written += n;
    }
  return TRUE;
}

/* Sends the bytes from @written on with the descriptors in one sendmsg(),
 * so they travel with the message they belong to. */
static gboolean
send_with_fds (int           fd,
               const guint8 *data,
               gsize         length,
               gsize        *written,
               const int    *fds,
               guint         n_fds)
{
  union {
    struct cmsghdr header;
    char buf[CMSG_SPACE (sizeof (int) * FUZZ_MAX_FDS)];
  } control = { 0 };
  struct iovec iov = { (void *) (data + *written), length - *written };
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                       .msg_control = &control, .msg_controllen = CMSG_SPACE (sizeof (int) * n_fds) };
  struct cmsghdr *c = CMSG_FIRSTHDR (&mh);
  ssize_t n;

  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN (sizeof (int) * n_fds);
  memcpy (CMSG_DATA (c), fds, sizeof (int) * n_fds);
  do
    n = sendmsg (fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return errno == EAGAIN;
  *written += n;
  return TRUE;
}

static void
bus_queue (FakeBus       *bus,
           GDBusMessage  *message)
{
  g_autoptr(GError) error = NULL;
  g_autofree guchar *blob = NULL;
  gsize size;

  if (g_dbus_message_get_serial (message) == 0)
    g_dbus_message_set_serial (message, ++bus->serial);
  blob = g_dbus_message_to_blob (message, &size, G_DBUS_CAPABILITY_FLAGS_NONE,
                                 &error);
  g_assert_no_error (error);
  g_mutex_lock (&bus->lock);
  g_byte_array_append (bus->to_write, blob, size);
  g_mutex_unlock (&bus->lock);
}

static GDBusMessage *
bus_new_reply (GDBusMessage *call,
               const char   *sender,
               GVariant     *body)
{
  GDBusMessage *reply = g_dbus_message_new_method_reply (call);

  g_dbus_message_set_sender (reply, sender);
  if (body != NULL)
    g_dbus_message_set_body (reply, body);
  return reply;
}

static GVariant *
bus_credentials (void)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a{sv}"));
  g_variant_builder_add (&b, "{sv}", "UnixUserID", g_variant_new_uint32 (getuid ()));
  g_variant_builder_add (&b, "{sv}", "ProcessID", g_variant_new_uint32 (getpid ()));
  return g_variant_new ("(a{sv})", &b);
}

/* Answers one message of the library as a bus (and, for a renderer, as
 * its main process) would; everything else is dropped. */
static void
bus_answer (FakeBus      *bus,
            GDBusMessage *m)
{
  g_autoptr(GDBusMessage) reply = NULL;
  const char *destination = g_dbus_message_get_destination (m);
  const char *interface = g_dbus_message_get_interface (m);
  const char *member = g_dbus_message_get_member (m);

  if (verbose)
    {
      g_autofree char *text = g_dbus_message_print (m, 2);
      g_printerr ("fuzz-dbus: the library sent\n%s", text);
    }
  if (g_dbus_message_get_message_type (m) == G_DBUS_MESSAGE_TYPE_METHOD_RETURN &&
      g_dbus_message_get_reply_serial (m) == FUZZ_PING_SERIAL)
    {
      g_atomic_int_set (&bus->pinged, 1);
      g_main_context_wakeup (bus->context);
      return;
    }
  if (g_dbus_message_get_message_type (m) != G_DBUS_MESSAGE_TYPE_METHOD_CALL ||
      (g_dbus_message_get_flags (m) & G_DBUS_MESSAGE_FLAGS_NO_REPLY_EXPECTED) ||
      member == NULL)
    return;

  if (g_strcmp0 (interface, "org.freedesktop.DBus.Peer") == 0 &&
      strcmp (member, "Ping") == 0)
    reply = bus_new_reply (m, destination, NULL);
  else if (g_strcmp0 (destination, "org.freedesktop.DBus") == 0)
    {
      const char *driver = "org.freedesktop.DBus";

      if (strcmp (member, "Hello") == 0)
        reply = bus_new_reply (m, driver, g_variant_new ("(s)", FUZZ_LIBRARY_NAME));
      else if (strcmp (member, "RequestName") == 0 ||
               strcmp (member, "ReleaseName") == 0)
        reply = bus_new_reply (m, driver, g_variant_new ("(u)", 1));
      else if (strcmp (member, "GetNameOwner") == 0)
        reply = bus_new_reply (m, driver, g_variant_new ("(s)",
                               bus->renderer ? FUZZ_MAIN_NAME : FUZZ_LIBRARY_NAME));
      else if (strcmp (member, "GetConnectionCredentials") == 0)
        reply = bus_new_reply (m, driver, bus_credentials ());
      else if (strcmp (member, "GetConnectionUnixProcessID") == 0)
        reply = bus_new_reply (m, driver, g_variant_new ("(u)", getpid ()));
      else if (strcmp (member, "GetConnectionUnixUser") == 0)
        reply = bus_new_reply (m, driver, g_variant_new ("(u)", getuid ()));
      else if (strcmp (member, "NameHasOwner") == 0)
        reply = bus_new_reply (m, driver, g_variant_new ("(b)", TRUE));
      else if (strcmp (member, "AddMatch") == 0 ||
               strcmp (member, "RemoveMatch") == 0)
        reply = bus_new_reply (m, driver, NULL);
      else
        {
          reply = g_dbus_message_new_method_error (m, "org.freedesktop.DBus.Error.UnknownMethod",
                                                   "The fuzz bus has no %s", member);
          g_dbus_message_set_sender (reply, driver);
        }
    }
  else if (bus->renderer && strcmp (member, "Attach") == 0)
    reply = bus_new_reply (m, FUZZ_MAIN_NAME,
                           g_variant_new ("(to)", (guint64) FUZZ_RENDERER_ID,
                                          FUZZ_BASE_PATH "/WebContents/7"));
  else
    return;  /* A call to a peer: the input may answer it. */
  bus_queue (bus, reply);
}

/* The SASL exchange, line by line, as a bus answers it. Returns the number
 * of bytes consumed from @buf (0: need more), -1 on BEGIN handled. */
static gssize
bus_auth_line (FakeBus    *bus,
               const char *buf,
               gsize       length,
               gboolean   *begun)
{
  const char *end = memchr (buf, '\n', length);
  g_autofree char *line = NULL;
  const char *answer = NULL;

  if (end == NULL)
    return 0;
  line = g_strndup (buf, end - buf);
  g_strchomp (line);
  if (g_str_has_prefix (line, "AUTH EXTERNAL "))
    answer = "OK 0123456789abcdef0123456789abcdef\r\n";
  else if (g_str_has_prefix (line, "AUTH"))
    answer = "DATA\r\n";
  else if (g_str_has_prefix (line, "DATA"))
    answer = "OK 0123456789abcdef0123456789abcdef\r\n";
  else if (strcmp (line, "NEGOTIATE_UNIX_FD") == 0)
    answer = "AGREE_UNIX_FD\r\n";
  else if (strcmp (line, "BEGIN") == 0)
    *begun = TRUE;
  else
    answer = "ERROR\r\n";
  if (answer != NULL)
    {
      g_mutex_lock (&bus->lock);
      g_byte_array_append (bus->to_write, (const guint8 *) answer, strlen (answer));
      g_mutex_unlock (&bus->lock);
    }
  return end - buf + 1;
}

static gpointer
bus_thread (gpointer data)
{
  FakeBus *bus = data;
  g_autoptr(GByteArray) in = g_byte_array_new ();
  gboolean begun = FALSE;
  gsize written = 0;
  int fd = -1;

  /* The library connects from g_initable_init() in the main thread. */
  for (;;)
    {
      struct pollfd p[2] = { { bus->listen_fd, POLLIN, 0 }, { bus->wake[0], POLLIN, 0 } };

      if (poll (p, 2, -1) < 0 && errno != EINTR)
        g_error ("poll: %s", g_strerror (errno));
      if (p[1].revents)
        goto out;
      if (p[0].revents)
        {
          fd = accept4 (bus->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
          if (fd >= 0)
            break;
        }
    }
  /* The leading NUL byte of the SASL exchange. */
  for (;;)
    {
      gboolean want_out;
      struct pollfd p[2] = { { fd, POLLIN, 0 }, { bus->wake[0], POLLIN, 0 } };
      guint8 buf[65536];
      ssize_t n;

      g_mutex_lock (&bus->lock);
      want_out = bus->to_write->len > written;
      if (bus->stop)
        {
          g_mutex_unlock (&bus->lock);
          break;
        }
      g_mutex_unlock (&bus->lock);
      if (want_out)
        p[0].events |= POLLOUT;
      if (poll (p, 2, -1) < 0 && errno != EINTR)
        g_error ("poll: %s", g_strerror (errno));
      if (p[1].revents)
        {
          char c[64];
          if (read (bus->wake[0], c, sizeof c) < 0 && errno != EAGAIN)
            g_error ("read: %s", g_strerror (errno));
        }
      if (p[0].revents & POLLOUT)
        {
          gboolean ok = TRUE;

          g_mutex_lock (&bus->lock);
          if (bus->n_fds > 0 && written < bus->fds_at)
            ok = write_all (fd, bus->to_write->data, bus->fds_at, &written);
          else if (bus->n_fds > 0)
            {
              gsize before = written;

              ok = send_with_fds (fd, bus->to_write->data, bus->to_write->len,
                                  &written, bus->fds, bus->n_fds);
              if (written > before)
                {
                  for (guint i = 0; i < bus->n_fds; i++)
                    close (bus->fds[i]);
                  bus->n_fds = 0;
                }
            }
          if (ok && bus->n_fds == 0)
            ok = write_all (fd, bus->to_write->data, bus->to_write->len, &written);
          if (written == bus->to_write->len)
            {
              g_byte_array_set_size (bus->to_write, 0);
              written = 0;
            }
          g_mutex_unlock (&bus->lock);
          if (!ok)
            break;
        }
      if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      n = recv (fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        continue;
      if (n <= 0)
        break;
      g_byte_array_append (in, buf, n);

      while (in->len > 0)
        {
          if (!begun)
            {
              gssize used;

              if (in->data[0] == '\0')
                {
                  g_byte_array_remove_index (in, 0);
                  continue;
                }
              used = bus_auth_line (bus, (const char *) in->data, in->len, &begun);
              if (used == 0)
                break;
              g_byte_array_remove_range (in, 0, used);
            }
          else
            {
              g_autoptr(GDBusMessage) m = NULL;
              gssize needed;

              if (in->len < 16)
                break;
              needed = g_dbus_message_bytes_needed (in->data, 16, NULL);
              if (needed <= 0)
                g_error ("the library sent a message GDBus cannot frame");
              if ((gsize) needed > in->len)
                break;
              m = g_dbus_message_new_from_blob (in->data, needed,
                                                G_DBUS_CAPABILITY_FLAGS_UNIX_FD_PASSING,
                                                NULL);
              g_byte_array_remove_range (in, 0, needed);
              if (m != NULL)
                bus_answer (bus, m);
            }
        }
    }
  close (fd);
out:
  g_atomic_int_set (&bus->closed, 1);
  g_main_context_wakeup (bus->context);
  return NULL;
}

static void
bus_wake (FakeBus *bus)
{
  if (write (bus->wake[1], "x", 1) < 0 && errno != EAGAIN)
    g_error ("write: %s", g_strerror (errno));
}

static void
bus_ping (FakeBus *bus)
{
  g_autoptr(GDBusMessage) ping = NULL;

  ping = g_dbus_message_new_method_call (NULL, "/", "org.freedesktop.DBus.Peer", "Ping");
  g_dbus_message_set_sender (ping, ":1.99");
  g_dbus_message_set_destination (ping, FUZZ_LIBRARY_NAME);
  g_dbus_message_set_serial (ping, FUZZ_PING_SERIAL);
  g_atomic_int_set (&bus->pinged, 0);
  bus_queue (bus, ping);
  bus_wake (bus);
}

/* Iterates the context until @flag is set, the connection is gone (the
 * library closed it, or said it is closed: sd-bus keeps the fd open until
 * the object goes) or @seconds pass. */
static gboolean
deadline_passed (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
iterate_until (FakeBus      *bus,
               GMainContext *context,
               gint         *flag,
               guint         seconds)
{
  g_autoptr(GSource) timeout = g_timeout_source_new_seconds (seconds);
  gboolean passed = FALSE;

  /* The deadline is a source of its own: an iteration that blocks with
   * nothing else to wake it (a library that waits for bytes that never
   * come) still ends. */
  g_source_set_callback (timeout, deadline_passed, &passed, NULL);
  g_source_attach (timeout, context);
  while (!g_atomic_int_get (flag) && !g_atomic_int_get (&bus->closed) &&
         !bus->disconnected && !passed)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timeout);
  return !passed || g_atomic_int_get (flag) || g_atomic_int_get (&bus->closed) ||
         bus->disconnected;
}

/* The length of the message that starts at @data, from its fixed header,
 * in 64 bits; 0 if the header is not one. GLib's
 * g_dbus_message_bytes_needed() adds the header-field length in 32 bits,
 * so a length near 4 GiB wraps to a short "message" (found by this
 * target): written as it is, the library reads on into the next message
 * and waits for bytes that never come, as any reader of a stream would.
 * A bus never sends a truncated message, so such input ends here. */
static guint64
message_length (const guint8 *data)
{
  guint32 body, fields;

  memcpy (&body, data + 4, 4);
  memcpy (&fields, data + 12, 4);
  if (data[0] == 'l')
    body = GUINT32_FROM_LE (body), fields = GUINT32_FROM_LE (fields);
  else if (data[0] == 'B')
    body = GUINT32_FROM_BE (body), fields = GUINT32_FROM_BE (fields);
  else
    return 0;
  return (((guint64) 16 + fields + 7) & ~(guint64) 7) + body;
}

/* A bus name as sd-bus takes it: GLib also lets ":.12" through. */
static gboolean
bus_name_ok (const char *name)
{
  const char *p;

  if (name == NULL)
    return TRUE;
  if (!g_dbus_is_name (name))
    return FALSE;
  p = name[0] == ':' ? name + 1 : name;
  return p[0] != '.' && strstr (p, "..") == NULL && !g_str_has_suffix (p, ".");
}

/* How many descriptors to send with a message: what its UNIX_FDS header
 * field asks for, if the message is well-formed (GDBus writes it back
 * byte for byte), else none. libsystemd 252 drops a message whose header
 * it refuses (a string with a NUL inside, a sender that is not a bus
 * name, serial 0, a header field 0, ...) without closing the
 * descriptors that came with it; that is sd-bus's leak, not eipc's, and
 * no bus delivers such a message (both check headers). */
static guint
message_unix_fds (const guint8 *data,
                  gsize         size)
{
  g_autoptr(GDBusMessage) m = NULL;
  g_autoptr(GUnixFDList) fds = NULL;
  g_autofree guchar *blob = NULL;
  gsize blob_size = 0;
  guint n;

  m = g_dbus_message_new_from_blob ((guchar *) data, size,
                                    G_DBUS_CAPABILITY_FLAGS_UNIX_FD_PASSING, NULL);
  if (m == NULL || (n = g_dbus_message_get_num_unix_fds (m)) == 0 || n > FUZZ_MAX_FDS)
    return 0;
  /* What sd-bus checks and GDBus does not when it reads: a serial, no
   * header field 0, the names. */
  if (g_dbus_message_get_serial (m) == 0)
    return 0;
  if (g_dbus_message_get_header (m, G_DBUS_MESSAGE_HEADER_FIELD_INVALID) != NULL)
    return 0;
  if (!bus_name_ok (g_dbus_message_get_sender (m)) ||
      !bus_name_ok (g_dbus_message_get_destination (m)) ||
      (g_dbus_message_get_interface (m) != NULL &&
       !g_dbus_is_interface_name (g_dbus_message_get_interface (m))) ||
      (g_dbus_message_get_member (m) != NULL &&
       !g_dbus_is_member_name (g_dbus_message_get_member (m))) ||
      (g_dbus_message_get_error_name (m) != NULL &&
       !g_dbus_is_interface_name (g_dbus_message_get_error_name (m))))
    return 0;
  fds = g_unix_fd_list_new ();
  for (guint i = 0; i < n; i++)
    if (g_unix_fd_list_append (fds, 0, NULL) < 0)
      return 0;
  g_dbus_message_set_unix_fd_list (m, fds);
  blob = g_dbus_message_to_blob (m, &blob_size, G_DBUS_CAPABILITY_FLAGS_UNIX_FD_PASSING, NULL);
  if (blob == NULL || blob_size != size || memcmp (blob, data, size) != 0)
    return 0;
  return n;
}

/* The fuzz input: each complete message in @data, as it is, then the
 * harness's ping; the next one when the library has answered the ping (so
 * what the library asked the bus on the way is answered first, as on a
 * real bus a renderer waits for Attach's reply before it sends). */
static void
bus_feed (FakeBus      *bus,
          GMainContext *context,
          const guint8 *data,
          gsize         size)
{
  gsize used = 0;
  guint n_fds;

  while (size - used >= 16 && !g_atomic_int_get (&bus->closed) &&
         !bus->disconnected)
    {
      gssize needed = g_dbus_message_bytes_needed ((guchar *) data + used, 16, NULL);

      if (needed <= 0 || (gsize) needed > size - used ||
          message_length (data + used) != (guint64) needed)
        break;
      if (verbose)
        {
          g_autoptr(GDBusMessage) m = NULL;
          g_autofree char *text = NULL;

          m = g_dbus_message_new_from_blob ((guchar *) data + used, needed,
                                            G_DBUS_CAPABILITY_FLAGS_UNIX_FD_PASSING, NULL);
          text = m != NULL ? g_dbus_message_print (m, 2) : g_strdup ("  (GDBus cannot parse it)\n");
          g_printerr ("fuzz-dbus: the input sends\n%s", text);
        }
      n_fds = message_unix_fds (data + used, needed);
      g_mutex_lock (&bus->lock);
      /* As many descriptors as the header asks for, or none (a message
       * with fewer is refused, and sd-bus 252 keeps what came with it):
       * one end of a socket pair each (what a MessagePort is). */
      if (n_fds > 0 && bus->n_peer_fds + n_fds <= FUZZ_MAX_INPUT_FDS)
        {
          bus->fds_at = bus->to_write->len;
          for (guint i = 0; i < n_fds; i++)
            {
              int pair[2];

              if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
                g_error ("socketpair: %s", g_strerror (errno));
              bus->fds[bus->n_fds++] = pair[0];
              bus->peer_fds[bus->n_peer_fds++] = pair[1];
            }
        }
      g_byte_array_append (bus->to_write, data + used, needed);
      g_mutex_unlock (&bus->lock);
      used += needed;
      bus_ping (bus);
      if (!iterate_until (bus, context, &bus->pinged, FUZZ_INPUT_TIMEOUT_S))
        g_error ("the library did not answer a ping in %d s", FUZZ_INPUT_TIMEOUT_S);
    }
}

/* Runs what is ready (deferred answers, idles), a bounded number of times. */
static void
iterate_pending (GMainContext *context)
{
  for (guint i = 0; i < 1000 && g_main_context_iteration (context, FALSE); i++)
    ;
}

static void
on_disconnected (FakeBus *bus)
{
  bus->disconnected = TRUE;
}

/* Handlers and listeners as an application has them. */

static void
read_args (EipcEvent *event)
{
  JsonArray *args = eipc_event_get_args (event);

  if (args != NULL)
    (void) json_array_get_length (args);
  (void) eipc_event_get_args_json (event);
  (void) eipc_event_get_channel (event);
  (void) eipc_event_get_sender_id (event);
  (void) eipc_event_get_sender_name (event);
  (void) eipc_event_get_ports (event);
}

static void
main_listener (EipcEvent *event,
               gpointer   user_data)
{
  g_autoptr(JsonNode) value = json_node_new (JSON_NODE_VALUE);

  read_args (event);
  json_node_set_string (value, "pong");
  if (eipc_event_get_kind (event) == EIPC_EVENT_SEND_SYNC)
    eipc_event_set_return_value (event, value);
  /* event.reply: to the sender's webContents (refused for id 0). */
  eipc_event_reply_json (event, "reply", "[1,\"two\"]", NULL);
}

static void
main_handler (EipcEvent *event,
              gpointer   user_data)
{
  JsonArray *args;

  read_args (event);
  args = eipc_event_get_args (event);
  if (args != NULL && json_array_get_length (args) > 0)
    {
      g_autoptr(JsonNode) first = json_array_dup_element (args, 0);
      eipc_event_resolve (event, first);
    }
  else
    eipc_event_reject (event, "no arguments");
}

static gboolean
deferred_resolve (gpointer data)
{
  EipcEvent *event = data;

  eipc_event_resolve_json (event, "{\"later\":true}", NULL);
  return G_SOURCE_REMOVE;
}

static void
deferring_handler (EipcEvent *event,
                   gpointer   user_data)
{
  read_args (event);
  g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, deferred_resolve,
                   g_object_ref (event), g_object_unref);
}

static void
main_broadcaster (EipcEvent *event,
                  gpointer   user_data)
{
  EipcMain *main = user_data;
  guint64 id = eipc_event_get_sender_id (event);
  EipcWebContents *wc;

  read_args (event);
  eipc_main_broadcast_json (main, "all", "[\"hello\"]", NULL);
  wc = id != 0 ? eipc_main_get_web_contents (main, id) : NULL;
  if (wc != NULL)
    eipc_web_contents_send_json (wc, "direct", "[{\"a\":1}]", NULL);
}

static void
main_invoked_renderer (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autofree char *text = NULL;

  text = eipc_web_contents_invoke_finish_json (EIPC_WEB_CONTENTS (source), result, NULL);
}

/* The main process invokes the sender back (webContents.invoke). */
static void
main_asker (EipcEvent *event,
            gpointer   user_data)
{
  EipcMain *main = user_data;
  guint64 id = eipc_event_get_sender_id (event);
  EipcWebContents *wc = id != 0 ? eipc_main_get_web_contents (main, id) : NULL;

  read_args (event);
  if (wc != NULL)
    eipc_web_contents_invoke_json (wc, "inv", eipc_event_get_args_json (event),
                                   cancellable, main_invoked_renderer, NULL);
}

static void
renderer_listener (EipcEvent *event,
                   gpointer   user_data)
{
  read_args (event);
}

static void
renderer_invoked (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autofree char *text = NULL;

  text = eipc_renderer_invoke_finish_json (EIPC_RENDERER (source), result, NULL);
}

/* A renderer that answers a message with a send and an invoke. */
static void
renderer_echo (EipcEvent *event,
               gpointer   user_data)
{
  EipcRenderer *renderer = user_data;

  read_args (event);
  eipc_renderer_send_json (renderer, "echo", eipc_event_get_args_json (event), NULL);
  eipc_renderer_invoke_json (renderer, "echo", eipc_event_get_args_json (event),
                             cancellable, renderer_invoked, NULL);
}

static void
renderer_handler (EipcEvent *event,
                  gpointer   user_data)
{
  read_args (event);
  eipc_event_resolve_json (event, "[\"renderer\"]", NULL);
}

static GObject *
new_main (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcMain) main = NULL;

  main = g_initable_new (EIPC_TYPE_MAIN, NULL, &error, "app-id", FUZZ_APP_ID,
                         "address", listen_address, NULL);
  if (main == NULL)
    g_error ("EipcMain on the fuzz bus: %s", error->message);
  eipc_main_on (main, "ch", main_listener, NULL, NULL);
  eipc_main_on (main, "broadcast", main_broadcaster, main, NULL);
  eipc_main_once (main, "once", main_listener, NULL, NULL);
  eipc_main_on (main, "ask", main_asker, main, NULL);
  if (!eipc_main_handle (main, "inv", main_handler, NULL, NULL, &error) ||
      !eipc_main_handle (main, "defer", deferring_handler, NULL, NULL, &error) ||
      !eipc_main_handle_once (main, "inv-once", main_handler, NULL, NULL, &error))
    g_error ("%s", error->message);
  return G_OBJECT (g_steal_pointer (&main));
}

static GObject *
new_renderer (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EipcRenderer) renderer = NULL;

  renderer = g_initable_new (EIPC_TYPE_RENDERER, NULL, &error,
                             "app-id", FUZZ_APP_ID, "address", listen_address,
                             "auto-reattach", TRUE, NULL);
  if (renderer == NULL)
    g_error ("EipcRenderer on the fuzz bus: %s", error->message);
  eipc_renderer_on (renderer, "ch", renderer_listener, NULL, NULL);
  eipc_renderer_once (renderer, "once", renderer_listener, NULL, NULL);
  eipc_renderer_on_host_message (renderer, renderer_listener, NULL, NULL);
  eipc_renderer_on (renderer, "echo", renderer_echo, renderer, NULL);
  if (!eipc_renderer_handle (renderer, "inv", renderer_handler, NULL, NULL, &error) ||
      !eipc_renderer_handle (renderer, "defer", deferring_handler, NULL, NULL, &error))
    g_error ("%s", error->message);
  return G_OBJECT (g_steal_pointer (&renderer));
}

/* GLib stops on a fatal message with SIGTRAP, which libFuzzer does not
 * catch: turn it into an abort, so the input is saved. */
static void
on_trap (int sig)
{
  abort ();
}

static void
setup_once (void)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  g_autofree char *name = NULL;

  if (listen_fd >= 0)
    return;
  /* A warning or a critical is a finding: the library warns when an
   * invariant breaks (say, arguments that skipped the validator). */
  g_log_set_always_fatal (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);
  signal (SIGTRAP, on_trap);
  name = g_strdup_printf ("eipc-fuzz-dbus-%d", (int) getpid ());
  memcpy (sa.sun_path + 1, name, strlen (name));
  listen_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd < 0 ||
      bind (listen_fd, (struct sockaddr *) &sa,
            offsetof (struct sockaddr_un, sun_path) + 1 + strlen (name)) < 0 ||
      listen (listen_fd, 4) < 0)
    g_error ("cannot listen on @%s: %s", name, g_strerror (errno));
  listen_address = g_strdup_printf ("unix:abstract=%s", name);
  verbose = g_getenv ("FUZZ_DBUS_VERBOSE") != NULL;
}

static guint
count_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  while (dir != NULL && g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static int fuzz_one (const guint8 *data, gsize size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static guint baseline;
  guint now;

  /* Descriptors the library keeps past an input are a finding. GLib
   * opens some once, for good (its worker thread's eventfd, say): an
   * input that leaves more open runs again, and only one that leaves
   * more again leaks. */
  if (baseline == 0)
    {
      fuzz_one ((const guint8 *) "\0", 1);
      fuzz_one ((const guint8 *) "\1", 1);
      baseline = count_fds ();
    }
  fuzz_one (data, size);
  now = count_fds ();
  if (now > baseline)
    {
      baseline = now;
      fuzz_one (data, size);
      now = count_fds ();
      if (now > baseline)
        g_error ("the input leaves %u file descriptors open each time",
                 now - baseline);
    }
  return 0;
}

static int
fuzz_one (const guint8 *data,
          gsize         size)
{
  GMainContext *context = g_main_context_default ();
  g_autoptr(GObject) object = NULL;
  FakeBus bus = { 0 };
  GThread *thread;

  if (size == 0)
    return 0;
  setup_once ();

  bus.renderer = data[0] & 1;
  bus.listen_fd = listen_fd;
  bus.context = context;
  bus.to_write = g_byte_array_new ();
  g_mutex_init (&bus.lock);
  if (!g_unix_open_pipe (bus.wake, FD_CLOEXEC, NULL))
    g_error ("pipe: %s", g_strerror (errno));
  g_unix_set_fd_nonblocking (bus.wake[0], TRUE, NULL);
  g_unix_set_fd_nonblocking (bus.wake[1], TRUE, NULL);
  thread = g_thread_new ("fuzz-bus", bus_thread, &bus);
  cancellable = g_cancellable_new ();

  object = bus.renderer ? new_renderer () : new_main ();
  g_signal_connect_swapped (object, "disconnected", G_CALLBACK (on_disconnected), &bus);
  iterate_pending (context);

  bus_feed (&bus, context, data + 1, size - 1);
  iterate_pending (context);

  /* The ports' other ends go; the calls the input left unanswered are
   * given up, as an application does; then dropping the object closes
   * its connection. */
  for (guint i = 0; i < bus.n_peer_fds; i++)
    close (bus.peer_fds[i]);
  iterate_pending (context);
  g_cancellable_cancel (cancellable);
  iterate_pending (context);
  g_clear_object (&cancellable);

  g_clear_object (&object);
  iterate_pending (context);
  bus.disconnected = FALSE;
  if (!iterate_until (&bus, context, &bus.closed, FUZZ_CLOSE_TIMEOUT_S))
    g_error ("the library kept its connection after its object was freed");

  g_mutex_lock (&bus.lock);
  bus.stop = TRUE;
  g_mutex_unlock (&bus.lock);
  bus_wake (&bus);
  g_thread_join (thread);
  iterate_pending (context);

  for (guint i = 0; i < bus.n_fds; i++)
    close (bus.fds[i]);
  close (bus.wake[0]);
  close (bus.wake[1]);
  g_byte_array_unref (bus.to_write);
  g_mutex_clear (&bus.lock);
  return 0;
}
