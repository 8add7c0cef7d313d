#include "identity.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "parsers/bytes/sha256.h"
#include "parsers/mime/headers.h"
#include "repair/pst_writer/from_mime.h"
#include "repair/store/piece_lines.h"

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

std::string text_of(const pst::PropertyContext& pc, std::uint16_t id) {
    const pst::Property* p = pc.find(id);
    return p ? pst::utf8(*p).value_or("") : std::string();
}

// Text with the differences between stores taken out: CRs, From-quoting,
// blanks at line ends and at the end.
std::string normalised_text(std::string_view s) {
    std::string out;
    std::size_t i = 0;
    while (i < s.size()) {
        const std::size_t nl = std::min(s.find('\n', i), s.size());
        std::string_view line = s.substr(i, nl - i);
        i = nl + 1;
        std::size_t q = 0;
        while (q < line.size() && line[q] == '>') ++q;
        if (q > 0 && line.substr(q, 5) == "From ") line.remove_prefix(q);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
        out.append(line);
        out.push_back('\n');
    }
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

}  // namespace

std::string message_facts(const std::vector<ByteView>& pieces) {
    std::string bytes;
    for (const ByteView& piece : pieces) bytes.append(piece.text());
    const pst::Message m = pstw::message_from_mime(bytes, {});
    std::vector<std::string> attachments;
    for (const pst::Attachment& a : m.attachments) {
        Sha256 data;
        if (const pst::Property* d = a.properties.find(pst::tag::attach_data))
            data.update(std::string_view(reinterpret_cast<const char*>(d->value.data()), d->value.size()));
        if (a.embedded) data.update(text_of(a.embedded->properties, pst::tag::subject));
        // Only the bytes: a writer names a nameless attachment (compose_message's "attachment-N").
        attachments.push_back(data.hex());
    }
    std::sort(attachments.begin(), attachments.end());
    Sha256 sha;
    for (const std::string& part : {text_of(m.properties, pst::tag::internet_message_id),
                                    text_of(m.properties, pst::tag::subject),
                                    normalised_text(text_of(m.properties, pst::tag::body))}) {
        sha.update(std::to_string(part.size()) + ":");
        sha.update(part);
    }
    for (const std::string& a : attachments) sha.update(a + "\n");
    return sha.hex();
}

MessageIdentity identify(const std::vector<ByteView>& pieces) {
    MessageIdentity id;
    Sha256 sha;
    bool in_headers = true;
    bool skipping_field = false;
    std::size_t pending_blank = 0;
    // Lines across pieces: where a piece ends is no line end.
    for_each_piece_line(pieces, [&](std::string_view line) {
        std::string_view content = line;
        if (content.ends_with('\n')) content.remove_suffix(1);
        if (content.ends_with('\r')) content.remove_suffix(1);
        if (in_headers) {
            if (content.empty()) {
                in_headers = false;
                sha.update("\n");
                return true;
            }
            const bool continuation = content[0] == ' ' || content[0] == '\t';
            if (!continuation) {
                const std::string_view name = field_name(content);
                skipping_field = store_managed_field(name);
                if (id.message_id.empty() && mime::iequals(name, "Message-ID")) {
                    id.message_id = std::string(mime::trim_blanks(content.substr(name.size() + 1)).substr(0, 998));
                }
            }
            if (skipping_field) return true;
        } else {
            if (content.empty()) {
                ++pending_blank;
                return true;
            }
            for (; pending_blank > 0; --pending_blank) sha.update("\n");
            std::size_t q = 0;
            while (q < content.size() && content[q] == '>') ++q;
            if (q > 0 && content.substr(q, 5) == "From ") content.remove_prefix(q);
        }
        sha.update(content);
        sha.update("\n");
        return true;
    });
    id.content_sha256 = sha.hex();
    return id;
}

}  // namespace mailfsck
