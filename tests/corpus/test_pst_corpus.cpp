// The PST/OST node-database walker on every real file of
// ../shared/corpus/pst, against two readers we did not write: libpff (its
// own B-trees, read by tests/oracle/pff_nodes.c) and a header parser
// written from [MS-PST] (tests/oracle/pst_header.py). Then damage made at
// offsets libpff names is found at those offsets.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "parsers/bytes/source.h"
#include "parsers/pst/carve.h"
#include "parsers/pst/message.h"
#include "parsers/pst/rtf.h"
#include "repair/store/store.h"
#include "tests/unit/pst_bytes.h"
#include "tests/unit/support.h"

namespace fs = std::filesystem;
using mailfsck::test::read_file;
using mailfsck::test::block_trailer_at;
using mailfsck::test::files_ending;
using mailfsck::test::put_le;
using mailfsck::test::q;
using mailfsck::test::run;
using mailfsck::test::shared_path;
using mailfsck::test::store_pst_crc;
using mailfsck::test::TempDir;
using mailfsck::test::write_file;
using nlohmann::json;

namespace {

const std::string tool = MAILFSCK_BINARY_DIR "/cli/mailfsck";
const std::string pff_nodes = MAILFSCK_PFF_NODES;
const std::string header_oracle = MAILFSCK_SOURCE_DIR "/tests/oracle/pst_header.py";

// The oracles read plain files: an .xz is inflated into `dir` first.
fs::path plain(const fs::path& f, const fs::path& dir) {
    if (f.extension() != ".xz") return f;
    const fs::path out = dir / f.stem();
    REQUIRE(run("xz -dc " + q(f) + " > " + q(out)).status == 0);
    return out;
}

// dwCRCPartial (bytes 8..478, stored at 4) and dwCRCFull (8..523, at 524)
// of a Unicode header, recomputed after a deliberate edit ([MS-PST] 2.2.2.6).
void fix_unicode_header_crcs(std::string& b) {
    for (const auto& [at, from, to] : {std::tuple{4U, 8U, 479U}, std::tuple{524U, 8U, 524U}})
        store_pst_crc(b, at, from, to - from);
}

json run_json(const std::string& command) {
    const auto r = run(command);
    REQUIRE(r.status == 0);
    return json::parse(r.out);
}

json scan(const fs::path& f, int* status = nullptr) {
    const auto r = run(tool + " scan -q --json - " + q(f) + " 2>/dev/null");
    if (status) *status = r.status;
    return json::parse(r.out)["stores"][0];
}

// A corpus file opened as the layers above the node database see it: the
// header's B-tree roots behind the block and node indexes, the reader and
// the messaging layer on top.
struct OpenedPst {
    explicit OpenedPst(const fs::path& p)
        : bytes(read_file(p)),
          file(bytes),
          h(mailfsck::pst::read_header(file)),
          layout(mailfsck::pst::layout_for(h.format.value())),
          index(file, layout, h.bbt, h.nbt),
          reader(file, layout, static_cast<mailfsck::pst::Crypt>(h.crypt), index),
          m(reader, index) {}
    OpenedPst(const OpenedPst&) = delete;
    OpenedPst& operator=(const OpenedPst&) = delete;

    const std::string bytes;
    const mailfsck::ByteView file;
    const mailfsck::pst::Header h;
    const mailfsck::pst::Layout& layout;
    const mailfsck::pst::BTreeIndex index;
    const mailfsck::pst::NodeReader reader;
    const mailfsck::pst::Messaging m;
};

std::vector<json> serious(const json& store) {
    std::vector<json> out;
    for (const auto& p : store["problems"])
        if (p["severity"] != "info") out.push_back(p);
    return out;
}

}  // namespace

TEST_CASE("every corpus PST/OST walks clean, and its header and B-trees agree with libpff and the spec") {
    const auto dir = shared_path("pst");
    if (!dir) return;
    TempDir t("pst-corpus");
    const std::vector<fs::path> files = files_ending(*dir, {".pst", ".ost", ".pst.xz"});
    REQUIRE(files.size() == 57);  // PROVENANCE.md's 60 minus its two password lists and itself
    for (const fs::path& f : files) {
        INFO(f.string());
        const fs::path p = plain(f, t.path());
        int status = -1;
        const json st = scan(f, &status);
        const std::vector<json> found = serious(st);
        if (f.filename() == "Outlook98Backup.pst") {
            // fAMapValid (ANSI ROOT, byte 200) is 0 here, as the spec-written
            // header parser also reads: [MS-PST] 2.6.1.3.7 has writers clear
            // it before touching the maps and set it after, so this backup
            // was copied while Outlook was changing the file.
            REQUIRE(found.size() == 1);
            CHECK(found[0]["code"] == "PST-0008");
            CHECK(found[0]["offset"] == 200);
            CHECK(status == 4);
        } else {
            for (const json& problem : found) INFO(problem.dump());
            CHECK(found.empty());
            CHECK(status == 0);
        }

        const json h = run_json("python3 " + q(header_oracle) + " " + q(p));
        const json mine = run_json(tool + " inspect --json - " + q(f));
        const json& mh = mine["header"];
        std::string format = h["format"];  // the oracle spells it unicode_4k
        std::replace(format.begin(), format.end(), '_', '-');
        CHECK(mh["format"] == format);
        CHECK(mh["bCryptMethod"] == h["bCryptMethod"]);
        CHECK(mh["bidNextB"] == h["bidNextB"]);
        CHECK(mh["bidNextP"] == h["bidNextP"]);
        CHECK(mh["ibFileEof"] == h["root"]["ibFileEof"]);
        CHECK(mh["nbt_root"]["ib"] == h["root"]["BREFNBT"]["ib"]);
        CHECK(mh["bbt_root"]["ib"] == h["root"]["BREFBBT"]["ib"]);
        CHECK(mh["fAMapValid"] == h["root"]["fAMapValid"]);

        // libpff's own B-trees, live entries only (it lists the slack after
        // cEnt as deleted).
        const json pff = run_json(pff_nodes + " --no-unallocated " + q(p));
        REQUIRE(pff["internal"]["available"] == true);
        const bool k4 = mh["format"] == "unicode-4k";
        std::set<std::tuple<std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t>> theirs_b, ours_b;
        for (const auto& e : pff["internal"]["bbt"]["entry_list"])
            if (!e.contains("deleted"))
                // libpff reads a 4K entry's cbInflated where cRef is (its
                // 20180714 release predates the 4K layout): compare cRef
                // only outside 4K files.
                theirs_b.emplace(e["bid"], e["ib"], e["cb"], k4 ? 0 : e["cref"].get<std::uint64_t>());
        for (const auto& e : mine["bbt"])
            ours_b.emplace(e["bid"], e["ib"], e["cb"], k4 ? 0 : e["cref"].get<std::uint64_t>());
        CHECK(ours_b == theirs_b);
        // The block map's owners: a block the file counts a reference to
        // (cRef above the BBT's own 1) is reached from some node, and each
        // node libpff lists is among its data block's owners. Two OSTs keep
        // internal blocks no node reaches (cRef 1: garbage not yet freed),
        // whose children still count a reference; there only the second
        // half applies.
        std::map<std::uint64_t, json> by_bid;
        for (const auto& e : mine["bbt"]) by_bid[e["bid"].get<std::uint64_t>() & ~std::uint64_t{1}] = e;
        std::size_t unowned = 0, not_listed = 0;
        bool orphan_internal = false;
        for (const auto& [bid, e] : by_bid) {
            unowned += e["cref"].get<int>() >= 2 && e["owner_count"] == 0 ? 1 : 0;
            orphan_internal = orphan_internal || (e["internal"] == true && e["owner_count"] == 0);
        }
        for (const auto& n : pff["internal"]["nbt"]["entry_list"]) {
            if (n.contains("deleted") || n["bid_data"] == 0) continue;
            const json& e = by_bid[n["bid_data"].get<std::uint64_t>() & ~std::uint64_t{1}];
            bool listed = e.is_null() ? false : e["owner_count"].get<std::size_t>() > e["owners"].size();
            if (!e.is_null())
                for (const auto& o : e["owners"]) listed = listed || (o["node"] == n["nid"] && !o.contains("subnode"));
            not_listed += listed ? 0 : 1;
        }
        if (!orphan_internal) CHECK(unowned == 0);
        CHECK(not_listed == 0);
        std::set<std::tuple<std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t>> theirs_n, ours_n;
        for (const auto& e : pff["internal"]["nbt"]["entry_list"])
            if (!e.contains("deleted")) theirs_n.emplace(e["nid"], e["bid_data"], e["bid_sub"], e["nid_parent"]);
        for (const auto& e : mine["nbt"]) ours_n.emplace(e["nid"], e["bid_data"], e["bid_sub"], e["parent"]);
        CHECK(ours_n == theirs_n);
        std::set<std::uint64_t> theirs_pages, ours_pages;
        for (const char* tree : {"nbt", "bbt"})
            for (const auto& page : pff["internal"][tree]["page_list"]) theirs_pages.insert(page["offset"].get<std::uint64_t>());
        for (const auto& page : mine["pages"]) ours_pages.insert(page["ib"].get<std::uint64_t>());
        CHECK(ours_pages == theirs_pages);
    }
}

TEST_CASE("PST damage made where libpff says the structures are is found there") {
    const auto sample = shared_path("pst/emk_pstsdk/sample1.pst");
    const auto ansi = shared_path("pst/emk_pstsdk/sample2.pst");
    const auto ost4k = shared_path("pst/npm_pst-extractor/pstextractortest@outlook.com.ost");
    if (!sample || !ansi || !ost4k) return;
    TempDir t("pst-damage");
    for (const fs::path& original : {*sample, *ansi, *ost4k}) {
        INFO(original.string());
        const std::string clean = read_file(original);
        const json pff = run_json(pff_nodes + " --no-unallocated " + q(original));
        const auto damaged = [&](const std::string& tag, const std::function<void(std::string&)>& edit) {
            std::string bytes = clean;
            edit(bytes);
            const fs::path f = t.path() / (tag + "-" + original.filename().string());
            write_file(f, bytes);
            return f;
        };
        const auto has = [](const json& st, const std::string& code, std::uint64_t offset, std::uint64_t length) {
            for (const auto& p : st["problems"]) {
                const std::uint64_t o = p["offset"];
                if (p["code"] == code && o >= offset && o < offset + std::max<std::uint64_t>(length, 1)) return true;
            }
            return false;
        };
        int status = -1;

        // A bit flipped inside an NBT leaf page: its CRC no longer holds.
        json leaf;
        for (const auto& page : pff["internal"]["nbt"]["page_list"])
            if (page["leaf"] == true) leaf = page;
        REQUIRE(!leaf.is_null());
        const std::uint64_t leaf_at = leaf["offset"];
        json st = scan(damaged("bitflip", [&](std::string& b) { b[leaf_at + 40] ^= 0x10; }), &status);
        CHECK(has(st, "PST-0104", leaf_at, 4096));
        CHECK(status == 4);

        // A data block zeroed (trailer included): it no longer checks out.
        json block;
        for (const auto& e : pff["internal"]["bbt"]["entry_list"])
            if (!e.contains("deleted") && e["cb"].get<int>() > 100) block = e;
        REQUIRE(!block.is_null());
        const std::uint64_t block_at = block["ib"];
        // Block alignment and trailer size: [MS-PST] 2.2.2.8 (64, 16 Unicode,
        // 12 ANSI) and libpff's format document for 4K files (512, 24).
        const bool k4 = original == *ost4k;
        const std::uint64_t align = k4 ? 512 : 64;
        const std::uint64_t trailer = k4 ? 24 : (original == *ansi ? 12 : 16);
        const std::uint64_t span = (block["cb"].get<std::uint64_t>() + trailer + align - 1) / align * align;
        st = scan(damaged("zeroblock", [&](std::string& b) { std::fill_n(b.begin() + block_at, span, '\0'); }), &status);
        CHECK((has(st, "PST-0202", block_at, span) || has(st, "PST-0203", block_at, span) ||
               has(st, "PST-0205", block_at, span)));
        CHECK(status == 4);

        // The BBT's root page zeroed: no longer a B-tree page.
        const std::uint64_t bbt_root = pff["internal"]["bbt"]["page_list"][0]["offset"];
        const std::uint64_t page = k4 ? 4096 : 512;
        st = scan(damaged("zeroroot", [&](std::string& b) { std::fill_n(b.begin() + bbt_root, page, '\0'); }), &status);
        CHECK(has(st, "PST-0102", bbt_root, page));
        CHECK(status >= 4);

        // Cut in half, as an interrupted copy leaves it.
        st = scan(damaged("truncated", [&](std::string& b) { b.resize(b.size() / 2); }), &status);
        CHECK(has(st, "PST-0009", clean.size() / 2, 1));
        CHECK(status >= 4);

        // The allocation-map bit of a block in use cleared, and the map page's
        // CRC made right again, so only the map's content is wrong. Where
        // the maps are and what a bit covers: [MS-PST] 2.2.2.7.2 (0x4400,
        // 253,952 bytes, 64 per bit, ANSI bits after 4 bytes of padding)
        // and, for 4K files, libpff's format document (0x22000, 512 per bit).
        {
            const std::uint64_t first = k4 ? 0x22000 : 0x4400;
            const std::uint64_t unit = k4 ? 512 : 64;
            const std::uint64_t map_bytes = k4 ? 4072 : 496;
            const std::uint64_t mapped = map_bytes * 8 * unit;
            const std::uint64_t pad = original == *ansi ? 4 : 0;
            const std::uint64_t page_trailer = k4 ? 24 : (original == *ansi ? 12 : 16);
            const std::uint64_t crc_in_trailer = original == *ansi ? 8 : 4;
            const std::uint64_t map = first + (block_at - first) / mapped * mapped;
            const std::uint64_t bit = (block_at - map) / unit;
            const fs::path f = damaged("amapbit", [&](std::string& b) {
                b[map + pad + bit / 8] = static_cast<char>(b[map + pad + bit / 8] & ~(0x80 >> (bit % 8)));
                store_pst_crc(b, map + page - page_trailer + crc_in_trailer, map, page - page_trailer);
            });
            st = scan(f, &status);
            CHECK(has(st, "PST-0401", block_at, 1));
            CHECK(status == 4);
        }

        // A branch entry of the BBT root pointing back at the root (Unicode:
        // BTENTRY is btkey, bid, ib, 8 bytes each), its page CRC made right:
        // the walk must end with a finding, not loop.
        if (original == *sample) {
            const json root = pff["internal"]["bbt"]["page_list"][0];
            REQUIRE(root["leaf"] == false);
            const fs::path f = damaged("cycle", [&](std::string& b) {
                put_le(b, bbt_root + 8, root["bid"].get<std::uint64_t>(), 8);
                put_le(b, bbt_root + 16, bbt_root, 8);
                store_pst_crc(b, bbt_root + 500, bbt_root, 496);
            });
            st = scan(f, &status);
            CHECK(has(st, "PST-0109", bbt_root, 512));
            CHECK(status == 4);
        }

        // ibAMapLast (Unicode ROOT, byte 192, [MS-PST] 2.2.2.5) naming a map
        // one span further on than the file reaches, both header CRCs made
        // right again (partial over bytes 8..478, full over 8..523).
        if (original == *sample) {
            const fs::path f = damaged("amaplast", [&](std::string& b) {
                const std::uint64_t wrong = 0x4400 + 253952;
                put_le(b, 192, wrong, 8);
                fix_unicode_header_crcs(b);
            });
            st = scan(f, &status);
            CHECK(has(st, "PST-0405", 0x4400, 512));
            CHECK_FALSE(has(st, "PST-0003", 0, 600));
            CHECK(status == 4);

            // rgnid[2] (normal folders; Unicode rgnid at byte 44) below the
            // indexes in use (the root folder, NID 0x122, alone has 9): the next
            // folder would be given a NID already taken.
            const fs::path g = damaged("rgnid", [&](std::string& b) {
                put_le(b, 52, 5, 4);
                fix_unicode_header_crcs(b);
            });
            st = scan(g, &status);
            bool named = false;
            for (const auto& p : st["problems"])
                named = named || (p["code"] == "PST-0011" && p["detail"].get<std::string>().rfind("rgnid[2] 5,", 0) == 0);
            CHECK(named);
        }

        // One byte of the header changed inside the range dwCRCPartial covers.
        st = scan(damaged("headercrc", [&](std::string& b) { b[300] ^= 0x01; }), &status);
        CHECK(has(st, "PST-0003", 4, 1));
        CHECK(status >= 4);
    }
}

TEST_CASE("lookups from the B-tree roots find every block and node the walk lists, and nothing else") {
    const auto dir = shared_path("pst");
    if (!dir) return;
    TempDir t("pst-lookup");
    for (const fs::path& f : files_ending(*dir, {".pst", ".ost", ".pst.xz"})) {
        INFO(f.string());
        const OpenedPst pst(plain(f, t.path()));
        const auto& [bytes, file, h, layout, index, reader, m] = pst;
        std::size_t blocks = 0, nodes = 0, mismatches = 0;
        std::uint64_t highest = 0;
        mailfsck::pst::TreeVisitor v;
        v.bbt = [&](const mailfsck::pst::BbtEntry& e) {
            ++blocks;
            highest = std::max(highest, e.bid);
            const auto found = mailfsck::pst::find_block(file, layout, h.bbt, e.bid);
            mismatches += (!found || found->ib != e.ib || found->cb != e.cb) ? 1 : 0;
        };
        v.nbt = [&](const mailfsck::pst::NbtEntry& n) {
            ++nodes;
            const auto found = mailfsck::pst::find_node(file, layout, h.nbt, n.nid);
            mismatches += (!found || found->bid_data != n.bid_data || found->parent != n.parent) ? 1 : 0;
        };
        (void)mailfsck::pst::walk_tree(file, layout, mailfsck::pst::PageType::bbt, h.bbt, v);
        (void)mailfsck::pst::walk_tree(file, layout, mailfsck::pst::PageType::nbt, h.nbt, v);
        CHECK(blocks > 0);
        CHECK(nodes > 0);
        CHECK(mismatches == 0);
        // Block ids step by 4: one past the highest is no block.
        CHECK_FALSE(mailfsck::pst::find_block(file, layout, h.bbt, highest + 4).has_value());
    }
}

// The progress bar is fed blocks: it must only go forward and end at the
// number of blocks, which libpff's BBT gives (its live leaf entries),
// whether messages are read or not.
TEST_CASE("a PST check reports progress in blocks that never goes back and ends at libpff's block count") {
    const auto enron = shared_path("pst/npm_pst-extractor/enron.pst");
    if (!enron) return;
    const json pff = run_json(pff_nodes + " --no-unallocated " + q(*enron));
    std::uint64_t blocks = 0;
    for (const auto& e : pff["internal"]["bbt"]["entry_list"]) blocks += e.contains("deleted") ? 0 : 1;
    REQUIRE(blocks > 0);
    for (const bool structure_only : {false, true}) {
        INFO(structure_only);
        const mailfsck::OpenStore store = mailfsck::open_store(enron->string(), std::nullopt);
        std::vector<std::pair<std::uint64_t, std::uint64_t>> calls;
        mailfsck::CheckHooks hooks;
        hooks.structure_only = structure_only;
        hooks.progress = [&](std::uint64_t done, std::uint64_t total) { calls.emplace_back(done, total); };
        mailfsck::StoreLog log;
        mailfsck::check_store(store, log, nullptr, hooks);
        REQUIRE_FALSE(log.error);
        REQUIRE(calls.size() > 1);
        for (std::size_t i = 0; i < calls.size(); ++i) {
            CHECK(calls[i].second == blocks);
            CHECK(calls[i].first <= blocks);
            if (i > 0) CHECK(calls[i].first >= calls[i - 1].first);
        }
        CHECK(calls.back().first == blocks);
    }
}

TEST_CASE("an XBLOCK whose short last block is moved to the front is found") {
    const auto enron = shared_path("pst/npm_pst-extractor/enron.pst");
    if (!enron) return;
    TempDir t("pst-xblock");
    std::string bytes = read_file(*enron);
    const json pff = run_json(pff_nodes + " --no-unallocated " + q(*enron));
    // An XBLOCK ([MS-PST] 2.2.2.8.3.1): an internal block (bid bit 1) that
    // starts btype 1, cLevel 1, then cEnt(2), lcbTotal(4) and 8-byte bids.
    std::uint64_t at = 0, cb = 0, count = 0;
    for (const auto& e : pff["internal"]["bbt"]["entry_list"]) {
        if (e.contains("deleted") || (e["bid"].get<std::uint64_t>() & 2) == 0) continue;
        const std::uint64_t ib = e["ib"];
        const auto n = static_cast<std::uint8_t>(bytes[ib + 2]) | static_cast<std::uint8_t>(bytes[ib + 3]) << 8;
        if (bytes[ib] == 1 && bytes[ib + 1] == 1 && n >= 2) {
            at = ib;
            cb = e["cb"];
            count = static_cast<std::uint64_t>(n);
            break;
        }
    }
    REQUIRE(count >= 2);
    // Swap the first and the last child: the total stays, the order breaks.
    std::swap_ranges(bytes.begin() + static_cast<std::ptrdiff_t>(at + 8),
                     bytes.begin() + static_cast<std::ptrdiff_t>(at + 16),
                     bytes.begin() + static_cast<std::ptrdiff_t>(at + 8 + 8 * (count - 1)));
    // The block's CRC (Unicode trailer: cb, wSig, dwCRC, bid at the end of
    // the 64-byte-aligned block) made right again.
    store_pst_crc(bytes, block_trailer_at(at, cb) + 4, at, cb);
    write_file(t.path() / "x.pst", bytes);
    int status = -1;
    const json st = scan(t.path() / "x.pst", &status);
    bool found = false;
    for (const auto& p : st["problems"])
        found = found || (p["code"] == "PST-0207" && p["detail"].get<std::string>().find("before the last") != std::string::npos);
    CHECK(found);
    CHECK(status == 4);
}

// Decryption and data trees, judged by the spec alone: every folder and
// message node's data is a Property Context heap and every hierarchy,
// contents and associated-contents table node's a Table Context heap
// ([MS-PST] 2.3.1.2: bSig 0xEC at byte 2, bClientSig 0xBC for a PC and 0x7C
// for a TC at byte 3), which no undecrypted or mis-assembled data gives.
TEST_CASE("every folder, message and table node reads and decrypts to the heap its type calls for") {
    const auto dir = shared_path("pst");
    if (!dir) return;
    TempDir t("pst-nodes");
    std::set<int> methods;
    for (const fs::path& f : files_ending(*dir, {".pst", ".ost", ".pst.xz"})) {
        INFO(f.string());
        const OpenedPst pst(plain(f, t.path()));
        const auto& [bytes, file, h, layout, index, reader, m] = pst;
        std::size_t checked = 0, wrong = 0, unreadable = 0;
        mailfsck::pst::TreeVisitor v;
        v.nbt = [&](const mailfsck::pst::NbtEntry& n) {
            const std::uint32_t type = mailfsck::pst::nid_type(n.nid);
            int client = 0;
            if (type == 0x02 || type == 0x03 || type == 0x04) client = 0xBC;
            if (type == 0x0D || type == 0x0E || type == 0x0F) client = 0x7C;
            if (client == 0 || n.bid_data == 0) return;
            std::vector<mailfsck::pst::ReadIssue> issues;
            const auto blocks = reader.data_blocks(n.bid_data, issues);
            if (blocks.empty()) {
                ++unreadable;
                return;
            }
            const auto first = reader.block(blocks.front(), issues);
            if (!first || first->size() < 4) {
                ++unreadable;
                return;
            }
            ++checked;
            wrong += ((*first)[2] != 0xEC || (*first)[3] != client) ? 1 : 0;
        };
        (void)mailfsck::pst::walk_tree(file, layout, mailfsck::pst::PageType::nbt, h.nbt, v);
        CHECK(checked > 0);
        CHECK(wrong == 0);
        CHECK(unreadable == 0);
        methods.insert(h.crypt);
    }
    // The corpus holds all three methods: none, permute and cyclic.
    CHECK(methods == std::set<int>{0, 1, 2});
}

// The corpus's one SIBLOCK (Outlook 97, ANSI): an SIBLOCK is btype 2,
// cLevel 1, cEnt(2), then SIENTRYs of a 4-byte NID and a 4-byte BID
// ([MS-PST] 2.2.2.8.3.3.2). Its second key moved up by one, the block's CRC
// (ANSI trailer: cb, wSig, bid, then dwCRC, 12 bytes at the end of the
// 64-byte-aligned block) made right again: the key no longer names its
// SLBLOCK's first subnode.
TEST_CASE("an SIBLOCK key that is not its SLBLOCK's first subnode is found") {
    const auto f = shared_path("pst/simiden_pst2john/97_outlook_pass12345.pst");
    if (!f) return;
    TempDir t("pst-siblock");
    std::string bytes = read_file(*f);
    const json mine = run_json(tool + " inspect --json - " + q(*f));
    std::uint64_t at = 0, cb = 0;
    for (const auto& e : mine["bbt"])
        if (e["kind"] == "SIBLOCK") {
            at = e["ib"];
            cb = e["cb"];
        }
    REQUIRE(cb >= 4 + 2 * 8);
    REQUIRE(bytes[at] == 2);
    REQUIRE(bytes[at + 1] == 1);
    bytes[at + 4 + 8] = static_cast<char>(bytes[at + 4 + 8] + 1);
    store_pst_crc(bytes, block_trailer_at(at, cb, 12) + 8, at, cb);
    write_file(t.path() / "x.pst", bytes);
    int status = -1;
    const json st = scan(t.path() / "x.pst", &status);
    bool found = false;
    for (const auto& p : st["problems"])
        found = found || (p["code"] == "PST-0208" && p["offset"] == at &&
                          p["detail"].get<std::string>().rfind("SIENTRY key", 0) == 0);
    CHECK(found);
    CHECK(status == 4);
}

// What is no PST is refused with exit 8 (fsck(8): operational error); a PST
// whose header is gone is still recognised by its B-tree pages, its header
// rebuilt from them (PST-0013) and checked, exit 4: the damage is found, and
// a scan corrects nothing. Mail text inside it (an unencrypted PST keeps
// attached messages as they are) does not make it an mbox.
TEST_CASE("files that are no PST are refused, and a PST without its header is still one") {
    const auto sample = shared_path("pst/emk_pstsdk/sample1.pst");
    if (!sample) return;
    TempDir t("pst-notpst");
    write_file(t.path() / "page.pst", "<html><body>Your mailbox</body></html>\n");
    write_file(t.path() / "zero.pst", std::string(300000, '\0'));
    write_file(t.path() / "empty.pst", "");
    for (const char* name : {"page.pst", "zero.pst", "empty.pst"}) {
        INFO(name);
        const auto r = run(tool + " scan " + q(t.path() / name) + " 2>&1");
        CHECK(r.status == 8);
        CHECK((r.out.find("not a mail store") != std::string::npos || r.out.find("empty file") != std::string::npos));
    }
    std::string headless = read_file(*sample);
    std::fill_n(headless.begin(), 512, '\0');
    headless += "\nFrom someone@example.com Thu Jan  1 00:00:00 2026\nSubject: quoted\n\nbody\n";
    write_file(t.path() / "headless.pst", headless);
    int status = -1;
    const json st = scan(t.path() / "headless.pst", &status);
    CHECK(st["format"] == "pst");
    bool rebuilt = false;
    for (const auto& p : st["problems"]) rebuilt = rebuilt || p["code"] == "PST-0013";
    CHECK(rebuilt);
    CHECK(st["messages"]["found"] > 0);
    CHECK(status == 4);
}

// The LTP layer against libpff: from the root folder down, each folder's
// hierarchy table lists exactly the folders, and its contents table
// exactly the messages, that libpff's item tree (built from the NBT's
// parent links, not from these tables) puts under it.
TEST_CASE("folder hierarchy and contents tables agree with libpff's item tree") {
    const auto dir = shared_path("pst");
    if (!dir) return;
    TempDir t("pst-ltp");
    std::size_t folders_seen = 0, messages_seen = 0;
    for (const fs::path& f : files_ending(*dir, {".pst", ".ost", ".pst.xz"})) {
        INFO(f.string());
        const fs::path p = plain(f, t.path());
        const OpenedPst pst(p);
        const mailfsck::pst::Messaging& m = pst.m;

        const json pff = run_json(pff_nodes + " --no-internal " + q(p));
        std::map<std::uint32_t, std::set<std::uint32_t>> pff_folders, pff_messages;
        for (const auto& item : pff["items"]) {
            if (item["origin"] != "tree" || !item.contains("nid")) continue;
            const auto nid = item["nid"].get<std::uint32_t>();
            const auto parent = item["parent"].get<std::uint32_t>();
            const std::uint32_t type = nid & 0x1F;
            if (type == 2 || type == 3) pff_folders[parent].insert(nid);
            if (type == 4) pff_messages[parent].insert(nid);
        }
        std::vector<std::uint32_t> pending{mailfsck::pst::nid_root_folder};
        std::set<std::uint32_t> visited;
        while (!pending.empty()) {
            const std::uint32_t folder = pending.back();
            pending.pop_back();
            if (!visited.insert(folder).second) continue;
            INFO("folder " << folder);
            std::vector<mailfsck::pst::ReadIssue> issues;
            std::set<std::uint32_t> children, messages;
            if (const auto node = m.node(mailfsck::pst::sibling_nid(folder, mailfsck::pst::nid_type_hierarchy_table))) {
                const auto tc = m.table(*node, issues);
                CHECK(tc.valid);
                for (const std::string& d : tc.defects) INFO(d);
                CHECK(tc.defects.empty());
                for (const auto& row : tc.rows) children.insert(row.id);
            }
            if (const auto node = m.node(mailfsck::pst::sibling_nid(folder, mailfsck::pst::nid_type_contents_table))) {
                const auto tc = m.table(*node, issues);
                CHECK(tc.valid);
                for (const std::string& d : tc.defects) INFO(d);
                CHECK(tc.defects.empty());
                for (const auto& row : tc.rows) messages.insert(row.id);
                // Read as the check reads a contents table: the same rows, none of their cells.
                const auto ids = m.table(*node, issues, mailfsck::pst::Cells::read_only);
                CHECK(ids.valid);
                CHECK(ids.defects.empty());
                REQUIRE(ids.rows.size() == tc.rows.size());
                for (std::size_t i = 0; i < ids.rows.size(); ++i) {
                    CHECK(ids.rows[i].id == tc.rows[i].id);
                    CHECK(ids.rows[i].cells.empty());
                }
            }
            CHECK(issues.empty());
            CHECK(children == pff_folders[folder]);
            CHECK(messages == pff_messages[folder]);
            ++folders_seen;
            messages_seen += messages.size();
            pending.insert(pending.end(), children.begin(), children.end());
        }
    }
    CHECK(folders_seen > 100);
    CHECK(messages_seen > 500);
}

// Messages against libpff's C API (tests/oracle/pff_nodes.c --names): per
// folder, the same subjects; per message, the same attachments by long
// file name and data size. Decoding of both string types, HNIDs into the
// heap and into subnodes, attachment tables and attachment PCs are all
// exercised.
TEST_CASE("messages read through the LTP have libpff's subjects and attachments") {
    const auto dir = shared_path("pst");
    if (!dir) return;
    TempDir t("pst-messages");
    std::size_t messages = 0, attachments = 0, rtf_bodies = 0;
    for (const fs::path& f : files_ending(*dir, {".pst", ".ost", ".pst.xz"})) {
        INFO(f.string());
        const fs::path p = plain(f, t.path());
        const OpenedPst pst(p);
        const mailfsck::pst::Messaging& m = pst.m;

        const json pff = run_json(pff_nodes + " --names --no-internal " + q(p));
        std::map<std::uint32_t, std::multiset<std::string>> pff_subjects;  // by folder
        std::map<std::uint32_t, std::multiset<std::pair<std::string, std::uint64_t>>> pff_files;  // by message
        std::set<std::uint32_t> pff_messages, pff_failed;
        for (const auto& item : pff["items"]) {
            if (!item.contains("parent")) continue;
            const auto parent = item["parent"].get<std::uint32_t>();
            if (item["origin"] == "tree" && item.contains("nid") && (item["nid"].get<std::uint32_t>() & 0x1F) == 4) {
                std::string s = item.value("subject", std::string());
                if (s.size() >= 2 && s[0] == '\x01') s = s.substr(2);
                pff_subjects[parent].insert(s);
                pff_messages.insert(item["nid"].get<std::uint32_t>());
            }
            if (item["origin"] == "attachment" && item.value("attachment_type", std::string()) == "data")
                pff_files[parent].emplace(item.value("long_filename", std::string()), item.value("data_size", std::uint64_t{0}));
            // libpff gives up on some attachment tables (a 2003 file with
            // cyclic encryption: "unsupported table signature"): no oracle
            // for those messages.
            if (item["origin"] == "attachment" && item.contains("errors")) pff_failed.insert(parent);
        }
        std::map<std::uint32_t, std::multiset<std::string>> ours;
        for (const auto& [folder, subjects] : pff_subjects) {
            const auto node = m.node(mailfsck::pst::sibling_nid(folder, mailfsck::pst::nid_type_contents_table));
            if (!node) continue;
            std::vector<mailfsck::pst::ReadIssue> issues;
            for (const auto& row : m.table(*node, issues).rows) {
                const auto ref = m.node(row.id);
                REQUIRE(ref);
                const mailfsck::pst::Message msg = mailfsck::pst::read_message(m, *ref);
                CHECK(msg.issues.empty());
                for (const std::string& d : msg.defects) INFO(d);
                CHECK(msg.defects.empty());
                const std::uint32_t cp = mailfsck::pst::codepage_of(msg.properties);
                const auto* subject = msg.properties.find(mailfsck::pst::tag::subject);
                std::string s = subject ? mailfsck::pst::utf8(*subject, cp).value_or("") : "";
                // A subject may start with a two-character prefix marker
                // (0x01 and the prefix length, [MS-OXCMSG] 2.2.1.46),
                // which libpff keeps: compared without it on both sides.
                if (s.size() >= 2 && s[0] == '\x01') s = s.substr(2);
                ours[folder].insert(s);
                ++messages;
                // A compressed RTF body ([MS-OXRTFCP]) checks out by its own
                // CRC and raw size, and is RTF. Aspose's uncompressed ones
                // ("MELA") state a raw size equal to the compressed size,
                // 12 bytes more than they hold (COMPSIZE counts the rest of
                // the header, 2.1.3.1): there every stored byte must come out.
                if (const auto* rtf = msg.properties.find(mailfsck::pst::tag::rtf_compressed)) {
                    const mailfsck::ByteView stored(rtf->value.data(), rtf->value.size(), 0);
                    const auto body = mailfsck::pst::decompress_rtf(stored);
                    const bool mela = mailfsck::Cursor(stored, 8).u32le() == 0x414C454D;
                    if (mela)
                        CHECK(body.text.size() == stored.size() - 16);
                    else
                        CHECK_FALSE(body.defect.has_value());
                    CHECK(std::string(body.text.begin(), body.text.begin() + std::min<std::size_t>(5, body.text.size())) == "{\\rtf");
                    ++rtf_bodies;
                }
                std::multiset<std::pair<std::string, std::uint64_t>> files;
                for (const auto& att : msg.attachments) {
                    // By value (1), or an OLE object (6) whose PtypObject
                    // value is its subnode's NID and size ([MS-PST] 2.4.6.2.2).
                    const auto* method = att.properties.find(mailfsck::pst::tag::attach_method);
                    if (!method || (method->as_uint() != 1 && method->as_uint() != 6)) continue;
                    const auto* name = att.properties.find(mailfsck::pst::tag::attach_long_filename);
                    const auto* data = att.properties.find(mailfsck::pst::tag::attach_data);
                    std::uint64_t size = data ? data->value.size() : 0;
                    if (method->as_uint() == 6 && data && data->value.size() == 8)
                        size = data->value[4] | data->value[5] << 8 | data->value[6] << 16 | std::uint64_t{data->value[7]} << 24;
                    files.emplace(name ? mailfsck::pst::utf8(*name, cp).value_or("") : "", size);
                    ++attachments;
                }
                if (pff_messages.count(row.id) && !pff_failed.count(row.id)) CHECK(files == pff_files[row.id]);
            }
            CHECK(ours[folder] == subjects);
        }
    }
    CHECK(messages > 500);
    CHECK(attachments > 20);
    CHECK(rtf_bodies > 100);
}

// Export, judged by two readers we did not write: every corpus PST/OST
// repaired --to eml, the .eml files parsed by Python's email package
// (tests/oracle/eml_facts.py) without a defect, and per folder the same
// messages (subject, attachment names and decoded sizes) as libpff's C
// API lists there. The output rescans clean, and a second repair writes
// the same bytes.
TEST_CASE("PST repaired to .eml: libpff's folders, subjects, bodies, senders and attachments, read back by Python's email package") {
    const auto dir = shared_path("pst");
    if (!dir) return;
    TempDir t("pst-export");
    const std::string facts_oracle = MAILFSCK_SOURCE_DIR "/tests/oracle/eml_facts.py";
    std::size_t compared = 0, bodies = 0, senders = 0;
    for (const fs::path& f : files_ending(*dir, {".pst", ".ost", ".pst.xz"})) {
        INFO(f.string());
        const fs::path p = plain(f, t.path());
        const fs::path out = t.path() / ("out-" + p.filename().string());
        const auto r = run(tool + " repair -q --to eml -o " + q(out) + " " + q(p) + " 2>&1");
        INFO(r.out);
        REQUIRE(fs::exists(out / "messages"));
        const json ours = run_json("python3 " + q(facts_oracle) + " " + q(out / "messages"));

        const json pff = run_json(pff_nodes + " --names --no-internal " + q(p));
        std::map<std::uint32_t, std::pair<std::uint32_t, std::string>> folder;  // nid -> (parent, name)
        std::map<std::uint32_t, std::vector<std::pair<std::string, std::uint64_t>>> files;
        bool attachment_errors = false;
        for (const auto& item : pff["items"]) {
            if (!item.contains("nid") || !item.contains("parent")) {
                attachment_errors = attachment_errors || (item["origin"] == "attachment" && item.contains("errors"));
                continue;
            }
            const auto nid = item["nid"].get<std::uint32_t>();
            if (item.value("type", std::string()) == "folder")
                folder[nid] = {item["parent"].get<std::uint32_t>(), item.value("name", std::string())};
            if (item["origin"] == "attachment" && item.value("attachment_type", std::string()) == "data")
                files[item["parent"].get<std::uint32_t>()].emplace_back(item.value("long_filename", std::string()),
                                                                         item.value("data_size", std::uint64_t{0}));
        }
        // Our folder paths: names from below the root folder (0x122) down,
        // '.' and '/' in a name written as '_' (levels are separated by '.'),
        // and a level named cur, new or tmp given a '_' (the .eml tree must
        // not read back as a Maildir).
        const auto path_of = [&](std::uint32_t nid) {
            std::string path;
            for (int depth = 0; nid != 0x122 && folder.count(nid) && depth < 64; ++depth) {
                std::string name = folder[nid].second;
                std::replace(name.begin(), name.end(), '.', '_');
                std::replace(name.begin(), name.end(), '/', '_');
                if (name == "cur" || name == "new" || name == "tmp") name += '_';
                path = path.empty() ? name : name + "/" + path;
                nid = folder[nid].first;
            }
            return path;
        };
        using Facts = std::multiset<std::string>;
        std::map<std::string, Facts> expected, got;
        // A message as subject and attachment sizes; names are compared on
        // their own below, because where an attachment has no long file
        // name libpff gives none and we name it from its other properties.
        const auto key = [&](const std::string& subject, const std::vector<std::pair<std::string, std::uint64_t>>& atts) {
            std::vector<std::uint64_t> sizes;
            for (const auto& a : atts) sizes.push_back(a.second);
            std::sort(sizes.begin(), sizes.end());
            std::string k = subject;
            if (!attachment_errors)
                for (const std::uint64_t size : sizes) k += " | " + std::to_string(size);
            return k;
        };
        std::map<std::string, Facts> expected_names, got_names;
        for (const auto& item : pff["items"]) {
            if (item["origin"] != "tree" || !item.contains("nid") || (item["nid"].get<std::uint32_t>() & 0x1F) != 4) continue;
            const auto parent = item["parent"].get<std::uint32_t>();
            if ((parent & 0x1F) == 3) continue;  // search folders are not exported
            std::string s = item.value("subject", std::string());
            if (s.size() >= 2 && s[0] == '\x01') s = s.substr(2);
            const auto& atts = files[item["nid"].get<std::uint32_t>()];
            expected[path_of(parent)].insert(key(s, atts));
            for (const auto& a : atts)
                if (!a.first.empty() && !attachment_errors) expected_names[path_of(parent)].insert(a.first);
        }
        for (const auto& [path, messages] : ours.items())
            for (const auto& m : messages) {
                CHECK(m["defects"].empty());
                std::vector<std::pair<std::string, std::uint64_t>> atts;
                for (const auto& a : m["attachments"]) atts.emplace_back(a[0].get<std::string>(), a[1].get<std::uint64_t>());
                got[path].insert(key(m["subject"].get<std::string>(), atts));
                for (const auto& a : atts) got_names[path].insert(a.first);
                ++compared;
            }
        for (const auto& [path, names] : expected_names)
            for (const auto& n : names) {
                INFO(path << ": attachment " << n);
                CHECK(got_names[path].count(n) >= names.count(n));
            }
        std::vector<std::string> only_ours, only_theirs;
        for (const auto& [path, facts] : got)
            for (const auto& k : facts)
                if (expected[path].count(k) < facts.count(k)) only_ours.push_back(path + ": " + k);
        for (const auto& [path, facts] : expected)
            for (const auto& k : facts)
                if (got[path].count(k) < facts.count(k)) only_theirs.push_back(path + ": " + k);
        std::string diff;
        for (const auto& k : only_ours) diff += "\nonly ours: " + k;
        for (const auto& k : only_theirs) diff += "\nonly libpff's: " + k;
        INFO(diff);
        CHECK(only_ours.empty());
        CHECK(only_theirs.empty());

        // Body text and sender, message by message where the subject names
        // one message in both: the plain body as libpff's C API decodes it
        // (line ends and trailing blanks aside), and the From header holding
        // libpff's sender name or address. A message with transport headers
        // keeps their From, which need not be either.
        std::map<std::string, std::vector<json>> by_subject_ours, by_subject_pff;
        for (const auto& [path, messages] : ours.items())
            for (const auto& m : messages) by_subject_ours[m["subject"].get<std::string>()].push_back(m);
        for (const auto& item : pff["items"]) {
            if (item["origin"] != "tree" || !item.contains("nid") || (item["nid"].get<std::uint32_t>() & 0x1F) != 4) continue;
            std::string s = item.value("subject", std::string());
            if (s.size() >= 2 && s[0] == '\x01') s = s.substr(2);
            by_subject_pff[s].push_back(item);
        }
        const auto text = [](std::string s) {
            std::string joined, line;
            s.erase(std::remove(s.begin(), s.end(), '\r'), s.end());
            std::istringstream in(s);
            while (std::getline(in, line)) {
                while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.pop_back();
                joined += line + "\n";
            }
            while (!joined.empty() && joined.back() == '\n') joined.pop_back();
            return joined;
        };
        for (const auto& [subject, items] : by_subject_pff) {
            if (items.size() != 1 || by_subject_ours[subject].size() != 1) continue;
            const json& theirs = items.front();
            const json& mine = by_subject_ours[subject].front();
            INFO("message " << subject);
            if (theirs.contains("body")) {
                CHECK(text(mine["body"]) == text(theirs["body"]));
                ++bodies;
            }
            if (theirs.value("transport_headers", false) || !(theirs.contains("sender_name") || theirs.contains("sender_email")))
                continue;
            bool named = false;
            for (const auto& box : mine["from"])
                named = named || box[0] == theirs.value("sender_name", std::string("\x01")) ||
                        box[1] == theirs.value("sender_email", std::string("\x01"));
            CHECK(named);
            ++senders;
        }

        // A store of no messages exports empty folders, which are no mail
        // store to scan.
        if (!ours.empty()) {
            const auto rescan = run(tool + " scan " + q(out / "messages") + " 2>&1");
            INFO(rescan.out);
            CHECK(rescan.status == 0);
        }
    }
    CHECK(compared > 500);
    CHECK(bodies > 140);
    CHECK(senders >= 40);  // most messages keep transport headers
}

// Same PST, same bytes: two repairs write identical files (boundaries come
// from content, not from clocks or randomness). And mbox and Maildir
// outputs hold the same messages and check clean.
TEST_CASE("PST export is deterministic, and its mbox and Maildir forms check clean") {
    const auto enron = shared_path("pst/npm_pst-extractor/enron.pst");
    const auto ost = shared_path("pst/npm_pst-extractor/pstextractortest@outlook.com.ost");
    if (!enron || !ost) return;
    TempDir t("pst-determinism");
    for (const fs::path& f : {*enron, *ost}) {
        INFO(f.string());
        const fs::path a = t.path() / ("a-" + f.filename().string()), b = t.path() / ("b-" + f.filename().string());
        REQUIRE(run(tool + " repair -q --to eml -o " + q(a) + " " + q(f) + " >/dev/null 2>&1").status <= 1);
        REQUIRE(run(tool + " repair -q --to eml -o " + q(b) + " " + q(f) + " >/dev/null 2>&1").status <= 1);
        std::map<std::string, std::string> files_a, files_b;
        std::size_t messages = 0;
        for (const auto& e : fs::recursive_directory_iterator(a / "messages"))
            if (e.is_regular_file()) {
                files_a[fs::relative(e.path(), a).string()] = read_file(e.path());
                messages += e.path().extension() == ".eml" ? 1 : 0;  // not the .ics beside an appointment's
            }
        for (const auto& e : fs::recursive_directory_iterator(b / "messages"))
            if (e.is_regular_file()) files_b[fs::relative(e.path(), b).string()] = read_file(e.path());
        CHECK(messages > 50);
        CHECK(files_a == files_b);
        for (const char* to : {"mbox", "maildir"}) {
            const fs::path out = t.path() / (std::string(to) + "-" + f.filename().string());
            REQUIRE(run(tool + " repair -q --to " + to + " -o " + q(out) + " " + q(f) + " >/dev/null 2>&1").status <= 1);
            // Named after the input without ".pst"/".ost": the output is no PST.
            const std::string stem = f.stem().string();
            CHECK(fs::exists(out / stem));
            // One mbox per folder (empty folders give empty files, so the
            // format is named), or one Maildir++ tree.
            std::string stores;
            for (const auto& e : fs::directory_iterator(out))
                if (e.path().filename() != "report.json" && e.path().filename() != "report.txt" &&
                    e.path().filename() != "index.jsonl")
                    stores += " " + q(e.path());
            const std::string format = std::string(to) == "mbox" ? " --format mbox" : "";
            const auto r = run(tool + " scan -q" + format + " --json -" + stores + " 2>/dev/null");
            INFO(to << " " << r.out.substr(0, 2000));
            CHECK(r.status == 0);
            const json j = json::parse(r.out);
            std::uint64_t found = 0;
            for (const auto& s : j["stores"]) found += s["messages"]["found"].get<std::uint64_t>();
            CHECK(found == messages);
        }
    }
}

// --quick checks the node database alone: no folder or message is read,
// message nodes are counted (libpff counts 71 messages in enron.pst). An
// Aspose file whose RTF bodies overstate their size (PST-0510, found only
// by reading messages) shows the difference.
TEST_CASE("scan --quick checks a PST's node database without reading its messages") {
    const auto enron = shared_path("pst/npm_pst-extractor/enron.pst");
    const auto aspose = shared_path("pst/aspose-email_Aspose.Email-for-.NET/passwordprotectedPST.pst");
    if (!enron || !aspose) return;
    const auto quick = run(tool + " scan -q --quick --json - " + q(*enron) + " 2>/dev/null");
    const auto full = run(tool + " scan -q --json - " + q(*enron) + " 2>/dev/null");
    CHECK(quick.status == 0);
    CHECK(full.status == 0);
    CHECK(json::parse(quick.out)["stores"][0]["messages"]["found"] == 71);
    CHECK(json::parse(full.out)["stores"][0]["messages"]["found"] == 71);
    CHECK(run(tool + " scan -q --json - " + q(*aspose) + " 2>/dev/null").out.find("PST-0510") != std::string::npos);
    CHECK(run(tool + " scan -q --quick --json - " + q(*aspose) + " 2>/dev/null").out.find("PST-0510") == std::string::npos);
    CHECK(run(tool + " repair --quick -o /nonexistent " + q(*enron) + " 2>/dev/null").status == 16);
}

// Expectations stated outside our code: mailbagit's expected fields for
// its Outlook 2019 PST (tests/oracle/mailbagit_check.py compares folder
// path, Subject, From, To, Date, text body and HTML charset, read back by
// Python's email package), and PROVENANCE.md's "one message with 200
// recipients".
TEST_CASE("PST export meets mailbagit's expected fields and PROVENANCE.md's 200 recipients") {
    const auto mailbagit = shared_path("pst/UAlbanyArchives_mailbagit/outlook2019_MSO_16.0.10377.20023_64-bit.pst");
    const auto expected = shared_path("pst/UAlbanyArchives_mailbagit/expected");
    const auto many = shared_path("pst/aquasync_ruby-msg/200 recipients.pst");
    if (!mailbagit || !expected || !many) return;
    TempDir t("pst-expected");
    REQUIRE(run(tool + " repair -q --to eml -o " + q(t.path() / "m") + " " + q(*mailbagit) + " >/dev/null 2>&1").status <= 1);
    const json problems = run_json("python3 " + q(fs::path(MAILFSCK_SOURCE_DIR) / "tests/oracle/mailbagit_check.py") + " " +
                                   q(t.path() / "m" / "messages") + " " + q(*expected));
    INFO(problems.dump());
    CHECK(problems.empty());

    REQUIRE(run(tool + " repair -q --to eml -o " + q(t.path() / "r") + " " + q(*many) + " >/dev/null 2>&1").status <= 1);
    const auto r = run("python3 -c 'import email,email.policy,sys,glob\n"
                       "f=glob.glob(sys.argv[1]+\"/**/*.eml\",recursive=True)\n"
                       "m=email.message_from_binary_file(open(f[0],\"rb\"),policy=email.policy.default)\n"
                       "print(len(f), sum(len(m[h].addresses) for h in (\"to\",\"cc\",\"bcc\") if m[h]))' " +
                       q(t.path() / "r" / "messages"));
    CHECK(r.out == "1 200\n");
}

namespace {

// Items per folder in a tree of one file per item ("N.eml", "000001.vcf"):
// distinct numbers per directory, keyed by the directory's name, with the
// '_' our export adds to a folder named cur, new or tmp taken off.
std::map<std::string, std::size_t> items_per_folder(const fs::path& root, bool skip_top) {
    std::map<std::string, std::set<std::string>> numbers;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
        if (!e.is_regular_file()) continue;
        const fs::path rel = fs::relative(e.path(), root);
        if (skip_top && std::distance(rel.begin(), rel.end()) < 3) continue;
        std::string folder = e.path().parent_path().filename().string();
        if (folder == "cur_" || folder == "new_" || folder == "tmp_") folder.pop_back();
        numbers[folder].insert(e.path().stem().string());
    }
    std::map<std::string, std::size_t> out;
    for (const auto& [folder, n] : numbers) out[folder] = n.size();
    return out;
}

}  // namespace

// readpst (pst-utils) as a second independent reader. Per folder, the
// exported item count equals readpst's wherever readpst says it skipped
// nothing (it skips task, distribution-list and free/busy items, and names
// its top folder after the store, so the top folder is left out). Contacts
// and calendar items, written as .vcf and .ics, parse with Debian's
// vobject and icalendar, and hold readpst's e-mail addresses, summaries,
// start and end times, and (expanded by dateutil) recurrences.
TEST_CASE("PST export: readpst's item counts per folder, and its contacts and appointments as vCard and iCalendar") {
    const auto dir = shared_path("pst");
    if (!dir) return;
    TempDir t("pst-readpst");
    const std::string objects_oracle = "/usr/bin/python3 " MAILFSCK_SOURCE_DIR "/tests/oracle/item_objects.py";
    std::size_t folders_compared = 0, contacts = 0, appointments = 0;
    for (const fs::path& f : files_ending(*dir, {".pst", ".ost", ".pst.xz"})) {
        INFO(f.string());
        const fs::path p = plain(f, t.path());
        const fs::path out = t.path() / ("ours-" + p.filename().string());
        const fs::path theirs = t.path() / ("readpst-" + p.filename().string());
        fs::create_directories(theirs);
        REQUIRE(run(tool + " repair -q --to eml -o " + q(out) + " " + q(p) + " >/dev/null 2>&1").status <= 1);
        // One job: readpst's parallel jobs write their report lines into each other.
        const auto rp = run("readpst -j 0 -e -D -cv -o " + q(theirs) + " " + q(p) + " 2>&1");
        if (rp.status != 0) continue;  // readpst failed: nothing to compare

        // '"Inbox" - 6 items done, 0 items skipped.'
        std::map<std::string, bool> skipped_none;
        std::istringstream lines(rp.out);
        for (std::string line; std::getline(lines, line);) {
            const auto close = line.find("\" - ");
            const auto skipped = line.find(" items skipped.");
            if (line.find('"') == std::string::npos || close == std::string::npos || skipped == std::string::npos) continue;
            const std::string name = line.substr(line.find('"') + 1, close - line.find('"') - 1);
            const bool none = line.substr(line.rfind(", ") + 2, skipped - line.rfind(", ") - 2) == "0";
            skipped_none[name] = skipped_none.count(name) ? skipped_none[name] && none : none;
        }
        const auto our_counts = items_per_folder(out / "messages", false);
        const auto their_counts = items_per_folder(theirs, true);
        for (const auto& [folder, n] : their_counts) {
            if (!skipped_none.count(folder) || !skipped_none[folder]) continue;
            INFO("folder " << folder);
            CHECK(our_counts.count(folder) == 1);
            if (our_counts.count(folder)) CHECK(our_counts.at(folder) == n);
            ++folders_compared;
        }

        const json ours = run_json(objects_oracle + " " + q(out / "messages"));
        const json ref = run_json(objects_oracle + " " + q(theirs));
        INFO(ours["errors"].dump());
        CHECK(ours["errors"].empty());
        std::multiset<std::string> our_facts, their_facts;
        for (const json* side : {&ours, &ref})
            for (const auto& item : (*side)["items"]) {
                std::string fact;
                if (item["kind"] == "vcf") {
                    if (item["emails"].empty()) continue;
                    fact = "contact " + item["emails"].dump();
                } else {
                    // readpst writes meeting messages as mail, not .ics.
                    if (!item["method"].get<std::string>().empty()) continue;
                    fact = "event " + item["summary"].get<std::string>() + " " + item["dtstart"].get<std::string>() + " " +
                           item["dtend"].get<std::string>() + " " + item["occurrences"].dump();
                }
                (side == &ours ? our_facts : their_facts).insert(fact);
            }
        for (const std::string& fact : their_facts) {
            INFO(fact);
            CHECK(our_facts.count(fact) >= their_facts.count(fact));
            (fact.rfind("contact", 0) == 0 ? contacts : appointments) += 1;
        }
    }
    CHECK(folders_compared >= 60);
    INFO(contacts << " contacts, " << appointments << " appointments");
    CHECK(contacts >= 30);
    CHECK(appointments >= 170);
}

// Folder-associated items (NID type 8) are no mail: they are not exported,
// and the report counts them, as many as libpff's item tree holds.
TEST_CASE("PST folder-associated items are counted as libpff counts them") {
    const auto dir = shared_path("pst");
    if (!dir) return;
    TempDir t("pst-associated");
    std::uint64_t total = 0;
    for (const fs::path& f : files_ending(*dir, {".pst", ".ost", ".pst.xz"})) {
        INFO(f.string());
        const fs::path p = plain(f, t.path());
        std::uint64_t theirs = 0, ours = 0;
        const json pff = run_json(pff_nodes + " --no-internal " + q(p));
        const json st = scan(p);
        for (const auto& item : pff["items"])
            if (item["origin"] == "tree" && item.contains("nid") && (item["nid"].get<std::uint32_t>() & 0x1F) == 8) ++theirs;
        for (const auto& problem : st["problems"])
            if (problem["code"] == "PST-0513") ours += std::stoull(problem["detail"].get<std::string>());
        CHECK(ours == theirs);
        total += theirs;
    }
    CHECK(total > 10);
}

// Items that are no mail carry a listing of their properties. Named ones
// are listed by set and number through the store's name-to-id map; where
// [MS-OXPROPS] gives a number's type, the listed type must be that one (a
// map read wrong would pair numbers with other properties' values).
TEST_CASE("PST items other than mail list their properties, named ones with the types [MS-OXPROPS] gives") {
    const auto dir = shared_path("pst");
    if (!dir) return;
    TempDir t("pst-listing");
    const std::map<std::string, std::string> spec = {
        {"{00062003-0000-0000-C000-000000000046}:0x8101", "PtypInteger32"},   // PidLidTaskStatus
        {"{00062003-0000-0000-C000-000000000046}:0x8102", "PtypFloating64"},  // PidLidPercentComplete
        {"{00062003-0000-0000-C000-000000000046}:0x8104", "PtypTime"},        // PidLidTaskStartDate
        {"{00062003-0000-0000-C000-000000000046}:0x8105", "PtypTime"},        // PidLidTaskDueDate
        {"{00062008-0000-0000-C000-000000000046}:0x8501", "PtypInteger32"},   // PidLidReminderDelta
        {"{00062008-0000-0000-C000-000000000046}:0x8503", "PtypBoolean"},     // PidLidReminderSet
        {"{00062004-0000-0000-C000-000000000046}:0x8083", "PtypString"},      // PidLidEmail1EmailAddress
        {"{00062004-0000-0000-C000-000000000046}:0x8005", "PtypString"},      // PidLidFileUnder
        {"{00062002-0000-0000-C000-000000000046}:0x820D", "PtypTime"},        // PidLidAppointmentStartWhole
        {"{00062002-0000-0000-C000-000000000046}:0x8208", "PtypString"},      // PidLidLocation
    };
    std::size_t checked = 0, listings = 0;
    for (const fs::path& f : files_ending(*dir, {".pst", ".ost", ".pst.xz"})) {
        INFO(f.string());
        const fs::path p = plain(f, t.path());
        const fs::path out = t.path() / ("out-" + p.filename().string());
        REQUIRE(run(tool + " repair -q --to eml -o " + q(out) + " " + q(p) + " >/dev/null 2>&1").status <= 1);
        const auto r = run("python3 -c 'import email,email.policy,sys,glob\n"
                           "for f in sorted(glob.glob(sys.argv[1]+\"/**/*.eml\",recursive=True)):\n"
                           "  m=email.message_from_binary_file(open(f,\"rb\"),policy=email.policy.default)\n"
                           "  for p in m.walk():\n"
                           "    if p.get_filename()==\"item-properties.txt\": print(\"LISTING\"); print(p.get_content())' " +
                           q(out / "messages"));
        REQUIRE(r.status == 0);
        std::istringstream lines(r.out);
        for (std::string line; std::getline(lines, line);) {
            if (line == "LISTING") ++listings;
            std::istringstream fields(line);
            std::string id, name, type;
            fields >> id >> name >> type;
            if (!spec.count(name)) continue;
            INFO(line);
            // ANSI stores keep strings 8-bit.
            CHECK((type == spec.at(name) || (spec.at(name) == "PtypString" && type == "PtypString8")));
            ++checked;
        }
    }
    CHECK(listings > 200);
    CHECK(checked > 300);
}

// Carving (salvage's first step) on healthy files: every block libpff's
// BBT lists, and every B-tree page its walk visits, is found by its trailer
// alone at the same offset with the same id; what carving finds beyond
// them are stale copies, which the research notes count at 7-23% of the
// valid blocks of the small sample files.
TEST_CASE("carving finds every block and B-tree page of a healthy PST where libpff's B-trees put them, none moved, and the header's roots") {
    const auto dir = shared_path("pst");
    if (!dir) return;
    TempDir t("pst-carve");
    std::size_t blocks = 0, stale = 0, pages = 0;
    for (const fs::path& f : files_ending(*dir, {".pst", ".ost", ".pst.xz"})) {
        INFO(f.string());
        const fs::path p = plain(f, t.path());
        const json pff = run_json(pff_nodes + " " + q(p));
        if (!pff.contains("internal") || !pff["internal"].value("available", false)) continue;
        const OpenedPst pst(p);
        // Carving reads the file as the checker does: mapped.
        const std::unique_ptr<mailfsck::Source> source = mailfsck::Source::open(p.string());
        std::set<std::tuple<std::uint64_t, std::uint64_t, std::uint32_t>> carved;
        // Nothing in a file as its writer left it was moved.
        std::size_t moved = 0;
        const mailfsck::pst::Phases phases = mailfsck::pst::find_phases(*source, pst.layout);
        CHECK(phases == mailfsck::pst::Phases{0});
        mailfsck::pst::carve_blocks(*source, pst.layout, phases, pst.h.bid_next_b, [&](const mailfsck::pst::CarvedBlock& b) {
            carved.emplace(b.bid & ~std::uint64_t{1}, b.ib, b.cb);
            moved += b.moved ? 1 : 0;
        });
        std::set<std::pair<std::uint64_t, std::uint64_t>> carved_pages;
        mailfsck::pst::carve_pages(*source, pst.layout, phases, [&](const mailfsck::pst::CarvedPage& page) {
            carved_pages.emplace(page.ib, static_cast<std::uint64_t>(page.type));
            moved += page.moved ? 1 : 0;
        });
        CHECK(moved == 0);
        std::size_t listed = 0;
        for (const auto& e : pff["internal"]["bbt"]["entry_list"]) {
            if (e.value("deleted", false)) continue;
            const auto key = std::make_tuple(e["bid"].get<std::uint64_t>() & ~std::uint64_t{1}, e["ib"].get<std::uint64_t>(),
                                             e["cb"].get<std::uint32_t>());
            INFO("block " << std::get<0>(key) << " at " << std::get<1>(key));
            CHECK(carved.count(key) == 1);
            ++listed;
        }
        blocks += listed;
        stale += carved.size() - std::min(carved.size(), listed);
        // What salvage takes for the roots when the header is gone is what
        // the header names.
        const mailfsck::pst::CarvedRoots roots = mailfsck::pst::carve_roots(*source, pst.layout, phases);
        CHECK(roots.bbt.ib == pst.h.bbt.ib);
        CHECK(roots.nbt.ib == pst.h.nbt.ib);
        for (const char* tree : {"nbt", "bbt"})
            for (const auto& page : pff["internal"][tree]["page_list"]) {
                if (page.contains("error")) continue;
                INFO(tree << " page at " << page["offset"]);
                CHECK(carved_pages.count({page["offset"].get<std::uint64_t>(), std::string(tree) == "nbt" ? 0x81U : 0x80U}) == 1);
                ++pages;
            }
    }
    INFO(blocks << " blocks, " << stale << " more carved, " << pages << " pages");
    CHECK(blocks > 20000);
    CHECK(pages > 1500);
    CHECK(stale > 0);
}

