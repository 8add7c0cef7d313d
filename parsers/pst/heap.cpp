#include "heap.h"

namespace mailfsck::pst {

std::string_view defect_name(HeapDefectKind k) {
    switch (k) {
        case HeapDefectKind::bad_signature: return "bad_signature";
        case HeapDefectKind::bad_page_map: return "bad_page_map";
        case HeapDefectKind::bad_allocation: return "bad_allocation";
        case HeapDefectKind::missing_block: return "missing_block";
    }
    return "?";
}

namespace {

constexpr std::uint8_t heap_signature = 0xEC;

// Header sizes before the first allocation: HNHDR in block 0, HNBITMAPHDR
// in blocks 8, 136, 264, ..., HNPAGEHDR elsewhere ([MS-PST] 2.3.1.2-4).
std::uint32_t header_size(std::size_t block) {
    if (block == 0) return 12;
    if (block % 128 == 8) return 66;
    return 2;
}

}  // namespace

Heap::Heap(std::vector<std::optional<std::vector<unsigned char>>> blocks) : blocks_(std::move(blocks)) {
    pages_.resize(blocks_.size());
    for (std::size_t b = 0; b < blocks_.size(); ++b) {
        const auto index = static_cast<std::uint32_t>(b);
        if (!blocks_[b]) {
            defects_.push_back({HeapDefectKind::missing_block, index, {}});
            continue;
        }
        const ByteView data(blocks_[b]->data(), blocks_[b]->size(), 0);
        Cursor c(data);
        const std::uint16_t ib_map = c.u16le();
        if (b == 0) {
            const std::uint8_t sig = c.u8();
            client_ = c.u8();
            user_root_.value = c.u32le();
            if (sig != heap_signature) {
                defects_.push_back({HeapDefectKind::bad_signature, 0, "bSig " + std::to_string(sig)});
                return;
            }
        }
        Cursor m(data, ib_map);
        const std::uint16_t count = m.u16le();
        (void)m.u16le();  // cFree: no reader needs it
        if (!m.ok() || ib_map < header_size(b) || (std::uint64_t{count} + 1) * 2 > m.remaining()) {
            defects_.push_back({HeapDefectKind::bad_page_map, index,
                                "ibHnpm " + std::to_string(ib_map) + ", cAlloc " + std::to_string(count)});
            continue;
        }
        Page& page = pages_[b];
        page.bounds.reserve(count + 1);
        for (std::uint32_t i = 0; i <= count; ++i) page.bounds.push_back(m.u16le());
        // Allocations run forward from the header to the page map.
        bool ordered = page.bounds.front() >= header_size(b) && page.bounds.back() <= ib_map;
        for (std::size_t i = 1; i < page.bounds.size(); ++i) ordered = ordered && page.bounds[i - 1] <= page.bounds[i];
        if (!ordered) {
            defects_.push_back({HeapDefectKind::bad_allocation, index, "allocation bounds out of order"});
            page.bounds.clear();
        }
    }
    valid_ = !blocks_.empty() && blocks_[0].has_value() &&
             (defects_.empty() || defects_.front().kind != HeapDefectKind::bad_signature);
}

std::optional<ByteView> Heap::get(Hid hid) const {
    if (!hid.is_hid() || hid.index() == 0 || hid.block() >= pages_.size() || !blocks_[hid.block()]) return std::nullopt;
    const std::vector<std::uint16_t>& bounds = pages_[hid.block()].bounds;
    if (hid.index() >= bounds.size()) return std::nullopt;
    const std::vector<unsigned char>& data = *blocks_[hid.block()];
    const std::uint16_t begin = bounds[hid.index() - 1];
    const std::uint16_t end = bounds[hid.index()];
    if (end > data.size()) return std::nullopt;
    return ByteView(data.data() + begin, end - begin, begin);
}

}  // namespace mailfsck::pst
