# shellcheck shell=bash
# Validating admission through the real API server: the enforce and pilot overlays' answers to a
# PeerAuthentication DISABLE in an ambient namespace, as kubectl prints them, and --dry-run=server.

pa_disable() {  # the README's violating example
  cat <<YAML
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ${1:-no-mtls}}
spec:
  mtls: {mode: DISABLE}
YAML
}

# enforce: the write is refused, and kubectl prints the rule's message as the API server relays it
# (`Error from server (Forbidden): admission webhook "<webhook>" denied the request: <message>`).
test_enforce_peer_authentication_disable_refused() {
  use_mode enforce
  ns e2e-enforce-pa istio.io/dataplane-mode=ambient
  kcap -n e2e-enforce-pa apply -f - < <(pa_disable)
  expect_krc 1 "PeerAuthentication DISABLE in an ambient namespace under enforce"
  expect_out 'Error from server (Forbidden): error when creating "STDIN": admission webhook "validate.ambient-guard.io" denied the request: [peer-authentication-disable]' \
    "kubectl prints the webhook's denial"
  expect_out "PeerAuthentication e2e-enforce-pa/no-mtls" "the message names the object"
  expect_out "mode DISABLE" "the message names the field"
  kcap -n e2e-enforce-pa get peerauthentication no-mtls
  expect_krc 1 "a refused write stores nothing"
  # The same through server-side apply (a PATCH that creates: CREATE with CreateOptions) ...
  kcap -n e2e-enforce-pa apply --server-side -f - < <(pa_disable)
  expect_krc 1 "server-side apply of the same object"
  expect_out 'admission webhook "validate.ambient-guard.io" denied the request: [peer-authentication-disable]' \
    "server-side apply is judged the same"
  # ... and as an UPDATE of an existing STRICT policy (the webhook sees the merged object).
  kcap -n e2e-enforce-pa apply -f - <<YAML
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: no-mtls}
spec: {mtls: {mode: STRICT}}
YAML
  expect_krc 0 "a STRICT PeerAuthentication"
  kcap -n e2e-enforce-pa patch peerauthentication no-mtls --type=merge -p '{"spec":{"mtls":{"mode":"DISABLE"}}}'
  expect_krc 1 "patching it to DISABLE"
  expect_out 'denied the request: [peer-authentication-disable]' "the update is refused"
  [[ $(k -n e2e-enforce-pa get peerauthentication no-mtls -o jsonpath='{.spec.mtls.mode}') == STRICT ]] ||
    fail "the refused update changed the stored object"
}

# pilot (mode warn, failurePolicy Ignore): admitted, stored, and kubectl shows the finding as a
# `Warning: [rule-id] ...` line.
test_pilot_peer_authentication_disable_warned() {
  use_mode pilot
  ns e2e-pilot-pa istio.io/dataplane-mode=ambient
  kcap -n e2e-pilot-pa apply -f - < <(pa_disable)
  expect_krc 0 "PeerAuthentication DISABLE in an ambient namespace under pilot"
  expect_out "Warning: [peer-authentication-disable] " "kubectl prints the warning"
  expect_out "peerauthentication.security.istio.io/no-mtls created" "the write is admitted"
  local warning
  warning=$(grep -F 'Warning: [peer-authentication-disable]' <<<"$KOUT")
  # The API server drops warnings with control characters; the product keeps them one line each.
  (( $(wc -l <<<"$warning") == 1 )) || fail "one warning line per finding: $warning"
  kcap -n e2e-pilot-pa get peerauthentication no-mtls
  expect_krc 0 "the admitted object is stored"
}

# --dry-run=server: the webhook judges the write as a real one (same denial, same message), and the
# API server stores nothing whatever the answer.
test_enforce_dry_run_server_judged_like_a_write_and_stores_nothing() {
  use_mode enforce
  ns e2e-dry-run istio.io/dataplane-mode=ambient
  kcap -n e2e-dry-run apply --dry-run=server -f - < <(pa_disable)
  expect_krc 1 "dry-run PeerAuthentication DISABLE under enforce"
  local dry_out=$KOUT
  kcap -n e2e-dry-run apply -f - < <(pa_disable)
  expect_krc 1 "the same write for real"
  [[ $dry_out == "$KOUT" ]] || fail "dry run and real write answered differently:
dry run: $dry_out
real:    $KOUT"
  # Admitted in dry run: reported as such and not stored.
  kcap -n e2e-dry-run apply --dry-run=server -f - <<YAML
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: strict}
spec: {mtls: {mode: STRICT}}
YAML
  expect_krc 0 "dry-run PeerAuthentication STRICT"
  expect_out "peerauthentication.security.istio.io/strict created (server dry run)" "server dry run"
  kcap -n e2e-dry-run get peerauthentication strict
  expect_krc 1 "a dry-run write stores nothing"
  # The request reached ambient-guard flagged as a dry run: its audit line says so.
  wait_until 5 "audit line for the dry-run denial" \
    grep -q '"namespace":"e2e-dry-run".*"dryRun":true' "$E2E_WORK/logs/ag-enforce-audit.log"
}

test_pilot_dry_run_server_warned_and_stores_nothing() {
  use_mode pilot
  ns e2e-pilot-dry-run istio.io/dataplane-mode=ambient
  kcap -n e2e-pilot-dry-run apply --dry-run=server -f - < <(pa_disable)
  expect_krc 0 "dry-run PeerAuthentication DISABLE under pilot"
  expect_out "Warning: [peer-authentication-disable] " "the dry run carries the warning"
  expect_out "created (server dry run)" "server dry run"
  kcap -n e2e-pilot-dry-run get peerauthentication no-mtls
  expect_krc 1 "a dry-run write stores nothing"
}
