// libpff, the independent PST reader (not ours), as the fuzz targets'
// second judge of a PST the writer made: it must open it from memory and
// find in its folder tree every message written.
#pragma once

#include <libbfio.h>
#include <libpff.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mailfsck::fuzz {

// Messages in the folder tree libpff reads from `bytes`; nullopt when it
// cannot open them or read a folder.
inline std::optional<std::uint64_t> libpff_messages(std::string& bytes) {
    libbfio_handle_t* handle = nullptr;
    libpff_file_t* file = nullptr;
    libpff_item_t* root = nullptr;
    std::optional<std::uint64_t> count;
    if (libbfio_memory_range_initialize(&handle, nullptr) == 1 &&
        libbfio_memory_range_set(handle, reinterpret_cast<std::uint8_t*>(bytes.data()), bytes.size(), nullptr) == 1 &&
        libpff_file_initialize(&file, nullptr) == 1 &&
        libpff_file_open_file_io_handle(file, handle, LIBPFF_OPEN_READ, nullptr) == 1 &&
        libpff_file_get_root_folder(file, &root, nullptr) == 1) {
        count = 0;
        // The writer's folder tree is no deeper than the salvage's, and a
        // folder of it is freed once its subfolders are taken.
        std::vector<libpff_item_t*> pending{root};
        root = nullptr;
        while (!pending.empty()) {
            libpff_item_t* folder = pending.back();
            pending.pop_back();
            int messages = 0;
            int folders = 0;
            if (libpff_folder_get_number_of_sub_messages(folder, &messages, nullptr) != 1 ||
                libpff_folder_get_number_of_sub_folders(folder, &folders, nullptr) != 1)
                count.reset();
            if (count) *count += static_cast<std::uint64_t>(messages);
            for (int i = 0; count && i < folders; ++i) {
                libpff_item_t* sub = nullptr;
                if (libpff_folder_get_sub_folder(folder, i, &sub, nullptr) == 1) pending.push_back(sub);
                else count.reset();
            }
            libpff_item_free(&folder, nullptr);
        }
    }
    if (root) libpff_item_free(&root, nullptr);
    if (file) {
        libpff_file_close(file, nullptr);
        libpff_file_free(&file, nullptr);
    }
    if (handle) libbfio_handle_free(&handle, nullptr);
    return count;
}

}  // namespace mailfsck::fuzz
