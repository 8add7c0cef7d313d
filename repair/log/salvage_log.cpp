#include "salvage_log.h"

#include <algorithm>

#include "parsers/bytes/utf8.h"

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

void ByteLedger::absorb(const ByteLedger& file) {
    total += file.total;
    in_messages += file.in_messages;
    in_lost_found += file.in_lost_found;
    junk += file.junk;
    duplicates += file.duplicates;
    unaccounted += file.unaccounted;
}

Finding& StoreLog::add(ProblemId id, std::uint64_t offset, std::uint64_t length, std::string structure,
                       std::optional<std::uint64_t> message, std::string detail) {
    return keep(Finding{id, {}, offset, length, std::move(structure), message, problem(id).action, std::move(detail)});
}

Finding& StoreLog::keep(Finding f) {
    if (++logged_[f.id] > max_findings_per_kind) {
        unlisted_ = std::move(f);
        return unlisted_;
    }
    return findings.emplace_back(std::move(f));
}

LostItem& StoreLog::add_lost(LostItem item) {
    if (++lost_logged_ > max_lost_listed) {
        unlisted_lost_ = std::move(item);
        return unlisted_lost_;
    }
    return lost_.emplace_back(std::move(item));
}

LostItem* StoreLog::last_lost() {
    if (lost_logged_ == 0) return nullptr;
    return lost_logged_ > max_lost_listed ? &unlisted_lost_ : &lost_.back();
}

std::uint64_t StoreLog::lost_omitted() const {
    return lost_logged_ - std::min<std::uint64_t>(lost_logged_, max_lost_listed);
}

void StoreLog::adopt_findings(StoreLog&& scratch) {
    for (Finding& f : scratch.findings) keep(std::move(f));
    for (const auto& [id, n] : scratch.omitted()) logged_[id] += n;
    scratch.findings.clear();
}

std::map<ProblemId, std::uint64_t> StoreLog::omitted() const {
    std::map<ProblemId, std::uint64_t> out;
    for (const auto& [id, n] : logged_)
        if (n > max_findings_per_kind) out.emplace(id, n - max_findings_per_kind);
    return out;
}

Severity StoreLog::worst() const {
    Severity s = Severity::info;
    if (error) return Severity::fatal;
    for (const Finding& f : findings) s = std::max(s, problem(f.id).severity);
    return s;
}

std::string escaped_name(std::string_view raw) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size();) {
        const auto c = static_cast<unsigned char>(raw[i]);
        if (c >= 0x80) {
            if (const std::size_t n = utf8_sequence(raw, i)) {
                out.append(raw.substr(i, n));
                i += n;
                continue;
            }
        } else if (c >= 0x20 && c != 0x7F && c != '\\') {
            out.push_back(static_cast<char>(c));
            ++i;
            continue;
        }
        out += "\\x";
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 15]);
        ++i;
    }
    return out;
}

bool StoreLog::data_lost() const {
    return messages.partial > 0 || messages.lost > 0 || lost_logged_ > 0 || bytes.in_lost_found > 0 || bytes.junk > 0 ||
           bytes.unaccounted > 0 || error.has_value();
}

}  // namespace mailfsck
