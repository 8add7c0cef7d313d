#include "source.h"

#include "sha256.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/iostreams/device/file_descriptor.hpp>
#include <boost/iostreams/filter/bzip2.hpp>
#include <boost/iostreams/filter/gzip.hpp>
#include <boost/iostreams/filter/lzma.hpp>
#include <boost/iostreams/filtering_stream.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace mailfsck {
namespace {

std::string errno_text() { return std::strerror(errno); }

// Owns a read-only descriptor.
class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    [[nodiscard]] int get() const { return fd_; }

private:
    int fd_;
};

// A read-only private mapping of a whole descriptor. An empty file maps to
// an empty view (mmap refuses length 0).
class MappedSource final : public Source {
public:
    MappedSource(int fd, std::uint64_t size, Compression c, std::uint64_t stored) : Source(c, stored), size_(size) {
        if (size_ == 0) return;
        void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) throw SourceError("cannot map file: " + errno_text());
        ::madvise(p, size_, MADV_SEQUENTIAL);
        map_ = p;
        // Kept for read(); without it (no descriptor left), read() uses the mapping.
        fd_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    }
    ~MappedSource() override {
        if (map_ != nullptr) ::munmap(map_, size_);
        if (fd_ >= 0) ::close(fd_);
    }
    MappedSource(const MappedSource&) = delete;
    MappedSource& operator=(const MappedSource&) = delete;
    [[nodiscard]] ByteView bytes() const override {
        return {static_cast<const unsigned char*>(map_), map_ ? size_ : 0, 0};
    }
    void release_below(std::uint64_t offset) const override {
        constexpr std::uint64_t chunk = 16u << 20;  // madvise in large steps, not per message
        offset = std::min(offset, size_) & ~(chunk - 1);
        if (map_ == nullptr || offset <= released_) return;
        ::madvise(static_cast<char*>(map_) + released_, offset - released_, MADV_DONTNEED);
        released_ = offset;
    }
    void release_all() const override {
        if (map_ != nullptr) ::madvise(map_, size_, MADV_DONTNEED);
        released_ = 0;
    }
    [[nodiscard]] ByteView read(std::uint64_t offset, std::uint64_t length,
                                std::vector<unsigned char>& buffer) const override {
        if (fd_ < 0) return bytes().sub(offset, length);
        if (offset >= size_) return {buffer.data(), 0, offset};
        buffer.resize(std::min(length, size_ - offset));
        std::uint64_t done = 0;
        while (done < buffer.size()) {
            const ssize_t n = ::pread(fd_, buffer.data() + done, buffer.size() - done, static_cast<off_t>(offset + done));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;  // the file shrank, or cannot be read: fewer bytes
            done += static_cast<std::uint64_t>(n);
        }
        return {buffer.data(), done, offset};
    }

private:
    void* map_ = nullptr;
    int fd_ = -1;
    std::uint64_t size_;
    mutable std::uint64_t released_ = 0;
};

// A small file read whole: for the many small files of a Maildir, one
// read() costs less than setting up and tearing down a mapping.
class ReadSource final : public Source {
public:
    ReadSource(int fd, std::uint64_t size)
        : Source(Compression::none, size), bytes_(std::make_unique_for_overwrite<unsigned char[]>(size)) {
        while (size_ < size) {
            const ssize_t n = ::pread(fd, bytes_.get() + size_, size - size_, static_cast<off_t>(size_));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw SourceError("cannot read: " + errno_text());
            if (n == 0) break;  // the file shrank under us: what is there is what we check
            size_ += static_cast<std::uint64_t>(n);
        }
    }
    [[nodiscard]] ByteView bytes() const override { return {bytes_.get(), size_, 0}; }
    void release_below(std::uint64_t /*offset*/) const override {}
    void release_all() const override {}
    [[nodiscard]] ByteView read(std::uint64_t offset, std::uint64_t length,
                                std::vector<unsigned char>& /*buffer*/) const override {
        return bytes().sub(offset, length);
    }

private:
    std::unique_ptr<unsigned char[]> bytes_;
    std::uint64_t size_ = 0;
};

class MemorySource final : public Source {
public:
    explicit MemorySource(ByteView v) : Source(Compression::none, v.size()), v_(v) {}
    [[nodiscard]] ByteView bytes() const override { return v_; }
    void release_below(std::uint64_t /*offset*/) const override {}
    void release_all() const override {}
    [[nodiscard]] ByteView read(std::uint64_t offset, std::uint64_t length,
                                std::vector<unsigned char>& /*buffer*/) const override {
        return bytes().sub(offset, length);
    }

private:
    ByteView v_;
};

Compression sniff(int fd) {
    std::array<unsigned char, 8> head{};
    const ssize_t n = ::pread(fd, head.data(), head.size(), 0);
    if (n < 0) throw SourceError("cannot read: " + errno_text());
    return detect_compression(ByteView(head.data(), static_cast<std::uint64_t>(n)));
}

// Inflates `fd` into an unlinked temporary file and returns its descriptor.
int inflate_to_temp(int fd, Compression c) {
    namespace io = boost::iostreams;
    const char* dir = std::getenv("TMPDIR");
    std::string tmpl = std::string(dir && *dir ? dir : "/tmp") + "/mailfsck-inflate-XXXXXX";
    std::vector<char> name(tmpl.begin(), tmpl.end());
    name.push_back('\0');
    const int out = ::mkstemp(name.data());
    if (out < 0) throw SourceError("cannot create temporary file: " + errno_text());
    ::unlink(name.data());
    try {
        io::filtering_istream in;
        switch (c) {
            case Compression::gzip: in.push(io::gzip_decompressor()); break;
            case Compression::bzip2: in.push(io::bzip2_decompressor()); break;
            case Compression::xz: in.push(io::lzma_decompressor()); break;
            case Compression::none: break;
        }
        in.push(io::file_descriptor_source(fd, io::never_close_handle));
        std::vector<char> buf(1 << 20);
        while (in) {
            in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
            const std::streamsize got = in.gcount();
            for (std::streamsize done = 0; done < got;) {
                const ssize_t w = ::write(out, buf.data() + done, static_cast<std::size_t>(got - done));
                if (w < 0) throw SourceError("cannot write temporary file: " + errno_text());
                done += w;
            }
        }
        if (in.bad()) throw SourceError(std::string(compression_name(c)) + " stream is corrupt");
    } catch (const io::gzip_error& e) {
        ::close(out);
        throw SourceError(std::string("gzip stream is corrupt: ") + e.what());
    } catch (const io::bzip2_error& e) {
        ::close(out);
        throw SourceError(std::string("bzip2 stream is corrupt: ") + e.what());
    } catch (const io::lzma_error& e) {
        ::close(out);
        throw SourceError(std::string("xz stream is corrupt: ") + e.what());
    } catch (...) {
        ::close(out);
        throw;
    }
    return out;
}

}  // namespace

std::string_view compression_name(Compression c) {
    switch (c) {
        case Compression::gzip: return "gzip";
        case Compression::bzip2: return "bzip2";
        case Compression::xz: return "xz";
        case Compression::none: break;
    }
    return "none";
}

Compression detect_compression(const ByteView& head) {
    if (head.starts_with("\x1f\x8b")) return Compression::gzip;
    if (head.starts_with("BZh") && head.at_or(3, 0) >= '1' && head.at_or(3, 0) <= '9') return Compression::bzip2;
    if (head.starts_with(std::string_view("\xfd" "7zXZ\0", 6))) return Compression::xz;
    return Compression::none;
}

std::unique_ptr<Source> Source::open(const std::string& path, Links links, int relative_to) {
    // O_RDONLY is the whole point: the input store is never opened for
    // writing. O_NONBLOCK keeps a FIFO or device from blocking the open; such
    // files are refused below, and a regular file ignores the flag.
    const int nofollow = links == Links::refuse ? O_NOFOLLOW : 0;
    Fd fd(::openat(relative_to < 0 ? AT_FDCWD : relative_to, path.c_str(),
                   O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | nofollow));
    if (fd.get() < 0) throw SourceError("cannot open: " + errno_text());
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw SourceError("cannot stat: " + errno_text());
    if (S_ISDIR(st.st_mode)) throw SourceError("is a directory");
    if (!S_ISREG(st.st_mode)) throw SourceError("not a regular file");
    const auto stored = static_cast<std::uint64_t>(st.st_size);
    const Compression c = sniff(fd.get());
    constexpr std::uint64_t read_whole_max = 256u << 10;
    if (c == Compression::none && stored <= read_whole_max) return std::make_unique<ReadSource>(fd.get(), stored);
    if (c == Compression::none) return std::make_unique<MappedSource>(fd.get(), stored, c, stored);
    Fd inflated(inflate_to_temp(fd.get(), c));
    struct stat ist {};
    if (::fstat(inflated.get(), &ist) != 0) throw SourceError("cannot stat temporary file: " + errno_text());
    return std::make_unique<MappedSource>(inflated.get(), static_cast<std::uint64_t>(ist.st_size), c, stored);
}

std::unique_ptr<Source> Source::in_memory(ByteView bytes) { return std::make_unique<MemorySource>(bytes); }

std::string sha256_file(const std::string& path, const std::atomic<bool>* cancel) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (fd.get() < 0) throw SourceError("cannot open: " + errno_text());
    Sha256 sha;
    std::vector<char> buf(1 << 20);
    for (;;) {
        if (cancel != nullptr && cancel->load()) throw SourceError("interrupted");
        const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw SourceError("cannot read: " + errno_text());
        }
        if (n == 0) break;
        sha.update({buf.data(), static_cast<std::size_t>(n)});
    }
    return sha.hex();
}

}  // namespace mailfsck
