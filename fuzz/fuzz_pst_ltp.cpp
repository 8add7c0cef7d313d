// The LTP layer ([MS-PST] 2.3): the input, cut into up to eight blocks of a
// node's data, is read as a heap, its BTH, a property context and a table
// context. Every value must come from the input; no count read from it may
// make more records than its bytes can hold.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <vector>

#include "parsers/pst/heap.h"
#include "parsers/pst/ltp.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace mailfsck::pst;
    if (size < 2) return 0;
    // The first byte: how many blocks, and whether row indexes are ANSI's.
    const std::size_t blocks = 1 + (data[0] & 7);
    const std::uint32_t row_index_size = (data[0] & 8) ? 2 : 4;
    std::vector<std::optional<std::vector<unsigned char>>> parts;
    const std::size_t body = size - 1, step = (body + blocks - 1) / blocks;
    for (std::size_t at = 1; at < size; at += step) {
        const std::size_t n = std::min(step, size - at);
        parts.emplace_back(std::vector<unsigned char>(data + at, data + at + n));
    }
    const Heap heap(std::move(parts));
    const Bth bth = read_bth(heap, heap.user_root());
    if (bth.records.size() > size) std::abort();
    const SubnodeData no_subnodes = [](std::uint32_t) { return std::optional<std::vector<unsigned char>>{}; };
    const PropertyContext pc = read_pc(heap, no_subnodes);
    if (pc.properties.size() > size) std::abort();
    const SubnodeBlocks no_rows = [](std::uint32_t) { return std::vector<std::optional<std::vector<unsigned char>>>{}; };
    const TableContext tc = read_tc(heap, no_subnodes, no_rows, row_index_size);
    if (tc.columns.size() > size || tc.rows.size() > size) std::abort();
    return 0;
}
