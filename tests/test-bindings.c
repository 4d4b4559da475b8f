/* test-bindings.c: eipc from Python (PyGObject), JavaScript (GJS) and Vala
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every program here is a real process on the test's private bus: the
 * demo's main process and renderer in C (examples/), in Python
 * (examples/python/) and in JavaScript (examples/gjs/) through the
 * typelib Eipc-1.0, and a renderer in Vala built with eipc-1.vapi
 * (tests/vala/). Each test runs one main process, a host renderer and a
 * guest renderer of it, in a mix of languages, the way examples/run-demo.sh
 * runs the C demo: the renderers check every answer (invoke results and
 * Electron's error texts, sendSync, event.reply, webContents.send, the
 * main process's invoke of their handler, the broadcast, sendToHost and
 * sendTo both ways between host and guest) and exit 0 only if all were
 * as expected; the main process exits once both have come and gone.
 * Listeners and handlers are Python and JavaScript closures, invokes go
 * through GIO's async pattern (callback + invoke_finish), the Python and
 * GJS main processes answer ping later from a timeout (a deferred
 * answer). The README's example in each language (examples/hello.c,
 * examples/python/hello.py, examples/gjs/hello.js) runs too: every main
 * process with every renderer.
 *
 * The programs find the typelib and the library of the build tree through
 * GI_TYPELIB_PATH and LD_LIBRARY_PATH (tests/meson.build sets them), the
 * interpreters through EIPC_TEST_PYTHON and EIPC_TEST_GJS.
 */

#include <stdio.h>
#include <string.h>

#include "test-common.h"

/* How long a renderer waits for everything before it gives up: long
 * enough for interpreters starting on a loaded machine. */
#define RENDERER_TIMEOUT "--timeout=60"

typedef enum {
  LANG_C,
  LANG_PYTHON,
  LANG_GJS,
  LANG_VALA,
} Lang;

static const char *lang_names[] = { "C", "Python", "GJS", "Vala" };

/* The command line of the demo's main process or renderer in @lang. */
static GPtrArray *
program_argv (Lang        lang,
              const char *role)
{
  const char *src = g_getenv ("EIPC_SOURCE_ROOT");
  const char *build = g_getenv ("EIPC_BUILD_ROOT");
  GPtrArray *argv = g_ptr_array_new_with_free_func (g_free);

  g_assert_nonnull (src);
  g_assert_nonnull (build);
  switch (lang)
    {
    case LANG_C:
      g_ptr_array_add (argv, g_strdup_printf ("%s/examples/eipc-demo-%s", build, role));
      break;
    case LANG_PYTHON:
      g_ptr_array_add (argv, g_strdup (g_getenv ("EIPC_TEST_PYTHON")));
      g_ptr_array_add (argv, g_strdup_printf ("%s/examples/python/%s.py", src, role));
      break;
    case LANG_GJS:
      g_ptr_array_add (argv, g_strdup (g_getenv ("EIPC_TEST_GJS")));
      g_ptr_array_add (argv, g_strdup_printf ("%s/examples/gjs/%s.js", src, role));
      break;
    case LANG_VALA:
      g_assert_cmpstr (role, ==, "renderer");
      g_ptr_array_add (argv, g_strdup_printf ("%s/tests/vala/eipc-test-vala-renderer", build));
      break;
    default:
      g_assert_not_reached ();
    }
  /* tests/meson.build sets EIPC_TEST_PYTHON and EIPC_TEST_GJS. */
  g_assert_nonnull (argv->pdata[0]);
  g_ptr_array_add (argv, g_strdup_printf ("--address=%s", test_bus_address ()));
  return argv;
}

static TestChild *
spawn (Lang        lang,
       const char *role,
       const char *arg1,
       const char *arg2)
{
  g_autoptr(GPtrArray) argv = program_argv (lang, role);

  if (arg1 != NULL)
    g_ptr_array_add (argv, g_strdup (arg1));
  if (arg2 != NULL)
    g_ptr_array_add (argv, g_strdup (arg2));
  g_ptr_array_add (argv, NULL);
  return test_program_spawnv ((const char * const *) argv->pdata);
}

/* Reaps @child, checks that it exited with 0, returns what it printed. */
static char *
finish_ok (TestChild  *child,
           const char *what)
{
  int status = -1;
  char *out = test_child_finish (child, &status);

  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("the %s failed (wait status %d); it printed:\n%s", what, status, out);
  return out;
}

static void
assert_printed (const char *out,
                const char *line)
{
  if (strstr (out, line) == NULL)
    g_error ("expected a line '%s' in:\n%s", line, out);
}

/* One main process, a host renderer and a guest renderer (which makes
 * sendToHost and sendTo to its host, who answers with sendTo). */
static void
run_demo (Lang main_lang,
          Lang host_lang,
          Lang guest_lang)
{
  TestChild *main_child, *host, *guest;
  g_autofree char *ready = NULL;
  g_autofree char *attached = NULL;
  g_autofree char *guest_arg = NULL;
  g_autofree char *main_out = NULL;
  g_autofree char *host_out = NULL;
  g_autofree char *guest_out = NULL;
  g_autofree char *line = NULL;
  guint64 host_id = 0, guest_id = 0;

  g_test_message ("main in %s, host renderer in %s, guest renderer in %s",
                  lang_names[main_lang], lang_names[host_lang], lang_names[guest_lang]);

  main_child = spawn (main_lang, "main", "--exit-after-renderers=2", NULL);
  ready = test_child_expect (main_child, "main: org.eipc.Demo is ready at /org/eipc/Demo");

  host = spawn (host_lang, "renderer", "--expect-guest", RENDERER_TIMEOUT);
  attached = test_child_expect (host, "renderer ");
  g_assert_true (sscanf (attached, "renderer %" G_GUINT64_FORMAT ": attached as webContents",
                         &host_id) == 1);
  g_assert_cmpuint (host_id, >, 0);

  guest_arg = g_strdup_printf ("--guest=%" G_GUINT64_FORMAT, host_id);
  guest = spawn (guest_lang, "renderer", guest_arg, RENDERER_TIMEOUT);

  guest_out = finish_ok (guest, "guest renderer");
  host_out = finish_ok (host, "host renderer");
  main_out = finish_ok (main_child, "main process");
  g_assert_true (sscanf (guest_out, "renderer %" G_GUINT64_FORMAT ":", &guest_id) == 1);

  /* Each said what it received, in the demo's words. */
  assert_printed (host_out, "all went as expected");
  assert_printed (guest_out, "all went as expected");
  assert_printed (host_out, "invoke('fail', []) failed: Error invoking remote method 'fail': Error: boom");
  assert_printed (guest_out, "invoke('no-such-channel', []) failed: Error invoking remote method 'no-such-channel': Error: No handler registered for 'no-such-channel'");
  assert_printed (guest_out, "invoke('ping', []) = \"pong\"");
  line = g_strdup_printf ("got 'chat' (sendTo) from webContents %" G_GUINT64_FORMAT, guest_id);
  assert_printed (host_out, line);
  g_free (line);
  line = g_strdup_printf ("got 'chat-reply' (sendTo) from webContents %" G_GUINT64_FORMAT, host_id);
  assert_printed (guest_out, line);
  g_free (line);
  line = g_strdup_printf ("got 'guest-ready' (sendToHost) from webContents %" G_GUINT64_FORMAT,
                          guest_id);
  assert_printed (host_out, line);
  g_free (line);
  line = g_strdup_printf ("got 'news' (broadcast) from the main process, id 0: "
                          "[\"two renderers are attached\",[%" G_GUINT64_FORMAT ",%"
                          G_GUINT64_FORMAT "]]", host_id, guest_id);
  assert_printed (guest_out, line);
  g_free (line);
  line = g_strdup_printf ("main: sendSync 'echo-sync' from webContents %" G_GUINT64_FORMAT
                          ": [%" G_GUINT64_FORMAT ",\"sync\",{\"nested\":[true,null]}]",
                          guest_id, guest_id);
  assert_printed (main_out, line);
  g_free (line);
  line = g_strdup_printf ("main: webContents %" G_GUINT64_FORMAT " answered get-title: "
                          "\"demo renderer %" G_GUINT64_FORMAT "\"", host_id, host_id);
  assert_printed (main_out, line);
  assert_printed (main_out, "main: 2 renderers came and went, exiting");
  assert_printed (main_out, "main: bye");
}

static void
test_python_renderers_c_main (void)
{
  run_demo (LANG_C, LANG_PYTHON, LANG_PYTHON);
}

static void
test_gjs_main_c_and_python_renderers (void)
{
  run_demo (LANG_GJS, LANG_C, LANG_PYTHON);
}

static void
test_send_to_python_gjs (void)
{
  /* A Python host and a GJS guest: sendToHost and sendTo from GJS to
   * Python, the answer from Python to GJS. */
  run_demo (LANG_PYTHON, LANG_PYTHON, LANG_GJS);
}

static void
test_send_to_gjs_python (void)
{
  run_demo (LANG_C, LANG_GJS, LANG_PYTHON);
}

static void
test_python_main_gjs_and_c_renderers (void)
{
  run_demo (LANG_PYTHON, LANG_GJS, LANG_C);
}

static void
test_gjs_main_gjs_renderers (void)
{
  run_demo (LANG_GJS, LANG_GJS, LANG_GJS);
}

/* The Vala renderer against the C main process. */
static void
test_vala_renderer (void)
{
  TestChild *main_child, *renderer;
  g_autofree char *ready = NULL;
  g_autofree char *main_out = NULL;
  g_autofree char *out = NULL;

  main_child = spawn (LANG_C, "main", "--exit-after-renderers=1", NULL);
  ready = test_child_expect (main_child, "main: org.eipc.Demo is ready");
  renderer = spawn (LANG_VALA, "renderer", RENDERER_TIMEOUT, NULL);
  out = finish_ok (renderer, "Vala renderer");
  main_out = finish_ok (main_child, "main process");

  assert_printed (out, "invoke('ping', []) = \"pong\"");
  assert_printed (out, "invoke('add', [1,2,3.5]) = 6.5");
  assert_printed (out, "invoke('fail', []) failed: Error invoking remote method 'fail': Error: boom");
  assert_printed (out, "got 'hello-reply' from the main process, id 0: [\"hello, webContents 1\"]");
  assert_printed (out, "all went as expected");
  assert_printed (main_out, "main: webContents 1 answered get-title: \"vala renderer 1\"");
  assert_printed (main_out, "main: sendSync 'echo-sync' from webContents 1: "
                  "[1,\"sync\",{\"nested\":[true,null]}]");
}

/* The README's example in each language (examples/hello.c, .py, .js):
 * every main process with every renderer. */
static GPtrArray *
hello_argv (Lang lang)
{
  GPtrArray *argv = g_ptr_array_new_with_free_func (g_free);

  switch (lang)
    {
    case LANG_C:
      g_ptr_array_add (argv, g_strdup_printf ("%s/examples/hello",
                                              g_getenv ("EIPC_BUILD_ROOT")));
      break;
    case LANG_PYTHON:
      g_ptr_array_add (argv, g_strdup (g_getenv ("EIPC_TEST_PYTHON")));
      g_ptr_array_add (argv, g_strdup_printf ("%s/examples/python/hello.py",
                                              g_getenv ("EIPC_SOURCE_ROOT")));
      break;
    case LANG_GJS:
      g_ptr_array_add (argv, g_strdup (g_getenv ("EIPC_TEST_GJS")));
      g_ptr_array_add (argv, g_strdup_printf ("%s/examples/gjs/hello.js",
                                              g_getenv ("EIPC_SOURCE_ROOT")));
      break;
    default:
      g_assert_not_reached ();
    }
  return argv;
}

static gboolean
hello_has_owner (GDBusConnection *client)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply =
    g_dbus_connection_call_sync (client, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                 "org.freedesktop.DBus", "NameHasOwner",
                                 g_variant_new ("(s)", "org.example.Hello"),
                                 G_VARIANT_TYPE ("(b)"), G_DBUS_CALL_FLAGS_NONE, -1,
                                 NULL, &error);
  gboolean owned = FALSE;

  g_assert_no_error (error);
  g_variant_get (reply, "(b)", &owned);
  return owned;
}

static void
test_hello (gconstpointer data)
{
  Lang main_lang = GPOINTER_TO_INT (data);
  g_autoptr(GDBusConnection) client = test_client_new ();
  g_autoptr(GPtrArray) main_argv = hello_argv (main_lang);
  TestChild *main_child;
  g_autofree char *main_out = NULL;
  int status;

  g_ptr_array_add (main_argv, g_strdup ("main"));
  g_ptr_array_add (main_argv, NULL);
  main_child = test_program_spawnv ((const char * const *) main_argv->pdata);
  for (guint i = 0; !hello_has_owner (client); i++)
    {
      g_assert_cmpuint (i, <, 600);   /* 60 s for an interpreter on a loaded machine */
      test_spin (100);
    }

  for (Lang lang = LANG_C; lang <= LANG_GJS; lang++)
    {
      g_autoptr(GPtrArray) argv = hello_argv (lang);
      g_autofree char *out = NULL;

      g_test_message ("main in %s, renderer in %s", lang_names[main_lang], lang_names[lang]);
      g_ptr_array_add (argv, NULL);
      out = finish_ok (test_program_spawnv ((const char * const *) argv->pdata), "renderer");
      g_assert_cmpstr (out, ==, "\"hello world, from the main process\"\n");
    }

  test_child_terminate (main_child);
  main_out = test_child_finish (main_child, &status);
  while (hello_has_owner (client))
    test_spin (10);
}

/* GObject construction from Python: construct properties, GInitable and
 * GAsyncInitable (tests/python/construct.py). */
static void
test_python_construct (void)
{
  g_autofree char *script = g_strdup_printf ("%s/tests/python/construct.py",
                                             g_getenv ("EIPC_SOURCE_ROOT"));
  const char *argv[] = { g_getenv ("EIPC_TEST_PYTHON"), script, test_bus_address (), NULL };
  g_autofree char *out = finish_ok (test_program_spawnv (argv), "construct.py");

  g_assert_cmpstr (out, ==, "ok\n");
}

/* Message ports from Python (tests/python/ports.py). */
static void
test_python_ports (void)
{
  g_autofree char *script = g_strdup_printf ("%s/tests/python/ports.py",
                                             g_getenv ("EIPC_SOURCE_ROOT"));
  const char *argv[] = { g_getenv ("EIPC_TEST_PYTHON"), script, NULL };
  g_autofree char *out = finish_ok (test_program_spawnv (argv), "ports.py");

  g_assert_cmpstr (out, ==, "ok\n");
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/bindings/python/renderers-c-main", test_python_renderers_c_main);
  g_test_add_func ("/bindings/python/ports", test_python_ports);
  g_test_add_func ("/bindings/gjs/main-c-and-python-renderers",
                   test_gjs_main_c_and_python_renderers);
  g_test_add_func ("/bindings/send-to/python-host-gjs-guest", test_send_to_python_gjs);
  g_test_add_func ("/bindings/send-to/gjs-host-python-guest", test_send_to_gjs_python);
  g_test_add_func ("/bindings/python/main-gjs-and-c-renderers",
                   test_python_main_gjs_and_c_renderers);
  g_test_add_func ("/bindings/gjs/main-gjs-renderers", test_gjs_main_gjs_renderers);
  g_test_add_func ("/bindings/vala/renderer-c-main", test_vala_renderer);
  g_test_add_func ("/bindings/python/construct", test_python_construct);
  g_test_add_data_func ("/bindings/hello/c-main", GINT_TO_POINTER (LANG_C), test_hello);
  g_test_add_data_func ("/bindings/hello/python-main", GINT_TO_POINTER (LANG_PYTHON), test_hello);
  g_test_add_data_func ("/bindings/hello/gjs-main", GINT_TO_POINTER (LANG_GJS), test_hello);

  test_bus_up ();
  status = g_test_run ();
  test_bus_down ();
  return status;
}
