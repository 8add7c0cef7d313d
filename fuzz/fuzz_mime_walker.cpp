// The MIME walker on one message: defects must lie inside the message.
#include <cstdint>
#include <cstdlib>

#include "parsers/mime/walker.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const mailfsck::ByteView in(data, size, 1000);
    const mailfsck::mime::Summary s = mailfsck::mime::walk(in);
    for (const auto& d : s.defects)
        if (d.offset < 1000 || d.offset + d.length > 1000 + size) std::abort();
    return 0;
}
