// A bounded, non-recursive MIME structure walker for untrusted messages.
//
// Walks one message (header block + body) and records structural defects
// with their byte offsets instead of failing: boundaries that never open or
// never close, invalid base64, nesting and part-count beyond the limits.
// Boundaries are recognised only at the start of a line (RFC 2046 §5.1.1),
// an unclosed inner multipart resynchronises on an enclosing boundary, and
// an explicit stack replaces recursion, so time is linear in the input and
// memory is bounded by the limits, whatever the bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "parsers/bytes/bytes.h"

namespace mailfsck::mime {

enum class DefectKind {
    missing_close_boundary,    // a multipart's closing delimiter never appears
    boundary_never_opened,     // a multipart body holds no delimiter line at all
    missing_boundary_param,    // multipart/* without a boundary parameter
    invalid_base64,            // a base64 part holds bytes outside the alphabet or a bad length
    nesting_too_deep,          // more nested multiparts/messages than Limits::max_depth
    too_many_parts,            // more parts than Limits::max_parts
    header_block_unterminated, // a part's header block did not end with an empty line
};

struct Defect {
    DefectKind kind;
    std::uint64_t offset = 0;  // absolute, from the view's base()
    std::uint64_t length = 0;
    std::string detail;        // short, human-readable, e.g. the boundary string
};

struct Limits {
    std::uint32_t max_depth = 64;
    std::uint32_t max_parts = 10000;
    // Lists the entities (Summary::entities): what converting a message
    // needs, and a check does not.
    bool record_entities = false;
};

// One entity of the structure: the message, a part, or the message a
// message/rfc822 part holds (the entity after it, its child). Offsets are
// relative to the walked view. A part ends before the line break that
// precedes the delimiter after it (RFC 2046 5.1.1: that break belongs to
// the delimiter); a multipart after its close delimiter, before the line
// break that ends it.
struct Entity {
    enum class Kind { leaf, multipart, message };
    Kind kind = Kind::leaf;
    std::uint32_t parent = 0;  // index of the enclosing entity; the message's is 0, its own
    std::uint32_t depth = 0;
    std::uint64_t begin = 0;       // the header block
    std::uint64_t body_begin = 0;  // after the header block
    std::uint64_t end = 0;
};

struct Summary {
    std::uint32_t parts = 0;      // entities seen, the message itself included
    std::uint32_t max_depth = 0;  // deepest nesting reached
    // A multipart whose parts had begun was still open when the input ended:
    // the typical mark of a message cut short.
    bool open_at_end = false;
    // Boundaries of the multiparts still open at the end, innermost first:
    // what a repair appends to close a truncated message.
    std::vector<std::string> open_boundaries;
    std::vector<Defect> defects;
    // In document order, when Limits::record_entities; at most
    // Limits::max_parts. Entities nested deeper than Limits::max_depth,
    // or beyond the part limit, are part of the body of the last listed.
    std::vector<Entity> entities;
};

// The "type/subtype" of a Content-Type value, lowercased; empty when it
// is not a valid media type. Like Python's email package, the walk then
// takes the default type instead of guessing.
[[nodiscard]] std::string media_type(std::string_view content_type);

// Walks `message` (its header block starts at relative 0).
[[nodiscard]] Summary walk(const ByteView& message, const Limits& limits = {});

[[nodiscard]] std::string_view defect_name(DefectKind k);

}  // namespace mailfsck::mime
