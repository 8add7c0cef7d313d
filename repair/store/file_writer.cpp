#include "file_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace mailfsck {

namespace {
constexpr std::size_t buffer_size = 1 << 20;
}

FileWriter::FileWriter(const std::filesystem::path& path, Sync sync) : sync_(sync), path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0) throw std::runtime_error("cannot create " + path.string() + ": " + std::strerror(errno));
    buf_.reserve(buffer_size);
}

FileWriter::~FileWriter() {
    if (fd_ >= 0) ::close(fd_);
}

void FileWriter::write(std::string_view bytes) {
    written_ += bytes.size();
    if (buf_.size() + bytes.size() > buffer_size) flush();
    if (bytes.size() >= buffer_size) {
        buf_.append(bytes);
        flush();
        return;
    }
    buf_.append(bytes);
}

void FileWriter::flush() {
    std::size_t done = 0;
    while (done < buf_.size()) {
        const ssize_t n = ::write(fd_, buf_.data() + done, buf_.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error("cannot write " + path_.string() + ": " + std::strerror(errno));
        }
        done += static_cast<std::size_t>(n);
    }
    buf_.clear();
}

void FileWriter::close() {
    flush();
    if (sync_ == Sync::on_close && ::fsync(fd_) != 0) throw std::runtime_error("cannot fsync " + path_.string() + ": " + std::strerror(errno));
    // A file synced later with its directory starts its writeback now, so
    // that the final sync finds little left to wait for. A hint: failure
    // (a file system without it) changes nothing.
    if (sync_ == Sync::with_directory) (void)::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
    if (::close(fd_) != 0) {
        fd_ = -1;
        throw std::runtime_error("cannot close " + path_.string() + ": " + std::strerror(errno));
    }
    fd_ = -1;
}

PositionedFile::PositionedFile(const std::filesystem::path& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0) throw std::runtime_error("cannot create " + path.string() + ": " + std::strerror(errno));
}

PositionedFile::~PositionedFile() {
    if (fd_ >= 0) ::close(fd_);
}

void PositionedFile::write_at(std::uint64_t offset, ByteView bytes) {
    std::uint64_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error("cannot write " + path_.string() + ": " + std::strerror(errno));
        }
        done += static_cast<std::uint64_t>(n);
    }
}

void PositionedFile::close() {
    if (::fsync(fd_) != 0) throw std::runtime_error("cannot fsync " + path_.string() + ": " + std::strerror(errno));
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw std::runtime_error("cannot close " + path_.string() + ": " + std::strerror(errno));
}

void set_mtime(const std::filesystem::path& path, std::int64_t seconds) {
    const timespec t{static_cast<time_t>(seconds), 0};
    const std::array<timespec, 2> times{t, t};
    if (::utimensat(AT_FDCWD, path.c_str(), times.data(), 0) != 0)
        throw std::runtime_error("cannot set the time of " + path.string() + ": " + std::strerror(errno));
}

}  // namespace mailfsck
