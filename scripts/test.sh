#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test; then the same tests under
# AddressSanitizer + UndefinedBehaviorSanitizer (skip with AG_SANITIZE=0).
# The output ends with ctest's summary of the last run.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
status=0
if [[ "${AG_SANITIZE:-1}" == "1" ]]; then
  echo "== build and test with ASan+UBSan (build-asan/)"
  BUILD_DIR=build-asan BUILD_TYPE=Debug ./scripts/build.sh -DAG_SANITIZE=ON -DAG_BUILD_BENCH=OFF
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
     ctest --output-on-failure -j2 --timeout 600) || status=1
fi
echo "== build and test (build/)"
./scripts/build.sh
(cd build && ctest --output-on-failure -j2 --timeout 600) || status=1
exit $status
