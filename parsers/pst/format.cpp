#include "format.h"

#include <libdeflate.h>

#include <array>
#include <vector>

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

namespace {

// The byte-wise table of the reflected polynomial: each entry's top byte
// differs from every other's, which makes a step over a zero byte
// invertible.
constexpr std::array<std::uint32_t, 256> crc_table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int bit = 0; bit < 8; ++bit) c = (c & 1U) != 0 ? (c >> 1) ^ 0xEDB88320U : c >> 1;
        t[i] = c;
    }
    return t;
}();

constexpr std::array<std::uint8_t, 256> crc_table_by_top = [] {
    std::array<std::uint8_t, 256> by{};
    for (std::uint32_t i = 0; i < 256; ++i) by[crc_table[i] >> 24] = static_cast<std::uint8_t>(i);
    return by;
}();

constexpr std::uint32_t crc_step(std::uint32_t reg, std::uint8_t byte) {
    return (reg >> 8) ^ crc_table[(reg ^ byte) & 0xFFU];
}

// The register before a zero byte took it to `reg`.
constexpr std::uint32_t crc_unstep_zero(std::uint32_t reg) {
    const std::uint8_t low = crc_table_by_top[reg >> 24];
    return ((reg ^ crc_table[low]) << 8) | low;
}

}  // namespace

std::optional<Cut> cut_point(const ByteView& placed, const ByteView& shifted, std::uint32_t crc) {
    const std::size_t n = shifted.size();
    if (placed.size() != n) return std::nullopt;
    // With D = placed ^ shifted, the block cut at k is shifted ^ (D[0,k)
    // then zeros), whose CRC is crc(shifted) ^ Z^(n-k)(r_k), r_k the CRC of
    // D[0,k) and Z a step over a zero byte. So r_k must equal
    // Z^-(n-k)(crc(shifted) ^ crc): the r_k forwards, that backwards.
    std::vector<std::uint32_t> r(n + 1);
    std::vector<std::uint32_t> differ(n + 1);  // bytes of D[0,k) that are not 0
    for (std::size_t k = 0; k < n; ++k) {
        const auto d = static_cast<std::uint8_t>(placed.at_or(k, 0) ^ shifted.at_or(k, 0));
        r[k + 1] = crc_step(r[k], d);
        differ[k + 1] = differ[k] + (d != 0 ? 1U : 0U);
    }
    std::optional<Cut> found;
    std::uint32_t target = crc32(shifted) ^ crc;
    for (std::size_t k = n; k >= 1; --k, target = crc_unstep_zero(target)) {
        if (r[k] != target) continue;
        const auto at = static_cast<std::uint32_t>(k);
        if (!found) {
            found = Cut{at, at};
            continue;
        }
        // Cuts between which placed and shifted agree join the same bytes.
        if (differ[found->first] != differ[k]) return std::nullopt;
        found->first = at;
    }
    return found;
}

std::uint16_t signature(std::uint64_t ib, std::uint64_t bid) {
    const auto v = static_cast<std::uint32_t>(ib ^ bid);
    return static_cast<std::uint16_t>((v >> 16) ^ (v & 0xFFFF));
}

}  // namespace mailfsck::pst
