#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test under AddressSanitizer + UndefinedBehavior-
# Sanitizer (build-asan/: -O1, line tables only, so it builds about as fast as a release build).
# AG_SANITIZE=0 runs them on the plain release build (build/) instead. Then, when the tests pass,
# scripts/fuzz.sh runs each libFuzzer target for a short fixed time (AG_FUZZ=0 skips it;
# AG_FUZZ_SECONDS sets the time per target). CI (.ci/run) runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
if [[ "${AG_SANITIZE:-1}" == "1" ]]; then
  dir=build-asan
  echo "== build and test with ASan+UBSan ($dir/)"
  BUILD_DIR=$dir BUILD_TYPE=Debug ./scripts/build.sh -DAG_SANITIZE=ON -DAG_BUILD_BENCH=OFF \
    "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
else
  dir=build
  echo "== build and test ($dir/)"
  ./scripts/build.sh
fi
(cd "$dir" && ctest --output-on-failure -j2 --timeout 600)
if [[ "${AG_FUZZ:-1}" == "1" ]]; then
  ./scripts/fuzz.sh
fi
