#include "store.h"

#include "repair/mbox/mbox_check.h"

namespace mailfsck {
namespace {

// Where does a real mbox separator (a "From " line followed by a header
// field) first occur? Damage may have destroyed the start of the file, so
// the whole file is searched (memmem; one pass at memory speed).
bool looks_like_mbox(const ByteView& v) {
    std::uint64_t pos = 0;
    if (v.starts_with("\x01\x01\x01\x01\n") || v.starts_with("\x01\x01\x01\x01\r\n")) return true;
    while (true) {
        if (v.starts_with("From ", pos)) {
            const Line next = line_at(v, line_at(v, pos).end);
            const std::string_view content = v.sub(next.begin, next.content_length()).text();
            const std::size_t colon = content.find(':');
            if (colon != std::string_view::npos && colon > 0 && content.find(' ') > colon) return true;
        }
        const auto hit = v.find("\nFrom ", pos);
        if (!hit) return false;
        pos = *hit + 1;
    }
}

}  // namespace

std::string_view format_name(StoreFormat f) {
    switch (f) {
        case StoreFormat::mbox: return "mbox";
    }
    return "?";
}

std::optional<StoreFormat> parse_format(std::string_view name) {
    if (name == "mbox") return StoreFormat::mbox;
    return std::nullopt;
}

OpenStore open_store(const std::string& path, std::optional<StoreFormat> forced) {
    OpenStore s;
    s.path = path;
    s.source = Source::open(path);
    if (forced) {
        s.format = *forced;
        return s;
    }
    const ByteView v = s.source->bytes();
    if (v.empty()) throw NotAStore("empty file; not a mail store (use --format mbox to check it as an empty mbox)");
    if (v.starts_with("!BDN")) throw NotAStore("Outlook PST/OST files are not supported yet");
    if (looks_like_mbox(v)) {
        s.format = StoreFormat::mbox;
        return s;
    }
    throw NotAStore("not a mail store: no mbox separator line followed by a header was found");
}

void check_store(const OpenStore& store, StoreLog& log, MessageSink* sink, const CheckHooks& hooks) {
    log.path = store.path;
    log.format = std::string(format_name(store.format));
    log.size = store.source->stored_size();
    log.compression = std::string(compression_name(store.source->compression()));
    switch (store.format) {
        case StoreFormat::mbox: check_mbox(*store.source, log, sink, hooks); break;
    }
}

}  // namespace mailfsck
