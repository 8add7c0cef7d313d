#include "eml_check.h"

#include <sys/stat.h>

#include "parsers/mime/headers.h"
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

std::string folder_of(const std::string& rel_dir) {
    std::string out = rel_dir;
    for (char& c : out)
        if (c == '/') c = '.';
    return out;
}

class EmlDirectoryChecker {
public:
    EmlDirectoryChecker(const std::string& root, StoreLog& log, MessageSink* sink, const CheckHooks& hooks)
        : root_(root), log_(log), sink_(sink), hooks_(hooks) {}

    void run() {
        log_.files.emplace();
        own_report_ = is_own_report(under(root_, "report.json"));
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
        if (sink_) sink_->begin_folder(folder_of(rel), {});
        // Files first, so each folder's messages arrive together.
        for (const DirEntry& e : l.entries) {
            if (hooks_.interrupted && hooks_.interrupted->load()) {
                log_.error = "interrupted";
                return;
            }
            const std::string child = join_path(rel, e.name);
            if (e.type == EntryType::file) {
                file(child, folder_of(rel), e);
            } else if (e.type != EntryType::directory) {
                ++log_.files->seen;
                ++log_.files->skipped;
                add(ProblemId::store_link_or_special, child, "file",
                    e.type == EntryType::link ? "symbolic link" : "special file");
            }
        }
        for (const DirEntry& e : l.entries)
            if (e.type == EntryType::directory && !log_.error) walk(join_path(rel, e.name), depth + 1);
    }

    void file(const std::string& rel, const std::string& folder, const DirEntry& e) {
        ++log_.files->seen;
        if (own_report_ && (rel == "report.json" || rel == "report.txt" || rel == "index.jsonl")) {
            ++log_.files->other;
            add(ProblemId::store_own_report, rel, "file");
            return;
        }
        std::unique_ptr<Source> src;
        try {
            src = Source::open(under(root_, rel), Links::refuse);
        } catch (const SourceError& err) {
            ++log_.files->skipped;
            add(ProblemId::store_unreadable, rel, "file", err.what());
            return;
        }
        const ByteView bytes = src->bytes();
        // Only a file that claims to be mail by its name or its first line
        // is one; others are listed, not called damaged.
        if (is_card_or_calendar(bytes) || (!has_message_extension(e.name) && !looks_like_message(bytes))) {
            ++log_.files->other;
            add(ProblemId::store_not_mail_file, rel, "file", std::to_string(bytes.size()) + " bytes");
            return;
        }
        ++log_.files->messages;
        MessageFile f;
        f.bytes = bytes;
        f.name = escaped_name(rel);
        f.meta.folder = folder;
        f.meta.mtime = e.mtime;
        f.meta.flags.push_back('S');  // saved messages have been read
        check_message_file(f, ++log_.messages.found, log_, sink_, hooks_);
    }

    // A repair's output directory holds its report beside the messages/
    // tree: `verify OUT` must not call the report a damaged message.
    static bool is_own_report(const std::string& path) {
        try {
            const std::unique_ptr<Source> src = Source::open(path, Links::refuse);
            return src->bytes().sub(0, 4096).text().find("\"mailfsck-report/") != std::string_view::npos;
        } catch (const SourceError&) {
            return false;
        }
    }

    const std::string& root_;
    StoreLog& log_;
    MessageSink* sink_;
    const CheckHooks& hooks_;
    bool own_report_ = false;
};

bool message_file_within(const std::string& dir, int levels, int& budget) {
    const Listing l = list_directory(dir);
    if (!l.error.empty()) return false;
    for (const DirEntry& e : l.entries) {
        if (budget-- <= 0) return false;
        if (e.type != EntryType::file) continue;
        try {
            const auto src = Source::open(under(dir, e.name), Links::refuse);
            if (looks_like_message(src->bytes())) return true;
        } catch (const SourceError&) {
            // An unreadable file decides nothing; the check reports it.
        }
    }
    if (levels == 0) return false;
    for (const DirEntry& e : l.entries)
        if (e.type == EntryType::directory && message_file_within(under(dir, e.name), levels - 1, budget)) return true;
    return false;
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

void check_eml_directory(const std::string& root, StoreLog& log, MessageSink* sink, const CheckHooks& hooks) {
    EmlDirectoryChecker(root, log, sink, hooks).run();
}

bool holds_message_files(const std::string& dir) {
    // Enough to recognise a folder of mail without reading a whole disk.
    int budget = 256;
    return message_file_within(dir, 3, budget);
}

}  // namespace mailfsck
