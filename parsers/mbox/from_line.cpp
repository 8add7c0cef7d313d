#include "from_line.h"

#include <array>
#include <cctype>

namespace mailfsck::mbox {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// 1-based month number, 0 when `w` is no month name.
int month_number(std::string_view w) {
    static constexpr std::array<std::string_view, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (std::size_t i = 0; i < months.size(); ++i)
        if (w == months[i]) return static_cast<int>(i) + 1;
    return 0;
}

bool is_month(std::string_view w) { return month_number(w) != 0; }

int number_of(std::string_view digits) {
    int n = 0;
    for (const char c : digits) n = n * 10 + (c - '0');
    return n;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil).
std::int64_t days_from_civil(std::int64_t y, int m, int d) {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const std::int64_t yoe = y - era * 400;
    const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
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

std::optional<std::int64_t> envelope_time(std::string_view content) {
    if (classify_from_line(content) != FromLineKind::strict) return std::nullopt;
    std::array<std::string_view, 12> w{};
    const std::size_t n = split_words(content.substr(5), w);
    for (std::size_t i = 1; i + 2 < n; ++i) {
        const int month = month_number(w[i]);
        if (month == 0 || (i == 1 && is_weekday(w[0])) || !is_number(w[i + 1], 1, 2)) continue;
        std::string_view time;
        std::string_view year;
        if (is_time(w[i + 2])) {
            time = w[i + 2];
            for (std::size_t j = i + 3; j < n && j <= i + 5 && year.empty(); ++j)
                if (is_number(w[j], 4, 4)) year = w[j];
        } else if (is_number(w[i + 2], 4, 4) && i + 3 < n && is_time(w[i + 3])) {
            year = w[i + 2];
            time = w[i + 3];
        }
        const int day = number_of(w[i + 1]);
        if (year.empty() || day < 1 || day > 31) continue;
        const std::int64_t h = number_of(time.substr(0, 2));
        const std::int64_t m = number_of(time.substr(3, 2));
        const std::int64_t s = time.size() == 8 ? number_of(time.substr(6, 2)) : 0;
        if (h > 23 || m > 59 || s > 60) continue;
        return days_from_civil(number_of(year), month, day) * 86400 + h * 3600 + m * 60 + s;
    }
    return std::nullopt;
}

bool is_mmdf_marker(std::string_view content) { return content == "\x01\x01\x01\x01"; }

}  // namespace mailfsck::mbox
