// Where the allocation maps lie ([MS-PST] 2.2.2.7.2-2.2.2.7.6): an AMap
// page opens every span of the file; a PMap follows every eighth AMap; FMaps
// and FPMaps (deprecated, but their places and checksums must be kept)
// follow the PMap once the file outgrows the header's own free maps, and
// the density list (DList, [MS-PST] 2.2.2.7.4) has one page of its own.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "parsers/bytes/bytes.h"
#include "parsers/pst/format.h"

namespace mailfsck::pst {

struct MapPage {
    PageType type = PageType::amap;
    std::uint64_t ib = 0;
};

// The map pages a file of `end` bytes has in [begin, end), ascending.
[[nodiscard]] std::vector<MapPage> map_pages(const Layout& layout, std::uint64_t begin, std::uint64_t end);

// The DList's place: Outlook 2007 SP2 and later write it, older files leave
// the page zeroed.
[[nodiscard]] std::uint64_t dlist_offset(const Layout& layout);

// DLISTPAGEENT: an AMap's index (20 bits) and its free 64-byte slots (12).
struct DlistEntry {
    std::uint32_t amap = 0;
    std::uint32_t free_slots = 0;
};

struct Dlist {
    std::uint8_t flags = 0;
    std::uint32_t current_page = 0;
    std::vector<DlistEntry> entries;  // at most the room in the page
};

[[nodiscard]] Dlist read_dlist(const ByteView& page, const Layout& layout);

}  // namespace mailfsck::pst
