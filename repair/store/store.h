// Opening a store: format detection from content, and the check that every
// format provides. One entry point for scan, repair and verify.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "parsers/bytes/source.h"
#include "repair/log/salvage_log.h"
#include "repair/store/repair_output.h"
#include "repair/store/sink.h"

namespace mailfsck {

enum class StoreFormat { mbox, maildir, eml, pst };

[[nodiscard]] std::string_view format_name(StoreFormat f);
[[nodiscard]] std::optional<StoreFormat> parse_format(std::string_view name);

// Not a mail store we can check: an operational error (exit 8), with a
// one-line reason for the user.
class NotAStore : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct OpenStore {
    std::string path;
    // The file of a single-file store (an mbox, one .eml); null for a
    // directory store, whose files are opened one at a time.
    std::unique_ptr<Source> source;
    StoreFormat format = StoreFormat::mbox;
    // A repair's output directory: what its report says it wrote, read
    // once, so the check leaves the report and lost+found out.
    std::optional<RepairOutput> repair_output;
};

// Opens `path` read-only and decides its format (or takes `forced`).
// Throws SourceError or NotAStore.
[[nodiscard]] OpenStore open_store(const std::string& path, std::optional<StoreFormat> forced);

struct CheckHooks {
    // Called now and then with (work done, work total), in a unit of the
    // checker's choosing (bytes, files, blocks).
    std::function<void(std::uint64_t, std::uint64_t)> progress;
    // Polled between messages; when it turns true the check stops early.
    const std::atomic<bool>* interrupted = nullptr;
    // Called with the text of every message as it reaches the rebuilt store
    // (repair's closing delimiters included; verify --against identifies
    // them).
    std::function<void(std::uint64_t message_no, std::uint64_t offset, const std::vector<ByteView>& pieces)> on_message;
    // Repair: write no UID index (IMAP clients then download every folder
    // again) instead of carrying over the entries that still hold.
    bool drop_uid_indexes = false;
    // Scan: check a store's structure without reading every message (PST:
    // the node database alone; other formats are read message by message
    // either way).
    bool structure_only = false;
    // PST/OST: also recover deleted messages whose blocks survive, under a
    // folder of their own ("Recovered (deleted)"), never among live mail.
    // Off by default: bringing back deleted mail is the owner's decision.
    bool recover_deleted = false;
};

// Checks the store, records everything in `log`, and when `sink` is given
// hands it every salvaged message and lost+found piece.
void check_store(const OpenStore& store, StoreLog& log, MessageSink* sink, const CheckHooks& hooks);

}  // namespace mailfsck
