// The problem catalogue (see problems.def) and the vocabulary of findings.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace mailfsck {

enum class Severity { info, warning, damage, fatal };
enum class Action { kept, fixed, quarantined, dropped };

enum class ProblemId {
#define PROBLEM(id, code, severity, action, summary) id,
#include "repair/catalogue/problems.def"
#undef PROBLEM
};

struct ProblemInfo {
    ProblemId id;
    std::string_view code;
    Severity severity;
    Action action;
    std::string_view summary;
};

[[nodiscard]] const ProblemInfo& problem(ProblemId id);
[[nodiscard]] std::span<const ProblemInfo> all_problems();

[[nodiscard]] std::string_view severity_name(Severity s);
[[nodiscard]] std::string_view action_name(Action a);

// docs/problems.md, generated from the table.
[[nodiscard]] std::string problems_markdown();

}  // namespace mailfsck
