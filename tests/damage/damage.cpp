#include "damage.h"

#include <algorithm>
#include <functional>
#include <set>

#include "parsers/bytes/sha256.h"
#include "tests/damage/damage_pst.h"
#include "tests/damage/rng.h"

namespace mailfsck::damage {
namespace {

// `count` distinct indices in [0, n), ascending (all of them when n <= count).
std::vector<std::uint64_t> distinct_indices(Rng& rng, std::uint64_t n, unsigned count) {
    std::set<std::uint64_t> picked;
    if (n <= count) {
        for (std::uint64_t i = 0; i < n; ++i) picked.insert(i);
    } else {
        while (picked.size() < count) picked.insert(rng.below(n));
    }
    return {picked.begin(), picked.end()};
}

Window clamp(Window w, std::uint64_t size) {
    w.end = std::min(w.end, size);
    w.begin = std::min(w.begin, w.end);
    return w;
}

bool follows_blank_line(std::string_view s, std::uint64_t pos) {
    return pos == 0 || (pos >= 2 && s.substr(pos - 2, 2) == "\n\n") || (pos >= 3 && s.substr(pos - 3, 3) == "\n\r\n");
}

// A separator as mbox writers place it: "From " at the start of the store
// or after an empty line.
bool is_separator_at(std::string_view s, std::uint64_t pos) {
    return s.substr(pos, 5) == "From " && follows_blank_line(s, pos);
}

std::uint64_t line_end(std::string_view s, std::uint64_t pos) {
    const std::size_t nl = s.find('\n', pos);
    return nl == std::string_view::npos ? s.size() : nl + 1;
}

bool is_blank_line(std::string_view s, std::uint64_t pos) {
    return s.substr(pos, 1) == "\n" || s.substr(pos, 2) == "\r\n";
}

// Calls f(pos) for each separator line start in `w`.
void for_each_separator(std::string_view s, Window w, const std::function<void(std::uint64_t)>& f) {
    for (std::uint64_t p = 0; p < w.end; p = line_end(s, p))
        if (p >= w.begin && is_separator_at(s, p)) f(p);
}

// Calls f(pos) for each line start in `w` that lies inside a message body
// (after its header block's empty line), separators excluded.
void for_each_body_line(std::string_view s, Window w, const std::function<void(std::uint64_t)>& f) {
    bool in_body = false;
    for (std::uint64_t p = 0; p < w.end; p = line_end(s, p)) {
        if (is_separator_at(s, p)) {
            in_body = false;
            continue;
        }
        if (in_body && p >= w.begin) f(p);
        if (!in_body && is_blank_line(s, p)) in_body = true;
    }
}

// Picks `count` of the positions a visitor yields, ascending, in two passes
// so memory does not grow with the store.
std::vector<std::uint64_t> pick_positions(Rng& rng, unsigned count,
                                          const std::function<void(const std::function<void(std::uint64_t)>&)>& visit) {
    std::uint64_t n = 0;
    visit([&](std::uint64_t) { ++n; });
    const std::vector<std::uint64_t> wanted = distinct_indices(rng, n, count);
    std::vector<std::uint64_t> positions;
    std::uint64_t i = 0;
    std::size_t next = 0;
    visit([&](std::uint64_t pos) {
        if (next < wanted.size() && wanted[next] == i) {
            positions.push_back(pos);
            ++next;
        }
        ++i;
    });
    return positions;
}

Injection overwrite_record(Op op, std::string_view clean, std::uint64_t offset, std::uint64_t length) {
    Injection in;
    in.op = op;
    in.offset = in.original_offset = offset;
    in.length = in.original_length = length;
    in.original_sha256 = sha256_hex(clean.substr(offset, length));
    return in;
}

// The file's only damage, so its offsets are still the clean file's: the
// `length` bytes before `offset` sent again there, or those from `offset` on
// never sent.
void insert_copy(Op op, std::string_view clean, std::uint64_t offset, std::uint64_t length, Damaged& d) {
    Injection in;
    in.op = op;
    in.offset = in.original_offset = offset;
    in.length = length;
    in.original_length = 0;
    in.original_sha256 = sha256_hex({});
    d.injections.push_back(std::move(in));
    d.bytes.insert(offset, clean.substr(offset - length, length));
}

void drop_bytes(Op op, std::string_view clean, std::uint64_t offset, std::uint64_t length, Damaged& d) {
    Injection in;
    in.op = op;
    in.offset = in.original_offset = offset;
    in.length = 0;
    in.original_length = length;
    in.original_sha256 = sha256_hex(clean.substr(offset, length));
    d.injections.push_back(std::move(in));
    d.bytes.erase(offset, length);
}

// Zeroes whole aligned blocks (the last one may be short at EOF).
void zero_blocks(std::string_view clean, const Request& r, std::uint64_t block, Rng& rng, Damaged& d) {
    const Window w = clamp(r.window, clean.size());
    const std::uint64_t first = (w.begin + block - 1) / block;  // the first block starting in the window
    if (first * block >= w.end) return;
    const std::uint64_t blocks = (w.end - 1) / block - first + 1;
    for (const std::uint64_t k : distinct_indices(rng, blocks, r.count)) {
        const std::uint64_t offset = (first + k) * block;
        const std::uint64_t length = std::min(block, clean.size() - offset);
        d.injections.push_back(overwrite_record(r.op, clean, offset, length));
        std::fill_n(d.bytes.begin() + static_cast<std::ptrdiff_t>(offset), length, '\0');
    }
}

void flip_bits(std::string_view clean, const Request& r, Rng& rng, Damaged& d) {
    const Window w = clamp(r.window, clean.size());
    for (const std::uint64_t k : distinct_indices(rng, w.end - w.begin, r.count)) {
        const std::uint64_t offset = w.begin + k;
        Injection in = overwrite_record(r.op, clean, offset, 1);
        const auto bit = static_cast<unsigned>(rng.below(8));
        in.bit = bit;
        in.original_byte = static_cast<unsigned char>(clean[offset]);
        d.bytes[offset] = static_cast<char>(static_cast<unsigned char>(clean[offset]) ^ (1u << bit));
        d.injections.push_back(std::move(in));
    }
}

// Truncation to nothing leaves no store to check, so the cut keeps a byte.
void truncate(std::string_view clean, const Request& r, Rng& rng, Damaged& d) {
    Window w = clamp(r.window, clean.size());
    w.begin = std::max<std::uint64_t>(w.begin, 1);
    if (w.begin >= w.end) return;
    const std::uint64_t cut = w.begin + rng.below(w.end - w.begin);
    drop_bytes(r.op, clean, cut, clean.size() - cut, d);
}

bool overlaps_any(const std::vector<Injection>& done, std::uint64_t offset, std::uint64_t length) {
    return std::any_of(done.begin(), done.end(), [&](const Injection& in) {
        return offset <= in.end() && in.offset <= offset + length;
    });
}

// Runs neither overlap nor touch, so each stays a separate injection.
void random_runs(std::string_view clean, const Request& r, Rng& rng, Damaged& d) {
    if (clean.size() < random_run_min) return;
    Window w = clamp(r.window, clean.size() - random_run_min + 1);
    if (w.begin == w.end) return;
    for (unsigned attempt = 0; attempt < 64 * r.count && d.injections.size() < r.count; ++attempt) {
        const std::uint64_t offset = w.begin + rng.below(w.end - w.begin);
        const std::uint64_t wanted = random_run_min + rng.below(random_run_max - random_run_min + 1);
        const std::uint64_t length = std::min(wanted, clean.size() - offset);
        if (overlaps_any(d.injections, offset, length)) continue;
        d.injections.push_back(overwrite_record(r.op, clean, offset, length));
        for (std::uint64_t i = 0; i < length; ++i) d.bytes[offset + i] = static_cast<char>(rng.byte());
    }
    std::sort(d.injections.begin(), d.injections.end(),
              [](const Injection& a, const Injection& b) { return a.offset < b.offset; });
}

// The file keeps its size; from a sector boundary on, nothing was written.
void zero_tail(std::string_view clean, const Request& r, Rng& rng, Damaged& d) {
    const Window w = clamp(r.window, clean.size());
    const std::uint64_t first = std::max<std::uint64_t>((w.begin + sector_size - 1) / sector_size, 1);
    if (first * sector_size >= w.end) return;
    const std::uint64_t offset = (first + rng.below((w.end - 1) / sector_size - first + 1)) * sector_size;
    d.injections.push_back(overwrite_record(r.op, clean, offset, clean.size() - offset));
    std::fill(d.bytes.begin() + static_cast<std::ptrdiff_t>(offset), d.bytes.end(), '\0');
}

// Whole sectors only, so each copy is one the file really held elsewhere.
void misplace_sectors(std::string_view clean, const Request& r, Rng& rng, Damaged& d) {
    const std::uint64_t sectors = clean.size() / sector_size;
    const Window w = clamp(r.window, sectors * sector_size);
    const std::uint64_t first = (w.begin + sector_size - 1) / sector_size;
    if (sectors < 2 || first * sector_size >= w.end) return;
    const std::uint64_t places = (w.end - 1) / sector_size - first + 1;
    for (const std::uint64_t k : distinct_indices(rng, places, r.count)) {
        const std::uint64_t target = first + k;
        std::uint64_t source = rng.below(sectors - 1);
        if (source >= target) ++source;
        const std::uint64_t offset = target * sector_size;
        d.injections.push_back(overwrite_record(r.op, clean, offset, sector_size));
        d.bytes.replace(offset, sector_size, clean.substr(source * sector_size, sector_size));
    }
}

void repeat_run(std::string_view clean, const Request& r, Rng& rng, Damaged& d) {
    const std::uint64_t sectors = clean.size() / sector_size;
    const Window w = clamp(r.window, sectors * sector_size);
    const std::uint64_t first = (w.begin + sector_size - 1) / sector_size;
    if (sectors == 0 || first * sector_size >= w.end) return;
    const std::uint64_t start = first + rng.below((w.end - 1) / sector_size - first + 1);
    const std::uint64_t length = std::min<std::uint64_t>(1 + rng.below(16), sectors - start) * sector_size;
    insert_copy(r.op, clean, start * sector_size + length, length, d);
}

// Never the first sector, nor all of the rest: a store is left to check.
void drop_run(std::string_view clean, const Request& r, Rng& rng, Damaged& d) {
    const std::uint64_t sectors = clean.size() / sector_size;
    const Window w = clamp(r.window, sectors * sector_size);
    const std::uint64_t first = std::max<std::uint64_t>((w.begin + sector_size - 1) / sector_size, 1);
    if (sectors < 3 || first * sector_size >= w.end || first + 1 >= sectors) return;
    const std::uint64_t last = std::min((w.end - 1) / sector_size, sectors - 2);
    if (first > last) return;
    const std::uint64_t start = first + rng.below(last - first + 1);
    const std::uint64_t length = std::min<std::uint64_t>(1 + rng.below(16), sectors - 1 - start) * sector_size;
    drop_bytes(r.op, clean, start * sector_size, length, d);
}

// A transfer resumed at the wrong byte: a stretch that is no whole number
// of blocks (64 bytes, the finest alignment a PST has) sent twice or
// skipped, at any byte past the first sector, so what follows lies off
// every alignment the store had.
void odd_run(std::string_view clean, const Request& r, Rng& rng, Damaged& d) {
    const Window w = clamp(r.window, clean.size());
    const std::uint64_t first = std::max<std::uint64_t>(w.begin, sector_size);
    if (first + 1 >= w.end || first + 1 >= clean.size()) return;
    const std::uint64_t offset = first + rng.below(std::min(w.end, clean.size() - 1) - first);
    std::uint64_t length = 1 + rng.below(8191);
    if (length % 64 == 0) length -= 1 + rng.below(63);
    if (rng.below(2) == 0 && length <= offset) {
        insert_copy(r.op, clean, offset, length, d);
    } else {
        length = std::min(length, clean.size() - 1 - offset);
        if (length % 64 == 0) --length;
        drop_bytes(r.op, clean, offset, length, d);
    }
}

// Random bytes other than line terminators, so the line keeps its place
// and its tail (sender and date) while "From " is gone.
void destroy_separators(std::string_view clean, const Request& r, Rng& rng, Damaged& d) {
    const Window w = clamp(r.window, clean.size());
    const auto visit = [&](const std::function<void(std::uint64_t)>& f) { for_each_separator(clean, w, f); };
    for (const std::uint64_t pos : pick_positions(rng, r.count, visit)) {
        std::string garbage(5, '\0');
        do {
            for (char& c : garbage) {
                unsigned char b = rng.byte();
                while (b == '\n' || b == '\r') b = rng.byte();
                c = static_cast<char>(b);
            }
        } while (garbage == "From ");
        d.injections.push_back(overwrite_record(r.op, clean, pos, garbage.size()));
        d.bytes.replace(pos, garbage.size(), garbage);
    }
}

void insert_from_lines(std::string_view clean, const Request& r, Rng& rng, Damaged& d) {
    const Window w = clamp(r.window, clean.size());
    const auto visit = [&](const std::function<void(std::uint64_t)>& f) { for_each_body_line(clean, w, f); };
    const std::vector<std::uint64_t> positions = pick_positions(rng, r.count, visit);
    std::string out;
    out.reserve(clean.size() + positions.size() * inserted_from_line.size());
    std::uint64_t copied = 0;
    for (const std::uint64_t pos : positions) {
        out.append(clean.substr(copied, pos - copied));
        Injection in;
        in.op = r.op;
        in.offset = out.size();
        in.length = inserted_from_line.size();
        in.original_offset = pos;
        in.original_length = 0;
        in.original_sha256 = sha256_hex({});
        out.append(inserted_from_line);
        copied = pos;
        d.injections.push_back(std::move(in));
    }
    out.append(clean.substr(copied));
    d.bytes = std::move(out);
}

struct OpName {
    Op op;
    std::string_view name;
    std::optional<StoreKind> only;  // none: any file
};

constexpr OpName op_names[] = {
    {Op::zero_page, "zero-page", std::nullopt},
    {Op::zero_sector, "zero-sector", std::nullopt},
    {Op::bitflip, "bitflip", std::nullopt},
    {Op::truncate, "truncate", std::nullopt},
    {Op::random_run, "random-run", std::nullopt},
    {Op::zero_tail, "zero-tail", std::nullopt},
    {Op::misplaced_sector, "misplaced-sector", std::nullopt},
    {Op::repeated_run, "repeated-run", std::nullopt},
    {Op::dropped_run, "dropped-run", std::nullopt},
    {Op::odd_run, "odd-run", std::nullopt},
    {Op::destroy_separator, "destroy-separator", StoreKind::mbox},
    {Op::unescaped_from, "unescaped-from", StoreKind::mbox},
    {Op::pst_zero_bbt_root, "pst-zero-bbt-root", StoreKind::pst},
    {Op::pst_zero_nbt_root, "pst-zero-nbt-root", StoreKind::pst},
    {Op::pst_zero_bbt_leaf, "pst-zero-bbt-leaf", StoreKind::pst},
    {Op::pst_zero_nbt_leaf, "pst-zero-nbt-leaf", StoreKind::pst},
    {Op::pst_zero_header, "pst-zero-header", StoreKind::pst},
    {Op::pst_header_crc, "pst-header-crc", StoreKind::pst},
    {Op::pst_amap_bit, "pst-amap-bit", StoreKind::pst},
    {Op::pst_zero_amap, "pst-zero-amap", StoreKind::pst},
};

// mboxrd: a line that starts ">*From " gains one '>'.
bool needs_quoting(std::string_view line) {
    const std::size_t i = line.find_first_not_of('>');
    return i != std::string_view::npos && line.substr(i, 5) == "From ";
}

}  // namespace

std::string_view op_name(Op op) {
    for (const OpName& o : op_names)
        if (o.op == op) return o.name;
    return "?";
}

std::optional<Op> parse_op(std::string_view name) {
    for (const OpName& o : op_names)
        if (o.name == name) return o.op;
    return std::nullopt;
}

std::vector<Op> ops_for(StoreKind kind) {
    std::vector<Op> v;
    for (const OpName& o : op_names)
        if (!o.only || *o.only == kind) v.push_back(o.op);
    return v;
}

std::string sha256_hex(std::string_view bytes) {
    Sha256 h;
    h.update(bytes);
    return h.hex();
}

Damaged inject(std::string_view clean, const Request& request) {
    Rng rng(request.seed);
    Damaged d;
    d.bytes = std::string(clean);
    switch (request.op) {
        case Op::zero_page: zero_blocks(clean, request, page_size, rng, d); break;
        case Op::zero_sector: zero_blocks(clean, request, sector_size, rng, d); break;
        case Op::bitflip: flip_bits(clean, request, rng, d); break;
        case Op::truncate: truncate(clean, request, rng, d); break;
        case Op::random_run: random_runs(clean, request, rng, d); break;
        case Op::zero_tail: zero_tail(clean, request, rng, d); break;
        case Op::misplaced_sector: misplace_sectors(clean, request, rng, d); break;
        case Op::repeated_run: repeat_run(clean, request, rng, d); break;
        case Op::dropped_run: drop_run(clean, request, rng, d); break;
        case Op::odd_run: odd_run(clean, request, rng, d); break;
        case Op::destroy_separator: destroy_separators(clean, request, rng, d); break;
        case Op::unescaped_from: insert_from_lines(clean, request, rng, d); break;
        case Op::pst_zero_bbt_root:
        case Op::pst_zero_nbt_root:
        case Op::pst_zero_bbt_leaf:
        case Op::pst_zero_nbt_leaf:
        case Op::pst_zero_header:
        case Op::pst_header_crc:
        case Op::pst_amap_bit:
        case Op::pst_zero_amap: damage_pst(clean, request, rng, d); break;
    }
    return d;
}

nlohmann::json manifest(const Request& request, std::string_view clean, const Damaged& damaged) {
    nlohmann::json j;
    j["tool"] = "mailfsck-damage";
    j["seed"] = request.seed;
    j["op"] = op_name(request.op);
    j["count"] = request.count;
    if (request.window.begin != 0 || request.window.end != UINT64_MAX)
        j["within"] = {{"begin", request.window.begin}, {"end", request.window.end}};
    j["input"] = {{"size", clean.size()}, {"sha256", sha256_hex(clean)}};
    j["output"] = {{"size", damaged.bytes.size()}, {"sha256", sha256_hex(damaged.bytes)}};
    nlohmann::json list = nlohmann::json::array();
    for (const Injection& in : damaged.injections) {
        nlohmann::json e = {{"op", op_name(in.op)},
                            {"offset", in.offset},
                            {"length", in.length},
                            {"original_offset", in.original_offset},
                            {"original_length", in.original_length},
                            {"original_sha256", in.original_sha256}};
        if (in.bit) e["bit"] = *in.bit;
        if (in.original_byte) e["original_byte"] = *in.original_byte;
        list.push_back(std::move(e));
    }
    j["damage"] = std::move(list);
    return j;
}

BuiltMbox build_mbox(const std::vector<std::string>& messages) {
    BuiltMbox b;
    for (const std::string& message : messages) {
        MessageRange r;
        r.begin = b.bytes.size();
        b.bytes.append(built_separator);
        r.content_begin = b.bytes.size();
        const std::string_view m = message;
        for (std::uint64_t p = 0; p < m.size(); p = line_end(m, p)) {
            const std::string_view line = m.substr(p, line_end(m, p) - p);
            if (needs_quoting(line)) b.bytes.push_back('>');
            b.bytes.append(line);
        }
        if (!b.bytes.ends_with('\n')) b.bytes.push_back('\n');
        r.content_end = b.bytes.size();
        b.bytes.push_back('\n');
        r.end = b.bytes.size();
        b.messages.push_back(r);
    }
    return b;
}

}  // namespace mailfsck::damage
