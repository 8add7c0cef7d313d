// The two ciphers a PST may apply to the data of its external blocks
// ([MS-PST] 5.1, 5.2): "permute" (NDB_CRYPT_PERMUTE, called compressible)
// substitutes each byte through a fixed table; "cyclic" (NDB_CRYPT_CYCLIC,
// called high) runs each byte through three tables salted with the block
// id. Neither is a secret; both exist to keep text out of plain sight.
// Internal blocks and pages are never encrypted ([MS-PST] 2.2.2.2).
#pragma once

#include <cstdint>
#include <span>

namespace mailfsck::pst {

// bCryptMethod ([MS-PST] 2.2.2.6).
enum class Crypt : std::uint8_t { none = 0, permute = 1, cyclic = 2 };

// Decrypts, in place, the data of the external block with id `bid`.
void decrypt(Crypt method, std::uint64_t bid, std::span<unsigned char> data);

// Encrypts, in place, what decrypt() turns back into `data` (for code that
// builds files; nothing that reads a store calls it).
void encrypt(Crypt method, std::uint64_t bid, std::span<unsigned char> data);

}  // namespace mailfsck::pst
