#include "framer.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mailfsck::mbox {
namespace {

constexpr std::uint64_t look_ahead_header_bytes = std::uint64_t{64} << 10;

// How many destroyed separators in a row a look-ahead follows.
constexpr int max_look_ahead_depth = 4;

// Candidate stretches kept: more than one look-ahead window holds.
constexpr std::size_t max_stretches_kept = std::size_t{1} << 15;
constexpr std::size_t max_chains_kept = 8;

// Answers to "does the body walk end a message at this damage" kept before
// those behind the framer are dropped, and how many may wait on one another:
// a chain of fields and damaged runs longer than that is read as ending no
// message past it.
constexpr std::size_t max_answers_kept = std::size_t{1} << 16;
constexpr std::size_t max_unsettled = std::size_t{1} << 20;

// Control bytes that no text mail carries. ESC (ISO-2022), FF, TAB, CR and
// LF are text.
constexpr bool is_control(unsigned char c) {
    return (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != 0x0c && c != 0x1b) || c == 0x7f;
}

constexpr std::array<bool, 256> control_table = [] {
    std::array<bool, 256> t{};
    for (unsigned i = 0; i < 256; ++i) t[i] = is_control(static_cast<unsigned char>(i));
    return t;
}();

// Trace fields are written by the transport and the store, not by people:
// a block holding them is a stored message's header, not quoted text.
bool is_trace_field(std::string_view name) {
    using mime::iequals;
    return iequals(name, "Received") || iequals(name, "Return-Path") || iequals(name, "Delivered-To") ||
           iequals(name, "Message-ID") || iequals(name, "X-Mozilla-Status") || iequals(name, "X-GM-THRID") ||
           iequals(name, "X-UID") || iequals(name, "Status");
}

bool is_blank(const Line& l) { return l.content_length() == 0 && l.terminated(); }

// Junk bytes a damaged separator line may carry before its envelope (a
// flipped bit in the empty line before it, a few bytes of garbage).
constexpr std::size_t max_junk_before_envelope = 8;

constexpr bool is_printable_ascii(char c) { return c >= 0x20 && c < 0x7f; }

// Does `line` start as "From " does until it ends or junk (a byte that is
// not printable ASCII) begins: what damage or a truncation left of a
// separator line?
bool separator_start(std::string_view line) {
    constexpr std::string_view from = "From ";
    for (std::size_t i = 0; i < std::min(line.size(), from.size()); ++i)
        if (line[i] != from[i]) return !is_printable_ascii(line[i]);
    return true;
}

// The intact start of a damaged line: junk may begin with printable bytes,
// so "From" followed by anything counts too. Damage from the very start of
// a line says nothing: holes in bodies start there as often.
bool separator_remnant(std::string_view intact) {
    return !intact.empty() && (separator_start(intact) || intact.starts_with("From"));
}

// Does a line that is not a separator still carry a separator's envelope
// (sender and date): after a few junk bytes in front of "From " (perhaps
// what is left of the empty line before it) or, after an empty line, past
// its first five bytes, where an overwritten "From " stood?
bool envelope_in(std::string_view content, bool after_blank) {
    if (after_blank && content.size() > 5 && classify_envelope(content.substr(5)) == FromLineKind::strict) return true;
    // Asked of every body line: most have no 'F' near their start at all.
    const std::string_view near = content.substr(0, max_junk_before_envelope + 5);
    if (near.find('F') == std::string_view::npos) return false;
    const std::size_t k = near.find("From ");
    return k != std::string_view::npos && k > 0 && classify_from_line(content.substr(k)) == FromLineKind::strict;
}

}  // namespace

struct Framer::LineDamage {
    std::uint64_t longest_nul_run = 0;
    std::uint64_t controls = 0;
    std::uint32_t distinct = 0;
    std::uint64_t first_control = 0;
};

Framer::Framer(ByteView input, FramerOptions options) : in_(input), opt_(options) {
    mmdf_ = is_mmdf_marker(in_.sub(0, line_at(in_, 0).content_end).text());
}

struct Framer::ScannedLine {
    Line line;
    LineDamage damage;
};

namespace {

// Bit i set when byte i of the 16 at `p` is below 0x20 or is 0x7f: line
// ends, control bytes, and the tabs and CRs that text has.
std::uint32_t interesting_mask(const unsigned char* p) {
#if defined(__SSE2__)
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i low = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1f)), x);
    const __m128i del = _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f));
    return static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_or_si128(low, del)));
#else
    std::uint32_t m = 0;
    for (unsigned i = 0; i < 16; ++i)
        if (p[i] < 0x20 || p[i] == 0x7f) m |= 1u << i;
    return m;
#endif
}

}  // namespace

Framer::ScannedLine Framer::scan_line(std::uint64_t pos) const {
    // Line ends and control bytes are found in one pass, sixteen bytes at a
    // time: this loop is the framer's hot path.
    ScannedLine out;
    const unsigned char* p = in_.data();
    const std::uint64_t size = in_.size();
    // Control bytes are below 0x20 or 0x7f: a 64-bit set per half is
    // cheap to clear on every line, unlike a 256-entry table.
    std::uint64_t seen_low = 0;
    bool seen_del = false;
    std::uint64_t run = 0;
    std::uint64_t run_end = UINT64_MAX;  // position just past the last NUL of the current run
    LineDamage& d = out.damage;
    const auto note = [&](std::uint64_t i, unsigned char c) {
        if (!control_table[c]) return;
        if (d.controls++ == 0) d.first_control = i;
        const bool fresh = c == 0x7f ? !std::exchange(seen_del, true)
                                     : (seen_low & (std::uint64_t{1} << c)) == 0;
        if (c != 0x7f) seen_low |= std::uint64_t{1} << c;
        if (fresh) ++d.distinct;
        run = (c == 0 && run_end == i) ? run + 1 : (c == 0 ? 1 : 0);
        run_end = c == 0 ? i + 1 : UINT64_MAX;
        d.longest_nul_run = std::max(d.longest_nul_run, run);
    };
    std::uint64_t i = pos;
    std::uint64_t newline = size;
    while (i < size) {
        if (i + 16 <= size) {
            std::uint32_t mask = interesting_mask(p + i);
            bool found = false;
            while (mask != 0) {
                const std::uint64_t j = i + static_cast<std::uint64_t>(__builtin_ctz(mask));
                mask &= mask - 1;
                if (p[j] == '\n') {
                    newline = j;
                    found = true;
                    break;
                }
                note(j, p[j]);
            }
            if (found) break;
            i += 16;
            continue;
        }
        if (p[i] == '\n') {
            newline = i;
            break;
        }
        note(i, p[i]);
        ++i;
    }
    Line& l = out.line;
    l.begin = pos;
    l.end = newline < size ? newline + 1 : size;
    l.content_end = newline;
    if (newline < size && l.content_end > pos && p[l.content_end - 1] == '\r') --l.content_end;
    return out;
}

bool Framer::is_damage(const LineDamage& d) const {
    return d.longest_nul_run >= opt_.hole_min || d.distinct >= opt_.garbage_distinct_min;
}

bool Framer::is_damaged(std::uint64_t line_begin) const { return is_damage(scan_line(line_begin).damage); }

std::uint64_t Framer::damaged_run_end(std::uint64_t pos, std::uint64_t limit) const {
    std::uint64_t e = line_at(in_, pos).end;
    while (e < limit && is_damaged(e)) e = line_at(in_, e).end;
    return e;
}

bool Framer::accept_separator(std::uint64_t pos, bool after_blank) const {
    const Line line = line_at(in_, pos);
    const FromLineKind kind = classify_from_line(in_.sub(pos, line.content_length()).text());
    if (kind == FromLineKind::not_from) return false;
    const Candidate hb = candidate_headers(line.end);
    if (hb.fields == 0) {
        // A well-formed envelope line after an empty line still starts a
        // message even when its header block is gone.
        return kind == FromLineKind::strict && after_blank;
    }
    // A strict envelope line after an empty line is the canonical separator.
    if (kind == FromLineKind::strict && after_blank) return true;
    const bool plausible = hb.how == mime::BlockEnd::blank_line || hb.how == mime::BlockEnd::end_of_input ||
                           hb.fields >= 3;
    if (!plausible) return false;
    // Without the empty line (a writer that omits it, or damage that took
    // it), a dated envelope or a stored message's trace fields decide.
    return after_blank || kind == FromLineKind::strict || header_block_at(line.end, true);
}

Framer::Candidate Framer::candidate_headers(std::uint64_t pos) const {
    if (last_candidate_ && last_candidate_->pos == pos) return last_candidate_->candidate;
    // Read as repair will write it: damaged lines in it are cut, so they are
    // passed over here too, or a store would read differently once repaired.
    const std::uint64_t window = std::min(in_.size(), pos + look_ahead_header_bytes);
    std::optional<mime::HeaderBlock> first;
    Candidate c;
    bool plain = true;
    const std::uint64_t unanswered = unanswered_;
    for (std::uint64_t at = pos;;) {
        if (const std::optional<std::uint64_t> after = follow_chain(at, window, c)) {
            plain = false;
            at = *after;
            continue;
        }
        const Stretch s = stretch_at(at, window, at == pos ? &first : nullptr);
        c.fields += s.part.fields;
        c.trace = c.trace || s.part.trace;
        c.origin = c.origin || s.part.origin;
        c.how = s.part.how;
        c.end = s.part.end;
        if (!s.damaged_end) break;
        plain = false;
        // Where the body walk ends a message at the damage, repair's copy of
        // this block ends there too, with an empty line. The walk judges a
        // run at its first line; a block that starts inside a run (one a
        // damaged line's look-ahead reads) is judged at the run's end, or
        // each line of a run would ask the same of the next.
        const bool inside_run = s.part.fields == 0 && at == pos && follows_damage(pos);
        const std::uint64_t judged = inside_run ? s.resume : s.part.end;
        if (judged < window && boundary_at(judged)) {
            c.how = mime::BlockEnd::blank_line;
            break;
        }
        if (unanswered_ != unanswered) break;
        if (s.part.fields > 0 && !s.window_bound) extend_chain(at, s);
        // Once the damage is cut, continuation lines after it fold into the
        // field before it.
        at = c.fields > 0 ? s.resume_folded : s.resume;
    }
    // Repair's copy of the block ends with the store where the partial line
    // ending it is cut, and with an empty line where a marker ends it (repair
    // writes From_ separators, after an empty line).
    if (cut_short_by_store_end(c.how, c.fields > 0, c.end)) {
        c.how = mime::BlockEnd::end_of_input;
        c.end = in_.size();
    } else if (c.how == mime::BlockEnd::non_header && c.fields > 0 && mmdf_marker_at(c.end)) {
        c.how = mime::BlockEnd::blank_line;
    }
    // A plain read that ended inside the window is exactly what
    // read_headers would read: keep it for the message that starts here.
    // A read that stood on a placeholder answer is asked again once settled.
    if (unanswered_ != unanswered) return c;
    plain = plain && (c.how == mime::BlockEnd::blank_line || c.how == mime::BlockEnd::non_header);
    if (!plain) {
        first.reset();
    } else if (!first) {
        first = read_block(pos, window);
    }
    last_candidate_ = CandidateHeaders{pos, c, std::move(first)};
    return c;
}

std::optional<std::uint64_t> Framer::follow_chain(std::uint64_t at, std::uint64_t window, Candidate& c) const {
    for (Chain& chain : chains_) {
        // No candidate starts before the framer's position.
        while (!chain.empty() && chain.front().pos < pos_) chain.pop_front();
        if (chain.empty() || at < chain.front().pos || at > chain.back().pos) continue;
        const auto from = std::lower_bound(chain.begin(), chain.end(), at,
                                           [](const ChainLink& l, std::uint64_t p) { return l.pos < p; });
        if (from == chain.end() || from->pos != at) continue;
        // A link read in another window reads the same in this one when all
        // it depended on lies inside.
        const auto past =
            std::partition_point(from, chain.end(), [window](const ChainLink& l) { return l.reach <= window; });
        if (past == from) return std::nullopt;
        const ChainLink& last = *(past - 1);
        c.fields += last.fields_before + last.part.fields - from->fields_before;
        c.trace = c.trace || last.traces_before + (last.part.trace ? 1 : 0) != from->traces_before;
        c.origin = c.origin || last.origins_before + (last.part.origin ? 1 : 0) != from->origins_before;
        return last.next;
    }
    return std::nullopt;
}

void Framer::extend_chain(std::uint64_t at, const Stretch& s) const {
    ChainLink link{at, s.reach, s.resume_folded, s.part, 0, 0, 0};
    const auto ends_at = [at](const Chain& chain) { return !chain.empty() && chain.back().next == at; };
    // Answers settled from the far end back read the links in that order.
    const auto starts_at = [&link](const Chain& chain) { return !chain.empty() && chain.front().pos == link.next; };
    auto it = std::find_if(chains_.begin(), chains_.end(), ends_at);
    const bool append = it != chains_.end();
    if (!append) it = std::find_if(chains_.begin(), chains_.end(), starts_at);
    if (it == chains_.end()) {
        // A link inside a chain, or a branch joining it, is not kept twice.
        const auto holds = [at](const Chain& chain) {
            return !chain.empty() && chain.front().pos <= at && at < chain.back().next;
        };
        if (std::any_of(chains_.begin(), chains_.end(), holds)) return;
        if (chains_.size() >= max_chains_kept) chains_.erase(chains_.begin());
        chains_.emplace_back();
        it = chains_.end() - 1;
    } else {
        std::rotate(it, it + 1, chains_.end());
        it = chains_.end() - 1;
    }
    Chain& chain = *it;
    if (chain.empty()) {
        chain.push_back(link);
        return;
    }
    if (append) {
        if (chain.size() >= max_stretches_kept) chain.pop_front();
        const ChainLink& b = chain.back();
        link.fields_before = b.fields_before + b.part.fields;
        link.traces_before = b.traces_before + (b.part.trace ? 1 : 0);
        link.origins_before = b.origins_before + (b.part.origin ? 1 : 0);
        chain.push_back(link);
        return;
    }
    if (chain.size() >= max_stretches_kept) chain.pop_back();
    const ChainLink& f = chain.front();
    link.fields_before = f.fields_before - link.part.fields;
    link.traces_before = f.traces_before - (link.part.trace ? 1 : 0);
    link.origins_before = f.origins_before - (link.part.origin ? 1 : 0);
    chain.push_front(link);
}

Framer::Stretch Framer::stretch_at(std::uint64_t pos, std::uint64_t window,
                                   std::optional<mime::HeaderBlock>* fresh) const {
    if (const auto it = stretches_.find(pos); it != stretches_.end()) {
        const Stretch& s = it->second;
        if (s.window == window || (!s.window_bound && s.reach <= window)) return s;
    }
    if (fresh == nullptr) {
        if (const std::optional<Stretch> s = narrowed_stretch(pos, window)) return *s;
    }
    if (stretches_.size() >= max_stretches_kept) stretches_.clear();
    mime::HeaderBlock hb = read_block(pos, window);
    const Stretch s = read_stretch(hb, window);
    // Other candidates read a stretch again only when it ends in damage or
    // follows damage; a block with none is read by those starting there.
    if (s.damaged_end || fresh == nullptr) stretches_.insert_or_assign(pos, s);
    // Every candidate of a chain reaches the stretch after it, each in a
    // window a little wider: one that runs out of them all is read once.
    if (fresh == nullptr && s.window_bound && !s.damaged_end) read_wide_stretch(pos);
    if (fresh != nullptr) *fresh = std::move(hb);
    return s;
}

void Framer::read_wide_stretch(std::uint64_t pos) const {
    // A candidate reaching this stretch starts before it: no window it has
    // ends past this one.
    const std::uint64_t window = std::min(in_.size(), pos + look_ahead_header_bytes);
    const mime::HeaderBlock hb = read_block(pos, window);
    WideStretch w;
    w.pos = pos;
    w.window = window;
    w.fields_end = hb.fields.empty() ? pos : hb.fields.back().end;
    std::uint32_t traces = 0;
    std::uint32_t origins = 0;
    for (const mime::Field& f : hb.fields) {
        w.field_begins.push_back(f.begin);
        w.traces_before.push_back(traces);
        w.origins_before.push_back(origins);
        const std::string_view name = f.name(in_);
        traces += is_trace_field(name) ? 1 : 0;
        origins += mime::iequals(name, "From") || mime::iequals(name, "Date") ? 1 : 0;
    }
    w.traces_before.push_back(traces);
    w.origins_before.push_back(origins);
    wide_ = std::move(w);
}

std::optional<Framer::Stretch> Framer::narrowed_stretch(std::uint64_t pos, std::uint64_t window) const {
    if (!wide_ || wide_->pos != pos || window > wide_->window || window <= pos || window > wide_->fields_end)
        return std::nullopt;
    const WideStretch& w = *wide_;
    // The window ends inside the fields: every line before the one it cuts
    // reads as in the wide read; the cut line is judged as the window cuts it.
    const ByteView v = in_.sub(0, window);
    std::uint64_t cut = window;
    if (in_.at_or(window - 1, 0) != '\n') {
        const std::size_t nl = in_.sub(pos, window - 1 - pos).text().rfind('\n');
        cut = nl == std::string_view::npos ? pos : pos + nl + 1;
    }
    const auto first = std::lower_bound(w.field_begins.begin(), w.field_begins.end(), cut);
    auto index = static_cast<std::size_t>(first - w.field_begins.begin());
    Stretch s;
    s.window = window;
    s.reach = window;
    s.window_bound = true;
    s.part.how = mime::BlockEnd::end_of_input;
    s.part.end = window;
    if (cut < window && first != w.field_begins.end() && *first == cut) {
        // A field's first line: still one if its name and colon are inside.
        if (mime::is_field_line(v, line_at(v, cut))) {
            ++index;
        } else {
            if (is_damaged(cut)) return std::nullopt;
            s.part.how = mime::BlockEnd::non_header;
            s.part.end = cut;
        }
    }
    // Otherwise a continuation line, folded into the field before it.
    s.part.fields = index;
    s.part.trace = w.traces_before[index] > 0;
    s.part.origin = w.origins_before[index] > 0;
    return s;
}

Framer::Stretch Framer::read_stretch(const mime::HeaderBlock& hb, std::uint64_t window) const {
    Stretch s;
    s.window = window;
    s.part.fields = hb.fields.size();
    for (const mime::Field& f : hb.fields) {
        const std::string_view name = f.name(in_);
        s.part.trace = s.part.trace || is_trace_field(name);
        s.part.origin = s.part.origin || mime::iequals(name, "From") || mime::iequals(name, "Date");
    }
    s.part.how = hb.how;
    s.part.end = hb.end;
    switch (hb.how) {
        case mime::BlockEnd::end_of_input:
            s.reach = window;
            s.window_bound = true;
            return s;
        case mime::BlockEnd::blank_line:
        case mime::BlockEnd::too_large: s.reach = hb.end; return s;
        case mime::BlockEnd::non_header: break;
    }
    // The line that ended the block was judged as the window cut it.
    const std::uint64_t bad_end = line_at(in_, hb.end).end;
    s.reach = bad_end;
    s.window_bound = bad_end > window;
    s.damaged_end = hb.end < window && is_damaged(hb.end);
    if (!s.damaged_end) return s;
    s.resume = damaged_run_end(hb.end, window);
    const ByteView w = in_.sub(0, window);
    std::uint64_t next = s.resume;
    while (next < window && (w.at_or(next, 0) == ' ' || w.at_or(next, 0) == '\t')) next = line_at(w, next).end;
    s.resume_folded = next;
    s.reach = std::max(s.reach, next + 1);
    s.window_bound = s.window_bound || next >= window;
    return s;
}

bool Framer::ends_as_written(const Candidate& hb) const {
    // Repair ends the store, and every message before a separator, with an
    // empty line: a block that stops there now will end with one then.
    switch (hb.how) {
        case mime::BlockEnd::blank_line: return true;
        case mime::BlockEnd::end_of_input: return hb.end == in_.size();
        case mime::BlockEnd::non_header: {
            if (in_.starts_with("From ", hb.end)) return accept_separator(hb.end, true);
            // Repair writes a real separator where one was destroyed. Chains
            // of such lines are judged a few deep, not recursively without end.
            if (look_ahead_depth_ >= max_look_ahead_depth) return false;
            ++look_ahead_depth_;
            const bool destroyed = destroyed_separator_at(line_at(in_, hb.end), false);
            --look_ahead_depth_;
            return destroyed;
        }
        case mime::BlockEnd::too_large: break;
    }
    return false;
}

bool Framer::mmdf_marker_at(std::uint64_t pos) const {
    return mmdf_ && is_mmdf_marker(in_.sub(pos, line_at(in_, pos).content_length()).text());
}

bool Framer::cut_short_by_store_end(mime::BlockEnd how, bool has_fields, std::uint64_t end) const {
    if (how != mime::BlockEnd::non_header || !has_fields) return false;
    const Line rest = line_at(in_, end);
    return !rest.terminated() && rest.end == in_.size();
}

bool Framer::header_block_at(std::uint64_t pos, bool strong) const {
    // Asked after most empty lines of every body: reject non-fields by
    // their first bytes, before finding where the line ends.
    std::uint64_t i = pos;
    while (i < in_.size() && in_.at_or(i, 0) > ' ' && in_.at_or(i, 0) < 127 && in_.at_or(i, 0) != ':') ++i;
    if (i == pos || in_.at_or(i, 0) != ':') return false;
    const Candidate c = candidate_headers(pos);
    if (c.fields < 2 || !ends_as_written(c)) return false;
    return !strong || (c.trace && c.origin);
}

bool Framer::destroyed_separator_at(const Line& line, bool after_blank) const {
    const std::uint64_t pos = line.begin;
    if (line.content_length() == 0 || !line.terminated()) return false;
    const std::string_view content = in_.sub(pos, line.content_length()).text();
    // Only a line that still carries the envelope's sender and date counts:
    // a header block after an empty line and some other line is what every
    // bounce and forwarded message holds in its body, and a repaired store
    // must read back as written.
    if (!envelope_in(content, after_blank)) return false;
    // A quoted From line is content, and the one kind of line repair
    // changes (one more '>'), which would shift what follows its first five
    // bytes: it is never a separator's remains.
    const std::size_t quotes = content.find_first_not_of('>');
    if (quotes != 0 && quotes != std::string_view::npos && content.substr(quotes, 5) == "From ") return false;
    // Garbage over "From " can look like a field name ("6:\x82A\xf6"); a
    // field line whose first bytes are all printable is taken for a field.
    const std::string_view head = content.substr(0, 5);
    const bool junk_head = std::any_of(head.begin(), head.end(), [](char c) {
        const auto b = static_cast<unsigned char>(c);
        return control_table[b] || b >= 0x80;
    });
    // Most of "From " still in place: a flipped bit or two.
    constexpr std::string_view from = "From ";
    std::size_t same = 0;
    for (std::size_t i = 0; i < head.size(); ++i) same += head[i] == from[i] ? 1 : 0;
    const bool damaged_head = junk_head || same >= 3;
    if (mime::is_field_line(in_, line) && !junk_head) return false;
    // A separator's remains are followed by its message's header block,
    // never by a MIME delimiter line, which can read as a field ("--b=:1--"
    // has a name and a colon): repair writes one after any line when it
    // closes a multipart left open at damage.
    if (in_.starts_with("--", line.end)) return false;
    // Printable text with a date in it is also what bodies hold: then only
    // a stored message's header block (trace fields, sender or date) will do.
    if (!damaged_head) return header_block_at(line.end, true);
    const Candidate c = candidate_headers(line.end);
    return c.fields > 0 && (ends_as_written(c) || c.how == mime::BlockEnd::end_of_input);
}

bool Framer::headerless_separator_at(std::uint64_t pos) const {
    // As frame_message will read it: a damaged line ends the block there.
    const Line line = line_at(in_, pos);
    return read_headers(line.end).fields.empty();
}

bool Framer::follows_damage(std::uint64_t pos) const {
    if (pos == 0) return false;
    const std::size_t nl = in_.sub(0, pos - 1).text().rfind('\n');
    return is_damaged(nl == std::string_view::npos ? 0 : nl + 1);
}

bool Framer::boundary_at(std::uint64_t pos) const {
    if (pos >= in_.size()) return true;
    if (const auto it = boundaries_.find(pos); it != boundaries_.end()) return it->second;
    if (settling_) {
        ++unanswered_;
        if (!first_unanswered_) first_unanswered_ = pos;
        return false;
    }
    settle(pos);
    return boundaries_.at(pos);
}

void Framer::settle(std::uint64_t pos) const {
    // Answers behind the framer are never asked again; inside one long
    // message nothing is behind it, and all are dropped (an answer asked
    // again is found again, the same), so each costs constant time.
    if (boundaries_.size() >= max_answers_kept) {
        std::erase_if(boundaries_, [this](const auto& answer) { return answer.first < pos_; });
        if (boundaries_.size() >= max_answers_kept / 2) boundaries_.clear();
    }
    // Each question asked while answering lies past the position asked
    // about, so the stack only grows forward and ends.
    std::vector<std::uint64_t> stack{pos};
    const int depth = std::exchange(look_ahead_depth_, 0);
    // What stood on placeholders here is settled on return.
    const std::uint64_t unanswered = unanswered_;
    settling_ = true;
    while (!stack.empty()) {
        const std::uint64_t at = stack.back();
        first_unanswered_.reset();
        const bool ends = ends_message_at(at);
        if (first_unanswered_ && stack.size() < max_unsettled) {
            stack.push_back(*first_unanswered_);
            continue;
        }
        // Past the bound, a chain of damaged runs that long is taken to end
        // no message.
        boundaries_.emplace(at, ends && !first_unanswered_);
        stack.pop_back();
    }
    settling_ = false;
    look_ahead_depth_ = depth;
    unanswered_ = unanswered;
}

bool Framer::ends_message_at(std::uint64_t pos) const {
    if (!is_damaged(pos)) return message_starts_at(pos);
    // A damaged line with no empty line before it ends a message when it is
    // the next separator, or when one starts after its run (walk_body).
    const bool separator = in_.starts_with("From ", pos) ? accept_separator(pos, false)
                                                         : destroyed_separator_at(line_at(in_, pos), false);
    return separator || boundary_at(damaged_run_end(pos, in_.size()));
}

bool Framer::message_starts_at(std::uint64_t pos) const {
    // An MMDF store's body walk ends a message at a From_ line or its
    // remains too (walk_body), and repair writes From_ separators.
    if (mmdf_marker_at(pos)) return true;
    return accept_separator(pos, true) || header_block_at(pos, false) || destroyed_separator_at(line_at(in_, pos), true);
}

std::optional<Segment> Framer::next() {
    while (pending_.empty() && pos_ < in_.size()) produce();
    if (pending_.empty()) return std::nullopt;
    Segment s = std::move(pending_.front());
    pending_.pop_front();
    return s;
}

void Framer::produce() {
    const Line line = line_at(in_, pos_);
    if (is_damaged(pos_)) return produce_damaged_run();
    const std::string_view content = in_.sub(pos_, line.content_length()).text();
    if (opt_.single_message) {
        const FromLineKind from = pos_ == 0 ? classify_from_line(content) : FromLineKind::not_from;
        if (from == FromLineKind::not_from) return frame_message(SeparatorKind::none, {pos_, 0}, pos_);
        return frame_message(from == FromLineKind::strict ? SeparatorKind::from_strict : SeparatorKind::from_loose,
                             {pos_, line.end - pos_}, line.end);
    }
    if (mmdf_ && is_mmdf_marker(content)) return frame_message(SeparatorKind::mmdf, {pos_, line.end - pos_}, line.end);
    if (!mmdf_ && (accepted_ == pos_ || accept_separator(pos_, true))) {
        const bool strict = classify_from_line(content) == FromLineKind::strict;
        return frame_message(strict ? SeparatorKind::from_strict : SeparatorKind::from_loose,
                             {pos_, line.end - pos_}, line.end);
    }
    if (header_block_at(pos_, false)) return frame_message(SeparatorKind::lost, {pos_, 0}, pos_);
    if (destroyed_separator_at(line, true)) return frame_message(SeparatorKind::lost, {pos_, line.end - pos_}, line.end);
    produce_fragment();
}

void Framer::produce_damaged_run() {
    const std::uint64_t begin = pos_;
    const std::uint64_t end = damaged_run_end(begin, in_.size());
    Segment s;
    s.begin = begin;
    s.end = end;
    bool only_nul = true;
    for (std::uint64_t i = begin; i < end && only_nul; ++i) {
        const unsigned char c = in_.at_or(i, 0);
        only_nul = c == 0 || c == '\n' || c == '\r';
    }
    s.kind = only_nul ? SegmentKind::junk : SegmentKind::fragment;
    const LineDamage d = scan_line(begin).damage;
    s.defects.add({d.longest_nul_run >= opt_.hole_min ? DefectKind::nul_hole : DefectKind::binary_garbage,
                   begin, end - begin, {}});
    pending_.push_back(std::move(s));
    pos_ = end;
}

void Framer::produce_fragment() {
    const std::uint64_t begin = pos_;
    std::uint64_t q = line_at(in_, begin).end;
    bool after_blank = is_blank(line_at(in_, begin));
    while (q < in_.size() && !is_damaged(q)) {
        const Line l = line_at(in_, q);
        const bool from_line = in_.starts_with("From ", q) && accept_separator(q, after_blank);
        if (from_line || mmdf_marker_at(q)) break;
        if ((after_blank && header_block_at(q, false)) || destroyed_separator_at(l, after_blank)) break;
        after_blank = is_blank(l);
        q = l.end;
    }
    Segment s;
    s.kind = SegmentKind::fragment;
    s.begin = begin;
    s.end = q;
    s.defects.add({begin == 0 ? DefectKind::leading_garbage : DefectKind::fragment, begin, q - begin, {}});
    pending_.push_back(std::move(s));
    pos_ = q;
}

std::optional<std::uint64_t> Framer::first_damaged_line(std::uint64_t begin, std::uint64_t end) const {
    for (std::uint64_t p = begin; p < end;) {
        const ScannedLine l = scan_line(p);
        if (is_damage(l.damage)) return p;
        p = l.line.end;
    }
    return std::nullopt;
}

mime::HeaderBlock Framer::read_block(std::uint64_t pos, std::uint64_t limit) const {
    mime::HeaderBlock hb = mime::read_header_block(in_.sub(0, limit), pos);
    // A hole or garbage that starts inside a field's value reads as that
    // field's text; the block ends at the damaged line instead, as at any
    // line that is not a field, so the body walk cuts the damage.
    const std::optional<std::uint64_t> damaged = first_damaged_line(pos, hb.end);
    if (!damaged) return hb;
    hb = mime::read_header_block(in_.sub(0, *damaged), pos);
    hb.how = mime::BlockEnd::non_header;
    hb.first_bad_line = hb.end = hb.body_begin = *damaged;
    return hb;
}

mime::HeaderBlock Framer::read_headers(std::uint64_t header_begin) const {
    if (last_candidate_ && last_candidate_->pos == header_begin && last_candidate_->plain)
        return *last_candidate_->plain;
    return read_block(header_begin, in_.size());
}

std::optional<std::uint64_t> Framer::content_length_end(Segment& m, const mime::HeaderBlock& hb) const {
    const ByteView window = in_.sub(0, hb.end);
    const mime::Field* f = hb.find(window, "Content-Length");
    if (f == nullptr) return std::nullopt;
    const std::string value = mime::unfolded_value(window, *f, 32);
    std::uint64_t n = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || ptr != value.data() + value.size()) {
        m.content_length = ContentLength::invalid;
        m.defects.add({DefectKind::content_length_invalid, f->begin, f->end - f->begin, value});
        return std::nullopt;
    }
    // Content-Length counts the body; the empty line that follows it
    // separates messages (mboxcl/mboxcl2 as written by c-client and
    // Mail::Box). It agrees when that lands on the next separator or EOF.
    const std::uint64_t body_end = hb.end + n;
    if (n <= in_.size() - hb.end) {
        if (body_end == in_.size()) return body_end;
        const Line after = line_at(in_, body_end);
        if (is_blank(after) && (after.end == in_.size() || accept_separator(after.end, true) ||
                                mmdf_marker_at(after.end)))
            return after.end;
        if (accept_separator(body_end, false)) return body_end;
    }
    m.content_length = ContentLength::disagrees;
    m.defects.add({DefectKind::content_length_mismatch, f->begin, f->end - f->begin,
                   "Content-Length " + value + " does not end on a message boundary"});
    return std::nullopt;
}

void Framer::frame_message(SeparatorKind kind, Span separator, std::uint64_t header_begin) {
    Segment m;
    m.kind = SegmentKind::message;
    m.begin = separator.length > 0 ? separator.offset : header_begin;
    m.separator_kind = kind;
    m.separator = separator;
    m.header_begin = header_begin;
    switch (kind) {
        case SeparatorKind::from_strict: ++evidence_.separators_strict; break;
        case SeparatorKind::from_loose: ++evidence_.separators_loose; break;
        case SeparatorKind::mmdf: ++evidence_.separators_mmdf; break;
        case SeparatorKind::lost:
            m.defects.add({DefectKind::separator_destroyed, m.begin, header_begin - m.begin, {}});
            break;
        case SeparatorKind::none: break;
    }
    mime::HeaderBlock hb = read_headers(header_begin);
    // A store cut short in the middle of a field's name leaves a partial
    // line that is no field: the header block was truncated, and the
    // partial line is cut from the message like damage.
    if (cut_short_by_store_end(hb.how, !hb.fields.empty(), hb.end)) {
        m.cuts.push_back({hb.end, in_.size() - hb.end});
        hb.how = mime::BlockEnd::end_of_input;
        hb.end = hb.body_begin = in_.size();
    }
    // A line that is no field, with fields after it (a flipped bit in a
    // field name, a stray line from a concurrent writer), is cut from the
    // message, so the fields after it stay in the header block. A message
    // file must begin with its header block, so there even a first line
    // can be the damaged one.
    while (hb.how == mime::BlockEnd::non_header && (!hb.fields.empty() || opt_.single_message)) {
        const Line stray = line_at(in_, hb.end);
        if (!stray.terminated() || is_damaged(stray.begin) || !mime::is_field_line(in_, line_at(in_, stray.end))) break;
        m.cuts.push_back({stray.begin, stray.end - stray.begin});
        m.defects.add({DefectKind::header_block_damaged, stray.begin, stray.end - stray.begin, {}});
        mime::HeaderBlock rest = read_headers(stray.end);
        // Added after the fields so far, not those copied before the new
        // ones: a block of many stray lines stays linear.
        hb.fields.insert(hb.fields.end(), rest.fields.begin(), rest.fields.end());
        rest.fields = std::move(hb.fields);
        rest.crlf_lines += hb.crlf_lines;
        rest.lf_lines += hb.lf_lines;
        hb = std::move(rest);
    }
    m.header_fields = static_cast<std::uint32_t>(hb.fields.size());
    m.header_end = hb.how;
    m.body_begin = hb.end;
    m.crlf_lines = hb.crlf_lines;
    m.lf_lines = hb.lf_lines;
    // The evidence is the line that stands where the first field should.
    if (hb.fields.empty())
        m.defects.add({DefectKind::no_header_block, header_begin, line_at(in_, header_begin).end - header_begin, {}});
    if (hb.how == mime::BlockEnd::end_of_input && !hb.fields.empty())
        m.defects.add({DefectKind::truncated_in_headers, header_begin, hb.end - header_begin, {}});
    // Repair ends a block that a body line ended with an empty line, so as
    // written the body starts after one.
    const bool unterminated = hb.how == mime::BlockEnd::non_header && !hb.fields.empty() && !is_damaged(hb.end);
    if (unterminated)
        m.defects.add({DefectKind::header_block_unterminated, hb.end, line_at(in_, hb.end).end - hb.end, {}});
    const bool body_after_blank = hb.how == mime::BlockEnd::blank_line || unterminated;

    if (opt_.single_message) {
        // A message file ends where the file does; a Content-Length in it
        // frames nothing.
        walk_body(m, body_after_blank, in_.size());
        m.content_end = m.end;
    } else {
        const std::optional<std::uint64_t> fixed_end = content_length_end(m, hb);
        if (fixed_end) {
            // Agreement means a separator was accepted where the length ends.
            accepted_ = *fixed_end;
            m.content_length = ContentLength::agrees;
            ++evidence_.content_length_agrees;
        } else if (m.content_length == ContentLength::disagrees) {
            ++evidence_.content_length_disagrees;
        }
        walk_body(m, body_after_blank, fixed_end);
    }
    evidence_.crlf_lines += m.crlf_lines;
    evidence_.lf_lines += m.lf_lines;
    if (m.crlf_lines > 0 && m.lf_lines > 0)
        m.defects.add({DefectKind::mixed_line_endings, m.begin, m.end - m.begin,
                       std::to_string(m.crlf_lines) + " CRLF, " + std::to_string(m.lf_lines) + " LF lines"});
    if (m.end == in_.size() && in_.size() > 0 && in_.at_or(in_.size() - 1, 0) != '\n')
        m.defects.add({DefectKind::unterminated_last_line, in_.size() - 1, 1, {}});
    pos_ = m.end;
    pending_.push_back(std::move(m));
}

void Framer::record_line_endings(Segment& m, const Line& line) {
    if (!line.terminated()) return;
    ++(line.crlf() ? m.crlf_lines : m.lf_lines);
}

void Framer::walk_body(Segment& m, bool after_blank, std::optional<std::uint64_t> fixed_end) {
    const std::uint64_t limit = fixed_end.value_or(in_.size());
    std::uint64_t p = m.body_begin;
    bool prev_blank = after_blank;
    std::uint64_t last_blank = UINT64_MAX;
    bool stray_reported = false;
    while (p < limit) {
        const auto [line, d] = scan_line(p);
        const unsigned char first = in_.at_or(p, 0);
        const bool damaged = is_damage(d);
        if (!fixed_end) {
            if (first == 1 && mmdf_marker_at(p)) {
                record_line_endings(m, line);
                m.content_end = p;
                m.end = line.end;
                return;
            }
            // A store cut short inside a separator line leaves its start.
            const bool cut_separator = prev_blank && !line.terminated() &&
                                       separator_start(in_.sub(p, line.content_length()).text());
            const bool from = first == 'F' && in_.starts_with("From ", p);
            if (damaged && !prev_blank) {
                // The whole question a candidate header block asks at damage
                // (ends_message_at), so the two cannot end at different places.
                if (boundary_at(p)) {
                    m.ends_at_damage = true;
                    break;
                }
            } else if (from && accept_separator(p, prev_blank)) {
                accepted_ = p;
                // One that is itself damaged, or has no header block after it,
                // is damage that cut this message short.
                m.ends_at_damage = damaged || headerless_separator_at(p);
                break;
            } else if (cut_separator) {
                m.ends_at_damage = true;
                break;
            } else if (from) {
                // A damaged line is reported as damage below, not as a body line.
                if (!damaged) {
                    ++evidence_.unescaped_from;
                    m.defects.add({DefectKind::unescaped_from, p, line.end - p,
                                   prev_blank ? "kept in the body: no header block follows it"
                                                    : "kept in the body: no empty line before it and no "
                                                      "header block with a dated envelope or trace fields"});
                }
            } else if (destroyed_separator_at(line, prev_blank)) {
                // Damage over a separator may have begun in this message.
                m.ends_at_damage = damaged;
                break;
            }
        } else if (first == 'F' && in_.starts_with("From ", p)) {
            ++evidence_.unescaped_from;  // protected by a Content-Length that agrees
        }
        // Damaged lines are no evidence of how a writer escaped.
        if (first == '>' && !damaged) {
            std::uint64_t i = p;
            while (in_.at_or(i, 0) == '>') ++i;
            if (in_.starts_with("From ", i)) ++(i - p == 1 ? evidence_.quoted_from : evidence_.double_quoted_from);
        }
        if (damaged) {
            // The next message, found starting after damage, may start
            // inside the damaged line: the cut ends there.
            const std::uint64_t e = std::min(damaged_run_end(p, limit), limit);
            // Damage that may have taken a separator ends the message rather
            // than gluing what follows it onto this one (unless the message's
            // end is fixed: a message file, or a Content-Length that agrees).
            // Without an empty line before it, this was asked above.
            bool boundary = false;
            if (!fixed_end && prev_blank) {
                const std::string_view intact = in_.sub(p, d.first_control - p).text();
                boundary = boundary_at(e) || separator_remnant(intact);
            }
            if (boundary) {
                m.ends_at_damage = true;
                break;
            }
            if (m.cuts.size() < max_cuts_per_message) {
                m.cuts.push_back({p, e - p});
            } else {
                m.cuts.back().length = e - m.cuts.back().offset;
            }
            m.defects.add({d.longest_nul_run >= opt_.hole_min ? DefectKind::nul_hole : DefectKind::binary_garbage,
                           p, e - p, {}});
            p = e;
            prev_blank = false;
            continue;
        }
        if (d.controls > 0 && !stray_reported) {
            stray_reported = true;
            m.defects.add({DefectKind::stray_control_bytes, d.first_control, 1, {}});
        }
        record_line_endings(m, line);
        prev_blank = is_blank(line);
        if (prev_blank) last_blank = p;
        p = line.end;
    }
    m.end = p < limit ? p : limit;
    // The empty line before the next separator belongs to the framing, not
    // to the message.
    m.content_end = (last_blank != UINT64_MAX && line_at(in_, last_blank).end == m.end && last_blank >= m.body_begin)
                        ? last_blank
                        : m.end;
    // A message without a body has the empty line ending its header block
    // right before the separator: that line serves both.
    const bool bodiless_after_blank = after_blank && m.body_begin == m.end;
    if (m.end < in_.size() && m.content_end == m.end && !mmdf_ && !bodiless_after_blank)
        m.defects.add({DefectKind::separator_not_after_blank, m.end, 0, {}});
}

std::string_view defect_name(DefectKind k) {
    switch (k) {
        case DefectKind::leading_garbage: return "leading_garbage";
        case DefectKind::separator_destroyed: return "separator_destroyed";
        case DefectKind::separator_not_after_blank: return "separator_not_after_blank";
        case DefectKind::unescaped_from: return "unescaped_from";
        case DefectKind::content_length_mismatch: return "content_length_mismatch";
        case DefectKind::content_length_invalid: return "content_length_invalid";
        case DefectKind::truncated_in_headers: return "truncated_in_headers";
        case DefectKind::unterminated_last_line: return "unterminated_last_line";
        case DefectKind::nul_hole: return "nul_hole";
        case DefectKind::binary_garbage: return "binary_garbage";
        case DefectKind::stray_control_bytes: return "stray_control_bytes";
        case DefectKind::header_block_damaged: return "header_block_damaged";
        case DefectKind::header_block_unterminated: return "header_block_unterminated";
        case DefectKind::no_header_block: return "no_header_block";
        case DefectKind::mixed_line_endings: return "mixed_line_endings";
        case DefectKind::fragment: return "fragment";
    }
    return "unknown";
}

}  // namespace mailfsck::mbox
