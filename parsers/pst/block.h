// Blocks ([MS-PST] 2.2.2.8): the units of node data, each with a
// BLOCKTRAILER, found through the BBT; and the internal blocks that make
// data trees (XBLOCK, XXBLOCK) and subnode trees (SLBLOCK, SIBLOCK).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "parsers/bytes/bytes.h"
#include "parsers/pst/btree.h"
#include "parsers/pst/format.h"

namespace mailfsck::pst {

struct BlockTrailer {
    std::uint32_t cb = 0;
    std::uint16_t signature = 0;
    std::uint32_t crc = 0;
    std::uint64_t bid = 0;
};

// The trailer of the block whose aligned extent ends at `end` ([MS-PST]
// 2.2.2.8.1; ANSI: cb, wSig, bid(4), dwCRC; Unicode and 4K: cb, wSig,
// dwCRC, bid(8)); nullopt when it does not fit in the file.
[[nodiscard]] std::optional<BlockTrailer> read_block_trailer(const ByteView& file, std::uint64_t end, const Layout& layout);

enum class BlockDefectKind {
    out_of_file,    // the block is misaligned or lies (partly) past the end of the file
    too_large,      // cb exceeds the largest block the format allows
    cb_mismatch,    // the trailer's cb differs from the BBT entry's
    bid_mismatch,   // the trailer's id differs from the BBT entry's
    bad_signature,  // wSig is not the signature of the block's offset and id
    bad_crc,        // dwCRC disagrees with the block's data
};

struct BlockDefect {
    BlockDefectKind kind;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    std::string detail;
};

// The block a BBT entry describes: its data (still encrypted, as stored),
// or nullopt when it does not fit in the file. Defects go to `defects`.
// A moved entry's signature, which names where the block was written, is
// not held against where it lies.
std::optional<ByteView> check_block(const ByteView& file, const Layout& layout, const BbtEntry& entry,
                                    std::vector<BlockDefect>& defects);

// check_block in steps, for a caller that needs the bytes as stored
// (trailer included) and reads blocks all over a large store: whether the
// place the entry gives lies inside the file (aligned, size within limits;
// block_placed); the bytes there, copied into `buffer` (Source::read) when
// `through` is given (stored_block); then their trailer and CRC
// (check_block_bytes), which returns the data.
[[nodiscard]] bool block_placed(std::uint64_t file_size, const Layout& layout, const BbtEntry& entry,
                                std::vector<BlockDefect>& defects);
[[nodiscard]] std::optional<ByteView> stored_block(const ByteView& file, const Layout& layout, const BbtEntry& entry,
                                                   const Source* through, std::vector<unsigned char>& buffer,
                                                   std::vector<BlockDefect>& defects);
[[nodiscard]] ByteView check_block_bytes(const ByteView& stored, const Layout& layout, const BbtEntry& entry,
                                         std::vector<BlockDefect>& defects);

// Internal blocks ([MS-PST] 2.2.2.8.3): btype 1 is a data tree level
// (cLevel 1 XBLOCK, 2 XXBLOCK), btype 2 a subnode tree level (cLevel 0
// SLBLOCK, 1 SIBLOCK).
struct InternalBlock {
    std::uint8_t btype = 0;
    std::uint8_t level = 0;
    std::uint32_t total = 0;  // lcbTotal, data trees only
    struct Entry {
        std::uint64_t key = 0;       // subnode trees: the subnode's NID
        std::uint64_t bid = 0;       // XBLOCK/XXBLOCK child, SLENTRY bidData, SIENTRY child SLBLOCK
        std::uint64_t bid_sub = 0;   // SLENTRY only
    };
    std::vector<Entry> entries;
    bool valid = false;  // btype/level known and every entry within the data
};

[[nodiscard]] std::string_view defect_name(BlockDefectKind k);

[[nodiscard]] InternalBlock read_internal_block(const ByteView& data, const Layout& layout);

// A block's data as its node sees it: `stored` (cb bytes) itself unless a
// 4K entry says it inflates to another size, else the zlib stream inflated
// into `buffer`; nullopt when the stream is damaged or inflates otherwise.
[[nodiscard]] std::optional<ByteView> block_content(const ByteView& stored, std::uint32_t cb_inflated,
                                                    std::vector<unsigned char>& buffer);

// What a 4K block's stored bytes inflate to when they are one whole zlib
// stream whose Adler-32 checks out, for a block no BBT entry sizes (a
// carved one); nullopt when they are not, or inflate to their own size
// (which an entry cannot tell from stored as is). `buffer` is scratch.
[[nodiscard]] std::optional<std::uint32_t> inflated_size(const ByteView& stored, std::vector<unsigned char>& buffer);

}  // namespace mailfsck::pst
