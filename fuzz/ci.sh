#!/usr/bin/env bash
# The fuzzing gate CI runs: every target under libFuzzer with ASan+UBSan for
# a fixed number of executions from a fixed seed, over its seeds, the
# reproducers of corpus/regressions/ and (read in place) the shared corpus.
# A fixed count rather than a time makes a run repeatable (with the reload
# and ASLR turned off, below): the same checkout executes the same inputs.
#
#   bash fuzz/ci.sh [RUNS_SCALE]      (default 1: under 10 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:-1}
# shellcheck source=fuzz/common.sh
. fuzz/common.sh
build_fuzz

# Executions per target, for about half a minute each here: whole-store
# targets read inputs of up to 300 KB through every layer and run a few
# hundred a second; the PST layer targets tens of thousands.
runs_for() {
  case $1 in
    fuzz_pst_scan|fuzz_pst_repair) echo $((12000 * scale)) ;;
    fuzz_mbox_roundtrip) echo $((20000 * scale)) ;;
    fuzz_mbox_scan) echo $((60000 * scale)) ;;
    # Every other input is also written as a PST and rescanned.
    fuzz_message_file) echo $((20000 * scale)) ;;
    fuzz_pst_header|fuzz_pst_btree|fuzz_pst_block|fuzz_pst_ltp) echo $((1000000 * scale)) ;;
    # Its inputs grow to kilobytes of RTF, each decompressed twice.
    fuzz_pst_rtf) echo $((400000 * scale)) ;;
    # About 170 a second under ASan at inputs of up to 64 KiB.
    fuzz_mbox_framer) echo $((50000 * scale)) ;;
    *) echo $((150000 * scale)) ;;
  esac
}

# A fixed seed is not enough for the same commit to run the same inputs:
# libFuzzer rereads its corpus directory every few seconds (-reload), and the
# coverage an input gives moves with where ASLR puts things (measured in the
# thirty-second session: one input's feature count differed run to run, and
# two runs of 1,500 grew different corpora; with both off they grew the same
# one). setarch needs a personality call that some containers refuse: the
# gate then runs with ASLR, and says so.
norandom=()
if setarch "$(uname -m)" -R true 2>/dev/null; then
  norandom=(setarch "$(uname -m)" -R)
else
  echo "fuzzing gate: ASLR cannot be turned off here; a run may not repeat itself even in this checkout"
fi

# The input a finding was made with, on one line: a run is repeatable only
# within one checkout (the checkout's path is in the binary and the seed
# list, and moves allocations), so a finding on the CI machine is replayed
# here from this line: base64 -d | xz -d > input. Capped: the largest gate
# seed, a 271 KB PST, takes about 140 KB.
print_input() {
  local work=$1 name=$2
  [ -n "$name" ] && [ -f "$work/$name" ] || return 0
  local packed
  packed=$(xz -9 -c "$work/$name" | base64 -w0)
  if [ "${#packed}" -le 400000 ]; then
    echo "input (xz, base64; $(sha1sum <"$work/$name" | cut -c1-40)): $packed"
  else
    echo "input: $(stat -c %s "$work/$name") bytes, too large to print; sha1 $(sha1sum <"$work/$name" | cut -c1-40)"
  fi
}

# One target's run; prints its line and fails on a finding.
run_target() {
  local target=$1 work=build-fuzz/ci/$1
  rm -rf "$work" && mkdir -p "$work/corpus"
  local seeds=("corpus/fuzz-seeds/$target" corpus/regressions "build-fuzz/seeds/$target")
  if [ -d "$shared" ]; then
    case $target in
      fuzz_pst_scan|fuzz_pst_repair) seeds+=("$shared/../pst/emk_pstsdk" "$shared/../pst/mooijtech_go-pst") ;;
      fuzz_pst_*) ;;
      *) seeds+=("$shared/stalwartlabs_mail-parser/resources/eml") ;;
    esac
  fi
  # Seeds go in as one list in a fixed order: directories read in readdir
  # order, which differs between file systems, would shuffle differently on
  # every machine, and a finding in CI could not be replayed here.
  local s
  for s in "${seeds[@]}"; do
    [ -d "$s" ] && find "$(realpath "$s")" -type f -size +0 | LC_ALL=C sort
  done >"$work/seeds.txt"
  if grep -q , "$work/seeds.txt"; then
    echo "$target: a seed's path has a comma, which -seed_inputs cannot take: $(grep -m1 , "$work/seeds.txt")"
    return 1
  fi
  paste -sd, "$work/seeds.txt" >"$work/seeds"
  local start
  start=$(date +%s)
  if (cd "$work" && "${norandom[@]}" "../../fuzz/$target" -runs="$(runs_for "$target")" -seed=1 -reload=0 \
        -max_len="$(max_len_for "$target")" -timeout=20 -rss_limit_mb=2048 -dict="$(realpath "../../../$(dict_for "$target")")" -print_final_stats=1 \
        -seed_inputs=@seeds corpus >log 2>&1); then
    echo "$target: $(grep -o 'number_of_executed_units: [0-9]*' "$work/log" | cut -d' ' -f2) executions, $(($(date +%s) - start)) s, nothing found"
  else
    echo "$target: FINDING (build-fuzz/ci/$target/log)"
    # What it was and how to make it again: the report, the round-trip
    # check's findings, the mutations and where libFuzzer wrote the input.
    grep -E 'ERROR|SUMMARY|round trip|terminate called|what\(\)' "$work/log" | head -5
    grep -E '^  [A-Z]+-[0-9]+ @' "$work/log" | head -10
    grep -E 'MS: [0-9]+ ' "$work/log" | tail -1
    grep -E 'Test unit written' "$work/log" | head -1
    print_input "$work" "$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$work/log" | head -1)"
    return 1
  fi
}

# The targets run side by side, one a core: each is deterministic on its
# own, so running them together changes no result, only the wall time.
jobs=$(nproc)
status=0
running=0
for bin in build-fuzz/fuzz/fuzz_*; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || status=1
    running=$((running - 1))
  fi
  run_target "$(basename "$bin")" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  wait -n || status=1
  running=$((running - 1))
done
exit $status
