#include "ndb_writer.h"

#include <algorithm>
#include <stdexcept>

#include "parsers/pst/header.h"
#include "parsers/pst/maps.h"
#include "parsers/pst/page.h"

namespace mailfsck::pstw {
namespace {

using Bytes = std::vector<unsigned char>;


std::uint64_t round_up(std::uint64_t v, std::uint64_t align) { return (v + align - 1) / align * align; }

// Internal block headers ([MS-PST] 2.2.2.8.3): btype, cLevel, cEnt, and
// lcbTotal (data trees) or dwPadding (subnode trees).
constexpr std::uint8_t btype_data_tree = 1;
constexpr std::uint8_t btype_subnode_tree = 2;
constexpr std::uint32_t internal_header = 8;
constexpr std::uint32_t slentry_size = 24;
constexpr std::uint32_t sientry_size = 16;

// cRef counts the BBT's own reference besides the one node or internal
// block that uses each block we write (as in every Outlook file).
constexpr std::uint16_t written_cref = 2;

constexpr std::uint8_t dlist_backfill_complete = 0x01;  // DFL_BACKFILL_COMPLETE

// The header's fields ([MS-PST] 2.2.2.6, Unicode), beside those the reader
// shares through read_header.
constexpr std::uint16_t client_pst = 0x4D53;  // "SM"
constexpr std::uint16_t version_unicode = 23;
constexpr std::uint16_t version_client = 19;
constexpr std::uint8_t amap_valid2 = 2;

}  // namespace

NdbWriter::NdbWriter(RandomOut& out, pst::Crypt crypt)
    : out_(&out), crypt_(crypt), layout_(&pst::layout_for(pst::Format::unicode)),
      sweep_(layout_->first_amap), span_start_(layout_->first_amap),
      span_(layout_->amap_span, 0), span_used_(layout_->amap_span / layout_->amap_unit, false) {
    // The span's own map pages come first in it.
    for (const pst::MapPage& m : pst::map_pages(*layout_, span_start_, span_start_ + layout_->amap_span)) {
        const std::uint64_t first = (m.ib - span_start_) / layout_->amap_unit;
        std::fill_n(span_used_.begin() + static_cast<std::ptrdiff_t>(first), layout_->page_size / layout_->amap_unit, true);
        sweep_ = std::max(sweep_, m.ib + layout_->page_size);
    }
}

std::uint64_t NdbWriter::allocate(std::uint64_t size, std::uint64_t align) {
    if (finished_) throw std::logic_error("PST writer: allocation after finish");
    std::uint64_t ib = round_up(sweep_, align);
    while (ib + size > span_start_ + layout_->amap_span) {
        close_span();
        ib = round_up(sweep_, align);
    }
    const std::uint64_t first = (ib - span_start_) / layout_->amap_unit;
    const std::uint64_t units = round_up(size, layout_->amap_unit) / layout_->amap_unit;
    std::fill_n(span_used_.begin() + static_cast<std::ptrdiff_t>(first), units, true);
    sweep_ = ib + size;
    return ib;
}

void NdbWriter::put(std::uint64_t ib, ByteView bytes) {
    std::copy_n(bytes.data(), bytes.size(), span_.begin() + static_cast<std::ptrdiff_t>(ib - span_start_));
}

void NdbWriter::close_span() {
    const pst::Layout& l = *layout_;
    std::uint64_t free_units = 0;
    for (const pst::MapPage& m : pst::map_pages(l, span_start_, span_start_ + l.amap_span)) {
        unsigned char* page = span_.data() + (m.ib - span_start_);
        unsigned char* bits = page + l.amap_bits_offset;
        switch (m.type) {
            case pst::PageType::amap:
                // One bit per unit, most significant first.
                for (std::size_t u = 0; u < span_used_.size(); ++u) {
                    if (span_used_[u]) bits[u / 8] = static_cast<unsigned char>(bits[u / 8] | (0x80 >> (u % 8)));
                    else ++free_units;
                }
                last_map_ = m.ib;
                break;
            // Deprecated maps ([MS-PST] 2.2.2.7.3, 2.2.2.7.5, 2.2.2.7.6),
            // written as Outlook leaves them: PMaps and FPMaps all
            // "allocated", FMaps naming no free run.
            case pst::PageType::pmap:
            case pst::PageType::fpmap: std::fill_n(page, l.page_size - l.page_trailer, 0xFF); break;
            default: break;
        }
        unsigned char* trailer = page + l.page_size - l.page_trailer;
        trailer[0] = trailer[1] = static_cast<unsigned char>(m.type);
        put_le(trailer + 8, m.ib, 8);  // a map page's id is its offset
        pst::seal_page({page, l.page_size}, l, m.ib);
    }
    free_bytes_ += free_units * l.amap_unit;
    span_free_.push_back(static_cast<std::uint16_t>(free_units));
    out_->write_at(span_start_, ByteView(span_.data(), span_.size()));

    span_start_ += l.amap_span;
    std::fill(span_.begin(), span_.end(), 0);
    std::fill(span_used_.begin(), span_used_.end(), false);
    sweep_ = span_start_;
    for (const pst::MapPage& m : pst::map_pages(l, span_start_, span_start_ + l.amap_span)) {
        const std::uint64_t first = (m.ib - span_start_) / l.amap_unit;
        std::fill_n(span_used_.begin() + static_cast<std::ptrdiff_t>(first), l.page_size / l.amap_unit, true);
        sweep_ = std::max(sweep_, m.ib + l.page_size);
    }
}

std::uint64_t NdbWriter::block(ByteView data, bool internal) {
    const pst::Layout& l = *layout_;
    if (data.size() > l.max_block_data()) throw std::logic_error("PST writer: block too large");
    const std::uint64_t bid = next_bid_ | (internal ? pst::bid_internal : 0);
    next_bid_ += 4;
    const std::uint64_t size = l.align_block(data.size());
    const std::uint64_t ib = allocate(size, l.block_align);
    Bytes bytes(size, 0);
    std::copy_n(data.data(), data.size(), bytes.begin());
    if (!internal) pst::encrypt(crypt_, bid, {bytes.data(), data.size()});
    // BLOCKTRAILER ([MS-PST] 2.2.2.8.1): cb, wSig, dwCRC, bid.
    unsigned char* trailer = bytes.data() + size - l.block_trailer;
    put_le(trailer, data.size(), 2);
    put_le(trailer + 2, pst::signature(ib, bid), 2);
    put_le(trailer + 4, pst::crc32(ByteView(bytes.data(), data.size())), 4);
    put_le(trailer + 8, bid, 8);
    put(ib, ByteView(bytes.data(), bytes.size()));
    // BBTENTRY ([MS-PST] 2.2.2.7.7.3): BREF, cb, cRef.
    append_le(bbt_entries_, bid, 8);
    append_le(bbt_entries_, ib, 8);
    append_le(bbt_entries_, data.size(), 2);
    append_le(bbt_entries_, written_cref, 2);
    bbt_entries_.resize(bbt_entries_.size() + l.bbt_entry - 20, 0);
    if (bbt_entries_.size() / l.bbt_entry == l.bt_entries_bytes / l.bbt_entry) bbt_leaf();
    return bid;
}

std::uint64_t NdbWriter::data_tree(ByteView data) {
    std::vector<std::uint64_t> bids;
    const std::uint64_t step = layout_->max_block_data();
    for (std::uint64_t at = 0; at < data.size(); at += step) bids.push_back(data_block(data.sub(at, step), false));
    return data_tree(std::move(bids), data.size());
}

std::uint64_t NdbWriter::data_block(ByteView data, bool full) {
    if (!full || data.size() == layout_->max_block_data()) return block(data, false);
    Bytes padded(data.data(), data.data() + data.size());
    padded.resize(layout_->max_block_data(), 0);
    return block(ByteView(padded.data(), padded.size()), false);
}

std::uint64_t NdbWriter::data_tree(std::vector<std::uint64_t> bids, std::uint64_t total) {
    if (bids.empty()) return 0;
    if (bids.size() == 1) return bids.front();
    if (total > UINT32_MAX) throw std::length_error("PST writer: node data beyond 4 GiB");
    return internal_levels(std::move(bids), static_cast<std::uint32_t>(total));
}

// XBLOCKs over the data blocks, and an XXBLOCK over those when one XBLOCK
// cannot hold them all ([MS-PST] 2.2.2.8.3.1, 2.2.2.8.3.2).
std::uint64_t NdbWriter::internal_levels(std::vector<std::uint64_t> bids, std::uint32_t total) {
    const std::uint64_t per_block = (layout_->max_block_data() - internal_header) / 8;
    const std::uint64_t step = layout_->max_block_data();
    const auto xblock = [&](std::uint8_t level, const std::uint64_t* first, std::size_t count, std::uint64_t bytes) {
        Bytes entries;
        for (std::size_t i = 0; i < count; ++i) append_le(entries, first[i], 8);
        return internal_block(btype_data_tree, level, count, bytes, entries);
    };
    if (bids.size() <= per_block) return xblock(1, bids.data(), bids.size(), total);
    if (bids.size() > per_block * per_block) throw std::length_error("PST writer: node data too large for an XXBLOCK");
    std::vector<std::uint64_t> xblocks;
    for (std::size_t i = 0; i < bids.size(); i += per_block) {
        const std::size_t count = std::min<std::size_t>(per_block, bids.size() - i);
        // Every block but the last is full.
        const std::uint64_t bytes = std::min<std::uint64_t>(count * step, total - i * step);
        xblocks.push_back(xblock(1, bids.data() + i, count, bytes));
    }
    return xblock(2, xblocks.data(), xblocks.size(), total);
}

// An internal block ([MS-PST] 2.2.2.8.3): type, level, entry count, the
// data tree's total size (padding in subnode blocks), then the entries.
std::uint64_t NdbWriter::internal_block(std::uint8_t btype, std::uint8_t level, std::size_t count, std::uint64_t total,
                                        const Bytes& entries) {
    Bytes b{btype, level};
    append_le(b, count, 2);
    append_le(b, total, 4);
    b.insert(b.end(), entries.begin(), entries.end());
    return block(ByteView(b.data(), b.size()), true);
}

std::uint64_t NdbWriter::sl_level(const std::vector<pst::Subnode>& entries) {
    Bytes e;
    for (const pst::Subnode& s : entries) {
        append_le(e, s.nid, 8);
        append_le(e, s.bid_data, 8);
        append_le(e, s.bid_sub, 8);
    }
    return internal_block(btype_subnode_tree, 0, entries.size(), 0, e);
}

std::size_t NdbWriter::max_subnodes() const {
    const std::size_t per_sl = (layout_->max_block_data() - internal_header) / slentry_size;
    const std::size_t per_si = (layout_->max_block_data() - internal_header) / sientry_size;
    return per_sl * per_si;
}

// An SLBLOCK, or an SIBLOCK over SLBLOCKs ([MS-PST] 2.2.2.8.3.3).
std::uint64_t NdbWriter::subnode_tree(std::vector<pst::Subnode> entries) {
    if (entries.empty()) return 0;
    std::sort(entries.begin(), entries.end(), [](const pst::Subnode& a, const pst::Subnode& b) { return a.nid < b.nid; });
    const std::size_t per_sl = (layout_->max_block_data() - internal_header) / slentry_size;
    if (entries.size() <= per_sl) return sl_level(entries);
    if (entries.size() > max_subnodes()) throw std::length_error("PST writer: too many subnodes");
    std::vector<std::pair<std::uint32_t, std::uint64_t>> children;
    for (std::size_t i = 0; i < entries.size(); i += per_sl) {
        const std::size_t count = std::min(per_sl, entries.size() - i);
        const std::vector<pst::Subnode> part(entries.begin() + static_cast<std::ptrdiff_t>(i),
                                             entries.begin() + static_cast<std::ptrdiff_t>(i + count));
        children.emplace_back(part.front().nid, sl_level(part));
    }
    Bytes e;
    for (const auto& [nid, bid] : children) {
        append_le(e, nid, 8);
        append_le(e, bid, 8);
    }
    return internal_block(btype_subnode_tree, 1, children.size(), 0, e);
}

void NdbWriter::node(std::uint32_t nid, std::uint64_t bid_data, std::uint64_t bid_sub, std::uint32_t parent) {
    nodes_.push_back({nid, bid_data, bid_sub, parent});
}

NdbWriter::PageRef NdbWriter::page(pst::PageType type, const unsigned char* entries, std::size_t count,
                                   std::uint32_t entry_size, std::uint8_t level) {
    const pst::Layout& l = *layout_;
    const std::uint64_t ib = allocate(l.page_size, l.page_size);
    const std::uint64_t bid = next_page_bid_++;
    unsigned char* p = span_.data() + (ib - span_start_);
    std::copy_n(entries, count * entry_size, p);
    // cEnt, cEntMax, cbEnt, cLevel ([MS-PST] 2.2.2.7.7.1).
    unsigned char* meta = p + l.bt_meta_offset;
    meta[0] = static_cast<unsigned char>(count);
    meta[1] = static_cast<unsigned char>(l.bt_entries_bytes / entry_size);
    meta[2] = static_cast<unsigned char>(entry_size);
    meta[3] = level;
    unsigned char* trailer = p + l.page_size - l.page_trailer;
    trailer[0] = trailer[1] = static_cast<unsigned char>(type);
    put_le(trailer + 8, bid, 8);
    pst::seal_page({p, l.page_size}, l, ib);
    std::uint64_t key = 0;
    for (unsigned i = 0; count > 0 && i < 8; ++i) key |= std::uint64_t{entries[i]} << (8 * i);
    return {key, bid, ib};
}

void NdbWriter::bbt_leaf() {
    const std::uint32_t size = layout_->bbt_entry;
    bbt_leaves_.push_back(page(pst::PageType::bbt, bbt_entries_.data(), bbt_entries_.size() / size, size, 0));
    bbt_entries_.clear();
}

NdbWriter::PageRef NdbWriter::branches(pst::PageType type, std::vector<PageRef> level) {
    const pst::Layout& l = *layout_;
    // BTENTRY ([MS-PST] 2.2.2.7.7.2): the child's first key and its BREF.
    const std::size_t per_branch = l.bt_entries_bytes / l.branch_entry;
    for (std::uint8_t depth = 1; level.size() > 1; ++depth) {
        std::vector<PageRef> upper;
        for (std::size_t i = 0; i < level.size(); i += per_branch) {
            Bytes entries;
            const std::size_t count = std::min(per_branch, level.size() - i);
            for (std::size_t j = i; j < i + count; ++j) {
                append_le(entries, level[j].key, 8);
                append_le(entries, level[j].bid, 8);
                append_le(entries, level[j].ib, 8);
                entries.resize(entries.size() + l.branch_entry - 24, 0);
            }
            upper.push_back(page(type, entries.data(), count, l.branch_entry, depth));
        }
        level = std::move(upper);
    }
    return level.front();
}

void NdbWriter::finish() {
    const pst::Layout& l = *layout_;
    if (!bbt_entries_.empty() || bbt_leaves_.empty()) bbt_leaf();
    const PageRef bbt_root = branches(pst::PageType::bbt, std::move(bbt_leaves_));
    // NBTENTRY ([MS-PST] 2.2.2.7.7.4): nid, bidData, bidSub, nidParent.
    std::sort(nodes_.begin(), nodes_.end(), [](const Node& a, const Node& b) { return a.nid < b.nid; });
    for (std::size_t i = 1; i < nodes_.size(); ++i)
        if (nodes_[i].nid == nodes_[i - 1].nid) throw std::logic_error("PST writer: node written twice");
    const std::size_t per_leaf = l.bt_entries_bytes / l.nbt_entry;
    std::vector<PageRef> nbt_leaves;
    for (std::size_t i = 0; i < nodes_.size() || i == 0; i += per_leaf) {
        Bytes entries;
        const std::size_t count = std::min(per_leaf, nodes_.size() - i);
        for (std::size_t j = i; j < i + count; ++j) {
            append_le(entries, nodes_[j].nid, 8);
            append_le(entries, nodes_[j].bid_data, 8);
            append_le(entries, nodes_[j].bid_sub, 8);
            append_le(entries, nodes_[j].parent, 4);
            entries.resize(entries.size() + l.nbt_entry - 28, 0);
        }
        nbt_leaves.push_back(page(pst::PageType::nbt, entries.data(), count, l.nbt_entry, 0));
    }
    const PageRef nbt_root = branches(pst::PageType::nbt, std::move(nbt_leaves));
    close_span();
    write_header(nbt_root, bbt_root);
    finished_ = true;
}

// The density list ([MS-PST] 2.2.2.7.4), which the spec says writers
// should make: the AMaps with free space, the emptiest first, as many as
// its page holds; the next allocation is to come from the first.
void NdbWriter::write_dlist(unsigned char* page) {
    const pst::Layout& l = *layout_;
    std::vector<std::uint32_t> maps;
    for (std::uint32_t i = 0; i < span_free_.size(); ++i)
        if (span_free_[i] > 0) maps.push_back(i);
    std::stable_sort(maps.begin(), maps.end(), [&](std::uint32_t a, std::uint32_t b) { return span_free_[a] > span_free_[b]; });
    // DLISTPAGE: bFlags, cEntDList, wPadding, ulCurrentPage, then 4-byte
    // entries (the AMap's index, 20 bits; its free slots, 12) and 12 bytes
    // of padding before the trailer.
    const std::size_t room = (l.page_size - l.page_trailer - 8 - 12) / 4;
    maps.resize(std::min(maps.size(), room));
    page[0] = dlist_backfill_complete;
    page[1] = static_cast<unsigned char>(maps.size());
    put_le(page + 4, maps.empty() ? 0 : maps.front(), 4);
    for (std::size_t i = 0; i < maps.size(); ++i)
        put_le(page + 8 + 4 * i, maps[i] | std::uint32_t{span_free_[maps[i]]} << 20, 4);
    unsigned char* trailer = page + l.page_size - l.page_trailer;
    trailer[0] = trailer[1] = static_cast<unsigned char>(pst::PageType::dlist);
    put_le(trailer + 8, next_page_bid_++, 8);
    pst::seal_page({page, l.page_size}, l, pst::dlist_offset(l));
}

void NdbWriter::write_header(const PageRef& nbt, const PageRef& bbt) {
    // Everything before the first AMap: the header, then zeros but for the
    // DList page.
    Bytes h(layout_->first_amap, 0);
    write_dlist(h.data() + pst::dlist_offset(*layout_));
    unsigned char* p = h.data();
    put_le(p, pst::header_magic, 4);
    put_le(p + 8, client_pst, 2);
    put_le(p + 10, version_unicode, 2);
    put_le(p + 12, version_client, 2);
    p[14] = p[15] = 0x01;  // bPlatformCreate, bPlatformAccess
    const pst::HeaderOffsets& o = pst::header_offsets(true);
    put_le(p + o.bid_next_p, next_page_bid_, 8);
    put_le(p + o.unique, 1, 4);
    for (std::size_t i = 0; i < rgnid_.size(); ++i) put_le(p + o.rgnid + 4 * i, rgnid_[i], 4);
    // ROOT ([MS-PST] 2.2.2.5): the file ends where the last span does.
    put_le(p + o.root + 4, span_start_, 8);
    put_le(p + o.root + 12, last_map_, 8);
    put_le(p + o.root + 20, free_bytes_, 8);
    put_le(p + o.bref_nbt, nbt.bid, 8);
    put_le(p + o.bref_nbt + 8, nbt.ib, 8);
    put_le(p + o.bref_bbt, bbt.bid, 8);
    put_le(p + o.bref_bbt + 8, bbt.ib, 8);
    p[o.amap_valid] = amap_valid2;
    // rgbFM and rgbFP, deprecated, between ROOT's dwAlign and bSentinel.
    std::fill(p + o.root + 76, p + o.sentinel, 0xFF);
    p[o.sentinel] = 0x80;
    p[o.crypt] = static_cast<unsigned char>(crypt_);
    put_le(p + o.bid_next_b, next_bid_, 8);
    pst::seal_header({h.data(), h.size()});
    out_->write_at(0, ByteView(h.data(), h.size()));
}

}  // namespace mailfsck::pstw
