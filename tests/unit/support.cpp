#include "support.h"

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

namespace mailfsck::test {

namespace {

std::optional<std::filesystem::path> existing_shared(const std::string& area, const std::string& rel) {
    const std::filesystem::path p = std::filesystem::path(MAILFSCK_SHARED_DIR) / area / rel;
    if (std::filesystem::exists(p)) return p;
    const char* require = std::getenv("MAILFSCK_REQUIRE_CORPUS");
    if (require != nullptr && std::string(require) == "1") FAIL("shared " << area << " missing: " << p);
    WARN("skipped: shared " << area << " not found at " << p);
    return std::nullopt;
}

}  // namespace

std::vector<std::filesystem::path> files_ending(const std::filesystem::path& dir, const std::vector<std::string>& suffixes) {
    std::vector<std::filesystem::path> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (e.is_regular_file() && std::any_of(suffixes.begin(), suffixes.end(), [&](const std::string& s) { return name.ends_with(s); }))
            out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string q(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

std::optional<std::filesystem::path> shared_path(const std::string& rel) { return existing_shared("corpus", rel); }

std::optional<std::filesystem::path> shared_research_path(const std::string& rel) {
    return existing_shared("research", rel);
}

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_file(const std::filesystem::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary);
    out << bytes;
}

TempDir::TempDir(const std::string& tag) {
    std::random_device rd;
    path_ = std::filesystem::path(MAILFSCK_BINARY_DIR) / "test-tmp" / (tag + "-" + std::to_string(rd()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path_, ec);
}

RunResult run(const std::string& command) {
    RunResult r;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return r;
    std::array<char, 65536> buf{};
    std::size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
    const int st = ::pclose(pipe);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r;
}

}  // namespace mailfsck::test
