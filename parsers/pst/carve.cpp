#include "carve.h"

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "parsers/pst/block.h"
#include "parsers/pst/page.h"

namespace mailfsck::pst {
namespace {

// A scan lets go of the mapping every this many bytes: what lies behind
// it is not read again, and resident memory stays flat on a 50 GB store.
constexpr std::uint64_t release_every = std::uint64_t{64} << 20;

}  // namespace

void carve_blocks(const Source& source, const Layout& layout, std::uint64_t moved_below,
                  const std::function<void(const CarvedBlock&)>& visit) {
    const ByteView file = source.bytes();
    // Each aligned offset is a possible end of a block; its trailer gives
    // the size, hence the start, that the signature and CRC must confirm.
    for (std::uint64_t end = layout.block_align; end <= file.size(); end += layout.block_align) {
        if (end % release_every == 0) source.release_all();
        const std::optional<BlockTrailer> t = read_block_trailer(file, end, layout);
        if (!t || t->bid == 0 || t->cb > layout.max_block_data()) continue;
        const std::uint64_t size = layout.align_block(t->cb);
        if (size > end) continue;
        const std::uint64_t ib = end - size;
        // The PST CRC starts from 0, so zeroed bytes (or none) under a
        // zeroed CRC check out: without the signature, that is no evidence.
        const bool moved = t->signature != signature(ib, t->bid);
        if (moved && (bid_key(t->bid) >= moved_below || t->crc == 0)) continue;
        if (crc32(file.sub(ib, t->cb)) != t->crc) continue;
        visit({t->bid, ib, t->cb, moved});
    }
}

void carve_pages(const Source& source, const Layout& layout, const std::function<void(const CarvedPage&)>& visit) {
    const ByteView file = source.bytes();
    std::vector<PageDefect> defects;
    for (std::uint64_t ib = 0; file.size() >= layout.page_size && ib <= file.size() - layout.page_size;
         ib += layout.page_size) {
        if (ib % release_every == 0) source.release_all();
        const ByteView page = file.sub(ib, layout.page_size);
        const PageTrailer t = read_page_trailer(page, layout);
        if (t.ptype != t.ptype_repeat || t.ptype < static_cast<std::uint8_t>(PageType::bbt) ||
            t.ptype > static_cast<std::uint8_t>(PageType::dlist))
            continue;
        const auto type = static_cast<PageType>(t.ptype);
        defects.clear();
        if (check_page_trailer(page, layout, type, std::nullopt, defects)) {
            visit({ib, t.bid, type, false});
        } else if ((type == PageType::bbt || type == PageType::nbt) && defects.size() == 1 &&
                   defects.front().kind == PageDefectKind::bad_signature) {
            // Only a B-tree page's signature is sure to name its offset:
            // Outlook 97 signs its FPMap pages, which the format leaves at 0.
            visit({ib, t.bid, type, true});
        }
    }
}

CarvedRoots carve_roots(const Source& source, const Layout& layout) {
    const ByteView file = source.bytes();
    struct Best {
        Bref page;
        std::uint32_t level = 0;
    } best[2];  // BBT, NBT
    carve_pages(source, layout, [&](const CarvedPage& page) {
        if (page.moved || (page.type != PageType::bbt && page.type != PageType::nbt)) return;
        const std::optional<ByteView> bytes = page_at(file, page.ib, layout);
        if (!bytes) return;
        const std::uint32_t level = read_bt_info(*bytes, layout).level;
        Best& b = best[page.type == PageType::bbt ? 0 : 1];
        if (b.page.bid == 0 || level > b.level || (level == b.level && bid_key(page.bid) > bid_key(b.page.bid)))
            b = {Bref{page.bid, page.ib}, level};
    });
    return {best[0].page, best[1].page};
}

namespace {

// A carved block as an index entry; its inflated size is its size until a
// leaf says otherwise.
BbtEntry entry_of(const CarvedBlock& b) {
    BbtEntry e;
    e.bid = b.bid;
    e.ib = b.ib;
    e.cb = b.cb;
    e.cb_inflated = b.cb;
    e.moved = b.moved;
    return e;
}

// Every entry of every carved leaf page of one tree (stale pages included);
// `page_bid`, when given, is set to each page's id before its entries.
void leaf_entries(const Source& source, const Layout& layout, PageType type, const TreeVisitor& v,
                  std::uint64_t* page_bid = nullptr) {
    const ByteView file = source.bytes();
    carve_pages(source, layout, [&](const CarvedPage& page) {
        if (page.type != type) return;
        const std::optional<ByteView> bytes = page_at(file, page.ib, layout);
        if (!bytes || read_bt_info(*bytes, layout).level != 0) return;
        if (page_bid) *page_bid = page.bid;
        (void)walk_tree(file, layout, type, Bref{page.bid, page.ib}, v, &source);
    });
}

}  // namespace

std::vector<BbtEntry> carve_block_entries(const Source& source, const Layout& layout, std::uint64_t next_bid) {
    std::unordered_map<std::uint64_t, BbtEntry> by_bid;
    // What the leaves say of the blocks not where they say: a moved copy
    // takes its inflated size from here.
    std::unordered_map<std::uint64_t, std::uint32_t> inflated_size;
    std::uint64_t named_below = next_bid;
    std::vector<unsigned char> buffer;
    std::vector<BlockDefect> defects;
    TreeVisitor v;
    // The blocks a leaf names lie all over the file: copied, not mapped.
    v.bbt = [&](const BbtEntry& e) {
        named_below = std::max(named_below, bid_key(e.bid) + 2);
        if (by_bid.count(bid_key(e.bid)) != 0) return;
        defects.clear();
        const std::optional<ByteView> stored = stored_block(source.bytes(), layout, e, &source, buffer, defects);
        if (stored) (void)check_block_bytes(*stored, layout, e, defects);
        if (stored && defects.empty()) {
            by_bid.emplace(bid_key(e.bid), e);
        } else if (e.cb_inflated != e.cb) {
            inflated_size.emplace(bid_key(e.bid), e.cb_inflated);
        }
    };
    leaf_entries(source, layout, PageType::bbt, v);
    carve_blocks(source, layout, named_below, [&](const CarvedBlock& b) {
        BbtEntry e = entry_of(b);
        if (const auto inflated = inflated_size.find(bid_key(b.bid)); inflated != inflated_size.end())
            e.cb_inflated = inflated->second;
        by_bid.emplace(bid_key(b.bid), e);
    });
    std::vector<BbtEntry> out;
    out.reserve(by_bid.size());
    for (const auto& [key, e] : by_bid) out.push_back(e);
    std::sort(out.begin(), out.end(), [](const BbtEntry& a, const BbtEntry& b) { return bid_key(a.bid) < bid_key(b.bid); });
    return out;
}

std::optional<BbtEntry> MovedBlocks::block(std::uint64_t bid) const {
    if (!index_) {
        std::vector<BbtEntry> moved;
        carve_blocks(*source_, *layout_, moved_below_, [&](const CarvedBlock& b) {
            if (!b.moved) return;
            if (moved.size() < max_moved_blocks) {
                moved.push_back(entry_of(b));
            } else {
                ++skipped_;
            }
        });
        index_.emplace(std::move(moved), std::vector<NbtEntry>{});
    }
    return index_->block(bid);
}

std::vector<NbtEntry> carve_node_entries(const Source& source, const Layout& layout,
                                         const std::function<bool(std::uint64_t bid)>& live) {
    // A node in several pages is as its newest page has it: a changed page
    // is written anew with a greater id (a message moved to another folder
    // keeps its blocks; only its parent, in the newer page, tells).
    struct Found {
        NbtEntry entry;
        std::uint64_t page;
    };
    std::unordered_map<std::uint64_t, Found> by_nid;
    std::uint64_t page = 0;
    TreeVisitor v;
    v.nbt = [&](const NbtEntry& e) {
        if (!live(e.bid_data) || (e.bid_sub != 0 && !live(e.bid_sub))) return;
        auto [it, added] = by_nid.emplace(e.nid, Found{e, page});
        if (!added && bid_key(page) > bid_key(it->second.page)) it->second = Found{e, page};
    };
    leaf_entries(source, layout, PageType::nbt, v, &page);
    std::vector<NbtEntry> out;
    out.reserve(by_nid.size());
    for (const auto& [nid, f] : by_nid) out.push_back(f.entry);
    std::sort(out.begin(), out.end(), [](const NbtEntry& a, const NbtEntry& b) { return a.nid < b.nid; });
    return out;
}

}  // namespace mailfsck::pst
