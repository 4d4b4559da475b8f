/* fuzz-dbus-seeds.c: writes the seed corpus of fuzz-dbus
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   fuzz-dbus-seeds DIR      (tools/fuzz-dbus-seeds.sh runs it)
 *
 * Each seed is a selector byte (0: the library is an EipcMain, 1: an
 * EipcRenderer) and D-Bus messages in wire format, built with GDBusMessage
 * as the eipc code builds them (the XML in introspection/): what renderers send
 * to a main process (Attach, Invoke, SendSync, SendTo, SendToHost, Detach,
 * the Renderer1.Message signal, property reads) and what a main process
 * sends to a renderer (WebContents1.Message, HostMessage, broadcasts,
 * Renderer1.Invoke, NameOwnerChanged of the app name), plus the forged and
 * unrequested messages of issue 8. Names follow fuzz-dbus.c: the library is
 * ":1.100", the app org.eipc.Fuzz, a renderer's main ":1.1" and its id 7.
 */

#include <stdio.h>
#include <string.h>

#include <gio/gio.h>
#include <gio/gunixfdlist.h>

#define APP       "org.eipc.Fuzz"
#define BASE      "/org/eipc/Fuzz"
#define LIBRARY   ":1.100"
#define MAIN_NAME ":1.1"
#define DRIVER    "org.freedesktop.DBus"

static GByteArray *seed;
static guint32 serial;

static void
seed_begin (guint8 selector)
{
  seed = g_byte_array_new ();
  g_byte_array_append (seed, &selector, 1);
  serial = 0;
}

static void
seed_add (GDBusMessage *m,
          const char   *sender,
          const char   *destination)
{
  g_autoptr(GError) error = NULL;
  g_autofree guchar *blob = NULL;
  gsize size;

  if (sender != NULL)
    g_dbus_message_set_sender (m, sender);
  if (destination != NULL)
    g_dbus_message_set_destination (m, destination);
  if (g_dbus_message_get_serial (m) == 0)
    g_dbus_message_set_serial (m, ++serial);
  blob = g_dbus_message_to_blob (m, &size, G_DBUS_CAPABILITY_FLAGS_UNIX_FD_PASSING, &error);
  g_assert_no_error (error);
  g_byte_array_append (seed, blob, size);
  g_object_unref (m);
}

static void
call (const char *sender,
      const char *destination,
      const char *path,
      const char *interface,
      const char *member,
      GVariant   *body)
{
  GDBusMessage *m = g_dbus_message_new_method_call (NULL, path, interface, member);

  if (body != NULL)
    g_dbus_message_set_body (m, body);
  seed_add (m, sender, destination);
}

static void
signal_ (const char *sender,
         const char *destination,
         const char *path,
         const char *interface,
         const char *member,
         GVariant   *body)
{
  GDBusMessage *m = g_dbus_message_new_signal (path, interface, member);

  if (body != NULL)
    g_dbus_message_set_body (m, body);
  seed_add (m, sender, destination);
}

static void
reply (const char *sender,
       guint32     reply_serial,
       GVariant   *body)
{
  GDBusMessage *m = g_dbus_message_new ();

  g_dbus_message_set_message_type (m, G_DBUS_MESSAGE_TYPE_METHOD_RETURN);
  g_dbus_message_set_reply_serial (m, reply_serial);
  if (body != NULL)
    g_dbus_message_set_body (m, body);
  seed_add (m, sender, LIBRARY);
}

static void
error_reply (const char *sender,
             guint32     reply_serial,
             const char *name,
             const char *text)
{
  GDBusMessage *m = g_dbus_message_new ();

  g_dbus_message_set_message_type (m, G_DBUS_MESSAGE_TYPE_ERROR);
  g_dbus_message_set_reply_serial (m, reply_serial);
  g_dbus_message_set_error_name (m, name);
  g_dbus_message_set_body (m, g_variant_new ("(s)", text));
  seed_add (m, sender, LIBRARY);
}

static GDBusMessage *
call_new (const char *path,
          const char *interface,
          const char *member)
{
  return g_dbus_message_new_method_call (NULL, path, interface, member);
}

/* A postMessage with @n_ports ports, the first at index @first (an index
 * past the descriptors is what a bad peer sends). */
static void
post_message (GDBusMessage *m,
              const char   *sender,
              const char   *destination,
              guint         n_ports,
              guint         first)
{
  g_autoptr(GUnixFDList) fds = g_unix_fd_list_new ();
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(hb)"));
  for (guint i = 0; i < n_ports; i++)
    {
      g_unix_fd_list_append (fds, 0, NULL);
      g_variant_builder_add (&b, "(hb)", first + i, i % 2 == 1);
    }
  g_dbus_message_set_body (m, g_variant_new ("(ssa(hb))", "ch", "{\"hi\":[1]}", &b));
  if (n_ports > 0)
    g_dbus_message_set_unix_fd_list (m, fds);
  seed_add (m, sender, destination);
}

static void
seed_write (const char *dir,
            const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (dir, name, NULL);

  if (!g_file_set_contents (path, (const char *) seed->data, seed->len, &error))
    g_error ("%s", error->message);
  g_byte_array_unref (seed);
  seed = NULL;
}

/* A renderer ":1.N" attaches (as a guest of HOST when non-zero). */
static void
attach (const char *who,
        guint64     host)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a{sv}"));
  if (host != 0)
    g_variant_builder_add (&b, "{sv}", "host", g_variant_new_uint64 (host));
  call (who, APP, BASE, "org.eipc.Main1", "Attach", g_variant_new ("(a{sv})", &b));
}

static void
main_seeds (const char *dir)
{
  /* Invoke, handled now, later, once, and by nobody. */
  seed_begin (0);
  call (":1.2", APP, BASE, "org.eipc.Main1", "Invoke", g_variant_new ("(ss)", "inv", "[1,\"two\",{\"three\":[3]}]"));
  call (":1.2", APP, BASE, "org.eipc.Main1", "Invoke", g_variant_new ("(ss)", "defer", "[]"));
  call (":1.2", APP, BASE, "org.eipc.Main1", "Invoke", g_variant_new ("(ss)", "inv-once", "[null]"));
  call (":1.2", APP, BASE, "org.eipc.Main1", "Invoke", g_variant_new ("(ss)", "inv-once", "[true]"));
  call (":1.2", APP, BASE, "org.eipc.Main1", "Invoke", g_variant_new ("(ss)", "nobody", "[]"));
  seed_write (dir, "main-invoke");

  seed_begin (0);
  call (":1.2", APP, BASE, "org.eipc.Main1", "SendSync", g_variant_new ("(ss)", "ch", "[\"x\"]"));
  call (":1.2", APP, BASE, "org.eipc.Main1", "SendSync", g_variant_new ("(ss)", "nobody", "[]"));
  call (":1.2", APP, BASE, "org.eipc.Main1", "Invoke", g_variant_new ("(ss)", "inv", "[1,"));
  call (":1.2", APP, BASE, "org.eipc.Main1", "Invoke", g_variant_new ("(ss)", "", "[]"));
  call (":1.2", APP, BASE, "org.eipc.Main1", "Invoke", g_variant_new ("(ss)", "inv", "{}"));
  seed_write (dir, "main-sendsync-bad");

  /* A renderer's life: attach, send, invoke, route, detach. */
  seed_begin (0);
  attach (":1.2", 0);
  signal_ (":1.2", APP, BASE "/WebContents/1", "org.eipc.Renderer1", "Message",
           g_variant_new ("(ss)", "ch", "[{\"a\":[1,2,3]},\"b\"]"));
  signal_ (":1.2", APP, BASE "/WebContents/1", "org.eipc.Renderer1", "Message",
           g_variant_new ("(ss)", "broadcast", "[]"));
  signal_ (":1.2", APP, BASE "/WebContents/1", "org.eipc.Renderer1", "Message",
           g_variant_new ("(ss)", "once", "[1]"));
  call (":1.2", APP, BASE, "org.eipc.Main1", "Invoke", g_variant_new ("(ss)", "inv", "[\"id\"]"));
  call (":1.2", APP, BASE, "org.eipc.Main1", "SendSync", g_variant_new ("(ss)", "ch", "[]"));
  call (":1.2", APP, BASE, "org.eipc.Main1", "SendTo", g_variant_new ("(tss)", (guint64) 1, "ch", "[2]"));
  call (":1.2", APP, BASE, "org.eipc.Main1", "SendTo", g_variant_new ("(tss)", (guint64) 99, "ch", "[2]"));
  call (":1.2", APP, BASE, "org.eipc.Main1", "SendToHost", g_variant_new ("(ss)", "ch", "[]"));
  call (":1.2", APP, BASE, "org.eipc.Main1", "Detach", NULL);
  call (":1.2", APP, BASE, "org.eipc.Main1", "Detach", NULL);
  seed_write (dir, "main-renderer-life");

  /* The main process invokes a renderer back (its calls are serials 13
   * and 17 here); the renderer answers, and someone else tries to. */
  seed_begin (0);
  attach (":1.2", 0);
  signal_ (":1.2", APP, BASE "/WebContents/1", "org.eipc.Renderer1", "Message",
           g_variant_new ("(ss)", "ask", "[\"q\"]"));
  reply (":1.3", 13, g_variant_new ("(s)", "\"forged\""));
  reply (":1.2", 13, g_variant_new ("(s)", "\"answer\""));
  signal_ (":1.2", APP, BASE "/WebContents/1", "org.eipc.Renderer1", "Message",
           g_variant_new ("(ss)", "ask", "[]"));
  error_reply (":1.2", 17, "org.eipc.Error.HandlerFailed", "Error invoking remote method 'inv': Error: no");
  signal_ (":1.2", APP, BASE "/WebContents/1", "org.eipc.Renderer1", "Message",
           g_variant_new ("(ss)", "ask", "[3]"));
  signal_ (DRIVER, NULL, "/org/freedesktop/DBus", DRIVER, "NameOwnerChanged",
           g_variant_new ("(sss)", ":1.2", ":1.2", ""));
  seed_write (dir, "main-invokes-renderer");

  /* Two renderers, a guest, and one leaving the bus. */
  seed_begin (0);
  attach (":1.2", 0);
  attach (":1.3", 1);
  attach (":1.3", 0);
  call (":1.3", APP, BASE, "org.eipc.Main1", "SendToHost", g_variant_new ("(ss)", "ch", "[\"to host\"]"));
  call (":1.2", APP, BASE, "org.eipc.Main1", "SendTo", g_variant_new ("(tss)", (guint64) 2, "ch", "[]"));
  signal_ (DRIVER, NULL, "/org/freedesktop/DBus", DRIVER, "NameOwnerChanged",
           g_variant_new ("(sss)", ":1.2", ":1.2", ""));
  call (":1.3", APP, BASE, "org.eipc.Main1", "SendTo", g_variant_new ("(tss)", (guint64) 1, "ch", "[]"));
  seed_write (dir, "main-two-renderers");

  /* Forged: a renderer's send from a path that is not its own, a signal
   * from someone else's id, and replies nobody asked for. */
  seed_begin (0);
  attach (":1.2", 0);
  signal_ (":1.3", APP, BASE "/WebContents/1", "org.eipc.Renderer1", "Message",
           g_variant_new ("(ss)", "ch", "[]"));
  signal_ (":1.2", APP, BASE "/WebContents/5", "org.eipc.Renderer1", "Message",
           g_variant_new ("(ss)", "ch", "[]"));
  signal_ (":1.2", APP, BASE "/WebContents/01", "org.eipc.Renderer1", "Message",
           g_variant_new ("(ss)", "ch", "[]"));
  reply (":1.2", 3, g_variant_new ("(s)", "\"forged\""));
  error_reply (":1.3", 4, "org.eipc.Error.HandlerFailed", "forged");
  signal_ (":1.3", NULL, "/org/freedesktop/DBus", DRIVER, "NameOwnerChanged",
           g_variant_new ("(sss)", ":1.2", ":1.2", ""));
  seed_write (dir, "main-forged");

  /* No sender at all (only a broken bus sends such): every member. */
  seed_begin (0);
  attach (NULL, 0);
  call (NULL, APP, BASE, "org.eipc.Main1", "Invoke", g_variant_new ("(ss)", "inv", "[1]"));
  call (NULL, APP, BASE, "org.eipc.Main1", "SendSync", g_variant_new ("(ss)", "ch", "[]"));
  call (NULL, APP, BASE, "org.eipc.Main1", "SendTo", g_variant_new ("(tss)", (guint64) 1, "ch", "[]"));
  call (NULL, APP, BASE, "org.eipc.Main1", "SendToHost", g_variant_new ("(ss)", "ch", "[]"));
  call (NULL, APP, BASE, "org.eipc.Main1", "Detach", NULL);
  signal_ (NULL, APP, BASE, "org.eipc.Renderer1", "Message", g_variant_new ("(ss)", "ch", "[]"));
  signal_ (NULL, NULL, "/org/freedesktop/DBus", DRIVER, "NameOwnerChanged",
           g_variant_new ("(sss)", ":1.2", ":1.2", ""));
  seed_write (dir, "main-no-sender");

  /* Properties, introspection, and members that do not exist. */
  seed_begin (0);
  call (":1.2", APP, BASE, "org.freedesktop.DBus.Properties", "GetAll", g_variant_new ("(s)", "org.eipc.Main1"));
  call (":1.2", APP, BASE, "org.freedesktop.DBus.Properties", "Get", g_variant_new ("(ss)", "org.eipc.Main1", "WebContents"));
  call (":1.2", APP, BASE, "org.freedesktop.DBus.Properties", "Get", g_variant_new ("(ss)", "org.eipc.Main1", "Channels"));
  call (":1.2", APP, BASE, "org.freedesktop.DBus.Properties", "Set",
        g_variant_new ("(ssv)", "org.eipc.Main1", "Strict", g_variant_new_boolean (TRUE)));
  call (":1.2", APP, BASE, "org.freedesktop.DBus.Introspectable", "Introspect", NULL);
  call (":1.2", APP, "/", "org.freedesktop.DBus.Introspectable", "Introspect", NULL);
  call (":1.2", APP, BASE, "org.eipc.Main1", "Nope", NULL);
  call (":1.2", APP, BASE, "org.eipc.Main1", "Invoke", g_variant_new ("(s)", "inv"));
  call (":1.2", APP, BASE, "org.eipc.Main1", "Attach", g_variant_new ("(s)", "x"));
  seed_write (dir, "main-properties");

  /* PostMessage with ports (the harness passes a socket for each
   * descriptor the header asks for), and an index past them. */
  seed_begin (0);
  attach (":1.2", 0);
  post_message (call_new (BASE, "org.eipc.Main1", "PostMessage"), ":1.2", APP, 1, 0);
  post_message (call_new (BASE, "org.eipc.Main1", "PostMessage"), ":1.2", APP, 2, 0);
  post_message (call_new (BASE, "org.eipc.Main1", "PostMessage"), ":1.2", APP, 1, 1);
  post_message (call_new (BASE, "org.eipc.Main1", "PostMessage"), ":1.2", APP, 0, 0);
  call (":1.2", APP, BASE, "org.eipc.Main1", "PostMessage",
        g_variant_new ("(ssa(hb))", "ch", "{\"a\":1}", NULL));
  seed_write (dir, "main-post-message");

  /* Deep and large JSON for a handler that reads its arguments. */
  seed_begin (0);
  {
    GString *deep = g_string_new ("[");

    for (guint i = 0; i < 200; i++)
      g_string_append (deep, "[");
    for (guint i = 0; i < 200; i++)
      g_string_append (deep, "]");
    g_string_append (deep, "]");
    call (":1.2", APP, BASE, "org.eipc.Main1", "Invoke", g_variant_new ("(ss)", "inv", deep->str));
    g_string_free (deep, TRUE);
  }
  call (":1.2", APP, BASE, "org.eipc.Main1", "Invoke",
        g_variant_new ("(ss)", "inv", "[1e400,-0,\"\\ud800\",\"\\u0000\",12345678901234567890]"));
  seed_write (dir, "main-json");
}

static void
renderer_seeds (const char *dir)
{
  const char *path = BASE "/WebContents/7";

  /* What the main process sends: messages, host messages, broadcasts. */
  seed_begin (1);
  signal_ (MAIN_NAME, LIBRARY, path, "org.eipc.WebContents1", "Message",
           g_variant_new ("(sst)", "ch", "[1,{\"b\":null}]", (guint64) 0));
  signal_ (MAIN_NAME, LIBRARY, path, "org.eipc.WebContents1", "Message",
           g_variant_new ("(sst)", "once", "[]", (guint64) 3));
  signal_ (MAIN_NAME, LIBRARY, path, "org.eipc.WebContents1", "Message",
           g_variant_new ("(sst)", "once", "[]", (guint64) 3));
  signal_ (MAIN_NAME, LIBRARY, path, "org.eipc.WebContents1", "HostMessage",
           g_variant_new ("(sst)", "ch", "[\"from guest\"]", (guint64) 8));
  signal_ (MAIN_NAME, NULL, BASE "/WebContents", "org.eipc.WebContents1", "Message",
           g_variant_new ("(sst)", "ch", "[\"everyone\"]", (guint64) 0));
  signal_ (MAIN_NAME, LIBRARY, path, "org.eipc.WebContents1", "Message",
           g_variant_new ("(sst)", "ch", "not json", (guint64) 0));
  seed_write (dir, "renderer-messages");

  /* webContents.postMessage: ports for the renderer. */
  seed_begin (1);
  post_message (g_dbus_message_new_signal (path, "org.eipc.WebContents1", "PostMessage"),
                MAIN_NAME, LIBRARY, 1, 0);
  post_message (g_dbus_message_new_signal (path, "org.eipc.WebContents1", "PostMessage"),
                MAIN_NAME, LIBRARY, 2, 0);
  post_message (g_dbus_message_new_signal (path, "org.eipc.WebContents1", "PostMessage"),
                MAIN_NAME, LIBRARY, 1, 3);
  seed_write (dir, "renderer-post-message");

  /* A message the renderer answers with a send and an invoke (serials 8
   * and 13 here): the real answers, a late forged one, one left pending. */
  seed_begin (1);
  signal_ (MAIN_NAME, LIBRARY, path, "org.eipc.WebContents1", "Message",
           g_variant_new ("(sst)", "echo", "[1]", (guint64) 0));
  reply (MAIN_NAME, 8, g_variant_new ("(s)", "\"result\""));
  reply (":1.3", 8, g_variant_new ("(s)", "\"forged\""));
  signal_ (MAIN_NAME, LIBRARY, path, "org.eipc.WebContents1", "Message",
           g_variant_new ("(sst)", "echo", "[{}]", (guint64) 0));
  error_reply (MAIN_NAME, 13, "org.eipc.Error.NoHandler", "No handler registered for 'echo'");
  signal_ (MAIN_NAME, LIBRARY, path, "org.eipc.WebContents1", "Message",
           g_variant_new ("(sst)", "echo", "[]", (guint64) 0));
  seed_write (dir, "renderer-echo");

  /* The main process invokes the renderer. */
  seed_begin (1);
  call (MAIN_NAME, LIBRARY, path, "org.eipc.Renderer1", "Invoke", g_variant_new ("(ss)", "inv", "[1]"));
  call (MAIN_NAME, LIBRARY, path, "org.eipc.Renderer1", "Invoke", g_variant_new ("(ss)", "defer", "[]"));
  call (MAIN_NAME, LIBRARY, path, "org.eipc.Renderer1", "Invoke", g_variant_new ("(ss)", "nobody", "[]"));
  call (MAIN_NAME, LIBRARY, path, "org.eipc.Renderer1", "Invoke", g_variant_new ("(ss)", "inv", "[,]"));
  call (MAIN_NAME, LIBRARY, BASE "/WebContents/8", "org.eipc.Renderer1", "Invoke", g_variant_new ("(ss)", "inv", "[]"));
  call (MAIN_NAME, LIBRARY, path, "org.freedesktop.DBus.Introspectable", "Introspect", NULL);
  seed_write (dir, "renderer-invoke");

  /* Forged: another client speaks as the main process. */
  seed_begin (1);
  signal_ (":1.3", LIBRARY, path, "org.eipc.WebContents1", "Message",
           g_variant_new ("(sst)", "ch", "[\"forged\"]", (guint64) 0));
  call (":1.3", LIBRARY, path, "org.eipc.Renderer1", "Invoke", g_variant_new ("(ss)", "inv", "[]"));
  reply (":1.3", 5, g_variant_new ("(s)", "\"forged\""));
  reply (":1.3", 6, g_variant_new ("(to)", (guint64) 66, BASE "/WebContents/66"));
  error_reply (":1.3", 7, "org.eipc.Error.NoHandler", "forged");
  signal_ (":1.3", NULL, "/org/freedesktop/DBus", DRIVER, "NameOwnerChanged",
           g_variant_new ("(sss)", APP, MAIN_NAME, ""));
  seed_write (dir, "renderer-forged");

  /* No sender at all. */
  seed_begin (1);
  signal_ (NULL, LIBRARY, path, "org.eipc.WebContents1", "Message",
           g_variant_new ("(sst)", "ch", "[]", (guint64) 0));
  call (NULL, LIBRARY, path, "org.eipc.Renderer1", "Invoke", g_variant_new ("(ss)", "inv", "[]"));
  reply (NULL, 5, g_variant_new ("(s)", "\"forged\""));
  signal_ (NULL, NULL, "/org/freedesktop/DBus", DRIVER, "NameOwnerChanged",
           g_variant_new ("(sss)", APP, MAIN_NAME, ""));
  seed_write (dir, "renderer-no-sender");

  /* The main process leaves and a new one takes the name: re-attach. */
  seed_begin (1);
  signal_ (DRIVER, NULL, "/org/freedesktop/DBus", DRIVER, "NameOwnerChanged",
           g_variant_new ("(sss)", APP, MAIN_NAME, ""));
  signal_ (DRIVER, NULL, "/org/freedesktop/DBus", DRIVER, "NameOwnerChanged",
           g_variant_new ("(sss)", APP, "", ":1.5"));
  signal_ (":1.5", LIBRARY, path, "org.eipc.WebContents1", "Message",
           g_variant_new ("(sst)", "ch", "[]", (guint64) 0));
  seed_write (dir, "renderer-main-gone");

  /* The same, and the old main process back. */
  seed_begin (1);
  signal_ (DRIVER, NULL, "/org/freedesktop/DBus", DRIVER, "NameOwnerChanged",
           g_variant_new ("(sss)", APP, MAIN_NAME, ""));
  signal_ (DRIVER, NULL, "/org/freedesktop/DBus", DRIVER, "NameOwnerChanged",
           g_variant_new ("(sss)", APP, "", MAIN_NAME));
  signal_ (MAIN_NAME, LIBRARY, path, "org.eipc.WebContents1", "Message",
           g_variant_new ("(sst)", "ch", "[]", (guint64) 0));
  seed_write (dir, "renderer-main-back");
}

int
main (int   argc,
      char *argv[])
{
  if (argc != 2)
    {
      fprintf (stderr, "usage: %s DIR\n", argv[0]);
      return 2;
    }
  g_mkdir_with_parents (argv[1], 0755);
  main_seeds (argv[1]);
  renderer_seeds (argv[1]);
  return 0;
}
