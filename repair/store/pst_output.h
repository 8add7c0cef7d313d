// Salvaged PST folders and messages as a new PST (repair/pst_writer/): the
// source's folder tree under the new store's own mandatory folders, each
// message copied property by property. Shared by the PST output sink and
// the fuzz targets, which write into memory.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "repair/pst_writer/store_writer.h"
#include "repair/store/sink.h"

namespace mailfsck {

class PstOutput {
public:
    // `store_name` names the store and, hashed, makes its record key, so
    // that the same input gives the same bytes.
    PstOutput(pstw::RandomOut& out, const std::string& store_name);
    void begin_folder(const std::string& folder, const FolderInfo& info);
    // `m` must carry its PST message (OutMessage::pst_message).
    void message(const OutMessage& m);
    // Writes everything that waits for the end (folders, B-trees, maps).
    void finish() { store_.finish(); }

private:
    std::uint32_t new_folder(const std::string& path, const FolderInfo& info);
    std::uint32_t folder_for(const std::string& path);

    pstw::StoreWriter store_;
    std::map<std::string, std::uint32_t> folders_;  // by source path
};

}  // namespace mailfsck
