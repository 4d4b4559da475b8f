#!/bin/sh
# Sets up everything and runs the whole test suite: installs the Debian
# packages, builds with warnings as errors, runs `meson test`, and ends
# with a line "N passed, N failed".
#
#   ./run-tests.sh                 the suite
#   EIPC_SANITIZE=1 ./run-tests.sh the suite under AddressSanitizer + UBSan
set -eu
cd "$(dirname "$0")"

sh tools/install-deps.sh

builddir=${EIPC_BUILDDIR:-build}
options="-Dwerror=true"
if [ "${EIPC_SANITIZE:-0}" = 1 ]; then
  builddir=${EIPC_BUILDDIR:-build-asan}
  options="$options -Db_sanitize=address,undefined -Db_lundef=false"
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:fast_unwind_on_malloc=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  export LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp"
fi

if [ -d "$builddir" ]; then
  meson setup --reconfigure "$builddir" $options >/dev/null
else
  meson setup "$builddir" $options >/dev/null
fi
meson compile -C "$builddir"

status=0
meson test -C "$builddir" --print-errorlogs || status=$?

python3 tools/count-tests.py "$builddir/meson-logs/testlog.json"
exit $status
