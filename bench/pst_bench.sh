#!/usr/bin/env bash
# PST/OST node-database check speed against `cat FILE > /dev/null`, measured
# in one run on this machine, on the largest files of the shared corpus.
#
#   bash bench/pst_bench.sh
#
# The node-database check (`scan --quick --no-hash`) reads every page and
# every block, verifies each CRC, signature and B-tree invariant, walks the
# data and subnode trees and the allocation maps. Target: at least half of
# cat's speed on a warm cache, i.e. check time <= 2x cat time. Also shown:
# the full scan (every folder and message read through the LTP layer, and
# the store's SHA-256 on the second core).
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=../shared/corpus/pst
[ -d "$corpus" ] || { echo "pst_bench: $corpus is missing" >&2; exit 1; }
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DMAILFSCK_TESTS=OFF >/dev/null
cmake --build build-bench -j "$(nproc)" --target mailfsck >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
files=("$corpus/npm_pst-extractor/pstextractortest@outlook.com.ost" "$corpus/npm_pst-extractor/enron.pst")
for xz in "$corpus/simiden_pst2john/2003_no-encryption_quickbrownfox.pst.xz"; do
  out="$work/$(basename "$xz" .xz)"
  xz -dc "$xz" > "$out"
  files+=("$out")
done
printf '%-40s %10s %8s %10s %8s %10s %8s\n' file bytes cat_s ndb_s ratio scan_s ratio
for f in "${files[@]}"; do
  cat "$f" > /dev/null
  read -r cat_s _ <<<"$(python3 bench/timeit.py 10 bash -c 'cat "$1" > /dev/null' _ "$f")"
  read -r check_s kb <<<"$(python3 bench/timeit.py 10 ./build-bench/cli/mailfsck scan -q --quick --no-hash "$f")"
  read -r scan_s _ <<<"$(python3 bench/timeit.py 10 ./build-bench/cli/mailfsck scan -q "$f")"
  python3 - "$f" "$cat_s" "$check_s" "$scan_s" "$kb" <<'PY'
import os, sys
f, cat_s, check_s, scan_s, kb = sys.argv[1], *map(float, sys.argv[2:5]), int(sys.argv[5])
print(f"{os.path.basename(f)[:40]:<40} {os.path.getsize(f):>10} {cat_s:>8.4f} {check_s:>10.4f} {cat_s/check_s:>7.2f}x"
      f" {scan_s:>10.4f} {cat_s/scan_s:>7.2f}x  peak RSS {kb/1024:.1f} MiB")
PY
done
echo "ratio = cat time / mailfsck time; target >= 0.5 for the node-database check (--quick --no-hash)"
# Throughput with process start taken out: each file named 20 times in one
# run of each tool (mailfsck checks stores side by side).
echo
printf '%-40s %10s %10s %8s\n' "file x20, one process" cat_s check_s ratio
for f in "${files[@]}"; do
  many=()
  for _ in $(seq 20); do many+=("$f"); done
  read -r cat_s _ <<<"$(python3 bench/timeit.py 5 bash -c 'cat "$@" > /dev/null' _ "${many[@]}")"
  read -r check_s _ <<<"$(python3 bench/timeit.py 5 ./build-bench/cli/mailfsck scan -q --quick --no-hash "${many[@]}")"
  python3 -c 'import os,sys; f,c,k=sys.argv[1],float(sys.argv[2]),float(sys.argv[3]); print(f"{os.path.basename(f)[:40]:<40} {c:>10.4f} {k:>10.4f} {c/k:>7.2f}x")' "$f" "$cat_s" "$check_s"
done
