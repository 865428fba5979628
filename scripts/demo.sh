#!/usr/bin/env bash
# Installs dependencies, builds, and runs ambient-guard on the bundled example cluster:
#   1. the pre-flight `check` of examples/demo-backup.yaml;
#   2. the webhook (`serve`, embedded default: a certificate generated in memory, the example
#      cluster as state) answering a denied, a warned and an allowed AdmissionReview over TLS,
#      then a graceful SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
AG_TARGETS=ambient-guard ./scripts/build.sh
bin=./build/ambient-guard

echo "== ambient-guard check -f examples/demo-backup.yaml"
"$bin" check -f examples/demo-backup.yaml || true

echo
echo "== ambient-guard serve --state examples/demo-backup.yaml (embedded default certificate)"
work=$(mktemp -d)
port=${AG_DEMO_PORT:-18443}
"$bin" serve --listen "127.0.0.1:$port" --state examples/demo-backup.yaml \
  --ca-bundle-out "$work/ca.pem" >"$work/stdout" 2>"$work/serve.log" &
pid=$!
cleanup() {
  kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 200); do
  if [[ -s "$work/ca.pem" ]] &&
     curl -sf --cacert "$work/ca.pem" "https://localhost:$port/readyz" >/dev/null 2>&1; then
    break
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    cat "$work/serve.log" >&2
    exit 1
  fi
  sleep 0.05
done

review() {
  echo
  echo "-- POST /validate examples/admission/$1.json ($2)"
  curl -sS --cacert "$work/ca.pem" -H 'Content-Type: application/json' \
    --data-binary "@examples/admission/$1.json" "https://localhost:$port/validate"
  echo
}
review deny-peerauthentication-disable "PeerAuthentication DISABLE in an ambient namespace"
review warn-virtualservice "VirtualService where an HTTPRoute is needed"
review allow-authorizationpolicy "an L4-only AuthorizationPolicy"

echo
echo "-- GET /metrics (admission counters)"
curl -sS --cacert "$work/ca.pem" "https://localhost:$port/metrics" |
  grep '^ambient_guard_admission_requests_total' || true

kill -TERM "$pid"
wait "$pid"
echo
echo "-- serve log"
cat "$work/serve.log"
trap 'rm -rf "$work"' EXIT
