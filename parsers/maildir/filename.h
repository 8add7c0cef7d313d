// Maildir message file names, read without trusting them.
//
// A name is "<unique>[,S=<size>][,W=<vsize>]<sep><version>,<flags>": the
// unique part chosen by the delivering program, Dovecot's and Courier's size
// fields, then the info. The standard separator is ':'; stores kept on
// filesystems without ':' use '!' (mu, Windows tools) or ';' (stalwartlabs),
// and Mailpile writes ','. Whether a name *needs* info (it does in cur/, not
// in new/) depends on the directory, which only the caller knows: the parser
// reports what is present and what is malformed, nothing more.
//
// The views in a ParsedName point into the name given to parse_filename and
// live as long as it does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parsers/bytes/bytes.h"

namespace mailfsck::maildir {

enum class InfoSeparator {
    none,       // no info at all (normal in new/)
    colon,      // ":2," the standard
    bang,       // "!2," mu and other tools on filesystems without ':'
    semicolon,  // ";2," stalwartlabs and others on filesystems without ':'
    comma,      // ",2," Mailpile
};

enum class InfoVersion {
    none,          // no info
    standard,      // "2,": flags follow
    experimental,  // "1,": meaning private to the writer, not checked
    unknown,       // anything else after the separator
};

enum class NameDefectKind {
    empty_base,          // nothing before the size fields or the info
    info_malformed,      // a ":" info that is not "1,..." or "2,..." (position: the separator)
    unknown_flag,        // a flag that is neither P R S T D F nor a keyword a-z
    duplicate_flag,      // a flag given twice
    unsorted_flags,      // flags not in ASCII order, as the standard asks
    size_invalid,        // ",S=" value not a decimal number or past 2^64-1
    vsize_invalid,       // ",W=" value not a decimal number or past 2^64-1
    // A ',' after the flags. Dovecot ends the flags there and ignores the
    // rest; readers that do not know this take ',' and what follows for flags.
    trailing_comma,
    invalid_utf8,        // bytes that are not UTF-8
    control_character,   // a byte below 0x20 or DEL: breaks line-based indexes such as dovecot-uidlist
};

struct NameDefect {
    NameDefectKind kind;
    std::size_t position = 0;  // byte in the name where the defect is
};

struct ParsedName {
    std::string_view unique;  // before the size fields and the info
    std::string_view base;    // everything before the info separator: what uidlists record
    std::optional<std::uint64_t> size;   // ",S=" the file's size in bytes
    std::optional<std::uint64_t> vsize;  // ",W=" the size with CRLF line ends
    InfoSeparator separator = InfoSeparator::none;
    InfoVersion version = InfoVersion::none;
    std::string_view info;      // after the separator, version included
    std::string_view flags;     // standard info only: up to the ',' that ends the flags
    std::string_view extra;     // after that ',' (empty when there is none)
    std::string standard_flags;  // the flags among P R S T D F, as written
    std::string keywords;        // the flags among a-z, as written
    std::vector<NameDefect> defects;

    [[nodiscard]] bool has_info() const { return separator != InfoSeparator::none; }
};

[[nodiscard]] ParsedName parse_filename(const ByteView& name);

// The name a repair gives a message: the unique part, the sizes it measured,
// and the flags in ASCII order, each once. Characters that are no flag are
// dropped, so the result parses without defects whenever `unique` does.
[[nodiscard]] std::string canonical_name(std::string_view unique, std::optional<std::uint64_t> size,
                                         std::optional<std::uint64_t> vsize, std::string_view flags);

// A decimal number of at most `max`; nullopt when `digits` is empty, holds a
// non-digit, or exceeds `max` (overflow included).
[[nodiscard]] std::optional<std::uint64_t> parse_decimal(const ByteView& digits, std::uint64_t max = UINT64_MAX);

[[nodiscard]] std::string_view defect_name(NameDefectKind k);

}  // namespace mailfsck::maildir
