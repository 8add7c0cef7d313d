#include "mbox_check.h"

#include <algorithm>
#include <deque>
#include <unordered_map>

#include "parsers/mbox/framer.h"
#include "parsers/mbox/from_line.h"
#include "parsers/mime/headers.h"
#include "parsers/mime/walker.h"
#include "repair/store/piece_lines.h"
#include "repair/mbox/status_flags.h"
#include "repair/store/salvage.h"

namespace mailfsck {
namespace {

// Copies left by an interrupted rewrite sit close together; remembering
// only the last few thousand messages keeps memory flat on huge stores.
constexpr std::size_t duplicate_window = 4096;

std::string message_id_in(const std::string& block) {
    const ByteView v(block);
    const mime::HeaderBlock hb = mime::read_header_block(v, 0);
    const mime::Field* id = hb.find(v, "Message-ID");
    return id ? std::string(id->raw_value(v).text()) : std::string();
}

// The Message-ID a check of the rebuilt store reads: the raw value in the
// message's header block as written (damaged and stray lines cut, the last
// line ended), by the same reader. The stored block can read otherwise,
// and copies that are twins once written must meet here.
std::string written_message_id(const OutMessage& m) {
    const mime::HeaderLimits limits;
    std::string block;
    for_each_piece_line(m.pieces, [&](std::string_view line) {
        block.append(line);
        return line != "\n" && line != "\r\n" && block.size() <= limits.max_block_bytes;
    });
    if (!block.empty() && block.back() != '\n') block += '\n';
    return message_id_in(block);
}

class MboxChecker {
public:
    MboxChecker(const Source& source, StoreLog& log, MessageSink* sink, const CheckHooks& hooks,
                const MboxInDirectory* within)
        : source_(source),
          in_(source.bytes()),
          log_(log),
          sink_(sink),
          hooks_(hooks),
          file_(within ? within->file : std::string()),
          folder_(within ? within->folder : std::string()),
          in_directory_(within != nullptr) {}

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
            // A directory store's progress is not one file's.
            if (hooks_.progress && !in_directory_ && (++segments & 255) == 0) hooks_.progress(seg->end, in_.size());
            source_.release_below(seg->begin);
            switch (seg->kind) {
                case mbox::SegmentKind::junk: salvager_.junk(*seg); break;
                case mbox::SegmentKind::fragment: salvager_.fragment(*seg); break;
                case mbox::SegmentKind::message: message(*seg); break;
            }
        }
        ledger_.close(in_.size());
        log_.bytes.absorb(ledger_);
        if (in_directory_ && in_.empty()) {
            // A folder may be empty; said, as such a file may also be one
            // that lost everything. It has no variant to tell.
            add(ProblemId::store_empty, 0, 0, "file", std::nullopt,
                "an empty mbox file: a folder with no messages, or one that lost them all");
            return;
        }
        decide_variant(framer.evidence());
        if (log_.messages.found == 0 && !in_directory_) log_.add(ProblemId::store_empty, 0, in_.size(), "store");
    }

private:
    void message(const mbox::Segment& s) {
        const std::uint64_t no = ++log_.messages.found;
        std::optional<Salvaged> m = salvager_.prepare(s, no, s.end == in_.size());
        if (!m) return;
        m->out.unquote_mboxrd = unquote_;
        m->out.folder = folder_;
        // The envelope's date is when the message arrived: a Maildir keeps
        // it as the file's time.
        if (!m->out.separator.empty()) m->out.mtime = mbox::envelope_time(m->out.separator);
        m->out.flags = status_flags(in_.sub(0, s.content_end), s.header_begin);
        if (const auto original = duplicate_of(m->out, no)) {
            ++log_.messages.duplicates;
            add(ProblemId::mbox_duplicate, s.begin, s.end - s.begin, "message", no,
                "copy of message " + std::to_string(*original));
            ledger_.add(Disposition::duplicate, s.begin, s.end - s.begin);
            return;
        }
        if (hooks_.on_message) {
            std::string added;
            hooks_.on_message(no, s.begin, written_pieces(m->out, added));
        }
        salvager_.keep(s, no, *m);
    }

    Finding& add(ProblemId id, std::uint64_t offset, std::uint64_t length, std::string structure,
                 std::optional<std::uint64_t> message = std::nullopt, std::string detail = {}) {
        Finding& f = log_.add(id, offset, length, std::move(structure), message, std::move(detail));
        f.file = file_;
        return f;
    }

    // A copy left by an interrupted rewrite repeats the message byte for
    // byte, status headers included. Copies that differ in those headers
    // (another IMAP UID, other flags) were separate messages in the store
    // and are kept. Message-ID finds candidates; the bytes decide.
    std::optional<std::uint64_t> duplicate_of(const OutMessage& out, std::uint64_t no) {
        const std::string key = written_message_id(out);
        if (key.empty()) return std::nullopt;
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
        StringOut out;
        OutMessage bare = m;
        bare.separator = "From ";
        write_mboxrd(out, bare);
        return out.text;
    }

    void decide_variant(const mbox::Evidence& e) {
        std::vector<std::string> ev;
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
        std::string variant;
        if (e.separators_mmdf > 0) {
            variant = "mmdf";
        } else if (e.double_quoted_from > 0) {
            variant = "mboxrd";
        } else if (e.content_length_agrees > 0 && e.content_length_agrees >= e.content_length_disagrees) {
            // Quoting marks mboxcl; body "From " lines left raw and stepped over
            // by Content-Length mark mboxcl2.
            variant = (e.quoted_from == 0 && e.unescaped_from > 0) ? "mboxcl2" : "mboxcl";
        } else {
            variant = "mboxo";
        }
        if (!in_directory_) {
            log_.variant = variant;
            log_.variant_evidence = std::move(ev);
            add(ProblemId::mbox_variant, 0, 0, "store", std::nullopt, variant);
            return;
        }
        // A directory store's files may differ: each file's finding says its
        // own variant and evidence; the store's is theirs when they agree.
        std::string detail = variant;
        for (const std::string& item : ev) detail += "; " + item;
        add(ProblemId::mbox_variant, 0, 0, "file", std::nullopt, std::move(detail));
        if (log_.variant.empty()) {
            log_.variant = variant;
        } else if (log_.variant != variant) {
            log_.variant = "mixed";
        }
    }

    const Source& source_;
    ByteView in_;
    StoreLog& log_;
    MessageSink* sink_;
    const CheckHooks& hooks_;
    const std::string file_;
    const std::string folder_;
    const bool in_directory_;
    ByteLedger ledger_;
    SegmentSalvager salvager_{in_, Container::mbox, log_, ledger_, sink_, file_};
    bool unquote_ = false;
    struct SeenMessage {
        std::uint64_t message_no;
        OutMessage message;
    };
    std::unordered_multimap<std::string, SeenMessage> seen_;
    std::deque<std::pair<std::string, std::uint64_t>> recent_;
};

}  // namespace

void check_mbox(const Source& source, StoreLog& log, MessageSink* sink, const CheckHooks& hooks,
                const MboxInDirectory* within) {
    MboxChecker(source, log, sink, hooks, within).run();
}

}  // namespace mailfsck
