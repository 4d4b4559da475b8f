/* eipc-test-vala-renderer.vala: a renderer written in Vala, built with
 * eipc-1.vapi, against the demo's main process (any of C, Python, GJS)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Usage: eipc-test-vala-renderer [--address=ADDR] [--timeout=SECONDS]
 *
 * Attaches, sends log, awaits the invokes ping, add and fail (async/yield
 * over GIO's async pattern), makes the sendSync echo-sync, sends hello and
 * waits for the main process's event.reply, webContents.send and its
 * invoke of get-title (answered by a handler closure). Prints every step
 * as "renderer N: ..." and exits 0 only if every answer was as expected.
 */

static string? address = null;
static int timeout = 10;
const OptionEntry[] options = {
  { "address", 0, 0, OptionArg.STRING, ref address, "The D-Bus address", "ADDR" },
  { "timeout", 0, 0, OptionArg.INT, ref timeout, "Give up after SECONDS", "SECONDS" },
  { null }
};

class ValaRenderer : Object {
  public Eipc.Renderer renderer;
  public uint failures = 0;
  public MainLoop loop = new MainLoop ();
  HashTable<string, bool> got = new HashTable<string, bool> (str_hash, str_equal);

  public void say (string text) {
    stdout.printf ("renderer %" + uint64.FORMAT + ": %s\n", renderer.get_id (), text);
    stdout.flush ();
  }

  void wrong (string text) {
    say ("UNEXPECTED: " + text);
    failures++;
  }

  void check (string what, Json.Node? value, Error? error, string? want, string? want_error) {
    if (error == null) {
      Json.Node? want_node = null;
      say ("%s = %s".printf (what, Json.to_string (value, false)));
      try {
        want_node = want != null ? Json.from_string (want) : null;
      } catch (Error e) {
        wrong (e.message);
      }
      if (want_node == null || !value.equal (want_node))
        wrong ("wanted " + (want ?? want_error));
    } else {
      say ("%s failed: %s".printf (what, error.message));
      if (error.message != want_error)
        wrong ("wanted " + (want_error ?? want));
    }
  }

  async void invoke (string channel, string args, string? want, string? want_error) {
    var what = "invoke('%s', %s)".printf (channel, args);
    try {
      var value = yield renderer.invoke_json (channel, args, null);
      check (what, value, null, want, want_error);
    } catch (Error e) {
      check (what, null, e, want, want_error);
    }
  }

  SourceFunc? waiting = null;
  string? waiting_for = null;

  /* Something arrived: resume run () if it waits for it. */
  void mark (string name) {
    got.insert (name, true);
    if (waiting != null && name == waiting_for) {
      Idle.add ((owned) waiting);
      waiting = null;
    }
  }

  async void wait_for (string name) {
    if (!got.contains (name)) {
      waiting_for = name;
      waiting = wait_for.callback;
      yield;
    }
  }

  public async void run () {
    var me = renderer.get_id ();
    say ("attached as webContents %s at %s".printf (me.to_string (), renderer.get_object_path ()));
    foreach (var channel in new string[] { "hello-reply", "peers" }) {
      renderer.on (channel, (event) => {
        say ("got '%s' from the main process, id %s: %s".printf (
          event.get_channel (), event.get_sender_id ().to_string (), event.get_args_json ()));
        mark (event.get_channel ());
      });
    }
    try {
      renderer.handle ("get-title", (event) => {
        var title = "\"vala renderer %s\"".printf (me.to_string ());
        say ("resolving get-title with " + title);
        try {
          event.resolve_json (title);
        } catch (Error e) {
          wrong (e.message);
        }
        mark ("get-title");
      });
      renderer.send_json ("log", "[\"renderer %s is up\"]".printf (me.to_string ()));
    } catch (Error e) {
      wrong (e.message);
    }

    yield invoke ("ping", "[]", "\"pong\"", null);
    yield invoke ("add", "[1,2,3.5]", "6.5", null);
    yield invoke ("fail", "[]", null, "Error invoking remote method 'fail': Error: boom");

    var args = "[%s,\"sync\",{\"nested\":[true,null]}]".printf (me.to_string ());
    try {
      check ("sendSync('echo-sync', %s)".printf (args), renderer.send_sync_json ("echo-sync", args),
             null, args, null);
      say ("send('hello', [])");
      renderer.send_json ("hello", "[]");
    } catch (Error e) {
      check ("sendSync('echo-sync', %s)".printf (args), null, e, args, null);
    }
    yield wait_for ("hello-reply");
    yield wait_for ("peers");
    yield wait_for ("get-title");
    loop.quit ();
  }
}

int main (string[] args) {
  try {
    var context = new OptionContext ("- a renderer in Vala");
    context.add_main_entries (options, null);
    context.parse (ref args);
  } catch (Error e) {
    stderr.printf ("renderer: %s\n", e.message);
    return 2;
  }
  var demo = new ValaRenderer ();
  try {
    demo.renderer = new Eipc.Renderer.for_address ("org.eipc.Demo", address);
  } catch (Error e) {
    stdout.printf ("renderer: cannot attach: %s\n", e.message);
    return 1;
  }
  var timed_out = false;
  Timeout.add_seconds (timeout, () => {
    timed_out = true;
    demo.loop.quit ();
    return Source.REMOVE;
  });
  demo.run.begin ();
  demo.loop.run ();
  if (timed_out) {
    demo.say ("UNEXPECTED: timed out");
    demo.failures++;
  }
  demo.say (demo.failures == 0 ? "all went as expected" : "%u things went wrong".printf (demo.failures));
  return demo.failures == 0 ? 0 : 1;
}
