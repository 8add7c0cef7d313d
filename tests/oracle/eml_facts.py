#!/usr/bin/env python3
"""Facts about a tree of .eml files, read by Python's email package (an
independent MIME parser): per folder (the directory path under ROOT, '/'
between levels), each message's subject, From (display names and
addresses), plain-text body, and attachments (file name and
decoded size; every part with a file name, except the vCard or iCalendar
part mailfsck adds to a contact or calendar item and the property listing it
adds to items other than mail, listed as "objects"), and
whatever the parser calls a defect.

    python3 tests/oracle/eml_facts.py ROOT
"""
import email
import email.policy
import json
import os
import sys


def clean(text):
    """Text the parser read, its undecodable bytes (kept as lone surrogates)
    as U+FFFD: JSON readers refuse lone surrogates."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def senders(header):
    """[display name, address] for each mailbox of a From header; an empty
    group (a sender known by name only, RFC 6854) as [name, ""]."""
    out = []
    for group in header.groups if header is not None else ():
        if group.display_name is not None and not group.addresses:
            out.append([clean(group.display_name), ""])
        out += [[clean(a.display_name), clean(a.addr_spec)] for a in group.addresses]
    return out


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
        elif part.get_filename() in ("item.vcf", "item.ics", "item-properties.txt") and part.get_content_type() in (
                "text/vcard", "text/calendar", "text/plain"):
            objects.append(part.get_filename())
        elif part.get_filename():
            # Attachments and inline parts alike, as long as they carry a
            # file name: a PST lists both among a message's attachments.
            attachments.append([part.get_filename(), len(part.get_payload(decode=True) or b"")])

    walk(msg)
    subject = msg["subject"]
    body = msg.get_body(preferencelist=("plain",))
    sender = msg["from"]
    return {"subject": clean(str(subject)) if subject is not None else "", "attachments": attachments, "objects": objects,
            "defects": defects, "body": clean(body.get_content()) if body is not None else "",
            "from": senders(sender),
            "transport_headers": msg["received"] is not None}


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
