# shellcheck shell=bash
# The Istio control plane as the live webhook reads it, through deploy/base's Role in istio-system:
# the enablement selector of ConfigMap istio-cni-config (listed and watched with fieldSelector
# metadata.name=istio-cni-config, which the Role's resourceNames allows) and istiod's image tag
# change decisions within seconds, without a restart. Each test removes what it created, so the
# other tests keep Istio's default selector and an unknown version.

cni_config() {  # cni_config SELECTOR-YAML
  cat <<YAML
apiVersion: v1
kind: ConfigMap
metadata: {name: istio-cni-config, namespace: istio-system}
data:
  AMBIENT_ENABLEMENT_SELECTOR: |
$(sed 's/^/    /' <<<"$1")
YAML
}

pa_refused() {  # pa_refused NS: a PeerAuthentication DISABLE there is refused (dry run)
  kcap -n "$1" apply --dry-run=server -f - < <(pa_disable)
  [[ $KRC != 0 ]] && grep -qF 'denied the request: [peer-authentication-disable]' <<<"$KOUT"
}
pa_admitted() {
  kcap -n "$1" apply --dry-run=server -f - < <(pa_disable)
  [[ $KRC == 0 ]]
}
ag_logged() { grep -qF -- "$2" "$E2E_WORK/logs/ag-$1.log"; }
# The first change a test waits for may find a watch still backing off (up to 30 s) after
# test_watch's API server restart: allow for that once.
E2E_CP_FIRST_DEADLINE=$((E2E_WATCH_DEADLINE + 30))

test_control_plane_istio_cni_config_selector_decides_ambient() {
  use_mode enforce
  local n=e2e-cp-mesh
  ns "$n" mesh=ambient
  trap 'k -n istio-system delete configmap istio-cni-config --ignore-not-found >/dev/null' EXIT
  # Istio's default selector: a namespace labelled mesh=ambient is not ambient.
  pa_admitted "$n" || fail "PeerAuthentication DISABLE refused before any custom selector: $KOUT"

  apply < <(cni_config '- namespaceSelector: {matchLabels: {mesh: ambient}}')
  local start=$SECONDS
  wait_until "$E2E_CP_FIRST_DEADLINE" "istio-cni-config's selector makes $n ambient" pa_refused "$n"
  echo "report: custom enablement selector in effect after <= $((SECONDS - start)) s"
  expect_out "PeerAuthentication $n/no-mtls" "the denial names the object"
  wait_until 5 "the log names the selector's source" \
    ag_logged enforce 'enablement: using ConfigMap istio-system/istio-cni-config'

  # A selector istio-cni would refuse: logged as an error; the last valid one stays in use.
  apply < <(cni_config '- namespaceSelector: {matchLabels: [not, a, map')
  wait_until "$E2E_WATCH_DEADLINE" "the malformed selector is logged" \
    ag_logged enforce 'does not parse'
  ag_logged enforce 'falling back to its last valid value' || fail "the log does not say what is used"
  pa_refused "$n" || fail "the last valid selector is no longer used: $KOUT"
  proc_alive ag-enforce || fail "ambient-guard exited on a malformed selector"

  # Deleted: Istio's default again.
  k -n istio-system delete configmap istio-cni-config >/dev/null
  wait_until "$E2E_WATCH_DEADLINE" "the default selector is back" pa_admitted "$n"
  ag_get enforce /readyz >/dev/null || fail "not ready after the ConfigMap changes"
}

istiod_deployment() {  # istiod_deployment TAG
  cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod, namespace: istio-system}
spec:
  replicas: 0
  selector: {matchLabels: {app: istiod}}
  template:
    metadata: {labels: {app: istiod}}
    spec:
      containers:
      - {name: discovery, image: "docker.io/istio/pilot:$1"}
YAML
}

trust_domain_policy() {  # an ALLOW matching on source.trustDomains: its message names the version
  cat <<YAML
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: partners}
spec:
  action: ALLOW
  rules:
  - from: [{source: {trustDomains: ["partner.example"]}}]
YAML
}

version_named() {  # version_named NS TEXT: the dry-run answer for the policy contains TEXT
  kcap -n "$1" apply --dry-run=server -f - < <(trust_domain_policy)
  grep -qF -- "$2" <<<"$KOUT"
}

test_control_plane_istiod_image_tag_is_the_assumed_version() {
  use_mode enforce
  local n=e2e-cp-version
  ns "$n" istio.io/dataplane-mode=ambient
  trap 'k -n istio-system delete deployment istiod --ignore-not-found >/dev/null' EXIT
  kcap -n "$n" apply --dry-run=server -f - < <(trust_domain_policy)
  expect_out "[l7-policy-without-waypoint]" "a trustDomains policy gets a finding"
  expect_no_out "1.27.3" "no version before istiod exists"

  apply < <(istiod_deployment 1.27.3)
  local start=$SECONDS
  wait_until "$E2E_CP_FIRST_DEADLINE" "istiod's tag 1.27.3 in the message" version_named "$n" "1.27.3"
  echo "report: istiod image tag in effect after <= $((SECONDS - start)) s"
  expect_out "before 1.31" "the message explains what 1.27 does"

  # An upgrade is followed without a restart.
  apply < <(istiod_deployment 1.31.1)
  start=$SECONDS
  wait_until "$E2E_WATCH_DEADLINE" "istiod's tag 1.31.1 in the message" version_named "$n" "1.31.1"
  echo "report: istiod upgrade in effect after <= $((SECONDS - start)) s"
  expect_no_out "1.27.3" "the old version is gone"
}

# Without the Role in istio-system (only the ClusterRole): the three kinds are forbidden, logged
# once each with what is missing, and count as absent; the instance still becomes ready.
test_control_plane_without_the_role_is_absent_not_unready() {
  local sa=ag-no-istio-role port token
  k -n ambient-guard create serviceaccount "$sa" >/dev/null
  k create clusterrolebinding "$sa" --clusterrole=ambient-guard \
    --serviceaccount="ambient-guard:$sa" >/dev/null
  token=$(k -n ambient-guard create token "$sa" --duration=1h)
  write_kubeconfig "$E2E_WORK/$sa.kubeconfig" "$E2E_API_PORT" "    token: $token"
  port=$(free_port)
  trap 'stop_proc ag-no-role' EXIT
  start_proc ag-no-role "$E2E_AG" serve --kubeconfig "$E2E_WORK/$sa.kubeconfig" \
    --listen "127.0.0.1:$port" --cert "$E2E_WORK/pki/webhook.crt" --key "$E2E_WORK/pki/webhook.key"
  wait_until "$E2E_KUBE_DEADLINE" "ready without the Role (logs/ag-no-role.log)" \
    curl -fsS --cacert "$E2E_WORK/pki/ca.crt" "https://127.0.0.1:$port/readyz"
  local log="$E2E_WORK/logs/ag-no-role.log" path
  for path in apis/apps/v1/namespaces/istio-system/deployments \
    apis/apps/v1/namespaces/istio-system/daemonsets api/v1/namespaces/istio-system/configmaps; do
    (($(grep -cF "/$path is forbidden (HTTP 403" "$log") == 1)) ||
      fail "want one warning for $path in $log: $(grep -F "$path" "$log")"
  done
  grep -qF 'cannot list resource "deployments" in API group "apps" in the namespace "istio-system"' "$log" ||
    fail "the warning does not say which permission is missing: $(grep -F deployments "$log")"
  # Read whole first: `curl | grep -q` fails under pipefail when grep stops at its match before
  # curl has written the rest ("curl: (23) Failed writing body").
  local metrics
  metrics=$(curl -fsS --cacert "$E2E_WORK/pki/ca.crt" "https://127.0.0.1:$port/metrics") ||
    fail "GET /metrics failed"
  grep -q '^ambient_guard_state_objects{kind="Deployment"} 0' <<<"$metrics" ||
    fail "Deployments are not held as absent (0 objects)"
}

# The README's kustomization for a custom enablement label key (between its
# custom-enablement-patch markers), applied to the real API server: it compiles both CEL
# matchConditions, and with istio-cni-config selecting mesh=ambient, labelling a namespace
# mesh=ambient now reaches /mutate, which removes the injection label.
custom_enrollment_seen() {  # custom_enrollment_seen NS: /mutate was asked about labelling NS
  grep -qF "Namespace $1 user=e2e-admin dryRun=true -> enroll" "$E2E_WORK/logs/ag-enforce.log"
}
test_control_plane_readme_patch_for_a_custom_selector() {
  use_mode enforce
  local dir="$E2E_WORK/custom-selector" port ca
  mkdir -p "$dir"
  ln -sfn "$E2E_REPO/deploy" "$dir/deploy"
  sed -n '/<!-- custom-enablement-patch:begin -->/,/<!-- custom-enablement-patch:end -->/p' \
    "$E2E_REPO/README.md" | sed '1,2d;$d' | sed '$d' >"$dir/kustomization.yaml"
  grep -q 'platform.example.com/mesh' "$dir/kustomization.yaml" || fail "no patch block in README.md"
  # The test uses the label mesh=ambient instead of the README's example key.
  sed -i 's|platform.example.com/mesh|mesh|' "$dir/kustomization.yaml"
  k kustomize "$dir" >"$dir/rendered.yaml" || fail "kubectl kustomize of the README's block failed"
  port=$(ag_port enforce)
  ca=$(base64 -w0 <"$E2E_WORK/pki/ca.crt")
  k create --dry-run=client -o json -f "$dir/rendered.yaml" |
    jq -s 'if length == 1 and .[0].kind == "List" then .[0].items else . end' |
    jq --arg base "https://127.0.0.1:$port" --arg ca "$ca" '
      {apiVersion: "v1", kind: "List",
       items: [.[] | select(.kind | IN("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"))
               | .webhooks |= map(.clientConfig = {url: ($base + .clientConfig.service.path), caBundle: $ca})]}' \
      >"$dir/webhooks.json"
  trap 'k -n istio-system delete configmap istio-cni-config --ignore-not-found >/dev/null; use_mode enforce' EXIT
  kcap apply -f "$dir/webhooks.json"
  expect_krc 0 "the API server accepts the patched webhook configurations (CEL compiles)"
  echo custom >"$E2E_WORK/mode"  # use_mode re-applies deploy's own configuration afterwards

  local n=e2e-cp-custom-label
  ns "$n" istio-injection=enabled
  apply < <(cni_config '- namespaceSelector: {matchLabels: {mesh: ambient}}')
  # A dry run first, until the ConfigMap has reached the watch and the configuration the API
  # server's admission plugins; then the real write, read back.
  wait_until "$E2E_CP_FIRST_DEADLINE" "labelling $n mesh=ambient reaches /mutate as an enrollment" \
    eval 'k label namespace "$n" mesh=ambient --dry-run=server >/dev/null && custom_enrollment_seen "$n"'
  kcap label namespace "$n" mesh=ambient
  expect_krc 0 "labelling $n mesh=ambient"
  local stored
  stored=$(k get namespace "$n" -o json)
  [[ $(jq -r '.metadata.labels | has("istio-injection")' <<<"$stored") == false ]] ||
    fail "istio-injection was not removed: $(jq -c .metadata <<<"$stored")"
  [[ $(jq -r '.metadata.annotations["ambient-guard.io/previous-injection"]' <<<"$stored" |
    jq -r '."istio-injection"') == enabled ]] ||
    fail "the record annotation is missing: $(jq -c .metadata <<<"$stored")"
}
