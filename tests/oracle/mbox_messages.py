#!/usr/bin/env python3
"""Independent oracle: how Python's mailbox.mbox splits an mbox.

Prints one JSON object: {"count": N, "sha256": [...]} where each hash is of
the message bytes as Python's mailbox returns them (get_bytes: the message
after its From_ line, trailing separator newline removed).
"""
import hashlib
import json
import mailbox
import sys

box = mailbox.mbox(sys.argv[1], create=False)
hashes = [hashlib.sha256(box.get_bytes(k)).hexdigest() for k in box.keys()]
print(json.dumps({"count": len(hashes), "sha256": hashes}))
