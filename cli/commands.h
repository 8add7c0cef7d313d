// The subcommands. Each returns an fsck(8) exit code.
#pragma once

#include <atomic>

#include "cli/args.h"

namespace mailfsck::cli {

extern std::atomic<bool> interrupted;

int run_scan(const Args& a);
int run_repair(const Args& a);
int run_verify(const Args& a);
int run_inspect(const Args& a);
int run_problems(const Args& a);

}  // namespace mailfsck::cli
