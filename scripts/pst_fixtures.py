#!/usr/bin/env python3
"""Small Unicode PST files built from [MS-PST] alone, for reproducers and
fuzz seeds that must not be copies of the shared corpus.

    python3 scripts/pst_fixtures.py OUT_DIR

writes every fixture below into OUT_DIR. Layout: the header (2.2.2.6), then
blocks from 0x4400 (2.2.2.8, 64-byte aligned with a 16-byte trailer), then
one BBT and one NBT leaf page (2.2.2.7.7, 512 bytes). fAMapValid is 0, so
no allocation map is needed (2.6.1.3.7).
"""
import struct
import sys
import zlib
from pathlib import Path


def crc(data: bytes) -> int:
    # [MS-PST] 5.3: CRC-32, initial value 0, no final xor; zlib's crc32
    # applies both inversions, so undo them.
    return zlib.crc32(data, 0xFFFFFFFF) ^ 0xFFFFFFFF


def sig(ib: int, bid: int) -> int:
    v = (ib ^ bid) & 0xFFFFFFFF
    return (v >> 16) ^ (v & 0xFFFF)


def block(ib: int, bid: int, data: bytes) -> bytes:
    size = (len(data) + 16 + 63) // 64 * 64
    body = data + b"\0" * (size - 16 - len(data))
    return body + struct.pack("<HHIQ", len(data), sig(ib, bid), crc(data), bid)


def leaf_page(ib: int, bid: int, ptype: int, entries: list, entry_size: int) -> bytes:
    body = b"".join(entries).ljust(488, b"\0")
    body += struct.pack("<BBBBI", len(entries), 488 // entry_size, entry_size, 0, 0)
    return body + struct.pack("<BBHIQ", ptype, ptype, sig(ib, bid), crc(body), bid)


def header(eof: int, nbt: tuple, bbt: tuple, next_b: int, next_p: int) -> bytes:
    h = bytearray(564)
    h[0:4] = b"!BDN"
    struct.pack_into("<HHHBB", h, 8, 0x4D53, 23, 19, 1, 1)
    struct.pack_into("<QI", h, 32, next_p, 1)
    for t in range(32):
        struct.pack_into("<I", h, 44 + 4 * t, 0x400)
    struct.pack_into("<QQQQ", h, 184, eof, 0x4400, 0, 0)
    struct.pack_into("<QQQQ", h, 216, nbt[0], nbt[1], bbt[0], bbt[1])
    h[248] = 0  # fAMapValid: maps not to be read
    h[256:512] = b"\xff" * 256
    h[512] = 0x80
    h[513] = 0  # no encryption
    struct.pack_into("<Q", h, 516, next_b)
    struct.pack_into("<I", h, 4, crc(bytes(h[8:8 + 471])))
    struct.pack_into("<I", h, 524, crc(bytes(h[8:8 + 516])))
    return bytes(h).ljust(0x4400, b"\0")


def store(blocks: list, bbt_entries: list, nodes: list) -> bytes:
    """blocks: (bid, data) placed from 0x4400; bbt_entries: (bid, ib, cb,
    cref), where ib None means the block's own place; nodes: (nid,
    bid_data, bid_sub, parent)."""
    out = bytearray()
    at = 0x4400
    placed = {}
    for bid, data in blocks:
        b = block(at, bid, data)
        placed[bid] = (at, len(data))
        out += b
        at += len(b)
    at = (at + 511) // 512 * 512
    out = out.ljust(at - 0x4400, b"\0")
    bbt_ib, nbt_ib = at, at + 512
    entries = []
    for bid, ib, cb, cref in sorted(bbt_entries):
        ib = placed[bid][0] if ib is None else ib
        cb = placed[bid][1] if cb is None else cb
        entries.append(struct.pack("<QQHHI", bid, ib, cb, cref, 0))
    out += leaf_page(bbt_ib, 0x100, 0x80, entries, 24)
    nbt = [struct.pack("<QQQII", nid, d, s, p, 0) for nid, d, s, p in sorted(nodes)]
    out += leaf_page(nbt_ib, 0x104, 0x81, nbt, 32)
    eof = 0x4400 + len(out)
    return header(eof, (0x104, nbt_ib), (0x100, bbt_ib), 0x1000, 0x108) + bytes(out)


def xblock_child_past_end() -> bytes:
    # An XBLOCK (2.2.2.8.3.1: btype 1, cLevel 1, cEnt, lcbTotal, bids) whose
    # first, short child the BBT places far past the end of the file.
    children = [0x8, 0xC]
    xblock = struct.pack("<BBHI", 1, 1, len(children), 200) + b"".join(struct.pack("<Q", c) for c in children)
    return store(
        blocks=[(0x6, xblock), (0xC, b"x" * 100)],
        bbt_entries=[(0x6, None, None, 2), (0x8, 0x7000000000000000, 100, 2), (0xC, None, None, 2)],
        nodes=[(0x21, 0x6, 0, 0)],
    )


FIXTURES = {"pst-xblock-child-past-end.pst": xblock_child_past_end}

if __name__ == "__main__":
    out_dir = Path(sys.argv[1])
    for name, make in FIXTURES.items():
        (out_dir / name).write_bytes(make())
