// The PST/OST header ([MS-PST] 2.2.2.6): any bytes give a header whose
// format, when named, is the one its version announces, and whose defects
// lie within the header or the file.
#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "parsers/pst/header.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace mailfsck::pst;
    const Header h = read_header(mailfsck::ByteView(data, size));
    if (h.format && h.format != format_for_version(h.version)) std::abort();
    for (const HeaderDefect& d : h.defects)
        if (d.offset + d.length > std::max<std::size_t>(size, 4096)) std::abort();
    return 0;
}
