/* eipc-tool.c: `eipc`, a command-line tool that speaks channels
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Modelled on systemd's varlinkctl and GLib's gdbus: one program, a
 * subcommand per verb, exit status 0 on success, 1 on a failed call
 * (with the error's text on stderr, as a renderer sees it) and 2 on bad
 * usage. list and info read org.eipc.Main1's properties with raw
 * sd-bus; invoke, send-sync, send and send-to attach as a renderer with
 * EipcRenderer, so their errors read exactly as a renderer's do; listen
 * (eipc-listen.c) and monitor (eipc-monitor.c) have files of their own.
 */

#include <errno.h>
#include <locale.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <eipc/eipc.h>
#include <glib-unix.h>

#include "eipc-tool.h"

#define MAIN_INTERFACE "org.eipc.Main1"
/* How long list and info wait for one application's properties. */
#define PROPERTIES_TIMEOUT_USEC (5 * G_USEC_PER_SEC)

/* Options ---------------------------------------------------------------- */

static gboolean
option_user (const char  *name,
             const char  *value,
             gpointer     data,
             GError     **error)
{
  ToolOptions *opts = data;

  opts->user = TRUE;
  opts->system = FALSE;
  return TRUE;
}

static gboolean
option_system (const char  *name,
               const char  *value,
               gpointer     data,
               GError     **error)
{
  ToolOptions *opts = data;

  opts->system = TRUE;
  opts->user = FALSE;
  return TRUE;
}

static GOptionGroup *
bus_option_group (ToolOptions *opts)
{
  const GOptionEntry entries[] = {
    { "address", 0, 0, G_OPTION_ARG_STRING, &opts->address,
      "Connect to the bus at ADDRESS", "ADDRESS" },
    { "user", 0, G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK, option_user,
      "Connect to the user's session bus (the default)", NULL },
    { "system", 0, G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK, option_system,
      "Connect to the system bus", NULL },
    { NULL }
  };
  GOptionGroup *group = g_option_group_new ("bus", "Bus options:",
                                            "Show the bus options", opts, NULL);

  g_option_group_add_entries (group, entries);
  return group;
}

int
tool_usage_error (const char *command,
                  const char *format,
                  ...)
{
  g_autofree char *message = NULL;
  va_list ap;

  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);
  fprintf (stderr, "eipc%s%s: %s\nTry 'eipc%s%s --help' for more information.\n",
           command != NULL ? " " : "", command != NULL ? command : "", message,
           command != NULL ? " " : "", command != NULL ? command : "");
  return EXIT_USAGE;
}

gboolean
tool_parse_options (ToolOptions         *opts,
                    const char          *command,
                    const char          *parameters,
                    const char          *summary,
                    const GOptionEntry  *entries,
                    int                 *argc,
                    char              ***argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new (parameters);
  g_autoptr(GError) error = NULL;
  g_autofree char *prgname = g_strdup_printf ("eipc %s", command);

  g_set_prgname (prgname);
  g_option_context_set_summary (context, summary);
  /* Options first: "-1" after the positional arguments is JSON. */
  g_option_context_set_strict_posix (context, TRUE);
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_group (context, bus_option_group (opts));
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      tool_usage_error (command, "%s", error->message);
      return FALSE;
    }
  /* A "--" that ended the options is left in place by GOption. */
  if (*argc > 1 && strcmp ((*argv)[1], "--") == 0)
    {
      memmove (&(*argv)[1], &(*argv)[2], (size_t) (*argc - 1) * sizeof (char *));
      (*argc)--;
    }
  return TRUE;
}

/* Properties of org.eipc.Main1 -------------------------------------------- */

typedef struct {
  guint64  id;
  char    *unique_name;
  guint32  pid;
  guint64  host_id;
} WebContentsInfo;

typedef struct {
  char      *app_id;
  char      *unique_name;
  guint32    pid;
  gboolean   strict;
  GArray    *web_contents;  /* of WebContentsInfo */
  GPtrArray *channels;      /* of char * */
  /* While list waits for the answer. */
  sd_bus_slot *slot;
  int          error;
  char        *error_name;
  char        *error_message;
  gboolean     done;
} AppInfo;

static void
web_contents_info_clear (gpointer data)
{
  WebContentsInfo *info = data;

  g_free (info->unique_name);
}

static AppInfo *
app_info_new (const char *app_id)
{
  AppInfo *app = g_new0 (AppInfo, 1);

  app->app_id = g_strdup (app_id);
  app->web_contents = g_array_new (FALSE, TRUE, sizeof (WebContentsInfo));
  g_array_set_clear_func (app->web_contents, web_contents_info_clear);
  app->channels = g_ptr_array_new_with_free_func (g_free);
  return app;
}

static void
app_info_free (AppInfo *app)
{
  sd_bus_slot_unref (app->slot);
  g_free (app->app_id);
  g_free (app->unique_name);
  g_array_unref (app->web_contents);
  g_ptr_array_unref (app->channels);
  g_free (app->error_name);
  g_free (app->error_message);
  g_free (app);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AppInfo, app_info_free)

static int
read_web_contents (sd_bus_message *m,
                   AppInfo        *app)
{
  int r;

  r = sd_bus_message_enter_container (m, 'a', "(tsut)");
  if (r < 0)
    return r;
  for (;;)
    {
      WebContentsInfo info = { 0 };
      const char *name;

      r = sd_bus_message_read (m, "(tsut)", &info.id, &name, &info.pid, &info.host_id);
      if (r < 0)
        return r;
      if (r == 0)
        break;
      info.unique_name = g_strdup (name);
      g_array_append_val (app->web_contents, info);
    }
  return sd_bus_message_exit_container (m);
}

static int
read_channels (sd_bus_message *m,
               AppInfo        *app)
{
  int r;

  r = sd_bus_message_enter_container (m, 'a', "s");
  if (r < 0)
    return r;
  for (;;)
    {
      const char *channel;

      r = sd_bus_message_read_basic (m, 's', &channel);
      if (r < 0)
        return r;
      if (r == 0)
        break;
      g_ptr_array_add (app->channels, g_strdup (channel));
    }
  return sd_bus_message_exit_container (m);
}

/* Reads the a{sv} of GetAll (org.eipc.Main1). */
static int
read_properties (sd_bus_message *m,
                 AppInfo        *app)
{
  int r;

  r = sd_bus_message_enter_container (m, 'a', "{sv}");
  if (r < 0)
    return r;
  while ((r = sd_bus_message_enter_container (m, 'e', "sv")) > 0)
    {
      const char *name;

      r = sd_bus_message_read_basic (m, 's', &name);
      if (r < 0)
        return r;
      if (strcmp (name, "WebContents") == 0)
        {
          r = sd_bus_message_enter_container (m, 'v', "a(tsut)");
          if (r < 0)
            return r;
          r = read_web_contents (m, app);
        }
      else if (strcmp (name, "Channels") == 0)
        {
          r = sd_bus_message_enter_container (m, 'v', "as");
          if (r < 0)
            return r;
          r = read_channels (m, app);
        }
      else if (strcmp (name, "Strict") == 0)
        {
          int strict;

          r = sd_bus_message_enter_container (m, 'v', "b");
          if (r < 0)
            return r;
          r = sd_bus_message_read_basic (m, 'b', &strict);
          app->strict = strict;
        }
      else
        {
          r = sd_bus_message_skip (m, "v");
          if (r < 0)
            return r;
          r = sd_bus_message_exit_container (m);
          continue;
        }
      if (r < 0)
        return r;
      r = sd_bus_message_exit_container (m);  /* v */
      if (r < 0)
        return r;
      r = sd_bus_message_exit_container (m);  /* e */
      if (r < 0)
        return r;
    }
  if (r < 0)
    return r;
  return sd_bus_message_exit_container (m);
}

static int
on_get_all (sd_bus_message *reply,
            void           *userdata,
            sd_bus_error   *ret_error)
{
  AppInfo *app = userdata;
  const sd_bus_error *error = sd_bus_message_get_error (reply);

  app->done = TRUE;
  if (error != NULL)
    {
      app->error = -EIO;
      app->error_name = g_strdup (error->name);
      app->error_message = g_strdup (error->message);
      return 1;
    }
  app->error = read_properties (reply, app);
  if (app->error > 0)
    app->error = 0;
  app->unique_name = g_strdup (sd_bus_message_get_sender (reply));
  return 1;
}

static int
app_info_start (sd_bus  *bus,
                AppInfo *app)
{
  g_autoptr(sd_bus_message) m = NULL;
  g_autofree char *path = tool_base_path (app->app_id);
  int r;

  r = sd_bus_message_new_method_call (bus, &m, app->app_id, path,
                                      "org.freedesktop.DBus.Properties", "GetAll");
  if (r < 0)
    return r;
  /* list must not start applications that are only activatable. */
  r = sd_bus_message_set_auto_start (m, 0);
  if (r < 0)
    return r;
  r = sd_bus_message_append (m, "s", MAIN_INTERFACE);
  if (r < 0)
    return r;
  return sd_bus_call_async (bus, &app->slot, m, on_get_all, app, PROPERTIES_TIMEOUT_USEC);
}

static void
app_info_finish_pid (sd_bus  *bus,
                     AppInfo *app)
{
  g_autoptr(sd_bus_message) reply = NULL;
  g_auto(sd_bus_error) error = SD_BUS_ERROR_NULL;
  guint32 pid = 0;

  if (app->unique_name == NULL)
    return;
  if (sd_bus_call_method (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                          &error, &reply, "s", app->unique_name) >= 0 &&
      sd_bus_message_read_basic (reply, 'u', &pid) > 0)
    app->pid = pid;
}

static int
wait_until_done (sd_bus   *bus,
                 AppInfo **apps,
                 guint     n)
{
  for (;;)
    {
      gboolean all = TRUE;
      int r;

      for (guint i = 0; i < n; i++)
        all = all && apps[i]->done;
      if (all)
        return 0;
      r = sd_bus_process (bus, NULL);
      if (r < 0)
        return r;
      if (r > 0)
        continue;
      r = sd_bus_wait (bus, UINT64_MAX);
      if (r < 0 && r != -EINTR)
        return r;
    }
}

static int
bus_open_or_complain (const ToolOptions *opts,
                      sd_bus           **bus)
{
  int r = tool_bus_open (opts, FALSE, bus);

  if (r < 0)
    {
      g_autofree char *address = tool_bus_address (opts);

      fprintf (stderr, "Failed to connect to the bus at %s: %s\n", address, g_strerror (-r));
    }
  return r;
}

static JsonNode *
app_info_to_json (AppInfo  *app,
                  gboolean  full)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "app");
  json_builder_add_string_value (b, app->app_id);
  json_builder_set_member_name (b, "unique_name");
  json_builder_add_string_value (b, app->unique_name);
  json_builder_set_member_name (b, "pid");
  json_builder_add_int_value (b, app->pid);
  if (full)
    {
      json_builder_set_member_name (b, "strict");
      json_builder_add_boolean_value (b, app->strict);
    }
  json_builder_set_member_name (b, "web_contents");
  if (full)
    {
      json_builder_begin_array (b);
      for (guint i = 0; i < app->web_contents->len; i++)
        {
          WebContentsInfo *wc = &g_array_index (app->web_contents, WebContentsInfo, i);

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "id");
          json_builder_add_int_value (b, (gint64) wc->id);
          json_builder_set_member_name (b, "unique_name");
          json_builder_add_string_value (b, wc->unique_name);
          json_builder_set_member_name (b, "pid");
          json_builder_add_int_value (b, wc->pid);
          json_builder_set_member_name (b, "host_id");
          json_builder_add_int_value (b, (gint64) wc->host_id);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
    }
  else
    json_builder_add_int_value (b, app->web_contents->len);
  json_builder_set_member_name (b, "channels");
  json_builder_begin_array (b);
  for (guint i = 0; i < app->channels->len; i++)
    json_builder_add_string_value (b, g_ptr_array_index (app->channels, i));
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static char *
join_channels (AppInfo *app)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < app->channels->len; i++)
    {
      if (i > 0)
        g_string_append (s, ", ");
      g_string_append (s, g_ptr_array_index (app->channels, i));
    }
  if (s->len == 0)
    g_string_append (s, "-");
  return g_string_free (s, FALSE);
}

/* list ------------------------------------------------------------------- */

static int
cmd_list (ToolOptions *opts,
          int          argc,
          char       **argv)
{
  gboolean quiet = FALSE;
  const GOptionEntry entries[] = {
    { "json", 'j', 0, G_OPTION_ARG_NONE, &opts->json, "Print JSON", NULL },
    { "compact", 0, 0, G_OPTION_ARG_NONE, &opts->compact, "Print JSON on one line", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print the app ids only", NULL },
    { NULL }
  };
  g_autoptr(sd_bus) bus = NULL;
  g_autoptr(sd_bus_message) reply = NULL;
  g_auto(sd_bus_error) error = SD_BUS_ERROR_NULL;
  g_autoptr(GPtrArray) apps = g_ptr_array_new_with_free_func ((GDestroyNotify) app_info_free);
  g_autoptr(GPtrArray) found = g_ptr_array_new ();
  g_auto(GStrv) names = NULL;
  int r;

  if (!tool_parse_options (opts, "list", NULL,
                           "List the applications on the bus: every name that serves "
                           "org.eipc.Main1,\nwith its unique name, pid, number of attached "
                           "webContents and the\nchannels that have handlers.",
                           entries, &argc, &argv))
    return EXIT_USAGE;
  if (argc > 1)
    return tool_usage_error ("list", "unexpected argument '%s'", argv[1]);
  if (bus_open_or_complain (opts, &bus) < 0)
    return EXIT_FAILED;

  r = sd_bus_call_method (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "ListNames", &error, &reply, NULL);
  if (r >= 0)
    r = sd_bus_message_read_strv (reply, &names);
  if (r < 0)
    {
      fprintf (stderr, "Failed to list the names on the bus: %s\n",
               error.message != NULL ? error.message : g_strerror (-r));
      return EXIT_FAILED;
    }

  for (guint i = 0; names[i] != NULL; i++)
    {
      AppInfo *app;

      if (names[i][0] == ':' || strcmp (names[i], "org.freedesktop.DBus") == 0 ||
          !tool_app_id_is_valid (names[i]))
        continue;
      app = app_info_new (names[i]);
      g_ptr_array_add (apps, app);
      if (app_info_start (bus, app) < 0)
        app->done = TRUE;
    }
  r = wait_until_done (bus, (AppInfo **) apps->pdata, apps->len);
  if (r < 0)
    {
      fprintf (stderr, "Failed to read from the bus: %s\n", g_strerror (-r));
      return EXIT_FAILED;
    }
  for (guint i = 0; i < apps->len; i++)
    {
      AppInfo *app = g_ptr_array_index (apps, i);

      if (app->error == 0 && app->done && app->unique_name != NULL)
        {
          app_info_finish_pid (bus, app);
          g_ptr_array_add (found, app);
        }
    }

  if (opts->json)
    {
      g_autoptr(JsonNode) root = json_node_new (JSON_NODE_ARRAY);
      JsonArray *array = json_array_new ();
      gboolean tty = tool_stdout_is_tty () && !opts->compact;

      for (guint i = 0; i < found->len; i++)
        json_array_add_element (array, app_info_to_json (g_ptr_array_index (found, i), FALSE));
      json_node_take_array (root, array);
      tool_print_json (stdout, root, tty, tty);
      return EXIT_OK;
    }
  if (quiet)
    {
      for (guint i = 0; i < found->len; i++)
        printf ("%s\n", ((AppInfo *) g_ptr_array_index (found, i))->app_id);
      return EXIT_OK;
    }

  {
    int w_app = 3, w_unique = 6;

    for (guint i = 0; i < found->len; i++)
      {
        AppInfo *app = g_ptr_array_index (found, i);

        w_app = MAX (w_app, (int) strlen (app->app_id));
        w_unique = MAX (w_unique, (int) strlen (app->unique_name));
      }
    printf ("%-*s %-*s %7s %11s %s\n", w_app, "APP", w_unique, "UNIQUE", "PID",
            "WEBCONTENTS", "CHANNELS");
    for (guint i = 0; i < found->len; i++)
      {
        AppInfo *app = g_ptr_array_index (found, i);
        g_autofree char *channels = join_channels (app);

        printf ("%-*s %-*s %7u %11u %s\n", w_app, app->app_id, w_unique, app->unique_name,
                app->pid, app->web_contents->len, channels);
      }
    if (found->len == 0)
      fprintf (stderr, "No eipc applications on the bus.\n");
  }
  return EXIT_OK;
}

/* info ------------------------------------------------------------------- */

/* Reads one application's properties; prints why not and returns NULL. */
static AppInfo *
app_info_get (sd_bus     *bus,
              const char *app_id)
{
  g_autoptr(AppInfo) app = app_info_new (app_id);
  int r;

  r = app_info_start (bus, app);
  if (r >= 0)
    r = wait_until_done (bus, &app, 1);
  if (r < 0)
    {
      fprintf (stderr, "Failed to ask %s for its properties: %s\n", app_id, g_strerror (-r));
      return NULL;
    }
  if (app->error_name != NULL)
    {
      if (strcmp (app->error_name, SD_BUS_ERROR_SERVICE_UNKNOWN) == 0 ||
          strcmp (app->error_name, SD_BUS_ERROR_NAME_HAS_NO_OWNER) == 0)
        fprintf (stderr, "No application '%s' is running on the bus.\n", app_id);
      else if (strcmp (app->error_name, SD_BUS_ERROR_UNKNOWN_OBJECT) == 0 ||
               strcmp (app->error_name, SD_BUS_ERROR_UNKNOWN_INTERFACE) == 0 ||
               strcmp (app->error_name, SD_BUS_ERROR_UNKNOWN_METHOD) == 0)
        fprintf (stderr, "'%s' is on the bus but is not an eipc application "
                 "(no org.eipc.Main1 at its base path).\n", app_id);
      else
        fprintf (stderr, "%s: %s\n", app->error_name,
                 app->error_message != NULL ? app->error_message : "");
      return NULL;
    }
  if (app->error < 0)
    {
      fprintf (stderr, "Bad properties from %s: %s\n", app_id, g_strerror (-app->error));
      return NULL;
    }
  app_info_finish_pid (bus, app);
  return g_steal_pointer (&app);
}

static int
check_app_id (const char *command,
              const char *app_id)
{
  if (!tool_app_id_is_valid (app_id))
    return tool_usage_error (command, "'%s' is not an app id (a well-known bus name "
                             "such as org.example.Editor)", app_id);
  return EXIT_OK;
}

static int
cmd_info (ToolOptions *opts,
          int          argc,
          char       **argv)
{
  gboolean channels_only = FALSE;
  const GOptionEntry entries[] = {
    { "json", 'j', 0, G_OPTION_ARG_NONE, &opts->json, "Print JSON", NULL },
    { "compact", 0, 0, G_OPTION_ARG_NONE, &opts->compact, "Print JSON on one line", NULL },
    { "channels", 0, 0, G_OPTION_ARG_NONE, &channels_only,
      "Print the channels only, one a line", NULL },
    { NULL }
  };
  g_autoptr(sd_bus) bus = NULL;
  g_autoptr(AppInfo) app = NULL;
  int status;

  if (!tool_parse_options (opts, "info", "APP",
                           "Show an application: the attached webContents (id, unique name, "
                           "pid,\nhost id) and the channels that have handlers, from its "
                           "live properties.", entries, &argc, &argv))
    return EXIT_USAGE;
  if (argc != 2)
    return tool_usage_error ("info", argc < 2 ? "an APP is needed" : "too many arguments");
  if ((status = check_app_id ("info", argv[1])) != EXIT_OK)
    return status;
  if (bus_open_or_complain (opts, &bus) < 0)
    return EXIT_FAILED;
  app = app_info_get (bus, argv[1]);
  if (app == NULL)
    return EXIT_FAILED;

  if (channels_only)
    {
      for (guint i = 0; i < app->channels->len; i++)
        printf ("%s\n", (char *) g_ptr_array_index (app->channels, i));
      return EXIT_OK;
    }
  if (opts->json)
    {
      g_autoptr(JsonNode) root = app_info_to_json (app, TRUE);
      gboolean tty = tool_stdout_is_tty () && !opts->compact;

      tool_print_json (stdout, root, tty, tty);
      return EXIT_OK;
    }

  printf ("App:         %s\n", app->app_id);
  printf ("Unique name: %s\n", app->unique_name);
  printf ("PID:         %u\n", app->pid);
  printf ("Strict:      %s\n", app->strict ? "yes" : "no");
  printf ("Channels:   ");
  if (app->channels->len == 0)
    printf (" -\n");
  for (guint i = 0; i < app->channels->len; i++)
    printf ("%s%s\n", i == 0 ? " " : "             ", (char *) g_ptr_array_index (app->channels, i));
  printf ("WebContents: %u\n", app->web_contents->len);
  if (app->web_contents->len > 0)
    {
      int w_unique = 6;

      for (guint i = 0; i < app->web_contents->len; i++)
        w_unique = MAX (w_unique, (int) strlen (g_array_index (app->web_contents,
                                                               WebContentsInfo, i).unique_name));
      printf ("  %6s %-*s %7s %7s\n", "ID", w_unique, "UNIQUE", "PID", "HOST");
      for (guint i = 0; i < app->web_contents->len; i++)
        {
          WebContentsInfo *wc = &g_array_index (app->web_contents, WebContentsInfo, i);

          printf ("  %6" G_GUINT64_FORMAT " %-*s %7u %7" G_GUINT64_FORMAT "\n",
                  wc->id, w_unique, wc->unique_name, wc->pid, wc->host_id);
        }
    }
  return EXIT_OK;
}

/* invoke, send-sync, send, send-to ---------------------------------------- */

/* The arguments as one JSON array text: each ARG one JSON value, or
 * --args giving the whole array. */
static char *
build_args (const char  *command,
            const char  *args_option,
            int          argc,
            char       **argv,
            int         *status)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GString) s = g_string_new ("[");
  g_autoptr(GError) error = NULL;

  *status = EXIT_OK;
  if (args_option != NULL)
    {
      JsonNode *root;

      if (argc > 0)
        {
          *status = tool_usage_error (command, "give the arguments either with --args or "
                                      "one by one, not both");
          return NULL;
        }
      if (!json_parser_load_from_data (parser, args_option, -1, &error))
        {
          *status = tool_usage_error (command, "--args is not JSON: %s", error->message);
          return NULL;
        }
      root = json_parser_get_root (parser);
      if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root))
        {
          *status = tool_usage_error (command, "--args must be a JSON array, such as '[1, \"a\"]'");
          return NULL;
        }
      g_string_truncate (s, 0);
      tool_json_append (s, root);
      return g_string_free (g_steal_pointer (&s), FALSE);
    }

  for (int i = 0; i < argc; i++)
    {
      JsonNode *root;

      if (!json_parser_load_from_data (parser, argv[i], -1, &error) ||
          (root = json_parser_get_root (parser)) == NULL)
        {
          *status = tool_usage_error (command, "argument %d is not JSON: '%s'%s%s "
                                      "(a string needs quotes: '\"text\"')", i + 1, argv[i],
                                      error != NULL ? ": " : "",
                                      error != NULL ? error->message : "");
          return NULL;
        }
      if (i > 0)
        g_string_append_c (s, ',');
      tool_json_append (s, root);
    }
  g_string_append_c (s, ']');
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static EipcRenderer *
renderer_new_or_complain (const ToolOptions *opts,
                          const char        *app_id)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *address = tool_bus_address (opts);
  EipcRenderer *renderer;

  renderer = eipc_renderer_new_for_address (app_id, address, &error);
  if (renderer == NULL)
    {
    fprintf (stderr, "%s\n", error->message);
    }
  return renderer;
}

typedef struct {
  GMainLoop *loop;
  char      *result;   /* JSON text */
  GError    *error;
  gboolean   done;
  gboolean   timed_out;
} CallState;

static void
on_invoked (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  CallState *state = user_data;

  state->result = eipc_renderer_invoke_finish_json (EIPC_RENDERER (source), result,
                                                    &state->error);
  state->done = TRUE;
  g_main_loop_quit (state->loop);
}

static void
on_sent_to (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  CallState *state = user_data;

  eipc_renderer_send_to_finish (EIPC_RENDERER (source), result, &state->error);
  state->done = TRUE;
  g_main_loop_quit (state->loop);
}

static gboolean
on_call_timeout (gpointer user_data)
{
  GCancellable *cancellable = user_data;

  g_cancellable_cancel (cancellable);
  return G_SOURCE_REMOVE;
}

static gboolean
on_interrupt (gpointer user_data)
{
  GCancellable *cancellable = user_data;

  g_cancellable_cancel (cancellable);
  return G_SOURCE_CONTINUE;
}

static void
print_result (const ToolOptions *opts,
              const char        *result)
{
  gboolean pretty = !opts->compact && tool_stdout_is_tty ();

  tool_print_json_text (stdout, result, pretty, pretty);
}

typedef enum {
  CALL_INVOKE,
  CALL_SEND_SYNC,
  CALL_SEND,
  CALL_SEND_TO,
} CallKind;

static int
run_call (ToolOptions *opts,
          CallKind     kind,
          int          argc,
          char       **argv)
{
  static const char *const names[] = { "invoke", "send-sync", "send", "send-to" };
  const char *command = names[kind];
  char *args_option = NULL;
  const GOptionEntry result_entries[] = {
    { "args", 'a', 0, G_OPTION_ARG_STRING, &args_option,
      "The whole argument list as one JSON array", "JSON" },
    { "compact", 0, 0, G_OPTION_ARG_NONE, &opts->compact,
      "Print the result on one line, without colours", NULL },
    { "timeout", 't', 0, G_OPTION_ARG_DOUBLE, &opts->timeout,
      "Wait at most SECONDS for the answer", "SECONDS" },
    { NULL }
  };
  const GOptionEntry send_entries[] = {
    { "args", 'a', 0, G_OPTION_ARG_STRING, &args_option,
      "The whole argument list as one JSON array", "JSON" },
    { NULL }
  };
  static const char *const summaries[] = {
    "ipcRenderer.invoke: attach to APP as a renderer, invoke the handler of\n"
    "CHANNEL with the arguments (each ARG one JSON value) and print the\n"
    "value it resolves with, as JSON.",
    "ipcRenderer.sendSync: attach to APP as a renderer, send CHANNEL's\n"
    "listeners the arguments (each ARG one JSON value) and print the return\n"
    "value, as JSON.",
    "ipcRenderer.send: attach to APP as a renderer and send the arguments\n"
    "(each ARG one JSON value) to the main process's listeners of CHANNEL.",
    "ipcRenderer.sendTo: attach to APP as a renderer and send the arguments\n"
    "(each ARG one JSON value) on CHANNEL to the renderer whose webContentsId\n"
    "is ID.",
  };
  g_autoptr(EipcRenderer) renderer = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autofree char *args_json = NULL;
  g_autoptr(GError) error = NULL;
  CallState state = { loop, NULL, NULL, FALSE, FALSE };
  const char *app_id, *channel;
  guint64 target = 0;
  int first = 3, status;

  if (!tool_parse_options (opts, command,
                           kind == CALL_SEND_TO ? "APP ID CHANNEL [ARG...]" : "APP CHANNEL [ARG...]",
                           summaries[kind],
                           kind <= CALL_SEND_SYNC ? result_entries : send_entries,
                           &argc, &argv))
    {
      g_free (args_option);
      return EXIT_USAGE;
    }
  if (kind == CALL_SEND_TO)
    first = 4;
  if (argc < first)
    {
      g_free (args_option);
      return tool_usage_error (command, kind == CALL_SEND_TO ? "APP, ID and CHANNEL are needed"
                               : "APP and CHANNEL are needed");
    }
  app_id = argv[1];
  if ((status = check_app_id (command, app_id)) != EXIT_OK)
    {
      g_free (args_option);
      return status;
    }
  if (kind == CALL_SEND_TO)
    {
      if (!g_ascii_string_to_unsigned (argv[2], 10, 1, G_MAXUINT64, &target, NULL))
        {
          g_free (args_option);
          return tool_usage_error (command, "'%s' is not a webContentsId (a number, not 0)",
                                   argv[2]);
        }
    }
  /* '' is an ordinary channel, as in Electron. */
  channel = argv[first - 1];
  if (opts->timeout < 0)
    {
      g_free (args_option);
      return tool_usage_error (command, "--timeout must not be negative");
    }
  args_json = build_args (command, args_option, argc - first, argv + first, &status);
  g_free (args_option);
  if (args_json == NULL)
    return status;

  renderer = renderer_new_or_complain (opts, app_id);
  if (renderer == NULL)
    return EXIT_FAILED;

  switch (kind)
    {
    case CALL_INVOKE:
      {
        guint timeout_id = 0, sigint_id, sigterm_id;

        if (opts->timeout > 0)
          timeout_id = g_timeout_add ((guint) MIN (opts->timeout * 1000, G_MAXUINT),
                                      on_call_timeout, cancellable);
        sigint_id = g_unix_signal_add (SIGINT, on_interrupt, cancellable);
        sigterm_id = g_unix_signal_add (SIGTERM, on_interrupt, cancellable);
        eipc_renderer_invoke_json (renderer, channel, args_json, cancellable, on_invoked, &state);
        while (!state.done)
          g_main_loop_run (loop);
        if (timeout_id != 0 && !g_cancellable_is_cancelled (cancellable))
          g_source_remove (timeout_id);
        g_source_remove (sigint_id);
        g_source_remove (sigterm_id);
        if (g_error_matches (state.error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && opts->timeout > 0)
          {
            g_clear_error (&state.error);
            g_set_error (&state.error, EIPC_ERROR, EIPC_ERROR_TIMEOUT,
                         "Error invoking remote method '%s': no answer within %g s",
                         channel, opts->timeout);
          }
        break;
      }
    case CALL_SEND_SYNC:
      if (opts->timeout > 0)
        eipc_renderer_set_sync_timeout (renderer, (guint) MIN (opts->timeout * 1000, G_MAXUINT));
      {
        g_autoptr(JsonNode) value = NULL;

        value = eipc_renderer_send_sync_json (renderer, channel, args_json, &state.error);
        if (value != NULL)
          {
            GString *text = g_string_new (NULL);

            tool_json_append (text, value);
            state.result = g_string_free (text, FALSE);
          }
      }
      break;
    case CALL_SEND:
      eipc_renderer_send_json (renderer, channel, args_json, &state.error);
      break;
    case CALL_SEND_TO:
      eipc_renderer_send_to_json (renderer, target, channel, args_json, NULL, on_sent_to, &state);
      while (!state.done)
        g_main_loop_run (loop);
      break;
    default:
      g_assert_not_reached ();
    }

  if (state.error != NULL)
    {
      fprintf (stderr, "%s\n", state.error->message);
      g_clear_error (&state.error);
      return EXIT_FAILED;
    }
  if (state.result != NULL)
    {
      print_result (opts, state.result);
      g_free (state.result);
    }
  return EXIT_OK;
}

static int
cmd_invoke (ToolOptions *opts, int argc, char **argv)
{
  return run_call (opts, CALL_INVOKE, argc, argv);
}

static int
cmd_send_sync (ToolOptions *opts, int argc, char **argv)
{
  return run_call (opts, CALL_SEND_SYNC, argc, argv);
}

static int
cmd_send (ToolOptions *opts, int argc, char **argv)
{
  return run_call (opts, CALL_SEND, argc, argv);
}

static int
cmd_send_to (ToolOptions *opts, int argc, char **argv)
{
  return run_call (opts, CALL_SEND_TO, argc, argv);
}

/* main ------------------------------------------------------------------- */

typedef struct {
  const char *name;
  int (*func) (ToolOptions *opts, int argc, char **argv);
  const char *help;
} Command;

static const Command commands[] = {
  { "list", cmd_list, "List the applications on the bus" },
  { "info", cmd_info, "Show an application's webContents and channels" },
  { "invoke", cmd_invoke, "Invoke a channel's handler and print the result" },
  { "send-sync", cmd_send_sync, "Send synchronously and print the return value" },
  { "send", cmd_send, "Send a message to the main process" },
  { "send-to", cmd_send_to, "Send a message to another renderer" },
  { "listen", tool_cmd_listen, "Attach as a renderer and print what it receives" },
  { "monitor", tool_cmd_monitor, "Show all IPC of an application, decoded" },
};

static void
print_usage (FILE *out)
{
  fprintf (out,
           "Usage:\n"
           "  eipc [--address=ADDRESS | --user | --system] COMMAND [OPTION...] [ARG...]\n"
           "\n"
           "Drive and watch eipc applications in terms of channels, webContents ids\n"
           "and JSON.\n"
           "\n"
           "Commands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-10s %s\n", commands[i].name, commands[i].help);
  fprintf (out,
           "\n"
           "Options:\n"
           "  -h, --help           Show this help; 'eipc COMMAND --help' for a command\n"
           "  --version            Show the version\n"
           "  --address=ADDRESS    Connect to the bus at ADDRESS\n"
           "  --user               Connect to the user's session bus (the default)\n"
           "  --system             Connect to the system bus\n"
           "\n"
           "Exit status: 0 on success, 1 when a call fails (its error on stderr),\n"
           "2 on bad usage.\n"
           "\n"
           "Examples:\n"
           "  eipc list\n"
           "  eipc invoke org.eipc.Demo add 1 2 3.5\n"
           "  eipc monitor org.eipc.Demo\n"
           "\n"
           "See eipc(1).\n");
}

int
main (int   argc,
      char *argv[])
{
  ToolOptions opts = { .user = TRUE };
  int status;
  int i;

  setlocale (LC_ALL, "");
  /* Global options before the command. */
  for (i = 1; i < argc && argv[i][0] == '-'; i++)
    {
      const char *arg = argv[i];

      if (strcmp (arg, "-h") == 0 || strcmp (arg, "--help") == 0)
        {
          print_usage (stdout);
          return EXIT_OK;
        }
      else if (strcmp (arg, "--version") == 0)
        {
          printf ("eipc %d.%d.%d\n", EIPC_MAJOR_VERSION, EIPC_MINOR_VERSION, EIPC_MICRO_VERSION);
          return EXIT_OK;
        }
      else if (strcmp (arg, "--user") == 0)
        {
          opts.user = TRUE;
          opts.system = FALSE;
        }
      else if (strcmp (arg, "--system") == 0)
        {
          opts.system = TRUE;
          opts.user = FALSE;
        }
      else if (g_str_has_prefix (arg, "--address="))
        {
          g_free (opts.address);
          opts.address = g_strdup (arg + strlen ("--address="));
        }
      else if (strcmp (arg, "--address") == 0 && i + 1 < argc)
        {
          g_free (opts.address);
          opts.address = g_strdup (argv[++i]);
        }
      else
        {
          g_free (opts.address);
          return tool_usage_error (NULL, "unknown option '%s'", arg);
        }
    }
  if (i >= argc)
    {
      print_usage (stderr);
      g_free (opts.address);
      return EXIT_USAGE;
    }

  status = -1;
  for (gsize c = 0; c < G_N_ELEMENTS (commands); c++)
    if (strcmp (argv[i], commands[c].name) == 0)
      {
        /* The command sees itself as argv[0]. */
        status = commands[c].func (&opts, argc - i, argv + i);
        break;
      }
  if (status < 0)
    status = tool_usage_error (NULL, "unknown command '%s'", argv[i]);
  fflush (stdout);
  g_free (opts.address);
  return status;
}
