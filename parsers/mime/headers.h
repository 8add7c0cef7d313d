// RFC 5322 header blocks over untrusted bytes.
//
// A header block is read line by line until the empty line that ends it, a
// line that is neither a field nor a continuation (the block is then
// "unterminated": the body starts without a separator), or a size bound.
// Fields keep their byte ranges, so callers report offsets, and values are
// never copied unless asked for. Work is linear in the bytes examined.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parsers/bytes/bytes.h"

namespace mailfsck::mime {

struct HeaderLimits {
    std::uint64_t max_block_bytes = 1u << 20;  // a header block beyond 1 MiB is not mail
    std::uint32_t max_fields = 10000;
};

struct Field {
    std::uint64_t begin = 0;       // relative to the view given to read_header_block
    std::uint64_t end = 0;         // past the last line of the field, continuations included
    std::uint64_t name_end = 0;    // position of the ':'
    [[nodiscard]] std::string_view name(const ByteView& v) const { return v.sub(begin, name_end - begin).text(); }
    // Raw value: after the colon up to the end of the field, with the
    // terminators of folded lines still in it.
    [[nodiscard]] ByteView raw_value(const ByteView& v) const { return v.sub(name_end + 1, end - name_end - 1); }
};

enum class BlockEnd {
    blank_line,    // the normal case: an empty line follows the fields
    end_of_input,  // the view ended inside the header block
    non_header,    // a line that is not a field ended the block (no empty line)
    too_large,     // a limit was hit
};

struct HeaderBlock {
    std::vector<Field> fields;
    std::uint64_t end = 0;          // first byte after the block (after the empty line when there is one)
    std::uint64_t body_begin = 0;   // == end
    BlockEnd how = BlockEnd::blank_line;
    std::uint32_t crlf_lines = 0;
    std::uint32_t lf_lines = 0;
    std::optional<std::uint64_t> first_bad_line;  // offset of the line that was not a field, if any

    [[nodiscard]] const Field* find(const ByteView& v, std::string_view name) const;
};

// Is the line [begin, content_end) of `v` a header field's first line
// ("name:" with name made of printable ASCII other than ':' and space)?
[[nodiscard]] bool is_field_line(const ByteView& v, const Line& line);

[[nodiscard]] HeaderBlock read_header_block(const ByteView& v, std::uint64_t pos, const HeaderLimits& limits = {});

// Field value unfolded and trimmed, truncated to `max` bytes (for reports).
[[nodiscard]] std::string unfolded_value(const ByteView& v, const Field& f, std::size_t max = 998);

// Case-insensitive ASCII comparison.
[[nodiscard]] bool iequals(std::string_view a, std::string_view b);

// ASCII only, on purpose: mail's keywords (header names, media types,
// encodings, charset labels) are ASCII, and the C locale's tolower is a
// function call per byte that a locale could change.
[[nodiscard]] std::string ascii_lower(std::string_view s);

// SP, HTAB, CR, LF: what separates tokens in a field, folded or not.
[[nodiscard]] constexpr bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// `s` without the blanks at its ends.
[[nodiscard]] std::string_view trim_blanks(std::string_view s);

// A raw field value with folding undone as RFC 5322 2.2.3 says: line
// breaks removed, every other byte kept, at most `max` bytes of it.
// unfolded_value also collapses blank runs, which would change a quoted
// value such as boundary="a  b".
[[nodiscard]] std::string unfold(std::string_view raw, std::size_t max = std::string_view::npos);

// A parameter of a structured field value, e.g. boundary="x" in Content-Type.
[[nodiscard]] std::optional<std::string> header_parameter(std::string_view value, std::string_view name);

}  // namespace mailfsck::mime
