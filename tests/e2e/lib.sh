# shellcheck shell=bash
# The end-to-end harness: a real etcd + kube-apiserver on 127.0.0.1, ambient-guard as local
# processes, and helpers for the tests in tests/e2e/test_*.sh. Sourced by scripts/e2e.sh.
#
# Everything runs on loopback ports chosen at start. Every process started here records its pid in
# $E2E_WORK/pids/, and e2e_cleanup (an EXIT trap in scripts/e2e.sh) stops exactly those.
#
# Synchronisation is by polling with deadlines (wait_until), never by sleeping a fixed time:
# admission is synchronous (when kubectl returns, every webhook call of that write has been
# answered and counted), and everything else (webhook configuration changes reaching the API
# server, ambient-guard's watch catching up) is awaited by observing its effect.

# ---------------------------------------------------------------------------------------------
# Settings (set by scripts/e2e.sh): E2E_REPO, E2E_BIN (kube-apiserver, kubectl, etcd),
# E2E_AG (the ambient-guard binary), E2E_WORK (scratch directory), E2E_CRDS (CRD files).

E2E_KUBE_DEADLINE=${E2E_KUBE_DEADLINE:-90}  # seconds for a process to become ready
E2E_WATCH_DEADLINE=${E2E_WATCH_DEADLINE:-15}  # seconds for ambient-guard to see a change

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# Ends the current test (each test runs in its own subshell) with a message.
fail() {
  echo "ASSERTION FAILED: $*" >&2
  exit 1
}

# wait_until SECONDS DESCRIPTION CMD...: runs CMD until it succeeds; fails after SECONDS.
wait_until() {
  local secs=$1 deadline=$((SECONDS + $1)) what=$2 delay=0.1
  shift 2
  while true; do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      fail "timed out after ${secs}s waiting for: $what"
    fi
    sleep "$delay"
    [[ $delay == 0.1 ]] && delay=0.2 || delay=0.5
  done
}

# ---------------------------------------------------------------------------------------------
# Ports and processes

declare -A E2E_PORTS_TAKEN=()
# Prints a TCP port on 127.0.0.1 that nothing listens on, below the ephemeral range so that no
# outgoing connection grabs it before the process we start binds it.
free_port() {
  local p
  while true; do
    p=$((20000 + RANDOM % 12000))
    [[ -n ${E2E_PORTS_TAKEN[$p]:-} ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      E2E_PORTS_TAKEN[$p]=1
      echo "$p"
      return
    fi
  done
}

# start_proc NAME CMD...: starts CMD in the background, output to $E2E_WORK/logs/NAME.log (appended:
# restarts keep the history), pid in $E2E_WORK/pids/NAME.
start_proc() {
  local name=$1
  shift
  mkdir -p "$E2E_WORK/pids" "$E2E_WORK/logs"
  echo "=== start $(date -u +%H:%M:%S): $*" >>"$E2E_WORK/logs/$name.log"
  "$@" >>"$E2E_WORK/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$E2E_WORK/pids/$name"
}

proc_alive() {
  local f="$E2E_WORK/pids/$1"
  [[ -f $f ]] && kill -0 "$(cat "$f")" 2>/dev/null
}

# stop_proc NAME [SIGNAL]: signals the process (TERM by default), waits up to 30 s, then KILLs it.
stop_proc() {
  local f="$E2E_WORK/pids/$1" sig=${2:-TERM} pid i
  [[ -f $f ]] || return 0
  pid=$(cat "$f")
  kill "-$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  rm -f "$f"
}

e2e_cleanup() {
  local f
  # A test still running (the run was interrupted): stop it first, so that it starts nothing more.
  if [[ -n ${E2E_TEST_PID:-} ]] && kill -0 "$E2E_TEST_PID" 2>/dev/null; then
    kill -TERM "$E2E_TEST_PID" 2>/dev/null || true
    wait "$E2E_TEST_PID" 2>/dev/null || true
  fi
  if [[ -d ${E2E_WORK:-}/pids ]]; then
    # ambient-guard and istiod first (their watches would only log the API server going away),
    # etcd last.
    for f in "$E2E_WORK"/pids/ag-* "$E2E_WORK"/pids/istiod* "$E2E_WORK"/pids/kube-apiserver* \
      "$E2E_WORK"/pids/etcd; do
      [[ -f $f ]] && stop_proc "$(basename "$f")"
    done
  fi
  if [[ -n ${E2E_WORK:-} && -d $E2E_WORK ]]; then
    if [[ ${AG_E2E_KEEP:-0} == 1 ]]; then
      log "kept $E2E_WORK (logs/, pki/, kubeconfigs)"
    else
      rm -rf "$E2E_WORK"
    fi
  fi
}

# ---------------------------------------------------------------------------------------------
# Certificates: one test CA signs the API server's serving certificate, the admin client
# certificate (system:masters) and ambient-guard's serving certificate; a separate RSA key signs
# service account tokens.

pki_leaf() {  # pki_leaf NAME SUBJECT EXTENSIONS
  local d="$E2E_WORK/pki"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$2" \
    -keyout "$d/$1.key" -out "$d/$1.csr" 2>/dev/null
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" "$3" \
    >"$d/$1.ext"
  openssl x509 -req -in "$d/$1.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 7 -sha256 -extfile "$d/$1.ext" -out "$d/$1.crt" 2>/dev/null
}

make_pki() {
  local d="$E2E_WORK/pki"
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 -sha256 \
    -subj "/CN=ambient-guard-e2e-ca" -keyout "$d/ca.key" -out "$d/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
  pki_leaf apiserver "/CN=kube-apiserver" "extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
  pki_leaf admin "/O=system:masters/CN=e2e-admin" "extendedKeyUsage=clientAuth"
  # clientConfig.url is https://127.0.0.1:PORT/...: the API server verifies the IP SAN. The
  # service name is there too, as in a cluster.
  pki_leaf webhook "/CN=ambient-guard.ambient-guard.svc" "extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:ambient-guard.ambient-guard.svc,DNS:localhost"
  openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
  openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
}

# ---------------------------------------------------------------------------------------------
# etcd and kube-apiserver

start_etcd() {
  E2E_ETCD_PORT=$(free_port)
  local peer
  peer=$(free_port)
  start_proc etcd "$E2E_BIN/etcd" --name e2e --data-dir "$E2E_WORK/etcd" \
    --listen-client-urls "http://127.0.0.1:$E2E_ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$E2E_ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "e2e=http://127.0.0.1:$peer" --unsafe-no-fsync --log-level warn
  wait_until "$E2E_KUBE_DEADLINE" "etcd healthy (logs/etcd.log)" \
    curl -fsS "http://127.0.0.1:$E2E_ETCD_PORT/health"
}

# The API server flags. Everything an admission webhook sees in a real cluster: RBAC, service
# account tokens (TokenRequest), the webhook admission plugins (and the default ones), an audit log
# at Metadata level (failed-open and reinvocation annotations are asserted from it). On SIGTERM it
# ends open watches (ambient-guard's) itself: without the grace period flag, shutdown waits for
# them until the 60 s request timeout.
apiserver_args() {  # apiserver_args PORT [extra flags...]
  local port=$1
  shift
  echo --etcd-servers="http://127.0.0.1:$E2E_ETCD_PORT" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$port" \
    --cert-dir="$E2E_WORK/apiserver-certs" \
    --tls-cert-file="$E2E_WORK/pki/apiserver.crt" --tls-private-key-file="$E2E_WORK/pki/apiserver.key" \
    --client-ca-file="$E2E_WORK/pki/ca.crt" \
    --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$E2E_WORK/pki/sa.pub" \
    --service-account-signing-key-file="$E2E_WORK/pki/sa.key" \
    --service-cluster-ip-range=10.96.0.0/16 \
    --enable-admission-plugins=MutatingAdmissionWebhook,ValidatingAdmissionWebhook \
    --audit-policy-file="$E2E_WORK/audit-policy.yaml" \
    --audit-log-path="$E2E_WORK/logs/apiserver-audit.log" \
    --audit-log-mode=blocking \
    --shutdown-watch-termination-grace-period=5s \
    "$@"
}

# start_apiserver NAME PORT [extra flags...]: starts one and waits for /readyz.
start_apiserver() {
  local name=$1 port=$2
  shift 2
  # shellcheck disable=SC2046
  start_proc "$name" "$E2E_BIN/kube-apiserver" $(apiserver_args "$port" "$@")
  wait_until "$E2E_KUBE_DEADLINE" "$name ready on :$port (logs/$name.log)" \
    curl -fsS --cacert "$E2E_WORK/pki/ca.crt" --cert "$E2E_WORK/pki/admin.crt" \
    --key "$E2E_WORK/pki/admin.key" "https://127.0.0.1:$port/readyz"
}

write_kubeconfig() {  # write_kubeconfig FILE PORT USER-YAML
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: https://127.0.0.1:$2
    certificate-authority: $E2E_WORK/pki/ca.crt
users:
- name: user
  user:
$3
contexts:
- name: e2e
  context: {cluster: e2e, user: user, namespace: default}
current-context: e2e
EOF
}

# kubectl as the cluster admin. Its discovery cache is per run (CRDs appear during the run).
k() {
  "$E2E_BIN/kubectl" --kubeconfig "$E2E_WORK/admin.kubeconfig" --cache-dir "$E2E_WORK/kube-cache" "$@"
}

# kcap ARGS...: runs kubectl and keeps its exit status in KRC and its combined output in KOUT.
kcap() {
  if KOUT=$(k "$@" 2>&1); then KRC=0; else KRC=$?; fi
}

start_cluster() {
  make_pki
  cat >"$E2E_WORK/audit-policy.yaml" <<EOF
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  resources: [{group: ""}, {group: security.istio.io}, {group: gateway.networking.k8s.io}]
- level: None
EOF
  start_etcd
  E2E_API_PORT=$(free_port)
  start_apiserver kube-apiserver "$E2E_API_PORT"
  write_kubeconfig "$E2E_WORK/admin.kubeconfig" "$E2E_API_PORT" "    client-certificate: $E2E_WORK/pki/admin.crt
    client-key: $E2E_WORK/pki/admin.key"
  wait_until "$E2E_KUBE_DEADLINE" "namespace default exists" k get namespace default
}

restart_apiserver() {
  stop_proc kube-apiserver
  start_apiserver kube-apiserver "$E2E_API_PORT"
}

# Installs the CRDs and waits until every one is Established.
install_crds() {
  local f
  for f in "${E2E_CRDS[@]}"; do
    # Server-side apply: the Istio CRDs are too large for the last-applied annotation.
    k apply --server-side -f "$f" >/dev/null
  done
  k wait --for=condition=Established --timeout="${E2E_KUBE_DEADLINE}s" crd --all >/dev/null
}

# ---------------------------------------------------------------------------------------------
# ambient-guard: the deploy/ manifests, rendered with kustomize, as the cluster would get them.

# ag_setup: renders deploy/overlays/{enforce,pilot}, installs the ServiceAccount and its
# (Cluster)Roles and (Cluster)RoleBindings of deploy/base, writes a kubeconfig with a token of that ServiceAccount, each
# overlay's ambient-guard config, and each overlay's webhook configurations with only clientConfig
# changed (url to the local process, the test CA as caBundle).
ag_setup() {
  local mode rendered
  for mode in enforce pilot; do
    rendered="$E2E_WORK/deploy-$mode.json"
    # kubectl kustomize renders YAML; kubectl turns it into a JSON List without a server round trip.
    k kustomize "$E2E_REPO/deploy/overlays/$mode" >"$E2E_WORK/deploy-$mode.yaml"
    k create --dry-run=client -o json -f "$E2E_WORK/deploy-$mode.yaml" |
      jq -s 'if length == 1 and .[0].kind == "List" then .[0].items else . end' >"$rendered"
    jq -r '.[] | select(.kind == "ConfigMap" and (.metadata.name | startswith("ambient-guard-config")))
             | .data["config.yaml"]' "$rendered" >"$E2E_WORK/config-$mode.yaml"
    [[ -s $E2E_WORK/config-$mode.yaml ]] || fail "deploy/overlays/$mode renders no config.yaml"
  done
  # The ServiceAccount and its RBAC from the base (identical in both overlays).
  jq '{apiVersion: "v1", kind: "List",
       items: [.[] | select(.kind | IN("Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"))]}' \
    "$E2E_WORK/deploy-enforce.json" >"$E2E_WORK/rbac.json"
  # The Role that reads the Istio control plane lives in istio-system, which Istio's install
  # creates; here nothing else does (test_istiod.sh reuses it).
  k get namespace istio-system >/dev/null 2>&1 || k create namespace istio-system >/dev/null
  k apply -f "$E2E_WORK/rbac.json" >/dev/null
  local token
  token=$(k -n ambient-guard create token ambient-guard --duration=24h)
  write_kubeconfig "$E2E_WORK/ag.kubeconfig" "$E2E_API_PORT" "    token: $token"

  E2E_AG_PORT_enforce=$(free_port)
  E2E_AG_PORT_pilot=$(free_port)
  local ca port
  ca=$(base64 -w0 <"$E2E_WORK/pki/ca.crt")
  for mode in enforce pilot; do
    port=$(ag_port "$mode")
    jq --arg base "https://127.0.0.1:$port" --arg ca "$ca" '
      {apiVersion: "v1", kind: "List",
       items: [.[] | select(.kind | IN("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"))
               | .webhooks |= map(.clientConfig = {url: ($base + .clientConfig.service.path), caBundle: $ca})]}' \
      "$E2E_WORK/deploy-$mode.json" >"$E2E_WORK/webhooks-$mode.json"
  done
}

ag_port() {
  local v="E2E_AG_PORT_$1"
  echo "${!v}"
}

# ag_start MODE: starts the instance serving MODE's configuration and waits for /readyz (every
# initial list done: the watch runs with the ServiceAccount's RBAC only).
ag_start() {
  local mode=$1 port
  port=$(ag_port "$mode")
  start_proc "ag-$mode" "$E2E_AG" serve --kubeconfig "$E2E_WORK/ag.kubeconfig" \
    --config "$E2E_WORK/config-$mode.yaml" --listen "127.0.0.1:$port" \
    --cert "$E2E_WORK/pki/webhook.crt" --key "$E2E_WORK/pki/webhook.key" \
    --audit-log "$E2E_WORK/logs/ag-$mode-audit.log"
  wait_until "$E2E_KUBE_DEADLINE" "ambient-guard ($mode) ready on :$port (logs/ag-$mode.log)" \
    ag_get "$mode" /readyz
}

ag_stop() { stop_proc "ag-$1"; }

ag_get() {  # ag_get MODE PATH: GET over HTTPS, verified with the test CA
  curl -fsS --cacert "$E2E_WORK/pki/ca.crt" "https://127.0.0.1:$(ag_port "$1")$2"
}

# ag_requests MODE [WEBHOOK [DECISION]]: the sum of ambient_guard_admission_requests_total, by
# webhook path (validate, mutate) and decision when given.
ag_requests() {
  local mode=$1 hook=${2:-} decision=${3:-}
  ag_get "$mode" /metrics | awk -v hook="$hook" -v decision="$decision" '
    /^ambient_guard_admission_requests_total\{/ {
      if (hook != "" && index($0, "webhook=\"" hook "\"") == 0) next
      if (decision != "" && index($0, "decision=\"" decision "\"") == 0) next
      sum += $NF
    }
    END { printf "%d\n", sum }'
}

# use_mode MODE: makes MODE's webhook configurations the cluster's and waits until the API server
# sends its requests to MODE's instance (starting that instance if a test stopped it).
E2E_CANARY_NS=e2e-canary
canary_validate() {
  local mode=$1 before after
  before=$(ag_requests "$mode" validate)
  k -n "$E2E_CANARY_NS" apply --dry-run=server -f - >/dev/null <<EOF
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: canary}
spec: {mtls: {mode: STRICT}}
EOF
  after=$(ag_requests "$mode" validate)
  ((after > before))
}
canary_mutate() {
  local mode=$1 before after
  before=$(ag_requests "$mode" mutate)
  k label namespace "$E2E_CANARY_NS" istio.io/dataplane-mode=none --dry-run=server >/dev/null
  after=$(ag_requests "$mode" mutate)
  ((after > before))
}

use_mode() {
  local mode=$1
  proc_alive "ag-$mode" || ag_start "$mode"
  if [[ $(cat "$E2E_WORK/mode" 2>/dev/null) != "$mode" ]]; then
    k apply -f "$E2E_WORK/webhooks-$mode.json" >/dev/null
    echo "$mode" >"$E2E_WORK/mode"
  fi
  # A configuration change reaches the API server's admission plugins through an informer.
  wait_until 30 "validating webhooks of $mode in effect" canary_validate "$mode"
  wait_until 30 "mutating webhook of $mode in effect" canary_mutate "$mode"
}

# ---------------------------------------------------------------------------------------------
# Test helpers

# ns NAME [LABEL=VALUE...]: creates a namespace with these labels (deleting nothing: every test
# uses its own names, and without a controller manager a deleted namespace never goes away).
ns() {
  local name=$1
  shift
  k create namespace "$name" >/dev/null
  if (($#)); then
    k label namespace "$name" "$@" >/dev/null
  fi
}

# applies YAML from stdin as the admin; fails the test when kubectl fails.
apply() {
  local out
  out=$(k apply "$@" -f - 2>&1) || fail "kubectl apply $* failed: $out"
}

expect_krc() {  # expect_krc WANT DESCRIPTION: checks the last kcap's status (0 or non-zero)
  if [[ $1 == 0 && $KRC != 0 ]] || [[ $1 != 0 && $KRC == 0 ]]; then
    fail "$2: kubectl exited $KRC, output:
$KOUT"
  fi
}

expect_out() {  # expect_out TEXT DESCRIPTION: the last kcap's output contains TEXT (fixed string)
  grep -qF -- "$1" <<<"$KOUT" || fail "$2: output lacks \"$1\":
$KOUT"
}

expect_no_out() {
  if grep -qF -- "$1" <<<"$KOUT"; then
    fail "$2: output has \"$1\":
$KOUT"
  fi
}

# label_of KIND NAME NAMESPACE KEY: prints a label's value ("" when absent).
label_of() {
  k get "$1" "$2" ${3:+-n "$3"} -o json | jq -r --arg k "$4" '.metadata.labels[$k] // ""'
}
annotation_of() {
  k get "$1" "$2" ${3:+-n "$3"} -o json | jq -r --arg k "$4" '.metadata.annotations[$k] // ""'
}

# ---------------------------------------------------------------------------------------------
# Runner

# Test functions, in the order they are defined in the given files.
list_tests() {
  grep -hoE '^test_[a-z0-9_]+\(\)' "$@" | sed 's/()$//'
}

# test_selected FILTER NAME: NAME matches the regular expression FILTER as it is
# (test_istiod_differential_...) or in CamelCase without the prefix (IstiodDifferential...).
test_selected() {
  local filter=$1 t=$2 camel
  [[ -z $filter || $t =~ $filter ]] && return 0
  camel=$(sed -E 's/^test_//; s/(^|_)([a-z0-9])/\U\2/g' <<<"$t")
  [[ $camel =~ $filter ]]
}

# run_tests FILTER FILE...: runs every matching test in its own subshell, prints PASS/FAIL per
# test (with the test's output on failure; a passing test's lines starting with "report: ") and
# the summary line.
run_tests() {
  local filter=$1 t start rc
  shift
  E2E_PASSED=0 E2E_FAILED=0 E2E_FAILED_NAMES=()
  mkdir -p "$E2E_WORK/logs/tests"
  for t in $(list_tests "$@"); do
    test_selected "$filter" "$t" || continue
    start=$SECONDS
    # In the background and waited for: a signal to scripts/e2e.sh interrupts `wait` at once
    # (a foreground subshell would delay the trap until the test ends); the trap stops the test.
    (
      set -eEuo pipefail
      trap 'echo "command failed (status $?) at ${BASH_SOURCE[0]}:$LINENO: $BASH_COMMAND" >&2' ERR
      "$t"
    ) >"$E2E_WORK/logs/tests/$t.log" 2>&1 &
    E2E_TEST_PID=$!
    rc=0
    wait "$E2E_TEST_PID" || rc=$?
    E2E_TEST_PID=
    if ((rc == 0)); then
      E2E_PASSED=$((E2E_PASSED + 1))
      echo "PASS $t ($((SECONDS - start)) s)"
      sed -n 's/^report: /    /p' "$E2E_WORK/logs/tests/$t.log"
    else
      E2E_FAILED=$((E2E_FAILED + 1))
      E2E_FAILED_NAMES+=("$t")
      echo "FAIL $t ($((SECONDS - start)) s)"
      sed 's/^/    /' "$E2E_WORK/logs/tests/$t.log"
    fi
  done
  E2E_DONE=1
}

# After the tests: stops ambient-guard and counts a failure when it logged a sanitizer report
# (scripts/test.sh runs the suite with the ASan+UBSan build) or did not exit cleanly.
check_ag_exit() {
  local mode log
  for mode in enforce pilot; do
    proc_alive "ag-$mode" || continue
    stop_proc "ag-$mode"
    # A clean SIGTERM drain ends with "stopped" (the process may not be this shell's child, so
    # its exit status is not available here).
    log="$E2E_WORK/logs/ag-$mode.log"
    if ! tail -n 3 "$log" | grep -q '\] stopped'; then
      echo "FAIL ambient_guard_exit_$mode: no clean stop after SIGTERM; last lines:"
      tail -n 5 "$log" | sed 's/^/    /'
      E2E_FAILED=$((E2E_FAILED + 1))
      E2E_FAILED_NAMES+=("ambient_guard_exit_$mode")
    fi
  done
  if grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error: ' "$E2E_WORK"/logs/ag-*.log >/dev/null 2>&1; then
    echo "FAIL ambient_guard_sanitizer: reports in its logs"
    grep -hE -A30 'ERROR: (Address|Leak)Sanitizer|runtime error: ' "$E2E_WORK"/logs/ag-*.log | head -80 |
      sed 's/^/    /'
    E2E_FAILED=$((E2E_FAILED + 1))
    E2E_FAILED_NAMES+=("ambient_guard_sanitizer")
  fi
}

print_summary() {
  if ((E2E_FAILED > 0)); then
    echo "failed: ${E2E_FAILED_NAMES[*]}"
  fi
  echo "$E2E_PASSED passed, $E2E_FAILED failed"
}
