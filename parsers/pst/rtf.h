// Compressed RTF ([MS-OXRTFCP]): how PR_RTF_COMPRESSED holds a message's
// RTF body. A 16-byte header (compressed size, raw size, "LZFu" or "MELA",
// CRC), then LZ77-style runs against a 4096-byte dictionary that starts
// with a fixed RTF preamble. Bounded by the raw size the header states.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "parsers/bytes/bytes.h"

namespace mailfsck::pst {

enum class RtfDefect {
    too_short,      // no complete header
    bad_type,       // neither LZFu nor MELA
    bad_crc,        // the CRC of the compressed bytes does not hold
    bad_size,       // the sizes disagree with the data
    truncated,      // the runs end before the end marker or the raw size
};

struct Rtf {
    std::vector<unsigned char> text;  // what could be decompressed
    std::uint32_t size = 0;           // what the header states (RAWSIZE)
    std::optional<RtfDefect> defect;
    bool compressed = true;  // LZFu; false for MELA, stored as it is
};

[[nodiscard]] std::string_view defect_name(RtfDefect d);

// The largest RTF body decompressed: a PST property holds at most 2 GB,
// but no body this size is mail.
inline constexpr std::uint32_t max_rtf_size = 256U << 20;

[[nodiscard]] Rtf decompress_rtf(const ByteView& compressed);

// What a check can tell without decompressing: the header, the sizes and
// the CRC over the compressed bytes. The runs themselves are left unread.
struct RtfHeaderCheck {
    std::optional<RtfDefect> defect;
    bool compressed = true;
};
[[nodiscard]] RtfHeaderCheck check_rtf_header(const ByteView& compressed);

}  // namespace mailfsck::pst
