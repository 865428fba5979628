// The cluster objects ambient-guard reasons about, reduced to the fields rules read.
//
// Objects are plain values decoded once (model/decode.h) from Kubernetes JSON; nothing here
// keeps the original document. Every field mirrors the Istio / Gateway API field of the same
// name, so rules can report Istio's own names back to the user.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "model/shared_value.h"

namespace ambient_guard {

// Label or annotation map, kept as a vector sorted by key (small, cache friendly). The pairs
// live in a Shared block: a Labels is 8 bytes, copies share one map, and the live state interns
// equal maps (model/state_interner.h). Writing copies the map first when it is shared.
class Labels {
 public:
  using Items = std::vector<std::pair<std::string, std::string>>;

  Labels() = default;
  explicit Labels(Items kv);

  // Returns the value for key, or nullptr when absent.
  const std::string* get(std::string_view key) const;
  bool has(std::string_view key) const { return get(key) != nullptr; }
  bool empty() const { return items().empty(); }
  size_t size() const { return items().size(); }
  // Returns true when every pair of `selector` is present in this map (Kubernetes matchLabels).
  bool contains(const Labels& selector) const;
  void set(std::string key, std::string value);
  void erase(std::string_view key);
  const Items& items() const;
  // Returns "k1=v1,k2=v2" (kubectl's selector syntax).
  std::string str() const;
  bool operator==(const Labels& other) const {
    return kv_.same(other.kv_) || items() == other.items();
  }

  // The shared block, for interning.
  Shared<Items>& handle() { return kv_; }
  const Shared<Items>& handle() const { return kv_; }

 private:
  Shared<Items> kv_;  // null: no labels
};

enum class Kind {
  kNamespace,
  kService,
  kGateway,
  kGatewayClass,
  kAuthorizationPolicy,
  kPeerAuthentication,
  kRequestAuthentication,
  kVirtualService,
  kDestinationRule,
  kEnvoyFilter,
  kSidecar,
  kWasmPlugin,
  // Workloads, NetworkPolicy and platform objects for the pre-flight of
  // ../shared/spec/platform-and-cost.md (model/decode_platform.cc decodes them).
  kNetworkPolicy,
  kPod,
  kDeployment,
  kStatefulSet,
  kDaemonSet,
  kNode,
  kConfigMap,
  kResourceQuota,
  kFelixConfiguration,
  kInstallation,
  kSecurityGroupPolicy,
  kCiliumNetworkPolicy,
  kCiliumClusterwideNetworkPolicy,
  // Istio objects of docs/istio-1.31-notes.md: ServiceEntries (egress waypoints), VM workloads,
  // TrafficExtension (1.30+) and SPIRE registrations (migration blockers).
  kServiceEntry,
  kWorkloadEntry,
  kWorkloadGroup,
  kTrafficExtension,
  kClusterSPIFFEID,
  // Gateway API HTTPRoute: ingress routes to Services (targetref-unresolved's ingress check).
  kHTTPRoute,
};
inline constexpr int kKindCount = 31;

// Returns the Kubernetes kind name ("AuthorizationPolicy").
std::string_view kindName(Kind kind);
// Returns true for kinds without a namespace (Namespace, GatewayClass, Node, ...).
bool clusterScoped(Kind kind);
// Returns the kind for a Kubernetes apiVersion + kind pair, or nullopt for kinds we do not keep.
std::optional<Kind> kindFromApi(std::string_view api_version, std::string_view kind);
// Returns the kind for its name alone ("Gateway" resolves to the Gateway API kind).
std::optional<Kind> kindFromName(std::string_view kind);

// Common metadata of every stored object.
struct Object {
  // Shared strings: the live state holds one copy of each namespace and of each name that
  // repeats across namespaces (model/state_interner.h).
  SharedString ns;  // empty for cluster-scoped kinds
  SharedString name;
  Labels labels;
  int64_t created = 0;  // metadata.creationTimestamp as Unix seconds; 0 when unknown
  int line = 0;         // first line of the object in its YAML source; 0 for JSON / admission
};

struct Namespace : Object {
  static constexpr Kind kKind = Kind::kNamespace;
  std::string uid;           // metadata.uid (ownerReferences of the namespace's PolicyReport)
  bool terminating = false;  // metadata.deletionTimestamp is set
  // istio.io/use-waypoint-canary-weight annotation as written; "" unset. Shared: the live state
  // holds one copy per distinct value.
  SharedString waypoint_canary_weight;
};

struct ServicePort {
  int32_t port = 0;
  std::string name;
  std::string protocol;
  std::string app_protocol;
  bool operator==(const ServicePort&) const = default;
};
size_t hashValue(const ServicePort& p);

struct Service : Object {
  static constexpr Kind kKind = Kind::kService;
  Labels selector;  // spec.selector
  SharedVector<ServicePort> ports;  // shared between Services with equal ports in live state
  // istio.io/use-waypoint-canary-weight annotation as written; "" unset. Shared: the live state
  // holds one copy per distinct value.
  SharedString waypoint_canary_weight;
};

struct AllowedRoutes {
  std::string from = "Same";  // allowedRoutes.namespaces.from: Same | All | Selector
  Labels selector;            // allowedRoutes.namespaces.selector.matchLabels
};

struct Listener {
  std::string name;
  int32_t port = 0;
  std::string protocol;
  AllowedRoutes allowed_routes;
};

enum class GatewayReadiness { kReady, kNotReady, kUnknown };

struct Gateway : Object {
  static constexpr Kind kKind = Kind::kGateway;
  std::string gateway_class;    // spec.gatewayClassName
  std::string service_account;  // gateway.istio.io/service-account annotation; empty = name
  std::string inbound_binding;  // ambient.istio.io/waypoint-inbound-binding annotation
  std::vector<Listener> listeners;
  // kReady: status.addresses non-empty; kNotReady: status present without addresses;
  // kUnknown: no status at all (a manifest that was never applied).
  GatewayReadiness readiness = GatewayReadiness::kUnknown;
};

struct GatewayClass : Object {
  static constexpr Kind kKind = Kind::kGatewayClass;
  std::string controller;  // spec.controllerName
};

// A `targetRef` / `targetRefs[]` entry (istio.type.v1beta1.PolicyTargetReference).
struct TargetRef {
  std::string group;
  std::string kind;
  std::string name;
  std::string ns;  // must be empty; Istio rejects cross-namespace references
};

// One non-empty field of an AuthorizationPolicy Source or Operation, with Istio's field name.
struct FieldValues {
  std::string field;  // e.g. "principals", "notMethods"
  std::vector<std::string> values;
  bool operator==(const FieldValues&) const = default;
};

struct Condition {
  std::string key;
  std::vector<std::string> values;
  std::vector<std::string> not_values;
  bool operator==(const Condition&) const = default;
};

struct AuthzRule {
  std::vector<std::vector<FieldValues>> from;  // from[i].source, non-empty fields only
  std::vector<std::vector<FieldValues>> to;    // to[i].operation, non-empty fields only
  std::vector<Condition> when;
  bool operator==(const AuthzRule&) const = default;
};
size_t hashValue(const FieldValues& f);
size_t hashValue(const Condition& c);
size_t hashValue(const AuthzRule& r);

struct WorkloadSelector {
  bool present = false;  // the `selector` field was given (even as {})
  Labels match_labels;
};

struct AuthorizationPolicy : Object {
  static constexpr Kind kKind = Kind::kAuthorizationPolicy;
  std::string action = "ALLOW";  // ALLOW | DENY | AUDIT | CUSTOM
  SharedString provider;         // provider.name for CUSTOM
  WorkloadSelector selector;
  std::vector<TargetRef> target_refs;   // targetRef and targetRefs combined
  SharedVector<AuthzRule> rules;        // shared between equal rule lists in live state
  std::optional<SharedString> dry_run;  // istio.io/dry-run annotation value when present
  // ambient-guard.io/translated-from: the selector policy this targetRefs twin was translated
  // from by `ambient-guard translate` (empty when absent). The three strings are shared in live
  // state: 8 bytes each, nothing allocated when absent.
  SharedString translated_from;
};

struct PeerAuthentication : Object {
  static constexpr Kind kKind = Kind::kPeerAuthentication;
  WorkloadSelector selector;
  std::string mode;  // spec.mtls.mode: UNSET (or empty) | DISABLE | PERMISSIVE | STRICT
  std::vector<std::pair<int32_t, std::string>> port_modes;  // spec.portLevelMtls
};

struct RequestAuthentication : Object {
  static constexpr Kind kKind = Kind::kRequestAuthentication;
  WorkloadSelector selector;
  std::vector<TargetRef> target_refs;
  std::vector<std::string> issuers;  // jwtRules[].issuer
  SharedString translated_from;      // ambient-guard.io/translated-from annotation
};

// A route destination of a VirtualService.
struct VsDestination {
  std::string host;
  std::string subset;
  bool operator==(const VsDestination&) const = default;
};
size_t hashValue(const VsDestination& d);

// The lists are shared between equal lists in live state (model/state_interner.h).
struct VirtualService : Object {
  static constexpr Kind kKind = Kind::kVirtualService;
  SharedVector<std::string> hosts;
  SharedVector<std::string> gateways;  // empty means mesh
  SharedVector<std::string> export_to;
  SharedVector<VsDestination> destinations;
  // VirtualService fields used that have no HTTPRoute equivalent (spec §5.1), by path.
  SharedVector<std::string> no_httproute_equivalent;
  bool has_tcp_or_tls = false;
};

struct DestinationRule : Object {
  static constexpr Kind kKind = Kind::kDestinationRule;
  std::string host;
  SharedVector<std::string> subsets;
  std::vector<std::string> export_to;
  // trafficPolicy.tls.mode and portLevelSettings[].tls.mode, by field path, when SIMPLE or
  // MUTUAL (TLS origination by the client proxy).
  std::vector<std::pair<std::string, std::string>> tls_origination;
};

struct EnvoyFilter : Object {
  static constexpr Kind kKind = Kind::kEnvoyFilter;
  WorkloadSelector selector;  // spec.workloadSelector.labels
  std::vector<TargetRef> target_refs;
};

struct Sidecar : Object {
  static constexpr Kind kKind = Kind::kSidecar;
  WorkloadSelector selector;  // spec.workloadSelector.labels
};

struct WasmPlugin : Object {
  static constexpr Kind kKind = Kind::kWasmPlugin;
  WorkloadSelector selector;
  std::vector<TargetRef> target_refs;
};

// ---------------------------------------------------------------------------------------------
// Workloads, NetworkPolicy and platform objects (../shared/spec/platform-and-cost.md). Only the
// fields the NetworkPolicy/CNI rules, `verify` and the cost estimate read are kept.

// A metav1.LabelSelector requirement: operator In | NotIn | Exists | DoesNotExist.
struct KubeSelectorRequirement {
  std::string key;
  std::string op;
  std::vector<std::string> values;
};

// A metav1.LabelSelector (matchLabels and matchExpressions); empty selects everything.
struct KubeLabelSelector {
  Labels match_labels;
  std::vector<KubeSelectorRequirement> expressions;
};

// An IntOrString port: a number, or a name resolved against container ports.
struct PortRef {
  int32_t number = 0;
  std::string name;  // set when the port is given by name
};

struct ContainerPort {
  std::string name;
  int32_t port = 0;
  std::string protocol;  // "" means TCP
};

// A liveness/readiness/startup probe, or an original app probe recorded by the injector.
struct Probe {
  std::string kind;     // liveness | readiness | startup
  std::string handler;  // httpGet | tcpSocket | grpc | exec
  PortRef port;
};

// Container resources in millicores and bytes; nullopt when not set.
struct Resources {
  std::optional<int64_t> cpu_request_m;
  std::optional<int64_t> memory_request;
  std::optional<int64_t> cpu_limit_m;
  std::optional<int64_t> memory_limit;
};

struct Container {
  std::string name;
  bool init = false;            // from spec.initContainers
  bool restart_always = false;  // init container with restartPolicy Always (native sidecar)
  std::vector<ContainerPort> ports;
  std::vector<Probe> probes;
  Resources resources;
  std::vector<std::pair<std::string, std::string>> env;  // only the variables rules read
  std::string image;
};

struct HostPathVolume {
  std::string name;
  std::string path;
};

// The parts of a PodSpec the pre-flight reads.
struct PodSpec {
  bool host_network = false;
  std::vector<Container> containers;  // containers, then initContainers (Container::init)
  std::string priority_class;         // DaemonSets only
  std::vector<HostPathVolume> host_paths;  // DaemonSets only
  // The app probes the sidecar injector rewrote to the status port, recovered from the
  // istio-proxy env ISTIO_KUBE_APP_PROBERS ([I] pkg/kube/inject/app_probe.go).
  std::vector<Probe> app_probers;
};

struct NetworkPolicyPort {
  std::string protocol;  // "" means TCP
  bool has_port = false;  // false: every port
  PortRef port;
  std::optional<int32_t> end_port;
};

struct IpBlock {
  std::string cidr;
  std::vector<std::string> except;
};

struct NetworkPolicyPeer {
  std::optional<KubeLabelSelector> pod_selector;
  std::optional<KubeLabelSelector> namespace_selector;
  std::optional<IpBlock> ip_block;
};

// An ingress (from) or egress (to) rule.
struct NetworkPolicyRule {
  std::vector<NetworkPolicyPort> ports;  // empty: every port
  std::vector<NetworkPolicyPeer> peers;  // empty: every source / destination
};

struct NetworkPolicy : Object {
  static constexpr Kind kKind = Kind::kNetworkPolicy;
  KubeLabelSelector pod_selector;
  std::vector<std::string> policy_types;  // spec.policyTypes as written (may be empty)
  std::vector<NetworkPolicyRule> ingress;
  std::vector<NetworkPolicyRule> egress;
};

struct Pod : Object {
  static constexpr Kind kKind = Kind::kPod;
  Labels annotations;  // only the keys listed in decode_platform.cc
  PodSpec spec;
  std::string node;   // spec.nodeName
  std::string phase;  // status.phase
};

// A workload with a pod template: Deployment, StatefulSet or DaemonSet.
struct Workload : Object {
  Labels pod_labels;       // spec.template.metadata.labels
  Labels pod_annotations;  // spec.template.metadata.annotations (kept keys only)
  PodSpec spec;
  // Deployment/StatefulSet: spec.replicas (default 1); DaemonSet: status.desiredNumberScheduled
  // (-1 when the backup has no status).
  int32_t replicas = 1;
};

struct Deployment : Workload {
  static constexpr Kind kKind = Kind::kDeployment;
};

struct StatefulSet : Workload {
  static constexpr Kind kKind = Kind::kStatefulSet;
};

struct DaemonSet : Workload {
  static constexpr Kind kKind = Kind::kDaemonSet;
};

struct Node : Object {
  static constexpr Kind kKind = Kind::kNode;
  std::string kubelet_version;  // status.nodeInfo.kubeletVersion
  std::string kernel_version;   // status.nodeInfo.kernelVersion
  std::string os_image;         // status.nodeInfo.osImage
  bool ipv6 = false;            // spec.podCIDRs or status.addresses has an IPv6 address
};

// Only the ConfigMaps the pre-flight reads are kept (cilium-config, istio-cni-config, the
// injector values, waypoint defaults); others are skipped at decode time.
struct ConfigMap : Object {
  static constexpr Kind kKind = Kind::kConfigMap;
  Labels data;  // the data keys rules read
};

struct ResourceQuota : Object {
  static constexpr Kind kKind = Kind::kResourceQuota;
  // spec.scopeSelector.matchExpressions values for scopeName PriorityClass, operator In.
  std::vector<std::string> priority_classes;
};

struct FelixConfiguration : Object {
  static constexpr Kind kKind = Kind::kFelixConfiguration;
  std::optional<bool> bpf_enabled;  // spec.bpfEnabled
};

// Calico operator Installation (operator.tigera.io).
struct Installation : Object {
  static constexpr Kind kKind = Kind::kInstallation;
  std::string linux_dataplane;  // spec.calicoNetwork.linuxDataplane
  std::string calico_version;   // status.calicoVersion
};

struct SecurityGroupPolicy : Object {
  static constexpr Kind kKind = Kind::kSecurityGroupPolicy;
};

// CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy, reduced to what the probe check needs.
struct CiliumPolicy : Object {
  bool selects_all = false;       // endpointSelector is empty
  bool isolates_ingress = false;  // has ingress/ingressDeny rules and default deny not disabled
  std::vector<std::string> from_cidrs;  // ingress[].fromCIDR and fromCIDRSet[].cidr
};

struct CiliumNetworkPolicy : CiliumPolicy {
  static constexpr Kind kKind = Kind::kCiliumNetworkPolicy;
};

struct CiliumClusterwideNetworkPolicy : CiliumPolicy {
  static constexpr Kind kKind = Kind::kCiliumClusterwideNetworkPolicy;
};

// networking.istio.io ServiceEntry. Binds to a waypoint with istio.io/use-waypoint like a
// Service (egress waypoints), and policies target it with kind ServiceEntry.
struct ServiceEntry : Object {
  static constexpr Kind kKind = Kind::kServiceEntry;
  std::vector<std::string> hosts;
  std::vector<std::string> export_to;
  // istio.io/use-waypoint-canary-weight annotation as written; "" unset. Shared: the live state
  // holds one copy per distinct value.
  SharedString waypoint_canary_weight;
};

// networking.istio.io WorkloadEntry: a VM (or other non-Kubernetes) workload in the mesh.
struct WorkloadEntry : Object {
  static constexpr Kind kKind = Kind::kWorkloadEntry;
  std::string address;  // spec.address
};

// networking.istio.io WorkloadGroup: the template VMs register from.
struct WorkloadGroup : Object {
  static constexpr Kind kKind = Kind::kWorkloadGroup;
};

// extensions.istio.io/v1alpha1 TrafficExtension (Istio 1.30+): Wasm or Lua filters; supersedes
// WasmPlugin and attaches the same way (selector, or targetRefs for waypoints).
struct TrafficExtension : Object {
  static constexpr Kind kKind = Kind::kTrafficExtension;
  WorkloadSelector selector;
  std::vector<TargetRef> target_refs;
};

// spire.spiffe.io ClusterSPIFFEID: SPIRE registers the pods it selects (cluster-scoped).
struct ClusterSPIFFEID : Object {
  static constexpr Kind kKind = Kind::kClusterSPIFFEID;
};

// A Gateway API parentRef or backendRef, as written (defaults are applied by the readers:
// model/objects.h keeps what the user wrote).
struct RouteRef {
  std::string group;
  std::string kind;
  std::string ns;
  std::string name;
  std::string section_name;  // parentRefs only
  bool operator==(const RouteRef&) const = default;
};
size_t hashValue(const RouteRef& r);

// gateway.networking.k8s.io HTTPRoute, reduced to what the ingress check reads: its parents and
// the Services its rules send traffic to. The lists are shared between equal lists in live state.
struct HTTPRoute : Object {
  static constexpr Kind kKind = Kind::kHTTPRoute;
  SharedVector<RouteRef> parent_refs;  // spec.parentRefs
  // spec.rules[].backendRefs that name a Service (group "" and kind Service, the defaults),
  // without duplicates, in first-seen order; group/kind/sectionName are left empty.
  SharedVector<RouteRef> backend_refs;
};

using AnyObject =
    std::variant<Namespace, Service, Gateway, GatewayClass, AuthorizationPolicy, PeerAuthentication,
                 RequestAuthentication, VirtualService, DestinationRule, EnvoyFilter, Sidecar,
                 WasmPlugin, NetworkPolicy, Pod, Deployment, StatefulSet, DaemonSet, Node,
                 ConfigMap, ResourceQuota, FelixConfiguration, Installation, SecurityGroupPolicy,
                 CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, ServiceEntry, WorkloadEntry,
                 WorkloadGroup, TrafficExtension, ClusterSPIFFEID, HTTPRoute>;

// Returns the kind of the object held.
Kind kindOf(const AnyObject& obj);
// Returns the common metadata of the object held.
const Object& metaOf(const AnyObject& obj);
Object& metaOf(AnyObject& obj);

// Identifies an object: kind, namespace ("" for cluster-scoped) and name.
struct ObjectKey {
  Kind kind = Kind::kNamespace;
  std::string ns;
  std::string name;
  // Returns "Kind ns/name" (or "Kind name" for cluster-scoped objects).
  std::string str() const;
  bool operator==(const ObjectKey&) const = default;
  auto operator<=>(const ObjectKey&) const = default;
};

ObjectKey keyOf(const AnyObject& obj);

}  // namespace ambient_guard
