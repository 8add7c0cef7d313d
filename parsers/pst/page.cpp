#include "page.h"

#include <algorithm>

namespace mailfsck::pst {

std::optional<ByteView> page_at(const ByteView& file, std::uint64_t ib, const Layout& layout) {
    if (ib > file.size() || file.size() - ib < layout.page_size) return std::nullopt;
    return file.sub(ib, layout.page_size);
}

std::optional<ByteView> read_page(const ByteView& file, std::uint64_t ib, const Layout& layout, const Source* through,
                                  std::vector<unsigned char>& buffer) {
    const std::optional<ByteView> page = page_at(file, ib, layout);
    if (!page || through == nullptr) return page;
    const ByteView copy = through->read(ib, layout.page_size, buffer);
    if (copy.size() != layout.page_size) return std::nullopt;
    return copy;
}

PageTrailer read_page_trailer(const ByteView& page, const Layout& layout) {
    // ANSI: ptype, ptypeRepeat, wSig, bid(4), dwCRC(4); Unicode and 4K:
    // ptype, ptypeRepeat, wSig, dwCRC(4), bid(8) ([MS-PST] 2.2.2.7.1).
    Cursor c(page, layout.page_size - layout.page_trailer);
    PageTrailer t;
    t.ptype = c.u8();
    t.ptype_repeat = c.u8();
    t.signature = c.u16le();
    const TrailerTail tail = read_trailer_tail(c, layout);
    t.bid = tail.bid;
    t.crc = tail.crc;
    return t;
}

namespace {

// Allocation-map pages carry no signature ([MS-PST] 2.2.2.7.1: wSig 0 for
// AMap, PMap, FMap and FPMap); B-tree and DList pages do.
bool is_signed(PageType t) { return t == PageType::bbt || t == PageType::nbt || t == PageType::dlist; }

}  // namespace

void seal_page(std::span<std::uint8_t> page, const Layout& layout, std::uint64_t ib) {
    if (page.size() != layout.page_size) return;
    const ByteView view(page.data(), page.size());
    const PageTrailer t = read_page_trailer(view, layout);
    const std::size_t at = layout.page_size - layout.page_trailer;
    put_le(page.data() + at + 2, is_signed(static_cast<PageType>(t.ptype)) ? signature(ib, t.bid) : 0, 2);
    // The CRC follows wSig in the wide formats, the 4-byte id in ANSI.
    put_le(page.data() + at + (layout.wide ? 4 : 8), crc32(view.sub(0, at)), 4);
}

bool check_page_trailer(const ByteView& page, const Layout& layout, PageType expected,
                        std::optional<std::uint64_t> expected_bid, std::vector<PageDefect>& defects) {
    const std::size_t before = defects.size();
    const PageTrailer t = read_page_trailer(page, layout);
    const std::uint64_t ib = page.base();
    const std::uint64_t trailer_at = ib + layout.page_size - layout.page_trailer;
    const auto want = static_cast<std::uint8_t>(expected);
    if (t.ptype != want || t.ptype_repeat != want)
        defects.push_back({PageDefectKind::type_mismatch, trailer_at, 2,
                           "ptype " + std::to_string(t.ptype) + "/" + std::to_string(t.ptype_repeat) + ", expected " +
                               std::to_string(want)});
    const std::uint16_t sig = is_signed(expected) ? signature(ib, t.bid) : 0;
    if (t.signature != sig) defects.push_back({PageDefectKind::bad_signature, trailer_at + 2, 2, {}});
    const std::uint32_t crc = crc32(page.sub(0, layout.page_size - layout.page_trailer));
    if (crc != t.crc) defects.push_back({PageDefectKind::bad_crc, ib, layout.page_size, {}});
    if (expected_bid && bid_key(*expected_bid) != bid_key(t.bid))
        defects.push_back({PageDefectKind::wrong_bid, trailer_at, layout.page_trailer,
                           "page id " + std::to_string(t.bid) + ", expected " + std::to_string(*expected_bid)});
    return defects.size() == before;
}

std::string_view defect_name(PageDefectKind k) {
    switch (k) {
        case PageDefectKind::out_of_file: return "out_of_file";
        case PageDefectKind::type_mismatch: return "type_mismatch";
        case PageDefectKind::bad_signature: return "bad_signature";
        case PageDefectKind::bad_crc: return "bad_crc";
        case PageDefectKind::wrong_bid: return "wrong_bid";
        case PageDefectKind::bad_entry_size: return "bad_entry_size";
        case PageDefectKind::bad_entry_count: return "bad_entry_count";
        case PageDefectKind::bad_level: return "bad_level";
        case PageDefectKind::keys_not_ascending: return "keys_not_ascending";
        case PageDefectKind::first_key_mismatch: return "first_key_mismatch";
        case PageDefectKind::key_out_of_range: return "key_out_of_range";
        case PageDefectKind::cycle: return "cycle";
        case PageDefectKind::too_deep: return "too_deep";
    }
    return "?";
}

BtPageInfo read_bt_info(const ByteView& page, const Layout& layout) {
    // Unicode and ANSI: one byte each; the 4K format widens cEnt and cEntMax.
    Cursor c(page, layout.bt_meta_offset);
    BtPageInfo info;
    if (layout.format == Format::unicode_4k) {
        info.count = c.u16le();
        info.max = c.u16le();
    } else {
        info.count = c.u8();
        info.max = c.u8();
    }
    info.entry_size = c.u8();
    info.level = c.u8();
    return info;
}

std::optional<Format> find_btree_page(const ByteView& file, std::uint64_t limit) {
    const std::uint64_t end = std::min(limit, file.size());
    for (std::uint64_t ib = 0; ib + 512 <= end; ib += 512)
        for (const Format f : {Format::ansi, Format::unicode, Format::unicode_4k}) {
            const Layout& l = layout_for(f);
            const std::optional<ByteView> page = ib % l.page_size == 0 ? page_at(file, ib, l) : std::nullopt;
            if (!page) continue;
            const PageTrailer t = read_page_trailer(*page, l);
            const bool btree = t.ptype == t.ptype_repeat && (t.ptype == static_cast<std::uint8_t>(PageType::bbt) ||
                                                            t.ptype == static_cast<std::uint8_t>(PageType::nbt));
            if (btree && t.signature == signature(ib, t.bid) &&
                t.crc == crc32(page->sub(0, l.page_size - l.page_trailer)))
                return f;
        }
    return std::nullopt;
}

}  // namespace mailfsck::pst
