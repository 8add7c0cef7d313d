// The LTP layer of a new PST ([MS-PST] 2.3): a node's Heap-on-Node, the
// BTree-on-Heap, Property Contexts and Table Contexts, laid out the way
// the reader (parsers/pst/heap.h, ltp.h) reads them back. Values too large
// for the heap go to subnodes of the node, written at once through the
// NDB writer.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "parsers/pst/heap.h"
#include "parsers/pst/ltp.h"
#include "repair/pst_writer/ndb_writer.h"

namespace mailfsck::pstw {

using Bytes = std::vector<unsigned char>;

// The largest heap allocation ([MS-PST] 2.3.1.1): larger values live in
// subnodes.
inline constexpr std::size_t max_heap_allocation = 3580;

// The most columns a table holds ([MS-PST] 2.3.4.1: cCols is a byte),
// PidTagLtpRowId and PidTagLtpRowVer included.
inline constexpr std::size_t max_table_columns = 255;
// The most blocks a heap has: a HID's hidBlockIndex is 16 bits ([MS-PST]
// 2.3.1.1).
inline constexpr std::size_t max_heap_blocks = 65536;

// A node's heap, written as it grows: each block goes out once the next
// one begins, but for the two whose headers wait on later blocks (the
// first, with the root and the first fill levels; the latest bitmap
// block, with the next 128 fill levels). So a heap of any size holds at
// most three blocks.
class HeapWriter {
public:
    // `max_blocks` is max_heap_blocks but in tests, which fill a heap
    // without writing half a gigabyte.
    HeapWriter(NdbWriter& ndb, pst::HeapClient client, std::size_t max_blocks = max_heap_blocks)
        : ndb_(&ndb), client_(client), max_blocks_(max_blocks) {}
    // A new allocation holding `data` (at most max_heap_allocation bytes);
    // a length_error past the heap's last block.
    pst::Hid allocate(ByteView data);
    // Blocks begun, and the most there may be.
    [[nodiscard]] std::size_t blocks() const { return bids_.size(); }
    [[nodiscard]] std::size_t max_blocks() const { return max_blocks_; }
    void set_root(pst::Hid root) { root_ = root; }
    // Writes the blocks not yet written; the heap's data tree.
    std::uint64_t finish();

private:
    struct Block {
        Bytes data;  // header, then allocations
        std::vector<std::uint16_t> starts;
    };
    void begin_block();
    // Adds the page map of block `index`, then writes it or holds it.
    void close(std::size_t index, Block block);
    void write(std::size_t index, Block& block);

    NdbWriter* ndb_;
    pst::HeapClient client_;
    std::size_t max_blocks_;
    pst::Hid root_;
    Block open_;   // the block allocations go to
    Block first_;  // block 0, held
    Block bitmap_;  // the latest bitmap block, held
    std::size_t bitmap_index_ = 0;  // 0: none held
    std::vector<std::uint64_t> bids_;
    std::vector<std::uint8_t> levels_;  // rgbFillLevel, a block each
    std::uint64_t written_bytes_ = 0;
};

// A node's content as it is being built: its heap, and the subnodes its
// large values went to.
class NodeBuilder {
public:
    NodeBuilder(NdbWriter& ndb, pst::HeapClient client, std::size_t heap_blocks = max_heap_blocks)
        : ndb_(&ndb), heap_(ndb, client, heap_blocks) {}
    // Where a value that is not kept inline goes ([MS-PST] 2.3.3.2): 0
    // when empty, a HID when it fits the heap, else the NID of a new
    // subnode holding it.
    std::uint32_t place(ByteView value);
    // A new subnode over a data tree already written (a row matrix); its NID.
    std::uint32_t place_tree(std::uint64_t bid_data);
    HeapWriter& heap() { return heap_; }
    [[nodiscard]] const HeapWriter& heap() const { return heap_; }
    NdbWriter& ndb() { return *ndb_; }
    [[nodiscard]] const NdbWriter& ndb() const { return *ndb_; }
    // A subnode of the node's own making (attachments, recipient table).
    void add_subnode(const pst::Subnode& s) { subnodes_.push_back(s); }
    [[nodiscard]] std::size_t subnodes() const { return subnodes_.size(); }
    // Writes the rest of the heap as the node's data tree, and the subnode
    // tree: {bid_data, bid_sub}.
    std::pair<std::uint64_t, std::uint64_t> write();

private:
    NdbWriter* ndb_;
    HeapWriter heap_;
    std::vector<pst::Subnode> subnodes_;
    std::uint32_t next_value_index_ = 1;
};

// UTF-8 text as a PtypString value (UTF-16LE); bytes that are no UTF-8
// become U+FFFD.
[[nodiscard]] Bytes utf16(const std::string& utf8);
// A PtypString value as well-formed UTF-16LE: an unpaired surrogate or a
// last odd byte becomes U+FFFD, as the checker says it is written.
[[nodiscard]] Bytes well_formed_utf16(const Bytes& value);

// A BTree-on-Heap ([MS-PST] 2.3.2) over `records` (one after another,
// each a key of `key_size` bytes then `data_size` bytes, ascending by
// key); returns its header's HID.
pst::Hid write_bth(HeapWriter& heap, std::uint8_t key_size, std::uint8_t data_size, ByteView records);

// A Property Context ([MS-PST] 2.3.3) of `properties` (ids unique).
void write_pc(NodeBuilder& node, std::vector<pst::Property> properties);

// A Table Context ([MS-PST] 2.3.4) written a row at a time: values and
// row matrix blocks go out as they fill, so a folder of a million
// messages holds a few blocks and eight bytes a row (the row index, which
// must be sorted), not its rows.
class TableWriter {
public:
    // `columns`: tags (id << 16 | type); PidTagLtpRowId and
    // PidTagLtpRowVer are added.
    TableWriter(NdbWriter& ndb, std::vector<std::uint32_t> columns, std::size_t heap_blocks = max_heap_blocks);
    // Whether the table can take `row` and still be finished: its values
    // and, at the end, its row index must fit the heap's HIDs, and its
    // large values one subnode tree. Millions of rows can fill them.
    [[nodiscard]] bool room_for(const pst::TableRow& row) const;
    // A row; its cells outside the columns are left out.
    void add(const pst::TableRow& row);
    // Writes the rest of the table: {bid_data, bid_sub}.
    std::pair<std::uint64_t, std::uint64_t> finish();
    [[nodiscard]] std::uint32_t rows() const { return rows_; }

private:
    struct Column {
        std::uint32_t tag = 0;
        std::uint16_t offset = 0;  // in the row
        std::uint8_t size = 0;
        std::uint8_t bit = 0;  // in the cell existence bitmap
    };
    [[nodiscard]] const Column* column(std::uint32_t tag) const;
    // Where a cell's value goes: the row itself, the heap, a subnode, or
    // nowhere (no column, or empty).
    enum class Place { none, row, heap, subnode };
    [[nodiscard]] Place place_of(const pst::Property& p, const Column** c) const;

    NodeBuilder node_;
    std::vector<std::uint32_t> tags_;  // ascending
    std::vector<Column> columns_;      // in row order
    std::array<std::uint16_t, 4> ends_{};  // rgib: ends of the 4-, 2-, 1-byte cells and the bitmap
    std::size_t rows_per_block_ = 0;
    Bytes matrix_;  // the row matrix block being filled
    std::vector<std::uint64_t> matrix_bids_;
    std::uint64_t matrix_bytes_ = 0;
    std::vector<std::uint64_t> index_;  // row id << 32 | row number
    std::uint32_t rows_ = 0;
};

// A whole table at once: {bid_data, bid_sub}.
std::pair<std::uint64_t, std::uint64_t> write_table(NdbWriter& ndb, const std::vector<std::uint32_t>& columns,
                                                    const std::vector<pst::TableRow>& rows);

}  // namespace mailfsck::pstw
