#include "pst_check.h"

#include <algorithm>
#include <array>
#include <bit>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "parsers/bytes/utf8.h"
#include "parsers/pst/block.h"
#include "parsers/pst/btree.h"
#include "parsers/pst/carve.h"
#include "parsers/pst/crypt.h"
#include "parsers/pst/header.h"
#include "parsers/pst/maps.h"
#include "parsers/pst/message.h"
#include "parsers/pst/named.h"
#include "parsers/pst/rebuild.h"
#include "parsers/pst/rtf.h"
#include "repair/pst/pst_compose.h"

namespace mailfsck {
namespace {

using namespace pst;

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

// Nodes every PST must have ([MS-PST] 2.4.1, 2.4.3, 2.4.4, 2.7.1): the
// message store, the name-to-id map, the root folder with its three tables,
// the search management queue and activity list, and the table templates
// new folders and messages are made from (hierarchy, contents, associated
// contents, search contents, attachment and recipient tables). Every PST
// and OST in the corpus, from Outlook 97 to 2019 and other writers, has all
// of them; the search domain and gatherer nodes are left out, as some
// writers do.
constexpr std::uint32_t required_nodes[] = {0x21,  0x61,  0x122, 0x12D, 0x12E, 0x12F, 0x1E1,
                                            0x201, 0x60D, 0x60E, 0x60F, 0x610, 0x671, 0x692};

// A block as the BBT lists it, with the references the walk finds to it.
struct BlockRecord {
    std::uint64_t bid = 0;
    std::uint64_t ib = 0;
    std::uint32_t cb = 0;
    std::uint16_t cref = 0;
    std::uint16_t refs = 0;
};

// Bitmaps as the AMap keeps them: one bit per unit, most significant first.
void set_bits(std::vector<unsigned char>& m, std::uint64_t first, std::uint64_t last) {
    for (; first < last && first % 8 != 0; ++first) m[first / 8] = static_cast<unsigned char>(m[first / 8] | (0x80U >> (first % 8)));
    for (; first + 8 <= last; first += 8) m[first / 8] = 0xFF;
    for (; first < last; ++first) m[first / 8] = static_cast<unsigned char>(m[first / 8] | (0x80U >> (first % 8)));
}

std::optional<std::uint64_t> first_clear(const std::vector<unsigned char>& m, std::uint64_t first, std::uint64_t last) {
    while (first < last) {
        if (first % 8 == 0 && first + 8 <= last && m[first / 8] == 0xFF) {
            first += 8;
            continue;
        }
        if ((m[first / 8] & (0x80U >> (first % 8))) == 0) return first;
        ++first;
    }
    return std::nullopt;
}

// A stretch of the file some structure in use occupies.
struct Extent {
    std::uint64_t ib;
    std::uint64_t size;
};

// Blocks and pages are checked as one stream; what needs them all at once
// (reference counts by id, allocation by offset) is checked in passes over
// ranges of ids or offsets, each holding at most `records_per_pass` of
// them and walking the B-trees again (a few percent of the file). A file
// of any size is checked in bounded memory; one of Outlook's 50 GB limit
// takes a handful of passes.
class PstChecker {
public:
    PstChecker(const Source& source, StoreLog& log, MessageSink* sink, const CheckHooks& hooks,
               const PstCheckOptions& options)
        : source_(source), file_(source.bytes()), log_(log), sink_(sink), hooks_(hooks),
          budget_(std::max<std::size_t>(options.records_per_pass, 1)) {}

    void run() {
        log_.bytes.total = file_.size();
        header_ = read_header(file_);
        const bool unusable = !header_.format || header_.has(HeaderDefectKind::too_short);
        if (unusable) (void)rebuild_header();
        // A version no reader knows is fatal only when nothing replaced it.
        for (const HeaderDefect& d : header_.defects) {
            if (!header_rebuilt_ || d.kind != HeaderDefectKind::unknown_version)
                add(problem_for(d.kind), d.offset, d.length, "header", d.detail);
            // Whatever the missing end held is gone, whether or not
            // anything still names it.
            if (d.kind == HeaderDefectKind::truncated && header_.file_eof > file_.size()) {
                LostItem item;
                item.offset = file_.size();
                item.length = header_.file_eof - file_.size();
                item.reason = "the end of the file is missing (truncated): the messages, folders and B-tree pages it "
                              "held are lost";
                log_.add_lost(std::move(item));
            }
        }
        if (unusable && !header_rebuilt_) return;
        layout_ = &layout_for(*header_.format);
        log_.variant = std::string(format_name(*header_.format)) + (header_.is_ost() ? " OST" : " PST") +
                       ", encryption " + crypt_name();
        const bool bbt_ok = !root_bad(header_.bbt);
        const bool nbt_ok = !root_bad(header_.nbt);
        bbt_damaged_ = !bbt_ok;
        nbt_damaged_ = !nbt_ok;
        if (bbt_ok) check_blocks();
        if (stopped()) return;
        if (nbt_ok) check_nodes();
        if (stopped()) return;
        if (bbt_ok && nbt_ok) reference_counts();
        if (stopped()) return;
        if (bbt_ok && nbt_ok) allocation_maps();
        next_ids();
        if (!stopped() && !quick()) messaging();
        missing_references(nullptr);  // the BBT's walk was damaged, and no index rebuilt (--quick, or stopped)
        for (const auto& [e, defects] : internal_defects_) block_findings(e, defects);
        if (bbt_ok && !stopped()) check_data_blocks();
    }

private:
    // The checker reads a store all over, and never through the mapping,
    // lest resident memory grow with the file: blocks and pages are copied
    // (block(), page(), walk_tree's `through`), lookups go through a small
    // page cache (pages()), and carving lets the mapping go behind itself.
    // A page fault maps 64 KiB around the page it needs, and costs a trap
    // that a virtual machine makes dear: on a PST, whose blocks and B-tree
    // leaves lie all over the file, copying what is read is also faster.
    std::string crypt_name() const {
        switch (header_.crypt) {
            case 0: return "none";
            case 1: return "permute";
            case 2: return "cyclic";
            default: return "unknown";
        }
    }

    // A header that names no format (overwritten, zeroed) is rebuilt from
    // what the file itself holds: the format from its B-tree pages, the
    // roots as carving finds them (carve.h), the encryption from the first
    // node that decrypts to the heap a folder's properties live in. Its
    // other fields (next ids, allocation map totals) are not guessed, and
    // the checks that compare against them are left out.
    bool rebuild_header() {
        const std::optional<Format> format = find_btree_page(file_, file_.size());
        if (!format) return false;
        const Layout& layout = layout_for(*format);
        // The layout found here is the store's from now on: so are its phases.
        phases_ = find_phases(source_, layout);
        const CarvedRoots roots = carve_roots(source_, layout, *phases_);
        if (roots.bbt.bid == 0 || roots.nbt.bid == 0) return false;
        const std::optional<Crypt> crypt = find_crypt(layout, roots);
        if (!crypt) return false;
        header_.format = format;
        header_.bbt = roots.bbt;
        header_.nbt = roots.nbt;
        header_.crypt = static_cast<std::uint8_t>(*crypt);
        header_.file_eof = file_.size();
        header_.amap_valid = 0;
        header_rebuilt_ = true;
        add(ProblemId::pst_header_rebuilt, 0, layout.wide ? 564 : 512, "header",
            std::string(format_name(*format)) + ", encryption " + crypt_name() + ", BBT root at " +
                std::to_string(roots.bbt.ib) + ", NBT root at " + std::to_string(roots.nbt.ib));
        return true;
    }

    // The method under which the message store's or the root folder's
    // data block reads as a Heap-on-Node (bSig 0xEC) of a property context
    // (bClientSig 0xBC) ([MS-PST] 2.3.1.2).
    std::optional<Crypt> find_crypt(const Layout& layout, const CarvedRoots& roots) const {
        const PageCache pages(source_, layout);
        std::vector<unsigned char> stored_bytes;
        std::vector<unsigned char> inflated;
        for (const std::uint32_t nid : {nid_message_store, nid_root_folder}) {
            const std::optional<NbtEntry> node = find_node(file_, layout, roots.nbt, nid, &pages);
            if (!node) continue;
            const std::optional<BbtEntry> block = find_block(file_, layout, roots.bbt, node->bid_data, &pages);
            if (!block || (block->bid & bid_internal) != 0) continue;
            std::vector<BlockDefect> defects;
            const std::optional<ByteView> stored = stored_block(file_, layout, *block, &source_, stored_bytes, defects);
            if (!stored) continue;
            const ByteView checked = check_block_bytes(*stored, layout, *block, defects);
            if (!defects.empty()) continue;
            const std::optional<ByteView> data = block_content(checked, block->cb_inflated, inflated);
            if (!data || data->size() < 4) continue;
            for (const Crypt c : {Crypt::none, Crypt::permute, Crypt::cyclic}) {
                std::vector<unsigned char> bytes(data->data(), data->data() + 4);
                decrypt(c, block->bid, bytes);
                if (bytes[2] == 0xEC && bytes[3] == 0xBC) return c;
            }
        }
        return std::nullopt;
    }

    // The header's bidNextB when it can be believed, else 0.
    std::uint64_t next_bid() const {
        const bool known = !header_rebuilt_ && !header_.has(HeaderDefectKind::crc_partial) &&
                           !header_.has(HeaderDefectKind::crc_full);
        return known ? header_.bid_next_b : 0;
    }

    // Where carving looks (carve.h), found once: a pass over the file that
    // only damage calls for.
    const Phases& phases() {
        if (!phases_) phases_ = find_phases(source_, *layout_);
        return *phases_;
    }

    // For each of `indexes`, the entries of the NBT pages carving finds
    // whose blocks it holds, from one read of the pages. With --deleted, the
    // blocks no B-tree has are among them: a deleted message's entry, on a
    // stale page, then says which subnode tree is its heap's
    // (find_lost_nodes).
    std::vector<std::vector<NbtEntry>> carved_node_entries(const std::vector<const BlockIndex*>& indexes) {
        std::vector<BlockPresent> views;
        views.reserve(indexes.size());
        for (const BlockIndex* blocks : indexes)
            views.emplace_back([blocks](std::uint64_t bid) { return blocks->block(bid).has_value(); });
        return carve_node_entries(source_, *layout_, phases(), views);
    }

    // Blocks found by carving (carve_block_entries), the moved ones said.
    std::vector<BbtEntry> carved_blocks() {
        std::vector<BbtEntry> blocks = carve_block_entries(source_, *layout_, phases(), next_bid());
        moved_blocks(blocks, 0);
        return blocks;
    }

    // Blocks carving found moved, said once: where the first and last lie,
    // and how many.
    void moved_blocks(const std::vector<BbtEntry>& blocks, std::uint64_t not_kept) {
        std::uint64_t moved = 0, first = UINT64_MAX, last = 0;
        for (const BbtEntry& e : blocks) {
            if (!e.moved) continue;
            ++moved;
            if (e.cut != 0) cut_block(e);
            relocated_.emplace_back(bid_key(e.bid), e.ib);
            first = std::min(first, e.ib);
            last = std::max(last, e.ib + layout_->align_block(e.cb));
        }
        std::sort(relocated_.begin(), relocated_.end());
        if (moved > 0)
            add(ProblemId::pst_blocks_moved, first, last - first, "block",
                std::to_string(moved) + " block(s) whose signatures name other offsets, read where they lie" +
                    (not_kept > 0 ? "; " + std::to_string(not_kept) + " more not kept (memory bound), not read" : ""));
    }

    // Said where the inserted bytes may lie: from the first place the
    // stretch may have begun to the end of one begun at the last.
    void cut_block(const BbtEntry& e) {
        const std::uint64_t stretch = e.ib - e.written_at;
        const std::string before =
            e.cut == e.cut_last
                ? "its byte " + std::to_string(e.cut)
                : "one of its bytes " + std::to_string(e.cut) + " to " + std::to_string(e.cut_last) +
                      " (which cannot be told: the bytes there are the same on either side of the stretch)";
        add(ProblemId::pst_block_cut, e.written_at + e.cut, stretch + (e.cut_last - e.cut), "block " + std::to_string(e.bid),
            "written at " + std::to_string(e.written_at) + ", its bytes past the stretch as if written at " +
                std::to_string(e.ib) + ": " + std::to_string(stretch) + " bytes inserted before " + before);
    }

    bool root_bad(const Bref& root) const {
        return root.ib % layout_->page_size != 0 || root.ib > file_.size() ||
               file_.size() - root.ib < layout_->page_size;
    }

    bool quick() const { return sink_ == nullptr && hooks_.structure_only; }

    bool stopped() {
        report_progress();
        if (hooks_.interrupted && hooks_.interrupted->load()) log_.error = "interrupted";
        return log_.error.has_value();
    }

    // Progress counts the blocks the first walk listed: internal blocks as
    // that walk checks them, data blocks as the messaging pass finds them
    // sound or the last pass checks them. Nothing is shown before the
    // count is known; the walk that learns it is the shortest pass.
    void report_progress() const {
        if (hooks_.progress && blocks_ > 0)
            hooks_.progress(std::min(blocks_checked_ + sound_.size(), blocks_), blocks_);
    }

    Finding& add(ProblemId id, std::uint64_t offset, std::uint64_t length, std::string structure, std::string detail = {}) {
        return log_.add(id, offset, length, std::move(structure), std::nullopt, std::move(detail));
    }

    void tree_findings(const TreeWalk& walk, const char* tree) {
        for (const PageDefect& d : walk.defects)
            add(problem_for(d.kind), d.offset, d.length, std::string(tree) + " page", d.detail);
    }

    // Walks a tree again for a later pass; its findings were logged by the first walk.
    void rewalk(PageType type, const TreeVisitor& v) {
        (void)walk_tree(file_, *layout_, type, type == PageType::bbt ? header_.bbt : header_.nbt, v, &source_);
    }

    std::optional<BbtEntry> lookup(std::uint64_t bid) { return find_block(file_, *layout_, header_.bbt, bid, &pages()); }

    // The pages lookups read, once the layout is known.
    const PageCache& pages() {
        if (!lookups_) lookups_.emplace(source_, *layout_);
        return *lookups_;
    }

    // A block's data as stored, checked (check_block). Blocks lie all over
    // the file, and are read by copying (Source::read), not through the
    // mapping: the view is valid until the next read.
    std::optional<ByteView> block(const BbtEntry& e, std::vector<BlockDefect>& defects) {
        const std::optional<ByteView> stored = stored_block(file_, *layout_, e, &source_, read_, defects);
        if (!stored) return std::nullopt;
        return check_block_bytes(*stored, *layout_, e, defects);
    }

    // A page, read as blocks are.
    std::optional<ByteView> page(std::uint64_t at) { return read_page(file_, at, *layout_, &source_, read_); }

    // The internal block an entry describes, when its bytes check out.
    std::optional<InternalBlock> internal_block(const BbtEntry& e, std::vector<BlockDefect>& defects) {
        const std::optional<ByteView> stored = block(e, defects);
        if (!stored || !defects.empty()) return std::nullopt;
        const std::optional<ByteView> content = block_content(*stored, e.cb_inflated, inflated_);
        if (!content) {
            defects.push_back({BlockDefectKind::bad_crc, e.ib, e.cb, "compressed data does not inflate to its size"});
            return std::nullopt;
        }
        return read_internal_block(*content, *layout_);
    }

    // A block's defects where the BBT places it. One that carving found
    // sound where it now lies (moved_blocks) is read there when needed: its
    // defects are fixed, unless the messaging pass could not read that copy.
    void block_findings(const BbtEntry& e, const std::vector<BlockDefect>& defects) {
        const auto there =
            std::lower_bound(relocated_.begin(), relocated_.end(), std::pair{bid_key(e.bid), std::uint64_t{0}});
        const bool found_there =
            there != relocated_.end() && there->first == bid_key(e.bid) && !unreadable_.contains(e.bid);
        for (const BlockDefect& d : defects) {
            Finding& f = add(problem_for(d.kind), d.offset, d.length, "block", d.detail);
            if (!found_there) continue;
            f.action = Action::fixed;
            f.detail += (f.detail.empty() ? "" : "; ") + std::string("block ") + std::to_string(e.bid) +
                        " found sound where it now lies, at " + std::to_string(there->second);
        }
    }

    // Pass 1: every block's trailer, and the shape of every data and
    // subnode tree. The blocks' defects are logged after the messaging
    // pass, which tells which of them it read elsewhere.
    void check_blocks() {
        std::uint64_t seen = 0;
        TreeVisitor v;
        v.page = [&](const Bref& p) { highest_page_ = std::max(highest_page_, p.bid); };
        v.bbt = [&](const BbtEntry& e) {
            if (seen > 0 && seen % budget_ == 0) bid_bounds_.push_back(bid_key(e.bid));
            ++seen;
            highest_block_ = std::max(highest_block_, bid_key(e.bid));
            if ((e.bid & bid_internal) == 0) return;  // check_data_blocks()
            ++blocks_checked_;
            std::vector<BlockDefect> defects;
            if (const std::optional<InternalBlock> ib = internal_block(e, defects)) {
                if (!ib->valid) {
                    add(ib->btype == 1 ? ProblemId::pst_data_tree : ProblemId::pst_subnode_tree, e.ib, e.cb, "block",
                        "btype " + std::to_string(ib->btype) + ", cLevel " + std::to_string(ib->level));
                } else if (ib->btype == 1) {
                    data_tree(e, *ib);
                } else {
                    subnode_tree(e, *ib);
                }
            }
            // Past the log's cap a finding is only counted: what waits stays bounded.
            if (internal_defects_.size() < StoreLog::max_findings_per_kind) {
                if (!defects.empty()) internal_defects_.emplace_back(e, std::move(defects));
            } else {
                block_findings(e, defects);
            }
        };
        const TreeWalk walk = walk_tree(file_, *layout_, PageType::bbt, header_.bbt, v, &source_);
        tree_findings(walk, "BBT");
        bbt_damaged_ = !walk.defects.empty();
        blocks_ = seen;
        pages_ += walk.pages;
    }

    // The last pass: the trailer and CRC of every data block that the
    // messaging pass did not read and find sound (sound_), so that each
    // block of a store is read once. They are read a batch at a time, in
    // file order, each run of neighbouring blocks with one read (a gap of a
    // few KiB is cheaper to read than a syscall); findings keep the BBT's
    // order.
    void check_data_blocks() {
        std::vector<BbtEntry> batch;
        TreeVisitor v;
        v.bbt = [&](const BbtEntry& e) {
            if ((e.bid & bid_internal) != 0 || sound_.contains(e.bid)) return;
            batch.push_back(e);
            if (batch.size() == block_batch) check_batch(batch);
        };
        rewalk(PageType::bbt, v);
        check_batch(batch);
    }

    static constexpr std::size_t block_batch = 4096;
    static constexpr std::uint64_t max_run = std::uint64_t{1} << 20;
    static constexpr std::uint64_t max_gap = std::uint64_t{16} << 10;

    void check_batch(std::vector<BbtEntry>& batch) {
        std::vector<std::vector<BlockDefect>> defects(batch.size());
        std::vector<std::size_t> placed;  // the blocks that lie in the file, in file order
        for (std::size_t i = 0; i < batch.size(); ++i)
            if (block_placed(file_.size(), *layout_, batch[i], defects[i])) placed.push_back(i);
        std::sort(placed.begin(), placed.end(), [&](std::size_t a, std::size_t b) { return batch[a].ib < batch[b].ib; });
        for (std::size_t first = 0; first < placed.size();) {
            const std::uint64_t start = batch[placed[first]].ib;
            std::uint64_t end = start + layout_->align_block(batch[placed[first]].cb);
            std::size_t last = first + 1;
            for (; last < placed.size(); ++last) {
                const BbtEntry& e = batch[placed[last]];
                const std::uint64_t e_end = e.ib + layout_->align_block(e.cb);
                if (e.ib > end + max_gap || std::max(end, e_end) - start > max_run) break;
                end = std::max(end, e_end);
            }
            const ByteView run = source_.read(start, end - start, read_);
            for (std::size_t k = first; k < last; ++k) {
                const BbtEntry& e = batch[placed[k]];
                (void)check_block_bytes(run.sub(e.ib - start, layout_->align_block(e.cb)), *layout_, e, defects[placed[k]]);
            }
            first = last;
        }
        blocks_checked_ += batch.size();
        report_progress();
        for (std::size_t i = 0; i < batch.size(); ++i) block_findings(batch[i], defects[i]);
        batch.clear();
    }

    void data_tree(const BbtEntry& e, const InternalBlock& ib) {
        std::uint64_t total = 0;
        bool complete = true;  // a child the BBT lacks is reported by the reference count pass
        for (const InternalBlock::Entry& child : ib.entries) {
            const std::optional<BbtEntry> c = lookup(child.bid);
            if (!c) {
                complete = false;
                continue;
            }
            if (ib.level == 1) {
                total += c->cb_inflated;
                // Data is cut into full blocks; only the last may be short
                // ([MS-PST] 2.2.2.8.3.1). A short one elsewhere shifts every
                // byte after it.
                // Reported at the XBLOCK, whose list is wrong; the child's
                // own place may not even lie in the file.
                if (&child != &ib.entries.back() && c->cb_inflated != layout_->max_block_data())
                    add(ProblemId::pst_data_tree, e.ib, e.cb, "block",
                        "block " + std::to_string(c->bid) + " of " + std::to_string(c->cb_inflated) +
                            " bytes before the last of its XBLOCK");
                continue;
            }
            // An XXBLOCK's children are XBLOCKs: their own totals count.
            std::vector<unsigned char> buffer;
            const std::optional<ByteView> x_content = block_content(source_.read(c->ib, c->cb, read_), c->cb_inflated, buffer);
            const InternalBlock x = x_content ? read_internal_block(*x_content, *layout_) : InternalBlock{};
            if (x.valid && x.btype == 1 && x.level == 1) {
                total += x.total;
            } else {
                complete = false;
                add(ProblemId::pst_data_tree, e.ib, e.cb, "block", "XXBLOCK child " + std::to_string(c->bid) + " is no XBLOCK");
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
            if (previous && nid <= *previous) {
                add(ProblemId::pst_subnode_tree, e.ib, e.cb, "block", "subnode ids not ascending");
                return;
            }
            previous = nid;
            if (ib.level == 1) sibling_key(e, child);
        }
    }

    // An SIENTRY's key is the first subnode of the SLBLOCK it names
    // ([MS-PST] 2.2.2.8.3.3.2.1), as a B-tree branch's is of its page.
    void sibling_key(const BbtEntry& e, const InternalBlock::Entry& child) {  // findings at the SIBLOCK
        const std::optional<BbtEntry> c = lookup(child.bid);
        if (!c) return;  // reported by the reference count pass
        std::vector<unsigned char> buffer;
        const std::optional<ByteView> content = block_content(source_.read(c->ib, c->cb, read_), c->cb_inflated, buffer);
        const InternalBlock sl = content ? read_internal_block(*content, *layout_) : InternalBlock{};
        if (!sl.valid || sl.btype != 2 || sl.level != 0) {
            add(ProblemId::pst_subnode_tree, e.ib, e.cb, "block", "SIBLOCK child " + std::to_string(c->bid) + " is no SLBLOCK");
            return;
        }
        const std::uint64_t key = child.key & 0xFFFFFFFF;
        if (!sl.entries.empty() && (sl.entries.front().key & 0xFFFFFFFF) != key)
            add(ProblemId::pst_subnode_tree, e.ib, e.cb, "block",
                "SIENTRY key " + std::to_string(key) + ", its SLBLOCK starts at " +
                    std::to_string(sl.entries.front().key & 0xFFFFFFFF));
    }

    bool node_exists(std::uint32_t nid) { return find_node(file_, *layout_, header_.nbt, nid, &pages()).has_value(); }

    // The message store and the root folder, when the messaging pass runs,
    // are its to report missing: one finding that says what their loss
    // costs, not a second for the same node.
    bool told_by_messaging(std::uint32_t nid) const {
        return !quick() && (nid == nid_message_store || nid == nid_root_folder);
    }

    // Pass 2: every node's id, parent, and the header's NID high-water marks.
    void check_nodes() {
        std::array<std::uint32_t, 32> highest{};
        TreeVisitor v;
        v.page = [&](const Bref& p) { highest_page_ = std::max(highest_page_, p.bid); };
        v.nbt = [&](const NbtEntry& n) {
            const auto nid = static_cast<std::uint32_t>(n.nid);
            const std::uint32_t type = nid_type(nid);
            if (!known_nid_type(type))
                add(ProblemId::pst_node_type, n.at, layout_->nbt_entry, "NBT entry",
                    "node " + std::to_string(nid) + " of type " + std::to_string(type));
            highest[type] = std::max(highest[type], nid >> 5);
            // A structure-only check counts the message nodes it saw; the
            // messaging pass counts the messages it reads instead.
            if (quick() && type == nid_type_message) {
                ++log_.messages.found;
                ++log_.messages.intact;
            }
            if (n.parent != 0 && !node_exists(n.parent))
                add(ProblemId::pst_node_parent, n.at, layout_->nbt_entry, "NBT entry",
                    "node " + std::to_string(nid) + "'s parent " + std::to_string(n.parent) + " does not exist");
        };
        const TreeWalk walk = walk_tree(file_, *layout_, PageType::nbt, header_.nbt, v, &source_);
        tree_findings(walk, "NBT");
        nbt_damaged_ = !walk.defects.empty();
        pages_ += walk.pages;
        // rgnid[t] is the highest NID index given to type t so far: a node
        // above it gets its NID given again ([MS-PST] 2.2.2.6; every corpus
        // file has rgnid equal to the highest index in use for the types it
        // uses).
        for (std::uint32_t t = 0; t < highest.size() && !header_rebuilt_; ++t)
            if (highest[t] > header_.rgnid[t])
                add(ProblemId::pst_next_id_low, 0, 0, "header",
                    "rgnid[" + std::to_string(t) + "] " + std::to_string(header_.rgnid[t]) + ", node index " +
                        std::to_string(highest[t]) + " in use");
        for (const std::uint32_t nid : required_nodes)
            if (!told_by_messaging(nid) && !node_exists(nid))
                add(ProblemId::pst_node_missing, 0, 0, "node", "node " + std::to_string(nid));
    }

    // Pass 3, per range of block ids: cRef against the references the NBT
    // and the internal blocks hold. cRef counts the BBT's own reference too:
    // every block in the corpus's Outlook files has cRef one above the
    // references the trees hold.
    void reference_counts() {
        std::vector<std::uint64_t> bounds = bid_bounds_;
        std::sort(bounds.begin(), bounds.end());
        bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
        std::vector<BlockRecord> records;
        for (std::size_t r = 0; r <= bounds.size(); ++r) {
            if (stopped()) return;
            const std::uint64_t lo = r == 0 ? 0 : bounds[r - 1];
            const std::uint64_t hi = r == bounds.size() ? UINT64_MAX : bounds[r];
            const auto in_range = [&](std::uint64_t bid) { return bid_key(bid) >= lo && bid_key(bid) < hi; };
            records.clear();
            TreeVisitor collect;
            collect.bbt = [&](const BbtEntry& e) {
                if (in_range(e.bid))
                    records.push_back({bid_key(e.bid), e.ib, e.cb, static_cast<std::uint16_t>(e.cref), 0});
            };
            rewalk(PageType::bbt, collect);
            // The walk gives keys in order; sorted anyway for the lookups.
            std::sort(records.begin(), records.end(),
                      [](const BlockRecord& a, const BlockRecord& b) { return a.bid < b.bid; });
            const auto reference = [&](std::uint64_t bid, std::uint64_t at, const char* from) {
                if (!in_range(bid)) return;
                const auto it = std::lower_bound(records.begin(), records.end(), bid_key(bid),
                                                 [](const BlockRecord& b, std::uint64_t k) { return b.bid < k; });
                if (it == records.end() || it->bid != bid_key(bid)) {
                    // Past the log's cap a finding is only counted: what waits stays bounded.
                    if (bbt_damaged_ && missing_references_.size() < StoreLog::max_findings_per_kind) {
                        missing_references_.push_back({bid, at, from});
                    } else {
                        missing_reference({bid, at, from}, nullptr);
                    }
                    return;
                }
                if (it->refs < UINT16_MAX) ++it->refs;
            };
            TreeVisitor internals;
            internals.bbt = [&](const BbtEntry& e) {
                if ((e.bid & bid_internal) == 0) return;
                std::vector<BlockDefect> ignored;
                const std::optional<InternalBlock> ib = internal_block(e, ignored);
                if (!ib || !ib->valid) return;
                for (const InternalBlock::Entry& child : ib->entries) {
                    reference(child.bid, e.ib, ib->btype == 1 ? "data tree" : "subnode tree");
                    if (child.bid_sub != 0) reference(child.bid_sub, e.ib, "subnode tree");
                }
            };
            rewalk(PageType::bbt, internals);
            TreeVisitor nodes;
            nodes.nbt = [&](const NbtEntry& n) {
                if (n.bid_data != 0) reference(n.bid_data, n.at, "NBT entry");
                if (n.bid_sub != 0) reference(n.bid_sub, n.at, "NBT entry");
            };
            rewalk(PageType::nbt, nodes);
            for (const BlockRecord& b : records)
                if (b.refs + 1 != b.cref && b.ib < file_.size())  // a block past the end is reported already
                    add(ProblemId::pst_block_refcount, b.ib, b.cb, "block",
                        "block " + std::to_string(b.bid) + ": cRef " + std::to_string(b.cref) + ", " +
                            std::to_string(b.refs) + " reference(s) found");
        }
    }

    struct MissingReference {
        std::uint64_t bid, at;
        const char* from;
    };
    // A reference to a block the BBT lacks. With the BBT damaged, such
    // references wait for the index rebuilt by carving (`rebuilt`): a block
    // it has was read there.
    void missing_reference(const MissingReference& m, const BlockIndex* rebuilt) {
        Finding& f = add(ProblemId::pst_block_missing, m.at, 0, m.from, "block " + std::to_string(m.bid));
        const std::optional<BbtEntry> e = rebuilt != nullptr ? rebuilt->block(m.bid) : std::nullopt;
        if (!e || unreadable_.contains(m.bid)) return;
        f.action = Action::fixed;
        f.detail += ", found by carving at " + std::to_string(e->ib);
    }

    void missing_references(const BlockIndex* rebuilt) {
        for (const MissingReference& m : missing_references_) missing_reference(m, rebuilt);
        missing_references_.clear();
    }

    // Pass 4, per range of offsets: everything in use must be marked
    // allocated, nothing may overlap, and what is marked but unused is
    // leaked space ([MS-PST] 2.6.1.3). Maps a writer left invalid
    // (fAMapValid 0) are stale by definition: not read.
    void allocation_maps() {
        const Layout& l = *layout_;
        const std::uint64_t end = std::min<std::uint64_t>(header_.file_eof, file_.size());
        check_dlist(end);
        if (header_.amap_valid == 0) return;
        const std::uint64_t spans = end > l.first_amap ? (end - l.first_amap + l.amap_span - 1) / l.amap_span : 1;
        const std::uint64_t passes = std::clamp<std::uint64_t>((blocks_ + pages_ + spans) / budget_ + 1, 1, spans);
        const std::uint64_t spans_per_pass = (spans + passes - 1) / passes;
        std::optional<Extent> previous;  // the extent reaching furthest so far
        std::uint64_t free_units = 0;
        std::optional<std::uint64_t> last_map;
        std::vector<Extent> used;
        for (std::uint64_t p = 0; p < passes; ++p) {
            if (stopped()) return;
            const std::uint64_t lo = p == 0 ? 0 : l.first_amap + p * spans_per_pass * l.amap_span;
            const std::uint64_t hi = p + 1 == passes ? UINT64_MAX : l.first_amap + (p + 1) * spans_per_pass * l.amap_span;
            const auto in_range = [&](std::uint64_t ib) { return ib >= lo && ib < hi; };
            used.clear();
            TreeVisitor v;
            v.page = [&](const Bref& page) {
                if (in_range(page.ib)) used.push_back({page.ib, l.page_size});
            };
            v.bbt = [&](const BbtEntry& b) {
                // Blocks the BBT places past the end are reported already.
                if (in_range(b.ib) && b.ib <= file_.size() && file_.size() - b.ib >= l.align_block(b.cb))
                    used.push_back({b.ib, l.align_block(b.cb)});
            };
            rewalk(PageType::bbt, v);
            rewalk(PageType::nbt, v);
            const std::vector<MapPage> maps = map_pages(l, lo, std::min(hi, end));
            for (const MapPage& m : maps) used.push_back({m.ib, l.page_size});
            std::sort(used.begin(), used.end(), [](const Extent& a, const Extent& b) { return a.ib < b.ib; });
            for (const Extent& e : used) {
                if (previous && previous->ib + previous->size > e.ib)
                    add(ProblemId::pst_overlap, e.ib, e.size, "block",
                        "starts inside the block or page at " + std::to_string(previous->ib));
                if (!previous || e.ib + e.size > previous->ib + previous->size) previous = e;
            }
            for (const MapPage& m : maps) {
                if (m.type == PageType::amap) {
                    check_amap(m.ib, end, used, free_units);
                    last_map = m.ib;
                } else {
                    check_map_page(m);
                }
            }
        }
        // ibAMapLast names the last map page; one more would have to lie
        // past the end of the file ([MS-PST] 2.2.2.5).
        if (last_map && *last_map != header_.amap_last)
            add(ProblemId::pst_amap_page, *last_map, l.page_size, "header",
                "ibAMapLast " + std::to_string(header_.amap_last) + ", the last map is at " + std::to_string(*last_map));
        if (free_units * l.amap_unit != header_.amap_free)
            add(ProblemId::pst_amap_free_count, 0, 0, "header",
                "cbAMapFree " + std::to_string(header_.amap_free) + ", the maps hold " +
                    std::to_string(free_units * l.amap_unit) + " free bytes");
    }

    // One AMap page against the extents in use (sorted) in its span.
    void check_amap(std::uint64_t at, std::uint64_t end, const std::vector<Extent>& used, std::uint64_t& free_units) {
        const Layout& l = *layout_;
        const std::optional<ByteView> page = this->page(at);
        std::vector<PageDefect> found;
        if (!page || !check_page_trailer(*page, l, PageType::amap, at, found)) {
            add(ProblemId::pst_amap_page, at, l.page_size, "AMap page",
                found.empty() ? "past the end of the file" : std::string(pst::defect_name(found[0].kind)));
            return;
        }
        // Byte-wide work on the map and on a bitmap of what is in use (one
        // bit per unit, most significant first, as in the AMap): a 50 GB
        // file has 200,000 maps of 3,968 units each.
        const std::uint64_t stop = std::min(at + l.amap_span, end);
        const std::uint64_t units = (stop - at + l.amap_unit - 1) / l.amap_unit;
        const ByteView stored = page->sub(l.amap_bits_offset, l.amap_bytes);
        std::vector<unsigned char> bits((units + 7) / 8);
        std::vector<unsigned char> in_use(bits.size(), 0);
        for (std::uint64_t i = 0; i < bits.size(); ++i) bits[i] = stored.at_or(i, 0);
        if (units % 8 != 0) bits.back() &= static_cast<unsigned char>(0xFF00 >> (units % 8));
        for (auto e = std::lower_bound(used.begin(), used.end(), at, [](const Extent& x, std::uint64_t o) { return x.ib < o; });
             e != used.end() && e->ib < stop; ++e) {
            const std::uint64_t first = (e->ib - at) / l.amap_unit;
            const std::uint64_t last = std::min<std::uint64_t>((e->ib + e->size - at + l.amap_unit - 1) / l.amap_unit, units);
            if (const std::optional<std::uint64_t> u = first_clear(bits, first, last))
                add(ProblemId::pst_amap_unmarked, e->ib, e->size, "block",
                    "marked free at " + std::to_string(at + *u * l.amap_unit));
            set_bits(in_use, first, last);
        }
        std::uint64_t leaked_units = 0;
        std::optional<std::uint64_t> first_leak;
        for (std::uint64_t i = 0; i < bits.size(); ++i) {
            free_units += static_cast<std::uint64_t>(std::popcount(static_cast<unsigned char>(~bits[i])));
            const auto leak = static_cast<unsigned char>(bits[i] & ~in_use[i]);
            if (leak == 0) continue;
            if (!first_leak) first_leak = i * 8 + static_cast<std::uint64_t>(std::countl_zero(leak));
            leaked_units += static_cast<std::uint64_t>(std::popcount(leak));
        }
        // The padding bits past the end of a file cut inside a map are not free space.
        if (units % 8 != 0) free_units -= 8 - units % 8;
        if (first_leak)
            add(ProblemId::pst_leak, at + *first_leak * l.amap_unit, leaked_units * l.amap_unit, "AMap page",
                std::to_string(leaked_units * l.amap_unit) + " bytes in the map at " + std::to_string(at));
    }

    // PMap, FMap and FPMap pages are deprecated and their content ignored,
    // but they must stay in place with their checksums ([MS-PST] 2.2.2.7.3).
    void check_map_page(const MapPage& m) {
        const std::optional<ByteView> page = this->page(m.ib);
        std::vector<PageDefect> found;
        if (!page || !check_page_trailer(*page, *layout_, m.type, m.ib, found))
            add(ProblemId::pst_map_page, m.ib, layout_->page_size, map_name(m.type),
                found.empty() ? "past the end of the file" : std::string(pst::defect_name(found[0].kind)));
    }

    static const char* map_name(PageType t) {
        switch (t) {
            case PageType::pmap: return "PMap page";
            case PageType::fmap: return "FMap page";
            case PageType::fpmap: return "FPMap page";
            default: return "AMap page";
        }
    }

    // The density list is optional and only a hint for allocation ([MS-PST]
    // 2.6.1.1.2: updating it is optional): Outlook before 2007 SP2 leaves its
    // page zeroed, and other writers leave it damaged or out of date (Aspose
    // files in the corpus: a CRC that no longer holds, entries past the end,
    // free counts of an earlier state). Information, never damage.
    void check_dlist(std::uint64_t end) {
        const Layout& l = *layout_;
        const std::uint64_t at = dlist_offset(l);
        const std::optional<ByteView> page = this->page(at);
        if (!page || page->size() == 0) return;
        bool zero = true;
        for (std::uint64_t i = 0; i < page->size() && zero; ++i) zero = page->at_or(i, 0) == 0;
        if (zero) return;
        std::vector<PageDefect> found;
        if (!check_page_trailer(*page, l, PageType::dlist, std::nullopt, found)) {
            add(ProblemId::pst_dlist_stale, at, l.page_size, "DList page", std::string(pst::defect_name(found[0].kind)));
            return;
        }
        if (header_.amap_valid == 0) return;
        for (const DlistEntry& e : read_dlist(*page, l).entries) {
            const std::uint64_t amap = l.first_amap + std::uint64_t{e.amap} * l.amap_span;
            const std::optional<ByteView> map = amap < end ? page_at(file_, amap, l) : std::nullopt;
            std::uint32_t free = 0;
            if (map) {
                const ByteView bits = map->sub(l.amap_bits_offset, l.amap_bytes);
                for (std::uint64_t i = 0; i < bits.size(); ++i)
                    free += 8 - static_cast<std::uint32_t>(std::popcount(bits.at_or(i, 0xFF)));
            }
            if (!map || free != e.free_slots) {
                add(ProblemId::pst_dlist_stale, at, l.page_size, "DList page",
                    "AMap " + std::to_string(e.amap) + ": " + std::to_string(e.free_slots) + " free slots listed, " +
                        (map ? std::to_string(free) + " free in the map" : std::string("no such map")));
                return;
            }
        }
    }

    void next_ids() {
        if (header_.bid_next_b != 0 && blocks_ > 0 && highest_block_ >= header_.bid_next_b)
            add(ProblemId::pst_next_id_low, 0, 0, "header",
                "bidNextB " + std::to_string(header_.bid_next_b) + ", block " + std::to_string(highest_block_) +
                    " in use");
        if (header_.bid_next_p != 0 && highest_page_ >= header_.bid_next_p)
            add(ProblemId::pst_next_id_low, 0, 0, "header",
                "bidNextP " + std::to_string(header_.bid_next_p) + ", page " + std::to_string(highest_page_) +
                    " in use");
    }

    class MessagingPass;
    void messaging();

    const Source& source_;
    ByteView file_;
    StoreLog& log_;
    MessageSink* sink_;
    const CheckHooks& hooks_;
    std::size_t budget_;
    std::optional<PageCache> lookups_;  // pages()
    Header header_;
    const Layout* layout_ = nullptr;
    std::uint64_t blocks_ = 0;
    std::uint64_t blocks_checked_ = 0;  // by the first and the last pass; report_progress()
    std::uint64_t pages_ = 0;
    std::uint64_t highest_block_ = 0;
    std::uint64_t highest_page_ = 0;
    std::vector<std::uint64_t> bid_bounds_;  // where each reference-count range starts
    std::vector<unsigned char> inflated_;    // reused for each compressed internal block
    std::vector<unsigned char> read_;        // the bytes block() and page() read last
    BlockSet sound_;                         // data blocks the messaging pass read and found sound
    BlockSet unreadable_;                    // blocks it could not read whole, from wherever
    // Blocks carving found moved (moved_blocks): id, where; sorted. As
    // many as the moved blocks kept (up to 2^21), so the smallest form.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> relocated_;
    std::vector<std::pair<BbtEntry, std::vector<BlockDefect>>> internal_defects_;  // pass 1's, logged later
    std::vector<MissingReference> missing_references_;  // with the BBT damaged, logged later
    bool header_rebuilt_ = false;
    std::optional<Phases> phases_;
    // A tree whose walk from its root found damage: the messaging layer
    // reads through an index rebuilt by carving instead.
    bool bbt_damaged_ = false;
    bool nbt_damaged_ = false;
};


// The messaging layer: from the root folder down through the hierarchy
// tables, every folder's properties and contents, every message read and
// (in repair) composed and written; then the messages no folder lists,
// into Lost and Found. Search folders list messages that live elsewhere
// and are not followed.
class PstChecker::MessagingPass {
public:
    // Every node of the index, for the orphan search.
    using NodeLister = std::function<void(const std::function<void(const NbtEntry&)>&)>;

    // `carved_nodes`: the node index was rebuilt from carved pages.
    // `heap_blocks`: blocks to search for messages no node reaches (empty:
    // none). With a rebuilt node index these are messages whose entries
    // were lost; with an intact one, deleted messages (--deleted).
    // `moved`: where to look for a block not where the index places it
    // (null: the index was carved, and has them). `maps`: the allocation
    // maps, when the header lets them be believed and the node index was
    // rebuilt (null otherwise): what they mark free is not live mail.
    // `sound_bbt`: with a node index rebuilt under a sound BBT, the BBT,
    // which tells what is allocated better than the maps.
    MessagingPass(PstChecker& c, const BlockIndex& blocks, const NodeIndex& nodes, NodeLister all_nodes, bool carved_nodes,
                  std::vector<const std::vector<BbtEntry>*> heap_blocks, const BlockIndex* moved = nullptr,
                  const AllocationMaps* maps = nullptr, const BlockIndex* sound_bbt = nullptr,
                  std::vector<NbtEntry> carved_entries = {})
        : c_(c), blocks_(blocks), nodes_(nodes), all_nodes_(std::move(all_nodes)), carved_nodes_(carved_nodes),
          heap_blocks_(std::move(heap_blocks)), carved_entries_(std::move(carved_entries)), moved_(moved), maps_(maps),
          sound_bbt_(sound_bbt),
          reader_(c.file_, *c.layout_, static_cast<Crypt>(c.header_.crypt), blocks), m_(reader_, nodes) {
        reader_.read_through(c.source_);
        if (moved) reader_.relocate_through(*moved);
        // Through the header's BBT, a block sound here is the one the BBT
        // names, and need not be checked again (check_data_blocks).
        if (!c.bbt_damaged_) reader_.record_sound(c.sound_);
        reader_.record_unreadable(c.unreadable_);
    }

    void run() {
        find_lost_nodes();
        name_map();
        message_store();
        if (c_.sink_) c_.sink_->begin_store(store_);
        walk({nid_root_folder, std::make_shared<const std::string>(), "", 0});
        // Hidden items clients keep for themselves: no mail, but counted so
        // that every item of the store is accounted for; one line a store.
        if (associated_.items > 0) {
            Finding& f = c_.add(ProblemId::pst_associated_items, associated_.first_table, 0, "associated contents table",
                                std::to_string(associated_.items) + " item(s) in " + std::to_string(associated_.folders) +
                                    " folder(s)");
            if (c_.sink_ && associated_.kept > 0) {
                f.detail += "; " + std::to_string(associated_.kept) + " kept in the rebuilt PST";
                if (associated_.kept == associated_.items) f.action = Action::kept;
            }
        }
        orphans();
        const std::uint64_t found_by_heap = lost_nodes();
        missing_messages(found_by_heap);
    }

private:
    struct Pending {
        std::uint32_t nid;
        // Shared by a folder's rows: a damaged table can hold millions.
        std::shared_ptr<const std::string> parent_path;
        std::string row_name;  // the name its parent's hierarchy row gives
        unsigned depth;
    };

    // No real folder tree is this deep; a cycle of hierarchy rows is.
    static constexpr unsigned max_folder_depth = 64;
    // Nor is a folder named this long (a value in a subnode can be
    // megabytes), and every folder below holds the name in its path.
    static constexpr std::size_t max_folder_name = 1024;
    static constexpr const char* lost_and_found = "Lost and Found";
    static constexpr const char* recovered_deleted = "Recovered (deleted)";
    inline static const FolderInfo made_by_repair{FolderInfo::Role::made_by_repair, {}, {}};

    std::uint64_t at(std::uint32_t nid) const {
        const std::optional<NbtEntry> e = nodes_.node(nid);
        return e ? e->at : 0;
    }

    void ltp_findings(std::uint32_t nid, const std::vector<std::string>& defects, const char* what) {
        for (const std::string& d : defects)
            c_.add(ProblemId::pst_ltp_damaged, at(nid), c_.layout_->nbt_entry, what,
                   "node " + std::to_string(nid) + ": " + d);
    }

    static std::string component(std::string name) {
        // '.' separates levels in the rebuilt store; '/' would make a path.
        std::replace(name.begin(), name.end(), '.', '_');
        std::replace(name.begin(), name.end(), '/', '_');
        return name;
    }

    // The message store ([MS-PST] 2.4.3): the store's name, its password
    // and the entry IDs of its special folders (the NID each names), which
    // outputs keep. Unreadable, or read from damaged blocks, they are lost
    // or at risk: the rebuilt store may not show the mail where Outlook
    // looks for it (under the IPM subtree).
    void message_store() {
        const std::optional<NodeRef> store = m_.node(nid_message_store);
        std::vector<ReadIssue> issues;
        const PropertyContext pc = store ? m_.properties(*store, issues) : PropertyContext{};
        if (!pc.valid) {
            const std::string why = !store ? "it has no node" : pc.defects.empty() ? "no heap" : pc.defects.front();
            c_.add(ProblemId::pst_object_unreadable, at(nid_message_store), store ? c_.layout_->nbt_entry : 0,
                   "message store", why);
            lost_blocks(issues,
                        "message store unreadable (" + why + "): the store's name, its password and which folders are "
                        "its special ones (the IPM subtree, Deleted Items) are lost; a PST output holds its folders "
                        "inside its own IPM subtree",
                        at(nid_message_store), std::nullopt, {});
            store_.folders_inside_ipm_subtree = true;
            return;
        }
        ltp_findings(nid_message_store, pc.defects, "message store");
        record_at_risk(nid_message_store, issues,
                       "message store read from damaged blocks: the store's name, its password and which folders are "
                       "its special ones (the IPM subtree, Deleted Items) may be wrong in the rebuilt store");
        if (const Property* p = pc.find(tag::display_name)) store_.name = utf8(*p).value_or("");
        if (const Property* p = pc.find(tag::pst_password); p && p->type == static_cast<std::uint16_t>(PropType::integer32))
            store_.password_crc = Cursor(ByteView(p->value.data(), p->value.size(), 0)).u32le();
        for (const auto& [tag, role] : {std::pair{std::uint16_t{0x35E0}, FolderInfo::Role::ipm_subtree},
                                        std::pair{std::uint16_t{0x35E3}, FolderInfo::Role::deleted_items},
                                        std::pair{std::uint16_t{0x35E7}, FolderInfo::Role::search_root}}) {
            const Property* p = pc.find(tag);
            // EntryID ([MS-PST] 2.4.3.2): rgbFlags, uid, then the NID.
            if (!p || p->value.size() != 24) continue;
            const ByteView id(p->value.data(), p->value.size(), 0);
            special_.emplace(Cursor(id, 20).u32le(), role);
        }
        // Outlook shows a PST's mail under the IPM subtree its store names.
        // Naming none that exists, the store's folders would be written
        // beside the rebuilt store's own, out of sight: they go inside it,
        // as when the store is lost. An OST's store names no special
        // folders as a rule (folder_info knows them by name).
        if (!c_.header_.is_ost() && !names_ipm_subtree()) {
            c_.add(ProblemId::pst_no_ipm_subtree, at(nid_message_store), c_.layout_->nbt_entry, "message store",
                   "no PR_IPM_SUBTREE_ENTRYID naming a folder node");
            store_.folders_inside_ipm_subtree = true;
        }
    }

    bool names_ipm_subtree() const {
        return std::any_of(special_.begin(), special_.end(), [&](const auto& s) {
            return s.second == FolderInfo::Role::ipm_subtree && nid_type(s.first) == nid_type_normal_folder &&
                   m_.node(s.first).has_value();
        });
    }

    FolderInfo folder_info(const Pending& f, const std::string& name, const PropertyContext& pc) const {
        FolderInfo info;
        info.name = name;
        if (const auto it = special_.find(f.nid); it != special_.end()) info.role = it->second;
        else if (nid_type(f.nid) == nid_type_search_folder) info.role = FolderInfo::Role::search_folder;
        // An OST's store names no special folders: Exchange's own names
        // for the mailbox's IPM subtree and search root say which they are.
        else if (special_.empty() && f.depth == 2 && *f.parent_path == "Root - Mailbox" && name == "IPM_SUBTREE")
            info.role = FolderInfo::Role::ipm_subtree;
        else if (special_.empty() && f.depth == 2 && *f.parent_path == "Root - Mailbox" && name == "Finder")
            info.role = FolderInfo::Role::search_root;
        if (const Property* p = pc.find(tag::container_class)) info.container_class = utf8(*p).value_or("");
        return info;
    }

    // Where a block was read, for a finding's place: its moved copy when
    // the index places it elsewhere (even past the end of the file).
    std::optional<BbtEntry> read_from(std::uint64_t bid) const {
        if (moved_ != nullptr)
            if (std::optional<BbtEntry> m = moved_->block(bid)) return m;
        return blocks_.block(bid);
    }

    // Without the map, contacts and calendar items lose their named
    // properties (addresses, times) but are still exported.
    void name_map() {
        std::vector<ReadIssue> issues;
        names_ = read_name_map(m_, issues);
        if (!names_.valid && lost_name_map_) {
            NameMap found = read_name_map(m_, *lost_name_map_, issues);
            if (found.valid) {
                names_ = std::move(found);
                const std::optional<BbtEntry> b = read_from(lost_name_map_->bid_data);
                c_.add(ProblemId::pst_name_map_from_heap, b ? b->ib : 0, b ? c_.layout_->align_block(b->cb) : 0,
                       "name-to-id map", "block " + std::to_string(lost_name_map_->bid_data) +
                                             (lost_name_map_->bid_sub ? ", subnode tree " + std::to_string(lost_name_map_->bid_sub) : ""));
                ltp_findings(nid_name_to_id_map, names_.defects, "name-to-id map");
                map_at_risk(issues);
                return;
            }
        }
        if (!names_.valid && m_.node(nid_name_to_id_map))
            c_.add(ProblemId::pst_object_unreadable, at(nid_name_to_id_map), c_.layout_->nbt_entry, "name-to-id map",
                   "named properties cannot be resolved");
        ltp_findings(nid_name_to_id_map, names_.defects, "name-to-id map");
        map_at_risk(issues);
    }

    // Without the map, each message with named properties is partial; a
    // map read from damaged blocks may name them wrongly in every message.
    void map_at_risk(const std::vector<ReadIssue>& issues) {
        if (names_.valid)
            record_at_risk(nid_name_to_id_map, issues,
                           "name-to-id map read from damaged blocks: the named properties of messages (a contact's "
                           "addresses, an appointment's times) may be written under wrong names");
    }

    // A folder and the tree below it, through the hierarchy tables.
    void walk(const Pending& top) {
        std::vector<Pending> stack{top};
        while (!stack.empty()) {
            if (c_.stopped()) return;
            const Pending f = stack.back();
            stack.pop_back();
            if (f.depth > max_folder_depth || !seen_folders_.insert(f.nid).second) continue;
            const std::optional<NodeRef> node = m_.node(f.nid);
            if (!node) {
                // The root folder's id is fixed ([MS-PST] 2.4.1): its
                // subfolders still say they are its children.
                if (f.nid == nid_root_folder) {
                    c_.add(ProblemId::pst_object_unreadable, 0, 0, "folder",
                           "the root folder has no node; its subfolders are placed by their parent ids");
                    folder_paths_.emplace(f.nid, "");
                }
                continue;
            }
            std::vector<ReadIssue> issues;
            const PropertyContext pc = m_.properties(*node, issues);
            if (!pc.valid) {
                c_.add(ProblemId::pst_object_unreadable, at(f.nid), c_.layout_->nbt_entry, "folder",
                       "folder " + std::to_string(f.nid) + ": " + (pc.defects.empty() ? "no heap" : pc.defects.front()));
            } else {
                ltp_findings(f.nid, pc.defects, "folder");
            }
            // The folder's own name (its PC), else its parent's row's; the
            // root folder is the top of the rebuilt store.
            std::string name;
            if (const Property* p = pc.find(tag::display_name)) name = utf8(*p).value_or("");
            if (name.empty()) name = f.row_name;
            if (name.empty()) name = "folder-" + std::to_string(f.nid);
            if (name.size() > max_folder_name) {
                c_.add(ProblemId::pst_folder_name_cut, at(f.nid), c_.layout_->nbt_entry, "folder",
                       "folder " + std::to_string(f.nid) + ": a name of " + std::to_string(name.size()) + " bytes");
                name = utf8_prefix(name, max_folder_name);
            }
            const std::string path = f.depth == 0 ? std::string()
                                     : f.parent_path->empty() ? component(name)
                                                              : *f.parent_path + "." + component(name);
            record_at_risk(f.nid, issues,
                           "folder " + std::to_string(f.nid) + " (" + (path.empty() ? "the root folder" : path) +
                               "): its own properties (name, counts, settings) read from damaged blocks; its messages "
                               "are exported");
            if (c_.sink_) c_.sink_->begin_folder(path, folder_info(f, name, pc));
            folder_paths_.emplace(f.nid, path);
            const Rows hierarchy = rows(f.nid, nid_type_hierarchy_table);
            if (hierarchy.sound) sound_hierarchy_.insert(f.nid);
            const std::vector<TableRow>& children = hierarchy.rows;
            const auto shared_path = std::make_shared<const std::string>(path);
            for (const TableRow& row : children) {
                if (!row_node(f.nid, nid_type_hierarchy_table, row.id)) continue;
                std::string row_name;
                for (const Property& p : row.cells)
                    if (p.id == tag::display_name) row_name = utf8(p).value_or("");
                // Kept over the bound, to be named if it becomes the name.
                stack.push_back({row.id, shared_path, std::string(utf8_prefix(row_name, max_folder_name + 4)), f.depth + 1});
            }
            if (const Property* flag = pc.find(tag::subfolders); flag && flag->as_bool() != !children.empty())
                c_.add(ProblemId::pst_subfolders_flag, at(f.nid), c_.layout_->nbt_entry, "folder",
                       "folder " + std::to_string(f.nid) + ": PR_SUBFOLDERS " + (flag->as_bool() ? "set" : "clear") +
                           ", " + std::to_string(children.size()) + " subfolder(s)");
            if (const Rows items = rows(f.nid, nid_type_assoc_contents_table, Cells::read_only); !items.rows.empty()) {
                if (associated_.items == 0) associated_.first_table = at(sibling_nid(f.nid, nid_type_assoc_contents_table));
                ++associated_.folders;
                // A damaged table can list one item again and again: once.
                for (const TableRow& row : items.rows) {
                    if (!listed_.insert(row.id).second) continue;
                    ++associated_.items;
                    if (c_.sink_ && c_.sink_->keeps_associated()) associated_.kept += associated_item(row.id, f.nid, path) ? 1 : 0;
                }
            }
            if (nid_type(f.nid) == nid_type_search_folder) continue;
            // Rows are matched to messages carved by their heaps by their
            // cells; else only their ids count.
            const Rows contents = rows(f.nid, nid_type_contents_table, carved_nodes_ ? Cells::kept : Cells::read_only);
            const Property* count = pc.find(tag::content_count);
            const bool counted_alike = !count || count->as_uint() == contents.rows.size();
            if (!counted_alike)
                c_.add(ProblemId::pst_content_count, at(f.nid), c_.layout_->nbt_entry, "folder",
                       "folder " + std::to_string(f.nid) + ": PR_CONTENT_COUNT " + std::to_string(count->as_uint()) +
                           ", " + std::to_string(contents.rows.size()) + " rows");
            std::uint64_t placed = 0;
            std::unordered_set<std::uint32_t> rows_seen;
            for (const TableRow& row : contents.rows) {
                if (c_.stopped()) return;
                if (!rows_seen.insert(row.id).second) continue;  // listed twice: one copy
                const std::optional<NbtEntry> msg = row_node(f.nid, nid_type_contents_table, row.id);
                if (!msg && carved_nodes_ && claim_row(row, f.nid, path)) ++placed;
                if (!msg || !listed_.insert(row.id).second) continue;
                ++placed;
                message(*msg, path);
            }
            // Through a rebuilt index, a table its folder does not count
            // alike may be an old version the index fell back on: it does
            // not say what is deleted.
            const bool decides = contents.sound && (counted_alike || !carved_nodes_);
            if (decides) {
                sound_contents_.insert(f.nid);
            } else {
                placed += reattach_messages(f.nid, path);
            }
            // What the folder says it holds, against what was found of it.
            std::uint64_t expected = rows_seen.size();
            if (count && !decides)
                expected = std::max<std::uint64_t>(expected, count->as_uint());
            if (expected > placed) tallies_[f.nid] = {path, expected, placed};
        }
    }

    // Folders that list or count more messages than were found of them,
    // once orphans (which may be the messages their rows lost) are placed.
    // The messages found by their heaps alone and put in Lost and Found may
    // be some of those, so they are taken off the count of lost.
    void missing_messages(std::uint64_t found_by_heap) {
        std::uint64_t missing = 0;
        for (const auto& [folder, t] : tallies_) {
            if (t.expected <= t.placed) continue;
            missing += t.expected - t.placed;
            missing_messages(folder, t.path, t.expected - t.placed, t.expected, found_by_heap > 0);
        }
        c_.log_.messages.lost += missing - std::min(missing, found_by_heap);
    }

    void missing_messages(std::uint32_t folder, const std::string& path, std::uint64_t missing, std::uint64_t expected,
                          bool maybe_found) {
        const std::string what = std::to_string(missing) + " of " + std::to_string(expected) + " message(s) of folder " +
                                 std::to_string(folder) + " (" + (path.empty() ? "the root folder" : path) +
                                 ") not found: no node holds them" +
                                 (maybe_found ? " (some may be among the messages found by their heaps alone)" : "");
        const std::uint64_t table = at(sibling_nid(folder, nid_type_contents_table));
        c_.add(ProblemId::pst_messages_missing, table, table ? c_.layout_->nbt_entry : 0, "contents table", what);
        LostItem item;
        item.offset = table;
        item.length = table ? c_.layout_->nbt_entry : 0;
        item.reason = what;
        c_.log_.add_lost(std::move(item));
    }

    // A damaged contents table no longer says which messages a folder
    // holds; the nodes whose parent is the folder do. Their rows may have
    // been among those lost, so they are exported in the folder.
    std::uint64_t reattach_messages(std::uint32_t folder, const std::string& path) {
        if (!messages_by_parent_) {
            messages_by_parent_.emplace();
            all_nodes_([&](const NbtEntry& n) {
                if (nid_type(n.nid) == nid_type_message) (*messages_by_parent_)[n.parent].push_back(n);
            });
        }
        std::uint64_t placed = 0;
        const auto it = messages_by_parent_->find(folder);
        if (it == messages_by_parent_->end()) return placed;
        for (const NbtEntry& n : it->second) {
            if (c_.stopped()) break;
            if (!listed_.insert(static_cast<std::uint32_t>(n.nid)).second) continue;
            if (deleted(n.bid_data, n.bid_sub)) {
                deleted_entry(n, ProblemId::pst_freed_message);
                continue;
            }
            c_.add(ProblemId::pst_message_reattached, n.at, c_.layout_->nbt_entry, "NBT entry",
                   "message " + std::to_string(n.nid) + " into folder " + std::to_string(folder));
            ++placed;
            message(n, path);
        }
        return placed;
    }

    // The node a folder table's row names; a row naming no node, or a node
    // whose parent is another folder, is reported against the table.
    std::optional<NbtEntry> row_node(std::uint32_t folder, std::uint32_t table, std::uint32_t id) {
        const bool hierarchy = table == nid_type_hierarchy_table;
        const std::string what = std::string(hierarchy ? "folder " : "message ") + std::to_string(id) +
                                 (hierarchy ? " listed under " : " listed in ") + std::to_string(folder);
        const char* structure = hierarchy ? "hierarchy table" : "contents table";
        const std::optional<NbtEntry> node = nodes_.node(id);
        if (!node)
            c_.add(ProblemId::pst_row_missing_node, at(sibling_nid(folder, table)), 0, structure, what);
        else if (node->parent != folder)
            c_.add(ProblemId::pst_row_parent, node->at, c_.layout_->nbt_entry, structure,
                   what + ", parent " + std::to_string(node->parent));
        return node;
    }

    // A folder-associated item its table lists, to an output that keeps
    // them (PST): whether it was kept. One that cannot be read, or whose
    // node is another folder's, is left out: it is no mail, and counted
    // with the rest.
    bool associated_item(std::uint32_t nid, std::uint32_t folder, const std::string& path) {
        const std::optional<NbtEntry> node = nodes_.node(nid);
        if (!node || node->parent != folder || nid_type(nid) != nid_type_associated_message) return false;
        const Message item = read_message(m_, NodeRef{nid, node->bid_data, node->bid_sub});
        if (!item.properties.valid) return false;
        c_.sink_->associated(path, item, names_.valid ? &names_ : nullptr);
        return true;
    }

    // A table's rows, and whether it was read whole and is the current
    // one: only then does a node it does not list count as not in the
    // folder. A rebuilt index falls back on an old version of a table whose
    // newest blocks are lost: its entry is stale, or the allocation maps
    // mark its heap free.
    struct Rows {
        std::vector<TableRow> rows;
        bool sound = false;
    };

    Rows rows(std::uint32_t folder, std::uint32_t type, Cells cells = Cells::kept) {
        const std::uint32_t nid = sibling_nid(folder, type);
        const std::optional<NodeRef> node = m_.node(nid);
        if (!node) return {};
        std::vector<ReadIssue> issues;
        TableContext tc = m_.table(*node, issues, cells);
        ltp_findings(nid, tc.defects, "table");
        const std::optional<NbtEntry> entry = nodes_.node(nid);
        const bool current = entry && !entry->stale && !freed(node->bid_data);
        return {std::move(tc.rows), tc.valid && tc.defects.empty() && issues.empty() && current};
    }

    // `lacking`: what is known to be missing before reading (a message
    // found by its heap alone, without its subnode tree).
    void message(const NbtEntry& e, const std::string& folder, const std::string& lacking = {}) {
        const auto nid = static_cast<std::uint32_t>(e.nid);
        ++c_.log_.messages.found;
        // A check reads attachments' blocks, keeping none: the blocks pass
        // then skips those found sound.
        const bool export_it = c_.sink_ != nullptr || static_cast<bool>(c_.hooks_.on_message);
        Message msg = read_message(m_, NodeRef{nid, e.bid_data, e.bid_sub},
                                   export_it ? SubnodeValues::kept : SubnodeValues::checked);
        if (!msg.properties.valid) {
            ++c_.log_.messages.lost;
            c_.add(ProblemId::pst_object_unreadable, e.at, c_.layout_->nbt_entry, "message",
                   "message " + std::to_string(nid) + " in " + (folder.empty() ? "the root folder" : folder));
            record_loss(e, {}, msg.issues, "properties unreadable, message not written");
            return;
        }
        if (!heap_blocks_.empty() && nid != 0)
            if (std::string key = version_key(msg.properties); !key.empty()) {
                const std::uint64_t modified = pst::modified(msg.properties);
                // A carved entry that a stale page kept, naming a version a
                // heap no entry names supersedes: that heap is exported (from
                // Lost and Found), not this.
                if (const auto newer = lost_versions_.find(key); newer != lost_versions_.end() && newer->second > modified) {
                    --c_.log_.messages.found;
                    c_.add(ProblemId::pst_superseded_version, e.at, c_.layout_->nbt_entry, "carved NBT entry",
                           "message " + std::to_string(nid) + " in " + (folder.empty() ? "the root folder" : folder));
                    return;
                }
                Version& v = exported_versions_[std::move(key)];
                v.latest = std::max(v.latest, modified);
                v.live = v.live || folder != recovered_deleted;
            }
        unnamed_properties(msg);
        ltp_findings(nid, msg.defects, "message");
        for (const Property& p : msg.properties.properties) {
            if (!p.missing && !well_formed_utf16(p))
                c_.add(ProblemId::pst_bad_utf16, e.at, c_.layout_->nbt_entry, "message",
                       "message " + std::to_string(nid) + ", property " + std::to_string(p.id));
        }
        if (const Property* rtf = msg.properties.find(tag::rtf_compressed); rtf && !rtf->missing) {
            const RtfHeaderCheck r = check_rtf_header(ByteView(rtf->value.data(), rtf->value.size(), 0));
            // Aspose writes uncompressed bodies ("MELA") whose raw size counts
            // the header's 12 bytes too: the text is all there.
            if (r.defect)
                c_.add(!r.compressed && *r.defect == RtfDefect::bad_size ? ProblemId::pst_rtf_size : ProblemId::pst_rtf_damaged,
                       e.at, c_.layout_->nbt_entry, "message",
                       "message " + std::to_string(nid) + ": " + std::string(defect_name(*r.defect)));
        }
        // A check counts a message as an export of it would be: a defect
        // costs what its structure held, and unreadable_parts what it names.
        const std::vector<std::string> missing = unreadable_parts(msg);
        const std::string subject = subject_of(msg);
        std::string what = lacking;
        // Without the map, named properties (ids from 0x8000) lose their
        // meaning: a contact's addresses, an appointment's times.
        if (!names_.valid && std::any_of(msg.properties.properties.begin(), msg.properties.properties.end(),
                                         [](const Property& p) { return p.id >= 0x8000; }))
            what += std::string(what.empty() ? "" : "; ") + "named properties (the name-to-id map is unreadable)";
        if (missing.empty() && msg.issues.empty() && what.empty() && msg.defects.empty()) {
            ++c_.log_.messages.intact;
        } else {
            ++c_.log_.messages.partial;
            for (const std::string& m : missing) what += (what.empty() ? "" : "; ") + m;
            // Blocks used as stored are written as they are, not left out.
            const bool gaps = !what.empty() || !msg.defects.empty() || !bytes_whole(msg.issues, 0);
            if (what.empty()) {
                const auto suspect = static_cast<std::size_t>(
                    std::count_if(msg.issues.begin(), msg.issues.end(), std::mem_fn(&ReadIssue::bytes_used)));
                if (suspect < msg.issues.size()) what = std::to_string(msg.issues.size() - suspect) + " unreadable block(s)";
                if (suspect > 0)
                    what += (what.empty() ? "" : "; ") + std::to_string(suspect) +
                            " block(s) failing their CRC or without a trailer, used as stored (may hold altered bytes)";
            }
            if (!msg.defects.empty())
                what += (what.empty() ? "" : "; ") + std::string("what its ") + std::to_string(msg.defects.size()) +
                        " damaged structure(s) held (PST-0502)";
            c_.add(ProblemId::pst_message_partial, e.at, c_.layout_->nbt_entry, "message",
                   "message " + std::to_string(nid) + " (" + subject + "): " + what);
            record_loss(e, subject, msg.issues, what + (gaps ? "; written without it" : ""));
        }
        if (!export_it) return;
        const ComposedMessage out = compose_message(msg, names_);
        const std::vector<ByteView> pieces{ByteView(reinterpret_cast<const unsigned char*>(out.bytes.data()), out.bytes.size(), 0)};
        if (c_.hooks_.on_message) c_.hooks_.on_message(c_.log_.messages.found, e.at, pieces);
        if (c_.sink_) {
            OutMessage o;
            o.pieces = pieces;
            o.folder = folder;
            o.mtime = out.received;
            o.input_offset = e.at;
            o.number = c_.log_.messages.found;
            o.source = nid != 0 ? "node " + std::to_string(nid) : "block " + std::to_string(e.bid_data);
            if (!what.empty()) {
                o.state = OutMessage::State::partial;
                o.missing = what;
            }
            o.pst_message = &msg;
            o.pst_names = names_.valid ? &names_ : nullptr;
            if (out.object)
                o.item_file = OutMessage::ItemFile{out.object->extension,
                                                   ByteView(reinterpret_cast<const unsigned char*>(out.object_bytes.data()),
                                                            out.object_bytes.size(), 0)};
            c_.sink_->message(o);
        }
    }

    // A named property's id means nothing without the map's entry for it
    // ([MS-PST] 2.4.7): no output can carry the value.
    void unnamed_properties(Message& msg) const {
        if (!names_.valid) return;  // said once per message, with what it lacks
        std::uint64_t unnamed = 0;
        std::uint16_t first = 0;
        for (const Property& p : msg.properties.properties)
            if (p.id >= 0x8000 && names_.name(p.id) == nullptr && unnamed++ == 0) first = p.id;
        if (unnamed > 0)
            msg.defects.push_back(std::to_string(unnamed) + " named propert(ies) the name-to-id map has no entry for (the first: " +
                                  std::to_string(first) + ")");
    }

    // What a message lost, for the report's lost[]: each unreadable block's
    // bytes, or the message's node entry when no block is to blame (a
    // subnode the tree does not have).
    void record_loss(const NbtEntry& e, const std::string& subject, const std::vector<ReadIssue>& issues,
                     const std::string& what) {
        lost_blocks(issues, "message " + std::to_string(e.nid) + ": " + what, e.at, c_.log_.messages.found, subject);
    }

    // A folder or the name-to-id map read from blocks that are missing or
    // fail their checks gives the rebuilt store names that may be wrong or
    // absent, though every message is counted whole: lost[] says so, so
    // that the verdict is not "corrected".
    void record_at_risk(std::uint32_t nid, const std::vector<ReadIssue>& issues, const std::string& what) {
        if (!issues.empty()) lost_blocks(issues, what, at(nid), std::nullopt, {});
    }

    // One lost[] line for each block `issues` name (once), else one at the
    // NBT entry at `entry`.
    void lost_blocks(const std::vector<ReadIssue>& issues, const std::string& reason, std::uint64_t entry,
                     std::optional<std::uint64_t> message, const std::string& subject) {
        std::unordered_set<std::uint64_t> blocks;
        for (const ReadIssue& issue : issues) {
            if (issue.offset == 0 || !blocks.insert(issue.bid).second) continue;
            LostItem item;
            item.offset = issue.offset;
            if (const std::optional<BbtEntry> b = blocks_.block(issue.bid)) item.length = c_.layout_->align_block(b->cb);
            item.message = message;
            item.subject = subject;
            item.reason = reason + " (block " + std::to_string(issue.bid) + ": " + std::string(fault_name(issue.fault)) + ")";
            c_.log_.add_lost(std::move(item));
        }
        if (!blocks.empty()) return;
        LostItem item;
        item.offset = entry;
        item.length = entry ? c_.layout_->nbt_entry : 0;
        item.message = message;
        item.subject = subject;
        item.reason = reason;
        c_.log_.add_lost(std::move(item));
    }

    // Folders no hierarchy table reaches, and messages no contents table
    // lists. A node table rebuilt from carved pages also holds the entries
    // of deleted folders and messages whose blocks survive: one that a
    // table read whole does not list is taken as deleted and not presented
    // as live. Any other is reattached to its parent by its parent id, or
    // exported from Lost and Found when that parent is gone.
    void orphans() {
        std::vector<NbtEntry> folders;
        std::vector<NbtEntry> messages;
        all_nodes_([&](const NbtEntry& n) {
            const auto nid = static_cast<std::uint32_t>(n.nid);
            if (nid_type(nid) == nid_type_normal_folder && !seen_folders_.count(nid)) folders.push_back(n);
            if (nid_type(nid) == nid_type_message && !listed_.count(nid)) messages.push_back(n);
        });
        reattach_folders(folders);
        bool announced = false;
        for (const NbtEntry& n : messages) {
            if (c_.stopped()) return;
            const auto parent = static_cast<std::uint32_t>(n.parent);
            if (listed_.count(static_cast<std::uint32_t>(n.nid))) continue;  // reattached with its folder
            const bool unlisted = carved_nodes_ && (sound_contents_.count(parent) || deleted_folders_.count(parent));
            if (unlisted || deleted(n.bid_data, n.bid_sub)) {
                deleted_entry(n, unlisted ? ProblemId::pst_carved_unlisted : ProblemId::pst_freed_message);
                continue;
            }
            if (!announced && c_.sink_) c_.sink_->begin_folder(lost_and_found, made_by_repair);
            announced = true;
            c_.add(ProblemId::pst_orphan_message, n.at, c_.layout_->nbt_entry, "NBT entry",
                   "message " + std::to_string(n.nid) + ", parent " + std::to_string(n.parent));
            if (const auto t = tallies_.find(parent); t != tallies_.end()) ++t->second.placed;
            message(n, lost_and_found);
        }
    }

    // Parents first: a folder waits until its parent has been placed.
    void reattach_folders(const std::vector<NbtEntry>& folders) {
        for (bool progress = true; progress;) {
            progress = false;
            for (const NbtEntry& f : folders) {
                const auto nid = static_cast<std::uint32_t>(f.nid);
                const auto parent = static_cast<std::uint32_t>(f.parent);
                if (seen_folders_.count(nid) || deleted_folders_.count(nid)) continue;
                if (carved_nodes_ && (sound_hierarchy_.count(parent) || deleted_folders_.count(parent))) {
                    deleted_folders_.insert(nid);
                    c_.add(ProblemId::pst_carved_unlisted, f.at, c_.layout_->nbt_entry, "carved NBT entry",
                           "folder " + std::to_string(nid) + ", parent " + std::to_string(parent));
                    progress = true;
                    continue;
                }
                const auto path = folder_paths_.find(parent);
                if (path == folder_paths_.end()) continue;
                reattach_folder(f, path->second, "under its parent " + std::to_string(parent));
                progress = true;
            }
        }
        for (const NbtEntry& f : folders) {
            if (c_.stopped()) return;
            const auto nid = static_cast<std::uint32_t>(f.nid);
            if (seen_folders_.count(nid) || deleted_folders_.count(nid)) continue;
            reattach_folder(f, lost_and_found, std::string("in ") + lost_and_found);
        }
    }

    void reattach_folder(const NbtEntry& f, const std::string& parent_path, const std::string& where) {
        c_.add(ProblemId::pst_folder_unreachable, f.at, c_.layout_->nbt_entry, "NBT entry",
               "folder " + std::to_string(f.nid) + ", parent " + std::to_string(f.parent) + ": reattached " + where);
        walk({static_cast<std::uint32_t>(f.nid), std::make_shared<const std::string>(parent_path), "", 1});
    }

    // With a node table rebuilt from carved pages, the messages whose
    // entries did not survive, found by their own blocks (rebuild.h); and
    // for each message, the latest modification among them. Found before
    // the folders are read: a carved entry may name a version of a message
    // that one of these supersedes.
    void find_lost_nodes() {
        if (heap_blocks_.empty()) return;
        std::unordered_map<std::uint64_t, unsigned> references;
        all_nodes_([&](const NbtEntry& n) {
            reader_.visit_blocks(n.bid_data, n.bid_sub, [&](std::uint64_t bid, std::uint32_t) { ++references[bid_key(bid)]; });
        });
        LostNodes found = pst::find_lost_nodes(m_, heap_blocks_, [&](std::uint64_t bid) {
            const auto r = references.find(bid_key(bid));
            return r == references.end() ? 0U : r->second;
        }, carved_entries_);
        lost_ = std::move(found.messages);
        lost_used_.assign(lost_.size(), false);
        lost_heap_free_.assign(lost_.size(), false);
        lost_deleted_.assign(lost_.size(), false);
        if (!carved_nodes_) return;  // an intact node table's entries are never stale
        if (!m_.node(nid_name_to_id_map)) lost_name_map_ = found.name_map;
        for (std::size_t i = 0; i < lost_.size(); ++i) {
            const LostMessage& l = lost_[i];
            // A deleted heap supersedes nothing: it is not exported.
            lost_heap_free_[i] = freed(l.bid_data);
            lost_deleted_[i] = deleted(l.bid_data, l.bid_sub);
            // A freed heap is no current version: it supersedes nothing.
            if (l.version_key.empty() || l.shared || lost_heap_free_[i]) continue;
            std::uint64_t& latest = lost_versions_[l.version_key];
            latest = std::max(latest, l.modified);
        }
    }

    // A contents-table row naming a node the rebuilt table lacks, matched to
    // a message found by its blocks: exported in the row's folder, under
    // the node id the row gives.
    bool claim_row(const TableRow& row, std::uint32_t folder, const std::string& path) {
        // A heap the maps mark free that the row matches is an older version
        // of the message the row lists: taken only when no current one is.
        for (const bool older : {false, true})
            for (std::size_t i = 0; i < lost_.size(); ++i) {
                if (lost_used_[i] || lost_heap_free_[i] != older || !row_matches(lost_[i], row)) continue;
                lost_used_[i] = true;
                listed_.insert(row.id);
                export_lost(lost_[i], ProblemId::pst_message_from_heap, row.id, folder, path,
                            "placed in folder " + std::to_string(folder) + " by its row, node " + std::to_string(row.id));
                return true;
            }
        return false;
    }

    // Where a carved entry naming the heap last had the message, for the
    // report: a deleted message's node and folder (and the folder's path,
    // if the folder is still there).
    std::string last_place(const LostMessage& l) const {
        if (l.nid == 0) return {};
        std::string out = ", node " + std::to_string(l.nid) + " last in folder " + std::to_string(l.parent);
        if (const auto p = folder_paths_.find(l.parent); p != folder_paths_.end() && !p->second.empty())
            out += " (" + p->second + ")";
        return out;
    }

    // `id`: the finding, PST-0517 for a lost node, PST-0519 for a deleted one.
    void export_lost(const LostMessage& l, ProblemId id, std::uint32_t nid, std::uint32_t folder, const std::string& path,
                     const std::string& where) {
        const std::optional<BbtEntry> b = read_from(l.bid_data);
        const std::uint64_t offset = b ? b->ib : 0;
        c_.add(id, offset, b ? c_.layout_->align_block(b->cb) : 0, "block",
               "block " + std::to_string(l.bid_data) +
                   (l.bid_sub ? ", subnode tree " + std::to_string(l.bid_sub)
                              : l.tree_unmatched ? ", its subnode tree not found" : std::string()) +
                   last_place(l) + ": " + where);
        message(NbtEntry{nid, l.bid_data, l.bid_sub, folder, offset}, path,
                l.tree_unmatched ? "recipients, attachments and large values (its subnode tree was not found)" : "");
    }

    // The messages found by their own blocks, into Lost and Found. A heap
    // with the version key of a message already exported, modified before
    // it, is an older version of it. Returns how many were exported.
    std::uint64_t lost_nodes() {
        // With an intact node table, a heap no node reaches is a deleted
        // message or an older version of a live one.
        std::vector<std::size_t> freed;
        if (!carved_nodes_) {
            for (std::size_t i = 0; i < lost_.size(); ++i)
                if (!lost_[i].shared) freed.push_back(i);
            freed_heaps(freed);
            return 0;
        }
        std::uint64_t exported = 0;
        for (std::size_t i = 0; i < lost_.size(); ++i) {
            const LostMessage& l = lost_[i];
            if (c_.stopped()) break;
            if (lost_used_[i] || l.shared) continue;
            // A freed heap is no copy of a message exported: an older version.
            if (const auto v = exported_versions_.find(l.version_key);
                v != exported_versions_.end() && (l.modified < v->second.latest || lost_heap_free_[i]))
                continue;
            if (lost_deleted_[i]) {
                freed.push_back(i);
                continue;
            }
            if (exported == 0 && c_.sink_) c_.sink_->begin_folder(lost_and_found, made_by_repair);
            export_lost(l, ProblemId::pst_message_from_heap, 0, 0, lost_and_found, std::string("in ") + lost_and_found);
            ++exported;
        }
        freed_heaps(freed);
        return exported;
    }

    // Messages found by their heaps, freed: deleted, so exported only to
    // Recovered (deleted), and only with --deleted, as carved entries are
    // (deleted_entry): first the heaps a stale node entry names, each its
    // message as that entry last had it, then the others, but none of a
    // message exported, whose older version a freed heap is. Whether the
    // node table is intact or rebuilt, the same versions come back.
    void freed_heaps(const std::vector<std::size_t>& freed) {
        if (!c_.hooks_.recover_deleted) {
            for (const std::size_t i : freed) {
                const std::optional<BbtEntry> b = read_from(lost_[i].bid_data);
                c_.add(ProblemId::pst_freed_message, b ? b->ib : 0, b ? c_.layout_->align_block(b->cb) : 0, "block",
                       "block " + std::to_string(lost_[i].bid_data) + " (its heap)");
            }
            return;
        }
        for (const bool named : {true, false})
            for (const std::size_t i : freed) {
                const LostMessage& l = lost_[i];
                if (c_.stopped()) return;
                if ((l.nid != 0) != named) continue;
                if (const auto v = exported_versions_.find(l.version_key);
                    v != exported_versions_.end() && (v->second.live || !named))
                    continue;
                announce_deleted();
                export_lost(l, ProblemId::pst_deleted_recovered, l.nid, l.parent, recovered_deleted,
                            std::string("in ") + recovered_deleted);
            }
    }

    // A carved entry of a message taken as deleted: counted under `id`, or
    // with --deleted written to Recovered (deleted).
    void deleted_entry(const NbtEntry& n, ProblemId id) {
        const std::string what = "message " + std::to_string(n.nid) + ", parent " + std::to_string(n.parent);
        if (!c_.hooks_.recover_deleted) {
            c_.add(id, n.at, c_.layout_->nbt_entry, "carved NBT entry", what);
            return;
        }
        if (copy_of_exported(n)) {
            c_.add(ProblemId::pst_deleted_copy, n.at, c_.layout_->nbt_entry, "carved NBT entry", what);
            return;
        }
        recovered(n.at, c_.layout_->nbt_entry, "carved NBT entry", what);
        message(n, recovered_deleted);
    }

    // A deleted entry naming a copy or an older version of a message
    // exported live: the rule freed_heaps holds heaps to. Stale pages
    // keep many such entries (Outlook 97 writes a message anew on a change).
    bool copy_of_exported(const NbtEntry& n) const {
        if (exported_versions_.empty()) return false;
        std::vector<ReadIssue> issues;
        const std::string key =
            version_key(m_.properties(NodeRef{static_cast<std::uint32_t>(n.nid), n.bid_data, n.bid_sub}, issues,
                                      SubnodeValues::skipped));
        const auto v = exported_versions_.find(key);
        return !key.empty() && v != exported_versions_.end() && v->second.live;
    }

    // What the sound BBT, else the allocation maps (maps.h), say of a block.
    Allocation allocation(std::uint64_t bid) const {
        if (sound_bbt_) return sound_bbt_->block(bid) ? Allocation::allocated : blocks_.block(bid) ? Allocation::free : Allocation::unknown;
        const std::optional<BbtEntry> b = maps_ ? blocks_.block(bid) : std::nullopt;
        return b ? maps_->of(*b) : Allocation::unknown;
    }

    bool freed(std::uint64_t bid_data) const { return allocation(bid_data) == Allocation::free; }

    // A message whose heap the maps mark free is deleted, or an older
    // version of one. An older version shares its subnode tree with the new
    // one, so its tree is still allocated; that of a deleted one is freed.
    // An older version whose new one is lost is the best there is of it.
    bool deleted(std::uint64_t bid_data, std::uint64_t bid_sub) const {
        return freed(bid_data) && (bid_sub == 0 || allocation(bid_sub) != Allocation::allocated);
    }

    void announce_deleted() {
        if (!deleted_announced_ && c_.sink_) c_.sink_->begin_folder(recovered_deleted, made_by_repair);
        deleted_announced_ = true;
    }

    void recovered(std::uint64_t offset, std::uint64_t length, const char* structure, const std::string& what) {
        announce_deleted();
        c_.add(ProblemId::pst_deleted_recovered, offset, length, structure, what);
    }

    PstChecker& c_;
    const BlockIndex& blocks_;
    const NodeIndex& nodes_;
    NodeLister all_nodes_;
    bool carved_nodes_;
    std::vector<const std::vector<BbtEntry>*> heap_blocks_;
    // Node entries of carved NBT pages, stale ones among them, that say
    // which subnode tree is a lost heap's (find_lost_nodes).
    std::vector<NbtEntry> carved_entries_;
    const BlockIndex* moved_;  // where blocks the index misplaces were read from (null: none)
    const AllocationMaps* maps_;
    const BlockIndex* sound_bbt_;
    bool deleted_announced_ = false;
    // Version keys (rebuild.h) of exported messages: their latest
    // modification, and whether one went to a live folder (not Recovered
    // (deleted)); kept only with heap_blocks_.
    struct Version {
        std::uint64_t latest = 0;
        bool live = false;
    };
    std::map<std::string, Version> exported_versions_;
    std::vector<LostMessage> lost_;
    std::vector<bool> lost_used_;  // claimed by a contents-table row
    std::vector<bool> lost_heap_free_;  // its heap marked free: deleted, or an older version
    std::vector<bool> lost_deleted_;    // and its subnode tree, if any, too: deleted
    std::optional<NodeRef> lost_name_map_;  // the map's blocks, when its entry is lost
    std::map<std::string, std::uint64_t> lost_versions_;  // the same, of lost_
    NodeReader reader_;
    Messaging m_;
    NameMap names_;
    struct {
        std::uint64_t items = 0, folders = 0, first_table = 0, kept = 0;
    } associated_;
    std::unordered_set<std::uint32_t> seen_folders_;
    std::unordered_set<std::uint32_t> listed_;  // messages and associated items exported through a folder
    std::unordered_map<std::uint32_t, std::string> folder_paths_;
    std::unordered_map<std::uint32_t, FolderInfo::Role> special_;
    StoreInfo store_;
    std::unordered_set<std::uint32_t> sound_hierarchy_;  // folders whose tables were read whole
    std::unordered_set<std::uint32_t> sound_contents_;
    std::unordered_set<std::uint32_t> deleted_folders_;  // carved entries taken as deleted
    std::optional<std::unordered_map<std::uint64_t, std::vector<NbtEntry>>> messages_by_parent_;
    struct Tally {
        std::string path;
        std::uint64_t expected = 0, placed = 0;
    };
    std::map<std::uint32_t, Tally> tallies_;  // folders short of messages, in id order for the report
};

// Through the header's trees, or, where one of them is damaged, through an
// index rebuilt from carved pages and blocks (carve.h) for that tree and
// the intact other one held in memory.
void PstChecker::messaging() {
    BTreeIndex trees(file_, *layout_, header_.bbt, header_.nbt);
    trees.read_through(source_);
    // Blocks the BBT places where they no longer lie are looked for where
    // carving finds them, the file carved at the first such block.
    const MovedBlocks moved(source_, *layout_, trees, std::max(next_bid(), highest_block_ + 2),
                            [this]() -> const Phases& { return phases(); });
    if (!bbt_damaged_ && !nbt_damaged_) {
        const auto live_nodes = [&](const std::function<void(const NbtEntry&)>& visit) {
            TreeVisitor v;
            v.nbt = visit;
            rewalk(PageType::nbt, v);
        };
        if (!hooks_.recover_deleted) {
            MessagingPass(*this, trees, trees, live_nodes, false, {}, &moved).run();
            moved_blocks(moved.blocks(), moved.skipped());
            return;
        }
        // Deleted messages' blocks are in no B-tree: carving finds them, the
        // moved ones among them too, so the file's blocks are carved once
        // (and its NBT pages, for the stale entries of deleted messages).
        const SalvageIndex carved(carved_blocks(), {});
        const LayeredIndex blocks(trees, carved);
        MessagingPass(*this, blocks, trees, live_nodes, false, {&carved.blocks()}, &carved, nullptr, nullptr,
                      std::move(carved_node_entries({&blocks}).front())).run();
        return;
    }
    std::vector<BbtEntry> blocks;
    if (bbt_damaged_) {
        blocks = carved_blocks();
    } else {
        TreeVisitor v;
        v.bbt = [&](const BbtEntry& e) { blocks.push_back(e); };
        rewalk(PageType::bbt, v);
    }
    const SalvageIndex block_index(std::move(blocks), {});
    // Deleted messages' blocks are in no B-tree, so --deleted carves for
    // them, as with sound trees: they are read, and searched for heaps,
    // but a carved node entry still needs blocks the sound BBT holds.
    std::optional<SalvageIndex> unindexed;
    std::optional<LayeredIndex> with_unindexed;
    if (!bbt_damaged_ && hooks_.recover_deleted) {
        std::vector<BbtEntry> extra;
        for (const BbtEntry& e : carve_block_entries(source_, *layout_, phases(), next_bid()))
            if (!block_index.block(e.bid)) extra.push_back(e);
        unindexed.emplace(std::move(extra), std::vector<NbtEntry>{});
        with_unindexed.emplace(block_index, *unindexed);
    }
    const BlockIndex& reading = with_unindexed ? static_cast<const BlockIndex&>(*with_unindexed) : block_index;
    std::vector<NbtEntry> nodes;
    // With --deleted, the entries whose blocks only carving found as well:
    // hints for deleted heaps, never nodes of the rebuilt index.
    std::vector<NbtEntry> hints;
    if (nbt_damaged_) {
        std::vector<const BlockIndex*> views{&block_index};
        if (unindexed) views.push_back(&reading);
        std::vector<std::vector<NbtEntry>> carved = carved_node_entries(views);
        nodes = std::move(carved[0]);
        if (unindexed) hints = std::move(carved[1]);
    } else {
        TreeVisitor v;
        v.nbt = [&](const NbtEntry& e) { nodes.push_back(e); };
        rewalk(PageType::nbt, v);
        // The sound NBT is the intact node table: with --deleted, the heaps
        // no live node reaches are deleted mail, as through sound trees,
        // and stale NBT pages name them.
        if (hooks_.recover_deleted) hints = std::move(carved_node_entries({&block_index}).front());
    }
    const SalvageIndex node_index({}, std::move(nodes));
    // With a sound BBT, what it lacks is free; else the allocation maps
    // tell, unless fAMapValid is 0: the maps are stale, and say nothing of
    // what is deleted.
    std::optional<AllocationMaps> maps;
    if (bbt_damaged_ && nbt_damaged_ && header_.amap_valid != 0) maps.emplace(source_, *layout_, block_index.blocks());
    add(ProblemId::pst_trees_rebuilt, 0, 0, bbt_damaged_ ? (nbt_damaged_ ? "BBT and NBT" : "BBT") : "NBT",
        "messages read through an index rebuilt by carving");
    std::vector<const std::vector<BbtEntry>*> heaps;
    if (nbt_damaged_ || hooks_.recover_deleted) heaps.push_back(&block_index.blocks());
    if (nbt_damaged_ && unindexed) heaps.push_back(&unindexed->blocks());
    MessagingPass(*this, reading, node_index, [&](const std::function<void(const NbtEntry&)>& visit) {
        for (const NbtEntry& n : node_index.nodes()) visit(n);
    }, nbt_damaged_, std::move(heaps), bbt_damaged_ ? nullptr : &moved, maps ? &*maps : nullptr,
                  bbt_damaged_ ? nullptr : &block_index,
                  std::move(hints)).run();
    if (bbt_damaged_) missing_references(&block_index);
    std::vector<BbtEntry> said = moved.blocks();
    if (unindexed) said.insert(said.end(), unindexed->blocks().begin(), unindexed->blocks().end());
    moved_blocks(said, moved.skipped());
}

}  // namespace

void check_pst(const Source& source, StoreLog& log, MessageSink* sink, const CheckHooks& hooks,
               const PstCheckOptions& options) {
    PstChecker(source, log, sink, hooks, options).run();
}

}  // namespace mailfsck
