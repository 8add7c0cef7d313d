#include "detect.h"

#include <optional>

#include "parsers/mbox/framer.h"
#include "parsers/mime/headers.h"

namespace mailfsck {
namespace {

// The next "\nFrom " at or after `from`, searched a window at a time,
// letting go of the mapping behind the search: a large file with no
// separator (a PST, an archive) is searched to its end in constant memory.
std::optional<std::uint64_t> next_from_line(const Source& source, std::uint64_t from) {
    constexpr std::uint64_t window = std::uint64_t{64} << 20;
    constexpr std::string_view needle = "\nFrom ";
    const ByteView v = source.bytes();
    for (std::uint64_t at = from; at < v.size(); at += window) {
        if (const auto hit = v.sub(at, window + needle.size() - 1).find(needle)) return at + *hit;
        source.release_below(at + window);
    }
    return std::nullopt;
}

bool starts_with_mmdf(const ByteView& v) {
    return v.starts_with("\x01\x01\x01\x01\n") || v.starts_with("\x01\x01\x01\x01\r\n");
}

}  // namespace

bool starts_with_separator(const ByteView& bytes) {
    return bytes.starts_with("From ") || starts_with_mmdf(bytes);
}

bool looks_like_mbox(const Source& source) {
    const ByteView v = source.bytes();
    if (starts_with_mmdf(v)) return true;
    std::uint64_t pos = 0;
    while (true) {
        if (v.starts_with("From ", pos)) {
            const Line next = line_at(v, line_at(v, pos).end);
            const std::string_view content = v.sub(next.begin, next.content_length()).text();
            const std::size_t colon = content.find(':');
            if (colon != std::string_view::npos && colon > 0 && content.find(' ') > colon) return true;
        }
        const auto hit = next_from_line(source, pos);
        if (!hit) return false;
        pos = *hit + 1;
    }
}

bool holds_several_messages(const Source& source) {
    const ByteView v = source.bytes();
    int n = 0;
    std::uint64_t pos = 0;
    while (n < 2) {
        if (v.starts_with("From ", pos)) {
            const Line next = line_at(v, line_at(v, pos).end);
            if (mime::is_field_line(v, next)) ++n;
        }
        const auto hit = next_from_line(source, pos);
        if (!hit) break;
        pos = *hit + 1;
    }
    return n >= 2;
}

bool frames_several_messages(const Source& source) {
    mbox::Framer framer(source.bytes());
    int messages = 0;
    while (const auto seg = framer.next()) {
        if (seg->kind == mbox::SegmentKind::message && ++messages == 2) return true;
        source.release_below(seg->begin);
    }
    return false;
}

}  // namespace mailfsck
