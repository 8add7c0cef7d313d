// Blocks and pages found by their own trailers alone ([MS-PST] 2.2.2.7.1,
// 2.2.2.8.1), for when the header or the B-trees that place them are
// damaged: the file is scanned at block alignment for block trailers and
// at page alignment for page trailers, and a candidate is kept only when
// its signature and CRC check out. A healthy file also holds valid stale
// copies (superseded or freed blocks and pages): carving finds them too,
// and choosing between copies is the caller's business.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "parsers/bytes/bytes.h"
#include "parsers/bytes/source.h"
#include "parsers/pst/btree.h"
#include "parsers/pst/format.h"
#include "parsers/pst/header.h"

namespace mailfsck::pst {

struct CarvedBlock {
    std::uint64_t bid = 0;
    std::uint64_t ib = 0;
    std::uint32_t cb = 0;
};

struct CarvedPage {
    std::uint64_t ib = 0;
    std::uint64_t bid = 0;
    PageType type = PageType::bbt;
};

// Each visits its finds in file order; time linear in the file's size,
// memory constant: the whole file is read through the source's mapping,
// which is let go every few MiB behind the scan. Every function here reads
// the file as `source` gives it.
void carve_blocks(const Source& source, const Layout& layout, const std::function<void(const CarvedBlock&)>& visit);
void carve_pages(const Source& source, const Layout& layout, const std::function<void(const CarvedPage&)>& visit);

// The B-tree roots found without the header: for each tree, its newest
// page (highest id) among those of the greatest level carving finds. Pages
// are never rewritten in place, so the older roots and pages a file still
// holds are stale copies. On every corpus file this is the root the header
// names (a test holds it). bid 0: no page of that tree was found.
struct CarvedRoots {
    Bref bbt;
    Bref nbt;
};

[[nodiscard]] CarvedRoots carve_roots(const Source& source, const Layout& layout);

// Index entries rebuilt from carving, for a tree whose walk from the root
// failed. A block id is never reused and a changed block gets a new one,
// so every valid copy of one id holds the same bytes: the block entries are
// those of every carved BBT leaf page whose block checks out where it says
// (so 4K entries keep their inflated sizes), then every carved block no
// such entry names. Memory grows with the entries: salvage only.
[[nodiscard]] std::vector<BbtEntry> carve_block_entries(const Source& source, const Layout& layout);

// The entries of every carved NBT leaf page whose data block (and subnode
// block, if any) `live` accepts: a rewritten or deleted node's old blocks
// are freed, so the stale pages' entries for it drop out. A node named
// in several pages keeps the entry of the newest page (the highest page
// id): a message moved to another folder keeps its blocks, and only the
// newer page has its new parent.
[[nodiscard]] std::vector<NbtEntry> carve_node_entries(const Source& source, const Layout& layout,
                                                       const std::function<bool(std::uint64_t bid)>& live);

}  // namespace mailfsck::pst
