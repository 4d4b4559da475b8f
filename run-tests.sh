#!/bin/sh
# Sets up everything and runs the whole test suite: installs the Debian
# packages, builds with warnings as errors, runs `meson test` on
# dbus-daemon and again on dbus-broker (`--setup broker`), and ends with a
# line "N passed, N failed" over both.
#
#   ./run-tests.sh                 the suite, on both buses
#   EIPC_SANITIZE=1 ./run-tests.sh the suite under AddressSanitizer + UBSan
#   EIPC_TEST_BUSES=dbus-broker ./run-tests.sh   on one bus only
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
logs=""
for bus in ${EIPC_TEST_BUSES:-dbus-daemon dbus-broker}; do
  case $bus in
    dbus-daemon)
      meson test -C "$builddir" --print-errorlogs || status=$?
      log=$builddir/meson-logs/testlog.json ;;
    dbus-broker)
      meson test -C "$builddir" --setup broker --print-errorlogs || status=$?
      log=$builddir/meson-logs/testlog-broker.json ;;
    *)
      echo "run-tests: EIPC_TEST_BUSES: unknown bus $bus" >&2
      exit 2 ;;
  esac
  echo "on $bus: $(python3 tools/count-tests.py "$log")"
  logs="$logs $log"
done

# The last line: both buses together.
python3 tools/count-tests.py $logs
exit $status
