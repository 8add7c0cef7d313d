// Command-line parsing: subcommand, positional stores, and options.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace mailfsck::cli {

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Args {
    std::string command;
    std::vector<std::string> stores;
    std::optional<std::string> json;     // --json FILE|-
    std::optional<std::string> output;   // -o OUTDIR
    std::string to = "native";           // --to
    std::optional<std::string> format;   // --format
    std::optional<std::string> against;  // --against
    bool quiet = false;
    bool drop_uids = false;
    bool deleted = false;
    bool no_hash = false;  // skip the store's SHA-256 (a second full read)
    bool quick = false;    // PST: the node database only
    bool markdown = false;
};

// Throws UsageError with a one-line reason.
[[nodiscard]] Args parse_args(const std::vector<std::string>& argv);

[[nodiscard]] std::string usage();

}  // namespace mailfsck::cli
