#include <catch2/catch.hpp>

#include "parsers/bytes/bytes.h"
#include "parsers/bytes/source.h"

using namespace mailfsck;

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
