/* eipc-listen.c: `eipc listen`, a renderer that prints what it receives
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Attaches to the main process with org.eipc.Main1.Attach() and prints
 * every org.eipc.WebContents1 signal the main process delivers to it
 * (webContents.send, event.reply, sendTo from other renderers,
 * sendToHost from its guests) and every broadcast, one line each, until
 * interrupted. It speaks the wire directly, because it wants every
 * channel, not a list of listeners: it trusts only signals from the
 * unique name that answered Attach(), and serves org.eipc.Renderer1's
 * Invoke() for the main process, answering the channels given with
 * --answer and refusing the others as a renderer without a handler does.
 */

#include <errno.h>
#include <string.h>

#include <glib-unix.h>

#include "eipc-tool.h"

#define MAIN_INTERFACE "org.eipc.Main1"
#define WEB_CONTENTS_INTERFACE "org.eipc.WebContents1"
#define RENDERER_INTERFACE "org.eipc.Renderer1"

typedef struct {
  ToolOptions *opts;
  sd_bus      *bus;
  char        *app_id;
  char        *base_path;
  char        *broadcast_path;
  char        *path;
  char        *main_name;
  guint64      id;
  GHashTable  *answers;   /* channel -> JSON text */
  GHashTable  *channels;  /* the channels to show, or NULL for all */
  GMainLoop   *loop;
  int          status;
} Listen;

static void
append_args (GString    *s,
             const char *args)
{
  if (tool_json_is_valid (args))
    g_string_append (s, args);
  else
    tool_json_append_string (s, args);
}

static void
print_event (Listen     *self,
             const char *kind,
             const char *channel,
             const char *args,
             const char *from_key,
             guint64     from,
             const char *answer)
{
  g_autoptr(GString) s = g_string_new (NULL);

  if (self->channels != NULL && !g_hash_table_contains (self->channels, channel))
    return;
  if (self->opts->json)
    {
      g_string_append (s, "{\"kind\":");
      tool_json_append_string (s, kind);
      g_string_append (s, ",\"channel\":");
      tool_json_append_string (s, channel);
      g_string_append (s, ",\"args\":");
      append_args (s, args);
      if (from_key != NULL)
        g_string_append_printf (s, ",\"%s\":%" G_GUINT64_FORMAT, from_key, from);
      if (answer != NULL)
        {
          g_string_append (s, ",\"result\":");
          g_string_append (s, answer);
        }
      g_string_append (s, "}\n");
    }
  else
    {
      g_string_append_printf (s, "%s %s ", kind, channel);
      g_string_append (s, args);
      if (from_key != NULL && strcmp (from_key, "guest_id") == 0)
        g_string_append_printf (s, " from guest %" G_GUINT64_FORMAT, from);
      else if (from_key != NULL && from != 0)
        g_string_append_printf (s, " from wc %" G_GUINT64_FORMAT, from);
      if (answer != NULL)
        g_string_append_printf (s, " -> %s", answer);
      else if (strcmp (kind, "invoke") == 0)
        g_string_append (s, " -> no handler");
      g_string_append_c (s, '\n');
    }
  fwrite (s->str, 1, s->len, stdout);
  fflush (stdout);
}

static int
on_web_contents_signal (sd_bus_message *m,
                        void           *userdata,
                        sd_bus_error   *ret_error)
{
  Listen *self = userdata;
  const char *path = sd_bus_message_get_path (m);
  const char *member = sd_bus_message_get_member (m);
  const char *channel, *args;
  guint64 from;
  const char *kind, *from_key = "sender_id";

  if (g_strcmp0 (sd_bus_message_get_sender (m), self->main_name) != 0 || path == NULL ||
      member == NULL)
    return 0;
  if (sd_bus_message_read (m, "sst", &channel, &args, &from) < 0)
    return 0;
  if (strcmp (path, self->path) == 0 && strcmp (member, "Message") == 0)
    kind = from == 0 ? "webContents.send" : "sendTo";
  else if (strcmp (path, self->path) == 0 && strcmp (member, "HostMessage") == 0)
    {
      kind = "sendToHost";
      from_key = "guest_id";
    }
  else if (strcmp (path, self->broadcast_path) == 0 && strcmp (member, "Message") == 0)
    kind = "broadcast";
  else
    return 0;
  print_event (self, kind, channel, args, from_key, from, NULL);
  return 1;
}

static int
method_invoke (sd_bus_message *m,
               void           *userdata,
               sd_bus_error   *ret_error)
{
  Listen *self = userdata;
  const char *channel, *args, *answer;
  int r;

  if (g_strcmp0 (sd_bus_message_get_sender (m), self->main_name) != 0)
    return sd_bus_error_set (ret_error, "org.eipc.Error.AccessDenied",
                             "Only the main process may invoke a renderer");
  r = sd_bus_message_read (m, "ss", &channel, &args);
  if (r < 0)
    return r;
  answer = g_hash_table_lookup (self->answers, channel);
  print_event (self, "invoke", channel, args, NULL, 0, answer);
  if (answer == NULL)
    return sd_bus_error_setf (ret_error, "org.eipc.Error.NoHandler",
                              "Error invoking remote method '%s': Error: "
                              "No handler registered for '%s'", channel, channel);
  return sd_bus_reply_method_return (m, "s", answer);
}

static const sd_bus_vtable renderer_vtable[] = {
  SD_BUS_VTABLE_START (0),
  SD_BUS_METHOD_WITH_ARGS ("Invoke",
                           SD_BUS_ARGS ("s", channel, "s", args),
                           SD_BUS_RESULT ("s", result),
                           method_invoke, SD_BUS_VTABLE_UNPRIVILEGED),
  SD_BUS_SIGNAL_WITH_ARGS ("Message", SD_BUS_ARGS ("s", channel, "s", args), 0),
  SD_BUS_VTABLE_END
};

static int
on_name_owner_changed (sd_bus_message *m,
                       void           *userdata,
                       sd_bus_error   *ret_error)
{
  Listen *self = userdata;
  const char *name, *old_owner, *new_owner;

  if (sd_bus_message_read (m, "sss", &name, &old_owner, &new_owner) < 0)
    return 0;
  if (strcmp (name, self->app_id) == 0 && g_strcmp0 (new_owner, self->main_name) != 0)
    {
      fprintf (stderr, "The main process of %s left the bus.\n", self->app_id);
      self->status = EXIT_FAILED;
      g_main_loop_quit (self->loop);
    }
  return 1;
}

static void
process_bus (sd_bus   *bus,
             gpointer  user_data)
{
  Listen *self = user_data;

  for (guint i = 0; i < 256; i++)
    {
      int r = sd_bus_process (bus, NULL);

      if (r < 0)
        {
          fprintf (stderr, "The bus connection closed: %s\n", g_strerror (-r));
          self->status = EXIT_FAILED;
          g_main_loop_quit (self->loop);
          return;
        }
      if (r == 0)
        return;
    }
}

static gboolean
on_interrupt (gpointer user_data)
{
  Listen *self = user_data;

  g_main_loop_quit (self->loop);
  return G_SOURCE_CONTINUE;
}

static int
listen_attach (Listen *self)
{
  g_autoptr(sd_bus_message) reply = NULL;
  g_auto(sd_bus_error) error = SD_BUS_ERROR_NULL;
  g_autofree char *rule = NULL;
  const char *owner, *path;
  int r;

  r = sd_bus_call_method (self->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "GetNameOwner", &error, &reply, "s",
                          self->app_id);
  if (r < 0)
    {
      if (sd_bus_error_has_name (&error, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
        fprintf (stderr, "No application '%s' is running on the bus.\n", self->app_id);
      else
        fprintf (stderr, "Failed to find %s: %s\n", self->app_id,
                 error.message != NULL ? error.message : g_strerror (-r));
      return r;
    }
  r = sd_bus_message_read_basic (reply, 's', &owner);
  if (r <= 0)
    return r < 0 ? r : -EBADMSG;
  self->main_name = g_strdup (owner);
  g_clear_pointer (&reply, sd_bus_message_unref);

  /* Matches first, so nothing sent right after the attach is missed. */
  rule = g_strdup_printf ("type='signal',sender='%s',interface='" WEB_CONTENTS_INTERFACE "'",
                          self->main_name);
  r = sd_bus_add_match (self->bus, NULL, rule, on_web_contents_signal, self);
  if (r < 0)
    return r;
  g_free (rule);
  rule = g_strdup_printf ("type='signal',sender='org.freedesktop.DBus',"
                          "interface='org.freedesktop.DBus',member='NameOwnerChanged',"
                          "arg0='%s'", self->app_id);
  r = sd_bus_add_match (self->bus, NULL, rule, on_name_owner_changed, self);
  if (r < 0)
    return r;

  r = sd_bus_call_method (self->bus, self->main_name, self->base_path, MAIN_INTERFACE,
                          "Attach", &error, &reply, "a{sv}", 0);
  if (r < 0)
    {
      fprintf (stderr, "Failed to attach to %s: %s\n", self->app_id,
               error.message != NULL ? error.message : g_strerror (-r));
      return r;
    }
  r = sd_bus_message_read (reply, "to", &self->id, &path);
  if (r < 0)
    return r;
  self->path = g_strdup (path);
  r = sd_bus_add_object_vtable (self->bus, NULL, self->path, RENDERER_INTERFACE,
                                renderer_vtable, self);
  if (r < 0)
    return r;
  return 0;
}

int
tool_cmd_listen (ToolOptions  *opts,
                 int           argc,
                 char        **argv)
{
  g_auto(GStrv) answers = NULL;
  const GOptionEntry entries[] = {
    { "answer", 0, 0, G_OPTION_ARG_STRING_ARRAY, &answers,
      "Answer the main process's invokes of CHANNEL with JSON (repeatable)",
      "CHANNEL=JSON" },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &opts->json,
      "Print one JSON object per message", NULL },
    { NULL }
  };
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GHashTable) answer_table = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                              g_free, g_free);
  g_autoptr(GHashTable) channel_table = NULL;
  Listen self = { 0 };
  guint sigint_id, sigterm_id, source_id;
  int r;

  if (!tool_parse_options (opts, "listen", "APP [CHANNEL...]",
                           "Attach to APP as a renderer and print every message delivered to it\n"
                           "(webContents.send, broadcast, sendTo, sendToHost) until interrupted;\n"
                           "with CHANNELs, only those.", entries, &argc, &argv))
    return EXIT_USAGE;
  if (argc < 2)
    return tool_usage_error ("listen", "an APP is needed");
  if (!tool_app_id_is_valid (argv[1]))
    return tool_usage_error ("listen", "'%s' is not an app id (a well-known bus name "
                             "such as org.example.Editor)", argv[1]);
  for (guint i = 0; answers != NULL && answers[i] != NULL; i++)
    {
      const char *eq = strchr (answers[i], '=');
      g_autoptr(JsonParser) parser = json_parser_new_immutable ();
      g_autoptr(GError) error = NULL;
      GString *text;

      if (eq == NULL || eq == answers[i])
        return tool_usage_error ("listen", "--answer needs CHANNEL=JSON, not '%s'", answers[i]);
      if (!json_parser_load_from_data (parser, eq + 1, -1, &error) ||
          json_parser_get_root (parser) == NULL)
        return tool_usage_error ("listen", "the answer for '%.*s' is not JSON: '%s'",
                                 (int) (eq - answers[i]), answers[i], eq + 1);
      text = g_string_new (NULL);
      tool_json_append (text, json_parser_get_root (parser));
      g_hash_table_replace (answer_table, g_strndup (answers[i], (gsize) (eq - answers[i])),
                            g_string_free (text, FALSE));
    }
  if (argc > 2)
    {
      channel_table = g_hash_table_new (g_str_hash, g_str_equal);
      for (int i = 2; i < argc; i++)
        g_hash_table_add (channel_table, argv[i]);
    }

  self.opts = opts;
  self.app_id = argv[1];
  self.base_path = tool_base_path (self.app_id);
  self.broadcast_path = g_strconcat (self.base_path, "/WebContents", NULL);
  self.answers = answer_table;
  self.channels = channel_table;
  self.loop = loop;
  self.status = EXIT_OK;

  r = tool_bus_open (opts, FALSE, &self.bus);
  if (r < 0)
    {
      g_autofree char *address = tool_bus_address (opts);

      fprintf (stderr, "Failed to connect to the bus at %s: %s\n", address, g_strerror (-r));
      self.status = EXIT_FAILED;
      goto out;
    }
  if (listen_attach (&self) < 0)
    {
      self.status = EXIT_FAILED;
      goto out;
    }
  fprintf (stderr, "Attached to %s as webContents %" G_GUINT64_FORMAT
           "; listening (Ctrl-C to stop).\n", self.app_id, self.id);

  source_id = tool_bus_attach (self.bus, process_bus, &self);
  sigint_id = g_unix_signal_add (SIGINT, on_interrupt, &self);
  sigterm_id = g_unix_signal_add (SIGTERM, on_interrupt, &self);
  g_main_loop_run (loop);
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  g_source_remove (source_id);

  /* Detach explicitly (leaving the bus would do it too). */
  if (self.status == EXIT_OK && sd_bus_is_open (self.bus) > 0)
    sd_bus_call_method (self.bus, self.main_name, self.base_path, MAIN_INTERFACE, "Detach",
                        NULL, NULL, NULL);

out:
  if (self.bus != NULL)
    sd_bus_flush_close_unref (self.bus);
  g_free (self.base_path);
  g_free (self.broadcast_path);
  g_free (self.path);
  g_free (self.main_name);
  return self.status;
}
