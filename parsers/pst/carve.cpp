#include "carve.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "parsers/pst/block.h"
#include "parsers/pst/page.h"

namespace mailfsck::pst {
namespace {

// A scan lets go of the mapping every this many bytes: what lies behind
// it is not read again, and resident memory stays flat on a 50 GB store.
constexpr std::uint64_t release_every = std::uint64_t{64} << 20;

}  // namespace

void carve_blocks(const Source& source, const Layout& layout, const Phases& phases, std::uint64_t moved_below,
                  const std::function<void(const CarvedBlock&)>& visit,
                  const std::function<void(const CarvedBlock&)>& unsound) {
    const ByteView file = source.bytes();
    // Each offset at a phase is a possible end of a block; its trailer
    // gives the size, hence the start, that the signature and CRC must
    // confirm.
    for (std::uint64_t base = layout.block_align; base <= file.size(); base += layout.block_align) {
        if (base % release_every == 0) source.release_all();
        for (const std::uint32_t phase : phases) {
            const std::uint64_t end = base + phase;
            const std::optional<BlockTrailer> t = read_block_trailer(file, end, layout);
            if (!t || t->bid == 0 || t->cb > layout.max_block_data()) continue;
            const std::uint64_t size = layout.align_block(t->cb);
            if (size > end) continue;
            const std::uint64_t ib = end - size;
            // The PST CRC starts from 0, so zeroed bytes (or none) under a
            // zeroed CRC check out: without the signature, that is no evidence.
            const bool moved = t->signature != signature(ib, t->bid);
            if (moved && (bid_key(t->bid) >= moved_below || t->crc == 0)) continue;
            if (crc32(file.sub(ib, t->cb)) != t->crc) {
                if (moved && unsound) unsound({t->bid, ib, t->cb, t->signature, moved});
                continue;
            }
            visit({t->bid, ib, t->cb, t->signature, moved});
        }
    }
}

namespace {

// A B-tree page that checks out where it lies: sound, or sound but for a
// signature naming the place it was written.
bool btree_page_at(const ByteView& page, const Layout& layout, PageType type, std::vector<PageDefect>& defects) {
    defects.clear();
    return check_page_trailer(page, layout, type, std::nullopt, defects) ||
           (defects.size() == 1 && defects.front().kind == PageDefectKind::bad_signature);
}

}  // namespace

void carve_pages(const Source& source, const Layout& layout, const Phases& phases,
                 const std::function<void(const CarvedPage&)>& visit) {
    const ByteView file = source.bytes();
    std::vector<PageDefect> defects;
    // Pages are written at page alignment. A stretch of whole blocks
    // inserted before one, or lost, moves it off that alignment (a 4 KiB
    // page by a 512-byte sector), so B-tree pages are looked for at block
    // alignment too, and at the other phases given.
    for (std::uint64_t base = 0; file.size() >= layout.page_size && base <= file.size() - layout.page_size;
         base += layout.block_align) {
        if (base % release_every == 0) source.release_all();
        for (const std::uint32_t phase : phases) {
            const std::uint64_t ib = base + phase;
            const ByteView page = file.sub(ib, layout.page_size);
            if (page.size() < layout.page_size) break;
            const PageTrailer t = read_page_trailer(page, layout);
            if (t.ptype != t.ptype_repeat || t.ptype < static_cast<std::uint8_t>(PageType::bbt) ||
                t.ptype > static_cast<std::uint8_t>(PageType::dlist))
                continue;
            const auto type = static_cast<PageType>(t.ptype);
            const bool btree = type == PageType::bbt || type == PageType::nbt;
            if (ib % layout.page_size == 0) {
                defects.clear();
                if (check_page_trailer(page, layout, type, std::nullopt, defects)) {
                    visit({ib, t.bid, type, false});
                    continue;
                }
            }
            // Only a B-tree page's signature is sure to name its offset:
            // Outlook 97 signs its FPMap pages, which the format leaves at 0.
            if (btree && btree_page_at(page, layout, type, defects)) visit({ib, t.bid, type, true});
        }
    }
}

Phases find_phases(const Source& source, const Layout& layout) {
    const ByteView file = source.bytes();
    std::map<std::uint32_t, std::uint64_t> pages;  // phase, B-tree pages found at it
    std::vector<PageDefect> defects;
    const std::uint64_t to_trailer = layout.page_size - layout.page_trailer;
    std::uint64_t released = 0;
    for (const PageType type : {PageType::bbt, PageType::nbt}) {
        const auto byte = static_cast<unsigned char>(type);
        // ptype, then ptypeRepeat: memchr for the one, then a look at the
        // other, is several times faster than memmem for the two.
        for (std::optional<std::uint64_t> at = file.find_byte(byte, to_trailer); at; at = file.find_byte(byte, *at + 1)) {
            if (*at - released >= release_every) {
                source.release_all();
                released = *at;
            }
            if (file.at_or(*at + 1, 0) != byte) continue;
            const std::uint64_t ib = *at - to_trailer;
            const auto phase = static_cast<std::uint32_t>(ib % layout.block_align);
            if (phase == 0) continue;
            const ByteView page = file.sub(ib, layout.page_size);
            if (page.size() == layout.page_size && btree_page_at(page, layout, type, defects)) ++pages[phase];
        }
        released = 0;
        source.release_all();
    }
    std::vector<std::pair<std::uint32_t, std::uint64_t>> most(pages.begin(), pages.end());
    std::stable_sort(most.begin(), most.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    if (most.size() > max_phases) most.resize(max_phases);
    Phases phases{0};
    for (const auto& [phase, count] : most) phases.push_back(phase);
    std::sort(phases.begin(), phases.end());
    return phases;
}

CarvedRoots carve_roots(const Source& source, const Layout& layout, const Phases& phases) {
    const ByteView file = source.bytes();
    struct Best {
        Bref page;
        std::uint32_t level = 0;
    } best[2];  // BBT, NBT
    carve_pages(source, layout, phases, [&](const CarvedPage& page) {
        if (page.moved || (page.type != PageType::bbt && page.type != PageType::nbt)) return;
        const std::optional<ByteView> bytes = page_at(file, page.ib, layout);
        if (!bytes) return;
        const std::uint32_t level = read_bt_info(*bytes, layout).level;
        Best& b = best[page.type == PageType::bbt ? 0 : 1];
        if (b.page.bid == 0 || level > b.level || (level == b.level && bid_key(page.bid) > bid_key(b.page.bid)))
            b = {Bref{page.bid, page.ib}, level};
    });
    return {best[0].page, best[1].page};
}

namespace {

// A carved block as an index entry; its inflated size is its size until a
// leaf says otherwise.
BbtEntry entry_of(const CarvedBlock& b) {
    BbtEntry e;
    e.bid = b.bid;
    e.ib = b.ib;
    e.cb = b.cb;
    e.cb_inflated = b.cb;
    e.moved = b.moved;
    return e;
}

// Every entry of every carved leaf page of one tree (stale pages included);
// `page_bid`, when given, is set to each page's id before its entries.
void leaf_entries(const Source& source, const Layout& layout, const Phases& phases, PageType type,
                  const TreeVisitor& v, std::uint64_t* page_bid = nullptr) {
    const ByteView file = source.bytes();
    carve_pages(source, layout, phases, [&](const CarvedPage& page) {
        if (page.type != type) return;
        const std::optional<ByteView> bytes = page_at(file, page.ib, layout);
        if (!bytes || read_bt_info(*bytes, layout).level != 0) return;
        if (page_bid) *page_bid = page.bid;
        if (page.ib % layout.page_size == 0) {
            (void)walk_tree(file, layout, type, Bref{page.bid, page.ib}, v, &source);
            return;
        }
        // Off page alignment (moved): walked as a file of its one page, whose
        // offsets are still where it lies.
        (void)walk_tree(*bytes, layout, type, Bref{page.bid, 0}, v);
    });
}

// Where the blocks nearest `ib` that a leaf places lie, minus where they
// were written (modulo 2^64): the one after it first. `placed` holds where
// each lies and where it was written, sorted.
std::vector<std::uint64_t> neighbour_shifts(const std::vector<std::pair<std::uint64_t, std::uint64_t>>& placed,
                                            std::uint64_t ib) {
    std::vector<std::uint64_t> shifts;
    const auto next = std::lower_bound(placed.begin(), placed.end(), std::pair{ib, std::uint64_t{0}});
    if (next != placed.end()) shifts.push_back(next->first - next->second);
    if (next != placed.begin()) shifts.push_back(std::prev(next)->first - std::prev(next)->second);
    return shifts;
}

// The block whose trailer carving found at b, its CRC failing there, as cut
// by a stretch of `shift` bytes inserted into it (modulo 2^64: a shift the
// other way is no insertion, and nothing joins such a block).
std::optional<BbtEntry> joined(const Source& source, const Layout& layout, const CarvedBlock& b, std::uint64_t shift,
                               std::vector<unsigned char>& buffer) {
    const ByteView file = source.bytes();
    if (shift == 0 || shift > b.ib) return std::nullopt;
    const std::uint64_t written = b.ib - shift;
    if (signature(written, b.bid) != b.signature) return std::nullopt;
    const std::optional<BlockTrailer> t = read_block_trailer(file, b.ib + layout.align_block(b.cb), layout);
    if (!t) return std::nullopt;
    const std::optional<Cut> cut = cut_point(file.sub(written, b.cb), file.sub(b.ib, b.cb), t->crc);
    if (!cut) return std::nullopt;
    BbtEntry e = entry_of(b);
    e.written_at = written;
    e.cut = cut->first;
    e.cut_last = cut->last;
    // No leaf sizes it: a 4K block is compressed when it is one whole zlib
    // stream.
    if (layout.format == Format::unicode_4k) {
        std::vector<BlockDefect> defects;
        std::vector<unsigned char> inflated;
        if (const std::optional<ByteView> stored = stored_block(file, layout, e, &source, buffer, defects))
            if (const std::optional<std::uint32_t> n = inflated_size(stored->sub(0, e.cb), inflated))
                e.cb_inflated = *n;
    }
    return e;
}

}  // namespace

std::vector<BbtEntry> carve_block_entries(const Source& source, const Layout& layout, const Phases& phases,
                                          std::uint64_t next_bid) {
    std::unordered_map<std::uint64_t, BbtEntry> by_bid;
    // What the leaves say of the blocks not where they say: a moved copy
    // takes its inflated size and the place it was written from here.
    std::unordered_map<std::uint64_t, BbtEntry> elsewhere;
    std::uint64_t named_below = next_bid;
    std::vector<unsigned char> buffer;
    std::vector<BlockDefect> defects;
    TreeVisitor v;
    // The blocks a leaf names lie all over the file: copied, not mapped.
    v.bbt = [&](const BbtEntry& e) {
        named_below = std::max(named_below, bid_key(e.bid) + 2);
        if (by_bid.count(bid_key(e.bid)) != 0) return;
        defects.clear();
        const std::optional<ByteView> stored = stored_block(source.bytes(), layout, e, &source, buffer, defects);
        if (stored) (void)check_block_bytes(*stored, layout, e, defects);
        if (stored && defects.empty()) {
            by_bid.emplace(bid_key(e.bid), e);
        } else {
            elsewhere.emplace(bid_key(e.bid), e);
        }
    };
    leaf_entries(source, layout, phases, PageType::bbt, v);
    // The blocks not where their leaves say are looked for at any shift:
    // those found give the phases the file is carved at too. Stale leaves
    // name blocks long overwritten: one whose place a block sound where its
    // leaf says now covers is not looked for. A stretch inserted or lost
    // moves everything after it, so the searches go to the last blocks
    // first.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> sound;  // where a block sound in place begins, ends
    sound.reserve(by_bid.size());
    for (const auto& [key, e] : by_bid) sound.emplace_back(e.ib, e.ib + layout.align_block(e.cb));
    std::sort(sound.begin(), sound.end());
    const auto overwritten = [&](const BbtEntry& e) {
        const auto next = std::upper_bound(sound.begin(), sound.end(), std::pair{e.ib, UINT64_MAX});
        const bool before = next != sound.begin() && std::prev(next)->second > e.ib;
        return before || (next != sound.end() && next->first < e.ib + layout.align_block(e.cb));
    };
    std::vector<BbtEntry> misplaced;
    for (const auto& [key, e] : elsewhere)
        if (!overwritten(e)) misplaced.push_back(e);
    std::sort(misplaced.begin(), misplaced.end(), [](const BbtEntry& a, const BbtEntry& b) { return a.ib > b.ib; });
    ShiftFinder finder(source, layout);
    std::vector<std::pair<std::uint64_t, std::uint64_t>> placed;  // where it lies, where it was written
    const auto look_for = [&](const BbtEntry& e) {
        if (by_bid.count(bid_key(e.bid)) != 0) return;
        if (const std::optional<BbtEntry> found = finder.find(e)) {
            by_bid.emplace(bid_key(e.bid), *found);
            placed.emplace_back(found->ib, found->written_at);
        }
    };
    for (const BbtEntry& e : misplaced) look_for(e);
    const Phases all_phases = finder.phases(phases);
    // Moved blocks in file order: those a leaf places give the shifts that
    // the others are tried at.
    std::vector<CarvedBlock> unplaced;
    std::vector<CarvedBlock> unsound;
    const auto keep_unsound = [&](const CarvedBlock& b) {
        if (unsound.size() < max_unsound_blocks) unsound.push_back(b);
    };
    carve_blocks(source, layout, all_phases, named_below, [&](const CarvedBlock& b) {
        BbtEntry e = entry_of(b);
        const auto leaf = elsewhere.find(bid_key(b.bid));
        if (leaf != elsewhere.end()) {
            if (leaf->second.cb_inflated != leaf->second.cb) e.cb_inflated = leaf->second.cb_inflated;
            if (b.moved && signature(leaf->second.ib, b.bid) == b.signature) {
                e.written_at = leaf->second.ib;
                placed.emplace_back(b.ib, e.written_at);
            }
        }
        const auto [it, added] = by_bid.emplace(bid_key(b.bid), e);
        if (!added) return;
        // No leaf sizes it: a 4K block is compressed when it is one whole
        // zlib stream.
        if (leaf == elsewhere.end() && layout.format == Format::unicode_4k)
            if (const std::optional<std::uint32_t> n = inflated_size(source.bytes().sub(b.ib, b.cb), buffer))
                it->second.cb_inflated = *n;
        if (b.moved && e.written_at == 0) unplaced.push_back(b);
    }, keep_unsound);
    std::sort(placed.begin(), placed.end());
    for (const CarvedBlock& b : unplaced) {
        for (const std::uint64_t shift : neighbour_shifts(placed, b.ib)) {
            const std::uint64_t at = b.ib - shift;  // modulo 2^64: a shift either way
            if (at == 0 || signature(at, b.bid) != b.signature) continue;
            by_bid[bid_key(b.bid)].written_at = at;
            break;
        }
    }
    // A block no leaf names that a stretch went into: its trailer lies at
    // the shift of its neighbours past the stretch, and its first part
    // where that shift says it was written.
    for (const CarvedBlock& b : unsound) {
        if (by_bid.count(bid_key(b.bid)) != 0) continue;
        for (const std::uint64_t shift : neighbour_shifts(placed, b.ib)) {
            if (std::optional<BbtEntry> e = joined(source, layout, b, shift, buffer)) {
                by_bid.emplace(bid_key(b.bid), *e);
                break;
            }
        }
    }
    std::vector<BbtEntry> out;
    out.reserve(by_bid.size());
    for (const auto& [key, e] : by_bid) out.push_back(e);
    std::sort(out.begin(), out.end(), [](const BbtEntry& a, const BbtEntry& b) { return bid_key(a.bid) < bid_key(b.bid); });
    return out;
}

std::optional<BbtEntry> ShiftFinder::at(const BbtEntry& placed, std::uint64_t shift) {
    const Layout& l = *layout_;
    const std::uint64_t ib = placed.ib + shift;
    const std::uint64_t size = l.align_block(placed.cb);
    const ByteView file = source_->bytes();
    if (ib > file.size() || file.size() - ib < size || placed.cb > l.max_block_data()) return std::nullopt;
    // The trailer first: most places tried hold another block.
    const std::optional<BlockTrailer> t =
        read_block_trailer(source_->read(ib + size - l.block_trailer, l.block_trailer, buffer_), l.block_trailer, l);
    if (!t || t->cb != placed.cb || bid_key(t->bid) != bid_key(placed.bid) ||
        t->signature != signature(placed.ib, placed.bid))
        return std::nullopt;
    BbtEntry e = placed;
    e.ib = ib;
    e.moved = true;
    e.written_at = placed.ib;
    if (crc32(source_->read(ib, placed.cb, buffer_)) == t->crc) return e;
    // Its trailer, past a stretch inserted inside it: the block begins where
    // it was written and goes on past the stretch. A stretch lost from
    // inside a block takes bytes with it, which nothing gives back.
    if (ib <= placed.ib) return std::nullopt;
    const std::optional<Cut> cut = cut_point(file.sub(placed.ib, placed.cb), file.sub(ib, placed.cb), t->crc);
    if (!cut) return std::nullopt;
    e.cut = cut->first;
    e.cut_last = cut->last;
    return e;
}

std::optional<BbtEntry> ShiftFinder::search(const BbtEntry& placed) {
    const Layout& l = *layout_;
    const ByteView file = source_->bytes();
    // Where the id ends in the trailer: after cb, wSig and dwCRC in the
    // wide formats (the 4K trailer has 8 more bytes), after cb and wSig in
    // ANSI ([MS-PST] 2.2.2.8.1).
    const std::uint64_t id_end = l.wide ? 2 + 2 + 4 + 8 : 2 + 2 + 4;
    const std::uint64_t to_end = l.align_block(placed.cb) - l.block_trailer + id_end;  // block start to id end
    std::string id(l.id_size(), '\0');
    for (std::uint32_t i = 0; i < l.id_size(); ++i) id[i] = static_cast<char>(placed.bid >> (8 * i));
    // Within max_shift of its place, a stretch at a time, the mapping let
    // go behind each.
    const std::uint64_t begin = placed.ib > max_shift ? placed.ib - max_shift : 0;
    const std::uint64_t reach = l.align_block(placed.cb) + max_shift;
    const std::uint64_t finish =
        placed.ib >= file.size() ? file.size() : placed.ib + std::min(reach, file.size() - placed.ib);
    constexpr std::uint64_t stretch = std::uint64_t{64} << 20;
    for (std::uint64_t from = begin; from < finish; from += stretch) {
        const ByteView part = file.sub(from, std::min(stretch, finish - from) + id.size() - 1);
        for (std::optional<std::uint64_t> hit = part.find(id); hit; hit = part.find(id, *hit + 1)) {
            const std::uint64_t end = from + *hit + id.size();
            if (end < to_end || end - to_end == placed.ib) continue;
            if (std::optional<BbtEntry> e = at(placed, end - to_end - placed.ib)) {
                source_->release_all();
                shifts_.push_back(e->ib - placed.ib);
                return e;
            }
        }
        source_->release_all();
    }
    return std::nullopt;
}

std::optional<BbtEntry> ShiftFinder::find(const BbtEntry& placed) {
    for (const std::uint64_t shift : shifts_)
        if (std::optional<BbtEntry> e = at(placed, shift)) return e;
    if (searches_ >= max_searches) return std::nullopt;
    ++searches_;
    return search(placed);
}

Phases ShiftFinder::phases(const Phases& with) const {
    Phases out = with;
    for (const std::uint64_t shift : shifts_) out.push_back(static_cast<std::uint32_t>(shift % layout_->block_align));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::optional<BbtEntry> MovedBlocks::block(std::uint64_t bid) const {
    if (!index_) {
        std::vector<BbtEntry> moved;
        carve_blocks(*source_, *layout_, phases_(), moved_below_, [&](const CarvedBlock& b) {
            if (!b.moved) return;
            if (moved.size() < max_moved_blocks) {
                moved.push_back(entry_of(b));
            } else {
                ++skipped_;
            }
        });
        index_.emplace(std::move(moved), std::vector<NbtEntry>{});
    }
    if (std::optional<BbtEntry> carved = index_->block(bid)) return carved;
    if (const auto known = found_.find(bid_key(bid)); known != found_.end()) return known->second;
    const std::optional<BbtEntry> placed = placed_->block(bid);
    if (!placed) return std::nullopt;
    std::optional<BbtEntry> found = finder_.find(*placed);
    if (found) {
        if (found_.size() + index_->blocks().size() < max_moved_blocks) {
            found_.emplace(bid_key(bid), *found);
        } else {
            ++skipped_;
        }
    }
    return found;
}

std::vector<BbtEntry> MovedBlocks::blocks() const {
    std::vector<BbtEntry> all;
    all.reserve(found_.size() + (index_ ? index_->blocks().size() : 0));
    for (const auto& [key, e] : found_) all.push_back(e);
    if (index_) all.insert(all.end(), index_->blocks().begin(), index_->blocks().end());
    std::sort(all.begin(), all.end(), [](const BbtEntry& a, const BbtEntry& b) { return bid_key(a.bid) < bid_key(b.bid); });
    return all;
}

std::vector<std::vector<NbtEntry>> carve_node_entries(const Source& source, const Layout& layout, const Phases& phases,
                                                      std::span<const BlockPresent> views) {
    // A node in several pages is as its newest page has it: a changed page
    // is written anew with a greater id (a message moved to another folder
    // keeps its blocks; only its parent, in the newer page, tells).
    struct Found {
        NbtEntry entry;
        std::uint64_t page = 0;
    };
    std::unordered_map<std::uint64_t, std::uint64_t> newest;  // by node: the newest page naming it, its blocks there or not
    std::vector<std::unordered_map<std::uint64_t, Found>> by_view(views.size());
    std::uint64_t page = 0;
    TreeVisitor v;
    v.nbt = [&](const NbtEntry& e) {
        std::uint64_t& n = newest[e.nid];
        n = std::max(n, bid_key(page));
        for (std::size_t i = 0; i < views.size(); ++i) {
            if (!views[i](e.bid_data) || (e.bid_sub != 0 && !views[i](e.bid_sub))) continue;
            const auto [f, added] = by_view[i].try_emplace(e.nid, Found{e, bid_key(page)});
            if (!added && bid_key(page) > f->second.page) f->second = Found{e, bid_key(page)};
        }
    };
    leaf_entries(source, layout, phases, PageType::nbt, v, &page);
    std::vector<std::vector<NbtEntry>> out(views.size());
    for (std::size_t i = 0; i < views.size(); ++i) {
        out[i].reserve(by_view[i].size());
        for (const auto& [nid, f] : by_view[i]) {
            out[i].push_back(f.entry);
            out[i].back().stale = newest[nid] > f.page;
        }
        std::sort(out[i].begin(), out[i].end(), [](const NbtEntry& a, const NbtEntry& b) { return a.nid < b.nid; });
    }
    return out;
}

}  // namespace mailfsck::pst
