// Loose mail files: one .eml, or a directory tree of message files and
// mbox files (a folder of saved messages, SpamAssassin's corpora, a mail
// client's local folders, an export, repair's own mbox output). Every file
// that looks like mail is checked as a message or as an mbox, each mbox a
// folder; every other file is accounted for.
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

// A directory of mail files; subdirectories and mbox files become folders.
// `mbox_store`: the directory holds mbox files (holds_mbox_files), so a file
// that begins with a From_ line is an mbox even of one message, and an empty
// file is an empty folder.
void check_mail_directory(const std::string& root, bool mbox_store, StoreLog& log, MessageSink* sink,
                          const CheckHooks& hooks);

// Does `dir` (or a directory a few levels below it) hold a message file,
// or is it repair's eml output (its report.json says so)?
[[nodiscard]] bool holds_message_files(const std::string& dir);

// ... an mbox file, by more than a From_ line: more messages, a name ending
// .mbox or .mbx, or Thunderbird's summary file beside it; or is it repair's
// mbox output?
[[nodiscard]] bool holds_mbox_files(const std::string& dir);

}  // namespace mailfsck
