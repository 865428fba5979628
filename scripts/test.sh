#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test under AddressSanitizer + UndefinedBehavior-
# Sanitizer (build-asan/: -O1, line tables only, so it builds about as fast as a release build).
# AG_SANITIZE=0 runs them on the plain release build (build/) instead. Then the end-to-end tests
# (scripts/e2e.sh: a real kube-apiserver and etcd) run that same ambient-guard binary; AG_E2E=0
# skips them. The first run on a machine builds kube-apiserver, kubectl and etcd with Go (about 20
# minutes on 2 cores, cached afterwards). The output ends with ctest's summary, then e2e's
# "N passed, M failed". CI (.ci/run) runs exactly this.
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
unit=0
(cd "$dir" && ctest --output-on-failure -j2 --timeout 600) || unit=$?
e2e=0
if [[ "${AG_E2E:-1}" == "1" ]]; then
  echo "== end-to-end tests against kube-apiserver and etcd (scripts/e2e.sh, $dir/ambient-guard)"
  AG_E2E_BINARY="$dir/ambient-guard" ./scripts/e2e.sh || e2e=$?
fi
if ((unit != 0 || e2e != 0)); then
  echo "== FAILED: unit tests status $unit, end-to-end tests status $e2e"
  exit 1
fi
