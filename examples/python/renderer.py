#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# A renderer of the eipc demo in Python (PyGObject): the options, steps and output
# of examples/eipc-demo-renderer.c, against any demo main (C, Python, GJS).
import argparse, json, gi  # noqa: E401
gi.require_version('Eipc', '1.0')
gi.require_version('Json', '1.0')
from gi.repository import Eipc, GLib, Json  # noqa: E402

p = argparse.ArgumentParser(description='a renderer of the eipc demo')
p.add_argument('--address', help='the D-Bus address (default: the session bus)')
p.add_argument('--app', default='org.eipc.Demo')
p.add_argument('--guest', type=int, default=0, metavar='HOSTID')
p.add_argument('--peer', type=int, default=0, metavar='ID')
p.add_argument('--expect-guest', action='store_true')
p.add_argument('--timeout', type=int, default=10, metavar='SECONDS')
opts = p.parse_args()
peer = opts.peer or opts.guest
KINDS = ['send', 'invoke', 'sendSync', 'sendTo', 'sendToHost', 'broadcast']
compact = dict(separators=(',', ':'))

# Attaching blocks until the main process answers and gives the id.
try:
    r = (Eipc.Renderer.new_guest(opts.app, opts.address, opts.guest) if opts.guest
         else Eipc.Renderer.new_for_address(opts.app, opts.address))
except GLib.Error as e:
    raise SystemExit(f'renderer: cannot attach: {e.message}')
me = r.get_id()
got = set()       # what arrived: 'hello-reply', 'peers', 'news', ...
failures = []
timed_out = []
GLib.timeout_add_seconds(opts.timeout, lambda: timed_out.append(True))

def say(text):
    print(f'renderer {me}: {text}', flush=True)

def wrong(text):
    say(f'UNEXPECTED: {text}')
    failures.append(text)

def show(ev):
    sid = ev.get_sender_id()
    who = 'the main process, id' if sid == 0 else 'webContents'
    say(f"got '{ev.get_channel()}' ({KINDS[int(ev.get_kind())]}) from {who} {sid}: "
        f'{ev.get_args_json()}')

def wait_for(flag, what):   # runs the main context, which delivers messages
    while not flag() and not timed_out:
        GLib.MainContext.default().iteration(True)
    if not flag():
        wrong(f'timed out waiting for {what}')
    return flag()

def call(start, finish, what):   # GIO's async pattern: start, callback, finish
    box = []
    start(lambda source, result: box.append(result))
    try:
        return (finish(box[0]), None) if wait_for(lambda: box, what) else (None, None)
    except GLib.Error as e:
        return None, e

def check(what, value, error, want=None, want_error=None):
    if value is None and error is None:
        return   # timed out, already said
    if error is None:
        say(f'{what} = {Json.to_string(value, False)}')
        if want is None or json.loads(Json.to_string(value, False)) != json.loads(want):
            wrong(f'wanted {want or want_error}')
    else:
        say(f'{what} failed: {error.message}')
        error.message == want_error or wrong(f'wanted {want_error or want}')

def on_chat(ev):   # another renderer's sendTo: answer with sendTo to its id
    show(ev)
    answer = json.dumps([f'hello back from webContents {me}'], **compact)
    say(f"sendTo({ev.get_sender_id()}, 'chat-reply', {answer})")

    def sent(source, result):
        ok, error = None, None
        try:
            ok = r.send_to_finish(result)
        except GLib.Error as e:
            error = e.message
        say('sendTo chat-reply: ok') if ok else wrong(f'sendTo chat-reply failed: {error}')
        got.add('answered-chat')
    r.send_to_json(ev.get_sender_id(), 'chat-reply', answer, None, sent)

def on_get_title(ev):   # the main process invokes this renderer
    show(ev)
    title = json.dumps(f'demo renderer {me}')
    say(f'resolving get-title with {title}')
    ev.resolve_json(title)
    got.add('get-title')

say(f'attached as webContents {me} at {r.get_object_path()}'
    + (f', a guest of webContents {opts.guest}' if opts.guest else ''))
for channel in ('hello-reply', 'peers', 'news', 'chat-reply'):
    r.on(channel, lambda ev, name=channel: (show(ev), got.add(name)))
r.on('chat', on_chat)
r.on_host_message(lambda ev: (show(ev), got.add('host-message')))
r.handle('get-title', on_get_title)

args = json.dumps([f'renderer {me} is up'], **compact)
say(f"send('log', {args})")
r.send_json('log', args)

for channel, a, want, want_error in (
        ('ping', '[]', '"pong"', None),
        ('add', '[1,2,3.5]', '6.5', None),
        ('fail', '[]', None, "Error invoking remote method 'fail': Error: boom"),
        ('no-such-channel', '[]', None, "Error invoking remote method 'no-such-channel': Error: No handler registered for 'no-such-channel'")):
    what = f"invoke('{channel}', {a})"
    check(what, *call(lambda cb: r.invoke_json(channel, a, None, cb), r.invoke_finish, what),
          want, want_error)

args = json.dumps([me, 'sync', {'nested': [True, None]}], **compact)
try:   # sendSync blocks until the main process sets the return value
    check(f"sendSync('echo-sync', {args})", r.send_sync_json('echo-sync', args), None, args)
except GLib.Error as e:
    check(f"sendSync('echo-sync', {args})", None, e, args)

say("send('hello', [])")
r.send_json('hello', '[]')
wait_for(lambda: 'hello-reply' in got, 'hello-reply (event.reply)')
wait_for(lambda: 'peers' in got, 'peers (webContents.send)')
wait_for(lambda: 'get-title' in got, "the main process's invoke of get-title")

if opts.guest:   # sendToHost: a guest (a webview) to its embedder
    args = json.dumps([f'guest {me} is ready'], **compact)
    say(f"sendToHost('guest-ready', {args})")
    ok, error = call(lambda cb: r.send_to_host_json('guest-ready', args, None, cb),
                     r.send_to_host_finish, 'sendToHost')
    say('sendToHost: ok') if ok else wrong(f'sendToHost failed: {error}')
if peer:         # sendTo: another renderer, routed by the main process
    args = json.dumps([f'hello from webContents {me}'], **compact)
    say(f"sendTo({peer}, 'chat', {args})")
    ok, error = call(lambda cb: r.send_to_json(peer, 'chat', args, None, cb),
                     r.send_to_finish, 'sendTo')
    say('sendTo chat: ok') if ok else wrong(f'sendTo chat failed: {error}')
    if ok:
        wait_for(lambda: 'chat-reply' in got, 'chat-reply from the peer')
if opts.expect_guest:
    wait_for(lambda: 'host-message' in got, 'a host message from a guest')
    wait_for(lambda: 'answered-chat' in got, 'a chat from a guest, answered')
if opts.expect_guest or opts.guest:
    wait_for(lambda: 'news' in got, 'news (broadcast)')
say('all went as expected' if not failures else f'{len(failures)} things went wrong')
r = None   # going away destroys the webContents on the main side
raise SystemExit(0 if not failures else 1)
