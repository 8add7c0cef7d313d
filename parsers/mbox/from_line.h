// mbox separator lines ("From_" lines and MMDF markers).
//
// RFC 4155 and the mbox(5) pages give a strict form, "From " envelope-sender
// SP date, but real writers vary: Thunderbird writes "From - <date>" or a
// bare "From - ", Gmail Takeout "From <thread-id>@xxx <date>", pipermail
// "From user at host  <date>". Classification keeps that evidence so the
// framer can weigh a candidate line together with what follows it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "parsers/bytes/bytes.h"

namespace mailfsck::mbox {

enum class FromLineKind {
    not_from,  // does not start with "From "
    strict,    // "From " sender, then a parseable asctime-style date
    loose,     // "From " followed by anything else (no or odd date)
};

// Classifies the content of one line (without its terminator).
[[nodiscard]] FromLineKind classify_from_line(std::string_view content);
// Classifies what follows "From " on a separator line: strict when it is
// a sender and a date, loose otherwise.
[[nodiscard]] FromLineKind classify_envelope(std::string_view envelope);

// The date of a strict From_ line as seconds since the epoch, read as UTC
// (mbox writers put local time there and no zone): nullopt unless the line
// is strict and its date is a real one.
[[nodiscard]] std::optional<std::int64_t> envelope_time(std::string_view content);

// MMDF message delimiter: exactly four ^A bytes.
[[nodiscard]] bool is_mmdf_marker(std::string_view content);

}  // namespace mailfsck::mbox
