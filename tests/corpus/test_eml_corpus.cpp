// Loose message files from ../shared/corpus/mail: stalwartlabs' 107 .eml
// test messages, whose PROVENANCE.md counts (made by its collector with a
// separate script) say 9 have no final newline, 4 mix CRLF and LF and 1
// holds a NUL byte; each is a store as a directory and as a single file.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/unit/support.h"

namespace fs = std::filesystem;
using mailfsck::test::q;
using mailfsck::test::run;
using mailfsck::test::shared_path;
using mailfsck::test::TempDir;
using nlohmann::json;

namespace {

const std::string tool = MAILFSCK_BINARY_DIR "/cli/mailfsck";

std::size_t count_code(const json& store, const std::string& code) {
    std::size_t n = 0;
    for (const auto& p : store["problems"]) n += p["code"] == code ? 1 : 0;
    return n;
}

}  // namespace

TEST_CASE("a directory of .eml files is a store: every message checked, every other file listed") {
    const auto dir = shared_path("mail/stalwartlabs_mail-parser/resources/eml");
    if (!dir) return;
    std::size_t eml = 0, other = 0;
    for (const auto& e : fs::recursive_directory_iterator(*dir))
        if (e.is_regular_file()) ++(e.path().extension() == ".eml" ? eml : other);
    REQUIRE(eml == 107);

    const auto r = run(tool + " scan -q --json - " + q(*dir) + " 2>/dev/null");
    const json st = json::parse(r.out)["stores"][0];
    CHECK(st["format"] == "eml");
    CHECK(st["files"]["seen"] == eml + other);
    CHECK(st["files"]["messages"] == eml);
    CHECK(st["files"]["other"] == other);
    CHECK(count_code(st, "STORE-0004") == other);
    CHECK(st["messages"]["found"] == eml);
    CHECK(count_code(st, "MSG-0011") == 9);
    CHECK(count_code(st, "MSG-0010") == 4);
    CHECK(count_code(st, "MSG-0005") == 1);
    CHECK(st["bytes"]["unaccounted"] == 0);
    // Every message is kept: a sender's broken MIME is no damage to the store.
    CHECK(st["messages"]["lost"] == 0);

    TempDir out("eml-repair");
    const auto rep = run(tool + " repair -q " + q(*dir) + " -o " + q(out.path() / "r") + " >/dev/null 2>&1");
    CHECK(rep.status < 8);
    const auto again = run(tool + " scan -q --json - " + q(out.path() / "r" / "messages") + " 2>/dev/null");
    CHECK(again.status == 0);
    const json st2 = json::parse(again.out)["stores"][0];
    CHECK(st2["messages"]["found"] == eml);
    for (const auto& p : st2["problems"]) CHECK(p["severity"] == "info");
}

TEST_CASE("a single .eml file is a store of one message") {
    const auto file = shared_path("mail/stalwartlabs_mail-parser/resources/eml/malformed/019.eml");
    if (!file) return;
    const auto r = run(tool + " scan -q --json - " + q(*file) + " 2>/dev/null");
    const json st = json::parse(r.out)["stores"][0];
    CHECK(st["format"] == "eml");
    CHECK(st["messages"]["found"] == 1);
    // Its first line, "Fro :uMmlti Sender <...>", is no header field (by
    // od -c); the fields after it keep the message.
    CHECK(count_code(st, "MSG-0006") == 1);
    CHECK(st["messages"]["partial"] == 1);
    CHECK(r.status == 4);
}
