// The mbox (mboxrd) and one-file-per-message writers.
#include <cstdio>
#include <ctime>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "parsers/bytes/sha256.h"
#include "parsers/bytes/utf8.h"
#include "parsers/maildir/filename.h"
#include "parsers/mime/headers.h"
#include "repair/store/file_writer.h"
#include "repair/store/piece_lines.h"
#include "repair/store/pst_output.h"
#include "repair/store/sink.h"

namespace mailfsck {
namespace {

// Used when a message's own separator was lost or unusable, or it came from
// a store without separators: a strict envelope line, so any mbox reader
// (ours included) frames it, dated with the message's time when known.
std::string synthesized_separator(std::optional<std::int64_t> mtime) {
    const std::time_t t = mtime.value_or(0);
    std::tm tm{};
    if (gmtime_r(&t, &tm) == nullptr) return "From MAILER-DAEMON Thu Jan  1 00:00:00 1970";
    char date[64];
    std::strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm);
    return std::string("From MAILER-DAEMON ") + date;
}

bool is_quoted_from(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size() && line[i] == '>') ++i;
    return line.substr(i, 5) == "From ";
}

// Calls f(line) for each logical line of the message (mboxrd quoting undone
// when the input used it).
template <typename F>
void for_each_line(const OutMessage& m, F&& f) {
    for_each_piece_line(m.pieces, [&](std::string_view line) {
        if (m.unquote_mboxrd && line.size() > 1 && line[0] == '>' && is_quoted_from(line)) line.remove_prefix(1);
        f(line);
        return true;
    });
}

constexpr std::size_t name_max = 255;  // NAME_MAX: the bytes of one file name

// `name` in at most `max` bytes: a longer one keeps its start, cut on a
// UTF-8 character, and a hash of the whole, so distinct names stay distinct.
std::string shortened(const std::string& name, std::size_t max) {
    constexpr std::size_t hash = 16;
    if (name.size() <= max) return name;
    Sha256 sha;
    sha.update(name);
    return std::string(utf8_prefix(name, max - hash - 1)) + "~" + sha.hex().substr(0, hash);
}

// Output file names made from the input's names, each one a file system
// takes: a long or deep folder name (as one Maildir++ directory, or a path
// of .eml folders), an input file's own long name with a suffix added, or
// a Maildir name with sizes added, is shortened. The report says how many
// were; index.jsonl says where each message went.
class OutputNames {
public:
    // `name` + `suffix`, the suffix kept whole.
    std::string file_name(const std::string& name, std::string_view suffix = {}) {
        std::string out = shortened(name, name_max - suffix.size()) + std::string(suffix);
        if (out.size() != name.size() + suffix.size()) record(name + std::string(suffix), out);
        return out;
    }
    // lost+found/<offset>.bin for a single-file store; for a directory
    // store the file's own relative path with "@<offset>.bin" appended.
    std::filesystem::path lost_found(const std::string& file, std::uint64_t offset) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%012llu.bin", static_cast<unsigned long long>(offset));
        if (file.empty()) return buf;
        const std::filesystem::path p(file);
        return p.parent_path() / file_name(p.filename().string(), std::string("@") + buf);
    }
    // A folder name ("a.b") as a relative path ("a/b"). A level named like
    // a Maildir's cur/, new/ or tmp/ gets a '_' added, or the tree of .eml
    // files would read back as a damaged Maildir. A path is at most 2,048
    // bytes, half of PATH_MAX (the rest is for the output directory and the
    // file name): a deep tree of long names (a PST allows any) has the
    // levels that would pass it joined into one name.
    std::filesystem::path folder_path(const std::string& folder) {
        constexpr std::size_t max_path = 2048;
        const auto level_name = [](std::string level) {
            if (level == "cur" || level == "new" || level == "tmp") level += '_';
            return level;
        };
        std::filesystem::path p;
        bool cut = false;
        std::size_t length = 0;
        std::size_t begin = 0;
        while (begin <= folder.size() && !folder.empty()) {
            const std::size_t dot = std::min(folder.find('.', begin), folder.size());
            const std::string level = level_name(folder.substr(begin, dot - begin));
            const std::string name = shortened(level, name_max);
            if (length + name.size() + 1 > max_path - name_max - 1) {
                const std::string rest = level_name(folder.substr(begin));
                p /= shortened(rest, name_max);
                cut = cut || dot < folder.size() || rest.size() > name_max;
                break;
            }
            cut = cut || name != level;
            p /= name;
            length += name.size() + 1;
            begin = dot + 1;
        }
        if (cut) record(folder, p.string());
        return p;
    }
    // Counted once per name made.
    void record(const std::string& from, const std::string& to) {
        if (!made_.insert(std::hash<std::string>{}(to)).second || count_++ > 0) return;
        // The hash and what follows it tell the name apart; a path joined
        // without one, its start.
        const std::size_t hash = to.rfind('~');
        first_ = "the first, of " + std::to_string(from.size()) + " bytes: \"" + std::string(utf8_prefix(from, 48)) +
                 "...\" as \"..." + (hash == std::string::npos ? std::string(utf8_prefix(to, 64)) : to.substr(hash)) + "\"";
    }
    [[nodiscard]] std::vector<std::string> notes() const {
        if (count_ == 0) return {};
        return {std::to_string(count_) + " output name(s) past the 255 bytes of a file name, or paths past 2,048 " +
                "bytes, shortened to their start and a hash of the whole (" + first_ +
                "); index.jsonl names each message's file"};
    }

private:
    std::uint64_t count_ = 0;
    std::string first_;
    std::unordered_set<std::size_t> made_;
};

std::string_view state_name(OutMessage::State s) {
    switch (s) {
        case OutMessage::State::repaired: return "repaired";
        case OutMessage::State::partial: return "partial";
        case OutMessage::State::intact: break;
    }
    return "intact";
}

// Every sink keeps index.jsonl: one line per message written, saying where
// it went and what it was in the input, so that any output file can be
// traced back to its bytes in the damaged store. Written as it goes: the
// index of a store of millions of messages is never held in memory.
class SinkBase : public MessageSink {
public:
    explicit SinkBase(const OutputDir& dir) : dir_(dir) {}
    void finish() final {
        finish_output();
        if (!index_) index_ = std::make_unique<FileWriter>(dir_.staging() / "index.jsonl");
        index_->close();
    }
    void lost_found(const std::string& file, std::uint64_t input_offset, const std::vector<ByteView>& pieces) override {
        const std::filesystem::path path = dir_.staging() / "lost+found" / naming_.lost_found(file, input_offset);
        std::filesystem::create_directories(path.parent_path());
        FileWriter w(path, Sync::with_directory);
        for (const ByteView& p : pieces) w.write(p.text());
        w.close();
        ++lost_found_files_;
    }
    void uid_index(const std::string& /*folder*/, const UidIndex& /*index*/) override {}
    void store_file(const std::string& /*folder*/, const std::string& /*name*/, const ByteView& /*bytes*/,
                    std::optional<std::int64_t> /*mtime*/) override {}
    [[nodiscard]] std::uint64_t lost_found_files() const override { return lost_found_files_; }
    [[nodiscard]] std::uint64_t messages_written() const override { return written_; }
    [[nodiscard]] std::vector<std::string> notes() const override { return naming_.notes(); }

protected:
    virtual void finish_output() {}
    // `file` relative to the output directory; `offset` where in it the
    // message starts, for outputs of many messages a file.
    void indexed(const OutMessage& m, const std::filesystem::path& file, std::optional<std::uint64_t> offset) {
        nlohmann::json line{{"message", m.number},
                            {"folder", m.folder},
                            {"file", std::filesystem::relative(file, dir_.staging()).generic_string()},
                            {"input_offset", m.input_offset},
                            {"state", state_name(m.state)}};
        if (offset) line["offset"] = *offset;
        if (!m.source.empty()) line["source"] = m.source;
        if (!m.missing.empty()) line["missing"] = m.missing;
        if (!index_) index_ = std::make_unique<FileWriter>(dir_.staging() / "index.jsonl");
        index_->write(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    }

    const OutputDir& dir_;
    std::uint64_t written_ = 0;
    OutputNames naming_;

private:
    std::uint64_t lost_found_files_ = 0;
    std::unique_ptr<FileWriter> index_;
};

bool is_content_length(std::string_view line) {
    return line.size() >= 15 && mime::iequals(line.substr(0, 15), "Content-Length:");
}

// Body bytes as write_mboxrd will write them, for Content-Length.
std::uint64_t mboxrd_body_length(const OutMessage& m) {
    std::uint64_t n = 0;
    bool in_headers = true;
    bool last_terminated = true;
    for_each_line(m, [&](std::string_view line) {
        if (in_headers) {
            if (line == "\n" || line == "\r\n") in_headers = false;
            return;
        }
        n += line.size() + (is_quoted_from(line) ? 1 : 0);
        last_terminated = line.ends_with('\n');
    });
    if (!last_terminated) ++n;
    for (const std::string& b : m.close_boundaries) n += b.size() + 5;
    return n;
}

// What repair adds after a message's last line: the closing delimiters of
// the multiparts a truncation left open, on a line of their own.
std::string closing_delimiters(const OutMessage& m, bool last_terminated) {
    std::string text = last_terminated || m.close_boundaries.empty() ? "" : "\n";
    for (const std::string& b : m.close_boundaries) text += "--" + b + "--\n";
    return text;
}

}  // namespace

void write_message_file(ByteOut& out, const OutMessage& m) {
    bool last_terminated = true;
    for_each_line(m, [&](std::string_view line) {
        out.write(line);
        last_terminated = line.ends_with('\n');
    });
    out.write(closing_delimiters(m, last_terminated));
}

std::vector<ByteView> written_pieces(const OutMessage& m, std::string& added) {
    std::vector<ByteView> pieces = m.pieces;
    if (m.close_boundaries.empty()) return pieces;
    bool last_terminated = true;
    for (const ByteView& p : m.pieces)
        if (!p.empty()) last_terminated = p.at_or(p.size() - 1, 0) == '\n';
    added = closing_delimiters(m, last_terminated);
    pieces.emplace_back(added);
    return pieces;
}

namespace {

// One mbox per folder: the top folder is `name`, folder "a.b" is "name.a.b".
class MboxSink final : public SinkBase {
public:
    MboxSink(const OutputDir& dir, const std::string& name) : SinkBase(dir), name_(name) { MboxSink::begin_folder("", {}); }
    void begin_folder(const std::string& folder, const FolderInfo& /*info*/) override {
        if (out_ && folder == folder_) return;
        if (out_) out_->close();
        folder_ = folder;
        // Two input folders can map to one name (".a.b" and "a/b"): the
        // second gets a number rather than failing the repair.
        const std::string base = folder.empty() ? name_ : name_ + "." + folder;
        std::string wanted = base;
        file_ = shortened(wanted, name_max);
        for (unsigned k = 2; !used_.insert(file_).second; ++k) file_ = shortened(wanted = base + "." + std::to_string(k), name_max);
        if (wanted.size() > name_max) naming_.record(wanted, file_);
        if (folder.empty()) top_ = file_;
        out_ = std::make_unique<FileWriter>(dir_.staging() / file_);
    }
    [[nodiscard]] std::string store_path() const override { return top_; }
    void message(const OutMessage& m) override {
        begin_folder(m.folder, {});
        indexed(m, dir_.staging() / file_, out_->written());
        write_mboxrd(*out_, m);
        ++written_;
    }

private:
    void finish_output() override {
        if (out_) out_->close();
    }

    std::string name_;
    std::string folder_;
    std::string file_;
    std::string top_;
    std::unordered_set<std::string> used_;
    std::unique_ptr<FileWriter> out_;
};

// One RFC 5322 file per message under messages/<folder path>/, numbered in
// store order, with the message's time kept as the file's; a contact or
// calendar item also as its .vcf or .ics beside it.
class EmlSink final : public SinkBase {
public:
    explicit EmlSink(const OutputDir& dir) : SinkBase(dir) { EmlSink::begin_folder("", {}); }
    void begin_folder(const std::string& folder, const FolderInfo& /*info*/) override {
        if (started_ && folder == folder_) return;
        started_ = true;
        folder_ = folder;
        here_ = dir_.staging() / "messages" / naming_.folder_path(folder);
        std::filesystem::create_directories(here_);
    }
    void message(const OutMessage& m) override {
        begin_folder(m.folder, {});
        const std::filesystem::path& dir = here_;
        char number[32];
        std::snprintf(number, sizeof number, "%06llu.", static_cast<unsigned long long>(written_) + 1);
        if (m.item_file) {
            const std::filesystem::path path = dir / (number + m.item_file->extension);
            FileWriter w(path, Sync::with_directory);
            w.write(m.item_file->bytes.text());
            w.close();
            if (m.mtime) set_mtime(path, *m.mtime);
        }
        const std::filesystem::path path = dir / (std::string(number) + "eml");
        FileWriter w(path, Sync::with_directory);
        write_message_file(w, m);
        // A file of one message ends with a line terminator (RFC 5322).
        if (w.written() > 0 && !ends_terminated(m)) w.write("\n");
        w.close();
        if (m.mtime) set_mtime(path, *m.mtime);
        indexed(m, path, std::nullopt);
        ++written_;
    }

private:
    std::string folder_;
    std::filesystem::path here_;
    bool started_ = false;

    static bool ends_terminated(const OutMessage& m) {
        if (!m.close_boundaries.empty()) return true;
        for (auto it = m.pieces.rbegin(); it != m.pieces.rend(); ++it)
            if (!it->empty()) return it->at_or(it->size() - 1, 0) == '\n';
        return true;
    }
};

// Counts what a Maildir name records: the size, and the size with every
// bare LF counted as CRLF (Dovecot's W=).
class SizingWriter final : public ByteOut {
public:
    explicit SizingWriter(ByteOut& out) : out_(out) {}
    void write(std::string_view bytes) override {
        for (const char c : bytes) {
            if (c == '\n' && prev_ != '\r') ++bare_lf_;
            prev_ = c;
        }
        size_ += bytes.size();
        out_.write(bytes);
    }
    [[nodiscard]] std::uint64_t size() const { return size_; }
    [[nodiscard]] std::uint64_t vsize() const { return size_ + bare_lf_; }

private:
    ByteOut& out_;
    std::uint64_t size_ = 0;
    std::uint64_t bare_lf_ = 0;
    char prev_ = 0;
};

// A Maildir++ tree: the top folder at OUT/<name>, folder "a.b" at
// OUT/<name>/.a.b with its maildirfolder file. Each message is delivered
// the Maildir way, written in tmp/ and renamed into new/ or cur/ once its
// sizes are known.
class MaildirSink final : public SinkBase {
public:
    MaildirSink(const OutputDir& dir, const std::string& name) : SinkBase(dir), root_(dir.staging() / name) {
        MaildirSink::begin_folder("", {});
    }
    [[nodiscard]] std::string store_path() const override { return root_.filename().string(); }
    void begin_folder(const std::string& folder, const FolderInfo& /*info*/) override {
        if (started_ && folder == folder_) return;
        started_ = true;
        folder_ = folder;
        names_.clear();
        used_.clear();
        here_ = folder.empty() ? root_ : root_ / naming_.file_name("." + folder);
        for (const char* sub : {"cur", "new", "tmp"}) std::filesystem::create_directories(here_ / sub);
        if (!folder.empty()) FileWriter(here_ / "maildirfolder", Sync::with_directory).close();
    }
    void message(const OutMessage& m) override {
        begin_folder(m.folder, {});
        const std::string wanted = m.unique.empty() ? std::to_string(m.mtime.value_or(0)) + ".M" +
                                                          std::to_string(written_ + 1) + "P0.mailfsck"
                                                    : m.unique;
        // Two messages must not share a unique part in one folder, and the
        // name must hold the sizes and flags added to it (a client may have
        // left them no room).
        std::string given = wanted;
        std::string unique = shortened(given, max_unique);
        for (unsigned k = 2; used_.count(unique); ++k) unique = shortened(given = wanted + "_" + std::to_string(k), max_unique);
        if (given.size() > max_unique) naming_.record(given, unique);
        used_.insert(unique);
        const std::filesystem::path tmp = here_ / "tmp" / unique;
        FileWriter w(tmp, Sync::with_directory);
        SizingWriter sized(w);
        write_message_file(sized, m);
        w.close();
        if (m.mtime) set_mtime(tmp, *m.mtime);
        const std::string base = unique + ",S=" + std::to_string(sized.size()) + ",W=" + std::to_string(sized.vsize());
        const std::filesystem::path final_path =
            m.is_new ? here_ / "new" / base : here_ / "cur" / maildir::canonical_name(unique, sized.size(), sized.vsize(), m.flags);
        std::filesystem::rename(tmp, final_path);
        indexed(m, final_path, std::nullopt);
        names_.emplace(m.unique.empty() ? unique : m.unique, base);
        ++written_;
    }
    void uid_index(const std::string& folder, const UidIndex& index) override {
        begin_folder(folder, {});
        const bool dovecot = index.kind == UidIndex::Kind::dovecot;
        std::string text = dovecot ? "3 V" + std::to_string(index.uid_validity) + " N" + std::to_string(index.next_uid)
                                   : "1 " + std::to_string(index.uid_validity) + " " + std::to_string(index.next_uid);
        if (dovecot && !index.guid.empty()) text += " G" + index.guid;
        text += "\n";
        for (const UidIndex::Entry& e : index.entries) {
            const auto it = names_.find(e.unique);
            if (it == names_.end()) continue;
            text += std::to_string(e.uid) + (dovecot ? " :" : " ") + it->second + "\n";
        }
        FileWriter w(here_ / (dovecot ? "dovecot-uidlist" : "courierimapuiddb"), Sync::with_directory);
        w.write(text);
        w.close();
    }
    void store_file(const std::string& folder, const std::string& name, const ByteView& bytes,
                    std::optional<std::int64_t> mtime) override {
        begin_folder(folder, {});
        const std::filesystem::path path = here_ / name;
        std::filesystem::create_directories(path.parent_path());
        if (std::filesystem::exists(path)) return;  // maildirfolder, written already
        FileWriter w(path, Sync::with_directory);
        w.write(bytes.text());
        w.close();
        if (mtime) set_mtime(path, *mtime);
    }

private:
    // What canonical_name adds: ",S=" and ",W=" with 20 digits each, ":2,"
    // and the 32 flags (6 standard, 26 keywords).
    static constexpr std::size_t max_unique = name_max - (3 + 20) - (3 + 20) - 3 - 32;
    std::filesystem::path root_;
    std::filesystem::path here_;
    std::string folder_;
    bool started_ = false;
    // This folder's unique parts, to the base names written: what its UID
    // list refers to.
    std::unordered_map<std::string, std::string> names_;
    std::unordered_set<std::string> used_;
};

}  // namespace

void write_mboxrd(ByteOut& out, const OutMessage& m) {
    const std::uint64_t body = mboxrd_body_length(m);
    out.write(m.separator.empty() ? synthesized_separator(m.mtime) : m.separator);
    out.write("\n");
    bool in_headers = true;
    bool in_content_length = false;
    bool last_terminated = true;
    for_each_line(m, [&](std::string_view line) {
        if (in_headers && (line == "\n" || line == "\r\n")) in_headers = false;
        // The whole field is replaced: a folded value's continuation lines
        // would fold into the new one and make it no number.
        const bool continuation = line.starts_with(' ') || line.starts_with('\t');
        if (in_headers && in_content_length && continuation) return;
        in_content_length = false;
        if (in_headers && is_content_length(line)) {
            out.write("Content-Length: " + std::to_string(body));
            out.write(line.ends_with("\r\n") ? "\r\n" : "\n");
            in_content_length = true;
            return;
        }
        if (is_quoted_from(line)) out.write(">");
        out.write(line);
        last_terminated = line.ends_with('\n');
    });
    // The last line ended, delimiters or not, and the empty line a From_
    // line must follow.
    if (!last_terminated) out.write("\n");
    out.write(closing_delimiters(m, true) + "\n");
}

// A new PST (pst_output.h), with the index and lost+found every sink keeps.
class PstSink final : public SinkBase {
public:
    PstSink(const OutputDir& dir, const std::string& store_name, const std::string& mail_root)
        : SinkBase(dir), path_(dir.staging() / naming_.file_name(store_name, ".pst")), file_(path_), store_(file_, store_name, mail_root) {}
    [[nodiscard]] std::string store_path() const override { return path_.filename().string(); }
    [[nodiscard]] std::vector<std::string> notes() const override {
        std::vector<std::string> out = SinkBase::notes();
        for (std::string& n : store_.notes()) out.push_back(std::move(n));
        return out;
    }

    void begin_store(const StoreInfo& info) override { store_.begin_store(info); }
    void begin_folder(const std::string& folder, const FolderInfo& info) override { store_.begin_folder(folder, info); }
    void message(const OutMessage& m) override {
        store_.message(m);
        ++written_;
        indexed(m, path_, std::nullopt);
    }
    [[nodiscard]] bool keeps_associated() const override { return true; }
    void associated(const std::string& folder, const pst::Message& item, const pst::NameMap* names) override {
        store_.associated(folder, item, names);
    }

private:
    void finish_output() override {
        store_.finish();
        file_.close();
    }

    std::filesystem::path path_;
    PositionedFile file_;
    PstOutput store_;
};

std::unique_ptr<MessageSink> make_sink(OutputFormat format, const OutputDir& dir, const std::string& store_name,
                                       const std::string& mail_root) {
    switch (format) {
        case OutputFormat::eml: return std::make_unique<EmlSink>(dir);
        case OutputFormat::maildir: return std::make_unique<MaildirSink>(dir, store_name);
        case OutputFormat::pst: return std::make_unique<PstSink>(dir, store_name, mail_root);
        case OutputFormat::mbox: break;
    }
    return std::make_unique<MboxSink>(dir, store_name);
}

}  // namespace mailfsck
