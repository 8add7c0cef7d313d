// Forensic dump of an mbox's structure: every segment with its byte range,
// separator line, header and body offsets, Content-Length verdict and the
// parser's defects, plus the variant evidence.
#pragma once

#include <nlohmann/json.hpp>

#include "parsers/bytes/source.h"

namespace mailfsck {

[[nodiscard]] nlohmann::json inspect_mbox(const Source& source);

}  // namespace mailfsck
