#include "bytes.h"

#include <cstring>

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

std::uint64_t Cursor::take(unsigned n) {
    if (!ok_ || n > remaining()) {
        ok_ = false;
        return 0;
    }
    std::uint64_t value = 0;
    const unsigned char* p = v_.data() + pos_;
    for (unsigned i = 0; i < n; ++i) value |= static_cast<std::uint64_t>(p[i]) << (8 * i);
    pos_ += n;
    return value;
}

}  // namespace mailfsck
