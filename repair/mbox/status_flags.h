// What an mbox message's status headers say about it, as Maildir flags:
// the state a conversion to Maildir must keep so read mail stays read.
#pragma once

#include <cstdint>
#include <string>

#include "parsers/bytes/bytes.h"

namespace mailfsck {

// Maildir flags (ASCII order) from the header block at `header_begin` of
// `in`: c-client's and mutt's Status (R read) and X-Status (A answered,
// F flagged, D deleted, T draft), and Thunderbird's X-Mozilla-Status bits
// (0x1 read, 0x2 replied, 0x4 flagged, 0x8 deleted).
[[nodiscard]] std::string status_flags(const ByteView& in, std::uint64_t header_begin);

}  // namespace mailfsck
