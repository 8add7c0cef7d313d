// Nodes ([MS-PST] 2.2.2.8.3, 2.4): what the LTP and messaging layers see of
// the node database. A node is a data tree (one data block, or an XBLOCK /
// XXBLOCK of them) and a subnode tree (SLBLOCK / SIBLOCK) of further nodes.
// Blocks are reached through BlockIndex, which the B-trees back here and
// which salvage can back with blocks found by scanning the file instead.
// Every read is checked (trailer, CRC), inflated (4K) and decrypted; what
// cannot be read is named, never guessed.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "parsers/bytes/bytes.h"
#include "parsers/bytes/source.h"
#include "parsers/pst/block.h"
#include "parsers/pst/btree.h"
#include "parsers/pst/crypt.h"
#include "parsers/pst/format.h"

namespace mailfsck::pst {

class BlockIndex {
public:
    virtual ~BlockIndex() = default;
    [[nodiscard]] virtual std::optional<BbtEntry> block(std::uint64_t bid) const = 0;
};

class NodeIndex {
public:
    virtual ~NodeIndex() = default;
    [[nodiscard]] virtual std::optional<NbtEntry> node(std::uint32_t nid) const = 0;
};

// Lookups from the header's B-tree roots: no table of the file in memory.
class BTreeIndex final : public BlockIndex, public NodeIndex {
public:
    BTreeIndex(ByteView file, const Layout& layout, Bref bbt, Bref nbt)
        : file_(file), layout_(&layout), bbt_(bbt), nbt_(nbt) {}
    [[nodiscard]] std::optional<BbtEntry> block(std::uint64_t bid) const override;
    [[nodiscard]] std::optional<NbtEntry> node(std::uint32_t nid) const override;
    // Pages are then read through a PageCache over `source` (whose bytes
    // the file view is), not through the mapping.
    void read_through(const Source& source) { cache_.emplace(source, *layout_); }

private:
    ByteView file_;
    const Layout* layout_;
    Bref bbt_;
    Bref nbt_;
    std::optional<PageCache> cache_;
};

// An index held in memory, for salvage: built from whatever survives of a
// damaged file's B-trees and from carving (see carve.h), in place of
// lookups from the header's roots.
class SalvageIndex final : public BlockIndex, public NodeIndex {
public:
    SalvageIndex(std::vector<BbtEntry> blocks, std::vector<NbtEntry> nodes);
    [[nodiscard]] std::optional<BbtEntry> block(std::uint64_t bid) const override;
    [[nodiscard]] std::optional<NbtEntry> node(std::uint32_t nid) const override;
    [[nodiscard]] const std::vector<NbtEntry>& nodes() const { return nodes_; }
    [[nodiscard]] const std::vector<BbtEntry>& blocks() const { return blocks_; }

private:
    std::vector<BbtEntry> blocks_;  // ascending by block id
    std::vector<NbtEntry> nodes_;   // ascending by node id
};

// Blocks from `first`, else from `then`: the live BBT before carved copies.
class LayeredIndex final : public BlockIndex {
public:
    LayeredIndex(const BlockIndex& first, const BlockIndex& then) : first_(&first), then_(&then) {}
    [[nodiscard]] std::optional<BbtEntry> block(std::uint64_t bid) const override {
        if (std::optional<BbtEntry> b = first_->block(bid)) return b;
        return then_->block(bid);
    }

private:
    const BlockIndex* first_;
    const BlockIndex* then_;
};

// Why a block could not be read.
enum class ReadFault {
    missing,          // the index has no such block
    damaged,          // its trailer does not check out, or it lies outside the file
    unverified,       // its CRC fails, or its trailer is zeroed: read as stored (likely mostly sound)
    not_inflatable,   // a 4K compressed block that does not inflate to its size
    bad_tree,         // an internal block of the wrong kind or shape
    too_large,        // a data tree beyond the bound on one node's data
    repeated,         // a data tree the object being read has read already (RereadBound)
};

struct ReadIssue {
    ReadFault fault;
    std::uint64_t bid = 0;
    std::uint64_t offset = 0;  // the block's, when the index knows it

    // An unverified block's bytes are used as stored; any other fault
    // leaves a gap.
    [[nodiscard]] bool bytes_used() const { return fault == ReadFault::unverified; }
};

[[nodiscard]] std::string_view fault_name(ReadFault f);

// Whether the reads that added issues[from..] still gave every byte (a
// node is then partial, not without the value).
[[nodiscard]] bool bytes_whole(const std::vector<ReadIssue>& issues, std::size_t from);

// A SLENTRY ([MS-PST] 2.2.2.8.3.3.1.1): one subnode of a node.
struct Subnode {
    std::uint32_t nid = 0;
    std::uint64_t bid_data = 0;
    std::uint64_t bid_sub = 0;
};

// A set of block ids: those found sound (trailer and CRC as the index has
// them), for a caller that would otherwise read and check them again (on a
// large store, reading every block a second time costs more than anything
// else a scan does), or those that could not be read. One bit per block
// id, up to a bound, so that memory follows neither the file's size nor a
// damaged index's ids; ids past the bound are not kept (sound blocks are
// then checked again; blocks that could not be read go unsaid).
class BlockSet {
public:
    void add(std::uint64_t bid);
    [[nodiscard]] bool contains(std::uint64_t bid) const;
    [[nodiscard]] std::uint64_t size() const { return size_; }

private:
    // A block id's bit 0 is reserved and bit 1 marks an internal block
    // ([MS-PST] 2.2.2.2): the index keeps bit 1.
    static std::uint64_t index(std::uint64_t bid) { return bid >> 1; }
    static constexpr std::uint64_t max_bits = std::uint64_t{1} << 27;  // 16 MiB
    std::vector<bool> bits_;
    std::uint64_t size_ = 0;
};

class NodeReader {
public:
    NodeReader(ByteView file, const Layout& layout, Crypt crypt, const BlockIndex& index)
        : file_(file), layout_(&layout), crypt_(crypt), index_(&index) {}

    // One block as its node sees it; nullopt (and an issue) when it cannot
    // be read.
    [[nodiscard]] std::optional<std::vector<unsigned char>> block(std::uint64_t bid,
                                                                  std::vector<ReadIssue>& issues) const;

    // The data blocks of the data tree at `bid`, in order: `bid` itself when
    // it is a data block. Children that cannot be read are left out, with
    // an issue each.
    [[nodiscard]] std::vector<std::uint64_t> data_blocks(std::uint64_t bid, std::vector<ReadIssue>& issues) const;

    // A node's whole data stream (its data blocks concatenated), bounded by
    // max_node_data; blocks that cannot be read are left out.
    [[nodiscard]] std::vector<unsigned char> data(std::uint64_t bid, std::vector<ReadIssue>& issues) const;
    // The same stream read and checked block by block, its bytes not kept
    // (a check): its size.
    [[nodiscard]] std::uint64_t check_data(std::uint64_t bid, std::vector<ReadIssue>& issues) const;

    // The entries of the subnode tree at `bid_sub`, in the order stored.
    [[nodiscard]] std::vector<Subnode> subnodes(std::uint64_t bid_sub, std::vector<ReadIssue>& issues) const;

    // Every block a node's trees reach, nested subnode trees included, with
    // the subnode each belongs to (0: the node itself). Bounded in depth
    // and in blocks; a tree that reaches a block twice is followed once.
    void visit_blocks(std::uint64_t bid_data, std::uint64_t bid_sub,
                      const std::function<void(std::uint64_t bid, std::uint32_t subnode)>& visit) const;

    [[nodiscard]] const Layout& layout() const { return *layout_; }
    // Block bytes are then read through `source` (whose bytes the file
    // view is): copied, not mapped (Source::read).
    void read_through(const Source& source) { source_ = &source; }
    // Every block then read and found sound goes into `sound`.
    void record_sound(BlockSet& sound) { sound_ = &sound; }
    // Every block then asked for and not read whole and verified, from
    // wherever it was read, goes into `unreadable`.
    void record_unreadable(BlockSet& unreadable) { unreadable_ = &unreadable; }
    // A block that does not check out where the index places it is then
    // looked up in `moved` (carve.h's MovedBlocks) and read from there
    // when a sound copy lies elsewhere; it is not recorded as sound, since
    // the index is still wrong about it.
    void relocate_through(const BlockIndex& moved) { moved_ = &moved; }

private:
    // The block `e` describes, read and checked; issues when it falls short.
    std::optional<std::vector<unsigned char>> read(const BbtEntry& e, std::vector<ReadIssue>& issues) const;
    // Each block of the stream at `bid` in order, within max_node_data.
    void stream(std::uint64_t bid, std::vector<ReadIssue>& issues,
                const std::function<void(const std::vector<unsigned char>&)>& take) const;
    // An internal block's entries, or nullopt (and an issue).
    std::optional<InternalBlock> internal(std::uint64_t bid, std::vector<ReadIssue>& issues) const;

    ByteView file_;
    const Layout* layout_;
    Crypt crypt_;
    const BlockIndex* index_;
    const Source* source_ = nullptr;
    BlockSet* sound_ = nullptr;
    BlockSet* unreadable_ = nullptr;
    const BlockIndex* moved_ = nullptr;
    mutable std::vector<unsigned char> stored_;  // a block's bytes as read through source_
};

// A node's data may be large (attachments) but not beyond PST limits: an
// XXBLOCK can hold more than 4 GB in theory; no property can.
inline constexpr std::uint64_t max_node_data = std::uint64_t{1} << 31;

// Subnode trees nest (an attachment's embedded message has its own); no
// real file goes deeper than a handful.
inline constexpr unsigned max_subnode_depth = 16;

}  // namespace mailfsck::pst
