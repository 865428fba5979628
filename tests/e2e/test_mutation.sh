# shellcheck shell=bash
# The mutating webhook through the real API server: enrollment moves the injection labels into an
# annotation, rollback restores them, and a reinvocation changes nothing.

# Enforce's config has mutation enabled (the pilot's does not).
test_enforce_mutation_enrollment_removes_and_rollback_restores_injection() {
  use_mode enforce
  ns e2e-mutation istio-injection=enabled
  kcap label namespace e2e-mutation istio.io/dataplane-mode=ambient
  expect_krc 0 "labelling a sidecar namespace ambient"
  # Read back what the API server stored.
  [[ $(label_of namespace e2e-mutation "" istio.io/dataplane-mode) == ambient ]] ||
    fail "the ambient label is stored"
  local injection recorded
  injection=$(k get namespace e2e-mutation -o json | jq -r '.metadata.labels | has("istio-injection")')
  [[ $injection == false ]] || fail "istio-injection was not removed: $(k get ns e2e-mutation -o json | jq -c .metadata)"
  recorded=$(annotation_of namespace e2e-mutation "" ambient-guard.io/previous-injection)
  [[ $(jq -r '."istio-injection"' <<<"$recorded") == enabled ]] ||
    fail "ambient-guard.io/previous-injection does not record istio-injection=enabled: '$recorded'"
  # Rollback: removing the ambient label puts the injection label back.
  kcap label namespace e2e-mutation istio.io/dataplane-mode-
  expect_krc 0 "removing the ambient label"
  [[ $(label_of namespace e2e-mutation "" istio-injection) == enabled ]] ||
    fail "istio-injection=enabled not restored: $(k get ns e2e-mutation -o json | jq -c .metadata)"
  [[ -z $(annotation_of namespace e2e-mutation "" ambient-guard.io/previous-injection) ]] ||
    fail "the record annotation is still there after the rollback"
}

# Reinvocation (reinvocationPolicy IfNeeded): a MutatingAdmissionPolicy that changes the namespace
# after ambient-guard's patch makes the API server call ambient-guard a second time, with its own
# output. That second call must change nothing: the stored namespace is what the first call made
# (plus the policy's label), ambient-guard answered once with a patch and once without, and the
# API server's audit log says round 1 did not mutate.
test_enforce_mutation_reinvocation_changes_nothing() {
  use_mode enforce
  apply <<YAML
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata: {name: e2e-reinvoke}
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: [v1], operations: [UPDATE], resources: [namespaces]}
  matchConditions:
  - {name: this-test, expression: "object.metadata.name == 'e2e-reinvoke'"}
  failurePolicy: Fail
  reinvocationPolicy: IfNeeded
  mutations:
  - patchType: JSONPatch
    jsonPatch:
      expression: >-
        has(object.metadata.annotations) &&
        'ambient-guard.io/previous-injection' in object.metadata.annotations &&
        !('e2e.ambient-guard.io/reinvoked' in object.metadata.labels)
        ? [JSONPatch{op: 'add', path: '/metadata/labels/e2e.ambient-guard.io~1reinvoked', value: 'true'}]
        : []
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata: {name: e2e-reinvoke}
spec: {policyName: e2e-reinvoke}
YAML
  ns e2e-reinvoke istio-injection=enabled
  # The policy reaches the API server's admission chain asynchronously: wait until it acts on a
  # dry run (which ambient-guard answers like a real write). `kubectl patch` prints the object the
  # server returns (`kubectl label -o json` prints its own local copy).
  reinvoked_on_dry_run() {
    k patch namespace e2e-reinvoke --type=merge --dry-run=server -o json \
      -p '{"metadata":{"labels":{"istio.io/dataplane-mode":"ambient"}}}' |
      jq -e '.metadata.labels["e2e.ambient-guard.io/reinvoked"] == "true"'
  }
  wait_until 30 "the MutatingAdmissionPolicy in effect" reinvoked_on_dry_run
  local patched allowed
  patched=$(ag_requests enforce mutate patched)
  allowed=$(ag_requests enforce mutate allowed)
  kcap label namespace e2e-reinvoke istio.io/dataplane-mode=ambient
  expect_krc 0 "enrolling the namespace"
  local meta
  meta=$(k get namespace e2e-reinvoke -o json | jq -c .metadata)
  jq -e '.labels["e2e.ambient-guard.io/reinvoked"] == "true"' <<<"$meta" >/dev/null ||
    fail "the policy's round-1 label is missing (no reinvocation happened): $meta"
  jq -e '.labels | has("istio-injection") | not' <<<"$meta" >/dev/null ||
    fail "istio-injection is back: $meta"
  jq -e '.annotations["ambient-guard.io/previous-injection"] | fromjson | ."istio-injection" == "enabled"' \
    <<<"$meta" >/dev/null || fail "the record annotation changed: $meta"
  (( $(ag_requests enforce mutate patched) == patched + 1 )) ||
    fail "ambient-guard patched $(( $(ag_requests enforce mutate patched) - patched )) times, want 1"
  (( $(ag_requests enforce mutate allowed) == allowed + 1 )) ||
    fail "ambient-guard was not reinvoked (or patched again): $(( $(ag_requests enforce mutate allowed) - allowed )) unpatched answers, want 1"
  # The API server's own record: round 0 mutated, round 1 did not.
  round_annotation() {
    jq -c --arg r "$1" 'select(.objectRef.resource == "namespaces" and .objectRef.name == "e2e-reinvoke"
        and .verb == "patch" and .stage == "ResponseComplete" and (.requestURI | contains("dryRun") | not))
      | .annotations["mutation.webhook.admission.k8s.io/round_\($r)_index_0"] // empty' \
      "$E2E_WORK/logs/apiserver-audit.log" | tail -1
  }
  local r0 r1
  r0=$(round_annotation 0)
  r1=$(round_annotation 1)
  [[ $(jq -r 'fromjson | .mutated' <<<"$r0") == true ]] || fail "audit: round 0 annotation '$r0'"
  [[ $(jq -r 'fromjson | .mutated' <<<"$r1") == false ]] || fail "audit: round 1 annotation '$r1'"
  k delete mutatingadmissionpolicybinding e2e-reinvoke >/dev/null
  k delete mutatingadmissionpolicy e2e-reinvoke >/dev/null
}
