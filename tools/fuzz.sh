#!/bin/sh
# Builds the libFuzzer targets with clang and fuzzes each for a bounded time:
# fuzz-inbound (seeds tests/fuzz/corpus) and fuzz-dbus (whole D-Bus messages
# into an EipcMain and an EipcRenderer, seeds tests/fuzz/corpus-dbus).
#   tools/fuzz.sh [SECONDS]     (default 60, for each target)
# New inputs go to a scratch copy of each corpus. Prints
# "fuzz: N runs in S s, exit E (TARGET)" per target (the log is
# fuzz-TARGET.log) and exits non-zero on a finding (the crashing input is
# kept as crash-* in the current directory).
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-60}

sh tools/install-deps.sh
if ! command -v clang >/dev/null 2>&1 || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-dev >/dev/null
fi

if [ -d build-fuzz ]; then
  CC=clang meson setup --reconfigure build-fuzz -Dfuzzing=true >/dev/null
else
  CC=clang meson setup build-fuzz -Dfuzzing=true >/dev/null
fi
ninja -C build-fuzz tests/fuzz/fuzz-inbound tests/fuzz/fuzz-dbus >/dev/null

# Each target for SECONDS on a scratch copy of its seed corpus; the exit
# status is the first non-zero one (0 when no target found anything).
status=0
run_target() {
  target=$1 seeds=$2
  corpus=$(mktemp -d)
  cp "$seeds"/* "$corpus"/
  "build-fuzz/tests/fuzz/$target" -max_total_time="$seconds" -max_len=65536 \
    -timeout=30 -print_final_stats=1 "$corpus" > "fuzz-$target.log" 2>&1 &&
    s=0 || s=$?
  rm -rf "$corpus"
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "fuzz-$target.log")
  echo "fuzz: ${runs:-?} runs in $seconds s, exit $s ($target)"
  if [ "$s" -ne 0 ]; then
    tail -n 40 "fuzz-$target.log"
    [ "$status" -ne 0 ] || status=$s
  fi
}
run_target fuzz-inbound tests/fuzz/corpus
run_target fuzz-dbus tests/fuzz/corpus-dbus
exit "$status"
