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
#include "parsers/pst/named.h"
#include "repair/pst/pst_objects.h"

namespace mailfsck {

struct ComposedMessage {
    std::string bytes;  // LF line ends
    // Seconds since the epoch: delivery, else submission, else creation.
    std::optional<std::int64_t> received;
    std::string subject;  // UTF-8, for the report
    // A contact's vCard or a calendar item's iCalendar object, also a
    // part of `bytes`; CRLF line ends, as a file of its own holds it.
    std::optional<ItemObject> object;
    std::string object_bytes;
};

// `names` resolves the named properties contacts and calendar items keep
// their addresses and times in.
[[nodiscard]] ComposedMessage compose_message(const pst::Message& message, const pst::NameMap& names);

// Base64 ([RFC 2045] 6.8), in lines of 76 ending in LF, or one line without.
[[nodiscard]] std::string base64(const std::vector<unsigned char>& data, bool lines);

// Seconds since 1970 as UTC text in a strftime format.
[[nodiscard]] std::string utc_text(std::int64_t t, const char* format);

// FILETIME (100 ns since 1601) to seconds since 1970.
[[nodiscard]] std::int64_t unix_time(std::uint64_t filetime);

}  // namespace mailfsck
