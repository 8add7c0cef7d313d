#!/usr/bin/env python3
"""Best-of-N wall time and peak RSS of a command: timeit.py N [--before SETUP] CMD ARGS...

Prints "<seconds> <peak_rss_kib>". Output of the command is read and discarded. The
best of N runs is the least disturbed by other work on a shared machine. SETUP, a
bash command line, runs untimed before each run (to remove a previous run's output,
or to let earlier writes reach the disk).
"""
import resource
import subprocess
import sys
import time

runs, cmd = int(sys.argv[1]), sys.argv[2:]
setup = None
if cmd[:1] == ["--before"]:
    setup, cmd = cmd[1], cmd[2:]
best, peak = float("inf"), 0
for _ in range(runs):
    if setup is not None:
        subprocess.run(["bash", "-c", setup], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    start = time.perf_counter()
    # A pipe, not /dev/null: GNU grep stops at the first match when its
    # output is /dev/null.
    subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
    best = min(best, time.perf_counter() - start)
    peak = max(peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(f"{best:.4f} {peak}")
