// Blocks ([MS-PST] 2.2.2.8): the input is a block at offset 0 whose size
// its own trailer gives. Checking it must stay inside the input; an
// internal block's entries must fit in its data; a 4 KiB file's block
// must inflate to the size its entry states, or not at all.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <vector>

#include "fuzz/pst_input.h"
#include "parsers/pst/block.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace mailfsck::pst;
    const mailfsck::fuzz::PstInput in = mailfsck::fuzz::pst_input(data, size);
    const Layout& layout = in.layout;
    const mailfsck::ByteView file = in.rest;
    const std::optional<BlockTrailer> t = read_block_trailer(file, file.size(), layout);
    if (!t) return 0;
    BbtEntry e;
    e.bid = t->bid;
    e.cb = t->cb;
    e.cb_inflated = t->cb;
    if (layout.block_align == 512 && size > 1) e.cb_inflated = t->cb + (data[1] & 0x7F) * 64U;
    std::vector<BlockDefect> defects;
    const std::optional<mailfsck::ByteView> stored = check_block(file, layout, e, defects);
    if (!stored) return 0;
    if (stored->size() != e.cb) std::abort();
    const InternalBlock ib = read_internal_block(*stored, layout);
    if (ib.valid && ib.entries.size() > stored->size()) std::abort();
    std::vector<unsigned char> buffer;
    if (const std::optional<mailfsck::ByteView> content = block_content(*stored, e.cb_inflated, buffer))
        if (content->size() != e.cb_inflated) std::abort();
    return 0;
}
