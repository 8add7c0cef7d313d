#!/usr/bin/env python3
"""Independent oracle: the HEADER of a PST/OST file ([MS-PST] 2.2.2.6), as JSON.

Usage: pst_header.py [--pages] FILE [FILE...]

This script is an INDEPENDENT ORACLE for mailfsck's PST/OST header checks.
It was written from public format descriptions only ([MS-PST], Microsoft's
Outlook Personal Folders (.pst) File Format specification, and libyal's
"Personal Folder File (PFF) format" document), not from mailfsck's C++ code
nor from libpff.  Python 3.11, standard library only.  Files are only read.

One FILE prints one JSON object; several print a JSON array of objects.
Exit status: 0 when every file's header was parsed (whatever its checks say),
1 when a file could not be read, is shorter than its header, or does not
start with "!BDN" (the JSON then has an "error" member), 2 on usage errors.

Header layouts ([MS-PST] 2.2.2.6, HEADER; offsets in bytes)
-----------------------------------------------------------
Common:  0 dwMagic "!BDN" | 4 dwCRCPartial | 8 wMagicClient ("SM" PST,
         "SO" OST, "AB" PAB) | 10 wVer | 12 wVerClient | 14 bPlatformCreate
         | 15 bPlatformAccess | 16 dwReserved1 | 20 dwReserved2
ANSI (wVer 14, 15), 512 bytes:
         24 bidNextB (4) | 28 bidNextP (4) | 32 dwUnique | 36 rgnid[32]
         | 164 ROOT (40 bytes) | 204 rgbFM[128] | 332 rgbFP[128]
         | 460 bSentinel 0x80 | 461 bCryptMethod | 462 rgbReserved (2)
         | 464 ullReserved (8) | 472 dwReserved (4) | 476 rgbReserved2 (3)
         | 479 bReserved | 480 rgbReserved3 (32)
Unicode (wVer 23, and 36 -- see below), 564 bytes:
         24 bidUnused (8) | 32 bidNextP (8) | 40 dwUnique | 44 rgnid[32]
         | 172 qwUnused (8) | 180 ROOT (72 bytes) | 252 dwAlign
         | 256 rgbFM[128] | 384 rgbFP[128] | 512 bSentinel 0x80
         | 513 bCryptMethod | 514 rgbReserved (2) | 516 bidNextB (8)
         | 524 dwCRCFull | 528 rgbReserved2 (3) | 531 bReserved
         | 532 rgbReserved3 (32)
ROOT ([MS-PST] 2.2.2.5), ANSI / Unicode sizes:
         dwReserved (4) | ibFileEof (4/8) | ibAMapLast (4/8)
         | cbAMapFree (4/8) | cbPMapFree (4/8) | BREFNBT (8/16: bid, ib)
         | BREFBBT (8/16) | fAMapValid (1) | bReserved (1) | wReserved (2)
BREF ([MS-PST] 2.2.2.4) is bid then ib.  bCryptMethod: 0 NDB_CRYPT_NONE,
1 NDB_CRYPT_PERMUTE, 2 NDB_CRYPT_CYCLIC (and 0x10 NDB_CRYPT_EDPCRYPTED in
newer [MS-PST] revisions).  fAMapValid: 0 INVALID_AMAP, 1 VALID_AMAP1,
2 VALID_AMAP2.

CRCs ([MS-PST] 5.3)
-------------------
The CRC is CRC-32 with the reflected polynomial 0xEDB88320, table driven,
starting from the value passed in (0 for all of these) and WITHOUT the final
inversion (so it is not zlib.crc32: crc(x) == zlib.crc32(x, 0xFFFFFFFF) ^
0xFFFFFFFF).
* dwCRCPartial covers the 471 bytes starting at wMagicClient: [8, 479).
  In ANSI files that is wMagicClient .. rgbReserved2; in Unicode files it
  stops inside rgbFP (offsets 384..478 of it are the first 95 bytes).
* dwCRCFull (Unicode only) covers the 516 bytes from wMagicClient through
  bidNextB: [8, 524).
* Page trailers ([MS-PST] 2.2.2.7.1 PAGETRAILER), checked with --pages:
  dwCRC covers the page bytes before the trailer: ANSI [0, 500), Unicode
  [0, 496), 4k pages [0, 4072).  Block trailers ([MS-PST] 2.2.2.8.1) cover
  the cb data bytes only (not checked here).
* wSig of a B-tree page ([MS-PST] 5.5): ib ^= bid; wSig = (ib >> 16 ^ ib)
  & 0xFFFF, computed on the page's own ib and bid; AMap/PMap/FMap/FPMap/
  density-list pages have wSig 0.

wVer values
-----------
[MS-PST] 2.2.2.6 (current revisions) says wVer MUST be 14 or 15 for ANSI and
MUST be greater than 23 for Unicode, and that 37 marks a file written by an
Outlook that supports Windows Information Protection (data MAY be WIP
protected); older revisions said "MUST be 23".  Other values seen: 21 (64-bit
files written by some recovery tools, libpff docs) and 36, the 4k-page
format (below).  Here: 14/15 -> "ansi", 23 -> "unicode", 36 -> "unicode_4k",
37 -> "unicode_wip" (Unicode header layout, page size unknown: no sample);
anything else is parsed with the ANSI layout if wVer < 23, else the Unicode
one, and "wVer_known" is false.

The 4k-page format, wVer 36 (Outlook 2013 and later OST files)
---------------------------------------------------------------
[MS-PST] does not describe it.  Sources: libyal libpff documentation
"Personal Folder File (PFF) format" (sections "Format types", "The 64-bit 4k
page", "The 64-bit 4k page index b-tree node", "The 64-bit 4k page
allocation table", "Allocation table types", "The 64-bit 4k page block",
"64-bit 4k page table value reference"; revisions 0.0.42-0.0.46, 2013);
libpff 20180714 source (libpff_io_handle.c, libpff_index_node.c,
libpff_data_block.c, libpff_allocation_table.c, libpff_compression.c);
java-libpst (PSTFile.PST_TYPE_2013_UNICODE = 36, PSTNodeInputStream
zlib detection); and measurements on the corpus file
npm_pst-extractor/pstextractortest@outlook.com.ost (wVer 36, wVerClient 12,
bCryptMethod 0), which confirmed every point below.
* HEADER: identical to the Unicode layout, same CRC ranges (both CRCs
  match).  rgbFM/rgbFP are zero there, not 0xFF.
* Pages are 4096 bytes, 4096-aligned.  PAGETRAILER at 4072: ptype,
  ptypeRepeat, wSig, dwCRC (over [0, 4072)), bid (8); then 8 more bytes
  (unknown; 01 00 .. seen).  BTPAGE: rgentries [0, 4056), cEnt (2 bytes) at
  4056, cEntMax (2) at 4058, cbEnt (1) at 4060, cLevel (1) at 4061, 10
  bytes padding.  Entry sizes as in Unicode: NBTENTRY 32, BBTENTRY 24,
  BTENTRY 24 (cEntMax 126 for NBT leaves, 169 for 24-byte entries).
* BBTENTRY (24 bytes): BREF (bid 8, ib 8), cb (2) = stored (compressed)
  size, cbInflated (2) = size after decompression (== cb when the block is
  not compressed), cRef (2, at offset 20), 2 more bytes (0, except 1 on the
  9 entries whose cbInflated is 65512; meaning unknown).  libpff 20180714
  and the libpff docs miss cbInflated and read it as cRef.
* Blocks are aligned to 512 bytes and their size rounds cb + 24 up to a
  multiple of 512; the largest seen is 64 KiB (cb 65512 + 24), and
  cbInflated reaches 65512 too (libpff assumes a 65536 maximum).
  BLOCKTRAILER is 24 bytes: cb (2), wSig (2), dwCRC (4, over the cb stored
  bytes, i.e. the compressed data), bid (8), then 2 bytes (always 2 here),
  cbInflated (2, same as in the BBT entry), 4 zero bytes.
* Compression: a block is compressed iff cbInflated != cb (libpff tests the
  trailer's field the same way).  The data is a zlib stream (RFC 1950:
  header 78 9C, deflate, Adler-32; libpff calls zlib's uncompress(), and
  java-libpst sniffs the 78 9C bytes); the inflated length equals
  cbInflated, and cbInflated < cb never occurs.  In the sample 888 of 1469
  blocks are compressed: 887 of the 1168 external (data) blocks and 1 of
  the 301 internal ones (an SLBLOCK), so the block type is read after
  inflating.  How compression combines with bCryptMethod != 0 is not known
  (no sample).
* AMap: the first at 0x22000 (not 0x4400); the density list at 0x21000.
  Each AMap bit maps 512 bytes (not 64), MSB first, and an AMap covers
  4072 * 8 * 512 = 16678912 bytes starting at its own offset; in the sample
  ibAMapLast = 0x22000, ibFileEof = 0x22000 + 16678912, every BBT block and
  B-tree page lies on set bits only with 512-byte bits, and cbAMapFree =
  (clear bits) * 512.  No PMap (0x83) pages were seen (cbPMapFree is 0).
  libpff 20180714 steps AMaps by 4072*8*512 but reads each bit as 64 bytes,
  so its unallocated-range list is wrong for 4k files.
* Table (HN/TC) value references use 14 bits of index and 13 of block
  index in 4k files (libpff docs, "64-bit 4k page table value reference").

Output
------
Field names follow [MS-PST].  Integers are JSON numbers; "magic"-like
fields also get a text form.  "checks" collects booleans: magic_ok,
crc_partial_ok, crc_full_ok (null for ANSI), sentinel_ok, platform_ok,
crypt_known, amap_valid, eof_matches_size (ROOT.ibFileEof == size on disk).
With --pages the root pages of the NBT and BBT and the AMap at ibAMapLast
are read and their trailers checked (ptype, ptypeRepeat, dwCRC, bid == the
BREF's bid for B-tree roots, wSig) under "pages".
"""

import json
import os
import struct
import sys

MAGIC = b"!BDN"


def _make_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _make_table()


def ms_pst_crc(data, crc=0):
    """[MS-PST] 5.3 ComputeCRC: no initial or final inversion."""
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def _u8(d, o):
    return d[o]


def _u16(d, o):
    return struct.unpack_from("<H", d, o)[0]


def _u32(d, o):
    return struct.unpack_from("<I", d, o)[0]


def _u64(d, o):
    return struct.unpack_from("<Q", d, o)[0]


CLIENTS = {b"SM": "pst", b"SO": "ost", b"AB": "pab"}
CRYPT = {0x00: "NDB_CRYPT_NONE", 0x01: "NDB_CRYPT_PERMUTE", 0x02: "NDB_CRYPT_CYCLIC", 0x10: "NDB_CRYPT_EDPCRYPTED"}
AMAP_VALID = {0x00: "INVALID_AMAP", 0x01: "VALID_AMAP1", 0x02: "VALID_AMAP2"}
PTYPES = {0x80: "ptypeBBT", 0x81: "ptypeNBT", 0x82: "ptypeFMap", 0x83: "ptypePMap", 0x84: "ptypeAMap",
          0x85: "ptypeFPMap", 0x86: "ptypeDL"}
FORMATS = {14: "ansi", 15: "ansi", 23: "unicode", 36: "unicode_4k", 37: "unicode_wip"}
ANSI_HEADER_SIZE = 512
UNICODE_HEADER_SIZE = 564


def _bytes_summary(b):
    """Short description of a reserved/deprecated byte run."""
    if all(x == 0 for x in b):
        return "zero"
    if all(x == 0xFF for x in b):
        return "ff"
    return b.hex()


def _root(d, o, wide):
    """ROOT ([MS-PST] 2.2.2.5) at offset o; wide = Unicode (8-byte IB/BID)."""
    if wide:
        f = {
            "dwReserved": _u32(d, o),
            "ibFileEof": _u64(d, o + 4),
            "ibAMapLast": _u64(d, o + 12),
            "cbAMapFree": _u64(d, o + 20),
            "cbPMapFree": _u64(d, o + 28),
            "BREFNBT": {"bid": _u64(d, o + 36), "ib": _u64(d, o + 44)},
            "BREFBBT": {"bid": _u64(d, o + 52), "ib": _u64(d, o + 60)},
            "fAMapValid": _u8(d, o + 68),
            "bReserved": _u8(d, o + 69),
            "wReserved": _u16(d, o + 70),
        }
    else:
        f = {
            "dwReserved": _u32(d, o),
            "ibFileEof": _u32(d, o + 4),
            "ibAMapLast": _u32(d, o + 8),
            "cbAMapFree": _u32(d, o + 12),
            "cbPMapFree": _u32(d, o + 16),
            "BREFNBT": {"bid": _u32(d, o + 20), "ib": _u32(d, o + 24)},
            "BREFBBT": {"bid": _u32(d, o + 28), "ib": _u32(d, o + 32)},
            "fAMapValid": _u8(d, o + 36),
            "bReserved": _u8(d, o + 37),
            "wReserved": _u16(d, o + 38),
        }
    f["fAMapValid_name"] = AMAP_VALID.get(f["fAMapValid"], "unknown")
    return f


def parse_header(d, file_size):
    """Parses header bytes d (at least 24 bytes). Returns a dict."""
    out = {}
    out["dwMagic"] = d[0:4].decode("latin-1")
    w_ver = _u16(d, 10)
    client = d[8:10]
    fmt = FORMATS.get(w_ver)
    wide = w_ver >= 23 if fmt is None else fmt != "ansi"
    need = UNICODE_HEADER_SIZE if wide else ANSI_HEADER_SIZE
    out["format"] = fmt if fmt is not None else ("unicode?" if wide else "ansi?")
    out["wVer_known"] = fmt is not None
    out["layout"] = "unicode" if wide else "ansi"
    out["page_size"] = {"ansi": 512, "unicode": 512, "unicode_4k": 4096}.get(fmt)
    if len(d) < need:
        out["error"] = "file is shorter than the %s header (%d < %d bytes)" % (out["layout"], len(d), need)
        return out

    crc_partial_stored = _u32(d, 4)
    crc_partial = ms_pst_crc(d[8:8 + 471])
    out["dwCRCPartial"] = crc_partial_stored
    out["dwCRCPartial_computed"] = crc_partial
    out["dwCRCPartial_range"] = [8, 8 + 471]
    out["wMagicClient"] = client.decode("latin-1")
    out["client"] = CLIENTS.get(client, "unknown")
    out["wVer"] = w_ver
    out["wVerClient"] = _u16(d, 12)
    out["bPlatformCreate"] = _u8(d, 14)
    out["bPlatformAccess"] = _u8(d, 15)
    out["dwReserved1"] = _u32(d, 16)
    out["dwReserved2"] = _u32(d, 20)
    if wide:
        out["bidUnused"] = _u64(d, 24)
        out["bidNextP"] = _u64(d, 32)
        out["dwUnique"] = _u32(d, 40)
        out["rgnid"] = [_u32(d, 44 + 4 * i) for i in range(32)]
        out["qwUnused"] = _u64(d, 172)
        out["root"] = _root(d, 180, True)
        out["dwAlign"] = _u32(d, 252)
        out["rgbFM"] = _bytes_summary(d[256:384])
        out["rgbFP"] = _bytes_summary(d[384:512])
        out["bSentinel"] = _u8(d, 512)
        out["bCryptMethod"] = _u8(d, 513)
        out["rgbReserved"] = _u16(d, 514)
        out["bidNextB"] = _u64(d, 516)
        crc_full_stored = _u32(d, 524)
        crc_full = ms_pst_crc(d[8:8 + 516])
        out["dwCRCFull"] = crc_full_stored
        out["dwCRCFull_computed"] = crc_full
        out["dwCRCFull_range"] = [8, 8 + 516]
        out["rgbReserved2"] = d[528:531].hex()
        out["bReserved"] = _u8(d, 531)
        out["rgbReserved3"] = _bytes_summary(d[532:564])
    else:
        out["bidNextB"] = _u32(d, 24)
        out["bidNextP"] = _u32(d, 28)
        out["dwUnique"] = _u32(d, 32)
        out["rgnid"] = [_u32(d, 36 + 4 * i) for i in range(32)]
        out["root"] = _root(d, 164, False)
        out["rgbFM"] = _bytes_summary(d[204:332])
        out["rgbFP"] = _bytes_summary(d[332:460])
        out["bSentinel"] = _u8(d, 460)
        out["bCryptMethod"] = _u8(d, 461)
        out["rgbReserved"] = _u16(d, 462)
        out["ullReserved"] = _u64(d, 464)
        out["dwReserved"] = _u32(d, 472)
        out["rgbReserved2"] = d[476:479].hex()
        out["bReserved"] = _u8(d, 479)
        out["rgbReserved3"] = _bytes_summary(d[480:512])
        crc_full = crc_full_stored = None
    out["bCryptMethod_name"] = CRYPT.get(out["bCryptMethod"], "unknown")
    out["file_size"] = file_size
    out["checks"] = {
        "magic_ok": d[0:4] == MAGIC,
        "crc_partial_ok": crc_partial == crc_partial_stored,
        "crc_full_ok": None if crc_full is None else crc_full == crc_full_stored,
        "sentinel_ok": out["bSentinel"] == 0x80,
        "platform_ok": out["bPlatformCreate"] == 1 and out["bPlatformAccess"] == 1,
        "crypt_known": out["bCryptMethod"] in CRYPT,
        "amap_valid": out["root"]["fAMapValid"] in (1, 2),
        "eof_matches_size": out["root"]["ibFileEof"] == file_size,
    }
    return out


def _wsig(ib, bid):
    """[MS-PST] 5.5 ComputeSig."""
    ib ^= bid
    return ((ib >> 16) ^ ib) & 0xFFFF


def check_page(f, file_size, fmt, ib, expect_bid, what):
    """Reads the page at ib and checks its PAGETRAILER ([MS-PST] 2.2.2.7.1)."""
    size = 4096 if fmt == "unicode_4k" else 512
    res = {"what": what, "ib": ib}
    if ib <= 0 or ib + size > file_size:
        res["error"] = "page outside the file"
        return res
    f.seek(ib)
    p = f.read(size)
    if fmt == "ansi":
        t = 500
        ptype, ptype_repeat, wsig, bid, crc = struct.unpack_from("<BBHII", p, t)
    else:
        t = 496 if fmt != "unicode_4k" else 4072
        ptype, ptype_repeat, wsig, crc, bid = struct.unpack_from("<BBHIQ", p, t)
    computed = ms_pst_crc(p[:t])
    res.update({
        "ptype": ptype, "ptype_name": PTYPES.get(ptype, "unknown"), "ptypeRepeat": ptype_repeat,
        "wSig": wsig, "dwCRC": crc, "dwCRC_computed": computed, "crc_ok": crc == computed,
        "crc_range": [0, t], "bid": bid,
    })
    if ptype in (0x80, 0x81):
        res["wSig_computed"] = _wsig(ib, bid)
        res["wSig_ok"] = wsig == res["wSig_computed"]
        if fmt == "ansi":
            c_ent, c_ent_max, cb_ent, c_level = struct.unpack_from("<BBBB", p, 496)
        elif fmt == "unicode_4k":
            c_ent, c_ent_max, cb_ent, c_level = struct.unpack_from("<HHBB", p, 4056)
        else:
            c_ent, c_ent_max, cb_ent, c_level = struct.unpack_from("<BBBB", p, 488)
        res.update({"cEnt": c_ent, "cEntMax": c_ent_max, "cbEnt": cb_ent, "cLevel": c_level})
    else:
        res["wSig_ok"] = wsig == 0
    if expect_bid is not None:
        res["bid_ok"] = bid == expect_bid
    return res


def examine(path, pages):
    out = {"file": path}
    try:
        file_size = os.stat(path).st_size
        with open(path, "rb") as f:
            d = f.read(UNICODE_HEADER_SIZE)
            if len(d) < 24:
                out["error"] = "file is shorter than 24 bytes"
                return out, False
            if d[0:4] != MAGIC:
                out["error"] = "dwMagic is not !BDN"
                out["dwMagic"] = d[0:4].hex()
                return out, False
            out.update(parse_header(d, file_size))
            if "error" in out:
                return out, False
            if pages and out["format"] in ("ansi", "unicode", "unicode_4k"):
                r = out["root"]
                out["pages"] = [
                    check_page(f, file_size, out["format"], r["BREFNBT"]["ib"], r["BREFNBT"]["bid"], "NBT root"),
                    check_page(f, file_size, out["format"], r["BREFBBT"]["ib"], r["BREFBBT"]["bid"], "BBT root"),
                    check_page(f, file_size, out["format"], r["ibAMapLast"], None, "AMap at ibAMapLast"),
                ]
    except OSError as e:
        out["error"] = "%s: %s" % (type(e).__name__, e)
        return out, False
    return out, True


def main(argv):
    args = argv[1:]
    pages = False
    if "--pages" in args:
        pages = True
        args = [a for a in args if a != "--pages"]
    if not args or any(a.startswith("--") for a in args):
        sys.stderr.write("usage: pst_header.py [--pages] FILE [FILE...]\n")
        return 2
    results = []
    ok = True
    for path in args:
        res, good = examine(path, pages)
        results.append(res)
        ok = ok and good
    json.dump(results[0] if len(results) == 1 else results, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
