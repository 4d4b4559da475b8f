/* eipc-tool.h: the `eipc` command-line tool, shared between its files
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <stdio.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <systemd/sd-bus.h>

G_BEGIN_DECLS

/* Exit statuses, as varlinkctl and gdbus use them. */
#define EXIT_OK      0
#define EXIT_FAILED  1
#define EXIT_USAGE   2

typedef struct {
  char     *address;  /* --address, or NULL */
  gboolean  user;     /* --user (the default) */
  gboolean  system;   /* --system */
  gboolean  compact;  /* --compact */
  gboolean  json;     /* --json */
  double    timeout;  /* --timeout, seconds; 0 = the default */
} ToolOptions;

/* The bus address the options choose (never NULL). */
char      *tool_bus_address        (const ToolOptions *opts);
/* A started sd-bus client connection to that bus; a monitor connection
 * when @monitor. Returns a negative errno. */
int        tool_bus_open           (const ToolOptions *opts,
                                    gboolean           monitor,
                                    sd_bus           **ret);
/* BASE: the app id with dots turned into slashes, every other byte that
 * is not [A-Za-z0-9] escaped as _xx, as sd-bus escapes path labels. */
char      *tool_base_path          (const char        *app_id);
gboolean   tool_app_id_is_valid    (const char        *app_id);

/* A GSource that runs @func whenever @bus has work; @func processes it. */
typedef void (*ToolBusFunc) (sd_bus *bus, gpointer user_data);
guint      tool_bus_attach         (sd_bus            *bus,
                                    ToolBusFunc        func,
                                    gpointer           user_data);

/* JSON output: indented and coloured when @pretty, else compact. */
void       tool_print_json         (FILE              *out,
                                    JsonNode          *node,
                                    gboolean           pretty,
                                    gboolean           color);
/* The same for JSON text that tool_json_is_valid() accepts. */
void       tool_print_json_text    (FILE              *out,
                                    const char        *text,
                                    gboolean           pretty,
                                    gboolean           color);
/* Appends @node compactly to @s. */
void       tool_json_append        (GString           *s,
                                    JsonNode          *node);
/* Appends @text as a JSON string literal. */
void       tool_json_append_string (GString           *s,
                                    const char        *text);
/* Whether @text is one valid JSON value (RFC 8259), cheaply. */
gboolean   tool_json_is_valid      (const char        *text);
/* Appends a number as JSON: the shortest text that reads back the same. */
void       tool_json_append_double (GString           *s,
                                    double             value);

/* Whether stdout is a terminal and colours are wanted. */
gboolean   tool_stdout_is_tty      (void);

/* Parses a subcommand's options (its own @entries and the bus
 * options) from *argc / *argv, in place; options come before the first
 * positional argument, so "-1" after it is a JSON argument. Prints the
 * problem and returns FALSE on bad usage. */
gboolean   tool_parse_options      (ToolOptions       *opts,
                                    const char        *command,
                                    const char        *parameters,
                                    const char        *summary,
                                    const GOptionEntry *entries,
                                    int               *argc,
                                    char            ***argv);
/* Prints "eipc COMMAND: MESSAGE" and a hint on stderr; returns EXIT_USAGE. */
int        tool_usage_error        (const char        *command,
                                    const char        *format,
                                    ...) G_GNUC_PRINTF (2, 3);

int        tool_cmd_listen         (ToolOptions       *opts,
                                    int                argc,
                                    char             **argv);
int        tool_cmd_monitor        (ToolOptions       *opts,
                                    int                argc,
                                    char             **argv);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sd_bus, sd_bus_flush_close_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (sd_bus_message, sd_bus_message_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (sd_bus_slot, sd_bus_slot_unref)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (sd_bus_error, sd_bus_error_free)

G_END_DECLS
