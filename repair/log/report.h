// Renders a SalvageLog as the JSON report (schema mailfsck-report/1,
// docs/report.md) or as text for people. Nothing else writes reports.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "repair/log/salvage_log.h"

namespace mailfsck {

inline constexpr const char* report_schema = "mailfsck-report/1";

// `timestamp` is the only field that differs between two runs on the same
// input; pass an empty string to leave it out.
[[nodiscard]] nlohmann::json report_json(const SalvageLog& log, const std::string& version,
                                         const std::string& timestamp);
[[nodiscard]] std::string report_text(const SalvageLog& log);
// JSON text, invalid UTF-8 from damaged stores replaced rather than thrown on.
[[nodiscard]] std::string dump_json(const nlohmann::json& j);

}  // namespace mailfsck
