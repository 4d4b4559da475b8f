#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# The eipc demo's main process in Python (PyGObject): the options, channels
# and output of examples/eipc-demo-main.c, for any demo renderer (C, Python,
# GJS). Serves invoke ping (answered later: a deferred answer), add, fail;
# sendSync echo-sync; send log and hello (event.reply, webContents.send and
# an invoke of the renderer's get-title); broadcasts news at two renderers.
import argparse, json, signal, sys, gi  # noqa: E401
gi.require_version('Eipc', '1.0')
from gi.repository import Eipc, GLib  # noqa: E402

p = argparse.ArgumentParser(description="the eipc demo's main process")
p.add_argument('--address', help='the D-Bus address (default: the session bus)')
p.add_argument('--app', default='org.eipc.Demo')
p.add_argument('--exit-after-renderers', type=int, default=0, metavar='N')
opts = p.parse_args()
KINDS = ['send', 'invoke', 'sendSync', 'sendTo', 'sendToHost', 'broadcast']
compact = dict(separators=(',', ':'))
gone = 0
status = 0

def say(text):
    print(f'main: {text}', flush=True)

def show(ev):
    who = (f'webContents {ev.get_sender_id()}' if ev.get_sender() is not None
           else f'a client that never attached ({ev.get_sender_name()})')
    say(f"{KINDS[int(ev.get_kind())]} '{ev.get_channel()}' from {who}: {ev.get_args_json()}")

def handle_ping(ev):   # answered later, from a timeout: the event stays alive
    show(ev)
    GLib.timeout_add(10, lambda: ev.resolve_json('"pong"') and GLib.SOURCE_REMOVE)

def handle_add(ev):
    show(ev)
    args = json.loads(ev.get_args_json())
    if not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args):
        ev.reject('add takes numbers only')   # rejecting is how a handler throws
        return
    total = sum(args)
    ev.resolve_json(json.dumps(int(total) if float(total).is_integer() else total))

def handle_fail(ev):
    show(ev)
    ev.reject('boom')   # the caller sees "Error invoking remote method 'fail': Error: boom"

def on_echo_sync(ev):
    show(ev)
    if ev.get_kind() == Eipc.EventKind.SEND_SYNC:
        ev.set_return_value_json(ev.get_args_json())

def on_log(ev):
    show(ev)
    if ev.get_kind() == Eipc.EventKind.SEND_SYNC:
        ev.set_return_value_json('null')

def get_title_done(wc, result):
    try:
        title = wc.invoke_finish_json(result)   # the result as text, no tree
        say(f'webContents {wc.get_id()} answered get-title: {title}')
    except GLib.Error as e:
        say(f'invoking get-title on webContents {wc.get_id()} failed: {e.message}')

def on_hello(ev):
    show(ev)
    if ev.get_kind() == Eipc.EventKind.SEND_SYNC:
        ev.set_return_value_json('null')
    try:   # event.reply: back to the sender, on another channel
        ev.reply_json('hello-reply', json.dumps([f'hello, webContents {ev.get_sender_id()}']))
    except GLib.Error as e:
        say(f'cannot reply: {e.message}')
        return
    sender = ev.get_sender()
    peers = [wc.get_id() for wc in m.list_web_contents()
             if wc.get_id() < sender.get_id()]
    try:   # webContents.send: the ids of the renderers attached before it
        sender.send_json('peers', json.dumps([peers], **compact))
    except GLib.Error as e:
        say(f'cannot send peers: {e.message}')
    sender.invoke_json('get-title', '[]', None, get_title_done)   # main invokes a renderer

def on_destroyed(wc, reason):
    global gone
    gone += 1
    say(f'webContents {wc.get_id()} destroyed ({reason})')
    if opts.exit_after_renderers and gone == opts.exit_after_renderers:
        say(f'{gone} renderers came and went, exiting')
        loop.quit()

def on_attached(main, wc):
    host = wc.get_host_id()
    guest = f', guest of webContents {host}' if host else ''
    say(f'webContents {wc.get_id()} attached ({wc.get_unique_name()}, pid '
        f'{wc.get_process_id()}{guest}) at {wc.get_object_path()}')
    wc.connect('destroyed', on_destroyed)
    wc.set_allow_guests(True)   # its guests (webviews) may attach
    everyone = main.list_web_contents()
    if len(everyone) == 2:   # one signal that every renderer receives
        news = json.dumps(['two renderers are attached', [w.get_id() for w in everyone]],
                          **compact)
        say(f'broadcast on news: {news}')
        try:
            main.broadcast_json('news', news)
        except GLib.Error as e:
            say(f'broadcast failed: {e.message}')

def on_disconnected(main):
    global status
    say('the bus connection closed, exiting')
    status = 1
    loop.quit()

def on_unix_signal():
    say('got a signal, exiting')
    loop.quit()
    return GLib.SOURCE_CONTINUE

try:   # owns the app name; a second main process fails with NAME_TAKEN
    m = Eipc.Main.new_for_address(opts.app, opts.address)
except GLib.Error as e:
    say(f'cannot start: {e.message}')
    sys.exit(1)
loop = GLib.MainLoop()
m.handle('ping', handle_ping)
m.handle('add', handle_add)
m.handle('fail', handle_fail)
m.on('echo-sync', on_echo_sync)
m.on('log', on_log)
m.on('hello', on_hello)
m.connect('web-contents-attached', on_attached)
m.connect('message-rejected', lambda main, sender, error:
          say(f'rejected a message from {sender}: {error.message}'))
m.connect('disconnected', on_disconnected)
for signum in (signal.SIGINT, signal.SIGTERM):
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, on_unix_signal)
say(f'{m.get_app_id()} is ready at {m.get_object_path()} (unique name {m.get_unique_name()})')
loop.run()
m = None
say('bye')
sys.exit(status)
