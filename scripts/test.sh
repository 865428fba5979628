#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test (build/). AG_SANITIZE=1 runs them under
# AddressSanitizer + UndefinedBehaviorSanitizer instead (build-asan/). The output ends with
# ctest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
if [[ "${AG_SANITIZE:-0}" == "1" ]]; then
  dir=build-asan
  echo "== build and test with ASan+UBSan ($dir/)"
  BUILD_DIR=$dir BUILD_TYPE=Debug ./scripts/build.sh -DAG_SANITIZE=ON -DAG_BUILD_BENCH=OFF
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
else
  dir=build
  echo "== build and test ($dir/)"
  ./scripts/build.sh
fi
cd "$dir"
exec ctest --output-on-failure -j2 --timeout 600
