#include "store.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "repair/eml/eml_check.h"
#include "repair/maildir/maildir_check.h"
#include "repair/mbox/mbox_check.h"
#include "parsers/pst/page.h"
#include "repair/pst/pst_check.h"
#include "repair/store/detect.h"
#include "repair/store/message_file.h"
#include "repair/store/tree.h"

namespace mailfsck {
namespace {

// How far into a file without a PST header to look for a B-tree page:
// Outlook places its first ones within the first few megabytes.
constexpr std::uint64_t pst_search_limit = std::uint64_t{64} << 20;

// A file that starts with a header field is one message unless more than
// one separator follows (an mbox whose first separator was destroyed): a
// single From_ line inside is a message quoted in the body.
StoreFormat single_file_format(const Source& source) {
    const ByteView v = source.bytes();
    if (starts_with_separator(v) || !looks_like_message(v)) return StoreFormat::mbox;
    return holds_several_messages(source) ? StoreFormat::mbox : StoreFormat::eml;
}

// A PST is told by its header or, when that is gone, by a B-tree page,
// each with a checksum no other file matches by chance; it is looked for
// first, as a PST with no encryption may hold mbox or message text.
StoreFormat detect_file_format(const Source& source) {
    const ByteView v = source.bytes();
    if (v.starts_with("!BDN") || pst::find_btree_page(v, pst_search_limit)) return StoreFormat::pst;
    if (looks_like_mbox(source)) return single_file_format(source);
    if (looks_like_message(v)) return StoreFormat::eml;
    throw NotAStore("not a mail store: no PST (no !BDN header, no B-tree page), mbox (no From_ line followed by a header) or message");
}

OpenStore open_file(const std::string& path, std::optional<StoreFormat> forced) {
    OpenStore s;
    s.path = path;
    s.source = Source::open(path);
    if (forced == StoreFormat::maildir) throw NotAStore("not a directory, so not a Maildir");
    if (forced) {
        s.format = *forced;
        return s;
    }
    const ByteView v = s.source->bytes();
    if (v.empty()) throw NotAStore("empty file; not a mail store (use --format mbox to check it as an empty mbox)");
    s.format = detect_file_format(*s.source);
    // Detection may have read far into the file; the check starts afresh.
    s.source->release_all();
    return s;
}

OpenStore open_directory(const std::string& path, std::optional<StoreFormat> forced) {
    OpenStore s;
    s.path = path;
    if (forced == StoreFormat::pst) throw NotAStore("is a directory, not a PST file");
    // A repair's output directory: the store it wrote, as it wrote it (a
    // PST or Maildir under its own name; mbox and .eml files fill it).
    s.repair_output = repair_output(path);
    if (const std::optional<RepairOutput>& out = s.repair_output; out && !forced) {
        const std::optional<StoreFormat> format = parse_format(out->format);
        if (format == StoreFormat::pst && !out->store.empty()) return open_file(under(path, out->store), std::nullopt);
        if (format == StoreFormat::maildir && !out->store.empty()) {
            s.path = under(path, out->store);
            s.format = StoreFormat::maildir;
            return s;
        }
        if (format == StoreFormat::mbox || format == StoreFormat::eml) {
            s.format = *format;
            return s;
        }
    }
    if (forced) {
        s.format = *forced;
    } else if (looks_like_maildir(path)) {
        s.format = StoreFormat::maildir;
    } else if (const auto format = mail_directory_format(path)) {
        s.format = *format;
    } else {
        throw NotAStore("a directory with no mail in it: no Maildir folder (cur/, new/), no mbox files and no message files");
    }
    return s;
}

}  // namespace

std::string_view format_name(StoreFormat f) {
    switch (f) {
        case StoreFormat::mbox: return "mbox";
        case StoreFormat::maildir: return "maildir";
        case StoreFormat::eml: return "eml";
        case StoreFormat::pst: return "pst";
    }
    return "?";
}

std::optional<StoreFormat> parse_format(std::string_view name) {
    if (name == "mbox") return StoreFormat::mbox;
    if (name == "maildir") return StoreFormat::maildir;
    if (name == "eml") return StoreFormat::eml;
    if (name == "pst") return StoreFormat::pst;
    return std::nullopt;
}

OpenStore open_store(const std::string& path, std::optional<StoreFormat> forced) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) throw SourceError(std::string("cannot open: ") + std::strerror(errno));
    return S_ISDIR(st.st_mode) ? open_directory(path, forced) : open_file(path, forced);
}

void check_store(const OpenStore& store, StoreLog& log, MessageSink* sink, const CheckHooks& hooks) {
    log.path = store.path;
    log.format = std::string(format_name(store.format));
    if (!store.source) {
        if (store.format == StoreFormat::maildir) {
            check_maildir(store.path, log, sink, hooks);
        } else {
            check_mail_directory(store.path, store.repair_output, log, sink, hooks);
        }
        log.size = log.bytes.total;
        return;
    }
    log.size = store.source->stored_size();
    log.compression = std::string(compression_name(store.source->compression()));
    switch (store.format) {
        case StoreFormat::mbox: check_mbox(*store.source, log, sink, hooks); break;
        case StoreFormat::eml: check_eml_file(*store.source, store.path, log, sink, hooks); break;
        case StoreFormat::pst: check_pst(*store.source, log, sink, hooks); break;
        case StoreFormat::maildir: break;  // open_store never pairs a file with Maildir
    }
}

}  // namespace mailfsck
