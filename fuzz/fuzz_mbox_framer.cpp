// mbox framing: segments must tile the input exactly, in order, and every
// cut must lie inside its message.
#include <cstdint>
#include <cstdlib>

#include "parsers/mbox/framer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const mailfsck::ByteView in(data, size);
    mailfsck::mbox::Framer framer(in);
    std::uint64_t next = 0;
    while (auto s = framer.next()) {
        if (s->begin != next || s->end <= s->begin || s->end > size) std::abort();
        std::uint64_t p = s->header_begin;
        for (const auto& c : s->cuts) {
            if (c.offset < p || c.end() > s->end) std::abort();
            p = c.end();
        }
        next = s->end;
    }
    if (next != size) std::abort();
    return 0;
}
