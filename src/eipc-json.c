/* eipc-json.c: checking, writing and reading the JSON that travels
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Inbound text is checked by a small validator that builds nothing
 * (strict RFC 8259, depth-limited, never recursive), so a message can be
 * refused with a clear error before any listener runs, and json-glib only
 * parses it when a listener asks for the values.
 */

#include "config.h"

#include <math.h>
#include <string.h>

#if defined (__SSE2__)
#include <emmintrin.h>
#endif

#include "eipc-private.h"

gboolean
eipc_channel_check (const char  *channel,
                    GError     **error)
{
  gsize len;

  /* The empty channel is an ordinary channel, as in Electron. */
  if (channel == NULL)
    {
      g_set_error_literal (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                           "The channel must be a string");
      return FALSE;
    }
  len = strnlen (channel, EIPC_MAX_CHANNEL_LENGTH + 1);
  if (len > EIPC_MAX_CHANNEL_LENGTH)
    {
      g_set_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                   "The channel is longer than %d bytes",
                   EIPC_MAX_CHANNEL_LENGTH);
      return FALSE;
    }
  if (!g_utf8_validate_len (channel, len, NULL))
    {
      g_set_error_literal (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                           "The channel is not valid UTF-8");
      return FALSE;
    }
  return TRUE;
}

typedef struct {
  const char *start;
  const char *p;
  const char *end;     /* the terminating NUL */
  const char *error;
  gboolean    utf8;    /* validate UTF-8 in strings too */
} Scan;

/* How many bytes from @p on need no attention inside a JSON string: no
 * '"', no '\\', no control character (which includes the terminating
 * NUL at @end) and, with @ascii_only, no byte >= 0x80 (for the check that
 * validates UTF-8 in the same pass: ASCII text costs nothing more). Eight
 * bytes at a time, with the "has a byte below N" bit trick (bytes >= 0x80
 * never match it), and never a read past @end. */
static inline gsize
string_run_full (const char *p,
                 const char *end,
                 gboolean    ascii_only)
{
  const guint64 ones = G_GUINT64_CONSTANT (0x0101010101010101);
  const guint64 highs = G_GUINT64_CONSTANT (0x8080808080808080);
  const guint64 high_mask = ascii_only ? G_MAXUINT64 : 0;
  const char *start = p;

#if defined (__SSE2__)
  /* Sixteen at a time where the CPU has SSE2 (every x86-64 does): about
   * ten instructions per 16 bytes against some 15 per 8 below, and the
   * byte that ends the run is found without a second loop. */
  {
    const __m128i quotes = _mm_set1_epi8 ('"');
    const __m128i backslashes = _mm_set1_epi8 ('\\');
    const __m128i controls = _mm_set1_epi8 (0x1f);

    /* Once sixteen bytes are behind, the last few are the sixteen that
     * end at @end, less those checked already: no 8-byte or byte loop
     * for the tail of a string, and no read outside the text. */
    while (end - p >= 16 || (p - start >= 16 && p < end))
      {
        const char *q = end - p >= 16 ? p : end - 16;
        __m128i v = _mm_loadu_si128 ((const __m128i *) (const void *) q);
        /* A byte below 0x20 is its own minimum with 0x1f (unsigned). */
        __m128i stop = _mm_or_si128 (_mm_or_si128 (_mm_cmpeq_epi8 (v, quotes),
                                                   _mm_cmpeq_epi8 (v, backslashes)),
                                     _mm_cmpeq_epi8 (_mm_min_epu8 (v, controls), v));
        unsigned int mask = (unsigned int) _mm_movemask_epi8 (stop);

        if (ascii_only)
          mask |= (unsigned int) _mm_movemask_epi8 (v);
        mask >>= p - q;
        if (mask != 0)
          return (gsize) (p - start) + (gsize) __builtin_ctz (mask);
        p = q + 16;
      }
  }
#endif

  while (end - p >= 8)
    {
      guint64 v, quote, backslash;

      memcpy (&v, p, sizeof v);
      quote = v ^ (ones * '"');
      backslash = v ^ (ones * '\\');
      if ((((quote - ones) & ~quote) |
           ((backslash - ones) & ~backslash) |
           ((v - ones * 0x20) & ~v) | (v & high_mask)) & highs)
        break;
      p += 8;
    }
  while (p < end && (guchar) *p >= 0x20 && *p != '"' && *p != '\\' &&
         !(ascii_only && (guchar) *p >= 0x80))
    p++;
  return (gsize) (p - start);
}

static inline gsize
string_run (const char *p,
            const char *end)
{
  return string_run_full (p, end, FALSE);
}

static inline gsize
string_run_ascii (const char *p,
                  const char *end)
{
  return string_run_full (p, end, TRUE);
}

static inline void
skip_ws (Scan *s)
{
  while (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')
    s->p++;
}

static inline gboolean
is_hex (char c)
{
  return g_ascii_isxdigit (c);
}

static guint
hex4 (const char *p)
{
  return (g_ascii_xdigit_value (p[0]) << 12) | (g_ascii_xdigit_value (p[1]) << 8) |
         (g_ascii_xdigit_value (p[2]) << 4) | g_ascii_xdigit_value (p[3]);
}

static gboolean
scan_string (Scan *s)
{
  g_assert (*s->p == '"');
  s->p++;
  for (;;)
    {
      guchar c;

      s->p += s->utf8 ? string_run_ascii (s->p, s->end) : string_run (s->p, s->end);
      c = (guchar) *s->p;
      if (c >= 0x80 && s->utf8)
        {
          gunichar u = g_utf8_get_char_validated (s->p, s->end - s->p);

          if (u == (gunichar) -1 || u == (gunichar) -2)
            {
              s->error = "not valid UTF-8";
              return FALSE;
            }
          s->p = g_utf8_next_char (s->p);
          continue;
        }
      if (c == '"')
        {
          s->p++;
          return TRUE;
        }
      if (c == '\0')
        {
          s->error = "unterminated string";
          return FALSE;
        }
      if (c < 0x20)
        {
          s->error = "control character in string";
          return FALSE;
        }
      if (c != '\\')
        {
          s->p++;
          continue;
        }
      s->p++;
      switch (*s->p)
        {
        case '"': case '\\': case '/': case 'b':
        case 'f': case 'n': case 'r': case 't':
          s->p++;
          break;
        case 'u':
          {
            guint u;

            if (!is_hex (s->p[1]) || !is_hex (s->p[2]) ||
                !is_hex (s->p[3]) || !is_hex (s->p[4]))
              {
                s->error = "bad \\u escape";
                return FALSE;
              }
            u = hex4 (s->p + 1);
            s->p += 5;
            if (u >= 0xDC00 && u <= 0xDFFF)
              {
                s->error = "lone low surrogate";
                return FALSE;
              }
            if (u >= 0xD800 && u <= 0xDBFF)
              {
                if (s->p[0] != '\\' || s->p[1] != 'u' ||
                    !is_hex (s->p[2]) || !is_hex (s->p[3]) ||
                    !is_hex (s->p[4]) || !is_hex (s->p[5]))
                  {
                    s->error = "lone high surrogate";
                    return FALSE;
                  }
                u = hex4 (s->p + 2);
                if (u < 0xDC00 || u > 0xDFFF)
                  {
                    s->error = "lone high surrogate";
                    return FALSE;
                  }
                s->p += 6;
              }
            if (u == 0)
              {
                s->error = "\\u0000 is not supported";
                return FALSE;
              }
          }
          break;
        default:
          s->error = "bad escape in string";
          return FALSE;
        }
    }
}

static gboolean
scan_number (Scan *s)
{
  if (*s->p == '-')
    s->p++;
  if (*s->p == '0')
    s->p++;
  else if (*s->p >= '1' && *s->p <= '9')
    while (g_ascii_isdigit (*s->p))
      s->p++;
  else
    goto bad;
  if (*s->p == '.')
    {
      s->p++;
      if (!g_ascii_isdigit (*s->p))
        goto bad;
      while (g_ascii_isdigit (*s->p))
        s->p++;
    }
  if (*s->p == 'e' || *s->p == 'E')
    {
      s->p++;
      if (*s->p == '+' || *s->p == '-')
        s->p++;
      if (!g_ascii_isdigit (*s->p))
        goto bad;
      while (g_ascii_isdigit (*s->p))
        s->p++;
    }
  return TRUE;

bad:
  s->error = "bad number";
  return FALSE;
}

static gboolean
scan_literal (Scan       *s,
              const char *word)
{
  gsize len = strlen (word);

  if (strncmp (s->p, word, len) != 0)
    {
      s->error = "unexpected character";
      return FALSE;
    }
  s->p += len;
  return TRUE;
}

/* Decoding a message costs at most a small multiple of its size: json-glib
 * spends about 80 bytes on every value (its JsonNode and the slot that
 * holds it), 220 more on an object (its hash table and member list), 40
 * more on an array and 64 on an object member, where the text may spend
 * as little as 2 or 3 bytes ("{},"): 16 MiB of [{},{},...] would take
 * 1.7 GB. The cost, estimated in the same pass that checks the text,
 * must stay within EIPC_DECODE_FACTOR times the text's size plus
 * EIPC_DECODE_SLACK; else the text is refused with
 * %EIPC_ERROR_LIMITS_EXCEEDED, before anything decodes it. */
static gboolean
json_check_decode_cost (guint64   n_values,
                        guint64   n_objects,
                        guint64   n_arrays,
                        guint64   n_members,
                        guint64   size,
                        GError  **error)
{
  guint64 cost = n_values * 80 + n_objects * 220 + n_arrays * 40 +
                 n_members * 64 + size;
  guint64 budget = size * EIPC_DECODE_FACTOR + EIPC_DECODE_SLACK;

  if (cost <= budget)
    return TRUE;
  g_set_error (error, EIPC_ERROR, EIPC_ERROR_LIMITS_EXCEEDED,
               "Decoding these %" G_GUINT64_FORMAT " bytes of JSON (%"
               G_GUINT64_FORMAT " values) would take about %" G_GUINT64_FORMAT
               " bytes, more than the limit of %d times their size plus %d "
               "bytes", size, n_values, cost, EIPC_DECODE_FACTOR,
               EIPC_DECODE_SLACK);
  return FALSE;
}

/* Checks that @text is exactly one JSON value (an array when @want_array),
 * nested at most EIPC_MAX_JSON_DEPTH deep. Iterative: the nesting is kept
 * in a bit stack, so hostile input cannot exhaust the C stack. The
 * caller guarantees valid UTF-8 (D-Bus strings always are). */
static gboolean
json_check (const char  *text,
            gboolean     want_array,
            gboolean     utf8,
            GError     **error)
{
  guint8 stack[EIPC_MAX_JSON_DEPTH / 8 + 1];  /* 1 = object, 0 = array */
  guint depth = 0;
  Scan s = { text, text, NULL, NULL, utf8 };
  char root;
  /* What decoding will cost: see json_check_decode_cost(). */
  guint64 n_values = 0, n_objects = 0, n_arrays = 0, n_members = 0;

  if (text == NULL)
    {
      g_set_error_literal (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                           "The arguments are missing");
      return FALSE;
    }
  s.end = text + strlen (text);

  /* Not JSON and JSON that is not an array get different errors, so
   * the whole value is checked before its kind. */
  skip_ws (&s);
  root = *s.p;

value:
  skip_ws (&s);
  n_values++;
  switch (*s.p)
    {
    case '[':
    case '{':
      {
        gboolean is_object = *s.p == '{';

        if (is_object)
          n_objects++;
        else
          n_arrays++;

        if (depth == EIPC_MAX_JSON_DEPTH)
          {
            g_set_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                         "The JSON nests deeper than %d levels",
                         EIPC_MAX_JSON_DEPTH);
            return FALSE;
          }
        if (is_object)
          stack[depth / 8] |= (guint8) (1u << (depth % 8));
        else
          stack[depth / 8] &= (guint8) ~(1u << (depth % 8));
        depth++;
        s.p++;
        skip_ws (&s);
        if (*s.p == (is_object ? '}' : ']'))
          {
            depth--;
            s.p++;
            goto after_value;
          }
        if (is_object)
          goto key;
        goto value;
      }
    case '"':
      if (!scan_string (&s))
        goto fail;
      goto after_value;
    case 't':
      if (!scan_literal (&s, "true"))
        goto fail;
      goto after_value;
    case 'f':
      if (!scan_literal (&s, "false"))
        goto fail;
      goto after_value;
    case 'n':
      if (!scan_literal (&s, "null"))
        goto fail;
      goto after_value;
    case '\0':
      s.error = "unexpected end of text";
      goto fail;
    default:
      if (*s.p == '-' || g_ascii_isdigit (*s.p))
        {
          if (!scan_number (&s))
            goto fail;
          goto after_value;
        }
      s.error = "unexpected character";
      goto fail;
    }

key:
  skip_ws (&s);
  n_members++;
  if (*s.p != '"')
    {
      s.error = "expected a string key";
      goto fail;
    }
  if (!scan_string (&s))
    goto fail;
  skip_ws (&s);
  if (*s.p != ':')
    {
      s.error = "expected ':'";
      goto fail;
    }
  s.p++;
  goto value;

after_value:
  skip_ws (&s);
  if (depth == 0)
    {
      if (*s.p != '\0')
        {
          s.error = "trailing characters after the value";
          goto fail;
        }
      if (want_array && root != '[')
        {
          g_set_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                       "The arguments must be a JSON array, not %s",
                       root == '{' ? "an object" :
                       root == '"' ? "a string" :
                       root == 'n' ? "null" :
                       root == 't' || root == 'f' ? "a boolean" : "a number");
          return FALSE;
        }
      return json_check_decode_cost (n_values, n_objects, n_arrays, n_members,
                                     (guint64) (s.end - s.start), error);
    }
  {
    gboolean in_object = (stack[(depth - 1) / 8] >> ((depth - 1) % 8)) & 1;

    if (*s.p == ',')
      {
        s.p++;
        if (in_object)
          goto key;
        goto value;
      }
    if (*s.p == (in_object ? '}' : ']'))
      {
        s.p++;
        depth--;
        goto after_value;
      }
    s.error = in_object ? "expected ',' or '}'" : "expected ',' or ']'";
    goto fail;
  }

fail:
  g_set_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
               "The arguments are not valid JSON: %s at offset %" G_GSIZE_FORMAT,
               s.error, (gsize) (s.p - s.start));
  return FALSE;
}

gboolean
eipc_json_check (const char  *text,
                 gboolean     want_array,
                 GError     **error)
{
  return json_check (text, want_array, FALSE, error);
}

/* In one pass, without an error: TRUE when @text is valid UTF-8 and
 * passes eipc_json_check(). Outside strings valid JSON is ASCII, so
 * checking UTF-8 inside strings is enough. When it says no, the caller
 * asks g_utf8_validate() and eipc_json_check() in turn for the error. */
gboolean
eipc_json_check_utf8 (const char *text,
                      gboolean    want_array)
{
  return text != NULL && json_check (text, want_array, TRUE, NULL);
}

/* Checks arguments given as text by a local caller. */
gboolean
eipc_args_check (const char  *args_json,
                 GError     **error)
{
  if (eipc_json_check_utf8 (args_json, TRUE))
    return TRUE;
  if (args_json == NULL || !g_utf8_validate (args_json, -1, NULL))
    {
      g_set_error_literal (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                           "The arguments are not valid UTF-8 text");
      return FALSE;
    }
  return eipc_json_check (args_json, TRUE, error);
}

static void
write_string (GString    *out,
              const char *text)
{
  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      switch (c)
        {
        case '"':  g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\b': g_string_append (out, "\\b"); break;
        case '\f': g_string_append (out, "\\f"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          if (c < 0x20)
            g_string_append_printf (out, "\\u%04x", c);
          else
            g_string_append_c (out, (char) c);
        }
    }
  g_string_append_c (out, '"');
}

/* @d with @precision significant digits, "D.DDDe+XX", whatever the
 * locale. */
static void
format_exponent (char   *buf,
                 gsize   size,
                 int     precision,
                 double  d)
{
  char format[8];

  g_snprintf (format, sizeof format, "%%.%de", precision - 1);
  g_ascii_formatd (buf, (int) size, format, d);
}

/* Writes @d as ECMAScript's Number::toString (the text JSON.stringify
 * writes): the fewest significant digits that read back as the same
 * double, in integer, fraction or exponent form by the decimal exponent
 * (ECMA-262, Number::toString, steps 5 to 12); -0 as 0, NaN and the
 * infinities as null, as JSON.stringify has them. */
static void
write_double (GString *out,
              double   d)
{
  char buf[40];
  char digits[20];
  int k = 0;      /* the number of significant digits */
  int n;          /* the decimal point's position: d = 0.DIGITS x 10^n */
  int lo = 1, hi = 17;
  char *e;

  if (!isfinite (d))
    {
      g_string_append (out, "null");
      return;
    }
  if (d == 0)
    {
      g_string_append_c (out, '0');   /* -0 too */
      return;
    }
  if (d < 0)
    {
      g_string_append_c (out, '-');
      d = -d;
    }

  /* The shortest correctly rounded precision that reads back equal
   * (17 always does; more digits only come closer, so a binary search
   * finds the least). */
  while (lo < hi)
    {
      int mid = (lo + hi) / 2;

      format_exponent (buf, sizeof buf, mid, d);
      if (g_ascii_strtod (buf, NULL) == d)
        hi = mid;
      else
        lo = mid + 1;
    }
  format_exponent (buf, sizeof buf, lo, d);

  /* buf is "D.DDDDe[+-]XX": gather the digits, drop trailing zeros. */
  for (const char *p = buf; *p != 'e'; p++)
    if (g_ascii_isdigit (*p))
      digits[k++] = *p;
  while (k > 1 && digits[k - 1] == '0')
    k--;
  digits[k] = '\0';
  e = strchr (buf, 'e');
  n = (int) g_ascii_strtoll (e + 1, NULL, 10) + 1;

  if (k <= n && n <= 21)
    {
      /* An integer: the digits, then n - k zeros. */
      g_string_append (out, digits);
      for (int i = k; i < n; i++)
        g_string_append_c (out, '0');
    }
  else if (0 < n && n <= 21)
    {
      g_string_append_len (out, digits, n);
      g_string_append_c (out, '.');
      g_string_append (out, digits + n);
    }
  else if (-6 < n && n <= 0)
    {
      g_string_append (out, "0.");
      for (int i = n; i < 0; i++)
        g_string_append_c (out, '0');
      g_string_append (out, digits);
    }
  else
    {
      g_string_append_c (out, digits[0]);
      if (k > 1)
        {
          g_string_append_c (out, '.');
          g_string_append (out, digits + 1);
        }
      g_string_append_printf (out, "e%c%d", n - 1 < 0 ? '-' : '+', ABS (n - 1));
    }
}

static void
write_node (GString  *out,
            JsonNode *node)
{
  switch (node != NULL ? JSON_NODE_TYPE (node) : JSON_NODE_NULL)
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        g_autoptr(GList) members = json_object_get_members (object);

        g_string_append_c (out, '{');
        for (GList *l = members; l != NULL; l = l->next)
          {
            if (l != members)
              g_string_append_c (out, ',');
            write_string (out, l->data);
            g_string_append_c (out, ':');
            write_node (out, json_object_get_member (object, l->data));
          }
        g_string_append_c (out, '}');
      }
      break;
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        guint n = json_array_get_length (array);

        g_string_append_c (out, '[');
        for (guint i = 0; i < n; i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            write_node (out, json_array_get_element (array, i));
          }
        g_string_append_c (out, ']');
      }
      break;
    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_INT64:
          g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
          break;
        case G_TYPE_DOUBLE:
          write_double (out, json_node_get_double (node));
          break;
        case G_TYPE_BOOLEAN:
          g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
          break;
        case G_TYPE_STRING:
          write_string (out, json_node_get_string (node));
          break;
        default:
          g_string_append (out, "null");
        }
      break;
    case JSON_NODE_NULL:
    default:
      g_string_append (out, "null");
    }
}

/* Writes compact JSON. Not json-glib's generator: json-glib 1.6 writes
 * doubles as "inf.0" or "1e+308.0", which are not JSON. */
char *
eipc_json_node_to_string (JsonNode *node)
{
  GString *out = g_string_sized_new (64);

  write_node (out, node);
  return g_string_free (out, FALSE);
}

char *
eipc_json_array_to_string (JsonArray *array)
{
  g_autoptr(JsonNode) node = NULL;

  if (array == NULL)
    return g_strdup ("[]");
  node = json_node_new (JSON_NODE_ARRAY);
  json_node_set_array (node, array);
  return eipc_json_node_to_string (node);
}

/* Reads the string at *pp (at its opening quote) into @out, unescaped,
 * and moves *pp past its closing quote. As strict as scan_string(): a
 * control character, a bad escape or a lone surrogate fails. Runs
 * without escapes are copied whole. */
static gboolean
parse_string (const char **pp,
              const char  *end,
              GString     *out)
{
  const char *p = *pp + 1;
  gsize run = string_run (p, end);

  /* Most strings have no escape: one exact copy. */
  g_string_set_size (out, run);
  memcpy (out->str, p, run);
  p += run;
  for (;;)
    {
      if (*p == '"')
        {
          *pp = p + 1;
          return TRUE;
        }
      if (*p != '\\')
        return FALSE;   /* a control character, or the end of the text */
      p++;
      switch (*p++)
        {
        case '"':  g_string_append_c (out, '"'); break;
        case '\\': g_string_append_c (out, '\\'); break;
        case '/':  g_string_append_c (out, '/'); break;
        case 'b':  g_string_append_c (out, '\b'); break;
        case 'f':  g_string_append_c (out, '\f'); break;
        case 'n':  g_string_append_c (out, '\n'); break;
        case 'r':  g_string_append_c (out, '\r'); break;
        case 't':  g_string_append_c (out, '\t'); break;
        case 'u':
          {
            gunichar u;

            if (!is_hex (p[0]) || !is_hex (p[1]) || !is_hex (p[2]) || !is_hex (p[3]))
              return FALSE;
            u = hex4 (p);
            p += 4;
            if (u >= 0xD800 && u <= 0xDBFF)
              {
                gunichar low;

                if (p[0] != '\\' || p[1] != 'u' || !is_hex (p[2]) ||
                    !is_hex (p[3]) || !is_hex (p[4]) || !is_hex (p[5]))
                  return FALSE;
                low = hex4 (p + 2);
                if (low < 0xDC00 || low > 0xDFFF)
                  return FALSE;
                u = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00);
                p += 6;
              }
            else if ((u >= 0xDC00 && u <= 0xDFFF) || u == 0)
              return FALSE;
            g_string_append_unichar (out, u);
          }
          break;
        default:
          return FALSE;
        }
      run = string_run (p, end);
      g_string_append_len (out, p, run);
      p += run;
    }
}

/* A number, checked with scan_number()'s grammar: an integer that fits
 * in 64 bits is an int64 node, anything else (a fraction, an exponent, a
 * larger integer) a double, as JSON.parse() would have it. */
static JsonNode *
parse_number (const char **pp)
{
  Scan s = { *pp, *pp, NULL, NULL };
  const char *p = *pp;
  gboolean negative = *p == '-';
  guint64 value = 0;
  gboolean fits = TRUE;
  char *end = NULL;
  double d;

  if (!scan_number (&s))
    return NULL;
  if (negative)
    p++;
  for (; g_ascii_isdigit (*p); p++)
    {
      guint digit = (guint) (*p - '0');

      if (value > (G_MAXUINT64 - digit) / 10)
        fits = FALSE;
      else
        value = value * 10 + digit;
    }
  if (p == s.p && fits &&
      value <= (negative ? (guint64) G_MAXINT64 + 1 : (guint64) G_MAXINT64))
    {
      *pp = p;
      return json_node_init_int (json_node_alloc (),
                                 negative ? (gint64) (0 - value) : (gint64) value);
    }

  /* The token is a valid JSON number, so strtod() reads exactly it,
   * unless what follows could extend it ("0x1"): then read a copy. */
  d = g_ascii_strtod (*pp, &end);
  if (end != s.p)
    {
      g_autofree char *token = g_strndup (*pp, (gsize) (s.p - *pp));

      d = g_ascii_strtod (token, NULL);
    }
  *pp = s.p;
  return json_node_init_double (json_node_alloc (), d);
}

typedef struct {
  JsonNode *node;   /* an array or an object */
  char     *key;    /* an object's member name, waiting for its value */
} Level;

/* Adds @node to the innermost open container, or makes it the root. */
static void
parse_attach (Level     *levels,
              guint      depth,
              JsonNode **root,
              JsonNode  *node)
{
  Level *top;

  if (depth == 0)
    {
      *root = node;
      return;
    }
  top = &levels[depth - 1];
  if (JSON_NODE_HOLDS_ARRAY (top->node))
    json_array_add_element (json_node_get_array (top->node), node);
  else
    {
      json_object_set_member (json_node_get_object (top->node), top->key, node);
      g_clear_pointer (&top->key, g_free);
    }
}

/* Checks and builds the JsonNode tree of @text in one pass, no recursion,
 * strings copied in runs: it accepts exactly what eipc_json_check()
 * accepts (which gives the error when it does not), so text from the bus
 * needs no separate check. json-glib's JsonParser costs about 16,000
 * instructions for a 64-byte array (a GObject, a scanner, a GString per
 * token); this builds the same tree (sealed, as json_parser_new_immutable()
 * does) at memcpy speed for strings, with no allocation besides the nodes
 * for the usual short strings without escapes. Integers that do not fit
 * in 64 bits become doubles instead of wrapping around. */
static JsonNode *
json_parse (const char  *text,
            gboolean     seal,
            GError     **error)
{
  Level levels[EIPC_MAX_JSON_DEPTH];
  guint depth = 0;
  g_autoptr(GString) buf = NULL;   /* escapes, keys, long strings */
  char small[256];
  JsonNode *root = NULL;
  const char *p = text;
  const char *end;
  JsonNode *node;
  /* What the nodes cost so far, against json_check_decode_cost()'s
   * budget; past it, eipc_json_check() says why. */
  guint64 cost = 0, budget;

  if (text == NULL)
    goto fail;
  end = text + strlen (text);
  budget = (guint64) (end - text) * (EIPC_DECODE_FACTOR - 1) + EIPC_DECODE_SLACK;

value:
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
    p++;
  cost += 80;
  switch (*p)
    {
    case '[':
    case '{':
      {
        gboolean is_object = *p == '{';
        Level *level;

        cost += is_object ? 220 : 40;
        if (depth >= EIPC_MAX_JSON_DEPTH || cost > budget)
          goto fail;
        node = json_node_alloc ();
        if (is_object)
          {
            json_node_init_object (node, NULL);
            json_node_take_object (node, json_object_new ());
          }
        else
          {
            json_node_init_array (node, NULL);
            json_node_take_array (node, json_array_new ());
          }
        parse_attach (levels, depth, &root, node);
        level = &levels[depth++];
        level->node = node;
        level->key = NULL;
        p++;
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
          p++;
        if (*p == (is_object ? '}' : ']'))
          {
            p++;
            depth--;
            goto after_value;
          }
        if (is_object)
          goto key;
        goto value;
      }
    case '"':
      {
        const char *q = p + 1;
        gsize run = string_run (q, end);

        if (q[run] == '"' && run < sizeof small)
          {
            memcpy (small, q, run);
            small[run] = '\0';
            node = json_node_init_string (json_node_alloc (), small);
            p = q + run + 1;
            break;
          }
        if (buf == NULL)
          buf = g_string_sized_new (run + 1);
        if (!parse_string (&p, end, buf))
          goto fail;
        node = json_node_init_string (json_node_alloc (), buf->str);
      }
      break;
    case 't':
      if (strncmp (p, "true", 4) != 0)
        goto fail;
      p += 4;
      node = json_node_init_boolean (json_node_alloc (), TRUE);
      break;
    case 'f':
      if (strncmp (p, "false", 5) != 0)
        goto fail;
      p += 5;
      node = json_node_init_boolean (json_node_alloc (), FALSE);
      break;
    case 'n':
      if (strncmp (p, "null", 4) != 0)
        goto fail;
      p += 4;
      node = json_node_init_null (json_node_alloc ());
      break;
    default:
      node = parse_number (&p);
      if (node == NULL)
        goto fail;
    }
  parse_attach (levels, depth, &root, node);
  if (cost > budget)
    goto fail;

after_value:
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
    p++;
  if (depth == 0)
    {
      if (*p != '\0')
        goto fail;
      if (seal)
        json_node_seal (root);
      return root;
    }
  {
    gboolean in_object = JSON_NODE_HOLDS_OBJECT (levels[depth - 1].node);

    if (*p == ',')
      {
        p++;
        if (in_object)
          goto key;
        goto value;
      }
    if (*p == (in_object ? '}' : ']'))
      {
        p++;
        depth--;
        goto after_value;
      }
    goto fail;
  }

key:
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
    p++;
  cost += 64;
  if (*p != '"' || cost > budget)
    goto fail;
  if (buf == NULL)
    buf = g_string_sized_new (64);
  if (!parse_string (&p, end, buf))
    goto fail;
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
    p++;
  if (*p != ':')
    goto fail;
  p++;
  levels[depth - 1].key = g_strndup (buf->str, buf->len);
  goto value;

fail:
  for (guint i = 0; i < depth; i++)
    g_free (levels[i].key);
  g_clear_pointer (&root, json_node_unref);
  /* The validator says what is wrong, in its words. */
  if (eipc_json_check (text, FALSE, error))
    g_set_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                 "The JSON text is not valid at offset %" G_GSIZE_FORMAT,
                 (gsize) (p - text));
  return NULL;
}

/* A tree that several readers share (an event's arguments): sealed. */
JsonNode *
eipc_json_parse (const char  *text,
                 GError     **error)
{
  return json_parse (text, TRUE, error);
}

/* A tree handed to one caller with (transfer full), such as a call's
 * result: not sealed, since sealing hashes every string of the tree
 * (about 8 instructions per byte) for a tree nobody else sees. */
JsonNode *
eipc_json_parse_unsealed (const char  *text,
                          GError     **error)
{
  return json_parse (text, FALSE, error);
}
