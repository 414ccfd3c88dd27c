#!/usr/bin/env bash
# Installs conceptree's build and test dependencies (Debian 12) and builds it.
# Idempotent: apt is skipped when every package is present; the build is incremental.
#   scripts/setup.sh [BUILD_DIR] [CMAKE_BUILD_TYPE] [extra cmake args...]
#   scripts/setup.sh --packages-only      apt only (scripts/fuzz.sh builds its own configuration)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
packages_only=false
if [ "${1:-}" = "--packages-only" ]; then
  packages_only=true
  shift
fi
build_dir=${1:-$repo/build}
build_type=${2:-Release}
shift $(( $# > 2 ? 2 : $# ))

packages=(
  build-essential cmake ninja-build pkg-config
  libhdf5-dev zlib1g-dev nlohmann-json3-dev libcli11-dev libfmt-dev
  libeigen3-dev liblbfgspp-dev libopenblas-dev libboost-dev
  libsndfile1-dev libsoxr-dev libfftw3-dev libfluidsynth-dev fluid-soundfont-gm
  libgtest-dev libgmock-dev
  python3 python3-numpy python3-scipy python3-h5py python3-sklearn python3-networkx python3-igraph graphviz
  python3-dev python3-venv python3-pybind11 pybind11-dev python3-pytest python3-setuptools python3-wheel
  chromium
  # scripts/fuzz.sh: clang with libFuzzer and the sanitiser runtimes, its OpenMP, llvm-symbolizer.
  clang libclang-rt-14-dev libomp-dev llvm
)
# npm fetches the report's front-end library (d3) at build time. Debian's npm conflicts with a
# nodejs from elsewhere (NodeSource bundles its own npm), so apt is asked only when there is none.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if (( ${#missing[@]} )); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

$packages_only && exit 0

cmake -S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" "$@" >/dev/null
cmake --build "$build_dir" --parallel "$(nproc)"
