#include "catalogue.h"

#include <array>
#include <string>

namespace mailfsck {
namespace {

constexpr std::array table = {
#define PROBLEM(id, code, severity, action, summary) \
    ProblemInfo{ProblemId::id, code, Severity::severity, Action::action, summary},
#include "repair/catalogue/problems.def"
#undef PROBLEM
};

}  // namespace

const ProblemInfo& problem(ProblemId id) { return table.at(static_cast<std::size_t>(id)); }

std::span<const ProblemInfo> all_problems() { return table; }

std::string_view severity_name(Severity s) {
    switch (s) {
        case Severity::info: return "info";
        case Severity::warning: return "warning";
        case Severity::damage: return "damage";
        case Severity::fatal: return "fatal";
    }
    return "?";
}

std::string_view action_name(Action a) {
    switch (a) {
        case Action::kept: return "kept";
        case Action::fixed: return "fixed";
        case Action::quarantined: return "quarantined";
        case Action::dropped: return "dropped";
    }
    return "?";
}

std::string problems_markdown() {
    std::string out =
        "# Problem catalogue\n\n"
        "Generated from `repair/catalogue/problems.def` by `mailfsck problems --markdown`; do not edit by hand.\n\n"
        "Severity: **info** is normal life (never changes the exit code); **warning** is an inconsistency with no "
        "mail at risk; **damage** means mail bytes are damaged or lost; **fatal** means the store as a whole "
        "cannot be read. Action is what `repair` does: **kept** as is, **fixed** (rewritten correctly), "
        "**quarantined** into `lost+found/`, or **dropped** (left out; the report keeps the evidence).\n\n"
        "| code | severity | repair action | problem |\n|---|---|---|---|\n";
    for (const ProblemInfo& p : table) {
        out += "| " + std::string(p.code) + " | " + std::string(severity_name(p.severity)) + " | " +
               std::string(action_name(p.action)) + " | " + std::string(p.summary) + " |\n";
    }
    return out;
}

}  // namespace mailfsck
