// The two B-trees of the node database ([MS-PST] 2.2.2.7.7): the block
// B-tree (BBT: block id -> offset, size, reference count) and the node
// B-tree (NBT: node id -> data block, subnode block, parent). Walked from
// the header's roots with every page and every key checked; the walk is
// iterative, bounded in depth, and never visits a branch page twice, so a
// page that points at itself or an ancestor ends in a finding, not a loop.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "parsers/bytes/bytes.h"
#include "parsers/bytes/source.h"
#include "parsers/pst/format.h"
#include "parsers/pst/header.h"
#include "parsers/pst/page.h"

namespace mailfsck::pst {

struct BbtEntry {
    std::uint64_t bid = 0;
    std::uint64_t ib = 0;
    std::uint32_t cb = 0;
    // The data's size once inflated: 4K files may store a block
    // zlib-compressed, cb then being the compressed size; elsewhere == cb.
    std::uint32_t cb_inflated = 0;
    std::uint32_t cref = 0;
    std::uint64_t at = 0;  // file offset of the entry itself
    // Carved where it lies, away from where it was written (carve.h): its
    // signature names another offset, and its id and CRC vouch for it.
    bool moved = false;
    // A moved block: where it was written, when carving can tell; 0 when
    // it cannot (see written_place()).
    std::uint64_t written_at = 0;
    // A moved block that a stretch of inserted bytes cut in two
    // (cut_point): its first `cut` bytes lie at written_at, the rest at
    // ib + cut, as its trailer does; 0 when it is whole where it lies. The
    // stretch began at any of cut..cut_last: the bytes there are the same
    // on both sides of it.
    std::uint32_t cut = 0;
    std::uint32_t cut_last = 0;
};

// Where a block was written: where it lies, unless it moved; nullopt for a
// moved block nothing places.
[[nodiscard]] inline std::optional<std::uint64_t> written_place(const BbtEntry& e) {
    if (!e.moved) return e.ib;
    if (e.written_at != 0) return e.written_at;
    return std::nullopt;
}

struct NbtEntry {
    std::uint64_t nid = 0;
    std::uint64_t bid_data = 0;
    std::uint64_t bid_sub = 0;
    std::uint32_t parent = 0;
    std::uint64_t at = 0;
    // Carved (carve_node_entries): a newer page names other blocks for this
    // node, and they are lost; this entry is of an older version.
    bool stale = false;
};

// Real trees are 2 to 4 levels deep; this many cannot happen in a file
// under any size limit Outlook has had.
inline constexpr std::uint32_t max_btree_depth = 12;

struct TreeWalk {
    std::uint64_t pages = 0;
    std::uint64_t entries = 0;
    std::uint32_t depth = 0;          // levels seen under the root, root included
    std::uint64_t highest_page_bid = 0;
    std::vector<PageDefect> defects;
};

struct TreeVisitor {
    std::function<void(const Bref& page)> page;  // every page accepted into the walk
    std::function<void(const BbtEntry&)> bbt;
    std::function<void(const NbtEntry&)> nbt;
};

// Pages for lookups (`cache` below), copied out of a source, the most
// recently used few kept: every lookup reads the pages near the root, and
// the blocks of one message mostly share a leaf. Read through a mapping,
// lookups all over a large file would fault on nearly every leaf.
class PageCache {
public:
    PageCache(const Source& source, const Layout& layout) : source_(&source), layout_(&layout) {}
    // page_at's contract. The view is valid until `capacity` other pages
    // have been read.
    [[nodiscard]] std::optional<ByteView> page(std::uint64_t ib) const;

    static constexpr std::size_t capacity = 32;

private:
    struct Entry {
        std::uint64_t ib = 0;
        std::uint64_t used = 0;
        std::vector<unsigned char> bytes;
    };
    const Source* source_;
    const Layout* layout_;
    mutable std::vector<Entry> entries_;
    mutable std::uint64_t clock_ = 0;
};

// Walks the tree of `type` (bbt or nbt) from `root`; leaf entries reach the
// visitor in strictly ascending key order, each key at most once, however
// the pages are damaged. Memory: the branch pages' offsets only.
//
// `through`: when given (the source whose bytes `file` is), pages are
// copied out of it (Source::read) rather than read through the mapping,
// where each page of a tree spread over a large file costs a page fault.
// Lookups, below, read through the mapping or a PageCache.
TreeWalk walk_tree(const ByteView& file, const Layout& layout, PageType type, const Bref& root,
                   const TreeVisitor& visit, const Source* through = nullptr);

// Looks `key` up from `root` without walking the whole tree (bounded by
// max_btree_depth page reads); nullopt when absent or unreachable. How the
// layers above (LTP, messaging) will reach a node's blocks, with no table
// of every block in memory.
[[nodiscard]] std::optional<BbtEntry> find_block(const ByteView& file, const Layout& layout, const Bref& root,
                                                 std::uint64_t bid, const PageCache* cache = nullptr);
[[nodiscard]] std::optional<NbtEntry> find_node(const ByteView& file, const Layout& layout, const Bref& root,
                                                std::uint64_t nid, const PageCache* cache = nullptr);

}  // namespace mailfsck::pst
