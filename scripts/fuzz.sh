#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz/: ASan+UBSan, -O1) and runs each one for
# AG_FUZZ_SECONDS (default 15) from its seed corpus: the test data, the example AdmissionReviews
# and fuzz/corpus/. The corpus grows in a scratch directory, never in the tree. A crash stops the
# run with the input saved in build-fuzz/artifacts/ (make it a regression test). Prints, per
# target, the seconds, executions and corpus size. scripts/test.sh runs it after the unit tests.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${AG_FUZZ_SECONDS:-15}
dir=${FUZZ_BUILD_DIR:-build-fuzz}
targets=(json_value admission_review state_loader kubeconfig watch_events http_framing)

if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ not found (scripts/setup.sh installs clang)" >&2
  exit 1
fi
echo "== build the fuzz targets with clang ($dir/)"
AG_TARGETS="${targets[*]/#/fuzz_}" BUILD_DIR=$dir BUILD_TYPE=Debug ./scripts/build.sh \
  -DCMAKE_CXX_COMPILER=clang++ -DAG_FUZZ=ON -DAG_BUILD_TESTS=OFF -DAG_BUILD_BENCH=OFF \
  "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1"

seeds() {
  case $1 in
    json_value) echo examples/admission tests/testdata/audit fuzz/corpus/watch_events ;;
    admission_review) echo examples/admission ;;
    state_loader) echo tests/testdata/check/backup tests/testdata/translate tests/testdata/cost \
      tests/testdata/verify examples/demo-backup.yaml ;;
    kubeconfig) echo fuzz/corpus/kubeconfig ;;
    watch_events) echo fuzz/corpus/watch_events ;;
    http_framing) echo fuzz/corpus/http_framing ;;
  esac
}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$dir/artifacts"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
summary=()
for t in "${targets[@]}"; do
  corpus=$scratch/$t
  mkdir -p "$corpus"
  # Seed files up to 1 MiB (regular files only), flattened into the scratch corpus.
  for s in $(seeds "$t"); do
    find "$s" -type f -size -1024k -print0 | while IFS= read -r -d '' f; do
      cp "$f" "$corpus/$(echo "$f" | tr '/' '_')"
    done
  done
  echo "== fuzz_$t: ${seconds}s from $(ls "$corpus" | wc -l) seeds"
  log=$scratch/$t.log
  if ! "./$dir/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$dir/artifacts/$t-" \
      "$corpus" >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz_$t: FAILED; the input is in $dir/artifacts/" >&2
    exit 1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  summary+=("$(printf '%-18s %4ss %10s execs %6s inputs' "$t" "$seconds" "$execs" \
    "$(ls "$corpus" | wc -l)")")
done
echo "== fuzzing done"
printf '%s\n' "${summary[@]}"
