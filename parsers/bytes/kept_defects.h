// The defects a parser found in one unit (a message, an index file): the
// first few of each kind, with where they are, and a count of the rest. A
// damaged file can hold a defect on every line; memory must not follow
// them, and a report names a few of a kind and counts the others.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace mailfsck {

// `Defect` has a `kind` of enum type `Kind`, whose enumerators run from 0
// to `Kinds` - 1.
template <class Defect, class Kind, std::size_t Kinds>
class KeptDefects {
public:
    static constexpr std::size_t kept_per_kind = 10;

    void add(Defect d) {
        if (++found_[static_cast<std::size_t>(d.kind)] <= kept_per_kind) kept_.push_back(std::move(d));
    }
    [[nodiscard]] auto begin() const { return kept_.begin(); }
    [[nodiscard]] auto end() const { return kept_.end(); }
    [[nodiscard]] std::size_t size() const { return kept_.size(); }
    [[nodiscard]] bool empty() const { return kept_.empty(); }
    [[nodiscard]] const Defect& operator[](std::size_t i) const { return kept_[i]; }
    // How many of `kind` were found beyond the ones kept.
    [[nodiscard]] std::uint64_t omitted(Kind kind) const {
        const std::uint64_t n = found_[static_cast<std::size_t>(kind)];
        return n > kept_per_kind ? n - kept_per_kind : 0;
    }

private:
    std::vector<Defect> kept_;
    std::array<std::uint64_t, Kinds> found_{};
};

}  // namespace mailfsck
