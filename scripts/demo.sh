#!/usr/bin/env bash
# Sets up (apt dependencies, build) and runs conceptree's main job on built-in defaults: renders a
# labelled audio corpus with a known hierarchy, then embeds, trains, relates, extracts the
# hierarchy, evaluates it against the known answer and writes an interactive report.
#   scripts/demo.sh [OUTPUT_DIR] [conceptree demo options...]      (default: ./demo)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$repo/demo}
shift $(( $# > 0 ? 1 : 0 ))

"$repo/scripts/setup.sh" "$repo/build"
"$repo/build/conceptree" demo -o "$out" "$@"
