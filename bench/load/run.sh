#!/usr/bin/env bash
# Load test of `ambient-guard serve` next to nginx on the same machine, same TLS settings.
#
# wrk (keep-alive, CONNECTIONS connections) POSTs a realistic 1.8 KB AuthorizationPolicy
# AdmissionReview (bench/load/review.json) to /validate:
#   1. ambient-guard serve over the demo cluster (decode, review, enforcement, response);
#   2. nginx returning the same AdmissionReview response bytes from memory: the practical limit
#      of TLS + HTTP/1.1 keep-alive on this hardware.
# Both use one ECDSA P-256 certificate, TLS 1.2+ with the same AEAD suites and curves.
# Prints requests/s, latency percentiles and the ratio. Never run from ctest.
#
# Two shapes, both servers each:
#   saturation: CONNECTIONS connections sending back to back (the throughput ceiling);
#   paced:      PACED_CONNECTIONS keep-alive connections (8) sharing about PACED_RATE reviews/s
#               (1,000): the shape of a busy API server's webhook client. Each connection waits
#               PACED_CONNECTIONS/PACED_RATE seconds between requests (wrk's delay()), and the
#               p99s of both servers and their ratio are printed.
#
#   AG_BIN=build/ambient-guard DURATION=20s CONNECTIONS=64 THREADS=2 bench/load/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

AG_BIN=${AG_BIN:-build/ambient-guard}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-3s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
PACED_RATE=${PACED_RATE:-1000}
PACED_CONNECTIONS=${PACED_CONNECTIONS:-8}
AG_PORT=${AG_PORT:-18443}
NGINX_PORT=${NGINX_PORT:-18444}
REVIEW=bench/load/review.json

if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
  AG_WITH_LOADTEST=1 ./scripts/setup.sh
fi
if [[ ! -x "$AG_BIN" ]]; then
  ./scripts/build.sh
fi

work=$(mktemp -d)
ag_pid=""
nginx_pid=""
cleanup() {
  [[ -n "$ag_pid" ]] && kill -TERM "$ag_pid" 2>/dev/null && wait "$ag_pid" 2>/dev/null || true
  [[ -n "$nginx_pid" ]] && kill -QUIT "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# One certificate for both servers (what cert-manager would issue, ECDSA P-256).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj "/CN=ambient-guard bench CA" -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/CN=ambient-guard.ambient-guard.svc" -keyout "$work/tls.key" -out "$work/tls.csr" 2>/dev/null
printf 'subjectAltName=DNS:ambient-guard.ambient-guard.svc,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' \
  > "$work/ext.cnf"
openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial \
  -days 1 -extfile "$work/ext.cnf" -out "$work/tls.crt" 2>/dev/null

wait_healthy() {  # port
  for _ in $(seq 1 100); do
    if curl -sf --cacert "$work/ca.crt" "https://localhost:$1/healthz" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  echo "server on port $1 did not come up" >&2
  return 1
}

"$AG_BIN" serve --listen "127.0.0.1:$AG_PORT" --cert "$work/tls.crt" --key "$work/tls.key" \
  --state examples/demo-backup.yaml --log-level warn 2>"$work/ag.log" &
ag_pid=$!
wait_healthy "$AG_PORT"

# nginx answers with exactly the bytes ambient-guard answers.
curl -sf --cacert "$work/ca.crt" -H 'Content-Type: application/json' --data-binary @"$REVIEW" \
  "https://localhost:$AG_PORT/validate" >"$work/canned.json"
if grep -q "[\$'\\\\]" "$work/canned.json"; then
  echo "canned response has characters nginx's return would interpret" >&2
  exit 1
fi
mkdir -p "$work/nginx"
cat >"$work/nginx.conf" <<EOF
daemon off;
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx/error.log warn;
$( [[ $(id -u) -eq 0 ]] && echo "user root;" )
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx;
  proxy_temp_path $work/nginx;
  fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx;
  scgi_temp_path $work/nginx;
  keepalive_timeout 120s;
  keepalive_requests 1000000000;
  server {
    listen 127.0.0.1:$NGINX_PORT ssl;
    ssl_certificate $work/tls.crt;
    ssl_certificate_key $work/tls.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
    ssl_ecdh_curve X25519:prime256v1:secp384r1;
    client_max_body_size 8m;
    location = /healthz { return 200 'ok'; }
    location = /validate {
      default_type "application/json; charset=utf-8";
      return 200 '$(cat "$work/canned.json")';
    }
  }
}
EOF
nginx -p "$work" -c "$work/nginx.conf" &
nginx_pid=$!
wait_healthy "$NGINX_PORT"

cat >"$work/post.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open("$REVIEW", "rb"))
wrk.body = f:read("*a")
f:close()
function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read +
              summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %.0f %.3f %.3f %.3f %.3f %.3f %d %d\n",
    summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, latency.max / 1000,
    summary.requests, bad))
end
EOF

# The paced shape: the same requests, each connection waiting between two of them.
{
  cat "$work/post.lua"
  awk -v c="$PACED_CONNECTIONS" -v r="$PACED_RATE" \
    'BEGIN { printf "function delay()\n  return %d\nend\n", c * 1000 / r }'
} >"$work/paced.lua"

# CPU time (user+system, clock ticks) of a process and its threads, or of several processes.
cpu_ticks() {
  local total=0 p
  for p in "$@"; do
    total=$((total + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
  done
  echo "$total"
}

run() {  # name port pid...   (SCRIPT=post|paced, CONNS=connections)
  local name=$1 port=$2 script=${SCRIPT:-post} conns=${CONNS:-$CONNECTIONS}
  shift 2
  wrk -t"$THREADS" -c"$conns" -d"$WARMUP" -s "$work/$script.lua" "https://127.0.0.1:$port/validate" >/dev/null
  local before after
  before=$(cpu_ticks "$@")
  wrk -t"$THREADS" -c"$conns" -d"$DURATION" -s "$work/$script.lua" "https://127.0.0.1:$port/validate" \
    >"$work/$name.out"
  after=$(cpu_ticks "$@")
  # Server CPU per request: independent of what else runs on the machine.
  awk -v name="$name" -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" \
    '/^RESULT/ { $1 = name; printf "%s %.1f\n", $0, ticks / hz * 1e6 / $8 }' "$work/$name.out"
}

echo "== $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); wrk -t$THREADS -c$CONNECTIONS -d$DURATION, keep-alive, $(wc -c <"$REVIEW")-byte AuthorizationPolicy review, TLS $(openssl version | cut -d' ' -f2)"
ag=$(run ambient-guard "$AG_PORT" "$ag_pid")
ng=$(run nginx "$NGINX_PORT" $(pgrep -P "$nginx_pid") "$nginx_pid")
printf '%-14s %9s %8s %8s %8s %8s %8s %9s %6s %10s\n' server "req/s" "p50 ms" "p90 ms" \
  "p99 ms" "p99.9 ms" "max ms" requests errors "CPU us/req"
for line in "$ag" "$ng"; do
  # shellcheck disable=SC2086
  printf '%-14s %9s %8s %8s %8s %8s %8s %9s %6s %10s\n' $line
done
awk -v a="$(echo "$ag" | cut -d' ' -f2)" -v n="$(echo "$ng" | cut -d' ' -f2)" \
  'BEGIN { printf "ratio ambient-guard/nginx requests/s: %.2f\n", a / n }'

echo
echo "== paced: $PACED_CONNECTIONS keep-alive connections, about $PACED_RATE reviews/s in all"
ag=$(SCRIPT=paced CONNS=$PACED_CONNECTIONS THREADS=1 run ambient-guard "$AG_PORT" "$ag_pid")
ng=$(SCRIPT=paced CONNS=$PACED_CONNECTIONS THREADS=1 run nginx "$NGINX_PORT" $(pgrep -P "$nginx_pid") "$nginx_pid")
printf '%-14s %9s %8s %8s %8s %8s %8s %9s %6s %10s\n' server "req/s" "p50 ms" "p90 ms" \
  "p99 ms" "p99.9 ms" "max ms" requests errors "CPU us/req"
for line in "$ag" "$ng"; do
  # shellcheck disable=SC2086
  printf '%-14s %9s %8s %8s %8s %8s %8s %9s %6s %10s\n' $line
done
awk -v a="$(echo "$ag" | cut -d' ' -f5)" -v n="$(echo "$ng" | cut -d' ' -f5)" \
  'BEGIN { printf "ratio ambient-guard/nginx p99 (paced): %.2f (target <= 1.3)\n", a / n }'
