// The mbox checker: frames the store, checks every message, maps what the
// parsers saw to catalogue problems, accounts for every byte and, during a
// repair, feeds the salvage to a sink.
#pragma once

#include "parsers/bytes/source.h"
#include "repair/log/salvage_log.h"
#include "repair/store/sink.h"
#include "repair/store/store.h"

namespace mailfsck {

void check_mbox(const Source& source, StoreLog& log, MessageSink* sink, const CheckHooks& hooks);

}  // namespace mailfsck
