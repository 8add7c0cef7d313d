// Maildir UID indexes: Dovecot's dovecot-uidlist and dovecot-keywords, and
// Courier-IMAP's courierimapuiddb.
//
// Both uidlists map IMAP UIDs to message file base names (the name without
// its info). Version 1, "1 <uidvalidity> <nextuid>" then "<uid> <filename>"
// lines, is Courier's format and the one Dovecot wrote up to v1.0, so one
// reader serves both. Version 3 is Dovecot's from v1.1 on:
// "3 V<uidvalidity> N<nextuid> G<guid>" (keys in any order) then
// "<uid> [<key><value> ...] :<filename>" lines.
//
// The parser states facts and what breaks the grammar; what a fact means for
// the store is the checker's business. Work is one pass over the bytes; the
// entries held are bounded by the input and by UidlistLimits. Filenames are
// views into the input and live as long as it does.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "parsers/bytes/bytes.h"
#include "parsers/bytes/kept_defects.h"

namespace mailfsck::maildir {

enum class UidlistDefectKind {
    bad_header,           // first line missing or not "<version> ..." with a non-zero UIDVALIDITY and next UID
    unknown_version,      // a version other than 1 or 3: entries are not read
    malformed_line,       // an entry line without the parts its version requires
    uid_invalid,          // the UID is not a decimal number, or exceeds 2^32-1 (IMAP UIDs are 32-bit)
    uid_zero,             // UID 0, which IMAP does not allow
    uid_not_increasing,   // a UID below an earlier one (indexes are written in UID order)
    duplicate_uid,        // a UID given to two lines
    duplicate_filename,   // one file base name under two UIDs
    bad_extension,        // a W<vsize> or S<size> field that is not a decimal number
    // The header's next UID is not above the highest UID listed. Dovecot
    // appends records without rewriting the header, so in a dovecot-uidlist
    // this is the normal state of a live mailbox (real stores hold "N1" over
    // entries 1..5), not damage; Courier rewrites the whole file, so there it
    // suggests an edited or mixed-up file. The checker weighs it.
    next_uid_not_above_highest,
    unterminated_last_line,  // the file ends inside a line: an append cut short
    // Last: Uidlist::defects counts by kind up to here.
    too_many_entries,        // UidlistLimits::max_entries reached; the rest is not read
};

struct UidlistDefect {
    UidlistDefectKind kind;
    std::uint64_t offset = 0;  // absolute offset of the line (or field) at fault
    std::uint64_t length = 0;
};

struct UidlistEntry {
    std::uint32_t uid = 0;
    std::string_view filename;  // as written: a base name, sometimes with info
    std::uint64_t offset = 0;   // absolute offset of the line
    std::optional<std::uint64_t> vsize;  // v3 "W" field
    std::optional<std::uint64_t> size;   // v3 "S" field
};

struct UidlistHeader {
    std::optional<std::uint32_t> version;
    std::optional<std::uint32_t> uid_validity;
    std::optional<std::uint32_t> next_uid;
    std::string_view guid;  // v3 "G" field, empty when absent
};

struct Uidlist {
    UidlistHeader header;
    std::vector<UidlistEntry> entries;  // in file order
    std::uint32_t highest_uid = 0;      // 0 when there are no entries
    KeptDefects<UidlistDefect, UidlistDefectKind, static_cast<std::size_t>(UidlistDefectKind::too_many_entries) + 1>
        defects;
};

struct UidlistLimits {
    // Ten million messages is beyond any real mailbox; past it the file is
    // taken to be garbage rather than memory spent on it.
    std::uint64_t max_entries = 10'000'000;
};

[[nodiscard]] Uidlist parse_uidlist(const ByteView& in, const UidlistLimits& limits = {});

// dovecot-keywords: "<index> <keyword>" lines giving the keyword each
// lowercase flag letter stands for (index 0 is 'a', 25 is 'z').
enum class KeywordDefectKind {
    malformed_line,     // not "<index> <keyword>"
    index_out_of_range, // an index past 25: there is no flag letter for it
    duplicate_index,    // one letter given two keywords (last: Keywords::defects counts by kind)
};

struct KeywordDefect {
    KeywordDefectKind kind;
    std::uint64_t offset = 0;  // absolute offset of the line
};

struct Keyword {
    std::uint32_t index = 0;
    std::string_view name;
    std::uint64_t offset = 0;  // absolute offset of the line
    [[nodiscard]] char letter() const { return static_cast<char>('a' + index); }
};

struct Keywords {
    std::vector<Keyword> keywords;  // valid lines only, in file order
    KeptDefects<KeywordDefect, KeywordDefectKind, static_cast<std::size_t>(KeywordDefectKind::duplicate_index) + 1>
        defects;
};

[[nodiscard]] Keywords parse_keywords(const ByteView& in);

[[nodiscard]] std::string_view defect_name(UidlistDefectKind k);
[[nodiscard]] std::string_view defect_name(KeywordDefectKind k);

}  // namespace mailfsck::maildir
