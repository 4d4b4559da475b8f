#!/bin/sh
# Sets up everything and runs the demo: a main process and renderers
# exchanging every kind of message. Without a session bus it starts a
# private dbus-daemon for the demo and stops it afterwards. Builds only
# the two demo programs (and the library they link), and says what it is
# doing while it does it.
#
#   ./run-demo.sh                    the session bus, or a private dbus-daemon
#   ./run-demo.sh --bus=dbus-broker  a private dbus-broker (or EIPC_BUS=...)
set -eu
cd "$(dirname "$0")"

for arg in "$@"; do
  case $arg in
    --bus=*) EIPC_BUS=${arg#--bus=}; export EIPC_BUS ;;
    *) echo "usage: $0 [--bus=session|dbus-daemon|dbus-broker]" >&2; exit 2 ;;
  esac
done
targets="eipc-demo-main eipc-demo-renderer"
[ "${EIPC_BUS:-}" != dbus-broker ] || targets="$targets eipc-test-broker"

echo "run-demo: checking the Debian packages (tools/install-deps.sh)"
sh tools/install-deps.sh
if [ -d build ]; then
  echo "run-demo: configuring build/"
  meson setup --reconfigure build >/dev/null
else
  echo "run-demo: configuring build/ (first time)"
  meson setup build >/dev/null
fi
echo "run-demo: compiling the library and the demo (about a minute the first time)"
status_file=build/run-demo-compile.status
log=build/run-demo-compile.log
{ meson compile -C build $targets 2>&1; echo $? >"$status_file"; } |
  tee "$log" |
  grep --line-buffered -E '^\[[0-9]+/[0-9]+\]' |
  sed -u -e 's/^\(\[[0-9]*\/[0-9]*\]\) \([A-Za-z]*\) .* \([^ ]*\)$/run-demo:   \1 \2 \3/' || true
if [ "$(cat "$status_file")" != 0 ]; then
  cat "$log" >&2
  echo "run-demo: FAILED: the build failed (the log above is in $log)" >&2
  exit 1
fi

exec sh examples/run-demo.sh build
