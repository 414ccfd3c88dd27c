#!/usr/bin/env bash
# The documented install route, offline: a virtual environment that sees Debian's numpy, and
# `pip install --no-build-isolation --no-index .` from the checkout (reusing BUILD_DIR's CMake
# build), then the package used from that environment, outside the checkout.
#   pip_install.sh SOURCE_DIR BUILD_DIR PYTHON
set -euo pipefail
source_dir=$1 build_dir=$2 python=$3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"$python" -m venv --system-site-packages "$scratch/venv"
cd "$source_dir"
CONCEPTREE_BUILD_DIR="$build_dir" "$scratch/venv/bin/pip" install --quiet --no-build-isolation --no-index . >"$scratch/pip.log" 2>&1 || {
  cat "$scratch/pip.log"
  exit 1
}
cd "$scratch"
"$scratch/venv/bin/python" - <<'PY'
import numpy as np
import conceptree as ct

assert ct.__file__.startswith(__import__("sys").prefix), ct.__file__
rng = np.random.default_rng(0)
data = rng.normal(size=(600, 8)).astype(np.float32)
data[:300, 0] += 3
frames = ct.Frames(data, np.arange(0, 601, 10, dtype=np.uint64), [f"t{i}" for i in range(60)])
concepts = ct.train(frames, {"loud": [f"t{i}" for i in range(30)]}, min_tracks=10, min_negatives=0)
assert concepts.metrics["test_balanced_accuracy"][0] > 0.9, concepts.metrics
print("installed", ct.__version__, concepts)
PY
