#!/usr/bin/env bash
# The whole test suite, as CI runs it: install dependencies, then build and
# run every test twice, once optimised and once under ASan+UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

jobs=$(nproc 2>/dev/null || echo 2)
# CI must exercise the shared corpus; a developer without it gets skips.
if [ "${CI:-}" = "true" ]; then export MAILFSCK_REQUIRE_CORPUS=1; fi

run_suite() {
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 900)
}

echo "== static analysis =="
bash scripts/lint.sh

echo "== release build (RelWithDebInfo) =="
run_suite build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo

echo "== damage campaign (seeded damage on the shared corpus, every repair output verified) =="
corpus=../shared/corpus
if [ -d "$corpus" ]; then
  mail=$corpus/mail
  python3 scripts/damage_campaign.py --build build-test --seeds 2 --jobs "$jobs" "$corpus/pst" "$mail" \
    --directory "$mail/mozilla_releases-comm-central/mailnews/test/data" --directory "$mail/apache_spamassassin/t/data/nice" \
    --directory "$mail/jstedfast_MimeKit/UnitTests/TestData/mbox" --directory "$mail/markov2_perl5-Mail-Box"
elif [ -n "${MAILFSCK_REQUIRE_CORPUS:-}" ]; then
  echo "damage campaign: $corpus is missing" >&2
  exit 1
else
  echo "damage campaign skipped: no $corpus"
fi

echo "== ASan+UBSan build =="
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DMAILFSCK_SANITIZE=ON

echo "== fuzzing gate (libFuzzer, ASan+UBSan, fixed runs from a fixed seed) =="
bash fuzz/ci.sh
