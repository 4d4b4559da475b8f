/* test-routing.c: webContents.send, event.reply, sendTo, sendToHost,
 * broadcast, main-to-renderer invoke, properties, spoofing
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "test-common.h"

typedef struct {
  EipcMain        *main;
  GDBusConnection *client;   /* a plain D-Bus client, never attached */
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->main = eipc_main_new (TEST_APP_ID, &error);
  g_assert_no_error (error);
  f->client = test_client_new ();
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_dbus_connection_close_sync (f->client, NULL, NULL);
  g_clear_object (&f->client);
  /* Let GDBus's queued signal dispatches run (and free their messages). */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_finalize_object (f->main);
}

static guint64
child_id (TestChild *child)
{
  g_autofree char *line = test_child_expect (child, "id ");

  return g_ascii_strtoull (line + 3, NULL, 10);
}

static void
quit_child (Fixture   *f,
            guint64    id)
{
  EipcWebContents *wc = eipc_main_get_web_contents (f->main, id);

  g_assert_nonnull (wc);
  g_assert_true (eipc_web_contents_send_json (wc, "quit", "[]", NULL));
}

/* sendTo: routed by the main process, with the real sender's id. */
static void
test_send_to (Fixture       *f,
              gconstpointer  data)
{
  TestChild *receiver = test_child_spawn ("listen:r", "listen:quit", "id", "wait:quit:1", NULL);
  guint64 receiver_id = child_id (receiver);
  g_autofree char *to = g_strdup_printf ("send-to:%" G_GUINT64_FORMAT ":r:[1,{\"k\":\"v\"}]", receiver_id);
  TestChild *sender = test_child_spawn ("id", to, "send-to:999:r:[2]", "send-to:0:r:[3]", NULL);
  guint64 sender_id = child_id (sender);
  g_autofree char *expected = g_strdup_printf ("msg r kind=send-to from=%" G_GUINT64_FORMAT " [1,{\"k\":\"v\"}]", sender_id);
  g_autofree char *got = test_child_expect (receiver, "msg r ");
  g_autofree char *sender_out = test_child_finish (sender, NULL);
  g_autofree char *receiver_out = NULL;
  g_autofree char *ok_line = g_strdup_printf ("send-to %" G_GUINT64_FORMAT " ok\n", receiver_id);

  g_assert_cmpstr (got, ==, expected);
  g_assert_nonnull (strstr (sender_out, ok_line));
  g_assert_nonnull (strstr (sender_out, "send-to 999 ! org.eipc.Error.NoSuchWebContents No webContents with id 999 is attached\n"));
  g_assert_nonnull (strstr (sender_out, "send-to 0 ! org.eipc.Error.NoSuchWebContents"));
  quit_child (f, receiver_id);
  receiver_out = test_child_finish (receiver, NULL);
  /* Only the one good message arrived. */
  g_assert_null (strstr (receiver_out, "[2]"));
  g_assert_null (strstr (receiver_out, "[3]"));
}

/* sendToHost reaches the host's ipc-message listener with the guest id. */
static void
test_send_to_host (Fixture       *f,
                   gconstpointer  data)
{
  TestChild *host = test_child_spawn ("host-listen", "listen:quit", "id", "wait:quit:1", NULL);
  guint64 host_id = child_id (host);
  g_autofree char *guest_arg = g_strdup_printf ("--guest=%" G_GUINT64_FORMAT, host_id);
  g_autofree char *refused_out = NULL;
  TestChild *guest;
  guint64 guest_id;
  int refused_status;

  /* Without the host's consent, no guest. */
  refused_out = test_run_renderer (&refused_status, guest_arg, "id", NULL);
  g_assert_cmpint (refused_status, !=, 0);
  g_assert_nonnull (strstr (refused_out, "org.eipc.Error.AccessDenied"));
  eipc_web_contents_set_allow_guests (eipc_main_get_web_contents (f->main, host_id), TRUE);

  guest = test_child_spawn (guest_arg, "id", "send-to-host:status:[\"ready\"]", NULL);
  guest_id = child_id (guest);
  g_autofree char *expected = g_strdup_printf ("host-msg status from=%" G_GUINT64_FORMAT " [\"ready\"]", guest_id);
  g_autofree char *got = test_child_expect (host, "host-msg ");
  g_autofree char *guest_out = test_child_finish (guest, NULL);
  g_autofree char *lonely_out = NULL, *orphan_out = NULL, *host_out = NULL;
  int status;

  g_assert_cmpstr (got, ==, expected);
  g_assert_nonnull (strstr (guest_out, "send-to-host ok"));
  g_assert_cmpuint (eipc_web_contents_get_host_id (eipc_main_get_web_contents (f->main, host_id)), ==, 0);

  /* Not a guest: a clear error. */
  lonely_out = test_run_renderer (&status, "send-to-host:status:[]", NULL);
  g_assert_nonnull (strstr (lonely_out, "send-to-host ! org.eipc.Error.NoHost"));

  /* A guest of a host that is not attached cannot attach. */
  orphan_out = test_run_renderer (&status, "--guest=4242", NULL);
  g_assert_cmpint (status, !=, 0);
  g_assert_nonnull (strstr (orphan_out, "org.eipc.Error.NoSuchWebContents"));

  quit_child (f, host_id);
  host_out = test_child_finish (host, NULL);
}

/* A broadcast is one signal on BASE/WebContents with no destination:
 * every renderer gets it, and so does any client that matches it. */
static void
on_broadcast_seen (GDBusConnection *connection,
                   const char      *sender,
                   const char      *path,
                   const char      *interface,
                   const char      *member,
                   GVariant        *parameters,
                   gpointer         user_data)
{
  (*(guint *) user_data)++;
  g_assert_cmpstr (path, ==, "/org/eipc/Test/WebContents");
  g_assert_cmpstr (member, ==, "Message");
}

static void
test_broadcast (Fixture       *f,
                gconstpointer  data)
{
  TestChild *children[3];
  guint64 ids[3];
  guint seen = 0, sub;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) bus_id = NULL;

  sub = g_dbus_connection_signal_subscribe (f->client, NULL, "org.eipc.WebContents1",
                                            "Message", "/org/eipc/Test/WebContents",
                                            NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                            on_broadcast_seen, &seen, NULL);
  for (int i = 0; i < 3; i++)
    {
      children[i] = test_child_spawn ("listen:news", "listen:quit", "id", "wait:news:1", "wait:quit:1", NULL);
      ids[i] = child_id (children[i]);
    }
  /* Make sure the bus has the subscription before the broadcast. */
  bus_id = g_dbus_connection_call_sync (f->client, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "GetId", NULL, NULL,
                                        G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  g_assert_no_error (error);

  g_assert_true (eipc_main_broadcast_json (f->main, "news", "[\"hot\"]", &error));
  g_assert_no_error (error);
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *line = test_child_expect (children[i], "msg news ");

      g_assert_cmpstr (line, ==, "msg news kind=broadcast from=0 [\"hot\"]");
    }
  while (seen == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (seen, ==, 1);

  for (int i = 0; i < 3; i++)
    {
      g_autofree char *out = NULL;

      quit_child (f, ids[i]);
      out = test_child_finish (children[i], NULL);
    }
  g_dbus_connection_signal_unsubscribe (f->client, sub);
}

/* event.reply reaches exactly the renderer that sent the event. */
static void
reply_listener (EipcEvent *event,
                gpointer   user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) args = json_array_new ();

  json_array_add_int_element (args, (gint64) eipc_event_get_sender_id (event));
  g_assert_true (eipc_event_reply (event, "pong", args, &error));
  g_assert_no_error (error);
}

static void
test_reply (Fixture       *f,
            gconstpointer  data)
{
  TestChild *a, *b;
  guint64 a_id, b_id;
  g_autofree char *b_out = NULL, *a_out = NULL, *expected = NULL;

  /* Before the renderers start: b sends at once. */
  eipc_main_on (f->main, "ping", reply_listener, NULL, NULL);
  a = test_child_spawn ("listen:pong", "listen:quit", "id", "wait:quit:1", NULL);
  a_id = child_id (a);
  b = test_child_spawn ("listen:pong", "listen:quit", "id", "send:ping:[]", "wait:pong:1", NULL);
  b_id = child_id (b);
  b_out = test_child_finish (b, NULL);
  expected = g_strdup_printf ("msg pong kind=send from=0 [%" G_GUINT64_FORMAT "]", b_id);
  g_assert_nonnull (strstr (b_out, expected));
  quit_child (f, a_id);
  a_out = test_child_finish (a, NULL);
  g_assert_null (strstr (a_out, "msg pong"));
}

/* Beyond Electron: the main process invokes a renderer's handler. */
typedef struct {
  gboolean  done;
  JsonNode *result;
  GError   *error;
} Result;

static void
invoke_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Result *r = user_data;

  r->result = eipc_web_contents_invoke_finish (EIPC_WEB_CONTENTS (source), result, &r->error);
  r->done = TRUE;
}

static void
invoke_renderer (EipcWebContents *wc,
                 const char      *channel,
                 Result          *r)
{
  memset (r, 0, sizeof *r);
  eipc_web_contents_invoke_json (wc, channel, "[1]", NULL, invoke_done, r);
  test_wait_for (&r->done, 10000);
}

typedef struct {
  gboolean  done;
  char     *text;
  GError   *error;
} TextResult;

static void
invoke_text_done (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  TextResult *r = user_data;

  r->text = eipc_web_contents_invoke_finish_json (EIPC_WEB_CONTENTS (source), result,
                                                  &r->error);
  r->done = TRUE;
}

static void
invoke_renderer_text (EipcWebContents *wc,
                      const char      *channel,
                      TextResult      *r)
{
  memset (r, 0, sizeof *r);
  eipc_web_contents_invoke_json (wc, channel, "[1]", NULL, invoke_text_done, r);
  test_wait_for (&r->done, 10000);
}

static void
test_invoke_renderer (Fixture       *f,
                      gconstpointer  data)
{
  TestChild *child = test_child_spawn ("handle:answer:{\"n\":42}", "handle-fail:bad:nope",
                                       "handle:spaced:{ \"n\" : 4.20 }",
                                       "listen:quit", "id", "wait:quit:1", NULL);
  guint64 id = child_id (child);
  EipcWebContents *wc = eipc_main_get_web_contents (f->main, id);
  g_autofree char *out = NULL, *text = NULL;
  TextResult t;
  Result r;

  /* As text: byte for byte what the renderer resolved with. */
  invoke_renderer_text (wc, "spaced", &t);
  g_assert_no_error (t.error);
  g_assert_cmpstr (t.text, ==, "{ \"n\" : 4.20 }");
  g_free (t.text);
  invoke_renderer_text (wc, "bad", &t);
  g_assert_null (t.text);
  g_assert_error (t.error, EIPC_ERROR, EIPC_ERROR_HANDLER_FAILED);
  g_assert_cmpstr (t.error->message, ==, "Error invoking remote method 'bad': Error: nope");
  g_clear_error (&t.error);

  invoke_renderer (wc, "answer", &r);
  g_assert_no_error (r.error);
  text = json_to_string (r.result, FALSE);
  g_assert_cmpstr (text, ==, "{\"n\":42}");
  json_node_unref (r.result);

  invoke_renderer (wc, "bad", &r);
  g_assert_error (r.error, EIPC_ERROR, EIPC_ERROR_HANDLER_FAILED);
  g_assert_cmpstr (r.error->message, ==, "Error invoking remote method 'bad': Error: nope");
  g_clear_error (&r.error);

  invoke_renderer (wc, "none", &r);
  g_assert_error (r.error, EIPC_ERROR, EIPC_ERROR_NO_HANDLER);
  g_assert_cmpstr (r.error->message, ==, "Error invoking remote method 'none': Error: No handler registered for 'none'");
  g_clear_error (&r.error);

  quit_child (f, id);
  out = test_child_finish (child, NULL);
}

/* Only the main process may speak to a renderer or invoke it: a client
 * that emits on a renderer's path, or calls its Invoke, is ignored or
 * refused. */
static void
test_spoofing (Fixture       *f,
               gconstpointer  data)
{
  TestChild *child = test_child_spawn ("handle:answer:1", "listen:x", "listen:quit", "id",
                                       "wait:quit:1", NULL);
  guint64 id = child_id (child);
  EipcWebContents *wc = eipc_main_get_web_contents (f->main, id);
  const char *renderer_name = eipc_web_contents_get_unique_name (wc);
  g_autofree char *path = g_strdup_printf ("/org/eipc/Test/WebContents/%" G_GUINT64_FORMAT, id);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autofree char *remote = NULL, *line = NULL, *out = NULL;

  g_dbus_connection_emit_signal (f->client, renderer_name, path, "org.eipc.WebContents1",
                                 "Message", g_variant_new ("(sst)", "x", "[\"forged\"]", (guint64) 0),
                                 &error);
  g_assert_no_error (error);
  g_dbus_connection_emit_signal (f->client, NULL, "/org/eipc/Test/WebContents",
                                 "org.eipc.WebContents1", "Message",
                                 g_variant_new ("(sst)", "x", "[\"forged broadcast\"]", (guint64) 0),
                                 &error);
  g_assert_no_error (error);
  reply = g_dbus_connection_call_sync (f->client, renderer_name, path, "org.eipc.Renderer1",
                                       "Invoke", g_variant_new ("(ss)", "answer", "[]"), NULL,
                                       G_DBUS_CALL_FLAGS_NONE, 5000, NULL, &error);
  g_assert_null (reply);
  remote = g_dbus_error_get_remote_error (error);
  g_assert_cmpstr (remote, ==, "org.eipc.Error.AccessDenied");

  /* The real one, after the forged ones, is the first the renderer sees. */
  g_assert_true (eipc_web_contents_send_json (wc, "x", "[\"real\"]", NULL));
  line = test_child_expect (child, "msg x ");
  g_assert_cmpstr (line, ==, "msg x kind=send from=0 [\"real\"]");
  quit_child (f, id);
  out = test_child_finish (child, NULL);
  g_assert_null (strstr (out, "forged"));
}

/* The main object's properties show the live state, with
 * PropertiesChanged when it changes. */
static GVariant *
get_property (Fixture    *f,
              const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  GVariant *value;

  /* EipcMain lives in this thread: call from another one. */
  reply = g_dbus_connection_call_sync (f->client, TEST_APP_ID, "/org/eipc/Test",
                                       "org.freedesktop.DBus.Properties", "Get",
                                       g_variant_new ("(ss)", "org.eipc.Main1", name),
                                       G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE,
                                       5000, NULL, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(v)", &value);
  return value;
}

typedef struct {
  Fixture    *f;
  const char *name;
  GVariant   *value;
} PropertyCall;

static gpointer
property_thread (gpointer data)
{
  PropertyCall *call = data;

  call->value = get_property (call->f, call->name);
  return NULL;
}

static GVariant *
get_property_async (Fixture    *f,
                    const char *name)
{
  PropertyCall call = { f, name, NULL };
  GThread *thread = g_thread_new ("get-property", property_thread, &call);

  while (g_atomic_pointer_get (&call.value) == NULL)
    g_main_context_iteration (NULL, FALSE);
  g_thread_join (thread);
  return call.value;
}

static void
on_properties_changed (GDBusConnection *connection,
                       const char      *sender,
                       const char      *path,
                       const char      *interface,
                       const char      *member,
                       GVariant        *parameters,
                       gpointer         user_data)
{
  GString *changed = user_data;
  g_autoptr(GVariant) props = g_variant_get_child_value (parameters, 1);
  g_autoptr(GVariant) invalidated = g_variant_get_child_value (parameters, 2);
  GVariantIter iter;
  const char *key;

  /* "NAME;" for a new value, "-NAME;" for an invalidated one. */
  g_variant_iter_init (&iter, props);
  while (g_variant_iter_next (&iter, "{&sv}", &key, NULL))
    g_string_append_printf (changed, "%s;", key);
  g_variant_iter_init (&iter, invalidated);
  while (g_variant_iter_next (&iter, "&s", &key))
    g_string_append_printf (changed, "-%s;", key);
}

/* WebContentsAttached / WebContentsDetached, in the same log. */
static void
on_web_contents_signal (GDBusConnection *connection,
                        const char      *sender,
                        const char      *path,
                        const char      *interface,
                        const char      *member,
                        GVariant        *parameters,
                        gpointer         user_data)
{
  GString *changed = user_data;
  g_autofree char *args = g_variant_print (parameters, TRUE);

  g_string_append_printf (changed, "%s%s;", member, args);
}

static void
noop_handler (EipcEvent *event,
              gpointer   user_data)
{
}

static void
test_properties (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GString) changed = g_string_new (NULL);
  g_autoptr(GVariant) channels = NULL;
  g_autoptr(GVariant) empty = NULL;
  g_autoptr(GVariant) listed = NULL;
  g_autoptr(GVariant) strict = NULL;
  g_autofree char *expected = NULL, *out = NULL, *printed = NULL;
  g_autofree char *want = NULL, *name = NULL, *pid = NULL;
  TestChild *child;
  guint64 id;
  guint sub, sub_wc;

  sub = g_dbus_connection_signal_subscribe (f->client, NULL, "org.freedesktop.DBus.Properties",
                                            "PropertiesChanged", "/org/eipc/Test", NULL,
                                            G_DBUS_SIGNAL_FLAGS_NONE, on_properties_changed,
                                            changed, NULL);
  sub_wc = g_dbus_connection_signal_subscribe (f->client, NULL, "org.eipc.Main1",
                                               NULL, "/org/eipc/Test", NULL,
                                               G_DBUS_SIGNAL_FLAGS_NONE, on_web_contents_signal,
                                               changed, NULL);
  /* A round trip after the subscription: the bus has the match rule. */
  g_variant_unref (get_property_async (f, "Strict"));
  eipc_main_handle (f->main, "b", noop_handler, NULL, NULL, NULL);
  eipc_main_handle (f->main, "a", noop_handler, NULL, NULL, NULL);
  channels = get_property_async (f, "Channels");
  printed = g_variant_print (channels, FALSE);
  g_assert_cmpstr (printed, ==, "['a', 'b']");

  child = test_child_spawn ("listen:quit", "id", "wait:quit:1", NULL);
  id = child_id (child);
  name = g_strdup (eipc_web_contents_get_unique_name (eipc_main_get_web_contents (f->main, id)));
  pid = g_strdup (test_child_pid (child));
  listed = get_property_async (f, "WebContents");
  expected = g_strdup_printf ("[(uint64 %" G_GUINT64_FORMAT ", '%s', uint32 %s, uint64 0)]", id,
                              eipc_web_contents_get_unique_name (eipc_main_get_web_contents (f->main, id)),
                              test_child_pid (child));
  g_free (printed);
  printed = g_variant_print (listed, TRUE);
  g_assert_cmpstr (printed, ==, expected);

  quit_child (f, id);
  out = test_child_finish (child, NULL);
  while (eipc_main_get_web_contents (f->main, id) != NULL)
    g_main_context_iteration (NULL, TRUE);
  empty = get_property_async (f, "WebContents");
  g_assert_cmpuint (g_variant_n_children (empty), ==, 0);

  eipc_main_set_strict (f->main, TRUE);
  strict = get_property_async (f, "Strict");
  g_assert_true (g_variant_get_boolean (strict));

  while (!strstr (changed->str, "Strict;"))
    g_main_context_iteration (NULL, TRUE);
  /* Two handlers, an attach, a detach, strict. An attach or a detach
   * carries its one entry in its own signal and only invalidates the
   * list, whose size grows with the renderers. */
  want = g_strdup_printf ("Channels;Channels;"
                          "WebContentsAttached(uint64 %" G_GUINT64_FORMAT ", '%s', uint32 %s, uint64 0);"
                          "-WebContents;"
                          "WebContentsDetached(uint64 %" G_GUINT64_FORMAT ", '%s');"
                          "-WebContents;Strict;",
                          id, name, pid, id, name);
  g_assert_cmpstr (changed->str, ==, want);
  g_dbus_connection_signal_unsubscribe (f->client, sub);
  g_dbus_connection_signal_unsubscribe (f->client, sub_wc);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  test_bus_up ();

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/ipc/routing/send-to", test_send_to);
  ADD ("/ipc/routing/send-to-host", test_send_to_host);
  ADD ("/ipc/routing/broadcast", test_broadcast);
  ADD ("/ipc/routing/reply", test_reply);
  ADD ("/ipc/routing/invoke-renderer", test_invoke_renderer);
  ADD ("/ipc/routing/spoofing", test_spoofing);
  ADD ("/ipc/routing/properties", test_properties);

  ret = g_test_run ();
  test_bus_down ();
  return ret;
}
