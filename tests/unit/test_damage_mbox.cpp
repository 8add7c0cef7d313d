// Seeded damage against mboxes built from real messages: scan must find
// each injected damage, repair must keep every message the damage did not
// touch byte for byte and account for every byte, and a scan of the
// repaired store must be clean (the "second run is clean" check of e2fsck's
// test suite).
//
// Which damage is detectable is decided here from the clean store's layout,
// independently of mailfsck's parsers. Limits of what an mbox can reveal:
//  - a bit flip in free text (body, field values, the separator's date) gives
//    other valid text: mbox has no checksums. Only flips in a separator's
//    "From " or flips that make a header field name illegal are required to
//    be found; a flip to another legal name character, to ':' (a shorter
//    legal name) or to whitespace/newline at a line start (folding or an
//    earlier end of the header block) yields a valid message;
//  - a truncation at a line boundary inside a body is invisible unless it
//    leaves a header block or a multipart open; one at a message boundary
//    leaves a valid, shorter store;
//  - random bytes read as garbage only when some line of them holds the
//    framer's minimum of distinct control bytes; 8-bit bytes alone are
//    plausible Latin-1 text;
//  - a zeroed block shorter than the framer's hole minimum (a short last
//    block at EOF) can be stray NULs;
//  - an inserted "From " line after an empty line and before header fields
//    is exactly a separator: a genuine message boundary looks the same.
//
// MAILFSCK_DAMAGE_SCALE=N runs N times the seeds (a soak); with
// MAILFSCK_DAMAGE_KEEP=DIR every damaged store and repair is kept there.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>

#include "parsers/mbox/framer.h"
#include "repair/store/sink.h"
#include "repair/store/store.h"
#include "tests/damage/damage.h"
#include "tests/unit/support.h"

using namespace mailfsck;
namespace dmg = mailfsck::damage;
namespace fs = std::filesystem;
using mailfsck::test::TempDir;

namespace {

// ---- the clean messages -------------------------------------------------

constexpr std::uint64_t max_message_size = 24 * 1024;

const char* const corpus_dirs[] = {
    "mail/stalwartlabs_mail-parser/resources/eml/rfc",
    "mail/stalwartlabs_mail-parser/resources/eml/legacy",
    "mail/apache_james-mime4j/core/src/test/resources/mimetools-testmsgs",
    "mail/notmuch_notmuch/test/corpora/lkml/cur",
};

bool is_message_file(const fs::path& p) {
    const std::string ext = p.extension().string();
    return fs::is_regular_file(p) && ext != ".json" && ext != ".xml";
}

std::vector<std::string> read_messages(const fs::path& dir) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
        if (is_message_file(e.path()) && e.file_size() <= max_message_size) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    std::vector<std::string> out;
    for (const fs::path& f : files) out.push_back(test::read_file(f));
    return out;
}

StoreLog scan(const fs::path& path) {
    StoreLog log;
    check_store(open_store(path.string(), std::nullopt), log, nullptr, {});
    return log;
}

bool serious(const Finding& f) { return problem(f.id).severity >= Severity::warning; }

std::string findings_text(const StoreLog& log) {
    std::ostringstream s;
    for (const Finding& f : log.findings)
        s << problem(f.id).code << " [" << f.offset << ", +" << f.length << ") " << f.detail << "\n";
    return s.str();
}

// mboxrd and mboxo quote differently; only the quoting may change in a
// repair, so both sides drop every '>' that precedes "From ".
std::string unquote_from(std::string_view text) {
    std::string out;
    std::size_t p = 0;
    while (p < text.size()) {
        const std::size_t nl = text.find('\n', p);
        const std::size_t e = nl == std::string_view::npos ? text.size() : nl + 1;
        std::string_view line = text.substr(p, e - p);
        const std::size_t i = line.find_first_not_of('>');
        if (i != 0 && i != std::string_view::npos && line.substr(i, 5) == "From ") line.remove_prefix(i);
        out.append(line);
        p = e;
    }
    return out;
}

struct Repaired {
    StoreLog log;
    std::vector<std::string> messages;  // --to eml, in order, From-quoting normalised
};

// Repairs through the real writer into a staging directory that is thrown
// away: the files are read before the OutputDir goes.
Repaired repair_to_eml(const fs::path& input, const fs::path& out) {
    Repaired r;
    OutputDir dir(out);
    auto sink = make_sink(OutputFormat::eml, dir, "store");
    check_store(open_store(input.string(), std::nullopt), r.log, sink.get(), {});
    sink->finish();
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir.staging() / "messages")) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) r.messages.push_back(unquote_from(test::read_file(f)));
    return r;
}

// Repairs to mbox and scans the result.
StoreLog rescan_after_mbox_repair(const fs::path& input, const fs::path& out) {
    {
        StoreLog log;
        OutputDir dir(out);
        auto sink = make_sink(OutputFormat::mbox, dir, "store.mbox");
        check_store(open_store(input.string(), std::nullopt), log, sink.get(), {});
        sink->finish();
        dir.commit();
    }
    return scan(out / "store.mbox");
}

std::string content_of(const dmg::BuiltMbox& b, const dmg::MessageRange& m) {
    return unquote_from(std::string_view(b.bytes).substr(m.content_begin, m.content_end - m.content_begin));
}

// A message can join the damage campaigns when, alone in a built mbox, it
// scans without a warning and repairs to itself: then every later finding
// and every difference is the damage's doing.
bool stands_alone(const std::string& message, const TempDir& tmp) {
    const dmg::BuiltMbox b = dmg::build_mbox({message});
    const fs::path in = tmp.path() / "alone.mbox";
    test::write_file(in, b.bytes);
    Repaired r;
    try {
        r = repair_to_eml(in, tmp.path() / "alone-out");
    } catch (const NotAStore&) {
        return false;  // no header field on its first line
    }
    const bool clean = std::none_of(r.log.findings.begin(), r.log.findings.end(), serious);
    return clean && r.messages.size() == 1 && r.messages[0] == content_of(b, b.messages[0]);
}

struct Pool {
    std::vector<std::string> messages;
    std::size_t read = 0;
};

// Loaded once per test process; duplicates (same bytes in two corpora) are
// dropped because the checker rightly reports an exact copy.
const Pool& pool() {
    static const Pool p = [] {
        Pool out;
        TempDir tmp("damage-pool");
        std::set<std::string> seen;
        for (const char* dir : corpus_dirs) {
            const auto path = test::shared_path(dir);
            if (!path) continue;
            for (std::string& m : read_messages(*path)) {
                ++out.read;
                if (seen.insert(m).second && stands_alone(m, tmp)) out.messages.push_back(std::move(m));
            }
        }
        return out;
    }();
    return p;
}

// ---- layout of the clean store, for the detectability rules -------------

struct Span {
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
    [[nodiscard]] bool contains(std::uint64_t p) const { return p >= begin && p < end; }
};

std::uint64_t line_end(std::string_view s, std::uint64_t p) {
    const std::size_t nl = s.find('\n', p);
    return nl == std::string_view::npos ? s.size() : nl + 1;
}

bool is_blank(std::string_view line) { return line == "\n" || line == "\r\n"; }

std::uint64_t header_end(std::string_view s, const dmg::MessageRange& m) {
    for (std::uint64_t p = m.content_begin; p < m.content_end; p = line_end(s, p))
        if (is_blank(s.substr(p, line_end(s, p) - p))) return line_end(s, p);
    return m.content_end;
}

// "name:" where the name is printable ASCII without space or ':'.
bool looks_like_field(std::string_view line) {
    const std::size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) return false;
    return std::all_of(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(colon),
                       [](char c) { return c > 32 && c < 127; });
}

std::vector<Span> field_names(std::string_view s, const dmg::MessageRange& m) {
    std::vector<Span> names;
    const std::uint64_t end = header_end(s, m);
    for (std::uint64_t p = m.content_begin; p < end; p = line_end(s, p)) {
        const std::string_view line = s.substr(p, line_end(s, p) - p);
        if (looks_like_field(line)) names.push_back({p, p + line.find(':')});
    }
    return names;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

// The top-level multipart's body, from its first delimiter line to the
// start of its close-delimiter line: a cut in between leaves it open.
std::optional<Span> multipart_body(std::string_view s, const dmg::MessageRange& m) {
    const std::uint64_t hend = header_end(s, m);
    const std::string headers = lower(s.substr(m.content_begin, hend - m.content_begin));
    const std::size_t type = headers.find("multipart/");
    const std::size_t at = headers.find("boundary=", type == std::string::npos ? headers.size() : type);
    if (at == std::string::npos) return std::nullopt;
    const std::string_view raw = s.substr(m.content_begin + at + 9, hend - m.content_begin - at - 9);
    const bool quoted = raw.starts_with('"');
    const std::size_t stop = quoted ? raw.find('"', 1) : raw.find_first_of("; \t\r\n");
    if (stop == std::string_view::npos) return std::nullopt;
    const std::string delimiter = "--" + std::string(raw.substr(quoted ? 1 : 0, stop - (quoted ? 1 : 0)));
    std::optional<std::uint64_t> open;
    for (std::uint64_t p = hend; p < m.content_end; p = line_end(s, p)) {
        const std::string_view line = s.substr(p, line_end(s, p) - p);
        if (!line.starts_with(delimiter)) continue;
        if (line.substr(delimiter.size()).starts_with("--")) return open ? std::optional<Span>({*open, p}) : std::nullopt;
        if (!open) open = p;
    }
    return std::nullopt;
}

const dmg::MessageRange* message_at(const dmg::BuiltMbox& b, std::uint64_t p) {
    for (const dmg::MessageRange& m : b.messages)
        if (p >= m.begin && p < m.end) return &m;
    return nullptr;
}

bool flip_detectable(const dmg::BuiltMbox& b, const dmg::Injection& in) {
    const std::string_view s = b.bytes;
    const dmg::MessageRange* m = message_at(b, in.original_offset);
    if (m == nullptr) return false;
    if (in.original_offset < m->begin + 5) return true;
    const auto flipped = static_cast<unsigned char>(*in.original_byte ^ (1u << *in.bit));
    for (const Span& name : field_names(s, *m)) {
        if (!name.contains(in.original_offset)) continue;
        const bool legal_name_byte = flipped > 32 && flipped < 127;  // ':' included: a shorter legal name
        const bool structure_at_line_start =
            in.original_offset == name.begin && (flipped == ' ' || flipped == '\t' || flipped == '\n' || flipped == '\r');
        return !legal_name_byte && !structure_at_line_start;
    }
    return false;
}

bool truncation_detectable(const dmg::BuiltMbox& b, const dmg::Injection& in) {
    const std::string_view s = b.bytes;
    const std::uint64_t cut = in.original_offset;
    if (s[cut - 1] != '\n') return true;  // an unterminated last line
    const dmg::MessageRange* m = message_at(b, cut);
    if (m == nullptr) return false;
    if (cut >= m->content_begin && cut < header_end(s, *m)) return true;
    const std::optional<Span> body = multipart_body(s, *m);
    return body && cut > body->begin && cut <= body->end;
}

bool is_garbage_control(unsigned char c) {
    return (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != 0x0c && c != 0x1b) || c == 0x7f;
}

bool run_detectable(std::string_view damaged, const dmg::Injection& in) {
    const std::uint32_t distinct_min = mbox::FramerOptions{}.garbage_distinct_min;
    std::set<unsigned char> distinct;
    for (std::uint64_t i = in.offset; i < in.end(); ++i) {
        const auto c = static_cast<unsigned char>(damaged[i]);
        if (c == '\n') distinct.clear();
        if (is_garbage_control(c)) distinct.insert(c);
        if (distinct.size() >= distinct_min) return true;
    }
    return false;
}

// A "From " line after an empty line and before a header field is a
// separator by every rule a reader has.
bool inserted_from_detectable(std::string_view damaged, const dmg::Injection& in) {
    const std::string_view before = damaged.substr(0, in.offset);
    const bool after_blank = before.ends_with("\n\n") || before.ends_with("\n\r\n");
    const std::string_view next = damaged.substr(in.end(), line_end(damaged, in.end()) - in.end());
    return !(after_blank && looks_like_field(next));
}

bool detectable(dmg::Op op, const dmg::BuiltMbox& b, std::string_view damaged, const dmg::Injection& in) {
    switch (op) {
        case dmg::Op::zero_page:
        case dmg::Op::zero_sector: return in.length >= mbox::FramerOptions{}.hole_min;
        case dmg::Op::bitflip: return flip_detectable(b, in);
        case dmg::Op::truncate: return truncation_detectable(b, in);
        case dmg::Op::random_run: return run_detectable(damaged, in);
        case dmg::Op::destroy_separator: return true;
        case dmg::Op::unescaped_from: return inserted_from_detectable(damaged, in);
        case dmg::Op::zero_tail: return in.length >= mbox::FramerOptions{}.hole_min;
        case dmg::Op::misplaced_sector:
        case dmg::Op::repeated_run:
        case dmg::Op::dropped_run:
        case dmg::Op::odd_run: return false;  // mail text in another place can read as mail
        case dmg::Op::pst_zero_bbt_root:
        case dmg::Op::pst_zero_nbt_root:
        case dmg::Op::pst_zero_bbt_leaf:
        case dmg::Op::pst_zero_nbt_leaf:
        case dmg::Op::pst_zero_header:
        case dmg::Op::pst_header_crc:
        case dmg::Op::pst_amap_bit:
        case dmg::Op::pst_zero_amap: break;  // ops_for(mbox) never yields these
    }
    return true;
}

bool finding_touches(const Finding& f, const dmg::Injection& in) {
    return f.offset <= in.end() && in.offset <= f.offset + f.length;
}

bool detected(const StoreLog& log, const dmg::Injection& in) {
    return std::any_of(log.findings.begin(), log.findings.end(),
                       [&](const Finding& f) { return serious(f) && finding_touches(f, in); });
}

bool touched(const dmg::MessageRange& m, const dmg::Injection& in) {
    if (in.original_length == 0) return in.original_offset >= m.begin && in.original_offset < m.end;
    return in.original_offset < m.end && m.begin < in.original_end();
}

// ---- one campaign case --------------------------------------------------

struct Case {
    dmg::Op op;
    std::uint64_t seed;
    unsigned count = 1;
    dmg::Window window;
};

std::vector<std::string> pick_messages(std::uint64_t seed, std::size_t n) {
    const std::vector<std::string>& all = pool().messages;
    std::mt19937_64 rng(seed);
    std::set<std::size_t> picked;
    while (picked.size() < std::min(n, all.size())) picked.insert(rng() % all.size());
    std::vector<std::size_t> order(picked.begin(), picked.end());
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<std::string> out;
    for (const std::size_t i : order) out.push_back(all[i]);
    return out;
}

struct Stats {
    std::size_t cases = 0;
    std::size_t injections = 0;
    std::size_t required = 0;       // injections that had to be detected
    std::size_t untouched = 0;      // messages that had to survive
};

std::string injection_text(const dmg::Injection& in) {
    std::ostringstream s;
    s << dmg::op_name(in.op) << " at " << in.offset << " +" << in.length << " (original " << in.original_offset << " +"
      << in.original_length << ")";
    if (in.bit) s << " bit " << *in.bit << " of 0x" << std::hex << *in.original_byte;
    return s.str();
}

// e2fsck's rule: the second run over the repaired store finds nothing of
// warning severity or worse.
bool second_run_clean(const StoreLog& again) {
    return std::none_of(again.findings.begin(), again.findings.end(), [](const Finding& f) { return serious(f); });
}

std::string injections_text(const dmg::Damaged& d) {
    std::string s;
    for (const dmg::Injection& inj : d.injections) s += injection_text(inj) + "\n";
    return s;
}

void check_case(const dmg::BuiltMbox& built, const Case& c, const fs::path& work, Stats& stats) {
    const dmg::Damaged d = dmg::inject(built.bytes, {c.op, c.seed, c.count, c.window});
    REQUIRE_FALSE(d.injections.empty());
    const std::string tag = std::to_string(stats.cases++);
    const fs::path in = work / ("case-" + tag + ".mbox");
    test::write_file(in, d.bytes);
    INFO("op " << dmg::op_name(c.op) << " seed " << c.seed << " store " << in << "\n" << injections_text(d));

    const StoreLog scanned = scan(in);
    INFO("findings:\n" << findings_text(scanned));
    for (const dmg::Injection& inj : d.injections) {
        ++stats.injections;
        if (!detectable(c.op, built, d.bytes, inj)) continue;
        ++stats.required;
        INFO("undetected: " << injection_text(inj));
        CHECK(detected(scanned, inj));
    }

    const Repaired r = repair_to_eml(in, work / ("eml-" + tag));
    CHECK(r.log.bytes.unaccounted == 0);
    CHECK(r.log.bytes.total == d.bytes.size());
    const std::set<std::string> written(r.messages.begin(), r.messages.end());
    for (std::size_t i = 0; i < built.messages.size(); ++i) {
        const dmg::MessageRange& m = built.messages[i];
        // Mail text put where a separator line was leaves a "From " line
        // followed by no header block, which reads as a body line (MBOX-0004):
        // the damaged message then ends the one before it.
        const bool moved_text =
            c.op == dmg::Op::misplaced_sector || c.op == dmg::Op::repeated_run || c.op == dmg::Op::dropped_run ||
            c.op == dmg::Op::odd_run;
        const auto separator_of_next = [&](const dmg::Injection& inj) {
            if (!moved_text || i + 1 >= built.messages.size()) return false;
            const dmg::MessageRange& next = built.messages[i + 1];
            return touched({next.begin, next.content_begin, next.content_begin, next.content_begin}, inj);
        };
        if (std::any_of(d.injections.begin(), d.injections.end(),
                        [&](const auto& inj) { return touched(m, inj) || separator_of_next(inj); }))
            continue;
        ++stats.untouched;
        INFO("untouched message " << i + 1 << " [" << m.begin << ", " << m.end << ") lost or changed");
        CHECK(written.count(content_of(built, m)) == 1);
    }

    const StoreLog again = rescan_after_mbox_repair(in, work / ("mbox-" + tag));
    INFO("rescan findings:\n" << findings_text(again));
    CHECK(second_run_clean(again));
}

void require_clean_baseline(const dmg::BuiltMbox& built, const fs::path& work) {
    const fs::path in = work / "baseline.mbox";
    test::write_file(in, built.bytes);
    const StoreLog log = scan(in);
    INFO("the undamaged store is not clean:\n" << findings_text(log));
    REQUIRE(std::none_of(log.findings.begin(), log.findings.end(), serious));
}

// MAILFSCK_DAMAGE_KEEP=DIR keeps every case's damaged store and repairs
// under DIR/<campaign>/ for a look with `mailfsck inspect`.
std::optional<fs::path> kept_cases_dir(std::string_view campaign) {
    const char* keep = std::getenv("MAILFSCK_DAMAGE_KEEP");
    if (keep == nullptr || *keep == '\0') return std::nullopt;
    const fs::path dir = fs::path(keep) / campaign;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

// MAILFSCK_DAMAGE_SCALE=N runs N times the seeds, for a soak run.
std::uint64_t seed_scale() {
    const char* scale = std::getenv("MAILFSCK_DAMAGE_SCALE");
    const long n = scale == nullptr ? 1 : std::strtol(scale, nullptr, 10);
    return n > 0 ? static_cast<std::uint64_t>(n) : 1;
}

using MakeCase = std::function<Case(std::uint64_t seed, const dmg::BuiltMbox&)>;

// Whether some of a campaign's damage must be detected: not when the
// damage is mail text put in another place, which can read as mail.
enum class Detection { promised, not_promised };

void campaign(std::string_view name, std::uint64_t seeds, const MakeCase& make,
              Detection detection = Detection::promised) {
    const std::size_t usable = pool().messages.size();
    if (usable < 12) {
        WARN("skipped: only " << usable << " usable corpus messages");
        return;
    }
    TempDir tmp("damage-" + std::string(name));
    const fs::path work = kept_cases_dir(name).value_or(tmp.path());
    Stats stats;
    for (std::uint64_t seed = 1; seed <= seeds * seed_scale(); ++seed) {
        const dmg::BuiltMbox built = dmg::build_mbox(pick_messages(seed * 7919 + name.size(), 5 + seed % 6));
        require_clean_baseline(built, work);
        check_case(built, make(seed, built), work, stats);
    }
    // The detectability rules must leave something to check.
    if (detection == Detection::promised) CHECK(stats.required > 0);
    CHECK(stats.untouched > 0);
}

Case random_case(dmg::Op op, std::uint64_t seed, unsigned max_count) {
    return {op, seed, static_cast<unsigned>(1 + seed % max_count), {}};
}

}  // namespace

// ---- the generator itself -------------------------------------------------

namespace {

// Written for these tests, so they run without the shared corpus.
std::vector<std::string> own_messages() {
    return {
        "From: Ada <ada@example.org>\nTo: Bob <bob@example.org>\nSubject: lunch\nDate: Tue, 2 Jan 2024 10:00:00 "
        "+0000\nMessage-ID: <1@example.org>\n\nNoon at the usual place?\n\nFrom the desk of Ada,\n>From a quote\nA.\n",
        "From: Bob <bob@example.org>\nTo: Ada <ada@example.org>\nSubject: Re: lunch\nDate: Tue, 2 Jan 2024 10:05:00 "
        "+0000\nMessage-ID: <2@example.org>\nIn-Reply-To: <1@example.org>\n\nYes.\n",
        "From: Carol <carol@example.org>\nTo: Ada <ada@example.org>\nSubject: slides\nDate: Wed, 3 Jan 2024 09:00:00 "
        "+0000\nMessage-ID: <3@example.org>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n"
        "--b1\nContent-Type: text/plain\n\nSlides attached.\n--b1\nContent-Type: application/octet-stream\n"
        "Content-Transfer-Encoding: base64\n\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n--b1--\n",
        "From: Dan <dan@example.org>\nTo: Ada <ada@example.org>\nSubject: no newline at end\nDate: Thu, 4 Jan 2024 "
        "08:00:00 +0000\nMessage-ID: <4@example.org>\n\nlast line",
    };
}

}  // namespace

TEST_CASE("build_mbox tiles the store, quotes From lines and reports each message's range") {
    const std::vector<std::string> messages = own_messages();
    const dmg::BuiltMbox b = dmg::build_mbox(messages);
    REQUIRE(b.messages.size() == messages.size());
    std::uint64_t next = 0;
    for (const dmg::MessageRange& m : b.messages) {
        CHECK(m.begin == next);
        CHECK(b.bytes.substr(m.begin, m.content_begin - m.begin) == dmg::built_separator);
        CHECK(b.bytes.substr(m.content_end, m.end - m.content_end) == "\n");
        next = m.end;
    }
    CHECK(next == b.bytes.size());
    CHECK(b.bytes.find("\n>From the desk") != std::string::npos);
    CHECK(b.bytes.find("\n>>From a quote") != std::string::npos);
    CHECK(content_of(b, b.messages[3]) == messages[3] + "\n");
    CHECK(content_of(b, b.messages[0]) == unquote_from(messages[0]));
}

// Enough copies of own_messages() to span several pages.
dmg::BuiltMbox own_store(int copies) {
    std::vector<std::string> messages;
    for (int k = 0; k < copies; ++k)
        for (const std::string& m : own_messages()) messages.push_back("X-Copy: " + std::to_string(k) + "\n" + m);
    return dmg::build_mbox(messages);
}

TEST_CASE("the same seed gives the same damage, and the input is left alone") {
    const dmg::BuiltMbox b = own_store(12);
    const std::string before = b.bytes;
    for (const dmg::Op op : dmg::ops_for(dmg::StoreKind::mbox)) {
        INFO(dmg::op_name(op));
        const dmg::Request r{op, 42, 2, {}};
        const dmg::Damaged x = dmg::inject(b.bytes, r);
        const dmg::Damaged y = dmg::inject(b.bytes, r);
        CHECK(x.bytes == y.bytes);
        CHECK(dmg::manifest(r, b.bytes, x) == dmg::manifest(r, b.bytes, y));
        CHECK(x.bytes != b.bytes);
        std::set<std::string> outcomes;
        for (std::uint64_t seed = 1; seed <= 5; ++seed) outcomes.insert(dmg::inject(b.bytes, {op, seed, 2, {}}).bytes);
        CHECK(outcomes.size() > 1);
    }
    CHECK(b.bytes == before);
}

TEST_CASE("each op damages exactly what its manifest says") {
    const dmg::BuiltMbox b = own_store(3);
    const std::string_view clean = b.bytes;
    for (std::uint64_t seed = 1; seed <= 50; ++seed) {
        for (const dmg::Op op : dmg::ops_for(dmg::StoreKind::mbox)) {
            INFO(dmg::op_name(op) << " seed " << seed);
            const dmg::Damaged d = dmg::inject(clean, {op, seed, 2, {}});
            REQUIRE_FALSE(d.injections.empty());
            const std::string_view out = d.bytes;
            for (const dmg::Injection& in : d.injections) {
                CHECK(in.original_sha256 == dmg::sha256_hex(clean.substr(in.original_offset, in.original_length)));
                switch (op) {
                    case dmg::Op::zero_page:
                    case dmg::Op::zero_sector: {
                        const std::uint64_t block = op == dmg::Op::zero_page ? dmg::page_size : dmg::sector_size;
                        CHECK(in.offset % block == 0);
                        CHECK(in.length == std::min(block, clean.size() - in.offset));
                        CHECK(out.substr(in.offset, in.length).find_first_not_of('\0') == std::string_view::npos);
                        break;
                    }
                    case dmg::Op::bitflip: {
                        const auto diff = static_cast<unsigned char>(out[in.offset] ^ clean[in.offset]);
                        CHECK(diff == (1u << *in.bit));
                        break;
                    }
                    case dmg::Op::truncate:
                        CHECK(out == clean.substr(0, in.offset));
                        CHECK(in.original_end() == clean.size());
                        break;
                    case dmg::Op::random_run:
                        CHECK(in.length >= dmg::random_run_min);
                        CHECK(in.length <= dmg::random_run_max);
                        break;
                    case dmg::Op::destroy_separator:
                        CHECK(clean.substr(in.offset, 5) == "From ");
                        CHECK(in.length == 5);
                        CHECK(out.substr(in.offset, 5) != "From ");
                        CHECK(out.substr(in.offset, 5).find_first_of("\r\n") == std::string_view::npos);
                        break;
                    case dmg::Op::unescaped_from: {
                        CHECK(out.substr(in.offset, in.length) == dmg::inserted_from_line);
                        CHECK(in.original_length == 0);
                        const dmg::MessageRange* m = message_at(b, in.original_offset);
                        REQUIRE(m != nullptr);
                        CHECK(in.original_offset >= header_end(clean, *m));
                        CHECK(clean[in.original_offset - 1] == '\n');
                        break;
                    }
                    case dmg::Op::zero_tail:
                        CHECK(in.offset % dmg::sector_size == 0);
                        CHECK(in.offset >= dmg::sector_size);
                        CHECK(in.end() == clean.size());
                        CHECK(out.size() == clean.size());
                        CHECK(out.substr(in.offset).find_first_not_of('\0') == std::string_view::npos);
                        break;
                    case dmg::Op::misplaced_sector: {
                        CHECK(in.offset % dmg::sector_size == 0);
                        CHECK(in.length == dmg::sector_size);
                        const std::string_view copy = out.substr(in.offset, in.length);
                        bool copied = false;
                        for (std::uint64_t s = 0; s + dmg::sector_size <= clean.size(); s += dmg::sector_size)
                            copied = copied || (s != in.offset && clean.substr(s, dmg::sector_size) == copy);
                        CHECK(copied);
                        break;
                    }
                    case dmg::Op::repeated_run:
                        CHECK(in.original_length == 0);
                        CHECK(in.offset % dmg::sector_size == 0);
                        CHECK(in.length % dmg::sector_size == 0);
                        CHECK(in.length >= dmg::sector_size);
                        CHECK(in.length <= 16 * dmg::sector_size);
                        CHECK(out.substr(in.offset, in.length) == clean.substr(in.offset - in.length, in.length));
                        break;
                    case dmg::Op::dropped_run:
                        CHECK(in.length == 0);
                        CHECK(in.offset >= dmg::sector_size);
                        CHECK(in.original_length % dmg::sector_size == 0);
                        CHECK(in.original_length >= dmg::sector_size);
                        CHECK(in.original_length <= 16 * dmg::sector_size);
                        CHECK(in.original_end() < clean.size());
                        CHECK(std::string(out.substr(0, in.offset)) + std::string(clean.substr(in.original_offset, in.original_length)) +
                                  std::string(out.substr(in.offset)) ==
                              clean);
                        break;
                    case dmg::Op::odd_run: {
                        const std::uint64_t length = in.length + in.original_length;
                        CHECK((in.length == 0) != (in.original_length == 0));
                        CHECK(length % 64 != 0);
                        CHECK(length < 8192);
                        CHECK(in.offset >= dmg::sector_size);
                        std::string undone(out);
                        if (in.length > 0) {
                            CHECK(out.substr(in.offset, in.length) == clean.substr(in.offset - in.length, in.length));
                            undone.erase(in.offset, in.length);
                        } else {
                            undone.insert(in.offset, clean.substr(in.original_offset, in.original_length));
                        }
                        CHECK(undone == clean);
                        break;
                    }
                    case dmg::Op::pst_zero_bbt_root:
                    case dmg::Op::pst_zero_nbt_root:
                    case dmg::Op::pst_zero_bbt_leaf:
                    case dmg::Op::pst_zero_nbt_leaf:
                    case dmg::Op::pst_zero_header:
                    case dmg::Op::pst_header_crc:
                    case dmg::Op::pst_amap_bit:
                    case dmg::Op::pst_zero_amap: FAIL("a PST op among the mbox ops"); break;
                }
            }
            const bool inserts = op == dmg::Op::unescaped_from || op == dmg::Op::repeated_run;
            if (op != dmg::Op::truncate && op != dmg::Op::dropped_run && op != dmg::Op::odd_run && !inserts) {
                // Overwrites change nothing outside their ranges.
                std::string restored(out);
                for (const dmg::Injection& in : d.injections)
                    restored.replace(in.offset, in.length, clean.substr(in.offset, in.length));
                CHECK(restored == clean);
            }
            if (inserts) {
                std::string removed(out);
                for (auto it = d.injections.rbegin(); it != d.injections.rend(); ++it) removed.erase(it->offset, it->length);
                CHECK(removed == clean);
            }
        }
    }
}

TEST_CASE("a window confines where damage starts") {
    const dmg::BuiltMbox b = own_store(12);
    const dmg::MessageRange& third = b.messages[2];
    for (std::uint64_t seed = 1; seed <= 30; ++seed) {
        const dmg::Damaged d = dmg::inject(b.bytes, {dmg::Op::truncate, seed, 1, {third.content_begin, third.content_end}});
        REQUIRE(d.injections.size() == 1);
        CHECK(d.injections[0].offset >= third.content_begin);
        CHECK(d.injections[0].offset < third.content_end);
    }
    for (const dmg::Op op : {dmg::Op::zero_page, dmg::Op::zero_sector}) {
        const dmg::Damaged d = dmg::inject(b.bytes, {op, 3, 1, {1, b.bytes.size()}});
        REQUIRE(d.injections.size() == 1);
        CHECK(d.injections[0].offset >= 1);
    }
    // A window holding one separator gives at most one.
    CHECK(dmg::inject(b.bytes, {dmg::Op::destroy_separator, 1, 3, {third.begin, third.begin + 1}}).injections.size() == 1);
}

// ---- campaigns over the shared corpus --------------------------------------

TEST_CASE("damage campaign: zeroed pages") {
    campaign("zero-page", 40, [](std::uint64_t seed, const dmg::BuiltMbox&) {
        return random_case(dmg::Op::zero_page, seed, 1);
    });
}

TEST_CASE("damage campaign: zeroed sectors") {
    campaign("zero-sector", 60, [](std::uint64_t seed, const dmg::BuiltMbox&) {
        return random_case(dmg::Op::zero_sector, seed, 2);
    });
}

TEST_CASE("damage campaign: bit flips anywhere") {
    campaign("bitflip", 120, [](std::uint64_t seed, const dmg::BuiltMbox&) {
        return random_case(dmg::Op::bitflip, seed, 3);
    });
}

// Flips anywhere rarely land where they are detectable; these aim at a
// separator's "From " or at a header field name.
TEST_CASE("damage campaign: bit flips in separators and field names") {
    campaign("bitflip-aimed", 120, [](std::uint64_t seed, const dmg::BuiltMbox& b) {
        const dmg::MessageRange& m = b.messages[seed % b.messages.size()];
        if (seed % 2 == 0) return Case{dmg::Op::bitflip, seed, 1, {m.begin, m.begin + 5}};
        const std::vector<Span> names = field_names(b.bytes, m);
        const Span& name = names[(seed / 2) % names.size()];
        return Case{dmg::Op::bitflip, seed, 1, {name.begin, name.end}};
    });
}

// A store cut inside its first separator or first header line holds no
// "From " line followed by a field, so nothing says it is mail; such cuts
// are an operational error (not a mail store), not a finding.
dmg::Window past_first_field(const dmg::BuiltMbox& b) {
    const std::uint64_t first_line_end = line_end(b.bytes, b.messages.front().content_begin);
    return {first_line_end, b.bytes.size()};
}

TEST_CASE("damage campaign: truncation") {
    campaign("truncate", 80, [](std::uint64_t seed, const dmg::BuiltMbox& b) {
        return Case{dmg::Op::truncate, seed, 1, past_first_field(b)};
    });
}

// A cut inside a multipart is the common way a store's last message ends
// open; aim at one when the store has a multipart.
TEST_CASE("damage campaign: truncation inside a multipart") {
    campaign("truncate-multipart", 60, [](std::uint64_t seed, const dmg::BuiltMbox& b) {
        for (std::size_t k = 0; k < b.messages.size(); ++k) {
            const dmg::MessageRange& m = b.messages[(seed + k) % b.messages.size()];
            if (const auto body = multipart_body(b.bytes, m)) return Case{dmg::Op::truncate, seed, 1, {body->begin + 1, body->end + 1}};
        }
        return Case{dmg::Op::truncate, seed, 1, past_first_field(b)};
    });
}

TEST_CASE("damage campaign: runs of random bytes") {
    campaign("random-run", 60, [](std::uint64_t seed, const dmg::BuiltMbox&) {
        return random_case(dmg::Op::random_run, seed, 2);
    });
}

TEST_CASE("damage campaign: destroyed separators") {
    campaign("destroy-separator", 60, [](std::uint64_t seed, const dmg::BuiltMbox&) {
        return random_case(dmg::Op::destroy_separator, seed, 2);
    });
}

TEST_CASE("damage campaign: unescaped From lines") {
    campaign("unescaped-from", 60, [](std::uint64_t seed, const dmg::BuiltMbox&) {
        return random_case(dmg::Op::unescaped_from, seed, 3);
    });
}

// What a sync client or a flaky share leaves: the size right but the
// tail never written; a sector written where another belonged; a stretch
// sent twice, or skipped. The messages they spare come out whole, and once.
TEST_CASE("damage campaign: a zeroed tail") {
    campaign("zero-tail", 60, [](std::uint64_t seed, const dmg::BuiltMbox& b) {
        return Case{dmg::Op::zero_tail, seed, 1, past_first_field(b)};
    });
}

TEST_CASE("damage campaign: misplaced sectors") {
    campaign("misplaced-sector", 60, [](std::uint64_t seed, const dmg::BuiltMbox&) {
        return random_case(dmg::Op::misplaced_sector, seed, 2);
    }, Detection::not_promised);
}

TEST_CASE("damage campaign: a stretch written twice") {
    campaign("repeated-run", 60, [](std::uint64_t seed, const dmg::BuiltMbox&) {
        return random_case(dmg::Op::repeated_run, seed, 1);
    }, Detection::not_promised);
}

TEST_CASE("damage campaign: a stretch gone") {
    campaign("dropped-run", 60, [](std::uint64_t seed, const dmg::BuiltMbox&) {
        return random_case(dmg::Op::dropped_run, seed, 1);
    }, Detection::not_promised);
}

TEST_CASE("damage campaign: a stretch of an odd length sent twice or gone") {
    campaign("odd-run", 60, [](std::uint64_t seed, const dmg::BuiltMbox&) {
        return random_case(dmg::Op::odd_run, seed, 1);
    }, Detection::not_promised);
}

TEST_CASE("most corpus messages can join the damage campaigns") {
    const Pool& p = pool();
    if (p.read == 0) return;
    WARN(p.messages.size() << " of " << p.read << " corpus messages stand alone clean");
    CHECK(p.messages.size() * 10 >= p.read * 8);
}

// ---- the command-line tools -------------------------------------------------

namespace {

std::string shell_quote(const fs::path& p) { return "'" + p.string() + "'"; }

std::string damage_command(const std::string& args, const fs::path& in, const fs::path& out, const fs::path& manifest) {
    return std::string(MAILFSCK_DAMAGE_TOOL) + " " + args + " " + shell_quote(in) + " " + shell_quote(out) + " " +
           shell_quote(manifest) + " 2>&1";
}

nlohmann::json without_paths(nlohmann::json m) {
    m["input"].erase("path");
    m["output"].erase("path");
    return m;
}

}  // namespace

TEST_CASE("mailfsck-damage is reproducible and mailfsck repairs what it damaged") {
    TempDir tmp("damage-cli");
    const fs::path clean = tmp.path() / "clean.mbox";
    test::write_file(clean, own_store(3).bytes);
    const std::string clean_sha = dmg::sha256_hex(test::read_file(clean));

    const fs::path a = tmp.path() / "a.mbox";
    const fs::path b = tmp.path() / "b.mbox";
    REQUIRE(test::run(damage_command("--seed 7 --op destroy-separator --count 2", clean, a, tmp.path() / "a.json")).status == 0);
    REQUIRE(test::run(damage_command("--seed 7 --op destroy-separator --count 2", clean, b, tmp.path() / "b.json")).status == 0);
    CHECK(test::read_file(a) == test::read_file(b));
    const nlohmann::json manifest = nlohmann::json::parse(test::read_file(tmp.path() / "a.json"));
    CHECK(without_paths(manifest) == without_paths(nlohmann::json::parse(test::read_file(tmp.path() / "b.json"))));
    CHECK(manifest["damage"].size() == 2);
    CHECK(manifest["input"]["sha256"] == clean_sha);

    SECTION("usage errors and the input itself as OUT are refused") {
        CHECK(test::run(damage_command("--op bitflip", clean, a, tmp.path() / "x.json")).status == 16);
        CHECK(test::run(damage_command("--seed 1 --op bitflip", clean, clean, tmp.path() / "x.json")).status == 16);
        CHECK(test::run(damage_command("--seed 1 --op nonsense", clean, a, tmp.path() / "x.json")).status == 16);
    }

    SECTION("scan finds every injected damage; a repaired store scans clean") {
        const std::string cli = MAILFSCK_BINARY_DIR "/cli/mailfsck";
        const test::RunResult scan = test::run(cli + " scan " + shell_quote(a) + " --json - -q");
        CHECK(scan.status == 4);
        const nlohmann::json report = nlohmann::json::parse(scan.out);
        for (const auto& d : manifest["damage"]) {
            const auto offset = d["offset"].get<std::uint64_t>();
            const auto length = d["length"].get<std::uint64_t>();
            const auto& problems = report["stores"][0]["problems"];
            CHECK(std::any_of(problems.begin(), problems.end(), [&](const nlohmann::json& p) {
                const auto o = p["offset"].get<std::uint64_t>();
                return p["severity"] != "info" && o <= offset + length && offset <= o + p["length"].get<std::uint64_t>();
            }));
        }
        const fs::path out = tmp.path() / "out";
        CHECK(test::run(cli + " repair " + shell_quote(a) + " -o " + shell_quote(out) + " -q >/dev/null").status == 1);
        CHECK(test::run(cli + " scan " + shell_quote(out / "a.mbox") + " -q >/dev/null").status == 0);
    }
    CHECK(dmg::sha256_hex(test::read_file(clean)) == clean_sha);
}

// ---- pathological stores -------------------------------------------------
// Each is read to the end with a finding, and what is held per message stays
// bounded however much the input repeats (these sizes would take minutes and
// gigabytes if any step were quadratic or kept one record per line).

namespace {

const std::string envelope = "From a@example.org Mon Jan  1 00:00:00 2001\n";

std::vector<const Finding*> of(const StoreLog& log, ProblemId id) {
    std::vector<const Finding*> out;
    for (const Finding& f : log.findings)
        if (f.id == id) out.push_back(&f);
    return out;
}

bool none_serious(const StoreLog& log) {
    return std::none_of(log.findings.begin(), log.findings.end(), serious);
}

}  // namespace

TEST_CASE("pathological stores are read to the end with a finding") {
    TempDir tmp("pathological");
    const fs::path in = tmp.path() / "in.mbox";

    SECTION("a 16 MiB header line") {
        test::write_file(in, envelope + "From: a@example.org\nSubject: " + std::string(std::size_t{16} << 20, 'a') +
                                 "\n\nbody\n");
        const StoreLog log = scan(in);
        CHECK(log.messages.found == 1);
        CHECK(log.bytes.unaccounted == 0);
        // Past the header block's size limit the rest is not read as fields.
        CHECK(of(log, ProblemId::mime_part_headers).size() == 1);
        CHECK(none_serious(rescan_after_mbox_repair(in, tmp.path() / "out")));
    }
    SECTION("two million unescaped From lines in one message") {
        std::string store = envelope + "From: a@example.org\n\n";
        for (int i = 0; i < 2'000'000; ++i) store += "From x\n";
        test::write_file(in, store);
        const StoreLog log = scan(in);
        CHECK(log.messages.found == 1);
        // The first ten with their offsets, then one finding for the rest.
        const auto found = of(log, ProblemId::mbox_unescaped_from);
        REQUIRE(found.size() == mbox::Defects::kept_per_kind + 1);
        CHECK(found[0]->offset == envelope.size() + 21);
        CHECK(found.back()->detail == "1999990 more in this message");
    }
    SECTION("a million NUL holes in one message") {
        std::string store = envelope + "From: a@example.org\nSubject: s\n\n";
        const std::string pair = "ok\n" + std::string(16, '\0') + "\n";
        for (int i = 0; i < 1'000'000; ++i) store += pair;
        store += "end\n";
        test::write_file(in, store);
        mbox::Framer framer{ByteView(store)};
        const std::optional<mbox::Segment> m = framer.next();
        REQUIRE(m);
        // The first holes are cut one by one; the last cut reaches from the
        // last of those to the end of the last hole, good lines and all.
        REQUIRE(m->cuts.size() == mbox::max_cuts_per_message);
        const std::uint64_t body = envelope.size() + 32;  // "From: a@example.org\n", "Subject: s\n", "\n"
        CHECK(m->cuts.front().offset == body + 3);
        CHECK(m->cuts.back().offset == body + (mbox::max_cuts_per_message - 1) * pair.size() + 3);
        CHECK(m->cuts.back().end() == store.size() - 4);
        CHECK_FALSE(framer.next());
        const StoreLog log = scan(in);
        CHECK(log.messages.partial == 1);
        CHECK(log.bytes.unaccounted == 0);
        CHECK(none_serious(rescan_after_mbox_repair(in, tmp.path() / "out")));
    }
    SECTION("100,000 fields each followed by a NUL hole") {
        // Every hole ends a body line after which a message may start, and
        // each candidate header block there ends at the first hole after which
        // a message starts (repair ends it there with an empty line), so
        // whether one starts at a pair depends on all the pairs after it.
        // Asked again by every candidate, or answered by recursion, this
        // took minutes or overflowed the stack.
        constexpr std::uint64_t pairs = 100'000;
        const std::string pair = "X: y\n" + std::string(8, '\0') + "\n";
        std::string store = envelope;
        for (std::uint64_t i = 0; i < pairs; ++i) store += pair;
        mbox::Framer framer{ByteView(store)};
        std::uint64_t messages = 0;
        std::uint64_t end = 0;
        while (const std::optional<mbox::Segment> s = framer.next()) {
            CHECK(s->begin == end);
            end = s->end;
            messages += s->kind == mbox::SegmentKind::message ? 1 : 0;
        }
        CHECK(end == store.size());
        // Counted from the end back: the last pair's block holds one field,
        // so no message starts there (a block needs two); one starts at the
        // pair before it (two fields, then the store's end), none at the one
        // before that (its block ends after one field, at that message), and
        // so on: at pairs n-1, n-3, ..., 3 (pairs is even). Pairs 1 and 2 are
        // the first message's.
        CHECK(messages == 1 + (pairs - 2) / 2);
    }
    SECTION("300,000 stray lines between the fields of one header block") {
        // Each stray line (a From_ line with control bytes for its sender)
        // is cut and the fields after it join the block: joined by copying
        // the fields so far before each new stretch, this took half an hour.
        constexpr std::uint64_t strays = 300'000;
        const std::string stray = std::string("From \x01\x02 Mon Jan  1 00:00:00 2001\n");
        std::string store = envelope + "X: y\n";
        for (std::uint64_t i = 0; i < strays; ++i) store += stray + "X: y\n";
        store += "\nbody\n";
        test::write_file(in, store);
        mbox::Framer framer{ByteView(store)};
        const std::optional<mbox::Segment> m = framer.next();
        REQUIRE(m);
        CHECK(m->header_fields == strays + 1);
        REQUIRE(m->cuts.size() == strays);
        CHECK(m->cuts.front().offset == envelope.size() + 5);
        CHECK(m->cuts.back().offset == store.size() - 6 - 5 - stray.size());  // then "X: y\n", "\nbody\n"
        CHECK(m->end == store.size());
        CHECK_FALSE(framer.next());
        // Repair is left out: it writes each cut to lost+found, a file each.
        const StoreLog log = scan(in);
        CHECK(log.messages.found == 1);
        CHECK(log.bytes.unaccounted == 0);
    }
    SECTION("a run of 300,000 damaged From_ lines after a body") {
        // The body walk judges a run at its first line: is it the next
        // separator, or does a message start after the run? Asking that of
        // the block each damaged From_ line would head made every line of the
        // run ask it of the next, each scanning the rest of the run (80,000
        // lines took over two minutes).
        constexpr std::uint64_t lines = 300'000;
        const std::string damaged = std::string("From \x01\x02\x03\x04 Mon Jan  1 00:00:00 2001\n");
        const std::string message = envelope + "X: y\nY: z\n\nbody\n";
        std::string store = message;
        for (std::uint64_t i = 0; i < lines; ++i) store += damaged;
        mbox::Framer framer{ByteView(store)};
        const std::optional<mbox::Segment> m = framer.next();
        REQUIRE(m);
        CHECK(m->kind == mbox::SegmentKind::message);
        CHECK(m->header_fields == 2);
        // Nothing follows the run, and the end of the store is where a
        // message may start: the run may have taken this one's end.
        CHECK(m->end == message.size());
        CHECK(m->ends_at_damage);
        CHECK(m->cuts.empty());
        const std::optional<mbox::Segment> run = framer.next();
        REQUIRE(run);
        CHECK(run->kind == mbox::SegmentKind::fragment);
        CHECK(run->begin == message.size());
        CHECK(run->end == store.size());
        CHECK_FALSE(framer.next());
    }
    SECTION("100,000 pairs of a field and a damaged From_ line") {
        // Whether each field's block ends at the damaged line after it
        // depends on the next pair's, and so on to the end: the answers are
        // settled from the far end back, each once.
        constexpr std::uint64_t pairs = 100'000;
        const std::string field = "X: y\n";
        const std::string damaged = std::string("From \x01\x02\x03\x04 Mon Jan  1 00:00:00 2001\n");
        const std::string message = envelope + "X: y\nY: z\n";
        std::string store = message;
        for (std::uint64_t i = 0; i < pairs; ++i) store += damaged + field;
        mbox::Framer framer{ByteView(store)};
        const std::optional<mbox::Segment> m = framer.next();
        REQUIRE(m);
        CHECK(m->end == message.size());
        // A damaged line is never a separator, and one field without one is
        // no header block (two are needed): so each line is a fragment.
        std::uint64_t at = m->end;
        std::uint64_t fragments = 0;
        bool tiled = true;
        while (const std::optional<mbox::Segment> s = framer.next()) {
            tiled = tiled && s->kind == mbox::SegmentKind::fragment && s->begin == at &&
                    s->end - s->begin == (fragments % 2 == 0 ? damaged : field).size();
            at = s->end;
            ++fragments;
        }
        CHECK(tiled);
        CHECK(fragments == 2 * pairs);
        CHECK(at == store.size());
    }
    SECTION("runs of fields and NUL holes, each before a header block longer than the look-ahead window") {
        // Every candidate block after a hole reads on to the long block and
        // runs out of its window there, each window a little further on: read
        // anew by each, the long block took minutes over ten of these.
        std::string store = envelope + "From: a@example.org\n\n";
        std::uint64_t holes = 0;
        for (int round = 0; round < 10; ++round) {
            for (int i = 0; i < 4'000; ++i, ++holes) store += "X: y\n" + std::string(8, '\0') + "\n";
            for (int i = 0; i < 20'000; ++i) store += "X-" + std::to_string(i) + ": y\n";
        }
        mbox::Framer framer{ByteView(store)};
        const std::optional<mbox::Segment> m = framer.next();
        REQUIRE(m);
        // No block ends inside its window, so nothing after the first
        // message's body starts another; each hole is cut from it.
        CHECK(m->kind == mbox::SegmentKind::message);
        CHECK(m->end == store.size());
        CHECK(holes > mbox::max_cuts_per_message);
        CHECK(m->cuts.size() == mbox::max_cuts_per_message);
        CHECK_FALSE(framer.next());
    }
    SECTION("100,000 nested multiparts, none closed") {
        std::string store = envelope + "From: a@example.org\nMIME-Version: 1.0\n";
        for (int i = 0; i < 100'000; ++i) {
            const std::string b = "b" + std::to_string(i);
            store += "Content-Type: multipart/mixed; boundary=" + b + "\n\n--" + b + "\n";
        }
        store += "\nleaf\n";
        test::write_file(in, store);
        const StoreLog log = scan(in);
        CHECK(of(log, ProblemId::mime_too_deep).size() == 1);
        // Only the levels walked (the walker's bound, 64) are open, and the
        // last message of the store ends inside them: cut short.
        const auto cut = of(log, ProblemId::mbox_truncated_mime);
        REQUIRE(cut.size() == 1);
        CHECK(cut[0]->detail == "64 multipart(s) left open at end of store");
        CHECK(none_serious(rescan_after_mbox_repair(in, tmp.path() / "out")));
    }
    SECTION("100,000 nested message/rfc822") {
        std::string store = envelope + "From: a@example.org\nContent-Type: message/rfc822\n\n";
        for (int i = 0; i < 100'000; ++i) store += "Content-Type: message/rfc822\n\n";
        store += "leaf\n";
        test::write_file(in, store);
        const StoreLog log = scan(in);
        CHECK(of(log, ProblemId::mime_too_deep).size() == 1);
        CHECK(none_serious(log));
    }
}

TEST_CASE("a UID list of a million broken lines names ten and counts the rest") {
    TempDir tmp("pathological-uidlist");
    for (const char* d : {"cur", "new", "tmp"}) fs::create_directories(tmp.path() / d);
    test::write_file(tmp.path() / "cur" / "1.host:2,S", "From: a@example.org\n\nx\n");
    std::string list = "3 V1 N2\n";
    for (int i = 0; i < 1'000'000; ++i) list += "garbage line\n";
    test::write_file(tmp.path() / "dovecot-uidlist", list);
    const StoreLog log = scan(tmp.path());
    const auto grammar = of(log, ProblemId::maildir_index_grammar);
    // The checker names up to 20 lines; the parser keeps 10 of a kind.
    REQUIRE(grammar.size() == mbox::Defects::kept_per_kind + 1);
    CHECK(grammar[0]->offset == 8);
    CHECK(grammar.back()->detail == "999990 more lines");
}

TEST_CASE("a segment keeps the first defects of each kind and counts the rest") {
    mbox::Defects d;
    for (std::uint64_t i = 0; i < 1'000'000; ++i) d.add({mbox::DefectKind::unescaped_from, i, 1, {}});
    d.add({mbox::DefectKind::nul_hole, 7, 8, {}});
    CHECK(std::distance(d.begin(), d.end()) == mbox::Defects::kept_per_kind + 1);
    CHECK(d.begin()->offset == 0);
    CHECK(d.omitted(mbox::DefectKind::unescaped_from) == 1'000'000 - mbox::Defects::kept_per_kind);
    CHECK(d.omitted(mbox::DefectKind::nul_hole) == 0);
}

TEST_CASE("a damaged quoted From line is no evidence of the writer's quoting") {
    // One message whose body holds ">>From " lines: only the intact one
    // tells how the writer escaped; the other carries a NUL hole past
    // hole_min, so it is damage cut from the message, not a body line.
    const std::string hole(16, '\0');
    const std::string store = "From a@example.org Mon Jan  1 00:00:00 2024\nSubject: s\n\nbody\n>>From intact\n"
                              "more\n>>From damaged" + hole + "\nend\n";
    mbox::Framer f{ByteView(store)};
    std::size_t messages = 0;
    while (auto s = f.next()) messages += s->kind == mbox::SegmentKind::message ? 1 : 0;
    CHECK(messages == 1);
    CHECK(f.evidence().double_quoted_from == 1);
    CHECK(f.evidence().quoted_from == 0);
}

TEST_CASE("a multipart its sender left open is closed by repair, so every output reads clean") {
    // Mid-store, with a separator after it, the open multipart is the
    // sender's; but a message file, or an mbox whose later messages are
    // dropped, would end inside it and read as cut short.
    TempDir tmp("sender-open-multipart");
    const std::string env = "From a@example.org Mon Jan  1 00:00:00 2001\n";
    const std::string open = env + "From: b@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
                                   "--b\n\nits sender never closed it\n\n";
    const std::string last = env + "From: c@example.org\n\nlast\n";
    const fs::path in = tmp.path() / "in.mbox";
    test::write_file(in, open + last);

    const StoreLog log = scan(in);
    const auto unclosed = of(log, ProblemId::mime_missing_close);
    REQUIRE(unclosed.size() == 1);
    CHECK(unclosed[0]->action == Action::fixed);
    CHECK(log.messages.repaired == 1);
    CHECK(log.messages.intact == 1);
    CHECK(none_serious(log));

    const Repaired eml = repair_to_eml(in, tmp.path() / "eml");
    REQUIRE(eml.messages.size() == 2);
    // The empty line before the next From_ line was the separator's.
    CHECK(eml.messages[0].ends_with("its sender never closed it\n--b--\n"));
    const fs::path one = tmp.path() / "one.eml";
    test::write_file(one, eml.messages[0]);
    CHECK(none_serious(scan(one)));
    CHECK(none_serious(rescan_after_mbox_repair(in, tmp.path() / "mbox")));
}
