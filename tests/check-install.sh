#!/bin/sh
# check-install.sh: the examples build against an installed copy of the
# library, found through pkg-config, as any consumer builds them:
#   meson install --destdir TMP, then for every examples/*.c
#   cc $(pkg-config --cflags --libs eipc-1), the .pc's prefix moved to TMP.
# Usage: check-install.sh SOURCE_ROOT BUILD_ROOT [SANITIZE]. Prints TAP;
# skipped in sanitizer builds (the installed library needs the runtime).
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u

src=$1
build=$2
sanitize=${3:-none}
cc=${CC:-cc}

if [ "$sanitize" != none ]; then
  echo "1..0 # SKIP sanitizer build"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=1
echo "1..$(( $(ls "$src"/examples/*.c | wc -l) + 1 ))"
if out=$(meson install -C "$build" --destdir "$tmp/root" --no-rebuild --quiet 2>&1); then
  echo "ok 1 - meson install --destdir"
else
  echo "not ok 1 - meson install --destdir"
  printf '%s\n' "$out" | sed 's/^/# /'
  exit 1
fi
pc=$(find "$tmp/root" -name eipc-1.pc | head -n 1)
if [ -z "$pc" ]; then
  echo "# no eipc-1.pc installed"
  exit 1
fi
# The installed .pc, relocated into the destdir (its prefix only: the
# packages it requires stay where the system has them).
mkdir -p "$tmp/pc"
prefix=$(sed -n 's/^prefix=//p' "$pc")
sed "s|^prefix=.*|prefix=$tmp/root$prefix|" "$pc" > "$tmp/pc/eipc-1.pc"
export PKG_CONFIG_PATH="$tmp/pc"
flags=$(pkg-config --cflags --libs eipc-1) || exit 1
echo "# pkg-config --cflags --libs eipc-1: $flags"

status=0
for example in "$src"/examples/*.c; do
  n=$((n + 1))
  name=$(basename "$example" .c)
  # shellcheck disable=SC2086
  if out=$($cc -std=c11 -Wall -Wextra -Werror -Wno-unused-parameter \
             -o "$tmp/$name" "$example" $flags 2>&1); then
    echo "ok $n - examples/$name.c builds against the installed eipc-1"
  else
    echo "not ok $n - examples/$name.c builds against the installed eipc-1"
    printf '%s\n' "$out" | sed 's/^/# /'
    status=1
  fi
done
exit $status
