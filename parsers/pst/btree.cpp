#include "btree.h"

#include <algorithm>
#include <array>
#include <optional>
#include <unordered_set>

namespace mailfsck::pst {
namespace {

std::uint64_t read_id(Cursor& c, const Layout& layout) { return layout.wide ? c.u64le() : c.u32le(); }

// BTENTRY ([MS-PST] 2.2.2.7.7.2): btkey, then the child's BREF.
struct Branch {
    std::uint64_t key = 0;
    Bref child;
};

Branch read_branch(const ByteView& page, std::uint64_t pos, const Layout& layout) {
    Cursor c(page, pos);
    Branch b;
    b.key = read_id(c, layout);
    b.child.bid = read_id(c, layout);
    b.child.ib = read_id(c, layout);
    return b;
}

// BBTENTRY ([MS-PST] 2.2.2.7.7.3): BREF, cb, cRef; the 4K format puts
// the inflated size between cb and cRef (libpff's format document).
BbtEntry read_bbt(const ByteView& page, std::uint64_t pos, const Layout& layout) {
    Cursor c(page, pos);
    BbtEntry e;
    e.bid = read_id(c, layout);
    e.ib = read_id(c, layout);
    e.cb = c.u16le();
    e.cb_inflated = layout.format == Format::unicode_4k ? c.u16le() : e.cb;
    e.cref = c.u16le();
    e.at = page.base() + pos;
    return e;
}

// NBTENTRY ([MS-PST] 2.2.2.7.7.4): nid (padded to 8 bytes in Unicode),
// bidData, bidSub, nidParent.
NbtEntry read_nbt(const ByteView& page, std::uint64_t pos, const Layout& layout) {
    Cursor c(page, pos);
    NbtEntry e;
    e.nid = read_id(c, layout) & 0xFFFFFFFF;
    e.bid_data = read_id(c, layout);
    e.bid_sub = read_id(c, layout);
    e.parent = c.u32le();
    e.at = page.base() + pos;
    return e;
}

// The key of the entry at `pos`, leaf or branch: a BID less its reserved
// bit 0, which lookups ignore ([MS-PST] 2.2.2.2), so two ids that differ
// only there are one key; or a NID, which fills only the low 32 bits of
// its field ([MS-PST] 2.2.2.1).
std::uint64_t entry_key(const ByteView& page, std::uint64_t pos, const Layout& layout, PageType type) {
    Cursor c(page, pos);
    const std::uint64_t key = read_id(c, layout);
    return type == PageType::nbt ? key & 0xFFFFFFFF : bid_key(key);
}

std::uint32_t leaf_size(PageType type, const Layout& layout) {
    return type == PageType::bbt ? layout.bbt_entry : layout.nbt_entry;
}

struct Frame {
    Bref ref;
    std::uint64_t from = 0;  // offset of the entry pointing here (0: the header)
    std::optional<std::uint64_t> parent_key;  // the entry that points here
    std::optional<std::uint64_t> upper;       // the parent's next key: keys here stay below it
    std::optional<std::uint32_t> level;       // expected cLevel
    std::uint32_t depth = 1;
    std::array<std::uint64_t, max_btree_depth> path{};  // offsets of the pages above, root first
};

// The page a frame points at, checked; nullopt when its entries cannot be
// trusted (wrong kind of page, CRC mismatch, metadata out of bounds).
struct Accepted {
    ByteView page;
    BtPageInfo info;
};

std::optional<Accepted> accept(const ByteView& file, const Layout& layout, PageType type, const Frame& f,
                               TreeWalk& walk, const Source* through, std::vector<unsigned char>& buffer) {
    const std::optional<ByteView> page = read_page(file, f.ref.ib, layout, through, buffer);
    if (!page || f.ref.ib % layout.page_size != 0) {
        // At the entry that points there: the page itself may not exist.
        walk.defects.push_back({PageDefectKind::out_of_file, f.from, layout.branch_entry,
                                "page " + std::to_string(f.ref.bid) + " at " + std::to_string(f.ref.ib)});
        return std::nullopt;
    }
    std::vector<PageDefect> found;
    check_page_trailer(*page, layout, type, f.ref.bid, found);
    bool trusted = true;
    for (const PageDefect& d : found)
        trusted = trusted && d.kind != PageDefectKind::type_mismatch && d.kind != PageDefectKind::bad_crc;
    walk.defects.insert(walk.defects.end(), found.begin(), found.end());
    if (!trusted) return std::nullopt;
    const BtPageInfo info = read_bt_info(*page, layout);
    const std::uint64_t meta = f.ref.ib + layout.bt_meta_offset;
    if ((f.level && info.level != *f.level) || (!f.level && info.level >= max_btree_depth)) {
        walk.defects.push_back({PageDefectKind::bad_level, meta, 4,
                                "cLevel " + std::to_string(info.level) +
                                    (f.level ? ", expected " + std::to_string(*f.level) : std::string())});
        return std::nullopt;
    }
    const std::uint32_t want = info.level > 0 ? layout.branch_entry : leaf_size(type, layout);
    if (info.entry_size != want) {
        walk.defects.push_back({PageDefectKind::bad_entry_size, meta, 4,
                                "cbEnt " + std::to_string(info.entry_size) + ", expected " + std::to_string(want)});
        return std::nullopt;
    }
    const std::uint32_t room = layout.bt_entries_bytes / want;
    if (info.count > info.max || info.count > room) {
        walk.defects.push_back({PageDefectKind::bad_entry_count, meta, 4,
                                "cEnt " + std::to_string(info.count) + ", cEntMax " + std::to_string(info.max) +
                                    ", room for " + std::to_string(room)});
        return std::nullopt;
    }
    return Accepted{*page, info};
}

}  // namespace

TreeWalk walk_tree(const ByteView& file, const Layout& layout, PageType type, const Bref& root,
                   const TreeVisitor& visit, const Source* through) {
    TreeWalk walk;
    std::vector<unsigned char> buffer;  // the page being walked, when copied
    // Memory stays proportional to the branch pages alone (one in twenty
    // pages): a leaf is checked against its ancestors, which is where any
    // cycle through it must pass, and a leaf reached twice is caught by the
    // keys, which a sound tree gives in strictly ascending order.
    std::unordered_set<std::uint64_t> branches_seen;
    std::optional<std::uint64_t> last_leaf_key;
    std::vector<Frame> stack{Frame{root, 0, std::nullopt, std::nullopt, std::nullopt, 1, {}}};
    while (!stack.empty()) {
        const Frame f = stack.back();
        stack.pop_back();
        if (f.depth > max_btree_depth) {
            walk.defects.push_back({PageDefectKind::too_deep, f.from, layout.branch_entry, {}});
            continue;
        }
        const bool ancestor = std::find(f.path.begin(), f.path.begin() + (f.depth - 1), f.ref.ib) !=
                              f.path.begin() + (f.depth - 1);
        const bool leaf_expected = f.level && *f.level == 0;
        if (ancestor || (!leaf_expected && !branches_seen.insert(f.ref.ib).second)) {
            walk.defects.push_back({PageDefectKind::cycle, f.ref.ib, layout.page_size,
                                    "page at " + std::to_string(f.ref.ib) + " reached again"});
            continue;
        }
        const std::optional<Accepted> a = accept(file, layout, type, f, walk, through, buffer);
        if (!a) continue;
        ++walk.pages;
        walk.depth = std::max(walk.depth, f.depth);
        walk.highest_page_bid = std::max(walk.highest_page_bid, bid_key(f.ref.bid));
        if (visit.page) visit.page(f.ref);

        const ByteView& page = a->page;
        const std::uint32_t size = a->info.entry_size;
        std::vector<Frame> children;
        std::optional<std::uint64_t> previous;
        bool skipped = false;
        for (std::uint32_t i = 0; i < a->info.count; ++i) {
            const std::uint64_t pos = std::uint64_t{i} * size;
            const std::uint64_t key = entry_key(page, pos, layout, type);
            const std::uint64_t at = page.base() + pos;
            if (previous && key <= *previous)
                walk.defects.push_back({PageDefectKind::keys_not_ascending, at, size,
                                        "key " + std::to_string(key) + " after " + std::to_string(*previous)});
            if (i == 0 && f.parent_key && key != *f.parent_key)
                walk.defects.push_back({PageDefectKind::first_key_mismatch, at, size,
                                        "first key " + std::to_string(key) + ", parent's " +
                                            std::to_string(*f.parent_key)});
            if (f.upper && key >= *f.upper)
                walk.defects.push_back({PageDefectKind::key_out_of_range, at, size,
                                        "key " + std::to_string(key) + " not below " + std::to_string(*f.upper)});
            previous = key;
            if (a->info.level > 0) {
                Frame child{read_branch(page, pos, layout).child, at, key, std::nullopt, a->info.level - 1, f.depth + 1, f.path};
                child.path[f.depth - 1] = f.ref.ib;
                children.push_back(child);
                continue;
            }
            // Each key reaches the visitor once, in order, whatever the
            // damage: a duplicated or misplaced leaf adds nothing twice.
            if (last_leaf_key && key <= *last_leaf_key) {
                skipped = true;
                continue;
            }
            last_leaf_key = key;
            ++walk.entries;
            if (type == PageType::bbt && visit.bbt) visit.bbt(read_bbt(page, pos, layout));
            if (type == PageType::nbt && visit.nbt) visit.nbt(read_nbt(page, pos, layout));
        }
        if (skipped)
            walk.defects.push_back({PageDefectKind::keys_not_ascending, f.ref.ib, layout.page_size,
                                    "leaf page holds keys already seen, up to " + std::to_string(*last_leaf_key)});
        // Each child's keys stay below the next child's first key.
        for (std::size_t i = 0; i + 1 < children.size(); ++i) children[i].upper = children[i + 1].parent_key;
        if (!children.empty()) children.back().upper = f.upper;
        stack.insert(stack.end(), children.rbegin(), children.rend());
    }
    return walk;
}

namespace {

// Descends from `root` to the leaf that would hold `key`; returns the leaf
// page and the position of the entry with that key.
std::optional<std::pair<ByteView, std::uint64_t>> find_leaf(const ByteView& file, const Layout& layout, PageType type,
                                                            const Bref& root, std::uint64_t key, const PageCache* cache) {
    Bref ref = root;
    for (std::uint32_t depth = 0; depth < max_btree_depth; ++depth) {
        const std::optional<ByteView> page = cache != nullptr ? cache->page(ref.ib) : page_at(file, ref.ib, layout);
        if (!page) return std::nullopt;
        const PageTrailer t = read_page_trailer(*page, layout);
        if (t.ptype != static_cast<std::uint8_t>(type)) return std::nullopt;
        const BtPageInfo info = read_bt_info(*page, layout);
        const std::uint32_t want = info.level > 0 ? layout.branch_entry : leaf_size(type, layout);
        if (info.entry_size != want || info.count == 0 || info.count > layout.bt_entries_bytes / want)
            return std::nullopt;
        if (info.level == 0) {
            for (std::uint32_t i = 0; i < info.count; ++i)
                if (entry_key(*page, std::uint64_t{i} * want, layout, type) == key)
                    return std::pair{*page, std::uint64_t{i} * want};
            return std::nullopt;
        }
        // The last branch whose key is not above the one sought.
        std::optional<std::uint64_t> chosen;
        for (std::uint32_t i = 0; i < info.count; ++i) {
            if (entry_key(*page, std::uint64_t{i} * want, layout, type) > key) break;
            chosen = std::uint64_t{i} * want;
        }
        if (!chosen) return std::nullopt;
        ref = read_branch(*page, *chosen, layout).child;
    }
    return std::nullopt;
}

}  // namespace

std::optional<ByteView> PageCache::page(std::uint64_t ib) const {
    ++clock_;
    for (Entry& e : entries_)
        if (e.ib == ib && !e.bytes.empty()) {
            e.used = clock_;
            return ByteView(e.bytes.data(), e.bytes.size(), ib);
        }
    if (entries_.size() < capacity) entries_.emplace_back();
    Entry& e = *std::min_element(entries_.begin(), entries_.end(),
                                 [](const Entry& a, const Entry& b) { return a.used < b.used; });
    e.ib = ib;
    e.used = clock_;
    const std::optional<ByteView> copy = read_page(source_->bytes(), ib, *layout_, source_, e.bytes);
    if (!copy) {
        e.bytes.clear();
        return std::nullopt;
    }
    // A source that does not copy returns its own bytes, and `e` stays empty.
    return copy;
}

std::optional<BbtEntry> find_block(const ByteView& file, const Layout& layout, const Bref& root, std::uint64_t bid,
                                   const PageCache* cache) {
    const auto leaf = find_leaf(file, layout, PageType::bbt, root, bid_key(bid), cache);
    if (!leaf) return std::nullopt;
    return read_bbt(leaf->first, leaf->second, layout);
}

std::optional<NbtEntry> find_node(const ByteView& file, const Layout& layout, const Bref& root, std::uint64_t nid,
                                  const PageCache* cache) {
    const auto leaf = find_leaf(file, layout, PageType::nbt, root, nid, cache);
    if (!leaf) return std::nullopt;
    return read_nbt(leaf->first, leaf->second, layout);
}

}  // namespace mailfsck::pst
