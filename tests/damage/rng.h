// The damage generators' one source of randomness: std::mt19937_64 through
// our own bounded draw, because the standard distributions differ between
// library implementations and the same seed must damage the same bytes
// everywhere.
#pragma once

#include <cstdint>
#include <random>

namespace mailfsck::damage {

class Rng {
public:
    explicit Rng(std::uint64_t seed) : engine_(seed) {}

    // Uniform in [0, n); n > 0.
    std::uint64_t below(std::uint64_t n) {
        const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
        std::uint64_t x = engine_();
        while (x >= limit) x = engine_();
        return x % n;
    }
    unsigned char byte() { return static_cast<unsigned char>(engine_() >> 56); }

private:
    std::mt19937_64 engine_;
};

}  // namespace mailfsck::damage
