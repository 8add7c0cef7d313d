// UTF-8 as RFC 3629 defines it, for every layer that checks or writes it.
// Store bytes claim to be UTF-8 far more often than they are, so the check
// is strict: no overlong forms, no surrogates, nothing past U+10FFFF.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailfsck {

// The length of the well-formed sequence that starts at s[i] (1 for
// ASCII), 0 when none does. `i` must be inside `s`.
[[nodiscard]] std::size_t utf8_sequence(std::string_view s, std::size_t i);

// Where the first byte that is not part of a well-formed sequence is.
[[nodiscard]] std::optional<std::size_t> first_invalid_utf8(std::string_view s);

[[nodiscard]] inline bool valid_utf8(std::string_view s) { return !first_invalid_utf8(s); }

// The longest start of `s` of at most `max_bytes` that does not end inside
// a character (a cut before a continuation byte).
[[nodiscard]] std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes);

// Appends code point `cp` (at most U+10FFFF) in UTF-8.
void append_utf8(std::string& out, std::uint32_t cp);

}  // namespace mailfsck
