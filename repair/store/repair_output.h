// The report repair writes beside a store it rebuilt, read back: `verify
// OUTDIR` checks the store repair wrote there, not its report or its
// lost+found.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailfsck {

struct RepairOutput {
    std::string format;  // as the report's output.format says; "" when it does not
    std::string store;   // the store's name under OUTDIR; "" when OUTDIR itself is the store
};

// Is `dir` a repair's output directory (a mailfsck report.json in it)?
[[nodiscard]] std::optional<RepairOutput> repair_output(const std::string& dir);

// What repair writes beside the store: report.json, report.txt, index.jsonl,
// lost+found/ (a name relative to OUTDIR).
[[nodiscard]] bool is_beside_store(std::string_view rel);

}  // namespace mailfsck
