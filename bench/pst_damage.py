#!/usr/bin/env python3
"""The PST damage suite: how much each tool gets out of a damaged store.

For each corpus PST/OST and each damage case (made by mailfsck-damage), runs
`mailfsck repair --to eml`, `readpst -e -D` and `pffexport -m all` on the
damaged copy and counts the messages each gets out byte for byte as the same
tool gets them out of the undamaged file (a multiset of content hashes per
tool: a message moved to another folder still counts, an altered one does
not).

The upper bound of a case is the number of the undamaged file's messages
none of whose blocks the damage touched. A message's blocks are found here,
not by mailfsck: libpff's B-trees (tests/oracle/pff_nodes) place every block,
and this script follows the data trees (XBLOCK, XXBLOCK) and subnode trees
(SLBLOCK, SIBLOCK) itself from [MS-PST] 2.2.2.8.3. The messages are those
mailfsck exports from the undamaged file (its index.jsonl names each one's
node).

Prints, per case and in total: each tool's count, the bound, mailfsck's rate
against the bound, whether mailfsck's output rescans clean, and how many of
its messages are neither the undamaged file's nor marked partial (a stale or
deleted message presented as live, or a silently altered one; the target is
zero). Exit status 1 when a target is missed on any case: mailfsck losing
more of its own undamaged export than a peer loses of the peer's own (the
tools do not export the same items: pffexport writes folder-associated
items too, and no HTML body when there is a plain one, so a damaged HTML
body costs it nothing), mailfsck below the bound, an output that does not
rescan clean, or an unexplained message.

usage: pst_damage.py [--build DIR] [--seeds N] [--work DIR] [--json FILE] [--ops OP,...] [PST...]
"""
import argparse
import collections
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "corpus", "pst")
DEFAULT_FILES = [
    "npm_pst-extractor/enron.pst",                                     # Unicode, permute
    "simiden_pst2john/2003_no-encryption_quickquick.pst",              # Unicode, none
    "simiden_pst2john/2003_outlook-high-encryption_cheechNchong.pst",  # Unicode, cyclic
    "aspose-email_Aspose.Email-for-.NET/Outlook.pst",                  # Unicode, by Aspose
    "simiden_pst2john/2k_outlook_qwerty1234.pst",                      # ANSI
    "aspose-email_Aspose.Email-for-.NET/SampleOstFile.ost",            # OST
]
# (op, how many seeds: None = the --seeds value, 1 = a fixed structure)
CASES = [
    ("zero-page", None), ("zero-sector", None), ("bitflip", None), ("random-run", None),
    ("truncate", None), ("pst-zero-header", 1), ("pst-zero-nbt-root", 1), ("pst-zero-bbt-root", 1),
    ("pst-zero-nbt-leaf", None), ("pst-zero-bbt-leaf", None),
    ("pst-header-crc", 1), ("pst-amap-bit", 1), ("pst-zero-amap", 1),
    ("zero-tail", None), ("misplaced-sector", None), ("repeated-run", None), ("dropped-run", None),
    ("odd-run", None),
]
TIMEOUT = 600
READPST_BOUNDARY = re.compile(rb"LibPST-iamunique-\d+")
ITEM_DIR = re.compile(r"^[A-Z][A-Za-z ]*\d{5}$")  # pffexport's Message00001, Contact00002, ...


# ---------------------------------------------------------------- block map

class Geometry:
    def __init__(self, data):
        wver = struct.unpack_from("<H", data, 10)[0]
        if wver in (14, 15):
            self.wide, self.trailer, self.align = False, 12, 64
        elif wver == 23:
            self.wide, self.trailer, self.align = True, 16, 64
        elif wver == 36:
            self.wide, self.trailer, self.align = True, 24, 512
        else:
            raise ValueError("not a PST/OST (wVer %d)" % wver)

    def span(self, cb):
        return (cb + self.trailer + self.align - 1) // self.align * self.align


def block_map(path, pff_nodes):
    """{message nid: [(offset, length), ...]} for every normal message node of
    the undamaged file: its data tree and its subnode trees, all levels."""
    with open(path, "rb") as f:
        data = f.read()
    g = Geometry(data)
    out = subprocess.run([pff_nodes, "--no-unallocated", path], capture_output=True, timeout=TIMEOUT)
    if out.returncode != 0:
        raise RuntimeError("pff_nodes failed on %s" % path)
    internal = json.loads(out.stdout)["internal"]
    # Not libpff's "deleted" entries: the stale slots past a leaf's count.
    bbt = {e["bid"] & ~1: (e["ib"], e["cb"]) for e in internal["bbt"]["entry_list"] if not e.get("deleted")}
    idw = 8 if g.wide else 4

    def raw(bid):
        ib, cb = bbt[bid]
        body = data[ib:ib + cb]
        if body[:1] not in (b"\x01", b"\x02"):
            try:
                body = zlib.decompress(body)  # 4K files may deflate any block
            except zlib.error:
                pass
        return body if len(body) >= 8 else b"\0" * 8

    def reach(bid, spans, depth=0):
        bid &= ~1
        if bid == 0 or bid not in bbt or depth > 8:
            return
        ib, cb = bbt[bid]
        spans.append((ib, g.span(cb)))
        if not bid & 2:
            return
        b = raw(bid)
        btype, level, count = b[0], b[1], struct.unpack_from("<H", b, 2)[0]
        if btype == 1:  # XBLOCK / XXBLOCK: rgbid after an 8-byte header
            for i in range(count):
                reach(int.from_bytes(b[8 + i * idw:8 + (i + 1) * idw], "little"), spans, depth + 1)
        elif btype == 2:
            head = 8 if g.wide else 4
            width = (3 if level == 0 else 2) * idw
            for i in range(count):
                at = head + i * width
                if level == 0:  # SLBLOCK: nid, bidData, bidSub
                    reach(int.from_bytes(b[at + idw:at + 2 * idw], "little"), spans, depth + 1)
                    reach(int.from_bytes(b[at + 2 * idw:at + 3 * idw], "little"), spans, depth + 1)
                else:  # SIBLOCK: nid, bid of an SLBLOCK
                    reach(int.from_bytes(b[at + idw:at + 2 * idw], "little"), spans, depth + 1)

    messages = {}
    for e in internal["nbt"]["entry_list"]:
        if e.get("deleted") or e["nid"] & 0x1F != 0x04:
            continue
        spans = []
        reach(e["bid_data"], spans)
        reach(e["bid_sub"], spans)
        messages[e["nid"]] = spans
    return messages


def touched(spans, damage):
    return any(s < e and a < s + n for (s, n) in spans for (a, e) in damage)


# ---------------------------------------------------------------- tool runs

def digest(paths):
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            h.update(f.read())
        h.update(b"\0")
    return h.hexdigest()


def run(cmd):
    try:
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=TIMEOUT)
        return p.returncode
    except subprocess.TimeoutExpired:
        return "timeout"


def mailfsck_items(mailfsck, pst, out):
    """(rc, [(hash, node, state)]): each message's .eml with its .vcf/.ics; the
    state of an intact message in Lost and Found is "quarantined"."""
    shutil.rmtree(out, ignore_errors=True)
    rc = run([mailfsck, "repair", pst, "-o", out, "--to", "eml", "-q"])
    items = []
    index = os.path.join(out, "index.jsonl")
    if os.path.exists(index):
        with open(index, encoding="utf-8") as f:
            for line in f:
                m = json.loads(line)
                eml = os.path.join(out, m["file"])
                parts = [eml] + [eml[:-3] + ext for ext in ("vcf", "ics") if os.path.exists(eml[:-3] + ext)]
                node = int(m["source"].split()[1]) if m.get("source", "").startswith("node ") else None
                quarantined = m["folder"] == "Lost and Found" or m["folder"].startswith("Lost and Found.")
                items.append((digest(parts), node, "quarantined" if quarantined and m["state"] == "intact" else m["state"]))
    return rc, items


def readpst_items(pst, out):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    rc = run(["readpst", "-j", "0", "-e", "-D", "-q", "-o", out, pst])
    items = []
    for f in sorted(os.path.join(d, f) for d, _, fs in os.walk(out) for f in fs):
        with open(f, "rb") as fh:
            # readpst draws each MIME boundary at random: not the content.
            items.append(hashlib.sha256(READPST_BOUNDARY.sub(b"LibPST-iamunique-N", fh.read())).hexdigest())
    return rc, items


def pffexport_items(pst, out):
    for suffix in (".export", ".orphans", ".recovered"):
        shutil.rmtree(out + suffix, ignore_errors=True)
    rc = run(["pffexport", "-q", "-m", "all", "-t", out, pst])
    items = []
    for suffix in (".export", ".orphans", ".recovered"):
        for d, dirs, _ in os.walk(out + suffix):
            for name in sorted(dirs):
                if not ITEM_DIR.match(name):
                    continue
                top = os.path.join(d, name)
                files = sorted(os.path.join(a, f) for a, _, fs in os.walk(top) for f in fs)
                h = hashlib.sha256()
                for f in files:
                    h.update(os.path.relpath(f, top).encode() + b"\0")
                h.update(digest(files).encode())
                items.append(h.hexdigest())
            dirs[:] = [x for x in dirs if not ITEM_DIR.match(x)]  # an item's attachments are part of it
    return rc, items


def same(baseline, damaged):
    """Messages of `damaged` that are byte for byte messages of `baseline`."""
    b, d = collections.Counter(baseline), collections.Counter(damaged)
    return sum(min(n, b[h]) for h, n in d.items())


def rescans_clean(mailfsck, out):
    messages = os.path.join(out, "messages")
    if not os.path.isdir(messages):
        return False
    return run([mailfsck, "scan", messages, "--format", "eml", "-q", "--no-hash"]) == 0


# ---------------------------------------------------------------- the suite

def damage_ranges(manifest, size):
    ranges = []
    for inj in manifest["damage"]:
        start = inj["original_offset"]
        end = size if inj["op"] == "truncate" else start + max(inj["original_length"], 1)
        ranges.append((start, end))
    return ranges


def suite(args):
    bindir = os.path.abspath(args.build)
    mailfsck = os.path.join(bindir, "cli", "mailfsck")
    damager = os.path.join(bindir, "tests", "mailfsck-damage")
    pff_nodes = os.path.join(bindir, "tests", "pff_nodes")
    for tool in (mailfsck, damager, pff_nodes):
        if not os.access(tool, os.X_OK):
            sys.exit("pst_damage.py: %s not built (cmake --build %s)" % (tool, args.build))
    for tool in ("readpst", "pffexport"):
        if shutil.which(tool) is None:
            sys.exit("pst_damage.py: %s not installed (scripts/setup.sh)" % tool)
    files = args.files or [os.path.join(SHARED, f) for f in DEFAULT_FILES]
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    rows, failures = [], []
    for pst in files:
        if not os.path.exists(pst):
            sys.exit("pst_damage.py: %s not found (the shared corpus lives at %s)" % (pst, SHARED))
        name = os.path.basename(pst)
        blocks = block_map(pst, pff_nodes)
        size = os.path.getsize(pst)
        base_rc, base_m = mailfsck_items(mailfsck, pst, os.path.join(work, "base-m"))
        _, base_r = readpst_items(pst, os.path.join(work, "base-r"))
        _, base_p = pffexport_items(pst, os.path.join(work, "base-p"))
        live = [(h, node) for h, node, _ in base_m]
        missing = [node for _, node in live if node not in blocks]
        if missing:
            sys.exit("pst_damage.py: %s: libpff's NBT lacks nodes %s that mailfsck exports" % (name, missing[:5]))
        print("%s: undamaged: mailfsck %d (exit %s), readpst %d, pffexport %d" %
              (name, len(base_m), base_rc, len(base_r), len(base_p)), flush=True)
        baseline = collections.Counter(h for h, _ in live)
        for op, seeds in CASES:
            if args.ops and op not in args.ops.split(","):
                continue
            for seed in range(1, (seeds or args.seeds) + 1):
                damaged = os.path.join(work, "damaged.pst")
                manifest_path = os.path.join(work, "manifest.json")
                if run([damager, "--seed", str(seed), "--op", op, pst, damaged, manifest_path]) != 0:
                    sys.exit("pst_damage.py: mailfsck-damage failed: %s %s seed %d" % (name, op, seed))
                with open(manifest_path) as f:
                    manifest = json.load(f)
                if not manifest["damage"]:
                    continue
                ranges = damage_ranges(manifest, size)
                bound = [(h, node) for h, node in live if not touched(blocks[node], ranges)]
                bound_hashes = [h for h, _ in bound]
                out_m = os.path.join(work, "case-m")
                rc_m, got_m = mailfsck_items(mailfsck, damaged, out_m)
                rc_r, got_r = readpst_items(damaged, os.path.join(work, "case-r"))
                rc_p, got_p = pffexport_items(damaged, os.path.join(work, "case-p"))
                hashes_m = [h for h, _, _ in got_m]
                row = {
                    "file": name, "op": op, "seed": seed,
                    "at": ["%d+%d" % (a, e - a) for a, e in ranges],
                    "bound": len(bound_hashes),
                    "mailfsck": same(baseline, hashes_m),
                    "mailfsck_of_bound": same(bound_hashes, hashes_m),
                    "readpst": same(base_r, got_r),
                    "pffexport": same(base_p, got_p),
                    "mailfsck_exit": rc_m, "readpst_exit": rc_r, "pffexport_exit": rc_p,
                    "rescan_clean": rescans_clean(mailfsck, out_m),
                    # Neither a message of the undamaged file, nor marked partial,
                    # nor in Lost and Found (which presents nothing as live).
                    "unexplained": sum(1 for h, _, state in got_m if h not in baseline and state == "intact"),
                    "quarantined_other": sum(1 for h, _, state in got_m if h not in baseline and state == "quarantined"),
                    "partial": sum(1 for _, _, state in got_m if state == "partial"),
                }
                left = collections.Counter(hashes_m)
                row["missed_nodes"] = []
                for h, node in bound:
                    if left[h] > 0:
                        left[h] -= 1
                    else:
                        row["missed_nodes"].append(node)
                why = []
                # Each tool against its own undamaged export: the tools do not
                # export the same items (pffexport writes folder-associated
                # items too, readpst skips some), so what is compared is how
                # many of its own messages each loses.
                lost = {t: n - row[t] for t, n in
                        (("mailfsck", len(base_m)), ("readpst", len(base_r)), ("pffexport", len(base_p)))}
                row["lost"] = lost
                if lost["mailfsck"] > lost["readpst"]:
                    why.append("loses more than readpst")
                if lost["mailfsck"] > lost["pffexport"]:
                    why.append("loses more than pffexport")
                if row["mailfsck_of_bound"] < row["bound"]:
                    why.append("below the bound (nodes %s)" % ", ".join(map(str, row["missed_nodes"][:5])))
                if not row["rescan_clean"]:
                    why.append("output does not rescan clean")
                if row["unexplained"]:
                    why.append("%d unexplained message(s)" % row["unexplained"])
                if not isinstance(rc_m, int) or rc_m >= 8:
                    why.append("mailfsck exit %s" % rc_m)
                row["missed"] = why
                if why:
                    failures.append(row)
                rows.append(row)
                print("  %-18s seed %-2d bound %4d  mailfsck %4d (%4d of bound, %3d partial)  readpst %4d  "
                      "pffexport %4d  %s" % (op, seed, row["bound"], row["mailfsck"], row["mailfsck_of_bound"],
                                             row["partial"], row["readpst"], row["pffexport"],
                                             "; ".join(why) or "ok"), flush=True)
    total = {k: sum(r[k] for r in rows) for k in ("bound", "mailfsck", "mailfsck_of_bound", "readpst", "pffexport")}
    rate = total["mailfsck_of_bound"] / total["bound"] if total["bound"] else 1.0
    print("total: %d cases; bound %d; mailfsck %d (%d of bound, %.1f%%); readpst %d; pffexport %d; %d case(s) "
          "missing a target" % (len(rows), total["bound"], total["mailfsck"], total["mailfsck_of_bound"],
                                100 * rate, total["readpst"], total["pffexport"], len(failures)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cases": rows, "total": total, "rate": rate}, f, indent=1)
    return 1 if failures else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--seeds", type=int, default=3, help="seeds of each randomly placed damage")
    p.add_argument("--work", default=os.path.join(ROOT, "build", "pst-damage"))
    p.add_argument("--json", help="write every case's figures here")
    p.add_argument("--ops", help="only these damage kinds (comma-separated)")
    p.add_argument("files", nargs="*")
    sys.exit(suite(p.parse_args()))


if __name__ == "__main__":
    main()
