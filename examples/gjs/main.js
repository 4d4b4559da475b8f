#!/usr/bin/env gjs
// SPDX-License-Identifier: LGPL-2.1-or-later
// The eipc demo's main process in JavaScript (GJS): the options, channels and
// output of examples/eipc-demo-main.c, for any demo renderer (C, Python, GJS).
// Serves invoke ping (answered later: a deferred answer), add, fail; sendSync
// echo-sync; send log and hello (event.reply, webContents.send and an invoke
// of the renderer's get-title); broadcasts news when two renderers attached.
Object.assign(imports.gi.versions, {Eipc: '1.0'});
const {Eipc, Gio, GLib} = imports.gi;

const opts = {address: null, app: 'org.eipc.Demo', 'exit-after-renderers': 0};
for (const arg of ARGV) {
    const [, name, value] = arg.match(/^--([a-z-]+)(?:=(.*))?$/) ?? [];
    if (!(name in opts))
        throw new Error(`unknown option ${arg}`);
    opts[name] = typeof opts[name] === 'number' ? Number(value) : value;
}
const KINDS = ['send', 'invoke', 'sendSync', 'sendTo', 'sendToHost', 'broadcast'];
const stdout = new Gio.UnixOutputStream({fd: 1, close_fd: false});
// Unbuffered, so that the lines come out in order even into a pipe.
const say = text => void stdout.write_all(new TextEncoder().encode(`main: ${text}\n`), null);
const loop = new GLib.MainLoop(null, false);
let gone = 0, status = 0;

function show(ev) {
    const who = ev.get_sender() !== null ? `webContents ${ev.get_sender_id()}`
        : `a client that never attached (${ev.get_sender_name()})`;
    say(`${KINDS[ev.get_kind()]} '${ev.get_channel()}' from ${who}: ${ev.get_args_json()}`);
}

let main;
try {   // owns the app name; a second main process fails with NAME_TAKEN
    main = Eipc.Main.new_for_address(opts.app, opts.address);
} catch (e) {
    say(`cannot start: ${e.message}`);
    imports.system.exit(1);
}

main.handle('ping', ev => {   // answered later, from a timeout: the closure keeps the event
    show(ev);
    GLib.timeout_add(GLib.PRIORITY_DEFAULT, 10, () => ev.resolve_json('"pong"') && false);
});
main.handle('add', ev => {
    show(ev);
    const args = JSON.parse(ev.get_args_json());
    if (!args.every(a => typeof a === 'number')) {
        ev.reject('add takes numbers only');   // rejecting is how a handler throws
        return;
    }
    ev.resolve_json(JSON.stringify(args.reduce((a, b) => a + b, 0)));
});
main.handle('fail', ev => {   // the caller sees "Error invoking remote method 'fail': Error: boom"
    show(ev);
    ev.reject('boom');
});
main.on('echo-sync', ev => {
    show(ev);
    if (ev.get_kind() === Eipc.EventKind.SEND_SYNC)
        ev.set_return_value_json(ev.get_args_json());
});
main.on('log', ev => {
    show(ev);
    if (ev.get_kind() === Eipc.EventKind.SEND_SYNC)
        ev.set_return_value_json('null');
});
main.on('hello', ev => {
    show(ev);
    if (ev.get_kind() === Eipc.EventKind.SEND_SYNC)
        ev.set_return_value_json('null');
    try {   // event.reply: back to the sender, on another channel
        ev.reply_json('hello-reply', JSON.stringify([`hello, webContents ${ev.get_sender_id()}`]));
    } catch (e) {
        say(`cannot reply: ${e.message}`);
        return;
    }
    const sender = ev.get_sender();
    const peers = main.list_web_contents()
        .filter(wc => wc.get_id() < sender.get_id()).map(wc => wc.get_id());
    try {   // webContents.send: the ids of the renderers attached before it
        sender.send_json('peers', JSON.stringify([peers]));
    } catch (e) {
        say(`cannot send peers: ${e.message}`);
    }
    sender.invoke_json('get-title', '[]', null, (wc, res) => {   // main invokes a renderer
        try {
            say(`webContents ${wc.get_id()} answered get-title: ${
                wc.invoke_finish_json(res)}`);   // the result as text, no tree
        } catch (e) {
            say(`invoking get-title on webContents ${wc.get_id()} failed: ${e.message}`);
        }
    });
});

main.connect('web-contents-attached', (m, wc) => {
    const host = wc.get_host_id();
    say(`webContents ${wc.get_id()} attached (${wc.get_unique_name()}, pid ${
        wc.get_process_id()}${host ? `, guest of webContents ${host}` : ''}) at ${
        wc.get_object_path()}`);
    wc.set_allow_guests(true); // its guests (webviews) may attach
    wc.connect('destroyed', (w, reason) => {
        gone++;
        say(`webContents ${w.get_id()} destroyed (${reason})`);
        if (opts['exit-after-renderers'] && gone === opts['exit-after-renderers']) {
            say(`${gone} renderers came and went, exiting`);
            loop.quit();
        }
    });
    const everyone = m.list_web_contents();
    if (everyone.length === 2) {   // one signal that every renderer receives
        const news = JSON.stringify(['two renderers are attached', everyone.map(w => w.get_id())]);
        say(`broadcast on news: ${news}`);
        try {
            m.broadcast_json('news', news);
        } catch (e) {
            say(`broadcast failed: ${e.message}`);
        }
    }
});
main.connect('message-rejected', (m, sender, error) =>
    say(`rejected a message from ${sender}: ${error.message}`));
main.connect('disconnected', () => {
    say('the bus connection closed, exiting');
    status = 1;
    loop.quit();
});
for (const signum of [2, 15]) {   // SIGINT, SIGTERM
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, () => {
        say('got a signal, exiting');
        loop.quit();
        return GLib.SOURCE_CONTINUE;
    });
}
say(`${main.get_app_id()} is ready at ${main.get_object_path()} (unique name ${
    main.get_unique_name()})`);
loop.run();
main.run_dispose();
say('bye');
imports.system.exit(status);
