#include "tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mailfsck {
namespace {

EntryType type_of(mode_t mode) {
    if (S_ISREG(mode)) return EntryType::file;
    if (S_ISDIR(mode)) return EntryType::directory;
    if (S_ISLNK(mode)) return EntryType::link;
    return EntryType::special;
}

}  // namespace

Listing list_directory(const std::string& dir) {
    Listing out;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
        out.error = std::strerror(errno);
        return out;
    }
    const int fd = ::dirfd(d);
    while (true) {
        errno = 0;
        const dirent* e = ::readdir(d);
        if (e == nullptr) {
            if (errno != 0) out.error = std::strerror(errno);
            break;
        }
        const std::string_view name = e->d_name;
        if (name == "." || name == "..") continue;
        DirEntry entry;
        entry.name = std::string(name);
        struct stat st {};
        // An entry that vanished or cannot be stat'ed counts as special: never opened.
        const bool known = ::fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0;
        entry.type = known ? type_of(st.st_mode) : EntryType::special;
        if (entry.type == EntryType::file) entry.size = static_cast<std::uint64_t>(st.st_size);
        entry.mtime = st.st_mtim.tv_sec;
        out.entries.push_back(std::move(entry));
    }
    ::closedir(d);
    std::sort(out.entries.begin(), out.entries.end(),
              [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
    return out;
}

DirFd::DirFd(const std::string& dir) : fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {}

DirFd::~DirFd() {
    if (fd_ >= 0) ::close(fd_);
}

std::string join_path(const std::string& dir, const std::string& name) {
    return dir.empty() ? name : dir + "/" + name;
}

std::string under(const std::string& root, const std::string& rel) {
    std::string out;
    out.reserve(root.size() + 1 + rel.size());
    out.append(root);
    if (!rel.empty()) {
        out.push_back('/');
        out.append(rel);
    }
    return out;
}

}  // namespace mailfsck
