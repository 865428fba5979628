// unsupported-in-ambient
//
// Invariant: an ambient namespace holds no configuration that ambient silently ignores:
//   - an EnvoyFilter without targetRefs (workloadSelector or namespace-wide) for its workloads;
//   - a Sidecar resource;
//   - a WasmPlugin without targetRefs (selector or namespace-wide);
//   - DestinationRule subsets for its hosts that mesh VirtualServices route to (HTTPRoute cannot
//     name a subset);
//   - client-side egress configuration its pods see (exportTo) for an external host whose
//     ServiceEntry is not bound to a waypoint: a mesh VirtualService that routes the host to an
//     egress gateway, a DestinationRule that originates TLS (SIMPLE/MUTUAL) to it
//     (rules/unsupported_in_ambient_egress.h).
// A root-namespace EnvoyFilter / WasmPlugin without a selector covers every ambient namespace.
// Selectors that pick gateway pods (gateway-name label, `istio: ingressgateway`) are left alone:
// gateways run Envoy and keep applying them; so are subsets that only ingress VirtualServices use.
//
// Why: ztunnel consumes only addresses and authorization policies ([ZT] src/xds/types.rs:44-46),
// and waypoints never apply selector-based extensions ("waypoints never use selector",
// [I] pilot/pkg/model/policyattachment.go:139-149; [API] extensions/v1alpha1/wasm.proto:272).
// Istio's analyzer reports a Sidecar on ambient workloads as IST0167 IneffectivePolicy (
// [I] pkg/config/analysis/analyzers/sidecar/selector.go:113-155). The migration guide: EnvoyFilters
// are not supported on waypoints and silently ignored after migration, and "DestinationRule
// subset-based routing is not supported by waypoints. Subsets must be replaced with individual
// Kubernetes Services per version" (istio.io docs/ambient/migrate/migrate-policies). The filters,
// plugins, egress limits and subset routing all silently stop once the sidecars are gone.
//
// Violating example (namespace shop labelled istio.io/dataplane-mode=ambient):
//   apiVersion: networking.istio.io/v1alpha3
//   kind: EnvoyFilter
//   metadata: {name: add-header, namespace: shop}
//   spec:
//     workloadSelector: {labels: {app: cart}}
//     configPatches: [...]
//
// Fires on EnvoyFilter, Sidecar, WasmPlugin, TrafficExtension, DestinationRule and VirtualService
// writes and on namespace enrollment. Default: warn.
#pragma once

#include "rules/rule.h"

namespace ambient_guard::rules {

class UnsupportedInAmbient final : public Rule {
 public:
  const RuleDoc& doc() const override;
  void evaluate(const RuleContext& ctx, std::vector<Finding>& out) const override;
};

}  // namespace ambient_guard::rules
