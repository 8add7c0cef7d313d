#!/usr/bin/env bash
# The PST writer against the peers, measured in one run on this machine:
# a PST of SIZE_MIB (default 2048) is built from the shared corpus's largest
# PST/OST files (bench/make_pst.cpp: their messages copied over and over
# through the same salvage and writer as `repair --to pst`), then timed:
#   mailfsck scan          (every layer, every CRC; target >= 5x faster than readpst -e)
#   mailfsck repair --to pst  (target: faster than pffexport exports the same file)
#   readpst -e, pffexport -m all
# with each tool's peak RSS (target for mailfsck: under 256 MB).
#
#   bash bench/pst_writer_bench.sh [SIZE_MIB]
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-2048}
corpus=../shared/corpus/pst
[ -d "$corpus" ] || { echo "pst_writer_bench: $corpus is missing" >&2; exit 1; }
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DMAILFSCK_TESTS=OFF >/dev/null
cmake --build build-bench -j "$(nproc)" --target mailfsck make_pst >/dev/null
work=$(mktemp -d "${TMPDIR:-/tmp}/pst-writer-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
sources=("$corpus/npm_pst-extractor/enron.pst" "$corpus/npm_pst-extractor/pstextractortest@outlook.com.ost"
         "$corpus/aspose-email_Aspose.Email-for-.NET/Outlook.pst")
./build-bench/bench/make_pst "$work/one.pst" 1 "${sources[@]}" >/dev/null
small="$work/one.pst"
small_bytes=$(stat -c %s "$small")
copies=$(( size_mib * 1048576 / small_bytes + 1 ))
# Peak RSS on one copy too: what the big store needs beyond it is what
# grows with the store (the largest message, held while it is written, is
# in both).
read -r _ small_scan_kb <<<"$(python3 bench/timeit.py 1 ./build-bench/cli/mailfsck scan -q --no-hash "$small")"
read -r _ small_pst_kb <<<"$(python3 bench/timeit.py 1 --before "rm -rf '$work/small-out'" \
  ./build-bench/cli/mailfsck repair -q --no-hash --to pst -o "$work/small-out" "$small")"
rm -rf "$small" "$work/small-out"
./build-bench/bench/make_pst "$work/big.pst" "$copies" "${sources[@]}"
big="$work/big.pst"
big_bytes=$(stat -c %s "$big")
echo "store: $big_bytes bytes ($copies copies of ${#sources[@]} corpus stores' messages)"
cat "$big" > /dev/null

out="$work/out"
clean="rm -rf '$out' '$out.export'; sync"
t() { python3 bench/timeit.py 1 --before "$clean" bash -c "$1" _ "$big" "$out"; }
read -r scan_s scan_kb <<<"$(t './build-bench/cli/mailfsck scan -q --no-hash "$1"')"
read -r pst_s pst_kb <<<"$(t './build-bench/cli/mailfsck repair -q --no-hash --to pst -o "$2" "$1"')"
read -r rp_s rp_kb <<<"$(t 'mkdir "$2"; readpst -j 0 -q -e -o "$2" "$1"')"
read -r pff_s pff_kb <<<"$(t 'pffexport -q -m all -t "$2" "$1"')"
bash -c "$clean"
python3 - "$scan_s" "$scan_kb" "$pst_s" "$pst_kb" "$rp_s" "$rp_kb" "$pff_s" "$pff_kb" \
  "$small_bytes" "$small_scan_kb" "$small_pst_kb" "$big_bytes" <<'PY'
import sys
scan, scan_kb, pst, pst_kb, rp, rp_kb, pff, pff_kb, small_b, small_scan_kb, small_pst_kb, big_b = map(float, sys.argv[1:])
rows = [("mailfsck scan --no-hash", scan, scan_kb), ("mailfsck repair --to pst", pst, pst_kb),
        ("readpst -e", rp, rp_kb), ("pffexport -m all", pff, pff_kb)]
for name, s, kb in rows:
    print(f"{name:<26} {s:>9.2f} s  peak RSS {kb / 1024:>8.1f} MiB")
print(f"readpst -e / scan:          {rp / scan:6.2f}x   (target >= 5)")
print(f"pffexport / repair --to pst: {pff / pst:6.2f}x   (target > 1)")
print(f"peak RSS, scan and repair:  {max(scan_kb, pst_kb) / 1024:.1f} MiB (target < 256 MB)")
gib = (big_b - small_b) / 2**30
for name, small_kb, kb in (("scan", small_scan_kb, scan_kb), ("repair --to pst", small_pst_kb, pst_kb)):
    per_gib = (kb - small_kb) / 1024 / gib
    at_20 = kb / 1024 + per_gib * (20 - big_b / 2**30)
    print(f"{name:<16} peak RSS {small_kb / 1024:.1f} MiB on one copy ({small_b / 2**20:.0f} MiB): "
          f"{per_gib:+.1f} MiB per GiB more, so ~{at_20:.0f} MiB for 20 GiB of such mail")
PY
