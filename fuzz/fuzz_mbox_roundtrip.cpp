// e2fsck's promise as a fuzz property: whatever repair writes from any
// input, a second check of it finds nothing of warning severity or worse,
// loses no message, and accounts for every byte.
#include <cstdint>
#include <string>

#include "fuzz/memory_sink.h"
#include "repair/store/store.h"

namespace {

using MemorySink = mailfsck::fuzz::MemorySink<&mailfsck::write_mboxrd>;
using mailfsck::fuzz::fail_round_trip;

mailfsck::StoreLog check(mailfsck::ByteView bytes, mailfsck::MessageSink* sink) {
    mailfsck::OpenStore store;
    store.path = "fuzz";
    store.source = mailfsck::Source::in_memory(bytes);
    mailfsck::StoreLog log;
    mailfsck::check_store(store, log, sink, {});
    return log;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    MemorySink sink;
    const mailfsck::StoreLog first = check(mailfsck::ByteView(data, size), &sink);
    if (first.bytes.unaccounted != 0) fail_round_trip("first run left bytes unaccounted", first);
    const mailfsck::ByteView rebuilt(sink.out.text);
    const mailfsck::StoreLog second = check(rebuilt, nullptr);
    if (second.has_problems()) fail_round_trip("second run is not clean", second);
    if (second.messages.found != sink.written) fail_round_trip("second run found a different number of messages", second);
    return 0;
}
