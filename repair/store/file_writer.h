// A buffered, durable output file: written through a 1 MiB buffer, fsynced
// on close. Output files only: inputs are never opened through this.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "repair/store/sink.h"

namespace mailfsck {

class FileWriter final : public ByteOut {
public:
    explicit FileWriter(const std::filesystem::path& path);
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
    std::string buf_;
    std::uint64_t written_ = 0;
    std::filesystem::path path_;
};

}  // namespace mailfsck
