#include "maildir_check.h"

#include <algorithm>
#include <array>
#include <ctime>
#include <map>
#include <set>
#include <unordered_map>

#include "parsers/bytes/source.h"
#include "parsers/maildir/filename.h"
#include "parsers/maildir/uidlist.h"
#include "repair/store/message_file.h"
#include "repair/store/tree.h"

namespace mailfsck {
namespace {

using maildir::NameDefectKind;

// Past this many findings of one kind in one folder the rest are counted in
// a summary finding: a folder of 100,000 unsorted flags is one problem.
constexpr std::size_t max_findings_per_kind = 20;

bool has_subdir(const Listing& l, std::string_view name) {
    return std::any_of(l.entries.begin(), l.entries.end(),
                       [&](const DirEntry& e) { return e.name == name && e.type == EntryType::directory; });
}

bool has_file(const Listing& l, std::string_view name) {
    return std::any_of(l.entries.begin(), l.entries.end(),
                       [&](const DirEntry& e) { return e.name == name && e.type == EntryType::file; });
}

// A folder has cur/, new/ or tmp/, or the files only a folder has (git and
// some backups drop empty directories, leaving a folder with none of the three).
bool is_folder(const Listing& l) {
    return has_subdir(l, "cur") || has_subdir(l, "new") || has_subdir(l, "tmp") || has_file(l, "maildirfolder") ||
           has_file(l, "dovecot-uidlist") || has_file(l, "courierimapuiddb");
}

// Files a server writes to speed itself up and rebuilds from the messages.
bool is_server_cache(std::string_view name) {
    return name.starts_with("dovecot.index") || name == "dovecot.mailbox.log" || name == "dovecot-uidlist.lock" ||
           name == "maildirsize" || name == "courierpop3dsizelist";
}

// Control files of the Maildir world, carried over as they are.
bool is_known_control(std::string_view name) {
    static constexpr std::array<std::string_view, 9> names = {
        "maildirfolder", "subscriptions", "courierimapsubscribed", "courierimaphieracl", "dovecot-acl",
        "dovecot-shared", ".uidvalidity", ".noindex", ".noupdate"};
    if (name.starts_with("dovecot-uidvalidity")) return true;
    return std::find(names.begin(), names.end(), name) != names.end();
}

std::string utc_date(std::int64_t t) {
    const std::time_t tt = t;
    std::tm tm{};
    if (gmtime_r(&tt, &tm) == nullptr) return "an unknown time";
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

// Dovecot's W=: the size with every bare LF counted as CRLF. Most files
// hold no CR at all, and counting LFs alone vectorises.
std::uint64_t crlf_size(const ByteView& v) {
    const std::string_view t = v.text();
    const auto lf = static_cast<std::uint64_t>(std::count(t.begin(), t.end(), '\n'));
    if (t.find('\r') == std::string_view::npos) return v.size() + lf;
    std::uint64_t crlf = 0;
    for (std::size_t i = t.find("\r\n"); i != std::string_view::npos; i = t.find("\r\n", i + 2)) ++crlf;
    return v.size() + lf - crlf;
}

// "a.b" for the folder at relative path ".a.b" or "a/b": Maildir++ names
// lose their leading dot, levels are joined with '.'.
std::string logical_name(const std::string& rel) {
    std::string out;
    std::size_t begin = 0;
    while (begin < rel.size()) {
        const std::size_t slash = std::min(rel.find('/', begin), rel.size());
        std::string_view part(rel.data() + begin, slash - begin);
        if (part.starts_with('.')) part.remove_prefix(1);
        if (!out.empty() && !part.empty()) out += '.';
        out.append(part);
        begin = slash + 1;
    }
    return out;
}

bool bad_name_defect(NameDefectKind k) {
    switch (k) {
        case NameDefectKind::empty_base:
        case NameDefectKind::info_malformed:
        case NameDefectKind::size_invalid:
        case NameDefectKind::vsize_invalid:
        case NameDefectKind::invalid_utf8:
        case NameDefectKind::control_character: return true;
        case NameDefectKind::unknown_flag:
        case NameDefectKind::duplicate_flag:
        case NameDefectKind::unsorted_flags:
        case NameDefectKind::trailing_comma: return false;
    }
    return true;
}

class MaildirChecker {
public:
    MaildirChecker(const std::string& root, StoreLog& log, MessageSink* sink, const CheckHooks& hooks)
        : root_(root), log_(log), sink_(sink), hooks_(hooks) {}

    void run() {
        log_.files.emplace();
        walk("", 0);
        if (log_.messages.found == 0 && !log_.error) log_.add(ProblemId::store_empty, 0, 0, "store");
    }

private:
    std::string abs(const std::string& rel) const { return under(root_, rel); }

    Finding& add(ProblemId id, const std::string& rel, std::string structure, std::string detail = {},
                 std::optional<std::uint64_t> no = std::nullopt, std::uint64_t length = 0) {
        Finding& f = log_.add(id, 0, length, std::move(structure), no, std::move(detail));
        f.file = escaped_name(rel);
        return f;
    }

    bool stopped() {
        if (hooks_.interrupted && hooks_.interrupted->load()) log_.error = "interrupted";
        return log_.error.has_value();
    }

    // Something that is no regular file or directory: counted, never opened.
    void skip_odd(const std::string& rel, EntryType type) {
        ++log_.files->seen;
        ++log_.files->skipped;
        add(ProblemId::store_link_or_special, rel, "file", type == EntryType::link ? "symbolic link" : "special file");
    }

    void walk(const std::string& rel, int depth) {
        if (stopped()) return;
        if (depth > max_tree_depth) {
            add(ProblemId::store_too_deep, rel, "directory", std::string(too_deep_detail));
            return;
        }
        const Listing l = list_directory(abs(rel));
        if (!l.error.empty()) {
            add(ProblemId::store_unreadable, rel, "directory", l.error);
            return;
        }
        if (is_folder(l)) return folder(rel, l, depth);
        for (const DirEntry& e : l.entries) {
            const std::string child = join_path(rel, e.name);
            if (e.type == EntryType::directory) {
                walk(child, depth + 1);
            } else if (e.type == EntryType::file) {
                other_file(child, "", child, e, "outside any Maildir folder");
            } else {
                skip_odd(child, e.type);
            }
        }
    }

    // A file that is not mail: copied as it is, in its place.
    // `in_folder`: its path inside its folder, where the rebuilt store puts it.
    void other_file(const std::string& rel, const std::string& folder, const std::string& in_folder,
                    const DirEntry& e, std::string why) {
        ++log_.files->seen;
        ++log_.files->other;
        if (!why.empty()) add(ProblemId::maildir_other_file, rel, "file", std::move(why));
        if (!sink_) return;
        try {
            const auto src = Source::open(abs(rel), Links::refuse);
            sink_->store_file(folder, in_folder, src->bytes(), e.mtime);
        } catch (const SourceError& err) {
            add(ProblemId::store_unreadable, rel, "file", err.what());
        }
    }

    void folder(const std::string& rel, const Listing& l, int depth) {
        const std::string name = logical_name(rel);
        const std::string dir_name = rel.substr(rel.rfind('/') == std::string::npos ? 0 : rel.rfind('/') + 1);
        if (sink_) sink_->begin_folder(name, {});
        std::string missing;
        for (const char* sub : {"cur", "new", "tmp"})
            if (!has_subdir(l, sub)) missing += std::string(missing.empty() ? "" : ", ") + sub + "/";
        if (!missing.empty()) add(ProblemId::maildir_missing_subdir, rel, "folder", missing + " missing");
        if (dir_name.starts_with('.') && !has_file(l, "maildirfolder"))
            add(ProblemId::maildir_no_maildirfolder, rel, "folder");

        FolderState st;
        st.listings.reserve(3);
        st.rel = rel;
        st.name = name;
        st.has_index = has_file(l, "dovecot-uidlist") || has_file(l, "courierimapuiddb");
        // Messages first (cur, then new, then tmp), so the UID index can be
        // matched against what is really there.
        constexpr std::array<const char*, 3> subs = {"cur", "new", "tmp"};
        for (const char* sub : subs) {
            if (!has_subdir(l, sub)) {
                st.listings.emplace_back();
                continue;
            }
            Listing& files = st.listings.emplace_back(list_directory(abs(join_path(rel, sub))));
            if (!files.error.empty()) add(ProblemId::store_unreadable, join_path(rel, sub), "directory", files.error);
        }
        find_shared_names(st);
        // Progress is per folder: its files done of its files listed.
        std::uint64_t listed = 0;
        std::uint64_t done = 0;
        for (const Listing& files : st.listings) listed += files.entries.size();
        for (std::size_t i = 0; i < subs.size(); ++i) {
            const char* sub = subs[i];
            const std::string sub_rel = join_path(rel, sub);
            const Listing& files = st.listings[i];
            const DirFd dir(abs(sub_rel));
            for (const DirEntry& e : files.entries) {
                if (stopped()) return;
                if (hooks_.progress && (++done & 255) == 0) hooks_.progress(done, listed);
                const std::string file_rel = join_path(sub_rel, e.name);
                if (e.type == EntryType::directory) {
                    st.subdirs.push_back(file_rel);
                } else if (e.type != EntryType::file) {
                    skip_odd(file_rel, e.type);
                } else if (e.name.starts_with('.')) {
                    other_file(file_rel, name, join_path(sub, e.name), e, "hidden file; mail servers ignore it");
                } else if (std::string_view(sub) == "tmp") {
                    tmp_leftover(st, file_rel, e, dir.get());
                } else {
                    message(st, sub, file_rel, e, dir.get());
                }
            }
        }
        flush_summaries(st);
        for (const DirEntry& e : l.entries) {
            if (stopped()) return;
            const std::string child = join_path(rel, e.name);
            if (e.type == EntryType::directory) {
                if (e.name != "cur" && e.name != "new" && e.name != "tmp") st.subdirs.push_back(child);
            } else if (e.type != EntryType::file) {
                skip_odd(child, e.type);
            } else if (e.name == "dovecot-uidlist" || e.name == "courierimapuiddb") {
                uid_list(st, child, e);
            } else if (e.name == "dovecot-keywords") {
                keywords(st, child, e);
            } else if (e.name == "dovecot.index") {
                dovecot_index(st, child, e);
            } else if (is_server_cache(e.name)) {
                server_cache(child);
            } else {
                other_file(child, name, e.name, e, is_known_control(e.name) ? "" : "not part of the Maildir layout");
            }
        }
        if (st.index) index_findings(st);
        // Folders inside this one only once it is complete: its messages and
        // UID list reach the sink together.
        for (const std::string& sub : st.subdirs) walk(sub, depth + 1);
    }

    struct FolderState {
        std::string rel;
        std::string name;
        // cur/, new/ and tmp/ as listed (empty when missing): what follows
        // views their names.
        std::vector<Listing> listings;
        // The base names of cur/ and new/, sorted; and for each file whose
        // base an earlier file (cur/ before new/) has, that file's path.
        std::vector<std::string_view> bases;
        std::unordered_map<const DirEntry*, std::string> shared;
        // Base names of the messages kept, with their unique parts in the
        // rebuilt folder; sorted by base when the UID list is read.
        std::vector<std::pair<std::string_view, std::string>> kept;
        std::map<ProblemId, std::size_t> per_kind;
        std::map<ProblemId, std::pair<std::size_t, std::string>> overflow;
        std::uint64_t in_new = 0;
        bool has_index = false;
        std::vector<std::string> subdirs;  // walked once the folder is done
        std::optional<UidIndex> index;
        std::string index_rel;
        std::uint64_t index_entries = 0;
        std::uint64_t entries_without_file = 0;
        std::string first_missing;
        std::optional<std::uint32_t> index_validity;
        std::optional<std::uint32_t> dovecot_index_validity;
        std::string dovecot_index_rel;
        bool index_trailing = false;
    };

    // Findings of a kind that can repeat for every file of a big folder.
    void add_bounded(FolderState& st, ProblemId id, const std::string& rel, std::string structure, std::string detail,
                     std::optional<std::uint64_t> no = std::nullopt) {
        if (++st.per_kind[id] <= max_findings_per_kind) {
            add(id, rel, std::move(structure), std::move(detail), no);
            return;
        }
        auto& [n, first] = st.overflow[id];
        if (n++ == 0) first = rel;
    }

    void flush_summaries(FolderState& st) {
        for (const auto& [id, o] : st.overflow)
            add(id, st.rel, "folder", std::to_string(o.first) + " more in this folder, the first " + escaped_name(o.second));
        st.overflow.clear();
    }

    // A file of a listed directory, by name when the directory is open.
    std::unique_ptr<Source> open_listed(const std::string& rel, const DirEntry& e, int dir_fd) const {
        return dir_fd >= 0 ? Source::open(e.name, Links::refuse, dir_fd) : Source::open(abs(rel), Links::refuse);
    }

    void message(FolderState& st, std::string_view sub, const std::string& rel, const DirEntry& e, int dir_fd) {
        ++log_.files->seen;
        ++log_.files->messages;
        const std::uint64_t no = ++log_.messages.found;
        const maildir::ParsedName pn = maildir::parse_filename(ByteView(e.name));
        const bool in_cur = sub == "cur";
        bool rename = false;
        std::string flag_problems;
        for (const maildir::NameDefect& d : pn.defects) {
            if (bad_name_defect(d.kind)) {
                rename = true;
                add_bounded(st, ProblemId::maildir_bad_name, rel, "file name",
                            std::string(maildir::defect_name(d.kind)) + " at byte " + std::to_string(d.position), no);
            } else {
                if (!flag_problems.empty()) flag_problems += ", ";
                flag_problems += maildir::defect_name(d.kind);
            }
        }
        if (!flag_problems.empty()) add_bounded(st, ProblemId::maildir_flags, rel, "file name", flag_problems, no);
        if (in_cur && !pn.has_info()) add_bounded(st, ProblemId::maildir_no_info, rel, "file name", "", no);

        const std::string_view base = pn.base;
        const auto first = st.shared.find(&e);
        const auto shares_name = [&](const std::string& more) -> Finding& {
            return add(ProblemId::maildir_duplicate_name, rel, "file name",
                       "unique name also used by " + escaped_name(first->second) + more, no);
        };

        std::unique_ptr<Source> src;
        try {
            src = open_listed(rel, e, dir_fd);
        } catch (const SourceError& err) {
            if (first != st.shared.end()) shares_name("");
            unreadable(rel, no, err.what());
            return;
        }
        const ByteView bytes = src->bytes();
        if (first != st.shared.end()) {
            // The same bytes under the same name in cur/ and new/ (or with
            // two flag suffixes): a rename that copied, or a sync tool's
            // second copy, of the message kept under the first name.
            // Written twice, it would be a duplicate in the rebuilt store.
            if (!bytes.empty() && holds(first->second, bytes)) {
                shares_name(", the same bytes: a copy, left out").action = Action::dropped;
                left_out_as_copy(bytes.size());
                return;
            }
            shares_name("");
        }
        MessageFile f;
        f.bytes = bytes;
        f.name = escaped_name(rel);
        if (pn.size && *pn.size != bytes.size()) {
            add(ProblemId::maildir_size_mismatch, rel, "file name",
                "S=" + std::to_string(*pn.size) + " but the file holds " + std::to_string(bytes.size()) + " bytes", no);
            if (*pn.size > bytes.size()) {
                f.cut_short = true;
                add(ProblemId::maildir_truncated, rel, "message",
                    std::to_string(*pn.size - bytes.size()) + " bytes missing at the end", no);
            }
        }
        if (pn.vsize) {
            const std::uint64_t w = crlf_size(bytes);
            if (*pn.vsize != w)
                add(ProblemId::maildir_size_mismatch, rel, "file name",
                    "W=" + std::to_string(*pn.vsize) + " but the file's size with CRLF line ends is " + std::to_string(w),
                    no);
        }
        f.meta.folder = st.name;
        f.meta.flags = std::string(pn.standard_flags) + std::string(pn.keywords);
        f.meta.is_new = !in_cur;
        f.meta.mtime = e.mtime;
        f.meta.unique = rename ? invented_unique(e.mtime, no) : std::string(pn.unique);
        if (!in_cur) ++st.in_new;
        // Only a UID list needs to know which names were kept.
        if (check_message_file(f, no, log_, sink_, hooks_) == FileOutcome::kept && st.has_index)
            st.kept.emplace_back(base, f.meta.unique);
    }

    // Two files of cur/ and new/ with one base name: found by sorting the
    // names once rather than hashing every one of a big folder's names.
    void find_shared_names(FolderState& st) {
        struct Named {
            std::string_view base;
            std::size_t order;  // cur/ first, then new/, each in listing order
            const DirEntry* entry;
            const char* sub;
        };
        std::vector<Named> names;
        std::size_t order = 0;
        for (std::size_t i = 0; i < 2; ++i)
            for (const DirEntry& e : st.listings[i].entries)
                if (e.type == EntryType::file && !e.name.starts_with('.'))
                    names.push_back({maildir::parse_filename(ByteView(e.name)).base, order++, &e, i == 0 ? "cur" : "new"});
        std::sort(names.begin(), names.end(), [](const Named& a, const Named& b) {
            return a.base != b.base ? a.base < b.base : a.order < b.order;
        });
        st.bases.reserve(names.size());
        for (std::size_t i = 0; i < names.size(); ++i) {
            st.bases.push_back(names[i].base);
            std::size_t first = i;
            while (first > 0 && names[first - 1].base == names[i].base) --first;
            if (first != i)
                st.shared.emplace(names[i].entry, join_path(join_path(st.rel, names[first].sub), names[first].entry->name));
        }
    }

    static std::string invented_unique(std::int64_t mtime, std::uint64_t no) {
        return std::to_string(mtime) + ".M" + std::to_string(no) + "P0.mailfsck";
    }

    void unreadable(const std::string& rel, std::uint64_t no, const std::string& why) {
        add(ProblemId::store_unreadable, rel, "file", why, no);
        ++log_.messages.lost;
        LostItem item;
        item.file = escaped_name(rel);
        item.message = no;
        item.reason = "cannot be read (" + why + "); not in the rebuilt store";
        log_.add_lost(std::move(item));
    }

    // A delivery writes tmp/ first and renames into new/ when complete; a
    // file still in tmp/ is a delivery that never finished. A whole message
    // is delivered now; anything less goes to lost+found.
    void tmp_leftover(FolderState& st, const std::string& rel, const DirEntry& e, int dir_fd) {
        ++log_.files->seen;
        ++log_.files->messages;
        const std::uint64_t no = ++log_.messages.found;
        const std::string when = std::to_string(e.size) + " bytes, last written " + utc_date(e.mtime);
        std::unique_ptr<Source> src;
        try {
            src = open_listed(rel, e, dir_fd);
        } catch (const SourceError& err) {
            add(ProblemId::maildir_tmp_leftover, rel, "file", when, no);
            unreadable(rel, no, err.what());
            return;
        }
        const ByteView bytes = src->bytes();
        MessageFile f;
        f.bytes = bytes;
        f.name = escaped_name(rel);
        const maildir::ParsedName pn = maildir::parse_filename(ByteView(e.name));
        const bool clean_name =
            std::none_of(pn.defects.begin(), pn.defects.end(), [](const auto& d) { return bad_name_defect(d.kind); });
        f.meta.folder = st.name;
        f.meta.is_new = true;
        f.meta.mtime = e.mtime;
        f.meta.unique = clean_name ? std::string(pn.unique) : invented_unique(e.mtime, no);
        if (const std::optional<std::string> copy = delivered_copy(st, bytes)) {
            Finding& leftover = add(ProblemId::maildir_tmp_leftover, rel, "file",
                                    when + "; the same bytes as " + escaped_name(*copy) + ", delivered already: left out",
                                    no, e.size);
            leftover.action = Action::dropped;
            left_out_as_copy(bytes.size());
            return;
        }
        // Judged on a scratch log first: only a whole message is delivered.
        StoreLog trial;
        trial.files.emplace();
        const bool whole = !bytes.empty() && check_message_file(f, no, trial, nullptr, {}) == FileOutcome::kept &&
                           trial.messages.partial == 0 && trial.worst() < Severity::damage;
        Finding& leftover = add(ProblemId::maildir_tmp_leftover, rel, "file", when, no, e.size);
        if (whole) {
            leftover.detail += "; a whole message, delivered to new/";
            if (check_message_file(f, no, log_, sink_, hooks_) == FileOutcome::kept && st.has_index)
                st.kept.emplace_back(pn.base, f.meta.unique);
            return;
        }
        leftover.action = bytes.empty() ? Action::dropped : Action::quarantined;
        leftover.detail += bytes.empty() ? "; empty" : "; not a whole message, kept in lost+found";
        log_.adopt_findings(std::move(trial));
        ++log_.messages.lost;
        LostItem item;
        item.file = f.name;
        item.message = no;
        item.length = bytes.size();
        item.reason = bytes.empty() ? "empty file left in tmp/" : "unfinished delivery left in tmp/, kept in lost+found";
        log_.add_lost(std::move(item));
        ByteLedger ledger;
        ledger.add(Disposition::lost_found, 0, bytes.size());
        ledger.close(bytes.size());
        log_.bytes.absorb(ledger);
        if (sink_ && !bytes.empty()) sink_->lost_found(f.name, 0, {bytes});
    }

    // A delivery that linked its file into new/ and stopped before removing
    // it from tmp/ (or a client that copied a message there) leaves a copy of
    // a message the folder has: delivered again, it would be a duplicate.
    // Files of the same size are compared, at most 64 a leftover.
    std::optional<std::string> delivered_copy(const FolderState& st, const ByteView& bytes) const {
        constexpr int max_compared = 64;
        if (bytes.empty()) return std::nullopt;
        int compared = 0;
        for (std::size_t i = 0; i < 2 && i < st.listings.size(); ++i) {
            const std::string sub = join_path(st.rel, i == 0 ? "cur" : "new");
            for (const DirEntry& c : st.listings[i].entries) {
                if (c.type != EntryType::file || c.size != bytes.size() || c.name.starts_with('.')) continue;
                if (++compared > max_compared) return std::nullopt;
                const std::string rel = join_path(sub, c.name);
                if (holds(rel, bytes)) return rel;
            }
        }
        return std::nullopt;
    }

    // Does the file `rel` hold exactly `bytes`? An unreadable one does not
    // (it is reported where it is read itself).
    bool holds(const std::string& rel, const ByteView& bytes) const {
        try {
            const std::unique_ptr<Source> other = Source::open(abs(rel), Links::refuse);
            const ByteView theirs = other->bytes();
            return theirs.size() == bytes.size() && std::equal(theirs.data(), theirs.data() + theirs.size(), bytes.data());
        } catch (const SourceError&) {
            return false;
        }
    }

    // A message file left out as a copy of one the folder keeps.
    void left_out_as_copy(std::uint64_t size) {
        ++log_.messages.duplicates;
        ByteLedger ledger;
        ledger.add(Disposition::duplicate, 0, size);
        ledger.close(size);
        log_.bytes.absorb(ledger);
    }

    void server_cache(const std::string& rel) {
        ++log_.files->seen;
        ++log_.files->server_caches;
        add(ProblemId::maildir_server_cache, rel, "file");
    }

    std::optional<std::unique_ptr<Source>> open_index(const std::string& rel) {
        ++log_.files->seen;
        ++log_.files->indexes;
        try {
            return Source::open(abs(rel), Links::refuse);
        } catch (const SourceError& err) {
            add(ProblemId::store_unreadable, rel, "file", err.what());
            return std::nullopt;
        }
    }

    void uid_list(FolderState& st, const std::string& rel, const DirEntry& e) {
        const auto src = open_index(rel);
        if (!src) return;
        const maildir::Uidlist list = maildir::parse_uidlist((*src)->bytes());
        const bool dovecot = e.name == "dovecot-uidlist";
        std::uint64_t shown = 0;
        std::uint64_t more = 0;
        for (const maildir::UidlistDefect& d : list.defects) {
            if (d.kind == maildir::UidlistDefectKind::next_uid_not_above_highest) {
                // Dovecot 1.1 and later append entries without rewriting the
                // header and read such files as sound; version 1 files
                // (Courier, old Dovecot) are rewritten whole, so there the
                // header contradicts its own entries.
                const bool appended = dovecot && list.header.version == 3u;
                st.index_trailing = true;
                add(appended ? ProblemId::maildir_next_uid_trails : ProblemId::maildir_next_uid_low, rel, "UID list",
                    "next UID " + std::to_string(list.header.next_uid.value_or(0)) + ", highest UID in use " +
                        std::to_string(list.highest_uid))
                    .offset = d.offset;
                continue;
            }
            if (shown == max_findings_per_kind) {
                ++more;
                continue;
            }
            ++shown;
            Finding& f = add(ProblemId::maildir_index_grammar, rel, "UID list", std::string(maildir::defect_name(d.kind)));
            f.offset = d.offset;
            f.length = d.length;
        }
        for (int kind = 0; kind <= static_cast<int>(maildir::UidlistDefectKind::too_many_entries); ++kind)
            more += list.defects.omitted(static_cast<maildir::UidlistDefectKind>(kind));
        if (more > 0) add(ProblemId::maildir_index_grammar, rel, "UID list", std::to_string(more) + " more lines");
        st.index_rel = rel;
        st.index_entries = list.entries.size();
        if (!list.header.uid_validity || !list.header.next_uid) return;
        st.index_validity = list.header.uid_validity;
        UidIndex idx;
        idx.kind = dovecot ? UidIndex::Kind::dovecot : UidIndex::Kind::courier;
        idx.uid_validity = *list.header.uid_validity;
        idx.next_uid = std::max(*list.header.next_uid, list.highest_uid + 1);
        idx.guid = std::string(list.header.guid);
        const auto by_base = [](const auto& a, const auto& b) { return a.first < b.first; };
        std::stable_sort(st.kept.begin(), st.kept.end(), by_base);
        for (const maildir::UidlistEntry& entry : list.entries) {
            const std::string_view base = maildir::parse_filename(ByteView(entry.filename)).base;
            const auto kept = std::lower_bound(st.kept.begin(), st.kept.end(), std::pair(base, std::string()), by_base);
            if (kept != st.kept.end() && kept->first == base) {
                idx.entries.push_back({entry.uid, kept->second});
            } else if (!std::binary_search(st.bases.begin(), st.bases.end(), base)) {
                if (st.entries_without_file++ == 0) st.first_missing = escaped_name(std::string(entry.filename));
            }
        }
        st.index = std::move(idx);
    }

    void index_findings(FolderState& st) {
        const UidIndex& idx = *st.index;
        if (st.entries_without_file > 0)
            add(ProblemId::maildir_uid_no_file, st.index_rel, "UID list",
                std::to_string(st.entries_without_file) + " of " + std::to_string(st.index_entries) +
                    " entries, the first " + st.first_missing);
        const std::uint64_t listed = idx.entries.size();
        const std::uint64_t unlisted = st.kept.size() > listed ? st.kept.size() - listed : 0;
        if (unlisted > 0)
            add(ProblemId::maildir_file_no_uid, st.index_rel, "UID list",
                std::to_string(unlisted) + " message file(s) without an entry; " + std::to_string(st.in_new) +
                    " message(s) wait in new/");
        if (st.dovecot_index_validity && st.index_validity && *st.dovecot_index_validity != *st.index_validity)
            add(ProblemId::maildir_uidvalidity, st.dovecot_index_rel, "index",
                "dovecot.index says " + std::to_string(*st.dovecot_index_validity) + ", " + escaped_name(st.index_rel) +
                    " says " + std::to_string(*st.index_validity) + "; the UID list is kept");
        Finding& decision = add(ProblemId::maildir_uids_carried, st.index_rel, "UID list",
                                std::to_string(idx.entries.size()) + " of " + std::to_string(st.index_entries) +
                                    " entries kept, UIDVALIDITY " + std::to_string(idx.uid_validity) + ", next UID " +
                                    std::to_string(idx.next_uid));
        if (hooks_.drop_uid_indexes) {
            decision.action = Action::dropped;
            decision.detail = "none kept (--drop-uids): IMAP clients will fetch the folder again";
            return;
        }
        if (sink_) sink_->uid_index(st.name, idx);
    }

    void keywords(FolderState& st, const std::string& rel, const DirEntry& e) {
        const auto src = open_index(rel);
        if (!src) return;
        const maildir::Keywords k = maildir::parse_keywords((*src)->bytes());
        std::uint64_t shown = 0;
        std::uint64_t more = 0;
        for (const maildir::KeywordDefect& d : k.defects) {
            if (shown == max_findings_per_kind) {
                ++more;
                continue;
            }
            ++shown;
            add(ProblemId::maildir_index_grammar, rel, "keyword list", std::string(maildir::defect_name(d.kind)))
                .offset = d.offset;
        }
        for (int kind = 0; kind <= static_cast<int>(maildir::KeywordDefectKind::duplicate_index); ++kind)
            more += k.defects.omitted(static_cast<maildir::KeywordDefectKind>(kind));
        if (more > 0) add(ProblemId::maildir_index_grammar, rel, "keyword list", std::to_string(more) + " more lines");
        if (!sink_) return;
        // The valid lines only: the letters in names keep their meaning.
        std::string text;
        for (const maildir::Keyword& kw : k.keywords) text += std::to_string(kw.index) + " " + std::string(kw.name) + "\n";
        sink_->store_file(st.name, "dovecot-keywords", ByteView(text), e.mtime);
    }

    // dovecot.index is a cache, but its header's UIDVALIDITY is what IMAP
    // clients were told; a UID list that disagrees was replaced or mixed up.
    void dovecot_index(FolderState& st, const std::string& rel, const DirEntry& /*e*/) {
        server_cache(rel);
        try {
            const auto src = Source::open(abs(rel), Links::refuse);
            Cursor c(src->bytes());
            const std::uint8_t major = c.u8();
            c.skip(11);
            const std::uint8_t compat = c.u8();
            c.skip(11);
            const std::uint32_t validity = c.u32le();
            // Version 7 is the format Dovecot has written since 2.0;
            // compat bit 1 says little-endian.
            if (c.ok() && major == 7 && (compat & 1) != 0 && validity != 0) {
                st.dovecot_index_validity = validity;
                st.dovecot_index_rel = rel;
            }
        } catch (const SourceError&) {
            // Unreadable: it is dropped in any case and nothing depends on it.
        }
    }

    const std::string& root_;
    StoreLog& log_;
    MessageSink* sink_;
    const CheckHooks& hooks_;
};

// Folders within a few levels: deep enough for mu's and notmuch's trees,
// shallow enough that pointing at a home directory stays quick.
bool has_folder_within(const std::string& dir, int levels) {
    const Listing l = list_directory(dir);
    if (!l.error.empty()) return false;
    if (is_folder(l)) return true;
    if (levels == 0) return false;
    return std::any_of(l.entries.begin(), l.entries.end(), [&](const DirEntry& e) {
        return e.type == EntryType::directory && has_folder_within(under(dir, e.name), levels - 1);
    });
}

}  // namespace

void check_maildir(const std::string& root, StoreLog& log, MessageSink* sink, const CheckHooks& hooks) {
    MaildirChecker(root, log, sink, hooks).run();
}

bool looks_like_maildir(const std::string& dir) { return has_folder_within(dir, 3); }

}  // namespace mailfsck
