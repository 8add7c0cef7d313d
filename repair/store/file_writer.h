// A buffered, durable output file: written through a 1 MiB buffer, fsynced
// on close. Output files only: inputs are never opened through this.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "repair/pst_writer/ndb_writer.h"
#include "repair/store/sink.h"

namespace mailfsck {

// Many small files (a Maildir's messages) are not fsynced one by one: the
// output directory is synced as a whole before it is renamed into place
// (OutputDir::commit), which is as durable and far faster.
enum class Sync { on_close, with_directory };

class FileWriter final : public ByteOut {
public:
    explicit FileWriter(const std::filesystem::path& path, Sync sync = Sync::on_close);
    ~FileWriter() override;
    FileWriter(const FileWriter&) = delete;
    FileWriter& operator=(const FileWriter&) = delete;

    void write(std::string_view bytes) override;
    [[nodiscard]] std::uint64_t written() const { return written_; }
    // Flushes, fsyncs and closes; throws on any failure.
    void close();

private:
    void flush();
    int fd_ = -1;
    Sync sync_;
    std::string buf_;
    std::uint64_t written_ = 0;
    std::filesystem::path path_;
};

// A durable output file written at given offsets (a PST: its header last),
// fsynced on close.
class PositionedFile final : public pstw::RandomOut {
public:
    explicit PositionedFile(const std::filesystem::path& path);
    ~PositionedFile() override;
    PositionedFile(const PositionedFile&) = delete;
    PositionedFile& operator=(const PositionedFile&) = delete;
    void write_at(std::uint64_t offset, ByteView bytes) override;
    // Fsyncs and closes; throws on any failure.
    void close();

private:
    int fd_ = -1;
    std::filesystem::path path_;
};

// Sets a written file's modification (and access) time.
void set_mtime(const std::filesystem::path& path, std::int64_t seconds);

}  // namespace mailfsck
