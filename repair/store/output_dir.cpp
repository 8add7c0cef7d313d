#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "repair/store/file_writer.h"
#include "repair/store/sink.h"

namespace mailfsck {
namespace {

void fsync_dir(const std::filesystem::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

void sync_tree(const std::filesystem::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("cannot open " + dir.string() + ": " + std::strerror(errno));
    const int rc = ::syncfs(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) throw std::runtime_error("cannot sync " + dir.string() + ": " + std::strerror(err));
}

// The directories on the way to `dir` that do not exist yet, made as
// `mkdir -p` makes them, each made durable in its parent.
void make_parents(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> missing;
    std::error_code ec;
    for (std::filesystem::path p = dir; !p.empty() && !std::filesystem::exists(p, ec); p = p.parent_path()) {
        missing.push_back(p);
        if (p == p.parent_path()) break;
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
        if (!std::filesystem::create_directory(*it, ec) && ec)
            throw std::runtime_error("cannot create directory " + it->string() + ": " + ec.message());
        fsync_dir(it->has_parent_path() ? it->parent_path() : ".");
    }
}

}  // namespace

OutputDir::OutputDir(std::filesystem::path final_path) : final_(std::move(final_path)) {
    const std::filesystem::path parent = final_.has_parent_path() ? final_.parent_path() : ".";
    make_parents(parent);
    std::string name = final_.filename().string();
    name.insert(0, 1, '.');
    name.append(".mailfsck-XXXXXX");
    std::string tmpl = (parent / name).string();
    if (::mkdtemp(tmpl.data()) == nullptr)
        throw std::runtime_error("cannot create staging directory in " + parent.string() + ": " + std::strerror(errno));
    staging_ = tmpl;
}

OutputDir::~OutputDir() {
    if (committed_) return;
    std::error_code ec;
    std::filesystem::remove_all(staging_, ec);
}

void OutputDir::write_file(const std::string& name, const std::string& bytes) const {
    FileWriter w(staging_ / name);
    w.write(bytes);
    w.close();
}

void OutputDir::commit() {
    // An empty existing directory was accepted by the caller; replace it.
    std::error_code ec;
    if (std::filesystem::is_directory(final_, ec)) std::filesystem::remove(final_, ec);
    // Message files are written without their own fsync (Sync::with_directory):
    // everything under the staging directory reaches the disk here, before
    // the rename makes it visible.
    sync_tree(staging_);
    if (::rename(staging_.c_str(), final_.c_str()) != 0)
        throw std::runtime_error("cannot rename " + staging_.string() + " to " + final_.string() + ": " +
                                 std::strerror(errno));
    fsync_dir(final_.has_parent_path() ? final_.parent_path() : ".");
    committed_ = true;
}

}  // namespace mailfsck
