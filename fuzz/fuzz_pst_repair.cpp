// PST salvage as a round trip: whatever repair exports from any bytes read
// as a PST (every message composed by our own MIME code) is an mbox that a
// second check finds clean (copies of one message aside), holding exactly
// the messages written; and, for every other input (by a third bit of its
// size: writing and rescanning a PST costs more than all the rest), the
// same salvage written as a new PST (the PST writer) is a PST that a second
// check finds clean, holding them too. Every other input is read in the checksum mode
// (pst_checksums.h), independently of the choice to recover deleted ones.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fuzz/memory_sink.h"
#include "fuzz/pst_checksums.h"

namespace {

using MemorySink = mailfsck::fuzz::MemorySink<&mailfsck::write_mboxrd>;
using mailfsck::fuzz::check_rebuilt_pst;
using mailfsck::fuzz::fail_round_trip;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::uint8_t> sealed;
    if ((size >> 1) % 2 == 1) {
        sealed = mailfsck::fuzz::sealed_file(data, size);
        data = sealed.data();
    }
    MemorySink sink((size >> 2) % 2 == 1 ? std::optional<std::string>("") : std::nullopt);
    mailfsck::OpenStore pst;
    pst.path = "fuzz.pst";
    pst.format = mailfsck::StoreFormat::pst;
    pst.source = mailfsck::Source::in_memory(mailfsck::ByteView(data, size));
    mailfsck::StoreLog first;
    // Every other input also recovers deleted messages, which carves the
    // whole input for heaps no node reaches.
    mailfsck::CheckHooks hooks;
    hooks.recover_deleted = size % 2 == 1;
    mailfsck::check_store(pst, first, &sink, hooks);
    sink.finish();
    const std::uint64_t written = sink.messages_written();
    if (sink.pst) check_rebuilt_pst(sink.file.bytes, written);
    if (written == 0) return 0;
    mailfsck::OpenStore mbox;
    mbox.path = "rebuilt.mbox";
    mbox.format = mailfsck::StoreFormat::mbox;
    mbox.source = mailfsck::Source::in_memory(mailfsck::ByteView(sink.out.text));
    mailfsck::StoreLog second;
    mailfsck::check_store(mbox, second, nullptr, {});
    // A PST may hold copies of one message, which an mbox check rightly
    // calls duplicates; anything else of warning severity is a fault.
    for (const auto& f : second.findings)
        if (mailfsck::problem(f.id).severity >= mailfsck::Severity::warning && f.id != mailfsck::ProblemId::mbox_duplicate)
            fail_round_trip("the exported mbox is not clean", second);
    if (second.messages.found != written)
        fail_round_trip("the exported mbox holds a different number of messages", second);
    return 0;
}
