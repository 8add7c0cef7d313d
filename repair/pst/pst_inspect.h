// Forensic dump of a PST/OST's node database: the header's fields, every
// B-tree page, every BBT entry with its block's status, and every NBT
// entry, as JSON (the text form is rendered by the CLI from it).
#pragma once

#include <nlohmann/json.hpp>

#include "parsers/bytes/source.h"

namespace mailfsck {

[[nodiscard]] nlohmann::json inspect_pst(const Source& source);

}  // namespace mailfsck
