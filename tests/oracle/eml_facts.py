#!/usr/bin/env python3
"""Facts about a tree of .eml files, read by Python's email package (an
independent MIME parser): per folder (the directory path under ROOT, '/'
between levels), each message's subject and attachments (file name and
decoded size; every part with a file name, except the vCard or iCalendar
part mailfsck adds to a contact or calendar item, listed as "object"), and
whatever the parser calls a defect.

    python3 tests/oracle/eml_facts.py ROOT
"""
import email
import email.policy
import json
import os
import sys


def facts(path):
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    attachments = []
    defects = []
    objects = []

    # The message's own parts, not those of messages attached to it.
    def walk(part):
        defects.extend(type(d).__name__ for d in part.defects)
        if part.get_content_type() == "message/rfc822" and part is not msg:
            return
        if part.is_multipart():
            for sub in part.get_payload():
                walk(sub)
        elif part.get_filename() in ("item.vcf", "item.ics") and part.get_content_type() in ("text/vcard", "text/calendar"):
            objects.append(part.get_filename())
        elif part.get_filename():
            # Attachments and inline parts alike, as long as they carry a
            # file name: a PST lists both among a message's attachments.
            attachments.append([part.get_filename(), len(part.get_payload(decode=True) or b"")])

    walk(msg)
    subject = msg["subject"]
    return {"subject": str(subject) if subject is not None else "", "attachments": attachments, "objects": objects,
            "defects": defects}


def main():
    root = sys.argv[1]
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in sorted(files):
            if name.endswith(".eml"):
                folder = os.path.relpath(dirpath, root).replace(os.sep, "/")
                out.setdefault("" if folder == "." else folder, []).append(facts(os.path.join(dirpath, name)))
    json.dump(out, sys.stdout)


main()
