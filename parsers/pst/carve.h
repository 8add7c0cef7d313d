// Blocks and pages found by their own trailers alone ([MS-PST] 2.2.2.7.1,
// 2.2.2.8.1), for when the header or the B-trees that place them are
// damaged: the file is scanned at block alignment for block trailers and
// at page alignment for page trailers, and a candidate is kept only when
// its signature and CRC check out. A healthy file also holds valid stale
// copies (superseded or freed blocks and pages): carving finds them too,
// and choosing between copies is the caller's business.
//
// The signature is computed from the offset a block or page was written
// at. One whose CRC checks out under a signature naming another offset was
// moved: bytes were inserted into or cut from the file before it (a
// resumed transfer that sent a stretch twice, a file rebuilt from
// fragments), or a write landed in the wrong place. Its bytes are still
// what was written, so carving keeps it, marked `moved`, where it lies
// (blocks, and B-tree pages: other pages are not all signed alike).
//
// A stretch that is not a whole number of blocks moves what follows off
// block alignment. Carving then also looks at the phases (offsets modulo
// the block alignment) at which moved B-tree pages are found: a page's CRC
// and doubled type byte find it at any offset, and the data moved with it
// lies at the same phase.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "parsers/bytes/bytes.h"
#include "parsers/bytes/source.h"
#include "parsers/pst/btree.h"
#include "parsers/pst/format.h"
#include "parsers/pst/header.h"
#include "parsers/pst/node.h"

namespace mailfsck::pst {

struct CarvedBlock {
    std::uint64_t bid = 0;
    std::uint64_t ib = 0;
    std::uint32_t cb = 0;
    std::uint16_t signature = 0;  // as stored: a moved block's names where it was written
    bool moved = false;
};

struct CarvedPage {
    std::uint64_t ib = 0;
    std::uint64_t bid = 0;
    PageType type = PageType::bbt;
    bool moved = false;
};

// Each visits its finds in file order; time linear in the file's size,
// memory constant: the whole file is read through the source's mapping,
// which is let go every few MiB behind the scan. Every function here reads
// the file as `source` gives it.
//
// The signature is also the cheap test that spares nearly every false
// candidate a CRC; a moved block lacks it, so a block is looked for as
// moved only when its id is below `moved_below` (0: none are), an id the
// store has given out: random bytes seldom pass for one.
//
// `phases` lists the offsets modulo the block alignment to look at,
// ascending, 0 first (find_phases).
//
// `unsound`, when given, visits the trailers that would be a moved block's
// but for a CRC that fails over the bytes before them: among them, the
// trailer of a block a stretch was inserted into (cut_point).
using Phases = std::vector<std::uint32_t>;
void carve_blocks(const Source& source, const Layout& layout, const Phases& phases, std::uint64_t moved_below,
                  const std::function<void(const CarvedBlock&)>& visit,
                  const std::function<void(const CarvedBlock&)>& unsound = {});
void carve_pages(const Source& source, const Layout& layout, const Phases& phases,
                 const std::function<void(const CarvedPage&)>& visit);

// 0, and the phases off block alignment at which B-tree pages lie whose
// CRC checks out (at most max_phases of them, those with the most pages):
// two passes over the file, the type byte found by memchr.
constexpr std::size_t max_phases = 4;
[[nodiscard]] Phases find_phases(const Source& source, const Layout& layout);

// The B-tree roots found without the header: for each tree, its newest
// page (highest id) among those of the greatest level carving finds where
// they were written (a moved page's entries point where its children were). Pages
// are never rewritten in place, so the older roots and pages a file still
// holds are stale copies. On every corpus file this is the root the header
// names (a test holds it). bid 0: no page of that tree was found.
struct CarvedRoots {
    Bref bbt;
    Bref nbt;
};

[[nodiscard]] CarvedRoots carve_roots(const Source& source, const Layout& layout, const Phases& phases);

// Index entries rebuilt from carving, for a tree whose walk from the root
// failed. A block id is never reused and a changed block gets a new one,
// so every valid copy of one id holds the same bytes: the block entries are
// those of every carved BBT leaf page whose block checks out where it says
// (so 4K entries keep their inflated sizes), then every carved block no
// such entry names, moved ones included (`moved` set, the inflated size
// the leaf gave its id). Blocks are looked for as moved below the greater
// of `next_bid` (the header's bidNextB, 0 when unknown) and the ids the
// leaves name. Memory grows with the entries: salvage only.
//
// A moved block's `written_at` is the place a leaf gives its id when its
// signature names that place. A block no leaf places (a freed one, say)
// is taken to have moved with its neighbours, as a stretch of the file
// moves whole: it gets the shift of the nearest block placed so on either
// side whose shift its signature confirms.
//
// A block that a stretch was inserted into is joined again (cut_point) when
// a leaf names it (ShiftFinder) or, when none does, at the shift of the
// nearest block placed so on either side; at most max_unsound_blocks
// trailers whose CRC fails are tried (memory).
[[nodiscard]] std::vector<BbtEntry> carve_block_entries(const Source& source, const Layout& layout,
                                                        const Phases& phases, std::uint64_t next_bid);
constexpr std::size_t max_unsound_blocks = std::size_t{1} << 16;

// Where a block lies that is not where an index places it, moved by a
// stretch of any number of bytes inserted or lost before it: at a shift
// another block showed, or else found by its id in its trailer (a search
// of the file within max_shift of its place; at most max_searches in all,
// as a block that is simply lost costs one each). A copy counts only when
// it confirms the entry: its trailer's size and id, a signature naming the
// place the index gives (where it was written), and its CRC. Stretches
// longer than max_shift are found by the pages that moved (find_phases).
class ShiftFinder {
public:
    ShiftFinder(const Source& source, const Layout& layout) : source_(&source), layout_(&layout) {}
    // The block where it lies now: `moved`, written_at the entry's place.
    [[nodiscard]] std::optional<BbtEntry> find(const BbtEntry& placed);
    // `with` and the phases of the shifts found so far, ascending.
    [[nodiscard]] Phases phases(const Phases& with) const;

    static constexpr int max_searches = 8;
    static constexpr std::uint64_t max_shift = std::uint64_t{64} << 20;

private:
    [[nodiscard]] std::optional<BbtEntry> at(const BbtEntry& placed, std::uint64_t shift);
    [[nodiscard]] std::optional<BbtEntry> search(const BbtEntry& placed);

    const Source* source_;
    const Layout* layout_;
    std::vector<std::uint64_t> shifts_;  // where it lies minus where it was written, modulo 2^64
    int searches_ = 0;
    std::vector<unsigned char> buffer_;
};

// The blocks carving finds moved, for a store whose B-trees are sound but
// place blocks where they no longer lie (NodeReader::relocate_through).
// The file is carved, at the phases `phases` gives, on the first
// lookup, which a store read without trouble never makes; a block carving
// missed is looked for by its entry in `placed` (ShiftFinder). At most
// max_moved_blocks are kept (memory); `skipped` counts the rest.
class MovedBlocks final : public BlockIndex {
public:
    // `phases` is asked on the first lookup (find_phases is a pass over the
    // file that its owner may have made already).
    MovedBlocks(const Source& source, const Layout& layout, const BlockIndex& placed, std::uint64_t moved_below,
                std::function<const Phases&()> phases)
        : source_(&source), layout_(&layout), placed_(&placed), moved_below_(moved_below),
          phases_(std::move(phases)), finder_(source, layout) {}
    [[nodiscard]] std::optional<BbtEntry> block(std::uint64_t bid) const override;
    // What was found, ascending by block id: empty until a lookup.
    [[nodiscard]] std::vector<BbtEntry> blocks() const;
    [[nodiscard]] std::uint64_t skipped() const { return skipped_; }

    static constexpr std::size_t max_moved_blocks = std::size_t{1} << 21;

private:
    const Source* source_;
    const Layout* layout_;
    const BlockIndex* placed_;
    std::uint64_t moved_below_;
    std::function<const Phases&()> phases_;
    mutable std::optional<SalvageIndex> index_;  // once carved
    mutable ShiftFinder finder_;
    mutable std::map<std::uint64_t, BbtEntry> found_;  // by finder_, by block id
    mutable std::uint64_t skipped_ = 0;
};

// Which blocks are there, for carve_node_entries.
using BlockPresent = std::function<bool(std::uint64_t bid)>;

// For each of `views`, the entries of every carved NBT leaf page whose data
// block (and subnode block, if any) the view has: a rewritten or deleted
// node's old blocks are freed, so the stale pages' entries for it drop out.
// A node named in several pages keeps the entry of the newest page (the
// highest page id): a message moved to another folder keeps its blocks, and
// only the newer page has its new parent. An entry of an older page than
// the newest naming its node is marked `stale`: the node's current blocks
// are lost. The file's pages are read once, whatever the number of views.
[[nodiscard]] std::vector<std::vector<NbtEntry>> carve_node_entries(const Source& source, const Layout& layout,
                                                                    const Phases& phases,
                                                                    std::span<const BlockPresent> views);

}  // namespace mailfsck::pst
