// A buffered, durable output file: written through a 1 MiB buffer, fsynced
// on close. Output files only: inputs are never opened through this.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

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

// Sets a written file's modification (and access) time.
void set_mtime(const std::filesystem::path& path, std::int64_t seconds);

}  // namespace mailfsck
