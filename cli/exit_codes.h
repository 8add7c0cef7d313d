// Exit codes, as fsck(8) defines them.
#pragma once

namespace mailfsck::cli {

enum ExitCode : int {
    exit_ok = 0,            // no problems
    exit_corrected = 1,     // problems found and all corrected
    exit_uncorrected = 4,   // problems left uncorrected, or data lost
    exit_operational = 8,   // could not do the job (cannot open, not a store, I/O error)
    exit_usage = 16,        // usage or syntax error
    exit_interrupted = 32,  // cancelled by the user
};

}  // namespace mailfsck::cli
