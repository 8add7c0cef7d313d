#!/usr/bin/env bash
# PST/OST node-database check speed against `cat FILE > /dev/null`, measured
# in one run on this machine, on the largest files of the shared corpus.
#
#   bash bench/pst_bench.sh
#
# The check reads every page and every block, verifies each CRC, signature
# and B-tree invariant, walks the data and subnode trees and the allocation
# maps, and hashes the file (SHA-256, on the second core). Target: at least
# half of cat's speed on a warm cache, i.e. scan time <= 2x cat time.
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
printf '%-48s %10s %10s %10s %8s\n' file bytes cat_s scan_s ratio
for f in "${files[@]}"; do
  cat "$f" > /dev/null
  read -r cat_s _ <<<"$(python3 bench/timeit.py 10 bash -c 'cat "$1" > /dev/null' _ "$f")"
  read -r scan_s kb <<<"$(python3 bench/timeit.py 10 ./build-bench/cli/mailfsck scan -q "$f")"
  python3 - "$f" "$cat_s" "$scan_s" "$kb" <<'PY'
import os, sys
f, cat_s, scan_s, kb = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
print(f"{os.path.basename(f)[:48]:<48} {os.path.getsize(f):>10} {cat_s:>10.4f} {scan_s:>10.4f} {cat_s/scan_s:>7.2f}x   peak RSS {kb/1024:.1f} MiB")
PY
done
echo "ratio = cat time / scan time; target >= 0.5 (the scan reads at no less than half cat's speed)"
