// The first byte of a layer target's input picks the file format whose
// layouts the rest is read with, so one corpus covers all three.
#pragma once

#include <cstddef>
#include <cstdint>

#include "parsers/bytes/bytes.h"
#include "parsers/pst/format.h"

namespace mailfsck::fuzz {

struct PstInput {
    const pst::Layout& layout;
    ByteView rest;
};

inline PstInput pst_input(const std::uint8_t* data, std::size_t size) {
    static constexpr pst::Format formats[] = {pst::Format::ansi, pst::Format::unicode, pst::Format::unicode_4k};
    const pst::Format f = size == 0 ? pst::Format::unicode : formats[data[0] % 3];
    return {pst::layout_for(f), size == 0 ? ByteView(data, 0) : ByteView(data + 1, size - 1)};
}

}  // namespace mailfsck::fuzz
