#include "report.h"

#include <sstream>

namespace mailfsck {
namespace {

std::string_view mode_name(Mode m) {
    switch (m) {
        case Mode::scan: return "scan";
        case Mode::repair: return "repair";
        case Mode::verify: return "verify";
        case Mode::inspect: return "inspect";
    }
    return "?";
}

nlohmann::json optional_number(const std::optional<std::uint64_t>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json store_json(const StoreLog& s) {
    nlohmann::json j;
    j["path"] = s.path;
    j["format"] = s.format;
    j["variant"] = s.variant;
    j["variant_evidence"] = s.variant_evidence;
    j["compression"] = s.compression;
    j["size"] = s.size;
    j["sha256"] = s.sha256;
    if (s.error) j["error"] = *s.error;
    j["messages"] = {{"found", s.messages.found},     {"intact", s.messages.intact},
                     {"repaired", s.messages.repaired}, {"partial", s.messages.partial},
                     {"lost", s.messages.lost},        {"duplicates", s.messages.duplicates}};
    j["bytes"] = {{"total", s.bytes.total},         {"in_messages", s.bytes.in_messages},
                  {"in_lost_found", s.bytes.in_lost_found}, {"junk", s.bytes.junk},
                  {"duplicates", s.bytes.duplicates}, {"unaccounted", s.bytes.unaccounted}};
    nlohmann::json problems = nlohmann::json::array();
    for (const Finding& f : s.findings) {
        const ProblemInfo& p = problem(f.id);
        problems.push_back({{"code", p.code},
                            {"file", f.file},
                            {"severity", severity_name(p.severity)},
                            {"offset", f.offset},
                            {"length", f.length},
                            {"structure", f.structure},
                            {"message", optional_number(f.message)},
                            {"action", action_name(f.action)},
                            {"summary", p.summary},
                            {"detail", f.detail}});
    }
    j["problems"] = std::move(problems);
    nlohmann::json omitted = nlohmann::json::array();
    for (const auto& [id, count] : s.omitted()) {
        const ProblemInfo& p = problem(id);
        omitted.push_back({{"code", p.code}, {"severity", severity_name(p.severity)}, {"count", count}});
    }
    j["problems_omitted"] = std::move(omitted);
    nlohmann::json lost = nlohmann::json::array();
    for (const LostItem& l : s.lost()) {
        lost.push_back({{"file", l.file},
                        {"offset", l.offset},
                        {"length", l.length},
                        {"message", optional_number(l.message)},
                        {"message_id", l.message_id},
                        {"date", l.date},
                        {"from", l.from},
                        {"subject", l.subject},
                        {"reason", l.reason}});
    }
    j["lost"] = std::move(lost);
    j["lost_omitted"] = s.lost_omitted();
    if (s.files) {
        j["files"] = {{"seen", s.files->seen},          {"messages", s.files->messages},
                      {"mailboxes", s.files->mailboxes}, {"indexes", s.files->indexes},
                      {"server_caches", s.files->server_caches},
                      {"other", s.files->other},        {"skipped", s.files->skipped}};
    }
    if (s.output) {
        j["output"] = {{"path", s.output->path},
                       {"format", s.output->format},
                       {"messages_written", s.output->messages_written},
                       {"lost_found_files", s.output->lost_found_files},
                       {"notes", s.output->notes}};
    }
    return j;
}

}  // namespace

nlohmann::json report_json(const SalvageLog& log, const std::string& version, const std::string& timestamp) {
    nlohmann::json j;
    j["schema"] = report_schema;
    j["tool"] = {{"name", "mailfsck"}, {"version", version}};
    j["mode"] = mode_name(log.mode);
    if (!timestamp.empty()) j["timestamp"] = timestamp;
    j["stores"] = nlohmann::json::array();
    for (const StoreLog& s : log.stores) j["stores"].push_back(store_json(s));
    if (log.differences) j["differences"] = *log.differences;
    return j;
}

std::string dump_json(const nlohmann::json& j) {
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string report_text(const SalvageLog& log) {
    std::ostringstream o;
    for (const StoreLog& s : log.stores) {
        o << s.path << ": ";
        if (s.error) {
            o << "error: " << *s.error << "\n";
            continue;
        }
        o << s.format;
        if (!s.variant.empty()) o << " (" << s.variant << ")";
        o << ", " << s.size << " bytes";
        if (s.compression != "none") o << " " << s.compression << "-compressed";
        if (!s.sha256.empty()) o << ", sha256 " << s.sha256;
        o << "\n";
        const MessageCounts& m = s.messages;
        o << "  messages: " << m.found << " found, " << m.intact << " intact, " << m.repaired << " repaired, "
          << m.partial << " partial, " << m.lost << " lost";
        if (m.duplicates) o << ", " << m.duplicates << " duplicate copies";
        o << "\n";
        const ByteLedger& b = s.bytes;
        o << "  bytes: " << b.in_messages << " in messages, " << b.in_lost_found << " in lost+found, " << b.junk
          << " junk, " << b.duplicates << " duplicate, " << b.unaccounted << " unaccounted of " << b.total << "\n";
        if (s.files) {
            const FileCounts& f = *s.files;
            o << "  files: " << f.seen << " seen: " << f.messages << " messages, ";
            if (f.mailboxes) o << f.mailboxes << " mbox files, ";
            o << f.indexes << " indexes, "
              << f.server_caches << " server caches, " << f.other << " other, " << f.skipped << " skipped\n";
        }
        if (!s.variant_evidence.empty()) {
            o << "  variant evidence:";
            for (const auto& e : s.variant_evidence) o << " " << e << ";";
            o << "\n";
        }
        for (const Finding& f : s.findings) {
            const ProblemInfo& p = problem(f.id);
            o << "  " << p.code << " " << severity_name(p.severity) << " ";
            // A finding about a whole file or folder has no byte range.
            if (f.file.empty() || f.offset != 0 || f.length != 0) {
                o << f.file << "@" << f.offset << "+" << f.length;
            } else {
                o << f.file;
            }
            if (f.message) o << " msg " << *f.message;
            o << " [" << f.structure << "] " << p.summary;
            if (!f.detail.empty()) o << ": " << f.detail;
            o << " -> " << action_name(f.action) << "\n";
        }
        for (const auto& [id, count] : s.omitted()) {
            const ProblemInfo& p = problem(id);
            o << "  " << p.code << " " << severity_name(p.severity) << " " << count << " more not listed (the first "
              << StoreLog::max_findings_per_kind << " of this kind are)\n";
        }
        for (const LostItem& l : s.lost()) {
            o << "  LOST " << l.file << "@" << l.offset << "+" << l.length;
            if (l.message) o << " msg " << *l.message;
            if (!l.subject.empty()) o << " \"" << l.subject << "\"";
            if (!l.message_id.empty()) o << " " << l.message_id;
            o << ": " << l.reason << "\n";
        }
        if (s.lost_omitted() > 0)
            o << "  LOST " << s.lost_omitted() << " more not listed (the first " << StoreLog::max_lost_listed
              << " are; a repair's index.jsonl says what became of every message)\n";
        if (s.output) {
            o << "  output: " << s.output->path << " (" << s.output->format << "), " << s.output->messages_written
              << " messages written, " << s.output->lost_found_files << " files in lost+found\n";
            for (const std::string& n : s.output->notes) o << "  output note: " << n << "\n";
        }
        o << "  verdict: "
          << (s.has_problems() ? (s.data_lost() ? "DAMAGED (data lost or at risk)" : "problems found")
                               : "clean")
          << "\n";
    }
    return o.str();
}

}  // namespace mailfsck
