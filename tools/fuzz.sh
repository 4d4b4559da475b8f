#!/bin/sh
# Builds the libFuzzer target with clang and fuzzes for a bounded time.
#   tools/fuzz.sh [SECONDS]     (default 60)
# The seed corpus is tests/fuzz/corpus; new inputs go to a scratch copy.
# Prints "fuzz: N runs in S s, 0 crashes" and exits non-zero on a finding
# (the crashing input is kept as crash-* in the current directory).
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
ninja -C build-fuzz tests/fuzz/fuzz-inbound >/dev/null

corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
cp tests/fuzz/corpus/* "$corpus"/
build-fuzz/tests/fuzz/fuzz-inbound -max_total_time="$seconds" -max_len=65536 \
  -print_final_stats=1 "$corpus" > fuzz.log 2>&1 && status=0 || status=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' fuzz.log)
echo "fuzz: ${runs:-?} runs in $seconds s, exit $status"
if [ "$status" -ne 0 ]; then
  tail -n 40 fuzz.log
fi
exit "$status"
