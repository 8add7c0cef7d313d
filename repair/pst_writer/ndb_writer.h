// The node database of a new Unicode PST ([MS-PST] 2.2): blocks with their
// trailers, data trees (XBLOCK, XXBLOCK) and subnode trees (SLBLOCK,
// SIBLOCK), the NBT and BBT, the allocation maps and the header, built from
// the same layouts, CRC and signature the reader checks them with.
//
// Space is handed out in one sweep from the first AMap on, so what lies
// behind the sweep never changes again: each AMap span (248 KiB) is built in
// memory and written whole, its map page first, once the sweep leaves it.
// The file ends on a span boundary, as Outlook's own files do.
#pragma once

#include <cstdint>
#include <vector>

#include "parsers/bytes/bytes.h"
#include "parsers/pst/crypt.h"
#include "parsers/pst/format.h"
#include "parsers/pst/node.h"

namespace mailfsck::pstw {

// Where the file goes: every byte is written once, at its offset.
class RandomOut {
public:
    virtual ~RandomOut() = default;
    virtual void write_at(std::uint64_t offset, ByteView bytes) = 0;
};

class NdbWriter {
public:
    NdbWriter(RandomOut& out, pst::Crypt crypt);

    // The data tree of a node's data: one block when it fits, else an
    // XBLOCK (or XXBLOCK) over blocks cut at the largest block size. 0 for
    // no data at all.
    std::uint64_t data_tree(ByteView data);
    // One block of a data tree written a block at a time (a heap's, a
    // table's row matrix: their contents may not straddle blocks). Every
    // block of a tree but its last is `full`: padded to the largest block
    // size, as [MS-PST] 2.2.2.8.3.1 has it and the checker expects.
    std::uint64_t data_block(ByteView data, bool full);
    // The tree over data blocks already written, in order, `total` bytes
    // in all. 0 for no blocks.
    std::uint64_t data_tree(std::vector<std::uint64_t> bids, std::uint64_t total);
    // The subnode tree of `entries` (in any order): an SLBLOCK, or an
    // SIBLOCK over SLBLOCKs. 0 for no entries.
    std::uint64_t subnode_tree(std::vector<pst::Subnode> entries);
    // The most entries one subnode tree holds (an SIBLOCK of full SLBLOCKs).
    [[nodiscard]] std::size_t max_subnodes() const;
    // A top-level node (an NBT entry).
    void node(std::uint32_t nid, std::uint64_t bid_data, std::uint64_t bid_sub, std::uint32_t parent);

    // rgnid ([MS-PST] 2.2.2.6): per NID type, the last index handed out.
    void set_nid_high_water(const std::array<std::uint32_t, 32>& rgnid) { rgnid_ = rgnid; }
    // Writes the B-trees, the last span and the header; the file is
    // complete once this returns. Nothing may be added after.
    void finish();

    [[nodiscard]] const pst::Layout& layout() const { return *layout_; }

private:
    struct Node {
        std::uint32_t nid = 0;
        std::uint64_t bid_data = 0;
        std::uint64_t bid_sub = 0;
        std::uint32_t parent = 0;
    };
    struct PageRef {
        std::uint64_t key = 0;
        std::uint64_t bid = 0;
        std::uint64_t ib = 0;
    };

    std::uint64_t block(ByteView data, bool internal);
    std::uint64_t internal_levels(std::vector<std::uint64_t> bids, std::uint32_t total);
    std::uint64_t internal_block(std::uint8_t btype, std::uint8_t level, std::size_t count, std::uint64_t total,
                                 const std::vector<unsigned char>& entries);
    std::uint64_t sl_level(const std::vector<pst::Subnode>& entries);
    // Space for `size` bytes aligned to `align`, past any map page.
    std::uint64_t allocate(std::uint64_t size, std::uint64_t align);
    void put(std::uint64_t ib, ByteView bytes);
    void close_span();
    // A B-tree page of `count` entries of `entry_size` bytes, each keyed by
    // its first 8.
    PageRef page(pst::PageType type, const unsigned char* entries, std::size_t count, std::uint32_t entry_size,
                 std::uint8_t level);
    // The BBT leaf of the entries waiting, written as soon as it is full.
    void bbt_leaf();
    // The levels of a B-tree above its leaves; returns the root page.
    PageRef branches(pst::PageType type, std::vector<PageRef> level);
    void write_dlist(unsigned char* page);
    void write_header(const PageRef& nbt, const PageRef& bbt);

    RandomOut* out_;
    pst::Crypt crypt_;
    const pst::Layout* layout_;
    std::uint64_t next_bid_ = 4;       // data and internal blocks step by 4 ([MS-PST] 2.2.2.2)
    std::uint64_t next_page_bid_ = 1;
    std::uint64_t sweep_;              // the next free byte
    std::uint64_t span_start_;         // the span being built
    std::vector<unsigned char> span_;  // its bytes
    std::vector<bool> span_used_;      // its allocation units
    std::uint64_t free_bytes_ = 0;     // cbAMapFree over the spans closed
    std::vector<std::uint16_t> span_free_;  // free 64-byte slots of each span closed (at most 3,968)
    std::uint64_t last_map_ = 0;       // ibAMapLast
    // The BBT is written as blocks are: block ids ascend as they are
    // handed out, so a leaf is final once full, and memory holds one leaf
    // and a reference per leaf, not an entry per block.
    std::vector<unsigned char> bbt_entries_;
    std::vector<PageRef> bbt_leaves_;
    std::vector<Node> nodes_;
    std::array<std::uint32_t, 32> rgnid_{};
    bool finished_ = false;
};

}  // namespace mailfsck::pstw
