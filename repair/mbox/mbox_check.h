// The mbox checker: frames the store, checks every message, maps what the
// parsers saw to catalogue problems, accounts for every byte and, during a
// repair, feeds the salvage to a sink.
#pragma once

#include <string>

#include "parsers/bytes/source.h"
#include "repair/log/salvage_log.h"
#include "repair/store/sink.h"
#include "repair/store/store.h"

namespace mailfsck {

// An mbox file met in a directory store (a mail client's local folders, an
// export, repair's own mbox output): one folder of the store.
struct MboxInDirectory {
    std::string file;    // relative to the store's root, escaped (escaped_name)
    std::string folder;  // its messages' folder, '.' between levels
};

// `within` is null for an mbox given on its own, which is the whole store.
void check_mbox(const Source& source, StoreLog& log, MessageSink* sink, const CheckHooks& hooks,
                const MboxInDirectory* within = nullptr);

}  // namespace mailfsck
