// The PST/OST checker, node database layer ([MS-PST] 2.2): header, both
// B-trees page by page, every block's trailer, the data and subnode trees,
// reference counts, and the nodes' links to blocks and parents; each
// inconsistency logged with its offset under a PST catalogue code.
#pragma once

#include "parsers/bytes/source.h"
#include "repair/log/salvage_log.h"
#include "repair/store/store.h"

namespace mailfsck {

void check_pst(const Source& source, StoreLog& log, const CheckHooks& hooks);

}  // namespace mailfsck
