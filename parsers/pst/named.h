// The name-to-id map ([MS-PST] 2.4.7): which property set and name
// (a number or a string) each named property id (0x8000 and up) stands
// for. Contacts keep their e-mail addresses and appointments their times
// in named properties, so the export needs this map to find them.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "parsers/pst/messaging.h"

namespace mailfsck::pst {

inline constexpr std::uint32_t nid_name_to_id_map = 0x61;

// A GUID as stored: the first three fields little-endian.
using Guid = std::array<unsigned char, 16>;

// "00062004-0000-0000-C000-000000000046" as stored bytes.
[[nodiscard]] constexpr Guid guid(const char (&text)[37]) {
    const auto nibble = [](char c) {
        return static_cast<unsigned char>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    };
    const auto byte_at = [&](int pos) { return static_cast<unsigned char>(nibble(text[pos]) << 4 | nibble(text[pos + 1])); };
    // Text positions of the 16 bytes in storage order.
    constexpr int pos[16] = {6, 4, 2, 0, 11, 9, 16, 14, 19, 21, 24, 26, 28, 30, 32, 34};
    Guid g{};
    for (int i = 0; i < 16; ++i) g[static_cast<std::size_t>(i)] = byte_at(pos[i]);
    return g;
}

// Property sets ([MS-OXPROPS] 1.3.2).
namespace psetid {
inline constexpr Guid mapi = guid("00020328-0000-0000-C000-000000000046");
inline constexpr Guid public_strings = guid("00020329-0000-0000-C000-000000000046");
inline constexpr Guid appointment = guid("00062002-0000-0000-C000-000000000046");
inline constexpr Guid task = guid("00062003-0000-0000-C000-000000000046");
inline constexpr Guid address = guid("00062004-0000-0000-C000-000000000046");
inline constexpr Guid common = guid("00062008-0000-0000-C000-000000000046");
inline constexpr Guid meeting = guid("6ED8DA90-450B-101B-98DA-00AA003F1305");
}  // namespace psetid

// What a named property id stands for: a set and a number, or a set and
// a string (then `lid` is unused).
struct PropertyName {
    Guid set{};
    std::uint32_t lid = 0;
    std::optional<std::string> name;
};

class NameMap {
public:
    // The property id a numbered name has in this store, if it has one.
    [[nodiscard]] std::optional<std::uint16_t> id(const Guid& set, std::uint32_t lid) const;
    // The name an id (0x8000 and up) stands for, if the map has it.
    [[nodiscard]] const PropertyName* name(std::uint16_t id) const;
    [[nodiscard]] std::size_t size() const { return by_name_.size(); }

    // Damage found while reading: entries naming a GUID or a string that
    // is not there, or an id out of range; each such entry is skipped.
    std::vector<std::string> defects;
    bool valid = false;  // the map's node was read as a property context

    // Builds the map from the three streams of the map's PC.
    static NameMap from_streams(const std::vector<unsigned char>& guids, const std::vector<unsigned char>& entries,
                                const std::vector<unsigned char>& strings);

private:
    std::map<std::pair<Guid, std::uint32_t>, std::uint16_t> by_name_;
    std::map<std::uint16_t, PropertyName> by_id_;
};

// Whether a property context is a name-to-id map's: it has the bucket
// count and the GUID, entry and string streams ([MS-PST] 2.4.7.1).
[[nodiscard]] bool is_name_map(const PropertyContext& pc);

// Reads the store's map (node 0x61); an unreadable map is empty and not valid.
[[nodiscard]] NameMap read_name_map(const Messaging& messaging, std::vector<ReadIssue>& issues);
// The same from the map's blocks, when its node entry is lost (rebuild.h).
[[nodiscard]] NameMap read_name_map(const Messaging& messaging, const NodeRef& node, std::vector<ReadIssue>& issues);

}  // namespace mailfsck::pst
