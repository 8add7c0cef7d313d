#include "message_file.h"

#include "parsers/mbox/framer.h"
#include "parsers/mime/headers.h"
#include "repair/store/salvage.h"

namespace mailfsck {

FileOutcome check_message_file(const MessageFile& f, std::uint64_t no, StoreLog& log, MessageSink* sink,
                               const CheckHooks& hooks) {
    if (f.bytes.empty()) {
        log.add(ProblemId::msg_empty, 0, 0, "message", no).file = f.name;
        ++log.messages.lost;
        LostItem item;
        item.file = f.name;
        item.message = no;
        item.reason = "empty file: whatever message it held is gone";
        log.add_lost(std::move(item));
        return FileOutcome::lost;
    }
    ByteLedger ledger;
    SegmentSalvager salvager(f.bytes, Container::message_file, log, ledger, sink, f.name);
    mbox::FramerOptions options;
    options.single_message = true;
    mbox::Framer framer(f.bytes, options);
    // A file may frame as leading damage and then the message.
    const bool unterminated = f.bytes.at_or(f.bytes.size() - 1, 0) != '\n';
    FileOutcome outcome = FileOutcome::lost;
    bool framed = false;
    while (auto seg = framer.next()) {
        switch (seg->kind) {
            case mbox::SegmentKind::junk: salvager.junk(*seg); break;
            case mbox::SegmentKind::fragment: salvager.fragment(*seg); break;
            case mbox::SegmentKind::message: {
                framed = true;
                std::optional<Salvaged> m = salvager.prepare(*seg, no, f.cut_short || unterminated);
                if (!m) break;
                m->partial = m->partial || f.cut_short;
                OutMessage& out = m->out;
                out.folder = f.meta.folder;
                out.flags = f.meta.flags;
                out.is_new = f.meta.is_new;
                out.mtime = f.meta.mtime;
                out.unique = f.meta.unique;
                if (hooks.on_message) {
                    std::string added;
                    hooks.on_message(no, seg->begin, written_pieces(out, added));
                }
                salvager.keep(*seg, no, *m);
                outcome = FileOutcome::kept;
                break;
            }
        }
    }
    // A file of nothing but damage holds no message at all.
    if (!framed) {
        ++log.messages.lost;
        LostItem* last = log.last_lost();
        if (!last || last->file != f.name) {
            LostItem item;
            item.file = f.name;
            last = &log.add_lost(std::move(item));
        }
        last->message = no;
        last->reason += "; no message left in the file";
    }
    ledger.close(f.bytes.size());
    log.bytes.absorb(ledger);
    return outcome;
}

bool looks_like_message(const ByteView& bytes) {
    // A first line may be the damaged one (or a From_ line); a field must
    // follow it then.
    const Line first = line_at(bytes, 0);
    return mime::is_field_line(bytes, first) || mime::is_field_line(bytes, line_at(bytes, first.end));
}

}  // namespace mailfsck
