#include "status_flags.h"

#include <charconv>
#include <set>

#include "parsers/mime/headers.h"

namespace mailfsck {

std::string status_flags(const ByteView& in, std::uint64_t header_begin) {
    const mime::HeaderBlock hb = mime::read_header_block(in, header_begin);
    std::set<char> flags;
    const auto value = [&](std::string_view name) {
        const mime::Field* f = hb.find(in, name);
        return f ? mime::unfolded_value(in, *f, 64) : std::string();
    };
    for (const char c : value("Status"))
        if (c == 'R') flags.insert('S');
    for (const char c : value("X-Status")) {
        if (c == 'A') flags.insert('R');
        if (c == 'F') flags.insert('F');
        if (c == 'D') flags.insert('T');
        if (c == 'T') flags.insert('D');
    }
    const std::string mozilla = value("X-Mozilla-Status");
    unsigned bits = 0;
    const auto [ptr, ec] = std::from_chars(mozilla.data(), mozilla.data() + mozilla.size(), bits, 16);
    if (ec == std::errc() && ptr == mozilla.data() + mozilla.size() && !mozilla.empty()) {
        if (bits & 0x1U) flags.insert('S');
        if (bits & 0x2U) flags.insert('R');
        if (bits & 0x4U) flags.insert('F');
        if (bits & 0x8U) flags.insert('T');
    }
    return {flags.begin(), flags.end()};
}

}  // namespace mailfsck
