// The Maildir damage generator, checked against what is on disk rather than
// against its own manifest: each op must change exactly the files its
// manifest names, in the way the op promises, leave every other entry
// (bytes, symlink targets, modes, mtimes) as it was, and never touch the
// input. Test names start with "damage_maildir:" so `ctest -R damage_maildir`
// selects them.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/damage/damage.h"
#include "tests/damage/damage_maildir.h"
#include "tests/unit/support.h"

using namespace mailfsck;
namespace dmg = mailfsck::damage;
namespace fs = std::filesystem;
using mailfsck::test::TempDir;
using nlohmann::json;

namespace {

// ---- what is on disk -----------------------------------------------------

struct Entry {
    char kind = '?';
    std::string bytes;  // a file's contents or a symlink's target
    unsigned mode = 0;
    std::int64_t mtime_ns = 0;
    bool operator==(const Entry&) const = default;
};

using Snapshot = std::map<std::string, Entry>;

Snapshot snapshot(const fs::path& root) {
    Snapshot s;
    for (const fs::directory_entry& e : fs::recursive_directory_iterator(root)) {
        struct stat st {};
        REQUIRE(::lstat(e.path().c_str(), &st) == 0);
        Entry x;
        x.mode = st.st_mode & 07777;
        x.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
        if (e.is_symlink()) {
            x.kind = 'l';
            x.bytes = fs::read_symlink(e.path()).string();
        } else if (e.is_directory()) {
            x.kind = 'd';
        } else if (e.is_regular_file()) {
            x.kind = 'f';
            x.bytes = test::read_file(e.path());
        }
        // lexically: fs::relative would resolve a symlink to its target.
        s.emplace(e.path().lexically_relative(root).generic_string(), std::move(x));
    }
    return s;
}

std::string name_of(const std::string& rel) { return fs::path(rel).filename().string(); }
std::string dir_of(const std::string& rel) { return fs::path(rel).parent_path().generic_string(); }

// The base name (before ":") and the ",S=" value in it, read here with no
// help from the generator.
std::string base_of(const std::string& name) { return name.substr(0, name.find(':')); }

std::optional<std::uint64_t> named_size(const std::string& name) {
    const std::string base = base_of(name);
    const std::size_t at = base.find(",S=");
    if (at == std::string::npos) return std::nullopt;
    const std::string digits = base.substr(at + 3, base.find(',', at + 3) - (at + 3));
    return std::stoull(digits);
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> v;
    std::size_t p = 0;
    while (p < text.size()) {
        const std::size_t nl = text.find('\n', p);
        const std::size_t end = nl == std::string::npos ? text.size() : nl + 1;
        v.push_back(text.substr(p, end - p));
        p = end;
    }
    return v;
}

// ---- the clean tree ------------------------------------------------------

std::vector<std::string> messages(const std::string& tag, int n) {
    std::vector<std::string> v;
    for (int i = 1; i <= n; ++i) {
        const std::string id = tag + std::to_string(i);
        std::string m = "From: " + id;
        m.append("@example.org\nSubject: ").append(id).append("\nMessage-ID: <").append(id).append("@example.org>\n\n");
        for (int k = 0; k < i; ++k) m.append("body line ").append(std::to_string(k)).append("\n");
        v.push_back(std::move(m));
    }
    return v;
}

// A Dovecot INBOX with a dovecot-uidlist, a Maildir++ subfolder with a
// Courier uidlist, a read-only message, and symlinks (one pointing out of
// the tree, at a file whose bytes must survive).
struct Fixture {
    TempDir tmp{"damage-maildir"};
    fs::path in = tmp.path() / "in";
    fs::path outside = tmp.path() / "outside.txt";

    Fixture() {
        const dmg::BuiltMaildir inbox = dmg::build_maildir(in, messages("inbox", 7), {3, true});
        REQUIRE(inbox.paths.size() == 7);
        const dmg::BuiltMaildir sent = dmg::build_maildir(in / ".Sent", messages("sent", 2), {0, false});
        std::string courier = "1 1087227438 3\n";
        for (std::size_t i = 0; i < sent.paths.size(); ++i)
            courier += std::to_string(i + 1) + " " + base_of(name_of(sent.paths[i])) + "\n";
        test::write_file(in / ".Sent" / "courierimapuiddb", courier);
        test::write_file(outside, "not part of the store\n");
        fs::create_symlink(outside, in / "cur" / "link-out");
        fs::create_symlink("../cur", in / "new" / "link-up");
        fs::permissions(in / inbox.paths[0], fs::perms::owner_read, fs::perm_options::replace);
    }
};

// Every entry of `before` not named in `touched` is in `after`, identical.
void check_untouched(const Snapshot& before, const Snapshot& after, const std::set<std::string>& touched) {
    for (const auto& [rel, e] : before) {
        if (touched.contains(rel)) continue;
        INFO(rel);
        REQUIRE(after.contains(rel));
        CHECK(after.at(rel) == e);
    }
    for (const auto& [rel, e] : after) {
        INFO(rel);
        CHECK((before.contains(rel) || touched.contains(rel)));
    }
}

constexpr std::int64_t second = 1'000'000'000;

}  // namespace

TEST_CASE("damage_maildir: build_maildir writes a clean Maildir with the documented names") {
    TempDir tmp("build-maildir");
    const std::vector<std::string> m = messages("b", 4);
    const dmg::BuiltMaildir b = dmg::build_maildir(tmp.path() / "md", m, {3, true});
    const Snapshot s = snapshot(tmp.path() / "md");
    CHECK(s.at("tmp").kind == 'd');
    REQUIRE(b.paths.size() == 4);
    CHECK(b.paths[0] == "cur/1.M1P1.mailfsck-test,S=" + std::to_string(m[0].size()) + ":2,S");
    CHECK(b.paths[2] == "new/3.M3P1.mailfsck-test,S=" + std::to_string(m[2].size()));
    for (std::size_t i = 0; i < m.size(); ++i) {
        CHECK(s.at(b.paths[i]).bytes == m[i]);
        CHECK(s.at(b.paths[i]).mtime_ns == (1000000000 + static_cast<std::int64_t>(i) + 1) * second);
        CHECK(named_size(name_of(b.paths[i])) == m[i].size());
    }
    CHECK(s.at("dovecot-uidlist").bytes == b.uidlist);
    CHECK(lines_of(b.uidlist).size() == 5);
    CHECK(lines_of(b.uidlist)[3] == "3 :3.M3P1.mailfsck-test,S=" + std::to_string(m[2].size()) + "\n");
}

TEST_CASE("damage_maildir: each op does what it says to the bytes and names on disk, and the input is untouched") {
    Fixture f;
    const Snapshot clean = snapshot(f.in);
    const std::string clean_sha = dmg::tree_sha256(f.in);
    const std::string outside = test::read_file(f.outside);
    std::set<std::string> stray_variants;
    std::set<bool> wrong_size_larger;
    std::set<std::string> duplicate_dirs;
    std::set<std::string> uidlists;
    int run = 0;
    for (std::uint64_t seed = 1; seed <= 30; ++seed) {
        for (const dmg::MaildirOp op : dmg::all_maildir_ops()) {
            INFO(dmg::maildir_op_name(op) << " seed " << seed);
            const fs::path out = f.tmp.path() / ("out" + std::to_string(run++));
            const json m = dmg::damage_maildir(f.in, out, {op, seed});
            const Snapshot after = snapshot(out);
            CHECK(snapshot(f.in) == clean);
            CHECK(m["op"] == dmg::maildir_op_name(op));
            CHECK(m["seed"] == seed);
            CHECK(m["input"]["sha256"] == clean_sha);
            CHECK(m["output"]["sha256"] == dmg::tree_sha256(out));
            CHECK(m["input"]["entries"] == clean.size());
            CHECK(m["output"]["entries"] == after.size());
            REQUIRE(m["injected"] == true);
            REQUIRE(m["damage"].size() == 1);
            const json& d = m["damage"][0];
            CHECK(d["op"] == m["op"]);
            const std::string path = d["path"];
            // Symlinks are copied as links, with their own targets.
            CHECK(after.at("cur/link-out").kind == 'l');
            CHECK(after.at("cur/link-out").bytes == f.outside.string());
            CHECK(after.at("new/link-up").bytes == "../cur");
            switch (op) {
                case dmg::MaildirOp::truncate_file: {
                    check_untouched(clean, after, {path});
                    const std::string& was = clean.at(path).bytes;
                    const std::string& now = after.at(path).bytes;
                    CHECK(now.size() >= 1);
                    CHECK(now.size() < was.size());
                    CHECK(was.starts_with(now));
                    CHECK(after.at(path).mtime_ns == clean.at(path).mtime_ns);
                    CHECK(after.at(path).mode == clean.at(path).mode);
                    CHECK(d["size"] == now.size());
                    CHECK(d["original_size"] == was.size());
                    CHECK(d["original_sha256"] == dmg::sha256_hex(was));
                    CHECK(d["removed_sha256"] == dmg::sha256_hex(was.substr(now.size())));
                    break;
                }
                case dmg::MaildirOp::zero_file:
                    check_untouched(clean, after, {path});
                    CHECK_FALSE(clean.at(path).bytes.empty());
                    CHECK(after.at(path).bytes.empty());
                    CHECK(after.at(path).mtime_ns == clean.at(path).mtime_ns);
                    CHECK(d["original_size"] == clean.at(path).bytes.size());
                    break;
                case dmg::MaildirOp::stray_tmp: {
                    check_untouched(clean, after, {path});
                    const std::string source = d["source"];
                    CHECK_FALSE(clean.contains(path));
                    CHECK(name_of(dir_of(path)) == "tmp");
                    CHECK(dir_of(dir_of(path)) == dir_of(dir_of(source)));
                    const std::string& whole = clean.at(source).bytes;
                    const std::string& stray = after.at(path).bytes;
                    const std::string variant = d["variant"];
                    stray_variants.insert(variant);
                    if (variant == "complete") {
                        CHECK(stray == whole);
                    } else {
                        REQUIRE(variant == "cut");
                        CHECK_FALSE(stray.empty());
                        CHECK(stray.size() < whole.size());
                        CHECK(whole.starts_with(stray));
                    }
                    CHECK(after.at(path).mtime_ns == dmg::stray_tmp_mtime * second);
                    CHECK(d["created_tmp_dir"] == false);
                    break;
                }
                case dmg::MaildirOp::wrong_size: {
                    const std::string new_path = d["new_path"];
                    check_untouched(clean, after, {path, new_path});
                    CHECK_FALSE(after.contains(path));
                    REQUIRE(after.contains(new_path));
                    CHECK_FALSE(clean.contains(new_path));
                    CHECK(dir_of(new_path) == dir_of(path));
                    Entry moved = after.at(new_path);
                    CHECK(moved == clean.at(path));  // bytes, mode and mtime travel with the name
                    const auto size = named_size(name_of(new_path));
                    REQUIRE(size);
                    CHECK(*size != moved.bytes.size());
                    CHECK(d["named_size"] == *size);
                    CHECK(d["named_size_before"] == *named_size(name_of(path)));
                    CHECK(d["added_size_field"] == false);
                    wrong_size_larger.insert(*size > moved.bytes.size());
                    // Only the digits changed.
                    const std::string old_name = name_of(path);
                    const std::string new_name = name_of(new_path);
                    const std::size_t at = old_name.find(",S=") + 3;
                    CHECK(new_name.substr(0, at) == old_name.substr(0, at));
                    const auto after_digits = [at](const std::string& n) {
                        const std::size_t end = n.find_first_not_of("0123456789", at);
                        return end == std::string::npos ? std::string() : n.substr(end);
                    };
                    CHECK(after_digits(new_name) == after_digits(old_name));
                    break;
                }
                case dmg::MaildirOp::duplicate_base: {
                    check_untouched(clean, after, {path});
                    const std::string source = d["source"];
                    CHECK_FALSE(clean.contains(path));
                    CHECK(after.at(source) == clean.at(source));
                    CHECK(after.at(path).bytes == clean.at(source).bytes);
                    CHECK(after.at(path).mtime_ns == clean.at(source).mtime_ns);
                    CHECK(base_of(name_of(path)) == base_of(name_of(source)));
                    CHECK(dir_of(dir_of(path)) == dir_of(dir_of(source)));
                    const std::string to = name_of(dir_of(path));
                    duplicate_dirs.insert(to);
                    if (to == "new") {
                        CHECK(name_of(dir_of(source)) == "cur");
                        CHECK(name_of(path).find(':') == std::string::npos);
                    } else {
                        CHECK(name_of(dir_of(source)) == "new");
                        CHECK(name_of(path) == name_of(source) + ":2,");
                    }
                    break;
                }
                case dmg::MaildirOp::remove_uidlist_line: {
                    check_untouched(clean, after, {path});
                    uidlists.insert(path);
                    const std::vector<std::string> was = lines_of(clean.at(path).bytes);
                    const std::vector<std::string> now = lines_of(after.at(path).bytes);
                    REQUIRE(now.size() + 1 == was.size());
                    CHECK(now[0] == was[0]);  // the header stays
                    const std::uint64_t line = d["line"];
                    REQUIRE(line >= 2);
                    std::vector<std::string> expected = was;
                    expected.erase(expected.begin() + static_cast<std::ptrdiff_t>(line - 1));
                    CHECK(now == expected);
                    std::string removed = was[line - 1];
                    removed.pop_back();
                    CHECK(d["removed_line"] == removed);
                    CHECK(after.at(path).mtime_ns == clean.at(path).mtime_ns);
                    break;
                }
            }
        }
    }
    CHECK(stray_variants == std::set<std::string>{"complete", "cut"});
    CHECK(wrong_size_larger == std::set<bool>{false, true});
    CHECK(duplicate_dirs == std::set<std::string>{"cur", "new"});
    CHECK(uidlists == std::set<std::string>{"dovecot-uidlist", ".Sent/courierimapuiddb"});
    CHECK(dmg::tree_sha256(f.in) == clean_sha);
    CHECK(test::read_file(f.outside) == outside);
}

TEST_CASE("damage_maildir: the same seed gives the same manifest and tree, and seeds differ") {
    Fixture f;
    for (const dmg::MaildirOp op : dmg::all_maildir_ops()) {
        INFO(dmg::maildir_op_name(op));
        const json a = dmg::damage_maildir(f.in, f.tmp.path() / "a", {op, 7});
        const json b = dmg::damage_maildir(f.in, f.tmp.path() / "b", {op, 7});
        CHECK(a == b);
        CHECK(snapshot(f.tmp.path() / "a") == snapshot(f.tmp.path() / "b"));
        std::set<std::string> outcomes;
        for (std::uint64_t seed = 1; seed <= 8; ++seed) {
            const fs::path out = f.tmp.path() / ("s" + std::to_string(seed));
            outcomes.insert(dmg::damage_maildir(f.in, out, {op, seed})["damage"].dump());
            fs::remove_all(out);
        }
        CHECK(outcomes.size() > 1);
        fs::remove_all(f.tmp.path() / "a");
        fs::remove_all(f.tmp.path() / "b");
    }
}

TEST_CASE("damage_maildir: ops with no place inject nothing and say why") {
    TempDir tmp("damage-maildir-empty");
    const fs::path in = tmp.path() / "in";
    dmg::build_maildir(in, {"x"}, {0, false});
    const Snapshot clean = snapshot(in);
    for (const dmg::MaildirOp op : {dmg::MaildirOp::remove_uidlist_line, dmg::MaildirOp::truncate_file}) {
        INFO(dmg::maildir_op_name(op));
        const fs::path out = tmp.path() / std::string(dmg::maildir_op_name(op));
        const json m = dmg::damage_maildir(in, out, {op, 1});
        CHECK(m["injected"] == false);
        CHECK_FALSE(m["reason"].get<std::string>().empty());
        CHECK(m["candidates"] == 0);
        CHECK(m["damage"].empty());
        CHECK(snapshot(out) == clean);
        CHECK(m["output"]["sha256"] == m["input"]["sha256"]);
    }
    CHECK(snapshot(in) == clean);
}

TEST_CASE("damage_maildir: wrong-size adds a wrong S= when no name has one") {
    TempDir tmp("damage-maildir-nos");
    const fs::path in = tmp.path() / "in";
    dmg::build_maildir(in, {}, {});
    test::write_file(in / "cur" / "1700000000.M1P2.host,W=40:2,RS", "Subject: a\n\nbody\n");
    test::write_file(in / "new" / "1700000001.M1P2.host", "Subject: b\n\nlonger body\n");
    const Snapshot clean = snapshot(in);
    for (std::uint64_t seed = 1; seed <= 10; ++seed) {
        INFO("seed " << seed);
        const fs::path out = tmp.path() / ("out" + std::to_string(seed));
        const json m = dmg::damage_maildir(in, out, {dmg::MaildirOp::wrong_size, seed});
        REQUIRE(m["injected"] == true);
        const json& d = m["damage"][0];
        CHECK(d["added_size_field"] == true);
        CHECK(d["named_size_before"].is_null());
        const std::string path = d["path"];
        const std::string new_path = d["new_path"];
        const Snapshot after = snapshot(out);
        check_untouched(clean, after, {path, new_path});
        const auto size = named_size(name_of(new_path));
        REQUIRE(size);
        CHECK(*size != after.at(new_path).bytes.size());
        if (path == "cur/1700000000.M1P2.host,W=40:2,RS")
            CHECK(new_path == "cur/1700000000.M1P2.host,S=" + std::to_string(*size) + ",W=40:2,RS");
        else
            CHECK(new_path == path + ",S=" + std::to_string(*size));
    }
}

TEST_CASE("damage_maildir: refuses an existing output or one inside the input") {
    Fixture f;
    const Snapshot clean = snapshot(f.in);
    fs::create_directory(f.tmp.path() / "exists");
    CHECK_THROWS_AS(dmg::damage_maildir(f.in, f.tmp.path() / "exists", {dmg::MaildirOp::zero_file, 1}),
                    std::invalid_argument);
    CHECK(fs::is_empty(f.tmp.path() / "exists"));
    CHECK_THROWS_AS(dmg::damage_maildir(f.in, f.in / "cur" / "copy", {dmg::MaildirOp::zero_file, 1}),
                    std::invalid_argument);
    CHECK_THROWS_AS(dmg::damage_maildir(f.in, f.in, {dmg::MaildirOp::zero_file, 1}), std::invalid_argument);
    CHECK(snapshot(f.in) == clean);
}

TEST_CASE("damage_maildir: the mailfsck-damage tool writes the tree and the manifest") {
    Fixture f;
    const Snapshot clean = snapshot(f.in);
    const std::string tool = MAILFSCK_DAMAGE_TOOL;
    const fs::path out = f.tmp.path() / "out";
    const fs::path manifest = f.tmp.path() / "m.json";
    const auto cmd = [&](const std::string& args) { return test::run(tool + " " + args + " 2>/dev/null").status; };
    const std::string paths = f.in.string() + " " + out.string() + " " + manifest.string();
    REQUIRE(cmd("--maildir --seed 3 --op duplicate-base " + paths) == 0);
    json m = json::parse(test::read_file(manifest));
    CHECK(m["input"]["path"] == f.in.string());
    CHECK(m["output"]["path"] == out.string());
    m["input"].erase("path");
    m["output"].erase("path");
    const fs::path again = f.tmp.path() / "again";
    CHECK(m == dmg::damage_maildir(f.in, again, {dmg::MaildirOp::duplicate_base, 3}));
    CHECK(snapshot(out) == snapshot(again));
    // OUT exists now: refused, and left as it was.
    const Snapshot damaged = snapshot(out);
    CHECK(cmd("--seed 3 --op zero-file --maildir " + paths) == 16);
    CHECK(snapshot(out) == damaged);
    const std::string fresh = f.in.string() + " " + (f.tmp.path() / "fresh").string() + " " + manifest.string();
    CHECK(cmd("--maildir --seed 3 --op bitflip " + fresh) == 16);
    CHECK(cmd("--maildir --seed 3 --op zero-file --count 2 " + fresh) == 16);
    CHECK(cmd("--maildir --op zero-file " + fresh) == 16);
    const std::string manifest_inside =
        f.in.string() + " " + (f.tmp.path() / "fresh").string() + " " + (f.in / "m.json").string();
    CHECK(cmd("--maildir --seed 3 --op zero-file " + manifest_inside) == 16);
    CHECK_FALSE(fs::exists(f.tmp.path() / "fresh"));
    CHECK(snapshot(f.in) == clean);
}
