#!/usr/bin/env gjs
// hello.js: both sides of one ipcMain.handle / ipcRenderer.invoke in GJS.
//   hello.js main   the main process: serves 'greet' until stopped
//   hello.js        a renderer: invokes 'greet' with ["world"], prints the answer
Object.assign(imports.gi.versions, {Eipc: '1.0'});
const {Eipc, GLib} = imports.gi;

const loop = new GLib.MainLoop(null, false);
let main, renderer;
if (ARGV[0] === 'main') {
    main = Eipc.Main.new('org.example.Hello');   // owns the bus name
    main.handle('greet', event => {              // ipcMain.handle('greet', ...)
        const [name] = JSON.parse(event.get_args_json());
        event.resolve_json(JSON.stringify(`hello ${name}, from the main process`));
    });
} else {
    renderer = Eipc.Renderer.new('org.example.Hello');   // attaches
    renderer.invoke_json('greet', JSON.stringify(['world']), null, (r, result) => {
        try {
            print(r.invoke_finish_json(result));   // the result as text
        } catch (e) {
            print(e.message);
        }
        loop.quit();
    });
}
loop.run();   // messages, answers and callbacks arrive here
