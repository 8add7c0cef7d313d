// Maildir damage the generator injects (tests/damage/damage_maildir.h),
// found where the manifest says it is, and repaired into a tree that
// rescans clean. The clean tree is built here from real corpus messages,
// so a clean scan is known by construction.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/damage/damage_maildir.h"
#include "tests/unit/support.h"

namespace fs = std::filesystem;
using mailfsck::test::read_file;
using mailfsck::test::q;
using mailfsck::test::run;
using mailfsck::test::shared_path;
using mailfsck::test::TempDir;
using nlohmann::json;
namespace dmg = mailfsck::damage;

namespace {

const std::string tool = MAILFSCK_BINARY_DIR "/cli/mailfsck";

json scan_json(const fs::path& store, int& status) {
    const auto r = run(tool + " scan -q --json - " + q(store) + " 2>/dev/null");
    status = r.status;
    return json::parse(r.out)["stores"][0];
}

const json* finding(const json& store, const std::string& code, const std::string& file) {
    for (const auto& p : store["problems"])
        if (p["code"] == code && p["file"] == file) return &p;
    return nullptr;
}

// Twelve real messages (notmuch's LKML corpus), LF line ends, with MIME.
std::vector<std::string> corpus_messages(const fs::path& lkml) {
    std::vector<std::string> out;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(lkml / "cur")) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (std::size_t i = 0; i < files.size() && out.size() < 12; i += 7) out.push_back(read_file(files[i]));
    return out;
}

}  // namespace

TEST_CASE("Maildir damage is found where it was made, and repair's output rescans clean") {
    const auto lkml = shared_path("mail/notmuch_notmuch/test/corpora/lkml");
    if (!lkml) return;
    TempDir t("maildir-damage");
    const fs::path clean = t.path() / "clean";
    dmg::MaildirLayout layout;
    layout.dovecot_uidlist = true;
    dmg::build_maildir(clean, corpus_messages(*lkml), layout);
    int status = -1;
    const json clean_scan = scan_json(clean, status);
    REQUIRE(status == 0);
    REQUIRE(clean_scan["messages"]["intact"] == 12);

    for (const dmg::MaildirOp op : dmg::all_maildir_ops()) {
        for (std::uint64_t seed = 1; seed <= 4; ++seed) {
            const std::string tag = std::string(dmg::maildir_op_name(op)) + "-" + std::to_string(seed);
            INFO(tag);
            const fs::path damaged = t.path() / tag;
            const json manifest = dmg::damage_maildir(clean, damaged, {op, seed});
            REQUIRE(manifest["injected"] == true);
            REQUIRE(manifest["damage"].size() == 1);
            const json& d = manifest["damage"][0];
            const json st = scan_json(damaged, status);
            switch (op) {
                case dmg::MaildirOp::truncate_file: {
                    // Every built name records its size, so the cut shows.
                    const json* f = finding(st, "MAILDIR-0008", d["path"].get<std::string>());
                    REQUIRE(f != nullptr);
                    CHECK(status == 4);
                    CHECK(st["messages"]["partial"].get<int>() + st["messages"]["lost"].get<int>() == 1);
                    break;
                }
                case dmg::MaildirOp::zero_file:
                    CHECK(finding(st, "MSG-0001", d["path"].get<std::string>()) != nullptr);
                    CHECK(st["messages"]["lost"] == 1);
                    CHECK(status == 4);
                    break;
                case dmg::MaildirOp::stray_tmp: {
                    const json* f = finding(st, "MAILDIR-0002", d["path"].get<std::string>());
                    REQUIRE(f != nullptr);
                    CHECK((*f)["detail"].get<std::string>().find("2000-01-01") != std::string::npos);
                    // A whole copy of a message the folder has is left out:
                    // delivered again it would be a duplicate.
                    if (d["variant"] == "complete") {
                        CHECK((*f)["action"] == "dropped");
                        CHECK((*f)["detail"].get<std::string>().find("delivered already") != std::string::npos);
                        CHECK(st["messages"]["duplicates"] == 1);
                    }
                    CHECK(status == 4);
                    break;
                }
                case dmg::MaildirOp::wrong_size:
                    CHECK(finding(st, "MAILDIR-0007", d["new_path"].get<std::string>()) != nullptr);
                    CHECK(status == 4);
                    break;
                case dmg::MaildirOp::duplicate_base: {
                    // Reported on the file met second (cur/ is read before new/).
                    const std::string a = d["source"].get<std::string>();
                    const std::string b = d["path"].get<std::string>();
                    const bool a_first = a.find("/cur/") != std::string::npos || a.rfind("cur/", 0) == 0;
                    const json* f = finding(st, "MAILDIR-0006", a_first ? b : a);
                    REQUIRE(f != nullptr);
                    // The generator's copy holds the same bytes (a crashed
                    // move's leftover): left out, not delivered twice.
                    CHECK((*f)["action"] == "dropped");
                    CHECK(st["messages"]["duplicates"] == 1);
                    CHECK(status == 4);
                    break;
                }
                case dmg::MaildirOp::remove_uidlist_line: {
                    const json* f = finding(st, "MAILDIR-0010", d["path"].get<std::string>());
                    REQUIRE(f != nullptr);
                    CHECK((*f)["detail"].get<std::string>().rfind("1 message file(s) without an entry", 0) == 0);
                    break;
                }
            }
            const fs::path out = t.path() / (tag + ".out");
            const auto r = run(tool + " repair -q " + q(damaged) + " -o " + q(out) + " >/dev/null 2>&1");
            CHECK(r.status < 8);
            const json again = scan_json(out / tag, status);
            CHECK(status == 0);
            for (const auto& p : again["problems"]) CHECK(p["severity"] == "info");
            if (status != 0) {
                WARN(run("cat " + q(out / "report.txt")).out);
                WARN(run(tool + " scan -q " + q(out / tag)).out);
                continue;
            }
            fs::remove_all(damaged);
            fs::remove_all(out);
        }
    }
}

TEST_CASE("Maildir bad input: links not followed, odd names, unreadable files, the input never written") {
    const auto lkml = shared_path("mail/notmuch_notmuch/test/corpora/lkml");
    if (!lkml) return;
    TempDir t("maildir-bad");
    const fs::path box = t.path() / "box";
    dmg::MaildirLayout layout;
    layout.dovecot_uidlist = true;
    dmg::build_maildir(box, corpus_messages(*lkml), layout);
    // A link out of the store, a name that is not UTF-8, a FIFO.
    mailfsck::test::write_file(t.path() / "outside", "From: x\n\nnot part of the store\n");
    fs::create_symlink(t.path() / "outside", box / "cur" / "9.M9P9.link:2,S");
    const std::string odd = std::string("10.M10P1.caf\xe9:2,S");
    mailfsck::test::write_file(box / "cur" / odd, read_file(box / "cur" / "1.M1P1.mailfsck-test,S=3875:2,S"));
    REQUIRE(run("mkfifo " + q(box / "new" / "fifo")).status == 0);
    // Unreadable to whoever runs the check (root reads anything, so as root
    // the check runs as nobody, with the tree opened up for it).
    const fs::path locked = box / "cur" / "11.M11P1.locked:2,S";
    mailfsck::test::write_file(locked, read_file(box / "cur" / "1.M1P1.mailfsck-test,S=3875:2,S"));
    fs::permissions(locked, fs::perms::none);
    const bool root = ::geteuid() == 0;
    if (root) REQUIRE(run("chmod -R a+rX " + q(t.path()) + " && chmod 000 " + q(locked)).status == 0);
    const std::string as = root ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : "";
    const std::string before = dmg::tree_sha256(box);

    const auto r = run(as + tool + " scan -q --json - " + q(box) + " 2>/dev/null");
    CHECK(r.status == 4);
    const json st = json::parse(r.out)["stores"][0];
    CHECK(finding(st, "STORE-0005", "cur/9.M9P9.link:2,S") != nullptr);
    CHECK(finding(st, "STORE-0005", "new/fifo") != nullptr);
    CHECK(finding(st, "STORE-0006", "cur/11.M11P1.locked:2,S") != nullptr);
    // The odd name is shown escaped, and its message checked like any other.
    CHECK(finding(st, "MAILDIR-0003", "cur/10.M10P1.caf\\xe9:2,S") != nullptr);
    CHECK(st["messages"]["found"] == 14);
    CHECK(st["messages"]["intact"] == 13);
    CHECK(st["messages"]["lost"] == 1);

    const fs::path out = t.path() / "out";
    if (root) REQUIRE(run("chmod 777 " + q(t.path())).status == 0);
    CHECK(run(as + tool + " repair -q " + q(box) + " -o " + q(out) + " >/dev/null 2>&1").status == 4);
    CHECK(dmg::tree_sha256(box) == before);
    CHECK(read_file(t.path() / "outside") == "From: x\n\nnot part of the store\n");
    int status = -1;
    const json again = scan_json(out / "box", status);
    CHECK(status == 0);
    CHECK(again["messages"]["intact"] == 13);
}

TEST_CASE("a UID list whose UIDVALIDITY disagrees with dovecot.index is found, and the list is kept") {
    const auto lkml = shared_path("mail/notmuch_notmuch/test/corpora/lkml");
    if (!lkml) return;
    TempDir t("maildir-uidvalidity");
    const fs::path box = t.path() / "box";
    dmg::MaildirLayout layout;
    layout.dovecot_uidlist = true;  // says V1000000000
    dmg::build_maildir(box, corpus_messages(*lkml), layout);
    // The head of a Dovecot 2.x index (struct mail_index_header in Dovecot's
    // src/lib-index/mail-index.h): major version 7, minor 3, base header
    // size, header size, record size, compat flags (1: little-endian), three
    // unused bytes, indexid, flags, then uid_validity at byte 24.
    std::string index(256, '\0');
    index[0] = 7;
    index[1] = 3;
    index[2] = static_cast<char>(120);
    index[12] = 1;
    const std::uint32_t other_validity = 1234567890;
    mailfsck::test::put_le(index, 24, other_validity, 4);
    mailfsck::test::write_file(box / "dovecot.index", index);
    int status = -1;
    const json st = scan_json(box, status);
    const json* f = finding(st, "MAILDIR-0014", "dovecot.index");
    REQUIRE(f != nullptr);
    CHECK((*f)["detail"].get<std::string>().find("1234567890") != std::string::npos);
    CHECK((*f)["detail"].get<std::string>().find("1000000000") != std::string::npos);
    CHECK(status == 4);

    // The same index agreeing with the list is no finding.
    mailfsck::test::put_le(index, 24, 1000000000U, 4);
    mailfsck::test::write_file(box / "dovecot.index", index);
    const json agreeing = scan_json(box, status);
    CHECK(finding(agreeing, "MAILDIR-0014", "dovecot.index") == nullptr);
    CHECK(status == 0);
}
