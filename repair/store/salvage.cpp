#include "salvage.h"

#include <algorithm>

#include "parsers/mime/headers.h"
#include "parsers/mime/walker.h"

namespace mailfsck {
namespace {

using mbox::DefectKind;

ProblemId mbox_problem(DefectKind k) {
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

// The framer never reports separator or Content-Length defects for a
// message file; those map to the nearest file problem only for totality.
ProblemId file_problem(DefectKind k) {
    switch (k) {
        case DefectKind::truncated_in_headers: return ProblemId::msg_truncated_headers;
        case DefectKind::unterminated_last_line: return ProblemId::msg_unterminated;
        case DefectKind::nul_hole: return ProblemId::msg_nul_hole;
        case DefectKind::binary_garbage: return ProblemId::msg_garbage;
        case DefectKind::stray_control_bytes: return ProblemId::msg_stray_control;
        case DefectKind::header_block_damaged: return ProblemId::msg_header_damaged;
        case DefectKind::header_block_unterminated:
        case DefectKind::separator_not_after_blank:
        case DefectKind::unescaped_from:
        case DefectKind::content_length_mismatch:
        case DefectKind::content_length_invalid: return ProblemId::msg_header_unterminated;
        case DefectKind::mixed_line_endings: return ProblemId::msg_mixed_eol;
        case DefectKind::no_header_block:
        case DefectKind::leading_garbage:
        case DefectKind::separator_destroyed:
        case DefectKind::fragment: return ProblemId::msg_not_message;
    }
    return ProblemId::msg_not_message;
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

ProblemId mime_problem(mime::DefectKind k) {
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

const mbox::Span* cut_at(const mbox::Segment& s, std::uint64_t offset) {
    for (const mbox::Span& c : s.cuts)
        if (c.offset == offset) return &c;
    return nullptr;
}

// An empty line in the message's own line ending; static, so the piece
// outlives the message like the input's pieces do.
ByteView blank_line_for(const mbox::Segment& s) {
    static constexpr std::string_view lf = "\n";
    static constexpr std::string_view crlf = "\r\n";
    return ByteView(s.crlf_lines > s.lf_lines ? crlf : lf);
}

}  // namespace

SegmentSalvager::SegmentSalvager(ByteView in, Container container, StoreLog& log, ByteLedger& ledger,
                                 MessageSink* sink, std::string file)
    : in_(in), container_(container), log_(log), ledger_(ledger), sink_(sink), file_(std::move(file)) {}

ProblemId SegmentSalvager::problem_for(DefectKind k) const {
    return container_ == Container::mbox ? mbox_problem(k) : file_problem(k);
}

Finding& SegmentSalvager::add(ProblemId id, std::uint64_t offset, std::uint64_t length, std::string structure,
                              std::optional<std::uint64_t> no, std::string detail) {
    message_worst_ = std::max(message_worst_, problem(id).severity);
    Finding& f = log_.add(id, offset, length, std::move(structure), no, std::move(detail));
    f.file = file_;
    return f;
}

LostItem SegmentSalvager::describe(std::uint64_t header_begin, std::uint64_t message_no) const {
    LostItem item;
    item.file = file_;
    item.message = message_no;
    const ByteView window = in_.sub(0, header_begin + (1u << 20));
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

void SegmentSalvager::junk(const mbox::Segment& s) {
    record_defects(s, std::nullopt);
    ledger_.add(Disposition::junk, s.begin, s.end - s.begin);
    LostItem item;
    item.file = file_;
    item.offset = s.begin;
    item.length = s.end - s.begin;
    item.reason = container_ == Container::mbox ? "NUL hole between messages; any message bytes it replaced are gone"
                                                : "NUL hole at the start of the file; the bytes it replaced are gone";
    log_.add_lost(std::move(item));
}

void SegmentSalvager::fragment(const mbox::Segment& s) {
    record_defects(s, std::nullopt);
    quarantine(s.begin, s.end - s.begin, "bytes that fit no message, kept in lost+found", std::nullopt);
}

void SegmentSalvager::quarantine(std::uint64_t offset, std::uint64_t length, std::string reason,
                                 std::optional<std::uint64_t> message_no, std::uint64_t header_begin) {
    ledger_.add(Disposition::lost_found, offset, length);
    if (sink_) sink_->lost_found(file_, offset, {in_.sub(offset, length)});
    LostItem item = message_no ? describe(header_begin, *message_no) : LostItem{};
    item.file = file_;
    item.offset = offset;
    item.length = length;
    item.reason = std::move(reason);
    log_.add_lost(std::move(item));
}

void SegmentSalvager::record_defects(const mbox::Segment& s, std::optional<std::uint64_t> no) {
    for (const mbox::Defect& d : s.defects) {
        const bool damage_run = d.kind == DefectKind::nul_hole || d.kind == DefectKind::binary_garbage;
        Finding& f = add(problem_for(d.kind), d.offset, d.length,
                         std::string(damage_run && no ? "message" : structure_of(d.kind)), no, d.detail);
        // Zeros are dropped as junk; a run with anything else in it goes
        // to lost+found, whatever its kind: say what repair really does.
        if (damage_run) f.action = all_zero(in_.sub(d.offset, d.length)) ? Action::dropped : Action::quarantined;
    }
    for (int kind = 0; kind <= static_cast<int>(DefectKind::fragment); ++kind) {
        const auto k = static_cast<DefectKind>(kind);
        if (const std::uint64_t more = s.defects.omitted(k); more > 0)
            add(problem_for(k), s.begin, s.end - s.begin, std::string(structure_of(k)), no,
                std::to_string(more) + " more in this message");
    }
}

std::optional<Salvaged> SegmentSalvager::prepare(const mbox::Segment& s, std::uint64_t no, bool cut_short) {
    Salvaged m;
    m.first_finding = log_.findings.size();
    message_worst_ = Severity::info;
    record_defects(s, no);
    if (s.header_fields == 0) {
        ++log_.messages.lost;
        quarantine(s.begin, s.end - s.begin, "no header block: not recognisable as a message", no, s.header_begin);
        return std::nullopt;
    }
    if (container_ == Container::message_file && s.separator.length > 0)
        add(ProblemId::msg_envelope_line, s.separator.offset, s.separator.length, "separator", no);

    OutMessage& out = m.out;
    out.input_offset = s.begin;
    if (s.separator_kind == mbox::SeparatorKind::from_strict)
        out.separator = std::string(in_.sub(s.separator.offset, line_at(in_, s.separator.offset).content_length()).text());
    out.pieces = salvaged_pieces(s);
    // A message cut short in its header block still reads as a message once
    // the block is ended: finish its last line and add the empty line. (The
    // line an mbox writer puts after every message would end it too, but a
    // copy of the message whose block ended at damage has the line put back
    // and would differ from it by that line alone, to be a twin once
    // written.)
    if (s.header_end == mime::BlockEnd::end_of_input && s.header_fields > 0) {
        if (in_.at_or(s.content_end - 1, '\n') != '\n') out.pieces.push_back(blank_line_for(s));
        out.pieces.push_back(blank_line_for(s));
    }

    for (const mbox::Defect& d : s.defects) m.partial = m.partial || d.kind == DefectKind::truncated_in_headers;
    // A cut message is walked as it will be written, to close what the cut
    // left open; its MIME defects would name offsets of that copy, not of
    // the store, and the damage is reported already.
    const bool cut = !s.cuts.empty();
    const std::string salvaged = cut ? joined(out.pieces) : std::string();
    const mime::Summary mime =
        mime::walk(cut ? ByteView(salvaged) : in_.sub(s.header_begin, s.content_end - s.header_begin));
    if (!cut)
        for (const mime::Defect& d : mime.defects) add(mime_problem(d.kind), d.offset, d.length, "MIME", no, d.detail);
    // Damage that ends a message or is cut from it leaves it short as the
    // container's evidence does.
    if (mime.open_at_end && (cut_short || s.ends_at_damage || cut)) {
        m.partial = true;
        out.close_boundaries = mime.open_boundaries;
        const bool at_end = cut_short && !cut && !s.ends_at_damage;
        add(container_ == Container::mbox ? ProblemId::mbox_truncated_mime : ProblemId::msg_truncated_mime, s.begin,
            s.end - s.begin, "message", no,
            std::to_string(mime.open_boundaries.size()) + " multipart(s) left open at " +
                (at_end ? (container_ == Container::mbox ? "end of store" : "end of file") : "damage"));
    } else if (mime.open_at_end) {
        // Left open by its sender, with more of the store after it. Written
        // as it stands, it would read as cut short wherever it ends a file
        // (every message file; the last message of an mbox whose later
        // messages were dropped), so repair closes it: the multiparts open
        // at the end are reported there, at the message's end.
        out.close_boundaries = mime.open_boundaries;
        for (std::size_t i = m.first_finding; i < log_.findings.size(); ++i) {
            Finding& f = log_.findings[i];
            if (f.id == ProblemId::mime_missing_close && f.offset + f.length == s.content_end) f.action = Action::fixed;
        }
    }
    m.partial = m.partial || cut;
    return m;
}

void SegmentSalvager::keep(const mbox::Segment& s, std::uint64_t no, Salvaged& m) {
    // Message bytes go out; each cut is junk (zeros) or lost+found.
    std::uint64_t p = s.begin;
    for (const mbox::Span& cut : s.cuts) {
        ledger_.add(Disposition::message, p, cut.offset - p);
        const ByteView bytes = in_.sub(cut.offset, cut.length);
        if (all_zero(bytes)) {
            ledger_.add(Disposition::junk, cut.offset, cut.length);
            LostItem item = describe(s.header_begin, no);
            item.offset = cut.offset;
            item.length = cut.length;
            item.reason = "NUL hole inside the message; the rest of the message was kept (partial)";
            log_.add_lost(std::move(item));
        } else {
            quarantine(cut.offset, cut.length, "damaged lines cut from the message (partial), kept in lost+found", no,
                       s.header_begin);
        }
        p = cut.end();
    }
    ledger_.add(Disposition::message, p, s.end - p);
    if (m.partial) {
        ++log_.messages.partial;
        m.out.state = OutMessage::State::partial;
    } else if (message_worst_ >= Severity::warning || !m.out.close_boundaries.empty()) {
        ++log_.messages.repaired;
        m.out.state = OutMessage::State::repaired;
    } else {
        ++log_.messages.intact;
    }
    m.out.number = no;
    m.out.source = file_;
    if (sink_) sink_->message(m.out);
}

// The message's bytes less its cuts, with the empty line that ends the
// header block put back where the block ended without one.
std::vector<ByteView> SegmentSalvager::salvaged_pieces(const mbox::Segment& s) const {
    std::vector<ByteView> pieces;
    const auto keep_range = [&](std::uint64_t from, std::uint64_t to) {
        if (to > from) pieces.push_back(in_.sub(from, to - from));
    };
    bool header_end_missing = needs_header_end(s);
    std::uint64_t p = s.header_begin;
    for (const mbox::Span& cut : s.cuts) {
        if (header_end_missing && s.body_begin <= cut.offset) {
            keep_range(p, s.body_begin);
            pieces.push_back(blank_line_for(s));
            p = std::max(p, s.body_begin);
            header_end_missing = false;
        }
        keep_range(p, cut.offset);
        p = cut.end();
    }
    if (header_end_missing) {
        keep_range(p, s.body_begin);
        pieces.push_back(blank_line_for(s));
        p = std::max(p, s.body_begin);
    }
    keep_range(p, s.content_end);
    return pieces;
}

bool SegmentSalvager::needs_header_end(const mbox::Segment& s) const {
    if (s.header_fields == 0 || s.header_end != mime::BlockEnd::non_header) return false;
    return cut_at(s, s.body_begin) == nullptr || damage_took_header_end(s);
}

// Damage that ended the header block may have taken its empty line with it:
// unless header fields and that line follow the damage, the repair ends the
// block where the damage began, so what follows reads as the body it was
// rather than as a broken header.
bool SegmentSalvager::damage_took_header_end(const mbox::Segment& s) const {
    const mbox::Span* cut = cut_at(s, s.body_begin);
    if (s.header_fields == 0 || s.header_end != mime::BlockEnd::non_header || cut == nullptr) return false;
    std::uint64_t p = cut->end();
    // Continuation lines of the field the damage interrupted.
    while (p < s.content_end && (in_.at_or(p, 0) == ' ' || in_.at_or(p, 0) == '\t')) p = line_at(in_, p).end;
    return mime::read_header_block(in_.sub(0, s.content_end), p).how != mime::BlockEnd::blank_line;
}

}  // namespace mailfsck
