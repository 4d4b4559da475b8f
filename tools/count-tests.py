#!/usr/bin/env python3
"""Counts the test cases in meson's testlog.json (TAP subtests included)
(several files, e.g. one per bus, are added up)
and prints the closing line "N passed, N failed"."""
import json
import re
import sys

passed = failed = skipped = 0
lines = [line for path in sys.argv[1:] for line in open(path)]
for line in lines:
    entry = json.loads(line)
    stdout = entry.get("stdout") or ""
    cases = re.findall(r"^(ok|not ok)\b[^\n]*$", stdout, re.M)
    if cases:
        for case in cases:
            text = case
            if text == "ok":
                passed += 1
            else:
                failed += 1
        skipped += len(re.findall(r"^ok\b.*# SKIP", stdout, re.M))
        # A program that died before its plan was done counts as a failure.
        if entry.get("result") not in ("OK", "SKIP", "EXPECTEDFAIL") and not \
                re.search(r"^not ok", stdout, re.M):
            failed += 1
    else:
        if entry.get("result") in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif entry.get("result") == "SKIP":
            skipped += 1
        else:
            failed += 1
passed -= skipped
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
