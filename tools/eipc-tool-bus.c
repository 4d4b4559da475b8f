/* eipc-tool-bus.c: bus connections and a GSource for sd-bus, for `eipc`
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <string.h>

#include "eipc-tool.h"

#define SYSTEM_BUS_ADDRESS "unix:path=/run/dbus/system_bus_socket"

char *
tool_bus_address (const ToolOptions *opts)
{
  const char *env;

  if (opts->address != NULL)
    return g_strdup (opts->address);
  if (opts->system)
    {
      env = g_getenv ("DBUS_SYSTEM_BUS_ADDRESS");
      return g_strdup (env != NULL && env[0] != '\0' ? env : SYSTEM_BUS_ADDRESS);
    }
  env = g_getenv ("DBUS_SESSION_BUS_ADDRESS");
  if (env != NULL && env[0] != '\0')
    return g_strdup (env);
  /* What sd_bus_open_user() and GIO fall back to. */
  {
    g_autofree char *escaped = g_uri_escape_string (g_get_user_runtime_dir (), "/", FALSE);
    return g_strdup_printf ("unix:path=%s/bus", escaped);
  }
}

int
tool_bus_open (const ToolOptions *opts,
               gboolean           monitor,
               sd_bus           **ret)
{
  g_autoptr(sd_bus) bus = NULL;
  g_autofree char *address = tool_bus_address (opts);
  int r;

  r = sd_bus_new (&bus);
  if (r < 0)
    return r;
  r = sd_bus_set_address (bus, address);
  if (r < 0)
    return r;
  r = sd_bus_set_bus_client (bus, 1);
  if (r < 0)
    return r;
  if (monitor)
    {
      r = sd_bus_set_monitor (bus, 1);
      if (r < 0)
        return r;
    }
  else
    {
      /* The tool serves nothing that needs the caller's credentials; no
       * blocking credential queries for the listen command's Invoke. */
      r = sd_bus_set_trusted (bus, 1);
      if (r < 0)
        return r;
    }
  r = sd_bus_start (bus);
  if (r < 0)
    return r;
  *ret = g_steal_pointer (&bus);
  return 0;
}

gboolean
tool_app_id_is_valid (const char *app_id)
{
  /* A well-known bus name: at least two elements, no leading digit. */
  return g_dbus_is_name (app_id) && !g_dbus_is_unique_name (app_id);
}

char *
tool_base_path (const char *app_id)
{
  GString *s = g_string_new (NULL);
  g_auto(GStrv) labels = g_strsplit (app_id, ".", -1);

  for (guint i = 0; labels[i] != NULL; i++)
    {
      g_string_append_c (s, '/');
      if (labels[i][0] == '\0')
        {
          g_string_append_c (s, '_');
          continue;
        }
      for (const char *p = labels[i]; *p != '\0'; p++)
        {
          if (g_ascii_isalnum (*p))
            g_string_append_c (s, *p);
          else
            g_string_append_printf (s, "_%02x", (guint) (guchar) *p);
        }
    }
  return g_string_free (s, FALSE);
}

typedef struct {
  GSource      source;
  sd_bus      *bus;
  gpointer     tag;
  int          events;  /* what the fd is polled for */
  ToolBusFunc  func;
  gpointer     user_data;
} BusSource;

static gboolean
bus_source_prepare (GSource *source,
                    gint    *timeout)
{
  BusSource *self = (BusSource *) source;
  uint64_t until = UINT64_MAX;
  int events;

  *timeout = -1;
  events = sd_bus_get_events (self->bus);
  if (events < 0)
    events = 0;
  /* Only on a change: modifying wakes the context up (an eventfd write
   * and one more poll per iteration). */
  if (events != self->events)
    {
      g_source_modify_unix_fd (source, self->tag, (GIOCondition) events);
      self->events = events;
    }
  if (sd_bus_get_timeout (self->bus, &until) < 0)
    return TRUE;
  if (until == 0)
    return TRUE;
  if (until != UINT64_MAX)
    {
      gint64 now = g_get_monotonic_time ();

      if ((gint64) until <= now)
        return TRUE;
      *timeout = (gint) MIN ((until - (uint64_t) now + 999) / 1000, G_MAXINT);
    }
  return FALSE;
}

static gboolean
bus_source_check (GSource *source)
{
  BusSource *self = (BusSource *) source;
  uint64_t until = UINT64_MAX;

  if (g_source_query_unix_fd (source, self->tag) != 0)
    return TRUE;
  if (sd_bus_get_timeout (self->bus, &until) < 0)
    return TRUE;
  return until != UINT64_MAX && (gint64) until <= g_get_monotonic_time ();
}

static gboolean
bus_source_dispatch (GSource     *source,
                     GSourceFunc  callback,
                     gpointer     user_data)
{
  BusSource *self = (BusSource *) source;

  self->func (self->bus, self->user_data);
  return G_SOURCE_CONTINUE;
}

static void
bus_source_finalize (GSource *source)
{
  BusSource *self = (BusSource *) source;

  sd_bus_unref (self->bus);
}

static GSourceFuncs bus_source_funcs = {
  bus_source_prepare,
  bus_source_check,
  bus_source_dispatch,
  bus_source_finalize,
  NULL, NULL,
};

guint
tool_bus_attach (sd_bus      *bus,
                 ToolBusFunc  func,
                 gpointer     user_data)
{
  GSource *source = g_source_new (&bus_source_funcs, sizeof (BusSource));
  BusSource *self = (BusSource *) source;
  guint id;

  self->bus = sd_bus_ref (bus);
  self->func = func;
  self->user_data = user_data;
  self->events = G_IO_IN;
  self->tag = g_source_add_unix_fd (source, sd_bus_get_fd (bus), G_IO_IN);
  g_source_set_name (source, "eipc tool bus");
  id = g_source_attach (source, NULL);
  g_source_unref (source);
  return id;
}
