#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# construct.py ADDRESS: GObject construction from Python (test-bindings).
# A main process from construct properties + GInitable.init, a renderer
# of it in the same process from properties + GAsyncInitable.init_async
# (a blocking attach would wait for the main process this very thread
# serves), its properties and notify::attached, web-contents-attached,
# and an invoke answered later from a timeout. Prints "ok" and exits 0.
import sys
import gi
gi.require_version('Eipc', '1.0')
from gi.repository import Eipc, GLib  # noqa: E402

address = sys.argv[1]
main = Eipc.Main(app_id='org.eipc.Construct', address=address)
main.init(None)
assert main.props.app_id == 'org.eipc.Construct'
assert main.props.object_path == '/org/eipc/Construct'

def add(event):   # answered later: the closure keeps the event
    total = sum(int(x) for x in event.get_args_json().strip('[]').split(','))
    GLib.timeout_add(10, lambda: event.resolve_json(str(total)) and False)
main.handle('add', add)
attached = []
main.connect('web-contents-attached', lambda m, wc: attached.append(wc.props.id))

loop = GLib.MainLoop()
renderer = Eipc.Renderer(app_id='org.eipc.Construct', address=address)
notified = []
renderer.connect('notify::attached', lambda r, pspec: notified.append(r.props.attached))
result = {}

def invoked(r, res):
    result['sum'] = r.invoke_finish_json(res)
    loop.quit()

def initialized(r, res):
    r.init_finish(res)
    assert r.props.attached and r.props.id == r.get_id() and r.props.id > 0
    r.invoke_json('add', '[1,2,39]', None, invoked)

renderer.init_async(GLib.PRIORITY_DEFAULT, None, initialized)
GLib.timeout_add_seconds(30, loop.quit)
loop.run()
assert result.get('sum') == '42', result
assert attached == [renderer.props.id], attached
assert True in notified, notified
print('ok')
