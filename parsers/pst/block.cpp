#include "block.h"

#include <libdeflate.h>

#include <algorithm>
#include <memory>

namespace mailfsck::pst {

std::optional<BlockTrailer> read_block_trailer(const ByteView& file, std::uint64_t end, const Layout& layout) {
    if (end < layout.block_trailer || end > file.size()) return std::nullopt;
    Cursor c(file, end - layout.block_trailer);
    BlockTrailer t;
    t.cb = c.u16le();
    t.signature = c.u16le();
    const TrailerTail tail = read_trailer_tail(c, layout);
    t.bid = tail.bid;
    t.crc = tail.crc;
    if (!c.ok()) return std::nullopt;
    return t;
}

bool block_placed(std::uint64_t file_size, const Layout& layout, const BbtEntry& entry,
                  std::vector<BlockDefect>& defects) {
    const std::uint64_t size = layout.align_block(entry.cb);
    if (entry.cb > layout.max_block_data())
        defects.push_back({BlockDefectKind::too_large, entry.at, layout.bbt_entry, "cb " + std::to_string(entry.cb)});
    // A moved block lies where carving found it, at whatever phase.
    const bool aligned = entry.moved || entry.ib % layout.block_align == 0;
    if (!aligned || entry.ib > file_size || file_size - entry.ib < size) {
        // Reported at the BBT entry that points there: the block's claimed
        // place may not exist in the file at all.
        defects.push_back({BlockDefectKind::out_of_file, entry.at, layout.bbt_entry,
                           "block " + std::to_string(entry.bid) + " at " + std::to_string(entry.ib)});
        return false;
    }
    return true;
}

std::optional<ByteView> stored_block(const ByteView& file, const Layout& layout, const BbtEntry& entry,
                                     const Source* through, std::vector<unsigned char>& buffer,
                                     std::vector<BlockDefect>& defects) {
    if (!block_placed(file.size(), layout, entry, defects)) return std::nullopt;
    const std::uint64_t size = layout.align_block(entry.cb);
    // Read the one way the caller reads: through the source when it gives one.
    const auto piece = [&](std::uint64_t offset, std::uint64_t length, std::vector<unsigned char>& into) {
        return through != nullptr ? through->read(offset, length, into) : file.sub(offset, length);
    };
    if (entry.cut == 0) return piece(entry.ib, size, buffer);
    const auto unjoinable = [&] {
        defects.push_back({BlockDefectKind::out_of_file, entry.at, layout.bbt_entry,
                           "block " + std::to_string(entry.bid) + " cut at " + std::to_string(entry.cut)});
        return std::nullopt;
    };
    if (entry.cut > entry.cb) return unjoinable();
    // A cut block is rare (one per inserted stretch): its parts go through
    // a scratch buffer of their own.
    std::vector<unsigned char> part;
    const ByteView head = piece(entry.written_at, entry.cut, part);
    if (head.size() != entry.cut) return unjoinable();
    buffer.assign(head.data(), head.data() + head.size());
    const ByteView rest = piece(entry.ib + entry.cut, size - entry.cut, part);
    if (head.size() + rest.size() != size) return unjoinable();
    buffer.insert(buffer.end(), rest.data(), rest.data() + rest.size());
    return ByteView(buffer.data(), buffer.size(), entry.ib);
}

ByteView check_block_bytes(const ByteView& stored, const Layout& layout, const BbtEntry& entry,
                           std::vector<BlockDefect>& defects) {
    const std::uint64_t trailer_at = entry.ib + layout.align_block(entry.cb) - layout.block_trailer;
    const BlockTrailer t = read_block_trailer(stored, layout.align_block(entry.cb), layout).value_or(BlockTrailer{});
    if (t.cb != entry.cb)
        defects.push_back({BlockDefectKind::cb_mismatch, trailer_at, 2,
                           "trailer says " + std::to_string(t.cb) + ", BBT says " + std::to_string(entry.cb)});
    if (bid_key(t.bid) != bid_key(entry.bid))
        defects.push_back({BlockDefectKind::bid_mismatch, trailer_at, layout.block_trailer,
                           "trailer says " + std::to_string(t.bid) + ", BBT says " + std::to_string(entry.bid)});
    if (!entry.moved && t.signature != signature(entry.ib, entry.bid))
        defects.push_back({BlockDefectKind::bad_signature, trailer_at + 2, 2, {}});
    const ByteView data = stored.sub(0, entry.cb);
    if (crc32(data) != t.crc) defects.push_back({BlockDefectKind::bad_crc, entry.ib, layout.align_block(entry.cb), {}});
    return data;
}

std::optional<ByteView> check_block(const ByteView& file, const Layout& layout, const BbtEntry& entry,
                                    std::vector<BlockDefect>& defects) {
    if (!block_placed(file.size(), layout, entry, defects)) return std::nullopt;
    return check_block_bytes(file.sub(entry.ib, layout.align_block(entry.cb)), layout, entry, defects);
}

std::string_view defect_name(BlockDefectKind k) {
    switch (k) {
        case BlockDefectKind::out_of_file: return "out_of_file";
        case BlockDefectKind::too_large: return "too_large";
        case BlockDefectKind::cb_mismatch: return "cb_mismatch";
        case BlockDefectKind::bid_mismatch: return "bid_mismatch";
        case BlockDefectKind::bad_signature: return "bad_signature";
        case BlockDefectKind::bad_crc: return "bad_crc";
    }
    return "?";
}

InternalBlock read_internal_block(const ByteView& data, const Layout& layout) {
    InternalBlock b;
    Cursor c(data);
    b.btype = c.u8();
    b.level = c.u8();
    const std::uint32_t count = c.u16le();
    const std::uint64_t id = layout.id_size();
    std::uint64_t entry_size = 0;
    if (b.btype == 1 && (b.level == 1 || b.level == 2)) {
        b.total = c.u32le();
        entry_size = id;
    } else if (b.btype == 2 && (b.level == 0 || b.level == 1)) {
        if (layout.wide) c.skip(4);  // dwPadding
        entry_size = b.level == 0 ? 3 * id : 2 * id;
    } else {
        return b;
    }
    if (!c.ok() || count * entry_size > c.remaining()) return b;
    for (std::uint32_t i = 0; i < count; ++i) {
        const auto read = [&] { return layout.wide ? c.u64le() : std::uint64_t{c.u32le()}; };
        InternalBlock::Entry e;
        if (b.btype == 1) {
            e.bid = read();
        } else {
            e.key = read();
            e.bid = read();
            if (b.level == 0) e.bid_sub = read();
        }
        b.entries.push_back(e);
    }
    b.valid = c.ok();
    return b;
}

}  // namespace mailfsck::pst

namespace mailfsck::pst {

namespace {

// `stored` inflated into `buffer` (its size the bound); the bytes produced,
// nullopt when it does not begin with a whole zlib stream (`consumed`: how
// many bytes the stream took). One decompressor per thread, kept:
// allocating one costs more than inflating a small block. libdeflate
// inflates a whole buffer at once, about twice as fast as zlib's streaming
// inflate, and checks the stream's Adler-32 as it goes.
std::optional<std::size_t> inflate(const ByteView& stored, std::vector<unsigned char>& buffer,
                                   std::size_t* consumed = nullptr) {
    struct Free {
        void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
    };
    thread_local const std::unique_ptr<libdeflate_decompressor, Free> d(libdeflate_alloc_decompressor());
    if (!d) return std::nullopt;
    std::size_t produced = 0;
    const libdeflate_result rc = libdeflate_zlib_decompress_ex(d.get(), stored.data(), stored.size(), buffer.data(),
                                                               buffer.size(), consumed, &produced);
    if (rc != LIBDEFLATE_SUCCESS) return std::nullopt;
    return produced;
}

}  // namespace

std::optional<ByteView> block_content(const ByteView& stored, std::uint32_t cb_inflated,
                                      std::vector<unsigned char>& buffer) {
    if (cb_inflated == stored.size()) return stored;
    // The output is bounded by the 16-bit inflated size, whatever the
    // stream claims.
    buffer.resize(cb_inflated);
    if (inflate(stored, buffer) != cb_inflated) return std::nullopt;
    return ByteView(buffer.data(), buffer.size(), 0);
}

std::optional<std::uint32_t> inflated_size(const ByteView& stored, std::vector<unsigned char>& buffer) {
    // A zlib header: deflate (CM 8), no preset dictionary, its check bits
    // right (RFC 1950): what nearly no other block begins with.
    const unsigned cmf = stored.at_or(0, 0);
    const unsigned flg = stored.at_or(1, 0);
    if ((cmf & 0x0FU) != 8 || (flg & 0x20U) != 0 || (cmf * 256 + flg) % 31 != 0) return std::nullopt;
    buffer.resize(0xFFFF);  // the 16-bit inflated size
    std::size_t consumed = 0;
    const std::optional<std::size_t> n = inflate(stored, buffer, &consumed);
    if (!n || consumed != stored.size() || *n == stored.size()) return std::nullopt;
    return static_cast<std::uint32_t>(*n);
}

}  // namespace mailfsck::pst
