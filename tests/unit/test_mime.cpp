#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "parsers/mime/decode.h"
#include "parsers/mime/headers.h"
#include "parsers/mime/walker.h"
#include "tests/unit/support.h"

using namespace mailfsck;
using namespace mailfsck::mime;

namespace {

// Walks `text` as if it sat at `base` in a store.
Summary walk_text(const std::string& text, std::uint64_t base = 0, const Limits& limits = {}) {
    return walk(ByteView(std::string_view(text), base), limits);
}

std::vector<Defect> of_kind(const Summary& s, DefectKind k) {
    std::vector<Defect> out;
    std::copy_if(s.defects.begin(), s.defects.end(), std::back_inserter(out),
                 [k](const Defect& d) { return d.kind == k; });
    return out;
}

std::string kinds(const Summary& s) {
    std::string out;
    for (const Defect& d : s.defects) out += std::string(defect_name(d.kind)) + "@" + std::to_string(d.offset) + " ";
    return out;
}

// The one defect of kind `k`, failing the test unless there is exactly one.
Defect only(const Summary& s, DefectKind k) {
    const std::vector<Defect> found = of_kind(s, k);
    INFO("defects: " << kinds(s));
    REQUIRE(found.size() == 1);
    return found.front();
}

// Properties every walk must have, whatever the input.
void check_invariants(const Summary& s, std::uint64_t base, std::uint64_t size, const Limits& limits = {}) {
    CHECK(s.parts <= limits.max_parts);
    CHECK(s.max_depth <= limits.max_depth);
    CHECK(s.open_at_end == !s.open_boundaries.empty());
    for (const Defect& d : s.defects) {
        INFO(defect_name(d.kind) << " at " << d.offset << " length " << d.length);
        CHECK(d.offset >= base);
        CHECK(d.offset + d.length <= base + size);
    }
}

std::uint64_t pos_of(const std::string& text, const std::string& needle, std::size_t from = 0) {
    const std::size_t at = text.find(needle, from);
    REQUIRE(at != std::string::npos);
    return at;
}

std::string repeat(const std::string& s, std::size_t n) {
    std::string out;
    out.reserve(s.size() * n);
    for (std::size_t i = 0; i < n; ++i) out += s;
    return out;
}

// The header of a multipart and its first delimiter line.
std::string multipart_opening(const std::string& boundary) {
    return "Content-Type: multipart/mixed; boundary=" + boundary + "\n\n--" + boundary + "\n";
}

std::string base64_message(const std::string& body) {
    return "Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n" + body;
}

}  // namespace

TEST_CASE("a well-formed multipart walks clean with absolute offsets untouched") {
    const std::string m =
        "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=\"xyz\"\r\n\r\n"
        "preamble\r\n--xyz\r\nContent-Type: text/plain\r\n\r\none\r\n"
        "--xyz  \t\r\n\r\ntwo\r\n--xyz--\r\nepilogue\r\n";
    const Summary s = walk_text(m, 5000);
    check_invariants(s, 5000, m.size());
    CHECK(s.defects.empty());
    CHECK(s.open_boundaries.empty());
    CHECK(s.parts == 3);
    CHECK(s.max_depth == 1);
    CHECK_FALSE(s.open_at_end);
}

TEST_CASE("delimiters count only at line start, with nothing but padding after them") {
    const std::string m =
        "Content-Type: multipart/mixed; boundary=b\n\n--b\n\ntext with --b inside a line\n"
        "--bb\n--b x\n -b\n--b--\n";
    const Summary s = walk_text(m);
    CHECK(s.defects.empty());
    CHECK(s.parts == 2);
    CHECK_FALSE(s.open_at_end);
}

TEST_CASE("a close delimiter on the last, unterminated line closes the multipart") {
    const Summary s = walk_text("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--");
    CHECK(s.defects.empty());
    CHECK(s.parts == 2);
    CHECK_FALSE(s.open_at_end);
}

TEST_CASE("a multipart cut short reports missing_close_boundary and open_at_end") {
    const std::string m = "Subject: cut\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\npart1\n--b\n\npart2\n";
    const Summary s = walk_text(m, 100);
    check_invariants(s, 100, m.size());
    const Defect d = only(s, DefectKind::missing_close_boundary);
    CHECK(d.offset == 100);
    CHECK(d.length == m.size());
    CHECK(d.detail.find('b') != std::string::npos);
    CHECK(s.defects.size() == 1);
    CHECK(s.open_at_end);
    CHECK(s.open_boundaries == std::vector<std::string>{"b"});
    CHECK(s.parts == 3);
}

TEST_CASE("open boundaries at the end are listed innermost first, for a repair to close") {
    const std::string m =
        "Content-Type: multipart/mixed; boundary=\"outer b\"\n\n--outer b\n"
        "Content-Type: multipart/alternative; boundary=inner\n\n--inner\n\ncut here";
    const Summary s = walk_text(m);
    CHECK(s.open_at_end);
    CHECK(s.open_boundaries == std::vector<std::string>{"inner", "outer b"});
    const std::vector<Defect> unclosed = of_kind(s, DefectKind::missing_close_boundary);
    REQUIRE(unclosed.size() == 2);
    CHECK(unclosed[0].offset == pos_of(m, "Content-Type: multipart/alternative"));
    CHECK(unclosed[1].offset == 0);
    CHECK(s.defects.size() == 2);
}

TEST_CASE("an unclosed inner multipart resynchronises on the enclosing delimiter") {
    const std::string m =
        "Content-Type: multipart/mixed; boundary=o\n\n--o\n"
        "Content-Type: multipart/mixed; boundary=i\n\n--i\n\ninner1\n"
        "--o\n\nouter2\n--o--\n";
    const Summary s = walk_text(m, 7);
    check_invariants(s, 7, m.size());
    const std::uint64_t inner = pos_of(m, "Content-Type: multipart/mixed; boundary=i");
    const Defect d = only(s, DefectKind::missing_close_boundary);
    CHECK(d.offset == 7 + inner);
    CHECK(d.length == pos_of(m, "--o\n\nouter2") - inner);
    CHECK(s.defects.size() == 1);
    // outer, inner multipart, inner1, outer2
    CHECK(s.parts == 4);
    CHECK(s.max_depth == 2);
    CHECK_FALSE(s.open_at_end);
}

TEST_CASE("a multipart body without any delimiter reports boundary_never_opened") {
    SECTION("at the end of input") {
        const std::string m = "Content-Type: multipart/mixed; boundary=b\n\nno delimiter here\n--bb\n";
        const Summary s = walk_text(m, 40);
        const Defect d = only(s, DefectKind::boundary_never_opened);
        CHECK(d.offset == 40);
        CHECK(d.length == m.size());
        CHECK(s.defects.size() == 1);
        CHECK(s.parts == 1);
        // No part had begun, so nothing shows a cut: a repaired store that
        // ends with this message, as its sender wrote it, must read clean.
        CHECK_FALSE(s.open_at_end);
    }
    SECTION("inside a multipart whose parts had begun, at the end of input") {
        const std::string m =
            "Content-Type: multipart/mixed; boundary=o\n\n--o\n"
            "Content-Type: multipart/related; boundary=i\n\njust text\n";
        const Summary s = walk_text(m, 0);
        CHECK(s.open_at_end);
        CHECK(s.open_boundaries == std::vector<std::string>{"i", "o"});
    }
    SECTION("ended by the enclosing delimiter") {
        const std::string m =
            "Content-Type: multipart/mixed; boundary=o\n\n--o\n"
            "Content-Type: multipart/related; boundary=i\n\njust text\n--o--\n";
        const Summary s = walk_text(m);
        const std::uint64_t inner = pos_of(m, "Content-Type: multipart/related");
        const Defect d = only(s, DefectKind::boundary_never_opened);
        CHECK(d.offset == inner);
        CHECK(d.length == pos_of(m, "--o--") - inner);
        CHECK(s.defects.size() == 1);
        CHECK(s.parts == 2);
        CHECK_FALSE(s.open_at_end);
    }
    SECTION("only a close delimiter: zero parts") {
        const std::string m = "Content-Type: multipart/mixed; boundary=b\n\npreamble\n--b--\nepilogue\n";
        const Summary s = walk_text(m);
        const Defect d = only(s, DefectKind::boundary_never_opened);
        CHECK(d.offset == 0);
        CHECK(d.length == pos_of(m, "epilogue"));
        CHECK(s.parts == 1);
        CHECK_FALSE(s.open_at_end);
    }
}

TEST_CASE("multipart without a boundary parameter is opaque text") {
    SECTION("no parameter") {
        const std::string m = "Subject: x\nContent-Type: multipart/mixed\n\n--x\n\na\n--x--\n";
        const Summary s = walk_text(m, 3);
        const Defect d = only(s, DefectKind::missing_boundary_param);
        CHECK(d.offset == 3 + pos_of(m, "Content-Type"));
        CHECK(d.length == std::string("Content-Type: multipart/mixed\n").size());
        CHECK(s.defects.size() == 1);
        CHECK(s.parts == 1);
        CHECK_FALSE(s.open_at_end);
    }
    SECTION("folded field, empty boundary") {
        const std::string field = "Content-Type: multipart/mixed;\r\n\tboundary=\"\"\r\n";
        const std::string m = field + "\r\n--\r\n";
        const Defect d = only(walk_text(m), DefectKind::missing_boundary_param);
        CHECK(d.offset == 0);
        CHECK(d.length == field.size());
    }
}

TEST_CASE("the boundary is taken exactly as quoted, folding undone") {
    SECTION("folded inside the quotes, with a doubled blank") {
        const std::string m =
            "Content-Type: multipart/mixed; boundary=\"simple\r\n  boundary\"\r\n\r\n"
            "--simple  boundary\r\n\r\nx\r\n--simple boundary\r\n--simple  boundary--\r\n";
        const Summary s = walk_text(m);
        CHECK(s.defects.empty());
        CHECK(s.parts == 2);
    }
    SECTION("trailing blanks belong to the boundary") {
        const std::string m =
            "Content-Type: multipart/mixed; boundary=\"b  \"\n\n--b  \n\nx\n--b \nstill text\n--b  --\n";
        const Summary s = walk_text(m);
        CHECK(s.defects.empty());
        CHECK(s.parts == 2);
        CHECK_FALSE(s.open_at_end);
    }
}

TEST_CASE("a parameter without '=' does not hide the boundary") {
    const std::string m = "Content-Type: multipart/mixed; format; boundary=b\n\n--b\n\nx\n--b--\n";
    const Summary s = walk_text(m);
    CHECK(s.defects.empty());
    CHECK(s.parts == 2);
    CHECK(header_parameter("multipart/mixed; format; boundary=b", "boundary") == std::optional<std::string>("b"));
    CHECK(header_parameter("text/plain; a=\"x;y\"; charset=utf-8", "charset") == std::optional<std::string>("utf-8"));
}

TEST_CASE("base64 leaves are validated") {
    SECTION("valid, with CRLF and blanks") {
        CHECK(walk_text(base64_message("QUJD\r\n  Q\tU\rJD \r\nRA==\r\n")).defects.empty());
        CHECK(walk_text(base64_message("")).defects.empty());
        CHECK(walk_text(base64_message("QUI=\n")).defects.empty());
    }
    SECTION("a byte outside the alphabet, reported once") {
        const std::string m = base64_message("QUJD\nQU*D\nQU!D\n");
        const Defect d = only(walk_text(m, 10), DefectKind::invalid_base64);
        CHECK(d.offset == 10 + pos_of(m, "*"));
        CHECK(d.length == 1);
    }
    SECTION("data after padding") {
        const std::string m = base64_message("QUJD\nQQ==QUJD\n");
        const Defect d = only(walk_text(m), DefectKind::invalid_base64);
        CHECK(d.offset == pos_of(m, "QQ==") + 4);
    }
    SECTION("padding too early in a quantum") {
        const std::string m = base64_message("QUJDQ===\n");
        const Defect d = only(walk_text(m), DefectKind::invalid_base64);
        CHECK(d.offset == pos_of(m, "="));
    }
    SECTION("a third '='") {
        const std::string m = base64_message("QQ===\n");
        const Defect d = only(walk_text(m), DefectKind::invalid_base64);
        CHECK(d.offset == pos_of(m, "===") + 2);
    }
    SECTION("a truncated final quantum points at the quantum") {
        const std::string m = base64_message("QUJD\nRA\n");
        const Defect d = only(walk_text(m), DefectKind::invalid_base64);
        CHECK(d.offset == pos_of(m, "RA"));
        CHECK(d.length == 2);
    }
    SECTION("inside a multipart the part ends at its delimiter") {
        const std::string m =
            "Content-Type: multipart/mixed; boundary=b\n\n"
            "--b\nContent-Transfer-Encoding: BASE64\n\nQUJD\n"
            "--b\nContent-Transfer-Encoding: base64\n\nQUJDR\n"
            "--b\n\nnot base64 at all!\n--b--\n";
        const Summary s = walk_text(m);
        const Defect d = only(s, DefectKind::invalid_base64);
        CHECK(d.offset == pos_of(m, "QUJDR") + 4);
        CHECK(d.length == 1);
        CHECK(s.defects.size() == 1);
        CHECK(s.parts == 4);
    }
}

TEST_CASE("message/rfc822 parts are walked as nested messages") {
    const std::string m =
        "Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: message/rfc822\n\n"
        "Subject: inner\nContent-Type: multipart/alternative; boundary=i\n\n--i\n\ntext\n--i--\n"
        "--o--\n";
    const Summary s = walk_text(m);
    CHECK(s.defects.empty());
    // message, rfc822 part, inner message, its one part
    CHECK(s.parts == 4);
    CHECK(s.max_depth == 3);
    CHECK_FALSE(s.open_at_end);

    SECTION("an encoded message/rfc822 is a leaf") {
        const std::string enc =
            "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeAoKYm9keQo=\n";
        const Summary e = walk_text(enc);
        CHECK(e.defects.empty());
        CHECK(e.parts == 1);
    }
    SECTION("multipart/digest parts default to message/rfc822") {
        const std::string d =
            "Content-Type: multipart/digest; boundary=d\n\n--d\n\n"
            "Content-Type: multipart/mixed; boundary=z\n\n--z\n\nx\n--z--\n--d--\n";
        const Summary ds = walk_text(d);
        CHECK(ds.defects.empty());
        CHECK(ds.parts == 4);
        CHECK(ds.max_depth == 3);
    }
}

TEST_CASE("a header block that does not end with an empty line") {
    SECTION("top level") {
        const std::string m = "Subject: x\nthis is not a header\n\nbody\n";
        const Defect d = only(walk_text(m, 9), DefectKind::header_block_unterminated);
        CHECK(d.offset == 9 + pos_of(m, "this is"));
        CHECK(d.length == std::string("this is not a header").size());
    }
    SECTION("in a part") {
        const std::string m =
            "Content-Type: multipart/mixed; boundary=b\n\n"
            "--b\nContent-Type: text/plain\nbody without separator\n--b--\n";
        const Summary s = walk_text(m);
        const Defect d = only(s, DefectKind::header_block_unterminated);
        CHECK(d.offset == pos_of(m, "body without"));
        CHECK(s.defects.size() == 1);
    }
    SECTION("a part holding only headers ends at the delimiter, which is not a defect") {
        const std::string m =
            "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n--b\n--b--\n";
        const Summary s = walk_text(m);
        CHECK(s.defects.empty());
        CHECK(s.parts == 3);
    }
    SECTION("a boundary with ':' is not mistaken for a header field") {
        const std::string m =
            "Content-Type: multipart/mixed; boundary=\"a:b\"\n\n--a:b\nX-A: 1\n--a:b\nX-B: 2\n--a:b--\n";
        const Summary s = walk_text(m);
        CHECK(s.defects.empty());
        CHECK(s.parts == 3);
        CHECK_FALSE(s.open_at_end);
    }
}

TEST_CASE("nesting beyond the limit is reported once and left opaque") {
    const std::string m =
        "Content-Type: multipart/mixed; boundary=a\n\n--a\n"
        "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
        "Content-Type: multipart/mixed; boundary=c\n\n--c\n\nleaf\n--c\n\nleaf\n--c--\n"
        "--b--\n--a\nContent-Type: message/rfc822\n\nSubject: deep\n\nx\n--a--\n";
    Limits limits;
    limits.max_depth = 1;
    const Summary s = walk_text(m, 0, limits);
    check_invariants(s, 0, m.size(), limits);
    const Defect d = only(s, DefectKind::nesting_too_deep);
    CHECK(d.offset == pos_of(m, "Content-Type: multipart/mixed; boundary=b"));
    CHECK(s.defects.size() == 1);
    // top, b (opaque: its --b and --c lines are text), the rfc822 part (opaque)
    CHECK(s.parts == 3);
    CHECK(s.max_depth == 1);
    CHECK_FALSE(s.open_at_end);
}

TEST_CASE("parts beyond the limit are reported once and not walked") {
    const std::string m = "Content-Type: multipart/mixed; boundary=b\n\n" + repeat("--b\n\nx\n", 5) + "--b--\n";
    Limits limits;
    limits.max_parts = 3;
    const Summary s = walk_text(m, 0, limits);
    check_invariants(s, 0, m.size(), limits);
    const Defect d = only(s, DefectKind::too_many_parts);
    // The fourth entity is the third part, after the third delimiter line.
    std::size_t third = 0;
    for (int i = 0; i < 3; ++i) third = pos_of(m, "--b\n", third) + 4;
    CHECK(d.offset == third);
    CHECK(s.defects.size() == 1);
    CHECK(s.parts == 3);
    CHECK_FALSE(s.open_at_end);
}

TEST_CASE("nested multiparts sharing a boundary: the innermost takes the delimiter") {
    // RFC 2046 forbids it; a well-formed inner part then still parses as
    // written. Python's email ends the inner one at once instead (every
    // enclosing boundary is an end-of-file for it).
    const std::string m =
        "Content-Type: multipart/mixed; boundary=s\n\n--s\nContent-Type: multipart/mixed; boundary=s\n\n"
        "--s\n\ninner\n--s--\n--s\n\nouter\n--s--\n";
    const Summary s = walk_text(m);
    CHECK(s.defects.empty());
    CHECK(s.parts == 4);
}

TEST_CASE("pathological inputs complete with the expected defect") {
    SECTION("a 16 MiB header line") {
        const std::string m = "Subject: " + std::string(std::size_t{16} << 20, 'a') + "\n\nbody\n";
        const Summary s = walk_text(m);
        check_invariants(s, 0, m.size());
        CHECK(only(s, DefectKind::header_block_unterminated).offset == 0);
        CHECK(s.parts == 1);
    }
    SECTION("a 16 MiB line inside a part") {
        const std::string m = multipart_opening("b") + "\n" + std::string(std::size_t{16} << 20, '-') + "\n--b--\n";
        const Summary s = walk_text(m);
        CHECK(s.defects.empty());
        CHECK(s.parts == 2);
    }
    SECTION("100,000 nested multiparts") {
        constexpr int n = 100000;
        std::string m;
        for (int i = 0; i < n; ++i) m += multipart_opening("b" + std::to_string(i));
        m += "\nleaf\n";
        for (int i = n - 1; i >= 0; --i) m += "--b" + std::to_string(i) + "--\n";
        const Summary s = walk_text(m);
        check_invariants(s, 0, m.size());
        const Limits defaults;
        CHECK(only(s, DefectKind::nesting_too_deep).offset == pos_of(m, multipart_opening("b64")));
        CHECK(s.defects.size() == 1);
        CHECK(s.max_depth == defaults.max_depth);
        CHECK(s.parts == defaults.max_depth + 1);
        CHECK_FALSE(s.open_at_end);
    }
    SECTION("100,000 nested multiparts, none closed") {
        std::string m;
        for (int i = 0; i < 100000; ++i) m += multipart_opening("b" + std::to_string(i));
        const Summary s = walk_text(m);
        check_invariants(s, 0, m.size());
        CHECK(of_kind(s, DefectKind::nesting_too_deep).size() == 1);
        // Only the walked levels can be reported: memory follows the limits.
        CHECK(of_kind(s, DefectKind::missing_close_boundary).size() == Limits{}.max_depth);
        CHECK(s.open_at_end);
        REQUIRE(s.open_boundaries.size() == Limits{}.max_depth);
        CHECK(s.open_boundaries.front() == "b63");
        CHECK(s.open_boundaries.back() == "b0");
    }
    SECTION("100,000 nested message/rfc822") {
        const std::string level = "Content-Type: message/rfc822\n\n";
        const std::string m = repeat(level, 100000) + "leaf\n";
        const Summary s = walk_text(m);
        check_invariants(s, 0, m.size());
        // The message at the depth limit is the first one not entered.
        CHECK(only(s, DefectKind::nesting_too_deep).offset == Limits{}.max_depth * level.size());
        CHECK(s.defects.size() == 1);
        CHECK(s.max_depth == Limits{}.max_depth);
    }
    SECTION("1M boundary lines") {
        const std::string m = "Content-Type: multipart/mixed; boundary=b\n\n" + repeat("--b\n", 1000000) + "--b--\n";
        const Summary s = walk_text(m);
        check_invariants(s, 0, m.size());
        CHECK(of_kind(s, DefectKind::too_many_parts).size() == 1);
        CHECK(s.defects.size() == 1);
        CHECK(s.parts == Limits{}.max_parts);
        CHECK_FALSE(s.open_at_end);
    }
    SECTION("1M near-miss delimiter lines under as many open multiparts as the limit allows") {
        const int levels = static_cast<int>(Limits{}.max_depth);
        std::string m;
        for (int i = 0; i < levels; ++i) m += multipart_opening("bound" + std::to_string(i));
        m += "\n" + repeat("--bound1x\n", 1000000);
        for (int i = levels - 1; i >= 0; --i) m += "--bound" + std::to_string(i) + "--\n";
        const Summary s = walk_text(m);
        CHECK(s.defects.empty());
        CHECK(s.parts == Limits{}.max_depth + 1);
    }
}

TEST_CASE("mimetic crash reproducers walk without incident") {
    const auto dir = test::shared_research_path("mimetic-crashes");
    if (!dir) return;
    int walked = 0;
    for (const auto& entry : std::filesystem::directory_iterator(*dir)) {
        const std::string ext = entry.path().extension().string();
        if (ext != ".eml" && ext != ".bin") continue;
        INFO(entry.path());
        const std::string bytes = test::read_file(entry.path());
        const Summary s = walk_text(bytes, 1234);
        check_invariants(s, 1234, bytes.size());
        CHECK(s.parts >= 1);
        ++walked;
    }
    CHECK(walked == 6);
}

namespace {

// One line of tests/oracle/mime_defects.py: what Python's email package
// makes of a message.
struct OracleRow {
    std::filesystem::path path;
    std::uint32_t entities = 0;
    std::uint32_t leaves = 0;
    bool start_not_found = false;
    bool close_not_found = false;
    bool invariant_violation = false;
};

std::vector<OracleRow> python_oracle(const std::vector<std::filesystem::path>& dirs) {
    std::string command = std::string("python3 '") + MAILFSCK_SOURCE_DIR + "/tests/oracle/mime_defects.py'";
    for (const auto& d : dirs) command += " '" + d.string() + "'";
    const test::RunResult r = test::run(command);
    REQUIRE(r.status == 0);
    std::vector<OracleRow> rows;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream fields(line);
        OracleRow row;
        std::string path;
        int start = 0;
        int close = 0;
        int invariant = 0;
        std::getline(fields, path, '\t');
        fields >> row.entities >> row.leaves >> start >> close >> invariant;
        REQUIRE(fields);
        row.path = path;
        row.start_not_found = start != 0;
        row.close_not_found = close != 0;
        row.invariant_violation = invariant != 0;
        rows.push_back(row);
    }
    return rows;
}

// The walker takes a message without its mbox envelope; Python's parser
// takes a leading "From " line as the envelope, so drop it the same way.
std::string without_envelope(const std::string& bytes) {
    if (bytes.rfind("From ", 0) != 0) return bytes;
    const std::size_t nl = bytes.find('\n');
    return nl == std::string::npos ? std::string() : bytes.substr(nl + 1);
}

// Where the walker and Python's email package differ on purpose. Each entry
// was checked by reading the message's bytes; the comparison it is exempt
// from is named, every other comparison still applies.
enum class Exempt { part_count, boundary_defects };

struct KnownDifference {
    Exempt from;
    const char* reason;
};

constexpr const char* doubled_delimiter =
    "two delimiter lines in a row: Python's feedparser swallows the second (no part between them), "
    "the walker counts the empty part RFC 2046 allows";
constexpr const char* encoded_message =
    "message/rfc822 with Content-Transfer-Encoding: base64: Python parses the base64 text as a "
    "header-less message, the walker keeps the encoded message as one opaque leaf";
constexpr const char* trailing_space_boundary =
    "the quoted boundary ends in two spaces: Python strips them, so the body line with one "
    "trailing space becomes a delimiter and the real close line (boundary + '--') no longer "
    "matches; the walker uses the boundary as written and sees the structure mime4j expects";
constexpr const char* boundary_clash =
    "a nested multipart reuses (or extends with '--') its parent's boundary: Python lets every "
    "enclosing boundary end the inner part at once (StartBoundaryNotFound), the walker gives a "
    "line to the innermost multipart it matches";
constexpr const char* other_message_type =
    "message/external-body or message/partial: Python walks every message/* but delivery-status "
    "as a nested message, the walker only message/rfc822 and message/global";

const std::map<std::string, KnownDifference> known_differences = {
    {"mimetools-testmsgs/2002_06_12_doublebound.msg", {Exempt::part_count, doubled_delimiter}},
    {"mimetools-testmsgs/double-bound.msg", {Exempt::part_count, doubled_delimiter}},
    {"malformed/000.eml", {Exempt::part_count, doubled_delimiter}},
    // "--b" directly followed by "--b--": Python's swallowing of repeated
    // delimiters eats the close delimiter too and reports it missing.
    {"testmsgs/multipartemptypart.msg", {Exempt::boundary_defects, doubled_delimiter}},
    {"mimetools-testmsgs/multi-2gifs-base64.msg", {Exempt::part_count, encoded_message}},
    {"testmsgs/bad-newlines-multiple-parts-base64.msg", {Exempt::part_count, encoded_message}},
    {"testmsgs/base64encoded-rfc822message.msg", {Exempt::part_count, encoded_message}},
    {"testmsgs/base64encoded-rfc822message-nested.msg", {Exempt::part_count, encoded_message}},
    {"rfc/008.eml", {Exempt::part_count, encoded_message}},
    {"testmsgs/very-long-boundary.msg", {Exempt::boundary_defects, trailing_space_boundary}},
    {"testmsgs/very-very-long-boundary.msg", {Exempt::boundary_defects, trailing_space_boundary}},
    {"testmsgs/weird-boundary.msg", {Exempt::boundary_defects, trailing_space_boundary}},
    {"malformed/003.eml", {Exempt::boundary_defects, boundary_clash}},
    {"malformed/005.eml", {Exempt::boundary_defects, boundary_clash}},
    {"malformed/013.eml", {Exempt::boundary_defects, boundary_clash}},
    {"rfc/001.eml", {Exempt::part_count, other_message_type}},
    {"thirdparty/009.eml", {Exempt::part_count, other_message_type}},
};

bool exempt(const std::string& name, Exempt from) {
    const auto it = known_differences.find(name);
    return it != known_differences.end() && it->second.from == from;
}

}  // namespace

TEST_CASE("the walker agrees with Python's email package on real test messages") {
    std::vector<std::filesystem::path> dirs;
    for (const char* rel : {"mail/stalwartlabs_mail-parser/resources/eml",
                            "mail/apache_james-mime4j/core/src/test/resources/testmsgs",
                            "mail/apache_james-mime4j/core/src/test/resources/mimetools-testmsgs"}) {
        const auto dir = test::shared_path(rel);
        if (!dir) return;
        dirs.push_back(*dir);
    }
    const std::vector<OracleRow> rows = python_oracle(dirs);
    CHECK(rows.size() > 150);
    std::size_t counts_compared = 0;
    std::size_t known_seen = 0;
    for (const OracleRow& row : rows) {
        const std::string name = row.path.parent_path().filename().string() + "/" + row.path.filename().string();
        known_seen += known_differences.count(name);
        const Summary s = walk_text(without_envelope(test::read_file(row.path)));
        INFO(name << ": Python " << row.entities << " entities, start/close/invariant " << row.start_not_found
                  << row.close_not_found << row.invariant_violation << "; walker " << s.parts << " parts, "
                  << kinds(s));
        const bool never_opened = !of_kind(s, DefectKind::boundary_never_opened).empty();
        const bool unclosed = !of_kind(s, DefectKind::missing_close_boundary).empty();
        const bool no_boundary = !of_kind(s, DefectKind::missing_boundary_param).empty();
        const bool python_clean = !row.start_not_found && !row.close_not_found && !row.invariant_violation;

        if (!exempt(name, Exempt::boundary_defects)) {
            if (row.close_not_found) CHECK(unclosed);
            if (row.start_not_found) CHECK(never_opened);
            if (!row.start_not_found && !row.close_not_found) CHECK_FALSE((never_opened || unclosed));
            // Python's root-level "multipart without parts": no boundary, or none found.
            if (row.invariant_violation) CHECK((no_boundary || never_opened));
        }
        if (python_clean && !never_opened && !unclosed && !exempt(name, Exempt::part_count)) {
            CHECK(s.parts == row.entities);
            ++counts_compared;
        }
    }
    CHECK(known_seen == known_differences.size());
    CHECK(counts_compared > 130);
}

TEST_CASE("a last line that lost the LF of its CRLF is still a delimiter line") {
    // RFC 2046 5.1.1: the CR is the line ending's, not the delimiter's; a
    // writer that ends the line makes it whole.
    const std::string m = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r";
    const Summary s = walk_text(m);
    CHECK(s.defects.empty());
    CHECK(s.parts == 2);
    CHECK_FALSE(s.open_at_end);
    // A lone CR inside a line is content: "--b\rx" names no boundary.
    const Summary t = walk_text("Content-Type: multipart/mixed; boundary=b\n\n--b\rx\n");
    CHECK(only(t, DefectKind::boundary_never_opened).offset == 0);
}

TEST_CASE("listed entities: a part ends before the line break its delimiter owns, and inside its parent") {
    const std::string m =
        "Content-Type: multipart/mixed; boundary=o\r\n\r\n"
        "--o\r\nContent-Type: message/rfc822\r\n\r\n"
        "Content-Type: multipart/mixed; boundary=i\r\n\r\n"
        "--i\r\n\r\ninner\r\n--i--\r\n"
        "--o\r\n\r\n--o--\r\n";
    Limits listing;
    listing.record_entities = true;
    const Summary s = walk(ByteView(m), listing);
    REQUIRE(s.entities.size() == 5);
    const auto at = [&](const std::string& text, std::size_t from = 0) { return m.find(text, from); };
    const std::size_t first_o = at("--o\r\n");
    const std::size_t inner_header = at("Content-Type: multipart/mixed; boundary=i");
    const std::size_t second_o = at("--o\r\n", first_o + 1);
    const std::size_t close_o = at("--o--");
    using K = Entity::Kind;
    // The message: from the top to the end of its close delimiter.
    CHECK(s.entities[0].kind == K::multipart);
    CHECK(s.entities[0].end == close_o + 5);
    // The message/rfc822 part and the multipart it holds end where the CRLF
    // before the second "--o" starts: the inner close delimiter's line break.
    CHECK(s.entities[1].kind == K::message);
    CHECK(s.entities[1].parent == 0);
    CHECK(s.entities[1].begin == first_o + 5);
    CHECK(s.entities[1].body_begin == inner_header);
    CHECK(s.entities[1].end == second_o - 2);
    CHECK(s.entities[2].kind == K::multipart);
    CHECK(s.entities[2].parent == 1);
    CHECK(s.entities[2].begin == inner_header);
    CHECK(s.entities[2].end == second_o - 2);
    CHECK(s.entities[3].kind == K::leaf);
    CHECK(s.entities[3].parent == 2);
    CHECK(m.substr(s.entities[3].body_begin, s.entities[3].end - s.entities[3].body_begin) == "inner");
    // An empty header block took the CRLF before "--o--": an empty body there.
    CHECK(s.entities[4].parent == 0);
    CHECK(s.entities[4].begin == second_o + 5);
    CHECK(s.entities[4].body_begin == close_o);
    CHECK(s.entities[4].end == close_o);
    CHECK(walk(ByteView(m)).entities.empty());  // only listed when asked
}

TEST_CASE("decoding: RFC 2047 words as the RFC's own examples decode") {
    // RFC 2047 section 8.
    CHECK(decode_header_text("(=?ISO-8859-1?Q?a?=)") == "(a)");
    CHECK(decode_header_text("(=?ISO-8859-1?Q?a?= b)") == "(a b)");
    CHECK(decode_header_text("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)") == "(ab)");
    CHECK(decode_header_text("(=?ISO-8859-1?Q?a?=  \r\n    =?ISO-8859-1?Q?b?=)") == "(ab)");
    CHECK(decode_header_text("(=?ISO-8859-1?Q?a_b?=)") == "(a b)");
    CHECK(decode_header_text("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)") == "(a b)");
    CHECK(decode_header_text("=?ISO-8859-1?Q?Andr=E9?= Pirard") == "Andr\xC3\xA9 Pirard");
    // U+20AC (E2 82 AC in UTF-8) split between two words of one charset.
    CHECK(decode_header_text("=?utf-8?B?4oI=?= =?utf-8?B?rA==?=") == "\xE2\x82\xAC");
    // Not words: kept as written.
    CHECK(decode_header_text("=?utf-8?X?abc?= and =?broken") == "=?utf-8?X?abc?= and =?broken");
}

TEST_CASE("decoding: transfer encodings and charsets") {
    CHECK(decode_transfer("a=3Db=\r\nc=\nd", "quoted-printable") == "a=bcd");
    CHECK(decode_transfer("caf=E9 =ZZ", "Quoted-Printable") == "caf\xE9 =ZZ");
    CHECK(decode_transfer("aGVs\r\nbG8=", "base64") == "hello");
    CHECK(decode_transfer("aGVsbG8=junk", "base64") == "hello");  // RFC 2045 6.8: padding ends the data
    CHECK(decode_transfer("as is", "8bit") == "as is");
    CHECK(to_utf8("\xE9", "iso-8859-1") == "\xC3\xA9");
    CHECK(to_utf8("\xE9", "\"ISO-8859-1\"") == "\xC3\xA9");
    CHECK(to_utf8("\xC0", "koi8-r") == "\xD1\x8E");      // KOI8-R 0xC0 is U+044E
    CHECK(to_utf8("\x80", "windows-1252") == "\xE2\x82\xAC");
    CHECK(to_utf8("\xC3\xA9", "") == "\xC3\xA9");        // undeclared, valid UTF-8
    CHECK(to_utf8("\x80", "us-ascii") == "\xE2\x82\xAC");  // undeclared 8-bit: windows-1252
    CHECK(to_utf8("\xE9", "x-no-such-charset") == "\xC3\xA9");
    CHECK(to_utf8("a\xFF" "b", "utf-8") == "a\xEF\xBF\xBD" "b");
    CHECK(to_utf8("a\xFF" "b", "euc-jp") == "a\xEF\xBF\xBD" "b");
}

TEST_CASE("decoding: RFC 2231 parameters as the RFC's own examples decode") {
    CHECK(decoded_parameter("application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A", "title") ==
          "This is ***fun***");
    CHECK(decoded_parameter("application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; "
                            "title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"",
                            "title") == "This is even more ***fun*** isn't it!");
    CHECK(decoded_parameter("attachment; filename=\"=?utf-8?Q?r=C3=A9sum=C3=A9.pdf?=\"", "filename") ==
          "r\xC3\xA9sum\xC3\xA9.pdf");
    CHECK(decoded_parameter("attachment", "filename") == std::nullopt);
}

TEST_CASE("decoding: address lists as RFC 5322's examples read") {
    // Appendix A.1.2.
    const std::vector<Mailbox> a = parse_address_list(
        "\"Joe Q. Public\" <john.q.public@example.com>, Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>");
    REQUIRE(a.size() == 4);
    CHECK(a[0].name == "Joe Q. Public");
    CHECK(a[0].address == "john.q.public@example.com");
    CHECK(a[2].name.empty());
    CHECK(a[2].address == "jdoe@example.org");
    CHECK(a[3].name == "Who?");
    // Appendix A.1.3: groups are flattened, an empty group adds nothing.
    const std::vector<Mailbox> g =
        parse_address_list("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>; Undisclosed recipients:;");
    REQUIRE(g.size() == 3);
    CHECK(g[0].name == "Ed Jones");
    CHECK(g[1].address == "joe@where.test");
    // The obsolete form names the mailbox in a comment; a quoted local part keeps its quotes.
    const std::vector<Mailbox> o = parse_address_list("nsb@thumper.bellcore.com (Nathaniel Borenstein)");
    REQUIRE(o.size() == 1);
    CHECK(o[0].name == "Nathaniel Borenstein");
    CHECK(o[0].address == "nsb@thumper.bellcore.com");
    CHECK(parse_address_list("\" PayPal \"@aeonms.com")[0].address == "\" PayPal \"@aeonms.com");
    CHECK(parse_address_list("=?utf-8?Q?Ren=C3=A9?= <r@x>")[0].name == "Ren\xC3\xA9");
}

TEST_CASE("decoding: dates as RFC 5322's examples read") {
    // Appendix A.1.1 and the obsolete forms of A.6.2; seconds from Python's calendar.timegm.
    CHECK(parse_date("Fri, 21 Nov 1997 09:55:06 -0600") == 880127706);
    CHECK(parse_date("21 Nov 97 09:55:06 GMT") == 880106106);
    CHECK(parse_date("Thu,\r\n      13\r\n        Feb\r\n          1969\r\n      23:32\r\n               -0330 (Newfoundland Time)") ==
          -27723480);
    CHECK(parse_date("Fri, 21 Nov 1997 09:55:06 CST") == 880127706);  // CST is -0600
    CHECK(parse_date("Fri Nov 21 09:55:06 1997") == 880106106);        // an mbox From_ line's asctime
    CHECK(parse_date("31 Feb 1997 09:55:06 GMT") == std::nullopt);
    CHECK(parse_date("no date at all") == std::nullopt);
}
