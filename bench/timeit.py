#!/usr/bin/env python3
"""Best-of-N wall time and peak RSS of a command: timeit.py N CMD ARGS...

Prints "<seconds> <peak_rss_kib>". Output of the command is read and discarded. The
best of N runs is the least disturbed by other work on a shared machine.
"""
import resource
import subprocess
import sys
import time

runs, cmd = int(sys.argv[1]), sys.argv[2:]
best, peak = float("inf"), 0
for _ in range(runs):
    start = time.perf_counter()
    # A pipe, not /dev/null: GNU grep stops at the first match when its
    # output is /dev/null.
    subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
    best = min(best, time.perf_counter() - start)
    peak = max(peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(f"{best:.4f} {peak}")
