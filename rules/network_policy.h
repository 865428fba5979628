// Kubernetes NetworkPolicy evaluation for ambient mode: which pods a policy isolates, whether the
// HBONE port 15008 and the kubelet probe SNAT address still get through. Pure functions over the
// reduced object model, shared by network-policy-blocks-hbone and network-policy-blocks-probes.
//
// Semantics: [K8S] kubernetes/api networking/v1/types.go (spec 61-108, ingress rule 112-131,
// egress rule 136-155, port 158-177, ipBlock 182-195, peer 199-223), applied as the decision rules
// of ../shared/spec/platform-and-cost.md §1.3 (numbers below refer to them).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/cluster_state.h"
#include "model/label_selector.h"
#include "model/objects.h"
#include "rules/rule.h"

namespace ambient_guard::netpol {

// ztunnel's HBONE port ([ZT] src/config.rs; D-NP "tunnel traffic between your pods over port
// 15008").
inline constexpr int32_t kHbonePort = 15008;
// The address kubelet probes are SNATed to inside ambient pods, and its IPv6 twin
// ([I] cni/pkg/nodeagent/options.go:31-32,46-47; overridden by HOST_PROBE_SNAT_IP[V6]).
inline constexpr std::string_view kProbeSnatIpv4 = "169.254.7.127";
inline constexpr std::string_view kProbeSnatIpv6 = "fd16:9254:7127:1337:ffff:ffff:ffff:ffff";
// The label Istio puts on the pods of a Gateway / waypoint deployment.
inline constexpr std::string_view kGatewayNameLabel = "gateway.networking.k8s.io/gateway-name";

enum class Direction { kIngress, kEgress };

// model/label_selector.h: matchLabels AND every matchExpression; an unknown operator matches
// nothing.
using ::ambient_guard::selectorMatches;

// Rule 1: returns true when the policy's effective policyTypes include `dir`: spec.policyTypes
// when set, else Ingress, plus Egress when spec.egress is non-empty (types.go:95-103).
bool hasType(const NetworkPolicy& np, Direction dir);

// Rule 2: returns the policies of `ns` that select a pod with `pod_labels` for `dir`, name order.
std::vector<const NetworkPolicy*> selecting(const ClusterView& state, std::string_view ns,
                                            const Labels& pod_labels, Direction dir);

// Rule 5 portOK: returns true when the rule admits TCP `port`: no ports listed, a port entry
// without port, an equal number, a number..endPort range that contains it, or a name that one
// of `container_ports` (the destination pod's) gives that number. Only TCP entries count.
bool portAllows(const NetworkPolicyRule& rule, int32_t port,
                const std::vector<ContainerPort>& container_ports);

// Returns true when the IPv4/IPv6 address lies in the CIDR ("10.0.0.0/8", "::/0"); false when
// either is malformed or the families differ.
bool cidrContains(std::string_view cidr, std::string_view ip);

// Rule 5 peerOK for an address: no peers listed, or an ipBlock that contains `ip` and no
// `except` entry of which does. podSelector / namespaceSelector peers select pods only, never a
// link-local SNAT address.
bool peersAllowIp(const NetworkPolicyRule& rule, std::string_view ip);

// Rules 3-5: returns true when TCP traffic from `ip` to `port` of a pod isolated by `policies`
// (Pol_in of that pod) is allowed; true when `policies` is empty (not isolated).
bool allowsFromIp(const std::vector<const NetworkPolicy*>& policies, std::string_view ip,
                  int32_t port, const std::vector<ContainerPort>& container_ports);

// Rule 6: how HBONE (TCP 15008) fares for a pod under `policies` (Pol_in or Pol_eg of it).
enum class HboneStatus {
  kNotIsolated,  // no policy selects the pod for this direction
  kOpen,         // some rule admits 15008 from (to) anywhere
  kPartial,      // 15008 admitted, but only from (to) listed peers
  kBlocked,      // isolated and no rule admits 15008
};
std::string_view hboneStatusName(HboneStatus status);

// A rule that admits 15008 only for some peers (a PARTIAL reason).
struct RestrictedRule {
  const NetworkPolicy* policy = nullptr;
  size_t index = 0;  // position in spec.ingress / spec.egress
};

struct HboneVerdict {
  HboneStatus status = HboneStatus::kNotIsolated;
  std::vector<RestrictedRule> restricted;  // kPartial: every rule admitting 15008
};

// Rule 6 (and rule 8 for kEgress). Named ports never match 15008: pods do not declare it.
HboneVerdict classifyHbone(const std::vector<const NetworkPolicy*>& policies, Direction dir);

// Returns true when a peer of a policy in `policy_ns` selects a pod with `pod_labels` in
// namespace `pod_ns` whose Namespace has `ns_labels` (podSelector alone: same namespace;
// namespaceSelector: by namespace labels, which always include kubernetes.io/metadata.name).
// ipBlock peers return false: pod IPs are not in a backup.
bool peerSelectsPod(const NetworkPolicyPeer& peer, std::string_view policy_ns,
                    std::string_view pod_ns, const Labels& ns_labels, const Labels& pod_labels);

// Returns a short description of a rule's peers: "pods app=frontend; namespaces team=web;
// ipBlock 10.0.0.0/8 except 10.1.0.0/16" (or "any source" when empty).
std::string describePeers(const NetworkPolicyRule& rule);

// Returns a short description of a rule's ports: "8080/TCP, http, 9000-9100/TCP" ("all ports").
std::string describePorts(const NetworkPolicyRule& rule);

// ---------------------------------------------------------------------------------------------
// Which pods a namespace has, as far as a backup shows.

// A receiver of HBONE in a namespace: a workload template, a Pod no template covers, a waypoint
// Gateway, or — when the backup has no workloads for the namespace (e.g. the admission webhook's
// watch) — a Service standing in for the pods it selects.
struct Target {
  enum class Role { kAmbient, kWaypoint, kHboneSidecar };
  ObjectKey key;
  Labels labels;                  // pod labels
  const PodSpec* spec = nullptr;  // nullptr for stand-ins (Gateway, Service, Namespace)
  Role role = Role::kAmbient;
  bool probes_rewritten = false;  // a sidecar-era Pod: its probes point at the status port
};
std::string_view roleName(Target::Role role);

// Returns the HBONE receivers of ns after cutover (spec §1.3 rule 6): workloads that will be
// ambient (ambient.h isAmbientWorkload), waypoint pods, and HBONE-capable sidecars (pod label
// networking.istio.io/tunnel=http). hostNetwork pods are left out: NetworkPolicy does not apply.
std::vector<Target> hboneReceivers(const ClusterView& state, std::string_view ns,
                                   const ambient::EnablementSelectors& enablement);

// Returns the namespace labels with kubernetes.io/metadata.name set (the API server adds it).
Labels namespaceLabels(const ClusterView& state, std::string_view ns);

// What a NetworkPolicy rule evaluation is about: a NetworkPolicy write (that policy only), a
// NetworkPolicy deletion or a namespace (every policy left in it). nullopt for other subjects.
struct PolicyScope {
  std::string ns;
  const NetworkPolicy* only = nullptr;  // the written policy; nullptr for a namespace subject
  bool includes(const NetworkPolicy& np) const { return only == nullptr || only == &np; }
};
std::optional<PolicyScope> policyScope(const rules::RuleContext& ctx);

// Returns "Deployment web, Pod x and 3 more" for up to `shown` targets.
std::string describeTargets(const std::vector<const Target*>& targets, size_t shown = 4);

}  // namespace ambient_guard::netpol
