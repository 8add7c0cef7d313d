// Blocks ([MS-PST] 2.2.2.8): the input is a block at offset 0 whose size
// its own trailer gives. Checking it must stay inside the input; an
// internal block's entries must fit in its data; a 4 KiB file's block
// must inflate to the size its entry states, or not at all. The same bytes,
// halved, are the two sides of a block cut by inserted bytes: cut_point
// must join it where a CRC over the join says, checked by joining.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <vector>

#include "fuzz/pst_input.h"
#include "parsers/pst/block.h"

namespace {

using mailfsck::ByteView;

std::uint32_t joined_crc(const ByteView& placed, const ByteView& shifted, std::size_t k) {
    std::vector<unsigned char> block(placed.data(), placed.data() + k);
    block.insert(block.end(), shifted.data() + k, shifted.data() + shifted.size());
    return mailfsck::pst::crc32(ByteView(block.data(), block.size()));
}

// Whether the joins at a and b are the same bytes: the two sides agree
// between them.
bool same_join(const ByteView& placed, const ByteView& shifted, std::size_t a, std::size_t b) {
    const std::size_t lo = std::min(a, b), hi = std::max(a, b);
    return std::equal(placed.data() + lo, placed.data() + hi, shifted.data() + lo);
}

// Small enough to join at every k (O(n^2)) as the oracle, at a cost the
// gate's million runs can pay.
constexpr std::size_t brute_force_below = 24;

// `crc` taken from a join at `k0` (0: any value, that may match none).
void check_cut(const ByteView& placed, const ByteView& shifted, std::uint32_t crc, std::size_t k0) {
    const std::size_t n = shifted.size();
    const std::optional<mailfsck::pst::Cut> cut = mailfsck::pst::cut_point(placed, shifted, crc);
    if (cut) {
        if (cut->first < 1 || cut->first > cut->last || cut->last > n) std::abort();
        if (joined_crc(placed, shifted, cut->first) != crc || !same_join(placed, shifted, cut->first, cut->last))
            std::abort();
        if (k0 != 0 && !same_join(placed, shifted, cut->first, k0)) std::abort();
    }
    if (n >= brute_force_below) return;
    std::size_t first = 0, last = 0;
    bool ambiguous = false;
    for (std::size_t k = 1; k <= n; ++k) {
        if (joined_crc(placed, shifted, k) != crc) continue;
        if (first != 0 && !same_join(placed, shifted, first, k)) ambiguous = true;
        if (first == 0) first = k;
        last = k;
    }
    if ((first != 0 && !ambiguous) != cut.has_value()) std::abort();
    if (cut && (cut->first != first || cut->last != last)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace mailfsck::pst;
    const mailfsck::fuzz::PstInput in = mailfsck::fuzz::pst_input(data, size);
    // Blocks are what is cut: no side longer than a block's data.
    if (const std::size_t n = in.rest.size() / 2; n > 0 && n <= in.layout.max_block_data()) {
        const ByteView placed = in.rest.sub(0, n);
        const ByteView shifted = in.rest.sub(n, n);
        const std::size_t k0 = 1 + crc32(in.rest) % n;
        const std::uint32_t crc = joined_crc(placed, shifted, k0);
        check_cut(placed, shifted, crc, k0);
        // A CRC no join need give: only the oracle can judge the answer.
        if (n < brute_force_below) check_cut(placed, shifted, crc ^ crc32(placed), 0);
    }
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
