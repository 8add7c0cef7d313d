// One message file (a Maildir message, an .eml) as a fuzz property: the
// check accounts for every byte, and whatever repair writes for the file
// checks clean again, without a finding of warning severity or worse; for
// every other input (by a bit of its size: a PST costs more than the rest),
// so does the message converted into a new PST.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "fuzz/memory_sink.h"
#include "repair/store/message_file.h"

namespace {

using MemorySink = mailfsck::fuzz::MemorySink<&mailfsck::write_message_file>;

mailfsck::StoreLog check(mailfsck::ByteView bytes, mailfsck::MessageSink* sink) {
    mailfsck::MessageFile f;
    f.bytes = bytes;
    f.name = "fuzz";
    mailfsck::StoreLog log;
    mailfsck::check_message_file(f, 1, log, sink, {});
    return log;
}

[[noreturn]] void fail(const char* why, const mailfsck::StoreLog& log) {
    std::fprintf(stderr, "message file: %s\n", why);
    for (const auto& f : log.findings)
        if (mailfsck::problem(f.id).severity >= mailfsck::Severity::warning)
            std::fprintf(stderr, "  %s @%llu+%llu %s\n", std::string(mailfsck::problem(f.id).code).c_str(),
                     static_cast<unsigned long long>(f.offset), static_cast<unsigned long long>(f.length),
                     f.detail.c_str());
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    MemorySink sink((size >> 1) % 2 == 1 ? std::optional<std::string>("Inbox") : std::nullopt);
    const mailfsck::StoreLog first = check(mailfsck::ByteView(data, size), &sink);
    sink.finish();
    if (first.bytes.unaccounted != 0) fail("bytes left unaccounted", first);
    const auto& m = first.messages;
    if (m.intact + m.repaired + m.partial + m.lost != 1) fail("a file is one message, kept or lost", first);
    if (sink.pst) mailfsck::fuzz::check_rebuilt_pst(sink.file.bytes, sink.written);
    if (sink.written == 0) return 0;
    const mailfsck::StoreLog second = check(mailfsck::ByteView(sink.out.text), nullptr);
    if (second.has_problems()) fail("the rewritten file is not clean", second);
    if (second.messages.lost != 0) fail("the rewritten file lost its message", second);
    return 0;
}
