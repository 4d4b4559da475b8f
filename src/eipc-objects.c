/* eipc-objects.c: the main process's webContents objects on the bus
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every attached webContents is an object of the main process at
 * BASE/WebContents/ID, and BASE/WebContents is the object broadcasts come
 * from. Nothing is called on them: they only emit the signals of
 * org.eipc.WebContents1 (see eipc_web_contents_deliver() and
 * eipc_main_broadcast_json()). They are registered here so that
 * Introspect, `busctl introspect` and `busctl tree` show them, and so
 * that the per-renderer objects expose what the main process knows of
 * each renderer as read-only properties.
 *
 * The main process hands in a registry (its base path and a lookup of
 * ids), not itself: this file sits below eipc-main.c.
 */

#include "config.h"

#include <string.h>

#include "eipc-private.h"

/* Signals, on the broadcast object and on every webContents object. */
static const sd_bus_vtable web_contents_signals_vtable[] = {
  SD_BUS_VTABLE_START (0),
  SD_BUS_SIGNAL_WITH_ARGS ("Message",
                           SD_BUS_ARGS ("s", channel, "s", args, "t", sender_id),
                           0),
  SD_BUS_SIGNAL_WITH_ARGS ("HostMessage",
                           SD_BUS_ARGS ("s", channel, "s", args, "t", guest_id),
                           0),
  SD_BUS_SIGNAL_WITH_ARGS ("PostMessage",
                           SD_BUS_ARGS ("s", channel, "s", message, "a(hb)", ports),
                           0),
  SD_BUS_VTABLE_END
};

/* One getter for the four properties: they are plain fields. */
static int
property_get (sd_bus         *bus,
              const char     *path,
              const char     *interface,
              const char     *property,
              sd_bus_message *reply,
              void           *userdata,
              sd_bus_error   *ret_error)
{
  EipcWebContents *wc = userdata;

  if (strcmp (property, "Id") == 0)
    return sd_bus_message_append (reply, "t", eipc_web_contents_get_id (wc));
  if (strcmp (property, "UniqueName") == 0)
    return sd_bus_message_append (reply, "s", eipc_web_contents_get_unique_name (wc));
  if (strcmp (property, "ProcessId") == 0)
    return sd_bus_message_append (reply, "u", eipc_web_contents_get_process_id (wc));
  g_assert (strcmp (property, "HostId") == 0);
  return sd_bus_message_append (reply, "t", eipc_web_contents_get_host_id (wc));
}

/* Properties, on the webContents objects only: a webContents never
 * changes them while it lives. */
static const sd_bus_vtable web_contents_properties_vtable[] = {
  SD_BUS_VTABLE_START (0),
  SD_BUS_PROPERTY ("Id", "t", property_get, 0,
                   SD_BUS_VTABLE_PROPERTY_CONST),
  SD_BUS_PROPERTY ("UniqueName", "s", property_get, 0,
                   SD_BUS_VTABLE_PROPERTY_CONST),
  SD_BUS_PROPERTY ("ProcessId", "u", property_get, 0,
                   SD_BUS_VTABLE_PROPERTY_CONST),
  SD_BUS_PROPERTY ("HostId", "t", property_get, 0,
                   SD_BUS_VTABLE_PROPERTY_CONST),
  SD_BUS_VTABLE_END
};

/* BASE/WebContents/ID of an attached webContents: returns it, else NULL. */
static EipcWebContents *
lookup_path (const EipcWebContentsRegistry *registry,
             const char                    *path)
{
  guint64 id;

  if (!eipc_web_contents_path_parse (registry->base_path, path, &id))
    return NULL;
  return registry->lookup (id, registry->data);
}

static gboolean
is_broadcast_path (const EipcWebContentsRegistry *registry,
                   const char                    *path)
{
  const char *base = registry->base_path;
  gsize base_len = strlen (base);

  return strncmp (path, base, base_len) == 0 &&
         strcmp (path + base_len, EIPC_WEB_CONTENTS_SUFFIX) == 0;
}

static int
find_signals_object (sd_bus       *bus,
                     const char   *path,
                     const char   *interface,
                     void         *userdata,
                     void        **ret_found,
                     sd_bus_error *ret_error)
{
  const EipcWebContentsRegistry *registry = userdata;
  EipcWebContents *wc;

  if (is_broadcast_path (registry, path))
    {
      /* Nothing is read from the broadcast object: any non-NULL will do. */
      *ret_found = (gpointer) registry;
      return 1;
    }
  wc = lookup_path (registry, path);
  if (wc == NULL)
    return 0;
  *ret_found = wc;
  return 1;
}

static int
find_properties_object (sd_bus       *bus,
                        const char   *path,
                        const char   *interface,
                        void         *userdata,
                        void        **ret_found,
                        sd_bus_error *ret_error)
{
  EipcWebContents *wc = lookup_path (userdata, path);

  if (wc == NULL)
    return 0;
  *ret_found = wc;
  return 1;
}

/* The children of BASE/WebContents, for Introspect and `busctl tree`. */
static int
enumerate_web_contents (sd_bus        *bus,
                        const char    *prefix,
                        void          *userdata,
                        char        ***ret_nodes,
                        sd_bus_error  *ret_error)
{
  const EipcWebContentsRegistry *registry = userdata;
  g_autoptr(GPtrArray) all = registry->list (registry->data);
  char **nodes;

  /* sd-bus frees the list with free(): GLib allocates with malloc(). */
  nodes = g_new (char *, all->len + 1);
  for (guint i = 0; i < all->len; i++)
    nodes[i] = g_strdup (eipc_web_contents_get_object_path (g_ptr_array_index (all, i)));
  nodes[all->len] = NULL;
  *ret_nodes = nodes;
  return 0;
}

/* Registers BASE/WebContents and the BASE/WebContents/ID objects of
 * attached webContents on @bus; @registry must outlive the slots. On
 * success the caller owns the three slots; on failure nothing is
 * registered and the slots are untouched. */
int
eipc_web_contents_objects_register (sd_bus                        *bus,
                                    const EipcWebContentsRegistry *registry,
                                    sd_bus_slot                  **ret_signals,
                                    sd_bus_slot                  **ret_properties,
                                    sd_bus_slot                  **ret_enumerator)
{
  gpointer self = (gpointer) registry;
  g_autoptr(sd_bus_slot) signals = NULL;
  g_autoptr(sd_bus_slot) properties = NULL;
  g_autoptr(sd_bus_slot) enumerator = NULL;
  g_autofree char *prefix = NULL;
  int r;

  prefix = g_strconcat (registry->base_path, EIPC_WEB_CONTENTS_SUFFIX, NULL);

  r = sd_bus_add_fallback_vtable (bus, &signals, prefix,
                                  EIPC_WEB_CONTENTS_INTERFACE,
                                  web_contents_signals_vtable,
                                  find_signals_object, self);
  if (r < 0)
    return r;
  r = sd_bus_add_fallback_vtable (bus, &properties, prefix,
                                  EIPC_WEB_CONTENTS_INTERFACE,
                                  web_contents_properties_vtable,
                                  find_properties_object, self);
  if (r < 0)
    return r;
  r = sd_bus_add_node_enumerator (bus, &enumerator, prefix,
                                  enumerate_web_contents, self);
  if (r < 0)
    return r;

  *ret_signals = g_steal_pointer (&signals);
  *ret_properties = g_steal_pointer (&properties);
  *ret_enumerator = g_steal_pointer (&enumerator);
  return 0;
}
