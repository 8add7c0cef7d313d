#include "header.h"

#include <algorithm>

namespace mailfsck::pst {
namespace {

constexpr HeaderOffsets unicode_offsets{516, 32, 40, 44, 180, 216, 232, 248, 512, 513};
constexpr HeaderOffsets ansi_offsets{24, 28, 32, 36, 164, 184, 192, 200, 460, 461};

// dwCRCPartial covers 471 bytes from wMagicClient; dwCRCFull, Unicode
// only, 516 bytes from the same place.
constexpr std::uint64_t crc_start = 8;
constexpr std::uint64_t crc_partial_length = 471;
constexpr std::uint64_t crc_full_length = 516;
constexpr std::uint64_t crc_full_offset = 524;
constexpr std::uint64_t header_size = 564;

}  // namespace

const HeaderOffsets& header_offsets(bool wide) { return wide ? unicode_offsets : ansi_offsets; }

bool Header::has(HeaderDefectKind k) const {
    return std::any_of(defects.begin(), defects.end(), [&](const HeaderDefect& d) { return d.kind == k; });
}

Header read_header(const ByteView& file) {
    Header h;
    const auto add = [&](HeaderDefectKind k, std::uint64_t offset, std::uint64_t length, std::string detail = {}) {
        h.defects.push_back({k, offset, length, std::move(detail)});
    };
    Cursor c(file);
    h.magic = c.u32le();
    h.crc_partial = c.u32le();
    h.client = c.u16le();
    h.version = c.u16le();
    h.version_client = c.u16le();
    if (h.magic != header_magic) add(HeaderDefectKind::bad_magic, 0, std::min<std::uint64_t>(4, file.size()));
    // Fields past the end would read as zeros and mislead: a file that ends
    // inside its header is reported as that alone.
    if (file.size() < header_size) {
        add(HeaderDefectKind::too_short, 0, file.size(), std::to_string(file.size()) + " bytes");
        return h;
    }
    if (h.client != 0x4D53 && h.client != 0x4F53) add(HeaderDefectKind::unknown_client, 8, 2);
    h.format = format_for_version(h.version);
    if (!h.format) {
        add(HeaderDefectKind::unknown_version, 10, 2, "wVer " + std::to_string(h.version));
        return h;
    }
    const Layout& layout = layout_for(*h.format);
    const bool wide = layout.wide;
    const HeaderOffsets& o = header_offsets(wide);
    const auto id = [&](std::uint64_t at) {
        Cursor f(file, at);
        return wide ? f.u64le() : f.u32le();
    };
    h.bid_next_b = id(o.bid_next_b);
    h.bid_next_p = id(o.bid_next_p);
    h.unique = Cursor(file, o.unique).u32le();
    Cursor nids(file, o.rgnid);
    for (std::uint32_t& n : h.rgnid) n = nids.u32le();
    const std::uint64_t root = o.root + 4;  // past ROOT's dwReserved
    const std::uint64_t step = layout.id_size();
    h.file_eof = id(root);
    h.amap_last = id(root + step);
    h.amap_free = id(root + 2 * step);
    h.pmap_free = id(root + 3 * step);
    h.nbt = {id(o.bref_nbt), id(o.bref_nbt + step)};
    h.bbt = {id(o.bref_bbt), id(o.bref_bbt + step)};
    h.amap_valid = file.at_or(o.amap_valid, 0);
    h.sentinel = file.at_or(o.sentinel, 0);
    h.crypt = file.at_or(o.crypt, 0);

    if (file.size() >= crc_start + crc_partial_length &&
        crc32(file.sub(crc_start, crc_partial_length)) != h.crc_partial)
        add(HeaderDefectKind::crc_partial, 4, 4);
    if (wide) {
        h.crc_full = Cursor(file, crc_full_offset).u32le();
        if (file.size() >= crc_start + crc_full_length && crc32(file.sub(crc_start, crc_full_length)) != h.crc_full)
            add(HeaderDefectKind::crc_full, crc_full_offset, 4);
    }
    if (h.crypt > 2) add(HeaderDefectKind::unknown_crypt, o.crypt, 1, std::to_string(h.crypt));
    if (h.sentinel != 0x80) add(HeaderDefectKind::bad_sentinel, o.sentinel, 1);
    if (h.amap_valid == 0) add(HeaderDefectKind::amap_invalid, o.amap_valid, 1);
    for (const auto& [bref, at] : {std::pair{h.nbt, o.bref_nbt}, std::pair{h.bbt, o.bref_bbt}}) {
        const bool aligned = bref.ib % layout.page_size == 0;
        if (!aligned || bref.ib < layout.page_size || bref.ib > file.size() ||
            file.size() - bref.ib < layout.page_size)
            add(HeaderDefectKind::root_out_of_range, at, 2 * step, "page at " + std::to_string(bref.ib));
    }
    if (file.size() < h.file_eof)
        add(HeaderDefectKind::truncated, file.size(), 0,
            std::to_string(h.file_eof - file.size()) + " bytes missing at the end");
    if (file.size() > h.file_eof)
        add(HeaderDefectKind::trailing_data, h.file_eof, file.size() - h.file_eof);
    return h;
}

void seal_header(std::span<std::uint8_t> file) {
    if (file.size() < header_size) return;
    const ByteView view(file.data(), file.size());
    const std::optional<Format> format = format_for_version(Cursor(view, 10).u16le());
    if (!format) return;
    const auto put = [&](std::size_t at, std::uint32_t v) {
        for (std::size_t i = 0; i < 4; ++i) file[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
    };
    put(4, crc32(view.sub(crc_start, crc_partial_length)));
    if (layout_for(*format).wide) put(crc_full_offset, crc32(view.sub(crc_start, crc_full_length)));
}

std::string_view defect_name(HeaderDefectKind k) {
    switch (k) {
        case HeaderDefectKind::bad_magic: return "bad_magic";
        case HeaderDefectKind::unknown_client: return "unknown_client";
        case HeaderDefectKind::unknown_version: return "unknown_version";
        case HeaderDefectKind::crc_partial: return "crc_partial";
        case HeaderDefectKind::crc_full: return "crc_full";
        case HeaderDefectKind::unknown_crypt: return "unknown_crypt";
        case HeaderDefectKind::bad_sentinel: return "bad_sentinel";
        case HeaderDefectKind::root_out_of_range: return "root_out_of_range";
        case HeaderDefectKind::amap_invalid: return "amap_invalid";
        case HeaderDefectKind::truncated: return "truncated";
        case HeaderDefectKind::trailing_data: return "trailing_data";
        case HeaderDefectKind::too_short: return "too_short";
    }
    return "?";
}

}  // namespace mailfsck::pst
