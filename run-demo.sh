#!/bin/sh
# Sets up everything and runs the demo: a main process and renderers
# exchanging every kind of message. Without a session bus it starts a
# private dbus-daemon for the demo and stops it afterwards.
set -eu
cd "$(dirname "$0")"

sh tools/install-deps.sh
if [ -d build ]; then
  meson setup --reconfigure build >/dev/null
else
  meson setup build >/dev/null
fi
meson compile -C build >/dev/null

exec sh examples/run-demo.sh build
