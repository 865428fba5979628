#!/usr/bin/env bash
# Instructions per review of `ambient-guard serve`, counted by callgrind: noise-free, so a change
# can be measured on a busy machine where bench/load/run.sh's requests/s cannot.
#
# Starts the server under callgrind (demo cluster, bench/load/review.json), warms it up, zeroes
# the counters, sends REQUESTS reviews over one keep-alive TLS connection (curl), dumps, and
# prints total instructions / REQUESTS and the top functions (inclusive). Never run from ctest.
#
#   AG_BIN=build/ambient-guard REQUESTS=200 bench/load/callgrind.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

AG_BIN=${AG_BIN:-build/ambient-guard}
REQUESTS=${REQUESTS:-200}
AG_PORT=${AG_PORT:-18453}
REVIEW=bench/load/review.json
TOP=${TOP:-25}

work=$(mktemp -d)
vg_pid=""
cleanup() {
  [[ -n "$vg_pid" ]] && kill -TERM "$vg_pid" 2>/dev/null && wait "$vg_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null

valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" --dump-instr=no \
  "$AG_BIN" serve --listen "127.0.0.1:$AG_PORT" --cert "$work/tls.crt" --key "$work/tls.key" \
  --state examples/demo-backup.yaml --log-level warn 2>"$work/vg.log" &
vg_pid=$!
for _ in $(seq 1 600); do
  if curl -sf --cacert "$work/tls.crt" "https://localhost:$AG_PORT/healthz" >/dev/null 2>&1; then
    break
  fi
  sleep 0.2
done

post() {  # n: n reviews on one connection
  local args=() i
  for ((i = 0; i < $1; i++)); do
    args+=("https://localhost:$AG_PORT/validate")
  done
  curl -sf --cacert "$work/tls.crt" -H 'Content-Type: application/json' \
    --data-binary @"$REVIEW" "${args[@]}" >/dev/null
}
post 20
callgrind_control -z "$vg_pid" >/dev/null
post "$REQUESTS"
callgrind_control -d "$vg_pid" >/dev/null
sleep 1
dump=$(ls -t "$work"/cg.out.* | head -1)
[[ -n "${KEEP:-}" ]] && cp "$dump" "$KEEP"
total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
echo "instructions/review: $((total / REQUESTS)) ($REQUESTS reviews, one keep-alive TLS connection, counted by callgrind)"
callgrind_annotate --inclusive=yes "$dump" 2>/dev/null | grep -v "^-" | sed -n "1,$((TOP + 20))p" \
  | awk -v n="$REQUESTS" '/^ *[0-9,]+ / { v = $1; gsub(",", "", v); $1 = sprintf("%12d", v / n) } { print }' \
  | grep -E "^ +[0-9]+ " | head -"$TOP"
