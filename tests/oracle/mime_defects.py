#!/usr/bin/env python3
"""Oracle for the MIME walker: what Python's email package makes of each message.

Usage: mime_defects.py DIR... ; walks each DIR recursively for *.eml and *.msg
files and prints one tab-separated line per file, sorted by path:

    path  entities  leaves  start_not_found  close_not_found  invariant_violation

entities counts every Message yielded by msg.walk() (the message itself
included), leaves those that are not multipart (message/rfc822 counts as a
container, as is_multipart() says), and the last three are 0/1 flags for
StartBoundaryNotFoundDefect, CloseBoundaryNotFoundDefect and
MultipartInvariantViolationDefect found on any entity.

The default policy, not compat32: compat32 keeps the line break of a folded
quoted boundary ("simple\r\n boundary") inside the boundary string, which
makes RFC-correct messages look broken.
"""
import email
import email.errors
import email.policy
import pathlib
import sys


def describe(path):
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    entities = leaves = 0
    found = set()
    for part in msg.walk():
        entities += 1
        leaves += 0 if part.is_multipart() else 1
        found.update(type(d) for d in part.defects)
    flags = [
        int(email.errors.StartBoundaryNotFoundDefect in found),
        int(email.errors.CloseBoundaryNotFoundDefect in found),
        int(email.errors.MultipartInvariantViolationDefect in found),
    ]
    return [str(path), str(entities), str(leaves)] + [str(f) for f in flags]


def main(dirs):
    paths = sorted(p for d in dirs for p in pathlib.Path(d).rglob("*") if p.suffix in (".eml", ".msg") and p.is_file())
    for p in paths:
        print("\t".join(describe(p)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
