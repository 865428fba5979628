#!/usr/bin/env bash
# Installs the Debian bookworm packages ambient-guard builds and tests with.
# Idempotent: when every package is already installed it returns without touching apt.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libcpp-httplib-dev libssl-dev nlohmann-json3-dev libsimdjson-dev libyaml-cpp-dev
  prometheus-cpp-dev libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  openssl curl ccache jq
  clang libclang-rt-14-dev  # scripts/fuzz.sh: libFuzzer
)
# Tools the tests and benchmarks drive as real processes (kubectl is preinstalled on CI
# machines; wrk and nginx are only needed by the load benchmark). scripts/e2e.sh also needs Go
# (preinstalled on CI machines) to build kube-apiserver, kubectl and etcd, and jq.
if [[ "${AG_WITH_LOADTEST:-0}" == "1" ]]; then
  PACKAGES+=(wrk nginx-light)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "setup: missing packages: ${missing[*]} (run as root, or install them yourself)" >&2
  exit 1
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
