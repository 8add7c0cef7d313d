// Helpers shared by the tests: locating ../shared, reading files, temp dirs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfsck::test {

// ../shared/corpus/<rel>, or nullopt (after a WARN saying why) when the
// shared corpus is absent. With MAILFSCK_REQUIRE_CORPUS=1 an absent corpus
// fails the test instead of skipping it.
std::optional<std::filesystem::path> shared_path(const std::string& rel);
// ../shared/research/<rel> (research notes and crash reproducers), with the
// same skip-or-fail behaviour as shared_path.
std::optional<std::filesystem::path> shared_research_path(const std::string& rel);

// The regular files under `dir` whose names end with one of `suffixes`, sorted.
std::vector<std::filesystem::path> files_ending(const std::filesystem::path& dir, const std::vector<std::string>& suffixes);

// A path quoted for the shell (the tests' own paths: no single quotes).
std::string q(const std::filesystem::path& p);

std::string read_file(const std::filesystem::path& p);
// The low `n` bytes of `v`, little-endian, at bytes[at], and the number
// they hold: how tests read and edit a binary file's fields by hand.
inline void put_le(std::string& bytes, std::uint64_t at, std::uint64_t v, unsigned n) {
    for (unsigned i = 0; i < n; ++i) bytes.at(at + i) = static_cast<char>((v >> (8 * i)) & 0xFF);
}
inline std::uint64_t get_le(std::string_view bytes, std::uint64_t at, unsigned n) {
    std::uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) v |= std::uint64_t{static_cast<unsigned char>(bytes.at(at + i))} << (8 * i);
    return v;
}
void write_file(const std::filesystem::path& p, const std::string& bytes);

// A fresh empty directory under the build tree, removed on destruction.
class TempDir {
public:
    explicit TempDir(const std::string& tag);
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// Runs a shell command, returns its exit status and stdout.
struct RunResult {
    int status = -1;
    std::string out;
};
RunResult run(const std::string& command);

}  // namespace mailfsck::test
