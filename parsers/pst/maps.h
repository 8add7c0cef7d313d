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
#include "parsers/bytes/source.h"
#include "parsers/pst/btree.h"
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

// What the AMaps say of the space a block was written in. Outlook frees the
// blocks of a deleted message, and those of a message's older version, so
// when the B-trees are lost, a message the maps mark free is not live mail,
// and one they mark allocated is live mail whose index entries are gone. The
// maps are rewritten in place: they are as of the file's last write. A map
// is believed only when its page
// checks out as the map of that place (an AMap's trailer id is the offset
// it was written at): where it was written, or moved by a shift the
// store's moved blocks show. Callers decide whether the header lets the
// maps be read at all (fAMapValid).
enum class Allocation { unknown, free, allocated };

class AllocationMaps {
public:
    // `blocks`: the index the block will come from; its moved blocks that
    // carving placed (written_at) give the shifts a map may have moved by.
    AllocationMaps(const Source& source, const Layout& layout, const std::vector<BbtEntry>& blocks);
    // unknown: the block moved and nothing places it, its map does not
    // check out, or the map marks it partly free.
    [[nodiscard]] Allocation of(const BbtEntry& block) const;

    static constexpr std::size_t max_shifts = 8;  // the most common

private:
    [[nodiscard]] std::optional<ByteView> map_page(std::uint64_t at) const;

    const Source* source_;
    const Layout* layout_;
    std::vector<std::uint64_t> shifts_;  // added modulo 2^64 to a written offset: where it lies now
    mutable std::vector<unsigned char> buffer_;
};

}  // namespace mailfsck::pst
