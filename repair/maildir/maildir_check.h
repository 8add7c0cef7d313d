// The Maildir checker: walks a Maildir or Maildir++ tree (or any tree of
// Maildir folders, as mu and notmuch keep them) without following links,
// checks layout, names, sizes, UID indexes and every message, accounts for
// every file, and during a repair feeds a sink folder by folder.
#pragma once

#include <string>

#include "repair/log/salvage_log.h"
#include "repair/store/sink.h"
#include "repair/store/store.h"

namespace mailfsck {

void check_maildir(const std::string& root, StoreLog& log, MessageSink* sink, const CheckHooks& hooks);

// Is `dir` a Maildir folder itself, or the parent of one within a few
// levels? Decides the format of a directory given on the command line.
[[nodiscard]] bool looks_like_maildir(const std::string& dir);

}  // namespace mailfsck
