// dual-dataplane-labels
//
// Invariant: a namespace is not labelled both ambient (istio.io/dataplane-mode=ambient) and
// sidecar-injected (istio-injection=enabled, or istio.io/rev without istio-injection), and
// istio.io/dataplane-mode only ever holds `ambient` or `none`.
//
// Why: injection happens at pod creation and ignores dataplane-mode; the CNI then skips every pod
// that has a sidecar. So with both labels the sidecar wins: new pods get a sidecar and are not
// captured by ztunnel (Istio docs "Add workloads to the mesh"; [I] cni/pkg/util/podutil.go:93-98;
// Istio analyzer IST0123). Any other dataplane-mode value (e.g. "Ambient", "enabled") matches no
// CNI selector ([I] cni/pkg/util/enablement_selector.go:77-97), so pods silently stay out of the
// mesh.
//
// Violating example:
//   apiVersion: v1
//   kind: Namespace
//   metadata:
//     name: shop
//     labels: {istio-injection: enabled, istio.io/dataplane-mode: ambient}
//
// Fires on Namespace writes. Default: warn; an invalid dataplane-mode value: deny.
#pragma once

#include "rules/rule.h"

namespace ambient_guard::rules {

class DualDataplaneLabels final : public Rule {
 public:
  const RuleDoc& doc() const override;
  void evaluate(const RuleContext& ctx, std::vector<Finding>& out) const override;
};

}  // namespace ambient_guard::rules
