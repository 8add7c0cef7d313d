// Reading a directory store without trusting it: entries listed without
// following links, in a stable order, and files opened read-only, never
// through a link.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parsers/bytes/source.h"

namespace mailfsck {

enum class EntryType { file, directory, link, special };

struct DirEntry {
    std::string name;  // raw bytes of the name
    EntryType type = EntryType::file;
    std::uint64_t size = 0;
    std::int64_t mtime = 0;
};

struct Listing {
    std::vector<DirEntry> entries;  // sorted by name (bytewise)
    std::string error;              // why the directory could not be read, or ""
};

// Lists `dir`, "." and ".." left out.
[[nodiscard]] Listing list_directory(const std::string& dir);

// An open directory, to open the files in it by name alone.
class DirFd {
public:
    explicit DirFd(const std::string& dir);
    ~DirFd();
    DirFd(const DirFd&) = delete;
    DirFd& operator=(const DirFd&) = delete;
    // -1 when the directory could not be opened (callers then use paths).
    [[nodiscard]] int get() const { return fd_; }

private:
    int fd_;
};

// "a/b" from "a" and "b"; "" is the root.
[[nodiscard]] std::string join_path(const std::string& dir, const std::string& name);

// The path of `rel` (relative, "" for the root itself) under `root`.
[[nodiscard]] std::string under(const std::string& root, const std::string& rel);

// Directory trees deeper than this are not real mail stores; a link loop
// cannot occur (links are not followed), but a hostile tree can be deep.
inline constexpr int max_tree_depth = 32;
inline constexpr std::string_view too_deep_detail = "deeper than 32 levels";

}  // namespace mailfsck
