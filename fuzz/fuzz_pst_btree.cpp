// B-tree pages ([MS-PST] 2.2.2.7): the input is a file whose first page is
// the root of a BBT or an NBT; the walk must end, whatever the pages say
// (pages that point to themselves or to each other included), give leaf
// entries in strictly ascending key order, and place every entry in the
// file. Lookups from the same root must end too. Inputs whose first byte
// has bit 0x40 set are read in the checksum mode (pst_checksums.h).
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <vector>

#include "fuzz/pst_checksums.h"
#include "fuzz/pst_input.h"
#include "parsers/pst/btree.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace mailfsck::pst;
    // Not a structured binding: clang 14 cannot capture one in a lambda.
    const mailfsck::fuzz::PstInput in = mailfsck::fuzz::pst_input(data, size);
    const Layout& layout = in.layout;
    std::vector<std::uint8_t> bytes(in.rest.data(), in.rest.data() + in.rest.size());
    if (size > 0 && (data[0] & 0x40)) mailfsck::fuzz::seal_pages(bytes, layout);
    const mailfsck::ByteView file(bytes.data(), bytes.size());
    const PageType type = size > 0 && (data[0] & 0x80) ? PageType::nbt : PageType::bbt;
    // The root's id is what its trailer says, so the walk gets past the
    // check that the id is the one its parent expects.
    std::uint64_t root_bid = 0;
    if (const std::optional<mailfsck::ByteView> page = page_at(file, 0, layout))
        root_bid = read_page_trailer(*page, layout).bid;
    const Bref root{root_bid, 0};
    std::optional<std::uint64_t> last;
    const auto key = [&](std::uint64_t k, std::uint64_t at) {
        if ((last && k <= *last) || at >= file.size()) std::abort();
        last = k;
    };
    TreeVisitor v;
    v.bbt = [&](const BbtEntry& e) { key(bid_key(e.bid), e.at); };
    v.nbt = [&](const NbtEntry& e) { key(e.nid, e.at); };
    (void)walk_tree(file, layout, type, root, v);
    (void)find_block(file, layout, root, last.value_or(0));
    (void)find_node(file, layout, root, last.value_or(0));
    return 0;
}
