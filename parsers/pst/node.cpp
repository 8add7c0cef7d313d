#include "node.h"

#include <algorithm>
#include <functional>
#include <unordered_set>
#include <utility>

#include "parsers/pst/block.h"

namespace mailfsck::pst {

std::optional<BbtEntry> BTreeIndex::block(std::uint64_t bid) const {
    return find_block(file_, *layout_, bbt_, bid, cache_ ? &*cache_ : nullptr);
}

std::optional<NbtEntry> BTreeIndex::node(std::uint32_t nid) const {
    return find_node(file_, *layout_, nbt_, nid, cache_ ? &*cache_ : nullptr);
}

SalvageIndex::SalvageIndex(std::vector<BbtEntry> blocks, std::vector<NbtEntry> nodes)
    : blocks_(std::move(blocks)), nodes_(std::move(nodes)) {
    std::sort(blocks_.begin(), blocks_.end(), [](const BbtEntry& a, const BbtEntry& b) { return bid_key(a.bid) < bid_key(b.bid); });
    std::sort(nodes_.begin(), nodes_.end(), [](const NbtEntry& a, const NbtEntry& b) { return a.nid < b.nid; });
}

std::optional<BbtEntry> SalvageIndex::block(std::uint64_t bid) const {
    const auto it = std::lower_bound(blocks_.begin(), blocks_.end(), bid_key(bid),
                                     [](const BbtEntry& e, std::uint64_t key) { return bid_key(e.bid) < key; });
    if (it == blocks_.end() || bid_key(it->bid) != bid_key(bid)) return std::nullopt;
    return *it;
}

std::optional<NbtEntry> SalvageIndex::node(std::uint32_t nid) const {
    const auto it = std::lower_bound(nodes_.begin(), nodes_.end(), std::uint64_t{nid},
                                     [](const NbtEntry& e, std::uint64_t key) { return e.nid < key; });
    if (it == nodes_.end() || it->nid != nid) return std::nullopt;
    return *it;
}

std::string_view fault_name(ReadFault f) {
    switch (f) {
        case ReadFault::missing: return "missing";
        case ReadFault::damaged: return "damaged";
        case ReadFault::unverified: return "unverified_used_as_stored";
        case ReadFault::not_inflatable: return "not_inflatable";
        case ReadFault::bad_tree: return "bad_tree";
        case ReadFault::too_large: return "too_large";
        case ReadFault::repeated: return "read_already";
    }
    return "?";
}

bool bytes_whole(const std::vector<ReadIssue>& issues, std::size_t from) {
    return std::all_of(issues.begin() + static_cast<std::ptrdiff_t>(std::min(from, issues.size())), issues.end(),
                       std::mem_fn(&ReadIssue::bytes_used));
}

namespace {

bool trailer_zeroed(const ByteView& stored, const Layout& layout, const BbtEntry& e) {
    const std::optional<BlockTrailer> t = read_block_trailer(stored, layout.align_block(e.cb), layout);
    return t && t->cb == 0 && t->bid == 0 && t->signature == 0 && t->crc == 0;
}

}  // namespace

void BlockSet::add(std::uint64_t bid) {
    const std::uint64_t i = index(bid);
    if (i >= max_bits) return;
    if (i >= bits_.size()) bits_.resize(i + 1);
    if (bits_[i]) return;
    bits_[i] = true;
    ++size_;
}

bool BlockSet::contains(std::uint64_t bid) const {
    const std::uint64_t i = index(bid);
    return i < bits_.size() && bits_[i];
}

std::optional<std::vector<unsigned char>> NodeReader::block(std::uint64_t bid, std::vector<ReadIssue>& issues) const {
    const std::optional<BbtEntry> e = index_->block(bid);
    if (!e) {
        issues.push_back({ReadFault::missing, bid, 0});
        if (unreadable_ != nullptr) unreadable_->add(bid);
        return std::nullopt;
    }
    std::vector<ReadIssue> here;
    std::optional<std::vector<unsigned char>> out = read(*e, here);
    // Not where the index places it (or not whole there): a copy carved
    // where it lies now, its CRC sound, is what was written.
    if (!here.empty() && moved_ != nullptr)
        if (std::optional<BbtEntry> m = moved_->block(bid); m && m->ib != e->ib) {
            if (m->cb == e->cb) m->cb_inflated = e->cb_inflated;  // carving cannot tell a 4K block's
            std::vector<ReadIssue> there;
            std::optional<std::vector<unsigned char>> copy = read(*m, there);
            if (copy && there.empty()) return copy;
        }
    if (here.empty() && sound_ != nullptr) sound_->add(e->bid);
    if (!here.empty() && unreadable_ != nullptr) unreadable_->add(e->bid);
    issues.insert(issues.end(), here.begin(), here.end());
    return out;
}

std::optional<std::vector<unsigned char>> NodeReader::read(const BbtEntry& e, std::vector<ReadIssue>& issues) const {
    std::vector<BlockDefect> defects;
    std::optional<ByteView> data;  // as stored: compressed (4K) and encrypted
    bool zeroed = false;
    if (const std::optional<ByteView> stored = stored_block(file_, *layout_, e, source_, stored_, defects)) {
        data = check_block_bytes(*stored, *layout_, e, defects);
        zeroed = !defects.empty() && trailer_zeroed(*stored, *layout_, e);
    }
    // A trailer that names the block where the index places it, with a CRC
    // that fails, is a block with a few bad bytes (a flipped bit, a torn
    // sector); a zeroed trailer (a zeroed sector at the block's end) leaves
    // the data unverifiable but likely whole. Using either saves the rest,
    // and the node is reported partial. A trailer naming another block
    // means the index points at the wrong bytes: those are not used.
    const bool crc_only = defects.size() == 1 && defects.front().kind == BlockDefectKind::bad_crc;
    if (!data || (!defects.empty() && !crc_only && !zeroed)) {
        issues.push_back({ReadFault::damaged, e.bid, e.ib});
        return std::nullopt;
    }
    if (!defects.empty()) issues.push_back({ReadFault::unverified, e.bid, e.ib});
    std::vector<unsigned char> inflated;
    const std::optional<ByteView> content = block_content(*data, e.cb_inflated, inflated);
    if (!content) {
        issues.push_back({ReadFault::not_inflatable, e.bid, e.ib});
        return std::nullopt;
    }
    std::vector<unsigned char> out(content->data(), content->data() + content->size());
    // Encryption applies to the data itself: a 4K block is inflated first
    // (libpff's reader does the same; the corpus's 4K file is unencrypted).
    if ((e.bid & bid_internal) == 0) decrypt(crypt_, e.bid, out);
    return out;
}

std::optional<InternalBlock> NodeReader::internal(std::uint64_t bid, std::vector<ReadIssue>& issues) const {
    const std::optional<std::vector<unsigned char>> bytes = block(bid, issues);
    if (!bytes) return std::nullopt;
    InternalBlock ib = read_internal_block(ByteView(bytes->data(), bytes->size(), 0), *layout_);
    if (!ib.valid) {
        const std::optional<BbtEntry> e = index_->block(bid);
        issues.push_back({ReadFault::bad_tree, bid, e ? e->ib : 0});
        return std::nullopt;
    }
    return ib;
}

std::vector<std::uint64_t> NodeReader::data_blocks(std::uint64_t bid, std::vector<ReadIssue>& issues) const {
    if ((bid & bid_internal) == 0) return {bid};
    std::vector<std::uint64_t> out;
    const std::optional<InternalBlock> top = internal(bid, issues);
    if (!top) return out;
    const auto at = [&](std::uint64_t b) {
        const std::optional<BbtEntry> e = index_->block(b);
        return e ? e->ib : 0;
    };
    if (top->btype != 1) {
        issues.push_back({ReadFault::bad_tree, bid, at(bid)});
        return out;
    }
    // A tree naming one block twice is damage, and followed naively it
    // would let a small file claim gigabytes of data: each block is taken
    // once, so a node's data never exceeds the file's own blocks.
    std::unordered_set<std::uint64_t> seen;
    bool repeated = false;
    const auto take = [&](std::uint64_t b) {
        if (seen.insert(bid_key(b)).second) return true;
        repeated = true;
        return false;
    };
    for (const InternalBlock::Entry& child : top->entries) {
        if (top->level == 1) {
            if (take(child.bid)) out.push_back(child.bid);
            continue;
        }
        // An XXBLOCK: each child is an XBLOCK of data blocks.
        if (!take(child.bid)) continue;
        const std::optional<InternalBlock> x = internal(child.bid, issues);
        if (!x) continue;
        if (x->btype != 1 || x->level != 1) {
            issues.push_back({ReadFault::bad_tree, child.bid, at(child.bid)});
            continue;
        }
        for (const InternalBlock::Entry& leaf : x->entries)
            if (take(leaf.bid)) out.push_back(leaf.bid);
    }
    if (repeated) issues.push_back({ReadFault::bad_tree, bid, at(bid)});
    return out;
}

void NodeReader::stream(std::uint64_t bid, std::vector<ReadIssue>& issues,
                        const std::function<void(const std::vector<unsigned char>&)>& take) const {
    std::uint64_t size = 0;
    for (const std::uint64_t b : data_blocks(bid, issues)) {
        const std::optional<std::vector<unsigned char>> bytes = block(b, issues);
        if (!bytes) continue;
        if (size + bytes->size() > max_node_data) {
            issues.push_back({ReadFault::too_large, bid, 0});
            break;
        }
        size += bytes->size();
        take(*bytes);
    }
}

std::vector<unsigned char> NodeReader::data(std::uint64_t bid, std::vector<ReadIssue>& issues) const {
    std::vector<unsigned char> out;
    stream(bid, issues, [&](const std::vector<unsigned char>& bytes) { out.insert(out.end(), bytes.begin(), bytes.end()); });
    return out;
}

std::uint64_t NodeReader::check_data(std::uint64_t bid, std::vector<ReadIssue>& issues) const {
    std::uint64_t size = 0;
    stream(bid, issues, [&](const std::vector<unsigned char>& bytes) { size += bytes.size(); });
    return size;
}

std::vector<Subnode> NodeReader::subnodes(std::uint64_t bid_sub, std::vector<ReadIssue>& issues) const {
    std::vector<Subnode> out;
    const std::optional<InternalBlock> top = internal(bid_sub, issues);
    if (!top) return out;
    if (top->btype != 2) {
        issues.push_back({ReadFault::bad_tree, bid_sub, 0});
        return out;
    }
    const auto take = [&](const InternalBlock& sl) {
        for (const InternalBlock::Entry& e : sl.entries)
            out.push_back({static_cast<std::uint32_t>(e.key & 0xFFFFFFFF), e.bid, e.bid_sub});
    };
    if (top->level == 0) {
        take(*top);
        return out;
    }
    // An SIBLOCK: each entry names an SLBLOCK, each a different one (a
    // damaged one naming one again would multiply its entries).
    std::unordered_set<std::uint64_t> seen;
    for (const InternalBlock::Entry& e : top->entries) {
        if (!seen.insert(bid_key(e.bid)).second) {
            issues.push_back({ReadFault::bad_tree, e.bid, 0});
            continue;
        }
        const std::optional<InternalBlock> sl = internal(e.bid, issues);
        if (!sl) continue;
        if (sl->btype != 2 || sl->level != 0) {
            issues.push_back({ReadFault::bad_tree, e.bid, 0});
            continue;
        }
        take(*sl);
    }
    return out;
}

void NodeReader::visit_blocks(std::uint64_t bid_data, std::uint64_t bid_sub,
                              const std::function<void(std::uint64_t, std::uint32_t)>& visit) const {
    struct Pending {
        std::uint64_t bid;
        bool subnode_tree;
        std::uint32_t owner;
        unsigned depth;
    };
    std::vector<Pending> stack;
    if (bid_data != 0) stack.push_back({bid_data, false, 0, 0});
    if (bid_sub != 0) stack.push_back({bid_sub, true, 0, 0});
    std::unordered_set<std::uint64_t> seen;
    std::vector<ReadIssue> ignored;  // the checker reports what is unreadable
    while (!stack.empty()) {
        const Pending p = stack.back();
        stack.pop_back();
        if (!seen.insert(bid_key(p.bid)).second) continue;
        visit(p.bid, p.owner);
        if ((p.bid & bid_internal) == 0) continue;
        const std::optional<InternalBlock> ib = internal(p.bid, ignored);
        if (!ib) continue;
        for (const InternalBlock::Entry& e : ib->entries) {
            if (!p.subnode_tree || ib->level == 1) {
                // Data tree children, or an SIBLOCK's SLBLOCKs.
                stack.push_back({e.bid, p.subnode_tree, p.owner, p.depth});
                continue;
            }
            if (p.depth + 1 >= max_subnode_depth) continue;
            const auto nid = static_cast<std::uint32_t>(e.key & 0xFFFFFFFF);
            stack.push_back({e.bid, false, nid, p.depth + 1});
            if (e.bid_sub != 0) stack.push_back({e.bid_sub, true, nid, p.depth + 1});
        }
    }
}

}  // namespace mailfsck::pst
