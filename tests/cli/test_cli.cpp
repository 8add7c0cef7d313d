// The mailfsck command as a user meets it: exit codes (fsck(8)), one-line
// errors, nothing written on bad input, the input never changed, reports.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>
#include <sstream>
#include <vector>
#include <nlohmann/json.hpp>

#include "tests/unit/support.h"

namespace fs = std::filesystem;
using mailfsck::test::read_file;
using mailfsck::test::q;
using mailfsck::test::run;
using mailfsck::test::TempDir;
using mailfsck::test::write_file;

namespace {

const std::string tool = MAILFSCK_BINARY_DIR "/cli/mailfsck";

// A small, well-formed mboxrd written here, so every count is a hand count.
const std::string clean_mbox =
    "From alice@example.com Mon Jan  1 10:00:00 2024\n"
    "From: Alice <alice@example.com>\n"
    "To: bob@example.com\n"
    "Subject: first\n"
    "Message-ID: <1@example.com>\n"
    "Date: Mon, 1 Jan 2024 10:00:00 +0000\n"
    "\n"
    "Hello Bob.\n"
    ">From the archives: quoted.\n"
    "\n"
    "From bob@example.com Mon Jan  1 11:00:00 2024\n"
    "From: Bob <bob@example.com>\n"
    "To: alice@example.com\n"
    "Subject: second\n"
    "Message-ID: <2@example.com>\n"
    "Date: Mon, 1 Jan 2024 11:00:00 +0000\n"
    "\n"
    "Hi Alice.\n"
    "\n";

int status_of(const std::string& cmd) { return run(cmd + " >/dev/null 2>&1").status; }

// How many files (not directories) `dir` holds.
std::size_t count(const fs::path& dir) {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir)) n += e.is_regular_file() ? 1 : 0;
    return n;
}

// stderr of a command, which must be exactly one line for bad input.
std::string stderr_of(const std::string& cmd) { return run(cmd + " 2>&1 >/dev/null").out; }

}  // namespace

TEST_CASE("bad input gives one clear line, exit 8, and writes nothing") {
    TempDir t("cli-bad");
    write_file(t.path() / "empty.mbox", "");
    std::string junk;
    for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>((i * 7919) % 251));
    write_file(t.path() / "junk.bin", junk);
    fs::create_directory(t.path() / "dir");
    for (const std::string name : {"missing.mbox", "empty.mbox", "junk.bin", "dir"}) {
        INFO(name);
        const fs::path in = t.path() / name;
        const fs::path out = t.path() / ("out-" + name);
        CHECK(status_of(tool + " scan " + q(in)) == 8);
        CHECK(status_of(tool + " repair " + q(in) + " -o " + q(out)) == 8);
        CHECK_FALSE(fs::exists(out));
        const std::string err = stderr_of(tool + " scan " + q(in));
        CHECK(err.rfind("mailfsck: ", 0) == 0);
        CHECK(std::count(err.begin(), err.end(), '\n') == 1);
    }
    // Nothing but the inputs is left in the directory (no staging leftovers).
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(t.path())) ++entries;
    CHECK(entries == 3);
}

TEST_CASE("a store that is not a regular file is an operational error") {
    TempDir t("cli-fifo");
    const fs::path fifo = t.path() / "pipe.mbox";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(status_of(tool + " scan " + q(fifo)) == 8);
}

TEST_CASE("an unreadable store is an operational error") {
    if (::geteuid() == 0) {
        WARN("skipped: running as root, so permissions cannot make a file unreadable");
        return;
    }
    TempDir t("cli-perm");
    const fs::path in = t.path() / "locked.mbox";
    write_file(in, clean_mbox);
    ::chmod(in.c_str(), 0);
    CHECK(status_of(tool + " scan " + q(in)) == 8);
}

TEST_CASE("usage errors exit 16 and write nothing") {
    TempDir t("cli-usage");
    const fs::path in = t.path() / "in.mbox";
    write_file(in, clean_mbox);
    fs::create_directory(t.path() / "full");
    write_file(t.path() / "full" / "x", "x");
    CHECK(status_of(tool) == 16);
    CHECK(status_of(tool + " frobnicate " + q(in)) == 16);
    CHECK(status_of(tool + " scan") == 16);
    CHECK(status_of(tool + " scan --bogus " + q(in)) == 16);
    CHECK(status_of(tool + " repair " + q(in)) == 16);  // no -o
    CHECK(status_of(tool + " repair " + q(in) + " -o " + q(t.path() / "full")) == 16);
    CHECK(status_of(tool + " repair " + q(in) + " -o " + q(in)) == 16);
    CHECK(status_of(tool + " repair " + q(in) + " -o " + q(in / "sub")) == 16);
    CHECK(status_of(tool + " scan --format nonsense " + q(in)) == 16);
    CHECK(status_of(tool + " verify --deleted " + q(in)) == 16);
    CHECK(status_of(tool + " scan --deleted --quick " + q(in)) == 16);
    CHECK(status_of(tool + " repair --to nonsense -o " + q(t.path() / "o1") + " " + q(in)) == 16);
    CHECK_FALSE(fs::exists(t.path() / "o1"));
    CHECK(fs::file_size(in) == clean_mbox.size());
    CHECK(read_file(t.path() / "full" / "x") == "x");
}

TEST_CASE("a clean store scans with exit 0 and repairs to the same messages") {
    TempDir t("cli-clean");
    const fs::path in = t.path() / "in.mbox";
    write_file(in, clean_mbox);
    CHECK(status_of(tool + " scan " + q(in)) == 0);
    CHECK(status_of(tool + " verify " + q(in)) == 0);
    CHECK(status_of(tool + " repair -q " + q(in) + " -o " + q(t.path() / "out")) == 0);
    // mboxrd output: the input's ">From " line was content in an mboxo/mboxrd
    // store without ">>From " evidence, so it gains one '>'.
    std::string expected = clean_mbox;
    expected.replace(expected.find(">From the"), 1, ">>");
    CHECK(read_file(t.path() / "out" / "in.mbox") == expected);
    CHECK(fs::exists(t.path() / "out" / "report.json"));
    CHECK(fs::exists(t.path() / "out" / "report.txt"));
}

// index.jsonl traces every output message back to the input: for the
// damaged mbox below, the hand-placed offsets of both messages in the
// input and in the rebuilt mbox, and which one is partial.
TEST_CASE("the output index names where each message went and where it came from") {
    TempDir t("cli-index");
    const fs::path in = t.path() / "in.mbox";
    std::string damaged = clean_mbox;
    damaged.insert(damaged.find("Hello Bob."), std::string(600, '\0') + "\n");
    write_file(in, damaged);
    for (const char* format : {"mbox", "eml", "maildir"}) {
        INFO(format);
        const fs::path out = t.path() / format;
        CHECK(status_of(tool + " repair -q --to " + format + " " + q(in) + " -o " + q(out)) == 4);
        std::vector<nlohmann::json> lines;
        std::istringstream index(read_file(out / "index.jsonl"));
        for (std::string line; std::getline(index, line);) lines.push_back(nlohmann::json::parse(line));
        REQUIRE(lines.size() == 2);
        CHECK(lines[0]["message"] == 1);
        CHECK(lines[0]["state"] == "partial");
        CHECK(lines[0]["input_offset"] == 0);
        CHECK(lines[1]["message"] == 2);
        CHECK(lines[1]["state"] == "intact");
        CHECK(lines[1]["input_offset"] == damaged.find("From bob@"));
        for (const auto& l : lines) {
            const std::string written = read_file(out / l["file"].get<std::string>());
            const std::uint64_t at = l.value("offset", 0);
            const std::string subject = l["message"] == 1 ? "Subject: first" : "Subject: second";
            CHECK(written.find(subject) != std::string::npos);
            if (std::string(format) == "mbox") CHECK(written.compare(at, 5, "From ") == 0);
            if (std::string(format) == "mbox") CHECK(written.find(subject, at) < written.find("\nFrom ", at + 1));
        }
    }
    // The report and the index beside the messages are not taken for
    // damaged messages when the output directory itself is verified.
    CHECK(status_of(tool + " verify " + q(t.path() / "eml")) == 0);
}

TEST_CASE("damage is found (exit 4), repaired (exit 4 when bytes were lost), and the output rescans clean") {
    TempDir t("cli-damage");
    const fs::path in = t.path() / "in.mbox";
    // A 600-byte NUL hole inside the first body, as a crashed sync leaves.
    std::string damaged = clean_mbox;
    damaged.insert(damaged.find("Hello Bob."), std::string(600, '\0') + "\n");
    write_file(in, damaged);
    const struct stat before = [&] {
        struct stat st {};
        ::stat(in.c_str(), &st);
        return st;
    }();
    CHECK(status_of(tool + " scan " + q(in)) == 4);
    const auto r = run(tool + " repair -q " + q(in) + " -o " + q(t.path() / "out") + " --json -");
    CHECK(r.status == 4);
    const auto report = nlohmann::json::parse(r.out);
    CHECK(report["schema"] == "mailfsck-report/1");
    const auto& store = report["stores"][0];
    CHECK(store["messages"]["found"] == 2);
    CHECK(store["messages"]["partial"] == 1);
    CHECK(store["messages"]["intact"] == 1);
    CHECK(store["bytes"]["junk"] == 601);
    CHECK(store["bytes"]["unaccounted"] == 0);
    CHECK(store["bytes"]["total"] == damaged.size());
    bool hole_reported = false;
    for (const auto& p : store["problems"])
        hole_reported = hole_reported || (p["code"] == "MBOX-0010" && p["offset"] == damaged.find('\0'));
    CHECK(hole_reported);
    CHECK(status_of(tool + " scan " + q(t.path() / "out" / "in.mbox")) == 0);
    CHECK(read_file(in) == damaged);  // the input is never changed
    struct stat after {};
    ::stat(in.c_str(), &after);
    CHECK(after.st_mtim.tv_sec == before.st_mtim.tv_sec);
    CHECK(after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
}

TEST_CASE("past 1000 findings of one kind the report counts the rest and every message is still judged by its own") {
    TempDir t("cli-cap");
    const fs::path in = t.path() / "in.mbox";
    // 1,500 messages, each but the last run straight into the next From_
    // line with no empty line between: 1,499 findings of MBOX-0003, each
    // making its message repaired, and none on the last.
    std::string store;
    for (int i = 0; i < 1500; ++i)
        store += "From a@example.org Mon Jan  1 00:00:00 2001\nSubject: m" + std::to_string(i) + "\n\nbody\n";
    write_file(in, store);
    const auto r = run(tool + " repair -q " + q(in) + " -o " + q(t.path() / "out") + " --json -");
    CHECK(r.status == 1);
    const auto s = nlohmann::json::parse(r.out)["stores"][0];
    std::size_t listed = 0;
    for (const auto& p : s["problems"]) listed += p["code"] == "MBOX-0003" ? 1 : 0;
    CHECK(listed == 1000);
    REQUIRE(s["problems_omitted"].size() == 1);
    CHECK(s["problems_omitted"][0]["code"] == "MBOX-0003");
    CHECK(s["problems_omitted"][0]["count"] == 499);
    CHECK(s["messages"]["repaired"] == 1499);
    CHECK(s["messages"]["intact"] == 1);
    const std::string text = run(tool + " scan " + q(in)).out;
    CHECK(text.find("MBOX-0003 warning 499 more not listed") != std::string::npos);
    CHECK(status_of(tool + " scan " + q(t.path() / "out" / "in.mbox")) == 0);
}

TEST_CASE("findings and lost items of files judged apart, then kept under the cap") {
    // Each file left in tmp/ is judged on a scratch log first; one that is
    // not a whole message brings its findings along. 1,100 cut inside a
    // multipart: 1,100 MSG-0009 of which 1,000 are listed.
    TempDir t("cli-cap-tmp");
    const fs::path md = t.path() / "md";
    for (const char* d : {"cur", "new", "tmp"}) fs::create_directories(md / d);
    for (int i = 0; i < 1100; ++i)
        write_file(md / "tmp" / ("1000" + std::to_string(i) + ".host"),
                   "Subject: x\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nhel");
    const auto r = run(tool + " scan " + q(md) + " --json -");
    CHECK(r.status == 4);
    const auto s = nlohmann::json::parse(r.out)["stores"][0];
    std::size_t listed = 0;
    for (const auto& p : s["problems"]) listed += p["code"] == "MSG-0009" ? 1 : 0;
    CHECK(listed == 1000);
    std::map<std::string, std::uint64_t> omitted;
    for (const auto& o : s["problems_omitted"]) omitted[o["code"]] = o["count"];
    CHECK(omitted["MSG-0009"] == 100);
    CHECK(omitted["MAILDIR-0002"] == 100);
    CHECK(s["messages"]["lost"] == 1100);
    // One lost[] entry a file, listed up to the same kind of cap.
    CHECK(s["lost"].size() == 1000);
    CHECK(s["lost_omitted"] == 100);
    CHECK(run(tool + " scan " + q(md)).out.find("LOST 100 more not listed") != std::string::npos);
}

TEST_CASE("a file left in tmp/ under a long name goes to lost+found under a name a file system takes") {
    // 250 bytes is a valid name; with "@<offset>.bin" added it is not.
    TempDir t("cli-long-tmp-name");
    const fs::path md = t.path() / "md";
    for (const char* d : {"cur", "new", "tmp"}) fs::create_directories(md / d);
    const std::string name = "1700000000.M1P2." + std::string(234, 'h');
    const std::string held = "Subject: x\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nhel";
    write_file(md / "tmp" / name, held);
    write_file(md / "cur" / "1700000001.M2P3.host:2,S", "Subject: kept\n\nbody\n");
    const auto r = run(tool + " repair -q " + q(md) + " -o " + q(t.path() / "out") + " 2>&1");
    CHECK(r.status == 4);
    std::vector<fs::path> kept;
    for (const auto& e : fs::recursive_directory_iterator(t.path() / "out" / "lost+found"))
        if (e.is_regular_file()) kept.push_back(e.path());
    REQUIRE(kept.size() == 1);
    CHECK(kept[0].filename().string().size() <= 255);
    CHECK(kept[0].filename().string().rfind(name.substr(0, 200), 0) == 0);
    CHECK(read_file(kept[0]) == held);
}

TEST_CASE("an input whose name fills NAME_MAX repairs into every format") {
    // The output store takes the input's name: ".pst" added to 255 bytes
    // is a name no file system takes.
    TempDir t("cli-long-input-name");
    const fs::path in = t.path() / std::string(255, 'm');
    write_file(in, clean_mbox);
    for (const std::string to : {"mbox", "maildir", "eml", "pst"}) {
        INFO(to);
        const fs::path out = t.path() / to;
        CHECK(status_of(tool + " repair -q " + q(in) + " --to " + to + " -o " + q(out)) == 0);
        // The report names the store written, and says when its name was cut.
        const auto output = nlohmann::json::parse(read_file(out / "report.json"))["stores"][0]["output"];
        CHECK(fs::exists(output["path"].get<std::string>()));
        CHECK(output["notes"].size() == (to == "pst" ? 1U : 0U));
        std::size_t found = 0;
        for (const auto& e : fs::directory_iterator(out)) {
            CHECK(e.path().filename().string().size() <= 255);
            if (e.path().filename() != "report.json" && e.path().filename() != "report.txt" && e.path().filename() != "index.jsonl")
                found += status_of(tool + " scan -q " + q(e.path())) == 0 ? 1 : 0;
        }
        CHECK(found >= 1);
    }
}

TEST_CASE("a Maildir message whose name leaves no room for the sizes repair adds keeps its UID under a shorter name") {
    // 246 bytes of unique part and ":2,S" make a valid name; ",S=..,W=.."
    // added by repair would pass NAME_MAX (255).
    TempDir t("cli-long-unique");
    const fs::path md = t.path() / "md";
    for (const char* d : {"cur", "new", "tmp"}) fs::create_directories(md / d);
    const std::string unique = "1700000000.M1P2." + std::string(230, 'h');
    write_file(md / "cur" / (unique + ":2,S"), "Subject: long\n\nbody\n");
    write_file(md / "cur" / "1700000001.M2P3.host:2,S", "Subject: short\n\nbody\n");
    write_file(md / "dovecot-uidlist", "3 V7 N3\n1 :" + unique + "\n2 :1700000001.M2P3.host\n");
    const auto r = run(tool + " repair -q " + q(md) + " -o " + q(t.path() / "out") + " 2>&1");
    CHECK(r.status == 0);
    std::map<std::string, std::string> base_of;  // subject to the base name
    for (const auto& e : fs::directory_iterator(t.path() / "out" / "md" / "cur")) {
        const std::string name = e.path().filename().string();
        CHECK(name.size() <= 255);
        const std::string text = read_file(e.path());
        base_of[text.substr(9, text.find('\n') - 9)] = name.substr(0, name.find(':'));
    }
    REQUIRE(base_of.size() == 2);
    CHECK(base_of["long"].rfind(unique.substr(0, 100), 0) == 0);
    CHECK(base_of["short"].rfind("1700000001.M2P3.host,S=", 0) == 0);
    const std::string list = read_file(t.path() / "out" / "md" / "dovecot-uidlist");
    CHECK(list.find("\n1 :" + base_of["long"] + "\n") != std::string::npos);
    CHECK(list.find("\n2 :" + base_of["short"] + "\n") != std::string::npos);
    const auto notes = nlohmann::json::parse(read_file(t.path() / "out" / "report.json"))["stores"][0]["output"]["notes"];
    REQUIRE(notes.size() == 1);
    CHECK(notes[0].get<std::string>().rfind("1 output name(s)", 0) == 0);
}

TEST_CASE("a file left in tmp/ that is a copy of a message the folder has is not delivered again") {
    // A delivery that linked its file into new/ and stopped before removing
    // it from tmp/: the same bytes under the same name.
    TempDir t("cli-tmp-copy");
    const fs::path md = t.path() / "md";
    for (const char* d : {"cur", "new", "tmp"}) fs::create_directories(md / d);
    const std::string delivered = "From: a@example.org\nSubject: delivered\nMessage-ID: <d@example.org>\n\nbody\n";
    write_file(md / "new" / "1700000000.M1P2.host", delivered);
    write_file(md / "tmp" / "1700000000.M1P2.host", delivered);
    write_file(md / "tmp" / "1700000001.M3P4.host", "From: a@example.org\nSubject: unfinished\n\nwhole all the same\n");
    const auto r = run(tool + " repair -q " + q(md) + " --to mbox -o " + q(t.path() / "out") + " --json -");
    CHECK(r.status == 1);
    const auto s = nlohmann::json::parse(r.out)["stores"][0];
    CHECK(s["messages"]["found"] == 3);
    CHECK(s["messages"]["duplicates"] == 1);
    CHECK(s["output"]["messages_written"] == 2);
    const std::string mbox = read_file(t.path() / "out" / "md");
    CHECK(mbox.find("Subject: delivered") == mbox.rfind("Subject: delivered"));
    CHECK(mbox.find("Subject: unfinished") != std::string::npos);
    CHECK(status_of(tool + " scan " + q(t.path() / "out" / "md")) == 0);
    CHECK(read_file(md / "tmp" / "1700000000.M1P2.host") == delivered);  // the input is never changed
}

TEST_CASE("repair makes the output directory's missing parents and says why it cannot") {
    TempDir t("cli-parents");
    const fs::path in = t.path() / "in.mbox";
    write_file(in, clean_mbox);
    CHECK(status_of(tool + " repair -q " + q(in) + " -o " + q(t.path() / "a" / "b" / "out")) == 0);
    CHECK(status_of(tool + " scan " + q(t.path() / "a" / "b" / "out" / "in.mbox")) == 0);
    // A file where a directory must be: an operational error naming it.
    write_file(t.path() / "file", "x");
    const auto r = run(tool + " repair -q " + q(in) + " -o " + q(t.path() / "file" / "c" / "out") + " 2>&1");
    CHECK(r.status == 8);
    CHECK(r.out.find((t.path() / "file" / "c").string()) != std::string::npos);
    CHECK(read_file(in) == clean_mbox);
}

TEST_CASE("repair is deterministic apart from the report timestamp") {
    TempDir t("cli-determinism");
    const fs::path in = t.path() / "in.mbox";
    std::string damaged = clean_mbox;
    damaged.replace(damaged.find("From bob"), 5, "Fr\x01m ");
    write_file(in, damaged);
    for (const std::string out : {"a", "b"}) status_of(tool + " repair -q " + q(in) + " -o " + q(t.path() / out));
    CHECK(read_file(t.path() / "a" / "in.mbox") == read_file(t.path() / "b" / "in.mbox"));
    auto ja = nlohmann::json::parse(read_file(t.path() / "a" / "report.json"));
    auto jb = nlohmann::json::parse(read_file(t.path() / "b" / "report.json"));
    ja.erase("timestamp");
    jb.erase("timestamp");
    ja["stores"][0]["output"].erase("path");
    jb["stores"][0]["output"].erase("path");
    CHECK(ja == jb);
}

TEST_CASE("compressed stores are read through decompression") {
    TempDir t("cli-compressed");
    const fs::path in = t.path() / "in.mbox";
    write_file(in, clean_mbox);
    for (const std::string compressor : {"gzip", "bzip2", "xz"}) {
        INFO(compressor);
        const fs::path z = t.path() / ("z." + compressor);
        REQUIRE(run(compressor + " -c " + q(in) + " > " + q(z)).status == 0);
        const auto r = run(tool + " scan --json - " + q(z));
        CHECK(r.status == 0);
        const auto j = nlohmann::json::parse(r.out);
        CHECK(j["stores"][0]["messages"]["found"] == 2);
        CHECK(j["stores"][0]["compression"] == compressor);
    }
    write_file(t.path() / "bad.gz", std::string("\x1f\x8b\x08\x00garbage", 12));
    CHECK(status_of(tool + " scan " + q(t.path() / "bad.gz")) == 8);
}

TEST_CASE("verify --against lists messages missing or changed") {
    TempDir t("cli-verify");
    const fs::path full = t.path() / "full.mbox";
    const fs::path partial = t.path() / "partial.mbox";
    write_file(full, clean_mbox);
    write_file(partial, clean_mbox.substr(0, clean_mbox.find("From bob")));
    CHECK(status_of(tool + " verify " + q(full) + " --against " + q(partial)) == 0);
    const auto r = run(tool + " verify " + q(partial) + " --against " + q(full));
    CHECK(r.status == 4);
    CHECK(r.out.find("missing: message 2") != std::string::npos);
    CHECK(r.out.find("<2@example.com>") != std::string::npos);
    // With the report as JSON on stdout, stdout is that JSON alone, the
    // differences in it.
    const auto j = run(tool + " verify --json - " + q(partial) + " --against " + q(full));
    CHECK(j.status == 4);
    const auto report = nlohmann::json::parse(j.out);
    REQUIRE(report["differences"].size() == 1);
    CHECK(report["differences"][0].get<std::string>().rfind("missing: message 2", 0) == 0);
    CHECK(nlohmann::json::parse(run(tool + " verify --json - " + q(full)).out)["mode"] == "verify");
}

TEST_CASE("docs/problems.md is the catalogue's own rendering") {
    const auto r = run(tool + " problems --markdown");
    REQUIRE(r.status == 0);
    CHECK(read_file(MAILFSCK_SOURCE_DIR "/docs/problems.md") == r.out);
}

TEST_CASE("mbox to Maildir keeps each message's read, answered and flagged state and its arrival time") {
    TempDir t("cli-mbox-maildir");
    const std::string mbox =
        "From a@example.com Mon Jan  1 10:00:00 2024\n"
        "From: a@example.com\nSubject: read, answered, flagged\nStatus: RO\nX-Status: AF\n\nbody 1\n\n"
        "From b@example.com Mon Jan  1 11:00:00 2024\n"
        "From: b@example.com\nSubject: old, unread\nStatus: O\n\nbody 2\n\n"
        "From - Mon Jan  1 12:00:00 2024\n"
        "From: c@example.com\nSubject: Thunderbird read and marked\nX-Mozilla-Status: 0005\n\nbody 3\n";
    write_file(t.path() / "box", mbox);
    REQUIRE(status_of(tool + " repair -q --to maildir " + q(t.path() / "box") + " -o " + q(t.path() / "out")) == 0);
    std::map<std::string, std::string> flags_by_subject;
    std::map<std::string, std::int64_t> time_by_subject;
    for (const auto& e : fs::directory_iterator(t.path() / "out" / "box" / "cur")) {
        const std::string name = e.path().filename().string();
        const std::string text = read_file(e.path());
        const std::size_t s = text.find("Subject: ") + 9;
        const std::string subject = text.substr(s, text.find('\n', s) - s);
        flags_by_subject[subject] = name.substr(name.find(":2,") + 3);
        struct stat st {};
        REQUIRE(::stat(e.path().c_str(), &st) == 0);
        time_by_subject[subject] = st.st_mtim.tv_sec;
    }
    CHECK(flags_by_subject["read, answered, flagged"] == "FRS");
    CHECK(flags_by_subject["old, unread"].empty());
    CHECK(flags_by_subject["Thunderbird read and marked"] == "FS");
    // 2024-01-01 10:00:00 UTC is 1704067200 (midnight) + 10 h.
    CHECK(time_by_subject["read, answered, flagged"] == 1704067200 + 10 * 3600);
    CHECK(time_by_subject["old, unread"] == 1704067200 + 11 * 3600);
}

// Thunderbird keeps each folder as an mbox file (its subfolders under
// "<name>.sbd/", a ".msf" summary beside it, an empty file for an empty
// folder); Apple Mail exports "<name>.mbox/mbox"; repair's own mbox output
// is a directory of one mbox per folder. Such a directory is one store of
// folders, not a directory of six-message "messages". Counts by hand.
TEST_CASE("a directory of mbox files is one store, each file a folder, and repair's mbox output verifies as one") {
    TempDir t("cli-mbox-directory");
    const fs::path in = t.path() / "Local Folders";
    const std::string third =
        "From carol@example.com Tue Jan  2 09:00:00 2024\n"
        "From: Carol <carol@example.com>\n"
        "Subject: third\n"
        "Message-ID: <3@example.com>\n"
        "\n"
        "A list post.\n";
    fs::create_directories(in / "Inbox.sbd");
    fs::create_directories(in / "Saved.mbox");
    write_file(in / "Inbox", clean_mbox);
    write_file(in / "Inbox.msf", "// <!-- <mdb:mork:z v=\"1.4\"/> -->\n< <(a=c)> >\n");
    write_file(in / "Inbox.sbd" / "Lists", third);  // one message, still a folder
    write_file(in / "Trash", "");
    write_file(in / "Trash.msf", "// <!-- <mdb:mork:z v=\"1.4\"/> -->\n");
    write_file(in / "Saved.mbox" / "mbox", clean_mbox);
    write_file(in / "note.eml", "From: Dave <dave@example.com>\nSubject: fourth\nMessage-ID: <4@example.com>\n\nSaved.\n");

    const auto r = run(tool + " scan --json - " + q(in));
    CHECK(r.status == 0);
    const auto s = nlohmann::json::parse(r.out)["stores"][0];
    CHECK(s["format"] == "mbox");
    CHECK(s["messages"]["found"] == 6);
    CHECK(s["messages"]["intact"] == 6);
    CHECK(s["files"]["seen"] == 7);
    CHECK(s["files"]["mailboxes"] == 4);
    CHECK(s["files"]["messages"] == 1);
    CHECK(s["files"]["other"] == 2);
    CHECK(s["bytes"]["in_messages"] == 2 * clean_mbox.size() + third.size() + fs::file_size(in / "note.eml"));
    CHECK(s["bytes"]["unaccounted"] == 0);
    // The empty folder is said to be empty: it may be one that lost everything.
    std::size_t empty_folders = 0;
    for (const auto& p : s["problems"]) empty_folders += p["code"] == "STORE-0002" && p["file"] == "Trash" ? 1 : 0;
    CHECK(empty_folders == 1);

    // Each file a folder, named as its client names it; the empty one kept.
    const fs::path md = t.path() / "md";
    REQUIRE(status_of(tool + " repair -q --to maildir -o " + q(md) + " " + q(in)) == 0);
    const fs::path top = md / "Local Folders";
    CHECK(count(top / "cur") == 1);
    CHECK(count(top / ".Inbox" / "cur") == 2);
    CHECK(count(top / ".Inbox.Lists" / "cur") == 1);
    CHECK(count(top / ".Saved" / "cur") == 2);
    CHECK(count(top / ".Trash" / "cur") == 0);

    // repair's mbox output, empty folders and report beside it, is an mbox
    // store too: verify reads every message of every file, and finds all
    // of the input's.
    const fs::path out = t.path() / "out";
    REQUIRE(status_of(tool + " repair -q --to mbox -o " + q(out) + " " + q(in)) == 0);
    const auto v = run(tool + " verify --json - " + q(out) + " --against " + q(in));
    CHECK(v.status == 0);
    const auto vj = nlohmann::json::parse(v.out);
    CHECK(vj["stores"][0]["format"] == "mbox");
    CHECK(vj["stores"][0]["messages"]["found"] == 6);
    CHECK(vj["differences"].empty());
}

// `verify OUT` is what a user runs on what repair wrote: it must read the
// store written, in its format, whatever the output format, also when the
// store holds no message (its report.json says what was written), and not
// the damaged bytes repair kept for a human in lost+found/ beside it.
TEST_CASE("verify of repair's output directory reads the store written, in every output format") {
    TempDir t("cli-verify-output");
    const fs::path two = t.path() / "two.mbox";
    const fs::path none = t.path() / "none.mbox";
    const fs::path stray = t.path() / "stray.mbox";
    write_file(two, clean_mbox);
    write_file(none, "");
    // Lines that fit no message: repair keeps them in lost+found (exit 4).
    const std::string leftover = "leftover bytes of a message gone\nFrom: its sender\n\nits last line\n\n";
    write_file(stray, leftover + clean_mbox);
    // The mbox output names its file after the input, ".eml" and all.
    const fs::path saved = t.path() / "saved.eml";
    write_file(saved, clean_mbox.substr(clean_mbox.find('\n') + 1, clean_mbox.find("From bob") - clean_mbox.find('\n') - 1));
    for (const std::string to : {"mbox", "maildir", "eml", "pst"}) {
        for (const auto& [in, messages, status] :
             {std::tuple{two, 2, 0}, std::tuple{none, 0, 0}, std::tuple{stray, 2, 4}, std::tuple{saved, 1, 0}}) {
            INFO(to << " from " << in.filename());
            const fs::path out = t.path() / (to + "-" + in.stem().string());
            const std::string format = in == none ? " --format mbox" : "";
            REQUIRE(status_of(tool + " repair -q" + format + " --to " + to + " -o " + q(out) + " " + q(in)) == status);
            if (in == stray) REQUIRE(read_file(out / "lost+found" / "000000000000.bin") == leftover);
            const auto r = run(tool + " verify --json - " + q(out));
            CHECK(r.status == 0);
            const auto s = nlohmann::json::parse(r.out)["stores"][0];
            CHECK(s["format"] == to);
            CHECK(s["messages"]["found"] == messages);
        }
    }
    // The report is input like any other: a store it names outside OUTDIR
    // is not read.
    const fs::path out = t.path() / "maildir-two";
    auto report = nlohmann::json::parse(read_file(out / "report.json"));
    report["stores"][0]["output"]["path"] = "elsewhere/..";
    write_file(out / "report.json", report.dump());
    const auto r = run(tool + " verify --json - " + q(out));
    CHECK(nlohmann::json::parse(r.out)["stores"][0]["path"] == out.string());
}

// SpamAssassin's corpus and many saved-mail folders hold one message a file,
// each beginning with its From_ line: those stay messages (not folders of
// one), while a file of several messages beside them is an mbox folder.
TEST_CASE("saved messages that begin with a From_ line stay messages beside an mbox of several") {
    TempDir t("cli-saved-from");
    const fs::path in = t.path() / "saved";
    const std::string one = clean_mbox.substr(0, clean_mbox.find("From bob"));
    fs::create_directories(in);
    write_file(in / "001", one);
    write_file(in / "002", clean_mbox.substr(clean_mbox.find("From bob")));
    write_file(in / "003.eml", one.substr(one.find('\n') + 1));
    write_file(in / "archive", clean_mbox);
    // A message's body may quote From_ lines and headers; named .eml, the
    // file is one message all the same.
    write_file(in / "004.eml", "From: Erin <erin@example.com>\nSubject: fwd\n\n" + clean_mbox);
    const auto r = run(tool + " scan --json - " + q(in));
    REQUIRE(r.status == 0);
    const auto s = nlohmann::json::parse(r.out)["stores"][0];
    CHECK(s["format"] == "eml");
    CHECK(s["messages"]["found"] == 6);
    CHECK(s["files"]["messages"] == 4);
    CHECK(s["files"]["mailboxes"] == 1);

    const fs::path out = t.path() / "out";
    REQUIRE(status_of(tool + " repair -q -o " + q(out) + " " + q(in)) == 0);
    CHECK(count(out / "messages") == 4);
    CHECK(count(out / "messages" / "archive") == 2);
}

// A multipart whose end a truncation took, inside a line, is closed by
// repair (MBOX-0008, fixed; the message partial, so exit 4): compared with
// the damaged original, the rebuilt store holds the same message as repair
// writes it (the cut line ended, the delimiter added), not a changed one.
TEST_CASE("verify --against the damaged original counts a message repair closed as the same message") {
    TempDir t("cli-verify-closed");
    const fs::path in = t.path() / "cut.mbox";
    write_file(in, clean_mbox +
                       "From carol@example.com Tue Jan  2 09:00:00 2024\n"
                       "From: Carol <carol@example.com>\n"
                       "Subject: cut short\n"
                       "Message-ID: <3@example.com>\n"
                       "MIME-Version: 1.0\n"
                       "Content-Type: multipart/mixed; boundary=\"b1\"\n"
                       "\n"
                       "--b1\n"
                       "Content-Type: text/plain\n"
                       "\n"
                       "The end of this message was l");  // cut inside a line
    const fs::path out = t.path() / "out";
    REQUIRE(status_of(tool + " repair -q -o " + q(out) + " " + q(in)) == 4);
    REQUIRE(read_file(out / "cut.mbox").find("The end of this message was l\n--b1--\n") != std::string::npos);
    const auto r = run(tool + " verify --json - " + q(out) + " --against " + q(in));
    CHECK(r.status == 0);
    const auto j = nlohmann::json::parse(r.out);
    CHECK(j["stores"][0]["messages"]["found"] == 3);
    CHECK(j["differences"].empty());
}

// An mbox file whose second separator was destroyed holds one clean
// separator: still an mbox of two messages (as a check of it as an mbox
// finds), not a saved message with another inside its body, which its mbox
// output would read back as two.
TEST_CASE("a file of a directory whose later separator is destroyed is still an mbox folder") {
    TempDir t("cli-destroyed-separator");
    const fs::path in = t.path() / "mail";
    fs::create_directories(in);
    std::string two = clean_mbox;
    two.replace(two.find("From bob"), 5, "\xf3\x1e\xe4$\x0e");
    write_file(in / "Archive", two);
    write_file(in / "note.eml", "From: Dave <dave@example.com>\nSubject: saved\nMessage-ID: <4@example.com>\n\nSaved.\n");
    const auto r = run(tool + " scan --json - " + q(in));
    const auto s = nlohmann::json::parse(r.out)["stores"][0];
    CHECK(s["messages"]["found"] == 3);
    CHECK(s["files"]["mailboxes"] == 1);
    CHECK(s["files"]["messages"] == 1);
    const fs::path out = t.path() / "out";
    REQUIRE(status_of(tool + " repair -q --to mbox -o " + q(out) + " " + q(in)) < 8);
    const auto v = run(tool + " verify --json - " + q(out) + " --against " + q(in));
    CHECK(v.status == 0);
    const auto vj = nlohmann::json::parse(v.out);
    CHECK(vj["stores"][0]["messages"]["found"] == 3);
    CHECK(vj["differences"].empty());
}
