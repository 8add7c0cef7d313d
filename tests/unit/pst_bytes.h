// For tests and the damage generator that edit PST bytes by hand and make
// the file's checks right again: the PST's CRC (Boost's, not our parser's,
// so that the two are independent) and block geometry.
#pragma once

#include <boost/crc.hpp>
#include <cstdint>
#include <string>

#include "tests/unit/support.h"

namespace mailfsck::test {

// [MS-PST] 5.3: the reflected CRC-32 of polynomial 0x04C11DB7, with no
// inversion before or after.
using PstCrc = boost::crc_optimal<32, 0x04C11DB7, 0, 0, true, true>;

inline std::uint32_t pst_crc(const void* data, std::size_t size) {
    PstCrc crc;
    crc.process_bytes(data, size);
    return crc.checksum();
}

// The CRC of bytes[from, from + size), stored at bytes[at].
inline void store_pst_crc(std::string& bytes, std::uint64_t at, std::uint64_t from, std::uint64_t size) {
    put_le(bytes, at, pst_crc(bytes.data() + from, size), 4);
}

// The bytes a block of `cb` data bytes takes in the file: its data and its
// trailer rounded up to 64 ([MS-PST] 2.2.2.8: the trailer is 16 bytes in a
// Unicode file, 12 in an ANSI one).
inline std::uint64_t block_size(std::uint64_t cb, std::uint64_t trailer_size = 16) {
    return (cb + trailer_size + 63) / 64 * 64;
}

// Where the trailer of a block of `cb` data bytes at `ib` begins: last.
inline std::uint64_t block_trailer_at(std::uint64_t ib, std::uint64_t cb, std::uint64_t trailer_size = 16) {
    return ib + block_size(cb, trailer_size) - trailer_size;
}

}  // namespace mailfsck::test
