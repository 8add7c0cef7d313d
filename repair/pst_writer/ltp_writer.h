// The LTP layer of a new PST ([MS-PST] 2.3): a node's Heap-on-Node, the
// BTree-on-Heap, Property Contexts and Table Contexts, laid out the way
// the reader (parsers/pst/heap.h, ltp.h) reads them back. Values too large
// for the heap go to subnodes of the node, written at once through the
// NDB writer.
#pragma once

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

class HeapWriter {
public:
    explicit HeapWriter(pst::HeapClient client) : client_(client) {}
    // A new allocation holding `data` (at most max_heap_allocation bytes).
    pst::Hid allocate(ByteView data);
    void set_root(pst::Hid root) { root_ = root; }
    // The heap's blocks, page maps and headers in place.
    [[nodiscard]] std::vector<Bytes> blocks() const;

private:
    struct Block {
        Bytes data;                   // header, then allocations
        std::vector<std::uint16_t> starts;
    };
    pst::HeapClient client_;
    pst::Hid root_;
    std::vector<Block> blocks_;
};

// A node's content as it is being built: its heap, and the subnodes its
// large values went to.
class NodeBuilder {
public:
    NodeBuilder(NdbWriter& ndb, pst::HeapClient client) : ndb_(&ndb), heap_(client) {}
    // Where a value that is not kept inline goes ([MS-PST] 2.3.3.2): 0
    // when empty, a HID when it fits the heap, else the NID of a new
    // subnode holding it.
    std::uint32_t place(ByteView value);
    // A new subnode of blocks already cut (a row matrix); its NID.
    std::uint32_t place_blocks(const std::vector<Bytes>& blocks);
    HeapWriter& heap() { return heap_; }
    NdbWriter& ndb() { return *ndb_; }
    // A subnode of the node's own making (attachments, recipient table).
    void add_subnode(const pst::Subnode& s) { subnodes_.push_back(s); }
    // Writes the heap as the node's data tree and the subnode tree:
    // {bid_data, bid_sub}.
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

// A BTree-on-Heap ([MS-PST] 2.3.2) over `records` (each a key of
// `key_size` bytes then `data_size` bytes, ascending by key); returns its
// header's HID.
pst::Hid write_bth(HeapWriter& heap, std::uint8_t key_size, std::uint8_t data_size, const std::vector<Bytes>& records);

// A Property Context ([MS-PST] 2.3.3) of `properties` (ids unique).
void write_pc(NodeBuilder& node, std::vector<pst::Property> properties);

// A Table Context ([MS-PST] 2.3.4) with `columns` (tags: id << 16 | type;
// PidTagLtpRowId and PidTagLtpRowVer are added) and `rows`, whose cells
// outside the columns are left out.
void write_tc(NodeBuilder& node, std::vector<std::uint32_t> columns, const std::vector<pst::TableRow>& rows);

}  // namespace mailfsck::pstw
