// mailfsck-damage: writes a damaged copy of a clean store and a JSON
// manifest of every injected damage, for bench scripts and fixtures.
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/damage/damage.h"

namespace {

namespace fs = std::filesystem;
using namespace mailfsck::damage;

constexpr std::string_view usage =
    "usage: mailfsck-damage --seed N --op OP [--count K] [--within BEGIN:END] IN OUT MANIFEST.json\n"
    "  OP: zero-page zero-sector bitflip truncate random-run destroy-separator unescaped-from\n"
    "  --within limits where damage starts to bytes [BEGIN, END) of IN.\n"
    "  IN is only read; OUT and MANIFEST are written. The same arguments give the same output.\n";

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

std::uint64_t number(std::string_view text, std::string_view what) {
    std::uint64_t n = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || ptr != text.data() + text.size()) throw UsageError("bad " + std::string(what));
    return n;
}

Window window(std::string_view text) {
    const std::size_t colon = text.find(':');
    if (colon == std::string_view::npos) throw UsageError("--within wants BEGIN:END");
    return {number(text.substr(0, colon), "--within begin"), number(text.substr(colon + 1), "--within end")};
}

struct Args {
    Request request;
    bool seeded = false;
    bool op_given = false;
    std::vector<std::string> paths;
};

Args parse(int argc, char** argv) {
    Args a;
    const std::vector<std::string_view> v(argv + 1, argv + argc);
    for (std::size_t i = 0; i < v.size(); ++i) {
        const auto value = [&]() -> std::string_view {
            if (i + 1 >= v.size()) throw UsageError(std::string(v[i]) + " needs a value");
            return v[++i];
        };
        if (v[i] == "--seed") {
            a.request.seed = number(value(), "--seed");
            a.seeded = true;
        } else if (v[i] == "--op") {
            const std::string_view name = value();
            const auto op = parse_op(name);
            if (!op) throw UsageError("unknown --op " + std::string(name));
            a.request.op = *op;
            a.op_given = true;
        } else if (v[i] == "--count") {
            a.request.count = static_cast<unsigned>(number(value(), "--count"));
        } else if (v[i] == "--within") {
            a.request.window = window(value());
        } else if (v[i].starts_with("--")) {
            throw UsageError("unknown option " + std::string(v[i]));
        } else {
            a.paths.emplace_back(v[i]);
        }
    }
    // An implicit seed would make a run impossible to reproduce.
    if (!a.seeded || !a.op_given) throw UsageError("--seed and --op are required");
    if (a.paths.size() != 3) throw UsageError("want IN OUT MANIFEST.json");
    if (a.request.count == 0) throw UsageError("--count must be at least 1");
    return a;
}

std::string read_input(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + p.string());
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_output(const fs::path& p, std::string_view bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) throw std::runtime_error("cannot write " + p.string());
}

void refuse_overwriting_input(const fs::path& in, const fs::path& out) {
    std::error_code ec;
    if (fs::exists(out, ec) && fs::equivalent(in, out, ec))
        throw UsageError("OUT is the input file; the input is never modified");
}

int run(const Args& a) {
    const fs::path in = a.paths[0];
    const fs::path out = a.paths[1];
    const fs::path manifest_path = a.paths[2];
    refuse_overwriting_input(in, out);
    refuse_overwriting_input(in, manifest_path);
    const std::string clean = read_input(in);
    const Damaged damaged = inject(clean, a.request);
    nlohmann::json m = manifest(a.request, clean, damaged);
    m["input"]["path"] = in.string();
    m["output"]["path"] = out.string();
    write_output(out, damaged.bytes);
    write_output(manifest_path, m.dump(2) + "\n");
    if (damaged.injections.size() < a.request.count)
        std::cerr << "mailfsck-damage: only " << damaged.injections.size() << " of " << a.request.count
                  << " injections had a place\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse(argc, argv));
    } catch (const UsageError& e) {
        std::cerr << "mailfsck-damage: " << e.what() << "\n" << usage;
        return 16;
    } catch (const std::exception& e) {
        std::cerr << "mailfsck-damage: " << e.what() << "\n";
        return 8;
    }
}
