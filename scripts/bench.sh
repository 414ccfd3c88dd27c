#!/usr/bin/env bash
# Builds conceptree and runs the benchmarks side by side with their peers (Debian's Python
# packages, /usr/bin/python3). Corpora are generated once into BENCH_DIR and kept.
#   scripts/bench.sh [BENCH_DIR]      (default: ./build/bench-data)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$repo/build/bench-data}
"$repo/scripts/setup.sh" "$repo/build"
mkdir -p "$work"
/usr/bin/python3 "$repo/bench/train_vs_sklearn.py" --conceptree "$repo/build/conceptree" --workdir "$work/train" \
  --json "$work/train_vs_sklearn.json"
/usr/bin/python3 "$repo/bench/hierarchy_vs_peers.py" --conceptree "$repo/build/conceptree" --workdir "$work/hierarchy"
