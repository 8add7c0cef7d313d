// Read-only access to a store file's bytes.
//
// A Source maps the file (never opened for writing) with mmap directly:
// Boost's mapped_file_source cannot map an empty file or an open descriptor
// (the unlinked inflate file below), and the checker needs madvise to keep
// memory flat. Compressed inputs (gzip, bzip2, xz, recognised by magic
// bytes, not by name) are inflated through Boost.Iostreams into an unlinked
// temporary file that is then mapped, so memory stays flat whatever the
// size of the store.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bytes.h"

namespace mailfsck {

enum class Compression { none, gzip, bzip2, xz };

[[nodiscard]] std::string_view compression_name(Compression c);

// Operational failure (cannot open, cannot map, bad compressed stream): not
// a finding about the store's content but a reason the check could not run.

class SourceError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Whether opening a path may go through a symbolic link: a store named on
// the command line may be a link; a file inside a directory store may not,
// lest a link lead the check out of the store.
enum class Links { follow, refuse };

class Source {
public:
    // `relative_to`: a directory descriptor a relative `path` starts from
    // (a directory store opens thousands of files in one directory), or -1
    // for the working directory.
    static std::unique_ptr<Source> open(const std::string& path, Links links = Links::follow, int relative_to = -1);
    // Bytes already in memory (fuzz targets, tests); `bytes` must outlive it.
    static std::unique_ptr<Source> in_memory(ByteView bytes);
    virtual ~Source() = default;
    Source(const Source&) = delete;
    Source& operator=(const Source&) = delete;

    // The (decompressed) bytes, offsets relative to the decompressed stream.
    [[nodiscard]] virtual ByteView bytes() const = 0;
    // The caller will not read below `offset` again soon: the mapping may
    // drop those pages, so resident memory stays flat on a 50 GB store.
    // Reading them later is still valid (they fault back in).
    virtual void release_below(std::uint64_t offset) const = 0;
    // The same for a caller that reads all over the store, or that starts
    // again from the beginning: every mapped page may be dropped, and
    // release_below counts afresh.
    virtual void release_all() const = 0;
    // The bytes at [offset, offset + length), fewer at the end of the
    // stream. A mapped source copies them into `buffer` with pread, which
    // maps no page: for a caller reading small pieces all over a large
    // store, mapping each piece costs far more than copying it (a fault
    // maps 64 KiB around it, and a page fault is a trap that a virtual
    // machine makes dear). Other sources return their own bytes. The view
    // is valid until `buffer` changes; its base is `offset`.
    [[nodiscard]] virtual ByteView read(std::uint64_t offset, std::uint64_t length,
                                        std::vector<unsigned char>& buffer) const = 0;
    [[nodiscard]] Compression compression() const { return compression_; }
    // Size of the file as stored on disk.
    [[nodiscard]] std::uint64_t stored_size() const { return stored_size_; }

protected:
    Source(Compression c, std::uint64_t stored) : compression_(c), stored_size_(stored) {}

private:
    Compression compression_;
    std::uint64_t stored_size_;
};

// Magic-byte sniffing, exposed for tests.
[[nodiscard]] Compression detect_compression(const ByteView& head);

// Lowercase hex SHA-256 of a file's bytes as stored, read in fixed chunks.
// When `cancel` turns true the read stops and SourceError is thrown: a 50 GB
// store must not hold up an interrupted run.
[[nodiscard]] std::string sha256_file(const std::string& path, const std::atomic<bool>* cancel = nullptr);

}  // namespace mailfsck
