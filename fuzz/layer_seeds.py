#!/usr/bin/env python3
"""Seeds for the PST layer fuzz targets, cut at run time from PST files read
in place (the shared corpus is never copied into the project).

    python3 fuzz/layer_seeds.py OUT_DIR PST...

writes OUT_DIR/<target>/<n>: headers (fuzz_pst_header), B-tree root pages
(fuzz_pst_btree), blocks of the first BBT leaf (fuzz_pst_block), the data
blocks of unencrypted files as heaps (fuzz_pst_ltp), and RTF bodies built
here (fuzz_pst_rtf). A layer target's first input byte picks the format
(byte % 3: ANSI, Unicode, 4K; fuzz_pst_btree: bit 0x80 for the NBT).
Offsets: [MS-PST] 2.2.2.6 (header), 2.2.2.7.7 (BTPAGE), 2.2.2.8 (blocks).
"""
import struct
import sys
import zlib
from pathlib import Path

# wVer -> (format byte, page size, id size, root ib offsets (NBT, BBT), crypt offset, trailer, align)
FORMATS = {14: (0, 512, 4, (188, 196), 461, 12, 64), 15: (0, 512, 4, (188, 196), 461, 12, 64),
           23: (1, 512, 8, (224, 240), 513, 16, 64), 36: (2, 4096, 8, (224, 240), 513, 24, 512)}


def leaf_blocks(data, page, ids, root):
    """(bid, ib, cb) of the root page's entries when it is a leaf."""
    meta = 4056 if page == 4096 else (488 if ids == 8 else 496)
    count_size = 2 if page == 4096 else 1
    at = root
    if at + page > len(data):
        return []
    entries = int.from_bytes(data[at + meta:at + meta + count_size], "little")
    entry_size = data[at + meta + 2 * count_size]
    level = data[at + meta + 2 * count_size + 1]
    if level != 0 or entry_size == 0:
        return []
    out = []
    for i in range(min(entries, meta // entry_size)):
        e = at + i * entry_size
        bid = int.from_bytes(data[e:e + ids], "little")
        ib = int.from_bytes(data[e + ids:e + 2 * ids], "little")
        cb = int.from_bytes(data[e + 2 * ids:e + 2 * ids + 2], "little")
        out.append((bid, ib, cb))
    return out


def heaps(data, align, first):
    """Heaps of an unencrypted file ([MS-PST] 2.3.1.2: ibHnpm, then bSig 0xEC
    and a client signature), each up to its page map and a little more."""
    out = []
    for at in range(0, len(data) - 4, align):
        if data[at + 2] == 0xEC and data[at + 3] in (0x6C, 0x7C, 0x8C, 0x9C, 0xA5, 0xAC, 0xB5, 0xBC, 0xCC):
            end = int.from_bytes(data[at:at + 2], "little") + 64
            if 12 < end <= 8192:
                out.append(bytes([first]) + data[at:at + end])
        if len(out) >= 40:
            break
    return out


def rtf_seeds():
    text = b"{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n"
    mela = struct.pack("<IIII", len(text) + 12, len(text), 0x414C454D, 0) + text
    # LZFu with literal runs only: a control byte of 0 before every 8 bytes.
    body = b"".join(b"\x00" + text[i:i + 8] for i in range(0, len(text), 8))
    crc = zlib.crc32(body, 0xFFFFFFFF) ^ 0xFFFFFFFF
    lzfu = struct.pack("<IIII", len(body) + 12, len(text), 0x75465A4C, crc) + body
    return [mela, lzfu]


def main():
    out = Path(sys.argv[1])
    seeds = {t: [] for t in ("fuzz_pst_header", "fuzz_pst_btree", "fuzz_pst_block", "fuzz_pst_ltp", "fuzz_pst_rtf")}
    seeds["fuzz_pst_rtf"] = rtf_seeds()
    for name in sys.argv[2:]:
        data = Path(name).read_bytes()
        if len(data) < 4096 or data[:4] != b"!BDN":
            continue
        wver = struct.unpack_from("<H", data, 10)[0]
        if wver not in FORMATS:
            continue
        fmt, page, ids, roots, crypt_at, trailer, align = FORMATS[wver]
        seeds["fuzz_pst_header"].append(data[:4096])
        for tree, root_at in zip((0x80, 0x00), roots):
            root = int.from_bytes(data[root_at:root_at + ids], "little")
            if root + page <= len(data):
                # A byte whose remainder by 3 is the format and whose top bit picks the tree.
                seeds["fuzz_pst_btree"].append(bytes([tree + fmt]) + data[root:root + page])
        bbt_root = int.from_bytes(data[roots[1]:roots[1] + ids], "little")
        for bid, ib, cb in leaf_blocks(data, page, ids, bbt_root)[:24]:
            size = (cb + trailer + align - 1) // align * align
            if ib + size > len(data):
                continue
            seeds["fuzz_pst_block"].append(bytes([fmt]) + data[ib:ib + size])
        if data[crypt_at] == 0:
            seeds["fuzz_pst_ltp"] += heaps(data, align, 0x08 if ids == 4 else 0x00)
    for target, items in seeds.items():
        (out / target).mkdir(parents=True, exist_ok=True)
        for i, item in enumerate(items):
            (out / target / str(i)).write_bytes(item)
        print("%s: %d seeds" % (target, len(items)))


if __name__ == "__main__":
    main()
