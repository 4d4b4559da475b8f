#!/bin/sh
# Regenerates tests/fuzz/corpus-dbus, the seed corpus of the fuzz-dbus
# target, from tests/fuzz/fuzz-dbus-seeds.c (eipc's messages built with
# GDBusMessage as the library builds them).
#   tools/fuzz-dbus-seeds.sh [BUILDDIR]     (default build)
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
ninja -C "$build" tests/fuzz/fuzz-dbus-seeds >/dev/null
"$build"/tests/fuzz/fuzz-dbus-seeds tests/fuzz/corpus-dbus
ls tests/fuzz/corpus-dbus | wc -l | sed 's/$/ seeds in tests\/fuzz\/corpus-dbus/'
