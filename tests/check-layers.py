#!/usr/bin/env python3
# check-layers.py: the library's files call downward only.
#
# Reads the layer table at the top of src/eipc-private.h (lines
# " * layer N: FILE.c FILE.c ..."), finds which file defines each eipc_*
# function (and each GObject type's get_type, cast and check macros), and
# fails for every call from a file to a function of a file in the same or
# a higher layer, and for every src/*.c the table does not name.
# Prints TAP.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import re
import sys

src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), '..', 'src')

layers = {}
with open(os.path.join(src, 'eipc-private.h'), encoding='utf-8') as f:
    for line in f:
        m = re.match(r'\s*\*\s+layer (\d+):\s+(.*?)\s*$', line)
        if m:
            for name in m.group(2).split():
                layers[name] = int(m.group(1))


def strip(text):
    """The code without comments and string literals."""
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    text = re.sub(r'//[^\n]*', ' ', text)
    return re.sub(r'"(?:\\.|[^"\\\n])*"', '""', text)


files = sorted(n for n in os.listdir(src) if n.endswith('.c'))
code = {}
owner = {}   # symbol -> file
for name in files:
    with open(os.path.join(src, name), encoding='utf-8') as f:
        code[name] = strip(f.read())
    lines = code[name].split('\n')
    for i, line in enumerate(lines):
        m = re.match(r'(eipc_\w+) \(', line)
        if m and i > 0 and not lines[i - 1].startswith('static') \
                and not lines[i - 1].strip().endswith(';'):
            owner.setdefault(m.group(1), name)
    for m in re.finditer(r'G_DEFINE_\w*TYPE\w*\s*\(\s*\w+\s*,\s*(eipc_\w+)', code[name]):
        prefix = m.group(1)
        upper = prefix[len('eipc_'):].upper()
        for sym in (prefix + '_get_type', 'EIPC_TYPE_' + upper,
                    'EIPC_' + upper, 'EIPC_IS_' + upper):
            owner[sym] = name

failures = []
for name in files:
    if name not in layers:
        failures.append(f'{name} is not in the layer table of eipc-private.h')
        continue
    seen = set()
    for m in re.finditer(r'\b((?:eipc|EIPC)_\w+)\s*\(', code[name]):
        sym = m.group(1)
        target = owner.get(sym)
        if target is None or target == name or (sym, target) in seen:
            continue
        seen.add((sym, target))
        if target not in layers:
            continue
        if layers[target] >= layers[name]:
            failures.append(f'{name} (layer {layers[name]}) calls {sym} of '
                            f'{target} (layer {layers[target]})')

print('1..2')
missing = [n for n in layers if n not in files]
if missing:
    print('not ok 1 - the layer table names files that do not exist: ' + ', '.join(missing))
else:
    print('ok 1 - every file in the layer table exists')
if failures:
    print('not ok 2 - files call downward only')
    for line in failures:
        print('# ' + line)
    sys.exit(1)
print('ok 2 - files call downward only')
