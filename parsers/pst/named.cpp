#include "named.h"

#include "parsers/bytes/bytes.h"
#include "parsers/pst/message.h"

namespace mailfsck::pst {

namespace {

// PidTagNameidBucketCount, PidTagNameidStreamGuid, -Entry, -String
// ([MS-PST] 2.4.7.1).
constexpr std::uint16_t bucket_count = 0x0001;
constexpr std::uint16_t stream_guid = 0x0002;
constexpr std::uint16_t stream_entry = 0x0003;
constexpr std::uint16_t stream_string = 0x0004;
constexpr std::size_t entry_size = 8;
// Named property ids run from 0x8000 to 0xFFFE.
constexpr std::uint32_t max_index = 0x7FFE;
// Each name is stored once, so the names of a map fill at most its string
// stream; but every entry of a damaged stream can name one long string
// (or overlapping ones). Names copied beyond the stream's size are
// bounded as any value read again is.
constexpr std::uint64_t max_names_beyond_stream = RereadBound::max_reread;

// Broken entries of one kind, named once with the first of them: a
// damaged stream can hold a million.
class EntryDefects {
public:
    explicit EntryDefects(const char* what) : what_(what) {}
    void add(std::size_t entry, std::string detail = {}) {
        if (count_++ > 0) return;
        first_ = entry;
        detail_ = std::move(detail);
    }
    void name(std::vector<std::string>& defects) const {
        if (count_ == 0) return;
        defects.push_back(std::to_string(count_) + " entr(ies) " + what_ + " (the first: entry " + std::to_string(first_) +
                          (detail_.empty() ? "" : ", " + detail_) + ")");
    }

private:
    const char* what_;
    std::uint64_t count_ = 0;
    std::size_t first_ = 0;
    std::string detail_;
};

}  // namespace

std::optional<std::uint16_t> NameMap::id(const Guid& set, std::uint32_t lid) const {
    const auto it = by_name_.find({set, lid});
    if (it == by_name_.end()) return std::nullopt;
    return it->second;
}

const PropertyName* NameMap::name(std::uint16_t id) const {
    const auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : &it->second;
}

NameMap NameMap::from_streams(const std::vector<unsigned char>& guids, const std::vector<unsigned char>& entries,
                              const std::vector<unsigned char>& strings) {
    NameMap map;
    map.valid = true;
    const ByteView g(guids.data(), guids.size(), 0);
    Cursor e(ByteView(entries.data(), entries.size(), 0));
    if (entries.size() % entry_size != 0)
        map.defects.push_back("entry stream of " + std::to_string(entries.size()) + " bytes, not a multiple of 8");
    std::uint64_t name_bytes = 0;
    EntryDefects out_of_range("with a property index out of range"), no_guid("naming no GUID"),
        past_stream("with a string name past the string stream"), repeated("giving a property index an earlier entry gave"),
        past_bound("whose string names, copied past the string stream's size and 64 MiB, were left out"),
        ill_formed("whose string names are not well-formed UTF-16 (kept with U+FFFD for the bad units)");
    for (std::size_t n = 0; n < entries.size() / entry_size; ++n) {
        const std::uint32_t name = e.u32le();
        const std::uint16_t guid_and_kind = e.u16le();
        const std::uint16_t index = e.u16le();
        if (index > max_index) {
            out_of_range.add(n, "index " + std::to_string(index));
            continue;
        }
        const unsigned guid_index = guid_and_kind >> 1U;
        Guid set{};
        if (guid_index == 1) {
            set = psetid::mapi;
        } else if (guid_index == 2) {
            set = psetid::public_strings;
        } else if (guid_index >= 3 && (std::uint64_t{guid_index} - 3 + 1) * 16 <= guids.size()) {
            const ByteView bytes = g.sub((guid_index - 3) * 16ULL, 16);
            for (std::size_t i = 0; i < 16; ++i) set[i] = bytes.at_or(i, 0);
        } else {
            no_guid.add(n, "GUID index " + std::to_string(guid_index));
            continue;
        }
        const auto id = static_cast<std::uint16_t>(0x8000U + index);
        if (map.by_id_.count(id) != 0) {
            repeated.add(n);
            continue;
        }
        PropertyName entry{set, name, std::nullopt};
        if ((guid_and_kind & 1U) != 0) {
            // A string name: its length, then UTF-16LE, at `name` in the string stream.
            Cursor at(ByteView(strings.data(), strings.size(), 0), name);
            const std::uint32_t length = at.u32le();
            const ByteView text = at.bytes(length);
            if (!at.ok()) {
                past_stream.add(n);
                continue;
            }
            if (name_bytes + length > strings.size() + max_names_beyond_stream) {
                past_bound.add(n);
                continue;
            }
            name_bytes += length;
            Property p;
            p.type = static_cast<std::uint16_t>(PropType::string);
            p.value.assign(text.data(), text.data() + text.size());
            bool invalid = false;
            entry.name = utf8(p, 0, &invalid);
            if (invalid) ill_formed.add(n, "offset " + std::to_string(name));
        } else {
            map.by_name_.emplace(std::make_pair(set, name), id);
        }
        map.by_id_.emplace(id, std::move(entry));
    }
    for (const EntryDefects* d : {&out_of_range, &no_guid, &past_stream, &repeated, &past_bound, &ill_formed}) d->name(map.defects);
    return map;
}

bool is_name_map(const PropertyContext& pc) {
    return pc.valid && pc.find(bucket_count) && pc.find(stream_guid) && pc.find(stream_entry) && pc.find(stream_string);
}

NameMap read_name_map(const Messaging& messaging, std::vector<ReadIssue>& issues) {
    const std::optional<NodeRef> node = messaging.node(nid_name_to_id_map);
    if (!node) return {};
    return read_name_map(messaging, *node, issues);
}

NameMap read_name_map(const Messaging& messaging, const NodeRef& node, std::vector<ReadIssue>& issues) {
    const PropertyContext pc = messaging.properties(node, issues);
    if (!pc.valid) return {};
    const auto stream = [&](std::uint16_t id) {
        const Property* p = pc.find(id);
        return p && !p->missing ? p->value : std::vector<unsigned char>{};
    };
    NameMap map = NameMap::from_streams(stream(stream_guid), stream(stream_entry), stream(stream_string));
    for (const std::string& d : pc.defects) map.defects.push_back(d);
    return map;
}

}  // namespace mailfsck::pst
