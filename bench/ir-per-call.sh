#!/bin/sh
# ir-per-call.sh: instructions per call of one process of eipc-bench, by
# callgrind (valgrind --tool=callgrind), which the machine's load does not
# change. Two runs of the allocation case CASE, with 200 and with 1,200
# calls; the difference of the process's total over 1,000 is the cost of
# one call, start-up and the rest cancelled out.
#
#   bench/ir-per-call.sh BUILDDIR CASE ROLE
#     CASE: sdbus | invoke_json | invoke | sendsync
#     ROLE: client (the caller: raw sd-bus client or eipc renderer),
#           eipc-main (the eipc main process), sdbus-server (raw server)
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -eu
build=$1 case=$2 role=$3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for n in 200 1200; do
  if [ "$role" = client ]; then
    valgrind --tool=callgrind --callgrind-out-file="$out/$n" \
      "$build/bench/eipc-bench" --only=alloc --rounds=1 --no-verify \
      --alloc-case="$case" --alloc-calls=$n >/dev/null 2>&1
  else
    EIPC_BENCH_WRAP="valgrind --tool=callgrind --callgrind-out-file=$out/$n" \
    EIPC_BENCH_WRAP_ROLE="$role" \
      "$build/bench/eipc-bench" --only=alloc --rounds=1 --no-verify \
      --alloc-case="$case" --alloc-calls=$n >/dev/null 2>&1
  fi
done
total () {
  callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
}
a=$(total "$out/200")
b=$(total "$out/1200")
echo "$case $role: $(( (b - a) / 1000 )) Ir per call"
