#include "from_mime.h"

#include <algorithm>
#include <array>
#include <memory>

#include "parsers/bytes/bytes.h"
#include "parsers/mime/decode.h"
#include "parsers/mime/headers.h"
#include "parsers/mime/walker.h"
#include "repair/pst_writer/ltp_writer.h"

namespace mailfsck::pstw {
namespace {

using pst::Property;
using pst::PropType;

// Properties beyond those parsers/pst/message.h names ([MS-OXPROPS]).
constexpr std::uint16_t tag_importance = 0x0017;
constexpr std::uint16_t tag_sent_representing_addrtype = 0x0064;
constexpr std::uint16_t tag_sender_addrtype = 0x0C1E;
constexpr std::uint16_t tag_display_bcc = 0x0E02;
constexpr std::uint16_t tag_display_cc = 0x0E03;
constexpr std::uint16_t tag_display_to = 0x0E04;
constexpr std::uint16_t tag_attach_num = 0x0E21;
constexpr std::uint16_t tag_object_type = 0x0FFE;
constexpr std::uint16_t tag_entry_id = 0x0FFF;
constexpr std::uint16_t tag_internet_references = 0x1039;
constexpr std::uint16_t tag_in_reply_to = 0x1042;
constexpr std::uint16_t tag_row_id = 0x3000;
constexpr std::uint16_t tag_rendering_position = 0x370B;
constexpr std::uint16_t tag_display_type = 0x3900;

constexpr std::uint32_t msgflag_read = 0x01;
constexpr std::uint32_t msgflag_unsent = 0x08;
constexpr std::uint32_t msgflag_has_attach = 0x10;
constexpr std::uint32_t attach_by_value = 1;
constexpr std::uint32_t attach_embedded_msg = 5;
constexpr std::uint32_t mapi_mailuser = 6;
constexpr std::uint32_t codepage_utf8 = 65001;

// A one-off entry ID's provider ([MS-OXCDATA] 2.2.5.1).
constexpr std::array<unsigned char, 16> one_off_provider = {0x81, 0x2B, 0x1F, 0xA4, 0xBE, 0xA3, 0x10, 0x19,
                                                           0x9D, 0x6E, 0x00, 0xDD, 0x01, 0x0F, 0x54, 0x02};

Property prop(std::uint16_t id, PropType type, Bytes value) {
    return Property{id, static_cast<std::uint16_t>(type), std::move(value), false};
}
Property text(std::uint16_t id, const std::string& utf8) { return prop(id, PropType::string, utf16(utf8)); }
Property integer(std::uint16_t id, std::uint32_t v) { return prop(id, PropType::integer32, le_bytes(v, 4)); }
Property binary(std::uint16_t id, std::string_view bytes) {
    return prop(id, PropType::binary, Bytes(bytes.begin(), bytes.end()));
}
Property time(std::uint16_t id, std::int64_t unix_seconds) {
    const auto filetime = static_cast<std::uint64_t>(unix_seconds + 11644473600LL) * 10000000ULL;
    return prop(id, PropType::time, le_bytes(filetime, 8));
}

std::string ascii_upper(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}

// Line ends as a PST keeps them in bodies and transport headers: CRLF.
std::string crlf(std::string_view s) {
    std::string out;
    out.reserve(s.size() + s.size() / 32);
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) out.push_back('\r');
        out.push_back(s[i]);
    }
    return out;
}

// A one-off entry ID ([MS-OXCDATA] 2.2.5.1): what Outlook gives a
// recipient that is in no address book.
Bytes one_off_entry_id(const mime::Mailbox& m) {
    Bytes id(4, 0);
    id.insert(id.end(), one_off_provider.begin(), one_off_provider.end());
    const Bytes flags = le_bytes(0x8000 | 0x0001, 2);  // Unicode strings; no rich information
    id.insert(id.end(), {0, 0});
    id.insert(id.end(), flags.begin(), flags.end());
    for (const std::string& s : {m.name.empty() ? m.address : m.name, std::string("SMTP"), m.address}) {
        const Bytes u = utf16(s);
        id.insert(id.end(), u.begin(), u.end());
        id.insert(id.end(), {0, 0});
    }
    return id;
}

class Mapper {
public:
    Mapper(std::string_view message, unsigned depth)
        : bytes_(message), v_(reinterpret_cast<const unsigned char*>(message.data()), message.size()), depth_(depth) {}

    pst::Message run(const MailState& state) {
        mime::Limits limits;
        limits.record_entities = true;
        entities_ = mime::walk(v_, limits).entities;
        header_ = mime::read_header_block(v_, 0);
        std::vector<Property>& p = message_.properties.properties;
        p.push_back(text(pst::tag::message_class, "IPM.Note"));
        envelope(state);
        parts();
        std::uint32_t flags = 0;
        if (state.flags.find('S') != std::string::npos) flags |= msgflag_read;
        if (state.flags.find('D') != std::string::npos) flags |= msgflag_unsent;
        if (!message_.attachments.empty()) flags |= msgflag_has_attach;
        p.push_back(integer(pst::tag::message_flags, flags));
        p.push_back(integer(pst::tag::message_size, static_cast<std::uint32_t>(std::min<std::size_t>(bytes_.size(), UINT32_MAX))));
        std::stable_sort(p.begin(), p.end(), [](const Property& a, const Property& b) { return a.id < b.id; });
        message_.properties.valid = true;
        return std::move(message_);
    }

private:
    [[nodiscard]] std::optional<std::string_view> field(std::string_view name) const {
        const mime::Field* f = header_.find(v_, name);
        if (!f) return std::nullopt;
        return f->raw_value(v_).text();
    }

    void envelope(const MailState& state) {
        std::vector<Property>& p = message_.properties.properties;
        if (const auto s = field("Subject")) p.push_back(text(pst::tag::subject, mime::decode_header_text(*s)));
        std::optional<std::int64_t> date;
        if (const auto d = field("Date")) date = mime::parse_date(*d);
        if (date) p.push_back(time(pst::tag::client_submit_time, *date));
        // Delivery: what the store kept, else the newest Received: stamp
        // (the first field; its date follows the last ';'), else the Date.
        std::optional<std::int64_t> received = state.received;
        if (const auto r = field("Received"); !received && r && r->rfind(';') != std::string_view::npos)
            received = mime::parse_date(r->substr(r->rfind(';') + 1));
        if (!received) received = date;
        if (received) {
            p.push_back(time(pst::tag::delivery_time, *received));
            p.push_back(time(pst::tag::creation_time, *received));
            p.push_back(time(pst::tag::last_modification_time, *received));
        }
        const std::vector<mime::Mailbox> from = addresses("From");
        std::vector<mime::Mailbox> sender = addresses("Sender");
        if (sender.empty()) sender = from;
        if (!from.empty()) {
            p.push_back(text(pst::tag::sent_representing_name, display(from.front())));
            p.push_back(text(pst::tag::sent_representing_email, from.front().address));
            p.push_back(text(tag_sent_representing_addrtype, "SMTP"));
            p.push_back(text(pst::tag::sent_representing_smtp, from.front().address));
        }
        if (!sender.empty()) {
            p.push_back(text(pst::tag::sender_name, display(sender.front())));
            p.push_back(text(pst::tag::sender_email, sender.front().address));
            p.push_back(text(tag_sender_addrtype, "SMTP"));
            p.push_back(text(pst::tag::sender_smtp, sender.front().address));
        }
        recipients();
        const std::string headers = crlf(mime::to_utf8(v_.sub(0, header_.end).text(), ""));
        p.push_back(text(pst::tag::transport_headers, headers));
        if (const auto id = field("Message-ID")) p.push_back(text(pst::tag::internet_message_id, mime::decode_header_text(*id)));
        if (const auto r = field("In-Reply-To")) p.push_back(text(tag_in_reply_to, mime::decode_header_text(*r)));
        if (const auto r = field("References")) p.push_back(text(tag_internet_references, mime::decode_header_text(*r)));
        if (const auto i = field("Importance")) {
            const std::string level = mime::ascii_lower(mime::decode_header_text(*i));
            p.push_back(integer(tag_importance, level == "high" ? 2 : level == "low" ? 0 : 1));
        }
    }

    // The addresses of every field named `name` (a repeated To: adds to it).
    [[nodiscard]] std::vector<mime::Mailbox> addresses(std::string_view name) const {
        std::vector<mime::Mailbox> out;
        for (const mime::Field& f : header_.fields) {
            if (!mime::iequals(f.name(v_), name)) continue;
            std::vector<mime::Mailbox> more = mime::parse_address_list(f.raw_value(v_).text());
            out.insert(out.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
        }
        return out;
    }

    static std::string display(const mime::Mailbox& m) { return m.name.empty() ? m.address : m.name; }

    void recipients() {
        message_.recipients.emplace();
        message_.recipients->valid = true;
        std::vector<Property>& p = message_.properties.properties;
        std::uint32_t row = 0;
        for (const auto& [name, type, display_tag] : {std::tuple{"To", 1U, tag_display_to}, std::tuple{"Cc", 2U, tag_display_cc},
                                                      std::tuple{"Bcc", 3U, tag_display_bcc}}) {
            std::string shown;
            for (const mime::Mailbox& m : addresses(name)) {
                shown += (shown.empty() ? "" : "; ") + display(m);
                pst::TableRow r;
                r.id = row;
                r.cells = {integer(pst::tag::recipient_type, type),
                           integer(tag_object_type, mapi_mailuser),
                           prop(tag_entry_id, PropType::binary, one_off_entry_id(m)),
                           integer(tag_row_id, row),
                           text(pst::tag::display_name, display(m)),
                           text(pst::tag::address_type, "SMTP"),
                           text(pst::tag::email_address, m.address),
                           binary(pst::tag::search_key, "SMTP:" + ascii_upper(m.address) + std::string(1, '\0')),
                           integer(tag_display_type, 0),
                           text(pst::tag::smtp_address, m.address)};
                message_.recipients->rows.push_back(std::move(r));
                ++row;
            }
            if (!shown.empty()) p.push_back(text(display_tag, shown));
        }
    }

    // Each entity's parts: the first plain and HTML text that is no
    // attachment are the bodies, every other leaf an attachment, each
    // message/rfc822 an embedded message (whose own parts are its).
    void parts() {
        std::vector<bool> inside(entities_.size(), false);
        for (std::size_t i = 0; i < entities_.size(); ++i) {
            const mime::Entity& e = entities_[i];
            if (i > 0) inside[i] = inside[e.parent] || entities_[e.parent].kind == mime::Entity::Kind::message;
            if (inside[i] || e.kind == mime::Entity::Kind::multipart) continue;
            if (e.kind == mime::Entity::Kind::message) embedded(e);
            else leaf(e);
        }
    }

    struct PartHeader {
        std::string media;  // lowercased type/subtype, "" when absent or unusable
        std::string charset;
        std::string encoding;
        std::string filename;
        std::string content_id;
        bool attachment = false;  // Content-Disposition: attachment
    };

    [[nodiscard]] PartHeader part_header(const mime::Entity& e) const {
        const ByteView block = v_.sub(0, e.body_begin);
        const mime::HeaderBlock hb = mime::read_header_block(block, e.begin);
        const auto value = [&](std::string_view name) -> std::string {
            const mime::Field* f = hb.find(block, name);
            if (!f) return {};
            return mime::unfold(f->raw_value(block).text());
        };
        PartHeader h;
        const std::string type = value("Content-Type");
        h.media = mime::media_type(type);
        h.charset = mime::header_parameter(type, "charset").value_or("");
        h.encoding = value("Content-Transfer-Encoding");
        const std::string disposition = value("Content-Disposition");
        h.attachment = mime::ascii_lower(disposition.substr(0, disposition.find(';'))).find("attachment") != std::string::npos;
        h.filename = mime::decoded_parameter(disposition, "filename").value_or(mime::decoded_parameter(type, "name").value_or(""));
        std::string cid = mime::decode_header_text(value("Content-ID"));
        if (cid.size() >= 2 && cid.front() == '<' && cid.back() == '>') cid = cid.substr(1, cid.size() - 2);
        h.content_id = cid;
        return h;
    }

    void leaf(const mime::Entity& e) {
        const PartHeader h = part_header(e);
        const std::string data = mime::decode_transfer(v_.sub(e.body_begin, e.end - e.body_begin).text(), h.encoding);
        const bool text_part = h.media.empty() || h.media == "text/plain" || h.media == "text/html";
        if (text_part && !h.attachment && h.filename.empty()) {
            std::vector<Property>& p = message_.properties.properties;
            if (h.media != "text/html" && !has_body_) {
                has_body_ = true;
                p.push_back(text(pst::tag::body, crlf(mime::to_utf8(data, h.charset))));
                return;
            }
            if (h.media == "text/html" && !has_html_) {
                has_html_ = true;
                p.push_back(binary(pst::tag::html, mime::to_utf8(data, h.charset)));
                p.push_back(integer(pst::tag::internet_codepage, codepage_utf8));
                return;
            }
        }
        std::vector<Property> a = attachment_common(h.filename, h.media.empty() ? "text/plain" : h.media, data.size());
        a.push_back(integer(pst::tag::attach_method, attach_by_value));
        a.push_back(binary(pst::tag::attach_data, data));
        if (!h.content_id.empty()) a.push_back(text(pst::tag::attach_content_id, h.content_id));
        add_attachment(std::move(a), nullptr);
    }

    void embedded(const mime::Entity& e) {
        const std::string_view inner = bytes_.substr(e.body_begin, e.end - e.body_begin);
        const PartHeader h = part_header(e);
        if (depth_ + 1 >= pst::max_embedding_depth) {
            // Deeper than a PST nests: the message as a file, by value.
            std::vector<Property> a = attachment_common(h.filename.empty() ? "message.eml" : h.filename, "message/rfc822", inner.size());
            a.push_back(integer(pst::tag::attach_method, attach_by_value));
            a.push_back(binary(pst::tag::attach_data, inner));
            add_attachment(std::move(a), nullptr);
            return;
        }
        auto m = std::make_unique<pst::Message>(Mapper(inner, depth_ + 1).run({"S", std::nullopt}));
        std::string name = h.filename;
        if (const Property* s = m->properties.find(pst::tag::subject); s && name.empty()) name = pst::utf8(*s).value_or("");
        std::vector<Property> a = attachment_common(name, "message/rfc822", inner.size());
        a.push_back(integer(pst::tag::attach_method, attach_embedded_msg));
        add_attachment(std::move(a), std::move(m));
    }

    [[nodiscard]] std::vector<Property> attachment_common(const std::string& filename, const std::string& media,
                                                          std::size_t size) const {
        std::vector<Property> a;
        a.push_back(integer(pst::tag::attach_size, static_cast<std::uint32_t>(std::min<std::size_t>(size, UINT32_MAX))));
        a.push_back(integer(tag_attach_num, static_cast<std::uint32_t>(message_.attachments.size())));
        a.push_back(integer(tag_rendering_position, 0xFFFFFFFF));
        a.push_back(text(pst::tag::attach_mime_tag, media));
        if (!filename.empty()) {
            a.push_back(text(pst::tag::display_name, filename));
            a.push_back(text(pst::tag::attach_long_filename, filename));
            a.push_back(text(pst::tag::attach_filename, filename));
            const std::size_t dot = filename.rfind('.');
            if (dot != std::string::npos && dot > 0 && filename.size() - dot <= 16)
                a.push_back(text(pst::tag::attach_extension, filename.substr(dot)));
        }
        return a;
    }

    void add_attachment(std::vector<Property> properties, std::unique_ptr<pst::Message> embedded) {
        std::stable_sort(properties.begin(), properties.end(), [](const Property& x, const Property& y) { return x.id < y.id; });
        pst::Attachment a;
        a.nid = static_cast<std::uint32_t>(message_.attachments.size() + 1) << 5 | pst::nid_type_attachment;
        a.properties.properties = std::move(properties);
        a.properties.valid = true;
        a.embedded = std::move(embedded);
        message_.attachments.push_back(std::move(a));
    }

    std::string_view bytes_;
    ByteView v_;
    unsigned depth_;
    std::vector<mime::Entity> entities_;
    mime::HeaderBlock header_;
    pst::Message message_;
    bool has_body_ = false;
    bool has_html_ = false;
};

}  // namespace

pst::Message message_from_mime(std::string_view message, const MailState& state) { return Mapper(message, 0).run(state); }

}  // namespace mailfsck::pstw
