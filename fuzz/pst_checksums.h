// The PST targets' checksum mode. A mutation almost always breaks the CRC
// of the page it lands in, and the reader rightly takes such a page for
// damage and salvages around it, so the mutated fields themselves would
// seldom reach the layers behind the check. On the inputs a target chooses,
// the header and every page whose trailer names a page type are sealed
// first (CRCs and signatures made true to the mutated bytes): the checks
// still run, and what they let through is the mutation. Blocks need nothing:
// one whose CRC fails is read as stored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "parsers/pst/header.h"
#include "parsers/pst/page.h"

namespace mailfsck::fuzz {

inline void seal_pages(std::span<std::uint8_t> file, const pst::Layout& layout) {
    const std::size_t trailer = layout.page_size - layout.page_trailer;
    for (std::size_t ib = 0; file.size() - ib >= layout.page_size; ib += layout.page_size) {
        const std::uint8_t type = file[ib + trailer];
        const bool page = type >= static_cast<std::uint8_t>(pst::PageType::bbt) &&
                          type <= static_cast<std::uint8_t>(pst::PageType::dlist) && file[ib + trailer + 1] == type;
        if (page) pst::seal_page(file.subspan(ib, layout.page_size), layout, ib);
    }
}

// A whole file: its header, then its pages in the format the header names.
inline std::vector<std::uint8_t> sealed_file(const std::uint8_t* data, std::size_t size) {
    std::vector<std::uint8_t> bytes(data, data + size);
    pst::seal_header(bytes);
    const pst::Header h = pst::read_header(ByteView(bytes.data(), bytes.size()));
    if (h.format) seal_pages(bytes, pst::layout_for(*h.format));
    return bytes;
}

}  // namespace mailfsck::fuzz
