#!/usr/bin/env python3
"""Fails when a Catch2 test case or section name has its first ": " too far right.

Catch2 2.13's console reporter indents the wrapped lines of a failing test's
name to just after its first ": " (plus 2 for a section); when that indent
reaches the console width (80) it loops, writing gigabytes of blanks instead
of the failure. A test must be able to fail, so no name may do that.
"""
import pathlib
import re
import sys

LIMIT = 70  # columns up to and including the first ": ", with room for the section indent
NAME = re.compile(r'\b(TEST_CASE|SECTION)\(\s*"((?:[^"\\]|\\.)*)"')

root = pathlib.Path(__file__).resolve().parent.parent / "tests"
bad = 0
for path in sorted(root.rglob("*.cpp")):
    for match in NAME.finditer(path.read_text(encoding="utf-8")):
        at = match.group(2).find(": ")
        if at != -1 and at + 2 > LIMIT:
            line = path.read_text(encoding="utf-8").count("\n", 0, match.start()) + 1
            print(f"{path.relative_to(root.parent)}:{line}: {match.group(1)} name's first ': ' at column {at + 1} "
                  f"(at most {LIMIT - 1}): Catch2 would hang reporting its failure")
            bad += 1
if bad:
    sys.exit(1)
print("test names ok")
