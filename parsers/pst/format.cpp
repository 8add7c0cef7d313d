#include "format.h"

#include <libdeflate.h>

namespace mailfsck::pst {
namespace {

Layout make_ansi() {
    Layout l;
    l.format = Format::ansi;
    l.wide = false;
    l.page_trailer = 12;  // ptype, ptypeRepeat, wSig, bid(4), dwCRC(4)
    l.block_trailer = 12; // cb, wSig, bid(4), dwCRC(4)
    l.bt_meta_offset = 496;
    l.bt_entries_bytes = 496;
    l.branch_entry = 12;
    l.bbt_entry = 12;
    l.nbt_entry = 16;
    l.amap_bits_offset = 4;
    return l;
}

Layout make_4k() {
    Layout l;
    l.format = Format::unicode_4k;
    l.page_size = 4096;
    l.page_trailer = 24;
    l.block_align = 512;
    l.block_trailer = 24;
    l.max_block = 65536;
    l.bt_meta_offset = 4056;
    l.bt_entries_bytes = 4056;
    l.first_amap = 0x22000;
    l.amap_bytes = 4072;
    l.amap_unit = 512;
    l.amap_span = 4072ULL * 8 * 512;
    l.first_pmap = std::nullopt;
    return l;
}

const Layout ansi = make_ansi();
const Layout unicode{};
const Layout unicode_4k = make_4k();

}  // namespace

std::string_view format_name(Format f) {
    switch (f) {
        case Format::ansi: return "ansi";
        case Format::unicode: return "unicode";
        case Format::unicode_4k: return "unicode-4k";
    }
    return "?";
}

std::optional<Format> format_for_version(std::uint16_t wver) {
    switch (wver) {
        case 14:
        case 15: return Format::ansi;
        case 23: return Format::unicode;
        case 36: return Format::unicode_4k;
        default: return std::nullopt;
    }
}

const Layout& layout_for(Format f) {
    switch (f) {
        case Format::ansi: return ansi;
        case Format::unicode: return unicode;
        case Format::unicode_4k: return unicode_4k;
    }
    return unicode;
}

// This is boost::crc_optimal<32, 0x04C11DB7, 0, 0, true, true>; libdeflate
// computes the same polynomial with the gzip pre- and post-inversion, undone
// here, with carry-less multiplication: 4x zlib's table and 20x Boost's
// byte-wise one, which matters when every block of a 50 GB file is checked.
std::uint32_t crc32(const ByteView& bytes) {
    return libdeflate_crc32(0xFFFFFFFFU, bytes.data(), bytes.size()) ^ 0xFFFFFFFFU;
}

std::uint16_t signature(std::uint64_t ib, std::uint64_t bid) {
    const auto v = static_cast<std::uint32_t>(ib ^ bid);
    return static_cast<std::uint16_t>((v >> 16) ^ (v & 0xFFFF));
}

}  // namespace mailfsck::pst
