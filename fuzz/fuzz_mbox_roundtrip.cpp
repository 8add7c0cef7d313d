// e2fsck's promise as a fuzz property: whatever repair writes from any
// input, a second check of it finds nothing of warning severity or worse,
// loses no message, and accounts for every byte.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "repair/store/store.h"

namespace {

class StringOut final : public mailfsck::ByteOut {
public:
    void write(std::string_view bytes) override { text.append(bytes); }
    std::string text;
};

class MemorySink final : public mailfsck::MessageSink {
public:
    void message(const mailfsck::OutMessage& m) override {
        mailfsck::write_mboxrd(out, m);
        ++written;
    }
    void begin_folder(const std::string& /*folder*/) override {}
    void lost_found(const std::string& /*file*/, std::uint64_t /*offset*/,
                    const std::vector<mailfsck::ByteView>& /*pieces*/) override {}
    void uid_index(const std::string& /*folder*/, const mailfsck::UidIndex& /*index*/) override {}
    void store_file(const std::string& /*folder*/, const std::string& /*name*/, const mailfsck::ByteView& /*bytes*/,
                    std::optional<std::int64_t> /*mtime*/) override {}
    void finish() override {}
    [[nodiscard]] std::uint64_t messages_written() const override { return written; }
    [[nodiscard]] std::uint64_t lost_found_files() const override { return 0; }
    StringOut out;
    std::uint64_t written = 0;
};

mailfsck::StoreLog check(mailfsck::ByteView bytes, mailfsck::MessageSink* sink) {
    mailfsck::OpenStore store;
    store.path = "fuzz";
    store.source = mailfsck::Source::in_memory(bytes);
    mailfsck::StoreLog log;
    mailfsck::check_store(store, log, sink, {});
    return log;
}

[[noreturn]] void fail(const char* why, const mailfsck::StoreLog& log) {
    std::fprintf(stderr, "round trip: %s\n", why);
    for (const auto& f : log.findings)
        std::fprintf(stderr, "  %s @%llu+%llu %s\n", std::string(mailfsck::problem(f.id).code).c_str(),
                     static_cast<unsigned long long>(f.offset), static_cast<unsigned long long>(f.length),
                     f.detail.c_str());
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    MemorySink sink;
    const mailfsck::StoreLog first = check(mailfsck::ByteView(data, size), &sink);
    if (first.bytes.unaccounted != 0) fail("first run left bytes unaccounted", first);
    const mailfsck::ByteView rebuilt(sink.out.text);
    const mailfsck::StoreLog second = check(rebuilt, nullptr);
    if (second.has_problems()) fail("second run is not clean", second);
    if (second.messages.found != sink.written) fail("second run found a different number of messages", second);
    return 0;
}
