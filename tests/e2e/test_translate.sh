# shellcheck shell=bash
# Every `ambient-guard translate` output of the test corpus (the cases of tests/translate_test.cc,
# whose goldens are tests/testdata/translate/golden/) passes `kubectl apply --dry-run=server`
# against the real CRDs: schema, enums, CEL validation rules and strict field validation.

translate_case() {  # translate_case NAME ARGS...: prints the translate output
  local name=$1
  shift
  (cd "$E2E_REPO/tests/testdata/translate" && "$E2E_AG" translate "$@" 2>"$E2E_WORK/translate-$name.err")
}

test_translate_outputs_pass_server_dry_run() {
  use_mode enforce
  local -A cases=(
    [authorization-policies]="-f authz-valid.yaml -f security-v1-AuthorizationPolicy.yaml -f authorizationpolicies.yaml --lockdown"
    [request-authentication-wasm]="-f security-v1-RequestAuthentication.yaml -f reqauth-valid.yaml -f wasm-valid.yaml -f extensions-v1alpha1-WasmPlugin.yaml --state authorizationpolicies.yaml --default-namespace httpbin"
    [traffic-extension]="-f extensions-v1alpha1-TrafficExtension.yaml --state bookinfo.yaml --default-namespace default"
    [peer-authentication]="-f peerauth-valid.yaml -f security-v1-PeerAuthentication.yaml -f disabled.yaml"
    [bookinfo]="--state bookinfo.yaml --state bookinfo-destination-rule-all.yaml -f bookinfo-virtual-service-reviews-jason-v2-v3.yaml -f bookinfo-virtual-service-ratings-test-abort.yaml -f bookinfo-virtual-service-ratings-test-delay.yaml -f bookinfo-virtual-service-reviews-90-10.yaml -f bookinfo-virtual-service-details-v2.yaml -f bookinfo-fault-injection-details-v1.yaml -f bookinfo-gateway.yaml"
    [analyzer-virtualservices]="-f virtualservice_dupmatches.yaml -f virtualservice_overlappingmatches.yaml"
    [vs-features]="--state shop-cluster.yaml -f vs-features.yaml"
    [vs-features-experimental]="--state shop-cluster.yaml -f vs-features.yaml --gateway-api-channel experimental --waypoint shop-waypoint"
  )
  local name out objects commented created failures=0 nsname
  local goldens
  goldens=$(cd "$E2E_REPO/tests/testdata/translate/golden" && ls ./*.yaml | sed 's#^\./##; s#\.yaml$##' | sort)
  [[ $goldens == "$(printf '%s\n' "${!cases[@]}" | sort)" ]] ||
    fail "the cases here differ from tests/testdata/translate/golden/: $goldens"
  # Without --state, the analyzer VirtualServices' routes lack backend ports and are written
  # commented out; with their Services they are real HTTPRoutes, which the CRD's CEL rules judge.
  cases[analyzer-virtualservices-with-state]="${cases[analyzer-virtualservices]} --state analyzer-services.yaml"
  for name in $(printf '%s\n' "${!cases[@]}" | sort); do
    # shellcheck disable=SC2086
    out=$(translate_case "$name" ${cases[$name]}) || fail "translate $name failed: $(cat "$E2E_WORK/translate-$name.err")"
    [[ -n $out ]] || fail "translate $name printed nothing"
    # The namespaces the objects live in must exist for the API server to judge them.
    for nsname in $(grep -E '^  namespace: ' <<<"$out" | awk '{print $2}' | sort -u); do
      k get namespace "$nsname" >/dev/null 2>&1 || k create namespace "$nsname" >/dev/null
    done
    objects=$(grep -cE '^kind: ' <<<"$out" || true)
    commented=$(grep -cF '# COMMENTED OUT: ' <<<"$out" || true)
    if ((objects == 0)); then
      ((commented > 0)) || fail "translate $name wrote neither objects nor commented-out routes"
      echo "translate $name: nothing to apply ($commented routes commented out)"
      continue
    fi
    kcap apply --dry-run=server -f - <<<"$out"
    created=$(grep -cF 'created (server dry run)' <<<"$KOUT" || true)
    if [[ $KRC != 0 || $created != "$objects" ]]; then
      echo "translate $name: $created of $objects objects accepted; kubectl said:"
      sed 's/^/  /' <<<"$KOUT"
      failures=$((failures + 1))
    else
      echo "translate $name: $objects objects accepted$( ((commented == 0)) || echo " ($commented commented out)")"
    fi
  done
  ((failures == 0)) || fail "$failures translate output(s) rejected by the API server"
}
