// Items that are no mail, in the formats other programs import: a contact
// as a vCard 4 ([RFC 6350]), an appointment or meeting message as an
// iCalendar object ([RFC 5545], with the method [RFC 5546] gives meeting
// requests, cancellations and replies). Values come from the item's
// properties, named ones found through the store's name-to-id map.
#pragma once

#include <optional>
#include <string>
#include <string_view>

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

// Mail, a post or a report: what MIME holds whole. Other items (tasks,
// notes, distribution lists, journal entries, contacts, appointments) also
// carry a listing of their properties.
[[nodiscard]] bool is_mail_class(std::string_view message_class);

// Every property of an item but the bodies and headers the message holds
// already, one a line: id, name (for named properties: set and number or
// string), type, value ("0x8105 {00062003-...}:0x8105 PtypTime 2021-08-12T20:28:46Z").
[[nodiscard]] std::string property_listing(const pst::PropertyContext& pc, const pst::NameMap& names);

}  // namespace mailfsck
