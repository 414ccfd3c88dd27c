#!/usr/bin/env bash
# `cmake --install` gives a package another CMake project finds: examples/cpp builds against the
# installed library with find_package(conceptree) and recovers its planted hierarchy.
#   install_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source_dir=$1 build_dir=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cmake --install "$build_dir" --prefix "$scratch/prefix" >/dev/null
cmake -S "$source_dir/examples/cpp" -B "$scratch/example" -G Ninja -DCMAKE_PREFIX_PATH="$scratch/prefix" >/dev/null
cmake --build "$scratch/example" >/dev/null
"$scratch/example/hierarchy_from_arrays" | tee "$scratch/tree.tsv"
grep -qx $'violin\tstrings' "$scratch/tree.tsv"
grep -qx $'cello\tstrings' "$scratch/tree.tsv"
