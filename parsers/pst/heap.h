// Heap-on-Node ([MS-PST] 2.3.1): the allocator the LTP layer builds on. A
// node's data blocks each hold a page map of allocations; a HID names one
// allocation by block and index. Every allocation is checked against its
// block before anything reads it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "parsers/bytes/bytes.h"

namespace mailfsck::pst {

// bClientSig values ([MS-PST] 2.3.1.2).
enum class HeapClient : std::uint8_t {
    table_context = 0x7C,
    bth = 0xB5,
    property_context = 0xBC,
};

enum class HeapDefectKind {
    bad_signature,   // bSig is not 0xEC
    bad_page_map,    // ibHnpm or the page map's counts point outside the block
    bad_allocation,  // an allocation's bounds run backwards or past the page map
    missing_block,   // a data block of the node could not be read
};

struct HeapDefect {
    HeapDefectKind kind;
    std::uint32_t block = 0;   // index of the node's data block
    std::string detail;
};

[[nodiscard]] std::string_view defect_name(HeapDefectKind k);

// HID ([MS-PST] 2.3.1.1): hidType (5 bits, 0), hidIndex (11 bits, from 1),
// hidBlockIndex (16 bits).
struct Hid {
    std::uint32_t value = 0;
    [[nodiscard]] bool is_hid() const { return (value & 0x1F) == 0; }
    [[nodiscard]] std::uint32_t index() const { return (value >> 5) & 0x7FF; }
    [[nodiscard]] std::uint32_t block() const { return value >> 16; }
};

class Heap {
public:
    // `blocks` are the node's data blocks in order, decrypted; a block
    // that could not be read is nullopt and its allocations are missing.
    explicit Heap(std::vector<std::optional<std::vector<unsigned char>>> blocks);

    [[nodiscard]] bool valid() const { return valid_; }
    [[nodiscard]] std::uint8_t client() const { return client_; }
    [[nodiscard]] Hid user_root() const { return user_root_; }
    [[nodiscard]] const std::vector<HeapDefect>& defects() const { return defects_; }

    // The bytes of an allocation; nullopt when the HID names nothing valid.
    [[nodiscard]] std::optional<ByteView> get(Hid hid) const;

    // How many data blocks the heap spans (rows of a TC may use all of them).
    [[nodiscard]] std::size_t block_count() const { return blocks_.size(); }

private:
    struct Page {
        std::vector<std::uint16_t> bounds;  // rgibAlloc: allocation i is [bounds[i-1], bounds[i])
    };
    std::vector<std::optional<std::vector<unsigned char>>> blocks_;
    std::vector<Page> pages_;
    std::vector<HeapDefect> defects_;
    std::uint8_t client_ = 0;
    Hid user_root_;
    bool valid_ = false;
};

}  // namespace mailfsck::pst
