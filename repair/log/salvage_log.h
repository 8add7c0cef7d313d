// The salvage log: everything a check or repair found and did, per store.
//
// Checkers append findings, lost items and byte dispositions here; the text
// and JSON reports (report.h) are rendered from it and from nothing else.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "repair/catalogue/catalogue.h"

namespace mailfsck {

struct Finding {
    ProblemId id;
    // Directory stores: the file, relative to the store's root; offsets are
    // then into that file. Empty for single-file stores.
    std::string file;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    std::string structure;               // e.g. "separator", "header block", "body"
    std::optional<std::uint64_t> message;  // 1-based message number in the store
    Action action = Action::kept;
    std::string detail;
};

// Something that did not reach the rebuilt store as message content.
struct LostItem {
    std::string file;  // as in Finding
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    std::optional<std::uint64_t> message;
    std::string message_id;
    std::string date;
    std::string from;
    std::string subject;
    std::string reason;
};

struct MessageCounts {
    std::uint64_t found = 0;
    std::uint64_t intact = 0;
    std::uint64_t repaired = 0;
    std::uint64_t partial = 0;
    std::uint64_t lost = 0;
    std::uint64_t duplicates = 0;
};

enum class Disposition { message, lost_found, junk, duplicate };

// Accounts for every input byte exactly once. Extents must arrive in input
// order; a gap or an overlap shows up as unaccounted bytes, so the number in
// the report is measured, not assumed.
class ByteLedger {
public:
    void add(Disposition d, std::uint64_t offset, std::uint64_t length);
    void close(std::uint64_t total);
    // Adds a closed ledger of one file of a directory store.
    void absorb(const ByteLedger& file);

    std::uint64_t total = 0;
    std::uint64_t in_messages = 0;
    std::uint64_t in_lost_found = 0;
    std::uint64_t junk = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t unaccounted = 0;

private:
    std::uint64_t next_ = 0;
};

// Directory stores: what became of every file in the tree. Every file is
// counted once, so `seen` equals the sum of the others.
struct FileCounts {
    std::uint64_t seen = 0;
    std::uint64_t messages = 0;       // checked as messages (tmp/ leftovers included)
    std::uint64_t mailboxes = 0;      // mbox files, each a folder, checked
    std::uint64_t indexes = 0;        // UID and keyword lists, checked
    std::uint64_t server_caches = 0;  // left out; the server rebuilds them
    std::uint64_t other = 0;          // not mail: copied as they are, or left out
    std::uint64_t skipped = 0;        // links, special files, unreadable files
};

struct OutputInfo {
    std::string path;
    std::string format;
    std::uint64_t messages_written = 0;
    std::uint64_t lost_found_files = 0;
    std::vector<std::string> notes;  // MessageSink::notes
};

struct StoreLog {
    std::string path;
    std::string format;  // "mbox", ...
    std::string variant;
    std::vector<std::string> variant_evidence;
    std::string compression = "none";
    std::uint64_t size = 0;
    std::string sha256;
    MessageCounts messages;
    ByteLedger bytes;
    std::vector<Finding> findings;
    // Findings of a kind past the first max_findings_per_kind are counted by
    // kind and not kept: a store with the same damage in every message
    // must not need memory for each. What became of every message is in
    // repair's index.jsonl.
    static constexpr std::size_t max_findings_per_kind = 1000;
    // Likewise lost items past the first max_lost_listed: repair's
    // index.jsonl still says what became of every message.
    static constexpr std::size_t max_lost_listed = 1000;
    std::optional<FileCounts> files;
    std::optional<OutputInfo> output;
    // Set when the store could not be checked at all (cannot open, not mail).
    std::optional<std::string> error;

    // The finding as logged; past its kind's cap, a scratch finding that no
    // report shows (only the kind's count goes up).
    Finding& add(ProblemId id, std::uint64_t offset, std::uint64_t length, std::string structure,
                 std::optional<std::uint64_t> message = std::nullopt, std::string detail = {});
    // Takes over a scratch log's findings, under this log's cap.
    void adopt_findings(StoreLog&& scratch);
    // Per kind, how many findings were logged but not kept.
    [[nodiscard]] std::map<ProblemId, std::uint64_t> omitted() const;
    // The item as listed; past the cap, a scratch item no report shows.
    LostItem& add_lost(LostItem item);
    [[nodiscard]] const std::vector<LostItem>& lost() const { return lost_; }
    // The item add_lost gave last; none before the first.
    [[nodiscard]] LostItem* last_lost();
    // How many lost items were logged but not kept.
    [[nodiscard]] std::uint64_t lost_omitted() const;
    [[nodiscard]] Severity worst() const;
    [[nodiscard]] bool has_problems() const { return worst() >= Severity::warning; }
    // Did anything fail to reach the rebuilt store as intact message content?
    [[nodiscard]] bool data_lost() const;

private:
    Finding& keep(Finding f);

    std::map<ProblemId, std::uint64_t> logged_;  // per kind, kept or not
    Finding unlisted_{};
    std::vector<LostItem> lost_;
    std::uint64_t lost_logged_ = 0;
    LostItem unlisted_lost_{};
};

// A file name as reports show it: valid UTF-8 passes through; other bytes,
// control characters and the backslash become \xNN, so every name prints on one
// line and the raw bytes can still be told apart.
[[nodiscard]] std::string escaped_name(std::string_view raw);

enum class Mode { scan, repair, verify, inspect };

struct SalvageLog {
    Mode mode = Mode::scan;
    std::vector<StoreLog> stores;
    // verify --against, once both were read: each message of the other
    // store missing or changed in the one verified.
    std::optional<std::vector<std::string>> differences;
};

}  // namespace mailfsck
