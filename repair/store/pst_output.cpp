#include "pst_output.h"

#include <stdexcept>

#include "parsers/bytes/sha256.h"
#include "parsers/mime/decode.h"
#include "repair/pst_writer/from_mime.h"

namespace mailfsck {
namespace {

pstw::StoreOptions options(const std::string& store_name) {
    pstw::StoreOptions o;
    o.display_name = store_name;
    Sha256 sha;
    sha.update("mailfsck PST record key " + store_name);
    const std::string digest = sha.hex();
    for (std::size_t i = 0; i < o.record_key.size(); ++i)
        o.record_key[i] = static_cast<unsigned char>(std::stoi(digest.substr(2 * i, 2), nullptr, 16));
    return o;
}

}  // namespace

PstOutput::PstOutput(pstw::RandomOut& out, const std::string& store_name, std::string mail_root)
    : store_(out, options(store_name)), mail_root_(std::move(mail_root)) {}

void PstOutput::begin_store(const StoreInfo& info) {
    if (!info.name.empty()) store_.set_display_name(info.name);
    if (info.password_crc != 0) store_.set_password_crc(info.password_crc);
    under_ipm_subtree_ = info.folders_inside_ipm_subtree;
}

void PstOutput::begin_folder(const std::string& folder, const FolderInfo& info) {
    // A std::map's iterators outlive the parents new_folder may add.
    if (auto [it, added] = folders_.try_emplace(folder, 0); added) it->second = new_folder(folder, info);
}

void PstOutput::message(const OutMessage& m) {
    if (m.pst_message) {
        const std::uint64_t before = store_.columns_left_out();
        store_.add_message(folder_for(m.folder), *m.pst_message, m.pst_names);
        note_columns_left_out(before, "message " + std::to_string(m.number) + (m.source.empty() ? "" : " (" + m.source + ")"));
        return;
    }
    StringOut bytes;
    write_message_file(bytes, m);
    pstw::MailState state{m.flags, m.mtime};
    // An mbox keeps the delivery date in the From_ line.
    if (!state.received && m.separator.starts_with("From ")) state.received = mime::parse_date(m.separator.substr(5));
    store_.add_message(folder_for(m.folder), pstw::message_from_mime(bytes.text, state), nullptr);
}

// Unlike messages, the root folder's own items (client settings) stay in
// the root folder, where their client looks for them.
void PstOutput::associated(const std::string& folder, const pst::Message& item, const pst::NameMap* names) {
    const std::uint64_t before = store_.columns_left_out();
    store_.add_associated(folder.empty() && mail_root_.empty() ? store_.root() : folder_for(folder), item, names);
    note_columns_left_out(before, "an associated item of folder \"" + folder + "\"");
}

void PstOutput::note_columns_left_out(std::uint64_t before, const std::string& what) {
    const std::uint64_t n = store_.columns_left_out() - before;
    if (n != 0)
        left_out_.push_back(what + ": " + std::to_string(n) + " kind(s) of recipient property left out, beyond the " +
                            "255 columns a PST table holds (its damaged recipient table had more)");
}

// The source's special folders are this store's own, renamed as the
// source named them. The folders repair makes (Lost and Found) go
// into the IPM subtree, where Outlook shows them; so do messages filed
// in the root. Search folders hold no items of their own and are not
// carried over (Outlook makes its own again): what is filed under
// them goes to the search root.
std::uint32_t PstOutput::new_folder(const std::string& path, const FolderInfo& info) {
    const auto dot = path.rfind('.');
    const std::string name = !info.name.empty() ? info.name : dot == std::string::npos ? path : path.substr(dot + 1);
    const auto special = [&](std::uint32_t nid) {
        if (!name.empty()) store_.rename_folder(nid, name);
        return nid;
    };
    switch (info.role) {
        case FolderInfo::Role::ipm_subtree: return special(store_.ipm_subtree());
        case FolderInfo::Role::deleted_items: return special(store_.deleted_items());
        case FolderInfo::Role::search_root: return special(store_.search_root());
        case FolderInfo::Role::search_folder: return store_.search_root();
        case FolderInfo::Role::made_by_repair: return store_.add_folder(store_.ipm_subtree(), name);
        case FolderInfo::Role::ordinary: break;
    }
    if (!mail_root_.empty()) {
        const std::uint32_t parent = dot == std::string::npos ? store_.ipm_subtree() : folder_for(path.substr(0, dot));
        return store_.add_folder(parent, path.empty() ? mail_root_ : name, "IPF.Note");
    }
    if (path.empty()) return store_.ipm_subtree();
    const std::uint32_t top = under_ipm_subtree_ ? store_.ipm_subtree() : store_.root();
    const std::uint32_t parent = dot == std::string::npos ? top : folder_for(path.substr(0, dot));
    return store_.add_folder(parent, name, info.container_class);
}

std::vector<std::string> PstOutput::notes() const {
    std::vector<std::string> out;
    for (const pstw::StoreWriter::Continuation& c : store_.continuations())
        out.push_back("folder \"" + c.folder + "\" holds as many messages as one PST folder's contents table can list " +
                      "(65,536 heap blocks of their values, one subnode tree); the messages after went to a new " +
                      "folder beside it, \"" +
                      c.continued_in + "\"");
    out.insert(out.end(), left_out_.begin(), left_out_.end());
    return out;
}

std::uint32_t PstOutput::folder_for(const std::string& path) {
    auto [it, added] = folders_.try_emplace(path, 0);
    if (added) it->second = new_folder(path, {});
    return it->second;
}

}  // namespace mailfsck
