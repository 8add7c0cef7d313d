// mailfsck: fsck for mail stores.
#include <csignal>
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"

namespace {

extern "C" void on_interrupt(int /*signal*/) { mailfsck::cli::interrupted = true; }

}  // namespace

int main(int argc, char** argv) {
    using namespace mailfsck::cli;
    std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h" || args[0] == "help")) {
        std::cout << usage();
        return exit_ok;
    }
    if (!args.empty() && args[0] == "--version") {
        std::cout << "mailfsck " << MAILFSCK_VERSION << "\n";
        return exit_ok;
    }
    std::signal(SIGINT, on_interrupt);
    std::signal(SIGTERM, on_interrupt);
    try {
        const Args a = parse_args(args);
        if (a.command == "scan") return run_scan(a);
        if (a.command == "repair") return run_repair(a);
        if (a.command == "verify") return run_verify(a);
        if (a.command == "inspect") return run_inspect(a);
        return run_problems(a);
    } catch (const UsageError& e) {
        std::cerr << "mailfsck: " << e.what() << "\n" << usage();
        return exit_usage;
    } catch (const std::exception& e) {
        std::cerr << "mailfsck: " << e.what() << "\n";
        return exit_operational;
    }
}
