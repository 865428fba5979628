// How Istio attaches targetRef'd policies (AuthorizationPolicy, RequestAuthentication,
// WasmPlugin) to waypoint traffic, and small matching helpers the policy rules share.
//
// Mirrors [I] pilot/pkg/model/policyattachment.go (WorkloadPolicyMatcher.ShouldAttachPolicy) and
// the WaypointAccepted status of [I] pilot/pkg/serviceregistry/ambient/policies.go:38-159.
// Spec: ../shared/spec/ambient-semantics.md §2.3, §3.4. Extends rules/ambient.h.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/cluster_state.h"
#include "model/objects.h"
#include "rules/ambient.h"
#include "rules/rule.h"

namespace ambient_guard::ambient {

inline constexpr std::string_view kGatewayApiGroup = "gateway.networking.k8s.io";
inline constexpr std::string_view kIstioNetworkingGroup = "networking.istio.io";
// Label Istio's deployment controller puts on the pods of a Gateway API gateway (including
// waypoints); policyattachment.go workloadGatewayName.
inline constexpr std::string_view kGatewayNameLabel = "gateway.networking.k8s.io/gateway-name";

// Returns true when the targetRef names a core Service (group "" or "core": config.CanonicalGroup).
bool refIsService(const TargetRef& ref);
// Returns true when the targetRef names a Gateway API Gateway.
bool refIsGateway(const TargetRef& ref);
// Returns true when the targetRef names a Gateway API GatewayClass.
bool refIsGatewayClass(const TargetRef& ref);

// Whether a targetRef attaches to anything (the WaypointAccepted condition, plus the runtime
// checks of ShouldAttachPolicy that the status does not show).
struct TargetResolution {
  enum class Status {
    kResolved,            // attaches (a waypoint serves the Service, an Istio Gateway, ...)
    kNotModelled,         // classic Istio (networking.istio.io) Gateway: not kept by ambient-guard
    kInvalid,             // rejected by Istio's own validation (other kinds, cross-namespace)
    kTargetNotFound,      // Service or Gateway missing ("TargetNotFound")
    kServiceNotBound,     // Service without a waypoint serving service traffic ("AncestorNotBound")
    kGatewayNotIstio,     // Gateway of a class no Istio controller manages: never applied
    kWaypointServesNone,  // waypoint with istio.io/waypoint-for=none: no traffic reaches it
    kGatewayClassName,    // GatewayClass other than istio-waypoint: never attached at runtime
    kGatewayClassNamespace,  // GatewayClass targetRef outside the root namespace ("Invalid")
    kAgentgateway,  // an agentgateway waypoint/gateway serves the target: no Istio policy applied
  };
  Status status = Status::kResolved;
  std::string problem;  // what is wrong, with Istio's wording where it has one
  std::string fix;      // what to do
  WaypointBinding binding;  // for Service targets: the Service's waypoint binding

  bool unresolved() const {
    return status != Status::kResolved && status != Status::kNotModelled &&
           status != Status::kInvalid;
  }
};

// Resolves one targetRef of a policy in policy_ns.
// Service: must exist in policy_ns and be bound to a waypoint serving service traffic
// (policyattachment.go:151-161 attaches Service refs only at waypoints; policies.go reports
// AncestorNotBound). Gateway: must exist in policy_ns and be a waypoint, or a Gateway of an
// Istio-managed class (ingress: policies attach to any Gateway API gateway whose pods carry the
// gateway-name label, policyattachment.go:192-196). GatewayClass: only `istio-waypoint`, only
// from the root namespace (policyattachment.go:176-182; policies.go:75-81).
TargetResolution resolveTargetRef(const ClusterView& state, std::string_view policy_ns,
                                  const TargetRef& ref, const rules::MeshSettings& mesh);

// Returns true when the Gateway's class is managed by an Istio controller (istio, istio-waypoint,
// istio-remote, istio-east-west, agentgateway: [I] pilot/pkg/config/kube/gatewaycommon/
// classinfo.go), false when its GatewayClass names another controller, and true when unknown
// (no GatewayClass object: we cannot tell, so we do not claim it is foreign).
bool istioManagesGatewayClass(const ClusterView& state, const Gateway& gw);

// A targetRef'd policy of one of the kinds waypoints attach (AuthorizationPolicy,
// RequestAuthentication, WasmPlugin, TrafficExtension), viewed uniformly.
struct TargetedPolicy {
  ObjectKey key;
  const std::vector<TargetRef>* refs = nullptr;
};

// Returns the AuthorizationPolicies, RequestAuthentications, WasmPlugins and TrafficExtensions
// of ns that have
// targetRefs, in kind then name order.
std::vector<TargetedPolicy> targetedPoliciesIn(const ClusterView& state, std::string_view ns);

// Returns the targetRef'd policy of `key` (one of the three kinds), or an empty refs pointer.
TargetedPolicy targetedPolicy(const ClusterView& state, const ObjectKey& key);

// One targetRef of one policy that a waypoint applies to some traffic.
struct Attachment {
  ObjectKey policy;
  size_t ref_index = 0;
  std::string via;  // "Service reviews", "Gateway bookinfo/waypoint", "GatewayClass istio-waypoint"
};

// Returns the targetRef'd policies the waypoint of `binding` applies to traffic addressed to
// `svc` (service traffic), or — with svc == nullptr — to the pods of a namespace (workload
// traffic). Empty when the binding is not bound. Service traffic gets Service-targeted policies
// in the Service's namespace, Gateway-targeted policies of that waypoint (in its namespace) and
// GatewayClass istio-waypoint policies of the root namespace; workload traffic only the last two
// ([I] pilot/pkg/networking/core/listener_waypoint.go:613-641,875-906; policyattachment.go).
std::vector<Attachment> attachedPolicies(const ClusterView& state, const Service* svc,
                                         const WaypointBinding& binding,
                                         const rules::MeshSettings& mesh);

// A destination that binds to a waypoint for service traffic: a Service, or a ServiceEntry
// (egress waypoints; policies target it with {group: networking.istio.io, kind: ServiceEntry}).
struct ServiceTarget {
  Kind kind = Kind::kService;  // kService or kServiceEntry
  std::string ns;
  std::string name;
};

// Same as above for a Service or ServiceEntry target (nullptr: workload traffic).
std::vector<Attachment> attachedPolicies(const ClusterView& state, const ServiceTarget* target,
                                         const WaypointBinding& binding,
                                         const rules::MeshSettings& mesh);

// Returns true when `value` matches an AuthorizationPolicy string pattern the way ztunnel's
// converted policy does: "*" any (presence), "*x" suffix, "x*" prefix, else exact
// ([I] pilot/pkg/serviceregistry/ambient/authorization.go stringToMatch).
bool istioStringMatch(std::string_view pattern, std::string_view value);

// Returns true when a workload selector plausibly selects gateway pods rather than application
// pods: the Gateway API gateway-name label (policyattachment.go workloadGatewayName), Istio's
// `istio.io/gateway-name`, or a classic `istio: *gateway` label (ingressgateway, egressgateway,
// eastwestgateway). Selector policies still work on those proxies (Envoy), unlike on ambient pods.
bool selectsGatewayPods(const Labels& match_labels);

}  // namespace ambient_guard::ambient
