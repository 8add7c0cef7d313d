#include "messaging.h"

#include <algorithm>
#include <memory>

namespace mailfsck::pst {

std::optional<NodeRef> Messaging::node(std::uint32_t nid) const {
    const std::optional<NbtEntry> e = nodes_->node(nid);
    if (!e) return std::nullopt;
    return NodeRef{static_cast<std::uint32_t>(e->nid), e->bid_data, e->bid_sub};
}

Heap Messaging::heap(std::uint64_t bid_data, std::vector<ReadIssue>& issues) const {
    std::vector<std::optional<std::vector<unsigned char>>> blocks;
    for (const std::uint64_t b : reader_->data_blocks(bid_data, issues)) blocks.push_back(reader_->block(b, issues));
    return Heap(std::move(blocks));
}

std::vector<Subnode> Messaging::subnodes(const NodeRef& node, std::vector<ReadIssue>& issues, RereadBound* read) const {
    if (node.bid_sub == 0) return {};
    if (read && !read->admit(node.bid_sub)) {
        issues.push_back({ReadFault::repeated, node.bid_sub, 0});
        return {};
    }
    std::vector<Subnode> s = reader_->subnodes(node.bid_sub, issues);
    if (read) read->read(node.bid_sub, s.size() * sizeof(Subnode));
    std::sort(s.begin(), s.end(), [](const Subnode& a, const Subnode& b) { return a.nid < b.nid; });
    return s;
}

namespace {

const Subnode* find_subnode(const std::vector<Subnode>& subs, std::uint32_t nid) {
    const auto it = std::lower_bound(subs.begin(), subs.end(), nid, [](const Subnode& s, std::uint32_t k) { return s.nid < k; });
    return it != subs.end() && it->nid == nid ? &*it : nullptr;
}

}  // namespace

std::optional<std::vector<unsigned char>> Messaging::subnode_value(const Subnode& sub, std::vector<ReadIssue>& issues,
                                                                  SubnodeValues how, RereadBound& read) const {
    if (how == SubnodeValues::skipped) return std::vector<unsigned char>{};
    if (!read.admit(sub.bid_data)) {
        issues.push_back({ReadFault::repeated, sub.bid_data, 0});
        return std::nullopt;
    }
    const std::size_t before = issues.size();
    std::vector<unsigned char> bytes;
    if (how == SubnodeValues::kept) {
        bytes = reader_->data(sub.bid_data, issues);
        read.read(sub.bid_data, bytes.size());
    } else {
        read.read(sub.bid_data, reader_->check_data(sub.bid_data, issues));
    }
    if (!bytes_whole(issues, before)) return std::nullopt;
    return bytes;
}

SubnodeData Messaging::values(const std::vector<Subnode>& subs, std::vector<ReadIssue>& issues, SubnodeValues how,
                              RereadBound* trees) const {
    std::shared_ptr<RereadBound> own = trees ? nullptr : std::make_shared<RereadBound>();
    return [this, &subs, &issues, how, own, trees](std::uint32_t nid) -> std::optional<std::vector<unsigned char>> {
        const Subnode* s = find_subnode(subs, nid);
        if (!s) return std::nullopt;
        return subnode_value(*s, issues, how, trees ? *trees : *own);
    };
}

PropertyContext Messaging::properties(const NodeRef& node, std::vector<ReadIssue>& issues, SubnodeValues values,
                                      RereadBound* read) const {
    return properties(node, subnodes(node, issues, read), issues, values, read);
}

PropertyContext Messaging::properties(const NodeRef& node, const std::vector<Subnode>& subs, std::vector<ReadIssue>& issues,
                                      SubnodeValues how, RereadBound* read) const {
    const Heap h = heap(node.bid_data, issues);
    if (!h.valid()) {
        PropertyContext pc;
        pc.defects.push_back("no heap");
        return pc;
    }
    return read_pc(h, values(subs, issues, how, read));
}

std::vector<std::uint32_t> Messaging::subnodes_named(std::uint64_t bid_data, std::vector<ReadIssue>& issues) const {
    std::vector<std::uint32_t> named;
    const Heap h = heap(bid_data, issues);
    if (!h.valid()) return named;
    (void)read_pc(h, [&](std::uint32_t nid) -> std::optional<std::vector<unsigned char>> {
        named.push_back(nid);
        return std::vector<unsigned char>{};
    });
    std::sort(named.begin(), named.end());
    named.erase(std::unique(named.begin(), named.end()), named.end());
    return named;
}

TableContext Messaging::table(const NodeRef& node, std::vector<ReadIssue>& issues, Cells cells, RereadBound* read) const {
    const Heap h = heap(node.bid_data, issues);
    if (!h.valid()) {
        TableContext tc;
        tc.defects.push_back("no heap");
        return tc;
    }
    const std::vector<Subnode> subs = subnodes(node, issues, read);
    const SubnodeData data = values(subs, issues, SubnodeValues::kept, read);
    const SubnodeBlocks rows = [&](std::uint32_t nid) {
        std::vector<std::optional<std::vector<unsigned char>>> out;
        const Subnode* s = find_subnode(subs, nid);
        if (!s) return out;
        for (const std::uint64_t b : reader_->data_blocks(s->bid_data, issues)) out.push_back(reader_->block(b, issues));
        return out;
    };
    return read_tc(h, data, rows, reader_->layout().wide ? 4 : 2, cells);
}

}  // namespace mailfsck::pst
