#include "pst_inspect.h"

#include "parsers/pst/block.h"
#include "parsers/pst/btree.h"
#include "parsers/pst/header.h"

namespace mailfsck {

using namespace pst;

nlohmann::json inspect_pst(const Source& source) {
    const ByteView file = source.bytes();
    const Header h = read_header(file);
    nlohmann::json j;
    j["size"] = file.size();
    nlohmann::json& hj = j["header"];
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
    j["pages"] = nlohmann::json::array();
    j["bbt"] = nlohmann::json::array();
    j["nbt"] = nlohmann::json::array();
    if (!h.format) return j;
    const Layout& layout = layout_for(*h.format);
    for (const auto& [tree, root, name] :
         {std::tuple{PageType::bbt, h.bbt, "BBT"}, std::tuple{PageType::nbt, h.nbt, "NBT"}}) {
        TreeVisitor v;
        v.page = [&, tree_name = name](const Bref& p) {
            j["pages"].push_back({{"tree", tree_name}, {"bid", p.bid}, {"ib", p.ib}});
        };
        v.bbt = [&](const BbtEntry& e) {
            std::vector<BlockDefect> found;
            (void)check_block(file, layout, e, found);
            nlohmann::json problems = nlohmann::json::array();
            for (const BlockDefect& d : found) problems.push_back(defect_name(d.kind));
            j["bbt"].push_back({{"bid", e.bid},
                                {"ib", e.ib},
                                {"cb", e.cb},
                                {"cb_inflated", e.cb_inflated},
                                {"cref", e.cref},
                                {"internal", (e.bid & bid_internal) != 0},
                                {"problems", std::move(problems)}});
        };
        v.nbt = [&](const NbtEntry& n) {
            j["nbt"].push_back({{"nid", n.nid},
                                {"type", nid_type(n.nid)},
                                {"bid_data", n.bid_data},
                                {"bid_sub", n.bid_sub},
                                {"parent", n.parent}});
        };
        const TreeWalk walk = walk_tree(file, layout, tree, root, v);
        j[std::string(name) + "_walk"] = {{"pages", walk.pages}, {"entries", walk.entries}, {"depth", walk.depth},
                                          {"defects", walk.defects.size()}};
    }
    return j;
}

}  // namespace mailfsck
