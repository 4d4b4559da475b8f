#!/usr/bin/env python3
# hello.py: both sides of one ipcMain.handle / ipcRenderer.invoke in Python.
#   hello.py main   the main process: serves 'greet' until stopped
#   hello.py        a renderer: invokes 'greet' with ["world"], prints the answer
import json, sys, gi  # noqa: E401
gi.require_version('Eipc', '1.0')
from gi.repository import Eipc, GLib  # noqa: E402

loop = GLib.MainLoop()
if sys.argv[1:] == ['main']:
    main = Eipc.Main.new('org.example.Hello')   # owns the bus name

    def greet(event):                            # ipcMain.handle('greet', ...)
        name = json.loads(event.get_args_json())[0]
        event.resolve_json(json.dumps(f'hello {name}, from the main process'))
    main.handle('greet', greet)
else:
    renderer = Eipc.Renderer.new('org.example.Hello')   # attaches

    def greeted(renderer, result):
        try:
            print(renderer.invoke_finish_json(result))   # the result as text
        except GLib.Error as e:
            print(e.message)
        loop.quit()
    renderer.invoke_json('greet', json.dumps(['world']), None, greeted)
loop.run()   # messages, answers and callbacks arrive here
