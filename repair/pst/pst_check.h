// The PST/OST checker, node database layer ([MS-PST] 2.2): header, both
// B-trees page by page, every block's trailer, the data and subnode trees,
// reference counts, and the nodes' links to blocks and parents; each
// inconsistency logged with its offset under a PST catalogue code.
#pragma once

#include <cstddef>

#include "parsers/bytes/source.h"
#include "repair/log/salvage_log.h"
#include "repair/store/sink.h"
#include "repair/store/store.h"

namespace mailfsck {

struct PstCheckOptions {
    // Blocks held in memory at once (about 24 bytes each); files with more
    // are checked in several passes (see pst_check.cpp).
    std::size_t records_per_pass = std::size_t{1} << 21;
};

// Repair passes a sink: every folder and message that can be read is
// composed (repair/pst/pst_compose.h) and written there.
void check_pst(const Source& source, StoreLog& log, MessageSink* sink, const CheckHooks& hooks,
               const PstCheckOptions& options = {});

}  // namespace mailfsck
