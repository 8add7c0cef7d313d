// Salvaged PST folders and messages as a new PST (repair/pst_writer/): the
// source's folder tree under the new store's own mandatory folders, each
// message copied property by property. Shared by the PST output sink and
// the fuzz targets, which write into memory.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "repair/pst_writer/store_writer.h"
#include "repair/store/sink.h"

namespace mailfsck {

class PstOutput {
public:
    // `store_name` names the store and, hashed, makes its record key, so
    // that the same input gives the same bytes. `mail_root` is "" for a
    // PST source, whose folder paths start at the PST's root folder. A
    // mail store's (mbox, Maildir, .eml) paths start at its top folder,
    // which becomes a folder named `mail_root` in the IPM subtree, and its
    // other folders siblings of it, as an IMAP account shows them.
    PstOutput(pstw::RandomOut& out, const std::string& store_name, std::string mail_root = {});
    // The source store's name and password become this one's; a source whose
    // special folders are not known has its folders put in the IPM subtree.
    void begin_store(const StoreInfo& info);
    void begin_folder(const std::string& folder, const FolderInfo& info);
    // A message read from a PST is copied property by property
    // (OutMessage::pst_message); any other is converted from its bytes.
    void message(const OutMessage& m);
    // A folder-associated item of a PST source's folder, copied as it is.
    void associated(const std::string& folder, const pst::Message& item, const pst::NameMap* names);
    // Writes everything that waits for the end (folders, B-trees, maps).
    void finish() { store_.finish(); }
    // For the report: folders continued in another (StoreWriter::add_message),
    // and messages whose damaged recipient table had more kinds of
    // properties than the rebuilt one has columns for.
    [[nodiscard]] std::vector<std::string> notes() const;

private:
    std::uint32_t new_folder(const std::string& path, const FolderInfo& info);
    std::uint32_t folder_for(const std::string& path);
    // Notes `what` if adding it left recipient properties out.
    void note_columns_left_out(std::uint64_t before, const std::string& what);

    pstw::StoreWriter store_;
    std::string mail_root_;
    // Where the source root's subfolders go: the root, beside the IPM
    // subtree that is one of them; inside the IPM subtree when the source
    // cannot say which, so that Outlook, which shows only that tree, shows
    // them.
    bool under_ipm_subtree_ = false;
    std::map<std::string, std::uint32_t> folders_;  // by source path
    std::vector<std::string> left_out_;
};

}  // namespace mailfsck
