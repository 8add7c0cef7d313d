#include "identity.h"

#include <array>
#include <string_view>

#include "parsers/bytes/sha256.h"
#include "parsers/mime/headers.h"

namespace mailfsck {
namespace {

bool store_managed_field(std::string_view name) {
    static constexpr std::array<std::string_view, 12> names = {
        "Status",          "X-Status",          "X-UID",           "X-Keywords",
        "X-IMAP",          "X-IMAPbase",        "Content-Length",  "X-Mozilla-Status",
        "X-Mozilla-Status2", "X-Mozilla-Keys",  "X-Evolution",     "Lines"};
    for (const auto n : names)
        if (mime::iequals(name, n)) return true;
    return false;
}

std::string_view field_name(std::string_view line) {
    const std::size_t colon = line.find(':');
    return colon == std::string_view::npos ? std::string_view{} : line.substr(0, colon);
}

}  // namespace

MessageIdentity identify(const std::vector<ByteView>& pieces) {
    MessageIdentity id;
    Sha256 sha;
    bool in_headers = true;
    bool skipping_field = false;
    std::size_t pending_blank = 0;
    for (const ByteView& piece : pieces) {
        std::uint64_t p = 0;
        while (p < piece.size()) {
            const Line l = line_at(piece, p);
            std::string_view content = piece.sub(l.begin, l.content_length()).text();
            p = l.end;
            if (in_headers) {
                if (content.empty()) {
                    in_headers = false;
                    sha.update("\n");
                    continue;
                }
                const bool continuation = content[0] == ' ' || content[0] == '\t';
                if (!continuation) {
                    const std::string_view name = field_name(content);
                    skipping_field = store_managed_field(name);
                    if (id.message_id.empty() && mime::iequals(name, "Message-ID")) {
                        std::string_view v = content.substr(name.size() + 1);
                        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
                        while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
                        id.message_id = std::string(v.substr(0, 998));
                    }
                }
                if (skipping_field) continue;
            } else {
                if (content.empty()) {
                    ++pending_blank;
                    continue;
                }
                for (; pending_blank > 0; --pending_blank) sha.update("\n");
                std::size_t q = 0;
                while (q < content.size() && content[q] == '>') ++q;
                if (q > 0 && content.substr(q, 5) == "From ") content.remove_prefix(q);
            }
            sha.update(content);
            sha.update("\n");
        }
    }
    id.content_sha256 = sha.hex();
    return id;
}

}  // namespace mailfsck
