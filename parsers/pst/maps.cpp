#include "maps.h"

#include <algorithm>
#include <map>

#include "parsers/pst/page.h"

namespace mailfsck::pst {
namespace {

// In AMaps: a PMap every 8; the header's rgbFM covers the first 128 AMaps,
// then one FMap byte per AMap; its rgbFP the first 128 * 64, then one
// FPMap bit per PMap ([MS-PST] 2.2.2.7.3, 2.2.2.7.5, 2.2.2.7.6).
constexpr std::uint64_t pmap_every = 8;
constexpr std::uint64_t fmap_first = 128;
constexpr std::uint64_t fpmap_first = std::uint64_t{128} * 64;

}  // namespace

std::vector<MapPage> map_pages(const Layout& layout, std::uint64_t begin, std::uint64_t end) {
    std::vector<MapPage> pages;
    if (end <= layout.first_amap) return pages;
    const std::uint64_t fmap_every = layout.amap_bytes;
    const std::uint64_t fpmap_every = std::uint64_t{layout.amap_bytes} * 64;
    const std::uint64_t first = begin <= layout.first_amap ? 0 : (begin - layout.first_amap) / layout.amap_span;
    for (std::uint64_t i = first;; ++i) {
        const std::uint64_t at = layout.first_amap + i * layout.amap_span;
        if (at >= end) break;
        const auto add = [&](PageType type, std::uint64_t slot) {
            const std::uint64_t ib = at + slot * layout.page_size;
            if (ib >= begin && ib < end) pages.push_back({type, ib});
        };
        add(PageType::amap, 0);
        // The 4K format has no PMaps (libpff's format document) and so none
        // of the maps that ride on them.
        if (!layout.first_pmap || i % pmap_every != 0) continue;
        add(PageType::pmap, 1);
        if (i >= fmap_first && (i - fmap_first) % fmap_every == 0) add(PageType::fmap, 2);
        if (i >= fpmap_first && (i - fpmap_first) % fpmap_every == 0) add(PageType::fpmap, 3);
    }
    return pages;
}

std::uint64_t dlist_offset(const Layout& layout) { return layout.first_amap - layout.page_size; }

Dlist read_dlist(const ByteView& page, const Layout& layout) {
    Cursor c(page);
    Dlist d;
    d.flags = c.u8();
    const std::uint8_t count = c.u8();
    c.skip(2);
    d.current_page = c.u32le();
    const std::uint64_t room = (layout.page_size - layout.page_trailer - 8) / 4;
    for (std::uint64_t i = 0; i < std::min<std::uint64_t>(count, room); ++i) {
        const std::uint32_t v = c.u32le();
        d.entries.push_back({v & 0xFFFFF, v >> 20});
    }
    return d;
}

AllocationMaps::AllocationMaps(const Source& source, const Layout& layout, const std::vector<BbtEntry>& blocks)
    : source_(&source), layout_(&layout), shifts_{0} {
    std::map<std::uint64_t, std::uint64_t> seen;  // shift, blocks moved by it
    for (const BbtEntry& b : blocks)
        if (b.moved && b.written_at != 0) ++seen[b.ib - b.written_at];
    std::vector<std::pair<std::uint64_t, std::uint64_t>> common(seen.begin(), seen.end());
    std::stable_sort(common.begin(), common.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    for (std::size_t i = 0; i < common.size() && i < max_shifts; ++i) shifts_.push_back(common[i].first);
}

std::optional<ByteView> AllocationMaps::map_page(std::uint64_t at) const {
    std::vector<PageDefect> defects;
    for (const std::uint64_t shift : shifts_) {
        const ByteView page = source_->read(at + shift, layout_->page_size, buffer_);
        defects.clear();
        if (page.size() == layout_->page_size && check_page_trailer(page, *layout_, PageType::amap, at, defects))
            return page;
    }
    return std::nullopt;
}

Allocation AllocationMaps::of(const BbtEntry& block) const {
    const Layout& l = *layout_;
    const std::optional<std::uint64_t> place = written_place(block);
    if (!place || *place < l.first_amap) return Allocation::unknown;
    const std::uint64_t map_at = l.first_amap + (*place - l.first_amap) / l.amap_span * l.amap_span;
    const std::uint64_t first = (*place - map_at) / l.amap_unit;
    const std::uint64_t last = (*place - map_at + l.align_block(block.cb) + l.amap_unit - 1) / l.amap_unit;
    if (last > std::uint64_t{l.amap_bytes} * 8) return Allocation::unknown;  // not one map's
    const std::optional<ByteView> page = map_page(map_at);
    if (!page) return Allocation::unknown;
    std::uint64_t set = 0;
    for (std::uint64_t u = first; u < last; ++u)
        if ((page->at_or(l.amap_bits_offset + u / 8, 0) & (0x80U >> (u % 8))) != 0) ++set;
    if (set == 0) return Allocation::free;
    return set == last - first ? Allocation::allocated : Allocation::unknown;
}

}  // namespace mailfsck::pst
