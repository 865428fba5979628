// The cluster objects ambient-guard reasons about, reduced to the fields rules read.
//
// Objects are plain values decoded once (webhook/decode.h) from Kubernetes JSON; nothing here
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

namespace ambient_guard {

// Label or annotation map, kept as a vector sorted by key (small, cache friendly).
class Labels {
 public:
  Labels() = default;
  explicit Labels(std::vector<std::pair<std::string, std::string>> kv);

  // Returns the value for key, or nullptr when absent.
  const std::string* get(std::string_view key) const;
  bool has(std::string_view key) const { return get(key) != nullptr; }
  bool empty() const { return kv_.empty(); }
  size_t size() const { return kv_.size(); }
  // Returns true when every pair of `selector` is present in this map (Kubernetes matchLabels).
  bool contains(const Labels& selector) const;
  void set(std::string key, std::string value);
  void erase(std::string_view key);
  const std::vector<std::pair<std::string, std::string>>& items() const { return kv_; }
  // Returns "k1=v1,k2=v2" (kubectl's selector syntax).
  std::string str() const;
  bool operator==(const Labels&) const = default;

 private:
  std::vector<std::pair<std::string, std::string>> kv_;
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
};
inline constexpr int kKindCount = 12;

// Returns the Kubernetes kind name ("AuthorizationPolicy").
std::string_view kindName(Kind kind);
// Returns the kind for a Kubernetes apiVersion + kind pair, or nullopt for kinds we do not keep.
std::optional<Kind> kindFromApi(std::string_view api_version, std::string_view kind);
// Returns the kind for its name alone ("Gateway" resolves to the Gateway API kind).
std::optional<Kind> kindFromName(std::string_view kind);

// Common metadata of every stored object.
struct Object {
  std::string ns;  // empty for cluster-scoped kinds
  std::string name;
  Labels labels;
  int64_t created = 0;  // metadata.creationTimestamp as Unix seconds; 0 when unknown
  int line = 0;         // first line of the object in its YAML source; 0 for JSON / admission
};

struct Namespace : Object {
  static constexpr Kind kKind = Kind::kNamespace;
};

struct ServicePort {
  int32_t port = 0;
  std::string name;
  std::string protocol;
  std::string app_protocol;
};

struct Service : Object {
  static constexpr Kind kKind = Kind::kService;
  Labels selector;  // spec.selector
  std::vector<ServicePort> ports;
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
};

struct Condition {
  std::string key;
  std::vector<std::string> values;
  std::vector<std::string> not_values;
};

struct AuthzRule {
  std::vector<std::vector<FieldValues>> from;  // from[i].source, non-empty fields only
  std::vector<std::vector<FieldValues>> to;    // to[i].operation, non-empty fields only
  std::vector<Condition> when;
};

struct WorkloadSelector {
  bool present = false;  // the `selector` field was given (even as {})
  Labels match_labels;
};

struct AuthorizationPolicy : Object {
  static constexpr Kind kKind = Kind::kAuthorizationPolicy;
  std::string action = "ALLOW";  // ALLOW | DENY | AUDIT | CUSTOM
  std::string provider;          // provider.name for CUSTOM
  WorkloadSelector selector;
  std::vector<TargetRef> target_refs;  // targetRef and targetRefs combined
  std::vector<AuthzRule> rules;
  std::optional<std::string> dry_run;  // istio.io/dry-run annotation value when present
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
};

// A route destination of a VirtualService.
struct VsDestination {
  std::string host;
  std::string subset;
};

struct VirtualService : Object {
  static constexpr Kind kKind = Kind::kVirtualService;
  std::vector<std::string> hosts;
  std::vector<std::string> gateways;  // empty means mesh
  std::vector<std::string> export_to;
  std::vector<VsDestination> destinations;
  // VirtualService fields used that have no HTTPRoute equivalent (spec §5.1), by path.
  std::vector<std::string> no_httproute_equivalent;
  bool has_tcp_or_tls = false;
};

struct DestinationRule : Object {
  static constexpr Kind kKind = Kind::kDestinationRule;
  std::string host;
  std::vector<std::string> subsets;
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

using AnyObject =
    std::variant<Namespace, Service, Gateway, GatewayClass, AuthorizationPolicy, PeerAuthentication,
                 RequestAuthentication, VirtualService, DestinationRule, EnvoyFilter, Sidecar,
                 WasmPlugin>;

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
