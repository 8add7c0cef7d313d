#include "carve.h"

#include <vector>

#include "parsers/pst/block.h"
#include "parsers/pst/page.h"

namespace mailfsck::pst {

void carve_blocks(const ByteView& file, const Layout& layout, const std::function<void(const CarvedBlock&)>& visit) {
    // Each aligned offset is a possible end of a block; its trailer gives
    // the size, hence the start, that the signature and CRC must confirm.
    // The signature is cheap and rejects nearly every false candidate
    // before any CRC is computed.
    for (std::uint64_t end = layout.block_align; end <= file.size(); end += layout.block_align) {
        const std::optional<BlockTrailer> t = read_block_trailer(file, end, layout);
        if (!t || t->bid == 0 || t->cb > layout.max_block_data()) continue;
        const std::uint64_t size = layout.align_block(t->cb);
        if (size > end) continue;
        const std::uint64_t ib = end - size;
        if (t->signature != signature(ib, t->bid)) continue;
        if (crc32(file.sub(ib, t->cb)) != t->crc) continue;
        visit({t->bid, ib, t->cb});
    }
}

void carve_pages(const ByteView& file, const Layout& layout, const std::function<void(const CarvedPage&)>& visit) {
    std::vector<PageDefect> defects;
    for (std::uint64_t ib = 0; file.size() >= layout.page_size && ib <= file.size() - layout.page_size;
         ib += layout.page_size) {
        const ByteView page = file.sub(ib, layout.page_size);
        const PageTrailer t = read_page_trailer(page, layout);
        if (t.ptype != t.ptype_repeat || t.ptype < static_cast<std::uint8_t>(PageType::bbt) ||
            t.ptype > static_cast<std::uint8_t>(PageType::dlist))
            continue;
        const auto type = static_cast<PageType>(t.ptype);
        defects.clear();
        if (check_page_trailer(page, layout, type, std::nullopt, defects)) visit({ib, t.bid, type});
    }
}

CarvedRoots carve_roots(const ByteView& file, const Layout& layout) {
    struct Best {
        Bref page;
        std::uint32_t level = 0;
    } best[2];  // BBT, NBT
    carve_pages(file, layout, [&](const CarvedPage& page) {
        if (page.type != PageType::bbt && page.type != PageType::nbt) return;
        const std::optional<ByteView> bytes = page_at(file, page.ib, layout);
        if (!bytes) return;
        const std::uint32_t level = read_bt_info(*bytes, layout).level;
        Best& b = best[page.type == PageType::bbt ? 0 : 1];
        if (b.page.bid == 0 || level > b.level || (level == b.level && bid_key(page.bid) > bid_key(b.page.bid)))
            b = {Bref{page.bid, page.ib}, level};
    });
    return {best[0].page, best[1].page};
}

}  // namespace mailfsck::pst
