// A PST message as an RFC 5322 / MIME message (RFC 2045-2047, 2231): its
// own transport headers when Outlook kept them, otherwise headers made
// from its properties; the plain and HTML bodies as alternatives; RTF
// when that is all there is; attachments by value, OLE objects, and
// embedded messages as message/rfc822. Composed by our own code (no value
// from the store reaches a third-party parser), with boundaries derived
// from the content, so the same PST always gives the same bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "parsers/pst/message.h"

namespace mailfsck {

struct ComposedMessage {
    std::string bytes;  // LF line ends
    // What the message lost, one line each: "attachment 3 (report.pdf)
    // unreadable", "body unreadable".
    std::vector<std::string> missing;
    // Seconds since the epoch: delivery, else submission, else creation.
    std::optional<std::int64_t> received;
    std::string subject;  // UTF-8, for the report
};

[[nodiscard]] ComposedMessage compose_message(const pst::Message& message);

// FILETIME (100 ns since 1601) to seconds since 1970.
[[nodiscard]] std::int64_t unix_time(std::uint64_t filetime);

}  // namespace mailfsck
