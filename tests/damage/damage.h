// Deterministic, seeded damage for mail stores, and clean mboxes built from
// message bytes so tests know by construction which message owns each byte.
//
// Every op works on a copy: the clean input is taken by const reference (the
// tool reads its input file and never opens it for writing). The same seed,
// op, count and window always give the same damaged bytes and manifest, on
// any platform: positions are drawn from std::mt19937_64 through our own
// bounded draw, because the standard distributions differ between library
// implementations.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace mailfsck::damage {

enum class Op {
    zero_page,          // a page-aligned 4 KiB page zeroed (sparse hole after a crash)
    zero_sector,        // a sector-aligned 512-byte sector zeroed
    bitflip,            // one bit flipped
    truncate,           // the file cut short
    random_run,         // a run of >= 64 random bytes written over the data
    destroy_separator,  // the "From " of a separator line overwritten, same length
    unescaped_from,     // a "From " envelope line inserted at a body line start
    // What a sync client or a flaky network share leaves: the file's size
    // right but its tail never written; a write landed at the wrong offset;
    // a resumed transfer that sent a stretch twice, or skipped one.
    zero_tail,         // everything from a sector boundary (past the first sector) to the end zeroed
    misplaced_sector,  // a 512-byte sector overwritten with a copy of another sector of the file
    repeated_run,      // a run of 1 to 16 whole sectors written again right after itself
    dropped_run,       // a run of 1 to 16 whole sectors missing, what followed it moved up
    odd_run,           // 1 to 8,191 bytes, no multiple of 64, at any offset past the first sector, sent twice or missing
    // PST/OST only (tests/damage/damage_pst.cpp): structures found from the
    // header by [MS-PST] offsets, independently of the parser under test.
    pst_zero_bbt_root,  // the block B-tree's root page zeroed
    pst_zero_nbt_root,  // the node B-tree's root page zeroed
    pst_zero_bbt_leaf,  // a leaf page of the block B-tree zeroed (the root, in a one-level tree)
    pst_zero_nbt_leaf,  // a leaf page of the node B-tree zeroed (likewise)
    pst_zero_header,    // the first 512 bytes (the header) zeroed
    pst_header_crc,     // one bit flipped inside what the header CRC covers
    pst_amap_bit,       // one set allocation-map bit cleared, the map's CRC made right again
    pst_zero_amap,      // one allocation-map page zeroed
};

// The kinds of store an op applies to: byte-level ops apply to every file.
enum class StoreKind { mbox, pst };

inline constexpr std::uint64_t page_size = 4096;
inline constexpr std::uint64_t sector_size = 512;
inline constexpr std::uint64_t random_run_min = 64;
inline constexpr std::uint64_t random_run_max = 1024;
inline constexpr std::string_view inserted_from_line = "From someone@example.com Mon Jan  1 00:00:00 2001\n";

[[nodiscard]] std::string_view op_name(Op op);
[[nodiscard]] std::optional<Op> parse_op(std::string_view name);
// The ops that apply to a kind of store: the byte-level ones and its own.
[[nodiscard]] std::vector<Op> ops_for(StoreKind kind);

// One injected damage. `offset`/`length` are in the damaged file;
// `original_offset`/`original_length` in the clean input. They differ for an
// insertion (original length 0) and a truncation (damaged length 0).
struct Injection {
    Op op = Op::bitflip;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    std::uint64_t original_offset = 0;
    std::uint64_t original_length = 0;
    // SHA-256 of the clean bytes [original_offset, +original_length).
    std::string original_sha256;
    // bitflip only: which bit (0 = least significant) of which byte value.
    std::optional<unsigned> bit;
    std::optional<unsigned> original_byte;

    [[nodiscard]] std::uint64_t end() const { return offset + length; }
    [[nodiscard]] std::uint64_t original_end() const { return original_offset + original_length; }
};

// Where damage may start, in the clean input's coordinates: [begin, end).
struct Window {
    std::uint64_t begin = 0;
    std::uint64_t end = UINT64_MAX;
};

struct Request {
    Op op = Op::bitflip;
    std::uint64_t seed = 0;
    // How many injections; truncate always makes one.
    unsigned count = 1;
    Window window;
};

struct Damaged {
    std::string bytes;
    std::vector<Injection> injections;  // ascending by original offset
};

// Damages a copy of `clean`. Fewer than `count` injections are made when the
// input (or window) has too few places for them, e.g. no separator to destroy.
[[nodiscard]] Damaged inject(std::string_view clean, const Request& request);

// The manifest written next to a damaged file.
[[nodiscard]] nlohmann::json manifest(const Request& request, std::string_view clean, const Damaged& damaged);

[[nodiscard]] std::string sha256_hex(std::string_view bytes);

// Byte ranges of one message in a built mbox.
struct MessageRange {
    std::uint64_t begin = 0;          // start of its separator line
    std::uint64_t end = 0;            // start of the next separator (or EOF)
    std::uint64_t content_begin = 0;  // first header byte
    std::uint64_t content_end = 0;    // before the empty line that separates it from the next
};

struct BuiltMbox {
    std::string bytes;
    std::vector<MessageRange> messages;
};

inline constexpr std::string_view built_separator = "From mailfsck-test@example.com Sat Jan  1 00:00:00 2000\n";

// An mboxrd store holding `messages` in order: each gets a separator line,
// its lines ">*From " quoted with one more '>', a final line terminator if
// it lacked one, and an empty line before the next separator.
[[nodiscard]] BuiltMbox build_mbox(const std::vector<std::string>& messages);

}  // namespace mailfsck::damage
