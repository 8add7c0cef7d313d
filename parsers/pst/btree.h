// The two B-trees of the node database ([MS-PST] 2.2.2.7.7): the block
// B-tree (BBT: block id -> offset, size, reference count) and the node
// B-tree (NBT: node id -> data block, subnode block, parent). Walked from
// the header's roots with every page and every key checked; the walk is
// iterative, bounded in depth, and never visits a branch page twice, so a
// page that points at itself or an ancestor ends in a finding, not a loop.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "parsers/bytes/bytes.h"
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
};

struct NbtEntry {
    std::uint64_t nid = 0;
    std::uint64_t bid_data = 0;
    std::uint64_t bid_sub = 0;
    std::uint32_t parent = 0;
    std::uint64_t at = 0;
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

// Walks the tree of `type` (bbt or nbt) from `root`; leaf entries reach the
// visitor in strictly ascending key order, each key at most once, however
// the pages are damaged. Memory: the branch pages' offsets only.
TreeWalk walk_tree(const ByteView& file, const Layout& layout, PageType type, const Bref& root,
                   const TreeVisitor& visit);

// Looks `key` up from `root` without walking the whole tree (bounded by
// max_btree_depth page reads); nullopt when absent or unreachable. How the
// layers above (LTP, messaging) will reach a node's blocks, with no table
// of every block in memory.
[[nodiscard]] std::optional<BbtEntry> find_block(const ByteView& file, const Layout& layout, const Bref& root,
                                                 std::uint64_t bid);
[[nodiscard]] std::optional<NbtEntry> find_node(const ByteView& file, const Layout& layout, const Bref& root,
                                                std::uint64_t nid);

}  // namespace mailfsck::pst
