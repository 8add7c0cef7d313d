#include "pst_inspect.h"

#include <algorithm>

#include "parsers/pst/block.h"
#include "parsers/pst/btree.h"
#include "parsers/pst/header.h"
#include "parsers/pst/node.h"

namespace mailfsck {

using namespace pst;

namespace {

nlohmann::json header_json(const Header& h) {
    nlohmann::json hj;
    hj["magic_ok"] = h.magic == header_magic;
    hj["client"] = h.is_ost() ? "OST" : (h.client == 0x4D53 ? "PST" : "unknown");
    hj["wVer"] = h.version;
    hj["wVerClient"] = h.version_client;
    hj["format"] = h.format ? std::string(format_name(*h.format)) : std::string("unknown");
    hj["bCryptMethod"] = h.crypt;
    hj["bidNextB"] = h.bid_next_b;
    hj["bidNextP"] = h.bid_next_p;
    hj["dwUnique"] = h.unique;
    hj["ibFileEof"] = h.file_eof;
    hj["ibAMapLast"] = h.amap_last;
    hj["cbAMapFree"] = h.amap_free;
    hj["cbPMapFree"] = h.pmap_free;
    hj["nbt_root"] = {{"bid", h.nbt.bid}, {"ib", h.nbt.ib}};
    hj["bbt_root"] = {{"bid", h.bbt.bid}, {"ib", h.bbt.ib}};
    hj["fAMapValid"] = h.amap_valid;
    hj["dwCRCPartial"] = h.crc_partial;
    hj["dwCRCFull"] = h.crc_full;
    nlohmann::json defects = nlohmann::json::array();
    for (const HeaderDefect& d : h.defects) defects.push_back({{"kind", defect_name(d.kind)}, {"offset", d.offset}});
    hj["defects"] = std::move(defects);
    return hj;
}

// What an internal block is, from its first two bytes ([MS-PST] 2.2.2.8.3).
std::string internal_kind(const InternalBlock& ib) {
    if (!ib.valid) return "internal (unreadable)";
    if (ib.btype == 1) return ib.level == 1 ? "XBLOCK" : "XXBLOCK";
    return ib.level == 0 ? "SLBLOCK" : "SIBLOCK";
}

// A block of the current range with the nodes found to reach it; a block
// shared by many nodes lists the first few and counts the rest.
struct BlockRow {
    BbtEntry entry;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> owners;  // (node, subnode)
    std::uint64_t owner_count = 0;
};

constexpr std::size_t owners_listed = 4;

}  // namespace

void inspect_pst(const Source& source, PstInspectSink& sink, std::size_t records_per_pass) {
    const ByteView file = source.bytes();
    const Header h = read_header(file);
    sink.field("size", file.size());
    sink.field("header", header_json(h));
    const auto empty_lists = [&](std::initializer_list<const char*> names) {
        for (const char* n : names) {
            sink.begin_list(n);
            sink.end_list();
        }
    };
    if (!h.format) {
        empty_lists({"pages", "bbt", "nbt"});
        return;
    }
    const Layout& layout = layout_for(*h.format);
    const BTreeIndex index(file, layout, h.bbt, h.nbt);
    const NodeReader reader(file, layout, static_cast<Crypt>(h.crypt), index);
    const std::size_t budget = std::max<std::size_t>(records_per_pass, 1);

    sink.begin_list("pages");
    TreeVisitor pages;
    std::vector<std::uint64_t> bounds;  // where each range of block ids starts
    std::uint64_t blocks = 0;
    for (const auto& [tree, root, name] :
         {std::tuple{PageType::bbt, h.bbt, "BBT"}, std::tuple{PageType::nbt, h.nbt, "NBT"}}) {
        pages.page = [&, tree_name = name](const Bref& p) { sink.item({{"tree", tree_name}, {"bid", p.bid}, {"ib", p.ib}}); };
        pages.bbt = [&](const BbtEntry& e) {
            if (blocks > 0 && blocks % budget == 0) bounds.push_back(bid_key(e.bid));
            ++blocks;
        };
        (void)walk_tree(file, layout, tree, root, pages);
    }
    sink.end_list();

    sink.begin_list("bbt");
    std::vector<BlockRow> rows;
    std::vector<unsigned char> inflated;
    for (std::size_t r = 0; r <= bounds.size(); ++r) {
        const std::uint64_t lo = r == 0 ? 0 : bounds[r - 1];
        const std::uint64_t hi = r == bounds.size() ? UINT64_MAX : bounds[r];
        rows.clear();
        TreeVisitor collect;
        collect.bbt = [&](const BbtEntry& e) {
            if (bid_key(e.bid) >= lo && bid_key(e.bid) < hi) rows.push_back({e, {}, 0});
        };
        (void)walk_tree(file, layout, PageType::bbt, h.bbt, collect);
        TreeVisitor owners;
        owners.nbt = [&](const NbtEntry& n) {
            reader.visit_blocks(n.bid_data, n.bid_sub, [&](std::uint64_t bid, std::uint32_t subnode) {
                const std::uint64_t key = bid_key(bid);
                if (key < lo || key >= hi) return;
                const auto it = std::lower_bound(rows.begin(), rows.end(), key,
                                                 [](const BlockRow& row, std::uint64_t k) { return bid_key(row.entry.bid) < k; });
                if (it == rows.end() || bid_key(it->entry.bid) != key) return;
                if (it->owners.size() < owners_listed) it->owners.emplace_back(static_cast<std::uint32_t>(n.nid), subnode);
                ++it->owner_count;
            });
        };
        (void)walk_tree(file, layout, PageType::nbt, h.nbt, owners);
        for (const BlockRow& row : rows) {
            const BbtEntry& e = row.entry;
            std::vector<BlockDefect> found;
            const std::optional<ByteView> stored = check_block(file, layout, e, found);
            std::string kind = "data";
            if ((e.bid & bid_internal) != 0) {
                const std::optional<ByteView> content =
                    stored ? block_content(*stored, e.cb_inflated, inflated) : std::nullopt;
                kind = internal_kind(content ? read_internal_block(*content, layout) : InternalBlock{});
            }
            nlohmann::json problems = nlohmann::json::array();
            for (const BlockDefect& d : found) problems.push_back(defect_name(d.kind));
            nlohmann::json owner_list = nlohmann::json::array();
            for (const auto& [nid, subnode] : row.owners)
                owner_list.push_back(subnode == 0 ? nlohmann::json{{"node", nid}}
                                                  : nlohmann::json{{"node", nid}, {"subnode", subnode}});
            sink.item({{"bid", e.bid},
                       {"ib", e.ib},
                       {"cb", e.cb},
                       {"cb_inflated", e.cb_inflated},
                       {"cref", e.cref},
                       {"internal", (e.bid & bid_internal) != 0},
                       {"kind", kind},
                       {"owners", std::move(owner_list)},
                       {"owner_count", row.owner_count},
                       {"problems", std::move(problems)}});
        }
    }
    sink.end_list();

    sink.begin_list("nbt");
    TreeVisitor nodes;
    nodes.nbt = [&](const NbtEntry& n) {
        sink.item({{"nid", n.nid},
                   {"type", nid_type(n.nid)},
                   {"bid_data", n.bid_data},
                   {"bid_sub", n.bid_sub},
                   {"parent", n.parent}});
    };
    (void)walk_tree(file, layout, PageType::nbt, h.nbt, nodes);
    sink.end_list();
}

}  // namespace mailfsck
