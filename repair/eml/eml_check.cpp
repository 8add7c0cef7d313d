#include "eml_check.h"

#include <sys/stat.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "parsers/mime/headers.h"
#include "repair/mbox/mbox_check.h"
#include "repair/store/detect.h"
#include "repair/store/message_file.h"
#include "repair/store/tree.h"

namespace mailfsck {
namespace {

bool has_message_extension(std::string_view name) {
    for (const std::string_view ext : {".eml", ".EML", ".msg.txt", ".mime"})
        if (name.size() > ext.size() && name.ends_with(ext)) return true;
    return false;
}

// A vCard or iCalendar object (what an export writes beside a contact's
// or an appointment's message): its BEGIN line reads like a header field.
bool is_card_or_calendar(const ByteView& bytes) {
    const Line first = line_at(bytes, 0);
    const std::string_view line = bytes.sub(first.begin, first.content_length()).text();
    return mime::iequals(line, "BEGIN:VCARD") || mime::iequals(line, "BEGIN:VCALENDAR");
}

bool strip_suffix(std::string& name, std::string_view suffix) {
    if (name.size() <= suffix.size() || !name.ends_with(suffix)) return false;
    name.resize(name.size() - suffix.size());
    return true;
}

// A folder path from a directory path: Thunderbird keeps a folder's
// subfolders in "<name>.sbd/", Apple Mail exports "<name>.mbox/" bundles,
// and either suffix is the layout's, not the folder's name.
std::string folder_of(const std::string& rel_dir) {
    std::string out;
    std::size_t begin = 0;
    while (begin < rel_dir.size()) {
        const std::size_t slash = std::min(rel_dir.find('/', begin), rel_dir.size());
        std::string part = rel_dir.substr(begin, slash - begin);
        if (!strip_suffix(part, ".sbd")) strip_suffix(part, ".mbox");
        out += (out.empty() ? "" : ".") + part;
        begin = slash + 1;
    }
    return out;
}

// The folder an mbox file holds: named as the file, less an extension; an
// Apple Mail bundle's "mbox" file is its bundle's folder.
std::string mbox_folder(const std::string& rel_dir, std::string name) {
    std::string parent = folder_of(rel_dir);
    if (name == "mbox" && rel_dir.ends_with(".mbox") && !parent.empty()) return parent;
    if (!strip_suffix(name, ".mbox")) strip_suffix(name, ".mbx");
    return parent.empty() ? name : parent + "." + name;
}

// A file that begins with a From_ line and was saved as one message, or
// an mbox of one message? In a directory of mbox files (the store's
// format is mbox), such a file is a folder unless named as a message;
// elsewhere it is a message unless more follow.
bool is_mbox_file(const Source& src, bool mbox_store, bool message_name) {
    const ByteView v = src.bytes();
    if (starts_with_separator(v)) return (mbox_store && !message_name) || holds_several_messages(src);
    if (looks_like_message(v)) return holds_several_messages(src);
    // A damaged start: a message file's name says it was one message.
    return !message_name && looks_like_mbox(src);
}

// A repair's output directory holds its report beside the store it wrote:
// `verify OUT` must not call the report a damaged message (report.txt's
// first line even reads as a header field). Returns the format the report
// says was written ("" when it does not say), or nullopt for no report of
// ours.
std::optional<std::string> own_report(const std::string& root) {
    // Far more than any report of a real store, far less than memory.
    constexpr std::uint64_t max_report = std::uint64_t{64} << 20;
    try {
        const std::unique_ptr<Source> src = Source::open(under(root, "report.json"), Links::refuse);
        const ByteView v = src->bytes();
        if (v.sub(0, 4096).text().find("\"mailfsck-report/") == std::string_view::npos) return std::nullopt;
        if (v.size() > max_report) return std::string();
        const nlohmann::json j = nlohmann::json::parse(v.text(), nullptr, false);
        const nlohmann::json* format = nullptr;
        if (j.is_object() && j.contains("stores") && j["stores"].is_array() && j["stores"].size() == 1) {
            const nlohmann::json& store = j["stores"][0];
            if (store.is_object() && store.contains("output") && store["output"].is_object() &&
                store["output"].contains("format") && store["output"]["format"].is_string())
                format = &store["output"]["format"];
        }
        return format ? format->get<std::string>() : std::string();
    } catch (const SourceError&) {
        return std::nullopt;
    }
}

bool is_report_name(const std::string& rel) {
    return rel == "report.json" || rel == "report.txt" || rel == "index.jsonl";
}

class DirectoryChecker {
public:
    DirectoryChecker(const std::string& root, bool mbox_store, StoreLog& log, MessageSink* sink,
                     const CheckHooks& hooks)
        : root_(root), mbox_store_(mbox_store), log_(log), sink_(sink), hooks_(hooks) {}

    void run() {
        log_.files.emplace();
        own_report_ = own_report(root_).has_value();
        walk("", 0);
        if (log_.messages.found == 0 && !log_.error) log_.add(ProblemId::store_empty, 0, 0, "store");
    }

private:
    Finding& add(ProblemId id, const std::string& rel, std::string structure, std::string detail = {}) {
        Finding& f = log_.add(id, 0, 0, std::move(structure), std::nullopt, std::move(detail));
        f.file = escaped_name(rel);
        return f;
    }

    void walk(const std::string& rel, int depth) {
        if (depth > max_tree_depth) {
            add(ProblemId::store_too_deep, rel, "directory", std::string(too_deep_detail));
            return;
        }
        const Listing l = list_directory(under(root_, rel));
        if (!l.error.empty()) {
            add(ProblemId::store_unreadable, rel, "directory", l.error);
            return;
        }
        // A directory of message files is a folder, empty or not; in a
        // directory of mbox files each file is one, and the directory is
        // a folder only if messages lie in it.
        if (!mbox_store_) announce(folder_of(rel));
        // Message files, then mbox files, then subdirectories, so each
        // folder's messages arrive together.
        std::vector<const DirEntry*> mailboxes;
        for (const DirEntry& e : l.entries) {
            if (hooks_.interrupted && hooks_.interrupted->load()) {
                log_.error = "interrupted";
                return;
            }
            const std::string child = join_path(rel, e.name);
            if (e.type == EntryType::file) {
                if (file(rel, e) == Kind::mbox) mailboxes.push_back(&e);
            } else if (e.type != EntryType::directory) {
                ++log_.files->seen;
                ++log_.files->skipped;
                add(ProblemId::store_link_or_special, child, "file",
                    e.type == EntryType::link ? "symbolic link" : "special file");
            }
        }
        for (const DirEntry* e : mailboxes) {
            if (hooks_.interrupted && hooks_.interrupted->load()) {
                log_.error = "interrupted";
                return;
            }
            mailbox(rel, *e);
        }
        for (const DirEntry& e : l.entries)
            if (e.type == EntryType::directory && !log_.error) walk(join_path(rel, e.name), depth + 1);
    }

    void announce(const std::string& folder) {
        if (sink_ && announced_ != folder) sink_->begin_folder(folder, {});
        announced_ = folder;
    }

    enum class Kind { done, mbox };

    // Opens the file, or says why it cannot be read.
    std::unique_ptr<Source> open(const std::string& rel) {
        try {
            return Source::open(under(root_, rel), Links::refuse);
        } catch (const SourceError& err) {
            ++log_.files->skipped;
            add(ProblemId::store_unreadable, rel, "file", err.what());
            return nullptr;
        }
    }

    // An mbox file, its folder announced first so an empty one is kept.
    void mailbox(const std::string& rel_dir, const DirEntry& e) {
        const std::string rel = join_path(rel_dir, e.name);
        const std::unique_ptr<Source> src = open(rel);
        if (!src) return;
        ++log_.files->mailboxes;
        const MboxInDirectory within{escaped_name(rel), mbox_folder(rel_dir, e.name)};
        announce(within.folder);
        check_mbox(*src, log_, sink_, hooks_, &within);
    }

    // Checks a message file, or says the file is an mbox for later.
    Kind file(const std::string& rel_dir, const DirEntry& e) {
        const std::string rel = join_path(rel_dir, e.name);
        ++log_.files->seen;
        if (own_report_ && is_report_name(rel)) {
            ++log_.files->other;
            add(ProblemId::store_own_report, rel, "file");
            return Kind::done;
        }
        // An empty file in a directory of mbox files is an empty folder
        // (Thunderbird's, or one repair wrote).
        if (mbox_store_ && e.size == 0 && !has_message_extension(e.name)) return Kind::mbox;
        const std::unique_ptr<Source> src = open(rel);
        if (!src) return Kind::done;
        const ByteView bytes = src->bytes();
        const bool message_name = has_message_extension(e.name);
        if (!bytes.starts_with("!BDN") && !is_card_or_calendar(bytes) && is_mbox_file(*src, mbox_store_, message_name))
            return Kind::mbox;
        // Only a file that claims to be mail by its name or its first line
        // is one; others are listed, not called damaged.
        if (bytes.starts_with("!BDN") || is_card_or_calendar(bytes) || (!message_name && !looks_like_message(bytes))) {
            ++log_.files->other;
            add(ProblemId::store_not_mail_file, rel, "file",
                std::to_string(bytes.size()) + (bytes.starts_with("!BDN") ? " bytes, a PST: check it on its own" : " bytes"));
            return Kind::done;
        }
        ++log_.files->messages;
        announce(folder_of(rel_dir));
        MessageFile f;
        f.bytes = bytes;
        f.name = escaped_name(rel);
        f.meta.folder = folder_of(rel_dir);
        f.meta.mtime = e.mtime;
        f.meta.flags.push_back('S');  // saved messages have been read
        check_message_file(f, ++log_.messages.found, log_, sink_, hooks_);
        return Kind::done;
    }

    const std::string& root_;
    const bool mbox_store_;
    StoreLog& log_;
    MessageSink* sink_;
    const CheckHooks& hooks_;
    bool own_report_ = false;
    std::optional<std::string> announced_;
};

// Is there a file in `dir`, or a few levels below, that `test` says is
// mail of the kind looked for? Enough of the tree is looked at to tell a
// folder of mail without reading a whole disk.
template <typename Test>
bool file_within(const std::string& dir, int levels, int& budget, const Test& test) {
    const Listing l = list_directory(dir);
    if (!l.error.empty()) return false;
    for (const DirEntry& e : l.entries) {
        if (budget-- <= 0) return false;
        if (e.type != EntryType::file) continue;
        try {
            if (test(dir, l, e)) return true;
        } catch (const SourceError&) {
            // An unreadable file decides nothing; the check reports it.
        }
    }
    if (levels == 0) return false;
    for (const DirEntry& e : l.entries)
        if (e.type == EntryType::directory && file_within(under(dir, e.name), levels - 1, budget, test)) return true;
    return false;
}

bool is_message_file(const std::string& dir, const Listing& /*l*/, const DirEntry& e) {
    return looks_like_message(Source::open(under(dir, e.name), Links::refuse)->bytes());
}

// An mbox file by more than a From_ line, which one saved message may
// begin with: more messages after it, a name saying so, or Thunderbird's
// summary file ("<name>.msf") beside it, which also marks an empty folder.
bool is_mbox_evidence(const std::string& dir, const Listing& l, const DirEntry& e) {
    const DirEntry summary_key{e.name + ".msf"};
    const bool summary = std::binary_search(l.entries.begin(), l.entries.end(), summary_key,
                                            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
    if (e.size == 0) return summary;
    const std::unique_ptr<Source> src = Source::open(under(dir, e.name), Links::refuse);
    if (!starts_with_separator(src->bytes())) return false;
    std::string name = e.name;
    return summary || e.name == "mbox" || strip_suffix(name, ".mbox") || strip_suffix(name, ".mbx") ||
           holds_several_messages(*src);
}

}  // namespace

void check_eml_file(const Source& source, const std::string& path, StoreLog& log, MessageSink* sink,
                    const CheckHooks& hooks) {
    MessageFile f;
    f.bytes = source.bytes();
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) f.meta.mtime = st.st_mtim.tv_sec;
    f.meta.flags.push_back('S');
    check_message_file(f, ++log.messages.found, log, sink, hooks);
}

void check_mail_directory(const std::string& root, bool mbox_store, StoreLog& log, MessageSink* sink,
                          const CheckHooks& hooks) {
    DirectoryChecker(root, mbox_store, log, sink, hooks).run();
}

namespace {

// Does the tree under `root` hold a file `test` accepts, repair's own
// report aside?
template <typename Test>
bool holds(const std::string& root, const Test& test) {
    const bool own = own_report(root).has_value();
    int budget = 256;
    return file_within(root, 3, budget, [&](const std::string& dir, const Listing& l, const DirEntry& e) {
        return !(own && dir == root && is_report_name(e.name)) && test(dir, l, e);
    });
}

}  // namespace

// Repair's own output says what it is, also when it holds no message (or,
// for mbox, no folder of two).
bool holds_message_files(const std::string& dir) { return own_report(dir) == "eml" || holds(dir, is_message_file); }

bool holds_mbox_files(const std::string& dir) { return own_report(dir) == "mbox" || holds(dir, is_mbox_evidence); }

}  // namespace mailfsck
