// Loose mail files: one .eml, or a directory tree of message files and
// mbox files (a folder of saved messages, SpamAssassin's corpora, a mail
// client's local folders, an export, repair's own mbox output). Every file
// that looks like mail is checked as a message or as an mbox, each mbox a
// folder; every other file is accounted for.
#pragma once

#include <optional>
#include <string>

#include "parsers/bytes/source.h"
#include "repair/log/salvage_log.h"
#include "repair/store/sink.h"
#include "repair/store/repair_output.h"
#include "repair/store/store.h"

namespace mailfsck {

// One message file given on the command line.
void check_eml_file(const Source& source, const std::string& path, StoreLog& log, MessageSink* sink,
                    const CheckHooks& hooks);

// A directory of mail files; subdirectories and mbox files become folders.
// A file that begins with a From_ line and holds one message (by the mbox
// framer) is an mbox folder when its name says so (Thunderbird's
// "<name>.msf" beside it or its "<parent>.sbd/" around it, a name ending
// .mbox or .mbx, Apple Mail's "mbox"), or in repair's mbox output (its
// report beside it); otherwise a saved message. A file named as a message
// is one. `own`: what repair's report in `root` says it wrote, if `root` is
// a repair's output (repair_output).
void check_mail_directory(const std::string& root, const std::optional<RepairOutput>& own, StoreLog& log,
                          MessageSink* sink, const CheckHooks& hooks);

// The format of a directory of mail files, from the files of its first few
// levels: mbox when it holds mbox files, at least as many as message files;
// eml when it holds either; nullopt for no mail.
[[nodiscard]] std::optional<StoreFormat> mail_directory_format(const std::string& dir);

}  // namespace mailfsck
