// Incremental SHA-256 (OpenSSL), for store fingerprints in reports and for
// message identities.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace mailfsck {

class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    Sha256(Sha256&&) noexcept;
    Sha256& operator=(Sha256&&) noexcept;

    void update(std::string_view bytes);
    // Lowercase hex digest; the object must not be updated afterwards.
    [[nodiscard]] std::string hex();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace mailfsck
