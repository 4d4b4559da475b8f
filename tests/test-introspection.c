/* test-introspection.c: the introspection XML against the live objects
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The XML files are the wire contract. This test parses them and the
 * Introspect() output of a real main process and a real renderer, and
 * checks that every interface has exactly the same methods, signals and
 * properties (names, argument types and names in order, access,
 * annotations) both ways. It also checks that every interface, member
 * and argument in the files is documented.
 */

#include <string.h>
#include <sys/socket.h>

#include <glib/gstdio.h>

#include "test-common.h"

#define EMITS_CHANGED  "org.freedesktop.DBus.Property.EmitsChangedSignal"
#define PRIVILEGED     "org.freedesktop.systemd1.Privileged"

static const char *interface_files[] = {
  "org.eipc.Main1",
  "org.eipc.Port1",
  "org.eipc.Renderer1",
  "org.eipc.WebContents1",
};

/* ---- the XML files ---- */

static char *
interface_file_path (const char *name)
{
  g_autofree char *file = g_strconcat (name, ".xml", NULL);

  return g_test_build_filename (G_TEST_DIST, "..", "introspection", file, NULL);
}

/* Parses introspection/NAME.xml, which must hold exactly the interface
 * NAME. */
static GDBusNodeInfo *
load_interface_file (const char *name)
{
  g_autofree char *path = interface_file_path (name);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  GDBusNodeInfo *node;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  node = g_dbus_node_info_new_for_xml (text, &error);
  g_assert_no_error (error);
  g_assert_nonnull (node->interfaces);
  if (node->interfaces[0] == NULL || node->interfaces[1] != NULL ||
      strcmp (node->interfaces[0]->name, name) != 0)
    g_error ("%s must hold exactly one interface, %s", path, name);
  return node;
}

/* ---- Introspect() over GDBus ----
 *
 * The EipcMain lives in this thread's default main context, so the call
 * is asynchronous and the test iterates that context while it waits. */

typedef struct {
  gboolean  done;
  char     *xml;
  GError   *error;
} IntrospectCall;

static void
introspect_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  IntrospectCall *call = user_data;
  g_autoptr(GVariant) reply = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result,
                                         &call->error);
  if (reply != NULL)
    g_variant_get (reply, "(s)", &call->xml);
  call->done = TRUE;
}

static char *
introspect (GDBusConnection  *connection,
            const char       *destination,
            const char       *path,
            GError          **error)
{
  IntrospectCall call = { FALSE, NULL, NULL };

  g_dbus_connection_call (connection, destination, path,
                          "org.freedesktop.DBus.Introspectable", "Introspect",
                          NULL, G_VARIANT_TYPE ("(s)"),
                          G_DBUS_CALL_FLAGS_NO_AUTO_START, 10000, NULL,
                          introspect_done, &call);
  test_wait_for (&call.done, 15000);
  if (call.error != NULL)
    g_propagate_error (error, call.error);
  return call.xml;
}

static GDBusNodeInfo *
introspect_node (GDBusConnection *connection,
                 const char      *destination,
                 const char      *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *xml = introspect (connection, destination, path, &error);
  GDBusNodeInfo *node;

  if (xml == NULL)
    g_error ("Introspect of %s on %s failed: %s", path, destination, error->message);
  node = g_dbus_node_info_new_for_xml (xml, &error);
  g_assert_no_error (error);
  return node;
}

static GDBusConnection *
connect_to_test_bus (void)
{
  g_autoptr(GError) error = NULL;
  GDBusConnection *connection;

  connection = g_dbus_connection_new_for_address_sync (
      test_bus_address (),
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
      G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
      NULL, NULL, &error);
  g_assert_no_error (error);
  return connection;
}

static gboolean
node_has_child (GDBusNodeInfo *node,
                const char    *name)
{
  for (guint i = 0; node->nodes != NULL && node->nodes[i] != NULL; i++)
    if (g_strcmp0 (node->nodes[i]->path, name) == 0)
      return TRUE;
  return FALSE;
}

static guint
node_n_children (GDBusNodeInfo *node)
{
  guint n = 0;

  while (node->nodes != NULL && node->nodes[n] != NULL)
    n++;
  return n;
}

/* ---- comparing interfaces ----
 *
 * Every member is turned into one line of text (its arguments, access
 * and annotations), so a mismatch is reported as the two lines. */

static gint
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

static void
describe_annotations (GString              *out,
                      GDBusAnnotationInfo **annotations,
                      const char           *default_name,
                      const char           *default_value)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_free);
  gboolean has_default = FALSE;

  for (guint i = 0; annotations != NULL && annotations[i] != NULL; i++)
    {
      g_ptr_array_add (items, g_strdup_printf ("%s=%s", annotations[i]->key,
                                               annotations[i]->value));
      if (g_strcmp0 (annotations[i]->key, default_name) == 0)
        has_default = TRUE;
    }
  /* A missing annotation means its default value (as for
   * EmitsChangedSignal, whose default is "true"). */
  if (default_name != NULL && !has_default)
    g_ptr_array_add (items, g_strdup_printf ("%s=%s", default_name, default_value));
  if (items->len == 0)
    return;
  g_ptr_array_sort (items, compare_strings);
  g_string_append (out, " [");
  for (guint i = 0; i < items->len; i++)
    g_string_append_printf (out, "%s%s", i > 0 ? ", " : "",
                            (char *) g_ptr_array_index (items, i));
  g_string_append_c (out, ']');
}

static void
describe_args (GString        *out,
               GDBusArgInfo  **args)
{
  g_string_append_c (out, '(');
  for (guint i = 0; args != NULL && args[i] != NULL; i++)
    g_string_append_printf (out, "%s%s %s", i > 0 ? ", " : "",
                            args[i]->signature, args[i]->name);
  g_string_append_c (out, ')');
}

static char *
describe_method (GDBusMethodInfo *method)
{
  GString *out = g_string_new ("in");

  describe_args (out, method->in_args);
  g_string_append (out, " out");
  describe_args (out, method->out_args);
  describe_annotations (out, method->annotations, NULL, NULL);
  return g_string_free (out, FALSE);
}

static char *
describe_signal (GDBusSignalInfo *signal_info)
{
  GString *out = g_string_new (NULL);

  describe_args (out, signal_info->args);
  describe_annotations (out, signal_info->annotations, NULL, NULL);
  return g_string_free (out, FALSE);
}

static char *
describe_property (GDBusPropertyInfo *property)
{
  GString *out = g_string_new (property->signature);

  g_string_append_printf (out, " %s%s",
                          property->flags & G_DBUS_PROPERTY_INFO_FLAGS_READABLE ? "read" : "",
                          property->flags & G_DBUS_PROPERTY_INFO_FLAGS_WRITABLE ? "write" : "");
  describe_annotations (out, property->annotations, EMITS_CHANGED, "true");
  return g_string_free (out, FALSE);
}

/* One kind of member (methods, signals or properties) of one interface:
 * name -> description, in the order the names came. */
typedef struct {
  GHashTable *by_name;
  GPtrArray  *names;
} Members;

static void
members_init (Members *members)
{
  members->by_name = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  members->names = g_ptr_array_new ();
}

static void
members_clear (Members *members)
{
  g_hash_table_unref (members->by_name);
  g_ptr_array_unref (members->names);
}

static void
members_add (Members    *members,
             GString    *report,
             const char *where,
             const char *kind,
             const char *name,
             char       *description)
{
  if (g_hash_table_contains (members->by_name, name))
    {
      g_string_append_printf (report, "\n  %s: %s %s is declared twice",
                              where, kind, name);
      g_free (description);
      return;
    }
  g_hash_table_insert (members->by_name, (gpointer) name, description);
  g_ptr_array_add (members->names, (gpointer) name);
}

typedef struct {
  Members methods;
  Members signals;
  Members properties;
} InterfaceMembers;

static void
interface_members_init (InterfaceMembers *m)
{
  members_init (&m->methods);
  members_init (&m->signals);
  members_init (&m->properties);
}

static void
interface_members_clear (InterfaceMembers *m)
{
  members_clear (&m->methods);
  members_clear (&m->signals);
  members_clear (&m->properties);
}

static void
interface_members_add (InterfaceMembers   *m,
                       GString            *report,
                       const char         *where,
                       GDBusInterfaceInfo *iface,
                       gboolean            with_properties)
{
  for (guint i = 0; iface->methods != NULL && iface->methods[i] != NULL; i++)
    members_add (&m->methods, report, where, "method", iface->methods[i]->name,
                 describe_method (iface->methods[i]));
  for (guint i = 0; iface->signals != NULL && iface->signals[i] != NULL; i++)
    members_add (&m->signals, report, where, "signal", iface->signals[i]->name,
                 describe_signal (iface->signals[i]));
  if (!with_properties)
    return;
  for (guint i = 0; iface->properties != NULL && iface->properties[i] != NULL; i++)
    members_add (&m->properties, report, where, "property", iface->properties[i]->name,
                 describe_property (iface->properties[i]));
}

static void
compare_members (GString    *report,
                 const char *where,
                 const char *kind,
                 Members    *doc,
                 Members    *live)
{
  for (guint i = 0; i < doc->names->len; i++)
    {
      const char *name = g_ptr_array_index (doc->names, i);
      const char *want = g_hash_table_lookup (doc->by_name, name);
      const char *have = g_hash_table_lookup (live->by_name, name);

      if (have == NULL)
        g_string_append_printf (report, "\n  %s: %s %s is in the XML but not "
                                "on the bus", where, kind, name);
      else if (strcmp (want, have) != 0)
        g_string_append_printf (report, "\n  %s: %s %s differs:\n"
                                "    XML: %s\n    bus: %s",
                                where, kind, name, want, have);
    }
  for (guint i = 0; i < live->names->len; i++)
    {
      const char *name = g_ptr_array_index (live->names, i);

      if (!g_hash_table_contains (doc->by_name, name))
        g_string_append_printf (report, "\n  %s: %s %s is on the bus but not "
                                "in the XML (%s)", where, kind, name,
                                (char *) g_hash_table_lookup (live->by_name, name));
      else if (strstr (g_hash_table_lookup (live->by_name, name), PRIVILEGED "=true"))
        g_string_append_printf (report, "\n  %s: %s %s is privileged: mark it "
                                "SD_BUS_VTABLE_UNPRIVILEGED (see DESIGN.md)",
                                where, kind, name);
    }
}

/* Checks that @live (an Introspect() result) has the interface of @doc
 * with exactly its members; all of them, or without the properties
 * when @with_properties is FALSE (then the object must have none).
 * sd-bus may describe one interface in several elements when several
 * vtables make it up; they are taken together. */
static void
check_interface (GDBusNodeInfo *doc,
                 GDBusNodeInfo *live,
                 const char    *destination,
                 const char    *path,
                 gboolean       with_properties)
{
  GDBusInterfaceInfo *doc_iface = doc->interfaces[0];
  g_autofree char *where = g_strdup_printf ("%s at %s on %s", doc_iface->name,
                                            path, destination);
  g_autoptr(GString) report = g_string_new (NULL);
  g_autoptr(GString) want_annotations = g_string_new (NULL);
  g_autoptr(GString) have_annotations = g_string_new (NULL);
  InterfaceMembers want, have;
  guint found = 0;

  interface_members_init (&want);
  interface_members_init (&have);

  interface_members_add (&want, report, "XML", doc_iface, with_properties);
  describe_annotations (want_annotations, doc_iface->annotations, NULL, NULL);
  for (guint i = 0; live->interfaces != NULL && live->interfaces[i] != NULL; i++)
    {
      GDBusInterfaceInfo *iface = live->interfaces[i];

      if (strcmp (iface->name, doc_iface->name) != 0)
        continue;
      found++;
      interface_members_add (&have, report, where, iface, TRUE);
      describe_annotations (have_annotations, iface->annotations, NULL, NULL);
    }

  if (found == 0)
    g_string_append_printf (report, "\n  %s: the object does not have the "
                            "interface", where);
  else
    {
      compare_members (report, where, "method", &want.methods, &have.methods);
      compare_members (report, where, "signal", &want.signals, &have.signals);
      compare_members (report, where, "property", &want.properties, &have.properties);
      if (found == 1 && strcmp (want_annotations->str, have_annotations->str) != 0)
        g_string_append_printf (report, "\n  %s: interface annotations differ:"
                                " XML%s, bus%s", where, want_annotations->str,
                                have_annotations->str);
    }

  interface_members_clear (&want);
  interface_members_clear (&have);

  /* Names every mismatch, one per line. */
  g_assert_cmpstr (report->str, ==, "");
}

/* ---- the tests ---- */

typedef struct {
  EipcMain        *main;
  GDBusConnection *connection;
  const char      *name;        /* the main process's unique name */
  const char      *base;        /* BASE */
  char            *broadcast;   /* BASE/WebContents */
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  /* Through an address: the connection sd-bus would not trust without
   * sd_bus_set_trusted(), where it marks every method that is not
   * SD_BUS_VTABLE_UNPRIVILEGED as privileged, which the check reports. */
  f->main = eipc_main_new_for_address (TEST_APP_ID, test_bus_address (), &error);
  g_assert_no_error (error);
  f->connection = connect_to_test_bus ();
  f->name = eipc_main_get_unique_name (f->main);
  f->base = eipc_main_get_object_path (f->main);
  f->broadcast = g_strconcat (f->base, "/WebContents", NULL);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_dbus_connection_close_sync (f->connection, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&f->connection);
  g_free (f->broadcast);
  g_assert_finalize_object (f->main);
}

typedef struct {
  TestChild       *child;
  EipcWebContents *wc;       /* (transfer full) */
  char            *path;     /* BASE/WebContents/ID */
} Renderer;

/* A renderer as a child process: it attaches, prints its id, and keeps
 * serving its bus until it gets a message on "quit". */
static void
renderer_start (Fixture  *f,
                Renderer *r)
{
  g_autofree char *line = NULL;
  guint64 id;

  r->child = test_child_spawn ("listen:quit", "id", "wait:quit:1", NULL);
  line = test_child_expect (r->child, "id ");
  id = g_ascii_strtoull (line + 3, NULL, 10);
  g_assert_cmpuint (id, !=, 0);
  r->wc = g_object_ref (eipc_main_get_web_contents (f->main, id));
  r->path = g_strdup (eipc_web_contents_get_object_path (r->wc));
}

static void
on_destroyed (EipcWebContents *wc,
              const char      *reason,
              gpointer         user_data)
{
  *(gboolean *) user_data = TRUE;
}

/* Makes the renderer quit, and waits until the main process has seen it
 * leave the bus. */
static void
renderer_stop (Renderer *r)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  gboolean destroyed = eipc_web_contents_is_destroyed (r->wc);
  int status;

  g_signal_connect (r->wc, "destroyed", G_CALLBACK (on_destroyed), &destroyed);
  eipc_web_contents_send_json (r->wc, "quit", "[]", &error);
  g_assert_no_error (error);
  out = test_child_finish (r->child, &status);
  g_assert_cmpint (status, ==, 0);
  test_wait_for (&destroyed, 10000);
  g_clear_object (&r->wc);
  g_free (r->path);
}

/* Every file holds one interface, and the file is named after it. */
static void
test_files (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (interface_files); i++)
    {
      g_autoptr(GDBusNodeInfo) doc = load_interface_file (interface_files[i]);

      g_assert_cmpstr (doc->interfaces[0]->name, ==, interface_files[i]);
    }
}

/* org.eipc.Main1 on BASE, served by the main process; BASE/WebContents
 * is its child in the object tree. */
static void
test_main (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(GDBusNodeInfo) doc = load_interface_file ("org.eipc.Main1");
  g_autoptr(GDBusNodeInfo) live = NULL;

  live = introspect_node (f->connection, TEST_APP_ID, f->base);
  check_interface (doc, live, TEST_APP_ID, f->base, TRUE);
  g_assert_true (node_has_child (live, "WebContents"));

  /* The same through the unique name. */
  g_clear_pointer (&live, g_dbus_node_info_unref);
  live = introspect_node (f->connection, f->name, f->base);
  check_interface (doc, live, f->name, f->base, TRUE);
}

/* org.eipc.WebContents1 on BASE/WebContents/ID of an attached renderer
 * (signals and properties) and on BASE/WebContents (signals only); the
 * per-renderer objects come and go with the renderers. */
static void
test_web_contents (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GDBusNodeInfo) doc = load_interface_file ("org.eipc.WebContents1");
  g_autoptr(GDBusNodeInfo) live = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *xml = NULL;
  g_autofree char *id_text = NULL;
  g_autofree char *path = NULL;
  g_autofree char *unknown = NULL;
  Renderer r;

  /* No renderer: the broadcast object only. */
  live = introspect_node (f->connection, TEST_APP_ID, f->broadcast);
  check_interface (doc, live, TEST_APP_ID, f->broadcast, FALSE);
  g_assert_cmpuint (node_n_children (live), ==, 0);
  g_clear_pointer (&live, g_dbus_node_info_unref);

  renderer_start (f, &r);
  id_text = g_strdup_printf ("%" G_GUINT64_FORMAT, eipc_web_contents_get_id (r.wc));
  path = g_strdup (r.path);

  live = introspect_node (f->connection, TEST_APP_ID, path);
  check_interface (doc, live, TEST_APP_ID, path, TRUE);
  g_clear_pointer (&live, g_dbus_node_info_unref);

  live = introspect_node (f->connection, TEST_APP_ID, f->broadcast);
  check_interface (doc, live, TEST_APP_ID, f->broadcast, FALSE);
  g_assert_true (node_has_child (live, id_text));
  g_assert_cmpuint (node_n_children (live), ==, 1);
  g_clear_pointer (&live, g_dbus_node_info_unref);

  /* An id nobody has is no object. */
  unknown = g_strdup_printf ("%s/%" G_GUINT64_FORMAT, f->broadcast,
                             eipc_web_contents_get_id (r.wc) + 1);
  xml = introspect (f->connection, TEST_APP_ID, unknown, &error);
  g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT);
  g_assert_null (xml);
  g_clear_error (&error);

  /* Once the renderer has gone, so has its object. */
  renderer_stop (&r);
  xml = introspect (f->connection, TEST_APP_ID, path, &error);
  g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT);
  g_assert_null (xml);
  live = introspect_node (f->connection, TEST_APP_ID, f->broadcast);
  g_assert_cmpuint (node_n_children (live), ==, 0);
}

/* org.eipc.Renderer1, served by the renderer on its own connection at
 * its webContents path. */
static void
test_renderer (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GDBusNodeInfo) doc = load_interface_file ("org.eipc.Renderer1");
  g_autoptr(GDBusNodeInfo) live = NULL;
  const char *unique_name;
  Renderer r;

  renderer_start (f, &r);
  unique_name = eipc_web_contents_get_unique_name (r.wc);
  live = introspect_node (f->connection, unique_name, r.path);
  check_interface (doc, live, unique_name, r.path, TRUE);
  renderer_stop (&r);
}

/* org.eipc.Port1, served by both ends of a message port on their
 * peer-to-peer connection at /: a GDBus client on the
 * other end of the socket asks. */
static void
connection_ready (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  GDBusConnection **connection = user_data;
  g_autoptr(GError) error = NULL;

  *connection = g_dbus_connection_new_finish (result, &error);
  g_assert_no_error (error);
}

static void
test_port (void)
{
  g_autoptr(GDBusNodeInfo) doc = load_interface_file ("org.eipc.Port1");
  g_autoptr(GDBusNodeInfo) live = NULL;
  g_autoptr(EipcMessagePort) port = NULL;
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GSocketConnection) stream = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GError) error = NULL;
  int fds[2];

  g_assert_no_errno (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds));
  port = eipc_message_port_new_for_fd (fds[0], TRUE, &error);
  g_assert_no_error (error);
  eipc_message_port_start (port);

  socket = g_socket_new_from_fd (fds[1], &error);
  g_assert_no_error (error);
  stream = g_socket_connection_factory_create_connection (socket);
  g_dbus_connection_new (G_IO_STREAM (stream), NULL,
                         G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT,
                         NULL, NULL, connection_ready, &connection);
  while (connection == NULL)
    g_main_context_iteration (NULL, TRUE);

  live = introspect_node (connection, NULL, "/");
  check_interface (doc, live, "the port's peer", "/", TRUE);
  g_dbus_connection_close_sync (connection, NULL, NULL);
}

/* ---- documentation ----
 *
 * gdbus-codegen style: a comment right above every interface, method,
 * signal and property that starts with its name and a colon and ends
 * with a Since: line; an interface comment has @short_description; a
 * member comment documents every argument as @NAME: (or the argument
 * has its own "NAME:" comment right above it). */

typedef struct {
  const char *file;
  char       *comment;       /* the comment right before the next element */
  char       *member;        /* the method or signal being read */
  char       *member_doc;    /* its comment */
  GString    *report;
} DocCheck;

static const char *
doc_name_of (const char **names,
             const char **values)
{
  for (guint i = 0; names[i] != NULL; i++)
    if (strcmp (names[i], "name") == 0)
      return values[i];
  return NULL;
}

/* Does @comment start with "@name:" (after blanks)? */
static gboolean
doc_starts_with (const char *comment,
                 const char *name)
{
  g_autofree char *head = g_strconcat (name, ":", NULL);

  while (g_ascii_isspace (*comment))
    comment++;
  return g_str_has_prefix (comment, head);
}

static void
doc_start_element (GMarkupParseContext  *context,
                   const char           *element,
                   const char          **names,
                   const char          **values,
                   gpointer              user_data,
                   GError              **error)
{
  DocCheck *d = user_data;
  g_autofree char *comment = g_steal_pointer (&d->comment);
  const char *name = doc_name_of (names, values);

  if (strcmp (element, "interface") == 0 || strcmp (element, "method") == 0 ||
      strcmp (element, "signal") == 0 || strcmp (element, "property") == 0)
    {
      if (comment == NULL)
        {
          g_string_append_printf (d->report, "\n  %s: %s %s has no doc comment "
                                  "right above it", d->file, element, name);
          return;
        }
      if (!doc_starts_with (comment, name))
        g_string_append_printf (d->report, "\n  %s: the doc comment of %s %s "
                                "does not start with '%s:'", d->file, element,
                                name, name);
      if (strstr (comment, "Since:") == NULL)
        g_string_append_printf (d->report, "\n  %s: the doc comment of %s %s "
                                "has no 'Since:'", d->file, element, name);
      if (strcmp (element, "interface") == 0 &&
          strstr (comment, "@short_description:") == NULL)
        g_string_append_printf (d->report, "\n  %s: the doc comment of "
                                "interface %s has no @short_description",
                                d->file, name);
      if (strcmp (element, "method") == 0 || strcmp (element, "signal") == 0)
        {
          g_free (d->member);
          g_free (d->member_doc);
          d->member = g_strdup (name);
          d->member_doc = g_steal_pointer (&comment);
        }
    }
  else if (strcmp (element, "arg") == 0)
    {
      g_autofree char *tag = g_strconcat ("@", name, ":", NULL);

      if (name == NULL)
        g_string_append_printf (d->report, "\n  %s: an argument of %s has no "
                                "name", d->file, d->member);
      else if ((d->member_doc == NULL || strstr (d->member_doc, tag) == NULL) &&
               (comment == NULL || !doc_starts_with (comment, name)))
        g_string_append_printf (d->report, "\n  %s: argument %s of %s is not "
                                "documented (%s)", d->file, name, d->member, tag);
    }
}

static void
doc_end_element (GMarkupParseContext  *context,
                 const char           *element,
                 gpointer              user_data,
                 GError              **error)
{
  DocCheck *d = user_data;

  if (strcmp (element, "method") == 0 || strcmp (element, "signal") == 0)
    {
      g_clear_pointer (&d->member, g_free);
      g_clear_pointer (&d->member_doc, g_free);
    }
}

static void
doc_passthrough (GMarkupParseContext  *context,
                 const char           *text,
                 gsize                 len,
                 gpointer              user_data,
                 GError              **error)
{
  DocCheck *d = user_data;

  if (len < 7 || strncmp (text, "<!--", 4) != 0)
    return;
  g_free (d->comment);
  d->comment = g_strndup (text + 4, len - 7);
}

static void
test_docs (void)
{
  static const GMarkupParser parser = {
    .start_element = doc_start_element,
    .end_element = doc_end_element,
    .passthrough = doc_passthrough,
  };
  g_autoptr(GString) report = g_string_new (NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (interface_files); i++)
    {
      g_autofree char *path = interface_file_path (interface_files[i]);
      g_autofree char *text = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(GMarkupParseContext) context = NULL;
      DocCheck d = { interface_files[i], NULL, NULL, NULL, report };

      g_file_get_contents (path, &text, NULL, &error);
      g_assert_no_error (error);
      context = g_markup_parse_context_new (&parser, 0, &d, NULL);
      g_markup_parse_context_parse (context, text, -1, &error);
      if (error == NULL)
        g_markup_parse_context_end_parse (context, &error);
      g_assert_no_error (error);
      g_free (d.comment);
      g_free (d.member);
      g_free (d.member_doc);
    }

  g_assert_cmpstr (report->str, ==, "");
}

/* The words of @text without markup, whitespace collapsed. */
static char *
doc_plain_text (const char *text)
{
  g_autoptr(GRegex) tags = g_regex_new ("<[^>]*>", 0, 0, NULL);
  g_autoptr(GRegex) spaces = g_regex_new ("\\s+", 0, 0, NULL);
  g_autofree char *bare = g_regex_replace_literal (tags, text, -1, 0, "", 0, NULL);
  g_autofree char *single = g_regex_replace_literal (spaces, bare, -1, 0, " ", 0, NULL);

  return g_strdup (g_strstrip (single));
}

static const char *
last_word (const char *text)
{
  const char *space = strrchr (text, ' ');

  return space != NULL ? space + 1 : text;
}

/* Checks one interface file against what `gdbus-codegen
 * --generate-docbook` made of it (@docbook): every @arg description of
 * every method and signal fits on its line (gdbus-codegen takes only
 * that line, and loses the arguments after it) and comes out whole in
 * the member's section, first word to last. */
static void
check_docbook (const char *file,
               const char *source,
               const char *docbook,
               GString    *report)
{
  g_autoptr(GRegex) comments = g_regex_new ("<!--(.*?)-->", G_REGEX_DOTALL, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;
  guint checked = 0;

  g_regex_match (comments, source, 0, &match);
  for (; g_match_info_matches (match); g_match_info_next (match, NULL))
    {
      g_autofree char *comment = g_match_info_fetch (match, 1);
      g_auto(GStrv) lines = g_strsplit (comment, "\n", -1);
      g_autofree char *member = NULL;
      g_autofree char *section = NULL;

      for (guint i = 0; lines[i] != NULL; i++)
        {
          g_autofree char *line = g_strstrip (g_strdup (lines[i]));
          g_autofree char *name = NULL, *source_text = NULL, *pattern = NULL;
          g_autofree char *next = NULL;
          g_autoptr(GRegex) param = NULL;
          g_autoptr(GMatchInfo) found = NULL;
          const char *colon;

          if (member == NULL)
            {
              if (line[0] == '\0')
                continue;
              /* "Name:" starts the doc comment of a member. */
              member = g_strndup (line, strcspn (line, ":"));
              if (strchr (member, '.') == NULL)
                {
                  g_autofree char *iface = g_strdup (file);
                  g_autofree char *method_id = NULL, *signal_id = NULL;
                  const char *start, *end;

                  g_strdelimit (iface, ".", '-');
                  method_id = g_strdup_printf ("id=\"gdbus-method-%s.%s\"", iface, member);
                  signal_id = g_strdup_printf ("id=\"gdbus-signal-%s.%s\"", iface, member);
                  start = strstr (docbook, method_id);
                  if (start == NULL)
                    start = strstr (docbook, signal_id);
                  end = start != NULL ? strstr (start, "</refsect2>") : NULL;
                  if (end != NULL)
                    section = g_strndup (start, (gsize) (end - start));
                }
              continue;
            }
          if (line[0] != '@' || g_str_has_prefix (line, "@short_description:") ||
              (colon = strchr (line, ':')) == NULL)
            continue;
          name = g_strndup (line + 1, (gsize) (colon - line - 1));
          source_text = doc_plain_text (colon + 1);
          next = lines[i + 1] != NULL ? g_strstrip (g_strdup (lines[i + 1])) : g_strdup ("");
          if (next[0] != '\0' && next[0] != '@')
            g_string_append_printf (report, "\n  %s: the description of @%s of %s "
                                    "goes on to the next line (\"%s\"); gdbus-codegen "
                                    "takes only its first line", file, name, member, next);
          if (section == NULL)
            {
              g_string_append_printf (report, "\n  %s: gdbus-codegen made no section "
                                      "for %s", file, member);
              continue;
            }
          pattern = g_strdup_printf ("<parameter>%s</parameter></literal>:</term>\\s*"
                                     "<listitem><para>(.*?)</para></listitem>", name);
          param = g_regex_new (pattern, G_REGEX_DOTALL, 0, NULL);
          if (!g_regex_match (param, section, 0, &found))
            g_string_append_printf (report, "\n  %s: no entry for @%s of %s in the "
                                    "DocBook output", file, name, member);
          else
            {
              g_autofree char *out = g_match_info_fetch (found, 1);
              g_autofree char *out_text = doc_plain_text (out);

              if (out_text[0] == '\0' ||
                  strcmp (last_word (out_text), last_word (source_text)) != 0 ||
                  strncmp (out_text, source_text, strcspn (source_text, " ")) != 0)
                g_string_append_printf (report, "\n  %s: @%s of %s comes out as \"%s\", "
                                        "not \"%s\"", file, name, member, out_text,
                                        source_text);
              checked++;
            }
        }
    }
  g_assert_cmpuint (checked, >, 0);
}

/* `gdbus-codegen --generate-docbook` (what documentation tools run over
 * D-Bus interface files) renders every argument's description whole. */
static void
test_docbook (void)
{
  g_autoptr(GString) report = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("eipc-docbook-XXXXXX", &error);
  g_autofree char *codegen = g_find_program_in_path ("gdbus-codegen");

  g_assert_no_error (error);
  if (codegen == NULL)
    g_error ("gdbus-codegen is not installed (Debian: libglib2.0-dev-bin; "
             "tools/install-deps.sh installs it)");

  for (gsize i = 0; i < G_N_ELEMENTS (interface_files); i++)
    {
      g_autofree char *relative = interface_file_path (interface_files[i]);
      g_autofree char *path = g_canonicalize_filename (relative, NULL);
      g_autofree char *file = g_strconcat ("doc-", interface_files[i], ".xml", NULL);
      g_autofree char *out_path = g_build_filename (dir, file, NULL);
      g_autofree char *source = NULL, *docbook = NULL, *err = NULL;
      const char *argv[] = { codegen, "--generate-docbook", "doc", path, NULL };
      int status;

      g_spawn_sync (dir, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                    NULL, &err, &status, &error);
      g_assert_no_error (error);
      if (!g_spawn_check_wait_status (status, NULL))
        g_error ("gdbus-codegen failed on %s: %s", path, err);
      g_file_get_contents (path, &source, NULL, &error);
      g_assert_no_error (error);
      g_file_get_contents (out_path, &docbook, NULL, &error);
      g_assert_no_error (error);
      check_docbook (interface_files[i], source, docbook, report);
      g_unlink (out_path);
    }
  g_rmdir (dir);
  g_assert_cmpstr (report->str, ==, "");
}

/* `meson test` points G_TEST_SRCDIR at tests/ in the source tree. Run
 * by hand, the program finds it from its own path: meson names sources
 * relative to the build root, the parent of this program's directory. */
static void
set_source_dir (const char *argv0)
{
  g_autofree char *exe_dir = NULL;
  g_autofree char *source = NULL;
  g_autofree char *dir = NULL;

  if (g_getenv ("G_TEST_SRCDIR") != NULL)
    return;
  exe_dir = g_path_get_dirname (argv0);
  source = g_path_is_absolute (__FILE__)
           ? g_strdup (__FILE__)
           : g_build_filename (exe_dir, "..", __FILE__, NULL);
  dir = g_path_get_dirname (source);
  g_setenv ("G_TEST_SRCDIR", dir, TRUE);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  set_source_dir (argv[0]);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  test_bus_up ();

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  g_test_add_func ("/ipc/introspection/files", test_files);
  g_test_add_func ("/ipc/introspection/docs", test_docs);
  g_test_add_func ("/ipc/introspection/docbook", test_docbook);
  ADD ("/ipc/introspection/main", test_main);
  ADD ("/ipc/introspection/web-contents", test_web_contents);
  ADD ("/ipc/introspection/renderer", test_renderer);
  g_test_add_func ("/ipc/introspection/port", test_port);

  ret = g_test_run ();
  test_bus_down ();
  return ret;
}
