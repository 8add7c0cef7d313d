#include "mbox_check.h"

#include <algorithm>
#include <deque>
#include <unordered_map>

#include "parsers/mbox/framer.h"
#include "parsers/mime/headers.h"
#include "parsers/mime/walker.h"
#include "repair/store/identity.h"

namespace mailfsck {
namespace {

using mbox::DefectKind;

// A message's unescaped "From " lines can number in the thousands (a pasted
// log); past this many the rest are summarised in one finding.
constexpr std::size_t max_findings_per_kind = 10;

// Copies left by an interrupted rewrite sit close together; remembering
// only the last few thousand messages keeps memory flat on huge stores.
constexpr std::size_t duplicate_window = 4096;

ProblemId problem_for(DefectKind k) {
    switch (k) {
        case DefectKind::leading_garbage: return ProblemId::mbox_leading_garbage;
        case DefectKind::separator_destroyed: return ProblemId::mbox_separator_destroyed;
        case DefectKind::separator_not_after_blank: return ProblemId::mbox_separator_no_blank;
        case DefectKind::unescaped_from: return ProblemId::mbox_unescaped_from;
        case DefectKind::content_length_mismatch: return ProblemId::mbox_cl_mismatch;
        case DefectKind::content_length_invalid: return ProblemId::mbox_cl_invalid;
        case DefectKind::truncated_in_headers: return ProblemId::mbox_truncated_headers;
        case DefectKind::unterminated_last_line: return ProblemId::mbox_unterminated;
        case DefectKind::nul_hole: return ProblemId::mbox_nul_hole;
        case DefectKind::binary_garbage: return ProblemId::mbox_garbage;
        case DefectKind::stray_control_bytes: return ProblemId::mbox_stray_control;
        case DefectKind::header_block_damaged: return ProblemId::mbox_header_damaged;
        case DefectKind::header_block_unterminated: return ProblemId::mbox_header_unterminated;
        case DefectKind::no_header_block: return ProblemId::mbox_no_headers;
        case DefectKind::mixed_line_endings: return ProblemId::mbox_mixed_eol;
        case DefectKind::fragment: return ProblemId::mbox_fragment;
    }
    return ProblemId::mbox_fragment;
}

std::string_view structure_of(DefectKind k) {
    switch (k) {
        case DefectKind::separator_destroyed:
        case DefectKind::separator_not_after_blank: return "separator";
        case DefectKind::content_length_mismatch:
        case DefectKind::content_length_invalid:
        case DefectKind::truncated_in_headers:
        case DefectKind::header_block_damaged:
        case DefectKind::header_block_unterminated:
        case DefectKind::no_header_block: return "header block";
        case DefectKind::unescaped_from:
        case DefectKind::stray_control_bytes: return "body";
        case DefectKind::mixed_line_endings: return "message";
        case DefectKind::leading_garbage:
        case DefectKind::unterminated_last_line:
        case DefectKind::nul_hole:
        case DefectKind::binary_garbage:
        case DefectKind::fragment: return "store";
    }
    return "store";
}

ProblemId problem_for(mime::DefectKind k) {
    switch (k) {
        case mime::DefectKind::missing_close_boundary: return ProblemId::mime_missing_close;
        case mime::DefectKind::boundary_never_opened: return ProblemId::mime_never_opened;
        case mime::DefectKind::missing_boundary_param: return ProblemId::mime_no_boundary;
        case mime::DefectKind::invalid_base64: return ProblemId::mime_bad_base64;
        case mime::DefectKind::nesting_too_deep: return ProblemId::mime_too_deep;
        case mime::DefectKind::too_many_parts: return ProblemId::mime_too_many_parts;
        case mime::DefectKind::header_block_unterminated: return ProblemId::mime_part_headers;
    }
    return ProblemId::mime_part_headers;
}

std::string joined(const std::vector<ByteView>& pieces) {
    std::string out;
    for (const ByteView& p : pieces) out.append(p.text());
    return out;
}

bool all_zero(const ByteView& v) {
    for (std::uint64_t i = 0; i < v.size(); ++i) {
        const unsigned char c = v.at_or(i, 0);
        if (c != 0 && c != '\n' && c != '\r') return false;
    }
    return true;
}

// Who a message is, for the report's list of what was lost.
LostItem describe(const ByteView& in, std::uint64_t header_begin, std::uint64_t message_no) {
    LostItem item;
    item.message = message_no;
    const ByteView window = in.sub(0, header_begin + (1u << 20));
    const mime::HeaderBlock hb = mime::read_header_block(window, header_begin);
    const auto value = [&](std::string_view name) {
        const mime::Field* f = hb.find(window, name);
        return f ? mime::unfolded_value(window, *f, 200) : std::string();
    };
    item.message_id = value("Message-ID");
    item.date = value("Date");
    item.from = value("From");
    item.subject = value("Subject");
    return item;
}

class MboxChecker {
public:
    MboxChecker(const Source& source, StoreLog& log, MessageSink* sink, const CheckHooks& hooks)
        : source_(source), in_(source.bytes()), log_(log), sink_(sink), hooks_(hooks) {}

    void run() {
        // mboxrd is the one variant whose quoting must be undone when
        // reading; ">>From " lines are its only reliable mark.
        unquote_ = in_.starts_with(">>From ") || in_.find("\n>>From ").has_value();
        mbox::Framer framer(in_);
        std::uint64_t segments = 0;
        while (auto seg = framer.next()) {
            if (hooks_.interrupted && hooks_.interrupted->load()) {
                log_.error = "interrupted";
                return;
            }
            if (hooks_.progress && (++segments & 255) == 0) hooks_.progress(seg->end, in_.size());
            source_.release_below(seg->begin);
            switch (seg->kind) {
                case mbox::SegmentKind::junk: junk(*seg); break;
                case mbox::SegmentKind::fragment: fragment(*seg); break;
                case mbox::SegmentKind::message: message(*seg); break;
            }
        }
        log_.bytes.close(in_.size());
        decide_variant(framer.evidence());
        if (log_.messages.found == 0) log_.add(ProblemId::store_empty, 0, in_.size(), "store");
    }

private:
    void junk(const mbox::Segment& s) {
        record_defects(s, std::nullopt);
        log_.bytes.add(Disposition::junk, s.begin, s.end - s.begin);
        LostItem item;
        item.offset = s.begin;
        item.length = s.end - s.begin;
        item.reason = "NUL hole between messages; any message bytes it replaced are gone";
        log_.lost.push_back(std::move(item));
    }

    void fragment(const mbox::Segment& s) {
        record_defects(s, std::nullopt);
        quarantine(s.begin, s.end - s.begin, "bytes that fit no message, kept in lost+found", std::nullopt);
    }

    // The message quarantined bytes came from, to name it in the report.
    struct Owner {
        std::uint64_t message_no;
        std::uint64_t header_begin;
    };

    void quarantine(std::uint64_t offset, std::uint64_t length, std::string reason, std::optional<Owner> owner) {
        log_.bytes.add(Disposition::lost_found, offset, length);
        if (sink_) sink_->lost_found(offset, {in_.sub(offset, length)});
        LostItem item = owner ? describe(in_, owner->header_begin, owner->message_no) : LostItem{};
        item.offset = offset;
        item.length = length;
        item.reason = std::move(reason);
        log_.lost.push_back(std::move(item));
    }

    void record_defects(const mbox::Segment& s, std::optional<std::uint64_t> no) {
        std::unordered_map<int, std::size_t> per_kind;
        for (const mbox::Defect& d : s.defects) {
            const std::size_t n = ++per_kind[static_cast<int>(d.kind)];
            if (n > max_findings_per_kind) continue;
            const bool damage_run = d.kind == DefectKind::nul_hole || d.kind == DefectKind::binary_garbage;
            log_.add(problem_for(d.kind), d.offset, d.length,
                     std::string(damage_run && no ? "message" : structure_of(d.kind)), no, d.detail);
            // Zeros are dropped as junk; a run with anything else in it goes
            // to lost+found, whatever its kind: say what repair really does.
            if (damage_run)
                log_.findings.back().action = all_zero(in_.sub(d.offset, d.length)) ? Action::dropped : Action::quarantined;
        }
        for (const auto& [kind, n] : per_kind) {
            if (n <= max_findings_per_kind) continue;
            const auto k = static_cast<DefectKind>(kind);
            log_.add(problem_for(k), s.begin, s.end - s.begin, std::string(structure_of(k)), no,
                     std::to_string(n - max_findings_per_kind) + " more in this message");
        }
    }

    void message(const mbox::Segment& s) {
        const std::uint64_t no = ++log_.messages.found;
        const std::size_t first_finding = log_.findings.size();
        record_defects(s, no);
        const bool no_headers = s.header_fields == 0;
        if (no_headers) {
            ++log_.messages.lost;
            quarantine(s.begin, s.end - s.begin, "no header block: not recognisable as a message",
                       Owner{no, s.header_begin});
            return;
        }

        OutMessage out;
        out.input_offset = s.begin;
        out.unquote_mboxrd = unquote_;
        if (s.separator_kind == mbox::SeparatorKind::from_strict)
            out.separator = std::string(in_.sub(s.separator.offset, line_at(in_, s.separator.offset).content_length()).text());
        out.pieces = salvaged_pieces(s);

        bool truncated = false;
        for (const mbox::Defect& d : s.defects)
            truncated = truncated || d.kind == DefectKind::truncated_in_headers;
        // A cut message is walked as it will be written, to close what the
        // cut left open; its MIME defects would name offsets of that copy,
        // not of the store, and the damage is reported already.
        const bool cut = !s.cuts.empty();
        const std::string salvaged = cut ? joined(out.pieces) : std::string();
        const mime::Summary mime =
            mime::walk(cut ? ByteView(salvaged) : in_.sub(s.header_begin, s.content_end - s.header_begin));
        if (!cut)
            for (const mime::Defect& d : mime.defects)
                log_.add(problem_for(d.kind), d.offset, d.length, "MIME", no, d.detail);
        // Damage that ends a message or is cut from it leaves it short as EOF
        // does. A multipart is cut short only once its body has begun: one
        // whose store ended in or right after its header block has none to close.
        const bool has_body = s.content_end > s.body_begin;
        if (mime.open_at_end && has_body && (s.end == in_.size() || s.ends_at_damage || cut)) {
            truncated = true;
            out.close_boundaries = mime.open_boundaries;
            log_.add(ProblemId::mbox_truncated_mime, s.begin, s.end - s.begin, "message", no,
                     std::to_string(mime.open_boundaries.size()) + " multipart(s) left open at " +
                         (s.end == in_.size() && !cut ? "end of store" : "damage"));
        }

        if (const auto original = duplicate_of(s, out, no)) {
            ++log_.messages.duplicates;
            log_.add(ProblemId::mbox_duplicate, s.begin, s.end - s.begin, "message", no,
                     "copy of message " + std::to_string(*original));
            log_.bytes.add(Disposition::duplicate, s.begin, s.end - s.begin);
            return;
        }

        account_message(s, no);
        if (!s.cuts.empty() || truncated) {
            ++log_.messages.partial;
        } else if (worst_since(first_finding) >= Severity::warning) {
            ++log_.messages.repaired;
        } else {
            ++log_.messages.intact;
        }
        if (hooks_.on_message) hooks_.on_message(no, s.begin, identify(out.pieces));
        if (sink_) sink_->message(out);
    }

    // The message's bytes less its cuts, with the empty line that ends the
    // header block put back where the block ended without one.
    std::vector<ByteView> salvaged_pieces(const mbox::Segment& s) const {
        std::vector<ByteView> pieces;
        const auto keep = [&](std::uint64_t from, std::uint64_t to) {
            if (to > from) pieces.push_back(in_.sub(from, to - from));
        };
        bool header_end_missing = needs_header_end(s);
        std::uint64_t p = s.header_begin;
        for (const mbox::Span& cut : s.cuts) {
            if (header_end_missing && s.body_begin <= cut.offset) {
                keep(p, s.body_begin);
                pieces.push_back(blank_line_for(s));
                p = std::max(p, s.body_begin);
                header_end_missing = false;
            }
            keep(p, cut.offset);
            p = cut.end();
        }
        if (header_end_missing) {
            keep(p, s.body_begin);
            pieces.push_back(blank_line_for(s));
            p = std::max(p, s.body_begin);
        }
        keep(p, s.content_end);
        return pieces;
    }

    bool needs_header_end(const mbox::Segment& s) const {
        if (s.header_fields == 0 || s.header_end != mime::BlockEnd::non_header) return false;
        return cut_at(s, s.body_begin) == nullptr || damage_took_header_end(s);
    }

    static const mbox::Span* cut_at(const mbox::Segment& s, std::uint64_t offset) {
        for (const mbox::Span& c : s.cuts)
            if (c.offset == offset) return &c;
        return nullptr;
    }

    // Damage that ended the header block may have taken its empty line with
    // it: unless header fields and that line follow the damage, the repair
    // ends the block where the damage began, so what follows reads as the
    // body it was rather than as a broken header.
    bool damage_took_header_end(const mbox::Segment& s) const {
        const mbox::Span* cut = cut_at(s, s.body_begin);
        if (s.header_fields == 0 || s.header_end != mime::BlockEnd::non_header || cut == nullptr) return false;
        std::uint64_t p = cut->end();
        // Continuation lines of the field the damage interrupted.
        while (p < s.content_end && (in_.at_or(p, 0) == ' ' || in_.at_or(p, 0) == '\t')) p = line_at(in_, p).end;
        return mime::read_header_block(in_.sub(0, s.content_end), p).how != mime::BlockEnd::blank_line;
    }

    // An empty line in the message's own line ending; static, so the piece
    // outlives the message like the input's pieces do.
    static ByteView blank_line_for(const mbox::Segment& s) {
        static constexpr std::string_view lf = "\n";
        static constexpr std::string_view crlf = "\r\n";
        return ByteView(s.crlf_lines > s.lf_lines ? crlf : lf);
    }

    // A copy left by an interrupted rewrite repeats the message byte for
    // byte, status headers included. Copies that differ in those headers
    // (another IMAP UID, other flags) were separate messages in the store
    // and are kept. Message-ID finds candidates; the bytes decide.
    std::optional<std::uint64_t> duplicate_of(const mbox::Segment& s, const OutMessage& out, std::uint64_t no) {
        if (s.message_id.length == 0) return std::nullopt;
        const std::string key(in_.sub(s.message_id.offset, s.message_id.length).text());
        const auto [first, last] = seen_.equal_range(key);
        if (first != last) {
            // Copies are judged as they would be written: two that differ
            // only in what repair rewrites would be twins in the new store.
            const std::string mine = written_form(out);
            for (auto it = first; it != last; ++it)
                if (written_form(it->second.message) == mine) return it->second.message_no;
        }
        seen_.emplace(key, SeenMessage{no, out});
        recent_.emplace_back(key, no);
        if (recent_.size() > duplicate_window) {
            const auto& [old_key, old_no] = recent_.front();
            const auto [b, e] = seen_.equal_range(old_key);
            for (auto it = b; it != e; ++it)
                if (it->second.message_no == old_no) {
                    seen_.erase(it);
                    break;
                }
            recent_.pop_front();
        }
        return std::nullopt;
    }

    // The message as write_mboxrd writes it, less its From_ line.
    static std::string written_form(const OutMessage& m) {
        struct StringOut final : ByteOut {
            void write(std::string_view bytes) override { text.append(bytes); }
            std::string text;
        } out;
        OutMessage bare = m;
        bare.separator = "From ";
        write_mboxrd(out, bare);
        return out.text;
    }

    // Message bytes go out; each cut is junk (zeros) or lost+found.
    void account_message(const mbox::Segment& s, std::uint64_t no) {
        std::uint64_t p = s.begin;
        for (const mbox::Span& cut : s.cuts) {
            log_.bytes.add(Disposition::message, p, cut.offset - p);
            const ByteView bytes = in_.sub(cut.offset, cut.length);
            if (all_zero(bytes)) {
                log_.bytes.add(Disposition::junk, cut.offset, cut.length);
                LostItem item = describe(in_, s.header_begin, no);
                item.offset = cut.offset;
                item.length = cut.length;
                item.reason = "NUL hole inside the message; the rest of the message was kept (partial)";
                log_.lost.push_back(std::move(item));
            } else {
                quarantine(cut.offset, cut.length, "damaged lines cut from the message (partial), kept in lost+found",
                           Owner{no, s.header_begin});
            }
            p = cut.end();
        }
        log_.bytes.add(Disposition::message, p, s.end - p);
    }

    Severity worst_since(std::size_t first) const {
        Severity w = Severity::info;
        for (std::size_t i = first; i < log_.findings.size(); ++i)
            w = std::max(w, problem(log_.findings[i].id).severity);
        return w;
    }

    void decide_variant(const mbox::Evidence& e) {
        auto& ev = log_.variant_evidence;
        ev.push_back(std::to_string(e.separators_strict) + " From_ lines with a date");
        if (e.separators_loose) ev.push_back(std::to_string(e.separators_loose) + " From_ lines without a date");
        if (e.separators_mmdf) ev.push_back(std::to_string(e.separators_mmdf) + " MMDF ^A^A^A^A markers");
        if (e.quoted_from) ev.push_back(std::to_string(e.quoted_from) + " \">From \" lines");
        if (e.double_quoted_from) ev.push_back(std::to_string(e.double_quoted_from) + " \">>From \" lines");
        if (e.unescaped_from) ev.push_back(std::to_string(e.unescaped_from) + " unescaped \"From \" body lines");
        if (e.content_length_agrees || e.content_length_disagrees)
            ev.push_back("Content-Length agrees on " + std::to_string(e.content_length_agrees) + ", disagrees on " +
                         std::to_string(e.content_length_disagrees));
        ev.push_back(std::to_string(e.crlf_lines) + " CRLF and " + std::to_string(e.lf_lines) + " LF lines");
        if (e.separators_mmdf > 0) {
            log_.variant = "mmdf";
        } else if (e.double_quoted_from > 0) {
            log_.variant = "mboxrd";
        } else if (e.content_length_agrees > 0 && e.content_length_agrees >= e.content_length_disagrees) {
            // Quoting marks mboxcl; body "From " lines left raw and stepped over
            // by Content-Length mark mboxcl2.
            log_.variant = (e.quoted_from == 0 && e.unescaped_from > 0) ? "mboxcl2" : "mboxcl";
        } else {
            log_.variant = "mboxo";
        }
        log_.add(ProblemId::mbox_variant, 0, 0, "store", std::nullopt, log_.variant);
    }

    const Source& source_;
    ByteView in_;
    StoreLog& log_;
    MessageSink* sink_;
    const CheckHooks& hooks_;
    bool unquote_ = false;
    struct SeenMessage {
        std::uint64_t message_no;
        OutMessage message;
    };
    std::unordered_multimap<std::string, SeenMessage> seen_;
    std::deque<std::pair<std::string, std::uint64_t>> recent_;
};

}  // namespace

void check_mbox(const Source& source, StoreLog& log, MessageSink* sink, const CheckHooks& hooks) {
    MboxChecker(source, log, sink, hooks).run();
}

}  // namespace mailfsck
