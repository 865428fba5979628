# shellcheck shell=bash
# ambient-guard's list+watch against the real API server: objects created with kubectl change its
# decisions within seconds, and it survives an API server restart plus an etcd compaction (the
# resumed watch gets 410 Gone) without missing an object created or deleted in the gap.

# enrollment_refused NS: labelling NS ambient (dry run) is refused by peer-authentication-disable.
enrollment_refused() {
  kcap label namespace "$1" istio.io/dataplane-mode=ambient --dry-run=server "${@:2}"
  [[ $KRC != 0 ]] && grep -qF '[peer-authentication-disable]' <<<"$KOUT"
}
enrollment_allowed() {
  kcap label namespace "$1" istio.io/dataplane-mode=ambient --dry-run=server "${@:2}"
  [[ $KRC == 0 ]]
}

test_watch_kubectl_changes_decisions_within_seconds() {
  use_mode enforce
  local n=e2e-watch start
  ns "$n"
  enrollment_allowed "$n" || fail "enrolling an empty namespace is refused: $KOUT"
  k -n "$n" apply -f - >/dev/null < <(pa_disable)  # allowed: not ambient yet
  start=$SECONDS
  wait_until "$E2E_WATCH_DEADLINE" "the new PeerAuthentication blocks enrollment" enrollment_refused "$n"
  echo "PeerAuthentication seen after <= $((SECONDS - start)) s"
  k -n "$n" delete peerauthentication no-mtls >/dev/null
  start=$SECONDS
  wait_until "$E2E_WATCH_DEADLINE" "the deletion unblocks enrollment" enrollment_allowed "$n"
  echo "deletion seen after <= $((SECONDS - start)) s"
  kcap label namespace "$n" istio.io/dataplane-mode=ambient
  expect_krc 0 "enrolling for real"
}

# A kubeconfig and kubectl for a second API server on the same etcd.
kb() {
  "$E2E_BIN/kubectl" --kubeconfig "$E2E_WORK/admin-b.kubeconfig" --cache-dir "$E2E_WORK/kube-cache-b" "$@"
}
compacted_past() {  # compacted_past RV: etcd no longer serves the list at RV (410 Expired)
  local out
  out=$(kb get --raw "/api/v1/namespaces?resourceVersion=$1&resourceVersionMatch=Exact&limit=1" 2>&1) && return 1
  grep -qiE 'too old|expired|compacted' <<<"$out"
}
watch_gone_count() {
  grep -c 'restarting: watch ERROR 410' "$E2E_WORK/logs/ag-enforce.log" || true
}

test_watch_survives_apiserver_restart_and_compaction() {
  use_mode enforce
  ns e2e-restart-created     # gets a PeerAuthentication DISABLE while ambient-guard cannot watch
  ns e2e-restart-deleted     # loses its PeerAuthentication DISABLE then
  k -n e2e-restart-deleted apply -f - >/dev/null < <(pa_disable)
  wait_until "$E2E_WATCH_DEADLINE" "the PeerAuthentication is seen" enrollment_refused e2e-restart-deleted
  local old_rv gone_before port_b
  old_rv=$(k get --raw '/api/v1/namespaces?limit=1' | jq -r .metadata.resourceVersion)
  gone_before=$(watch_gone_count)

  # ambient-guard's API server goes away; its watches fail and back off.
  stop_proc kube-apiserver
  # A second API server on the same etcd takes the writes meanwhile, without a watch cache (lists
  # come from etcd) and compacting etcd every second.
  port_b=$(free_port)
  start_apiserver kube-apiserver-b "$port_b" --watch-cache=false --etcd-compaction-interval=1s
  write_kubeconfig "$E2E_WORK/admin-b.kubeconfig" "$port_b" "    client-certificate: $E2E_WORK/pki/admin.crt
    client-key: $E2E_WORK/pki/admin.key"
  kb -n e2e-restart-created apply -f - >/dev/null < <(pa_disable)
  kb -n e2e-restart-deleted delete peerauthentication no-mtls >/dev/null
  kb create namespace e2e-restart-new >/dev/null
  kb -n e2e-restart-new apply -f - >/dev/null < <(pa_disable)
  # Many revisions later, and compacted past everything ambient-guard has seen.
  local i
  for ((i = 0; i < 20; i++)); do
    kb -n e2e-restart-new create configmap "filler-$i" >/dev/null
  done
  wait_until 60 "etcd compacted past resourceVersion $old_rv" compacted_past "$old_rv"
  stop_proc kube-apiserver-b

  # ambient-guard's API server comes back with a fresh watch cache: the resumed watches are
  # answered 410, ambient-guard relists, and its state has what happened in the gap.
  start_apiserver kube-apiserver "$E2E_API_PORT"
  has_relisted() { (($(watch_gone_count) > gone_before)); }
  wait_until 90 "a watch answered 410 Gone and restarted (logs/ag-enforce.log)" has_relisted
  wait_until 60 "the PeerAuthentication created in the gap is seen" enrollment_refused e2e-restart-created
  wait_until 60 "the PeerAuthentication deleted in the gap is gone" enrollment_allowed e2e-restart-deleted
  wait_until 60 "the namespace created in the gap, and its PeerAuthentication, are seen" \
    enrollment_refused e2e-restart-new
  ag_get enforce /readyz >/dev/null || fail "ambient-guard is not ready after the restart"
  grep 'restarting: watch ERROR 410' "$E2E_WORK/logs/ag-enforce.log" | tail -3
}
