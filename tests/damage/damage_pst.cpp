#include "damage_pst.h"

#include <optional>

#include "tests/unit/pst_bytes.h"
#include "tests/unit/support.h"

namespace mailfsck::damage {
namespace {

using test::get_le;

struct Geometry {
    std::uint64_t page;
    std::uint64_t nbt_root_at;  // where the header keeps each root's ib
    std::uint64_t bbt_root_at;
    bool wide;                  // 64-bit offsets
    std::uint64_t first_amap;
    std::uint64_t amap_span;
    std::uint64_t amap_bits_at;  // within the page
    std::uint64_t amap_bytes;
    std::uint64_t page_trailer;
    std::uint64_t crc_in_trailer;
};

std::optional<Geometry> geometry(std::string_view s) {
    if (s.size() < 564 || s.substr(0, 4) != "!BDN") return std::nullopt;
    const std::uint64_t wver = get_le(s, 10, 2);
    if (wver == 14 || wver == 15) return Geometry{512, 188, 196, false, 0x4400, 253952, 4, 496, 12, 8};
    if (wver == 23) return Geometry{512, 224, 240, true, 0x4400, 253952, 0, 496, 16, 4};
    if (wver == 36) return Geometry{4096, 224, 240, true, 0x22000, 4072ULL * 8 * 512, 0, 4072, 24, 4};
    return std::nullopt;
}

Injection record(Op op, std::string_view clean, std::uint64_t offset, std::uint64_t length) {
    Injection in;
    in.op = op;
    in.offset = in.original_offset = offset;
    in.length = in.original_length = length;
    in.original_sha256 = sha256_hex(clean.substr(offset, length));
    return in;
}

void zero(std::string_view clean, Op op, std::uint64_t at, std::uint64_t length, Damaged& d) {
    if (at > clean.size() || clean.size() - at < length) return;
    d.injections.push_back(record(op, clean, at, length));
    std::fill_n(d.bytes.begin() + static_cast<std::ptrdiff_t>(at), length, '\0');
}

std::vector<std::uint64_t> amaps(std::string_view clean, const Geometry& g) {
    std::vector<std::uint64_t> maps;
    for (std::uint64_t at = g.first_amap; at + g.page <= clean.size(); at += g.amap_span) maps.push_back(at);
    return maps;
}

void clear_amap_bit(std::string_view clean, const Request& r, const Geometry& g, Rng& rng, Damaged& d) {
    const std::vector<std::uint64_t> maps = amaps(clean, g);
    if (maps.empty()) return;
    const std::uint64_t map = maps[rng.below(maps.size())];
    std::vector<std::uint64_t> set;  // bits set in the map, as byte * 8 + bit (most significant first)
    for (std::uint64_t i = 0; i < g.amap_bytes; ++i)
        for (unsigned b = 0; b < 8; ++b)
            if ((static_cast<unsigned char>(clean[map + g.amap_bits_at + i]) >> (7 - b)) & 1) set.push_back(i * 8 + b);
    if (set.empty()) return;
    const std::uint64_t bit = set[rng.below(set.size())];
    const std::uint64_t at = map + g.amap_bits_at + bit / 8;
    Injection in = record(r.op, clean, at, 1);
    in.bit = static_cast<unsigned>(7 - bit % 8);
    in.original_byte = static_cast<unsigned char>(clean[at]);
    d.bytes[at] = static_cast<char>(static_cast<unsigned char>(clean[at]) & ~(1U << *in.bit));
    test::store_pst_crc(d.bytes, map + g.page - g.page_trailer + g.crc_in_trailer, map, g.page - g.page_trailer);
    d.injections.push_back(std::move(in));
}

// A leaf page of the B-tree whose root the header places at `root_at`,
// reached by random children from the root: a BTPAGE's entries start at
// the page's beginning; cEnt, cEntMax, cbEnt and cLevel follow them
// ([MS-PST] 2.2.2.7.7.1; 4 KiB pages: 2-byte counts, libpff's format
// document), and a branch entry is a key and a BREF (bid, ib).
std::optional<std::uint64_t> random_leaf(std::string_view s, const Geometry& g, std::uint64_t root_at, Rng& rng) {
    const unsigned id = g.wide ? 8 : 4;
    const std::uint64_t meta = g.page == 4096 ? 4056 : g.wide ? 488 : 496;
    const unsigned count_size = g.page == 4096 ? 2 : 1;
    std::uint64_t at = get_le(s, root_at, id);
    for (unsigned depth = 0; depth < 8; ++depth) {
        if (at % g.page != 0 || at > s.size() || s.size() - at < g.page) return std::nullopt;
        const std::uint64_t entries = get_le(s, at + meta, count_size);
        const std::uint64_t level = get_le(s, at + meta + 3 * count_size, 1);
        if (level == 0) return at;
        if (entries == 0 || entries * 3 * id > meta) return std::nullopt;
        const std::uint64_t child = rng.below(entries);
        at = get_le(s, at + child * 3 * id + 2 * id, id);
    }
    return std::nullopt;
}

}  // namespace

void damage_pst(std::string_view clean, const Request& r, Rng& rng, Damaged& d) {
    const std::optional<Geometry> g = geometry(clean);
    if (!g) return;
    const unsigned id = g->wide ? 8 : 4;
    switch (r.op) {
        case Op::pst_zero_bbt_root: zero(clean, r.op, get_le(clean, g->bbt_root_at, id), g->page, d); break;
        case Op::pst_zero_nbt_root: zero(clean, r.op, get_le(clean, g->nbt_root_at, id), g->page, d); break;
        case Op::pst_zero_bbt_leaf:
        case Op::pst_zero_nbt_leaf: {
            const std::uint64_t root_at = r.op == Op::pst_zero_bbt_leaf ? g->bbt_root_at : g->nbt_root_at;
            if (const std::optional<std::uint64_t> leaf = random_leaf(clean, *g, root_at, rng))
                zero(clean, r.op, *leaf, g->page, d);
            break;
        }
        case Op::pst_zero_header: zero(clean, r.op, 0, 512, d); break;
        case Op::pst_header_crc: {
            // dwCRCPartial covers 471 bytes from offset 8 ([MS-PST] 2.2.2.6).
            const std::uint64_t at = 8 + rng.below(471);
            Injection in = record(r.op, clean, at, 1);
            in.bit = static_cast<unsigned>(rng.below(8));
            in.original_byte = static_cast<unsigned char>(clean[at]);
            d.bytes[at] = static_cast<char>(static_cast<unsigned char>(clean[at]) ^ (1U << *in.bit));
            d.injections.push_back(std::move(in));
            break;
        }
        case Op::pst_amap_bit: clear_amap_bit(clean, r, *g, rng, d); break;
        case Op::pst_zero_amap: {
            const std::vector<std::uint64_t> maps = amaps(clean, *g);
            if (!maps.empty()) zero(clean, r.op, maps[rng.below(maps.size())], g->page, d);
            break;
        }
        default: break;
    }
}

}  // namespace mailfsck::damage
