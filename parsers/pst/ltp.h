// The LTP layer's lists, tables and properties ([MS-PST] 2.3.2-2.3.4) on
// top of a Heap: the BTree-on-Heap, the Property Context (a node's
// properties) and the Table Context (rows of properties: folder
// hierarchies, contents, recipients, attachments). Values that live in the
// node's subnodes are fetched through a callback, so this layer needs no
// knowledge of blocks.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "parsers/bytes/bytes.h"
#include "parsers/pst/heap.h"

namespace mailfsck::pst {

// What one object (a message with all it holds, a table) has copied, by
// key: heap items by HID, data trees by BID. Outlook shares a data tree
// between values that are alike (a block's cRef), so a value may be read
// again; but a damaged structure can name one value from thousands of
// properties, cells or attachments and multiply a few bytes into
// gigabytes. So what is read again (each time its size and a kilobyte) is
// bounded by 64 MiB beyond all the object read once; past that a repeat
// gives no value.
class RereadBound {
public:
    static constexpr std::uint64_t max_reread = std::uint64_t{64} << 20;
    static constexpr std::uint64_t reread_cost = 1024;
    // Whether the value at `key` may be read (again).
    [[nodiscard]] bool admit(std::uint64_t key);
    void read(std::uint64_t key, std::uint64_t size);

private:
    std::unordered_map<std::uint64_t, std::uint64_t> sizes_;
    std::uint64_t once_ = 0;
    std::uint64_t again_ = 0;
};

// BTHHEADER ([MS-PST] 2.3.2.1) and its leaf records, in key order.
struct BthRecord {
    ByteView key;
    ByteView data;
};

struct Bth {
    std::uint8_t key_size = 0;
    std::uint8_t data_size = 0;
    std::vector<BthRecord> records;
    std::vector<std::string> defects;
    bool valid = false;
};

[[nodiscard]] Bth read_bth(const Heap& heap, Hid header);

// Property types ([MS-OXCDATA] 2.11.1) that the PST stores.
enum class PropType : std::uint16_t {
    integer16 = 0x0002,
    integer32 = 0x0003,
    floating32 = 0x0004,
    floating64 = 0x0005,
    currency = 0x0006,
    floating_time = 0x0007,
    error_code = 0x000A,
    boolean = 0x000B,
    object = 0x000D,
    integer64 = 0x0014,
    string8 = 0x001E,
    string = 0x001F,
    time = 0x0040,
    guid = 0x0048,
    server_id = 0x00FB,
    restriction = 0x00FD,
    rule_action = 0x00FE,
    binary = 0x0102,
};

// The size of a fixed-size type, or 0 for a variable one (strings, binary,
// multi-valued: the 0x1000 bit).
[[nodiscard]] std::uint32_t fixed_size(std::uint16_t type);

// A property's value as bytes, little-endian as stored; strings are
// UTF-16LE (PtypString) or 8-bit in the store's code page (PtypString8).
struct Property {
    std::uint16_t id = 0;
    std::uint16_t type = 0;
    std::vector<unsigned char> value;
    bool missing = false;  // the value's allocation or subnode could not be read

    [[nodiscard]] std::uint64_t as_uint() const;
    [[nodiscard]] bool as_bool() const { return as_uint() != 0; }
};

// Whether a value was read as its type says: not missing, and a fixed-size
// type's value of that size. Any other is damage of unknown meaning, which
// a rebuilt store leaves out.
[[nodiscard]] bool sound_value(const Property& p);

// Fetches the data of a subnode of the node being read (an HNID that is
// a NID, [MS-PST] 2.3.3.2); nullopt when there is none or it is unreadable.
using SubnodeData = std::function<std::optional<std::vector<unsigned char>>(std::uint32_t nid)>;

struct PropertyContext {
    std::vector<Property> properties;  // ascending by id
    std::vector<std::string> defects;
    bool valid = false;

    [[nodiscard]] const Property* find(std::uint16_t id) const;
};

[[nodiscard]] PropertyContext read_pc(const Heap& heap, const SubnodeData& subnodes);

// TCOLDESC ([MS-PST] 2.3.4.2).
struct Column {
    std::uint32_t tag = 0;  // property id << 16 | type
    std::uint16_t offset = 0;
    std::uint8_t size = 0;
    std::uint8_t bit = 0;  // in the cell existence bitmap
};

struct TableRow {
    std::uint32_t id = 0;  // dwRowID: for folder tables, the NID the row stands for
    std::vector<Property> cells;  // the cells that exist, in column order
};

struct TableContext {
    std::vector<Column> columns;
    std::vector<TableRow> rows;
    std::uint64_t row_index_entries = 0;  // rows the row index lists
    std::vector<std::string> defects;
    bool valid = false;
};

// Row matrices in a subnode come block by block (rows never span blocks,
// [MS-PST] 2.3.4.4.1): the TC reader needs the blocks, not their sum.
using SubnodeBlocks = std::function<std::vector<std::optional<std::vector<unsigned char>>>(std::uint32_t nid)>;

// Whether a table's rows keep their cells: a walk that needs only which
// rows there are (a big folder's contents table) has every cell read and
// checked all the same, and holds a row id a row.
enum class Cells { kept, read_only };

// `subnodes` resolves variable-size cells that live in a subnode,
// `row_blocks` a row matrix that does. `row_index_size` is dwRowIndex's
// size in the row index: 4, or 2 in ANSI files.
[[nodiscard]] TableContext read_tc(const Heap& heap, const SubnodeData& subnodes, const SubnodeBlocks& row_blocks,
                                   std::uint32_t row_index_size, Cells cells = Cells::kept);

}  // namespace mailfsck::pst
