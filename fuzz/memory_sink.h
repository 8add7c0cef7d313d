// For fuzz targets' round trips: a MessageSink that writes into memory
// (messages in the form `Write` gives them, everything else dropped), and
// the report that ends a round trip that failed.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "repair/log/salvage_log.h"
#include "repair/store/sink.h"

namespace mailfsck::fuzz {

class StringOut final : public ByteOut {
public:
    void write(std::string_view bytes) override { text.append(bytes); }
    std::string text;
};

template <void (*Write)(ByteOut&, const OutMessage&)>
class MemorySink final : public MessageSink {
public:
    void begin_folder(const std::string& /*folder*/, const FolderInfo& /*info*/) override {}
    void message(const OutMessage& m) override {
        Write(out, m);
        ++written;
    }
    void lost_found(const std::string& /*file*/, std::uint64_t /*offset*/,
                    const std::vector<ByteView>& /*pieces*/) override {}
    void uid_index(const std::string& /*folder*/, const UidIndex& /*index*/) override {}
    void store_file(const std::string& /*folder*/, const std::string& /*name*/, const ByteView& /*bytes*/,
                    std::optional<std::int64_t> /*mtime*/) override {}
    void finish() override {}
    [[nodiscard]] std::uint64_t messages_written() const override { return written; }
    [[nodiscard]] std::uint64_t lost_found_files() const override { return 0; }
    StringOut out;
    std::uint64_t written = 0;
};

[[noreturn]] inline void fail_round_trip(const char* why, const StoreLog& log) {
    std::fprintf(stderr, "round trip: %s\n", why);
    for (const auto& f : log.findings)
        std::fprintf(stderr, "  %s @%llu+%llu %s\n", std::string(problem(f.id).code).c_str(),
                     static_cast<unsigned long long>(f.offset), static_cast<unsigned long long>(f.length),
                     f.detail.c_str());
    std::abort();
}

}  // namespace mailfsck::fuzz
