#include "eml_check.h"

#include <sys/stat.h>

#include <algorithm>

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

// Does the file's name, or where it lies, say it is a mail client's mbox
// folder: Thunderbird's summary ("<name>.msf") beside it or its subfolder
// directory ("<parent>.sbd/") around it, an Apple Mail bundle's "mbox", a
// name ending .mbox or .mbx?
bool named_as_folder(const std::string& rel_dir, const Listing& l, const DirEntry& e) {
    const DirEntry summary{e.name + ".msf"};
    std::string name = e.name;
    return std::binary_search(l.entries.begin(), l.entries.end(), summary,
                              [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; }) ||
           rel_dir.ends_with(".sbd") || e.name == "mbox" || strip_suffix(name, ".mbox") || strip_suffix(name, ".mbx");
}

enum class FileKind { other, message, mbox };

// What a file of a directory store is. Content decides, except for a file
// named as a message (one, damaged or not) and between a saved message
// that begins with a From_ line and an mbox folder of one message (or
// none), where the name decides. In repair's mbox output (`mbox_output`)
// every file is a folder, named as the input was, .eml or not.
FileKind kind_of(const std::string& rel_dir, const Listing& l, const DirEntry& e, const Source& src,
                 bool mbox_output) {
    const ByteView v = src.bytes();
    if (mbox_output) return FileKind::mbox;
    if (v.starts_with("!BDN") || is_card_or_calendar(v)) return FileKind::other;
    if (has_message_extension(e.name)) return FileKind::message;
    const bool folder = named_as_folder(rel_dir, l, e);
    if (v.empty()) return folder ? FileKind::mbox : FileKind::other;
    if (starts_with_separator(v)) return folder || frames_several_messages(src) ? FileKind::mbox : FileKind::message;
    if (looks_like_message(v)) return holds_several_messages(src) ? FileKind::mbox : FileKind::message;
    // A damaged start: somewhere after it, a separator and its header.
    return looks_like_mbox(src) ? FileKind::mbox : FileKind::other;
}

// Thunderbird's "<name>.sbd/" and Apple Mail's "<name>.mbox/" are folders
// by their mbox files, not by themselves.
bool is_layout_directory(const std::string& rel_dir) {
    return rel_dir.ends_with(".sbd") || rel_dir.ends_with(".mbox");
}

class DirectoryChecker {
public:
    DirectoryChecker(const std::string& root, const std::optional<RepairOutput>& own, StoreLog& log,
                     MessageSink* sink, const CheckHooks& hooks)
        : root_(root),
          own_output_(own.has_value()),
          mbox_output_(own && own->format == "mbox"),
          log_(log),
          sink_(sink),
          hooks_(hooks) {}

    void run() {
        log_.files.emplace();
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
        // A directory is a folder, empty or not, unless a layout's; in that
        // its mbox file is the folder.
        if (!is_layout_directory(rel)) announce(folder_of(rel));
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
                if (file(rel, l, e) == Kind::mbox) mailboxes.push_back(&e);
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
        for (const DirEntry& e : l.entries) {
            if (e.type != EntryType::directory || log_.error) continue;
            if (own_output_ && rel.empty() && is_beside_store(e.name)) {
                add(ProblemId::store_own_report, e.name, "directory");
                continue;
            }
            walk(join_path(rel, e.name), depth + 1);
        }
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
    Kind file(const std::string& rel_dir, const Listing& l, const DirEntry& e) {
        const std::string rel = join_path(rel_dir, e.name);
        ++log_.files->seen;
        if (own_output_ && is_beside_store(rel)) {
            ++log_.files->other;
            add(ProblemId::store_own_report, rel, "file");
            return Kind::done;
        }
        const std::unique_ptr<Source> src = open(rel);
        if (!src) return Kind::done;
        const ByteView bytes = src->bytes();
        switch (kind_of(rel_dir, l, e, *src, mbox_output_)) {
            case FileKind::mbox: return Kind::mbox;
            case FileKind::other:
                // Listed, not called damaged: it never claimed to be mail.
                ++log_.files->other;
                add(ProblemId::store_not_mail_file, rel, "file",
                    std::to_string(bytes.size()) + (bytes.starts_with("!BDN") ? " bytes, a PST: check it on its own" : " bytes"));
                return Kind::done;
            case FileKind::message: break;
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
    const bool own_output_;
    const bool mbox_output_;
    StoreLog& log_;
    MessageSink* sink_;
    const CheckHooks& hooks_;
    std::optional<std::string> announced_;
};

// How many message files and mbox files a look at the first few hundred
// entries of a tree finds: enough to tell a folder of mail without reading
// a whole disk.
struct Survey {
    int budget = 256;
    std::uint64_t messages = 0;
    std::uint64_t mailboxes = 0;
};

void survey(const std::string& root, const std::string& rel, int levels, Survey& s) {
    const Listing l = list_directory(under(root, rel));
    if (!l.error.empty()) return;
    for (const DirEntry& e : l.entries) {
        if (s.budget-- <= 0) return;
        if (e.type != EntryType::file || (rel.empty() && is_beside_store(e.name))) continue;
        try {
            const auto src = Source::open(under(root, join_path(rel, e.name)), Links::refuse);
            switch (kind_of(rel, l, e, *src, false)) {
                case FileKind::message: ++s.messages; break;
                case FileKind::mbox: ++s.mailboxes; break;
                case FileKind::other: break;
            }
        } catch (const SourceError&) {
            // An unreadable file decides nothing; the check reports it.
        }
    }
    if (levels == 0) return;
    for (const DirEntry& e : l.entries)
        if (e.type == EntryType::directory) survey(root, join_path(rel, e.name), levels - 1, s);
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

void check_mail_directory(const std::string& root, const std::optional<RepairOutput>& own, StoreLog& log,
                          MessageSink* sink, const CheckHooks& hooks) {
    DirectoryChecker(root, own, log, sink, hooks).run();
}

std::optional<StoreFormat> mail_directory_format(const std::string& dir) {
    Survey s;
    survey(dir, "", 3, s);
    if (s.mailboxes > 0 && s.mailboxes >= s.messages) return StoreFormat::mbox;
    if (s.messages > 0 || s.mailboxes > 0) return StoreFormat::eml;
    return std::nullopt;
}

}  // namespace mailfsck
