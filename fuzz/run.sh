#!/usr/bin/env bash
# Runs every fuzz target with libFuzzer for a bounded time.
#
#   bash fuzz/run.sh [SECONDS_PER_TARGET [TARGET...]]     (default 60 s, every target)
#
# Seeds: the project's own corpus/fuzz-seeds/<target>/ and corpus/regressions/
# plus, read in place (never copied), the shared corpus of real mail. New
# interesting inputs are kept in build-fuzz/corpus/<target>/ (not committed);
# a crash leaves build-fuzz/crash-* : minimise it into corpus/regressions/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
only=("$@")
# shellcheck source=fuzz/common.sh
. fuzz/common.sh
build_fuzz

status=0
for bin in build-fuzz/fuzz/fuzz_*; do
  target=$(basename "$bin")
  if [ ${#only[@]} -gt 0 ] && [[ ! " ${only[*]} " == *" $target "* ]]; then continue; fi
  mkdir -p "build-fuzz/corpus/$target" "corpus/fuzz-seeds/$target"
  seeds=("corpus/fuzz-seeds/$target" corpus/regressions)
  [ -d "build-fuzz/seeds/$target" ] && seeds+=("build-fuzz/seeds/$target")
  if [ -d "$shared" ]; then
    case $target in
      # rjohnsondev_java-libpst: contacts, appointments, a distribution list.
      fuzz_pst_*) seeds+=("$shared/../pst/emk_pstsdk" "$shared/../pst/mooijtech_go-pst" "$shared/../pst/microsoft_outlook-pst-rs"
                          "$shared/../pst/rjohnsondev_java-libpst") ;;
      *) seeds+=("$shared/mozilla_releases-comm-central/mailnews/test/data" "$shared/stalwartlabs_mail-parser/resources/eml") ;;
    esac
  fi
  max_len=$(max_len_for "$target")
  echo "== $target (${secs}s)"
  if ! (cd build-fuzz && "../$bin" -max_total_time="$secs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
        -dict="../$(dict_for "$target")" -print_final_stats=1 "corpus/$target" "${seeds[@]/#/../}" 2>&1 \
        | grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|crash-|timeout-|leak-'); then
    :
  fi
  ls build-fuzz/crash-* build-fuzz/timeout-* build-fuzz/leak-* 2>/dev/null && status=1
done
exit $status
