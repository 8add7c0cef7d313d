#!/usr/bin/env python3
"""Writes a large mboxrd built from the real messages of ../shared/corpus/mail.

Every copy of a corpus message gets a fresh Message-ID, so the result holds no
duplicates and looks like a big real mailbox rather than one file repeated.
usage: make_mbox.py OUT SIZE_MIB [CORPUS_DIR]
"""
import mailbox
import os
import re
import sys

out_path, size_mib = sys.argv[1], int(sys.argv[2])
corpus = sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(__file__), "..", "..", "shared", "corpus", "mail")
sources = [
    "shaeferd_Phishing-Detection/phishing0.mbox",
    "shaeferd_Phishing-Detection/20051114.mbox",
    "markov2_perl5-Mail-Box/t/folders/mbox.src",
    "apache_james-mime4j/mbox/src/test/resources/test-1/mbox.rlug",
]
messages = []
for rel in sources:
    box = mailbox.mbox(os.path.join(corpus, rel))
    messages.extend(box.get_bytes(key) for key in box.keys())
msgid = re.compile(rb"^(?:Message-ID|Content-Length):[^\n]*\n", re.IGNORECASE | re.MULTILINE)
quote = re.compile(rb"^(>*From )", re.MULTILINE)
target = size_mib << 20
written = 0
n = 0
with open(out_path, "wb") as out:
    while written < target:
        for body in messages:
            n += 1
            body = msgid.sub(b"", body.split(b"\n\n", 1)[0]) + b"\n\n" + body.split(b"\n\n", 1)[1] if b"\n\n" in body else body
            chunk = (b"From bench@example.com Mon Jan  1 00:00:00 2024\n"
                     + b"Message-ID: <%d@bench.example.com>\n" % n
                     + quote.sub(rb">\1", body).rstrip(b"\n") + b"\n\n")
            out.write(chunk)
            written += len(chunk)
            if written >= target:
                break
print(f"{out_path}: {written} bytes, {n} messages")
