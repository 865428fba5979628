// unsupported-in-ambient, client-side egress part (rules/unsupported_in_ambient.h).
//
// In sidecar mode egress configuration runs in the *client's* sidecar: a mesh VirtualService
// that steers an external host (a ServiceEntry host) to an egress gateway, and a DestinationRule
// that originates TLS to it (trafficPolicy.tls.mode SIMPLE or MUTUAL) are applied by the calling
// pod's Envoy (istio.io docs/tasks/traffic-management/egress/egress-gateway,
// egress-tls-origination). Once the client namespace is ambient there is no client Envoy: ztunnel
// consumes only addresses and authorization (spec §5), so the traffic goes straight out — past
// the egress gateway, and in plaintext where the app relied on TLS origination — unless the
// ServiceEntry is bound to a waypoint, which then applies them ("a waypoint proxy naturally acts
// as an egress gateway", istio.io docs/ambient/usage/egress-gateway, Istio 1.31).
#pragma once

#include <string>
#include <vector>

#include "rules/rule.h"

namespace ambient_guard::rules {

// Appends a finding (rule `doc`) for each mesh VirtualService and TLS-originating
// DestinationRule on an external host that namespace `client_ns` sees (exportTo) and that no
// waypoint applies. `only` restricts to one VirtualService or DestinationRule (a write), nullptr
// for all.
void checkClientEgress(const RuleContext& ctx, const RuleDoc& doc, const std::string& client_ns,
                       const ObjectKey* only, std::vector<Finding>& out);

}  // namespace ambient_guard::rules
