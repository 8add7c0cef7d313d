#include "from_line.h"

#include <array>
#include <cctype>

namespace mailfsck::mbox {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_month(std::string_view w) {
    static constexpr std::array<std::string_view, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (const auto m : months)
        if (w == m) return true;
    return false;
}

bool is_weekday(std::string_view w) {
    static constexpr std::array<std::string_view, 7> days = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    for (const auto d : days)
        if (w == d) return true;
    return false;
}

bool is_time(std::string_view w) {
    // hh:mm or hh:mm:ss
    if (w.size() != 5 && w.size() != 8) return false;
    for (std::size_t i = 0; i < w.size(); ++i) {
        const bool colon = (i == 2 || i == 5);
        if (colon ? w[i] != ':' : !is_digit(w[i])) return false;
    }
    return true;
}

bool is_number(std::string_view w, std::size_t min, std::size_t max) {
    if (w.size() < min || w.size() > max) return false;
    for (const char c : w)
        if (!is_digit(c)) return false;
    return true;
}

// Splits on runs of spaces/tabs into at most N words.
template <std::size_t N>
std::size_t split_words(std::string_view s, std::array<std::string_view, N>& out) {
    std::size_t n = 0;
    std::size_t i = 0;
    while (i < s.size() && n < N) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
        const std::size_t start = i;
        while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
        if (i > start) out[n++] = s.substr(start, i - start);
    }
    return n;
}

// An asctime-style date somewhere in the words: weekday (optional), month,
// day, time, and a year before or after the time, optionally with a zone.
bool has_date(const std::array<std::string_view, 12>& w, std::size_t n) {
    // The sender comes first: a month in word 0, or in word 1 after a
    // weekday, leaves no room for one.
    for (std::size_t i = 1; i < n; ++i) {
        if (!is_month(w[i]) || (i == 1 && is_weekday(w[0]))) continue;
        if (i + 2 >= n || !is_number(w[i + 1], 1, 2)) continue;
        if (is_time(w[i + 2])) {
            for (std::size_t j = i + 3; j < n && j <= i + 5; ++j)
                if (is_number(w[j], 2, 4)) return true;
        } else if (is_number(w[i + 2], 4, 4) && i + 3 < n && is_time(w[i + 3])) {
            return true;
        }
    }
    return false;
}

}  // namespace

FromLineKind classify_envelope(std::string_view envelope) {
    // Every date form has a time with a colon: most text lines stop here.
    if (envelope.find(':') == std::string_view::npos) return FromLineKind::loose;
    std::array<std::string_view, 12> w{};
    const std::size_t n = split_words(envelope, w);
    // A sender word, then a date (the weekday is optional in the wild).
    return n >= 4 && has_date(w, n) ? FromLineKind::strict : FromLineKind::loose;
}

FromLineKind classify_from_line(std::string_view content) {
    if (content.substr(0, 5) != "From ") return FromLineKind::not_from;
    return classify_envelope(content.substr(5));
}

bool is_mmdf_marker(std::string_view content) { return content == "\x01\x01\x01\x01"; }

}  // namespace mailfsck::mbox
