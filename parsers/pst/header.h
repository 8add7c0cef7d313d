// The PST/OST file header ([MS-PST] 2.2.2.6), decoded field by field from
// its bytes, with every inconsistency the header alone can show.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "parsers/bytes/bytes.h"
#include "parsers/pst/crypt.h"
#include "parsers/pst/format.h"

namespace mailfsck::pst {

// BREF: a block or page id and its file offset ([MS-PST] 2.2.2.4).
struct Bref {
    std::uint64_t bid = 0;
    std::uint64_t ib = 0;
};

enum class HeaderDefectKind {
    bad_magic,         // dwMagic is not "!BDN"
    unknown_client,    // wMagicClient is neither "SM" (PST) nor "SO" (OST)
    unknown_version,   // wVer names no format we know: nothing below the header can be read
    crc_partial,       // dwCRCPartial disagrees with the bytes it covers
    crc_full,          // dwCRCFull disagrees with the bytes it covers (Unicode only)
    unknown_crypt,     // bCryptMethod is not 0, 1 or 2
    bad_sentinel,      // bSentinel is not 0x80
    root_out_of_range, // a B-tree root BREF is not page-aligned or lies past the end of the file
    amap_invalid,      // fAMapValid says the allocation maps were left mid-update
    truncated,         // the file is shorter than ibFileEof: its end was cut off
    trailing_data,     // the file is longer than ibFileEof
    too_short,         // the file ends inside the header itself
};

struct HeaderDefect {
    HeaderDefectKind kind;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    std::string detail;
};

struct Header {
    std::uint32_t magic = 0;
    std::uint16_t client = 0;  // wMagicClient
    std::uint16_t version = 0; // wVer
    std::uint16_t version_client = 0;
    std::optional<Format> format;
    std::uint64_t bid_next_b = 0;
    std::uint64_t bid_next_p = 0;
    std::uint32_t unique = 0;
    std::array<std::uint32_t, 32> rgnid{};
    std::uint64_t file_eof = 0;  // ibFileEof
    std::uint64_t amap_last = 0;
    std::uint64_t amap_free = 0;
    std::uint64_t pmap_free = 0;
    Bref nbt;
    Bref bbt;
    std::uint8_t amap_valid = 0;
    std::uint8_t sentinel = 0;
    std::uint8_t crypt = 0;
    std::uint32_t crc_partial = 0;
    std::uint32_t crc_full = 0;
    std::vector<HeaderDefect> defects;

    [[nodiscard]] bool is_ost() const { return client == 0x4F53; }
    [[nodiscard]] bool has(HeaderDefectKind k) const;
};

// Where the fields that move between ANSI and Unicode sit ([MS-PST]
// 2.2.2.6); the 4K format keeps the Unicode header. `root` is ROOT's
// offset ([MS-PST] 2.2.2.5): dwReserved, then ibFileEof, ibAMapLast,
// cbAMapFree and cbPMapFree, each an id wide.
struct HeaderOffsets {
    std::uint64_t bid_next_b, bid_next_p, unique, rgnid, root, bref_nbt, bref_bbt, amap_valid, sentinel, crypt;
};
[[nodiscard]] const HeaderOffsets& header_offsets(bool wide);

inline constexpr std::uint32_t header_magic = 0x4E444221;  // "!BDN" read little-endian

// Reads the header at the start of `file` (the whole file, so sizes can be
// checked against it).
[[nodiscard]] Header read_header(const ByteView& file);

// Makes the header's CRCs (dwCRCPartial; dwCRCFull in the wide formats)
// true to its bytes, for the format its wVer names; does nothing to a file
// too short for a header or of no known version. For code that builds
// files (the fuzz targets' checksum mode); nothing that reads a store
// calls it.
void seal_header(std::span<std::uint8_t> file);

[[nodiscard]] std::string_view defect_name(HeaderDefectKind k);

}  // namespace mailfsck::pst
