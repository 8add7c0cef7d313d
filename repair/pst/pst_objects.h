// Items that are no mail, in the formats other programs import: a contact
// as a vCard 4 ([RFC 6350]), an appointment or meeting message as an
// iCalendar object ([RFC 5545], with the method [RFC 5546] gives meeting
// requests, cancellations and replies). Values come from the item's
// properties, named ones found through the store's name-to-id map.
#pragma once

#include <optional>
#include <string>

#include "parsers/pst/message.h"
#include "parsers/pst/named.h"

namespace mailfsck {

struct ItemObject {
    std::string extension;   // "vcf" or "ics"
    std::string media_type;  // for a MIME part: "text/vcard", "text/calendar; method=REQUEST"
    std::string text;        // UTF-8, LF line ends, lines folded at 75 octets
};

// The item's object, or nullopt when its class is neither a contact nor
// a calendar item.
[[nodiscard]] std::optional<ItemObject> compose_object(const pst::Message& message, const pst::NameMap& names);

}  // namespace mailfsck
