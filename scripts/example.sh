#!/usr/bin/env bash
# Sets up (apt dependencies, build) and runs conceptree's main job on a small built-in example:
# a synthetic corpus with a planted concept hierarchy is written as a folder of .npy embeddings,
# imported into an embedding store; concepts are learned, related, their hierarchy extracted, and a
# browsable HTML report written.
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
"$conceptree" train -e "$out/store.h5" -m "$out/memberships.tsv" -o "$out/concepts.h5" --overwrite
"$conceptree" similarity -c "$out/concepts.h5" -e "$out/store.h5" -o "$out/similarity.h5" --overwrite
"$conceptree" hierarchy -s "$out/similarity.h5" -o "$out/hierarchy.json" --overwrite
"$conceptree" hierarchy -s "$out/similarity.h5" -o "$out/hierarchy.tsv" --overwrite
"$conceptree" info "$out/hierarchy.json"
"$conceptree" report -c "$out/concepts.h5" -s "$out/similarity.h5" --hierarchy "$out/hierarchy.json" --truth "$out/truth.tsv" \
  -o "$out/report.html" --overwrite
echo
echo "Example written to $out: embeddings/ (.npy per track), store.h5, memberships.tsv, truth.tsv (the"
echo "planted hierarchy), concepts.h5, similarity.h5, hierarchy.json and hierarchy.tsv (the extracted one), and"
echo "report.html, a page to explore it all in a browser."
echo "Read the store from Python: h5py.File('$out/store.h5')['frames/embedding']"
