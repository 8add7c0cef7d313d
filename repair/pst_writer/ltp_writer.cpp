#include "ltp_writer.h"

#include <algorithm>
#include <stdexcept>

namespace mailfsck::pstw {
namespace {


// Heap block headers ([MS-PST] 2.3.1.2-2.3.1.4): HNHDR opens the first
// block, HNBITMAPHDR every 128th from the 8th, HNPAGEHDR the rest.
constexpr std::size_t hnhdr_size = 12;
constexpr std::size_t bitmap_header_size = 66;
constexpr std::size_t page_header_size = 2;
constexpr std::uint8_t heap_signature = 0xEC;
constexpr std::uint32_t max_allocations_per_block = 2047;  // hidIndex is 11 bits

bool is_bitmap_block(std::size_t i) { return i >= 8 && (i - 8) % 128 == 0; }

std::size_t header_size(std::size_t block) {
    if (block == 0) return hnhdr_size;
    return is_bitmap_block(block) ? bitmap_header_size : page_header_size;
}

// HNPAGEMAP: cAlloc, cFree, then cAlloc + 1 offsets.
std::size_t page_map_size(std::size_t allocations) { return 4 + 2 * (allocations + 1); }

// rgbFillLevel ([MS-PST] 2.3.1.2): the free space of a block, in sixteen
// steps from "3584 bytes or more" (0) to "less than 8" (15).
std::uint8_t fill_level(std::size_t free_bytes) {
    constexpr std::size_t at_least[] = {3584, 2560, 2048, 1792, 1536, 1280, 1024, 768, 512, 256, 128, 64, 32, 16, 8};
    for (std::uint8_t i = 0; i < 15; ++i)
        if (free_bytes >= at_least[i]) return i;
    return 15;
}

constexpr std::uint32_t nid_type_ltp = 0x1F;  // NID_TYPE_LTP: subnodes holding LTP values
constexpr std::uint8_t bth_type = 0xB5;
constexpr std::uint8_t tc_type = 0x7C;
constexpr std::uint32_t tag_row_id = 0x67F20003;   // PidTagLtpRowId
constexpr std::uint32_t tag_row_ver = 0x67F30003;  // PidTagLtpRowVer

}  // namespace

Bytes utf16(const std::string& utf8) {
    Bytes out;
    for (std::size_t i = 0; i < utf8.size();) {
        const auto c = static_cast<unsigned char>(utf8[i]);
        std::uint32_t cp = 0xFFFD;
        std::size_t n = 1;
        if (c < 0x80) cp = c;
        else if ((c & 0xE0) == 0xC0) n = 2, cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0) n = 3, cp = c & 0x0F;
        else if ((c & 0xF8) == 0xF0) n = 4, cp = c & 0x07;
        if (n > 1) {
            if (i + n > utf8.size()) n = utf8.size() - i, cp = 0xFFFD;
            for (std::size_t k = 1; k < n && cp != 0xFFFD; ++k) {
                const auto d = static_cast<unsigned char>(utf8[i + k]);
                cp = (d & 0xC0) == 0x80 ? (cp << 6 | (d & 0x3F)) : 0xFFFD;
            }
        }
        i += n;
        const auto unit = [&](std::uint32_t u) {
            out.push_back(static_cast<unsigned char>(u));
            out.push_back(static_cast<unsigned char>(u >> 8));
        };
        if (cp >= 0x10000 && cp <= 0x10FFFF) {
            unit(0xD800 + ((cp - 0x10000) >> 10));
            unit(0xDC00 + ((cp - 0x10000) & 0x3FF));
        } else {
            unit(cp > 0x10FFFF ? 0xFFFD : cp);
        }
    }
    return out;
}

Bytes well_formed_utf16(const Bytes& value) {
    Bytes out;
    out.reserve(value.size() + 1);
    const auto unit_at = [&](std::size_t i) { return static_cast<std::uint32_t>(value[i] | value[i + 1] << 8); };
    const auto put = [&](std::uint32_t u) {
        out.push_back(static_cast<unsigned char>(u));
        out.push_back(static_cast<unsigned char>(u >> 8));
    };
    std::size_t i = 0;
    for (; i + 1 < value.size(); i += 2) {
        const std::uint32_t u = unit_at(i);
        const bool high = u >= 0xD800 && u <= 0xDBFF;
        const bool low = u >= 0xDC00 && u <= 0xDFFF;
        if (high && i + 3 < value.size() && unit_at(i + 2) >= 0xDC00 && unit_at(i + 2) <= 0xDFFF) {
            put(u);
            put(unit_at(i + 2));
            i += 2;
        } else {
            put(high || low ? 0xFFFD : u);
        }
    }
    if (i < value.size()) put(0xFFFD);
    return out;
}

pst::Hid HeapWriter::allocate(ByteView data) {
    if (data.size() > max_heap_allocation) throw std::logic_error("PST writer: heap allocation too large");
    const std::size_t room = pst::layout_for(pst::Format::unicode).max_block_data();
    const auto fits = [&](const Block& b) {
        return b.starts.size() < max_allocations_per_block &&
               b.data.size() + data.size() + 1 + page_map_size(b.starts.size() + 1) <= room;
    };
    if (blocks_.empty() || !fits(blocks_.back())) {
        blocks_.push_back({Bytes(header_size(blocks_.size()), 0), {}});
    }
    Block& b = blocks_.back();
    b.starts.push_back(static_cast<std::uint16_t>(b.data.size()));
    b.data.insert(b.data.end(), data.data(), data.data() + data.size());
    // HID ([MS-PST] 2.3.1.1): hidType 0, hidIndex from 1, hidBlockIndex.
    return pst::Hid{static_cast<std::uint32_t>(b.starts.size() << 5 | (blocks_.size() - 1) << 16)};
}

std::vector<Bytes> HeapWriter::blocks() const {
    std::vector<Block> blocks = blocks_;
    if (blocks.empty()) blocks.push_back({Bytes(hnhdr_size, 0), {}});
    const std::size_t room = pst::layout_for(pst::Format::unicode).max_block_data();
    std::vector<Bytes> out;
    std::vector<std::uint8_t> levels;
    for (Block& b : blocks) {
        Bytes& d = b.data;
        const auto ends = static_cast<std::uint16_t>(d.size());
        if (d.size() % 2 != 0) d.push_back(0);  // the page map starts on a 2-byte boundary
        const auto map_at = static_cast<std::uint16_t>(d.size());
        append_le(d, b.starts.size(), 2);
        append_le(d, 0, 2);
        for (const std::uint16_t s : b.starts) append_le(d, s, 2);
        append_le(d, ends, 2);
        put_le(d.data(), map_at, 2);
        levels.push_back(fill_level(room - d.size()));
        out.push_back(std::move(d));
    }
    const auto put_levels = [&](Bytes& b, std::size_t at, std::size_t first, std::size_t count) {
        for (std::size_t i = 0; i < count && first + i < levels.size(); ++i)
            b[at + i / 2] = static_cast<unsigned char>(b[at + i / 2] | levels[first + i] << (4 * (i % 2)));
    };
    Bytes& first = out.front();
    first[2] = heap_signature;
    first[3] = static_cast<unsigned char>(client_);
    put_le(first.data() + 4, root_.value, 4);
    put_levels(first, 8, 0, 8);
    for (std::size_t i = 8; i < out.size(); i += 128) put_levels(out[i], 2, i, 128);
    return out;
}

std::uint32_t NodeBuilder::place(ByteView value) {
    if (value.empty()) return 0;  // as Outlook writes empty values; libpst reads an empty allocation as a value
    if (value.size() <= max_heap_allocation) return heap_.allocate(value).value;
    const std::uint32_t nid = next_value_index_++ << 5 | nid_type_ltp;
    subnodes_.push_back({nid, ndb_->data_tree(value), 0});
    return nid;
}

std::uint32_t NodeBuilder::place_blocks(const std::vector<Bytes>& blocks) {
    const std::uint32_t nid = next_value_index_++ << 5 | nid_type_ltp;
    subnodes_.push_back({nid, ndb_->data_tree(blocks), 0});
    return nid;
}

std::pair<std::uint64_t, std::uint64_t> NodeBuilder::write() {
    const std::uint64_t data = ndb_->data_tree(heap_.blocks());
    return {data, ndb_->subnode_tree(subnodes_)};
}

pst::Hid write_bth(HeapWriter& heap, std::uint8_t key_size, std::uint8_t data_size, const std::vector<Bytes>& records) {
    // Leaves, then index levels of (first key, HID) until one allocation
    // holds a level ([MS-PST] 2.3.2.2, 2.3.2.3).
    struct Entry {
        Bytes bytes;  // the record, or an index record's key
        std::uint32_t hid = 0;
    };
    std::vector<Entry> level;
    level.reserve(records.size());
    for (const Bytes& r : records) level.push_back({r, 0});
    std::size_t record_size = std::size_t{key_size} + data_size;
    std::uint8_t index_levels = 0;
    pst::Hid root;
    while (!level.empty()) {
        const std::size_t per = max_heap_allocation / record_size;
        std::vector<Entry> parents;
        for (std::size_t i = 0; i < level.size(); i += per) {
            Bytes a;
            for (std::size_t j = i; j < std::min(level.size(), i + per); ++j) {
                a.insert(a.end(), level[j].bytes.begin(), level[j].bytes.end());
                if (index_levels > 0) append_le(a, level[j].hid, 4);
            }
            parents.push_back({Bytes(level[i].bytes.begin(), level[i].bytes.begin() + key_size),
                               heap.allocate(ByteView(a.data(), a.size())).value});
        }
        if (parents.size() == 1) {
            root = pst::Hid{parents.front().hid};
            break;
        }
        level = std::move(parents);
        record_size = std::size_t{key_size} + 4;
        ++index_levels;
    }
    // BTHHEADER: bType, cbKey, cbEnt, bIdxLevels, hidRoot.
    Bytes header{bth_type, key_size, data_size, index_levels};
    append_le(header, root.value, 4);
    return heap.allocate(ByteView(header.data(), header.size()));
}

void write_pc(NodeBuilder& node, std::vector<pst::Property> properties) {
    // A PC holds one value an id: of two (a source map naming one name
    // twice gives two ids the same new one), the first is kept.
    std::stable_sort(properties.begin(), properties.end(),
                     [](const pst::Property& a, const pst::Property& b) { return a.id < b.id; });
    properties.erase(std::unique(properties.begin(), properties.end(),
                                 [](const pst::Property& a, const pst::Property& b) { return a.id == b.id; }),
                     properties.end());
    // PC records ([MS-PST] 2.3.3.3): wPropId, wPropType, dwValueHnid;
    // values of up to four bytes inline, the rest placed.
    std::vector<Bytes> records;
    for (const pst::Property& p : properties) {
        Bytes r;
        append_le(r, p.id, 2);
        append_le(r, p.type, 2);
        const std::uint32_t size = pst::fixed_size(p.type);
        std::uint32_t value = 0;
        if (size != 0 && size <= 4) {
            for (std::size_t i = 0; i < std::min<std::size_t>(size, p.value.size()); ++i) value |= std::uint32_t{p.value[i]} << (8 * i);
        } else {
            value = node.place(ByteView(p.value.data(), p.value.size()));
        }
        append_le(r, value, 4);
        records.push_back(std::move(r));
    }
    node.heap().set_root(write_bth(node.heap(), 2, 6, records));
}

void write_tc(NodeBuilder& node, std::vector<std::uint32_t> columns, const std::vector<pst::TableRow>& rows) {
    columns.push_back(tag_row_id);
    columns.push_back(tag_row_ver);
    std::sort(columns.begin(), columns.end());
    columns.erase(std::unique(columns.begin(), columns.end()), columns.end());
    if (columns.size() > 255) throw std::logic_error("PST writer: too many table columns");
    // The row ([MS-PST] 2.3.4.4): dwRowID and the row version first, then
    // 8-, 4-, 2- and 1-byte cells (variable ones are 4-byte HNIDs), then
    // the cell existence bitmap. Bits follow the columns' order in the
    // row, PidTagLtpRowId's 0 and PidTagLtpRowVer's 1.
    const auto cell_size = [](std::uint32_t tag) {
        const std::uint32_t s = pst::fixed_size(static_cast<std::uint16_t>(tag & 0xFFFF));
        return s == 0 || s > 8 ? 4U : s;  // variable and GUID cells hold an HNID
    };
    std::vector<std::uint32_t> order{tag_row_id, tag_row_ver};
    for (const std::uint32_t width : {8U, 4U, 2U, 1U})
        for (const std::uint32_t t : columns)
            if (t != tag_row_id && t != tag_row_ver && cell_size(t) == width) order.push_back(t);
    struct Placed {
        std::uint16_t offset;
        std::uint8_t size;
        std::uint8_t bit;
    };
    std::vector<std::pair<std::uint32_t, Placed>> placed;
    std::uint16_t at = 0;
    std::uint16_t ends[4] = {0, 0, 0, 0};
    for (std::size_t i = 0; i < order.size(); ++i) {
        const auto size = static_cast<std::uint8_t>(cell_size(order[i]));
        placed.push_back({order[i], {at, size, static_cast<std::uint8_t>(i)}});
        at = static_cast<std::uint16_t>(at + size);
        if (size >= 4) ends[0] = at;
        if (size >= 2) ends[1] = at;
        ends[2] = at;
    }
    ends[3] = static_cast<std::uint16_t>(ends[2] + (order.size() + 7) / 8);
    const std::size_t row_size = ends[3];
    const auto find = [&](std::uint32_t tag) -> const Placed* {
        for (const auto& [t, p] : placed)
            if (t == tag) return &p;
        return nullptr;
    };

    // Rows never straddle blocks: in the heap when they fit one
    // allocation, else a subnode cut into blocks of whole rows.
    const std::size_t block_room = node.ndb().layout().max_block_data();
    const std::size_t rows_per_block = block_room / row_size;
    std::vector<Bytes> matrix_blocks;
    std::vector<Bytes> index;
    for (std::size_t r = 0; r < rows.size(); ++r) {
        const pst::TableRow& row = rows[r];
        Bytes cells(row_size, 0);
        put_le(cells.data(), row.id, 4);
        cells[ends[2]] |= 0xC0;  // PidTagLtpRowId and PidTagLtpRowVer exist
        for (const pst::Property& p : row.cells) {
            const std::uint32_t tag = std::uint32_t{p.id} << 16 | p.type;
            if (tag == tag_row_id || tag == tag_row_ver) continue;
            const Placed* c = find(tag);
            if (!c) continue;
            const std::uint32_t size = pst::fixed_size(p.type);
            if (size != 0 && size <= 8) {
                std::copy_n(p.value.begin(), std::min<std::size_t>(size, p.value.size()), cells.begin() + c->offset);
            } else {
                put_le(cells.data() + c->offset, node.place(ByteView(p.value.data(), p.value.size())), 4);
            }
            cells[ends[2] + c->bit / 8] = static_cast<unsigned char>(cells[ends[2] + c->bit / 8] | 0x80 >> (c->bit % 8));
        }
        if (r % rows_per_block == 0) matrix_blocks.emplace_back();
        matrix_blocks.back().insert(matrix_blocks.back().end(), cells.begin(), cells.end());
        Bytes entry;
        append_le(entry, row.id, 4);
        append_le(entry, r, 4);
        index.push_back(std::move(entry));
    }
    std::sort(index.begin(), index.end(), [](const Bytes& a, const Bytes& b) {
        return std::lexicographical_compare(a.rbegin() + 4, a.rend(), b.rbegin() + 4, b.rend());
    });
    const pst::Hid row_index = write_bth(node.heap(), 4, 4, index);
    std::uint32_t rows_hnid = 0;
    if (matrix_blocks.size() == 1 && matrix_blocks.front().size() <= max_heap_allocation) {
        rows_hnid = node.heap().allocate(ByteView(matrix_blocks.front().data(), matrix_blocks.front().size())).value;
    } else if (!matrix_blocks.empty()) {
        rows_hnid = node.place_blocks(matrix_blocks);
    }

    // TCINFO ([MS-PST] 2.3.4.1) and its TCOLDESCs, ascending by tag.
    Bytes info{tc_type, static_cast<unsigned char>(columns.size())};
    for (const std::uint16_t e : ends) append_le(info, e, 2);
    append_le(info, row_index.value, 4);
    append_le(info, rows_hnid, 4);
    append_le(info, 0, 4);
    for (const std::uint32_t t : columns) {
        const Placed* c = find(t);
        append_le(info, t, 4);
        append_le(info, c->offset, 2);
        info.push_back(c->size);
        info.push_back(c->bit);
    }
    node.heap().set_root(node.heap().allocate(ByteView(info.data(), info.size())));
}

}  // namespace mailfsck::pstw
