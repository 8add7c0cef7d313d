// Decoding what a MIME message encodes, for converting it into another
// format (a PST message's properties): transfer encodings, charsets, RFC
// 2047 encoded words, RFC 2231 parameters, address lists and dates. Every
// function takes untrusted bytes and is lenient the way mail readers are:
// what cannot be decoded is kept as it is, or becomes U+FFFD, never an
// error; work is linear in the input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfsck::mime {

// A body with its Content-Transfer-Encoding undone (RFC 2045 6): base64
// (bytes outside the alphabet skipped, as readers do; padding ends it), quoted-printable (a
// broken escape kept as it is, soft line breaks removed); any other
// encoding, or none, as it is.
[[nodiscard]] std::string decode_transfer(std::string_view body, std::string_view encoding);

// Text in `charset` as UTF-8; bytes the charset cannot decode become
// U+FFFD. No charset, US-ASCII, or one this decoder does not know: UTF-8
// when the bytes are valid UTF-8, else windows-1252, the usual reality of
// undeclared 8-bit mail.
[[nodiscard]] std::string to_utf8(std::string_view text, std::string_view charset);

// A header field's value as UTF-8 text: folding undone and RFC 2047
// encoded words decoded (blanks between two adjacent words dropped).
[[nodiscard]] std::string decode_header_text(std::string_view raw_value);

// A parameter of a structured field as UTF-8: RFC 2231's extended and
// continued forms (name*=charset''%xx, name*0*=, name*1=) first, then the
// plain one, in which an RFC 2047 word (a common violation) is decoded.
[[nodiscard]] std::optional<std::string> decoded_parameter(std::string_view value, std::string_view name);

struct Mailbox {
    std::string name;     // display name, UTF-8, "" when none
    std::string address;  // addr-spec, "" when the entry had none
};
// An address-list (RFC 5322 3.4), groups flattened, obsolete forms
// ("addr (Name)") accepted; at most `max` entries.
[[nodiscard]] std::vector<Mailbox> parse_address_list(std::string_view raw_value, std::size_t max = 10000);

// A date-time (RFC 5322 3.3, with the obsolete zones and two-digit years
// of 4.3) as seconds since 1970; nullopt when it names no valid date.
[[nodiscard]] std::optional<std::int64_t> parse_date(std::string_view value);

}  // namespace mailfsck::mime
