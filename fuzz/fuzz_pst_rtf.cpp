// Compressed RTF ([MS-OXRTFCP]): LZFu runs decompress within the bound and
// the raw size the header states; the header check alone never says more
// than decompressing does.
#include <cstdint>
#include <cstdlib>

#include "parsers/pst/rtf.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace mailfsck::pst;
    const mailfsck::ByteView in(data, size);
    const Rtf rtf = decompress_rtf(in);
    if (rtf.text.size() > max_rtf_size) std::abort();
    const RtfHeaderCheck check = check_rtf_header(in);
    if (check.compressed != rtf.compressed) std::abort();
    return 0;
}
