// Maildir UID indexes: entries and defects must lie inside the input, in
// order, within the entry limit, with the UIDs the grammar allows; keyword
// letters must be a-z, each once.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "parsers/maildir/uidlist.h"

namespace {

bool inside(std::string_view part, const std::uint8_t* data, std::size_t size) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(part.data());
    return !part.empty() && p >= data && p + part.size() <= data + size;
}

void check_uidlist(const mailfsck::ByteView& in, const std::uint8_t* data, std::size_t size) {
    mailfsck::maildir::UidlistLimits limits;
    limits.max_entries = 64;  // small enough for the fuzzer to reach
    const auto u = mailfsck::maildir::parse_uidlist(in, limits);
    if (u.entries.size() > limits.max_entries) std::abort();
    std::uint32_t highest = 0;
    std::uint64_t previous = 0;  // entries follow the header line at 0
    for (const auto& e : u.entries) {
        if (e.uid == 0 || e.offset >= size || e.offset <= previous) std::abort();
        if (!inside(e.filename, data, size)) std::abort();
        highest = e.uid > highest ? e.uid : highest;
        previous = e.offset;
    }
    if (highest != u.highest_uid) std::abort();
    for (const auto& d : u.defects)
        if (d.offset > size || d.length > size - d.offset) std::abort();
}

void check_keywords(const mailfsck::ByteView& in, std::size_t size) {
    const auto k = mailfsck::maildir::parse_keywords(in);
    unsigned seen = 0;
    for (const auto& kw : k.keywords) {
        if (kw.index > 25 || kw.offset >= size || (seen & (1U << kw.index)) != 0) std::abort();
        seen |= 1U << kw.index;
    }
    for (const auto& d : k.defects)
        if (d.offset >= size) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const mailfsck::ByteView in(data, size);
    check_uidlist(in, data, size);
    check_keywords(in, size);
    return 0;
}
