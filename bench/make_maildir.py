#!/usr/bin/env python3
"""Writes a Maildir of many small messages taken from ../shared/corpus/mail.

The real messages of the corpus's mboxes and its .eml files under 20 KB are
cycled through (in one shuffled order); every copy gets a fresh Message-ID, so
the result holds no duplicates and looks like a big real mailbox rather than
one file repeated. About 90% go to cur/ as Dovecot names them,
"<time>.M<n>P<pid>.bench,S=<size>,W=<vsize>:2,S", the rest to new/ without
info; a dovecot-uidlist (version 3) lists them all in delivery order. The
output is the same on every run: fixed seed, fixed names and mtimes.
usage: make_maildir.py DIR [COUNT] [CORPUS_DIR]        (COUNT defaults to 100000)
"""
import glob
import mailbox
import os
import random
import re
import sys

if not 2 <= len(sys.argv) <= 4:
    sys.exit("usage: make_maildir.py DIR [COUNT] [CORPUS_DIR]")
out_dir = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
corpus = sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "corpus", "mail")
corpus = os.path.normpath(corpus)
if not os.path.isdir(corpus):
    sys.exit(f"make_maildir.py: no corpus at {corpus} (the shared corpus is expected at ../shared/corpus/mail beside the repo)")
if os.path.exists(out_dir) and os.listdir(out_dir):
    sys.exit(f"make_maildir.py: {out_dir} exists and is not empty")

MAX_SIZE = 20_000  # "small": the corpus's few big messages are left out
mboxes = [
    "shaeferd_Phishing-Detection/phishing0.mbox",
    "shaeferd_Phishing-Detection/20051114.mbox",
    "markov2_perl5-Mail-Box/t/folders/mbox.src",
    "apache_james-mime4j/mbox/src/test/resources/test-1/mbox.rlug",
]
raw = []
for rel in mboxes:
    path = os.path.join(corpus, rel)
    if not os.path.isfile(path):
        sys.exit(f"make_maildir.py: {path} is missing from the corpus")
    box = mailbox.mbox(path, create=False)
    raw.extend(box.get_bytes(key) for key in box.keys())
# .eml files, less the parsers' deliberately broken test inputs.
for path in sorted(glob.glob(os.path.join(corpus, "**", "*.eml"), recursive=True)):
    if "malformed" in os.path.relpath(path, corpus).lower() or os.path.getsize(path) >= MAX_SIZE:
        continue
    with open(path, "rb") as f:
        raw.append(f.read())

header_line = re.compile(rb"[!-9;-~]+:")
drop = re.compile(rb"^(?:Message-ID|Content-Length):[^\n]*\n(?:[ \t][^\n]*\n)*", re.IGNORECASE | re.MULTILINE)
pool = []  # (header without Message-ID, rest from the blank line on, line end)
for body in raw:
    if body.startswith(b"From "):  # an mbox separator line kept in an .eml
        body = body.split(b"\n", 1)[1] if b"\n" in body else b""
    first = body.find(b"\n")
    eol = b"\r\n" if first > 0 and body[first - 1:first] == b"\r" else b"\n"
    end = body.find(eol + eol)
    if len(body) >= MAX_SIZE or end < 0 or not header_line.match(body):
        continue  # too big, or not a message with a header and a body
    pool.append((drop.sub(b"", body[:end + len(eol)]), body[end + len(eol):], eol))
if not pool:
    sys.exit(f"make_maildir.py: no usable messages under {corpus}")

rng = random.Random(20240101)
rng.shuffle(pool)
base_time = 1_700_000_000  # 2023-11-14; one delivery every 7 seconds from there
pid = 4242
lf_alone = re.compile(rb"(?<!\r)\n")

for sub in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(out_dir, sub), exist_ok=True)
names = []
total = in_new = 0
for i in range(count):
    header, rest, eol = pool[i % len(pool)]
    data = b"Message-ID: <%d.maildir@bench.example.com>" % (i + 1) + eol + header + rest
    size = len(data)
    vsize = size + len(lf_alone.findall(data))
    when = base_time + 7 * i
    base = f"{when}.M{i}P{pid}.bench,S={size},W={vsize}"
    if rng.random() < 0.10:
        path = os.path.join(out_dir, "new", base)
        in_new += 1
    else:
        path = os.path.join(out_dir, "cur", base + ":2,S")
    with open(path, "wb") as f:
        f.write(data)
    os.utime(path, (when, when))
    names.append(base)
    total += size

last = base_time + 7 * max(count - 1, 0)
guid = "%032x" % rng.getrandbits(128)
uidlist = os.path.join(out_dir, "dovecot-uidlist")
with open(uidlist, "w", encoding="ascii", newline="\n") as f:
    f.write(f"3 V{base_time} N{count + 1} G{guid}\n")
    for uid, base in enumerate(names, 1):
        f.write(f"{uid} :{base}\n")
for path in (uidlist, *(os.path.join(out_dir, sub) for sub in ("cur", "new", "tmp")), out_dir):
    os.utime(path, (last, last))
print(f"{out_dir}: {count} messages ({in_new} in new/), {total} bytes, cycling {len(pool)} corpus messages")
