// Where salvaged messages go: the rebuilt store and lost+found.
//
// A checker hands each salvaged message to a MessageSink as pieces of the
// input (the damaged ranges already left out) plus the fixes to apply; the
// sink decides the output format. Scan passes no sink: scan and repair run
// the same checker, so they cannot disagree about what they found.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "parsers/bytes/bytes.h"

namespace mailfsck::pst {
struct Message;
class NameMap;
}  // namespace mailfsck::pst

namespace mailfsck {

// One message, ready to write. `pieces` hold whole lines from the header
// block's first line to the message's last line.
struct OutMessage {
    std::vector<ByteView> pieces;
    // The original separator line's content when there was a usable From_ line.
    std::string separator;
    // Input is mboxrd: one '>' of every ">+From " line is quoting, not content.
    bool unquote_mboxrd = false;
    // Closing delimiters for multiparts a truncation left open, innermost first.
    std::vector<std::string> close_boundaries;
    std::uint64_t input_offset = 0;

    // Where the message lives and what state it is in, as far as the input
    // says. `folder` uses '.' between levels, "" for the top folder.
    std::string folder;
    // Maildir flags (P R S T D F and keywords a-z), each once, ASCII order.
    std::string flags;
    // Not yet seen by any mail client (it was in a Maildir's new/).
    bool is_new = false;
    // The file's modification time, seconds since the epoch: Maildir keeps
    // the IMAP received date there.
    std::optional<std::int64_t> mtime;
    // Unique part of a Maildir name to keep; empty when the sink invents one.
    std::string unique;
    // The item in a format of its own (a contact's .vcf, an appointment's
    // .ics), also a part of the message; outputs of one file per message
    // write it beside the message, for other programs to import.
    struct ItemFile {
        std::string extension;
        ByteView bytes;
    };
    std::optional<ItemFile> item_file;

    // For the output's index (index.jsonl): the message's number in the
    // store's report (its findings and lost[] entries use the same number),
    // what it was in the input when that is more than an offset (a PST node,
    // a Maildir file), its state, and what a partial message lacks.
    enum class State { intact, repaired, partial };
    std::uint64_t number = 0;
    std::string source;
    State state = State::intact;
    std::string missing;
    // A message read from a PST, as its properties, and the map naming its
    // named properties: what PST output copies (it ignores `pieces`).
    const pst::Message* pst_message = nullptr;
    const pst::NameMap* pst_names = nullptr;
};

// One folder's IMAP UID assignments that still hold, to carry over so that
// clients need not download the folder again.
struct UidIndex {
    enum class Kind { dovecot, courier } kind = Kind::dovecot;
    std::uint32_t uid_validity = 0;
    std::uint32_t next_uid = 0;
    std::string guid;  // Dovecot's mailbox GUID, "" when absent
    struct Entry {
        std::uint32_t uid;
        std::string unique;  // the unique part given in OutMessage::unique
    };
    std::vector<Entry> entries;  // ascending UIDs
};

// What the input says of the store as a whole (a PST's message store), for
// outputs that keep it (PST output).
struct StoreInfo {
    std::string name;              // the store's display name
    std::uint32_t password_crc = 0;  // PR_PST_PASSWORD, 0 for none
    // Which of the source's folders is its IPM subtree is not known (its
    // message store is unreadable or names none that exists): an output
    // puts the source root's folders inside its own IPM subtree, where
    // Outlook shows them.
    bool folders_inside_ipm_subtree = false;
};

// What a folder is beyond its path, when the input says (PST folders):
// the store's special folders, the folders repair makes, the folder's own
// name (a path component has '.' and '/' replaced) and the kind of items
// it holds, for outputs that keep them (PST output).
struct FolderInfo {
    enum class Role { ordinary, ipm_subtree, deleted_items, search_root, search_folder, made_by_repair };
    Role role = Role::ordinary;
    std::string name;             // PR_DISPLAY_NAME; "" when the path says it all
    std::string container_class;  // PR_CONTAINER_CLASS: "IPF.Contact", ...
};

class MessageSink {
public:
    virtual ~MessageSink() = default;
    // The store as a whole, once, before its first folder (PST inputs).
    virtual void begin_store(const StoreInfo& /*info*/) {}
    // Messages arrive folder by folder; each folder is announced first, so
    // an empty one exists in the output too.
    virtual void begin_folder(const std::string& folder, const FolderInfo& info) = 0;
    virtual void message(const OutMessage& m) = 0;
    // Bytes that fit no message, kept for a human in lost+found/, named
    // after the input file (directory stores) and the offset.
    virtual void lost_found(const std::string& file, std::uint64_t input_offset,
                            const std::vector<ByteView>& pieces) = 0;
    // A folder's UID assignments, after all of its messages (Maildir output
    // only; other formats have no UIDs to keep).
    virtual void uid_index(const std::string& folder, const UidIndex& index) = 0;
    // A file of the input store's own that is no message (Maildir control
    // files), for outputs of the same format to carry over as it is.
    virtual void store_file(const std::string& folder, const std::string& name, const ByteView& bytes,
                            std::optional<std::int64_t> mtime) = 0;
    // Only a PST output has a place for a PST folder's folder-associated
    // items (views, rules, a client's settings: no mail); asked before any is
    // read, so other outputs cost no reads.
    [[nodiscard]] virtual bool keeps_associated() const { return false; }
    // One such item, in `folder` (announced before); only when kept.
    virtual void associated(const std::string& /*folder*/, const pst::Message& /*item*/, const pst::NameMap* /*names*/) {}
    // Flushes and fsyncs everything written; throws on failure.
    virtual void finish() = 0;
    [[nodiscard]] virtual std::uint64_t messages_written() const = 0;
    [[nodiscard]] virtual std::uint64_t lost_found_files() const = 0;
    // The rebuilt store relative to the output directory ("" for the
    // directory itself), and what the output format made repair do beyond
    // the input's findings (names a file system refuses, shortened).
    [[nodiscard]] virtual std::string store_path() const { return {}; }
    [[nodiscard]] virtual std::vector<std::string> notes() const { return {}; }
};

enum class OutputFormat { mbox, eml, maildir, pst };

// Where formatted output goes: a durable file, or memory (fuzz targets).
class ByteOut {
public:
    virtual ~ByteOut() = default;
    virtual void write(std::string_view bytes) = 0;
};

class StringOut final : public ByteOut {
public:
    void write(std::string_view bytes) override { text.append(bytes); }
    std::string text;
};

// Appends `m` as mboxrd: a From_ line (its own when it had a dated one),
// every ">*From " line with one more '>', Content-Length (when present)
// rewritten to the body length as written, and the closing delimiters of
// multiparts a truncation left open.
void write_mboxrd(ByteOut& out, const OutMessage& m);

// Writes `m` the way a file of its own holds it (a Maildir message; an .eml
// adds a final line terminator): its bytes, mboxrd quoting undone, and the
// closing delimiters of multiparts a truncation left open.
void write_message_file(ByteOut& out, const OutMessage& m);

// The text of `m` as the rebuilt store holds it, as pieces of the input
// (mboxrd quoting left as it is) and, when repair closes multiparts, the
// delimiters it adds, kept in `added`.
[[nodiscard]] std::vector<ByteView> written_pieces(const OutMessage& m, std::string& added);

// A directory built under a temporary name beside its final path and
// renamed into place by commit(); abandoned (removed) if never committed.
class OutputDir {
public:
    explicit OutputDir(std::filesystem::path final_path);
    ~OutputDir();
    OutputDir(const OutputDir&) = delete;
    OutputDir& operator=(const OutputDir&) = delete;

    [[nodiscard]] const std::filesystem::path& staging() const { return staging_; }
    [[nodiscard]] const std::filesystem::path& final_path() const { return final_; }
    // Writes a whole small file (reports) durably.
    void write_file(const std::string& name, const std::string& bytes) const;
    void commit();

private:
    std::filesystem::path final_;
    std::filesystem::path staging_;
    bool committed_ = false;
};

// A sink writing `format` into `dir`; the rebuilt mbox or PST is named
// `store_name`. `mail_root`: for PST output of a mail store (mbox, Maildir,
// .eml), the folder its top folder becomes (PstOutput); "" for a PST.
std::unique_ptr<MessageSink> make_sink(OutputFormat format, const OutputDir& dir, const std::string& store_name,
                                       const std::string& mail_root = {});

}  // namespace mailfsck
