// Seeded damage (tests/damage) on real PST/OST files, judged against where
// libpff (tests/oracle/pff_nodes.c) and the spec say each structure lies:
// damage that changes a structure in use is reported at that structure.
// Then the check run in many small passes (bounded memory) must find
// exactly what it finds in one.
#include <catch2/catch.hpp>
#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>
#include <nlohmann/json.hpp>

#include "parsers/bytes/source.h"
#include "repair/pst/pst_check.h"
#include "repair/pst/pst_inspect.h"
#include "tests/damage/damage.h"
#include "tests/unit/pst_bytes.h"
#include "tests/unit/support.h"

namespace fs = std::filesystem;
using mailfsck::test::block_size;
using mailfsck::test::block_trailer_at;
using mailfsck::test::files_ending;
using mailfsck::test::get_le;
using mailfsck::test::put_le;
using mailfsck::test::read_file;
using mailfsck::test::q;
using mailfsck::test::run;
using mailfsck::test::shared_path;
using mailfsck::test::store_pst_crc;
using mailfsck::test::write_file;
using nlohmann::json;

namespace {

const std::string pff_nodes = MAILFSCK_PFF_NODES;
const std::string tool = MAILFSCK_BINARY_DIR "/cli/mailfsck";

// Format figures from [MS-PST] 2.2.2.6-2.2.2.8 (and libpff's format
// document for 4 KiB pages), written out here rather than taken from the
// parser under test.
struct Geometry {
    std::uint64_t page;
    std::uint64_t block_align;
    std::uint64_t block_trailer;
    std::uint64_t header_checked;  // magic, both CRCs and what they cover
    std::uint64_t first_amap;
    std::uint64_t amap_span;
    bool pmaps;
    std::uint64_t amap_bits_at;  // ANSI pads 4 bytes before the bitmap
};

Geometry geometry(const std::string& bytes) {
    const unsigned wver = static_cast<unsigned char>(bytes[10]) | static_cast<unsigned char>(bytes[11]) << 8;
    if (wver == 14 || wver == 15) return {512, 64, 12, 8 + 471, 0x4400, 253952, true, 4};
    if (wver == 23) return {512, 64, 16, 528, 0x4400, 253952, true, 0};
    return {4096, 512, 24, 528, 0x22000, 4072ULL * 8 * 512, false, 0};
}

// A structure in use: the bytes a check covers (`live`, as pieces) inside
// its whole extent.
struct Structure {
    std::string what;
    std::uint64_t begin;
    std::uint64_t end;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> live;
};

std::vector<Structure> structures(const std::string& bytes, const json& pff) {
    const Geometry g = geometry(bytes);
    std::vector<Structure> out;
    out.push_back({"header", 0, g.header_checked, {{0, g.header_checked}}});
    for (const char* tree : {"bbt", "nbt"})
        for (const auto& p : pff["internal"][tree]["page_list"]) {
            const std::uint64_t at = p["offset"];
            out.push_back({std::string(tree) + " page", at, at + g.page, {{at, at + g.page}}});
        }
    for (const auto& e : pff["internal"]["bbt"]["entry_list"]) {
        if (e.contains("deleted")) continue;
        const std::uint64_t ib = e["ib"];
        const std::uint64_t cb = e["cb"];
        const std::uint64_t size = (cb + g.block_trailer + g.block_align - 1) / g.block_align * g.block_align;
        // The padding between data and trailer is covered by no check.
        out.push_back({"block", ib, ib + size, {{ib, ib + cb}, {ib + size - g.block_trailer, ib + size}}});
    }
    const std::uint64_t eof = std::min<std::uint64_t>(bytes.size(), pff["file_size"].get<std::uint64_t>());
    for (std::uint64_t i = 0; g.first_amap + i * g.amap_span < eof; ++i) {
        const std::uint64_t at = g.first_amap + i * g.amap_span;
        out.push_back({"AMap page", at, at + g.page, {{at, at + g.page}}});
        if (g.pmaps && i % 8 == 0) out.push_back({"PMap page", at + g.page, at + 2 * g.page, {{at + g.page, at + 2 * g.page}}});
    }
    return out;
}

bool changed(const Structure& s, const std::string& clean, const std::string& damaged) {
    for (const auto& [b, e] : s.live)
        for (std::uint64_t i = b; i < e; ++i)
            if (i >= damaged.size() || clean[i] != damaged[i]) return true;
    return false;
}

mailfsck::StoreLog check_log(const std::string& bytes, std::size_t records_per_pass = std::size_t{1} << 21) {
    const auto source = mailfsck::Source::in_memory(mailfsck::ByteView(bytes));
    mailfsck::StoreLog log;
    mailfsck::check_pst(*source, log, nullptr, {}, mailfsck::PstCheckOptions{records_per_pass});
    return log;
}

std::vector<mailfsck::Finding> check(const std::string& bytes) { return check_log(bytes).findings; }

// Unicode, ANSI, 4 KiB-page OST with compressed blocks, and a larger
// Unicode file with several allocation maps.
const char* const cases[] = {"pst/emk_pstsdk/sample1.pst", "pst/emk_pstsdk/sample2.pst",
                             "pst/npm_pst-extractor/pstextractortest@outlook.com.ost",
                             "pst/npm_pst-extractor/enron.pst"};

const mailfsck::damage::Op ops[] = {mailfsck::damage::Op::bitflip, mailfsck::damage::Op::zero_sector,
                                    mailfsck::damage::Op::zero_page, mailfsck::damage::Op::random_run};

// The messages an export to eml wrote: path under OUT -> bytes.
std::map<std::string, std::string> message_files(const fs::path& out) {
    std::map<std::string, std::string> files;
    if (fs::exists(out / "messages"))
        for (const auto& e : fs::recursive_directory_iterator(out / "messages"))
            if (e.is_regular_file()) files[fs::relative(e.path(), out).string()] = read_file(e.path());
    return files;
}

}  // namespace

TEST_CASE("seeded damage that changes a PST structure in use is reported at that structure") {
    std::size_t judged = 0;
    for (const char* c : cases) {
        const auto path = shared_path(c);
        if (!path) return;
        const std::string clean = read_file(*path);
        const auto r = run(pff_nodes + " --no-unallocated '" + path->string() + "'");
        REQUIRE(r.status == 0);
        const std::vector<Structure> all = structures(clean, json::parse(r.out));
        for (const mailfsck::damage::Op op : ops)
            for (std::uint64_t seed = 1; seed <= 12; ++seed) {
                mailfsck::damage::Request req;
                req.op = op;
                req.seed = seed;
                const mailfsck::damage::Damaged d = mailfsck::damage::inject(clean, req);
                INFO(c << " " << mailfsck::damage::op_name(op) << " seed " << seed << " at "
                            << d.injections.at(0).offset);
                std::vector<const Structure*> hit;
                for (const Structure& s : all)
                    if (changed(s, clean, d.bytes)) hit.push_back(&s);
                const std::vector<mailfsck::Finding> found = check(d.bytes);
                if (hit.empty()) continue;  // free space or padding: nothing to find
                ++judged;
                CHECK_FALSE(found.empty());
                // A damaged header or BBT page hides what lies behind it:
                // then only that structure must be named.
                bool hides = false;
                for (const Structure* s : hit) hides = hides || s->what == "header" || s->what == "bbt page";
                for (const Structure* s : hit) {
                    if (hides && s->what != "header" && s->what != "bbt page") continue;
                    bool named = false;
                    for (const mailfsck::Finding& f : found)
                        named = named || (f.offset < s->end && f.offset + std::max<std::uint64_t>(f.length, 1) > s->begin);
                    INFO(s->what << " [" << s->begin << ", " << s->end << ")");
                    CHECK(named);
                }
            }
    }
    // Enough of the draws land on structures for the test to mean something.
    CHECK(judged >= 60);
}

// Sorted findings, or per-code totals when a kind hit the log's cap
// (which findings are listed then depends on the order they came in).
std::vector<std::string> comparable(const mailfsck::StoreLog& log) {
    std::map<std::string, std::uint64_t> totals;
    std::vector<std::string> all;
    for (const mailfsck::Finding& f : log.findings) {
        const std::string code(mailfsck::problem(f.id).code);
        ++totals[code];
        all.push_back(code + " " + std::to_string(f.offset) + "+" + std::to_string(f.length) + " " + f.structure + ": " +
                      f.detail);
    }
    const auto omitted = log.omitted();
    for (const auto& [id, n] : omitted) totals[std::string(mailfsck::problem(id).code)] += n;
    if (!omitted.empty()) {
        all.clear();
        for (const auto& [code, n] : totals) all.push_back(code + " x" + std::to_string(n));
    }
    std::sort(all.begin(), all.end());
    return all;
}

TEST_CASE("the PST check in many small passes finds exactly what it finds in one") {
    std::size_t compared = 0;
    for (const char* c : cases) {
        const auto path = shared_path(c);
        if (!path) return;
        const std::string clean = read_file(*path);
        std::vector<std::pair<std::string, std::string>> variants;
        for (const mailfsck::damage::Op op : ops)
            for (std::uint64_t seed = 1; seed <= 3; ++seed) {
                mailfsck::damage::Request req;
                req.op = op;
                req.seed = seed;
                req.count = 4;
                variants.emplace_back(std::string(mailfsck::damage::op_name(op)) + " seed " + std::to_string(seed),
                                      mailfsck::damage::inject(clean, req).bytes);
            }
        // A leaf page of each tree zeroed, as libpff places them: the
        // blocks its entries named go missing (BBT) or lose their
        // references (NBT), which is what the passes count.
        const auto r = run(pff_nodes + " --no-unallocated '" + path->string() + "'");
        REQUIRE(r.status == 0);
        const json pff = json::parse(r.out);
        const Geometry g = geometry(clean);
        for (const char* tree : {"bbt", "nbt"})
            for (const auto& p : pff["internal"][tree]["page_list"])
                if (p["leaf"] == true) {
                    std::string bytes = clean;
                    std::fill_n(bytes.begin() + p["offset"].get<std::ptrdiff_t>(), g.page, '\0');
                    variants.emplace_back(std::string(tree) + " leaf zeroed", bytes);
                    break;
                }
        for (const auto& [name, bytes] : variants) {
            INFO(c << " " << name);
            const auto one = comparable(check_log(bytes));
            // Small files in passes of 7 blocks, large ones of 400: dozens
            // of passes either way.
            const auto many = comparable(check_log(bytes, clean.size() < 1000000 ? 7 : 400));
            CHECK(one == many);
            compared += one.empty() ? 0 : 1;
        }
    }
    CHECK(compared >= 20);
}

namespace {

// Collects what inspect streams into one JSON object.
class CollectSink final : public mailfsck::PstInspectSink {
public:
    nlohmann::json out = nlohmann::json::object();
    void field(std::string_view name, const nlohmann::json& value) override { out[std::string(name)] = value; }
    void begin_list(std::string_view name) override { list_ = &(out[std::string(name)] = nlohmann::json::array()); }
    void item(const nlohmann::json& record) override { list_->push_back(record); }
    void end_list() override { list_ = nullptr; }

private:
    nlohmann::json* list_ = nullptr;
};

}  // namespace

TEST_CASE("inspect's block map, owners included, is the same in many small passes as in one") {
    for (const char* c : cases) {
        const auto path = shared_path(c);
        if (!path) return;
        INFO(c);
        const std::string bytes = read_file(*path);
        const auto source = mailfsck::Source::in_memory(mailfsck::ByteView(bytes));
        CollectSink one, many;
        mailfsck::inspect_pst(*source, one);
        mailfsck::inspect_pst(*source, many, bytes.size() < 1000000 ? 5 : 300);
        CHECK(one.out["bbt"].size() > 10);
        CHECK(one.out == many.out);
    }
}

TEST_CASE("each PST damage the generator makes is reported where it was made") {
    namespace dmg = mailfsck::damage;
    const auto code = [](const mailfsck::Finding& f) { return std::string(mailfsck::problem(f.id).code); };
    std::size_t judged = 0, unmarked_found = 0;
    for (const char* c : cases) {
        const auto path = shared_path(c);
        if (!path) return;
        const std::string clean = read_file(*path);
        const Geometry g = geometry(clean);
        for (const dmg::Op op : dmg::ops_for(dmg::StoreKind::pst)) {
            if (std::string_view(dmg::op_name(op)).rfind("pst-", 0) != 0) continue;  // byte-level ops: above
            for (std::uint64_t seed = 1; seed <= 4; ++seed) {
                const dmg::Damaged d = dmg::inject(clean, {op, seed, 1, {}});
                INFO(c << " " << dmg::op_name(op) << " seed " << seed);
                REQUIRE(d.injections.size() == 1);
                const dmg::Injection& in = d.injections.front();
                const std::vector<mailfsck::Finding> found = check(d.bytes);
                const auto has = [&](const std::string& want, std::uint64_t begin, std::uint64_t end) {
                    return std::any_of(found.begin(), found.end(), [&](const mailfsck::Finding& f) {
                        return code(f) == want && f.offset < end && f.offset + std::max<std::uint64_t>(f.length, 1) > begin;
                    });
                };
                ++judged;
                switch (op) {
                    case dmg::Op::pst_zero_bbt_root:
                    case dmg::Op::pst_zero_nbt_root:
                    case dmg::Op::pst_zero_bbt_leaf:
                    case dmg::Op::pst_zero_nbt_leaf:
                        // No longer a B-tree page: the trailer's type is wrong.
                        CHECK(has("PST-0102", in.offset, in.offset + g.page));
                        break;
                    case dmg::Op::pst_zero_header: CHECK(has("PST-0001", 0, 4)); break;
                    case dmg::Op::pst_header_crc: CHECK(has("PST-0003", 4, 8)); break;
                    case dmg::Op::pst_amap_bit: {
                        // The cleared bit's 64 (4K: 512) bytes: a block or page in use
                        // there is now marked free; if none was, the free count the
                        // header keeps no longer adds up.
                        const std::uint64_t unit = g.page == 4096 ? 512 : 64;
                        const std::uint64_t map = g.first_amap + (in.offset - g.first_amap) / g.amap_span * g.amap_span;
                        const std::uint64_t bit = (in.offset - map - g.amap_bits_at) * 8 + (7 - *in.bit);
                        const std::uint64_t at = map + bit * unit;
                        const bool unmarked = has("PST-0401", at, at + unit);
                        CHECK((unmarked || has("PST-0404", 0, 1)));
                        unmarked_found += unmarked ? 1 : 0;
                        break;
                    }
                    case dmg::Op::pst_zero_amap: CHECK(has("PST-0405", in.offset, in.offset + g.page)); break;
                    default: FAIL("not a PST op");
                }
            }
        }
    }
    CHECK(judged >= 60);
    // Most allocated space is in use: most cleared bits uncover a block.
    CHECK(unmarked_found >= 8);
}

namespace {

// An unencrypted Unicode PST edited the way damage would, with every block
// CRC made right again, so that only the messaging layer's checks can see
// it. Blocks, node entries and parents are found through libpff's B-trees;
// the layouts are [MS-PST] 2.2.2.8 (block trailer) and 2.3 (HN, BTH, TC).
class LtpEdit {
public:
    explicit LtpEdit(const fs::path& file) : bytes_(read_file(file)), pff_(run_json(pff_nodes + " " + q(file))) {
        REQUIRE(pff_["format"] == "unicode");
        REQUIRE(pff_["encryption"] == "none");
    }

    // The node's NBT entry: its leaf page plus 32 bytes an entry.
    std::uint64_t nbt_entry(std::uint32_t nid) const {
        const json& e = entry(nid);
        return e["page"].get<std::uint64_t>() + 32 * e["index"].get<std::uint64_t>();
    }
    std::uint64_t bid_data(std::uint32_t nid) const { return entry(nid)["bid_data"]; }
    // The data blocks of a node's subnodes: its SLBLOCK ([MS-PST] 2.2.2.8.3.3.1,
    // one level here) lists 24-byte entries of NID, data BID and subnode BID
    // after 8 bytes of header.
    std::map<std::uint32_t, std::uint64_t> subnode_data(std::uint32_t nid) const {
        std::map<std::uint32_t, std::uint64_t> out;  // subnode NID -> data BID
        for (const auto& [sub, bids] : slentries(entry(nid)["bid_sub"])) out[sub] = bids.first;
        return out;
    }
    // The same for subnode `sub` of node `nid`: an attachment's own subnodes.
    std::map<std::uint32_t, std::uint64_t> subnode_data(std::uint32_t nid, std::uint32_t sub) const {
        std::map<std::uint32_t, std::uint64_t> out;
        const auto entries = slentries(entry(nid)["bid_sub"]);
        REQUIRE(entries.count(sub) == 1);
        for (const auto& [inner, bids] : slentries(entries.at(sub).second)) out[inner] = bids.first;
        return out;
    }
    const json& entry(std::uint32_t nid) const {
        for (const auto& e : pff_["internal"]["nbt"]["entry_list"])
            if (e["nid"] == nid && !e.value("deleted", false)) return e;
        FAIL("no NBT entry for " << nid);
        return pff_;
    }
    // SLENTRYs of the SLBLOCK `bid_sub`: NID -> (data BID, subnode BID).
    std::map<std::uint32_t, std::pair<std::uint64_t, std::uint64_t>> slentries(std::uint64_t bid_sub) const {
        if (bid_sub == 0) return {};
        const auto [ib, cb] = block(bid_sub);
        REQUIRE(get_le(bytes_, ib, 1) == 2);
        REQUIRE(get_le(bytes_, ib + 1, 1) == 0);
        std::map<std::uint32_t, std::pair<std::uint64_t, std::uint64_t>> out;
        for (std::uint64_t k = 0; k < get_le(bytes_, ib + 2, 2) && 8 + 24 * (k + 1) <= cb; ++k)
            out[static_cast<std::uint32_t>(get_le(bytes_, ib + 8 + 24 * k, 4))] = {get_le(bytes_, ib + 8 + 24 * k + 8, 8),
                                                                                get_le(bytes_, ib + 8 + 24 * k + 16, 8)};
        return out;
    }
    // The data of block `bid`: file offset and size.
    std::pair<std::uint64_t, std::uint64_t> block(std::uint64_t bid) const {
        for (const auto& e : pff_["internal"]["bbt"]["entry_list"])
            if ((e["bid"].get<std::uint64_t>() & ~std::uint64_t{1}) == (bid & ~std::uint64_t{1}) && !e.value("deleted", false))
                return {e["ib"], e["cb"]};
        FAIL("no BBT entry for " << bid);
        return {0, 0};
    }
    // Messages libpff's NBT has under `folder` (not its deleted entries,
    // the slots past a leaf's entry count).
    std::vector<std::uint32_t> messages_in(std::uint32_t folder) const {
        std::vector<std::uint32_t> out;
        for (const auto& e : pff_["internal"]["nbt"]["entry_list"])
            if (e["nid_parent"] == folder && (e["nid"].get<std::uint32_t>() & 0x1F) == 4 && !e.value("deleted", false))
                out.push_back(e["nid"]);
        return out;
    }
    // Replaces every `from` in the block's data with `to`; returns how many.
    std::size_t replace(std::uint64_t bid, const std::string& from, const std::string& to) {
        REQUIRE(from.size() == to.size());
        const auto [ib, cb] = block(bid);
        std::size_t n = 0;
        for (std::size_t at = bytes_.find(from, ib); at != std::string::npos && at + from.size() <= ib + cb;
             at = bytes_.find(from, at + 1)) {
            bytes_.replace(at, to.size(), to);
            ++n;
        }
        fix_crc(ib, cb);
        return n;
    }
    // The block's trailer signature (wSig, after cb) flipped: the block no
    // longer proves where it belongs.
    void break_trailer(std::uint64_t bid) {
        const auto [ib, cb] = block(bid);
        bytes_[block_trailer_at(ib, cb) + 2] ^= 0x01;
    }
    // `crc` false leaves the block's CRC as it was: the block is damaged.
    void set(std::uint64_t bid, std::uint64_t pos, unsigned char value, bool crc = true) {
        const auto [ib, cb] = block(bid);
        REQUIRE(pos < cb);
        bytes_[ib + pos] = static_cast<char>(value);
        if (crc) fix_crc(ib, cb);
    }
    // The block's CRC (dwCRC) made wrong, its data left as it is.
    void break_crc(std::uint64_t bid) {
        const auto [ib, cb] = block(bid);
        bytes_[block_trailer_at(ib, cb) + 4] ^= 0x01;
    }
    // The node's NBT entry taken out of its leaf page ([MS-PST] 2.2.2.7.7:
    // 32-byte NBTENTRYs, cEnt at 488, the CRC over the first 496 bytes), the
    // entries after it moved up and, when it was the leaf's first, the
    // branch entry naming the leaf given the new first key: the index stays
    // sound, only without the node.
    void remove_node(std::uint32_t nid) {
        const std::uint64_t page = entry(nid)["page"];
        const std::uint64_t index = entry(nid)["index"];
        const std::uint64_t count = static_cast<unsigned char>(bytes_.at(page + 488));
        REQUIRE(index + 1 < count);
        bytes_.replace(page + 32 * index, 32 * (count - 1 - index), bytes_.substr(page + 32 * (index + 1), 32 * (count - 1 - index)));
        bytes_.replace(page + 32 * (count - 1), 32, 32, '\0');
        bytes_.at(page + 488) = static_cast<char>(count - 1);
        store_pst_crc(bytes_, page + 500, page, 496);
        if (index != 0) return;
        for (const json& p : pff_["internal"]["nbt"]["page_list"]) {
            if (p["leaf"]) continue;
            const std::uint64_t at = p["offset"];
            for (std::size_t i = 0; i < p["children"].size(); ++i)
                if (p["children"][i]["ib"] == page) {
                    put_le(bytes_, at + 24 * i, get_le(bytes_, page, 8), 8);
                    store_pst_crc(bytes_, at + 500, at, 496);
                }
        }
    }
    json scan(const fs::path& dir) const { return report(check(dir, "scan")); }
    json scan_quick(const fs::path& dir) const { return report(check(dir, "scan --quick")); }
    // Repairs to .eml under dir/out; the report.
    json repair(const fs::path& dir) const { return report(repair_run(dir)); }
    // What the repair exits with (fsck(8): 1 all corrected, 4 not).
    int repair_status(const fs::path& dir) const { return repair_run(dir).status; }
    // Repairs to a PST under dir/pst-out and exports that with libpff's
    // pffexport; the export's root folder.
    fs::path pff_export_of_repair(const fs::path& dir) const {
        fs::remove_all(dir / "pst-out");
        check(dir, "repair --to pst -o " + q(dir / "pst-out"));
        const fs::path pst = dir / "pst-out" / "edited.pst";
        fs::remove_all(dir / "pff.export");
        REQUIRE(run("pffexport -q -t " + q(dir / "pff") + " " + q(pst) + " >/dev/null 2>&1").status == 0);
        return dir / "pff.export";
    }

private:
    mailfsck::test::RunResult repair_run(const fs::path& dir) const {
        fs::remove_all(dir / "out");
        return check(dir, "repair --to eml -o " + q(dir / "out"));
    }
    static json report(const mailfsck::test::RunResult& r) { return json::parse(r.out)["stores"][0]; }
    mailfsck::test::RunResult check(const fs::path& dir, const std::string& command) const {
        const fs::path out = dir / "edited.pst";
        fs::remove(out);
        write_file(out, bytes_);
        return run(tool + " " + command + " -q --json - " + q(out) + " 2>/dev/null");
    }
    static json run_json(const std::string& command) { return json::parse(run(command).out); }
    // dwCRC: the trailer's last 16 bytes of the 64-aligned block are cb,
    // wSig, dwCRC, bid; the CRC covers the cb data bytes.
    void fix_crc(std::uint64_t ib, std::uint64_t cb) { store_pst_crc(bytes_, block_trailer_at(ib, cb) + 4, ib, cb); }

    std::string bytes_;
    json pff_;
};

std::string le32(std::uint32_t v) {
    std::string s(4, '\0');
    put_le(s, 0, v, 4);
    return s;
}

// The .eml files directly in one folder of an export.
std::size_t emls_in(const fs::path& folder) {
    std::size_t n = 0;
    for (const auto& f : fs::directory_iterator(folder)) n += f.path().extension() == ".eml" ? 1 : 0;
    return n;
}

// The messages directly in one folder of a pffexport export.
std::size_t pff_messages_in(const fs::path& folder) {
    std::size_t n = 0;
    for (const auto& f : fs::directory_iterator(folder)) n += f.path().filename().string().starts_with("Message") ? 1 : 0;
    return n;
}

std::vector<json> serious(const json& store) {
    std::vector<json> out;
    for (const auto& p : store["problems"])
        if (p["severity"] != "info") out.push_back(p);
    return out;
}

std::vector<json> with_code(const json& store, const std::string& code) {
    std::vector<json> out;
    for (const auto& p : store["problems"])
        if (p["code"] == code) out.push_back(p);
    return out;
}

// A special node whose NBT entry is gone is one finding, the messaging pass's
// PST-0501 for `structure` (not also the node index's PST-0303), and loses no
// message, in scan and repair alike; the quick scan, which reads no folder,
// leaves it to the node index's pass to name the node. Returns the scan's and
// the repair's reports.
std::array<json, 2> one_finding_for_missing(const LtpEdit& e, const fs::path& dir, std::uint32_t nid, const std::string& structure) {
    const std::array<json, 2> reports{e.scan(dir), e.repair(dir)};
    for (const json& st : reports) {
        CHECK(st["messages"]["lost"] == 0);
        CHECK(with_code(st, "PST-0303").empty());
        const std::vector<json> unreadable = with_code(st, "PST-0501");
        REQUIRE(unreadable.size() == 1);
        CHECK(unreadable[0]["structure"] == structure);
    }
    const std::vector<json> quick = with_code(e.scan_quick(dir), "PST-0303");
    REQUIRE(quick.size() == 1);
    CHECK(quick[0]["detail"] == "node " + std::to_string(nid));
    return reports;
}

}  // namespace

// The LTP cases the messaging checks exist for, each made on a healthy
// file and each expected at the NBT entry of the node that holds it.
// One message's block failing its CRC, at `ib`, used as stored: the message
// is partial, nothing is lost, and lost[] lists the block as kept as it is.
void used_as_stored(const json& st, std::uint64_t nbt_entry, std::uint64_t ib) {
    CHECK(st["messages"]["partial"] == 1);
    CHECK(st["messages"]["lost"] == 0);
    const auto found = with_code(st, "PST-0503");
    REQUIRE(found.size() == 1);
    CHECK(found[0]["offset"] == nbt_entry);
    CHECK(found[0]["detail"].get<std::string>().find("failing their CRC or without a trailer, used as stored") != std::string::npos);
    bool listed = false;
    for (const auto& l : st["lost"]) {
        const std::string reason = l["reason"];
        listed = listed || (l["offset"] == ib && reason.find("unverified_used_as_stored") != std::string::npos &&
                            reason.find("written without") == std::string::npos);
    }
    CHECK(listed);
}

TEST_CASE("messaging-layer damage (a heap, a table row, counts, flags, UTF-16) is found at its node") {
    const auto file = shared_path("pst/simiden_pst2john/2003_no-encryption_quickquick.pst");
    if (!file) return;
    mailfsck::test::TempDir t("pst-ltp-damage");
    constexpr std::uint32_t deleted_items = 32834;  // libpff: "Deleted Items", 20 messages
    constexpr std::uint32_t message_store = 0x21;   // [MS-PST] 2.4.1
    constexpr std::uint32_t name_to_id_map = 0x61;  // [MS-PST] 2.4.1
    {
        LtpEdit e(*file);
        REQUIRE(e.messages_in(deleted_items).size() == 20);
        REQUIRE(serious(e.scan(t.path())).empty());
    }
    SECTION("a folder's PR_CONTENT_COUNT (0x3602, PtypInteger32) off by one") {
        LtpEdit e(*file);
        const std::string record = std::string("\x02\x36\x03\x00", 4);
        REQUIRE(e.replace(e.bid_data(deleted_items), record + le32(20), record + le32(21)) == 1);
        const auto found = with_code(e.scan(t.path()), "PST-0506");
        REQUIRE(found.size() == 1);
        CHECK(found[0]["offset"] == e.nbt_entry(deleted_items));
        CHECK(found[0]["detail"].get<std::string>().find("PR_CONTENT_COUNT 21, 20 rows") != std::string::npos);
    }
    SECTION("a contents-table row naming a message that does not exist") {
        LtpEdit e(*file);
        const std::uint32_t victim = e.messages_in(deleted_items).front();
        const std::uint32_t nowhere = 0x1FFFE4;  // a message NID no node has
        const std::uint32_t table = (deleted_items & ~0x1FU) | 0x0E;
        // The row id is in the row index (a BTH key, in the heap) and in
        // the row matrix (a subnode, for a table this size).
        std::size_t replaced = e.replace(e.bid_data(table), le32(victim), le32(nowhere));
        for (const auto& [sub, bid] : e.subnode_data(table)) replaced += e.replace(bid, le32(victim), le32(nowhere));
        REQUIRE(replaced == 2);
        const json st = e.scan(t.path());
        const auto found = with_code(st, "PST-0507");
        REQUIRE(found.size() == 1);
        CHECK(found[0]["offset"] == e.nbt_entry(table));
        CHECK(found[0]["detail"].get<std::string>().find(std::to_string(nowhere)) != std::string::npos);
        // The message itself is still exported: from Lost and Found. It is
        // the one the row lost, so the folder misses nothing.
        const auto orphan = with_code(st, "PST-0504");
        REQUIRE(orphan.size() == 1);
        CHECK(orphan[0]["offset"] == e.nbt_entry(victim));
        CHECK(with_code(st, "PST-0516").empty());
        CHECK(st["messages"]["lost"] == 0);
    }
    SECTION("a folder's PR_SUBFOLDERS (0x360A, PtypBoolean) cleared though it has subfolders") {
        LtpEdit e(*file);
        constexpr std::uint32_t top = 32802;  // libpff: "Top of Personal Folders", 1 subfolder
        const std::string record = std::string("\x0A\x36\x0B\x00", 4);
        REQUIRE(e.replace(e.bid_data(top), record + le32(1), record + le32(0)) == 1);
        const auto found = with_code(e.scan(t.path()), "PST-0511");
        REQUIRE(found.size() == 1);
        CHECK(found[0]["offset"] == e.nbt_entry(top));
    }
    SECTION("a subject (PtypString, UTF-16LE) with an unpaired surrogate") {
        LtpEdit e(*file);
        constexpr std::uint32_t victim = 2097188;  // libpff: "Welcome to Microsoft Outlook 2000!"
        // "Welcome" in UTF-16LE; its W becomes a lone high surrogate.
        const std::string welcome("W\0e\0l\0c\0o\0m\0e\0", 14);
        std::string broken = welcome;
        broken[0] = '\0';
        broken[1] = '\xD8';
        std::size_t replaced = e.replace(e.bid_data(victim), welcome, broken);
        for (const auto& [sub, bid] : e.subnode_data(victim)) replaced += e.replace(bid, welcome, broken);
        REQUIRE(replaced >= 1);
        const auto found = with_code(e.scan(t.path()), "PST-0512");
        REQUIRE(found.size() >= 1);
        CHECK(found[0]["offset"] == e.nbt_entry(victim));
    }
    SECTION("a hierarchy-table row lost: the folder is reattached under its parent, by its NBT entry's parent id") {
        LtpEdit e(*file);
        constexpr std::uint32_t top = 32802;  // libpff: "Top of Personal Folders", Deleted Items' parent
        const std::uint32_t table = (top & ~0x1FU) | 0x0D;
        const std::uint32_t nowhere = 0x1FFFE2;  // a folder NID no node has
        std::size_t replaced = e.replace(e.bid_data(table), le32(deleted_items), le32(nowhere));
        for (const auto& [sub, bid] : e.subnode_data(table)) replaced += e.replace(bid, le32(deleted_items), le32(nowhere));
        REQUIRE(replaced == 2);
        const json st = e.repair(t.path());
        const auto missing = with_code(st, "PST-0507");
        REQUIRE(missing.size() == 1);
        CHECK(missing[0]["offset"] == e.nbt_entry(table));
        const auto unreachable = with_code(st, "PST-0505");
        REQUIRE(unreachable.size() == 1);
        CHECK(unreachable[0]["offset"] == e.nbt_entry(deleted_items));
        CHECK(unreachable[0]["action"] == "fixed");
        // Its own contents table still lists its 20 messages: none is an orphan.
        CHECK(with_code(st, "PST-0504").empty());
        CHECK(emls_in(t.path() / "out" / "messages" / "Top of Personal Folders" / "Deleted Items") == 20);
        CHECK(st["messages"]["found"] == 20);
        CHECK(st["messages"]["lost"] == 0);
    }
    SECTION("a contents table's row matrix lost: the folder's messages are found by their parent ids, in the folder") {
        LtpEdit e(*file);
        const std::uint32_t table = (deleted_items & ~0x1FU) | 0x0E;
        const auto rows = e.subnode_data(table);  // the row matrix, for a table this size
        REQUIRE(rows.size() == 1);
        e.break_trailer(rows.begin()->second);
        const json st = e.repair(t.path());
        CHECK(with_code(st, "PST-0515").size() == 20);
        CHECK(with_code(st, "PST-0504").empty());
        CHECK(with_code(st, "PST-0516").empty());
        CHECK(emls_in(t.path() / "out" / "messages" / "Top of Personal Folders" / "Deleted Items") == 20);
        CHECK(st["messages"]["found"] == 20);
        CHECK(st["messages"]["lost"] == 0);
    }
    SECTION("one attachment's block damaged: the message is exported without it, counted partial") {
        LtpEdit e(*file);
        constexpr std::uint32_t message = 2097188;  // libpff: attachments icons.gif (NID 32805), yellowbg.gif, ...
        const auto subs = e.subnode_data(message);
        REQUIRE(subs.count(32805) == 1);
        e.break_trailer(subs.at(32805));
        const json st = e.repair(t.path());
        CHECK(st["messages"]["partial"] == 1);
        CHECK(st["messages"]["lost"] == 0);
        const auto found = with_code(st, "PST-0503");
        REQUIRE(found.size() == 1);
        CHECK(found[0]["offset"] == e.nbt_entry(message));
        CHECK(found[0]["detail"].get<std::string>().find("attachment 1") != std::string::npos);
        // lost[] names the damaged block's bytes (where libpff's BBT puts it)
        // and the message they belonged to.
        const auto [ib, cb] = e.block(subs.at(32805));
        bool listed = false;
        for (const auto& l : st["lost"])
            listed = listed || (l["offset"] == ib && l["length"] == block_size(cb) &&
                                l["subject"] == "Welcome to Microsoft Outlook 2000!");
        CHECK(listed);
        // What survived is there: the subject and the next attachment.
        const auto r = run("grep -rlZ 'yellowbg.gif' '" + (t.path() / "out" / "messages").string() + "' | xargs -0 grep -l 'Welcome to Microsoft Outlook 2000'");
        CHECK(r.status == 0);
        CHECK(r.out.find(".eml") != std::string::npos);
    }
    SECTION("a byte of an attachment's data changed, its block's CRC failing: the attachment is kept as stored, scan and repair count the message partial") {
        constexpr std::uint32_t message = 2097188;  // libpff: attachments icons.gif, yellowbg.gif (NID 32837), ...
        LtpEdit e(*file);
        // yellowbg.gif's data: one block in the attachment's own subnode tree
        // ([MS-PST] 2.4.6.2: PR_ATTACH_DATA_BIN's HNID names a subnode).
        const auto data = e.subnode_data(message, 32837);
        REQUIRE(data.size() == 1);
        const std::uint64_t bid = data.begin()->second;
        REQUIRE((bid & 2) == 0);
        const auto [ib, cb] = e.block(bid);
        std::string expected = read_file(*file).substr(ib, cb);  // unencrypted: the GIF's bytes
        REQUIRE(expected.rfind("GIF87a", 0) == 0);
        expected[1] = 'X';
        e.set(bid, 1, 'X', false);
        mailfsck::test::TempDir d("pst-attachment-crc");
        for (const json& st : {e.scan(d.path()), e.repair(d.path())}) used_as_stored(st, e.nbt_entry(message), ib);
        // Python's email package reads the attachments back: one yellowbg.gif
        // is the block's bytes as they now are (ten messages have one).
        const fs::path want = d.path() / "expected.gif";
        write_file(want, expected);
        const auto r = run("python3 -c 'import email,pathlib,sys\n"
                           "want=pathlib.Path(sys.argv[2]).read_bytes()\n"
                           "print(sum(p.get_filename()==\"yellowbg.gif\" and p.get_payload(decode=True)==want "
                           "for f in pathlib.Path(sys.argv[1]).rglob(\"*.eml\") for p in email.message_from_bytes(f.read_bytes()).walk()))' '" +
                           (d.path() / "out" / "messages").string() + "' '" + want.string() + "'");
        REQUIRE(r.status == 0);
        CHECK(r.out == "1\n");
    }
    SECTION("an attachment an export cannot have, its blocks sound: scan counts the message partial, as repair does") {
        constexpr std::uint32_t message = 2097188;  // libpff: attachments icons.gif (NID 32805), yellowbg.gif, ...
        constexpr std::uint32_t nowhere = 0x1FFFE5;  // an attachment NID no subnode has
        // By value the data is PtypBinary ([MS-OXCMSG] 2.2.2.7): a BTH record
        // (id, type, HNID) whose type says PtypObject (0x000D) is no content.
        // A row of the attachment table ([MS-PST] 2.4.6.1.1: 0x671) naming
        // no subnode has none either; its id is in the row index and the
        // row matrix, both in the table's heap at this size.
        for (const std::string edit : {"data type", "row id"}) {
            INFO(edit);
            mailfsck::test::TempDir d("pst-attachment-content");
            LtpEdit e(*file);
            const auto subs = e.subnode_data(message);
            REQUIRE(subs.count(32805) == 1);
            REQUIRE(subs.count(0x671) == 1);
            if (edit == "data type")
                REQUIRE(e.replace(subs.at(32805), std::string("\x01\x37\x02\x01", 4), std::string("\x01\x37\x0D\x00", 4)) == 1);
            else
                REQUIRE(e.replace(subs.at(0x671), le32(32805), le32(nowhere)) == 2);
            for (const json& st : {e.scan(d.path()), e.repair(d.path())}) {
                CHECK(st["messages"]["partial"] == 1);
                CHECK(st["messages"]["lost"] == 0);
                const auto found = with_code(st, "PST-0503");
                REQUIRE(found.size() == 1);
                CHECK(found[0]["offset"] == e.nbt_entry(message));
            }
        }
    }
    SECTION("a byte of a message's heap changed, its block's CRC failing: the block is used as stored, the message partial") {
        LtpEdit e(*file);
        constexpr std::uint32_t message = 2097188;  // libpff: "Welcome to Microsoft Outlook 2000!"
        const std::uint64_t bid = e.bid_data(message);
        const auto [ib, cb] = e.block(bid);
        // The subject's W (UTF-16LE) becomes an X; the CRC is left as it was.
        const std::string heap = read_file(*file).substr(ib, cb);
        const std::size_t w = heap.find(std::string("W\0e\0l\0c\0o\0m\0e\0", 14));
        REQUIRE(w != std::string::npos);
        e.set(bid, w, 'X', false);
        for (const json& st : {e.scan(t.path()), e.repair(t.path())}) used_as_stored(st, e.nbt_entry(message), ib);
        // The message is there, read from the block as it is now.
        const auto r = run("grep -rl 'Xelcome to Microsoft Outlook 2000!' '" + (t.path() / "out" / "messages").string() + "'");
        CHECK(r.out.find(".eml") != std::string::npos);
    }
    SECTION("store, map and folder blocks failing their CRC: used as stored, every message intact, each listed as at risk, the repair not corrected") {
        LtpEdit e(*file);
        const std::uint64_t store_ib = e.block(e.bid_data(message_store)).first;
        const std::uint64_t map_ib = e.block(e.bid_data(name_to_id_map)).first;
        const std::uint64_t folder_ib = e.block(e.bid_data(deleted_items)).first;
        e.break_crc(e.bid_data(message_store));
        e.break_crc(e.bid_data(name_to_id_map));
        e.break_crc(e.bid_data(deleted_items));
        for (const json& st : {e.scan(t.path()), e.repair(t.path())}) {
            CHECK(st["messages"]["partial"] == 0);
            CHECK(st["messages"]["lost"] == 0);
            CHECK(st["messages"]["intact"] == st["messages"]["found"]);
            std::set<std::uint64_t> crc_failed;
            for (const json& p : with_code(st, "PST-0205")) crc_failed.insert(p["offset"].get<std::uint64_t>());
            CHECK(crc_failed == std::set<std::uint64_t>{store_ib, map_ib, folder_ib});
            const auto listed = [&](std::uint64_t ib, const std::string& what) {
                return std::any_of(st["lost"].begin(), st["lost"].end(), [&](const json& l) {
                    const std::string reason = l["reason"];
                    return l["offset"] == ib && reason.find(what) != std::string::npos &&
                           reason.find("unverified_used_as_stored") != std::string::npos;
                });
            };
            CHECK(listed(store_ib, "message store"));
            CHECK(listed(map_ib, "name-to-id map"));
            CHECK(listed(folder_ib, "folder " + std::to_string(deleted_items)));
        }
        // Names read from blocks that fail their CRC are not corrected:
        // fsck(8)'s 4, not 1.
        CHECK(e.repair_status(t.path()) == 4);
    }
    SECTION("the message store's heap signature changed, its CRC right: unreadable, lost at its node entry, every message exported") {
        LtpEdit e(*file);
        // HNHDR ([MS-PST] 2.3.1.2): ibHnpm, then bSig 0xEC.
        e.set(e.bid_data(message_store), 2, 0x00);
        for (const json& st : {e.scan(t.path()), e.repair(t.path())}) {
            CHECK(st["messages"]["lost"] == 0);
            CHECK(st["messages"]["intact"] == st["messages"]["found"]);
            const std::vector<json> unreadable = with_code(st, "PST-0501");
            REQUIRE(unreadable.size() == 1);
            CHECK(unreadable[0]["offset"] == e.nbt_entry(message_store));
            CHECK(unreadable[0]["structure"] == "message store");
            CHECK(std::any_of(st["lost"].begin(), st["lost"].end(), [&](const json& l) {
                return l["offset"] == e.nbt_entry(message_store) &&
                       l["reason"].get<std::string>().find("message store unreadable") != std::string::npos;
            }));
        }
        CHECK(e.repair_status(t.path()) == 4);
        // Outlook shows only the IPM subtree. Without the store's entry IDs
        // the source's folders go inside the rebuilt store's own ("Top of
        // Personal Folders"), where libpff finds Deleted Items' 20 messages
        // under the source's IPM subtree of that name.
        const fs::path deleted = e.pff_export_of_repair(t.path()) / "Top of Personal Folders" / "Top of Personal Folders" / "Deleted Items";
        REQUIRE(fs::is_directory(deleted));
        CHECK(pff_messages_in(deleted) == 20);
    }
    SECTION("the store's IPM subtree entry ID gone, its CRC right: found at the store, its folders put where Outlook shows them") {
        LtpEdit e(*file);
        // The PC's BTH record ([MS-PST] 2.3.3.3): the property id 0x35E0
        // (PR_IPM_SUBTREE_ENTRYID), then its type, binary 0x0102; made
        // 0x35E1, which no store uses, the records' order kept.
        REQUIRE(e.replace(e.bid_data(message_store), std::string("\xE0\x35\x02\x01", 4), std::string("\xE1\x35\x02\x01", 4)) == 1);
        for (const json& st : {e.scan(t.path()), e.repair(t.path())}) {
            CHECK(st["messages"]["lost"] == 0);
            const std::vector<json> found = with_code(st, "PST-0524");
            REQUIRE(found.size() == 1);
            CHECK(found[0]["offset"] == e.nbt_entry(message_store));
        }
        const fs::path root = e.pff_export_of_repair(t.path());
        // Outlook shows only the rebuilt store's IPM subtree ("Top of
        // Personal Folders"): the source's, an ordinary folder now, is
        // inside it, not beside it at the root (where libpff would show the
        // two as one); Deleted Items, which the store still names, is the
        // rebuilt store's own, with its 20.
        CHECK(fs::is_directory(root / "Top of Personal Folders" / "Top of Personal Folders"));
        const fs::path deleted = root / "Top of Personal Folders" / "Deleted Items";
        REQUIRE(fs::is_directory(deleted));
        CHECK(pff_messages_in(deleted) == 20);
    }
    SECTION("the message store's node entry taken out: one finding for it, the messaging pass's, which says what is lost") {
        LtpEdit e(*file);
        e.remove_node(message_store);
        // One fact, one finding: not also PST-0303, "Required special node
        // missing", from the node index's pass.
        for (const json& st : one_finding_for_missing(e, t.path(), message_store, "message store"))
            CHECK(std::any_of(st["lost"].begin(), st["lost"].end(), [&](const json& l) {
                return l["reason"].get<std::string>().find("message store unreadable") != std::string::npos;
            }));
        CHECK(e.repair_status(t.path()) == 4);
    }
    SECTION("the root folder's node entry taken out: one finding for it, and its subfolders still found by their parent id") {
        LtpEdit e(*file);
        // The root folder's NID is fixed ([MS-PST] 2.4.1): 0x122.
        constexpr std::uint32_t root_folder = 0x122;
        e.remove_node(root_folder);
        one_finding_for_missing(e, t.path(), root_folder, "folder");
        CHECK(emls_in(t.path() / "out" / "messages" / "Top of Personal Folders" / "Deleted Items") == 20);
        CHECK(pff_messages_in(e.pff_export_of_repair(t.path()) / "Top of Personal Folders" / "Deleted Items") == 20);
    }
    SECTION("a data tree naming one block again and again: each block is read once, the message partial") {
        LtpEdit e(*file);
        // A message with a value in a subnode whose data is an XBLOCK
        // ([MS-PST] 2.2.2.8.3.2.1: btype 1, cLevel 1, cEnt, lcbTotal, then
        // 8-byte block ids): all its children are made the first one.
        std::uint32_t victim = 0;
        std::uint64_t xblock = 0;
        const std::string bytes = read_file(*file);
        for (const std::uint32_t m : e.messages_in(deleted_items))
            for (const auto& [sub, bid] : e.subnode_data(m)) {
                if ((bid & 2) == 0) continue;
                const auto [ib, cb] = e.block(bid);
                if (bytes[ib] == 1 && bytes[ib + 1] == 1 && cb >= 24) {
                    victim = m;
                    xblock = bid;
                }
            }
        REQUIRE(xblock != 0);
        const auto [ib, cb] = e.block(xblock);
        const std::string first = bytes.substr(ib + 8, 8);
        for (std::uint64_t at = 16; at + 8 <= cb; at += 8)
            for (std::uint64_t i = 0; i < 8; ++i) e.set(xblock, at + i, static_cast<unsigned char>(first[i]));
        const json st = e.repair(t.path());
        CHECK(st["messages"]["partial"] == 1);
        CHECK(st["messages"]["lost"] == 0);
        const auto found = with_code(st, "PST-0503");
        REQUIRE(found.size() == 1);
        CHECK(found[0]["offset"] == e.nbt_entry(victim));
        bool listed = false;
        for (const auto& l : st["lost"])
            listed = listed || (l["offset"] == ib && l["reason"].get<std::string>().find("bad_tree") != std::string::npos);
        CHECK(listed);
    }
    SECTION("a message's heap signature (bSig, byte 2 of HNHDR) destroyed") {
        LtpEdit e(*file);
        const std::uint32_t victim = e.messages_in(deleted_items).back();
        e.set(e.bid_data(victim), 2, 0x00);
        const json st = e.scan(t.path());
        const auto found = with_code(st, "PST-0501");
        REQUIRE(found.size() == 1);
        CHECK(found[0]["offset"] == e.nbt_entry(victim));
        CHECK(st["messages"]["lost"] == 1);
    }
}

// Structures above the messages destroyed: the header (its first 512
// bytes zeroed: magic, version, both roots, the encryption method), the
// root page of the NBT or of the BBT, or a leaf page of either. readpst and pffexport recover
// nothing from such files. Salvage finds the format from the B-tree pages,
// the roots by carving, the encryption by decrypting the first folder
// nodes, and a damaged tree's entries from carved leaf pages and blocks;
// it must then export every message byte for byte as from the intact
// file, on every corpus file (ANSI, Unicode, 4K OST; none, permute,
// cyclic).
TEST_CASE("a PST whose header or B-tree root is destroyed exports every message as the intact file does") {
    const auto dir = shared_path("pst");
    if (!dir) return;
    mailfsck::test::TempDir t("pst-no-header");
    namespace dmg = mailfsck::damage;
    const std::pair<dmg::Op, const char*> cases[] = {{dmg::Op::pst_zero_header, "PST-0013"},
                                                     {dmg::Op::pst_zero_nbt_root, "PST-0014"},
                                                     {dmg::Op::pst_zero_bbt_root, "PST-0014"},
                                                     {dmg::Op::pst_zero_nbt_leaf, "PST-0014"},
                                                     {dmg::Op::pst_zero_bbt_leaf, "PST-0014"}};
    std::size_t files = 0, messages = 0;
    for (const auto& entry : fs::recursive_directory_iterator(*dir)) {
        const std::string name = entry.path().filename().string();
        if (!entry.is_regular_file() || !(name.ends_with(".pst") || name.ends_with(".ost"))) continue;
        const std::string bytes = read_file(entry.path());
        const fs::path intact = t.path() / "intact.pst";
        fs::remove(intact);
        write_file(intact, bytes);
        const auto export_of = [&](const fs::path& store, const std::string& label, std::string* log) {
            const fs::path o = t.path() / ("out-" + label);
            fs::remove_all(o);
            const auto r = run(tool + " repair -q --to eml -o '" + o.string() + "' '" + store.string() + "' 2>&1");
            if (log) *log = r.out;
            return message_files(o);
        };
        const auto expected = export_of(intact, "intact", nullptr);
        for (const auto& [op, code] : cases) {
            INFO(entry.path().string() << " " << dmg::op_name(op));
            const dmg::Damaged d = dmg::inject(bytes, {op, 1, 1, {}});
            const fs::path damaged = t.path() / "damaged.pst";
            fs::remove(damaged);
            write_file(damaged, d.bytes);
            std::string log;
            const auto got = export_of(damaged, "damaged", &log);
            INFO(log);
            CHECK(log.find(code) != std::string::npos);
            std::string differ;
            if (op == dmg::Op::pst_zero_nbt_leaf || op == dmg::Op::pst_zero_bbt_leaf) {
                // A lost leaf page can take the entries that placed some
                // messages: those come from Lost and Found, the same bytes.
                const auto folder = [](const std::string& path) { return fs::path(path).parent_path().string(); };
                std::multimap<std::string, std::string> want;  // content -> its folder
                for (const auto& [path, content] : expected) want.emplace(content, folder(path));
                for (const auto& [path, content] : got) {
                    auto [from, to] = want.equal_range(content);
                    if (from == to) {
                        differ += "\n  extra or changed: " + path;
                        continue;
                    }
                    const auto same = std::find_if(from, to, [&](const auto& w) { return w.second == folder(path); });
                    if (same == to && path.find("/Lost and Found/") == std::string::npos)
                        differ += "\n  in a live folder it was not in: " + path;
                    want.erase(same != to ? same : from);
                }
                for (const auto& [content, where] : want) differ += "\n  missing from " + where;
            } else {
                for (const auto& [path, content] : expected)
                    if (!got.count(path) || got.at(path) != content) differ += "\n  missing or changed: " + path;
                for (const auto& [path, content] : got)
                    if (!expected.count(path)) differ += "\n  extra: " + path;
            }
            INFO(differ.substr(0, 2000));
            CHECK(differ.empty());
        }
        messages += expected.size();
        ++files;
    }
    CHECK(files == 53);  // the corpus' PSTs and OSTs not stored xz-compressed
    CHECK(messages > 700);
}

namespace {

// Every block a node reaches, from the undamaged file: its data tree and
// its subnode trees at every level, placed by libpff's BBT and followed
// here from the internal block layouts of [MS-PST] 2.2.2.8.3 (XBLOCK,
// XXBLOCK: an 8-byte header, then block ids; SLBLOCK: a header of 8 bytes,
// 4 in ANSI files, then NID, data and subnode ids; SIBLOCK: NID, id).
// Internal blocks are never encrypted; the corpus's 4K file deflates none.
class BlockMap {
public:
    BlockMap(const std::string& bytes, const json& pff) : bytes_(bytes) {
        const unsigned wver = static_cast<unsigned char>(bytes[10]) | static_cast<unsigned char>(bytes[11]) << 8;
        wide_ = wver != 14 && wver != 15;
        trailer_ = wver == 36 ? 24 : wide_ ? 16 : 12;
        align_ = wver == 36 ? 512 : 64;
        for (const auto& e : pff["internal"]["bbt"]["entry_list"])
            if (!e.contains("deleted")) bbt_[e["bid"].get<std::uint64_t>() & ~std::uint64_t{1}] = {e["ib"], e["cb"]};
        for (const auto& e : pff["internal"]["nbt"]["entry_list"])
            if (!e.contains("deleted")) nbt_[e["nid"]] = {e["bid_data"], e["bid_sub"]};
    }
    // The end of the last byte the node's blocks occupy; nullopt when
    // libpff's NBT has no such node.
    std::optional<std::uint64_t> end_of(std::uint32_t nid) const {
        const auto n = nbt_.find(nid);
        if (n == nbt_.end()) return std::nullopt;
        std::uint64_t end = 0;
        reach(n->second.first, end, 0);
        reach(n->second.second, end, 0);
        return end;
    }

private:
    void reach(std::uint64_t bid, std::uint64_t& end, unsigned depth) const {
        const auto b = bbt_.find(bid & ~std::uint64_t{1});
        if (bid == 0 || b == bbt_.end() || depth > 8) return;
        const auto [ib, cb] = b->second;
        end = std::max(end, ib + (cb + trailer_ + align_ - 1) / align_ * align_);
        if ((bid & 2) == 0) return;
        const unsigned id = wide_ ? 8 : 4;
        const std::uint64_t btype = get_le(bytes_, ib, 1), level = get_le(bytes_, ib + 1, 1), count = get_le(bytes_, ib + 2, 2);
        for (std::uint64_t i = 0; i < count; ++i) {
            if (btype == 1) {
                reach(get_le(bytes_, ib + 8 + i * id, id), end, depth + 1);
            } else if (btype == 2) {
                const std::uint64_t at = (wide_ ? 8 : 4) + i * (level == 0 ? 3 : 2) * id;
                reach(get_le(bytes_, ib + at + id, id), end, depth + 1);
                if (level == 0) reach(get_le(bytes_, ib + at + 2 * id, id), end, depth + 1);
            }
        }
    }

    const std::string& bytes_;
    bool wide_;
    std::uint64_t trailer_;
    std::uint64_t align_;
    std::map<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>> bbt_;
    std::map<std::uint32_t, std::pair<std::uint64_t, std::uint64_t>> nbt_;
};

// index.jsonl of an export: (node, the .eml's bytes) for each message.
std::vector<std::pair<std::uint32_t, std::string>> exported(const fs::path& out) {
    std::vector<std::pair<std::uint32_t, std::string>> messages;
    std::istringstream index(fs::exists(out / "index.jsonl") ? read_file(out / "index.jsonl") : "");
    for (std::string line; std::getline(index, line);) {
        const json m = json::parse(line);
        const std::string source = m.value("source", "");
        const std::uint32_t node = source.starts_with("node ") ? static_cast<std::uint32_t>(std::stoul(source.substr(5))) : 0;
        messages.emplace_back(node, read_file(out / m["file"].get<std::string>()));
    }
    return messages;
}

}  // namespace

// Every page of the BBT zeroed (its pages placed by libpff's own walk): the
// block index comes from carving alone, so no leaf gives a 4K block's
// inflated size, and a compressed block is known by being one whole zlib
// stream. Every message must come out byte for byte as from the intact
// file, in its folder: the NBT is whole.
TEST_CASE("a PST whose every BBT page is zeroed exports every message as the intact file does") {
    const auto dir = shared_path("pst");
    if (!dir) return;
    mailfsck::test::TempDir t("pst-no-bbt");
    std::size_t files = 0, compressed = 0;
    for (const fs::path& f : files_ending(*dir, {".pst", ".ost"})) {
        const json pff = json::parse(run(pff_nodes + " --no-unallocated " + q(f)).out);
        if (!pff["internal"].value("available", false)) continue;
        std::string bytes = read_file(f);
        const Geometry g = geometry(bytes);
        for (const auto& p : pff["internal"]["bbt"]["page_list"])
            bytes.replace(p["offset"].get<std::uint64_t>(), g.page, g.page, '\0');
        const auto export_of = [&](const fs::path& store, const std::string& label) {
            const fs::path o = t.path() / label;
            fs::remove_all(o);
            (void)run(tool + " repair -q --to eml -o " + q(o) + " " + q(store));
            return message_files(o);
        };
        const fs::path damaged = t.path() / "damaged.pst";
        fs::remove(damaged);
        write_file(damaged, bytes);
        INFO(f.string());
        CHECK(export_of(damaged, "damaged") == export_of(f, "intact"));
        ++files;
        for (const auto& e : pff["internal"]["bbt"]["entry_list"])
            compressed += e.contains("cb_inflated") && e["cb_inflated"] != e["cb"] ? 1 : 0;
    }
    CHECK(files >= 50);
    CHECK(compressed > 0);  // a 4K file's compressed blocks among them
}

// A file cut short (an interrupted copy or sync), whose tail was never
// written (its size kept, the rest zeros), or missing a stretch (a resumed
// transfer that skipped it: all after it moved): both B-tree roots and the
// newest pages are gone or moved. Every message whose blocks all lie before the cut,
// placed from the intact file by libpff's B-trees, must come out byte for
// byte as from the intact file, whether a surviving (stale) NBT page still
// names it or only its own blocks are left. Nothing else may be presented
// as an intact message, no message the intact file holds as deleted may
// come out without --deleted, no message libpff finds live may be taken
// as deleted, and the rebuilt store must rescan clean.
// 2007_default_a1sellers.pst keeps older versions of a folder's contents
// table; multiple_to_cc.pst, deleted messages whose blocks survive.
TEST_CASE("a PST cut short, zeroed or missing a stretch gives every message whose blocks precede the damage, byte for byte") {
    const char* files[] = {"pst/simiden_pst2john/2003_no-encryption_quickquick.pst", "pst/npm_pst-extractor/enron.pst",
                           "pst/aspose-email_Aspose.Email-for-.NET/Outlook.pst",
                           "pst/simiden_pst2john/2003_outlook-high-encryption_cheechNchong.pst",
                           "pst/simiden_pst2john/2007_default_a1sellers.pst", "pst/aranetic_process-pst/multiple_to_cc.pst"};
    mailfsck::test::TempDir t("pst-truncated");
    namespace dmg = mailfsck::damage;
    std::size_t judged = 0, before_cut = 0, from_heaps = 0, deleted_judged = 0;
    for (const char* f : files) {
        const auto path = shared_path(f);
        if (!path) return;
        const std::string bytes = read_file(*path);
        const json pff = json::parse(run(pff_nodes + " --no-unallocated '" + path->string() + "'").out);
        const BlockMap map(bytes, pff);
        std::set<std::string> live;
        for (const auto& e : pff["internal"]["nbt"]["entry_list"])
            if (!e.contains("deleted")) live.insert("message " + std::to_string(e["nid"].get<std::uint64_t>()) + ",");
        const fs::path intact_out = t.path() / "intact";
        fs::remove_all(intact_out);
        REQUIRE(run(tool + " repair -q --to eml -o '" + intact_out.string() + "' '" + path->string() + "'").status == 0);
        const auto intact = exported(intact_out);
        std::set<std::string> all;
        for (const auto& [node, eml] : intact) all.insert(eml);
        fs::remove_all(intact_out);
        // Deleted messages can be partial (their subnode trees freed and reused).
        REQUIRE(run(tool + " repair -q --deleted --to eml -o '" + intact_out.string() + "' '" + path->string() + "'").status <= 4);
        std::set<std::string> deleted;
        for (const auto& [node, eml] : exported(intact_out))
            if (!all.count(eml)) deleted.insert(eml);
        for (const auto op : {dmg::Op::truncate, dmg::Op::zero_tail, dmg::Op::dropped_run})
        for (std::uint64_t seed = 1; seed <= 4; ++seed) {
            const dmg::Damaged d = dmg::inject(bytes, {op, seed, 1, {}});
            REQUIRE(d.injections.size() == 1);
            const std::uint64_t cut = d.injections[0].original_offset;
            INFO(f << " " << dmg::op_name(op) << " at " << cut);
            const fs::path damaged = t.path() / "cut.pst";
            fs::remove(damaged);
            write_file(damaged, d.bytes);
            const fs::path out = t.path() / "out";
            fs::remove_all(out);
            const auto r = run(tool + " repair -q --to eml --json - -o '" + out.string() + "' '" + damaged.string() + "'");
            // The end of a cut file is lost, whatever it held; what was zeroed
            // or skipped may have been free space alone.
            CHECK((op == dmg::Op::truncate ? r.status == 4 : r.status <= 4));
            const json report = json::parse(r.out);
            for (const auto& p : report["stores"][0]["problems"])
                if (p["code"] == "PST-0514" || p["code"] == "PST-0522") {
                    const std::string detail = p["detail"];
                    CHECK(live.count(detail.substr(0, detail.find(',') + 1)) == 0);
                }
            std::multiset<std::string> got;
            for (const auto& [node, eml] : exported(out)) {
                got.insert(eml);
                from_heaps += node == 0 ? 1 : 0;
                CHECK(deleted.count(eml) == 0);
            }
            deleted_judged += deleted.empty() ? 0 : 1;
            // Named properties are rendered through the name-to-id map
            // (node 0x61): a message needs it as much as its own blocks.
            const std::uint64_t names_end = map.end_of(0x61).value_or(0);
            for (const auto& [node, eml] : intact) {
                const std::optional<std::uint64_t> end = map.end_of(node);
                REQUIRE(end);
                if (std::max(*end, names_end) > cut) continue;
                ++before_cut;
                const auto it = got.find(eml);
                CHECK(it != got.end());
                if (it != got.end()) got.erase(it);
            }
            // What else came out is the intact file's too, or marked partial,
            // or in Lost and Found (an older version whose node entry a stale
            // page kept): nothing else is presented as an intact message.
            std::istringstream index(read_file(out / "index.jsonl"));
            for (std::string line; std::getline(index, line);) {
                const json m = json::parse(line);
                const std::string folder = m["folder"];
                if (m["state"] != "intact" || folder.starts_with("Lost and Found")) continue;
                CHECK(all.count(read_file(out / m["file"].get<std::string>())) == 1);
            }
            CHECK(run(tool + " scan -q --no-hash --format eml '" + (out / "messages").string() + "'").status == 0);
            ++judged;
        }
    }
    CHECK(judged == std::size(files) * 3 * 4);
    CHECK(before_cut >= 40);  // enough messages judged for the test to mean something
    CHECK(from_heaps > 0);  // some came from their blocks alone
    CHECK(deleted_judged > 0);
}

// A stretch of the file written twice (a resumed transfer that sent it
// again) moves every block and page after it by the stretch's length,
// which their signatures, computed from where they were written, no longer
// match. Two places, from libpff's own map of the file: past every B-tree
// page (the trees sound, blocks after the place moved), and before the
// first page or block (everything moved, the trees too). Two lengths: two
// pages, and one block alignment unit (64 bytes; a 512-byte sector in the
// 4K format), which moves the pages off page alignment.
// A corpus PST with libpff's reading of its B-trees, and where their pages
// lie: from the first page to the end of the last.
struct PffFile {
    std::string bytes;
    Geometry g;
    json pff;
    std::uint64_t first_page = UINT64_MAX;
    std::uint64_t pages_end = 0;
};

std::optional<PffFile> pff_file(const char* c) {
    const auto path = shared_path(c);
    if (!path) return std::nullopt;
    PffFile f;
    f.bytes = read_file(*path);
    f.g = geometry(f.bytes);
    f.pff = json::parse(run(pff_nodes + " --no-unallocated " + q(*path)).out);
    for (const char* tree : {"bbt", "nbt"})
        for (const auto& p : f.pff["internal"][tree]["page_list"]) {
            f.first_page = std::min(f.first_page, p["offset"].get<std::uint64_t>());
            f.pages_end = std::max(f.pages_end, p["offset"].get<std::uint64_t>() + f.g.page);
        }
    return f;
}

TEST_CASE("a PST with a stretch written twice exports every message as the intact file does") {
    mailfsck::test::TempDir t("pst-moved");
    std::size_t judged = 0, deleted_judged = 0;
    // These three hold deleted messages whose blocks survive, some in
    // several versions.
    std::vector<const char*> files(std::begin(cases), std::end(cases));
    files.push_back("pst/aranetic_process-pst/multiple_to_cc.pst");
    files.push_back("pst/aranetic_process-pst/four_nesting_levels.pst");
    files.push_back("pst/tghanem_PST/user1@test.lab.first-219b27d.pst");
    for (const char* c : files) {
        const std::optional<PffFile> f = pff_file(c);
        if (!f) return;
        const std::string& clean = f->bytes;
        const Geometry& g = f->g;
        const json& pff = f->pff;
        const std::uint64_t pages_end = f->pages_end;
        std::uint64_t first = f->first_page;
        std::vector<std::uint64_t> blocks;
        for (const auto& e : pff["internal"]["bbt"]["entry_list"])
            if (!e.contains("deleted")) blocks.push_back(e["ib"].get<std::uint64_t>());
        std::sort(blocks.begin(), blocks.end());
        REQUIRE_FALSE(blocks.empty());
        first = std::min(first, blocks.front());
        const auto after_pages = std::lower_bound(blocks.begin(), blocks.end(), pages_end);
        const std::string everything_moved = "everything moved";
        std::vector<std::pair<std::string, std::uint64_t>> places{{everything_moved, first / g.page * g.page}};
        if (after_pages != blocks.end()) places.emplace_back("blocks past the trees moved", *after_pages / g.page * g.page);

        const auto export_of = [&](const std::string& bytes, const std::string& label, std::string& log,
                                   const std::string& options = "") {
            const fs::path store = t.path() / (label + ".pst");
            const fs::path o = t.path() / ("out-" + label);
            fs::remove(store);
            fs::remove_all(o);
            write_file(store, bytes);
            log = run(tool + " repair -q" + options + " --to eml -o " + q(o) + " " + q(store) + " 2>&1").out;
            return message_files(o);
        };
        std::string log;
        const auto expected = export_of(clean, "intact", log);
        // The deleted messages --deleted writes, in any order.
        const auto deleted_of = [](const std::map<std::string, std::string>& exported) {
            std::multiset<std::string> deleted;
            for (const auto& [p, content] : exported)
                if (p.find("/Recovered (deleted)/") != std::string::npos) deleted.insert(content);
            return deleted;
        };
        const auto intact_deleted = deleted_of(export_of(clean, "intact", log, " --deleted"));
        for (const auto& [name, at] : places)
        // Whole pages, one block alignment unit, and a count of bytes that
        // is neither: what follows lies off block alignment.
        for (const std::uint64_t length : {2 * g.page, g.block_align, g.block_align + 37}) {
            std::string bytes = clean;
            REQUIRE(at >= length);
            bytes.insert(at, clean.substr(at - length, length));
            INFO(c << ": " << name << ", " << length << " bytes at " << at);
            const auto got = export_of(bytes, "damaged", log);
            INFO(log);
            CHECK(log.find("PST-0015") != std::string::npos);
            // Said once, also when deleted messages are looked for too (a
            // second carve of the same file).
            const std::string deleted = run(tool + " scan --deleted " + q(t.path() / "damaged.pst") + " 2>&1").out;
            std::size_t said = 0;
            for (std::size_t p = deleted.find("PST-0015"); p != std::string::npos; p = deleted.find("PST-0015", p + 1)) ++said;
            CHECK(said == 1);
            // Every message comes back whole (below), so every block the
            // BBT places where it no longer lies, or no longer holds (a BBT
            // page moved), was read where it does: none of its defects there
            // is left as it was.
            std::istringstream lines(deleted);
            for (std::string line; std::getline(lines, line);)
                for (const char* code : {"PST-0202", "PST-0203", "PST-0204", "PST-0205", "PST-0209"})
                    if (line.find(code) != std::string::npos) CHECK(line.ends_with("-> fixed"));
            std::string differ;
            for (const auto& [p, content] : expected)
                if (!got.count(p) || got.at(p) != content) differ += "\n  missing or changed: " + p;
            // Nothing is new: not even messages deleted before the damage,
            // whose heaps carving finds when no tree survives.
            for (const auto& [p, content] : got)
                if (!expected.count(p)) differ += "\n  extra: " + p;
            INFO(differ.substr(0, 2000));
            CHECK(differ.empty());
            // Those come back with --deleted, apart from live mail, as from
            // the intact file: byte for byte, the same versions of each,
            // whether the trees name what carving finds or carving finds it
            // all. Past the trees the bytes may go into a deleted message's
            // block (in four_nesting_levels.pst, block 7428 at 110592-113024
            // holds 112640), which is joined again (PST-0016).
            if (!intact_deleted.empty()) {
                CHECK(deleted_of(export_of(bytes, "damaged", log, " --deleted")) == intact_deleted);
                ++deleted_judged;
            }
            ++judged;
        }
    }
    CHECK(judged >= 24);
    CHECK(deleted_judged >= 18);
}

// Bytes inserted inside a live block (past the B-tree pages, so the trees
// still place every block where it was written): the block's first part
// lies there, the rest past the stretch with its trailer, whose CRC is the
// whole block's. Each message must come back as from the intact file, and
// the block be named (PST-0016) with the place the bytes went in: the block
// and its place are libpff's, the place of the insertion the test's own.
TEST_CASE("a PST with bytes inserted inside a block exports every message as the intact file does") {
    mailfsck::test::TempDir t("pst-cut");
    std::size_t judged = 0;
    std::vector<const char*> files(std::begin(cases), std::end(cases));
    files.push_back("pst/aranetic_process-pst/four_nesting_levels.pst");
    for (const char* c : files) {
        const std::optional<PffFile> f = pff_file(c);
        if (!f) return;
        // The blocks that hold a message's own properties (a normal
        // message's node, [MS-PST] 2.2.2.1: nid type 4; its data a single
        // block, bid bit 1 clear): every export reads them.
        std::set<std::uint64_t> messages;
        for (const auto& n : f->pff["internal"]["nbt"]["entry_list"])
            if ((n["nid"].get<std::uint64_t>() & 0x1F) == 4 && (n["bid_data"].get<std::uint64_t>() & 2) == 0)
                messages.insert(n["bid_data"].get<std::uint64_t>());
        const auto export_of = [&](const std::string& bytes, const std::string& label, json* report = nullptr) {
            const fs::path store = t.path() / (label + ".pst");
            const fs::path o = t.path() / ("out-" + label);
            fs::remove(store);
            fs::remove_all(o);
            write_file(store, bytes);
            const auto r = run(tool + " repair -q --json - --to eml -o " + q(o) + " " + q(store));
            if (report != nullptr) *report = json::parse(r.out)["stores"][0];
            return message_files(o);
        };
        const auto expected = export_of(f->bytes, "intact");
        // Past the pages the trees place every block still; before them the
        // pages move too, and the trees are rebuilt by carving (PST-0014).
        for (const bool past_pages : {true, false}) {
            // The two largest there.
            std::vector<std::pair<std::uint64_t, std::uint64_t>> blocks;  // cb, ib
            for (const auto& e : f->pff["internal"]["bbt"]["entry_list"])
                if (!e.contains("deleted") && (e["ib"].get<std::uint64_t>() >= f->pages_end) == past_pages &&
                    messages.count(e["bid"].get<std::uint64_t>() & ~std::uint64_t{1}) != 0)
                    blocks.emplace_back(e["cb"].get<std::uint64_t>(), e["ib"].get<std::uint64_t>());
            std::sort(blocks.rbegin(), blocks.rend());
            if (blocks.size() > 2) blocks.resize(2);
            for (const auto& [cb, ib] : blocks) {
                const std::uint64_t at = ib + cb / 2;
                // The bytes before sent again (a resumed transfer), and bytes
                // of no file, a count that moves what follows off alignment.
                const std::pair<std::string, std::string> inserts[] = {
                    {"sent twice", f->bytes.substr(at - f->g.block_align, f->g.block_align)},
                    {"foreign", std::string(f->g.block_align + 37, '\x5A')}};
                for (const auto& [name, inserted] : inserts) {
                    std::string bytes = f->bytes;
                    bytes.insert(at, inserted);
                    INFO(c << ": " << name << ", " << inserted.size() << " bytes at " << at << " inside the block at " << ib);
                    json report;
                    const auto got = export_of(bytes, "damaged", &report);
                    CHECK(got == expected);
                    const std::vector<json> cut = with_code(report, "PST-0016");
                    REQUIRE(cut.size() == 1);
                    // Said from the first place the stretch may have begun
                    // to the end of one begun at the last: the run of bytes
                    // around the place it went in that are the same where
                    // the block was written and past the stretch (a
                    // stretch begun anywhere in it leaves the same bytes).
                    const std::string placed = bytes.substr(ib, cb), shifted = bytes.substr(ib + inserted.size(), cb);
                    std::uint64_t first = at - ib, last = at - ib;
                    while (first > 1 && placed[first - 1] == shifted[first - 1]) --first;
                    while (last < cb && placed[last] == shifted[last]) ++last;
                    CHECK(cut[0]["offset"] == ib + first);
                    CHECK(cut[0]["length"] == inserted.size() + (last - first));
                    ++judged;
                }
            }
        }
    }
    // libpff lists seven such blocks in these files, each damaged twice.
    CHECK(judged >= 14);
}

// The same inside a deleted message's block, which no B-tree names: with the
// trees before it and a live block (by libpff) after it, whose shift tells
// where the cut block was written, --deleted gives back the deleted mail of
// the intact file, byte for byte. The blocks are those --deleted reads the
// deleted messages from in the intact file (PST-0519).
TEST_CASE("a deleted message's block with bytes inserted inside comes back with --deleted as from the intact file") {
    mailfsck::test::TempDir t("pst-cut-deleted");
    std::size_t judged = 0;
    for (const char* c : {"pst/aranetic_process-pst/multiple_to_cc.pst", "pst/aranetic_process-pst/four_nesting_levels.pst",
                          "pst/tghanem_PST/user1@test.lab.first-219b27d.pst"}) {
        const std::optional<PffFile> f = pff_file(c);
        if (!f) return;
        std::uint64_t last_live = 0;
        for (const auto& e : f->pff["internal"]["bbt"]["entry_list"])
            last_live = std::max(last_live, e["ib"].get<std::uint64_t>());
        const auto deleted_of = [&](const std::string& bytes, json* report = nullptr) {
            const fs::path store = t.path() / "store.pst";
            const fs::path o = t.path() / "out";
            fs::remove(store);
            fs::remove_all(o);
            write_file(store, bytes);
            const auto r = run(tool + " repair -q --deleted --json - --to eml -o " + q(o) + " " + q(store));
            if (report != nullptr) *report = json::parse(r.out)["stores"][0];
            std::multiset<std::string> deleted;
            for (const auto& [p, content] : message_files(o))
                if (p.find("/Recovered (deleted)/") != std::string::npos) deleted.insert(content);
            return deleted;
        };
        json intact_report;
        const auto intact = deleted_of(f->bytes, &intact_report);
        for (const json& heap : with_code(intact_report, "PST-0519")) {
            const std::uint64_t at = heap["offset"].get<std::uint64_t>() + heap["length"].get<std::uint64_t>() / 2;
            if (at <= f->pages_end || at >= last_live) continue;
            for (const std::uint64_t length : {f->g.block_align, 16 * f->g.block_align}) {
                std::string bytes = f->bytes;
                bytes.insert(at, f->bytes.substr(at - length, length));
                INFO(c << ": " << length << " bytes at " << at << " inside the block at " << heap["offset"]);
                CHECK(deleted_of(bytes) == intact);
                ++judged;
            }
        }
    }
    // Ten of the intact files' deleted messages' blocks lie so, each
    // damaged twice.
    CHECK(judged >= 20);
}

// A stretch sent twice just before the name-to-id map's data block, and
// every NBT page zeroed, stale ones too (found by the page trailer's
// type bytes, [MS-PST] 2.2.2.7.1: 0x81 twice at the start of the last 16
// bytes of a Unicode page, 12 of an ANSI one). The map's entry is lost, so
// it is found by its own blocks (PST-0520), as are messages (PST-0517,
// PST-0519 with --deleted). Each such finding must give where its block
// now lies: the block trailer ending there names it ([MS-PST] 2.2.2.8.1:
// bid at byte 8 of a Unicode trailer, 4 of an ANSI one), and a block live
// in the intact file lies where libpff's BBT placed it, moved by the
// stretch's length when it lay past the stretch. (The CI gate's fuzzer
// once saw PST-0520 give the index's place, past the end of a file cut
// short.)
TEST_CASE("a block found by its own bytes after a stretch sent twice is reported where it now lies") {
    const char* files[] = {"pst/emk_pstsdk/sample1.pst", "pst/emk_pstsdk/sample2.pst", "pst/npm_pst-extractor/enron.pst",
                           "pst/aranetic_process-pst/multiple_to_cc.pst"};
    mailfsck::test::TempDir t("pst-moved-found-by-blocks");
    std::size_t name_maps = 0, live = 0, judged = 0;
    for (const char* f : files) {
        const auto path = shared_path(f);
        if (!path) return;
        const std::string clean = read_file(*path);
        const Geometry g = geometry(clean);
        REQUIRE(g.page == 512);
        const bool ansi = g.block_trailer == 12;
        const std::uint64_t page_trailer = ansi ? 12 : 16;
        const json pff = json::parse(run(pff_nodes + " --no-unallocated " + q(*path)).out);
        std::map<std::uint64_t, std::uint64_t> ib;  // live block id -> where it lies in the intact file
        for (const auto& e : pff["internal"]["bbt"]["entry_list"])
            if (!e.contains("deleted")) ib[e["bid"].get<std::uint64_t>() & ~std::uint64_t{1}] = e["ib"];
        std::optional<std::uint64_t> name_map;
        for (const auto& e : pff["internal"]["nbt"]["entry_list"])
            if (!e.contains("deleted") && e["nid"] == 0x61) name_map = ib.at(e["bid_data"].get<std::uint64_t>() & ~std::uint64_t{1});
        REQUIRE(name_map);
        std::string bytes = clean;
        for (std::uint64_t p = 0; p + g.page <= bytes.size(); p += g.page)
            if (bytes[p + g.page - page_trailer] == '\x81' && bytes[p + g.page - page_trailer + 1] == '\x81')
                bytes.replace(p, g.page, g.page, '\0');
        const std::uint64_t length = g.block_align + 37;
        const std::uint64_t at = *name_map / g.page * g.page;
        REQUIRE(at >= length);
        bytes.insert(at, bytes.substr(at - length, length));
        const fs::path damaged = t.path() / "damaged.pst";
        fs::remove(damaged);
        write_file(damaged, bytes);
        const auto r = run(tool + " scan --deleted --no-hash --json - " + q(damaged));
        INFO(f << ": " << length << " bytes at " << at);
        REQUIRE(r.status == 4);
        const json report = json::parse(r.out);
        for (const auto& p : report["stores"][0]["problems"]) {
            const std::string code = p["code"], detail = p["detail"];
            if (code != "PST-0517" && code != "PST-0519" && code != "PST-0520" && code != "PST-0522") continue;
            INFO(code << " " << detail);
            REQUIRE(detail.starts_with("block "));
            const std::uint64_t bid = std::stoull(detail.substr(6)) & ~std::uint64_t{1};
            const std::uint64_t offset = p["offset"], end = offset + p["length"].get<std::uint64_t>();
            REQUIRE(end <= bytes.size());
            REQUIRE(end >= offset + g.block_trailer);
            const std::uint64_t named = get_le(bytes, end - g.block_trailer + (ansi ? 4 : 8), ansi ? 4 : 8);
            CHECK((named & ~std::uint64_t{1}) == bid);
            if (const auto intact = ib.find(bid); intact != ib.end()) {
                CHECK(offset == intact->second + (intact->second >= at ? length : 0));
                ++live;
            }
            name_maps += code == "PST-0520" ? 1 : 0;
            ++judged;
        }
    }
    CHECK(name_maps == std::size(files));
    CHECK(live > name_maps);
    CHECK(judged > live);  // deleted messages' blocks too
}

TEST_CASE("what repair writes from a damaged corpus store, as a PST and as mbox, verifies clean") {
    // e2fsck's promise, on real stores and seeded damage: verify (a second
    // check, every message composed) finds nothing of warning severity or
    // worse in the output. Copies of one
    // message (a store can hold them; so can its Lost and Found beside the
    // original) are the one exception, and only in mbox, whose check
    // rightly calls them duplicates.
    const auto dir = shared_path("pst");
    if (!dir) return;
    mailfsck::test::TempDir t("pst-damage-round-trip");
    std::size_t rebuilt = 0;
    for (const fs::path& f : files_ending(*dir, {".pst", ".ost"})) {
        if (fs::file_size(f) > (std::uintmax_t{8} << 20)) continue;
        const std::string clean = read_file(f);
        for (const auto op : {mailfsck::damage::Op::truncate, mailfsck::damage::Op::zero_page, mailfsck::damage::Op::random_run}) {
            mailfsck::damage::Request req;
            req.op = op;
            req.seed = 1;
            req.count = 3;
            const fs::path damaged = t.path() / "damaged.pst";
            write_file(damaged, mailfsck::damage::inject(clean, req).bytes);
            for (const std::string to : {"pst", "mbox"}) {
                INFO(f.string() << " " << mailfsck::damage::op_name(op) << " to " << to);
                const fs::path out = t.path() / to;
                fs::remove_all(out);
                const auto repaired = run(tool + " repair -q --json - --to " + to + " -o " + q(out) + " " + q(damaged) + " 2>/dev/null");
                if (repaired.status >= 8) continue;
                // The mbox output is a directory of one mbox per folder: one store.
                const fs::path written = to == "mbox" ? out : out / "damaged.pst";
                const auto r = run(tool + " verify --no-hash --json - " + q(written));
                const json s = json::parse(r.out)["stores"][0];
                CHECK(s["messages"]["found"] == json::parse(repaired.out)["stores"][0]["output"]["messages_written"]);
                for (const auto& p : s["problems"]) {
                    INFO(p["file"].get<std::string>() << ": " << p["code"].get<std::string>() << " " << p["detail"].get<std::string>());
                    CHECK((p["severity"] == "info" || (to == "mbox" && p["code"] == "MBOX-0017")));
                }
                ++rebuilt;
            }
        }
    }
    CHECK(rebuilt >= 300);
}

// A deleted message: its node entry no longer reaches its blocks (here the
// entry is made to name another message's blocks, the page's CRC made
// right again, so nothing else in the file changes). Its heap and subnode
// tree survive. --deleted must bring it back byte for byte as the intact
// file's export has it, under "Recovered (deleted)" and nowhere else;
// without --deleted it must not appear at all. Layouts: [MS-PST] 2.2.2.7.7.4
// (a Unicode NBT leaf entry: nid, bidData, bidSub, nidParent, padding) and
// 2.2.2.7.1 (the page trailer's dwCRC over the first 496 bytes).
TEST_CASE("a deleted message no node reaches is recovered with --deleted, apart from live mail, and only then") {
    const auto path = shared_path("pst/npm_pst-extractor/enron.pst");
    if (!path) return;
    mailfsck::test::TempDir t("pst-deleted");
    std::string bytes = read_file(*path);
    const json pff = json::parse(run(pff_nodes + " --no-unallocated '" + path->string() + "'").out);
    std::vector<json> messages;
    std::map<std::uint64_t, int> uses;  // data blocks named by more than one node are shared
    for (const auto& e : pff["internal"]["nbt"]["entry_list"]) {
        if (e.contains("deleted")) continue;
        ++uses[e["bid_data"].get<std::uint64_t>()];
        if ((e["nid"].get<std::uint32_t>() & 0x1F) == 4) messages.push_back(e);
    }
    REQUIRE(messages.size() > 10);
    const json* victim = nullptr;
    for (const json& m : messages)
        if (uses[m["bid_data"].get<std::uint64_t>()] == 1 && m["bid_sub"].get<std::uint64_t>() != 0) victim = &m;
    REQUIRE(victim != nullptr);
    const json& other = messages.front() == *victim ? messages.back() : messages.front();
    const std::uint32_t nid = (*victim)["nid"];
    const fs::path intact_out = t.path() / "intact";
    REQUIRE(run(tool + " repair -q --to eml -o '" + intact_out.string() + "' '" + path->string() + "'").status == 0);
    std::string victim_eml;
    for (const auto& [node, eml] : exported(intact_out))
        if (node == nid) victim_eml = eml;
    REQUIRE(!victim_eml.empty());

    const std::uint64_t page = (*victim)["page"];
    const std::uint64_t entry = page + 32 * (*victim)["index"].get<std::uint64_t>();
    put_le(bytes, entry + 8, other["bid_data"], 8);
    put_le(bytes, entry + 16, other["bid_sub"], 8);
    store_pst_crc(bytes, page + 500, page, 496);
    const fs::path edited = t.path() / "edited.pst";
    write_file(edited, bytes);

    const auto files_of = [&](const fs::path& out) {
        std::vector<std::pair<std::string, std::string>> files;  // folder, eml
        std::istringstream index(read_file(out / "index.jsonl"));
        for (std::string line; std::getline(index, line);) {
            const json m = json::parse(line);
            files.emplace_back(m["folder"], read_file(out / m["file"].get<std::string>()));
        }
        return files;
    };
    const fs::path plain = t.path() / "plain";
    run(tool + " repair -q --to eml -o '" + plain.string() + "' '" + edited.string() + "'");
    for (const auto& [folder, eml] : files_of(plain)) {
        CHECK(folder != "Recovered (deleted)");
        CHECK(eml != victim_eml);
    }
    const fs::path asked = t.path() / "asked";
    const auto r = run(tool + " repair -q --deleted --json - --to eml -o '" + asked.string() + "' '" + edited.string() + "'");
    std::size_t recovered = 0, elsewhere = 0;
    for (const auto& [folder, eml] : files_of(asked)) {
        if (eml != victim_eml) continue;
        (folder == "Recovered (deleted)" ? recovered : elsewhere) += 1;
    }
    CHECK(recovered == 1);
    CHECK(elsewhere == 0);
    CHECK(with_code(json::parse(r.out)["stores"][0], "PST-0519").size() >= 1);
}

// A deleted message's heap is found by its block, but which subnode tree
// (recipients, attachments, large values) is its own, and which node and
// folder it was, only a node entry says. libpff reads the entries an NBT
// leaf page keeps past its count, "deleted": where such an entry names a
// recovered message's heap, we must read it with the tree the entry gives,
// not a neighbour's, and report the entry's node and folder.
TEST_CASE("a deleted message recovered from a healthy PST is read with the subnode tree libpff's deleted node entry names, and said to be that node of that folder") {
    const auto dir = shared_path("pst");
    if (!dir) return;
    std::size_t agreed = 0;
    for (const fs::path& f : files_ending(*dir, {".pst", ".ost"})) {
        if (fs::file_size(f) > (std::uintmax_t{8} << 20)) continue;
        const json pff = json::parse(run(pff_nodes + " --no-unallocated " + q(f)).out);
        // heap -> (subnode tree, node, folder) of the deleted entries naming it
        std::map<std::uint64_t, std::set<std::tuple<std::uint64_t, std::uint64_t, std::uint64_t>>> entries;
        for (const auto& e : pff["internal"]["nbt"]["entry_list"])
            if (e.contains("deleted") && e["bid_sub"].get<std::uint64_t>() != 0)
                entries[e["bid_data"].get<std::uint64_t>()].emplace(e["bid_sub"], e["nid"], e["nid_parent"]);
        if (entries.empty()) continue;
        const json report = json::parse(run(tool + " scan --deleted --json - " + q(f)).out);
        for (const json& p : with_code(report["stores"][0], "PST-0519")) {
            const std::string detail = p["detail"];
            unsigned long long heap = 0, tree = 0, node = 0, folder = 0;
            // "block B, subnode tree S, node N last in folder F ...": a heap
            // found by its block (a carved entry's own finding says
            // "message"). One read without a tree is left: the entry libpff
            // finds for it, past a live page's count, names a tree whose
            // block is overwritten (multiple_to_cc.pst's 4300); we read the
            // entries of stale pages, not those left past a count.
            const int read = std::sscanf(detail.c_str(), "block %llu, subnode tree %llu, node %llu last in folder %llu", &heap,
                                         &tree, &node, &folder);
            if (read < 2 || !entries.count(heap)) continue;
            INFO(f.string() << ": " << detail);
            CHECK(read == 4);
            CHECK(entries[heap].count({tree, node, folder}) == 1);
            ++agreed;
        }
    }
    // Three by hand on libpff's listing: four_nesting_levels.pst's blocks
    // 7752 and 8720, multiple_to_cc.pst's 5660.
    CHECK(agreed >= 3);
}

// With the NBT lost (its root or a leaf zeroed) and the BBT sound, deleted
// messages are in no B-tree either way: --deleted must give, byte for byte,
// the deleted messages it gives from the intact file, and the live mail
// must be the same with or without it. Stale NBT pages also keep entries
// naming copies and older versions of live messages (Outlook 97 writes a
// message anew on a change): those are no deleted mail.
TEST_CASE("with one B-tree lost and the other sound, --deleted recovers what it does from the intact file, and live mail is unchanged") {
    const auto dir = shared_path("pst");
    if (!dir) return;
    mailfsck::test::TempDir t("pst-deleted-tree-lost");
    namespace dmg = mailfsck::damage;
    const auto export_of = [&](const fs::path& store, const std::string& options) {
        const fs::path o = t.path() / "out";
        fs::remove_all(o);
        (void)run(tool + " repair -q" + options + " --to eml -o " + q(o) + " " + q(store));
        return message_files(o);
    };
    const auto split = [](const std::map<std::string, std::string>& exported) {
        std::pair<std::map<std::string, std::string>, std::multiset<std::string>> live_deleted;
        for (const auto& [path, content] : exported)
            if (path.find("/Recovered (deleted)/") != std::string::npos)
                live_deleted.second.insert(content);
            else
                live_deleted.first.emplace(path, content);
        return live_deleted;
    };
    std::size_t judged = 0, deleted = 0;
    for (const fs::path& f : files_ending(*dir, {".pst", ".ost"})) {
        if (fs::file_size(f) > (std::uintmax_t{8} << 20)) continue;
        const std::string bytes = read_file(f);
        const auto intact_deleted = split(export_of(f, " --deleted")).second;
        for (const auto op : {dmg::Op::pst_zero_nbt_root, dmg::Op::pst_zero_nbt_leaf, dmg::Op::pst_zero_bbt_root,
                              dmg::Op::pst_zero_bbt_leaf}) {
            const dmg::Damaged d = dmg::inject(bytes, {op, 1, 1, {}});
            if (d.injections.empty()) continue;
            const fs::path damaged = t.path() / "damaged.pst";
            fs::remove(damaged);
            write_file(damaged, d.bytes);
            INFO(f.string() << " " << dmg::op_name(op));
            const auto [live, recovered] = split(export_of(damaged, " --deleted"));
            CHECK(recovered == intact_deleted);
            CHECK(live == export_of(damaged, ""));
            deleted += recovered.size();
            ++judged;
        }
    }
    CHECK(judged >= 180);
    // 22 deleted heaps in four files less three older versions, each beside
    // its later version (the same Message-ID, or subject and sender, and a
    // longer body), each file damaged four times.
    CHECK(deleted >= 76);
}
