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
# PyTorch is a peer for the backbone benchmark only, so it is installed here rather than by setup.
if ! dpkg-query -W -f='${Status}' python3-torch 2>/dev/null | grep -q "install ok installed"; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends python3-torch >/dev/null
fi
/usr/bin/python3 "$repo/bench/backbone_vs_torch.py" --build "$repo/build"
/usr/bin/python3 "$repo/bench/bootstrap_cost.py" --build "$repo/build" --workdir "$work/train"
/usr/bin/python3 "$repo/bench/python_overhead.py" --build "$repo/build" --workdir "$work/train"
