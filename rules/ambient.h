// Istio ambient-mode semantics, in one place. Every function mirrors a piece of istiod, the CNI
// node agent or ztunnel, and cites it; rules call these instead of re-deriving Istio behaviour.
// Spec: ../shared/spec/ambient-semantics.md (section numbers below refer to it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/cluster_state.h"
#include "model/objects.h"
#include "rules/enablement.h"
#include "rules/rule.h"

namespace ambient_guard::ambient {

// Label and annotation keys ([API] label/labels.yaml).
inline constexpr std::string_view kDataplaneModeLabel = "istio.io/dataplane-mode";
inline constexpr std::string_view kInjectionLabel = "istio-injection";
inline constexpr std::string_view kRevLabel = "istio.io/rev";
inline constexpr std::string_view kUseWaypointLabel = "istio.io/use-waypoint";
inline constexpr std::string_view kUseWaypointNamespaceLabel = "istio.io/use-waypoint-namespace";
inline constexpr std::string_view kWaypointForLabel = "istio.io/waypoint-for";
// Weighted waypoint canaries (Istio 1.31, Alpha; [API] label/labels.yaml, annotation/
// annotations.yaml; istio.io docs/ambient/usage/waypoint "Shift traffic between waypoints").
inline constexpr std::string_view kUseWaypointCanaryLabel = "istio.io/use-waypoint-canary";
inline constexpr std::string_view kUseWaypointCanaryNamespaceLabel =
    "istio.io/use-waypoint-canary-namespace";
inline constexpr std::string_view kUseWaypointCanaryWeightAnnotation =
    "istio.io/use-waypoint-canary-weight";
inline constexpr std::string_view kWaypointClass = "istio-waypoint";
inline constexpr std::string_view kMeshController = "istio.io/mesh-controller";
// agentgateway (Istio 1.31, experimental; istio.io docs/ambient/usage/agentgateway).
inline constexpr std::string_view kAgentgatewayWaypointClass = "istio-agentgateway-waypoint";
inline constexpr std::string_view kAgentgatewayWaypointController =
    "istio.io/agentgateway-waypoint-controller";
inline constexpr std::string_view kAgentgatewayClass = "istio-agentgateway";
inline constexpr std::string_view kAgentgatewayController = "istio.io/agentgateway-controller";

// ---------------------------------------------------------------------------------------------
// Enrollment (spec §1.2)

enum class DataplaneMode { kNone, kSidecar, kAmbient, kMixed };
std::string_view modeName(DataplaneMode mode);

// Returns true when the sidecar injector injects new pods of a namespace with these labels:
// `istio-injection=enabled`, or `istio.io/rev` set and no `istio-injection` label at all (any
// other istio-injection value blocks every injection webhook).
// Mirrors [I] manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml:65-145.
bool namespaceInjectsSidecars(const Labels& ns_labels);

// Returns the namespace's mode: kMixed when enrolled for ambient *and* injecting (the sidecar
// wins, R1.3), kAmbient, kSidecar, or kNone. Enrolled means istio-cni's enablement selectors
// capture a pod without labels in it (rules/enablement.h; by default: labelled
// istio.io/dataplane-mode=ambient). Mirrors [I] cni/pkg/util/enablement_selector.go:77-97.
DataplaneMode namespaceMode(const Labels& ns_labels, const EnablementSelectors& enablement);

// Returns true when new pods of the namespace are captured by ztunnel: the enablement selectors
// enroll the namespace (default: dataplane-mode=ambient) and it does not inject sidecars ([I] pkg/config/analysis/analyzers/util/in_mesh.go:53-66, with the
// injector's own reading of istio.io/rev).
bool isAmbientNamespace(const Labels& ns_labels, const EnablementSelectors& enablement);
// Same, looking the namespace up; false when the cluster has no such Namespace.
bool isAmbientNamespace(const ClusterView& state, std::string_view ns,
                        const EnablementSelectors& enablement);

// Returns true when a pod with `pod_labels` in a namespace with `ns_labels` gets a sidecar (R1.1
// cases 1-4, [I] mutatingwebhook.yaml:65-145; the pod label sidecar.istio.io/inject wins).
bool podGetsSidecar(const Labels& ns_labels, const Labels& pod_labels);

// Returns true when such a pod is captured by ztunnel (R1.2-R1.4): no sidecar, and some
// enablement selector matches the pod and its namespace (default: the pod is labelled ambient, or
// the namespace is and the pod is not labelled `none`).
// Mirrors [I] cni/pkg/util/enablement_selector.go:77-97 and cni/pkg/util/podutil.go:93-98.
bool isAmbientWorkload(const Labels& ns_labels, const Labels& pod_labels,
                       const EnablementSelectors& enablement);

// ---------------------------------------------------------------------------------------------
// AuthorizationPolicy at ztunnel (spec §3.2-3.3)

// The `when` keys ztunnel enforces ([I] pilot/pkg/serviceregistry/ambient/authorization.go,
// l4WhenAttributes).
bool isL4WhenKey(std::string_view key);

// How istiod treats source.trustDomains / notTrustDomains of a ztunnel-bound policy
// (docs/istio-1.31-notes.md §1.3).
enum class TrustDomainHandling {
  // master after 1.31.1: reported as unsupported HTTP attributes (httpSources), like
  // requestPrincipals: the ALLOW rule is dropped, the DENY condition omitted.
  kReportedAsHttp,
  // 1.31.x: handleRule copies only ipBlocks, namespaces, serviceAccounts and principals into
  // the ztunnel match; the trust-domain condition disappears and no status says so.
  kDroppedSilently,
};

// What ztunnel makes of an AuthorizationPolicy that is not bound with targetRefs.
struct ZtunnelConversion {
  enum class Outcome {
    kIgnored,           // targetRef(s): not for ztunnel at all
    kDryRunNotSent,     // dry-run annotation while ambient dry-run is off: not sent
    kActionNotSent,     // AUDIT or CUSTOM: not sent, not enforced (fail-open for CUSTOM)
    kAccepted,          // enforced as written
    kAllowRulesOmitted, // ALLOW: some rules had HTTP attributes and were dropped
    kAllowNoRules,      // ALLOW: every rule dropped; matches nothing (deny-all risk)
    kDenyWithoutHttp,   // DENY: enforced without its HTTP conditions (broader)
    kDenyNoEffect,      // DENY: no enforceable rule left; a no-op (fail-open)
  };
  Outcome outcome = Outcome::kAccepted;
  std::vector<std::string> l7_attributes;  // Istio's names, sorted, unique
  std::string first_l7_field;              // path of the first L7 field found
  std::string status_message;              // istiod's ZtunnelAccepted message, verbatim
  // kDroppedSilently only: the trust-domain fields istiod dropped, by path, and what that did
  // to the rules that carry them (counted over rules ztunnel keeps).
  std::vector<std::string> dropped_trust_domain_fields;
  size_t trust_domain_rules_never_match = 0;  // no other source field left: never matches
  size_t trust_domain_rules_widened = 0;      // enforced without the trust-domain condition
};

// Mirrors convertAuthorizationPolicy / handleRule / hasEffectiveRules in
// [I] pilot/pkg/serviceregistry/ambient/authorization.go. `trust_domains` says which istiod is
// mirrored: the default is master after 1.31.1; rules pass the cluster's version
// (rules/istio_version.h).
ZtunnelConversion convertForZtunnel(
    const AuthorizationPolicy& ap, const rules::MeshSettings& mesh,
    TrustDomainHandling trust_domains = TrustDomainHandling::kReportedAsHttp);

// ---------------------------------------------------------------------------------------------
// Waypoints (spec §2)

enum class TrafficType { kService, kWorkload };

struct WaypointBinding {
  enum class Status {
    kNoLabel,                 // no use-waypoint on the object or its namespace
    kOptedOut,                // use-waypoint: none
    kBound,                   // bound to a waypoint that serves this traffic type
    kNotFound,                // target Gateway missing ("waypoint %q is not ready")
    kNotReady,                // target has status but no addresses ("waypoint %q is not ready")
    kNotAWaypoint,            // target is not an istio-waypoint-class Gateway (spec W5)
    kAttachmentDenied,        // cross-namespace target without allowedRoutes for us
    kUnsupportedTrafficType,  // waypoint-for does not cover the traffic type
  };
  Status status = Status::kNoLabel;
  std::string ns;    // waypoint namespace (when a label names one)
  std::string name;  // waypoint name
  TrafficType traffic = TrafficType::kService;
  bool from_namespace_label = false;  // the label came from the Namespace, not the object
  bool readiness_unknown = false;     // bound to a Gateway without any status (a manifest)
  const Gateway* gateway = nullptr;

  bool bound() const { return status == Status::kBound; }
  // Returns Istio's condition message for the status ("waypoint \"ns/wp\" is not ready"), or
  // "" for kNoLabel / kOptedOut / kBound.
  std::string problem() const;
};

// Resolves the waypoint of an object (a Service's labels, or nullptr for "the namespace only")
// in namespace ns. Mirrors fetchWaypointForTarget, [I] pilot/pkg/serviceregistry/ambient/
// waypoints.go:98-206: the object's label wins, `none` stops without namespace fallback,
// `use-waypoint-namespace` is read from the same object, no fallback when the traffic type check
// fails.
WaypointBinding resolveWaypoint(const ClusterView& state, std::string_view ns,
                                const Labels* object_labels, TrafficType traffic);

// The canary waypoint of a Service, ServiceEntry or Namespace next to its primary (Istio 1.31).
struct WaypointCanary {
  enum class Status {
    kNone,           // no canary label (or `none` / empty), or the primary is not bound
    kActive,         // a usable canary; `weight` percent of new connections go to it
    kInvalidWeight,  // CanaryInvalidWeight: ignored, primary only
    kSameAsPrimary,  // CanarySameAsPrimary: ignored, primary only
    kUnusable,       // missing, not ready, not admitting, not serving service: ignored
  };
  Status status = Status::kNone;
  std::string ns;
  std::string name;
  uint32_t weight = 0;     // 0-100; the primary gets the rest
  std::string raw_weight;  // the annotation as written
  bool from_namespace_label = false;
  WaypointBinding binding;  // the canary's own binding (kUnusable: why)

  bool active() const { return status == Status::kActive; }
  // Returns true when the canary carries some traffic (active, weight > 0).
  bool carriesTraffic() const { return active() && weight > 0; }
  // Returns istiod's istio.io/WaypointBound wording for an ignored canary, or "".
  std::string problem() const;
};

// Resolves the canary next to `primary` for an object with labels `object_labels` and canary
// weight annotation `object_weight` ("" unset) in ns. The canary labels are read from the object
// when it sets istio.io/use-waypoint itself, else from the Namespace ("A canary configured on a
// namespace only applies to services that also inherit their primary waypoint from that
// namespace"); the weight from the object, else the Namespace. `none` or "" means no canary; the
// weight must be an integer in [0,100], default 0; the canary must differ from the primary and
// be ready, admit ns and serve service traffic, else it is ignored and the primary takes all.
// Mirrors getUseWaypointCanary / getCanaryWeight ([I] pilot/pkg/serviceregistry/ambient/
// waypoints.go and waypoints_test.go TestGetUseWaypointCanary, TestGetCanaryWeight, 1.31 line)
// and istio.io docs/ambient/usage/waypoint#waypoint-canary.
WaypointCanary resolveCanary(const ClusterView& state, std::string_view ns,
                             const Labels* object_labels, std::string_view object_weight,
                             const WaypointBinding& primary);

// Returns true when the Gateway is a waypoint: class istio-waypoint or istio-agentgateway-waypoint,
// or a GatewayClass whose controller is istio.io/mesh-controller or
// istio.io/agentgateway-waypoint-controller (spec W5; [I] policies.go:83-95; istiod binds
// use-waypoint to any Gateway with addresses, spec W4).
bool isWaypoint(const ClusterView& state, const Gateway& gw);

// Returns true when the Gateway is an agentgateway proxy (waypoint or ingress, by class or
// controller). Istio programs agentgateway only through Gateway API routes: "`VirtualService`,
// `DestinationRule`, `Sidecar`, `AuthorizationPolicy`, `PeerAuthentication`,
// `RequestAuthentication`, `Telemetry`, `WasmPlugin`, and `EnvoyFilter` — are **not** applied to
// agentgateway proxies" (istio.io docs/ambient/usage/agentgateway, Istio 1.31).
bool isAgentgateway(const ClusterView& state, const Gateway& gw);

// Returns the Gateway's istio.io/waypoint-for ("service" default); the Gateway label overrides
// the GatewayClass label ([I] waypoints.go:375-389).
std::string waypointFor(const ClusterView& state, const Gateway& gw);

// Returns true when `waypoint_for` covers the traffic type ([I] waypoints.go:167-172,195-206).
bool servesTraffic(std::string_view waypoint_for, TrafficType traffic);

// Returns true when a client in `client_ns` may attach to the waypoint: same namespace, or the
// HBONE listener (or the inbound-binding one) allows it ([I] waypoints.go:568-663).
bool waypointAdmitsNamespace(const ClusterView& state, const Gateway& gw,
                             std::string_view client_ns);

// Returns the SPIFFE principal of the waypoint ("cluster.local/ns/<ns>/sa/<sa>"); the SA is the
// Gateway name unless gateway.istio.io/service-account overrides it ([I] deploymentcontroller.go:423).
std::string waypointPrincipal(const Gateway& gw, std::string_view trust_domain);

// Returns the ready waypoints of a namespace that apply Istio policy (not agentgateway), in name
// order.
std::vector<const Gateway*> waypointsIn(const ClusterView& state, std::string_view ns);

// ---------------------------------------------------------------------------------------------
// PeerAuthentication (spec §4)

struct EffectiveMtls {
  bool strict = false;
  const PeerAuthentication* mesh = nullptr;      // oldest selector-less PA in the root namespace
  const PeerAuthentication* ns_policy = nullptr; // oldest selector-less PA in the namespace
  const PeerAuthentication* workload = nullptr;  // oldest matching selector PA (non-root ns)
};

// Returns the effective mode for a workload (labels; empty for "any workload") in ns.
// Mirrors convertedSelectorPeerAuthentications, [I] authorization.go:81-220: oldest wins, a
// namespace DISABLE/PERMISSIVE overrides a mesh STRICT, DISABLE acts as PERMISSIVE, selector PAs
// in the root namespace are ignored.
EffectiveMtls effectiveMtls(const ClusterView& state, std::string_view ns,
                            const Labels& workload_labels, const rules::MeshSettings& mesh);

// Returns the oldest selector-less PeerAuthentication of ns (creationTimestamp, then name).
const PeerAuthentication* oldestNamespacePolicy(const ClusterView& state, std::string_view ns);

// ---------------------------------------------------------------------------------------------
// Scope helpers

// Returns the namespaces whose ambient workloads a ztunnel-bound policy in `policy_ns` covers:
// every ambient namespace when policy_ns is the root namespace, else policy_ns if it is ambient.
std::vector<std::string> ambientNamespacesCovered(const ClusterView& state,
                                                  std::string_view policy_ns,
                                                  const rules::MeshSettings& mesh);

// Returns the Services of ns whose pods a workload selector plausibly selects: their
// spec.selector and the matchLabels agree on every shared key and share at least one.
std::vector<const Service*> servicesSelectedBy(const ClusterView& state, std::string_view ns,
                                               const Labels& match_labels);

// Returns the namespace a VirtualService host refers to ("reviews" → vs_ns,
// "reviews.shop" / "reviews.shop.svc.cluster.local" / "*.shop.svc.cluster.local" → "shop"), or
// "" for hosts outside the cluster.
std::string hostNamespace(std::string_view host, std::string_view vs_ns);

// Returns true when the VirtualService applies to mesh (sidecar/waypoint) traffic: `gateways`
// empty or containing "mesh" ([API] networking/v1alpha3/virtual_service.proto:195-205).
bool isMeshVirtualService(const VirtualService& vs);

// Returns true when the VirtualService is bound to some gateway other than `mesh` (an ingress or
// egress gateway applies it).
bool isGatewayVirtualService(const VirtualService& vs);

// Returns true when a route destination host (short, "name.ns" or FQDN) names the Service
// svc_ns/svc_name, read from a VirtualService in vs_ns.
bool hostIsService(std::string_view host, std::string_view vs_ns, std::string_view svc_ns,
                   std::string_view svc_name);

// Returns the gateway-bound VirtualServices (isGatewayVirtualService) whose HTTP routes send
// traffic to the Service, in namespace then name order.
std::vector<const VirtualService*> gatewayRoutesTo(const ClusterView& state, const Service& svc);

// Returns the ingress Gateways ("ns/name") among an HTTPRoute's parentRefs: kind Gateway (the
// default) in group gateway.networking.k8s.io (the default), namespace defaulting to the
// route's, that exist and are not waypoints (isWaypoint). Service parents (GAMMA, mesh routes)
// and waypoint parents are not ingress. Unknown Gateways are skipped: nothing programs the route.
std::vector<std::string> ingressParents(const ClusterView& state, const HTTPRoute& route);

// Returns the HTTPRoutes with an ingress parent (ingressParents) whose backendRefs name the
// Service (kind Service, namespace defaulting to the route's), in namespace then name order.
std::vector<const HTTPRoute*> gatewayHttpRoutesTo(const ClusterView& state, const Service& svc);

// Returns true when an ingress gateway routes to the Service: a gateway-bound VirtualService
// (gatewayRoutesTo) or an HTTPRoute on an ingress Gateway (gatewayHttpRoutesTo).
bool ingressRoutesTo(const ClusterView& state, const Service& svc);

// Returns true when ingress gateways send the Service's traffic through its waypoint:
// istio.io/ingress-use-waypoint on the Service, else on its Namespace, parsed like Go's
// strconv.ParseBool (1, t, T, TRUE, true, True). Mirrors [I] pilot/pkg/serviceregistry/ambient/
// services.go (spec §5); ENABLE_INGRESS_WAYPOINT_ROUTING is on by default when ambient is
// ([I] pilot/pkg/features/ambient.go).
inline constexpr std::string_view kIngressUseWaypointLabel = "istio.io/ingress-use-waypoint";
bool ingressUsesWaypoint(const ClusterView& state, const Service& svc);

// Returns true for the values Go's strconv.ParseBool reads as true (1, t, T, TRUE, true, True);
// everything else, unparsable values included, is false (how istiod reads boolean labels and
// annotations).
bool parseGoBool(std::string_view value);

}  // namespace ambient_guard::ambient

namespace ambient_guard::ambient {

// The targetRefs that move a selector or namespace-wide policy onto a waypoint.
struct TargetRefSuggestion {
  std::string target_refs;  // YAML flow text: "targetRefs: [{group: \"\", kind: Service, name: x}]"
  std::string how;          // what the user must know or do first
  bool waypoint_ready = false;  // a waypoint already serves the target
  std::string waypoint;         // "ns/name" of that waypoint, or of the one to create
};

// Returns the targetRefs for a policy in ns with the given selector (policyattachment.go:151-198):
// a Service when the selector matches exactly one Service, else the namespace waypoint Gateway;
// the GatewayClass istio-waypoint for a mesh-wide policy in the root namespace.
TargetRefSuggestion suggestTargetRefs(const ClusterView& state, std::string_view ns,
                                      const WorkloadSelector& selector,
                                      const rules::MeshSettings& mesh);

}  // namespace ambient_guard::ambient
