#include "store_writer.h"

#include <set>
#include <stdexcept>
#include <unordered_set>

#include "parsers/pst/messaging.h"
#include "parsers/pst/rtf.h"

namespace mailfsck::pstw {
namespace {

using pst::Property;
using pst::TableRow;

// Special NIDs ([MS-PST] 2.4.1) the writer makes besides those the reader
// names in messaging.h.
constexpr std::uint32_t nid_name_to_id_map = 0x61;
constexpr std::uint32_t nid_search_management_queue = 0x1E1;
constexpr std::uint32_t nid_search_activity_list = 0x201;
constexpr std::uint32_t nid_search_domain_object = 0x261;
constexpr std::uint32_t nid_hierarchy_table_template = 0x60D;
constexpr std::uint32_t nid_contents_table_template = 0x60E;
constexpr std::uint32_t nid_assoc_contents_table_template = 0x60F;
constexpr std::uint32_t nid_search_contents_table_template = 0x610;
// The spam search folder ([MS-PST] 2.7.3.4.4); its update queue, criteria
// and search contents table share its index.
constexpr std::uint32_t nid_spam_search_folder = 0x2223;
constexpr std::uint32_t nid_type_search_update_queue = 0x06;
constexpr std::uint32_t nid_type_search_criteria_object = 0x07;
constexpr std::uint32_t nid_type_search_contents_table = 0x10;

// Template columns ([MS-PST] 2.4.4.4.1 hierarchy, 2.4.4.5.1 contents,
// 2.4.4.6.1 folder associated contents, 2.4.8.6.2.1 search contents,
// 2.4.5.1.2 recipients, 2.4.6.1.1 attachments); PidTagLtpRowId and
// PidTagLtpRowVer, which every table has, are added by TableWriter.
const std::vector<std::uint32_t> hierarchy_columns = {
    0x0E300102, 0x0E330014, 0x0E340102, 0x0E380003, 0x3001001F, 0x36020003,
    0x36030003, 0x360A000B, 0x3613001F, 0x66350003, 0x66360003};
const std::vector<std::uint32_t> contents_columns = {
    0x00170003, 0x001A001F, 0x00360003, 0x0037001F, 0x00390040, 0x0042001F, 0x0057000B,
    0x0058000B, 0x0070001F, 0x00710102, 0x0E03001F, 0x0E04001F, 0x0E060040, 0x0E070003,
    0x0E080003, 0x0E170003, 0x0E300102, 0x0E330014, 0x0E340102, 0x0E380003, 0x0E3C0102,
    0x0E3D0102, 0x10970003, 0x30080040, 0x30130102, 0x65C60003};
const std::vector<std::uint32_t> assoc_contents_columns = {
    0x001A001F, 0x0E070003, 0x0E170003, 0x3001001F, 0x6800001F, 0x6803000B, 0x68051003,
    0x682F001F, 0x70030003, 0x70040102, 0x70050102, 0x7006001F, 0x70070003};
const std::vector<std::uint32_t> search_contents_columns = {
    0x00170003, 0x001A001F, 0x00360003, 0x0037001F, 0x0042001F, 0x0057000B, 0x0058000B, 0x0E03001F, 0x0E04001F,
    0x0E05001F, 0x0E060040, 0x0E070003, 0x0E080003, 0x0E170003, 0x0E2A000B, 0x30080040, 0x67F10003};
const std::vector<std::uint32_t> recipient_columns = {
    0x0C150003, 0x0E0F000B, 0x0FF90102, 0x0FFE0003, 0x0FFF0102, 0x3001001F, 0x3002001F,
    0x3003001F, 0x300B0102, 0x39000003, 0x39FF001F, 0x3A40000B};
const std::vector<std::uint32_t> attachment_columns = {0x0E200003, 0x3704001F, 0x37050003, 0x370B0003};

// Store properties ([MS-PST] 2.4.3.1) and folder properties (2.4.4.1).
constexpr std::uint16_t tag_record_key = 0x0FF9;
constexpr std::uint16_t tag_ipm_subtree_entry_id = 0x35E0;
constexpr std::uint16_t tag_ipm_wastebasket_entry_id = 0x35E3;
constexpr std::uint16_t tag_finder_entry_id = 0x35E7;
constexpr std::uint16_t tag_valid_folder_mask = 0x35DF;
constexpr std::uint16_t tag_search_criteria = 0x660B;
constexpr std::uint16_t tag_attach_data_object = 0x3701;
constexpr std::uint32_t valid_folder_mask = 0x01 | 0x08 | 0x80;  // IPM subtree, wastebasket, finder
constexpr std::uint32_t msgflag_read = 0x01;
constexpr std::uint32_t nid_type_ltp = 0x1F;

Property prop(std::uint16_t id, pst::PropType type, Bytes value) {
    return Property{id, static_cast<std::uint16_t>(type), std::move(value), false};
}

// Folder names compare as Outlook compares them: ASCII letters in either case.
bool same_name(const Bytes& a, const Bytes& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto fold = [](unsigned char c) { return c >= 'A' && c <= 'Z' ? static_cast<unsigned char>(c | 0x20) : c; };
        if (i % 2 == 1 ? a[i] != b[i] : fold(a[i]) != fold(b[i])) return false;
    }
    return true;
}

std::uint32_t tag_of(const Property& p) { return std::uint32_t{p.id} << 16 | p.type; }

// The cells of `properties` a table with `columns` shows.
std::vector<Property> cells_for(const std::vector<Property>& properties, const std::vector<std::uint32_t>& columns) {
    std::vector<Property> cells;
    for (const Property& p : properties)
        if (!p.missing && std::find(columns.begin(), columns.end(), tag_of(p)) != columns.end()) cells.push_back(p);
    return cells;
}

// A table's columns: its template's and any other the rows carry, as many
// as a table holds beside the row id and version. A damaged source table
// can carry more (its columns beside the template's); the first ones
// met are kept, and `left_out` counts the others.
std::vector<std::uint32_t> columns_with(std::vector<std::uint32_t> columns, const std::vector<TableRow>& rows,
                                        std::uint64_t& left_out) {
    std::set<std::uint32_t> others;
    for (const TableRow& r : rows)
        for (const Property& p : r.cells) {
            if (std::find(columns.begin(), columns.end(), tag_of(p)) != columns.end()) continue;
            if (columns.size() < max_table_columns - 2)
                columns.push_back(tag_of(p));
            else
                others.insert(tag_of(p));
        }
    left_out += others.size();
    return columns;
}

// A compressed RTF body whose header, sizes or CRC fail (PST-0509, 0510)
// is written as the text it still gives, stored uncompressed
// ([MS-OXRTFCP] 2.1.3.1: "MELA", the sizes true, CRC 0), or left out when
// it gives none: copied as it was, the rebuilt store would hold the damage
// the check reported.
bool damaged_rtf(const Property& p) {
    return p.id == pst::tag::rtf_compressed && p.type == static_cast<std::uint16_t>(pst::PropType::binary) &&
           pst::check_rtf_header(ByteView(p.value.data(), p.value.size(), 0)).defect;
}

std::optional<Bytes> rtf_as_text(const Bytes& value) {
    const pst::Rtf rtf = pst::decompress_rtf(ByteView(value.data(), value.size(), 0));
    if (rtf.text.empty()) return std::nullopt;
    Bytes out = le_bytes(rtf.text.size() + 12, 4);
    for (const Bytes& field : {le_bytes(rtf.text.size(), 4), le_bytes(0x414C454D, 4), le_bytes(0, 4)})
        out.insert(out.end(), field.begin(), field.end());
    out.insert(out.end(), rtf.text.begin(), rtf.text.end());
    return out;
}

// A table's row ids must be distinct (they are its row index's keys); a
// damaged recipient table can give one id to several rows. Each later one
// gets the lowest id not in use, so no recipient is dropped.
void distinct_row_ids(std::vector<TableRow>& rows) {
    std::unordered_set<std::uint32_t> used;
    std::vector<std::size_t> repeated;
    for (std::size_t i = 0; i < rows.size(); ++i)
        if (!used.insert(rows[i].id).second) repeated.push_back(i);
    std::uint32_t fresh = 0;
    for (const std::size_t i : repeated) {
        while (used.count(fresh) != 0) ++fresh;
        rows[i].id = fresh;
        used.insert(fresh);
    }
}

}  // namespace

StoreWriter::StoreWriter(RandomOut& out, StoreOptions options) : ndb_(out, options.crypt), options_(std::move(options)) {
    new_folder(pst::nid_root_folder, pst::nid_root_folder, "", false);
    ipm_subtree_ = add_folder(pst::nid_root_folder, "Top of Personal Folders");
    search_root_ = add_folder(pst::nid_root_folder, "Search Root");
    deleted_items_ = add_folder(ipm_subtree_, "Deleted Items");
    new_folder(nid_spam_search_folder, pst::nid_root_folder, "SPAM Search Folder 2", true);
}

std::uint32_t StoreWriter::root() const { return pst::nid_root_folder; }

std::uint32_t StoreWriter::new_folder(std::uint32_t nid, std::uint32_t parent, const std::string& name, bool search) {
    Folder f;
    f.nid = nid;
    f.parent = parent;
    f.name = name;
    f.search = search;
    f.properties.push_back(prop(pst::tag::display_name, pst::PropType::string, utf16(name)));
    if (!search) {
        f.contents = std::make_unique<TableWriter>(ndb_, contents_columns, options_.table_heap_blocks);
        f.associated = std::make_unique<TableWriter>(ndb_, assoc_contents_columns);
    }
    folders_[nid] = std::move(f);
    if (nid != parent) folders_.at(parent).children.push_back(nid);
    return nid;
}

void StoreWriter::rename_folder(std::uint32_t nid, const std::string& name) {
    folders_.at(nid).name = name;
    for (Property& p : folders_.at(nid).properties)
        if (p.id == pst::tag::display_name) p.value = utf16(name);
}

std::uint32_t StoreWriter::child_named(std::uint32_t parent, const std::string& name) const {
    // Not the writer's own search folder, which holds no items: a damaged
    // store can have an ordinary folder of its name.
    const Bytes wanted = utf16(name);
    for (const std::uint32_t c : folders_.at(parent).children)
        for (const Property& p : folders_.at(c).properties)
            if (!folders_.at(c).search && p.id == pst::tag::display_name && same_name(p.value, wanted)) return c;
    return 0;
}

std::uint32_t StoreWriter::add_folder(std::uint32_t parent, const std::string& name, const std::string& container_class) {
    if (finished_ || !folders_.count(parent)) throw std::logic_error("PST writer: no such parent folder");
    // Outlook allows no two subfolders of one name: a second is the first.
    if (const std::uint32_t same = child_named(parent, name)) return same;
    const std::uint32_t nid = ++next_folder_index_ << 5 | pst::nid_type_normal_folder;
    new_folder(nid, parent, name, false);
    if (!container_class.empty())
        folders_.at(nid).properties.push_back(prop(pst::tag::container_class, pst::PropType::string, utf16(container_class)));
    return nid;
}

std::vector<Property> StoreWriter::carried(const std::vector<Property>& properties, const pst::NameMap* names) {
    std::vector<Property> out;
    for (const Property& p : properties) {
        // The check named the damage; it is left out, not written as it was.
        if (!pst::sound_value(p)) continue;
        std::optional<std::uint16_t> id = p.id;
        if (p.id >= 0x8000) {
            const pst::PropertyName* name = names ? names->name(p.id) : nullptr;
            id = name ? names_.id(*name) : std::nullopt;
        }
        if (!id) continue;
        out.push_back(p);
        out.back().id = *id;
        if (p.type == static_cast<std::uint16_t>(pst::PropType::string)) out.back().value = well_formed_utf16(p.value);
        if (!damaged_rtf(p)) continue;
        if (std::optional<Bytes> text = rtf_as_text(p.value)) out.back().value = std::move(*text);
        else out.pop_back();
    }
    return out;
}

std::uint32_t StoreWriter::add_message(std::uint32_t folder, const pst::Message& message, const pst::NameMap* names) {
    if (finished_ || !folders_.count(folder)) throw std::logic_error("PST writer: no such folder");
    Folder* f = &folders_.at(folder);
    if (!f->contents) throw std::logic_error("PST writer: a message filed in a search folder");
    while (f->continued_in != 0) f = &folders_.at(f->continued_in);
    const std::uint32_t nid = ++next_message_index_ << 5 | pst::nid_type_message;
    const auto [data, sub] = write_message(message, names, 0);
    const TableRow row{nid, cells_for(carried(message.properties.properties, names), contents_columns)};
    if (!f->contents->room_for(row)) f = &continuation(*f);
    ndb_.node(nid, data, sub, f->nid);
    f->contents->add(row);
    const Property* flags = message.properties.find(pst::tag::message_flags);
    if (!flags || (flags->as_uint() & msgflag_read) == 0) ++f->unread;
    return f->nid;
}

StoreWriter::Folder& StoreWriter::continuation(Folder& full) {
    const std::uint32_t first = full.continues != 0 ? full.continues : full.nid;
    std::string name;
    for (unsigned k = 2; name.empty() || child_named(full.parent, name) != 0; ++k)
        name = folders_.at(first).name + " (" + std::to_string(k) + ")";
    const std::uint32_t nid = add_folder(full.parent, name);
    Folder& next = folders_.at(nid);
    next.continues = first;
    for (const Property& p : full.properties)
        if (p.id == pst::tag::container_class) next.properties.push_back(p);
    full.continued_in = nid;
    continued_.emplace_back(full.nid, nid);
    return next;
}

std::vector<StoreWriter::Continuation> StoreWriter::continuations() const {
    std::vector<Continuation> out;
    for (const auto& [from, to] : continued_) out.push_back({folders_.at(from).name, folders_.at(to).name});
    return out;
}

void StoreWriter::add_associated(std::uint32_t folder, const pst::Message& item, const pst::NameMap* names) {
    if (finished_ || !folders_.count(folder)) throw std::logic_error("PST writer: no such folder");
    Folder& f = folders_.at(folder);
    if (!f.associated) throw std::logic_error("PST writer: an associated item filed in a search folder");
    const std::uint32_t nid = ++next_associated_index_ << 5 | pst::nid_type_associated_message;
    const auto [data, sub] = write_message(item, names, 0);
    ndb_.node(nid, data, sub, folder);
    f.associated->add({nid, cells_for(carried(item.properties.properties, names), assoc_contents_columns)});
}

// A message's PC, recipient table and attachments ([MS-PST] 2.4.5): a
// node's data and subnode trees, for a top-level node or an embedded
// message's subnode alike.
std::pair<std::uint64_t, std::uint64_t> StoreWriter::write_message(const pst::Message& message,
                                                                   const pst::NameMap* names, unsigned depth) {
    NodeBuilder node(ndb_, pst::HeapClient::property_context);
    std::vector<TableRow> recipients;
    if (message.recipients)
        for (const TableRow& r : message.recipients->rows) recipients.push_back({r.id, carried(r.cells, names)});
    distinct_row_ids(recipients);
    {
        const auto [d, s] = write_table(ndb_, columns_with(recipient_columns, recipients, columns_left_out_), recipients);
        node.add_subnode({pst::nid_recipient_table, d, s});
    }
    std::vector<TableRow> attachment_rows;
    std::uint32_t index = 0;
    for (const pst::Attachment& a : message.attachments) {
        // What the source lost is in the report; an attachment without its
        // content would be the rebuilt store's own damage.
        if (!pst::content_read(a)) continue;
        const std::uint32_t nid = ++index << 5 | pst::nid_type_attachment;
        NodeBuilder attachment(ndb_, pst::HeapClient::property_context);
        std::vector<Property> props;
        for (const Property& p : carried(a.properties.properties, names))
            if (p.id != tag_attach_data_object || p.type != static_cast<std::uint16_t>(pst::PropType::object))
                props.push_back(p);
        // PtypObject values name a subnode and its size ([MS-PST] 2.3.3.5).
        const auto object = [&](std::uint32_t sub_nid, std::uint64_t bid_data, std::uint64_t bid_sub, std::uint64_t size) {
            attachment.add_subnode({sub_nid, bid_data, bid_sub});
            props.push_back(prop(tag_attach_data_object, pst::PropType::object, le_bytes(sub_nid | size << 32, 8)));
        };
        if (a.embedded && depth + 1 < pst::max_embedding_depth) {
            const auto [d, s] = write_message(*a.embedded, names, depth + 1);
            object(1U << 5 | pst::nid_type_message, d, s, 0);
        } else if (a.object) {
            object(1U << 5 | nid_type_ltp, ndb_.data_tree(ByteView(a.object->data(), a.object->size())), 0,
                   a.object->size());
        }
        write_pc(attachment, props);
        const auto [d, s] = attachment.write();
        node.add_subnode({nid, d, s});
        attachment_rows.push_back({nid, cells_for(props, attachment_columns)});
    }
    if (!attachment_rows.empty()) {
        const auto [d, s] = write_table(ndb_, attachment_columns, attachment_rows);
        node.add_subnode({pst::nid_attachment_table, d, s});
    }
    write_pc(node, carried(message.properties.properties, names));
    return node.write();
}

std::vector<unsigned char> StoreWriter::entry_id(std::uint32_t nid) const {
    // EntryID ([MS-PST] 2.4.3.2): rgbFlags, the store's uid, the NID.
    Bytes id(24, 0);
    std::copy(options_.record_key.begin(), options_.record_key.end(), id.begin() + 4);
    for (unsigned i = 0; i < 4; ++i) id[20 + i] = static_cast<unsigned char>(nid >> (8 * i));
    return id;
}

void StoreWriter::write_pc_node(std::uint32_t nid, std::uint32_t parent, std::vector<Property> properties) {
    NodeBuilder b(ndb_, pst::HeapClient::property_context);
    write_pc(b, std::move(properties));
    const auto [d, s] = b.write();
    ndb_.node(nid, d, s, parent);
}

void StoreWriter::write_table_node(std::uint32_t nid, const std::vector<std::uint32_t>& columns,
                                   const std::vector<TableRow>& rows) {
    const auto [d, s] = write_table(ndb_, columns, rows);
    ndb_.node(nid, d, s, 0);
}

// A folder's properties with the counts of what was written in it.
std::vector<Property> StoreWriter::with_counts(const Folder& f) {
    std::vector<Property> props = f.properties;
    props.push_back(prop(pst::tag::content_count, pst::PropType::integer32, le_bytes(f.contents ? f.contents->rows() : 0, 4)));
    props.push_back(prop(pst::tag::content_unread, pst::PropType::integer32, le_bytes(f.unread, 4)));
    props.push_back(prop(pst::tag::subfolders, pst::PropType::boolean, le_bytes(f.children.empty() ? 0 : 1, 1)));
    return props;
}

// A folder's PC, then its hierarchy, contents and associated contents
// tables ([MS-PST] 2.4.4); a search folder has a search contents table
// and its update queue and criteria instead ([MS-PST] 2.4.8.6).
void StoreWriter::write_folder(Folder& f) {
    write_pc_node(f.nid, f.parent, with_counts(f));
    if (f.search) {
        ndb_.node(pst::sibling_nid(f.nid, nid_type_search_update_queue), 0, 0, 0);
        write_pc_node(pst::sibling_nid(f.nid, nid_type_search_criteria_object), 0,
                      {prop(tag_search_criteria, pst::PropType::integer32, le_bytes(0, 4))});
        write_table_node(pst::sibling_nid(f.nid, nid_type_search_contents_table), search_contents_columns, {});
        return;
    }
    std::vector<TableRow> children;
    for (const std::uint32_t c : f.children) {
        children.push_back({c, cells_for(with_counts(folders_.at(c)), hierarchy_columns)});
    }
    write_table_node(pst::sibling_nid(f.nid, pst::nid_type_hierarchy_table), hierarchy_columns, children);
    const auto [d, s] = f.contents->finish();
    ndb_.node(pst::sibling_nid(f.nid, pst::nid_type_contents_table), d, s, 0);
    const auto [ad, as] = f.associated->finish();
    ndb_.node(pst::sibling_nid(f.nid, pst::nid_type_assoc_contents_table), ad, as, 0);
}

// The nodes [MS-PST] 2.7.1 requires of every PST besides the folders.
void StoreWriter::write_special_nodes() {
    std::vector<Property> store{
        prop(tag_record_key, pst::PropType::binary, Bytes(options_.record_key.begin(), options_.record_key.end())),
        prop(pst::tag::display_name, pst::PropType::string, utf16(options_.display_name)),
        prop(tag_valid_folder_mask, pst::PropType::integer32, le_bytes(valid_folder_mask, 4)),
        prop(tag_ipm_subtree_entry_id, pst::PropType::binary, entry_id(ipm_subtree_)),
        prop(tag_ipm_wastebasket_entry_id, pst::PropType::binary, entry_id(deleted_items_)),
        prop(tag_finder_entry_id, pst::PropType::binary, entry_id(search_root_)),
        prop(pst::tag::pst_password, pst::PropType::integer32, le_bytes(options_.password_crc, 4)),
    };
    write_pc_node(pst::nid_message_store, 0, store);

    write_pc_node(nid_name_to_id_map, 0, names_.properties());

    ndb_.node(nid_search_management_queue, 0, 0, 0);
    ndb_.node(nid_search_domain_object, 0, 0, 0);
    // The search activity list names the search folders ([MS-PST] 2.4.8.4.2).
    const Bytes activity = le_bytes(nid_spam_search_folder, 4);
    ndb_.node(nid_search_activity_list, ndb_.data_tree(ByteView(activity.data(), activity.size())), 0, 0);

    write_table_node(nid_hierarchy_table_template, hierarchy_columns, {});
    write_table_node(nid_contents_table_template, contents_columns, {});
    write_table_node(nid_assoc_contents_table_template, assoc_contents_columns, {});
    write_table_node(nid_search_contents_table_template, search_contents_columns, {});
    write_table_node(pst::nid_attachment_table, attachment_columns, {});
    write_table_node(pst::nid_recipient_table, recipient_columns, {});
}

void StoreWriter::finish() {
    if (finished_) return;
    finished_ = true;
    write_special_nodes();
    for (auto& [nid, f] : folders_) write_folder(f);
    std::array<std::uint32_t, 32> rgnid{};
    rgnid.fill(0x400);
    for (const std::uint32_t t : {pst::nid_type_normal_folder, pst::nid_type_hierarchy_table, pst::nid_type_contents_table,
                                  pst::nid_type_assoc_contents_table})
        rgnid[t] = next_folder_index_;
    rgnid[pst::nid_type_search_folder] = 0x4000;
    rgnid[pst::nid_type_message] = next_message_index_;
    rgnid[pst::nid_type_associated_message] = next_associated_index_;
    ndb_.set_nid_high_water(rgnid);
    ndb_.finish();
}

}  // namespace mailfsck::pstw
