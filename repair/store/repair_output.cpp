#include "repair_output.h"

#include <nlohmann/json.hpp>

#include "parsers/bytes/source.h"
#include "repair/store/tree.h"

namespace mailfsck {
namespace {

// Far more than any real store's report: its findings are capped per kind.
constexpr std::uint64_t max_report = std::uint64_t{256} << 20;

const nlohmann::json* member(const nlohmann::json& j, const char* key) {
    return j.is_object() && j.contains(key) ? &j[key] : nullptr;
}

}  // namespace

std::optional<RepairOutput> repair_output(const std::string& dir) {
    std::unique_ptr<Source> src;
    try {
        src = Source::open(under(dir, "report.json"), Links::refuse);
    } catch (const SourceError&) {
        return std::nullopt;
    }
    const ByteView v = src->bytes();
    if (v.sub(0, 4096).text().find("\"mailfsck-report/") == std::string_view::npos) return std::nullopt;
    RepairOutput out;
    if (v.size() > max_report) return out;
    // Only the output is kept: a report listing a million lost messages
    // must not take memory to say where its store is.
    const nlohmann::json j = nlohmann::json::parse(
        v.text(),
        [](int /*depth*/, nlohmann::json::parse_event_t event, const nlohmann::json& parsed) {
            return event != nlohmann::json::parse_event_t::key ||
                   !(parsed == "problems" || parsed == "lost" || parsed == "differences" || parsed == "variant_evidence" ||
                     parsed == "problems_omitted");
        },
        false);
    const nlohmann::json* stores = member(j, "stores");
    if (!stores || !stores->is_array() || stores->size() != 1) return out;
    const nlohmann::json* output = member((*stores)[0], "output");
    const nlohmann::json* format = output ? member(*output, "format") : nullptr;
    const nlohmann::json* path = output ? member(*output, "path") : nullptr;
    if (format && format->is_string()) out.format = format->get<std::string>();
    // The path as given to repair, perhaps relative to where it ran: its
    // last component is the store's name under OUTDIR, unless it is OUTDIR.
    if (path && path->is_string()) {
        const std::string p = path->get<std::string>();
        const std::size_t slash = p.find_last_of('/');
        // A report is input like any other: its name must stay in OUTDIR.
        const std::string name = slash == std::string::npos ? std::string() : p.substr(slash + 1);
        if (name != "." && name != "..") out.store = name;
    }
    return out;
}

bool is_beside_store(std::string_view rel) {
    return rel == "report.json" || rel == "report.txt" || rel == "index.jsonl" || rel == "lost+found";
}

}  // namespace mailfsck
