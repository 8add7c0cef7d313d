#include "commands.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <set>

#include "cli/exit_codes.h"
#include "cli/progress.h"
#include "parsers/mime/headers.h"
#include "repair/catalogue/catalogue.h"
#include "repair/log/report.h"
#include "repair/mbox/mbox_inspect.h"
#include "repair/pst/pst_inspect.h"
#include "repair/store/file_writer.h"
#include "repair/store/identity.h"
#include "repair/store/store.h"

namespace mailfsck::cli {

std::atomic<bool> interrupted{false};

namespace {

namespace fs = std::filesystem;

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::optional<StoreFormat> forced_format(const Args& a) {
    if (!a.format) return std::nullopt;
    const auto f = parse_format(*a.format);
    if (!f) throw UsageError("unknown --format '" + *a.format + "' (supported: mbox, maildir, eml, pst)");
    return f;
}

// Opens one store to check into `log`. Operational failures here and in
// check_one become log.error rather than exceptions, so a multi-store scan
// goes on.
std::optional<OpenStore> open_one(const std::string& path, const Args& a, StoreLog& log) {
    log.path = path;
    try {
        return open_store(path, forced_format(a));
    } catch (const UsageError&) {
        throw;
    } catch (const std::exception& e) {
        log.error = e.what();
        return std::nullopt;
    }
}

void check_one(const OpenStore& store, const Args& a, StoreLog& log, CheckHooks hooks) {
    try {
        // The fingerprint reads the file again; do it on the second core.
        // A directory store has no single fingerprint.
        auto sha = std::async(std::launch::async, [path = store.path, file = store.source != nullptr && !a.no_hash] {
            return file ? sha256_file(path, &interrupted) : std::string();
        });
        Progress progress(store.path, !a.quiet);
        hooks.progress = [&](std::uint64_t done, std::uint64_t total) { progress.update(done, total); };
        hooks.interrupted = &interrupted;
        hooks.structure_only = a.quick;
        hooks.recover_deleted = a.deleted;
        check_store(store, log, nullptr, hooks);
        if (log.error) return;  // the hashing thread stops on the same flag; its future waits for it
        log.sha256 = sha.get();
        if (store.source && store.source->compression() != Compression::none)
            log.add(ProblemId::store_compressed, 0, log.size, "store", std::nullopt, log.compression);
    } catch (const UsageError&) {
        throw;
    } catch (const std::exception& e) {
        log.error = e.what();
    }
}

// Opens a store for a single-store command; says why not on stderr.
std::optional<OpenStore> open_or_say(const std::string& path, const Args& a) {
    try {
        return open_store(path, forced_format(a));
    } catch (const UsageError&) {
        throw;
    } catch (const std::exception& e) {
        std::cerr << "mailfsck: " << path << ": " << e.what() << "\n";
        return std::nullopt;
    }
}

// Prints the report: JSON to stdout with --json -, else text on stdout and
// JSON to the named file.
void emit(const SalvageLog& log, const Args& a) {
    if (a.json && *a.json == "-") {
        std::cout << dump_json(report_json(log, MAILFSCK_VERSION, utc_now()));
        return;
    }
    std::cout << report_text(log);
    // The JSON tree takes several times the log's memory: built only when asked for.
    if (a.json) {
        const nlohmann::json j = report_json(log, MAILFSCK_VERSION, utc_now());
        FileWriter w(*a.json + ".tmp");
        w.write(dump_json(j));
        w.close();
        fs::rename(*a.json + ".tmp", *a.json);
    }
}

int exit_for(const SalvageLog& log, bool repaired) {
    int code = exit_ok;
    for (const StoreLog& s : log.stores) {
        if (s.error) {
            code |= (*s.error == "interrupted") ? exit_interrupted : exit_operational;
            continue;
        }
        if (!s.has_problems()) continue;
        code |= (repaired && !s.data_lost()) ? exit_corrected : exit_uncorrected;
    }
    return code;
}

void say_errors(const SalvageLog& log) {
    for (const StoreLog& s : log.stores)
        if (s.error) std::cerr << "mailfsck: " << s.path << ": " << *s.error << "\n";
}

bool is_inside(const fs::path& inner, const fs::path& outer) {
    const fs::path i = fs::weakly_canonical(inner);
    const fs::path o = fs::weakly_canonical(outer);
    auto ii = i.begin();
    for (auto oi = o.begin(); oi != o.end(); ++oi, ++ii)
        if (ii == i.end() || *ii != *oi) return false;
    return true;
}

std::string output_store_name(const std::string& input) {
    // "Maildir/" names the store Maildir, as "Maildir" does.
    fs::path p = fs::path(input).lexically_normal();
    if (!p.has_filename()) p = p.parent_path();
    std::string name = p.filename().string();
    for (const char* ext : {".gz", ".bz2", ".xz"})
        if (name.size() > std::string_view(ext).size() && name.ends_with(ext))
            name.resize(name.size() - std::string_view(ext).size());
    // A PST's messages are written as mbox, Maildir or .eml: the output
    // must not carry a name that says PST.
    const std::string lower = mime::ascii_lower(name);
    if (lower.size() > 4 && (lower.ends_with(".pst") || lower.ends_with(".ost"))) name.resize(name.size() - 4);
    if (name.empty() || name == "." || name == "..") name = "store";
    return name;
}

// --to native keeps the input's format; a single .eml becomes a folder of them.
OutputFormat output_format(const std::string& to, StoreFormat input) {
    if (to == "pst") return OutputFormat::pst;
    if (to == "mbox") return OutputFormat::mbox;
    if (to == "eml") return OutputFormat::eml;
    if (to == "maildir") return OutputFormat::maildir;
    switch (input) {
        case StoreFormat::mbox: return OutputFormat::mbox;
        case StoreFormat::maildir: return OutputFormat::maildir;
        case StoreFormat::eml: return OutputFormat::eml;
        case StoreFormat::pst: break;
    }
    return OutputFormat::pst;
}

std::string_view output_format_name(OutputFormat f) {
    switch (f) {
        case OutputFormat::mbox: return "mbox";
        case OutputFormat::maildir: return "maildir";
        case OutputFormat::eml: return "eml";
        case OutputFormat::pst: return "pst";
    }
    return "?";
}

// JSON as one object, written as the records come: {"path", "size",
// "header", "pages": [...], "bbt": [...], "nbt": [...]}.
class JsonInspectSink final : public PstInspectSink {
public:
    explicit JsonInspectSink(const std::string& path) { std::cout << "{\n  \"path\": " << dump(path); }
    ~JsonInspectSink() override { std::cout << "\n}\n"; }
    JsonInspectSink(const JsonInspectSink&) = delete;
    JsonInspectSink& operator=(const JsonInspectSink&) = delete;
    void field(std::string_view name, const nlohmann::json& value) override {
        std::cout << ",\n  " << dump(std::string(name)) << ": " << dump(value);
    }
    void begin_list(std::string_view name) override {
        std::cout << ",\n  " << dump(std::string(name)) << ": [";
        first_ = true;
    }
    void item(const nlohmann::json& record) override {
        std::cout << (first_ ? "\n    " : ",\n    ") << dump(record);
        first_ = false;
    }
    void end_list() override { std::cout << (first_ ? "]" : "\n  ]"); }

private:
    static std::string dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }
    bool first_ = true;
};

// The header's fields, then one line per page, per block (offset, size, id,
// kind, owners, status) and per node: the block map a forensic examiner reads.
class TextInspectSink final : public PstInspectSink {
public:
    explicit TextInspectSink(std::string path) : path_(std::move(path)) {}
    void field(std::string_view name, const nlohmann::json& value) override {
        if (name == "size") {
            size_ = value.get<std::uint64_t>();
            return;
        }
        std::cout << path_ << ": " << value["client"].get<std::string>() << ", " << value["format"].get<std::string>()
                  << " (wVer " << value["wVer"] << "), " << size_ << " bytes\n";
        for (const auto& [k, v] : value.items())
            if (k != "defects") std::cout << "  " << k << ": " << v.dump() << "\n";
        for (const auto& d : value["defects"])
            std::cout << "  header defect " << d["kind"].get<std::string>() << " @" << d["offset"] << "\n";
    }
    void begin_list(std::string_view name) override { list_ = std::string(name); }
    void item(const nlohmann::json& r) override {
        if (list_ == "pages") {
            std::cout << "page  " << r["tree"].get<std::string>() << " @" << r["ib"] << " bid " << r["bid"] << "\n";
        } else if (list_ == "bbt") {
            std::cout << "block @" << r["ib"] << "+" << r["cb"] << " bid " << r["bid"] << " cRef " << r["cref"] << " "
                      << r["kind"].get<std::string>();
            for (const auto& o : r["owners"])
                std::cout << " node " << o["node"] << (o.contains("subnode") ? "/" + o["subnode"].dump() : "");
            if (r["owner_count"].get<std::uint64_t>() > r["owners"].size())
                std::cout << " (+" << r["owner_count"].get<std::uint64_t>() - r["owners"].size() << " more)";
            if (r["owner_count"] == 0) std::cout << " unreferenced";
            for (const auto& p : r["problems"]) std::cout << " " << p.get<std::string>();
            std::cout << "\n";
        } else {
            std::cout << "node  " << r["nid"] << " type " << r["type"] << " data " << r["bid_data"] << " sub "
                      << r["bid_sub"] << " parent " << r["parent"] << "\n";
        }
    }
    void end_list() override {}

private:
    std::string path_;
    std::uint64_t size_ = 0;
    std::string list_;
};

int inspect_pst_command(const OpenStore& store, const Args& a) {
    if (a.json) {
        JsonInspectSink sink(store.path);
        inspect_pst(*store.source, sink);
    } else {
        TextInspectSink sink(store.path);
        inspect_pst(*store.source, sink);
    }
    return exit_ok;
}

}  // namespace

int run_scan(const Args& a) {
    SalvageLog log;
    log.mode = Mode::scan;
    for (const std::string& path : a.stores) {
        StoreLog& store_log = log.stores.emplace_back();
        if (const std::optional<OpenStore> store = open_one(path, a, store_log)) check_one(*store, a, store_log, {});
        if (interrupted) break;
    }
    say_errors(log);
    emit(log, a);
    return exit_for(log, false);
}

int run_repair(const Args& a) {
    const std::string& input = a.stores.front();
    const fs::path out = *a.output;
    std::error_code ec;
    if (fs::exists(out, ec) && !(fs::is_directory(out, ec) && fs::is_empty(out, ec)))
        throw UsageError("output directory " + out.string() + " exists and is not empty");
    if (is_inside(out, input)) throw UsageError("output directory " + out.string() + " is inside the input");

    std::optional<OpenStore> opened = open_or_say(input, a);
    if (!opened) return exit_operational;
    const OpenStore& store = *opened;
    SalvageLog log;
    log.mode = Mode::repair;
    StoreLog& s = log.stores.emplace_back();
    s.path = input;
    const OutputFormat format = output_format(a.to, store.format);
    OutputDir dir(out);
    const std::string name = output_store_name(input);
    // A Maildir's top folder is the account's inbox; an mbox file or a
    // directory of .eml files is one folder, named as the input is.
    std::string mail_root = store.format == StoreFormat::pst ? "" : store.format == StoreFormat::maildir ? "Inbox" : name;
    for (const char* ext : {".mbox", ".mbx"})
        if (mail_root.size() > std::string_view(ext).size() && mail_root.ends_with(ext))
            mail_root.resize(mail_root.size() - std::string_view(ext).size());
    auto sink = make_sink(format, dir, name, mail_root);
    auto sha = std::async(std::launch::async, [input, file = store.source != nullptr && !a.no_hash] {
        return file ? sha256_file(input, &interrupted) : std::string();
    });
    {
        Progress progress("repair " + input, !a.quiet);
        CheckHooks hooks;
        hooks.progress = [&](std::uint64_t d, std::uint64_t t) { progress.update(d, t); };
        hooks.interrupted = &interrupted;
        hooks.drop_uid_indexes = a.drop_uids;
        hooks.recover_deleted = a.deleted;
        check_store(store, s, sink.get(), hooks);
    }
    if (s.error) {
        say_errors(log);
        return exit_for(log, true);  // the staging directory is removed, nothing is left behind
    }
    s.sha256 = sha.get();
    sink->finish();
    s.output = OutputInfo{(sink->store_path().empty() ? out : out / sink->store_path()).string(),
                          std::string(output_format_name(format)), sink->messages_written(), sink->lost_found_files(),
                          sink->notes()};
    const nlohmann::json j = report_json(log, MAILFSCK_VERSION, utc_now());
    dir.write_file("report.json", dump_json(j));
    dir.write_file("report.txt", report_text(log));
    dir.commit();
    emit(log, a);
    return exit_for(log, true);
}

int run_verify(const Args& a) {
    SalvageLog log;
    log.mode = Mode::verify;
    // Both are opened first: the kind of comparison depends on both formats.
    log.stores.resize(a.against ? 2 : 1);
    const std::optional<OpenStore> store = open_one(a.stores.front(), a, log.stores.front());
    std::optional<OpenStore> against;
    if (a.against) against = open_one(*a.against, a, log.stores.back());
    // A message is there when its content is or, the stores being of
    // different formats, when its facts are (what a PST keeps of it).
    const bool by_facts = store && against && store->format != against->format;
    struct Seen {
        std::multimap<std::string, std::string> by_id;  // Message-ID -> content hash
        std::set<std::string> hashes;
        std::set<std::string> facts;
    };
    Seen store_seen;
    CheckHooks collect;
    collect.on_message = [&](std::uint64_t, std::uint64_t, const std::vector<ByteView>& pieces) {
        const MessageIdentity id = identify(pieces);
        if (!id.message_id.empty()) store_seen.by_id.emplace(id.message_id, id.content_sha256);
        store_seen.hashes.insert(id.content_sha256);
        if (by_facts) store_seen.facts.insert(message_facts(pieces));
    };
    if (store) check_one(*store, a, log.stores.front(), collect);

    std::vector<std::string> differences;
    bool compared = false;
    if (against && !log.stores.front().error) {
        CheckHooks compare;
        compare.on_message = [&](std::uint64_t no, std::uint64_t offset, const std::vector<ByteView>& pieces) {
            const MessageIdentity id = identify(pieces);
            if (store_seen.hashes.count(id.content_sha256) || (by_facts && store_seen.facts.count(message_facts(pieces))))
                return;
            const auto range = store_seen.by_id.equal_range(id.message_id);
            const bool id_known = !id.message_id.empty() && range.first != range.second;
            differences.push_back(std::string(id_known ? "changed" : "missing") + ": message " + std::to_string(no) +
                                  " at offset " + std::to_string(offset) + " of " + *a.against +
                                  (id.message_id.empty() ? " (no Message-ID)" : " " + id.message_id));
        };
        check_one(*against, a, log.stores.back(), compare);
        compared = !log.stores.back().error;
    } else if (against) {
        log.stores.pop_back();  // never checked: it has nothing to report
    }
    if (compared) log.differences = differences;
    say_errors(log);
    emit(log, a);
    // With the report on stdout as JSON, the differences are in it.
    const bool human = !(a.json && *a.json == "-");
    if (human)
        for (const std::string& d : differences) std::cout << d << "\n";
    if (human && compared)
        std::cout << differences.size() << " message(s) of " << *a.against << " missing or changed in "
                  << a.stores.front() << "\n";
    // The store under test decides; the one it is compared against is
    // usually the damaged original, whose problems are expected. Only
    // failing to read it counts.
    SalvageLog verified;
    verified.stores.push_back(log.stores.front());
    int code = exit_for(verified, false);
    if (a.against && log.stores.size() == 2 && log.stores.back().error) code |= exit_operational;
    if (!differences.empty()) code |= exit_uncorrected;
    if (human && code == exit_ok) std::cout << "verified: " << a.stores.front() << " is sound\n";
    return code;
}

int run_inspect(const Args& a) {
    const std::string& path = a.stores.front();
    const std::optional<OpenStore> store = open_or_say(path, a);
    if (!store) return exit_operational;
    if (store->format == StoreFormat::pst) return inspect_pst_command(*store, a);
    if (!store->source || store->format != StoreFormat::mbox) {
        std::cerr << "mailfsck: " << path << ": inspect reads one mbox or PST/OST file"
                  << (store->source ? "" : " (give it a file of this directory)") << "\n";
        return exit_operational;
    }
    nlohmann::json j = inspect_mbox(*store->source);
    j["path"] = path;
    if (a.json) {
        std::cout << dump_json(j);
        return exit_ok;
    }
    std::cout << path << ": mbox, " << j["size"].get<std::uint64_t>() << " bytes\n";
    for (const auto& [k, v] : j["evidence"].items()) std::cout << "  " << k << ": " << v.dump() << "\n";
    for (const auto& s : j["segments"]) {
        std::cout << s["kind"].get<std::string>() << " @" << s["offset"] << "+" << s["length"];
        if (s.contains("separator")) {
            std::cout << " sep=" << s["separator"]["kind"].get<std::string>() << " headers@" << s["headers"]["offset"]
                      << " (" << s["headers"]["fields"] << " fields) body@" << s["body"]["offset"] << "+"
                      << s["body"]["length"] << " content-length=" << s["content_length"].get<std::string>();
            if (!s["cuts"].empty()) std::cout << " cuts=" << s["cuts"].dump();
            std::cout << "\n    " << s["separator"]["line"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        }
        std::cout << "\n";
        for (const auto& d : s["defects"])
            std::cout << "    defect " << d["kind"].get<std::string>() << " @" << d["offset"] << "+" << d["length"]
                      << "\n";
    }
    return exit_ok;
}

int run_problems(const Args& a) {
    if (a.markdown) {
        std::cout << problems_markdown();
        return exit_ok;
    }
    for (const ProblemInfo& p : all_problems())
        std::cout << p.code << "  " << severity_name(p.severity) << "  " << action_name(p.action) << "  " << p.summary
                  << "\n";
    return exit_ok;
}

}  // namespace mailfsck::cli
