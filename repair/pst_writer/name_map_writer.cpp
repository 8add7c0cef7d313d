#include "name_map_writer.h"

#include <optional>

#include "parsers/pst/format.h"
#include "repair/pst_writer/ltp_writer.h"

namespace mailfsck::pstw {
namespace {

constexpr std::uint32_t bucket_count = 251;  // what Outlook uses
constexpr std::size_t max_names = 0x7FFF;


pst::Property binary(std::uint16_t id, Bytes value) {
    return pst::Property{id, static_cast<std::uint16_t>(pst::PropType::binary), std::move(value), false};
}

}  // namespace

NameMapWriter::NameMapWriter() {
    // Outlook's own empty stores name dozens of properties; libpff refuses
    // a map naming none. This one, PidLidBusyStatus, is among Outlook's.
    (void)id({pst::psetid::appointment, 0x8205, std::nullopt});
}

std::optional<std::uint16_t> NameMapWriter::id(const pst::PropertyName& name) {
    const Key key{name.set, name.name.has_value(), name.name ? 0 : name.lid, name.name.value_or("")};
    if (const auto it = ids_.find(key); it != ids_.end()) return it->second;
    if (names_.size() >= max_names) return std::nullopt;
    const auto id = static_cast<std::uint16_t>(0x8000 + names_.size());
    ids_.emplace(key, id);
    names_.push_back(name);
    return id;
}

std::vector<pst::Property> NameMapWriter::properties() const {
    // GUIDs other than PS_MAPI (1) and PS_PUBLIC_STRINGS (2) are numbered
    // from 3 in the GUID stream ([MS-PST] 2.4.7.1).
    Bytes guids;
    std::map<pst::Guid, std::uint32_t> guid_index{{pst::psetid::mapi, 1}, {pst::psetid::public_strings, 2}};
    Bytes entries;
    Bytes strings;
    std::map<std::uint32_t, Bytes> buckets;
    std::optional<std::size_t> last_string;  // where the last string name's length is
    for (std::size_t i = 0; i < names_.size(); ++i) {
        const pst::PropertyName& n = names_[i];
        auto [g, added] = guid_index.emplace(n.set, static_cast<std::uint32_t>(guid_index.size() + 1));
        if (added) guids.insert(guids.end(), n.set.begin(), n.set.end());
        // NAMEID ([MS-PST] 2.4.7.4): dwPropertyID (a number, or a string's
        // offset in the string stream), N and wGuid, wPropIdx.
        std::uint32_t property_id = n.lid;
        std::uint32_t hash = n.lid;
        const std::uint32_t kind = n.name ? 1 : 0;
        if (n.name) {
            property_id = static_cast<std::uint32_t>(strings.size());
            last_string = strings.size();
            const Bytes text = utf16(*n.name);
            append_le(strings, text.size(), 4);
            strings.insert(strings.end(), text.begin(), text.end());
            while (strings.size() % 4 != 0) strings.push_back(0);
            hash = pst::crc32(ByteView(text.data(), text.size()));
        }
        const std::uint32_t guid_and_kind = g->second << 1 | kind;
        Bytes entry;
        append_le(entry, property_id, 4);
        append_le(entry, guid_and_kind, 2);
        append_le(entry, i, 2);
        entries.insert(entries.end(), entry.begin(), entry.end());
        // The hash ([MS-PST] 2.4.7.5) picks the bucket.
        Bytes& bucket = buckets[(hash ^ guid_and_kind) % bucket_count];
        bucket.insert(bucket.end(), entry.begin(), entry.end());
    }
    // An empty name last would end the stream with its length alone, which
    // libpff takes for a name past the stream, refusing the whole file (a
    // damaged source map can give empty names): 4 bytes of padding follow.
    if (last_string && *last_string + 4 == strings.size()) strings.resize(strings.size() + 4, 0);
    Bytes count;
    append_le(count, bucket_count, 4);
    std::vector<pst::Property> props{
        pst::Property{0x0001, static_cast<std::uint16_t>(pst::PropType::integer32), count, false},
        binary(0x0002, guids), binary(0x0003, entries), binary(0x0004, strings)};
    for (auto& [b, bytes] : buckets) props.push_back(binary(static_cast<std::uint16_t>(0x1000 + b), bytes));
    return props;
}

}  // namespace mailfsck::pstw
