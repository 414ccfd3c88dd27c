#!/usr/bin/env bash
# Sets up (apt dependencies, build) and runs conceptree's whole test suite twice: an optimised
# build, then a Debug build under AddressSanitizer + UndefinedBehaviorSanitizer.
#   scripts/test.sh            both
#   scripts/test.sh --fast     the optimised build only
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)

"$repo/scripts/setup.sh" "$repo/build"
ctest --test-dir "$repo/build" --output-on-failure --parallel "$jobs" --timeout 600

if [ "${1:-}" != "--fast" ]; then
  "$repo/scripts/setup.sh" "$repo/build-sanitize" Debug -DCONCEPTREE_SANITIZE=ON
  ctest --test-dir "$repo/build-sanitize" --output-on-failure --parallel "$jobs" --timeout 900
fi
