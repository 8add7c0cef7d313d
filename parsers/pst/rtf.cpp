#include "rtf.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "parsers/pst/format.h"

namespace mailfsck::pst {
namespace {

// [MS-OXRTFCP] 3.1.1.3: the dictionary's first 207 bytes.
constexpr std::string_view preamble =
    "{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript "
    "\\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par "
    "\\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx";
static_assert(preamble.size() == 207);

constexpr std::uint32_t compressed_magic = 0x75465A4C;    // "LZFu"
constexpr std::uint32_t uncompressed_magic = 0x414C454D;  // "MELA"

}  // namespace

std::string_view defect_name(RtfDefect d) {
    switch (d) {
        case RtfDefect::too_short: return "too_short";
        case RtfDefect::bad_type: return "bad_type";
        case RtfDefect::bad_crc: return "bad_crc";
        case RtfDefect::bad_size: return "bad_size";
        case RtfDefect::truncated: return "truncated";
    }
    return "?";
}

RtfHeaderCheck check_rtf_header(const ByteView& in) {
    RtfHeaderCheck out;
    Cursor c(in);
    const std::uint32_t comp_size = c.u32le();
    const std::uint32_t raw_size = c.u32le();
    const std::uint32_t type = c.u32le();
    const std::uint32_t crc = c.u32le();
    if (!c.ok()) {
        out.defect = RtfDefect::too_short;
    } else if (type == uncompressed_magic) {
        out.compressed = false;
        if (std::uint64_t{raw_size} + 16 != in.size()) out.defect = RtfDefect::bad_size;
    } else if (type != compressed_magic) {
        out.defect = RtfDefect::bad_type;
    } else if (comp_size < 12 || std::uint64_t{comp_size} + 4 != in.size()) {
        out.defect = RtfDefect::bad_size;
    } else if (crc32(in.sub(16, comp_size - 12)) != crc) {
        out.defect = RtfDefect::bad_crc;
    }
    return out;
}

Rtf decompress_rtf(const ByteView& in) {
    Rtf out;
    Cursor c(in);
    const std::uint32_t comp_size = c.u32le();  // bytes after this field
    const std::uint32_t raw_size = c.u32le();
    const std::uint32_t type = c.u32le();
    const std::uint32_t crc = c.u32le();
    if (!c.ok()) {
        out.defect = RtfDefect::too_short;
        return out;
    }
    out.size = raw_size;
    const ByteView body = in.sub(16, in.size() - 16);
    if (type == uncompressed_magic) {
        out.compressed = false;
        const std::uint64_t n = std::min<std::uint64_t>({raw_size, body.size(), max_rtf_size});
        out.text.assign(body.data(), body.data() + n);
        if (n != raw_size) out.defect = RtfDefect::bad_size;
        return out;
    }
    if (type != compressed_magic) {
        out.defect = RtfDefect::bad_type;
        return out;
    }
    // The CRC ([MS-OXRTFCP] 2.1.3.2) is the PST's CRC-32 over the bytes
    // after the header.
    const ByteView stored = in.sub(16, std::min<std::uint64_t>(comp_size >= 12 ? comp_size - 12 : 0, body.size()));
    if (comp_size < 12 || std::uint64_t{comp_size} + 4 != in.size()) out.defect = RtfDefect::bad_size;
    if (crc32(stored) != crc) out.defect = RtfDefect::bad_crc;

    std::array<unsigned char, 4096> dict{};
    std::copy(preamble.begin(), preamble.end(), dict.begin());
    std::uint32_t write = static_cast<std::uint32_t>(preamble.size());
    const std::uint32_t limit = std::min(raw_size, max_rtf_size);
    out.text.reserve(std::min<std::uint32_t>(limit, 1U << 20));
    Cursor r(stored);
    bool ended = false;
    while (!ended && r.remaining() > 0 && out.text.size() < limit) {
        const std::uint8_t control = r.u8();
        for (int bit = 0; bit < 8 && !ended && out.text.size() < limit; ++bit) {
            if (((control >> bit) & 1) == 0) {
                if (r.remaining() == 0) break;
                const std::uint8_t b = r.u8();
                out.text.push_back(b);
                dict[write] = b;
                write = (write + 1) % dict.size();
                continue;
            }
            if (r.remaining() < 2) break;
            // A reference: 12-bit offset, 4-bit length (stored as length - 2), big-endian.
            const std::uint32_t hi = r.u8();
            const std::uint32_t lo = r.u8();
            const std::uint32_t offset = (hi << 4) | (lo >> 4);
            const std::uint32_t length = (lo & 0x0F) + 2;
            if (offset == write) {
                ended = true;
                break;
            }
            for (std::uint32_t i = 0; i < length && out.text.size() < limit; ++i) {
                const unsigned char b = dict[(offset + i) % dict.size()];
                out.text.push_back(b);
                dict[write] = b;
                write = (write + 1) % dict.size();
            }
        }
    }
    if (!out.defect && (out.text.size() != raw_size)) out.defect = ended ? RtfDefect::bad_size : RtfDefect::truncated;
    return out;
}

}  // namespace mailfsck::pst
