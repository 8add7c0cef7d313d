#!/usr/bin/env bash
# Static analysis of our own code (not tests): clang-tidy and cppcheck, both
# must be clean. Uses the compile database of build-lint/.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-lint -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMAILFSCK_TESTS=OFF -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
sources=$(git ls-files 'parsers/*.cpp' 'repair/*.cpp' 'cli/*.cpp')
echo "== clang-tidy"
status=0
for f in $sources; do
  clang-tidy-14 -p build-lint --quiet "$f" 2>/dev/null || { echo "clang-tidy: $f"; status=1; }
done
[ $status -eq 0 ] || exit 1
echo "== cppcheck"
# shellcheck disable=SC2086
cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --inline-suppr \
  --std=c++20 --language=c++ -I . --suppress=missingIncludeSystem $sources
echo "lint clean"
