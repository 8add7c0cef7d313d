// Header blocks: fields must be ordered, inside the input, and end where the
// block says it ends.
#include <cstdint>
#include <cstdlib>

#include "parsers/mime/headers.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const mailfsck::ByteView in(data, size);
    const auto hb = mailfsck::mime::read_header_block(in, 0);
    std::uint64_t p = 0;
    for (const auto& f : hb.fields) {
        if (f.begin < p || f.name_end >= f.end || f.end > size) std::abort();
        (void)mailfsck::mime::unfolded_value(in, f);
        p = f.end;
    }
    if (hb.end > size) std::abort();
    return 0;
}
