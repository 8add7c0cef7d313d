// The name-to-id map of a new PST ([MS-PST] 2.4.7): named properties get
// ids from 0x8000 in the order first asked for, and the map is written as
// the GUID, entry and string streams and the hash buckets Outlook looks
// names up in.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "parsers/pst/ltp.h"
#include "parsers/pst/named.h"

namespace mailfsck::pstw {

class NameMapWriter {
public:
    NameMapWriter();
    // The id `name` has in the new store, given one if it has none yet;
    // nullopt once all 32,767 ids are taken.
    std::optional<std::uint16_t> id(const pst::PropertyName& name);
    // The map node's properties.
    [[nodiscard]] std::vector<pst::Property> properties() const;

private:
    // The key a name is known by: set, string or not, number, string.
    using Key = std::tuple<pst::Guid, bool, std::uint32_t, std::string>;
    std::map<Key, std::uint16_t> ids_;
    std::vector<pst::PropertyName> names_;  // by id - 0x8000
};

}  // namespace mailfsck::pstw
