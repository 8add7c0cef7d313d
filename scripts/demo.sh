#!/usr/bin/env bash
# Sets up, builds, and repairs the damaged sample store in corpus/demo/, so a
# newcomer sees a real repair and its report. The input is never modified.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)"

out=$(mktemp -d)/repaired
set +e
./build/cli/mailfsck repair corpus/demo/damaged.mbox -o "$out"
status=$?
set -e
echo
echo "exit status $status (fsck(8): 1 = all corrected, 4 = data lost or left uncorrected)"
echo "rebuilt store, lost+found/ and report.json are in $out"
echo "a second scan of the rebuilt store:"
./build/cli/mailfsck scan "$out/damaged.mbox" | tail -1
