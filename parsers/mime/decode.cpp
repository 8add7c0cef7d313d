#include "decode.h"

#include <iconv.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <memory>

#include "headers.h"
#include "parsers/bytes/utf8.h"

namespace mailfsck::mime {
namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

std::string decode_base64(std::string_view in) {
    std::string out;
    out.reserve(in.size() / 4 * 3);
    std::uint32_t acc = 0;
    unsigned bits = 0;
    for (const char c : in) {
        // Padding ends the data (RFC 2045 6.8): what follows it is junk.
        if (c == '=') break;
        const int v = base64_value(c);
        if (v < 0) continue;
        acc = (acc << 6 | static_cast<std::uint32_t>(v)) & 0xFFFFFF;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>(acc >> bits & 0xFF));
        }
    }
    return out;
}

std::string decode_quoted_printable(std::string_view in, bool underscore_is_space) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c == '_' && underscore_is_space) {
            out.push_back(' ');
        } else if (c != '=') {
            out.push_back(c);
        } else if (i + 2 < in.size() && hex_value(in[i + 1]) >= 0 && hex_value(in[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex_value(in[i + 1]) << 4 | hex_value(in[i + 2])));
            i += 2;
        } else {
            // A soft line break: '=', transport padding, the line's end.
            std::size_t j = i + 1;
            while (j < in.size() && (in[j] == ' ' || in[j] == '\t')) ++j;
            if (j < in.size() && in[j] == '\r') ++j;
            if (j < in.size() && in[j] == '\n') {
                i = j;
            } else if (j == in.size()) {
                i = j - 1;
            } else {
                out.push_back(c);
            }
        }
    }
    return out;
}

std::string repaired_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = utf8_sequence(s, i);
        if (n == 0) {
            out.append(replacement);
            ++i;
        } else {
            out.append(s.substr(i, n));
            i += n;
        }
    }
    return out;
}

// windows-1252's 0x80-0x9F; the rest of its range is Latin-1. Five codes
// are undefined and become U+FFFD.
constexpr std::array<std::uint16_t, 32> cp1252_high = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178};

std::string from_cp1252(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        append_utf8(out, c >= 0x80 && c < 0xA0 ? cp1252_high[c - 0x80] : c);
    }
    return out;
}

// The name iconv knows a charset by, for the charsets mail uses; "" for
// any other. Only these reach iconv: a label from a damaged message is
// no name to hand to a converter's module loader.
std::string iconv_name(const std::string& label) {
    if (label.starts_with("iso-8859-") || label.starts_with("iso8859-") || label.starts_with("iso_8859-")) {
        const std::string_view n = std::string_view(label).substr(label.find('-', 4) + 1);
        const bool digits = !n.empty() && n.size() <= 2 && std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; });
        return digits ? "ISO-8859-" + std::string(n) : "";
    }
    for (const char* prefix : {"windows-", "cp", "x-cp"}) {
        if (!label.starts_with(prefix)) continue;
        const std::string_view n = std::string_view(label).substr(std::string_view(prefix).size());
        for (const char* page : {"1250", "1251", "1252", "1253", "1254", "1255", "1256", "1257", "1258", "874", "850",
                                 "852", "866", "932", "936", "949", "950"})
            if (n == page) return "CP" + std::string(n);
        return "";
    }
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 24> names = {{
        {"latin1", "ISO-8859-1"}, {"l1", "ISO-8859-1"}, {"latin2", "ISO-8859-2"}, {"koi8-r", "KOI8-R"},
        {"koi8-u", "KOI8-U"}, {"gb2312", "GB18030"}, {"gbk", "GB18030"}, {"gb18030", "GB18030"},
        {"x-gbk", "GB18030"}, {"big5", "BIG5"}, {"big5-hkscs", "BIG5-HKSCS"}, {"shift_jis", "CP932"},
        {"shift-jis", "CP932"}, {"sjis", "CP932"}, {"x-sjis", "CP932"}, {"euc-jp", "EUC-JP"},
        {"iso-2022-jp", "ISO-2022-JP"}, {"euc-kr", "CP949"}, {"ks_c_5601-1987", "CP949"}, {"utf-16", "UTF-16"},
        {"utf-16le", "UTF-16LE"}, {"utf-16be", "UTF-16BE"}, {"utf-7", "UTF-7"}, {"tis-620", "TIS-620"},
    }};
    for (const auto& [alias, name] : names)
        if (label == alias) return std::string(name);
    return "";
}

struct IconvCloser {
    void operator()(void* cd) const { iconv_close(static_cast<iconv_t>(cd)); }
};

std::optional<std::string> convert(std::string_view text, const std::string& from) {
    const iconv_t opened = iconv_open("UTF-8", from.c_str());
    if (reinterpret_cast<std::intptr_t>(opened) == -1) return std::nullopt;  // (iconv_t)-1: no such conversion
    const std::unique_ptr<void, IconvCloser> cd(opened);
    std::string out;
    std::array<char, 4096> buffer{};
    std::string input(text);
    char* in = input.data();
    std::size_t in_left = input.size();
    for (;;) {
        char* o = buffer.data();
        std::size_t o_left = buffer.size();
        const std::size_t r = iconv(opened, in_left > 0 ? &in : nullptr, &in_left, &o, &o_left);
        out.append(buffer.data(), buffer.size() - o_left);
        if (r != static_cast<std::size_t>(-1)) {
            if (in_left == 0) break;
            continue;
        }
        const int error = errno;
        if (error == E2BIG) continue;
        // A byte the charset cannot decode, or a sequence the text cut
        // short: U+FFFD, and on with the next byte.
        out.append(replacement);
        iconv(opened, nullptr, nullptr, nullptr, nullptr);
        if (error == EINVAL || in_left <= 1) break;
        ++in;
        --in_left;
    }
    return out;
}

// Text with blanks between adjacent encoded words dropped (RFC 2047 6.2),
// words of one charset decoded together: a writer may split a multibyte
// character between two words.
class WordDecoder {
public:
    std::string run(std::string_view s) {
        std::size_t i = 0;
        while (i < s.size()) {
            const std::size_t start = s.find("=?", i);
            if (start == std::string_view::npos) break;
            const std::optional<Word> w = word_at(s, start);
            if (!w) {
                plain(s.substr(i, start + 2 - i));
                i = start + 2;
                continue;
            }
            const std::string_view between = s.substr(i, start - i);
            if (!(had_word_ && trim_blanks(between).empty())) plain(between);
            if (w->charset != charset_) flush();
            charset_ = w->charset;
            bytes_ += w->q ? decode_quoted_printable(w->text, true) : decode_base64(w->text);
            had_word_ = true;
            i = w->end;
        }
        plain(s.substr(std::min(i, s.size())));
        flush();
        return std::move(out_);
    }

private:
    struct Word {
        std::string charset;
        bool q = false;
        std::string_view text;
        std::size_t end = 0;
    };

    static std::optional<Word> word_at(std::string_view s, std::size_t start) {
        const std::size_t q1 = s.find('?', start + 2);
        if (q1 == std::string_view::npos || q1 + 3 > s.size() || s[q1 + 2] != '?' || q1 - start - 2 > 64) return std::nullopt;
        const std::string_view charset = s.substr(start + 2, q1 - start - 2);
        if (charset.empty() || std::any_of(charset.begin(), charset.end(), is_blank)) return std::nullopt;
        const char e = s[q1 + 1];
        if (e != 'B' && e != 'b' && e != 'Q' && e != 'q') return std::nullopt;
        const std::size_t close = s.find("?=", q1 + 3);
        if (close == std::string_view::npos) return std::nullopt;
        const std::string_view text = s.substr(q1 + 3, close - q1 - 3);
        if (std::any_of(text.begin(), text.end(), is_blank)) return std::nullopt;
        // RFC 2231 5: a language after '*' is no part of the charset.
        return Word{ascii_lower(charset.substr(0, charset.find('*'))), e == 'Q' || e == 'q', text, close + 2};
    }

    void plain(std::string_view text) {
        if (text.empty()) return;
        flush();
        out_ += to_utf8(text, "");
        had_word_ = false;
    }

    void flush() {
        if (!bytes_.empty()) out_ += to_utf8(bytes_, charset_);
        bytes_.clear();
        charset_.clear();
    }

    std::string out_;
    std::string bytes_;
    std::string charset_;
    bool had_word_ = false;
};

std::string percent_decoded(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex_value(s[i + 1]) << 4 | hex_value(s[i + 2])));
            i += 2;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

// RFC 2231 4: charset'language'percent-encoded.
std::string extended_value(std::string_view v, std::string& charset) {
    const std::size_t a = v.find('\'');
    const std::size_t b = a == std::string_view::npos ? a : v.find('\'', a + 1);
    if (b == std::string_view::npos) return percent_decoded(v);
    charset = ascii_lower(v.substr(0, a));
    return percent_decoded(v.substr(b + 1));
}

// A comment's, quoted string's or angle address's nesting: Mailbox text
// is read in one pass, these decide what a comma means.
struct AddressItem {
    std::string display;
    std::string spec;  // the display text with its quotes: an addr-spec's local part may be quoted
    std::string angle;
    std::string comment;
    bool has_angle = false;
};

void finish_item(AddressItem& item, std::vector<Mailbox>& out, std::size_t max) {
    Mailbox m;
    if (item.has_angle) {
        std::string_view a = trim_blanks(item.angle);
        // An obsolete route ("@a,@b:user@c") is no part of the address.
        if (a.starts_with('@') && a.find(':') != std::string_view::npos) a = a.substr(a.find(':') + 1);
        m.address = std::string(a);
        m.name = decode_header_text(trim_blanks(item.display));
    } else {
        // Blanks may surround an addr-spec's dots and '@' (RFC 5322 4.4);
        // text without an '@' is no address and is kept as written.
        const bool spec = item.spec.find('@') != std::string::npos;
        bool quoted = false;
        for (const char c : trim_blanks(item.spec)) {
            if (c == '"') quoted = !quoted;
            if (quoted || !is_blank(c)) m.address.push_back(c);
            else if (!spec && m.address.back() != ' ') m.address.push_back(' ');
        }
        m.name = decode_header_text(trim_blanks(item.comment));
    }
    if ((!m.address.empty() || !m.name.empty()) && out.size() < max) out.push_back(std::move(m));
    item = AddressItem{};
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<int> number(std::string_view s) {
    if (s.empty() || s.size() > 4) return std::nullopt;
    int v = 0;
    for (const char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    return v;
}

// Seconds east of UTC of a zone (RFC 5322 3.3 and 4.3); military zones
// other than Z are ambiguous and read as UTC, as the RFC advises.
std::optional<int> zone_offset(std::string_view t) {
    if (t.size() == 5 && (t[0] == '+' || t[0] == '-')) {
        const std::optional<int> v = number(t.substr(1));
        if (!v || *v % 100 >= 60) return std::nullopt;
        const int seconds = (*v / 100 * 60 + *v % 100) * 60;
        return t[0] == '-' ? -seconds : seconds;
    }
    const std::string z = ascii_lower(t);
    static constexpr std::array<std::pair<std::string_view, int>, 10> names = {{
        {"ut", 0}, {"utc", 0}, {"gmt", 0}, {"z", 0}, {"edt", -4}, {"est", -5}, {"cdt", -5}, {"cst", -6}, {"mdt", -6},
        {"mst", -7},
    }};
    for (const auto& [name, hours] : names)
        if (z == name) return hours * 3600;
    if (z == "pdt") return -7 * 3600;
    if (z == "pst") return -8 * 3600;
    if (z.size() == 1 && z[0] >= 'a' && z[0] <= 'z' && z[0] != 'j') return 0;
    return std::nullopt;
}

std::optional<unsigned> month_of(std::string_view t) {
    static constexpr std::array<std::string_view, 12> months = {"jan", "feb", "mar", "apr", "may", "jun",
                                                               "jul", "aug", "sep", "oct", "nov", "dec"};
    if (t.size() < 3) return std::nullopt;
    const std::string m = ascii_lower(t.substr(0, 3));
    for (unsigned i = 0; i < months.size(); ++i)
        if (m == months[i]) return i + 1;
    return std::nullopt;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int y, unsigned m) {
    static constexpr std::array<unsigned, 12> days = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : days[m - 1];
}

}  // namespace

std::string decode_transfer(std::string_view body, std::string_view encoding) {
    const std::string e = ascii_lower(trim_blanks(encoding));
    if (e == "base64") return decode_base64(body);
    if (e == "quoted-printable") return decode_quoted_printable(body, false);
    return std::string(body);
}

std::string to_utf8(std::string_view text, std::string_view charset) {
    const std::string label = ascii_lower(trim_blanks(charset));
    if (label == "utf-8" || label == "utf8") return repaired_utf8(text);
    const std::string name = iconv_name(label);
    if (!name.empty())
        if (std::optional<std::string> converted = convert(text, name)) return std::move(*converted);
    return valid_utf8(text) ? std::string(text) : from_cp1252(text);
}

std::string decode_header_text(std::string_view raw_value) {
    return std::string(trim_blanks(WordDecoder().run(unfold(raw_value))));
}

std::optional<std::string> decoded_parameter(std::string_view value, std::string_view name) {
    const std::string n(name);
    std::string charset;
    if (const std::optional<std::string> v = header_parameter(value, n + "*")) return to_utf8(extended_value(*v, charset), charset);
    // Continuations: name*0, name*1*, ... in order; a gap ends them.
    std::string joined;
    bool any = false;
    for (unsigned i = 0; i < 64; ++i) {
        const std::string section = n + "*" + std::to_string(i);
        if (const std::optional<std::string> v = header_parameter(value, section + "*")) {
            joined += i == 0 ? extended_value(*v, charset) : percent_decoded(*v);
        } else if (const std::optional<std::string> p = header_parameter(value, section)) {
            joined += *p;
        } else {
            break;
        }
        any = true;
    }
    if (any) return to_utf8(joined, charset);
    if (const std::optional<std::string> v = header_parameter(value, n)) return decode_header_text(*v);
    return std::nullopt;
}

std::vector<Mailbox> parse_address_list(std::string_view raw_value, std::size_t max) {
    const std::string s = unfold(raw_value);
    std::vector<Mailbox> out;
    AddressItem item;
    bool quoted = false;
    bool angle = false;
    std::size_t comment_depth = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (quoted) {
            if (c == '\\' && i + 1 < s.size()) {
                item.spec.push_back(c);
                item.spec.push_back(s[i + 1]);
                item.display.push_back(s[++i]);
            } else if (c == '"') {
                item.spec.push_back(c);
                quoted = false;
            } else {
                item.spec.push_back(c);
                item.display.push_back(c);
            }
        } else if (comment_depth > 0) {
            if (c == '\\' && i + 1 < s.size()) {
                item.comment.push_back(s[++i]);
            } else if (c == '(') {
                ++comment_depth;
            } else if (c == ')') {
                --comment_depth;
            } else {
                item.comment.push_back(c);
            }
        } else if (c == '(') {
            comment_depth = 1;
            if (!item.comment.empty()) item.comment.push_back(' ');
        } else if (angle) {
            if (c == '>') angle = false;
            else item.angle.push_back(c);
        } else if (c == '<') {
            angle = true;
            item.has_angle = true;
            item.angle.clear();
        } else if (c == '"') {
            item.spec.push_back(c);
            quoted = true;
        } else if (c == ',' || c == ';') {
            finish_item(item, out, max);
        } else if (c == ':' && !item.has_angle) {
            item = AddressItem{};  // a group's name
        } else {
            item.spec.push_back(c);
            item.display.push_back(c);
        }
    }
    finish_item(item, out, max);
    return out;
}

std::optional<std::int64_t> parse_date(std::string_view value) {
    std::string text;
    std::size_t depth = 0;
    for (const char c : value) {
        if (c == '(') ++depth;
        else if (c == ')' && depth > 0) --depth;
        else if (depth == 0) text.push_back(c == ',' ? ' ' : c);
    }
    std::optional<int> day;
    std::optional<unsigned> month;
    std::optional<int> year;
    std::optional<int> zone;
    int hour = -1;
    int minute = 0;
    int second = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && is_blank(text[i])) ++i;
        std::size_t j = i;
        while (j < text.size() && !is_blank(text[j])) ++j;
        const std::string_view t = std::string_view(text).substr(i, j - i);
        i = j;
        if (t.empty()) continue;
        if (t.find(':') != std::string_view::npos && hour < 0) {
            const std::size_t a = t.find(':');
            const std::size_t b = t.find(':', a + 1);
            const std::optional<int> h = number(t.substr(0, a));
            const std::optional<int> m = number(t.substr(a + 1, b == std::string_view::npos ? b : b - a - 1));
            const std::optional<int> sec = b == std::string_view::npos ? std::optional<int>(0) : number(t.substr(b + 1));
            if (!h || !m || !sec || *h > 23 || *m > 59 || *sec > 60) return std::nullopt;
            hour = *h;
            minute = *m;
            second = std::min(*sec, 59);
        } else if (const std::optional<int> n = number(t)) {
            if (!day && t.size() <= 2) day = *n;
            else if (!year) year = t.size() == 2 ? (*n < 50 ? 2000 + *n : 1900 + *n) : t.size() == 3 ? 1900 + *n : *n;
        } else if (!month && month_of(t)) {
            month = month_of(t);
        } else if (const std::optional<int> z = zone_offset(t); z && hour >= 0) {
            zone = z;
        }
    }
    if (!day || !month || !year || hour < 0 || *year < 1601 || *year > 9999 || *day < 1 ||
        static_cast<unsigned>(*day) > days_in_month(*year, *month))
        return std::nullopt;
    const std::int64_t days = days_from_civil(*year, *month, static_cast<unsigned>(*day));
    return days * 86400 + (std::int64_t{hour} * 60 + minute) * 60 + second - zone.value_or(0);
}

}  // namespace mailfsck::mime
