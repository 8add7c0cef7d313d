// mailfsck-damage: writes a damaged copy of a clean store (an mbox or other
// single file, or a Maildir tree) and a JSON manifest of every injected
// damage, for bench scripts and fixtures.
#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/damage/damage.h"
#include "tests/damage/damage_maildir.h"

namespace {

namespace fs = std::filesystem;
using namespace mailfsck::damage;

constexpr std::string_view usage =
    "usage: mailfsck-damage --seed N --op OP [--count K] [--within BEGIN:END] IN OUT MANIFEST.json\n"
    "       mailfsck-damage --maildir --seed N --op MAILDIR-OP IN_DIR OUT_DIR MANIFEST.json\n"
    "  OP: zero-page zero-sector bitflip truncate random-run zero-tail misplaced-sector repeated-run\n"
    "      dropped-run odd-run (any file);\n"
    "      destroy-separator unescaped-from (mbox);\n"
    "      pst-zero-bbt-root pst-zero-nbt-root pst-zero-header pst-header-crc pst-amap-bit\n"
    "      pst-zero-amap pst-zero-bbt-leaf pst-zero-nbt-leaf (PST/OST)\n"
    "  MAILDIR-OP: truncate-file zero-file stray-tmp wrong-size duplicate-base remove-uidlist-line\n"
    "  --within limits where damage starts to bytes [BEGIN, END) of IN.\n"
    "  --maildir copies the tree IN_DIR to OUT_DIR, which must not exist, and damages the copy.\n"
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
    bool maildir = false;
    bool seeded = false;
    bool single_file_options = false;  // --count or --within, which a Maildir op has no use for
    std::optional<std::string> op;
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
            a.op = std::string(value());
        } else if (v[i] == "--maildir") {
            a.maildir = true;
        } else if (v[i] == "--count") {
            a.request.count = static_cast<unsigned>(number(value(), "--count"));
            a.single_file_options = true;
        } else if (v[i] == "--within") {
            a.request.window = window(value());
            a.single_file_options = true;
        } else if (v[i].starts_with("--")) {
            throw UsageError("unknown option " + std::string(v[i]));
        } else {
            a.paths.emplace_back(v[i]);
        }
    }
    // An implicit seed would make a run impossible to reproduce.
    if (!a.seeded || !a.op) throw UsageError("--seed and --op are required");
    // The op is looked up once the store kind is known: --maildir may come last.
    if (a.maildir) {
        if (!parse_maildir_op(*a.op)) throw UsageError("unknown Maildir --op " + *a.op);
        if (a.single_file_options) throw UsageError("--count and --within do not apply to --maildir");
        if (a.paths.size() != 3) throw UsageError("want IN_DIR OUT_DIR MANIFEST.json");
        return a;
    }
    const auto op = parse_op(*a.op);
    if (!op)
        throw UsageError("unknown --op " + *a.op + (parse_maildir_op(*a.op) ? " (a Maildir op: add --maildir)" : ""));
    a.request.op = *op;
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

// The manifest may not land inside either tree: inside IN_DIR it would
// modify the input, inside OUT_DIR it would pass for part of the damaged
// store.
int run_maildir(const Args& a) {
    const fs::path in = a.paths[0];
    const fs::path out = a.paths[1];
    const fs::path manifest_path = a.paths[2];
    if (!fs::is_directory(in)) throw UsageError("IN_DIR is not a directory: " + in.string());
    std::error_code ec;
    if (fs::symlink_status(out, ec).type() != fs::file_type::not_found)
        throw UsageError("OUT_DIR exists: " + out.string() + "; it must not, nothing is overwritten");
    const fs::path manifest_at = fs::weakly_canonical(fs::absolute(manifest_path));
    for (const fs::path& tree : {fs::weakly_canonical(fs::absolute(in)), fs::weakly_canonical(fs::absolute(out))}) {
        if (std::mismatch(tree.begin(), tree.end(), manifest_at.begin(), manifest_at.end()).first == tree.end())
            throw UsageError("MANIFEST.json may not lie inside IN_DIR or OUT_DIR");
    }
    nlohmann::json m;
    try {
        m = damage_maildir(in, out, {*parse_maildir_op(*a.op), a.request.seed});
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
    m["input"]["path"] = in.string();
    m["output"]["path"] = out.string();
    // Names are bytes; one that is not UTF-8 is written with U+FFFD rather
    // than failing the whole run.
    write_output(manifest_path, m.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    if (!m["injected"].get<bool>())
        std::cerr << "mailfsck-damage: nothing injected: " << m["reason"].get<std::string>() << "\n";
    return 0;
}

int run(const Args& a) {
    if (a.maildir) return run_maildir(a);
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
