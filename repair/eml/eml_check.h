// Loose message files: one .eml, or a directory tree of them (a folder of
// saved messages, SpamAssassin's corpora, an export). Every file that looks
// like mail is checked as a message; every other file is accounted for.
#pragma once

#include <string>

#include "parsers/bytes/source.h"
#include "repair/log/salvage_log.h"
#include "repair/store/sink.h"
#include "repair/store/store.h"

namespace mailfsck {

// One message file given on the command line.
void check_eml_file(const Source& source, const std::string& path, StoreLog& log, MessageSink* sink,
                    const CheckHooks& hooks);

// A directory of message files; subdirectories become folders.
void check_eml_directory(const std::string& root, StoreLog& log, MessageSink* sink, const CheckHooks& hooks);

// Does `dir` (or a directory a few levels below it) hold a message file?
[[nodiscard]] bool holds_message_files(const std::string& dir);

}  // namespace mailfsck
