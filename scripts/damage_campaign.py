#!/usr/bin/env python3
"""Seeded damage on real stores, repaired into every format, each output verified.

    python3 scripts/damage_campaign.py [--build DIR] [--seeds 2,3] [--max-size 8M]
                                       [--formats pst,mbox,maildir,eml] [--jobs N]
                                       [--directory DIR]... STORE...

STORE: a PST/OST or mbox file, a Maildir, or a directory searched for them.
--directory DIR: DIR itself is a store, a directory of mail files (mbox
files, saved messages); the seed and the damage kind pick which of its
files is damaged.
Every store gets every damage kind of its format (mailfsck-damage) from each
seed; each damaged copy is repaired into each format, and what repair wrote
is verified as a user would verify it (`mailfsck verify OUTDIR`). A case
fails when repair or verify stops with an operational error (exit 8 and
up), when verify finds a problem of warning severity or worse, or when it
finds another number of messages than repair says it wrote. Exact
duplicates in mbox output (MBOX-0017) are allowed where the source holds
them (see allowed()).

Damage that leaves no store at all (every byte zeroed) is skipped, as is a
format a store has no damage kind for. Inputs are only read; the work is
done under a temporary directory. Prints each failure with the commands
that reproduce it, and exits 1 if there was any.
"""
import argparse
import concurrent.futures
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FILE_OPS = ["zero-page", "zero-sector", "bitflip", "truncate", "random-run",
            "zero-tail", "misplaced-sector", "repeated-run", "dropped-run", "odd-run"]
PST_OPS = FILE_OPS + ["pst-zero-bbt-root", "pst-zero-nbt-root", "pst-zero-header", "pst-header-crc",
                      "pst-amap-bit", "pst-zero-amap", "pst-zero-bbt-leaf", "pst-zero-nbt-leaf"]
MBOX_OPS = FILE_OPS + ["destroy-separator", "unescaped-from"]
MAILDIR_OPS = ["truncate-file", "zero-file", "stray-tmp", "wrong-size", "duplicate-base", "remove-uidlist-line"]

def allowed(kind, problem):
    """Findings a faithful repair may leave in its output. MBOX-0017 (an exact
    duplicate) in mbox output: a Maildir may hold one message's bytes under two
    names; a PST whose trees are both rebuilt puts the heaps no node reaches in
    Lost and Found, and versions of one deleted message can compose alike."""
    if problem["code"] != "MBOX-0017":
        return False
    return kind == "maildir" or (kind == "pst" and "Lost and Found" in problem["file"])


def size_arg(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)


def seeds_arg(text):
    seeds = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        seeds.extend(range(int(first), int(last or first) + 1))
    return seeds


def kind_of(path):
    """pst, mbox, maildir or None, by content (as mailfsck decides)."""
    if path.is_dir():
        return "maildir" if (path / "cur").is_dir() or (path / "new").is_dir() else None
    with open(path, "rb") as f:
        head = f.read(5)
    if head[:4] == b"!BDN":
        return "pst"
    return "mbox" if head == b"From " else None


def stores_under(roots, max_size):
    found = []
    for root in map(Path, roots):
        candidates = [root] if kind_of(root) else sorted(root.rglob("*")) if root.is_dir() else []
        for p in candidates:
            if p.is_symlink():
                continue
            kind = kind_of(p) if p.is_file() or p.is_dir() else None
            if kind is None:
                continue
            size = p.stat().st_size if p.is_file() else sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
            if size <= max_size:
                found.append((p, kind))
    # A Maildir++ tree's subfolders are part of it, not stores of their own.
    maildirs = [p for p, k in found if k == "maildir"]
    return [(p, k) for p, k in found if k != "maildir" or not any(m != p and m in p.parents for m in maildirs)]


def run(args):
    r = subprocess.run(args, capture_output=True, text=True, errors="replace")
    return r.returncode, r.stdout, r.stderr


def damage_directory(damage, store, op, seed, damaged, manifest):
    """A copy of the directory `store` with one of its files damaged."""
    shutil.copytree(store, damaged, symlinks=True)
    for d in [damaged] + [p for p in damaged.rglob("*") if p.is_dir() and not p.is_symlink()]:
        d.chmod(0o755)  # the corpus is read-only, and so would the copy be
    files = sorted(p for p in damaged.rglob("*") if p.is_file() and not p.is_symlink())
    if not files:
        return 1
    victim = files[random.Random("%d:%s" % (seed, op)).randrange(len(files))]
    hurt = victim.with_name(victim.name + ".damaged")
    status, _, _ = run([damage, "--seed", str(seed), "--op", op, str(victim), str(hurt), str(manifest)])
    if status == 0:
        os.replace(hurt, victim)
    return status


def case(tool, damage, store, kind, op, seed, formats, work):
    """Returns a list of failure descriptions for one damaged copy."""
    here = Path(tempfile.mkdtemp(dir=work))
    try:
        damaged = here / ("damaged" if kind in ("maildir", "directory") else "damaged" + (store.suffix or ".mbox"))
        manifest = here / "manifest.json"
        if kind == "directory":
            status = damage_directory(damage, store, op, seed, damaged, manifest)
        else:
            status, _, _ = run([damage] + (["--maildir"] if kind == "maildir" else []) +
                               ["--seed", str(seed), "--op", op, str(store), str(damaged), str(manifest)])
        if status != 0:
            return []  # no damage of that kind applies to this store
        failures = []
        for to in formats:
            out = here / ("out-" + to)
            # A signal (a negative status) is a failure like exit 8 and up.
            status, report, err = run([tool, "repair", "-q", "--json", "-", "--to", to, "-o", str(out), str(damaged)])
            if not 0 <= status < 8:
                if status != 8 or "not a mail store" not in err:
                    failures.append((to, "repair exit %d: %s" % (status, err.strip()[:300])))
                continue
            status, vout, err = run([tool, "verify", "--no-hash", "--json", "-", str(out), "--against", str(damaged)])
            if not 0 <= status < 8:
                failures.append((to, "verify exit %d: %s" % (status, err.strip()[:300])))
                continue
            try:
                written = json.loads(report)["stores"][0]["output"]["messages_written"]
                store_log = json.loads(vout)["stores"][0]
            except (ValueError, KeyError, IndexError) as e:
                failures.append((to, "report unreadable: %s" % e))
                continue
            problems = ["%s %s %s" % (p["code"], p["file"], p["detail"][:120]) for p in store_log["problems"]
                        if p["severity"] != "info" and not allowed(kind, p)]
            # A message the repair report names as written without part of
            # it (lost[]) differs from its damaged original by that part.
            partly_lost = {"message %d " % item["message"] for item in json.loads(report)["stores"][0]["lost"]
                           if item.get("message") is not None}
            differences = [d for d in json.loads(vout).get("differences", [])
                           if not any(d.split(": ", 1)[-1].startswith(n) for n in partly_lost)]
            if problems:
                failures.append((to, "; ".join(problems[:5])))
            elif differences:
                failures.append((to, "%d of the damaged store's messages missing or changed: %s" %
                                 (len(differences), "; ".join(differences[:3]))))
            elif store_log["messages"]["found"] != written:
                failures.append((to, "verify found %d messages, repair wrote %d" %
                                 (store_log["messages"]["found"], written)))
        return failures
    finally:
        shutil.rmtree(here, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build", help="build directory with cli/mailfsck and tests/mailfsck-damage")
    ap.add_argument("--seeds", type=seeds_arg, default=seeds_arg("2,3"))
    ap.add_argument("--max-size", type=size_arg, default=size_arg("8M"))
    ap.add_argument("--formats", default="pst,mbox,maildir,eml")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--ops", help="only these damage kinds (comma-separated), where they apply")
    ap.add_argument("--directory", action="append", default=[], help="a directory of mail files, as one store")
    ap.add_argument("stores", nargs="*")
    a = ap.parse_args()
    tool = str(Path(a.build, "cli", "mailfsck").resolve())
    damage = str(Path(a.build, "tests", "mailfsck-damage").resolve())
    formats = a.formats.split(",")
    stores = stores_under(a.stores, a.max_size) + [(Path(d), "directory") for d in a.directory]
    if not stores:
        sys.exit("damage_campaign: no PST, mbox or Maildir store among " + " ".join(a.stores))
    ops = {"pst": PST_OPS, "mbox": MBOX_OPS, "maildir": MAILDIR_OPS, "directory": MBOX_OPS}
    only = set(a.ops.split(",")) if a.ops else None
    jobs = [(s, k, op, seed) for s, k in stores for op in ops[k] if only is None or op in only for seed in a.seeds]
    stores_kind = dict(stores)
    work = tempfile.mkdtemp(prefix="mailfsck-campaign-")
    failed = 0
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as pool:
            futures = {pool.submit(case, tool, damage, s, k, op, seed, formats, work): (s, op, seed)
                       for s, k, op, seed in jobs}
            for f in concurrent.futures.as_completed(futures):
                store, op, seed = futures[f]
                for to, why in f.result():
                    failed += 1
                    print("FAIL %s --op %s --seed %d --to %s: %s" % (store, op, seed, to, why))
                    victim = "(a file random.Random('%d:%s') picks) " % (seed, op) if stores_kind[store] == "directory" else ""
                    print("    to reproduce: mailfsck-damage%s --seed %d --op %s %s'%s' D m.json && "
                          "mailfsck repair --to %s -o OUT D && mailfsck verify OUT --against D" %
                          (" --maildir" if stores_kind[store] == "maildir" else "", seed, op, victim, store, to))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("damage campaign: %d stores, %d damaged copies x %d formats, %d failures" %
          (len(stores), len(jobs), len(formats), failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
