// Bounds-checked, offset-aware access to untrusted bytes.
//
// Every parser reads store bytes only through ByteView (text scanning) and
// Cursor (binary fields). Both carry the absolute file offset of their first
// byte, so any finding can name where in the store it lives. Nothing here
// trusts a length or offset: out-of-range requests are clamped (ByteView) or
// make the cursor fail stickily (Cursor), never read outside the mapping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace mailfsck {

class ByteView {
public:
    ByteView() = default;
    ByteView(const unsigned char* data, std::uint64_t size, std::uint64_t base = 0)
        : data_(data), size_(size), base_(base) {}
    explicit ByteView(std::string_view s, std::uint64_t base = 0)
        : data_(reinterpret_cast<const unsigned char*>(s.data())), size_(s.size()), base_(base) {}

    [[nodiscard]] std::uint64_t size() const { return size_; }
    [[nodiscard]] bool empty() const { return size_ == 0; }
    // Absolute offset (in the store) of byte 0 of this view.
    [[nodiscard]] std::uint64_t base() const { return base_; }
    [[nodiscard]] std::uint64_t end_offset() const { return base_ + size_; }

    // Byte at relative position i; std::nullopt past the end.
    [[nodiscard]] std::optional<unsigned char> at(std::uint64_t i) const {
        if (i >= size_) return std::nullopt;
        return data_[i];
    }
    // Byte at i, or `fallback` past the end: for look-ahead tests where
    // "past the end" and "not the byte I want" mean the same thing.
    [[nodiscard]] unsigned char at_or(std::uint64_t i, unsigned char fallback) const {
        return i < size_ ? data_[i] : fallback;
    }

    // Sub-view [pos, pos+len), clamped to this view.
    [[nodiscard]] ByteView sub(std::uint64_t pos, std::uint64_t len = UINT64_MAX) const {
        if (pos > size_) pos = size_;
        const std::uint64_t room = size_ - pos;
        if (len > room) len = room;
        return {data_ + pos, len, base_ + pos};
    }

    [[nodiscard]] bool starts_with(std::string_view s, std::uint64_t pos = 0) const;
    // Relative position of the first occurrence of `needle` at or after `from`.
    [[nodiscard]] std::optional<std::uint64_t> find(std::string_view needle, std::uint64_t from = 0) const;
    [[nodiscard]] std::optional<std::uint64_t> find_byte(unsigned char b, std::uint64_t from = 0) const;
    // Relative position of the first line start at or after `from` whose
    // line begins with `prefix` (non-empty): the search for delimiter and
    // separator lines, sixteen bytes at a time.
    [[nodiscard]] std::optional<std::uint64_t> find_line_starting(std::string_view prefix, std::uint64_t from) const;
    // Position just past the next '\n' at or after `from`, or size() when the
    // last line has no terminator.
    [[nodiscard]] std::uint64_t next_line(std::uint64_t from) const;

    // The bytes as text, for comparisons and copies of short fields.
    [[nodiscard]] std::string_view text() const {
        return {reinterpret_cast<const char*>(data_), static_cast<std::size_t>(size_)};
    }
    [[nodiscard]] const unsigned char* data() const { return data_; }

private:
    const unsigned char* data_ = nullptr;
    std::uint64_t size_ = 0;
    std::uint64_t base_ = 0;
};

// A line of text inside a view: [begin, content_end) is the content,
// [content_end, end) the terminator ("\n", "\r\n" or nothing at EOF).
struct Line {
    std::uint64_t begin = 0;
    std::uint64_t content_end = 0;
    std::uint64_t end = 0;
    [[nodiscard]] std::uint64_t content_length() const { return content_end - begin; }
    [[nodiscard]] bool crlf() const { return end - content_end == 2; }
    [[nodiscard]] bool terminated() const { return end > content_end; }
};

// The line starting at `pos` (relative). Past the end: an empty line at size().
[[nodiscard]] Line line_at(const ByteView& v, std::uint64_t pos);

// Sequential little-endian reader for binary structures. A read that would
// cross the end sets a sticky failure flag, returns 0 and does not move; the
// caller checks ok() once after a group of reads (LLVM DataExtractor style).
class Cursor {
public:
    explicit Cursor(ByteView v, std::uint64_t pos = 0) : v_(v), pos_(pos > v.size() ? v.size() : pos), ok_(pos <= v.size()) {}

    [[nodiscard]] bool ok() const { return ok_; }
    [[nodiscard]] std::uint64_t pos() const { return pos_; }
    [[nodiscard]] std::uint64_t offset() const { return v_.base() + pos_; }
    [[nodiscard]] std::uint64_t remaining() const { return v_.size() - pos_; }

    std::uint8_t u8() { return static_cast<std::uint8_t>(take(1)); }
    std::uint16_t u16le() { return static_cast<std::uint16_t>(take(2)); }
    std::uint32_t u32le() { return static_cast<std::uint32_t>(take(4)); }
    std::uint64_t u64le() { return take(8); }
    ByteView bytes(std::uint64_t n);
    void skip(std::uint64_t n);

private:
    // Inline: B-tree walks and block checks read millions of fields.
    std::uint64_t take(unsigned n) {
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
    ByteView v_;
    std::uint64_t pos_;
    bool ok_;
};

// Little-endian integers of `width` bytes (at most 8), for the code that
// seals and writes files.
inline void put_le(unsigned char* at, std::uint64_t v, unsigned width) {
    for (unsigned i = 0; i < width; ++i) at[i] = static_cast<unsigned char>(v >> (8 * i));
}
inline void append_le(std::vector<unsigned char>& out, std::uint64_t v, unsigned width) {
    for (unsigned i = 0; i < width; ++i) out.push_back(static_cast<unsigned char>(v >> (8 * i)));
}
[[nodiscard]] inline std::vector<unsigned char> le_bytes(std::uint64_t v, unsigned width) {
    std::vector<unsigned char> out;
    append_le(out, v, width);
    return out;
}

}  // namespace mailfsck
