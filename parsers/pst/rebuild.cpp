#include "rebuild.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "parsers/pst/block.h"
#include "parsers/pst/message.h"
#include "parsers/pst/named.h"

namespace mailfsck::pst {
namespace {

// [MS-PST] 2.4.5: every message's recipients and attachments tables.
constexpr std::uint32_t nid_recipient_table = 0x692;
constexpr std::uint32_t nid_attachment_table = 0x671;
// [MS-OXCMSG] 2.2.1.6 PidTagMessageFlags.
constexpr std::uint64_t msgflag_hasattach = 0x10;
constexpr std::uint64_t msgflag_associated = 0x40;
// PidTagDisplayBcc, PidTagDisplayCc, PidTagDisplayTo: the recipients' names.
constexpr std::uint16_t display_names[] = {0x0E02, 0x0E03, 0x0E04};
// Columns every contents table has ([MS-PST] 2.4.4.5.1) whose values are
// the message's own: subject, class, delivery and submit times, size.
constexpr std::uint16_t row_columns[] = {tag::subject, tag::message_class, tag::delivery_time, tag::client_submit_time,
                                         tag::message_size};
// Trees this far either side (by block id) of a message's heap are tried.
constexpr std::size_t pairing_window = 64;

struct Tree {
    std::uint64_t bid = 0;
    std::vector<std::uint32_t> nids;  // ascending
    bool used = false;
};

struct Candidate {
    std::uint64_t bid = 0;
    bool shared = false;
    std::vector<Property> row_values;
    std::uint64_t modified = 0;
    std::vector<std::uint32_t> named;  // subnodes its properties name
    std::string names;                 // its recipients' names, as the heap lists them, case folded
    bool has_attachments = false;
    std::string key;
};

bool holds(const Tree& t, std::uint32_t nid) { return std::binary_search(t.nids.begin(), t.nids.end(), nid); }

bool holds_all(const Tree& t, const std::vector<std::uint32_t>& nids) {
    return std::all_of(nids.begin(), nids.end(), [&](std::uint32_t nid) { return holds(t, nid); });
}

// Outlook keeps a recipient's name in one case in the recipients table and
// may keep it in another in PR_DISPLAY_TO (seen in enron.pst).
std::string folded(std::string s) {
    for (char& ch : s)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    return s;
}

// A block no surviving node reaches, or fewer of them than its reference
// count says.
bool underreferenced(const BbtEntry& b, const std::function<unsigned(std::uint64_t)>& references) {
    const unsigned n = references(b.bid);
    return n == 0 || n < b.cref;
}

// The underreferenced roots: subnode trees, and data trees and lone data
// blocks (heaps); a block below such a root is part of it.
void unreferenced_roots(const Messaging& m, BlockLists blocks,
                        const std::function<unsigned(std::uint64_t)>& references, std::vector<BbtEntry>& heaps,
                        std::vector<Tree>& trees) {
    const NodeReader& r = m.reader();
    std::unordered_set<std::uint64_t> below;
    std::vector<BbtEntry> data_trees;
    for (const std::vector<BbtEntry>* list : blocks) {
        for (const BbtEntry& b : *list) {
            if ((b.bid & bid_internal) == 0 || !underreferenced(b, references)) continue;
            std::vector<ReadIssue> issues;
            const std::optional<std::vector<unsigned char>> bytes = r.block(b.bid, issues);
            if (!bytes || !issues.empty()) continue;
            const InternalBlock ib = read_internal_block(ByteView(bytes->data(), bytes->size(), 0), r.layout());
            if (!ib.valid) continue;
            const bool subnode_tree = ib.btype == 2;
            r.visit_blocks(subnode_tree ? 0 : b.bid, subnode_tree ? b.bid : 0, [&](std::uint64_t bid, std::uint32_t) {
                if (bid_key(bid) != bid_key(b.bid)) below.insert(bid_key(bid));
            });
            if (subnode_tree) {
                Tree t{b.bid, {}, false};
                for (const Subnode& s : r.subnodes(b.bid, issues)) t.nids.push_back(s.nid);
                std::sort(t.nids.begin(), t.nids.end());
                trees.push_back(std::move(t));
            } else {
                data_trees.push_back(b);
            }
        }
    }
    const auto is_below = [&](std::uint64_t bid) { return below.count(bid_key(bid)) != 0; };
    trees.erase(std::remove_if(trees.begin(), trees.end(), [&](const Tree& t) { return is_below(t.bid); }), trees.end());
    for (const std::vector<BbtEntry>* list : blocks)
        for (const BbtEntry& b : *list)
            if ((b.bid & bid_internal) == 0 && underreferenced(b, references) && !is_below(b.bid)) heaps.push_back(b);
    for (const BbtEntry& b : data_trees)
        if (!is_below(b.bid)) heaps.push_back(b);
}

std::optional<Candidate> as_message(const Messaging& m, std::uint64_t bid, const PropertyContext& pc) {
    std::vector<ReadIssue> issues;
    if (!pc.valid) return std::nullopt;
    const Property* cls = pc.find(tag::message_class);
    if (!cls || utf8(*cls).value_or("").empty()) return std::nullopt;
    const Property* flags = pc.find(tag::message_flags);
    const std::uint64_t f = flags ? flags->as_uint() : 0;
    if (f & msgflag_associated) return std::nullopt;
    Candidate c;
    c.bid = bid;
    c.named = m.subnodes_named(bid, issues);
    c.has_attachments = (f & msgflag_hasattach) != 0;
    for (const std::uint16_t id : display_names)
        if (const Property* p = pc.find(id)) c.names += folded(utf8(*p).value_or("")) + ";";
    c.key = version_key(pc);
    c.modified = pst::modified(pc);
    for (const std::uint16_t id : row_columns)
        if (const Property* p = pc.find(id); p && !p->missing) c.row_values.push_back(*p);
    return c;
}

bool needs_tree(const Candidate& c) {
    return !c.named.empty() || c.has_attachments || c.names.find_first_not_of("; ") != std::string::npos;
}

// Read together, do the heap and the tree tell the same story?
bool agrees(const Messaging& m, const Candidate& c, const Tree& t) {
    if (!holds_all(t, c.named)) return false;
    const bool lists_recipients = c.names.find_first_not_of("; ") != std::string::npos;
    if (lists_recipients && !holds(t, nid_recipient_table)) return false;
    if (c.has_attachments && !holds(t, nid_attachment_table)) return false;
    const Message msg = read_message(m, NodeRef{0, c.bid, t.bid}, SubnodeValues::skipped);
    std::size_t recipients = 0;
    if (msg.recipients)
        for (const TableRow& row : msg.recipients->rows)
            for (const Property& p : row.cells)
                if (p.id == tag::display_name) {
                    ++recipients;
                    const std::string name = folded(utf8(p).value_or(""));
                    if (!name.empty() && c.names.find(name) == std::string::npos) return false;
                }
    if (lists_recipients != (recipients > 0)) return false;
    return c.has_attachments == !msg.attachments.empty();
}

// The nearest unused tree, by block id, that agrees with the heap.
Tree* pair(const Messaging& m, const Candidate& c, std::vector<Tree>& trees) {
    const auto at = std::lower_bound(trees.begin(), trees.end(), c.bid, [](const Tree& t, std::uint64_t b) { return t.bid < b; });
    const auto from = at - std::min<std::ptrdiff_t>(at - trees.begin(), pairing_window);
    const auto to = at + std::min<std::ptrdiff_t>(trees.end() - at, pairing_window);
    std::vector<Tree*> near;
    for (auto it = from; it != to; ++it)
        if (!it->used) near.push_back(&*it);
    const auto distance = [&](const Tree* t) { return t->bid > c.bid ? t->bid - c.bid : c.bid - t->bid; };
    std::sort(near.begin(), near.end(), [&](const Tree* a, const Tree* b) { return distance(a) < distance(b); });
    for (Tree* t : near)
        if (agrees(m, c, *t)) return t;
    return nullptr;
}

// The subnode tree `sub` an entry names, when its block is there: one of
// the trees no node reaches (then no guess takes it), or one shared with
// a node that does. Versions of a message may share a tree, so an entry's
// word holds even for a tree another entry named.
std::optional<std::uint64_t> named_tree(const Messaging& m, std::uint64_t sub, std::vector<Tree>& trees) {
    const auto t = std::lower_bound(trees.begin(), trees.end(), bid_key(sub),
                                    [](const Tree& x, std::uint64_t b) { return bid_key(x.bid) < b; });
    if (t != trees.end() && bid_key(t->bid) == bid_key(sub)) {
        t->used = true;
        return t->bid;
    }
    std::vector<ReadIssue> issues;
    if (!m.reader().block(sub, issues)) return std::nullopt;
    return sub;
}

}  // namespace

bool row_matches(const LostMessage& lost, const TableRow& row) {
    unsigned compared = 0;
    for (const Property& want : lost.row_values)
        for (const Property& cell : row.cells) {
            if (cell.id != want.id || cell.type != want.type || cell.missing) continue;
            if (cell.value != want.value) return false;
            ++compared;
        }
    return compared >= 2;
}

std::uint64_t modified(const PropertyContext& pc) {
    const Property* p = pc.find(tag::last_modification_time);
    return p && !p->missing ? p->as_uint() : 0;
}

std::string version_key(const PropertyContext& pc) {
    const Property* key = pc.find(tag::search_key);
    const Property* created = pc.find(tag::creation_time);
    if (!key || !created || key->missing || created->missing) return {};
    std::string out(key->value.begin(), key->value.end());
    out.append(created->value.begin(), created->value.end());
    return out;
}

// The nearest tree, by block id, that holds every subnode in `named`.
const Tree* nearest_holding(const std::vector<Tree>& trees, std::uint64_t bid, const std::vector<std::uint32_t>& named) {
    const Tree* best = nullptr;
    const auto distance = [&](const Tree& x) { return x.bid > bid ? x.bid - bid : bid - x.bid; };
    for (const Tree& t : trees) {
        if (!holds_all(t, named)) continue;
        if (!best || distance(t) < distance(*best)) best = &t;
    }
    return best;
}

LostNodes find_lost_nodes(const Messaging& m, BlockLists blocks,
                          const std::function<unsigned(std::uint64_t)>& references,
                          std::span<const NbtEntry> carved_entries) {
    std::vector<BbtEntry> heaps;
    std::vector<Tree> trees;
    unreferenced_roots(m, blocks, references, heaps, trees);
    std::sort(heaps.begin(), heaps.end(), [](const BbtEntry& a, const BbtEntry& b) { return a.bid < b.bid; });
    std::sort(trees.begin(), trees.end(), [](const Tree& a, const Tree& b) { return a.bid < b.bid; });

    LostNodes out;
    std::optional<std::uint64_t> name_map;  // the newest map heap: heaps come in ascending id
    std::vector<Candidate> candidates;
    std::map<std::string, std::uint64_t> latest;  // version key -> last modified
    for (const BbtEntry& heap : heaps) {
        std::vector<ReadIssue> issues;
        const PropertyContext pc = m.properties(NodeRef{0, heap.bid, 0}, issues, SubnodeValues::skipped);
        const bool shared = references(heap.bid) > 0;
        if (!shared && is_name_map(pc)) name_map = heap.bid;
        std::optional<Candidate> c = as_message(m, heap.bid, pc);
        if (!c) continue;
        c->shared = shared;
        if (!c->key.empty() && !c->shared) {
            std::uint64_t& l = latest[c->key];
            l = std::max(l, c->modified);
        }
        candidates.push_back(std::move(*c));
    }
    if (name_map) {
        std::vector<ReadIssue> issues;
        const std::vector<std::uint32_t> named = m.subnodes_named(*name_map, issues);
        if (named.empty()) {
            out.name_map = NodeRef{nid_name_to_id_map, *name_map, 0};
        } else if (const Tree* t = nearest_holding(trees, *name_map, named)) {
            out.name_map = NodeRef{nid_name_to_id_map, *name_map, t->bid};
        }
    }
    std::erase_if(candidates, [&](const Candidate& c) {
        const auto l = latest.find(c.key);
        return !c.key.empty() && l != latest.end() && c.modified < l->second;
    });

    std::unordered_map<std::uint64_t, const NbtEntry*> named;  // by the heap it names
    for (const NbtEntry& e : carved_entries) named.emplace(bid_key(e.bid_data), &e);
    for (const Candidate& c : candidates) {
        LostMessage lost;
        lost.bid_data = c.bid;
        lost.version_key = c.key;
        lost.modified = c.modified;
        lost.shared = c.shared;
        lost.row_values = c.row_values;
        if (const auto n = named.find(bid_key(c.bid)); n != named.end()) {
            const NbtEntry& e = *n->second;
            lost.nid = static_cast<std::uint32_t>(e.nid);
            lost.parent = e.parent;
            if (needs_tree(c) && e.bid_sub != 0)
                if (const std::optional<std::uint64_t> sub = named_tree(m, e.bid_sub, trees)) lost.bid_sub = *sub;
        }
        out.messages.push_back(std::move(lost));
    }
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        LostMessage& lost = out.messages[i];
        if (lost.bid_sub != 0 || !needs_tree(candidates[i])) continue;
        if (Tree* t = pair(m, candidates[i], trees)) {
            t->used = true;
            lost.bid_sub = t->bid;
        } else {
            lost.tree_unmatched = true;
        }
    }
    return out;
}

}  // namespace mailfsck::pst
