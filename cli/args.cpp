#include "args.h"

namespace mailfsck::cli {

std::string usage() {
    return "usage: mailfsck scan STORE... [--json FILE|-] [--format FORMAT] [--no-hash] [--quick] [--deleted] [-q]\n"
           "       mailfsck repair STORE -o OUTDIR [--to native|mbox|maildir|eml|pst] [--drop-uids] [--deleted]\n"
           "                       [--json FILE|-] [--format FORMAT] [-q]\n"
           "       mailfsck verify STORE [--against OTHER] [--json FILE|-] [--format FORMAT] [-q]\n"
           "       mailfsck inspect STORE [--json FILE|-] [--format mbox]\n"
           "       mailfsck problems [--markdown]\n"
           "       mailfsck --version\n"
           "Exit codes (fsck(8)): 0 clean, 1 corrected, 4 uncorrected or data lost, 8 operational error,\n"
           "16 usage error, 32 interrupted.\n"
           "STORE is an mbox file (gzip/bzip2/xz too), a Maildir or Maildir++ tree, an .eml file, a\n"
           "directory of .eml and mbox files (a mail client's local folders), a PST/OST file, or the\n"
           "output directory of a repair; the format is detected from the content, or forced with --format\n"
           "mbox|maildir|eml|pst. --drop-uids: write no IMAP UID lists (clients download everything again).\n"
           "--no-hash: skip the store's SHA-256 fingerprint (a second full read of the file).\n"
           "--quick: PST/OST: check the node database (every page, block and B-tree) without reading\n"
           "every folder and message.\n"
           "--deleted: PST/OST: also recover deleted messages whose blocks survive, into a separate\n"
           "\"Recovered (deleted)\" folder, never among live mail (a privacy decision: off by default).\n";
}

Args parse_args(const std::vector<std::string>& argv) {
    if (argv.empty()) throw UsageError("missing command");
    Args a;
    a.command = argv[0];
    static const std::vector<std::string> commands = {"scan", "repair", "verify", "inspect", "problems"};
    bool known = false;
    for (const auto& c : commands) known = known || c == a.command;
    if (!known) throw UsageError("unknown command '" + a.command + "'");
    for (std::size_t i = 1; i < argv.size(); ++i) {
        const std::string& s = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argv.size()) throw UsageError("option " + s + " needs a value");
            return argv[++i];
        };
        if (s == "--json") {
            a.json = value();
        } else if (s == "-o" || s == "--output") {
            a.output = value();
        } else if (s == "--to") {
            a.to = value();
        } else if (s == "--format") {
            a.format = value();
        } else if (s == "--against") {
            a.against = value();
        } else if (s == "-q" || s == "--quiet") {
            a.quiet = true;
        } else if (s == "--no-hash") {
            a.no_hash = true;
        } else if (s == "--quick") {
            a.quick = true;
        } else if (s == "--drop-uids") {
            a.drop_uids = true;
        } else if (s == "--deleted") {
            a.deleted = true;
        } else if (s == "--markdown") {
            a.markdown = true;
        } else if (s == "--") {
            for (++i; i < argv.size(); ++i) a.stores.push_back(argv[i]);
        } else if (s.size() > 1 && s[0] == '-') {
            throw UsageError("unknown option '" + s + "'");
        } else {
            a.stores.push_back(s);
        }
    }
    if (a.command == "problems") {
        if (!a.stores.empty()) throw UsageError("problems takes no store");
        return a;
    }
    if (a.stores.empty()) throw UsageError(a.command + " needs a STORE");
    if (a.command != "scan" && a.stores.size() > 1) throw UsageError(a.command + " takes exactly one STORE");
    if (a.command == "repair" && !a.output) throw UsageError("repair needs -o OUTDIR");
    if (a.command != "repair" && a.output) throw UsageError("-o is only for repair");
    if (a.against && a.command != "verify") throw UsageError("--against is only for verify");
    if (a.drop_uids && a.command != "repair") throw UsageError("--drop-uids is only for repair");
    if (a.quick && a.command != "scan") throw UsageError("--quick is only for scan");
    if (a.deleted && a.command != "scan" && a.command != "repair") throw UsageError("--deleted is only for scan and repair");
    if (a.deleted && a.quick) throw UsageError("--deleted reads every message; it cannot go with --quick");
    if (a.to != "native" && a.to != "mbox" && a.to != "eml" && a.to != "maildir" && a.to != "pst")
        throw UsageError("--to must be native, mbox, maildir, eml or pst");
    return a;
}

}  // namespace mailfsck::cli
