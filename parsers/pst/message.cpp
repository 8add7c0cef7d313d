#include "message.h"

#include <iconv.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <utility>

#include "parsers/bytes/utf8.h"
#include "parsers/pst/rtf.h"

namespace mailfsck::pst {
namespace {

// PtypObject ([MS-PST] 2.4.6.2.2): the NID of the subnode that holds the
// embedded message, then its size.
std::optional<std::uint32_t> object_nid(const Property& p) {
    if (p.value.size() < 4) return std::nullopt;
    return static_cast<std::uint32_t>(p.value[0] | p.value[1] << 8 | p.value[2] << 16 |
                                      static_cast<std::uint32_t>(p.value[3]) << 24);
}

// The nodes read for one message, its attachments and embedded messages,
// by their blocks. A damaged subnode tree can name one node from many
// attachment rows, or an enclosing message from inside itself: read again
// each time, 20 rows that each embed the message itself make 20^8 reads
// from a few bytes. Each node is read once (a node without blocks holds
// nothing to multiply); the data trees its values name are bounded by
// `RereadBound`. The bounds are named once, at the top: every row of every
// table can repeat.
class NodesRead {
public:
    explicit NodesRead(const NodeRef& top) { (void)first(top, 0); }
    // False for a node read already, which is counted against `row`.
    [[nodiscard]] bool first(const NodeRef& n, std::uint32_t row) {
        if ((n.bid_data == 0 && n.bid_sub == 0) || keys_.emplace(n.bid_data, n.bid_sub).second) return true;
        if (repeats_++ == 0) first_repeat_ = row;
        return false;
    }
    void too_deep() { too_deep_ = true; }
    // False once max_attachments rows have been taken; the rest are counted.
    [[nodiscard]] bool take_attachment() {
        if (attachments_ == max_attachments) {
            ++beyond_;
            return false;
        }
        ++attachments_;
        return true;
    }
    RereadBound& data() { return data_; }
    void name_bounds(std::vector<std::string>& defects) const {
        if (too_deep_) defects.push_back("embedded messages nested deeper than " + std::to_string(max_embedding_depth));
        if (repeats_ > 0)
            defects.push_back(std::to_string(repeats_) + " attachment(s) name a node this message has read already (the first: " +
                              std::to_string(first_repeat_) + ")");
        if (beyond_ > 0)
            defects.push_back(std::to_string(beyond_) + " attachment row(s) past the first " + std::to_string(max_attachments) +
                              " not read");
    }

private:
    std::set<std::pair<std::uint64_t, std::uint64_t>> keys_;
    RereadBound data_;
    std::uint64_t repeats_ = 0;
    std::uint32_t first_repeat_ = 0;
    std::uint32_t attachments_ = 0;
    std::uint64_t beyond_ = 0;
    bool too_deep_ = false;
};

// Calls `emit` with each code point of UTF-16LE `v` (U+FFFD for an
// unpaired surrogate); false when a unit was not well formed.
template <typename Emit>
bool decode_utf16(const std::vector<unsigned char>& v, Emit emit) {
    bool valid = v.size() % 2 == 0;
    std::size_t n = v.size() / 2;
    // Writers end strings with a NUL or two; it is no content.
    while (n > 0 && v[2 * n - 2] == 0 && v[2 * n - 1] == 0) --n;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint32_t u = v[2 * i] | v[2 * i + 1] << 8;
        if (u >= 0xD800 && u < 0xDC00 && i + 1 < n) {
            const std::uint32_t lo = v[2 * i + 2] | v[2 * i + 3] << 8;
            if (lo >= 0xDC00 && lo < 0xE000) {
                emit(0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
                ++i;
                continue;
            }
        }
        if (u >= 0xD800 && u < 0xE000) {
            valid = false;
            emit(0xFFFD);
            continue;
        }
        emit(u);
    }
    return valid;
}

std::string from_utf16(const std::vector<unsigned char>& v, bool* invalid) {
    std::string out;
    out.reserve(v.size() / 2);
    const bool valid = decode_utf16(v, [&](std::uint32_t cp) { append_utf8(out, cp); });
    if (!valid && invalid) *invalid = true;
    return out;
}

std::string from_codepage(const std::vector<unsigned char>& v, std::uint32_t codepage, bool* invalid) {
    std::size_t n = v.size();
    while (n > 0 && v[n - 1] == 0) --n;
    if (codepage == 65001) return std::string(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n));
    const std::string name = codepage == 0 ? std::string("CP1252") : "CP" + std::to_string(codepage);
    iconv_t cd = iconv_open("UTF-8", name.c_str());
    // (iconv_t)-1 is iconv_open's documented failure value.
    const auto failed = [](iconv_t c) { return c == reinterpret_cast<iconv_t>(-1); };  // NOLINT(performance-no-int-to-ptr)
    if (failed(cd)) cd = iconv_open("UTF-8", "CP1252");
    if (failed(cd)) return std::string(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n));
    std::string out;
    std::vector<char> in(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n));
    char* src = in.data();
    std::size_t left = in.size();
    char buffer[4096];
    while (left > 0) {
        char* dst = buffer;
        std::size_t room = sizeof buffer;
        const std::size_t rc = iconv(cd, &src, &left, &dst, &room);
        out.append(buffer, static_cast<std::size_t>(dst - buffer));
        if (rc == static_cast<std::size_t>(-1) && errno != E2BIG) {
            // A byte the code page does not map: U+FFFD, then go on.
            if (invalid) *invalid = true;
            append_utf8(out, 0xFFFD);
            ++src;
            --left;
        }
    }
    iconv_close(cd);
    return out;
}

}  // namespace

bool well_formed_utf16(const Property& p) {
    if (p.type != static_cast<std::uint16_t>(PropType::string)) return true;
    // Bodies are long and rarely hold a surrogate: only a string that has
    // one needs the walk that pairs them.
    bool surrogate = false;
    for (std::size_t i = 1; i < p.value.size(); i += 2) surrogate |= (p.value[i] & 0xF8) == 0xD8;
    return surrogate ? decode_utf16(p.value, [](std::uint32_t) {}) : p.value.size() % 2 == 0;
}

std::optional<std::string> utf8(const Property& p, std::uint32_t codepage, bool* invalid) {
    if (p.type == static_cast<std::uint16_t>(PropType::string)) return from_utf16(p.value, invalid);
    if (p.type == static_cast<std::uint16_t>(PropType::string8)) return from_codepage(p.value, codepage, invalid);
    return std::nullopt;
}

std::uint32_t codepage_of(const PropertyContext& pc) {
    for (const std::uint16_t id : {tag::internet_codepage, tag::message_codepage})
        if (const Property* p = pc.find(id); p && p->value.size() >= 4) return static_cast<std::uint32_t>(p->as_uint());
    return 0;
}

namespace {

Message read_tree(const Messaging& messaging, const NodeRef& node, SubnodeValues attachments, unsigned depth, NodesRead& read) {
    Message m;
    m.ref = node;
    const std::vector<Subnode> subs = messaging.subnodes(node, m.issues, &read.data());
    m.properties = messaging.properties(node, subs, m.issues, SubnodeValues::kept, &read.data());
    for (const std::string& d : m.properties.defects) m.defects.push_back("properties: " + d);
    const auto find = [&](std::uint32_t nid) -> std::optional<NodeRef> {
        const auto it = std::lower_bound(subs.begin(), subs.end(), nid,
                                         [](const Subnode& s, std::uint32_t k) { return s.nid < k; });
        if (it == subs.end() || it->nid != nid) return std::nullopt;
        return NodeRef{it->nid, it->bid_data, it->bid_sub};
    };
    if (const std::optional<NodeRef> r = find(nid_recipient_table)) {
        m.recipients = messaging.table(*r, m.issues, Cells::kept, &read.data());
        for (const std::string& d : m.recipients->defects) m.defects.push_back("recipient table: " + d);
    }
    if (const std::optional<NodeRef> a = find(nid_attachment_table)) {
        m.attachment_table = messaging.table(*a, m.issues, Cells::kept, &read.data());
        for (const std::string& d : m.attachment_table->defects) m.defects.push_back("attachment table: " + d);
        for (const TableRow& row : m.attachment_table->rows) {
            if (!read.take_attachment()) continue;
            Attachment att;
            att.nid = row.id;
            const std::optional<NodeRef> at = find(row.id);
            const bool repeated = at && !read.first(*at, row.id);
            if (!at || repeated) {
                att.missing = true;
                m.attachments.push_back(std::move(att));
                continue;
            }
            const std::vector<Subnode> inner = messaging.subnodes(*at, m.issues, &read.data());
            att.properties = messaging.properties(*at, inner, m.issues, attachments, &read.data());
            for (const std::string& d : att.properties.defects) m.defects.push_back("attachment: " + d);
            const Property* data = att.properties.find(tag::attach_data);
            const std::uint64_t how = attach_method(att.properties);
            if ((how == 5 || how == 6) && data && data->type == static_cast<std::uint16_t>(PropType::object)) {
                const std::optional<std::uint32_t> nid = object_nid(*data);
                const auto it = std::find_if(inner.begin(), inner.end(), [&](const Subnode& s) { return nid && s.nid == *nid; });
                if (it == inner.end()) {
                    m.defects.push_back("object of attachment " + std::to_string(row.id) + " not found");
                } else if (const NodeRef object{it->nid, it->bid_data, it->bid_sub}; read.first(object, row.id)) {
                    if (how == 6) {
                        att.object = messaging.subnode_value(*it, m.issues, attachments, read.data());
                    } else if (how == 5 && depth + 1 < max_embedding_depth) {
                        att.embedded = std::make_unique<Message>(read_tree(messaging, object, attachments, depth + 1, read));
                        // A check reads the top message's defects and
                        // issues: an embedded message's damage is the message's.
                        for (const std::string& d : att.embedded->defects)
                            m.defects.push_back("embedded message of attachment " + std::to_string(row.id) + ": " + d);
                        m.issues.insert(m.issues.end(), att.embedded->issues.begin(), att.embedded->issues.end());
                    } else if (how == 5) {
                        read.too_deep();
                    }
                }
            }
            m.attachments.push_back(std::move(att));
        }
    }
    return m;
}

}  // namespace

Message read_message(const Messaging& messaging, const NodeRef& node, SubnodeValues attachments) {
    NodesRead read(node);
    Message m = read_tree(messaging, node, attachments, 0, read);
    read.name_bounds(m.defects);
    return m;
}

std::uint64_t attach_method(const PropertyContext& pc) {
    const Property* method = pc.find(tag::attach_method);
    return method && sound_value(*method) ? method->as_uint() : 1;
}

bool content_read(const Attachment& a) {
    if (a.missing || !a.properties.valid) return false;
    switch (attach_method(a.properties)) {
        case 1: {
            // By value the content is binary ([MS-OXCMSG] 2.2.2.7): under any
            // other type (a damaged type byte) the value is no content.
            const Property* data = a.properties.find(tag::attach_data);
            return data != nullptr && !data->missing && data->type == static_cast<std::uint16_t>(PropType::binary);
        }
        case 5: return a.embedded != nullptr;
        case 6: return a.object.has_value();
        default: return true;
    }
}

std::vector<std::string> unreadable_parts(const Message& m) {
    std::vector<std::string> out;
    const PropertyContext& pc = m.properties;
    const auto readable = [&](std::uint16_t id) {
        const Property* p = pc.find(id);
        return p != nullptr && !p->missing;
    };
    for (const auto& [id, what] : {std::pair{tag::body, "plain text body"}, std::pair{tag::html, "HTML body"}})
        if (const Property* p = pc.find(id); p && p->missing) out.push_back(std::string(what) + " unreadable");
    if (!readable(tag::body) && !readable(tag::html))
        if (const Property* rtf = pc.find(tag::rtf_compressed)) {
            // A sound RTF body of no text has lost nothing.
            const Rtf r = rtf->missing ? Rtf{} : decompress_rtf(ByteView(rtf->value.data(), rtf->value.size(), 0));
            if (rtf->missing || (r.text.empty() && r.defect))
                out.emplace_back("RTF body unreadable");
            else if (r.compressed && r.text.size() < r.size)
                out.push_back("the end of the RTF body (" + std::to_string(r.text.size()) + " of " + std::to_string(r.size) +
                              " bytes decompress)");
            else if (r.defect == RtfDefect::bad_crc)
                out.emplace_back("RTF body failing its CRC (written as it decompresses)");
        }
    const std::uint32_t cp = codepage_of(pc);
    for (std::size_t i = 0; i < m.attachments.size(); ++i) {
        const Attachment& a = m.attachments[i];
        if (content_read(a)) {
            if (a.embedded)
                for (std::string& part : unreadable_parts(*a.embedded)) out.push_back(std::move(part));
            continue;
        }
        const std::string name = attachment_name(a, cp);
        const std::uint64_t how = attach_method(a.properties);
        out.push_back("attachment " + std::to_string(i + 1) + (name.empty() ? "" : " (" + name + ")") +
                      (how == 5   ? ": embedded message unreadable"
                       : how == 6 ? ": OLE object unreadable"
                                  : " unreadable"));
    }
    return out;
}

std::string subject_of(const Message& m) {
    const Property* p = m.properties.find(tag::subject);
    std::string subject = p ? utf8(*p, codepage_of(m.properties)).value_or(std::string()) : std::string();
    if (subject.size() >= 2 && subject[0] == '\x01') subject.erase(0, 2);
    return subject;
}

std::string attachment_name(const Attachment& a, std::uint32_t codepage) {
    for (const std::uint16_t id : {tag::attach_long_filename, tag::attach_filename, tag::display_name})
        if (const Property* p = a.properties.find(id))
            if (std::string name = utf8(*p, codepage).value_or(std::string()); !name.empty()) return name;
    return {};
}

std::vector<Recipient> recipients_of(const Message& m) {
    std::vector<Recipient> out;
    if (!m.recipients) return out;
    const std::uint32_t cp = codepage_of(m.properties);
    for (const TableRow& row : m.recipients->rows) {
        Recipient r;
        std::string address, kind;
        for (const Property& p : row.cells) {
            if (p.id == tag::recipient_type) r.type = static_cast<unsigned>(p.as_uint() & 0x0F);
            if (p.id == tag::display_name) r.name = utf8(p, cp).value_or("");
            if (p.id == tag::email_address) address = utf8(p, cp).value_or("");
            if (p.id == tag::smtp_address) r.address = utf8(p, cp).value_or("");
            if (p.id == tag::address_type) kind = utf8(p, cp).value_or("");
        }
        if (r.address.empty() && kind == "SMTP") r.address = address;
        out.push_back(std::move(r));
    }
    return out;
}

}  // namespace mailfsck::pst
