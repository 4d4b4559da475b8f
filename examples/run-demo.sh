#!/bin/sh
# The eipc demo, scripted: the main process (org.eipc.Demo), a host
# renderer and a guest renderer of it exchange every kind of message:
# send, invoke (results and errors), sendSync, event.reply,
# webContents.send, a broadcast, sendToHost, sendTo both ways, a message
# channel the main process links the two renderers with, and an
# invoke from the main process to a renderer.
#
# Usage: examples/run-demo.sh BUILDDIR
#
# EIPC_DEMO_MAIN, EIPC_DEMO_HOST and EIPC_DEMO_GUEST replace the C main
# process, host renderer and guest renderer by another command, such as
# the Python and GJS versions (GI_TYPELIB_PATH and LD_LIBRARY_PATH must
# then name BUILDDIR/src, or eipc be installed):
#
#   GI_TYPELIB_PATH=build/src LD_LIBRARY_PATH=build/src \
#   EIPC_DEMO_MAIN="gjs examples/gjs/main.js" \
#   EIPC_DEMO_HOST="python3 examples/python/renderer.py" \
#     sh examples/run-demo.sh build
#
# Uses the session bus when one answers; otherwise starts a private
# dbus-daemon for the demo and stops it afterwards. EIPC_BUS picks the
# bus instead: EIPC_BUS=dbus-daemon or EIPC_BUS=dbus-broker starts a
# private bus of that kind (dbus-broker through BUILDDIR's
# tests/eipc-test-broker, without systemd), EIPC_BUS=session (the
# default) behaves as above. Exits 0 only if the
# main process and both renderers report that everything went as
# expected. Every wait is bounded: the demo takes about a second, and
# gives up after at most half a minute.
set -eu

build=${1:?usage: $0 BUILDDIR}
main_bin=$build/examples/eipc-demo-main
renderer_bin=$build/examples/eipc-demo-renderer
app=org.eipc.Demo

say () { echo "run-demo: $*"; }
fail () { echo "run-demo: FAILED: $*" >&2; exit 1; }

for bin in "$main_bin" "$renderer_bin"; do
  [ -x "$bin" ] || fail "$bin is not built (meson setup $build && meson compile -C $build)"
done
command -v busctl >/dev/null || fail "busctl (package systemd) is needed"
bus_kind=${EIPC_BUS:-session}
broker_helper=$build/tests/eipc-test-broker
case $bus_kind in
  session|dbus-daemon)
    command -v dbus-daemon >/dev/null || fail "dbus-daemon (package dbus-daemon) is needed" ;;
  dbus-broker)
    command -v dbus-broker >/dev/null || fail "dbus-broker (package dbus-broker) is needed"
    [ -x "$broker_helper" ] || fail "$broker_helper is not built" ;;
  *)
    fail "EIPC_BUS=$bus_kind: not session, dbus-daemon or dbus-broker" ;;
esac

bus_pid=
main_pid=
host_pid=
broker_out=
cleanup () {
  for pid in $host_pid $main_pid $bus_pid; do
    kill "$pid" 2>/dev/null || true
  done
  [ -z "$broker_out" ] || rm -f "$broker_out"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# busctl on the demo's bus, never waiting long.
bus () { busctl --address="$address" --timeout=2 "$@"; }

# The session bus, if there is one and it answers; else a private one.
address=
if [ "$bus_kind" = session ]; then
  address=${DBUS_SESSION_BUS_ADDRESS:-}
  if [ -z "$address" ] && [ -n "${XDG_RUNTIME_DIR:-}" ] && [ -S "$XDG_RUNTIME_DIR/bus" ]; then
    address=unix:path=$XDG_RUNTIME_DIR/bus
  fi
fi
if [ "$bus_kind" = dbus-broker ]; then
  # The helper prints the address and the broker's pid, then serves the
  # broker's controller until SIGTERM.
  broker_out=$(mktemp)
  "$broker_helper" --policy=session > "$broker_out" &
  bus_pid=$!
  tries=0
  while [ "$(wc -l < "$broker_out")" -lt 2 ]; do
    kill -0 "$bus_pid" 2>/dev/null || fail "eipc-test-broker exited"
    tries=$((tries + 1))
    [ "$tries" -lt 50 ] || fail "dbus-broker printed no address"
    sleep 0.1
  done
  address=$(sed -n 1p "$broker_out")
  say "started a private dbus-broker (pid $(sed -n 2p "$broker_out")) at $address"
elif [ -n "$address" ] && timeout 5 busctl --address="$address" --timeout=2 \
     call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetId \
     >/dev/null 2>&1; then
  say "using the session bus $address"
else
  out=$(dbus-daemon --session --fork --print-address=1 --print-pid=1) ||
    fail "cannot start a private dbus-daemon"
  address=$(echo "$out" | sed -n 1p)
  bus_pid=$(echo "$out" | sed -n 2p)
  [ -n "$address" ] && [ -n "$bus_pid" ] || fail "dbus-daemon printed no address"
  say "no session bus: started a private dbus-daemon (pid $bus_pid) at $address"
fi
# The demo programs find the bus as any session-bus program does.
export DBUS_SESSION_BUS_ADDRESS="$address"

has_owner () {
  bus call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
    NameHasOwner s "$app" 2>/dev/null | grep -q '^b true$'
}
! has_owner || fail "another main process of $app runs on this bus; stop it first"

# The main process; it exits by itself once two renderers came and went.
${EIPC_DEMO_MAIN:-$main_bin} --exit-after-renderers=2 &
main_pid=$!

# Wait (at most 5 s) until it owns the app name.
tries=0
until has_owner; do
  kill -0 "$main_pid" 2>/dev/null || fail "the main process exited before it owned $app"
  tries=$((tries + 1))
  [ "$tries" -lt 50 ] || fail "$app did not appear on the bus"
  sleep 0.1
done

# The host renderer: besides its own exchange, it waits for its guest.
timeout 20 ${EIPC_DEMO_HOST:-$renderer_bin} --expect-guest &
host_pid=$!

# Its webContentsId, from the main process's WebContents property
# (a(tsut): id, unique name, pid, host id), at most 5 s.
host_id=
tries=0
while [ -z "$host_id" ]; do
  host_id=$(bus get-property "$app" /org/eipc/Demo org.eipc.Main1 WebContents \
              2>/dev/null | awk '$2 >= 1 { print $3 }')
  [ -n "$host_id" ] && break
  kill -0 "$host_pid" 2>/dev/null || fail "the host renderer exited before it attached"
  tries=$((tries + 1))
  [ "$tries" -lt 50 ] || fail "the host renderer did not attach"
  sleep 0.1
done

# The guest renderer: sendToHost, and sendTo its host (which answers).
guest_status=0
timeout 20 ${EIPC_DEMO_GUEST:-$renderer_bin} --guest="$host_id" || guest_status=$?

host_status=0
wait "$host_pid" || host_status=$?
host_pid=

# Both renderers are gone: the main process exits by itself (at most 5 s).
tries=0
while kill -0 "$main_pid" 2>/dev/null; do
  tries=$((tries + 1))
  [ "$tries" -lt 50 ] || fail "the main process did not exit"
  sleep 0.1
done
main_status=0
wait "$main_pid" || main_status=$?
main_pid=

[ "$host_status" -eq 0 ] || fail "the host renderer exited with $host_status"
[ "$guest_status" -eq 0 ] || fail "the guest renderer exited with $guest_status"
[ "$main_status" -eq 0 ] || fail "the main process exited with $main_status"
say "every message went as expected"
