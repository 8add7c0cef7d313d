#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "parsers/maildir/filename.h"
#include "parsers/maildir/uidlist.h"
#include "tests/unit/support.h"

using namespace mailfsck;
using namespace mailfsck::maildir;

namespace {

// The views in the result point into `name`: literals, or strings that
// outlive the result.
ParsedName parse(std::string_view name) { return parse_filename(ByteView(name)); }

std::string kinds(const ParsedName& n) {
    std::string out;
    for (const NameDefect& d : n.defects) out += std::string(defect_name(d.kind)) + "@" + std::to_string(d.position) + " ";
    return out;
}

// The one defect of kind `k`, failing the test unless there is exactly one.
NameDefect only(const ParsedName& n, NameDefectKind k) {
    std::vector<NameDefect> found;
    std::copy_if(n.defects.begin(), n.defects.end(), std::back_inserter(found),
                 [k](const NameDefect& d) { return d.kind == k; });
    INFO("defects: " << kinds(n));
    REQUIRE(found.size() == 1);
    return found.front();
}

Uidlist uidlist(std::string_view text, std::uint64_t base = 0, const UidlistLimits& limits = {}) {
    return parse_uidlist(ByteView(text, base), limits);
}

std::string kinds(const Uidlist& u) {
    std::string out;
    for (const UidlistDefect& d : u.defects) out += std::string(defect_name(d.kind)) + "@" + std::to_string(d.offset) + " ";
    return out;
}

std::vector<UidlistDefectKind> kind_list(const Uidlist& u) {
    std::vector<UidlistDefectKind> out;
    for (const UidlistDefect& d : u.defects) out.push_back(d.kind);
    return out;
}

UidlistDefect only(const Uidlist& u, UidlistDefectKind k) {
    std::vector<UidlistDefect> found;
    std::copy_if(u.defects.begin(), u.defects.end(), std::back_inserter(found),
                 [k](const UidlistDefect& d) { return d.kind == k; });
    INFO("defects: " << kinds(u));
    REQUIRE(found.size() == 1);
    return found.front();
}

std::optional<std::uint64_t> decimal(const std::string& s, std::uint64_t max = UINT64_MAX) {
    return parse_decimal(ByteView(std::string_view(s)), max);
}

}  // namespace

// ---------------------------------------------------------------- file names

TEST_CASE("a Dovecot name splits into unique part, sizes and flags", "[maildir][name]") {
    const ParsedName n = parse("1386050966.M540929P13587.host,S=315,W=328:2,RS");
    INFO(kinds(n));
    CHECK(n.defects.empty());
    CHECK(n.unique == "1386050966.M540929P13587.host");
    CHECK(n.base == "1386050966.M540929P13587.host,S=315,W=328");
    CHECK(n.size == 315U);
    CHECK(n.vsize == 328U);
    CHECK(n.separator == InfoSeparator::colon);
    CHECK(n.version == InfoVersion::standard);
    CHECK(n.info == "2,RS");
    CHECK(n.flags == "RS");
    CHECK(n.standard_flags == "RS");
    CHECK(n.keywords.empty());
    CHECK(n.extra.empty());
}

TEST_CASE("a name without info is reported as such, not as a defect", "[maildir][name]") {
    const ParsedName n = parse("1220863087.12663_23.mindcrime");
    CHECK(n.defects.empty());
    CHECK_FALSE(n.has_info());
    CHECK(n.version == InfoVersion::none);
    CHECK(n.unique == "1220863087.12663_23.mindcrime");
    CHECK(n.base == n.unique);
    CHECK_FALSE(n.size);
}

TEST_CASE("info separators used where ':' is not allowed", "[maildir][name]") {
    CHECK(parse("a!2,S").separator == InfoSeparator::bang);
    CHECK(parse("a;2,S").separator == InfoSeparator::semicolon);
    const ParsedName mailpile = parse("1379857166.25979_5.hottie,2,S");
    CHECK(mailpile.separator == InfoSeparator::comma);
    CHECK(mailpile.unique == "1379857166.25979_5.hottie");
    CHECK(mailpile.flags == "S");
    CHECK(mailpile.defects.empty());
    const ParsedName sized = parse("x,S=5,W=6;2,S");
    CHECK(sized.separator == InfoSeparator::semicolon);
    CHECK(sized.unique == "x");
    CHECK(sized.size == 5U);
    CHECK(sized.vsize == 6U);
}

TEST_CASE("'!', semicolon and ',' inside a unique part are not separators", "[maildir][name]") {
    for (const std::string name : {"a!b", "x,y", "a;2,S.eml", "msg!2", "fw-question-1443197278.mbx", "a,3,S"}) {
        INFO(name);
        const ParsedName n = parse(name);
        CHECK_FALSE(n.has_info());
        CHECK(n.unique == name);
        CHECK(n.defects.empty());
    }
}

TEST_CASE("':' wins over the other separators", "[maildir][name]") {
    const ParsedName n = parse("a!2,S:2,R");
    CHECK(n.separator == InfoSeparator::colon);
    CHECK(n.base == "a!2,S");
    CHECK(n.flags == "R");
}

TEST_CASE("experimental info is accepted and not checked", "[maildir][name]") {
    const ParsedName n = parse("a:1,whatever 123");
    CHECK(n.version == InfoVersion::experimental);
    CHECK(n.info == "1,whatever 123");
    CHECK(n.flags.empty());
    CHECK(n.defects.empty());
}

TEST_CASE("keyword flags are told from standard flags", "[maildir][name]") {
    const ParsedName n = parse("special!2,Sabc");
    CHECK(n.defects.empty());
    CHECK(n.standard_flags == "S");
    CHECK(n.keywords == "abc");
    const ParsedName all = parse("u:2,DFPRSTz");
    CHECK(all.defects.empty());
    CHECK(all.standard_flags == "DFPRST");
    CHECK(all.keywords == "z");
}

TEST_CASE("name defect: empty base", "[maildir][name]") {
    CHECK(only(parse(":2,S"), NameDefectKind::empty_base).position == 0);
    CHECK(only(parse(",S=5:2,S"), NameDefectKind::empty_base).position == 0);
    CHECK(only(parse(""), NameDefectKind::empty_base).position == 0);
    CHECK(parse(",S=5:2,S").size == 5U);
}

TEST_CASE("name defect: info that is neither \"1,\" nor \"2,\"", "[maildir][name]") {
    for (const std::string name : {"a:2", "a:", "a:3,S", "a:2S"}) {
        INFO(name);
        const ParsedName n = parse(name);
        CHECK(n.version == InfoVersion::unknown);
        CHECK(only(n, NameDefectKind::info_malformed).position == 1);
        CHECK(n.defects.size() == 1);
    }
}

TEST_CASE("name defect: unknown flags", "[maildir][name]") {
    const ParsedName upper = parse("a:2,SX");
    CHECK(only(upper, NameDefectKind::unknown_flag).position == 5);
    CHECK(upper.standard_flags == "S");
    CHECK(only(parse("a:2,S1"), NameDefectKind::unknown_flag).position == 5);
    CHECK(only(parse("a:2, S"), NameDefectKind::unknown_flag).position == 4);
}

TEST_CASE("name defect: a flag given twice", "[maildir][name]") {
    const ParsedName n = parse("a:2,SS");
    CHECK(only(n, NameDefectKind::duplicate_flag).position == 5);
    CHECK(n.defects.size() == 1);
    const ParsedName apart = parse("a:2,RSR");
    CHECK(only(apart, NameDefectKind::duplicate_flag).position == 6);
    CHECK(only(apart, NameDefectKind::unsorted_flags).position == 6);
}

TEST_CASE("name defect: flags out of ASCII order, reported once", "[maildir][name]") {
    const ParsedName n = parse("a:2,TDR");
    CHECK(only(n, NameDefectKind::unsorted_flags).position == 5);
    CHECK(n.defects.size() == 1);
    // Keywords sort after the upper-case standard flags in ASCII.
    CHECK(only(parse("a:2,aS"), NameDefectKind::unsorted_flags).position == 5);
}

TEST_CASE("name defect: ',S=' and ',W=' that are no numbers", "[maildir][name]") {
    CHECK(only(parse("a,S=12x:2,"), NameDefectKind::size_invalid).position == 2);
    CHECK(only(parse("a,S=:2,"), NameDefectKind::size_invalid).position == 2);
    const ParsedName overflow = parse("a,S=18446744073709551616:2,");
    CHECK(only(overflow, NameDefectKind::size_invalid).position == 2);
    CHECK_FALSE(overflow.size);
    CHECK(parse("a,S=18446744073709551615:2,").size == UINT64_MAX);
    CHECK(only(parse("a,S=1,W=-1:2,"), NameDefectKind::vsize_invalid).position == 6);
    CHECK(only(parse("a,W=99999999999999999999"), NameDefectKind::vsize_invalid).position == 2);
}

TEST_CASE("fields other than S and W are left alone", "[maildir][name]") {
    const ParsedName n = parse("a,M=x,S=7:2,S");
    CHECK(n.defects.empty());
    CHECK(n.unique == "a");
    CHECK(n.size == 7U);
}

TEST_CASE("name defect: a comma after the flags", "[maildir][name]") {
    const ParsedName stalwart = parse("1035478339.27041_118.foo.org,S=1000,W=1030;2,RDF,");
    CHECK(only(stalwart, NameDefectKind::trailing_comma).position == 48);
    CHECK(only(stalwart, NameDefectKind::unsorted_flags).position == 46);
    CHECK(stalwart.flags == "RDF");
    CHECK(stalwart.extra.empty());
    CHECK(stalwart.size == 1000U);
    CHECK(stalwart.vsize == 1030U);
    const ParsedName extra = parse("a:2,S,foo");
    CHECK(only(extra, NameDefectKind::trailing_comma).position == 5);
    CHECK(extra.flags == "S");
    CHECK(extra.extra == "foo");
}

TEST_CASE("name defect: bytes that are not UTF-8", "[maildir][name]") {
    CHECK(parse("caf\xC3\xA9:2,S").defects.empty());
    CHECK(parse("\xF0\x9F\x93\xA7:2,").defects.empty());
    CHECK(only(parse("caf\xE9:2,S"), NameDefectKind::invalid_utf8).position == 3);
    CHECK(only(parse("a\xC0\xAF"), NameDefectKind::invalid_utf8).position == 1);      // overlong '/'
    CHECK(only(parse("a\xED\xA0\x80"), NameDefectKind::invalid_utf8).position == 1);  // surrogate
    CHECK(only(parse("a\xF4\x90\x80\x80"), NameDefectKind::invalid_utf8).position == 1);  // past U+10FFFF
    CHECK(only(parse("ab\xE2\x82"), NameDefectKind::invalid_utf8).position == 2);     // cut short
}

TEST_CASE("name defect: control characters", "[maildir][name]") {
    CHECK(only(parse("a\nb:2,"), NameDefectKind::control_character).position == 1);
    CHECK(only(parse("ab\x7F"), NameDefectKind::control_character).position == 2);
    CHECK(only(parse(std::string_view("a\0b", 3)), NameDefectKind::control_character).position == 1);
}

TEST_CASE("decimal numbers are read without overflow", "[maildir][name]") {
    CHECK_FALSE(decimal(""));
    CHECK(decimal("0") == 0U);
    CHECK(decimal("007") == 7U);
    CHECK(decimal("18446744073709551615") == UINT64_MAX);
    CHECK_FALSE(decimal("18446744073709551616"));
    CHECK_FALSE(decimal("99999999999999999999999"));
    CHECK(decimal("4294967295", UINT32_MAX) == UINT32_MAX);
    CHECK_FALSE(decimal("4294967296", UINT32_MAX));
    CHECK_FALSE(decimal("12a"));
    CHECK_FALSE(decimal("-1"));
}

TEST_CASE("canonical names: sizes recomputed, flags sorted and once", "[maildir][name]") {
    CHECK(canonical_name("123.host", 315, 328, "SR") == "123.host,S=315,W=328:2,RS");
    CHECK(canonical_name("u", std::nullopt, std::nullopt, "TDRbaS?SS") == "u:2,DRSTab");
    CHECK(canonical_name("u", 5, std::nullopt, "") == "u,S=5:2,");
    CHECK(canonical_name("u", std::nullopt, 0, "S") == "u,W=0:2,S");
}

TEST_CASE("canonical names of damaged names parse without defects", "[maildir][name]") {
    for (const std::string name : {"1035478339.27041_118.foo.org,S=1000,W=1030;2,RDF,", "a:2,SXS1", "a,S=x:2,TDR",
                                   "a,S,W=3!2,ba", "a,:2,S", "x,y,S=4,2,S"}) {
        INFO(name);
        const ParsedName n = parse(name);
        const std::string canonical = canonical_name(n.unique, n.size, n.vsize, n.flags);
        INFO(canonical);
        const ParsedName again = parse(canonical);
        INFO(kinds(again));
        CHECK(again.defects.empty());
        CHECK(again.unique == n.unique);
        CHECK(again.size == n.size);
        CHECK(again.vsize == n.vsize);
    }
}

// ---------------------------------------------------------------- uidlists

TEST_CASE("a Dovecot v3 uidlist: header keys, entries, extension fields", "[maildir][uidlist]") {
    const Uidlist u = uidlist("3 V100 N4 G0123abc\n1 W328 :a,S=315\n2 :b\n3 S10 W12 :c:2,S\n");
    INFO(kinds(u));
    CHECK(u.defects.empty());
    CHECK(u.header.version == 3U);
    CHECK(u.header.uid_validity == 100U);
    CHECK(u.header.next_uid == 4U);
    CHECK(u.header.guid == "0123abc");
    REQUIRE(u.entries.size() == 3);
    CHECK(u.entries[0].uid == 1);
    CHECK(u.entries[0].filename == "a,S=315");
    CHECK(u.entries[0].offset == 19);
    CHECK(u.entries[0].vsize == 328U);
    CHECK_FALSE(u.entries[0].size);
    CHECK(u.entries[1].offset == 35);
    CHECK(u.entries[1].filename == "b");
    CHECK(u.entries[2].offset == 40);
    CHECK(u.entries[2].filename == "c:2,S");
    CHECK(u.entries[2].size == 10U);
    CHECK(u.entries[2].vsize == 12U);
    CHECK(u.highest_uid == 3);
}

TEST_CASE("v3 header keys come in any order, and unknown keys are skipped", "[maildir][uidlist]") {
    const Uidlist u = uidlist("3 N7 X1 G1 V9\n");
    CHECK(u.defects.empty());
    CHECK(u.header.uid_validity == 9U);
    CHECK(u.header.next_uid == 7U);
    CHECK(u.header.guid == "1");
}

TEST_CASE("a v3 filename keeps its spaces", "[maildir][uidlist]") {
    const Uidlist u = uidlist("3 V1 N2\n1 :name with spaces\n");
    REQUIRE(u.entries.size() == 1);
    CHECK(u.entries[0].filename == "name with spaces");
}

TEST_CASE("version 1 (Courier, old Dovecot) with CRLF lines and a base offset", "[maildir][uidlist]") {
    const Uidlist u = uidlist("1 1087227438 2\r\n1 1087227438.M423329P18729.host,S=540\r\n", 1000);
    INFO(kinds(u));
    CHECK(u.defects.empty());
    CHECK(u.header.version == 1U);
    CHECK(u.header.uid_validity == 1087227438U);
    CHECK(u.header.next_uid == 2U);
    REQUIRE(u.entries.size() == 1);
    CHECK(u.entries[0].filename == "1087227438.M423329P18729.host,S=540");
    CHECK(u.entries[0].offset == 1016);
}

TEST_CASE("uidlist defect: a next UID not above the highest UID is reported, entries kept", "[maildir][uidlist]") {
    const Uidlist u = uidlist("3 V1 N1 G0\n1 :a\n2 :b\n3 :c\n4 :d\n5 :e\n", 50);
    CHECK(kind_list(u) == std::vector{UidlistDefectKind::next_uid_not_above_highest});
    CHECK(u.defects[0].offset == 50);
    CHECK(u.defects[0].length == 10);
    CHECK(u.entries.size() == 5);
    CHECK(u.highest_uid == 5);
    CHECK(uidlist("3 V1 N6\n5 :e\n").defects.empty());
    CHECK(kind_list(uidlist("3 V1 N5\n5 :e\n")) == std::vector{UidlistDefectKind::next_uid_not_above_highest});
}

TEST_CASE("uidlist defect: bad header", "[maildir][uidlist]") {
    for (const std::string text : {"", "\n", "x\n1 :a\n", "3 V0 N1\n", "3 N1\n", "3 V1\n", "3 Vabc N1\n",
                                   "3 V1 N4294967296\n", "1 5\n", "1 5 6 7\n", "1 0 6\n", "1 5 x\n"}) {
        INFO(text);
        const Uidlist u = uidlist(text);
        CHECK(only(u, UidlistDefectKind::bad_header).offset == 0);
    }
}

TEST_CASE("a bad header of a known version still lets entries be read", "[maildir][uidlist]") {
    const Uidlist u = uidlist("3 N1\n1 :a\n");
    CHECK(u.entries.size() == 1);
    CHECK(u.header.next_uid == 1U);
    CHECK_FALSE(u.header.uid_validity);
}

TEST_CASE("uidlist defect: unknown version", "[maildir][uidlist]") {
    const Uidlist u = uidlist("2 5 6\n1 x\n");
    CHECK(kind_list(u) == std::vector{UidlistDefectKind::unknown_version});
    CHECK(u.header.version == 2U);
    CHECK(u.entries.empty());
}

TEST_CASE("uidlist defect: malformed lines, with their offsets", "[maildir][uidlist]") {
    // v3: no ':' field, no filename after ':', a lone UID, an empty line,
    // a line starting with a space.
    const Uidlist v3 = uidlist("3 V1 N9\n1 a\n2 :\n3\n\n 4 :d\n5 :e\n");
    std::vector<std::uint64_t> offsets;
    for (const UidlistDefect& d : v3.defects) {
        CHECK(d.kind == UidlistDefectKind::malformed_line);
        offsets.push_back(d.offset);
    }
    CHECK(offsets == std::vector<std::uint64_t>{8, 12, 16, 18, 19});
    REQUIRE(v3.entries.size() == 1);
    CHECK(v3.entries[0].uid == 5);
    const Uidlist v1 = uidlist("1 1 9\n1\n2 b\n");
    CHECK(only(v1, UidlistDefectKind::malformed_line).offset == 6);
    CHECK(v1.entries.size() == 1);
}

TEST_CASE("uidlist defect: UIDs that are no 32-bit numbers, and UID 0", "[maildir][uidlist]") {
    const Uidlist u = uidlist("3 V1 N9\nx :a\n4294967296 :b\n0 :c\n4294967295 :d\n");
    CHECK(only(u, UidlistDefectKind::uid_zero).offset == 27);
    std::vector<std::uint64_t> invalid;
    for (const UidlistDefect& d : u.defects)
        if (d.kind == UidlistDefectKind::uid_invalid) invalid.push_back(d.offset);
    CHECK(invalid == std::vector<std::uint64_t>{8, 13});
    REQUIRE(u.entries.size() == 1);
    CHECK(u.entries[0].uid == UINT32_MAX);
    CHECK(u.highest_uid == UINT32_MAX);
}

TEST_CASE("uidlist defect: UIDs going down", "[maildir][uidlist]") {
    const Uidlist u = uidlist("3 V1 N9\n5 :a\n3 :b\n6 :c\n");
    CHECK(kind_list(u) == std::vector{UidlistDefectKind::uid_not_increasing});
    CHECK(u.defects[0].offset == 13);
    CHECK(u.entries.size() == 3);
    CHECK(u.highest_uid == 6);
}

TEST_CASE("uidlist defect: one UID on two lines", "[maildir][uidlist]") {
    const Uidlist u = uidlist("1 1 9\n1 a\n1 b\n");
    CHECK(kind_list(u) == std::vector{UidlistDefectKind::duplicate_uid});
    CHECK(u.defects[0].offset == 10);
}

TEST_CASE("uidlist defect: one file under two UIDs, compared by base name", "[maildir][uidlist]") {
    const Uidlist u = uidlist("1 1 9\n1 a\n2 a:2,S\n3 b\n");
    CHECK(kind_list(u) == std::vector{UidlistDefectKind::duplicate_filename});
    CHECK(u.defects[0].offset == 10);
}

TEST_CASE("uidlist defect: W and S fields that are no numbers", "[maildir][uidlist]") {
    const Uidlist u = uidlist("3 V1 N9\n1 Wx S12 :a\n");
    const UidlistDefect d = only(u, UidlistDefectKind::bad_extension);
    CHECK(d.offset == 10);
    CHECK(d.length == 2);
    REQUIRE(u.entries.size() == 1);
    CHECK_FALSE(u.entries[0].vsize);
    CHECK(u.entries[0].size == 12U);
}

TEST_CASE("uidlist defect: the last line cut short", "[maildir][uidlist]") {
    const Uidlist u = uidlist("3 V1 N3\n1 :a\n2 :b");
    const UidlistDefect d = only(u, UidlistDefectKind::unterminated_last_line);
    CHECK(d.offset == 13);
    CHECK(d.length == 4);
    CHECK(u.entries.size() == 2);
    CHECK(only(uidlist("3 V1 N3"), UidlistDefectKind::unterminated_last_line).offset == 0);
}

TEST_CASE("uidlist defect: too many entries stops the reading", "[maildir][uidlist]") {
    UidlistLimits limits;
    limits.max_entries = 2;
    const Uidlist u = uidlist("3 V1 N9\n1 :a\n2 :b\n3 :c\n4 :d\n", 0, limits);
    CHECK(kind_list(u) == std::vector{UidlistDefectKind::too_many_entries});
    CHECK(u.defects[0].offset == 18);
    CHECK(u.entries.size() == 2);
}

TEST_CASE("dovecot-keywords: letters, and the lines that give none", "[maildir][keywords]") {
    const std::string text = "0 $Label1\n1 Junk\n25 Last word\n26 Over\n1 Again\nx y\n2\n";
    const Keywords k = parse_keywords(ByteView(std::string_view(text)));
    REQUIRE(k.keywords.size() == 3);
    CHECK(k.keywords[0].letter() == 'a');
    CHECK(k.keywords[0].name == "$Label1");
    CHECK(k.keywords[1].letter() == 'b');
    CHECK(k.keywords[1].offset == 10);
    CHECK(k.keywords[2].letter() == 'z');
    CHECK(k.keywords[2].name == "Last word");
    std::map<KeywordDefectKind, std::vector<std::uint64_t>> defects;
    for (const KeywordDefect& d : k.defects) defects[d.kind].push_back(d.offset);
    CHECK(defects[KeywordDefectKind::index_out_of_range] == std::vector<std::uint64_t>{30});
    CHECK(defects[KeywordDefectKind::duplicate_index] == std::vector<std::uint64_t>{38});
    CHECK(defects[KeywordDefectKind::malformed_line] == std::vector<std::uint64_t>{46, 50});
}

// ---------------------------------------------------------------- real trees

namespace {

const char* const maildir_trees[] = {
    "mail/paysdoc_feats/Maildir",
    "mail/kaihendry_imap2json/Maildir",
    "mail/itc-s22021_wasbook/Maildir",
    "mail/pmahnke_peter-home-dir/Maildir",
    "mail/djcb_mu/testdata",
    "mail/stalwartlabs_mail-parser/resources/maildir",
    "mail/mailpile_Mailpile/mailpile/tests/data/Maildir",
    "mail/notmuch_notmuch/test/corpora",
};

struct TreeNames {
    std::size_t files = 0;
    std::map<InfoSeparator, std::size_t> by_separator;
    std::map<std::string, std::vector<NameDefectKind>> defective;  // file name -> defect kinds
};

bool in_message_directory(const std::filesystem::path& p) {
    const std::string dir = p.parent_path().filename().string();
    return dir == "cur" || dir == "new" || dir == "tmp";
}

TreeNames names_in(const std::filesystem::path& tree) {
    TreeNames out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(tree)) {
        if (!e.is_regular_file() || !in_message_directory(e.path())) continue;
        const std::string name = e.path().filename().string();
        const ParsedName n = parse(name);
        ++out.files;
        ++out.by_separator[n.separator];
        for (const NameDefect& d : n.defects) out.defective[name].push_back(d.kind);
    }
    return out;
}

std::optional<Uidlist> corpus_uidlist(const std::string& rel, std::string& keep) {
    const auto p = test::shared_path(rel);
    if (!p) return std::nullopt;
    keep = test::read_file(*p);
    return uidlist(keep);
}

}  // namespace

TEST_CASE("real trees: every message file name parses, separators as PROVENANCE.md says", "[maildir][corpus]") {
    // file count and names with ':', '!', ';', ',' info, counted with find(1)
    struct Expected {
        std::size_t files, colon, bang, semicolon, comma;
    };
    const std::map<std::string, Expected> expected = {
        {"mail/paysdoc_feats/Maildir", {161, 0, 0, 0, 0}},
        {"mail/kaihendry_imap2json/Maildir", {7, 5, 0, 0, 0}},
        {"mail/itc-s22021_wasbook/Maildir", {1, 1, 0, 0, 0}},
        {"mail/pmahnke_peter-home-dir/Maildir", {1, 1, 0, 0, 0}},
        {"mail/djcb_mu/testdata", {42, 0, 15, 0, 0}},
        {"mail/stalwartlabs_mail-parser/resources/maildir", {6, 0, 0, 6, 0}},
        {"mail/mailpile_Mailpile/mailpile/tests/data/Maildir", {16, 0, 0, 0, 7}},
        {"mail/notmuch_notmuch/test/corpora", {256, 253, 0, 0, 0}},
    };
    for (const char* rel : maildir_trees) {
        const auto tree = test::shared_path(rel);
        if (!tree) return;
        INFO(rel);
        TreeNames names = names_in(*tree);
        const Expected& e = expected.at(rel);
        CHECK(names.files == e.files);
        CHECK(names.by_separator[InfoSeparator::colon] == e.colon);
        CHECK(names.by_separator[InfoSeparator::bang] == e.bang);
        CHECK(names.by_separator[InfoSeparator::semicolon] == e.semicolon);
        CHECK(names.by_separator[InfoSeparator::comma] == e.comma);
        if (std::string(rel) != "mail/stalwartlabs_mail-parser/resources/maildir") CHECK(names.defective.empty());
    }
}

TEST_CASE("real trees: stalwartlabs writes unsorted flags and a trailing comma", "[maildir][corpus]") {
    const auto tree = test::shared_path("mail/stalwartlabs_mail-parser/resources/maildir");
    if (!tree) return;
    const TreeNames names = names_in(*tree);
    using K = NameDefectKind;
    const std::map<std::string, std::vector<NameDefectKind>> expected = {
        {"1035478339.27041_118.foo.org,S=1000,W=1030;2,RDF,", {K::trailing_comma, K::unsorted_flags}},
        {"1035478339.27041_118.foo.org,S=1000,W=1030;2,TDR", {K::unsorted_flags}},
    };
    CHECK(names.defective == expected);
    const ParsedName keywords =
        parse("1491941793.M41850P8566V0000000000000015I0000000004F3030E_0.mx1.example.com,S=10956;2,STln");
    CHECK(keywords.standard_flags == "ST");
    CHECK(keywords.keywords == "ln");
    CHECK(keywords.size == 10956U);
}

TEST_CASE("real trees: Dovecot's S= and W= are the file's sizes (kaihendry)", "[maildir][corpus]") {
    const auto cur = test::shared_path("mail/kaihendry_imap2json/Maildir/cur");
    if (!cur) return;
    std::size_t checked = 0;
    for (const auto& e : std::filesystem::directory_iterator(*cur)) {
        const ParsedName n = parse(e.path().filename().string());
        REQUIRE(n.size);
        REQUIRE(n.vsize);
        const std::string bytes = test::read_file(e.path());
        const auto lines = static_cast<std::uint64_t>(std::count(bytes.begin(), bytes.end(), '\n'));
        CHECK(*n.size == bytes.size());
        CHECK(*n.vsize == bytes.size() + lines);  // LF files: CRLF adds one byte per line
        ++checked;
    }
    CHECK(checked == 5);
}

TEST_CASE("real uidlists: paysdoc holds a v3 header and no entries", "[maildir][corpus]") {
    for (const std::string rel : {"mail/paysdoc_feats/Maildir/dovecot-uidlist", "mail/paysdoc_feats/Maildir/.INBOX.Trash/dovecot-uidlist"}) {
        std::string bytes;
        const auto u = corpus_uidlist(rel, bytes);
        if (!u) return;
        INFO(rel << ": " << kinds(*u));
        CHECK(u->defects.empty());
        CHECK(u->header.version == 3U);
        CHECK(u->header.next_uid == 1U);
        CHECK(u->entries.empty());
    }
    std::string bytes;
    const auto root = corpus_uidlist("mail/paysdoc_feats/Maildir/dovecot-uidlist", bytes);
    if (!root) return;
    CHECK(root->header.uid_validity == 1346363626U);
    CHECK(root->header.guid == "f978a014eae03f5012570000966feb7d");
}

TEST_CASE("real uidlists: kaihendry's header says N1 over entries 1..5", "[maildir][corpus]") {
    std::string bytes;
    const auto u = corpus_uidlist("mail/kaihendry_imap2json/Maildir/dovecot-uidlist", bytes);
    if (!u) return;
    CHECK(kind_list(*u) == std::vector{UidlistDefectKind::next_uid_not_above_highest});
    CHECK(u->header.version == 3U);
    CHECK(u->header.uid_validity == 1386050931U);
    CHECK(u->header.next_uid == 1U);
    REQUIRE(u->entries.size() == 5);
    for (std::uint32_t i = 0; i < 5; ++i) CHECK(u->entries[i].uid == i + 1);
    CHECK(u->entries[0].filename == "1386050966.M540929P13587.sg.webconverger.com,S=315,W=328");
    CHECK(u->entries[0].offset == 51);
    // The uidlist names the base; the file in cur/ adds the info.
    const ParsedName file = parse("1386050966.M540929P13587.sg.webconverger.com,S=315,W=328:2,S");
    CHECK(file.base == u->entries[0].filename);
}

TEST_CASE("real uidlists: wasbook's Sent and Trash count on past expunged messages", "[maildir][corpus]") {
    std::string bytes;
    const auto root = corpus_uidlist("mail/itc-s22021_wasbook/Maildir/dovecot-uidlist", bytes);
    if (!root) return;
    CHECK(kind_list(*root) == std::vector{UidlistDefectKind::next_uid_not_above_highest});
    CHECK(root->header.next_uid == 4U);
    REQUIRE(root->entries.size() == 1);
    CHECK(root->entries[0].uid == 4);
    CHECK(root->entries[0].filename == "1528799955.V801I6124aM735688.wasbook");
    const std::map<std::string, std::uint32_t> next = {{"mail/itc-s22021_wasbook/Maildir/.Sent/dovecot-uidlist", 2},
                                                       {"mail/itc-s22021_wasbook/Maildir/.Trash/dovecot-uidlist", 5}};
    for (const auto& [rel, n] : next) {
        std::string keep;
        const auto u = corpus_uidlist(rel, keep);
        if (!u) return;
        INFO(rel);
        CHECK(u->defects.empty());
        CHECK(u->header.next_uid == n);
        CHECK(u->entries.empty());
    }
}

TEST_CASE("real uidlists: pmahnke's Courier files, the Trash one dangling", "[maildir][corpus]") {
    std::string root_bytes;
    const auto root = corpus_uidlist("mail/pmahnke_peter-home-dir/Maildir/courierimapuiddb", root_bytes);
    if (!root) return;
    CHECK(root->defects.empty());
    CHECK(root->header.version == 1U);
    CHECK(root->header.uid_validity == 1071903956U);
    CHECK(root->header.next_uid == 722432U);
    CHECK(root->entries.empty());

    std::string sent_bytes;
    const auto sent = corpus_uidlist("mail/pmahnke_peter-home-dir/Maildir/.Sent/courierimapuiddb", sent_bytes);
    REQUIRE(sent);
    CHECK(sent->defects.empty());
    REQUIRE(sent->entries.size() == 1);
    CHECK(sent->entries[0].uid == 1);
    CHECK(sent->entries[0].filename == "1087227438.M423329P18729V0000000000000802I00164E0A_0.secondborn.mahnke.net,S=540");

    std::string trash_bytes;
    const auto trash = corpus_uidlist("mail/pmahnke_peter-home-dir/Maildir/.Trash/courierimapuiddb", trash_bytes);
    REQUIRE(trash);
    INFO(kinds(*trash));
    CHECK(trash->defects.empty());
    CHECK(trash->header.next_uid == 622722U);
    // 1,510 lines by wc -l: the header and 1,509 entries, UIDs 621213..622721.
    REQUIRE(trash->entries.size() == 1509);
    CHECK(trash->entries.front().uid == 621213);
    CHECK(trash->entries.back().uid == 622721);
    CHECK(trash->highest_uid == 622721);
    const auto trash_dir = test::shared_path("mail/pmahnke_peter-home-dir/Maildir/.Trash");
    REQUIRE(trash_dir);
    CHECK_FALSE(std::filesystem::exists(*trash_dir / "cur"));
}
