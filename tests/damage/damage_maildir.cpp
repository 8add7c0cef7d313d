#include "damage_maildir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "damage.h"
#include "tests/damage/rng.h"

namespace mailfsck::damage {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

[[noreturn]] void throw_errno(const std::string& what, const fs::path& p) {
    throw fs::filesystem_error(what, p, std::error_code(errno, std::generic_category()));
}

// What the copy must reproduce of an entry. Times are taken with lstat and
// set with utimensat(AT_SYMLINK_NOFOLLOW): std::filesystem can neither read
// nor set a symlink's own times, and Maildir mtimes are worth nanoseconds.
struct Meta {
    fs::file_type type = fs::file_type::none;
    mode_t mode = 0;
    timespec atime{};
    timespec mtime{};
};

// `follow` only for the tree's root, which may be named through a symlink.
Meta meta_of(const fs::path& p, bool follow = false) {
    struct stat st {};
    if ((follow ? ::stat(p.c_str(), &st) : ::lstat(p.c_str(), &st)) != 0) throw_errno("stat", p);
    Meta m;
    m.type = follow ? fs::status(p).type() : fs::symlink_status(p).type();
    m.mode = st.st_mode & 07777;
    m.atime = st.st_atim;
    m.mtime = st.st_mtim;
    return m;
}

timespec at_second(std::int64_t seconds) {
    timespec t{};
    t.tv_sec = static_cast<time_t>(seconds);
    return t;
}

void set_times(const fs::path& p, const timespec& atime, const timespec& mtime) {
    const timespec times[2] = {atime, mtime};
    if (::utimensat(AT_FDCWD, p.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) throw_errno("utimensat", p);
}

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + p.string());
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// O_NOFOLLOW: a write must never land outside the copy through a link, even
// one planted in the input.
void write_bytes(const fs::path& p, std::string_view bytes, bool create) {
    const int flags = O_WRONLY | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT | O_EXCL : O_TRUNC);
    const int fd = ::open(p.c_str(), flags, 0600);
    if (fd < 0) throw_errno("open", p);
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int e = errno;
            ::close(fd);
            throw fs::filesystem_error("write", p, std::error_code(e, std::generic_category()));
        }
        done += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) throw_errno("close", p);
}

// ---- relative paths ------------------------------------------------------

// Relative paths are kept as '/'-joined strings: std::string orders them
// bytewise (a directory before everything below it), and they go into the
// manifest as they are.
std::string join(std::string_view dir, std::string_view name) {
    if (dir.empty()) return std::string(name);
    return std::string(dir) + "/" + std::string(name);
}

std::string parent_of(std::string_view rel) {
    const std::size_t slash = rel.rfind('/');
    return slash == std::string_view::npos ? std::string() : std::string(rel.substr(0, slash));
}

std::string name_of(std::string_view rel) {
    const std::size_t slash = rel.rfind('/');
    return std::string(slash == std::string_view::npos ? rel : rel.substr(slash + 1));
}

fs::path under(const fs::path& root, std::string_view rel) { return rel.empty() ? root : root / std::string(rel); }

using Tree = std::map<std::string, Meta>;

void list_into(const fs::path& root, const std::string& rel, Tree& tree) {
    for (const fs::directory_entry& e : fs::directory_iterator(under(root, rel))) {
        const std::string child = join(rel, e.path().filename().string());
        const Meta m = meta_of(e.path());
        tree.emplace(child, m);
        if (m.type == fs::file_type::directory) list_into(root, child, tree);
    }
}

// Every entry below `root`, and the root itself under "".
Tree list_tree(const fs::path& root) {
    Tree tree;
    tree.emplace("", meta_of(root, true));
    list_into(root, "", tree);
    return tree;
}

// ---- message names -------------------------------------------------------

struct SplitName {
    std::string base;
    std::string info;  // from the separator on; empty when there is none
};

SplitName split_info(std::string_view name) {
    std::size_t at = name.find(':');
    if (at == std::string_view::npos) {
        for (std::size_t i = 0; i + 3 <= name.size(); ++i) {
            const std::string_view s = name.substr(i, 3);
            if ((s[0] == '!' || s[0] == ';') && (s[1] == '1' || s[1] == '2') && s[2] == ',') {
                at = i;
                break;
            }
        }
    }
    if (at == std::string_view::npos) return {std::string(name), {}};
    return {std::string(name.substr(0, at)), std::string(name.substr(at))};
}

// Where a ",S=" field's digits are in a base name, and their value.
struct SizeField {
    std::size_t digits_begin = 0;
    std::size_t digits_end = 0;
    std::optional<std::uint64_t> value;  // nullopt: not a decimal number that fits
};

std::optional<SizeField> size_field(std::string_view base) {
    const std::size_t at = base.find(",S=");
    if (at == std::string_view::npos) return std::nullopt;
    SizeField f;
    f.digits_begin = at + 3;
    f.digits_end = std::min(base.find(',', f.digits_begin), base.size());
    const std::string_view digits = base.substr(f.digits_begin, f.digits_end - f.digits_begin);
    if (digits.empty() || digits.size() > 19 || digits.find_first_not_of("0123456789") != std::string_view::npos)
        return f;
    std::uint64_t v = 0;
    for (const char c : digits) v = v * 10 + static_cast<std::uint64_t>(c - '0');
    f.value = v;
    return f;
}

bool is_message(const std::string& rel, const Meta& m) {
    if (m.type != fs::file_type::regular) return false;
    const std::string dir = name_of(parent_of(rel));
    return (dir == "cur" || dir == "new") && !name_of(rel).starts_with('.');
}

// ---- the op --------------------------------------------------------------

struct Work {
    Work(fs::path out_dir, Tree t, std::uint64_t seed) : out(std::move(out_dir)), tree(std::move(t)), rng(seed) {}

    fs::path out;
    Tree tree;  // the output as it will be left, with the metadata it gets
    Rng rng;
    json damage = json::object();
    std::uint64_t candidates = 0;
    std::string reason;  // set when nothing is injected

    [[nodiscard]] fs::path at(std::string_view rel) const { return under(out, rel); }
    [[nodiscard]] std::uint64_t size(const std::string& rel) const { return fs::file_size(at(rel)); }
    [[nodiscard]] bool taken(const std::string& rel) const { return tree.contains(rel); }
    // A directory the op may write into: a real one, or none yet.
    [[nodiscard]] bool writable_dir(const std::string& rel) const {
        const auto it = tree.find(rel);
        return it == tree.end() || it->second.type == fs::file_type::directory;
    }

    std::vector<std::string> messages(std::uint64_t min_size) const {
        std::vector<std::string> v;
        for (const auto& [rel, m] : tree)
            if (is_message(rel, m) && size(rel) >= min_size) v.push_back(rel);
        return v;
    }

    // Draws one of `v`, counting the candidates; nullopt (with `why`) when empty.
    std::optional<std::string> draw(const std::vector<std::string>& v, std::string_view why) {
        candidates = v.size();
        if (v.empty()) {
            reason = why;
            return std::nullopt;
        }
        return v[rng.below(v.size())];
    }

    // Creates `rel` when missing, with its parent's mode, as a writer would;
    // true when it was created.
    bool ensure_dir(const std::string& rel) {
        if (taken(rel)) return false;
        if (!fs::create_directory(at(rel))) throw std::runtime_error("cannot create " + at(rel).string());
        Meta m = tree.at(parent_of(rel));
        m.atime = m.mtime = at_second(stray_tmp_mtime);
        tree.emplace(rel, m);
        return true;
    }

    void add_file(const std::string& rel, std::string_view bytes, Meta m) {
        write_bytes(at(rel), bytes, true);
        m.type = fs::file_type::regular;
        tree.emplace(rel, m);
    }
};

json file_state(std::string_view prefix, std::string_view bytes) {
    return {{std::string(prefix) + "size", bytes.size()}, {std::string(prefix) + "sha256", sha256_hex(bytes)}};
}

void truncate_file(Work& w) {
    const auto rel = w.draw(w.messages(2), "no message of 2 bytes or more");
    if (!rel) return;
    const std::string clean = read_all(w.at(*rel));
    const std::uint64_t cut = 1 + w.rng.below(clean.size() - 1);
    fs::resize_file(w.at(*rel), cut);
    w.damage = {{"path", *rel}, {"removed_sha256", sha256_hex(std::string_view(clean).substr(cut))}};
    w.damage.update(file_state("original_", clean));
    w.damage.update(file_state("", std::string_view(clean).substr(0, cut)));
}

void zero_file(Work& w) {
    const auto rel = w.draw(w.messages(1), "no non-empty message");
    if (!rel) return;
    const std::string clean = read_all(w.at(*rel));
    fs::resize_file(w.at(*rel), 0);
    w.damage = {{"path", *rel}};
    w.damage.update(file_state("original_", clean));
    w.damage.update(file_state("", {}));
}

// The maildir folder holding a message: the parent of its cur/ or new/.
std::string folder_of(const std::string& message_rel) { return parent_of(parent_of(message_rel)); }

void stray_tmp(Work& w) {
    const bool cut = w.rng.below(2) == 1;
    std::vector<std::string> sources;
    for (const std::string& rel : w.messages(cut ? 2 : 1))
        if (w.writable_dir(join(folder_of(rel), "tmp"))) sources.push_back(rel);
    const auto source = w.draw(sources, cut ? "no message of 2 bytes or more with a usable tmp/"
                                            : "no non-empty message with a usable tmp/");
    if (!source) return;
    const std::string clean = read_all(w.at(*source));
    const std::uint64_t length = cut ? 1 + w.rng.below(clean.size() - 1) : clean.size();
    const std::string tmp = join(folder_of(*source), "tmp");
    const bool created = w.ensure_dir(tmp);
    std::string rel = join(tmp, stray_tmp_name);
    for (unsigned k = 1; w.taken(rel); ++k) rel = join(tmp, std::string(stray_tmp_name) + "-" + std::to_string(k));
    Meta m = w.tree.at(*source);
    m.atime = m.mtime = at_second(stray_tmp_mtime);
    const std::string_view bytes = std::string_view(clean).substr(0, length);
    w.add_file(rel, bytes, m);
    w.damage = {{"variant", cut ? "cut" : "complete"},
                {"source", *source},
                {"path", rel},
                {"created_tmp_dir", created},
                {"mtime", stray_tmp_mtime}};
    w.damage.update(file_state("original_", clean));
    w.damage.update(file_state("", bytes));
}

void wrong_size(Work& w) {
    std::vector<std::string> named;   // with a readable ",S="
    std::vector<std::string> unnamed;  // with no ",S=" at all
    for (const std::string& rel : w.messages(0)) {
        const auto f = size_field(split_info(name_of(rel)).base);
        if (f && f->value) named.push_back(rel);
        if (!f) unnamed.push_back(rel);
    }
    const bool add = named.empty();
    const auto rel = w.draw(add ? unnamed : named, "no message name that has or can take a \",S=\" field");
    if (!rel) return;
    const SplitName name = split_info(name_of(*rel));
    const std::uint64_t real = w.size(*rel);
    const std::optional<SizeField> field = size_field(name.base);
    // Held as json rather than std::optional: GCC 12 warns (wrongly) that an
    // optional unpacked inside the manifest's initializer may be uninitialized.
    json before = nullptr;
    if (field) before = *field->value;
    // A larger value reads as a message cut short, a smaller one as bytes
    // appended; both are what a checker must notice.
    for (unsigned attempt = 0; attempt < 16; ++attempt) {
        const bool larger = real == 0 || w.rng.below(2) == 0;
        std::uint64_t named_size = larger ? real + 1 + w.rng.below(real + 1) : w.rng.below(real);
        if (field && named_size == *field->value) named_size = std::max(real, *field->value) + 1;
        std::string base = name.base;
        if (field) {
            base.replace(field->digits_begin, field->digits_end - field->digits_begin, std::to_string(named_size));
        } else {
            // Dovecot writes ",S=" before ",W=".
            const std::size_t vsize = base.find(",W=");
            base.insert(vsize == std::string::npos ? base.size() : vsize, ",S=" + std::to_string(named_size));
        }
        const std::string new_rel = join(parent_of(*rel), base + name.info);
        if (w.taken(new_rel)) continue;
        fs::rename(w.at(*rel), w.at(new_rel));
        w.tree.emplace(new_rel, w.tree.at(*rel));
        w.tree.erase(*rel);
        const std::string bytes = read_all(w.at(new_rel));
        w.damage = {{"path", *rel},
                    {"new_path", new_rel},
                    {"named_size_before", before},
                    {"named_size", named_size},
                    {"added_size_field", add}};
        w.damage.update(file_state("", bytes));
        return;
    }
    w.reason = "every drawn new name was taken";
}

// The name a message would have in the other of cur/ and new/: new/ holds
// names without info, cur/ needs a "2," info; the flags, and the separator
// the store uses, come from the source when it has them.
std::string counterpart_name(const std::string& rel) {
    const SplitName name = split_info(name_of(rel));
    if (name_of(parent_of(rel)) == "cur") return name.base;
    if (name.info.size() >= 3 && name.info.substr(1, 2) == "2,") return name.base + name.info;
    const std::string separator = name.info.empty() ? ":" : name.info.substr(0, 1);
    return name.base + separator + "2,";
}

std::string counterpart_dir(const std::string& rel) {
    return join(folder_of(rel), name_of(parent_of(rel)) == "cur" ? "new" : "cur");
}

void duplicate_base(Work& w) {
    std::vector<std::string> sources;
    for (const std::string& rel : w.messages(0)) {
        const std::string dir = counterpart_dir(rel);
        if (w.writable_dir(dir) && !w.taken(join(dir, counterpart_name(rel)))) sources.push_back(rel);
    }
    const auto source = w.draw(sources, "no message whose name is free in the other of cur/ and new/");
    if (!source) return;
    const std::string dir = counterpart_dir(*source);
    const bool created = w.ensure_dir(dir);
    const std::string rel = join(dir, counterpart_name(*source));
    const std::string bytes = read_all(w.at(*source));
    // The duplicate a crashed move leaves behind: same bytes, same dates.
    w.add_file(rel, bytes, w.tree.at(*source));
    w.damage = {{"source", *source},
                {"path", rel},
                {"base", split_info(name_of(rel)).base},
                {"created_dir", created}};
    w.damage.update(file_state("", bytes));
}

struct UidlistLine {
    std::string rel;
    std::uint64_t number = 0;  // 1-based
    std::uint64_t offset = 0;
    std::uint64_t length = 0;  // with the line end
};

void remove_uidlist_line(Work& w) {
    std::vector<UidlistLine> lines;
    for (const auto& [rel, m] : w.tree) {
        const std::string name = name_of(rel);
        if (m.type != fs::file_type::regular || (name != "dovecot-uidlist" && name != "courierimapuiddb")) continue;
        const std::string text = read_all(w.at(rel));
        std::uint64_t number = 1;
        for (std::size_t p = 0; p < text.size(); ++number) {
            const std::size_t nl = text.find('\n', p);
            const std::size_t end = nl == std::string::npos ? text.size() : nl + 1;
            const std::string_view line = std::string_view(text).substr(p, end - p);
            if (number > 1 && line.find_first_not_of(" \t\r\n") != std::string_view::npos)
                lines.push_back({rel, number, p, end - p});
            p = end;
        }
    }
    w.candidates = lines.size();
    if (lines.empty()) {
        w.reason = "no uidlist with an entry line";
        return;
    }
    const UidlistLine& pick = lines[w.rng.below(lines.size())];
    const std::string clean = read_all(w.at(pick.rel));
    std::string_view removed = std::string_view(clean).substr(pick.offset, pick.length);
    std::string damaged = clean;
    damaged.erase(pick.offset, pick.length);
    write_bytes(w.at(pick.rel), damaged, false);
    const std::string removed_sha256 = sha256_hex(removed);
    if (removed.ends_with('\n')) removed.remove_suffix(1);
    if (removed.ends_with('\r')) removed.remove_suffix(1);
    w.damage = {{"path", pick.rel},
                {"line", pick.number},
                {"offset", pick.offset},
                {"length", pick.length},
                {"removed_line", removed},
                {"removed_sha256", removed_sha256}};
    w.damage.update(file_state("original_", clean));
    w.damage.update(file_state("", damaged));
}

// ---- the copy ------------------------------------------------------------

// Directories stay writable and files owner-writable until the op is done;
// finish() then gives everything its final mode and times.
void copy_tree(const fs::path& in, const fs::path& out, const Tree& tree) {
    for (const auto& [rel, m] : tree) {
        if (rel.empty()) continue;
        const fs::path from = under(in, rel);
        const fs::path to = under(out, rel);
        switch (m.type) {
            case fs::file_type::directory:
                if (!fs::create_directory(to)) throw std::runtime_error("cannot create " + to.string());
                break;
            case fs::file_type::regular:
                fs::copy_file(from, to);
                fs::permissions(to, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::add);
                break;
            case fs::file_type::symlink: fs::copy_symlink(from, to); break;
            default: throw std::runtime_error("neither file, directory nor symlink: " + from.string());
        }
    }
}

// Deepest first, so setting a directory's mode and times comes after every
// change inside it.
void finish(const fs::path& out, const Tree& tree) {
    for (auto it = tree.rbegin(); it != tree.rend(); ++it) {
        const fs::path p = under(out, it->first);
        if (it->second.type != fs::file_type::symlink)
            fs::permissions(p, static_cast<fs::perms>(it->second.mode), fs::perm_options::replace);
        set_times(p, it->second.atime, it->second.mtime);
    }
}

bool inside(const fs::path& p, const fs::path& dir) {
    // Both are canonical, so a component-wise prefix is containment.
    return std::mismatch(dir.begin(), dir.end(), p.begin(), p.end()).first == dir.end();
}

struct OpName {
    MaildirOp op;
    std::string_view name;
};

constexpr OpName op_names[] = {
    {MaildirOp::truncate_file, "truncate-file"},
    {MaildirOp::zero_file, "zero-file"},
    {MaildirOp::stray_tmp, "stray-tmp"},
    {MaildirOp::wrong_size, "wrong-size"},
    {MaildirOp::duplicate_base, "duplicate-base"},
    {MaildirOp::remove_uidlist_line, "remove-uidlist-line"},
};

void set_fixed_mtime(const fs::path& p, std::int64_t seconds) {
    set_times(p, at_second(seconds), at_second(seconds));
}

}  // namespace

std::string_view maildir_op_name(MaildirOp op) {
    for (const OpName& o : op_names)
        if (o.op == op) return o.name;
    return "?";
}

std::optional<MaildirOp> parse_maildir_op(std::string_view name) {
    for (const OpName& o : op_names)
        if (o.name == name) return o.op;
    return std::nullopt;
}

const std::vector<MaildirOp>& all_maildir_ops() {
    static const std::vector<MaildirOp> ops = [] {
        std::vector<MaildirOp> v;
        for (const OpName& o : op_names) v.push_back(o.op);
        return v;
    }();
    return ops;
}

std::string tree_sha256(const fs::path& root) {
    std::string all;
    for (const auto& [rel, m] : list_tree(root)) {
        if (rel.empty()) continue;
        const char kind = m.type == fs::file_type::directory ? 'd'
                          : m.type == fs::file_type::regular ? 'f'
                          : m.type == fs::file_type::symlink ? 'l'
                                                             : '?';
        all += kind;
        all += ' ';
        all += rel;
        all += '\0';
        if (kind == 'f') {
            all += sha256_hex(read_all(under(root, rel)));
            all += '\0';
        } else if (kind == 'l') {
            all += fs::read_symlink(under(root, rel)).string();
            all += '\0';
        }
    }
    return sha256_hex(all);
}

json damage_maildir(const fs::path& in, const fs::path& out, const MaildirRequest& request) {
    if (!fs::is_directory(in)) throw std::invalid_argument("not a directory: " + in.string());
    if (fs::symlink_status(out).type() != fs::file_type::not_found)
        throw std::invalid_argument("already exists: " + out.string());
    if (inside(fs::weakly_canonical(out), fs::canonical(in)))
        throw std::invalid_argument("the output " + out.string() + " lies inside the input " + in.string());

    const Tree input = list_tree(in);
    const std::string input_sha256 = tree_sha256(in);
    if (!fs::create_directory(out)) throw std::invalid_argument("already exists: " + out.string());
    Work w(out, input, request.seed);
    try {
        copy_tree(in, out, input);
        switch (request.op) {
            case MaildirOp::truncate_file: truncate_file(w); break;
            case MaildirOp::zero_file: zero_file(w); break;
            case MaildirOp::stray_tmp: stray_tmp(w); break;
            case MaildirOp::wrong_size: wrong_size(w); break;
            case MaildirOp::duplicate_base: duplicate_base(w); break;
            case MaildirOp::remove_uidlist_line: remove_uidlist_line(w); break;
        }
        finish(out, w.tree);
    } catch (...) {
        // Only what this call created is removed; nothing in it is read-only yet
        // unless finish() had begun, so make sure removal can proceed.
        std::error_code ec;
        for (const auto& [rel, m] : w.tree)
            if (m.type == fs::file_type::directory)
                fs::permissions(under(out, rel), fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(out, ec);
        throw;
    }

    json j;
    j["tool"] = "mailfsck-damage";
    j["store"] = "maildir";
    j["op"] = maildir_op_name(request.op);
    j["seed"] = request.seed;
    j["injected"] = w.reason.empty();
    if (!w.reason.empty()) j["reason"] = w.reason;
    j["candidates"] = w.candidates;
    j["input"] = {{"entries", input.size() - 1}, {"sha256", input_sha256}};
    j["output"] = {{"entries", w.tree.size() - 1}, {"sha256", tree_sha256(out)}};
    json damage = json::array();
    if (w.reason.empty()) {
        json d = {{"op", maildir_op_name(request.op)}};
        d.update(w.damage);
        damage.push_back(std::move(d));
    }
    j["damage"] = std::move(damage);
    return j;
}

BuiltMaildir build_maildir(const fs::path& dir, const std::vector<std::string>& messages,
                           const MaildirLayout& layout) {
    constexpr std::int64_t epoch = 1000000000;
    for (const char* sub : {"cur", "new", "tmp"}) fs::create_directories(dir / sub);
    BuiltMaildir b;
    std::string entries;
    for (std::size_t k = 0; k < messages.size(); ++k) {
        const std::size_t i = k + 1;
        const bool is_new = layout.new_every != 0 && i % layout.new_every == 0;
        const std::string base =
            std::to_string(i) + ".M" + std::to_string(i) + "P1.mailfsck-test,S=" + std::to_string(messages[k].size());
        const std::string rel = is_new ? "new/" + base : "cur/" + base + ":2,S";
        const fs::path p = dir / rel;
        std::ofstream f(p, std::ios::binary | std::ios::trunc);
        f.write(messages[k].data(), static_cast<std::streamsize>(messages[k].size()));
        f.close();
        if (!f) throw std::runtime_error("cannot write " + p.string());
        set_fixed_mtime(p, epoch + static_cast<std::int64_t>(i));
        b.paths.push_back(rel);
        entries += std::to_string(i) + " :" + base + "\n";
    }
    if (layout.dovecot_uidlist) {
        b.uidlist = "3 V1000000000 N" + std::to_string(messages.size() + 1) + " G0123456789abcdef0123456789abcdef\n" +
                    entries;
        const fs::path p = dir / "dovecot-uidlist";
        std::ofstream f(p, std::ios::binary | std::ios::trunc);
        f << b.uidlist;
        f.close();
        if (!f) throw std::runtime_error("cannot write " + p.string());
        set_fixed_mtime(p, epoch);
    }
    for (const char* sub : {"cur", "new", "tmp"}) set_fixed_mtime(dir / sub, epoch);
    set_fixed_mtime(dir, epoch);
    return b;
}

}  // namespace mailfsck::damage
