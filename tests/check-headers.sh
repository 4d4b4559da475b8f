#!/bin/sh
# check-headers.sh: the public headers, included as an installed consumer
# includes them (<eipc/eipc.h>), compile cleanly as strict C99 and as
# C++11:
#   cc  -std=c99   -pedantic -Werror -Wall -Wextra
#   c++ -std=c++11 -pedantic -Werror -Wall -Wextra
# Usage: check-headers.sh SOURCE_ROOT BUILD_ROOT. Prints TAP.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u

src=$1
build=$2
cc=${CC:-cc}
cxx=${CXX:-c++}
deps="glib-2.0 gobject-2.0 gio-2.0 json-glib-1.0"
# The build tree's include directory (include/eipc is src/) and its
# generated headers; nothing else of the tree.
incs="-I$src/include -I$build/include"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/consumer.c" <<'C'
#include <eipc/eipc.h>

int
main (void)
{
  GType types[] = { EIPC_TYPE_MAIN, EIPC_TYPE_RENDERER, EIPC_TYPE_WEB_CONTENTS,
                    EIPC_TYPE_EVENT, EIPC_TYPE_EMITTER, EIPC_TYPE_EVENT_KIND,
                    EIPC_TYPE_ERROR };
  return EIPC_CHECK_VERSION (1, 0, 0) && types[0] != 0 ? 0 : 1;
}
C
cp "$tmp/consumer.c" "$tmp/consumer.cpp"

echo "1..2"
n=0
status=0
for lang in c99 c++11; do
  n=$((n + 1))
  if [ "$lang" = c99 ]; then
    cmd="$cc -std=c99 -pedantic -Werror -Wall -Wextra -c $tmp/consumer.c -o $tmp/c.o"
  else
    cmd="$cxx -std=c++11 -pedantic -Werror -Wall -Wextra -c $tmp/consumer.cpp -o $tmp/cxx.o"
  fi
  # shellcheck disable=SC2046
  if out=$($cmd $incs $(pkg-config --cflags $deps) 2>&1); then
    echo "ok $n - <eipc/eipc.h> compiles as $lang with -pedantic -Werror -Wall -Wextra"
  else
    echo "not ok $n - <eipc/eipc.h> compiles as $lang with -pedantic -Werror -Wall -Wextra"
    printf '%s\n' "$out" | sed 's/^/# /'
    status=1
  fi
done
exit $status
