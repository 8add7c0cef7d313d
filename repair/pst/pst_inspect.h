// Forensic dump of a PST/OST's node database: the header's fields, every
// B-tree page, every block (offset, size, kind, the node and subnode that
// own it, status) and every node. Streamed: each record reaches the sink as
// soon as it is known, and block owners are found in passes over ranges of
// block ids, so a file of any size is dumped in bounded memory.
#pragma once

#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

#include "parsers/bytes/source.h"

namespace mailfsck {

class PstInspectSink {
public:
    virtual ~PstInspectSink() = default;
    // Top-level fields, then the lists "pages", "bbt" and "nbt" in turn.
    virtual void field(std::string_view name, const nlohmann::json& value) = 0;
    virtual void begin_list(std::string_view name) = 0;
    virtual void item(const nlohmann::json& record) = 0;
    virtual void end_list() = 0;
};

void inspect_pst(const Source& source, PstInspectSink& sink, std::size_t records_per_pass = std::size_t{1} << 20);

}  // namespace mailfsck
