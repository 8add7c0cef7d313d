#include "bytes.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mailfsck {

bool ByteView::starts_with(std::string_view s, std::uint64_t pos) const {
    if (pos > size_ || size_ - pos < s.size()) return false;
    return s.empty() || std::memcmp(data_ + pos, s.data(), s.size()) == 0;
}

std::optional<std::uint64_t> ByteView::find(std::string_view needle, std::uint64_t from) const {
    // An empty view may have no data pointer at all; memmem must not see it.
    if (from >= size_ || needle.empty()) return std::nullopt;
    const void* hit = ::memmem(data_ + from, size_ - from, needle.data(), needle.size());
    if (hit == nullptr) return std::nullopt;
    return static_cast<const unsigned char*>(hit) - data_;
}

std::optional<std::uint64_t> ByteView::find_byte(unsigned char b, std::uint64_t from) const {
    if (from >= size_) return std::nullopt;
    const void* hit = std::memchr(data_ + from, b, size_ - from);
    if (hit == nullptr) return std::nullopt;
    return static_cast<const unsigned char*>(hit) - data_;
}

std::optional<std::uint64_t> ByteView::find_line_starting(std::string_view prefix, std::uint64_t from) const {
    if (prefix.empty() || from >= size_) return std::nullopt;
    if ((from == 0 || data_[from - 1] == '\n') && starts_with(prefix, from)) return from;
    const auto first = static_cast<unsigned char>(prefix[0]);
    // Candidates are '\n' followed by the prefix's first byte.
    std::uint64_t i = from;
#if defined(__SSE2__)
    const __m128i nl = _mm_set1_epi8('\n');
    const __m128i f = _mm_set1_epi8(static_cast<char>(first));
    while (i + 17 <= size_) {
        const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data_ + i));
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data_ + i + 1));
        auto mask = static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, nl), _mm_cmpeq_epi8(b, f))));
        while (mask != 0) {
            const std::uint64_t at = i + static_cast<std::uint64_t>(__builtin_ctz(mask)) + 1;
            if (starts_with(prefix, at)) return at;
            mask &= mask - 1;
        }
        i += 16;
    }
#endif
    for (; i + 1 < size_; ++i)
        if (data_[i] == '\n' && data_[i + 1] == first && starts_with(prefix, i + 1)) return i + 1;
    return std::nullopt;
}

std::uint64_t ByteView::next_line(std::uint64_t from) const {
    const auto nl = find_byte('\n', from);
    return nl ? *nl + 1 : size_;
}

Line line_at(const ByteView& v, std::uint64_t pos) {
    if (pos >= v.size()) return {v.size(), v.size(), v.size()};
    Line l;
    l.begin = pos;
    l.end = v.next_line(pos);
    l.content_end = l.end;
    if (l.content_end > pos && v.at_or(l.content_end - 1, 0) == '\n') {
        --l.content_end;
        if (l.content_end > pos && v.at_or(l.content_end - 1, 0) == '\r') --l.content_end;
    }
    return l;
}

ByteView Cursor::bytes(std::uint64_t n) {
    if (!ok_ || n > remaining()) {
        ok_ = false;
        return {};
    }
    ByteView out = v_.sub(pos_, n);
    pos_ += n;
    return out;
}

void Cursor::skip(std::uint64_t n) {
    if (!ok_ || n > remaining()) {
        ok_ = false;
        return;
    }
    pos_ += n;
}

}  // namespace mailfsck
