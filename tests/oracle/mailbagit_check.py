#!/usr/bin/env python3
"""Checks a tree of .eml files against mailbagit's expected fields
(../shared/corpus/pst/UAlbanyArchives_mailbagit/expected/N/*.txt), reading
the messages with Python's email package. Prints a JSON list of mismatches
(empty when every expected message is found with every field equal).

    python3 tests/oracle/mailbagit_check.py EML_ROOT EXPECTED_DIR
"""
import email
import email.policy
import email.utils
import json
import os
import sys


def norm(text):
    return " ".join(text.split())


def unmangle(text):
    """mailbagit wrote one expected body through a cp1252 misreading of
    UTF-8 ('•' as 'â€¢'); undo that where it applies."""
    try:
        return text.encode("cp1252").decode("utf-8")
    except UnicodeError:
        return text


def same_date(a, b):
    try:
        return email.utils.parsedate_to_datetime(a) == email.utils.parsedate_to_datetime(b)
    except (TypeError, ValueError):
        return False


def load(root):
    found = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            if name.endswith(".eml"):
                with open(os.path.join(dirpath, name), "rb") as f:
                    msg = email.message_from_binary_file(f, policy=email.policy.default)
                found[str(msg["message-id"]).strip()] = (os.path.relpath(dirpath, root), msg)
    return found


def main():
    root, expected = sys.argv[1], sys.argv[2]
    found = load(root)
    problems = []
    for case in sorted(os.listdir(expected)):
        want = {}
        for field in os.listdir(os.path.join(expected, case)):
            with open(os.path.join(expected, case, field), encoding="utf-8", errors="replace") as f:
                want[field[:-4]] = f.read()
        mid = want["Message_ID"].strip()
        if mid not in found:
            problems.append(f"{case}: no message {mid}")
            continue
        path, msg = found[mid]
        if path.replace(os.sep, "/") != want["Message_Path"].strip():
            problems.append(f"{case}: in {path}, expected {want['Message_Path'].strip()}")
        for field, header in (("Subject", "subject"), ("From", "from"), ("To", "to")):
            if norm(str(msg[header] or "")) != norm(want[field]):
                problems.append(f"{case}: {field} {msg[header]!r}, expected {want[field]!r}")
        if not same_date(str(msg["date"] or ""), want["Date"].strip()):
            problems.append(f"{case}: Date {msg['date']!r}, expected {want['Date']!r}")
        body = msg.get_body(preferencelist=("plain",))
        if body is None or norm(body.get_content()) != norm(unmangle(want["Text_Body"])):
            problems.append(f"{case}: text body differs")
        html = msg.get_body(preferencelist=("html",))
        if html is None or (html.get_content_charset() or "").lower() != want["HTML_Encoding"].strip().lower():
            problems.append(f"{case}: HTML charset {html.get_content_charset() if html else None}")
    json.dump(problems, sys.stdout)


main()
