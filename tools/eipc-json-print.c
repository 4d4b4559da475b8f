/* eipc-json-print.c: JSON output of the `eipc` tool
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Indented and coloured on a terminal (the colours jq uses), compact
 * otherwise; numbers as the shortest text that reads back the same
 * value, so `6.5` prints as 6.5 and `0.1` as 0.1.
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eipc-tool.h"

#define COLOR_NULL   "\033[1;30m"
#define COLOR_BOOL   "\033[0;39m"
#define COLOR_NUMBER "\033[0;39m"
#define COLOR_STRING "\033[0;32m"
#define COLOR_KEY    "\033[34;1m"
#define COLOR_PUNCT  "\033[1;39m"
#define COLOR_RESET  "\033[0m"

gboolean
tool_stdout_is_tty (void)
{
  const char *term = g_getenv ("TERM");

  return isatty (STDOUT_FILENO) && g_getenv ("NO_COLOR") == NULL &&
         (term == NULL || strcmp (term, "dumb") != 0);
}

void
tool_json_append_double (GString *s,
                         double   value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  /* JSON has no NaN or infinity; json-glib never produces them. */
  if (!isfinite (value))
    {
      g_string_append (s, "null");
      return;
    }
  if (value == floor (value) && fabs (value) < 1e15)
    {
      g_string_append_printf (s, "%.0f", value);
      return;
    }
  for (int precision = 15; precision <= 17; precision++)
    {
      g_ascii_formatd (buf, sizeof buf, precision == 15 ? "%.15g" :
                       precision == 16 ? "%.16g" : "%.17g", value);
      if (g_ascii_strtod (buf, NULL) == value)
        break;
    }
  g_string_append (s, buf);
}

void
tool_json_append_string (GString    *s,
                         const char *text)
{
  g_string_append_c (s, '"');
  for (const unsigned char *p = (const unsigned char *) text; *p != '\0'; p++)
    {
      switch (*p)
        {
        case '"': g_string_append (s, "\\\""); break;
        case '\\': g_string_append (s, "\\\\"); break;
        case '\n': g_string_append (s, "\\n"); break;
        case '\r': g_string_append (s, "\\r"); break;
        case '\t': g_string_append (s, "\\t"); break;
        case '\b': g_string_append (s, "\\b"); break;
        case '\f': g_string_append (s, "\\f"); break;
        default:
          if (*p < 0x20 || *p == 0x7f)
            g_string_append_printf (s, "\\u%04x", *p);
          else
            g_string_append_c (s, (char) *p);
        }
    }
  g_string_append_c (s, '"');
}

typedef struct {
  GString  *s;
  gboolean  pretty;
  gboolean  color;
} Printer;

static void
printer_color (Printer    *p,
               const char *color)
{
  if (p->color)
    g_string_append (p->s, color);
}

static void
printer_newline (Printer *p,
                 guint    depth)
{
  if (!p->pretty)
    return;
  g_string_append_c (p->s, '\n');
  for (guint i = 0; i < depth; i++)
    g_string_append (p->s, "  ");
}

static void
printer_punct (Printer    *p,
               const char *text)
{
  printer_color (p, COLOR_PUNCT);
  g_string_append (p->s, text);
  printer_color (p, COLOR_RESET);
}

static void printer_node (Printer *p, JsonNode *node, guint depth);

static void
printer_value (Printer  *p,
               JsonNode *node)
{
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      printer_color (p, COLOR_NUMBER);
      g_string_append_printf (p->s, "%" G_GINT64_FORMAT, json_node_get_int (node));
      break;
    case G_TYPE_DOUBLE:
      printer_color (p, COLOR_NUMBER);
      tool_json_append_double (p->s, json_node_get_double (node));
      break;
    case G_TYPE_BOOLEAN:
      printer_color (p, COLOR_BOOL);
      g_string_append (p->s, json_node_get_boolean (node) ? "true" : "false");
      break;
    case G_TYPE_STRING:
      printer_color (p, COLOR_STRING);
      tool_json_append_string (p->s, json_node_get_string (node));
      break;
    default:
      printer_color (p, COLOR_NULL);
      g_string_append (p->s, "null");
    }
  printer_color (p, COLOR_RESET);
}

static void
printer_node (Printer  *p,
              JsonNode *node,
              guint     depth)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;
        gboolean first = TRUE;

        printer_punct (p, "{");
        json_object_iter_init_ordered (&iter, object);
        while (json_object_iter_next_ordered (&iter, &name, &member))
          {
            if (!first)
              printer_punct (p, ",");
            first = FALSE;
            printer_newline (p, depth + 1);
            printer_color (p, COLOR_KEY);
            tool_json_append_string (p->s, name);
            printer_color (p, COLOR_RESET);
            printer_punct (p, ":");
            if (p->pretty)
              g_string_append_c (p->s, ' ');
            printer_node (p, member, depth + 1);
          }
        if (!first)
          printer_newline (p, depth);
        printer_punct (p, "}");
        break;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        guint n = json_array_get_length (array);

        printer_punct (p, "[");
        for (guint i = 0; i < n; i++)
          {
            if (i > 0)
              printer_punct (p, ",");
            printer_newline (p, depth + 1);
            printer_node (p, json_array_get_element (array, i), depth + 1);
          }
        if (n > 0)
          printer_newline (p, depth);
        printer_punct (p, "]");
        break;
      }
    case JSON_NODE_NULL:
      printer_color (p, COLOR_NULL);
      g_string_append (p->s, "null");
      printer_color (p, COLOR_RESET);
      break;
    case JSON_NODE_VALUE:
      printer_value (p, node);
      break;
    default:
      g_assert_not_reached ();
    }
}

void
tool_json_append (GString  *s,
                  JsonNode *node)
{
  Printer p = { s, FALSE, FALSE };

  printer_node (&p, node, 0);
}

void
tool_print_json (FILE     *out,
                 JsonNode *node,
                 gboolean  pretty,
                 gboolean  color)
{
  g_autoptr(GString) s = g_string_new (NULL);
  Printer p = { s, pretty, color };

  printer_node (&p, node, 0);
  g_string_append_c (s, '\n');
  fwrite (s->str, 1, s->len, out);
}

/* A validating JSON scanner for the monitor, which shows arguments as
 * the bus carried them and must not pay for a parse per message. */

#define MAX_DEPTH 512

static const char *
skip_ws (const char *p)
{
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
    p++;
  return p;
}

static const char *
scan_string (const char *p)
{
  /* *p == '"' */
  p++;
  for (;;)
    {
      unsigned char c = (unsigned char) *p;

      if (c == '"')
        return p + 1;
      if (c < 0x20)
        return NULL;
      if (c == '\\')
        {
          p++;
          if (*p == 'u')
            {
              for (int i = 1; i <= 4; i++)
                if (!g_ascii_isxdigit (p[i]))
                  return NULL;
              p += 5;
            }
          else if (*p != '\0' && strchr ("\"\\/bfnrt", *p) != NULL)
            p++;
          else
            return NULL;
        }
      else if (c < 0x80)
        p++;
      else
        {
          const char *end;
          gunichar u = g_utf8_get_char_validated (p, -1);

          if (u == (gunichar) -1 || u == (gunichar) -2)
            return NULL;
          end = g_utf8_next_char (p);
          p = end;
        }
    }
}

static const char *
scan_number (const char *p)
{
  if (*p == '-')
    p++;
  if (*p == '0')
    p++;
  else if (*p >= '1' && *p <= '9')
    while (g_ascii_isdigit (*p))
      p++;
  else
    return NULL;
  if (*p == '.')
    {
      p++;
      if (!g_ascii_isdigit (*p))
        return NULL;
      while (g_ascii_isdigit (*p))
        p++;
    }
  if (*p == 'e' || *p == 'E')
    {
      p++;
      if (*p == '+' || *p == '-')
        p++;
      if (!g_ascii_isdigit (*p))
        return NULL;
      while (g_ascii_isdigit (*p))
        p++;
    }
  return p;
}

static const char *
scan_value (const char *p,
            guint       depth)
{
  p = skip_ws (p);
  switch (*p)
    {
    case '"':
      return scan_string (p);
    case '{':
    case '[':
      {
        char close = *p == '{' ? '}' : ']';
        gboolean object = *p == '{';

        if (depth >= MAX_DEPTH)
          return NULL;
        p = skip_ws (p + 1);
        if (*p == close)
          return p + 1;
        for (;;)
          {
            if (object)
              {
                p = skip_ws (p);
                if (*p != '"' || (p = scan_string (p)) == NULL)
                  return NULL;
                p = skip_ws (p);
                if (*p++ != ':')
                  return NULL;
              }
            if ((p = scan_value (p, depth + 1)) == NULL)
              return NULL;
            p = skip_ws (p);
            if (*p == close)
              return p + 1;
            if (*p++ != ',')
              return NULL;
          }
      }
    case 't':
      return strncmp (p, "true", 4) == 0 ? p + 4 : NULL;
    case 'f':
      return strncmp (p, "false", 5) == 0 ? p + 5 : NULL;
    case 'n':
      return strncmp (p, "null", 4) == 0 ? p + 4 : NULL;
    default:
      return scan_number (p);
    }
}

gboolean
tool_json_is_valid (const char *text)
{
  const char *end = scan_value (text, 0);

  return end != NULL && *skip_ws (end) == '\0';
}

/* Prints JSON text that tool_json_is_valid() accepted, token by token,
 * without building a tree: strings and integers exactly as the text has
 * them, other numbers as the shortest text that reads back the same. */
void
tool_print_json_text (FILE       *out,
                      const char *text,
                      gboolean    pretty,
                      gboolean    color)
{
  g_autoptr(GString) s = g_string_sized_new (strlen (text) + 16);
  Printer pr = { s, pretty, color };
  const char *p = skip_ws (text);
  guint depth = 0;

  while (*p != '\0')
    {
      const char *end;

      switch (*p)
        {
        case '{':
        case '[':
          {
            char open[2] = { *p, '\0' };

            printer_punct (&pr, open);
            p = skip_ws (p + 1);
            if (*p == '}' || *p == ']')
              {
                /* An empty container stays on one line. */
                char close[2] = { *p, '\0' };

                printer_punct (&pr, close);
                p = skip_ws (p + 1);
                continue;
              }
            depth++;
            printer_newline (&pr, depth);
            continue;
          }
        case '}':
        case ']':
          {
            char close[2] = { *p, '\0' };

            depth--;
            printer_newline (&pr, depth);
            printer_punct (&pr, close);
            p = skip_ws (p + 1);
            continue;
          }
        case ',':
          printer_punct (&pr, ",");
          printer_newline (&pr, depth);
          p = skip_ws (p + 1);
          continue;
        case ':':
          printer_punct (&pr, ":");
          if (pretty)
            g_string_append_c (s, ' ');
          p = skip_ws (p + 1);
          continue;
        case '"':
          end = scan_string (p);
          printer_color (&pr, *skip_ws (end) == ':' ? COLOR_KEY : COLOR_STRING);
          break;
        case 't':
        case 'f':
          end = p + (*p == 't' ? 4 : 5);
          printer_color (&pr, COLOR_BOOL);
          break;
        case 'n':
          end = p + 4;
          printer_color (&pr, COLOR_NULL);
          break;
        default:
          end = scan_number (p);
          printer_color (&pr, COLOR_NUMBER);
          if (strcspn (p, ".eE") < (gsize) (end - p))
            {
              /* A fraction or exponent: as the value reads back (a
               * handler may have written 0.10000000000000001). */
              tool_json_append_double (s, g_ascii_strtod (p, NULL));
              printer_color (&pr, COLOR_RESET);
              p = skip_ws (end);
              continue;
            }
          break;
        }
      g_assert (end != NULL);
      g_string_append_len (s, p, end - p);
      printer_color (&pr, COLOR_RESET);
      p = skip_ws (end);
    }
  g_string_append_c (s, '\n');
  fwrite (s->str, 1, s->len, out);
}
