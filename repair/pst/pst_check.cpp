#include "pst_check.h"

#include <algorithm>
#include <array>
#include <map>

#include "parsers/pst/block.h"
#include "parsers/pst/btree.h"
#include "parsers/pst/header.h"

namespace mailfsck {
namespace {

using namespace pst;

// A damaged tree can yield a finding per entry; past this many of one kind
// the rest are counted in one summary finding.
constexpr std::size_t max_findings_per_kind = 50;

ProblemId problem_for(HeaderDefectKind k) {
    switch (k) {
        case HeaderDefectKind::bad_magic: return ProblemId::pst_bad_magic;
        case HeaderDefectKind::unknown_client: return ProblemId::pst_unknown_client;
        case HeaderDefectKind::unknown_version: return ProblemId::pst_unknown_version;
        case HeaderDefectKind::crc_partial:
        case HeaderDefectKind::crc_full: return ProblemId::pst_header_crc;
        case HeaderDefectKind::unknown_crypt: return ProblemId::pst_unknown_crypt;
        case HeaderDefectKind::bad_sentinel: return ProblemId::pst_bad_sentinel;
        case HeaderDefectKind::root_out_of_range: return ProblemId::pst_root_out_of_range;
        case HeaderDefectKind::amap_invalid: return ProblemId::pst_amap_invalid;
        case HeaderDefectKind::truncated: return ProblemId::pst_truncated;
        case HeaderDefectKind::trailing_data: return ProblemId::pst_trailing_data;
        case HeaderDefectKind::too_short: return ProblemId::pst_header_short;
    }
    return ProblemId::pst_bad_magic;
}

ProblemId problem_for(PageDefectKind k) {
    switch (k) {
        case PageDefectKind::out_of_file: return ProblemId::pst_page_out_of_file;
        case PageDefectKind::type_mismatch: return ProblemId::pst_page_type;
        case PageDefectKind::bad_signature: return ProblemId::pst_page_signature;
        case PageDefectKind::bad_crc: return ProblemId::pst_page_crc;
        case PageDefectKind::wrong_bid: return ProblemId::pst_page_bid;
        case PageDefectKind::bad_entry_size:
        case PageDefectKind::bad_entry_count:
        case PageDefectKind::bad_level: return ProblemId::pst_page_meta;
        case PageDefectKind::keys_not_ascending:
        case PageDefectKind::key_out_of_range: return ProblemId::pst_keys_order;
        case PageDefectKind::first_key_mismatch: return ProblemId::pst_first_key;
        case PageDefectKind::cycle:
        case PageDefectKind::too_deep: return ProblemId::pst_page_cycle;
    }
    return ProblemId::pst_page_meta;
}

ProblemId problem_for(BlockDefectKind k) {
    switch (k) {
        case BlockDefectKind::out_of_file:
        case BlockDefectKind::too_large: return ProblemId::pst_block_out_of_file;
        case BlockDefectKind::cb_mismatch: return ProblemId::pst_block_cb;
        case BlockDefectKind::bid_mismatch: return ProblemId::pst_block_bid;
        case BlockDefectKind::bad_signature: return ProblemId::pst_block_signature;
        case BlockDefectKind::bad_crc: return ProblemId::pst_block_crc;
    }
    return ProblemId::pst_block_crc;
}

// NID types in use. [MS-PST] 2.2.2.1 lists 0x00-0x13 and 0x1F, but its own
// special nodes 0x6B6, 0x6D7 and 0x6F8 have types 0x16-0x18, and the OSTs
// of the corpus use 0x14, 0x15 and 0x19: only 0x1A-0x1E are never seen.
bool known_nid_type(std::uint32_t t) { return t <= 0x19 || t == 0x1F; }

// Nodes every PST has ([MS-PST] 2.7.1): the message store, the name-to-id
// map and the root folder with its three tables.
constexpr std::uint32_t required_nodes[] = {0x21, 0x61, 0x122, 0x12D, 0x12E, 0x12F};

// A block as the BBT lists it, with the references the walk finds to it.
struct BlockRecord {
    std::uint64_t bid = 0;
    std::uint64_t ib = 0;
    std::uint32_t cb = 0;
    std::uint32_t cb_inflated = 0;
    std::uint16_t cref = 0;
    std::uint16_t refs = 0;
};

class PstChecker {
public:
    PstChecker(const Source& source, StoreLog& log, const CheckHooks& hooks)
        : file_(source.bytes()), log_(log), hooks_(hooks) {}

    void run() {
        log_.bytes.total = file_.size();
        header_ = read_header(file_);
        for (const HeaderDefect& d : header_.defects) add(problem_for(d.kind), d.offset, d.length, "header", d.detail);
        if (!header_.format || header_.has(HeaderDefectKind::too_short)) return;
        layout_ = &layout_for(*header_.format);
        log_.variant = std::string(format_name(*header_.format)) + (header_.is_ost() ? " OST" : " PST") +
                       ", encryption " + crypt_name();
        const bool bbt_ok = !root_bad(header_.bbt);
        const bool nbt_ok = !root_bad(header_.nbt);
        if (bbt_ok) walk_blocks();
        if (stopped()) return;
        if (bbt_ok) internal_blocks();
        if (nbt_ok) walk_nodes();
        if (stopped()) return;
        if (bbt_ok && nbt_ok) reference_counts();
        if (bbt_ok && nbt_ok) allocation_maps();
        next_ids();
        flush_overflow();
    }

private:
    std::string crypt_name() const {
        switch (header_.crypt) {
            case 0: return "none";
            case 1: return "permute";
            case 2: return "cyclic";
            default: return "unknown";
        }
    }

    bool root_bad(const Bref& root) const {
        return root.ib % layout_->page_size != 0 || root.ib > file_.size() ||
               file_.size() - root.ib < layout_->page_size;
    }

    bool stopped() {
        if (hooks_.interrupted && hooks_.interrupted->load()) log_.error = "interrupted";
        return log_.error.has_value();
    }

    void add(ProblemId id, std::uint64_t offset, std::uint64_t length, std::string structure, std::string detail = {}) {
        if (++per_kind_[id] > max_findings_per_kind) return;
        log_.add(id, offset, length, std::move(structure), std::nullopt, std::move(detail));
    }

    void flush_overflow() {
        for (const auto& [id, n] : per_kind_)
            if (n > max_findings_per_kind)
                log_.add(id, 0, 0, "store", std::nullopt, std::to_string(n - max_findings_per_kind) + " more");
    }

    void tree_findings(const TreeWalk& walk, const char* tree) {
        for (const PageDefect& d : walk.defects)
            add(problem_for(d.kind), d.offset, d.length, std::string(tree) + " page", d.detail);
    }

    void walk_blocks() {
        std::uint64_t seen = 0;
        TreeVisitor v;
        v.page = [&](const Bref& p) {
            highest_page_ = std::max(highest_page_, p.bid);
            pages_.push_back(p.ib);
        };
        v.bbt = [&](const BbtEntry& e) {
            if (hooks_.progress && (++seen & 1023) == 0) hooks_.progress(e.ib, file_.size());
            std::vector<BlockDefect> defects;
            const std::optional<ByteView> data = check_block(file_, *layout_, e, defects);
            for (const BlockDefect& d : defects) add(problem_for(d.kind), d.offset, d.length, "block", d.detail);
            blocks_.push_back({bid_key(e.bid), e.ib, e.cb, e.cb_inflated, static_cast<std::uint16_t>(e.cref), 0});
            if ((e.bid & bid_internal) != 0 && data && defects.empty()) internal_.push_back(e);
        };
        const TreeWalk walk = walk_tree(file_, *layout_, PageType::bbt, header_.bbt, v);
        tree_findings(walk, "BBT");
        // A sound BBT yields its entries in order; sort anyway, so lookups
        // work whatever order a damaged tree gave.
        std::sort(blocks_.begin(), blocks_.end(),
                  [](const BlockRecord& a, const BlockRecord& b) { return a.bid < b.bid; });
    }

    BlockRecord* block(std::uint64_t bid) {
        const std::uint64_t key = bid_key(bid);
        const auto it = std::lower_bound(blocks_.begin(), blocks_.end(), key,
                                         [](const BlockRecord& r, std::uint64_t k) { return r.bid < k; });
        return it != blocks_.end() && it->bid == key ? &*it : nullptr;
    }

    // Counts a reference to `bid` from the structure at `at`; false (and a
    // finding) when the BBT has no such block.
    bool reference(std::uint64_t bid, std::uint64_t at, const char* from) {
        BlockRecord* b = block(bid);
        if (b == nullptr) {
            add(ProblemId::pst_block_missing, at, 0, from, "block " + std::to_string(bid));
            return false;
        }
        if (b->refs < UINT16_MAX) ++b->refs;
        return true;
    }

    // Internal blocks reference their children; data trees must add up.
    void internal_blocks() {
        for (const BbtEntry& e : internal_) {
            if (stopped()) return;
            const std::optional<ByteView> content = block_content(file_.sub(e.ib, e.cb), e.cb_inflated, inflated_);
            if (!content) {
                add(ProblemId::pst_block_crc, e.ib, e.cb, "block", "compressed data does not inflate to its size");
                continue;
            }
            const InternalBlock ib = read_internal_block(*content, *layout_);
            if (!ib.valid) {
                add(ib.btype == 1 ? ProblemId::pst_data_tree : ProblemId::pst_subnode_tree, e.ib, e.cb, "block",
                    "btype " + std::to_string(ib.btype) + ", cLevel " + std::to_string(ib.level));
                continue;
            }
            if (ib.btype == 1) {
                data_tree(e, ib);
            } else {
                subnode_tree(e, ib);
            }
        }
    }

    void data_tree(const BbtEntry& e, const InternalBlock& ib) {
        std::uint64_t total = 0;
        bool complete = true;
        for (const InternalBlock::Entry& child : ib.entries) {
            if (!reference(child.bid, e.ib, "data tree")) {
                complete = false;
                continue;
            }
            const BlockRecord* c = block(child.bid);
            if (ib.level == 1) {
                total += c->cb_inflated;
                // Data is cut into full blocks; only the last may be short
                // ([MS-PST] 2.2.2.8.3.1). A short one elsewhere shifts every
                // byte after it.
                if (&child != &ib.entries.back() && c->cb_inflated != layout_->max_block_data())
                    add(ProblemId::pst_data_tree, c->ib, c->cb, "block",
                        "block " + std::to_string(c->bid) + " of " + std::to_string(c->cb_inflated) +
                            " bytes before the last of its XBLOCK");
            } else {
                // An XXBLOCK's children are XBLOCKs: their own totals count.
                std::vector<unsigned char> buffer;
                const std::optional<ByteView> x_content = block_content(file_.sub(c->ib, c->cb), c->cb_inflated, buffer);
                const InternalBlock x = x_content ? read_internal_block(*x_content, *layout_) : InternalBlock{};
                if (x.valid && x.btype == 1 && x.level == 1) {
                    total += x.total;
                } else {
                    complete = false;
                    add(ProblemId::pst_data_tree, c->ib, c->cb, "block", "XXBLOCK child is no XBLOCK");
                }
            }
        }
        if (complete && total != ib.total)
            add(ProblemId::pst_data_tree, e.ib, e.cb, "block",
                "lcbTotal " + std::to_string(ib.total) + ", children hold " + std::to_string(total));
    }

    void subnode_tree(const BbtEntry& e, const InternalBlock& ib) {
        std::optional<std::uint64_t> previous;
        for (const InternalBlock::Entry& child : ib.entries) {
            // A subnode NID fills 32 of its entry's 64 bits; writers leave
            // garbage in the rest ([MS-PST] 2.2.2.8.3.3.1.1).
            const std::uint64_t nid = child.key & 0xFFFFFFFF;
            if (previous && nid <= *previous)
                add(ProblemId::pst_subnode_tree, e.ib, e.cb, "block", "subnode ids not ascending");
            previous = nid;
            reference(child.bid, e.ib, "subnode tree");
            if (child.bid_sub != 0) reference(child.bid_sub, e.ib, "subnode tree");
        }
    }

    void walk_nodes() {
        TreeVisitor v;
        v.page = [&](const Bref& p) {
            highest_page_ = std::max(highest_page_, p.bid);
            pages_.push_back(p.ib);
        };
        v.nbt = [&](const NbtEntry& n) {
            const auto nid = static_cast<std::uint32_t>(n.nid);
            nodes_.push_back({nid, n.parent});
            if (!known_nid_type(nid_type(nid)))
                add(ProblemId::pst_node_type, n.at, layout_->nbt_entry, "NBT entry",
                    "node " + std::to_string(nid) + " of type " + std::to_string(nid_type(nid)));
            if (nid_type(nid) == 0x04) ++log_.messages.found;
            if (n.bid_data != 0) reference(n.bid_data, n.at, "NBT entry");
            if (n.bid_sub != 0) reference(n.bid_sub, n.at, "NBT entry");
        };
        const TreeWalk walk = walk_tree(file_, *layout_, PageType::nbt, header_.nbt, v);
        tree_findings(walk, "NBT");
        std::sort(nodes_.begin(), nodes_.end());
        const auto exists = [&](std::uint32_t nid) {
            return std::binary_search(nodes_.begin(), nodes_.end(), std::pair{nid, std::uint32_t{0}},
                                      [](const auto& a, const auto& b) { return a.first < b.first; });
        };
        for (const auto& [nid, parent] : nodes_)
            if (parent != 0 && !exists(parent))
                add(ProblemId::pst_node_parent, 0, 0, "node",
                    "node " + std::to_string(nid) + "'s parent " + std::to_string(parent) + " does not exist");
        // rgnid[t] is the highest NID index given to type t so far: a node
        // above it gets its NID given again ([MS-PST] 2.2.2.6; every corpus
        // file has rgnid equal to the highest index in use for the types it
        // uses).
        std::array<std::uint32_t, 32> highest{};
        for (const auto& [nid, parent] : nodes_) highest[nid_type(nid)] = std::max(highest[nid_type(nid)], nid >> 5);
        for (std::uint32_t t = 0; t < highest.size(); ++t)
            if (highest[t] > header_.rgnid[t])
                add(ProblemId::pst_next_id_low, 0, 0, "header",
                    "rgnid[" + std::to_string(t) + "] " + std::to_string(header_.rgnid[t]) + ", node index " +
                        std::to_string(highest[t]) + " in use");
        for (const std::uint32_t nid : required_nodes)
            if (!exists(nid)) add(ProblemId::pst_node_missing, 0, 0, "node", "node " + std::to_string(nid));
        log_.messages.intact = log_.messages.found;
    }

    // cRef counts the BBT's own reference too: every block in the corpus's
    // Outlook files has cRef one above the references the trees hold.
    void reference_counts() {
        for (const BlockRecord& b : blocks_)
            if (b.refs + 1 != b.cref && b.ib < file_.size())  // a block past the end is reported already
                add(ProblemId::pst_block_refcount, b.ib, b.cb, "block",
                    "block " + std::to_string(b.bid) + ": cRef " + std::to_string(b.cref) + ", " +
                        std::to_string(b.refs) + " reference(s) found");
    }

    // Everything in use must be marked allocated, nothing may overlap, and
    // what is marked but unused is leaked space ([MS-PST] 2.6.1.3). Maps a
    // writer left invalid (fAMapValid 0) are stale by definition: not read.
    void allocation_maps() {
        if (header_.amap_valid == 0) return;
        const Layout& l = *layout_;
        struct Extent {
            std::uint64_t ib;
            std::uint64_t size;
        };
        std::vector<Extent> used;
        used.reserve(blocks_.size() + pages_.size());
        // Blocks the BBT places past the end are reported already.
        for (const BlockRecord& b : blocks_)
            if (b.ib <= file_.size() && file_.size() - b.ib >= l.align_block(b.cb))
                used.push_back({b.ib, l.align_block(b.cb)});
        for (const std::uint64_t p : pages_) used.push_back({p, l.page_size});
        const std::uint64_t end = std::min<std::uint64_t>(header_.file_eof, file_.size());
        std::vector<std::uint64_t> maps;
        for (std::uint64_t at = l.first_amap; at < end; at += l.amap_span) {
            maps.push_back(at);
            used.push_back({at, l.page_size});
        }
        if (l.first_pmap)
            for (std::uint64_t at = *l.first_pmap; at < end; at += 8 * l.amap_span) used.push_back({at, l.page_size});
        std::sort(used.begin(), used.end(), [](const Extent& a, const Extent& b) { return a.ib < b.ib; });
        for (std::size_t i = 1; i < used.size(); ++i)
            if (used[i - 1].ib + used[i - 1].size > used[i].ib)
                add(ProblemId::pst_overlap, used[i].ib, used[i].size, "block",
                    "starts inside the block or page at " + std::to_string(used[i - 1].ib));

        std::uint64_t free_units = 0;
        std::size_t next = 0;  // first extent not yet below the current map
        for (const std::uint64_t at : maps) {
            const std::optional<ByteView> page = page_at(file_, at, l);
            std::vector<PageDefect> found;
            if (!page || !check_page_trailer(*page, l, PageType::amap, at, found)) {
                add(ProblemId::pst_amap_page, at, l.page_size, "AMap page",
                    found.empty() ? "past the end of the file" : std::string(pst::defect_name(found[0].kind)));
                while (next < used.size() && used[next].ib < at + l.amap_span) ++next;
                continue;
            }
            const ByteView bits = page->sub(l.amap_bits_offset, l.amap_bytes);
            const auto allocated = [&](std::uint64_t offset) {
                const std::uint64_t unit = (offset - at) / l.amap_unit;
                return ((bits.at_or(unit / 8, 0) >> (7 - unit % 8)) & 1) != 0;
            };
            const std::uint64_t stop = std::min(at + l.amap_span, end);
            std::uint64_t covered_to = at;
            std::uint64_t leaked = 0;
            std::uint64_t first_leak = 0;
            for (std::uint64_t unit_at = at; unit_at < stop; unit_at += l.amap_unit) {
                while (next < used.size() && used[next].ib <= unit_at) {
                    const Extent& e = used[next++];
                    for (std::uint64_t u = e.ib; u < e.ib + e.size && u < stop; u += l.amap_unit)
                        if (u >= at && !allocated(u)) {
                            add(ProblemId::pst_amap_unmarked, e.ib, e.size, "block", "marked free at " + std::to_string(u));
                            break;
                        }
                    covered_to = std::max(covered_to, e.ib + e.size);
                }
                const bool set = allocated(unit_at);
                if (!set) ++free_units;
                if (set && unit_at >= covered_to) {
                    if (leaked == 0) first_leak = unit_at;
                    leaked += l.amap_unit;
                }
            }
            if (leaked > 0)
                add(ProblemId::pst_leak, first_leak, leaked, "AMap page",
                    std::to_string(leaked) + " bytes in the map at " + std::to_string(at));
        }
        // ibAMapLast names the last map page; one more would have to lie
        // past the end of the file ([MS-PST] 2.2.2.5).
        if (!maps.empty() && maps.back() != header_.amap_last)
            add(ProblemId::pst_amap_page, maps.back(), l.page_size, "header",
                "ibAMapLast " + std::to_string(header_.amap_last) + ", the last map is at " +
                    std::to_string(maps.back()));
        if (free_units * l.amap_unit != header_.amap_free)
            add(ProblemId::pst_amap_free_count, 0, 0, "header",
                "cbAMapFree " + std::to_string(header_.amap_free) + ", the maps hold " +
                    std::to_string(free_units * l.amap_unit) + " free bytes");
    }

    void next_ids() {
        const std::uint64_t highest_block = blocks_.empty() ? 0 : blocks_.back().bid;
        if (header_.bid_next_b != 0 && highest_block >= header_.bid_next_b)
            add(ProblemId::pst_next_id_low, 0, 0, "header",
                "bidNextB " + std::to_string(header_.bid_next_b) + ", block " + std::to_string(highest_block) +
                    " in use");
        if (header_.bid_next_p != 0 && highest_page_ >= header_.bid_next_p)
            add(ProblemId::pst_next_id_low, 0, 0, "header",
                "bidNextP " + std::to_string(header_.bid_next_p) + ", page " + std::to_string(highest_page_) +
                    " in use");
    }

    ByteView file_;
    StoreLog& log_;
    const CheckHooks& hooks_;
    Header header_;
    const Layout* layout_ = nullptr;
    std::vector<BlockRecord> blocks_;
    std::vector<BbtEntry> internal_;
    std::vector<unsigned char> inflated_;  // reused for each compressed internal block
    std::vector<std::pair<std::uint32_t, std::uint32_t>> nodes_;  // (nid, parent)
    std::uint64_t highest_page_ = 0;
    std::vector<std::uint64_t> pages_;  // B-tree pages in use
    std::map<ProblemId, std::size_t> per_kind_;
};

}  // namespace

void check_pst(const Source& source, StoreLog& log, const CheckHooks& hooks) { PstChecker(source, log, hooks).run(); }

}  // namespace mailfsck
