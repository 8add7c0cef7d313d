#include "headers.h"

namespace mailfsck::mime {

namespace {
constexpr char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }
}  // namespace

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = lower(c);
    return out;
}

std::string_view trim_blanks(std::string_view s) {
    while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
    return s;
}

std::string unfold(std::string_view raw, std::size_t max) {
    std::string out;
    for (const char c : raw) {
        if (out.size() >= max) break;
        if (c != '\r' && c != '\n') out.push_back(c);
    }
    return out;
}

bool is_field_line(const ByteView& v, const Line& line) {
    std::uint64_t i = line.begin;
    for (; i < line.content_end; ++i) {
        const unsigned char c = v.at_or(i, 0);
        if (c == ':') break;
        if (c <= 32 || c >= 127) return false;
    }
    return i > line.begin && i < line.content_end;
}

const Field* HeaderBlock::find(const ByteView& v, std::string_view name) const {
    for (const Field& f : fields)
        if (iequals(f.name(v), name)) return &f;
    return nullptr;
}

HeaderBlock read_header_block(const ByteView& v, std::uint64_t pos, const HeaderLimits& limits) {
    HeaderBlock hb;
    std::uint64_t p = pos;
    for (;;) {
        if (p >= v.size()) {
            hb.how = BlockEnd::end_of_input;
            hb.end = v.size();
            break;
        }
        if (p - pos > limits.max_block_bytes || hb.fields.size() >= limits.max_fields) {
            hb.how = BlockEnd::too_large;
            hb.end = p;
            break;
        }
        const Line line = line_at(v, p);
        (line.crlf() ? hb.crlf_lines : hb.lf_lines) += line.terminated() ? 1 : 0;
        if (line.content_length() == 0 && line.terminated()) {
            hb.how = BlockEnd::blank_line;
            hb.end = line.end;
            break;
        }
        const unsigned char first = v.at_or(line.begin, 0);
        if ((first == ' ' || first == '\t') && !hb.fields.empty()) {
            hb.fields.back().end = line.end;
        } else if (is_field_line(v, line)) {
            Field f;
            f.begin = line.begin;
            f.end = line.end;
            f.name_end = *v.find_byte(':', line.begin);
            hb.fields.push_back(f);
        } else {
            hb.how = BlockEnd::non_header;
            hb.first_bad_line = line.begin;
            hb.end = line.begin;
            break;
        }
        p = line.end;
    }
    hb.body_begin = hb.end;
    return hb;
}

std::string unfolded_value(const ByteView& v, const Field& f, std::size_t max) {
    const std::string_view raw = f.raw_value(v).text();
    std::string out;
    bool space = false;
    for (const char c : raw) {
        if (out.size() >= max) break;
        if (c == '\r' || c == '\n' || c == ' ' || c == '\t') {
            space = !out.empty();
            continue;
        }
        if (space) out.push_back(' ');
        space = false;
        out.push_back(c);
    }
    return out;
}

std::optional<std::string> header_parameter(std::string_view value, std::string_view name) {
    std::size_t i = 0;
    while (i < value.size()) {
        const std::size_t semi = value.find(';', i);
        if (semi == std::string_view::npos) return std::nullopt;
        i = semi + 1;
        while (i < value.size() && is_blank(value[i])) ++i;
        // A parameter without '=' must not swallow the next one ("a; b; boundary=x").
        const std::size_t eq = value.find_first_of("=;", i);
        if (eq == std::string_view::npos) return std::nullopt;
        if (value[eq] == ';') {
            i = eq;
            continue;
        }
        std::string_view key = value.substr(i, eq - i);
        while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.remove_suffix(1);
        std::size_t j = eq + 1;
        while (j < value.size() && (value[j] == ' ' || value[j] == '\t')) ++j;
        std::string val;
        if (j < value.size() && value[j] == '"') {
            ++j;
            while (j < value.size() && value[j] != '"') {
                if (value[j] == '\\' && j + 1 < value.size()) ++j;
                val.push_back(value[j]);
                ++j;
            }
            ++j;
        } else {
            while (j < value.size() && value[j] != ';' && value[j] != ' ' && value[j] != '\t' && value[j] != '\r' &&
                   value[j] != '\n')
                val.push_back(value[j++]);
        }
        if (iequals(key, name)) return val;
        i = j;
    }
    return std::nullopt;
}

}  // namespace mailfsck::mime
