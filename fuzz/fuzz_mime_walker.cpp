// The MIME walker on one message: defects must lie inside the message; the
// entities it lists (for conversion) lie inside it, each inside its parent,
// and listing them changes nothing else of the walk.
#include <cstdint>
#include <cstdlib>

#include "parsers/mime/walker.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const mailfsck::ByteView in(data, size, 1000);
    const mailfsck::mime::Summary s = mailfsck::mime::walk(in);
    for (const auto& d : s.defects)
        if (d.offset < 1000 || d.offset + d.length > 1000 + size) std::abort();
    mailfsck::mime::Limits listing;
    listing.record_entities = true;
    const mailfsck::mime::Summary e = mailfsck::mime::walk(in, listing);
    if (e.defects.size() != s.defects.size() || e.parts != s.parts || e.entities.size() > e.parts) std::abort();
    for (std::size_t i = 0; i < e.entities.size(); ++i) {
        const auto& x = e.entities[i];
        if (x.begin > x.body_begin || x.body_begin > x.end || x.end > size) std::abort();
        if (i == 0 ? x.parent != 0 : x.parent >= i) std::abort();
        const auto& p = e.entities[x.parent];
        if (i > 0 && (x.begin < p.body_begin || x.end > p.end)) std::abort();
    }
    return 0;
}
