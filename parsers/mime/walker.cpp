#include "walker.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <optional>
#include <string_view>
#include <utility>

#include "headers.h"

namespace mailfsck::mime {
namespace {

// A boundary may be at most 70 characters (RFC 2046 §5.1.1); real Content-Type
// fields stay far below this cap, which keeps the per-part copy bounded even
// when a damaged field runs for megabytes.
constexpr std::size_t max_content_type_bytes = std::size_t{64} * 1024;
// Details are for humans reading a report, not for reconstructing the input.
constexpr std::size_t max_detail_bytes = 100;

constexpr std::string_view dashes = "--";

// Where a line's content ends. A last line that lost the LF of its CRLF
// still ends with that line ending, and a writer that ends the line makes
// it whole: the CR is not content.
std::uint64_t content_end(const ByteView& v, const Line& line) {
    const bool cut_crlf =
        !line.terminated() && line.content_end > line.begin && v.at_or(line.content_end - 1, 0) == '\r';
    return cut_crlf ? line.content_end - 1 : line.content_end;
}

bool is_lwsp(unsigned char c) { return c == ' ' || c == '\t'; }

std::string short_detail(std::string_view prefix, std::string_view text) {
    std::string out(prefix);
    out.append(text.substr(0, max_detail_bytes));
    if (text.size() > max_detail_bytes) out.append("...");
    return out;
}

constexpr std::array<bool, 256> alphabet = [] {
    std::array<bool, 256> t{};
    for (unsigned c = 0; c < 256; ++c)
        t[c] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    return t;
}();

// Validates a base64 body fed line by line. Accepted: the RFC 4648 alphabet,
// whitespace anywhere (SP, HTAB, CR and the line terminators), and one or two
// '=' that complete the final 4-character quantum. Everything else is the
// part's single invalid_base64 defect: a byte outside the alphabet, data or
// a third '=' after padding, '=' in the first two places of a quantum, or an
// incomplete final quantum (missing padding or a truncated part).
class Base64Check {
public:
    void start() {
        *this = Base64Check{};
        active_ = true;
    }

    // Still validating a part (active and no defect found yet)?
    [[nodiscard]] bool checking() const { return active_ && !bad_; }

    void feed(const ByteView& v, const Line& line) {
        if (!active_ || bad_) return;
        const std::string_view text = v.sub(line.begin, content_end(v, line) - line.begin).text();
        std::size_t i = 0;
        // A well-formed line is all alphabet, usually a multiple of 4 long:
        // count it in one tight loop; anything else takes the careful path.
        if (!padded_) {
            while (i < text.size() && alphabet[static_cast<unsigned char>(text[i])]) ++i;
            if (i > 0) {
                const std::uint64_t first_new_quantum = (4 - count_ % 4) % 4;
                if (first_new_quantum < i)
                    quantum_begin_ = line.begin + first_new_quantum + ((i - 1 - first_new_quantum) / 4) * 4;
                count_ += i;
                last_ = line.begin + i - 1;
            }
        }
        for (; i < text.size() && !bad_; ++i) take(static_cast<unsigned char>(text[i]), line.begin + i);
    }

    // Ends the part; returns its defect (relative offset) if it has one.
    std::optional<Defect> finish() {
        const bool was_active = std::exchange(active_, false);
        if (!was_active) return std::nullopt;
        if (!bad_ && count_ % 4 != 0)
            flag(quantum_begin_, last_ + 1 - quantum_begin_, "length is not a multiple of 4 (truncated or unpadded)");
        return bad_;
    }

private:
    static bool in_alphabet(unsigned char c) { return alphabet[c]; }

    void take(unsigned char c, std::uint64_t at) {
        if (is_lwsp(c) || c == '\r') return;
        if (count_ % 4 == 0) quantum_begin_ = at;
        // Padding only fills the last one or two places of a quantum.
        if (c == '=' && count_ % 4 < 2) {
            flag(at, 1, "misplaced '=' padding");
        } else if (c != '=' && !in_alphabet(c)) {
            flag(at, 1, "byte outside the base64 alphabet");
        } else if (c != '=' && padded_) {
            flag(at, 1, "data after '=' padding");
        } else {
            padded_ = padded_ || c == '=';
            ++count_;
            last_ = at;
        }
    }

    void flag(std::uint64_t at, std::uint64_t length, const char* why) {
        bad_ = Defect{DefectKind::invalid_base64, at, length, why};
    }

    bool active_ = false;
    bool padded_ = false;
    std::uint64_t count_ = 0;          // significant characters, padding included
    std::uint64_t quantum_begin_ = 0;  // first character of the current quantum
    std::uint64_t last_ = 0;           // last significant character
    std::optional<Defect> bad_;
};

// An open multipart, waiting for its delimiter lines.
struct Frame {
    std::string dash_boundary;  // "--" + boundary: every delimiter line starts with it
    std::uint64_t entity_begin = 0;
    std::uint32_t depth = 0;
    bool digest = false;  // parts default to message/rfc822 (RFC 2046 §5.1.5)
    bool opened = false;  // a delimiter (not the close delimiter) was seen
    std::uint32_t entity = 0;  // its index in Summary::entities, when recorded
};

struct DelimiterMatch {
    std::size_t frame = 0;  // index into the stack
    bool close = false;
};

enum class EntityKind { leaf, multipart, message };

struct EntityType {
    EntityKind kind = EntityKind::leaf;
    std::string boundary;  // multipart only
    bool digest = false;
    bool base64 = false;  // a leaf to validate
};

class Walker {
public:
    Walker(const ByteView& message, const Limits& limits) : v_(message), limits_(limits) {}

    Summary run() {
        std::uint64_t pos = begin_entity(0, 0, false);
        while (pos < v_.size()) {
            pos = next_line_of_interest(pos);
            if (pos >= v_.size()) break;
            const Line line = line_at(v_, pos);
            pos = line.end;
            const std::optional<DelimiterMatch> match = match_delimiter(line);
            if (!match) {
                base64_.feed(v_, line);
                continue;
            }
            finish_leaf();
            end_entities(frames_[match->frame].entity, line, match->close);
            abandon_frames(match->frame + 1, line.begin);
            Frame& frame = frames_.back();
            if (match->close) {
                // A close delimiter with no delimiter before it: zero parts.
                if (!frame.opened) report_unclosed(frame, line.end);
                frames_.pop_back();
                continue;
            }
            frame.opened = true;
            const std::uint32_t part_depth = frame.depth + 1;
            pos = begin_entity(line.end, part_depth, frame.digest);
        }
        finish_leaf();
        end_of_input();
        for (const std::uint32_t e : open_entities_) summary_.entities[e].end = v_.size();
        return std::move(summary_);
    }

private:
    // Only delimiter lines ("--" first) matter while no base64 part is being
    // checked and a multipart is open: jump to the next one rather than
    // visiting every line. With nothing open, nothing after matters at all.
    std::uint64_t next_line_of_interest(std::uint64_t pos) const {
        if (base64_.checking()) return pos;
        if (frames_.empty()) return v_.size();
        return v_.find_line_starting("--", pos).value_or(v_.size());
    }

    void record(DefectKind kind, std::uint64_t rel_offset, std::uint64_t length, std::string detail) {
        summary_.defects.push_back(Defect{kind, v_.base() + rel_offset, length, std::move(detail)});
    }

    // Reads the entity at `pos` and returns where its body scan starts. A
    // message/rfc822 body is itself an entity one level down, so it is
    // entered by looping, never by recursion.
    std::uint64_t begin_entity(std::uint64_t pos, std::uint32_t depth, bool digest_child) {
        for (;;) {
            if (!count_part(pos)) return pos;
            summary_.max_depth = std::max(summary_.max_depth, depth);
            const HeaderBlock hb = read_part_header(pos);
            report_header_block(hb, pos);
            const EntityType type = classify(hb, digest_child);
            const bool opaque = type.kind != EntityKind::leaf && depth >= limits_.max_depth;
            open_entity(opaque ? EntityKind::leaf : type.kind, depth, pos, hb.end);
            if (type.kind == EntityKind::leaf) {
                if (type.base64) base64_.start();
                return hb.end;
            }
            if (opaque) {
                if (!nesting_reported_)
                    record(DefectKind::nesting_too_deep, pos, hb.end - pos,
                           "deeper than " + std::to_string(limits_.max_depth) + " levels; content left opaque");
                nesting_reported_ = true;
                return hb.end;
            }
            if (type.kind == EntityKind::multipart) {
                frames_.push_back(Frame{std::string(dashes) + type.boundary, pos, depth, type.digest, false,
                                        open_entities_.empty() ? 0 : open_entities_.back()});
                return hb.end;
            }
            pos = hb.end;
            ++depth;
            digest_child = false;
        }
    }

    void open_entity(EntityKind kind, std::uint32_t depth, std::uint64_t begin, std::uint64_t body_begin) {
        if (!limits_.record_entities) return;
        const auto index = static_cast<std::uint32_t>(summary_.entities.size());
        const Entity::Kind k = kind == EntityKind::multipart ? Entity::Kind::multipart
                               : kind == EntityKind::message ? Entity::Kind::message
                                                             : Entity::Kind::leaf;
        const std::uint32_t parent = open_entities_.empty() ? 0 : open_entities_.back();
        summary_.entities.push_back(Entity{k, parent, depth, begin, body_begin, body_begin});
        open_entities_.push_back(index);
    }

    // A delimiter of the multipart `multipart` ends the entities opened
    // within it since its last delimiter; a close delimiter ends it too.
    void end_entities(std::uint32_t multipart, const Line& delimiter, bool close) {
        if (!limits_.record_entities) return;
        std::uint64_t end = delimiter.begin;
        if (end > 0 && v_.at_or(end - 1, 0) == '\n') --end;
        if (end > 0 && v_.at_or(end - 1, 0) == '\r') --end;
        // A part whose empty header block took that line break ends
        // after it, and so does every entity around it.
        while (!open_entities_.empty() && open_entities_.back() != multipart) {
            Entity& e = summary_.entities[open_entities_.back()];
            end = e.end = std::max(end, e.body_begin);
            open_entities_.pop_back();
        }
        if (close && !open_entities_.empty()) {
            summary_.entities[open_entities_.back()].end = std::max(end, content_end(v_, delimiter));
            open_entities_.pop_back();
        }
    }

    // Counts the entity at `pos`; false once the part limit is spent, after
    // which every further entity is opaque text.
    bool count_part(std::uint64_t pos) {
        if (summary_.parts < limits_.max_parts) {
            ++summary_.parts;
            return true;
        }
        if (!parts_exhausted_)
            record(DefectKind::too_many_parts, pos, 0,
                   "more than " + std::to_string(limits_.max_parts) + " parts; the rest left opaque");
        parts_exhausted_ = true;
        return false;
    }

    // A part's header block ends at an enclosing delimiter even without the
    // empty line, and a delimiter can look like a field when the boundary
    // holds a ':'. So the block is read in a view cut at the first delimiter
    // line among its lines; the extra pass stops where the block stops, which
    // keeps the walk linear.
    [[nodiscard]] HeaderBlock read_part_header(std::uint64_t pos) const {
        const std::optional<std::uint64_t> cut = delimiter_in_header(pos);
        return read_header_block(cut ? v_.sub(0, *cut) : v_, pos, header_limits_);
    }

    [[nodiscard]] std::optional<std::uint64_t> delimiter_in_header(std::uint64_t pos) const {
        if (frames_.empty()) return std::nullopt;
        for (std::uint64_t p = pos; p < v_.size() && p - pos <= header_limits_.max_block_bytes;) {
            const Line line = line_at(v_, p);
            if (match_delimiter(line)) return line.begin;
            const bool blank = line.content_length() == 0;
            const bool continuation = is_lwsp(v_.at_or(line.begin, 0));
            if (blank || !(continuation || is_field_line(v_, line))) return std::nullopt;
            p = line.end;
        }
        return std::nullopt;
    }

    void report_header_block(const HeaderBlock& hb, std::uint64_t pos) {
        if (hb.how == BlockEnd::non_header && hb.first_bad_line) {
            const Line bad = line_at(v_, *hb.first_bad_line);
            record(DefectKind::header_block_unterminated, bad.begin, bad.content_length(),
                   "a line that is not a header field ends the header block without an empty line");
        } else if (hb.how == BlockEnd::too_large) {
            record(DefectKind::header_block_unterminated, pos, hb.end - pos,
                   "header block exceeds the size or field-count limit");
        }
    }

    [[nodiscard]] EntityType classify(const HeaderBlock& hb, bool digest_child) {
        EntityType t;
        const Field* cte = hb.find(v_, "Content-Transfer-Encoding");
        const std::string encoding = cte != nullptr ? ascii_lower(trim_blanks(unfolded_value(v_, *cte, 64))) : std::string();
        t.base64 = encoding == "base64";
        const Field* ct = hb.find(v_, "Content-Type");
        const std::string value = ct != nullptr ? unfold(ct->raw_value(v_).text(), max_content_type_bytes) : std::string();
        std::string media = media_type(value);
        if (media.empty()) media = digest_child ? "message/rfc822" : "text/plain";

        if (media.starts_with("multipart/")) {
            // Taken exactly as quoted, trailing blanks included: RFC 2046 forbids
            // them, but the writer of such a header wrote its delimiters with the
            // same string (Python's email strips them; mime4j keeps them).
            std::string boundary = header_parameter(value, "boundary").value_or("");
            if (boundary.empty()) {
                // The body is then opaque text: RFC 2046 §5.1.1 wants 1 to 70 characters.
                if (ct != nullptr)
                    record(DefectKind::missing_boundary_param, ct->begin, ct->end - ct->begin,
                           short_detail("", trim_blanks(value)));
                return t;
            }
            t.kind = EntityKind::multipart;
            t.boundary = std::move(boundary);
            t.digest = media == "multipart/digest";
        } else if (media == "message/rfc822" || media == "message/global") {
            // An encoded message is opaque until decoded, so only an identity
            // encoding (7bit, 8bit, binary, or none) is walked as a message.
            if (encoding != "base64" && encoding != "quoted-printable") t.kind = EntityKind::message;
        }
        return t;
    }

    // Delimiter lines (RFC 2046 §5.1.1): at line start, "--" boundary,
    // optionally "--" for the close delimiter, then only transport padding
    // (SP/HTAB) to the end of the line. The innermost matching frame wins,
    // so a line naming an enclosing boundary resynchronises past an inner
    // multipart that never closed.
    [[nodiscard]] std::optional<DelimiterMatch> match_delimiter(const Line& line) const {
        if (frames_.empty() || !v_.starts_with(dashes, line.begin)) return std::nullopt;
        for (std::size_t i = frames_.size(); i-- > 0;) {
            const std::string& dash_boundary = frames_[i].dash_boundary;
            const std::uint64_t end = content_end(v_, line);
            if (end - line.begin < dash_boundary.size() || !v_.starts_with(dash_boundary, line.begin)) continue;
            std::uint64_t p = line.begin + dash_boundary.size();
            const bool close = end - p >= dashes.size() && v_.starts_with(dashes, p);
            if (close) p += dashes.size();
            if (only_padding(p, end)) return DelimiterMatch{i, close};
        }
        return std::nullopt;
    }

    [[nodiscard]] bool only_padding(std::uint64_t begin, std::uint64_t end) const {
        for (std::uint64_t i = begin; i < end; ++i)
            if (!is_lwsp(v_.at_or(i, 0))) return false;
        return true;
    }

    void finish_leaf() {
        if (std::optional<Defect> bad = base64_.finish()) {
            bad->offset += v_.base();
            summary_.defects.push_back(std::move(*bad));
        }
    }

    // Pops the frames beyond the first `keep`: a delimiter of an enclosing
    // multipart (or the end of input) ended them before they closed.
    void abandon_frames(std::size_t keep, std::uint64_t at) {
        while (frames_.size() > keep) {
            report_unclosed(frames_.back(), at);
            frames_.pop_back();
        }
    }

    void end_of_input() {
        // A multipart none of whose delimiters appeared shows no part begun,
        // so nothing that a cut could have ended: a sender's defect alone.
        summary_.open_at_end = std::any_of(frames_.begin(), frames_.end(), [](const Frame& f) { return f.opened; });
        std::transform(frames_.rbegin(), frames_.rend(), std::back_inserter(summary_.open_boundaries),
                       [](const Frame& f) { return std::string(boundary_of(f)); });
        abandon_frames(0, v_.size());
    }

    static std::string_view boundary_of(const Frame& f) {
        return std::string_view(f.dash_boundary).substr(dashes.size());
    }

    // Reports a multipart that ended at `end` without its close delimiter, or
    // without any delimiter at all.
    void report_unclosed(const Frame& f, std::uint64_t end) {
        record(f.opened ? DefectKind::missing_close_boundary : DefectKind::boundary_never_opened, f.entity_begin,
               end - f.entity_begin, short_detail("boundary ", boundary_of(f)));
    }

    ByteView v_;
    Limits limits_;
    HeaderLimits header_limits_;
    Summary summary_;
    std::vector<Frame> frames_;  // open multiparts, outermost first; at most limits_.max_depth
    std::vector<std::uint32_t> open_entities_;  // indices into summary_.entities, outermost first
    Base64Check base64_;
    bool nesting_reported_ = false;
    bool parts_exhausted_ = false;
};

}  // namespace

std::string media_type(std::string_view content_type) {
    const std::string type = ascii_lower(trim_blanks(content_type.substr(0, content_type.find(';'))));
    return std::count(type.begin(), type.end(), '/') == 1 ? type : std::string();
}

Summary walk(const ByteView& message, const Limits& limits) { return Walker(message, limits).run(); }

std::string_view defect_name(DefectKind k) {
    switch (k) {
        case DefectKind::missing_close_boundary: return "missing_close_boundary";
        case DefectKind::boundary_never_opened: return "boundary_never_opened";
        case DefectKind::missing_boundary_param: return "missing_boundary_param";
        case DefectKind::invalid_base64: return "invalid_base64";
        case DefectKind::nesting_too_deep: return "nesting_too_deep";
        case DefectKind::too_many_parts: return "too_many_parts";
        case DefectKind::header_block_unterminated: return "header_block_unterminated";
    }
    return "unknown";
}

}  // namespace mailfsck::mime
