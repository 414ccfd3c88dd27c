#!/usr/bin/env bash
# Fuzzes conceptree's input readers with libFuzzer (docs/fuzzing.md): installs clang if needed,
# builds the instrumented configuration in build-fuzz/, writes the seed corpora, runs each harness
# and prints a table of what it found. Exit status 1 when any target has a finding.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   explore, 300 s a target by default: the corpus
#                                                      grows in build-fuzz/corpus/<target>, crashes,
#                                                      hangs (> 10 s) and OOMs land in build-fuzz/findings/<target>
#   scripts/fuzz.sh --ci [RUNS] [TARGET...]            reproducible: every fuzz/regressions/<target>
#                                                      input replayed, then RUNS mutations (default 500)
#                                                      from the seeds with a fixed seed (scripts/test.sh)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$repo/build-fuzz

ci=false
if [ "${1:-}" = "--ci" ]; then
  ci=true
  shift
fi
if $ci; then budget=${1:-500} unit=runs; else budget=${1:-300} unit=seconds; fi
if [ $# -gt 0 ]; then shift; fi
if ! [[ $budget =~ ^[0-9]+$ ]] || (( budget == 0 )); then
  echo "fuzz: '$budget' is not a positive number of $unit" >&2
  exit 2
fi

all_targets=(npy tensor_proto memberships_tsv memberships_json hierarchy_json truth_tsv labels_tsv evaluation_json
             store_h5 concept_set_h5 similarity_h5 audio)
targets=("$@")
(( ${#targets[@]} )) || targets=("${all_targets[@]}")
for target in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $target "* ]] || { echo "fuzz: no target '$target' (targets: ${all_targets[*]})" >&2; exit 2; }
done

"$repo/scripts/setup.sh" --packages-only
launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
CC=clang CXX=clang++ cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONCEPTREE_FUZZ=ON \
  -DCONCEPTREE_TESTS=OFF -DCONCEPTREE_PYTHON=OFF "${launcher[@]}" >/dev/null
cmake --build "$build" --parallel "$(nproc)" --target fuzzers
rm -rf "$build/seeds"
"$build/fuzz/make_seeds" "$build/seeds"

# Findings name the source line; leaks are not what the harnesses look for (libFuzzer's leak check
# reruns inputs and slows every target).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:symbolize=1}
logs=$build/logs
mkdir -p "$logs"
rows=()
any_finding=false

# The harnesses' scratch files (fuzz/fuzz_support.hpp), removed with whatever crashed processes left.
scratch_base=/dev/shm
[ -d "$scratch_base" ] && [ -w "$scratch_base" ] || scratch_base=${TMPDIR:-/tmp}
CONCEPTREE_FUZZ_SCRATCH=$(mktemp -d "$scratch_base/conceptree-fuzz-run.XXXXXX")
export CONCEPTREE_FUZZ_SCRATCH
trap 'rm -rf "$CONCEPTREE_FUZZ_SCRATCH"' EXIT

run_fuzzer() {
  local log=$1
  shift
  "$@" >"$log" 2>&1
}

for target in "${targets[@]}"; do
  fuzzer=$build/fuzz/${target}_fuzzer
  findings=$build/findings/$target
  log=$logs/$target.log
  mkdir -p "$findings"
  regressions=()
  [ -d "$repo/fuzz/regressions/$target" ] && mapfile -t regressions < <(find "$repo/fuzz/regressions/$target" -type f | sort)
  hand_seeds=()
  [ -d "$repo/fuzz/seeds/$target" ] && hand_seeds=("$repo/fuzz/seeds/$target")
  limits=(-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$findings/")
  if $ci; then
    # Known findings first: each must now pass. Then a fixed mutation sequence from the seeds; what
    # it adds to the corpus goes to a scratch folder, so the next run starts from the same place.
    failed=0
    for input in "${regressions[@]}"; do
      run_fuzzer "$log.replay" "$fuzzer" "${limits[@]}" "$input" || { failed=$((failed + 1)); echo "fuzz: $target: regression ${input#"$repo"/} fails:" >&2; tail -n 30 "$log.replay" >&2; }
    done
    scratch_corpus=$(mktemp -d)
    status=0
    run_fuzzer "$log" "$fuzzer" "${limits[@]}" -seed=1 -runs="$budget" -print_final_stats=1 \
      "$scratch_corpus" "$build/seeds/$target" "${hand_seeds[@]}" || status=$?
    rm -rf "$scratch_corpus"
    if (( status != 0 )); then
      failed=$((failed + 1))
      echo "fuzz: $target failed (status $status); the end of $log:" >&2
      tail -n 40 "$log" >&2
    fi
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    coverage=$(sed -n 's/^#[0-9]*[[:space:]]*DONE *cov: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
    inited=$(sed -n 's/^#[0-9]*[[:space:]]*INITED *cov: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
    # A run that ended on a finding has no DONE line.
    new_coverage=-
    [ -n "$coverage" ] && [ -n "$inited" ] && new_coverage=$(( coverage - inited ))
    found=$failed
  else
    # Fork mode goes on after a crash, a hang or an OOM (each saved to findings/), so one run can
    # find several; the grown corpus is kept for the next run.
    corpus=$build/corpus/$target
    mkdir -p "$corpus"
    marker=$(mktemp)
    run_fuzzer "$log" "$fuzzer" "${limits[@]}" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
      -max_total_time="$budget" "$corpus" "$build/seeds/$target" "${hand_seeds[@]}" || true
    # Fork mode's status lines: "#N: cov: C ft: F corp: ... exec/s: E oom/timeout/crash: ... time: ..."
    executions=$(sed -n 's/^#\([0-9]*\): cov:.*/\1/p' "$log" | tail -n 1)
    first=$(sed -n 's/^#[0-9]*: cov: \([0-9]*\).*/\1/p' "$log" | head -n 1)
    last=$(sed -n 's/^#[0-9]*: cov: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
    new_coverage=$(( ${last:-0} - ${first:-0} ))
    found=$(find "$findings" -type f -newer "$marker" | wc -l)
    rm -f "$marker"
  fi
  (( found == 0 )) || any_finding=true
  rows+=("$(printf '%-18s %12s %13s %9s' "$target" "${executions:-?}" "$new_coverage" "$found")")
done

printf '\n%-18s %12s %13s %9s\n' target executions "new coverage" findings
printf '%s\n' "${rows[@]}"
if $any_finding; then
  if $ci; then
    echo "fuzz: failures above; logs in $logs" >&2
  else
    echo "fuzz: findings in $build/findings/<target>; logs in $logs. Keep each in fuzz/regressions/<target>/ (docs/fuzzing.md)." >&2
  fi
  exit 1
fi
