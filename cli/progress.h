// A progress bar on stderr, shown only when stderr is a terminal, the work
// has run for a while, and -q was not given.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace mailfsck::cli {

class Progress {
public:
    Progress(std::string label, bool enabled);
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;
    void update(std::uint64_t done, std::uint64_t total);

private:
    std::string label_;
    bool enabled_;
    bool shown_ = false;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point last_;
};

}  // namespace mailfsck::cli
