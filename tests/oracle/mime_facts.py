#!/usr/bin/env python3
"""Independent oracle: what Python's email package reads from each message
of a directory of .eml files (in path order), in the terms a PST keeps it.

Prints one JSON list, a message an entry:
  {"subject", "sender_name", "sender_email", "recipients", "body", "attachments": ["name:size", ...]}
Rules (the ones mailfsck's MIME-to-PST conversion states, decoded here by
Python's own code): the body is the first text/plain part (or a part of no
type) that is no attachment (no "attachment" disposition, no filename);
every other leaf part except the first such text/html part is an
attachment, named by get_filename() and sized by its decoded payload;
message/rfc822 parts are embedded messages and not listed. The sender is
the first Sender address, else the first From address ([MS-OXCMAIL]
2.2.3.2.1), as email.utils reads it: its display name (or the comment of
the obsolete "addr (Name)" form) decoded, else the address. Recipients:
the addresses of To, Cc and Bcc. Values no reader can
decide are null, and the caller does not compare them: a field Python
cannot parse, a header with raw 8-bit bytes, a part whose charset Python
does not know, an undeclared charset with 8-bit bytes.
"""
import email
import email.header
import email.policy
import email.utils
import json
import pathlib
import sys


def text(value):
    return " ".join(str(value).split()) if value is not None else ""


def leaves(msg):
    """Leaf parts in document order, not descending into message/rfc822."""
    stack = [msg]
    while stack:
        part = stack.pop()
        if part.get_content_type() in ("message/rfc822", "message/global") and part is not msg:
            continue
        if part.is_multipart():
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend(reversed(payload))
            continue
        yield part


def eight_bit(raw_msg, name):
    value = raw_msg.get(name)
    return value is not None and any(ord(c) > 127 for c in str(value))


def facts(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    raw_msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    out = {"attachments": []}
    try:
        out["subject"] = text(msg["Subject"]) if msg["Subject"] is not None else ""
    except Exception:  # noqa: BLE001 - a header Python cannot parse
        out["subject"] = None
    if eight_bit(raw_msg, "Subject"):
        out["subject"] = None
    # Addresses by the classic parser (email.utils), which keeps the
    # obsolete "addr (Name)" comment as the name; names then decoded.
    sender = "Sender" if raw_msg["Sender"] is not None else "From"
    try:
        found = email.utils.getaddresses(raw_msg.get_all(sender) or [])
        name, addr = found[0] if found else ("", "")
        name = str(email.header.make_header(email.header.decode_header(name)))
        out["sender_email"] = addr
        out["sender_name"] = text(name or addr)
    except Exception:  # noqa: BLE001 - a name Python cannot decode
        out["sender_email"] = out["sender_name"] = None
    # Without an '@' it is no address, and nothing says what it is; where
    # Python's newer parser finds the field defective, the classic one
    # guesses.
    defective = msg[sender] is not None and bool(msg[sender].defects)
    if defective or eight_bit(raw_msg, sender) or (out["sender_email"] is not None and "@" not in out["sender_email"]):
        out["sender_email"] = out["sender_name"] = None
    fields = [v for name in ("To", "Cc", "Bcc") for v in raw_msg.get_all(name) or []]
    out["recipients"] = len([a for a in email.utils.getaddresses(fields) if a != ("", "")])
    if any(eight_bit(raw_msg, name) for name in ("To", "Cc", "Bcc")):
        out["recipients"] = None
    body = None
    html = False
    for part in leaves(msg):
        ctype = part.get_content_type()
        explicit = part.get("Content-Type") is not None
        disposition = part.get_content_disposition()
        filename = part.get_filename()
        is_text = ctype in ("text/plain", "text/html") or not explicit
        if is_text and disposition != "attachment" and not filename:
            if ctype != "text/html" and body is None:
                undeclared = part.get_content_charset() in (None, "us-ascii")
                payload = part.get_payload(decode=True) or b""
                try:
                    body = part.get_content()
                except Exception:  # noqa: BLE001 - an unknown charset
                    body = False
                if undeclared and any(b > 127 for b in payload):
                    body = False
                continue
            if ctype == "text/html" and not html:
                html = True
                continue
        data = part.get_payload(decode=True) or b""
        out["attachments"].append(f"{filename or ''}:{len(data)}")
    out["body"] = None if body is False else (body or "")
    return out


files = sorted(pathlib.Path(sys.argv[1]).rglob("*.eml"))
print(json.dumps([facts(f.read_bytes()) for f in files]))
