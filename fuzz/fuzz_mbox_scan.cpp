// The whole mbox check, as `scan` runs it: every byte must be accounted for.
#include <cstdint>
#include <cstdlib>

#include "repair/store/store.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    mailfsck::OpenStore store;
    store.path = "fuzz";
    store.source = mailfsck::Source::in_memory(mailfsck::ByteView(data, size));
    mailfsck::StoreLog log;
    mailfsck::check_store(store, log, nullptr, {});
    if (log.bytes.unaccounted != 0 || log.bytes.total != size) std::abort();
    return 0;
}
