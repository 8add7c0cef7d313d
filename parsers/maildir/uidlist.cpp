#include "uidlist.h"

#include <unordered_set>

#include "parsers/maildir/filename.h"

namespace mailfsck::maildir {

namespace {

constexpr std::uint32_t highest_keyword_index = 25;  // 'z'

std::optional<std::uint32_t> parse_u32(const ByteView& digits) {
    const auto value = parse_decimal(digits, UINT32_MAX);
    if (!value) return std::nullopt;
    return static_cast<std::uint32_t>(*value);
}

// Fields are separated by runs of spaces.
std::uint64_t skip_spaces(const ByteView& v, std::uint64_t p) {
    while (v.at_or(p, 0) == ' ') ++p;
    return p;
}

std::uint64_t token_end(const ByteView& v, std::uint64_t p) { return v.find_byte(' ', p).value_or(v.size()); }

// A uidlist filename's base: what stays the same when the flags change.
std::string_view filename_base(std::string_view filename) { return filename.substr(0, filename.find(':')); }

class UidlistReader {
public:
    UidlistReader(const ByteView& in, const UidlistLimits& limits) : in_(in), limits_(limits) {}

    Uidlist run() {
        const Line first = line_at(in_, 0);
        read_header(first);
        if (out_.header.version == 1U || out_.header.version == 3U) read_entries(first.end);
        check_next_uid(first);
        check_last_line();
        return std::move(out_);
    }

private:
    void defect(UidlistDefectKind kind, std::uint64_t pos, std::uint64_t length) {
        out_.defects.add({kind, in_.base() + pos, length});
    }

    [[nodiscard]] ByteView content(const Line& l) const { return in_.sub(l.begin, l.content_length()); }

    void read_header(const Line& first) {
        const ByteView line = content(first);
        const std::uint64_t version_end = token_end(line, 0);
        out_.header.version = parse_u32(line.sub(0, version_end));
        bool ok = false;
        if (out_.header.version == 1U) {
            ok = read_v1_header(line, version_end);
        } else if (out_.header.version == 3U) {
            ok = read_v3_header(line, version_end);
        } else if (out_.header.version) {
            defect(UidlistDefectKind::unknown_version, first.begin, first.content_length());
            return;
        }
        const bool values_usable = out_.header.uid_validity.value_or(0) != 0 && out_.header.next_uid.value_or(0) != 0;
        if (!ok || !values_usable) defect(UidlistDefectKind::bad_header, first.begin, first.content_length());
    }

    // "1 <uidvalidity> <nextuid>", nothing more.
    bool read_v1_header(const ByteView& line, std::uint64_t p) {
        const std::uint64_t validity_begin = skip_spaces(line, p);
        const std::uint64_t validity_end = token_end(line, validity_begin);
        const std::uint64_t next_begin = skip_spaces(line, validity_end);
        const std::uint64_t next_end = token_end(line, next_begin);
        out_.header.uid_validity = parse_u32(line.sub(validity_begin, validity_end - validity_begin));
        out_.header.next_uid = parse_u32(line.sub(next_begin, next_end - next_begin));
        return out_.header.uid_validity && out_.header.next_uid && skip_spaces(line, next_end) == line.size();
    }

    // "3" then <key><value> fields in any order; unknown keys are Dovecot
    // extensions and are skipped, as Dovecot does.
    bool read_v3_header(const ByteView& line, std::uint64_t p) {
        bool ok = true;
        for (p = skip_spaces(line, p); p < line.size(); p = skip_spaces(line, p)) {
            const std::uint64_t end = token_end(line, p);
            const ByteView value = line.sub(p + 1, end - p - 1);
            switch (line.at_or(p, 0)) {
            case 'V': out_.header.uid_validity = parse_u32(value); ok = ok && out_.header.uid_validity; break;
            case 'N': out_.header.next_uid = parse_u32(value); ok = ok && out_.header.next_uid; break;
            case 'G': out_.header.guid = value.text(); break;
            default: break;
            }
            p = end;
        }
        return ok;
    }

    void read_entries(std::uint64_t from) {
        for (std::uint64_t p = from; p < in_.size();) {
            const Line line = line_at(in_, p);
            if (out_.entries.size() >= limits_.max_entries) {
                defect(UidlistDefectKind::too_many_entries, line.begin, in_.size() - line.begin);
                return;
            }
            read_entry(line);
            p = line.end;
        }
    }

    void read_entry(const Line& l) {
        const ByteView line = content(l);
        const std::uint64_t uid_end = token_end(line, 0);
        const std::uint64_t rest = skip_spaces(line, uid_end);
        if (uid_end == 0 || rest >= line.size()) {
            defect(UidlistDefectKind::malformed_line, l.begin, l.content_length());
            return;
        }
        UidlistEntry e;
        e.offset = in_.base() + l.begin;
        const bool parsed = out_.header.version == 3U ? read_v3_fields(line, rest, e) : read_v1_filename(line, rest, e);
        if (!parsed) {
            defect(UidlistDefectKind::malformed_line, l.begin, l.content_length());
            return;
        }
        const auto uid = parse_u32(line.sub(0, uid_end));
        if (!uid) {
            defect(UidlistDefectKind::uid_invalid, l.begin, uid_end);
            return;
        }
        if (*uid == 0) {
            defect(UidlistDefectKind::uid_zero, l.begin, uid_end);
            return;
        }
        e.uid = *uid;
        record(e, l);
    }

    static bool read_v1_filename(const ByteView& line, std::uint64_t p, UidlistEntry& e) {
        e.filename = line.sub(p).text();
        return true;
    }

    // Extension fields until the one starting with ':', whose rest of line
    // is the filename (it may hold spaces).
    bool read_v3_fields(const ByteView& line, std::uint64_t p, UidlistEntry& e) {
        for (; p < line.size(); p = skip_spaces(line, p)) {
            if (line.at_or(p, 0) == ':') {
                e.filename = line.sub(p + 1).text();
                return !e.filename.empty();
            }
            const std::uint64_t end = token_end(line, p);
            read_extension(line.sub(p, end - p), e);
            p = end;
        }
        return false;
    }

    void read_extension(const ByteView& field, UidlistEntry& e) {
        const unsigned char key = field.at_or(0, 0);
        if (key != 'W' && key != 'S') return;
        const auto value = parse_decimal(field.sub(1));
        if (!value) defect(UidlistDefectKind::bad_extension, field.base() - in_.base(), field.size());
        (key == 'W' ? e.vsize : e.size) = value;
    }

    void record(const UidlistEntry& e, const Line& l) {
        if (!uids_.insert(e.uid).second) {
            defect(UidlistDefectKind::duplicate_uid, l.begin, l.content_length());
        } else if (e.uid < out_.highest_uid) {
            defect(UidlistDefectKind::uid_not_increasing, l.begin, l.content_length());
        }
        if (!names_.insert(filename_base(e.filename)).second)
            defect(UidlistDefectKind::duplicate_filename, l.begin, l.content_length());
        if (e.uid > out_.highest_uid) out_.highest_uid = e.uid;
        out_.entries.push_back(e);
    }

    void check_next_uid(const Line& first) {
        if (out_.entries.empty() || !out_.header.next_uid) return;
        if (*out_.header.next_uid <= out_.highest_uid)
            defect(UidlistDefectKind::next_uid_not_above_highest, first.begin, first.content_length());
    }

    void check_last_line() {
        if (in_.empty() || in_.at_or(in_.size() - 1, 0) == '\n') return;
        std::uint64_t begin = in_.size();
        while (begin > 0 && in_.at_or(begin - 1, 0) != '\n') --begin;
        defect(UidlistDefectKind::unterminated_last_line, begin, in_.size() - begin);
    }

    ByteView in_;
    UidlistLimits limits_;
    Uidlist out_;
    std::unordered_set<std::uint32_t> uids_;
    std::unordered_set<std::string_view> names_;
};

void read_keyword_line(const ByteView& in, const Line& l, std::vector<bool>& taken, Keywords& out) {
    const ByteView line = in.sub(l.begin, l.content_length());
    const std::uint64_t offset = in.base() + l.begin;
    const std::uint64_t index_end = token_end(line, 0);
    const std::uint64_t name_begin = skip_spaces(line, index_end);
    const auto index = parse_u32(line.sub(0, index_end));
    if (!index || name_begin >= line.size()) {
        out.defects.add({KeywordDefectKind::malformed_line, offset});
    } else if (*index > highest_keyword_index) {
        out.defects.add({KeywordDefectKind::index_out_of_range, offset});
    } else if (taken[*index]) {
        out.defects.add({KeywordDefectKind::duplicate_index, offset});
    } else {
        taken[*index] = true;
        out.keywords.push_back({*index, line.sub(name_begin).text(), offset});
    }
}

}  // namespace

Uidlist parse_uidlist(const ByteView& in, const UidlistLimits& limits) { return UidlistReader(in, limits).run(); }

Keywords parse_keywords(const ByteView& in) {
    Keywords out;
    std::vector<bool> taken(highest_keyword_index + 1, false);
    for (std::uint64_t p = 0; p < in.size();) {
        const Line line = line_at(in, p);
        read_keyword_line(in, line, taken, out);
        p = line.end;
    }
    return out;
}

std::string_view defect_name(UidlistDefectKind k) {
    switch (k) {
    case UidlistDefectKind::bad_header: return "bad_header";
    case UidlistDefectKind::unknown_version: return "unknown_version";
    case UidlistDefectKind::malformed_line: return "malformed_line";
    case UidlistDefectKind::uid_invalid: return "uid_invalid";
    case UidlistDefectKind::uid_zero: return "uid_zero";
    case UidlistDefectKind::uid_not_increasing: return "uid_not_increasing";
    case UidlistDefectKind::duplicate_uid: return "duplicate_uid";
    case UidlistDefectKind::duplicate_filename: return "duplicate_filename";
    case UidlistDefectKind::bad_extension: return "bad_extension";
    case UidlistDefectKind::next_uid_not_above_highest: return "next_uid_not_above_highest";
    case UidlistDefectKind::unterminated_last_line: return "unterminated_last_line";
    case UidlistDefectKind::too_many_entries: return "too_many_entries";
    }
    return "unknown";
}

std::string_view defect_name(KeywordDefectKind k) {
    switch (k) {
    case KeywordDefectKind::malformed_line: return "malformed_line";
    case KeywordDefectKind::index_out_of_range: return "index_out_of_range";
    case KeywordDefectKind::duplicate_index: return "duplicate_index";
    }
    return "unknown";
}

}  // namespace mailfsck::maildir
