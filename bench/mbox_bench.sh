#!/usr/bin/env bash
# mbox speed and memory, measured against peers in one run on this machine.
#
#   bash bench/mbox_bench.sh [SIZE_MIB]        (default 1024)
#
# Builds a SIZE_MIB mbox from the shared corpus's real messages, warms the
# page cache, then times: mailfsck's framing pass (Google Benchmark, in
# memory), `mailfsck scan` (everything: framing, MIME, identities, SHA-256),
# `grep -c '^From '`, and Python's mailbox.mbox iterating every message.
# Prints each time and the ratios the issue sets targets for:
#   framing >= 1 GB/s; scan <= 3x grep; scan >= 20x faster than Python;
#   peak RSS < 64 MB whatever the size.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1024}
work=${BENCH_DIR:-$(mktemp -d)}
store=$work/bench.mbox

cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DMAILFSCK_TESTS=OFF >/dev/null
cmake --build build-bench -j "$(nproc)" --target mailfsck bench_framer >/dev/null
[ -f "$store" ] || python3 bench/make_mbox.py "$store" "$size"
cat "$store" > /dev/null

seconds() { python3 bench/timeit.py 3 "$@"; }

read -r grep_s _ <<<"$(seconds grep -c '^From ' "$store")"
read -r scan_s scan_kb <<<"$(seconds ./build-bench/cli/mailfsck scan -q "$store")"
# Python is far slower: time it on the first 128 MiB and scale by size.
# "Iterating mailbox.mbox" is `for message in box`, which parses each
# message (compat32); reading raw bytes with get_bytes is shown as well.
head -c $((128 << 20)) "$store" > "$work/py.mbox"
read -r py_s _ <<<"$(python3 bench/timeit.py 1 python3 -c '
import mailbox, sys
for message in mailbox.mbox(sys.argv[1], create=False):
    pass
' "$work/py.mbox")"
read -r pyraw_s _ <<<"$(python3 bench/timeit.py 1 python3 -c '
import mailbox, sys
box = mailbox.mbox(sys.argv[1], create=False)
for key in box.iterkeys():
    box.get_bytes(key)
' "$work/py.mbox")"
py_bytes=$(stat -c %s "$work/py.mbox")
store_bytes=$(stat -c %s "$store")
framing=$(MAILFSCK_BENCH_MBOX="$store" ./build-bench/bench/bench_framer --benchmark_min_time=1 2>/dev/null | awk '/BM_Framer/ {print $(NF)}')

python3 - "$store_bytes" "$grep_s" "$scan_s" "$scan_kb" "$py_s" "$py_bytes" "$framing" "$pyraw_s" <<'PY'
import sys
size, grep_s, scan_s, scan_kb, py_s, py_bytes, framing, pyraw_s = sys.argv[1:]
size, grep_s, scan_s, py_s, py_bytes, pyraw_s = int(size), float(grep_s), float(scan_s), float(py_s), int(py_bytes), float(pyraw_s)
gb = size / 1e9
print(f"store: {size/2**20:.0f} MiB")
print(f"framing pass (in memory):   {framing}")
print(f"grep -c '^From ':           {grep_s:.2f} s  ({gb/max(grep_s,1e-3):.2f} GB/s)")
print(f"mailfsck scan (full):       {scan_s:.2f} s  ({gb/max(scan_s,1e-3):.2f} GB/s), peak RSS {int(scan_kb)/1024:.1f} MiB")
py_rate = py_bytes / max(py_s, 1e-3)
print(f"python mailbox.mbox:        {py_s:.2f} s for {py_bytes/2**20:.0f} MiB  ({py_rate/1e6:.1f} MB/s) iterating messages")
raw_rate = py_bytes / max(pyraw_s, 1e-3)
print(f"python get_bytes only:      {pyraw_s:.2f} s for {py_bytes/2**20:.0f} MiB  ({raw_rate/1e6:.1f} MB/s)")
print("ratios (targets in brackets):")
print(f"  scan / grep               {scan_s/max(grep_s,1e-3):.2f}x   [<= 3]")
print(f"  python / scan (per byte)  {(size/py_rate)/max(scan_s,1e-3):.1f}x   [>= 20]")
print(f"  python raw / scan         {(size/raw_rate)/max(scan_s,1e-3):.1f}x   (get_bytes, no parsing)")
print(f"  peak RSS                  {int(scan_kb)/1024:.1f} MiB [< 64]")
PY
