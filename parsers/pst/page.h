// Pages ([MS-PST] 2.2.2.7): the fixed-size units of the B-trees and the
// allocation maps, each ending in a PAGETRAILER; and the B-tree page
// ([MS-PST] 2.2.2.7.7) with its entries, decoded from the bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "parsers/bytes/bytes.h"
#include "parsers/bytes/source.h"
#include "parsers/pst/format.h"

namespace mailfsck::pst {

struct PageTrailer {
    std::uint8_t ptype = 0;
    std::uint8_t ptype_repeat = 0;
    std::uint16_t signature = 0;
    std::uint32_t crc = 0;
    std::uint64_t bid = 0;
};

enum class PageDefectKind {
    out_of_file,       // the page lies (partly) past the end of the file
    type_mismatch,     // ptype and ptypeRepeat differ, or name another kind of page than expected
    bad_signature,     // wSig is not the signature of the page's offset and id
    bad_crc,           // dwCRC disagrees with the page's bytes
    wrong_bid,         // the trailer's id is not the one the referencing entry expects
    bad_entry_size,    // cbEnt is not the size of this B-tree's entries at this level
    bad_entry_count,   // cEnt exceeds cEntMax or the room in the page
    bad_level,         // cLevel is not one below its parent's (or implausibly deep at the root)
    keys_not_ascending, // entry keys not strictly ascending
    first_key_mismatch, // the page's first key differs from its parent entry's key (btkeyMin)
    key_out_of_range,   // a key at or past the parent's next sibling key
    cycle,             // a page reached twice
    too_deep,          // more levels than any real B-tree has
};

struct PageDefect {
    PageDefectKind kind;
    std::uint64_t offset = 0;  // in the file
    std::uint64_t length = 0;
    std::string detail;
};

// The page at `ib`, or nullopt when it does not fit in the file.
[[nodiscard]] std::optional<ByteView> page_at(const ByteView& file, std::uint64_t ib, const Layout& layout);

// page_at, the bytes copied into `buffer` (Source::read) when `through` is
// given, for a caller reading pages all over a large store; the view is
// valid until `buffer` changes.
[[nodiscard]] std::optional<ByteView> read_page(const ByteView& file, std::uint64_t ib, const Layout& layout,
                                                const Source* through, std::vector<unsigned char>& buffer);

[[nodiscard]] PageTrailer read_page_trailer(const ByteView& page, const Layout& layout);

// Makes the trailer of a page (`layout.page_size` bytes, at file offset
// `ib`) true to the page: wSig from the offset and the trailer's id (0 on
// allocation-map pages), dwCRC over the page's data. For code that builds
// pages (the fuzz targets' checksum mode); nothing that reads a store
// calls it.
void seal_page(std::span<std::uint8_t> page, const Layout& layout, std::uint64_t ib);

// Checks a page's trailer: type, signature, CRC and (when given) the id its
// referrer expects. Appends what is wrong to `defects`; true when nothing is.
bool check_page_trailer(const ByteView& page, const Layout& layout, PageType expected,
                        std::optional<std::uint64_t> expected_bid, std::vector<PageDefect>& defects);

// B-tree page metadata (cEnt, cEntMax, cbEnt, cLevel).
struct BtPageInfo {
    std::uint32_t count = 0;
    std::uint32_t max = 0;
    std::uint32_t entry_size = 0;
    std::uint32_t level = 0;
};

[[nodiscard]] std::string_view defect_name(PageDefectKind k);

[[nodiscard]] BtPageInfo read_bt_info(const ByteView& page, const Layout& layout);

// The format of the first B-tree page, within the first `limit` bytes, whose
// trailer checks out (type, CRC, signature): evidence that a file whose
// header is gone is a PST, and of its format.
[[nodiscard]] std::optional<Format> find_btree_page(const ByteView& file, std::uint64_t limit);

}  // namespace mailfsck::pst
