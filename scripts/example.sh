#!/usr/bin/env bash
# Sets up (apt dependencies, build) and runs conceptree's main job on a small built-in example:
# a synthetic corpus with a planted concept hierarchy is written as a folder of .npy embeddings,
# imported into an embedding store, and summarised.
#   scripts/example.sh [OUTPUT_DIR]      (default: ./example)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$repo/example}

"$repo/scripts/setup.sh" "$repo/build"
conceptree="$repo/build/conceptree"

"$conceptree" synth -o "$out" --overwrite --tracks 1200 --families 6 --concepts-per-family 8
"$conceptree" import --format npy-dir "$out/embeddings" -o "$out/store.h5" --overwrite
"$conceptree" info "$out/store.h5"
"$conceptree" info "$out/memberships.tsv" --embeddings "$out/store.h5"
echo
echo "Example written to $out: embeddings/ (.npy per track), store.h5, memberships.tsv, truth.tsv."
echo "Read the store from Python: h5py.File('$out/store.h5')['frames/embedding']"
