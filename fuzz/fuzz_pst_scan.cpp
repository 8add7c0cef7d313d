// The whole PST/OST check on any bytes: header, both B-trees, every block
// and the trees inside blocks, every folder and message, salvage included.
// Beyond "no crash, no sanitizer report": every finding's byte range lies
// inside the input or at its end (a truncation is reported where the file
// stops). Every other input is read in the checksum mode (pst_checksums.h).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz/pst_checksums.h"

#include "repair/store/store.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::uint8_t> sealed;
    if ((size >> 1) % 2 == 1) {
        sealed = mailfsck::fuzz::sealed_file(data, size);
        data = sealed.data();
    }
    mailfsck::OpenStore store;
    store.path = "fuzz.pst";
    store.format = mailfsck::StoreFormat::pst;
    store.source = mailfsck::Source::in_memory(mailfsck::ByteView(data, size));
    mailfsck::StoreLog log;
    mailfsck::check_store(store, log, nullptr, {});
    for (const auto& f : log.findings) {
        if (f.offset > size) {
            std::fprintf(stderr, "%s at %llu past the end (%zu)\n", std::string(mailfsck::problem(f.id).code).c_str(),
                         static_cast<unsigned long long>(f.offset), size);
            std::abort();
        }
    }
    return 0;
}
