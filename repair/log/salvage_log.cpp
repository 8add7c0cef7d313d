#include "salvage_log.h"

#include <algorithm>

namespace mailfsck {

void ByteLedger::add(Disposition d, std::uint64_t offset, std::uint64_t length) {
    if (length == 0) return;
    if (offset != next_) {
        // A gap is bytes nobody claimed; an overlap was claimed twice.
        unaccounted += offset > next_ ? offset - next_ : next_ - offset;
    }
    switch (d) {
        case Disposition::message: in_messages += length; break;
        case Disposition::lost_found: in_lost_found += length; break;
        case Disposition::junk: junk += length; break;
        case Disposition::duplicate: duplicates += length; break;
    }
    next_ = offset + length;
}

void ByteLedger::close(std::uint64_t size) {
    total = size;
    if (next_ != size) unaccounted += size > next_ ? size - next_ : next_ - size;
}

void StoreLog::add(ProblemId id, std::uint64_t offset, std::uint64_t length, std::string structure,
                   std::optional<std::uint64_t> message, std::string detail) {
    findings.push_back({id, offset, length, std::move(structure), message, problem(id).action, std::move(detail)});
}

Severity StoreLog::worst() const {
    Severity s = Severity::info;
    if (error) return Severity::fatal;
    for (const Finding& f : findings) s = std::max(s, problem(f.id).severity);
    return s;
}

bool StoreLog::data_lost() const {
    return messages.partial > 0 || messages.lost > 0 || bytes.in_lost_found > 0 || bytes.junk > 0 ||
           bytes.unaccounted > 0 || error.has_value();
}

}  // namespace mailfsck
