// One message file (a Maildir message, an .eml): framed as a single message
// and checked, salvaged and accounted for exactly as an mbox message is.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "parsers/bytes/bytes.h"
#include "repair/log/salvage_log.h"
#include "repair/store/sink.h"
#include "repair/store/store.h"

namespace mailfsck {

struct MessageFile {
    ByteView bytes;
    std::string name;  // relative to the store's root, escaped (escaped_name)
    // The container's evidence that the file lost its end: its Maildir
    // name records a larger size.
    bool cut_short = false;
    // Folder, flags, time and unique part for the rebuilt store.
    OutMessage meta;
};

enum class FileOutcome {
    kept,         // a message reached the rebuilt store (perhaps partial)
    lost,         // nothing did: empty, or no message in it (lost+found)
};

// Checks `f` as message number `no`, logging into `log` (its per-file byte
// ledger is closed and added to log.bytes) and, with a sink, writing it.
FileOutcome check_message_file(const MessageFile& f, std::uint64_t no, StoreLog& log, MessageSink* sink,
                               const CheckHooks& hooks);

// Does `bytes` start like a message: a header field on its first or second
// line?
[[nodiscard]] bool looks_like_message(const ByteView& bytes);

}  // namespace mailfsck
