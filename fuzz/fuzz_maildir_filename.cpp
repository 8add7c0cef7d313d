// Maildir file names: every part must be a piece of the input in its place,
// and the canonical name built from them must parse back to the same parts
// with no defect but those its unique part brings along.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "parsers/maildir/filename.h"

namespace {

using mailfsck::maildir::NameDefectKind;
using mailfsck::maildir::ParsedName;

bool inside(std::string_view part, const std::uint8_t* data, std::size_t size) {
    if (part.empty()) return true;
    const auto* p = reinterpret_cast<const std::uint8_t*>(part.data());
    return p >= data && p + part.size() <= data + size;
}

// Defects a unique part keeps whatever the repair does with the rest.
bool carried_by_unique(NameDefectKind k) {
    return k == NameDefectKind::empty_base || k == NameDefectKind::invalid_utf8 ||
           k == NameDefectKind::control_character;
}

void check_parts(const ParsedName& n, const std::uint8_t* data, std::size_t size) {
    for (std::string_view part : {n.unique, n.base, n.info, n.flags, n.extra})
        if (!inside(part, data, size)) std::abort();
    if (n.base.substr(0, n.unique.size()) != n.unique) std::abort();
    const std::size_t expected = n.has_info() ? n.base.size() + 1 + n.info.size() : n.base.size();
    if (expected != size) std::abort();
    if (n.standard_flags.size() + n.keywords.size() > n.flags.size()) std::abort();
    for (const auto& d : n.defects)
        if (d.position >= size && d.position != 0) std::abort();
}

void check_canonical(const ParsedName& n) {
    std::string flags = n.standard_flags + n.keywords;
    std::sort(flags.begin(), flags.end());
    flags.erase(std::unique(flags.begin(), flags.end()), flags.end());
    const std::string canonical = mailfsck::maildir::canonical_name(n.unique, n.size, n.vsize, n.flags);
    const ParsedName again = mailfsck::maildir::parse_filename(mailfsck::ByteView(std::string_view(canonical)));
    for (const auto& d : again.defects)
        if (!carried_by_unique(d.kind)) std::abort();
    if (again.unique != n.unique || again.size != n.size || again.vsize != n.vsize) std::abort();
    if (again.separator != mailfsck::maildir::InfoSeparator::colon || again.flags != flags) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ParsedName n = mailfsck::maildir::parse_filename(mailfsck::ByteView(data, size));
    check_parts(n, data, size);
    check_canonical(n);
    return 0;
}
