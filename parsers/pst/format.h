// The three on-disk flavours of the PST/OST node database and what differs
// between them, in one place: ANSI (wVer 14/15, 32-bit ids and offsets),
// Unicode (wVer 23, 64-bit) and Unicode with 4 KiB pages (wVer 36, Outlook
// 2013+ OST). Sizes and offsets cite [MS-PST] sections; the 4K figures
// follow libpff's format document, which [MS-PST] does not cover.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "parsers/bytes/bytes.h"

namespace mailfsck::pst {

enum class Format { ansi, unicode, unicode_4k };

[[nodiscard]] std::string_view format_name(Format f);
// The format a header's wVer announces ([MS-PST] 2.2.2.6), if any.
[[nodiscard]] std::optional<Format> format_for_version(std::uint16_t wver);

struct Layout {
    Format format = Format::unicode;
    bool wide = true;                 // 64-bit BIDs and offsets (Unicode, 4K)
    std::uint32_t page_size = 512;    // [MS-PST] 2.2.2.7
    std::uint32_t page_trailer = 16;  // PAGETRAILER, at page_size - page_trailer
    std::uint32_t block_align = 64;   // [MS-PST] 2.2.2.8
    std::uint32_t block_trailer = 16; // BLOCKTRAILER, at the end of the aligned block
    std::uint32_t max_block = 8192;   // aligned size, trailer included
    // BT page metadata (cEnt, cEntMax, cbEnt, cLevel) just before the trailer.
    std::uint32_t bt_meta_offset = 488;
    std::uint32_t bt_entries_bytes = 488;  // room for entries
    std::uint32_t branch_entry = 24;       // BTENTRY
    std::uint32_t bbt_entry = 24;          // BBTENTRY
    std::uint32_t nbt_entry = 32;          // NBTENTRY
    std::uint64_t first_amap = 0x4400;     // [MS-PST] 2.2.2.7.2
    std::uint64_t amap_span = 253952;      // bytes one AMap page maps, itself included
    std::uint32_t amap_bits_offset = 0;    // ANSI pads 4 bytes before the bitmap
    std::uint32_t amap_bytes = 496;        // bitmap bytes; each bit maps amap_unit bytes
    std::uint32_t amap_unit = 64;
    // PMap pages (deprecated, still written), every 8 AMaps; none in 4K files.
    std::optional<std::uint64_t> first_pmap = 0x4600;

    [[nodiscard]] std::uint32_t id_size() const { return wide ? 8 : 4; }
    // Largest data a block may carry ([MS-PST] 2.2.2.8: 8176 Unicode, 8180 ANSI).
    [[nodiscard]] std::uint32_t max_block_data() const { return max_block - block_trailer; }
    [[nodiscard]] std::uint64_t align_block(std::uint64_t cb) const {
        return (cb + block_trailer + block_align - 1) / block_align * block_align;
    }
};

[[nodiscard]] const Layout& layout_for(Format f);

// The id and CRC that end every page and block trailer, in the order the
// format keeps them: ANSI bid(4) then dwCRC, Unicode and 4K dwCRC then
// bid(8) ([MS-PST] 2.2.2.7.1, 2.2.2.8.1).
struct TrailerTail {
    std::uint64_t bid = 0;
    std::uint32_t crc = 0;
};
[[nodiscard]] inline TrailerTail read_trailer_tail(Cursor& c, const Layout& layout) {
    TrailerTail t;
    if (layout.wide) {
        t.crc = c.u32le();
        t.bid = c.u64le();
    } else {
        t.bid = c.u32le();
        t.crc = c.u32le();
    }
    return t;
}

// The PST CRC ([MS-PST] 5.3): CRC-32 with the reflected polynomial, initial
// value 0 and no final xor.
[[nodiscard]] std::uint32_t crc32(const ByteView& bytes);

// Where a block that a stretch of inserted bytes cut in two is joined
// again: its first bytes lie where it was written (`placed`), the rest past
// the stretch, where its trailer now is (`shifted`, as long as the block's
// data). The block is placed[0, k) ++ shifted[k, n) for the k at which the
// stretch began, found as the k that gives `crc`. The PST CRC is linear
// (initial value 0, no final xor), so every k is tried in O(n) time, not
// O(n^2) ([MS-PST] 5.3). Where placed and shifted hold the same bytes (a
// stretch sent twice repeats the bytes before it), every k among them
// joins the same block: the cut is said as that range, first..last, each
// 1..n (0 would be `shifted` alone, no cut). nullopt when no k gives the
// CRC, or when two give it for different bytes.
struct Cut {
    std::uint32_t first = 0;
    std::uint32_t last = 0;
};
[[nodiscard]] std::optional<Cut> cut_point(const ByteView& placed, const ByteView& shifted, std::uint32_t crc);

// A block's or page's signature ([MS-PST] 5.5): the low 32 bits of
// ib ^ bid, folded to 16.
[[nodiscard]] std::uint16_t signature(std::uint64_t ib, std::uint64_t bid);

// Page types ([MS-PST] 2.2.2.7.1).
enum class PageType : std::uint8_t {
    bbt = 0x80,
    nbt = 0x81,
    fmap = 0x82,
    pmap = 0x83,
    amap = 0x84,
    fpmap = 0x85,
    dlist = 0x86,
};

// BID bit 1: an internal block (XBLOCK, XXBLOCK, SLBLOCK, SIBLOCK), never
// encrypted ([MS-PST] 2.2.2.2). Bit 0 is reserved and ignored in lookups.
inline constexpr std::uint64_t bid_internal = 0x2;
[[nodiscard]] inline std::uint64_t bid_key(std::uint64_t bid) { return bid & ~std::uint64_t{1}; }

// NID: 5 bits of type under a 27-bit index ([MS-PST] 2.2.2.1).
[[nodiscard]] inline std::uint32_t nid_type(std::uint64_t nid) { return static_cast<std::uint32_t>(nid & 0x1F); }

}  // namespace mailfsck::pst
