#include "ltp_writer.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

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
    const std::size_t room = ndb_->layout().max_block_data();
    const bool fits = !bids_.empty() && open_.starts.size() < max_allocations_per_block &&
                      open_.data.size() + data.size() + 1 + page_map_size(open_.starts.size() + 1) <= room;
    // A heap that big (half a gigabyte of values in one table: millions
    // of rows) has no HID for more; failing beats naming other values.
    if (!fits && bids_.size() == max_blocks_) throw std::length_error("PST writer: a heap past its last block");
    if (!fits) begin_block();
    open_.starts.push_back(static_cast<std::uint16_t>(open_.data.size()));
    open_.data.insert(open_.data.end(), data.data(), data.data() + data.size());
    // HID ([MS-PST] 2.3.1.1): hidType 0, hidIndex from 1, hidBlockIndex.
    return pst::Hid{static_cast<std::uint32_t>(open_.starts.size() << 5 | (bids_.size() - 1) << 16)};
}

void HeapWriter::begin_block() {
    Block last = std::exchange(open_, Block{Bytes(header_size(bids_.size()), 0), {}});
    bids_.push_back(0);
    levels_.push_back(0);
    if (bids_.size() > 1) close(bids_.size() - 2, std::move(last));
}

void HeapWriter::close(std::size_t index, Block block) {
    Bytes& d = block.data;
    const auto ends = static_cast<std::uint16_t>(d.size());
    if (d.size() % 2 != 0) d.push_back(0);  // the page map starts on a 2-byte boundary
    const auto map_at = static_cast<std::uint16_t>(d.size());
    append_le(d, block.starts.size(), 2);
    append_le(d, 0, 2);
    for (const std::uint16_t s : block.starts) append_le(d, s, 2);
    append_le(d, ends, 2);
    put_le(d.data(), map_at, 2);
    levels_[index] = fill_level(ndb_->layout().max_block_data() - d.size());
    if (index == 0) {
        first_ = std::move(block);
    } else if (is_bitmap_block(index)) {
        // The blocks the held bitmap block describes are all closed now.
        if (bitmap_index_ != 0) write(bitmap_index_, bitmap_);
        bitmap_ = std::move(block);
        bitmap_index_ = index;
    } else {
        write(index, block);
    }
}

void HeapWriter::write(std::size_t index, Block& block) {
    Bytes& d = block.data;
    const auto put_levels = [&](std::size_t at, std::size_t first, std::size_t count) {
        for (std::size_t i = 0; i < count && first + i < levels_.size(); ++i)
            d[at + i / 2] = static_cast<unsigned char>(d[at + i / 2] | levels_[first + i] << (4 * (i % 2)));
    };
    if (index == 0) {
        d[2] = heap_signature;
        d[3] = static_cast<unsigned char>(client_);
        put_le(d.data() + 4, root_.value, 4);
        put_levels(8, 0, 8);
    } else if (is_bitmap_block(index)) {
        put_levels(2, index, 128);
    }
    const bool last = index + 1 == bids_.size();
    bids_[index] = ndb_->data_block(ByteView(d.data(), d.size()), !last);
    written_bytes_ += last ? d.size() : ndb_->layout().max_block_data();
    block = Block{};
}

std::uint64_t HeapWriter::finish() {
    if (bids_.empty()) begin_block();
    close(bids_.size() - 1, std::move(open_));
    if (bitmap_index_ != 0) write(bitmap_index_, bitmap_);
    write(0, first_);
    return ndb_->data_tree(std::move(bids_), written_bytes_);
}

std::uint32_t NodeBuilder::place(ByteView value) {
    if (value.empty()) return 0;  // as Outlook writes empty values; libpst reads an empty allocation as a value
    if (value.size() <= max_heap_allocation) return heap_.allocate(value).value;
    return place_tree(ndb_->data_tree(value));
}

std::uint32_t NodeBuilder::place_tree(std::uint64_t bid_data) {
    const std::uint32_t nid = next_value_index_++ << 5 | nid_type_ltp;
    subnodes_.push_back({nid, bid_data, 0});
    return nid;
}

std::pair<std::uint64_t, std::uint64_t> NodeBuilder::write() {
    const std::uint64_t data = heap_.finish();
    return {data, ndb_->subnode_tree(subnodes_)};
}

pst::Hid write_bth(HeapWriter& heap, std::uint8_t key_size, std::uint8_t data_size, ByteView records) {
    // Leaves, then index levels of (first key, HID) until one allocation
    // holds a level ([MS-PST] 2.3.2.2, 2.3.2.3).
    ByteView level = records;
    Bytes parents;
    std::size_t record_size = std::size_t{key_size} + data_size;
    std::uint8_t index_levels = 0;
    pst::Hid root;
    while (!level.empty()) {
        const std::size_t chunk = max_heap_allocation / record_size * record_size;
        Bytes above;
        for (std::uint64_t at = 0; at < level.size(); at += chunk) {
            const ByteView a = level.sub(at, chunk);
            root = heap.allocate(a);
            above.insert(above.end(), a.data(), a.data() + key_size);
            append_le(above, root.value, 4);
        }
        if (level.size() <= chunk) break;
        parents = std::move(above);
        level = ByteView(parents.data(), parents.size());
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
    Bytes records;
    for (const pst::Property& p : properties) {
        Bytes& r = records;
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
    }
    node.heap().set_root(write_bth(node.heap(), 2, 6, ByteView(records.data(), records.size())));
}

TableWriter::TableWriter(NdbWriter& ndb, std::vector<std::uint32_t> columns, std::size_t heap_blocks)
    : node_(ndb, pst::HeapClient::table_context, heap_blocks), tags_(std::move(columns)) {
    tags_.push_back(tag_row_id);
    tags_.push_back(tag_row_ver);
    std::sort(tags_.begin(), tags_.end());
    tags_.erase(std::unique(tags_.begin(), tags_.end()), tags_.end());
    if (tags_.size() > max_table_columns) throw std::logic_error("PST writer: too many table columns");
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
        for (const std::uint32_t t : tags_)
            if (t != tag_row_id && t != tag_row_ver && cell_size(t) == width) order.push_back(t);
    std::uint16_t at = 0;
    for (std::size_t i = 0; i < order.size(); ++i) {
        const auto size = static_cast<std::uint8_t>(cell_size(order[i]));
        columns_.push_back({order[i], at, size, static_cast<std::uint8_t>(i)});
        at = static_cast<std::uint16_t>(at + size);
        if (size >= 4) ends_[0] = at;
        if (size >= 2) ends_[1] = at;
        ends_[2] = at;
    }
    ends_[3] = static_cast<std::uint16_t>(ends_[2] + (order.size() + 7) / 8);
    // Rows never straddle blocks.
    rows_per_block_ = node_.ndb().layout().max_block_data() / ends_[3];
}

const TableWriter::Column* TableWriter::column(std::uint32_t tag) const {
    for (const Column& c : columns_)
        if (c.tag == tag) return &c;
    return nullptr;
}

TableWriter::Place TableWriter::place_of(const pst::Property& p, const Column** c) const {
    const std::uint32_t tag = std::uint32_t{p.id} << 16 | p.type;
    if (tag == tag_row_id || tag == tag_row_ver) return Place::none;
    *c = column(tag);
    if (*c == nullptr) return Place::none;
    const std::uint32_t size = pst::fixed_size(p.type);
    if (size != 0 && size <= 8) return Place::row;
    if (p.value.empty()) return Place::none;
    return p.value.size() <= max_heap_allocation ? Place::heap : Place::subnode;
}

bool TableWriter::room_for(const pst::TableRow& row) const {
    std::size_t allocations = 0;
    std::size_t subnodes = 0;
    for (const pst::Property& p : row.cells) {
        const Column* c = nullptr;
        const Place at = place_of(p, &c);
        allocations += at == Place::heap ? 1 : 0;
        subnodes += at == Place::subnode ? 1 : 0;
    }
    // Counted as if each allocation began a block. finish adds the row
    // index (8 bytes a row, in allocations of up to 3,580 bytes, and the
    // levels above them), the row matrix and the table's header.
    const std::size_t index = (std::size_t{rows_} + 1) * 8 / max_heap_allocation + 1;
    const std::size_t at_finish = index + index / 64 + 8;
    return node_.heap().blocks() + allocations + at_finish <= node_.heap().max_blocks() &&
           node_.subnodes() + subnodes + 1 <= node_.ndb().max_subnodes();
}

void TableWriter::add(const pst::TableRow& row) {
    Bytes cells(ends_[3], 0);
    put_le(cells.data(), row.id, 4);
    cells[ends_[2]] |= 0xC0;  // PidTagLtpRowId and PidTagLtpRowVer exist
    for (const pst::Property& p : row.cells) {
        const Column* c = nullptr;
        const Place at = place_of(p, &c);
        if (at == Place::row) {
            std::copy_n(p.value.begin(), std::min<std::size_t>(c->size, p.value.size()), cells.begin() + c->offset);
        } else if (at != Place::none) {
            put_le(cells.data() + c->offset, node_.place(ByteView(p.value.data(), p.value.size())), 4);
        } else if (c == nullptr) {
            continue;
        }
        cells[ends_[2] + c->bit / 8] = static_cast<unsigned char>(cells[ends_[2] + c->bit / 8] | 0x80 >> (c->bit % 8));
    }
    // A full block goes out once another row comes: the last block of the
    // matrix is not padded, and a small matrix may yet go in the heap.
    if (rows_ > 0 && rows_ % rows_per_block_ == 0) {
        matrix_bids_.push_back(node_.ndb().data_block(ByteView(matrix_.data(), matrix_.size()), true));
        matrix_bytes_ += node_.ndb().layout().max_block_data();
        matrix_.clear();
    }
    matrix_.insert(matrix_.end(), cells.begin(), cells.end());
    index_.push_back(std::uint64_t{row.id} << 32 | rows_);
    ++rows_;
}

std::pair<std::uint64_t, std::uint64_t> TableWriter::finish() {
    std::sort(index_.begin(), index_.end());
    Bytes records;
    records.reserve(index_.size() * 8);
    for (const std::uint64_t e : index_) append_le(records, e >> 32 | e << 32, 8);  // dwRowID, dwRowIndex
    index_ = {};
    const pst::Hid row_index = write_bth(node_.heap(), 4, 4, ByteView(records.data(), records.size()));
    records = {};
    std::uint32_t rows_hnid = 0;
    if (matrix_bids_.empty() && !matrix_.empty() && matrix_.size() <= max_heap_allocation) {
        rows_hnid = node_.heap().allocate(ByteView(matrix_.data(), matrix_.size())).value;
    } else if (!matrix_.empty()) {
        matrix_bids_.push_back(node_.ndb().data_block(ByteView(matrix_.data(), matrix_.size()), false));
        rows_hnid = node_.place_tree(node_.ndb().data_tree(std::move(matrix_bids_), matrix_bytes_ + matrix_.size()));
    }
    matrix_ = {};

    // TCINFO ([MS-PST] 2.3.4.1) and its TCOLDESCs, ascending by tag.
    Bytes info{tc_type, static_cast<unsigned char>(tags_.size())};
    for (const std::uint16_t e : ends_) append_le(info, e, 2);
    append_le(info, row_index.value, 4);
    append_le(info, rows_hnid, 4);
    append_le(info, 0, 4);
    for (const std::uint32_t t : tags_) {
        const Column* c = column(t);
        append_le(info, t, 4);
        append_le(info, c->offset, 2);
        info.push_back(c->size);
        info.push_back(c->bit);
    }
    node_.heap().set_root(node_.heap().allocate(ByteView(info.data(), info.size())));
    return node_.write();
}

std::pair<std::uint64_t, std::uint64_t> write_table(NdbWriter& ndb, const std::vector<std::uint32_t>& columns,
                                                    const std::vector<pst::TableRow>& rows) {
    TableWriter table(ndb, columns);
    for (const pst::TableRow& r : rows) table.add(r);
    return table.finish();
}

}  // namespace mailfsck::pstw
