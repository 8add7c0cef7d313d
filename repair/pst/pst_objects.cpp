#include "pst_objects.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "parsers/bytes/sha256.h"
#include "parsers/mime/headers.h"
#include "repair/pst/pst_compose.h"

namespace mailfsck {

using namespace pst;

namespace {

// Tagged properties of contacts and calendar items ([MS-OXOCNTC], [MS-OXOCAL]).
namespace ctag {
constexpr std::uint16_t sensitivity = 0x0036;
constexpr std::uint16_t last_modification_time = 0x3008;
constexpr std::uint16_t generation = 0x3A05;
constexpr std::uint16_t given_name = 0x3A06;
constexpr std::uint16_t business_phone = 0x3A08;
constexpr std::uint16_t home_phone = 0x3A09;
constexpr std::uint16_t surname = 0x3A11;
constexpr std::uint16_t company = 0x3A16;
constexpr std::uint16_t title = 0x3A17;
constexpr std::uint16_t department = 0x3A18;
constexpr std::uint16_t mobile_phone = 0x3A1C;
constexpr std::uint16_t business_fax = 0x3A24;
constexpr std::uint16_t work_country = 0x3A26;
constexpr std::uint16_t work_city = 0x3A27;
constexpr std::uint16_t work_region = 0x3A28;
constexpr std::uint16_t work_street = 0x3A29;
constexpr std::uint16_t work_postal_code = 0x3A2A;
constexpr std::uint16_t birthday = 0x3A42;
constexpr std::uint16_t middle_name = 0x3A44;
constexpr std::uint16_t name_prefix = 0x3A45;
constexpr std::uint16_t profession = 0x3A46;
constexpr std::uint16_t nickname = 0x3A4F;
constexpr std::uint16_t personal_home_page = 0x3A50;
constexpr std::uint16_t business_home_page = 0x3A51;
constexpr std::uint16_t home_city = 0x3A59;
constexpr std::uint16_t home_country = 0x3A5A;
constexpr std::uint16_t home_postal_code = 0x3A5B;
constexpr std::uint16_t home_region = 0x3A5C;
constexpr std::uint16_t home_street = 0x3A5D;
constexpr std::uint16_t attachment_contact_photo = 0x7FFF;
}  // namespace ctag

// Named properties: (property set, long id) ([MS-OXPROPS]).
struct Lid {
    const Guid* set;
    std::uint32_t lid;
};
namespace lid {
constexpr Lid email[3][2] = {{{&psetid::address, 0x8080}, {&psetid::address, 0x8083}},
                             {{&psetid::address, 0x8090}, {&psetid::address, 0x8093}},
                             {{&psetid::address, 0x80A0}, {&psetid::address, 0x80A3}}};  // display name, address
constexpr Lid file_under{&psetid::address, 0x8005};
constexpr Lid home_address{&psetid::address, 0x801A};
constexpr Lid work_address{&psetid::address, 0x801B};
constexpr Lid birthday_local{&psetid::address, 0x80DE};
constexpr Lid sequence{&psetid::appointment, 0x8201};
constexpr Lid busy_status{&psetid::appointment, 0x8205};
constexpr Lid location{&psetid::appointment, 0x8208};
constexpr Lid start{&psetid::appointment, 0x820D};
constexpr Lid end{&psetid::appointment, 0x820E};
constexpr Lid all_day{&psetid::appointment, 0x8215};
constexpr Lid recurrence{&psetid::appointment, 0x8216};
constexpr Lid reminder_delta{&psetid::common, 0x8501};
constexpr Lid reminder_set{&psetid::common, 0x8503};
constexpr Lid global_object_id{&psetid::meeting, 0x0003};
}  // namespace lid

constexpr std::int64_t minutes_1601_to_1970 = 11644473600LL / 60;

std::string utc_stamp(std::int64_t t) { return utc_text(t, "%Y%m%dT%H%M%SZ"); }
std::string date_of(std::int64_t t) { return utc_text(t, "%Y%m%d"); }

std::string hex_of(const std::vector<unsigned char>& v) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(v.size() * 2);
    for (const unsigned char b : v) (out += hex[b >> 4]) += hex[b & 15];
    return out;
}

// A TEXT value ([RFC 6350] 3.4, [RFC 5545] 3.3.11): backslash, comma,
// semicolon and line breaks escaped.
std::string escaped(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '\r') continue;
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\\' || c == ',' || c == ';') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) >= 0x20 || c == '\t') {
            out += c;
        }
    }
    return out;
}

// A vCard LABEL parameter: line breaks as \n, no quotes ([RFC 6350] 6.3.1).
std::string escaped_label(std::string_view s) {
    std::string out;
    for (const char c : s) {
        if (c == '\n') out += "\\n";
        else if (c != '\r' && c != '"' && static_cast<unsigned char>(c) >= 0x20) out += c;
    }
    return out;
}

// A parameter value, quoted when it holds a separator ([RFC 5545] 3.2).
std::string param(std::string_view s) {
    std::string clean;
    for (const char c : s)
        if (c != '"' && static_cast<unsigned char>(c) >= 0x20) clean += c;
    return clean.find_first_of(",;:") == std::string::npos ? clean : std::string("\"") + clean + "\"";
}

// Content lines folded at 75 octets, never inside a UTF-8 sequence.
class Lines {
public:
    void add(std::string_view name, std::string_view value) {
        std::string line(name);
        line += ':';
        line += value;
        std::size_t begin = 0;
        std::size_t room = 75;
        while (line.size() - begin > room) {
            std::size_t cut = begin + room;
            while (cut > begin && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
            text_ += line.substr(begin, cut - begin) + "\n ";
            begin = cut;
            room = 74;
        }
        text_ += line.substr(begin) + "\n";
    }
    void text(std::string_view name, std::string_view value) {
        if (!value.empty()) add(name, escaped(value));
    }
    [[nodiscard]] const std::string& str() const { return text_; }

private:
    std::string text_;
};

class Item {
public:
    Item(const Message& m, const NameMap& names) : m_(m), names_(names), cp_(codepage_of(m.properties)) {}

    [[nodiscard]] const Property* find(std::uint16_t id) const {
        const Property* p = m_.properties.find(id);
        return p && !p->missing ? p : nullptr;
    }
    [[nodiscard]] const Property* find(const Lid& l) const {
        const std::optional<std::uint16_t> id = names_.id(*l.set, l.lid);
        return id ? find(*id) : nullptr;
    }
    template <typename Key>
    [[nodiscard]] std::string text(const Key& k) const {
        const Property* p = find(k);
        return p ? utf8(*p, cp_).value_or("") : "";
    }
    template <typename Key>
    [[nodiscard]] std::optional<std::int64_t> time(const Key& k) const {
        const Property* p = find(k);
        if (!p || p->type != static_cast<std::uint16_t>(PropType::time) || p->value.size() != 8) return std::nullopt;
        return unix_time(p->as_uint());
    }
    template <typename Key>
    [[nodiscard]] std::optional<std::uint64_t> number(const Key& k) const {
        const Property* p = find(k);
        if (!p || p->value.empty() || p->value.size() > 8) return std::nullopt;
        return p->as_uint();
    }
    [[nodiscard]] const Message& message() const { return m_; }

private:
    const Message& m_;
    const NameMap& names_;
    std::uint32_t cp_;
};

std::string subject_of(const Item& item) {
    std::string s = item.text(tag::subject);
    if (s.size() >= 2 && s[0] == '\x01') s = s.substr(2);  // prefix marker, [MS-OXCMSG] 2.2.1.46
    return s;
}

std::string media_type_of(const Attachment& a) {
    const Property* p = a.properties.find(tag::attach_mime_tag);
    std::string type = p ? utf8(*p).value_or("") : "";
    return type.find('/') == std::string::npos ? "application/octet-stream" : type;
}

// vCard 4 ([RFC 6350]).
ItemObject vcard(const Item& item) {
    Lines v;
    v.add("BEGIN", "VCARD");
    v.add("VERSION", "4.0");
    std::string fn = item.text(tag::display_name);
    if (fn.empty()) fn = item.text(lid::file_under);
    if (fn.empty()) fn = item.text(ctag::given_name) + (item.text(ctag::surname).empty() ? "" : std::string(" ") + item.text(ctag::surname));
    if (fn.empty() || fn == " ") fn = item.text(lid::email[0][1]);
    v.add("FN", escaped(fn));
    v.add("N", escaped(item.text(ctag::surname)) + std::string(";") + escaped(item.text(ctag::given_name)) + ";" +
                   escaped(item.text(ctag::middle_name)) + std::string(";") + escaped(item.text(ctag::name_prefix)) + ";" +
                   escaped(item.text(ctag::generation)));
    v.text("NICKNAME", item.text(ctag::nickname));
    for (unsigned k = 0; k < 3; ++k)
        if (const std::string address = item.text(lid::email[k][1]); !address.empty())
            v.add(std::string("EMAIL;PREF=") + std::to_string(k + 1), escaped(address));
    const std::pair<std::uint16_t, const char*> phones[] = {{ctag::business_phone, "work,voice"},
                                                             {ctag::home_phone, "home,voice"},
                                                             {ctag::mobile_phone, "cell"},
                                                             {ctag::business_fax, "work,fax"}};
    for (const auto& [id, type] : phones) v.text(std::string("TEL;TYPE=\"") + type + "\"", item.text(id));
    // An address as its parts, and as the whole text Outlook shows (kept
    // even when the parts are empty, as some writers leave them).
    const auto address = [&](const char* type, const Lid& whole, std::uint16_t street, std::uint16_t city,
                             std::uint16_t region, std::uint16_t code, std::uint16_t country) {
        const std::string parts[] = {item.text(street), item.text(city), item.text(region), item.text(code), item.text(country)};
        const std::string label = item.text(whole);
        bool any = !label.empty();
        std::string value = ";";  // post office box, extended address: not kept apart by Outlook
        for (const std::string& p : parts) {
            any = any || !p.empty();
            value += std::string(";") + escaped(p);
        }
        std::string name = std::string("ADR;TYPE=") + type;
        if (!label.empty()) name += std::string(";LABEL=\"") + escaped_label(label) + "\"";
        if (any) v.add(name, value);
    };
    address("work", lid::work_address, ctag::work_street, ctag::work_city, ctag::work_region, ctag::work_postal_code,
            ctag::work_country);
    address("home", lid::home_address, ctag::home_street, ctag::home_city, ctag::home_region, ctag::home_postal_code,
            ctag::home_country);
    const std::string company = item.text(ctag::company), department = item.text(ctag::department);
    if (!company.empty() || !department.empty())
        v.add("ORG", escaped(company) + (department.empty() ? "" : std::string(";") + escaped(department)));
    v.text("TITLE", item.text(ctag::title));
    v.text("ROLE", item.text(ctag::profession));
    // Outlook keeps the birthday as local midnight in UTC; the local copy's
    // date is the day the user typed.
    if (const auto bday = item.time(lid::birthday_local) ? item.time(lid::birthday_local) : item.time(ctag::birthday))
        v.add("BDAY", date_of(*bday));
    v.text("URL;TYPE=work", item.text(ctag::business_home_page));
    v.text("URL;TYPE=home", item.text(ctag::personal_home_page));
    v.text("NOTE", item.text(tag::body));
    for (const Attachment& a : item.message().attachments) {
        const Property* photo = a.properties.find(ctag::attachment_contact_photo);
        const Property* data = a.properties.find(tag::attach_data);
        if (photo && photo->as_bool() && data && !data->missing && !a.missing)
            v.add("PHOTO", std::string("data:") + media_type_of(a) + std::string(";base64,") + base64(data->value, false));
    }
    v.add("END", "VCARD");
    return {"vcf", "text/vcard; charset=\"utf-8\"", v.str()};
}

// Message classes compare without regard to case ([MS-OXCMSG] 2.2.1.3).
bool class_is(std::string_view cls, std::string_view prefix) {
    return cls.size() >= prefix.size() && mime::iequals(cls.substr(0, prefix.size()), prefix);
}

// The iCalendar method a meeting message carries ([RFC 5546] 1.4).
struct Scheduling {
    const char* method;    // nullptr: a calendar item, no scheduling
    const char* partstat;  // a reply's answer
};
std::optional<Scheduling> scheduling_of(std::string_view cls) {
    const auto is = [&](std::string_view prefix) { return class_is(cls, prefix); };
    if (is("IPM.Appointment")) return Scheduling{nullptr, nullptr};
    if (is("IPM.Schedule.Meeting.Request")) return Scheduling{"REQUEST", nullptr};
    if (is("IPM.Schedule.Meeting.Canceled")) return Scheduling{"CANCEL", nullptr};
    if (is("IPM.Schedule.Meeting.Resp.Pos")) return Scheduling{"REPLY", "ACCEPTED"};
    if (is("IPM.Schedule.Meeting.Resp.Neg")) return Scheduling{"REPLY", "DECLINED"};
    if (is("IPM.Schedule.Meeting.Resp.Tent")) return Scheduling{"REPLY", "TENTATIVE"};
    return std::nullopt;
}

// RecurrencePattern ([MS-OXOCAL] 2.2.1.44.1) as an RRULE, plus the
// deleted occurrences as EXDATEs. Outlook counts in local minutes; the
// offset between the series' first start in UTC and in local time places
// them, so a series crossing a daylight-saving change may be off by the
// change.
struct Recurrence {
    std::string rule;
    std::vector<std::int64_t> deleted;  // occurrence starts, seconds since 1970 UTC
};
std::optional<Recurrence> recurrence(const std::vector<unsigned char>& blob, std::optional<std::int64_t> start_utc) {
    if (!start_utc) return std::nullopt;
    Cursor c(ByteView(blob.data(), blob.size(), 0));
    c.skip(4);  // reader and writer versions
    const std::uint16_t frequency = c.u16le();
    const std::uint16_t pattern = c.u16le();
    c.skip(2 + 4);  // calendar type, first date-time
    const std::uint32_t period = c.u32le();
    c.skip(4);  // sliding flag
    std::uint32_t days = 0, nth = 0;
    if (pattern == 1 || pattern == 2 || pattern == 3 || pattern == 4) days = c.u32le();
    if (pattern == 4) nth = c.u32le();
    const std::uint32_t end_type = c.u32le();
    const std::uint32_t occurrences = c.u32le();
    const std::uint32_t first_day = c.u32le();
    const std::uint32_t deleted_count = c.u32le();
    if (!c.ok() || deleted_count > c.remaining() / 4) return std::nullopt;
    std::vector<std::uint32_t> deleted(deleted_count);
    for (std::uint32_t& d : deleted) d = c.u32le();
    const std::uint32_t modified_count = c.u32le();
    if (!c.ok() || modified_count > c.remaining() / 4) return std::nullopt;
    c.skip(std::uint64_t{modified_count} * 4);
    const std::uint32_t start_date = c.u32le();
    const std::uint32_t end_date = c.u32le();
    c.skip(4 + 4);  // reader and writer versions of the appointment pattern
    const std::uint32_t start_offset = c.u32le();
    if (!c.ok()) return std::nullopt;

    static constexpr const char* weekday[7] = {"SU", "MO", "TU", "WE", "TH", "FR", "SA"};
    const auto by_day = [&] {
        std::string s;
        for (unsigned d = 0; d < 7; ++d)
            if ((days >> d) & 1U) {
                if (!s.empty()) s += ',';
                s += weekday[d];
            }
        return s;
    };
    std::string rule;
    switch (frequency) {
        case 0x200A:
            rule = pattern == 1 ? std::string("FREQ=WEEKLY;BYDAY=") + by_day() : std::string("FREQ=DAILY;INTERVAL=") + std::to_string(std::max(1U, period / 1440));
            break;
        case 0x200B: rule = std::string("FREQ=WEEKLY;INTERVAL=") + std::to_string(std::max(1U, period)) + std::string(";BYDAY=") + by_day(); break;
        case 0x200C:
        case 0x200D: {
            const bool yearly = frequency == 0x200D || period % 12 == 0;
            rule = yearly ? std::string("FREQ=YEARLY;INTERVAL=") + std::to_string(std::max(1U, period / 12))
                          : std::string("FREQ=MONTHLY;INTERVAL=") + std::to_string(std::max(1U, period));
            // The month of the series' first local day.
            if (yearly) rule += std::string(";BYMONTH=") + std::to_string(std::stoi(utc_text((std::int64_t{start_date} - minutes_1601_to_1970) * 60, "%m")));
            if (pattern == 2) rule += std::string(";BYMONTHDAY=") + std::to_string(days);
            if (pattern == 3) rule += ";BYMONTHDAY=-1";
            if (pattern == 4) rule += std::string(";BYDAY=") + by_day() + std::string(";BYSETPOS=") + (nth == 5 ? std::string("-1") : std::to_string(nth));
            break;
        }
        default: return std::nullopt;
    }
    if (days == 0 && (pattern == 1 || pattern == 4)) return std::nullopt;
    if (first_day < 7) rule += std::string(";WKST=") + weekday[first_day];
    if (end_type == 0x2022) rule += std::string(";COUNT=") + std::to_string(occurrences);
    if (end_type == 0x2021)
        rule += std::string(";UNTIL=") + date_of((std::int64_t{end_date} - minutes_1601_to_1970) * 60) + "T235959Z";
    Recurrence r{rule, {}};
    // UTC minus local, from the first occurrence.
    const std::int64_t local_first = (std::int64_t{start_date} + start_offset - minutes_1601_to_1970) * 60;
    const std::int64_t shift = *start_utc - local_first;
    for (const std::uint32_t d : deleted)
        r.deleted.push_back((std::int64_t{d} + start_offset - minutes_1601_to_1970) * 60 + shift);
    return r;
}

// iCalendar ([RFC 5545]).
ItemObject icalendar(const Item& item, const Scheduling& how) {
    Lines v;
    v.add("BEGIN", "VCALENDAR");
    v.add("VERSION", "2.0");
    v.add("PRODID", "-//mailfsck//PST export//EN");
    if (how.method) v.add("METHOD", how.method);
    v.add("BEGIN", "VEVENT");
    const std::optional<std::int64_t> start = item.time(lid::start);
    const std::optional<std::int64_t> end = item.time(lid::end);
    const std::string subject = subject_of(item);
    // The meeting's own id when it has one, else one made from what
    // identifies the item, so the same store always gives the same UID.
    std::string uid;
    if (const Property* goid = item.find(lid::global_object_id); goid && !goid->value.empty()) {
        uid = hex_of(goid->value);
    } else {
        Sha256 h;
        h.update(subject + std::string("\n") + std::to_string(start.value_or(0)) + std::string("\n") + std::to_string(end.value_or(0)) + "\n" +
                 std::to_string(item.time(tag::creation_time).value_or(0)));
        uid = h.hex().substr(0, 32) + "@mailfsck";
    }
    v.add("UID", uid);
    const std::optional<std::int64_t> stamp = item.time(ctag::last_modification_time) ? item.time(ctag::last_modification_time)
                                              : item.time(tag::creation_time)              ? item.time(tag::creation_time)
                                                                                           : start;
    v.add("DTSTAMP", utc_stamp(stamp.value_or(0)));
    if (const auto created = item.time(tag::creation_time)) v.add("CREATED", utc_stamp(*created));
    if (start) v.add("DTSTART", utc_stamp(*start));
    if (end && (!start || *end >= *start)) v.add("DTEND", utc_stamp(*end));
    if (const Property* blob = item.find(lid::recurrence))
        if (const std::optional<Recurrence> r = recurrence(blob->value, start)) {
            v.add("RRULE", r->rule);
            for (const std::int64_t d : r->deleted) v.add("EXDATE", utc_stamp(d));
        }
    v.text("SUMMARY", subject);
    v.text("LOCATION", item.text(lid::location));
    v.text("DESCRIPTION", item.text(tag::body));
    if (const auto sensitivity = item.number(ctag::sensitivity); sensitivity && *sensitivity >= 2)
        v.add("CLASS", *sensitivity == 2 ? "PRIVATE" : "CONFIDENTIAL");
    if (const auto seq = item.number(lid::sequence)) v.add("SEQUENCE", std::to_string(*seq & 0x7FFFFFFF));
    if (const auto busy = item.number(lid::busy_status)) {
        static constexpr const char* status[] = {"FREE", "TENTATIVE", "BUSY", "OOF", "WORKINGELSEWHERE"};
        v.add("TRANSP", *busy == 0 ? "TRANSPARENT" : "OPAQUE");
        if (*busy < 5) v.add("X-MICROSOFT-CDO-BUSYSTATUS", status[*busy]);
    }
    if (const auto all_day = item.number(lid::all_day); all_day && *all_day != 0) v.add("X-MICROSOFT-CDO-ALLDAYEVENT", "TRUE");
    if (how.method && std::string_view(how.method) == "CANCEL") v.add("STATUS", "CANCELLED");

    std::string organizer_name = item.text(tag::sent_representing_name);
    std::string organizer = item.text(tag::sent_representing_email);
    if (organizer.find('@') != std::string::npos) {
        const std::string who = (organizer_name.empty() ? "" : std::string("CN=") + param(organizer_name) + ":") + std::string("mailto:") + organizer;
        if (how.partstat) {
            v.add(std::string("ATTENDEE;PARTSTAT=") + std::string(how.partstat) + (organizer_name.empty() ? "" : std::string(";CN=") + param(organizer_name)),
                  std::string("mailto:") + organizer);
        } else {
            v.add(organizer_name.empty() ? std::string("ORGANIZER") : std::string("ORGANIZER;CN=") + param(organizer_name), std::string("mailto:") + organizer);
        }
    }
    if (!how.partstat)
        for (const Recipient& r : recipients_of(item.message())) {
            if (r.address.empty()) continue;
            static constexpr const char* role[] = {"REQ-PARTICIPANT", "REQ-PARTICIPANT", "OPT-PARTICIPANT", "NON-PARTICIPANT"};
            std::string name = std::string("ATTENDEE;ROLE=") + std::string(role[r.type <= 3 ? r.type : 1]);
            if (r.type == 3) name += ";CUTYPE=RESOURCE";
            if (!r.name.empty()) name += std::string(";CN=") + param(r.name);
            v.add(name, std::string("mailto:") + r.address);
        }
    if (const auto reminder = item.number(lid::reminder_set); reminder && *reminder != 0) {
        const std::uint64_t minutes = item.number(lid::reminder_delta).value_or(15) & 0x7FFFFFFF;
        v.add("BEGIN", "VALARM");
        v.add("TRIGGER", std::string("-PT") + std::to_string(minutes) + "M");
        v.add("ACTION", "DISPLAY");
        v.add("DESCRIPTION", "Reminder");
        v.add("END", "VALARM");
    }
    for (const Attachment& a : item.message().attachments) {
        // Exceptions to a series are embedded messages: the message form keeps them.
        if (!content_read(a) || attach_method(a.properties) != 1) continue;
        const Property* data = a.properties.find(tag::attach_data);
        std::string name;
        for (const std::uint16_t id : {tag::attach_long_filename, tag::attach_filename, tag::display_name})
            if (name.empty())
                if (const Property* p = a.properties.find(id)) name = utf8(*p).value_or("");
        v.add(std::string("ATTACH;FMTTYPE=") + media_type_of(a) + ";ENCODING=BASE64;VALUE=BINARY" +
                  (name.empty() ? "" : std::string(";X-FILENAME=") + param(name)),
              base64(data->value, false));
    }
    v.add("END", "VEVENT");
    v.add("END", "VCALENDAR");
    std::string media = "text/calendar; charset=\"utf-8\"";
    if (how.method) media += std::string("; method=") + how.method;
    return {"ics", media, v.str()};
}

// {XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}: the first three fields are stored little-endian.
std::string guid_text(const Guid& g) {
    const auto bytes = [&](std::initializer_list<std::size_t> at) {
        std::vector<unsigned char> v;
        for (const std::size_t i : at) v.push_back(g[i]);
        return hex_of(v);
    };
    return std::string("{") + bytes({3, 2, 1, 0}) + "-" + bytes({5, 4}) + "-" + bytes({7, 6}) + "-" + bytes({8, 9}) + "-" +
           bytes({10, 11, 12, 13, 14, 15}) + "}";
}

std::string hex4(std::uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%04X", v);
    return buf;
}

std::string value_text(const Property& p, std::uint32_t cp) {
    if (p.missing) return "(unreadable)";
    const auto fixed = [&](std::size_t n) { return p.value.size() == n; };
    switch (static_cast<PropType>(p.type)) {
        case PropType::integer16:
            if (fixed(2)) return std::to_string(static_cast<std::int16_t>(p.as_uint()));
            break;
        case PropType::integer32:
            if (fixed(4)) return std::to_string(static_cast<std::int32_t>(p.as_uint()));
            break;
        case PropType::integer64:
            if (fixed(8)) return std::to_string(static_cast<std::int64_t>(p.as_uint()));
            break;
        case PropType::boolean: return p.as_bool() ? "true" : "false";
        case PropType::time:
            if (fixed(8)) return utc_text(unix_time(p.as_uint()), "%Y-%m-%dT%H:%M:%SZ");
            break;
        case PropType::floating64:
            if (fixed(8)) {
                double d = 0;
                std::memcpy(&d, p.value.data(), 8);
                return std::to_string(d);
            }
            break;
        case PropType::guid:
            if (fixed(16)) {
                Guid g{};
                std::copy(p.value.begin(), p.value.end(), g.begin());
                return guid_text(g);
            }
            break;
        case PropType::string:
        case PropType::string8: return escaped(utf8(p, cp).value_or(""));
        default: break;
    }
    return hex_of(p.value);
}

std::string type_name(std::uint16_t type) {
    switch (static_cast<PropType>(type)) {
        case PropType::integer16: return "PtypInteger16";
        case PropType::integer32: return "PtypInteger32";
        case PropType::floating64: return "PtypFloating64";
        case PropType::boolean: return "PtypBoolean";
        case PropType::integer64: return "PtypInteger64";
        case PropType::string8: return "PtypString8";
        case PropType::string: return "PtypString";
        case PropType::time: return "PtypTime";
        case PropType::guid: return "PtypGuid";
        case PropType::binary: return "PtypBinary";
        default: return "type " + hex4(type);
    }
}

}  // namespace

bool is_mail_class(std::string_view cls) {
    return cls.empty() || class_is(cls, "IPM.Note") || class_is(cls, "IPM.Post") || class_is(cls, "REPORT.") ||
           class_is(cls, "IPM.Schedule.Meeting.");
}

std::string property_listing(const PropertyContext& pc, const NameMap& names) {
    const std::uint32_t cp = codepage_of(pc);
    std::string out;
    // A named property's id is the store's own, given by its name-to-id
    // map: another store (a rebuilt one) gives the same name another id.
    // Named properties are listed by name, in the names' order, so that one
    // item reads the same from either.
    std::vector<std::string> named;
    for (const Property& p : pc.properties) {
        // In the message already: its bodies and transport headers.
        if (p.id == tag::body || p.id == tag::html || p.id == tag::rtf_compressed || p.id == tag::transport_headers) continue;
        const std::string rest = " " + type_name(p.type) + " " + value_text(p, cp) + "\n";
        if (p.id < 0x8000) {
            out += hex4(p.id) + " -" + rest;
        } else if (const PropertyName* n = names.name(p.id)) {
            named.push_back("named " + guid_text(n->set) + ":" + (n->name ? "\"" + *n->name + "\"" : hex4(n->lid)) + rest);
        } else {
            named.push_back(hex4(p.id) + " (not in the name-to-id map)" + rest);
        }
    }
    std::sort(named.begin(), named.end());
    for (const std::string& line : named) out += line;
    return out;
}

std::optional<ItemObject> compose_object(const Message& message, const NameMap& names) {
    const Item item(message, names);
    const std::string cls = item.text(tag::message_class);
    if (class_is(cls, "IPM.Contact") || class_is(cls, "IPM.AbchPerson")) return vcard(item);
    if (const std::optional<Scheduling> how = scheduling_of(cls)) return icalendar(item, *how);
    return std::nullopt;
}

}  // namespace mailfsck
