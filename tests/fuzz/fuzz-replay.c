/* fuzz-replay.c: without libFuzzer, a fuzz target's main (): replays
 * every file of the corpus folders given on the command line through its
 * LLVMFuzzerTestOneInput () once, as a TAP test named /fuzz/FUZZ_NAME/corpus.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdint.h>
#include <stddef.h>

#include <glib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

int
main (int   argc,
      char *argv[])
{
  int count = 0;

  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GDir) dir = g_dir_open (argv[i], 0, NULL);
      const char *name;

      if (dir == NULL)
        g_error ("cannot open the corpus %s", argv[i]);
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *path = g_build_filename (argv[i], name, NULL);
          g_autofree char *contents = NULL;
          gsize length;

          if (!g_file_get_contents (path, &contents, &length, &error))
            g_error ("%s", error->message);
          LLVMFuzzerTestOneInput ((const uint8_t *) contents, length);
          count++;
        }
    }
  g_print ("1..1\nok 1 /fuzz/%s/corpus # replayed %d inputs\n", FUZZ_NAME, count);
  return 0;
}
