#include "ltp.h"

#include <algorithm>
#include <unordered_set>

namespace mailfsck::pst {
namespace {

constexpr std::uint8_t bth_type = 0xB5;
constexpr std::uint8_t tc_type = 0x7C;
// Real BTHs have at most a few index levels; a deeper one is damage.
constexpr std::uint8_t max_bth_levels = 8;

// `seen`: the HIDs of record blocks read so far. An index naming one twice
// (or its own block) would multiply the records level by level, so a
// second naming is a defect and is not followed: the records then number
// at most the heap's bytes over a record's size.
void collect(const Heap& heap, Hid hid, std::uint8_t level, const Bth& shape, std::vector<BthRecord>& out,
             std::vector<std::string>& defects, std::unordered_set<std::uint32_t>& seen) {
    if (!seen.insert(hid.value).second) {
        defects.push_back("BTH index names HID " + std::to_string(hid.value) + " twice");
        return;
    }
    const std::optional<ByteView> records = heap.get(hid);
    if (!records) {
        defects.push_back("BTH records at HID " + std::to_string(hid.value) + " missing");
        return;
    }
    const std::uint32_t size = shape.key_size + (level > 0 ? 4U : shape.data_size);
    if (records->size() % size != 0) defects.push_back("BTH records of " + std::to_string(records->size()) + " bytes");
    for (std::uint64_t at = 0; at + size <= records->size(); at += size) {
        const ByteView key = records->sub(at, shape.key_size);
        if (level > 0) {
            collect(heap, Hid{Cursor(*records, at + shape.key_size).u32le()}, static_cast<std::uint8_t>(level - 1), shape,
                    out, defects, seen);
            continue;
        }
        out.push_back({key, records->sub(at + shape.key_size, shape.data_size)});
    }
}

// Keys compare as little-endian numbers.
std::uint64_t key_value(const ByteView& key) {
    std::uint64_t v = 0;
    for (std::uint64_t i = 0; i < key.size() && i < 8; ++i) v |= std::uint64_t{key.at_or(i, 0)} << (8 * i);
    return v;
}

// The values one PC or TC resolves from HNIDs ([MS-PST] 2.3.3.2): a HID
// into the heap, else a NID of a subnode; 0 is an empty value. What cannot
// be had is counted and named once. A damaged BTH or row matrix can name
// one heap item from every record or cell, so its copies are bounded.
class Values {
public:
    Values(const Heap& heap, const SubnodeData& subnodes) : heap_(&heap), subnodes_(&subnodes) {}

    // `where` (a property or row id) names the first value that is missing.
    Property resolve(std::uint16_t id, std::uint16_t type, std::uint32_t hnid, std::uint32_t where) {
        Property p{id, type, {}, false};
        if (hnid == 0) return p;
        const Hid hid{hnid};
        if (hid.is_hid()) {
            const std::optional<ByteView> v = heap_->get(hid);
            if (v && !copies_.admit(hid.value)) {
                ++refused_;
                p.missing = true;
                return p;
            }
            if (v) {
                copies_.read(hid.value, v->size());
                p.value.assign(v->data(), v->data() + v->size());
                return p;
            }
        } else if (std::optional<std::vector<unsigned char>> data = *subnodes_ ? (*subnodes_)(hnid) : std::nullopt) {
            p.value = std::move(*data);
            return p;
        }
        if (missing_++ == 0) first_missing_ = where;
        p.missing = true;
        return p;
    }

    void name_defects(std::vector<std::string>& defects, const char* where) const {
        if (missing_ > 0)
            defects.push_back(std::to_string(missing_) + " value(s) unreadable (the first: " + where + " " +
                              std::to_string(first_missing_) + ")");
        if (refused_ > 0)
            defects.push_back(std::to_string(refused_) + " value(s) naming heap items copied already, past the bound: left out");
    }

private:
    const Heap* heap_;
    const SubnodeData* subnodes_;
    RereadBound copies_;
    std::uint64_t missing_ = 0;
    std::uint64_t refused_ = 0;
    std::uint32_t first_missing_ = 0;
};

}  // namespace

bool RereadBound::admit(std::uint64_t key) {
    const auto it = sizes_.find(key);
    if (it == sizes_.end()) return true;
    const std::uint64_t cost = it->second + reread_cost;
    if (again_ + cost > max_reread + once_) return false;
    again_ += cost;
    return true;
}

void RereadBound::read(std::uint64_t key, std::uint64_t size) {
    if (sizes_.emplace(key, size).second) once_ += size;
}

std::uint32_t fixed_size(std::uint16_t type) {
    switch (static_cast<PropType>(type)) {
        case PropType::integer16: return 2;
        case PropType::integer32:
        case PropType::floating32:
        case PropType::error_code: return 4;
        case PropType::boolean: return 1;
        case PropType::floating64:
        case PropType::currency:
        case PropType::floating_time:
        case PropType::integer64:
        case PropType::time: return 8;
        case PropType::guid: return 16;
        default: return 0;
    }
}

bool sound_value(const Property& p) {
    const std::uint32_t fixed = fixed_size(p.type);
    return !p.missing && (fixed == 0 || p.value.size() == fixed);
}

std::uint64_t Property::as_uint() const {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < value.size() && i < 8; ++i) v |= std::uint64_t{value[i]} << (8 * i);
    return v;
}

Bth read_bth(const Heap& heap, Hid header) {
    Bth b;
    const std::optional<ByteView> h = heap.get(header);
    if (!h || h->size() < 8) {
        b.defects.push_back("BTH header at HID " + std::to_string(header.value) + " missing");
        return b;
    }
    Cursor c(*h);
    const std::uint8_t type = c.u8();
    b.key_size = c.u8();
    b.data_size = c.u8();
    const std::uint8_t levels = c.u8();
    const Hid root{c.u32le()};
    if (type != bth_type) b.defects.push_back("bType " + std::to_string(type));
    if (b.key_size != 2 && b.key_size != 4 && b.key_size != 8 && b.key_size != 16)
        b.defects.push_back("cbKey " + std::to_string(b.key_size));
    if (b.data_size == 0 || b.data_size > 32) b.defects.push_back("cbEnt " + std::to_string(b.data_size));
    if (levels > max_bth_levels) b.defects.push_back("bIdxLevels " + std::to_string(levels));
    if (!b.defects.empty()) return b;
    b.valid = true;
    if (root.value == 0) return b;  // an empty BTH
    std::unordered_set<std::uint32_t> seen;
    collect(heap, root, levels, b, b.records, b.defects, seen);
    for (std::size_t i = 1; i < b.records.size(); ++i)
        if (key_value(b.records[i - 1].key) >= key_value(b.records[i].key)) {
            b.defects.push_back("BTH keys not ascending");
            break;
        }
    return b;
}

const Property* PropertyContext::find(std::uint16_t id) const {
    const auto it = std::lower_bound(properties.begin(), properties.end(), id,
                                     [](const Property& p, std::uint16_t k) { return p.id < k; });
    return it != properties.end() && it->id == id ? &*it : nullptr;
}

PropertyContext read_pc(const Heap& heap, const SubnodeData& subnodes) {
    PropertyContext pc;
    if (heap.client() != static_cast<std::uint8_t>(HeapClient::property_context)) {
        pc.defects.push_back("heap client " + std::to_string(heap.client()) + ", not a property context");
        return pc;
    }
    const Bth bth = read_bth(heap, heap.user_root());
    pc.defects = bth.defects;
    if (!bth.valid) return pc;
    if (bth.key_size != 2 || bth.data_size != 6) {
        pc.defects.push_back("PC BTH of cbKey " + std::to_string(bth.key_size) + ", cbEnt " + std::to_string(bth.data_size));
        return pc;
    }
    Values values(heap, subnodes);
    for (const BthRecord& r : bth.records) {
        const auto id = static_cast<std::uint16_t>(key_value(r.key));
        Cursor c(r.data);
        const std::uint16_t type = c.u16le();
        const std::uint32_t v = c.u32le();
        const std::uint32_t fixed = fixed_size(type);
        if (fixed > 0 && fixed <= 4) {
            Property p{id, type, {}, false};
            for (std::uint32_t i = 0; i < fixed; ++i) p.value.push_back(static_cast<unsigned char>(v >> (8 * i)));
            pc.properties.push_back(std::move(p));
            continue;
        }
        Property p = values.resolve(id, type, v, id);
        if (fixed > 0 && !p.missing && p.value.size() != fixed)
            pc.defects.push_back("property " + std::to_string(id) + " of type " + std::to_string(type) + " holds " +
                                 std::to_string(p.value.size()) + " bytes");
        pc.properties.push_back(std::move(p));
    }
    values.name_defects(pc.defects, "property");
    pc.valid = true;
    return pc;
}

TableContext read_tc(const Heap& heap, const SubnodeData& subnodes, const SubnodeBlocks& row_blocks,
                     std::uint32_t row_index_size, Cells cells) {
    TableContext tc;
    if (heap.client() != static_cast<std::uint8_t>(HeapClient::table_context)) {
        tc.defects.push_back("heap client " + std::to_string(heap.client()) + ", not a table context");
        return tc;
    }
    const std::optional<ByteView> info = heap.get(heap.user_root());
    if (!info || info->size() < 22) {
        tc.defects.push_back("TCINFO missing");
        return tc;
    }
    // TCINFO ([MS-PST] 2.3.4.1): bType, cCols, rgib[4], hidRowIndex,
    // hnidRows, hidIndex, then cCols TCOLDESCs of 8 bytes.
    Cursor c(*info);
    const std::uint8_t type = c.u8();
    const std::uint8_t count = c.u8();
    std::uint16_t ends[4];
    for (std::uint16_t& e : ends) e = c.u16le();
    const Hid row_index{c.u32le()};
    const std::uint32_t rows_hnid = c.u32le();
    (void)c.u32le();  // hidIndex: deprecated
    if (type != tc_type) {
        tc.defects.push_back("bType " + std::to_string(type));
        return tc;
    }
    const std::uint16_t row_size = ends[3];
    if (ends[0] > ends[1] || ends[1] > ends[2] || ends[2] > ends[3] || row_size < 4) {
        tc.defects.push_back("row layout rgib " + std::to_string(ends[0]) + "/" + std::to_string(ends[1]) + "/" +
                             std::to_string(ends[2]) + "/" + std::to_string(ends[3]));
        return tc;
    }
    for (std::uint8_t i = 0; i < count; ++i) {
        Column col;
        col.tag = c.u32le();
        col.offset = c.u16le();
        col.size = c.u8();
        col.bit = c.u8();
        if (!c.ok()) {
            tc.defects.push_back("TCOLDESCs past the end of TCINFO");
            return tc;
        }
        if (std::uint32_t{col.offset} + col.size > ends[2] || col.bit / 8U >= std::uint32_t(ends[3] - ends[2]))
            tc.defects.push_back("column " + std::to_string(col.tag) + " outside the row");
        else
            tc.columns.push_back(col);
    }
    const Bth index = read_bth(heap, row_index);
    for (const std::string& d : index.defects) tc.defects.push_back("row index: " + d);
    if (index.valid && (index.key_size != 4 || index.data_size != row_index_size))
        tc.defects.push_back("row index of cbKey " + std::to_string(index.key_size) + ", cbEnt " +
                             std::to_string(index.data_size));
    tc.row_index_entries = index.records.size();

    // The row matrix: in the heap, or block by block in a subnode.
    std::vector<std::optional<std::vector<unsigned char>>> blocks;
    if (rows_hnid != 0) {
        const Hid hid{rows_hnid};
        if (hid.is_hid()) {
            const std::optional<ByteView> m = heap.get(hid);
            if (m) blocks.emplace_back(std::vector<unsigned char>(m->data(), m->data() + m->size()));
            else tc.defects.push_back("row matrix missing");
        } else if (row_blocks) {
            blocks = row_blocks(rows_hnid);
            if (blocks.empty()) tc.defects.push_back("row matrix subnode " + std::to_string(rows_hnid) + " missing");
        }
    }
    Values values(heap, subnodes);
    for (const auto& block : blocks) {
        if (!block) {
            tc.defects.push_back("a block of the row matrix is missing");
            continue;
        }
        const ByteView b(block->data(), block->size(), 0);
        for (std::uint64_t at = 0; at + row_size <= b.size(); at += row_size) {
            const ByteView row = b.sub(at, row_size);
            TableRow r;
            r.id = Cursor(row).u32le();
            for (const Column& col : tc.columns) {
                if (((row.at_or(ends[2] + col.bit / 8, 0) >> (7 - col.bit % 8)) & 1) == 0) continue;
                const auto id = static_cast<std::uint16_t>(col.tag >> 16);
                const auto ptype = static_cast<std::uint16_t>(col.tag & 0xFFFF);
                const std::uint32_t fixed = fixed_size(ptype);
                const ByteView cell = row.sub(col.offset, col.size);
                if (fixed > 0 && fixed <= 8 && col.size == fixed) {
                    if (cells == Cells::kept)
                        r.cells.push_back({id, ptype, std::vector<unsigned char>(cell.data(), cell.data() + cell.size()), false});
                    continue;
                }
                Property p = values.resolve(id, ptype, static_cast<std::uint32_t>(Cursor(cell).u32le()), r.id);
                if (cells == Cells::kept) r.cells.push_back(std::move(p));
            }
            tc.rows.push_back(std::move(r));
        }
    }
    if (tc.rows.size() != tc.row_index_entries)
        tc.defects.push_back(std::to_string(tc.rows.size()) + " rows in the matrix, " +
                             std::to_string(tc.row_index_entries) + " in the row index");
    values.name_defects(tc.defects, "row");
    tc.valid = true;
    return tc;
}

}  // namespace mailfsck::pst
