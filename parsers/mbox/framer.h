// Splits an mbox byte stream into messages, damage and leftovers.
//
// The framer tiles the whole input with segments, in order and without gaps:
// messages (each from its separator line, or from where its lost separator
// was, to the next message), junk (NUL holes between messages) and fragments
// (bytes that belong to no recognisable message). Damage inside a message is
// recorded as line-aligned cuts that a repair removes. Every decision that
// could have gone another way (an unescaped "From " line, a Content-Length
// that does or does not agree) is recorded as a defect with its evidence, so
// the report can say why the store was split the way it was.
//
// Work is one pass over the bytes plus bounded look-ahead at candidate
// separators; memory is independent of the input size (segments are handed
// out one at a time).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "parsers/bytes/bytes.h"
#include "parsers/bytes/kept_defects.h"
#include "parsers/mbox/from_line.h"
#include "parsers/mime/headers.h"

namespace mailfsck::mbox {

enum class DefectKind {
    leading_garbage,            // bytes before the first message
    separator_destroyed,        // a message's headers follow a line that is not a separator
    separator_not_after_blank,  // a separator with no empty line before it
    unescaped_from,             // a body line starting "From " that is not a separator
    content_length_mismatch,    // Content-Length does not land on the next separator or EOF
    content_length_invalid,     // Content-Length is not a number
    truncated_in_headers,       // the input ends inside a header block
    unterminated_last_line,     // the input does not end with a line terminator
    nul_hole,                   // a run of NUL bytes (sparse hole left by a crash or sync)
    binary_garbage,             // a run of control bytes no mail text contains
    stray_control_bytes,        // a few control bytes in otherwise plausible text
    header_block_damaged,       // a line that is not a field between header fields
    header_block_unterminated,  // the body begins without the empty line that ends the header block
    no_header_block,            // a separator followed by no header field at all
    mixed_line_endings,         // CRLF and LF lines in one message
    // Last: Defects counts by kind up to here.
    fragment,                   // bytes after a hole or garbage that fit no message
};

struct Defect {
    DefectKind kind;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    std::string detail;
};

// A segment's defects: one message may hold millions (a body of "From "
// lines, garbage on every other line).
using Defects = KeptDefects<Defect, DefectKind, static_cast<std::size_t>(DefectKind::fragment) + 1>;

struct Span {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    [[nodiscard]] std::uint64_t end() const { return offset + length; }
};

// `none`: a message file (Maildir, .eml), which has no separator to lose.
enum class SeparatorKind { from_strict, from_loose, mmdf, lost, none };

enum class SegmentKind { message, junk, fragment };

enum class ContentLength { absent, agrees, disagrees, invalid };

struct Segment {
    SegmentKind kind = SegmentKind::message;
    std::uint64_t begin = 0;  // absolute offsets in the input
    std::uint64_t end = 0;

    // Messages only. For SeparatorKind::lost, separator is the damaged line
    // (possibly empty) that stood where the separator should have been.
    SeparatorKind separator_kind = SeparatorKind::lost;
    Span separator;
    std::uint64_t header_begin = 0;
    std::uint64_t body_begin = 0;
    // End of the message's own bytes: before the empty line (or MMDF marker)
    // that only separates it from the next message.
    std::uint64_t content_end = 0;
    mime::BlockEnd header_end = mime::BlockEnd::blank_line;
    std::uint32_t header_fields = 0;
    ContentLength content_length = ContentLength::absent;
    std::uint32_t crlf_lines = 0;
    std::uint32_t lf_lines = 0;
    // Damaged, line-aligned byte ranges inside the message, ascending. A
    // repair drops them from the message and quarantines or lists them.
    std::vector<Span> cuts;
    // The message ends where a hole or garbage begins rather than at a
    // separator or EOF: its tail may be lost to the damage.
    bool ends_at_damage = false;
    Defects defects;
};

// Damaged ranges one message may list; later damage joins the last one, so
// the good lines between go to lost+found with it.
inline constexpr std::size_t max_cuts_per_message = 4096;

// Store-wide evidence for the variant decision.
struct Evidence {
    std::uint64_t separators_strict = 0;
    std::uint64_t separators_loose = 0;
    std::uint64_t separators_mmdf = 0;
    std::uint64_t quoted_from = 0;         // ">From " body lines
    std::uint64_t double_quoted_from = 0;  // ">>From " and deeper
    std::uint64_t unescaped_from = 0;      // "From " body lines that were not separators
    std::uint64_t content_length_agrees = 0;
    std::uint64_t content_length_disagrees = 0;
    std::uint64_t crlf_lines = 0;
    std::uint64_t lf_lines = 0;
};

struct FramerOptions {
    // A NUL run at least this long is a hole, not a stray byte.
    std::uint64_t hole_min = 8;
    // A run of control bytes is garbage when it holds this many distinct values.
    std::uint32_t garbage_distinct_min = 4;
    // The input is one message file (Maildir, .eml): no separator is looked
    // for, so body lines starting "From " are plain content, and damage is
    // cut from the message rather than ending it. A leading From_ line, as
    // some tools save, is taken as the message's envelope.
    bool single_message = false;
};

class Framer {
public:
    explicit Framer(ByteView input, FramerOptions options = {});

    // The next segment in input order, or nullopt at the end.
    std::optional<Segment> next();

    [[nodiscard]] const Evidence& evidence() const { return evidence_; }

private:
    struct LineDamage;
    struct ScannedLine;
    // The line at `pos` and its control bytes, found in one pass.
    [[nodiscard]] ScannedLine scan_line(std::uint64_t pos) const;
    [[nodiscard]] bool is_damage(const LineDamage& d) const;
    [[nodiscard]] bool is_damaged(std::uint64_t line_begin) const;
    // End of the run of damaged lines starting at `pos`.
    [[nodiscard]] std::uint64_t damaged_run_end(std::uint64_t pos, std::uint64_t limit) const;

    // Start tests, each at a line start.
    [[nodiscard]] bool accept_separator(std::uint64_t pos, bool after_blank) const;
    // What the start tests need of the header block a candidate message
    // starting at some position would have.
    struct Candidate {
        std::uint64_t fields = 0;
        bool trace = false;   // a field only the transport or the store writes
        bool origin = false;  // From or Date
        mime::BlockEnd how = mime::BlockEnd::blank_line;
        std::uint64_t end = 0;
    };
    // One stretch of fields of a candidate block, read in a look-ahead window
    // ending at `window`, up to the line that ends it; when that line starts
    // a damaged run, where reading goes on once repair has cut the run.
    struct Stretch {
        Candidate part;
        bool damaged_end = false;
        std::uint64_t resume = 0;         // after the run
        std::uint64_t resume_folded = 0;  // after the run and the continuation lines that fold into the field before it
        std::uint64_t window = 0;
        std::uint64_t reach = 0;          // past the last byte the read depended on
        bool window_bound = false;        // a longer or shorter window would read it differently
    };
    [[nodiscard]] Candidate candidate_headers(std::uint64_t pos) const;
    // `fresh`, when given, receives the block read if the stretch was not kept.
    [[nodiscard]] Stretch stretch_at(std::uint64_t pos, std::uint64_t window, std::optional<mime::HeaderBlock>* fresh) const;
    [[nodiscard]] Stretch read_stretch(const mime::HeaderBlock& hb, std::uint64_t window) const;
    // A stretch that runs out of each window it is read in, read once in the
    // widest window any candidate before it has: what a narrower window would
    // read, or nullopt where that needs a read of its own.
    struct WideStretch {
        std::uint64_t pos = 0;
        std::uint64_t window = 0;
        std::uint64_t fields_end = 0;
        std::vector<std::uint64_t> field_begins;
        std::vector<std::uint32_t> traces_before;   // per field, and one past the last
        std::vector<std::uint32_t> origins_before;
    };
    void read_wide_stretch(std::uint64_t pos) const;
    [[nodiscard]] std::optional<Stretch> narrowed_stretch(std::uint64_t pos, std::uint64_t window) const;
    // Stretches each ended by a damaged run after which no message starts,
    // one after the other as a candidate block reads them, with running
    // totals of what they hold. Links are added at either end (answers are
    // settled from the far end back), so totals count from an arbitrary
    // origin and only their differences (modulo 2^64) mean anything.
    struct ChainLink {
        std::uint64_t pos = 0;
        std::uint64_t reach = 0;
        std::uint64_t next = 0;  // where the next stretch starts
        Candidate part;
        std::uint64_t fields_before = 0;
        std::uint64_t traces_before = 0;
        std::uint64_t origins_before = 0;
    };
    using Chain = std::deque<ChainLink>;
    // Adds the links from `at` on that lie inside the window to `c`; where
    // the stretch after them starts, or nullopt when no chain has a link at `at`.
    [[nodiscard]] std::optional<std::uint64_t> follow_chain(std::uint64_t at, std::uint64_t window, Candidate& c) const;
    void extend_chain(std::uint64_t at, const Stretch& s) const;
    [[nodiscard]] bool header_block_at(std::uint64_t pos, bool strong) const;
    // In an MMDF store, is the line at `pos` a message marker?
    [[nodiscard]] bool mmdf_marker_at(std::uint64_t pos) const;
    // A block of fields ended at `end` by a partial line that ends the
    // store: frame_message cuts that line as truncation.
    [[nodiscard]] bool cut_short_by_store_end(mime::BlockEnd how, bool has_fields, std::uint64_t end) const;
    // Will the block end with an empty line once repair has written it?
    [[nodiscard]] bool ends_as_written(const Candidate& c) const;
    // A separator line damaged past recognition, before a header block.
    // Without an empty line before it only an envelope left in the line
    // counts as evidence.
    [[nodiscard]] bool destroyed_separator_at(const Line& line, bool after_blank) const;
    [[nodiscard]] bool message_starts_at(std::uint64_t pos) const;
    // Does the body walk end a message at `pos`, a line start with no empty
    // line before it? At a damaged line (the first of a run) it does when it
    // takes the line for the next separator or a message starts after the
    // run; at the end of a damaged run, when a message starts there. A
    // candidate header block ends there too, as repair writes it: with an
    // empty line. The answer depends on the position alone and is kept; a
    // block after the damage asks the same of the damage after it, so
    // answers are settled from the farthest back, on an explicit stack
    // rather than by recursion.
    [[nodiscard]] bool boundary_at(std::uint64_t pos) const;
    // Is the line before the one at `pos` damaged?
    [[nodiscard]] bool follows_damage(std::uint64_t pos) const;
    [[nodiscard]] bool ends_message_at(std::uint64_t pos) const;
    void settle(std::uint64_t pos) const;
    [[nodiscard]] bool headerless_separator_at(std::uint64_t pos) const;

    void produce();
    void produce_damaged_run();
    void produce_fragment();
    void frame_message(SeparatorKind kind, Span separator, std::uint64_t header_begin);
    [[nodiscard]] std::optional<std::uint64_t> first_damaged_line(std::uint64_t begin, std::uint64_t end) const;
    // The header block at `pos` read up to `limit` and ended early by a
    // damaged line, as the body walk will cut it: candidate blocks and
    // messages' own are read alike.
    [[nodiscard]] mime::HeaderBlock read_block(std::uint64_t pos, std::uint64_t limit) const;
    // The message's header block.
    [[nodiscard]] mime::HeaderBlock read_headers(std::uint64_t header_begin) const;
    [[nodiscard]] std::optional<std::uint64_t> content_length_end(Segment& m, const mime::HeaderBlock& hb) const;
    // Walks body lines from m.body_begin, setting m.end; with `fixed_end`
    // (Content-Length agreed) no separator is looked for before it.
    void walk_body(Segment& m, bool after_blank, std::optional<std::uint64_t> fixed_end);
    void record_line_endings(Segment& m, const Line& line);

    ByteView in_;
    FramerOptions opt_;
    Evidence evidence_;
    std::uint64_t pos_ = 0;
    bool mmdf_ = false;
    std::deque<Segment> pending_;
    // A line start already accepted as a separator by the look-ahead that
    // ended the previous message, so produce() need not judge it again.
    std::optional<std::uint64_t> accepted_;
    // The last candidate header block read: the look-ahead that accepts a
    // separator reads the block its message then starts with.
    struct CandidateHeaders {
        std::uint64_t pos;
        Candidate candidate;
        std::optional<mime::HeaderBlock> plain;  // when no damaged line was passed over and it ended inside the window
    };
    mutable std::optional<CandidateHeaders> last_candidate_;
    // Stretches already read, by position: every line after a damaged run
    // of a body asks for the candidate block there, and without them runs
    // of fields and damage would be read again by each, in a time quadratic
    // in the runs within the window. A cache, emptied when it grows large.
    mutable std::unordered_map<std::uint64_t, Stretch> stretches_;
    // Chains of stretches read, most recently extended last: with them a
    // window of fields and damaged runs is added up in logarithmic time by
    // each candidate that starts in it, and candidates cost linear time in
    // all. A few, since look-aheads from one position may read other chains.
    mutable std::vector<Chain> chains_;
    mutable std::optional<WideStretch> wide_;
    mutable int look_ahead_depth_ = 0;
    // boundary_at's answers by position.
    mutable std::unordered_map<std::uint64_t, bool> boundaries_;
    // While settling, a question with no answer kept yet is not recursed
    // into: the first such position is noted, settled, and the evaluation
    // that asked is run again. `unanswered_` counts them, so a read that
    // depended on a placeholder answer is not kept.
    mutable bool settling_ = false;
    mutable std::optional<std::uint64_t> first_unanswered_;
    mutable std::uint64_t unanswered_ = 0;
};

[[nodiscard]] std::string_view defect_name(DefectKind k);

}  // namespace mailfsck::mbox
