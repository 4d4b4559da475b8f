#!/usr/bin/env gjs
// SPDX-License-Identifier: LGPL-2.1-or-later
// A renderer of the eipc demo in JavaScript (GJS): the options, steps and output
// of examples/eipc-demo-renderer.c, against any demo main (C, Python, GJS).
Object.assign(imports.gi.versions, {Eipc: '1.0', Json: '1.0'});
const {Eipc, Gio, GLib, Json} = imports.gi;

const opts = {address: null, app: 'org.eipc.Demo', guest: 0, peer: 0,
    'expect-guest': false, timeout: 10};
for (const arg of ARGV) {
    const [, name, value] = arg.match(/^--([a-z-]+)(?:=(.*))?$/) ?? [];
    if (!(name in opts))
        throw new Error(`unknown option ${arg}`);
    opts[name] = typeof opts[name] === 'number' ? Number(value) : value ?? true;
}
const peer = opts.peer || opts.guest;
const KINDS = ['send', 'invoke', 'sendSync', 'sendTo', 'sendToHost', 'broadcast'];
const stdout = new Gio.UnixOutputStream({fd: 1, close_fd: false});

// Attaching blocks until the main process answers and gives the id.
const r = opts.guest ? Eipc.Renderer.new_guest(opts.app, opts.address, opts.guest)
    : Eipc.Renderer.new_for_address(opts.app, opts.address);
const me = r.get_id();
const got = new Set(), failures = [];   // what arrived ('hello-reply', ...), what went wrong
let timedOut = false;
GLib.timeout_add_seconds(GLib.PRIORITY_DEFAULT, opts.timeout, () => (timedOut = true) && false);

// Unbuffered, so that the lines come out in order even into a pipe.
const say = text => void stdout.write_all(new TextEncoder().encode(`renderer ${me}: ${text}\n`), null);

const wrong = text => say(`UNEXPECTED: ${text}`) ?? failures.push(text);

function show(ev) {
    const sid = ev.get_sender_id();
    const who = sid === 0 ? 'the main process, id' : 'webContents';
    say(`got '${ev.get_channel()}' (${KINDS[ev.get_kind()]}) from ${who} ${sid}: ${ev.get_args_json()}`);
}

function waitFor(flag, what) {   // runs the main context, which delivers messages
    while (!flag() && !timedOut)
        GLib.MainContext.default().iteration(true);
    if (!flag())
        wrong(`timed out waiting for ${what}`);
    return flag();
}

function call(start, finish, what) {   // GIO's async pattern: start, callback, finish
    let result = null;
    start((source, res) => (result = res));
    try {
        return waitFor(() => result !== null, what) ? [finish(result), null] : [null, null];
    } catch (e) {
        return [null, e];
    }
}

function check(what, value, error, want, wantError) {
    if (value === null && error === null)
        return;   // timed out, already said
    if (error === null) {
        const text = Json.to_string(value, false);
        say(`${what} = ${text}`);
        want !== null && JSON.stringify(JSON.parse(text)) === JSON.stringify(JSON.parse(want)) ||
            wrong(`wanted ${want ?? wantError}`);
    } else {
        say(`${what} failed: ${error.message}`);
        error.message === wantError || wrong(`wanted ${wantError ?? want}`);
    }
}

say(`attached as webContents ${me} at ${r.get_object_path()}${
    opts.guest ? `, a guest of webContents ${opts.guest}` : ''}`);
for (const channel of ['hello-reply', 'peers', 'news', 'chat-reply'])
    r.on(channel, ev => show(ev) ?? got.add(channel));
r.on_host_message(ev => show(ev) ?? got.add('host-message'));
r.on('chat', ev => {   // another renderer's sendTo: answer with sendTo to its id
    show(ev);
    const answer = JSON.stringify([`hello back from webContents ${me}`]);
    say(`sendTo(${ev.get_sender_id()}, 'chat-reply', ${answer})`);
    r.send_to_json(ev.get_sender_id(), 'chat-reply', answer, null, (source, res) => {
        try {
            r.send_to_finish(res);
            say('sendTo chat-reply: ok');
        } catch (e) {
            wrong(`sendTo chat-reply failed: ${e.message}`);
        }
        got.add('answered-chat');
    });
});
r.handle('get-title', ev => {   // the main process invokes this renderer
    show(ev);
    const title = JSON.stringify(`demo renderer ${me}`);
    say(`resolving get-title with ${title}`);
    ev.resolve_json(title);
    got.add('get-title');
});

let args = JSON.stringify([`renderer ${me} is up`]);
say(`send('log', ${args})`);
r.send_json('log', args);

for (const [channel, a, want, wantError] of [
    ['ping', '[]', '"pong"', null],
    ['add', '[1,2,3.5]', '6.5', null],
    ['fail', '[]', null, "Error invoking remote method 'fail': Error: boom"],
    ['no-such-channel', '[]', null, "Error invoking remote method 'no-such-channel': Error: No handler registered for 'no-such-channel'"]]) {
    const what = `invoke('${channel}', ${a})`;
    check(what, ...call(cb => r.invoke_json(channel, a, null, cb),
        res => r.invoke_finish(res), what), want, wantError);
}

args = JSON.stringify([me, 'sync', {nested: [true, null]}]);
try {   // sendSync blocks until the main process sets the return value
    check(`sendSync('echo-sync', ${args})`, r.send_sync_json('echo-sync', args), null, args, null);
} catch (e) {
    check(`sendSync('echo-sync', ${args})`, null, e, args, null);
}

say("send('hello', [])");
r.send_json('hello', '[]');
waitFor(() => got.has('hello-reply'), 'hello-reply (event.reply)');
waitFor(() => got.has('peers'), 'peers (webContents.send)');
waitFor(() => got.has('get-title'), "the main process's invoke of get-title");

if (opts.guest) {   // sendToHost: a guest (a webview) to its embedder
    args = JSON.stringify([`guest ${me} is ready`]);
    say(`sendToHost('guest-ready', ${args})`);
    const [ok, error] = call(cb => r.send_to_host_json('guest-ready', args, null, cb),
        res => r.send_to_host_finish(res), 'sendToHost');
    ok ? say('sendToHost: ok') : wrong(`sendToHost failed: ${error?.message}`);
}
if (peer) {   // sendTo: another renderer, routed by the main process
    args = JSON.stringify([`hello from webContents ${me}`]);
    say(`sendTo(${peer}, 'chat', ${args})`);
    const [ok, error] = call(cb => r.send_to_json(peer, 'chat', args, null, cb),
        res => r.send_to_finish(res), 'sendTo');
    ok ? say('sendTo chat: ok') : wrong(`sendTo chat failed: ${error?.message}`);
    if (ok)
        waitFor(() => got.has('chat-reply'), 'chat-reply from the peer');
}
if (opts['expect-guest']) {
    waitFor(() => got.has('host-message'), 'a host message from a guest');
    waitFor(() => got.has('answered-chat'), 'a chat from a guest, answered');
}
if (opts['expect-guest'] || opts.guest)
    waitFor(() => got.has('news'), 'news (broadcast)');
say(failures.length ? `${failures.length} things went wrong` : 'all went as expected');
r.run_dispose();   // going away destroys the webContents on the main side
imports.system.exit(failures.length ? 1 : 0);
