#include "filename.h"

#include <algorithm>
#include <array>

#include "parsers/bytes/utf8.h"

namespace mailfsck::maildir {

namespace {

constexpr std::string_view standard_flag_set = "DFPRST";

bool is_standard_flag(unsigned char c) { return standard_flag_set.find(static_cast<char>(c)) != std::string_view::npos; }
bool is_keyword_flag(unsigned char c) { return c >= 'a' && c <= 'z'; }
bool is_ascii_letter(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alternative_separator(unsigned char c) { return c == '!' || c == ';' || c == ','; }
bool is_info_version(unsigned char c) { return c == '1' || c == '2'; }

InfoSeparator separator_kind(unsigned char c) {
    switch (c) {
    case ':': return InfoSeparator::colon;
    case '!': return InfoSeparator::bang;
    case ';': return InfoSeparator::semicolon;
    default: return InfoSeparator::comma;
    }
}

// Without ':' the separator is guessed from a "<sep>1," or "<sep>2," that is
// followed only by letters and commas, so that a unique part which merely
// contains '!', ';' or ',' is not cut. Such a tail is found backwards from
// the end; the version digit stops it, so the separator can only sit two
// bytes before the tail.
std::optional<std::uint64_t> alternative_separator(const ByteView& name) {
    std::uint64_t tail = name.size();
    while (tail > 0) {
        const unsigned char c = name.at_or(tail - 1, 0);
        if (!is_ascii_letter(c) && c != ',') break;
        --tail;
    }
    if (tail < 2 || name.at_or(tail, 0) != ',') return std::nullopt;
    if (!is_info_version(name.at_or(tail - 1, 0)) || !is_alternative_separator(name.at_or(tail - 2, 0)))
        return std::nullopt;
    return tail - 2;
}

std::optional<std::uint64_t> find_separator(const ByteView& name) {
    if (auto colon = name.find_byte(':')) return colon;
    return alternative_separator(name);
}

// Dovecot's and Courier's fields are ",<letter>=" segments at the end of
// the base; the unique part ends where the first one starts.
std::uint64_t unique_end(const ByteView& base) {
    std::optional<std::uint64_t> comma = base.find_byte(',');
    while (comma) {
        if (is_ascii_letter(base.at_or(*comma + 1, 0)) && base.at_or(*comma + 2, 0) == '=') return *comma;
        comma = base.find_byte(',', *comma + 1);
    }
    return base.size();
}

void read_size_field(const ByteView& base, std::uint64_t begin, std::uint64_t end, ParsedName& out) {
    const unsigned char key = base.at_or(begin, 0);
    if ((key != 'S' && key != 'W') || base.at_or(begin + 1, 0) != '=') return;
    const auto value = parse_decimal(base.sub(begin + 2, end - begin - 2));
    if (key == 'S') {
        if (!value) out.defects.push_back({NameDefectKind::size_invalid, static_cast<std::size_t>(begin)});
        if (!out.size) out.size = value;
    } else {
        if (!value) out.defects.push_back({NameDefectKind::vsize_invalid, static_cast<std::size_t>(begin)});
        if (!out.vsize) out.vsize = value;
    }
}

void read_base_fields(const ByteView& base, std::uint64_t from, ParsedName& out) {
    std::uint64_t p = from;
    while (p < base.size()) {
        const std::uint64_t begin = p + 1;  // past the ','
        const std::uint64_t end = base.find_byte(',', begin).value_or(base.size());
        read_size_field(base, begin, end, out);
        p = end;
    }
}

void read_flags(const ByteView& name, std::uint64_t begin, ParsedName& out) {
    const std::uint64_t comma = name.find_byte(',', begin).value_or(name.size());
    out.flags = name.sub(begin, comma - begin).text();
    if (comma < name.size()) {
        out.extra = name.sub(comma + 1).text();
        out.defects.push_back({NameDefectKind::trailing_comma, static_cast<std::size_t>(comma)});
    }
    std::array<bool, 256> seen{};
    bool unsorted_reported = false;
    for (std::uint64_t i = begin; i < comma; ++i) {
        const unsigned char c = name.at_or(i, 0);
        const auto at = static_cast<std::size_t>(i);
        if (is_standard_flag(c)) out.standard_flags += static_cast<char>(c);
        else if (is_keyword_flag(c)) out.keywords += static_cast<char>(c);
        else out.defects.push_back({NameDefectKind::unknown_flag, at});
        if (seen[c]) out.defects.push_back({NameDefectKind::duplicate_flag, at});
        seen[c] = true;
        if (i > begin && name.at_or(i - 1, 0) > c && !unsorted_reported) {
            out.defects.push_back({NameDefectKind::unsorted_flags, at});
            unsorted_reported = true;
        }
    }
}

void read_info(const ByteView& name, std::uint64_t separator, ParsedName& out) {
    out.separator = separator_kind(name.at_or(separator, 0));
    const std::uint64_t info = separator + 1;
    out.info = name.sub(info).text();
    const bool versioned = is_info_version(name.at_or(info, 0)) && name.at_or(info + 1, 0) == ',';
    if (!versioned) {
        out.version = InfoVersion::unknown;
        out.defects.push_back({NameDefectKind::info_malformed, static_cast<std::size_t>(separator)});
        return;
    }
    if (name.at_or(info, 0) == '1') {
        out.version = InfoVersion::experimental;
        return;
    }
    out.version = InfoVersion::standard;
    read_flags(name, info + 2, out);
}

std::optional<std::uint64_t> first_control_character(const ByteView& v) {
    for (std::uint64_t i = 0; i < v.size(); ++i) {
        const unsigned char c = v.at_or(i, 0);
        if (c < 0x20 || c == 0x7F) return i;
    }
    return std::nullopt;
}

void check_bytes(const ByteView& name, ParsedName& out) {
    if (auto bad = first_invalid_utf8(name.text()))
        out.defects.push_back({NameDefectKind::invalid_utf8, static_cast<std::size_t>(*bad)});
    if (auto ctl = first_control_character(name))
        out.defects.push_back({NameDefectKind::control_character, static_cast<std::size_t>(*ctl)});
}

}  // namespace

std::optional<std::uint64_t> parse_decimal(const ByteView& digits, std::uint64_t max) {
    if (digits.empty()) return std::nullopt;
    std::uint64_t value = 0;
    for (std::uint64_t i = 0; i < digits.size(); ++i) {
        const unsigned char c = digits.at_or(i, 0);
        if (c < '0' || c > '9') return std::nullopt;
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (max - digit) / 10) return std::nullopt;
        value = value * 10 + digit;
    }
    return value;
}

ParsedName parse_filename(const ByteView& name) {
    ParsedName out;
    const auto separator = find_separator(name);
    const ByteView base = name.sub(0, separator.value_or(name.size()));
    out.base = base.text();
    const std::uint64_t fields = unique_end(base);
    out.unique = base.sub(0, fields).text();
    if (out.unique.empty()) out.defects.push_back({NameDefectKind::empty_base, 0});
    read_base_fields(base, fields, out);
    if (separator) read_info(name, *separator, out);
    check_bytes(name, out);
    return out;
}

std::string canonical_name(std::string_view unique, std::optional<std::uint64_t> size,
                           std::optional<std::uint64_t> vsize, std::string_view flags) {
    const ByteView given(flags);
    std::array<bool, 256> present{};
    for (std::uint64_t i = 0; i < given.size(); ++i) {
        const unsigned char c = given.at_or(i, 0);
        if (is_standard_flag(c) || is_keyword_flag(c)) present[c] = true;
    }
    std::string out(unique);
    if (size) out += ",S=" + std::to_string(*size);
    if (vsize) out += ",W=" + std::to_string(*vsize);
    out += ":2,";
    for (std::size_t c = 0; c < present.size(); ++c)
        if (present[c]) out += static_cast<char>(c);
    return out;
}

std::string_view defect_name(NameDefectKind k) {
    switch (k) {
    case NameDefectKind::empty_base: return "empty_base";
    case NameDefectKind::info_malformed: return "info_malformed";
    case NameDefectKind::unknown_flag: return "unknown_flag";
    case NameDefectKind::duplicate_flag: return "duplicate_flag";
    case NameDefectKind::unsorted_flags: return "unsorted_flags";
    case NameDefectKind::size_invalid: return "size_invalid";
    case NameDefectKind::vsize_invalid: return "vsize_invalid";
    case NameDefectKind::trailing_comma: return "trailing_comma";
    case NameDefectKind::invalid_utf8: return "invalid_utf8";
    case NameDefectKind::control_character: return "control_character";
    }
    return "unknown";
}

}  // namespace mailfsck::maildir
