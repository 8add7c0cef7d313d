#include "pst_compose.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <ctime>

#include "parsers/bytes/sha256.h"
#include "parsers/bytes/utf8.h"
#include "parsers/mime/headers.h"
#include "parsers/mime/walker.h"
#include "parsers/pst/rtf.h"

namespace mailfsck {

using namespace pst;

std::int64_t unix_time(std::uint64_t filetime) {
    return static_cast<std::int64_t>(filetime / 10000000ULL) - 11644473600LL;
}

std::string utc_text(std::int64_t t, const char* format) {
    const std::time_t tt = t;
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, format, &tm);
    return buf;
}

namespace {
constexpr std::size_t line_limit = 76;
}  // namespace

namespace {
constexpr char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// The two characters of every 12-bit value: one lookup per half group.
constexpr std::array<char, 8192> digit_pairs = [] {
    std::array<char, 8192> t{};
    for (std::size_t v = 0; v < 4096; ++v) {
        t[2 * v] = digits[v >> 6];
        t[2 * v + 1] = digits[v & 63];
    }
    return t;
}();
}  // namespace

std::string base64(const std::vector<unsigned char>& data, bool lines) {
    constexpr std::size_t group_per_line = line_limit / 4;  // 19 groups of 4 characters
    const std::size_t groups = (data.size() + 2) / 3;
    std::string out(groups * 4 + (lines ? (groups + group_per_line - 1) / group_per_line : 0), '\0');
    char* o = out.data();
    const unsigned char* in = data.data();
    const std::size_t whole = data.size() / 3;
    for (std::size_t g = 0; g < whole;) {
        // A line at a time: attachments are most of what is written.
        const std::size_t line_end = lines ? std::min(whole, g + group_per_line) : whole;
        for (; g < line_end; ++g, in += 3) {
            const std::uint32_t n = std::uint32_t{in[0]} << 16 | std::uint32_t{in[1]} << 8 | in[2];
            std::memcpy(o, &digit_pairs[std::size_t{2} * (n >> 12)], 2);
            std::memcpy(o + 2, &digit_pairs[std::size_t{2} * (n & 0xFFF)], 2);
            o += 4;
        }
        if (lines && g % group_per_line == 0) *o++ = '\n';
    }
    if (const std::size_t rest = data.size() - whole * 3; rest > 0) {
        const std::uint32_t n = std::uint32_t{in[0]} << 16 | (rest == 2 ? std::uint32_t{in[1]} << 8 : 0);
        *o++ = digits[(n >> 18) & 63];
        *o++ = digits[(n >> 12) & 63];
        *o++ = rest == 2 ? digits[(n >> 6) & 63] : '=';
        *o++ = '=';
    }
    if (lines && groups > 0 && o[-1] != '\n') *o++ = '\n';
    out.resize(static_cast<std::size_t>(o - out.data()));
    return out;
}

namespace {

constexpr const char* plain_utf8 = "text/plain; charset=\"utf-8\"";

// Quoted-printable ([RFC 2045] 6.7) with LF line ends kept as line breaks.
std::string quoted_printable(std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    std::size_t column = 0;
    const auto put = [&](std::string_view piece) {
        if (column + piece.size() > line_limit - 1) {
            out += "=\n";
            column = 0;
        }
        out += piece;
        column += piece.size();
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        const bool line_end = c == '\n' || (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n');
        if (line_end) {
            if (c == '\r') ++i;
            out += '\n';
            column = 0;
            continue;
        }
        const bool next_is_end = i + 1 == text.size() || text[i + 1] == '\n' || text[i + 1] == '\r';
        const bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !next_is_end);
        if (literal) {
            put(std::string_view(reinterpret_cast<const char*>(&text[i]), 1));
        } else {
            const char e[3] = {'=', hex[c >> 4], hex[c & 15]};
            put(std::string_view(e, 3));
        }
    }
    if (!out.empty() && out.back() != '\n') out += '\n';
    return out;
}

bool plain_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u >= 32 && u < 127) || u == '\t';
    });
}

// A lowercased "type/subtype" an attachment's part may be sent as: each half
// an RFC 2045 token (what else the tag held, parameters or a comment, is not
// copied: the composer writes its own), and not composite (message/...,
// multipart/...), which readers parse as a structure, not a base64 leaf.
bool leaf_type(std::string_view type) {
    const std::size_t slash = type.find('/');
    const auto token = [](std::string_view t) {
        return !t.empty() && std::all_of(t.begin(), t.end(), [](char c) {
            const auto u = static_cast<unsigned char>(c);
            return u > 32 && u < 127 && std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
        });
    };
    if (slash == std::string_view::npos) return false;
    const std::string_view top = type.substr(0, slash);
    return token(top) && token(type.substr(slash + 1)) && top != "message" && top != "multipart";
}

// A value from the store written as it is in a header field: one holding
// control bytes (tab aside) is not, as no field body may ([RFC 5322] 3.2.5;
// obs-text is for reading), and a line break in it would end the field or
// the header block.
bool field_safe(std::string_view s) {
    return std::none_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u < 32 && u != '\t') || u == 127;
    });
}

// An unstructured header value ([RFC 2047] 5(1)): as it is when plain
// ASCII, else UTF-8 encoded-words of at most 45 bytes each, split between
// characters.
std::string header_text(std::string_view value) {
    if (plain_ascii(value)) return std::string(value);
    std::string out;
    std::size_t i = 0;
    while (i < value.size()) {
        std::size_t end = std::min(value.size(), i + 45);
        while (end < value.size() && end > i && (static_cast<unsigned char>(value[end]) & 0xC0) == 0x80) --end;
        const std::vector<unsigned char> chunk(value.begin() + static_cast<std::ptrdiff_t>(i),
                                               value.begin() + static_cast<std::ptrdiff_t>(end));
        const std::string encoded = base64(chunk, false);
        if (!out.empty()) out += "\n ";
        out += std::string("=?UTF-8?B?") + encoded + "?=";
        i = end;
    }
    return out;
}

// A display name for an address header: quoted unless plain atoms.
// With no Internet address (an Exchange user known only by name) it is an
// empty group, "Name:;", which RFC 6854 allows in From as well as in To.
std::string mailbox(const std::string& name, const std::string& raw_address) {
    // A damaged table can give an address of any bytes: one no addr-spec
    // can hold (controls, spaces, brackets, invalid UTF-8) is left out.
    const bool usable = valid_utf8(raw_address) && std::none_of(raw_address.begin(), raw_address.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x21 || u == 0x7F || c == '<' || c == '>' || c == ',' || c == '"';
    });
    const std::string address = usable ? raw_address : std::string();
    std::string clean_name;
    for (const char c : name)
        if (c != '\r' && c != '\n') clean_name += c;
    if (address.empty() && clean_name.empty()) return {};
    std::string phrase;
    if (!plain_ascii(clean_name)) {
        phrase = header_text(clean_name);
    } else if (!clean_name.empty()) {
        phrase = "\"";
        for (const char c : clean_name) {
            if (c == '"' || c == '\\') phrase += '\\';
            phrase += c;
        }
        phrase += '"';
    }
    if (address.empty()) return phrase + ":;";
    if (clean_name.empty() || clean_name == address) return std::string("<") + address + ">";
    return phrase + std::string(" <") + address + ">";
}

// A parameter value ([RFC 2231] for non-ASCII, else a quoted string).
std::string parameter(const std::string& name, const std::string& value) {
    if (plain_ascii(value)) {
        std::string q;
        for (const char c : value) {
            if (c == '"' || c == '\\') q += '\\';
            q += c;
        }
        return name + std::string("=\"") + q + "\"";
    }
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out = name + "*=UTF-8''";
    for (const char ch : value) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) != 0 || c == '.' || c == '-' || c == '_') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

struct Part {
    std::string headers;  // each ending in LF
    std::string body;     // encoded, ending in LF
};

// The IANA name of a Windows code page ([MS-OXCMSG] PidTagInternetCodepage
// values), for labelling bodies stored in it.
std::string charset_name(std::uint32_t cp) {
    switch (cp) {
        case 0:
        case 65001: return "utf-8";
        case 20127: return "us-ascii";
        case 932: return "shift_jis";
        case 936: return "gb2312";
        case 949: return "euc-kr";
        case 950: return "big5";
        case 20866: return "koi8-r";
        case 21866: return "koi8-u";
        case 50220: return "iso-2022-jp";
        case 51932: return "euc-jp";
        case 54936: return "gb18030";
        default: break;
    }
    if (cp >= 28591 && cp <= 28605) return std::string("iso-8859-") + std::to_string(cp - 28590);
    return std::string("windows-") + std::to_string(cp);
}

// A boundary made from the parts' headers and sizes (so the same message
// always gets the same one), lengthened by a counter in the rare case the
// content holds it: hashing whole bodies would cost more than encoding them.
std::string boundary_for(const std::vector<Part>& parts) {
    Sha256 h;
    for (const Part& p : parts) h.update(p.headers + std::to_string(p.body.size()) + "\n");
    const std::string base = std::string("=_mailfsck_") + h.hex().substr(0, 32);
    std::string b = base;
    for (unsigned k = 1;; ++k) {
        const bool inside = std::any_of(parts.begin(), parts.end(), [&](const Part& p) {
            return p.headers.find(b) != std::string::npos || p.body.find(b) != std::string::npos;
        });
        if (!inside) return b;
        b = base + "_" + std::to_string(k);
    }
}

Part multipart(const std::string& subtype, const std::vector<Part>& parts) {
    const std::string b = boundary_for(parts);
    Part out;
    out.headers = std::string("Content-Type: multipart/") + subtype + std::string("; boundary=\"") + b + "\"\n";
    std::size_t size = 0;
    for (const Part& p : parts) size += b.size() + p.headers.size() + p.body.size() + 4;
    out.body.reserve(size + b.size() + 5);
    for (const Part& p : parts) {
        out.body += "--";
        out.body += b;
        out.body += '\n';
        out.body += p.headers;
        out.body += '\n';
        out.body += p.body;
    }
    out.body += std::string("--") + b + "--\n";
    return out;
}

// A text part of the given Content-Type value, 7bit when it can be.
Part text_part(const std::string& content_type, const std::string& text) {
    Part p;
    p.headers = std::string("Content-Type: ") + content_type + "\n";
    bool seven_bit = std::all_of(text.begin(), text.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u >= 32 && u < 127) || u == '\t' || u == '\n';
    });
    std::size_t longest = 0, current = 0;
    for (const char c : text) {
        current = c == '\n' ? 0 : current + 1;
        longest = std::max(longest, current);
    }
    seven_bit = seven_bit && longest <= 998;
    if (seven_bit) {
        p.headers += "Content-Transfer-Encoding: 7bit\n";
        p.body = text;
        if (!p.body.empty() && p.body.back() != '\n') p.body += '\n';
    } else {
        p.headers += "Content-Transfer-Encoding: quoted-printable\n";
        p.body = quoted_printable(text);
    }
    return p;
}

Part binary_part(const std::string& type, const std::vector<unsigned char>& data, const std::string& disposition,
                 const std::string& filename, const std::string& content_id) {
    Part p;
    p.headers = std::string("Content-Type: ") + type + (filename.empty() ? "" : std::string("; ") + parameter("name", filename)) + "\n";
    p.headers += "Content-Transfer-Encoding: base64\n";
    p.headers += std::string("Content-Disposition: ") + disposition + (filename.empty() ? "" : std::string("; ") + parameter("filename", filename)) + "\n";
    if (!content_id.empty()) p.headers += std::string("Content-ID: <") + content_id + ">\n";
    p.body = base64(data, true);
    return p;
}

// Header names the composer writes itself.
bool composed_here(std::string_view line) {
    const std::string name = mime::ascii_lower(line.substr(0, line.find(':')));
    return name == "mime-version" || name.rfind("content-", 0) == 0;
}

// The transport headers Outlook kept, with CRLF made LF, without the MIME
// headers (the parts are rebuilt) and without the blank line that ends them.
// A line that is not a field (a damaged name), and what continues it, is left
// out: in the header block written it would end the block. So is a field
// holding control bytes: a field made from properties takes its place.
std::string transport_headers(const std::string& raw) {
    std::string out;
    std::string field;
    bool keep = false;
    const auto flush = [&] {
        if (keep) out += field;
        field.clear();
    };
    std::size_t i = 0;
    while (i < raw.size()) {
        std::size_t end = raw.find('\n', i);
        if (end == std::string::npos) end = raw.size();
        std::string line = raw.substr(i, end - i);
        i = end + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) break;
        const bool continuation = line[0] == ' ' || line[0] == '\t';
        if (!continuation) {
            flush();
            const ByteView v(line);
            keep = mime::is_field_line(v, line_at(v, 0)) && !composed_here(line);
        }
        keep = keep && field_safe(line);
        field += line + "\n";
    }
    flush();
    return out;
}

class Composer {
public:
    Composer(ComposedMessage& out, const NameMap& names) : out_(out), names_(names) {}

    std::string message(const Message& m, unsigned depth) {
        const PropertyContext& pc = m.properties;
        const std::uint32_t cp = codepage_of(pc);
        const auto text = [&](std::uint16_t id) -> std::string {
            const Property* p = pc.find(id);
            if (!p) return {};
            return utf8(*p, cp).value_or(std::string());
        };
        const auto time_of = [&](std::uint16_t id) -> std::optional<std::int64_t> {
            const Property* p = pc.find(id);
            if (!p || p->value.size() != 8) return std::nullopt;
            return unix_time(p->as_uint());
        };
        const std::string subject = subject_of(m);
        const std::optional<std::int64_t> sent = time_of(tag::client_submit_time);
        const std::optional<std::int64_t> received = time_of(tag::delivery_time);
        const std::optional<std::int64_t> created = time_of(tag::creation_time);
        if (depth == 0) {
            out_.subject = subject;
            out_.received = received ? received : sent ? sent : created;
        }

        // Outlook's own copy of the headers when it kept one; whatever that
        // copy lacks of the fields a message needs is made from properties.
        std::string headers = transport_headers(text(tag::transport_headers));
        const auto has = [&](std::string_view field) {
            const std::string lower = mime::ascii_lower(std::string("\n") + headers);
            return lower.find(std::string("\n") + std::string(field) + ":") != std::string::npos;
        };
        if (!has("date"))
            if (const auto t = sent ? sent : received ? received : created) headers += std::string("Date: ") + utc_text(*t, "%a, %d %b %Y %H:%M:%S +0000") + "\n";
        if (!has("from")) {
            // The Internet address of whoever the message is from: an SMTP
            // property, else an e-mail address that is one (not an X.500 name).
            const auto address_of = [&](std::uint16_t smtp, std::uint16_t email) {
                std::string a = text(smtp);
                if (a.find('@') == std::string::npos) a = text(email);
                return a.find('@') != std::string::npos ? a : std::string();
            };
            std::string from_name = text(tag::sent_representing_name);
            std::string from_address = address_of(tag::sent_representing_smtp, tag::sent_representing_email);
            if (from_name.empty() && from_address.empty()) {
                from_name = text(tag::sender_name);
                from_address = address_of(tag::sender_smtp, tag::sender_email);
            }
            if (const std::string from = mailbox(from_name, from_address); !from.empty())
                headers += std::string("From: ") + from + "\n";
        }
        if (!has("to") && !has("cc") && !has("bcc")) headers += recipients(m);
        if (!has("subject")) headers += std::string("Subject: ") + header_text(subject) + "\n";
        if (!has("message-id"))
            if (const std::string id = text(tag::internet_message_id); !id.empty() && field_safe(id)) headers += std::string("Message-ID: ") + id + "\n";
        const std::string cls = text(tag::message_class);
        if (!cls.empty() && cls != "IPM.Note") headers += std::string("X-MS-Message-Class: ") + header_text(cls) + "\n";

        std::vector<Part> parts;
        parts.push_back(bodies(m, cp));
        if (depth == 0) {
            // The object a contact or calendar item also exports as, right
            // after the body: where mail clients look for a meeting request.
            out_.object = compose_object(m, names_);
            if (out_.object) {
                Part object = text_part(out_.object->media_type, out_.object->text);
                object.headers += std::string("Content-Disposition: attachment; ") +
                                  parameter("filename", std::string("item.") + out_.object->extension) + "\n";
                parts.push_back(std::move(object));
            }
            // What no standard format holds (a task's dates and status, a
            // note's colour, a list's members) is kept as a listing.
            if (!is_mail_class(cls)) {
                Part listing = text_part(plain_utf8, property_listing(m.properties, names_));
                listing.headers += std::string("Content-Disposition: attachment; ") + parameter("filename", "item-properties.txt") + "\n";
                parts.push_back(std::move(listing));
            }
        }
        for (std::size_t i = 0; i < m.attachments.size(); ++i) {
            if (std::optional<Part> a = attachment(m.attachments[i], i + 1, cp, depth)) parts.push_back(std::move(*a));
        }
        const Part top = parts.size() == 1 ? std::move(parts.front()) : multipart("mixed", parts);
        std::string message;
        message.reserve(headers.size() + top.headers.size() + top.body.size() + 20);
        message += headers;
        message += "MIME-Version: 1.0\n";
        message += top.headers;
        message += '\n';
        message += top.body;
        return message;
    }

private:
    static std::string recipients(const Message& m) {
        std::vector<std::string> lists[3];
        for (const Recipient& r : recipients_of(m))
            if (r.type >= 1 && r.type <= 3)
                if (std::string box = mailbox(r.name, r.address); !box.empty()) lists[r.type - 1].push_back(std::move(box));
        std::string out;
        const char* names[] = {"To", "Cc", "Bcc"};
        for (int k = 0; k < 3; ++k) {
            if (lists[k].empty()) continue;
            out += std::string(names[k]) + ": ";
            for (std::size_t i = 0; i < lists[k].size(); ++i) out += (i ? ",\n " : "") + lists[k][i];
            out += "\n";
        }
        return out;
    }

    Part bodies(const Message& m, std::uint32_t cp) {
        const PropertyContext& pc = m.properties;
        std::vector<Part> alternatives;
        // What cannot be read is left out (unreadable_parts names it).
        if (const Property* body = pc.find(tag::body); body && !body->missing)
            alternatives.push_back(text_part(plain_utf8, utf8(*body, cp).value_or("")));
        if (const Property* html = pc.find(tag::html); html && !html->missing) {
            if (html->type == static_cast<std::uint16_t>(PropType::binary)) {
                // Stored in the message's code page; labelled, not converted.
                const std::string charset = charset_name(cp);
                Part p;
                p.headers = std::string("Content-Type: text/html; charset=\"") + charset + "\"\nContent-Transfer-Encoding: base64\n";
                p.body = base64(html->value, true);
                alternatives.push_back(std::move(p));
            } else {
                alternatives.push_back(text_part("text/html; charset=\"utf-8\"", utf8(*html, cp).value_or("")));
            }
        }
        if (alternatives.empty())
            if (const Property* rtf = pc.find(tag::rtf_compressed); rtf && !rtf->missing)
                if (const Rtf r = decompress_rtf(ByteView(rtf->value.data(), rtf->value.size(), 0)); !r.text.empty())
                    alternatives.push_back(binary_part("application/rtf", r.text, "inline", "", ""));
        if (alternatives.empty()) return text_part(plain_utf8, "");
        if (alternatives.size() == 1) return std::move(alternatives.front());
        return multipart("alternative", alternatives);
    }

    std::optional<Part> attachment(const Attachment& a, std::size_t n, std::uint32_t cp, unsigned depth) {
        if (!content_read(a)) return std::nullopt;  // unreadable_parts names it
        const PropertyContext& pc = a.properties;
        const auto text = [&](std::uint16_t id) {
            const Property* p = pc.find(id);
            return p ? utf8(*p, cp).value_or(std::string()) : std::string();
        };
        std::string name = attachment_name(a, cp);
        if (name.empty()) name = std::string("attachment-") + std::to_string(n);
        std::string type = mime::media_type(text(tag::attach_mime_tag));
        if (!leaf_type(type)) type = "application/octet-stream";
        std::string cid = text(tag::attach_content_id);
        if (!field_safe(cid)) cid.clear();
        const std::uint64_t how = attach_method(pc);
        if (how == 5) {
            Part p;
            p.headers = std::string("Content-Type: message/rfc822\nContent-Disposition: attachment; ") + parameter("filename", name + ".eml") + "\n";
            p.body = message(*a.embedded, depth + 1);
            if (p.body.back() != '\n') p.body += '\n';
            return p;
        }
        if (how == 6) return binary_part("application/octet-stream", *a.object, "attachment", name, cid);
        const Property* data = pc.find(tag::attach_data);
        if (how != 1) {
            // By reference (2-4, 7): a path or URL, no data to carry.
            return text_part(plain_utf8, std::string("Attachment by reference: ") + name + "\n");
        }
        return binary_part(type, data->value, cid.empty() ? "attachment" : "inline", name, cid);
    }

    ComposedMessage& out_;
    const NameMap& names_;
};

}  // namespace

ComposedMessage compose_message(const Message& message, const NameMap& names) {
    ComposedMessage out;
    Composer c(out, names);
    out.bytes = c.message(message, 0);
    if (out.object) {
        // Both formats end lines with CRLF ([RFC 6350] 3.2, [RFC 5545] 3.1).
        out.object_bytes.reserve(out.object->text.size() + out.object->text.size() / 32);
        for (const char ch : out.object->text) {
            if (ch == '\n') out.object_bytes += '\r';
            out.object_bytes += ch;
        }
    }
    return out;
}

}  // namespace mailfsck
