#!/usr/bin/env bash
# Installs dependencies, builds, and runs ambient-guard on the bundled example backup.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
echo "== ambient-guard check -f examples/demo-backup.yaml"
./build/ambient-guard check -f examples/demo-backup.yaml || true
