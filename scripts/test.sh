#!/usr/bin/env bash
# Sets up (apt dependencies, build) and runs conceptree's whole test suite twice: an optimised
# build, then a Debug build under AddressSanitizer + UndefinedBehaviorSanitizer; then replays the
# fuzzers' regression inputs and gives each fuzz target a short run with a fixed seed (docs/fuzzing.md).
#   scripts/test.sh            all three
#   scripts/test.sh --fast     the optimised build only
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)

"$repo/scripts/setup.sh" "$repo/build"
ctest --test-dir "$repo/build" --output-on-failure --parallel "$jobs" --timeout 600

if [ "${1:-}" != "--fast" ]; then
  "$repo/scripts/setup.sh" "$repo/build-sanitize" Debug -DCONCEPTREE_SANITIZE=ON
  ctest --test-dir "$repo/build-sanitize" --output-on-failure --parallel "$jobs" --timeout 900
  "$repo/scripts/fuzz.sh" --ci
else
  echo "test: --fast: the sanitised pass and the fuzz targets' short run (scripts/fuzz.sh --ci) are skipped" >&2
fi
