/* fuzz-inbound.c: a libFuzzer target for what decodes inbound messages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Input: MODE byte, then fields separated by NUL bytes. Checks, for any
 * input, that the channel check, the JSON validator, the webContents path
 * parser and the app id escaping neither crash nor disagree with their
 * counterparts:
 *   - text the validator accepts, json-glib parses (an array when the
 *     validator was asked for one);
 *   - a path that parses as BASE/WebContents/ID is exactly the path eipc
 *     builds for that id;
 *   - the base path of a valid app id is a valid object path.
 *
 * Built with clang -fsanitize=fuzzer when meson's `fuzzing` option is on;
 * otherwise it is a normal program that replays the seed corpus (the files
 * given on its command line), run by `meson test`.
 */

#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eipc-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

static void
check_json (const char *text)
{
  gboolean want_array;

  if (!g_utf8_validate (text, -1, NULL))
    return;  /* D-Bus only carries valid UTF-8. */

  for (want_array = FALSE; want_array <= TRUE; want_array++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) root = NULL;

      if (!eipc_json_check (text, want_array, &error))
        {
          g_assert_nonnull (error);
          g_assert_true (error->domain == EIPC_ERROR);
          continue;
        }
      root = eipc_json_parse (text, &error);
      if (root == NULL)
        g_error ("validator accepted what json-glib refused: %s (%s)",
                 text, error->message);
      if (want_array && !JSON_NODE_HOLDS_ARRAY (root))
        g_error ("validator accepted a non-array as arguments: %s", text);
    }
}

static void
check_path (const char *path)
{
  guint64 id;

  if (eipc_web_contents_path_parse ("/org/eipc/Test", path, &id))
    {
      g_autofree char *built = eipc_web_contents_path ("/org/eipc/Test", id);

      if (strcmp (built, path) != 0)
        g_error ("path %s parsed as id %" G_GUINT64_FORMAT " (%s)", path, id, built);
    }
}

static void
check_app_id (const char *app_id)
{
  if (eipc_app_id_check (app_id, NULL))
    {
      g_autofree char *path = eipc_app_id_to_path (app_id);

      if (!g_variant_is_object_path (path))
        g_error ("app id %s gave the invalid path %s", app_id, path);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *copy = NULL;
  const char *fields[3] = { "", "", "" };
  const char *p, *end;
  guint n = 0;

  if (size == 0)
    return 0;

  /* NUL-terminated fields after the mode byte. */
  copy = g_malloc (size + 1);
  memcpy (copy, data, size);
  copy[size] = '\0';
  end = copy + size;
  for (p = copy + 1; p <= end && n < G_N_ELEMENTS (fields); p += strlen (p) + 1)
    fields[n++] = p;

  switch (copy[0] % 3)
    {
    case 0:   /* channel, args: an Invoke or a Message */
      eipc_channel_check (fields[0], NULL);
      check_json (fields[1]);
      break;
    case 1:   /* a whole text as JSON */
      check_json (copy + 1);
      break;
    default:  /* routing fields */
      check_path (fields[0]);
      check_app_id (fields[1]);
      break;
    }
  return 0;
}
