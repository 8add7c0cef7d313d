#include <catch2/catch.hpp>

#include "parsers/bytes/bytes.h"
#include "parsers/bytes/source.h"
#include "parsers/bytes/utf8.h"
#include "tests/unit/support.h"

using namespace mailfsck;
using namespace mailfsck::test;

TEST_CASE("ByteView clamps sub-views and keeps absolute offsets") {
    const ByteView v(std::string_view("0123456789"), 100);
    const ByteView s = v.sub(4, 100);
    CHECK(s.size() == 6);
    CHECK(s.base() == 104);
    CHECK(v.sub(20).size() == 0);
    CHECK(v.at(9) == '9');
    CHECK_FALSE(v.at(10).has_value());
}

TEST_CASE("line_at splits LF, CRLF and unterminated lines") {
    const ByteView v(std::string_view("ab\r\ncd\nef"));
    Line l = line_at(v, 0);
    CHECK(l.content_end == 2);
    CHECK(l.end == 4);
    CHECK(l.crlf());
    l = line_at(v, 4);
    CHECK(l.content_end == 6);
    CHECK(l.end == 7);
    l = line_at(v, 7);
    CHECK(l.content_end == 9);
    CHECK(l.end == 9);
    CHECK_FALSE(l.terminated());
}

TEST_CASE("Cursor reads little-endian and fails stickily at the end") {
    const ByteView v(std::string_view("\x01\x02\x03\x04\x05", 5));
    Cursor c(v);
    CHECK(c.u16le() == 0x0201);
    CHECK(c.u32le() == 0);  // only 3 bytes left
    CHECK_FALSE(c.ok());
    CHECK(c.pos() == 2);
    CHECK(c.u8() == 0);  // sticky
}

TEST_CASE("compression is recognised by magic bytes") {
    CHECK(detect_compression(ByteView(std::string_view("\x1f\x8b\x08", 3))) == Compression::gzip);
    CHECK(detect_compression(ByteView(std::string_view("BZh9"))) == Compression::bzip2);
    CHECK(detect_compression(ByteView(std::string_view("\xfd" "7zXZ\0", 6))) == Compression::xz);
    CHECK(detect_compression(ByteView(std::string_view("From "))) == Compression::none);
    CHECK(detect_compression(ByteView(std::string_view("BZ"))) == Compression::none);
}

TEST_CASE("find_line_starting finds prefixes only at line starts, across SIMD blocks") {
    // Positions counted by hand: "--" at 0 is a line start; the "--" at 5 is
    // not; "--a\n" and "x--y\n" are 9 bytes, 29 x's end at 38, where the
    // newline stands, so the next line start with "--" is 39.
    std::string text = "--a\nx--y\n" + std::string(29, 'x') + "\n--b\nz";
    REQUIRE(text.find("\n--b") == 38);
    const ByteView v(text);
    CHECK(v.find_line_starting("--", 0) == 0u);
    CHECK(v.find_line_starting("--", 1) == 39u);
    CHECK(v.find_line_starting("--b", 1) == 39u);
    CHECK_FALSE(v.find_line_starting("--c", 1).has_value());
    CHECK_FALSE(v.find_line_starting("--", 40).has_value());
    // A candidate in the last bytes, outside any full 17-byte block.
    const ByteView tail(std::string_view("abc\n--"));
    CHECK(tail.find_line_starting("--", 1) == 4u);
    CHECK_FALSE(ByteView().find_line_starting("--", 0).has_value());
}

// RFC 3629 section 7's examples are well formed; the rest are the forms its
// section 3 excludes, each at a byte where an accepting decoder would go wrong.
TEST_CASE("UTF-8 is checked as RFC 3629 defines it") {
    CHECK(valid_utf8("\x41\xE2\x89\xA2\xCE\x91\x2E"));           // A<NOT IDENTICAL TO><ALPHA>.
    CHECK(valid_utf8("\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4"));  // Korean "hangugeo"
    CHECK(valid_utf8("\xEF\xBB\xBF\xF0\xA3\x8E\xB4"));           // BOM, U+233B4
    CHECK(first_invalid_utf8("a\xC0\xAF") == 1u);                      // overlong '/'
    CHECK(first_invalid_utf8("ab\xE0\x80\xAF") == 2u);                // overlong, 3 bytes
    CHECK(first_invalid_utf8("\xED\xA0\x80") == 0u);                  // surrogate U+D800
    CHECK(first_invalid_utf8("\xF4\x90\x80\x80") == 0u);             // U+110000
    CHECK(first_invalid_utf8("x\xE2\x89") == 1u);                      // cut short
    CHECK(first_invalid_utf8("\x80") == 0u);                            // lone continuation

    std::string out;
    for (const std::uint32_t cp : {0x41u, 0x2262u, 0x391u, 0x2Eu, 0x233B4u}) append_utf8(out, cp);
    CHECK(out == "\x41\xE2\x89\xA2\xCE\x91\x2E\xF0\xA3\x8E\xB4");
}

// read() gives the bytes the mapping holds, copied for a file large enough
// to be mapped, and fewer of them at the end of the file, with the base of
// the offset asked for; the file itself is never written.
TEST_CASE("Source::read copies what bytes() maps, clamped at the end") {
    TempDir t("source-read");
    std::string content(1u << 20, '\0');
    for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>((i * 7 + i / 4096) & 0xFF);
    write_file(t.path() / "big", content);
    const auto src = Source::open((t.path() / "big").string());
    std::vector<unsigned char> buffer;
    for (const std::uint64_t at : {0ull, 1ull, 4095ull, 500000ull, (1ull << 20) - 10}) {
        const ByteView v = src->read(at, 8192, buffer);
        INFO(at);
        CHECK(v.base() == at);
        CHECK(v.size() == std::min<std::uint64_t>(8192, content.size() - at));
        CHECK(v.text() == std::string_view(content).substr(at, 8192));
        CHECK(v.data() == buffer.data());  // copied, not the mapping
    }
    CHECK(src->read(1u << 20, 10, buffer).size() == 0);
    CHECK(src->read(5u << 20, 10, buffer).size() == 0);
    const ByteView mem(std::string_view("in memory"));
    CHECK(Source::in_memory(mem)->read(3, 100, buffer).text() == "memory");
}
