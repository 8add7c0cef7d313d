#!/usr/bin/env bash
# Maildir speed and memory, measured against peers in one run on this machine.
#
#   bash bench/maildir_bench.sh [COUNT]        (default 100000)
#
# Builds a Maildir of COUNT small messages from the shared corpus's real
# messages (bench/make_maildir.py; kept in $BENCH_DIR when that is set, else
# in a temporary directory removed at the end), warms the page cache with one
# `find | xargs cat`, then times: `find DIR -type f | xargs cat > /dev/null`,
# `mailfsck scan` (everything: names, uidlist, MIME, identities, SHA-256), and
# Python's mailbox.Maildir iterating every message. Prints each time and the
# ratios the issue sets targets for:
#   scan <= 2x find|cat; scan >= 10x faster than Python.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-100000}
if [ -n "${BENCH_DIR:-}" ]; then
    work=$BENCH_DIR
    mkdir -p "$work"
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
fi
store=$work/maildir-$count

if ! { cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DMAILFSCK_TESTS=OFF &&
       cmake --build build-bench -j "$(nproc)" --target mailfsck; } > "$work/build.log" 2>&1; then
    echo "building mailfsck (Release, build-bench) failed:" >&2
    grep -m 10 -e 'error' -e 'FAILED' "$work/build.log" >&2 || tail -n 20 "$work/build.log" >&2
    exit 1
fi
rm -f "$work/build.log"
if [ ! -d "$store" ]; then
    # Built beside and renamed, so an interrupted run leaves no half store.
    rm -rf "$store.partial"
    python3 bench/make_maildir.py "$store.partial" "$count"
    mv "$store.partial" "$store"
fi
messages=$(find "$store/cur" "$store/new" -type f | wc -l)
find "$store" -type f | xargs cat > /dev/null

seconds() { python3 bench/timeit.py 3 "$@"; }

# One untimed scan first: it shows whether mailfsck can scan the store at all
# (exit 0 clean, 4 problems found; 8 and up means it could not do the job).
scan_rc=0
scan_err=$(./build-bench/cli/mailfsck scan -q "$store" 2>&1 >/dev/null) || scan_rc=$?
scan_s=nan scan_kb=0
if [ "$scan_rc" -lt 8 ]; then
    read -r scan_s scan_kb <<<"$(seconds ./build-bench/cli/mailfsck scan -q "$store")"
    if [ "$scan_rc" -ne 0 ]; then
        echo "note: mailfsck scan reported problems in the store (exit $scan_rc)" >&2
    fi
else
    echo "mailfsck scan FAILED on $store (exit $scan_rc); its timing and ratios are left out:" >&2
    printf '%s\n' "$scan_err" | head -5 | sed 's/^/    /' >&2
fi
read -r cat_s _ <<<"$(seconds bash -c 'find "$1" -type f | xargs cat > /dev/null' _ "$store")"
# "Iterating mailbox.Maildir" is `for message in box`: with factory=None each
# message is opened and parsed by email (compat32) into a MaildirMessage.
# Reading raw bytes with get_bytes is shown as well. Each run writes how many
# messages it saw, so a Python that failed part way is caught, not timed.
read -r py_s py_kb <<<"$(python3 bench/timeit.py 1 python3 -c '
import mailbox, sys
n = 0
for message in mailbox.Maildir(sys.argv[1], factory=None, create=False):
    n += 1
open(sys.argv[2], "w").write(str(n))
' "$store" "$work/py.count")"
read -r pyraw_s _ <<<"$(python3 bench/timeit.py 1 python3 -c '
import mailbox, sys
box = mailbox.Maildir(sys.argv[1], factory=None, create=False)
n = 0
for key in box.iterkeys():
    box.get_bytes(key)
    n += 1
open(sys.argv[2], "w").write(str(n))
' "$store" "$work/pyraw.count")"
for f in py.count pyraw.count; do
    seen=$(cat "$work/$f" 2>/dev/null || echo none)
    if [ "$seen" != "$messages" ]; then
        echo "python run ($f) saw $seen messages of $messages: its timing is wrong" >&2
        exit 1
    fi
    rm -f "$work/$f"
done
store_bytes=$(find "$store" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')

python3 - "$messages" "$store_bytes" "$cat_s" "$scan_s" "$scan_kb" "$py_s" "$py_kb" "$pyraw_s" <<'PY'
import sys
n, size, cat_s, scan_s, scan_kb, py_s, py_kb, pyraw_s = sys.argv[1:]
n, size, scan_kb, py_kb = int(n), int(size), int(scan_kb), int(py_kb)
ok = scan_s != "nan"
cat_s, scan_s, py_s, pyraw_s = (max(float(x), 1e-3) for x in (cat_s, scan_s if ok else "1", py_s, pyraw_s))
def rate(s):
    return f"{n/s:,.0f} msg/s, {size/1e6/s:.0f} MB/s"
print(f"store: {n} messages, {size/2**20:.0f} MiB")
print(f"find | xargs cat:           {cat_s:.2f} s  ({rate(cat_s)})")
if ok:
    print(f"mailfsck scan (full):       {scan_s:.2f} s  ({rate(scan_s)}), peak RSS {scan_kb/1024:.1f} MiB")
else:
    print("mailfsck scan (full):       FAILED (see above)")
print(f"python mailbox.Maildir:     {py_s:.2f} s  ({rate(py_s)}) iterating and parsing messages, peak RSS {py_kb/1024:.1f} MiB")
print(f"python get_bytes only:      {pyraw_s:.2f} s  ({rate(pyraw_s)})")
print("ratios (targets in brackets):")
if ok:
    print(f"  scan / find|cat           {scan_s/cat_s:.2f}x   [<= 2]")
    print(f"  python / scan             {py_s/scan_s:.1f}x   [>= 10]")
    print(f"  python raw / scan         {pyraw_s/scan_s:.1f}x   (get_bytes, no parsing)")
else:
    print("  scan / find|cat           n/a     [<= 2]")
    print("  python / scan             n/a     [>= 10]")
    print(f"  python / find|cat         {py_s/cat_s:.1f}x   (for reference while scan fails)")
sys.exit(0 if ok else 1)
PY
