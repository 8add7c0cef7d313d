// Seeded damage (tests/damage) on real PST/OST files, judged against where
// libpff (tests/oracle/pff_nodes.c) and the spec say each structure lies:
// damage that changes a structure in use is reported at that structure.
// Then the check run in many small passes (bounded memory) must find
// exactly what it finds in one.
#include <catch2/catch.hpp>
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "parsers/bytes/source.h"
#include "repair/pst/pst_check.h"
#include "repair/pst/pst_inspect.h"
#include "tests/damage/damage.h"
#include "tests/unit/support.h"

namespace fs = std::filesystem;
using mailfsck::test::read_file;
using mailfsck::test::run;
using mailfsck::test::shared_path;
using nlohmann::json;

namespace {

const std::string pff_nodes = MAILFSCK_PFF_NODES;

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

std::vector<mailfsck::Finding> check(const std::string& bytes, std::size_t records_per_pass = std::size_t{1} << 21) {
    const auto source = mailfsck::Source::in_memory(mailfsck::ByteView(bytes));
    mailfsck::StoreLog log;
    mailfsck::check_pst(*source, log, nullptr, {}, mailfsck::PstCheckOptions{records_per_pass});
    return log.findings;
}

// Unicode, ANSI, 4 KiB-page OST with compressed blocks, and a larger
// Unicode file with several allocation maps.
const char* const cases[] = {"pst/emk_pstsdk/sample1.pst", "pst/emk_pstsdk/sample2.pst",
                             "pst/npm_pst-extractor/pstextractortest@outlook.com.ost",
                             "pst/npm_pst-extractor/enron.pst"};

const mailfsck::damage::Op ops[] = {mailfsck::damage::Op::bitflip, mailfsck::damage::Op::zero_sector,
                                    mailfsck::damage::Op::zero_page, mailfsck::damage::Op::random_run};

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

// Sorted findings, or per-code totals when a kind hit the report's cap
// (which findings are listed then depends on the order they came in).
std::vector<std::string> comparable(const std::vector<mailfsck::Finding>& found) {
    std::map<std::string, std::uint64_t> totals;
    std::vector<std::string> all;
    bool capped = false;
    for (const mailfsck::Finding& f : found) {
        const std::string code(mailfsck::problem(f.id).code);
        const bool more = f.structure == "store" && f.detail.ends_with(" more");
        capped = capped || more;
        totals[code] += more ? std::stoull(f.detail) : 1;
        all.push_back(code + " " + std::to_string(f.offset) + "+" + std::to_string(f.length) + " " + f.structure + ": " +
                      f.detail);
    }
    if (capped) {
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
            const auto one = comparable(check(bytes));
            // Small files in passes of 7 blocks, large ones of 400: dozens
            // of passes either way.
            const auto many = comparable(check(bytes, clean.size() < 1000000 ? 7 : 400));
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
                    default: FAIL("not a PST op");
                }
            }
        }
    }
    CHECK(judged >= 60);
    // Most allocated space is in use: most cleared bits uncover a block.
    CHECK(unmarked_found >= 8);
}
