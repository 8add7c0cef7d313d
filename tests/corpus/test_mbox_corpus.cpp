// Framing of the real mbox files in ../shared/corpus/mail checked against
// independent sources: MimeKit's published per-message offsets, Python's
// mailbox module, and hand counts from PROVENANCE.md.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "parsers/bytes/sha256.h"
#include "parsers/bytes/source.h"
#include "parsers/mbox/framer.h"
#include "repair/store/store.h"
#include "tests/unit/support.h"

using namespace mailfsck;

namespace {

std::vector<mbox::Segment> frame(const Source& src) {
    std::vector<mbox::Segment> out;
    mbox::Framer f(src.bytes());
    while (auto s = f.next()) out.push_back(std::move(*s));
    return out;
}

std::vector<mbox::Segment> messages_of(const std::vector<mbox::Segment>& segs) {
    std::vector<mbox::Segment> out;
    for (const auto& s : segs)
        if (s.kind == mbox::SegmentKind::message) out.push_back(s);
    return out;
}

std::string sha_of(const ByteView& v) {
    Sha256 h;
    h.update(v.text());
    return h.hex();
}

nlohmann::json python_split(const std::filesystem::path& p) {
    const auto r = test::run("python3 " MAILFSCK_SOURCE_DIR "/tests/oracle/mbox_messages.py '" + p.string() + "'");
    REQUIRE(r.status == 0);
    return nlohmann::json::parse(r.out);
}

}  // namespace

TEST_CASE("MimeKit's content-length and Gmail-style mboxes frame at MimeKit's offsets") {
    // MimeKit ships the offsets its parser finds; its mbox files exist to
    // test Content-Length-aware splitting over unescaped "From " lines.
    for (const std::string name : {"content-length", "issue1189"}) {
        const auto dir = test::shared_path("mail/jstedfast_MimeKit/UnitTests/TestData/mbox");
        if (!dir) return;
        INFO(name);
        const auto src = Source::open((*dir / (name + ".mbox.txt")).string());
        std::ifstream offsets(*dir / (name + ".unix-offsets.json"));
        const nlohmann::json expected = nlohmann::json::parse(offsets);
        const auto msgs = messages_of(frame(*src));
        REQUIRE(msgs.size() == expected.size());
        for (std::size_t i = 0; i < msgs.size(); ++i) {
            INFO("message " << i);
            CHECK(msgs[i].separator.offset == expected[i]["mboxMarkerOffset"].get<std::uint64_t>());
            CHECK(msgs[i].header_begin == expected[i]["beginOffset"].get<std::uint64_t>());
            // MimeKit's endOffset is the newline before the next From_ line
            // (or EOF); ours is the next message's first byte.
            const std::uint64_t end = expected[i]["endOffset"].get<std::uint64_t>();
            CHECK((msgs[i].end == end + 1 || msgs[i].end == end));
        }
    }
}

TEST_CASE("Real mbox files split exactly as Python's mailbox splits them") {
    // None of these files has a "From " body line that is not a separator,
    // the one case where Python's mboxo reader (which splits at every such
    // line) and a careful reader must differ.
    const std::vector<std::string> files = {
        "markov2_perl5-Mail-Box/t/folders/mbox.src",
        "markov2_perl5-Mail-Box/t/folders/mbox.win",
        "shaeferd_Phishing-Detection/phishing0.mbox",
        "shaeferd_Phishing-Detection/20051114.mbox",
        "apache_spamassassin/t/data/nice.mbox",
        "apache_james-mime4j/mbox/src/test/resources/test-1/mbox.rlug",
        "jayway98_G/All mail Including Spam and Trash.mbox",
        "mozilla_releases-comm-central/mailnews/test/data/mbox_mboxrd",
        "mozilla_releases-comm-central/mailnews/test/data/mbox_modern",
        "chaoss_grimoirelab-perceval/tests/data/mbox/mbox_complex.mbox",
        "chaoss_grimoirelab-perceval/tests/data/mbox/mbox_no_fields.mbox",
        "chaoss_grimoirelab-perceval/tests/data/mbox/mbox_iso8859_encoding.mbox",
        "chaoss_grimoirelab-perceval/tests/data/pipermail/pipermail_2015_november.mbox",
        "chaoss_grimoirelab-perceval/tests/data/hyperkitty/hyperkitty_2016_april.mbox",
        "pmahnke_peter-home-dir/Mail/root",
    };
    for (const auto& rel : files) {
        const auto p = test::shared_path("mail/" + rel);
        if (!p) return;
        INFO(rel);
        const auto src = Source::open(p->string());
        const auto segs = frame(*src);
        const auto msgs = messages_of(segs);
        CHECK(msgs.size() == segs.size());  // no junk, no fragments in a healthy file
        const nlohmann::json py = python_split(*p);
        REQUIRE(msgs.size() == py["count"].get<std::size_t>());
        for (std::size_t i = 0; i < msgs.size(); ++i) {
            INFO("message " << i + 1);
            // Python's mailbox keeps a message's bytes up to the next From_
            // line, less the last line when that line is exactly "\n" (its
            // os.linesep; a CRLF blank line is kept): compare our message
            // boundaries on its terms.
            const ByteView in = src->bytes();
            const std::uint64_t e = msgs[i].end;
            const bool lf_blank = e >= 2 && in.at_or(e - 1, 0) == '\n' && in.at_or(e - 2, 0) == '\n';
            const std::uint64_t end = e - (lf_blank ? 1 : 0);
            CHECK(sha_of(in.sub(msgs[i].header_begin, end - msgs[i].header_begin)) == py["sha256"][i].get<std::string>());
        }
    }
}

TEST_CASE("Unescaped From lines in real files are kept inside their message") {
    // Hand counts: mbox_unquoted holds 2 messages, the first with a body
    // line "From ..." that Thunderbird failed to escape (PROVENANCE.md);
    // MimeKit's simple.mbox.txt is 1 message with 2 such lines.
    struct Case {
        std::string rel;
        std::size_t messages;
    };
    for (const Case& c : {Case{"mozilla_releases-comm-central/mailnews/test/data/mbox_unquoted", 2},
                          Case{"jstedfast_MimeKit/UnitTests/TestData/mbox/simple.mbox.txt", 1}}) {
        const auto p = test::shared_path("mail/" + c.rel);
        if (!p) return;
        INFO(c.rel);
        const auto src = Source::open(p->string());
        CHECK(messages_of(frame(*src)).size() == c.messages);
    }
}

TEST_CASE("The mbox variant is decided from the evidence in real files") {
    // Expected variants from PROVENANCE.md's inspection of the bytes:
    // perceval's mbox_complex has ">>From" quoting, "mboxrd double quoting"
    // in PROVENANCE.md's words (mboxo leaves such lines alone, so a
    // reply-quoted "From" could look the same: the evidence is the best
    // there is, and the report lists it);
    // mbox_modern is Thunderbird's unquoted mboxo; neomutt's fig.mbox is an
    // MMDF marker; the phishing mbox carries Content-Length on most
    // messages, all correct, and one ">From " line (mboxcl quoting). Mozilla's
    // "mbox_mboxrd" is not here: its one ">From " line is what mboxo writes
    // too, so its bytes cannot tell the two apart.
    struct Case {
        std::string rel;
        std::string variant;
    };
    for (const Case& c : {Case{"chaoss_grimoirelab-perceval/tests/data/mbox/mbox_complex.mbox", "mboxrd"},
                          Case{"mozilla_releases-comm-central/mailnews/test/data/mbox_modern", "mboxo"},
                          Case{"neomutt_neomutt-test-files/mbox/fig.mbox", "mmdf"},
                          Case{"shaeferd_Phishing-Detection/20051114.mbox", "mboxcl"}}) {
        const auto p = test::shared_path("mail/" + c.rel);
        if (!p) return;
        INFO(c.rel);
        OpenStore store = open_store(p->string(), StoreFormat::mbox);
        StoreLog log;
        check_store(store, log, nullptr, {});
        CHECK(log.variant == c.variant);
    }
}
