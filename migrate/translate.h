// `ambient-guard translate`: sidecar-era Istio configuration to its ambient-mode equivalent.
//
// Works on the full original objects (raw JSON), never on the reduced model, so nothing the user
// wrote is lost: rules, JWT settings and plugin configs are copied unchanged. The cluster view is
// context only: which Service a selector matches, which waypoint exists, Service ports.
//   - AuthorizationPolicy / RequestAuthentication / WasmPlugin / TrafficExtension bound by
//     selector (or
//     namespace-wide) that need a waypoint → the same object with `targetRefs` (spec §3.7), plus
//     the optional L4 lock-down DENY with the waypoint principal;
//   - mesh VirtualService → HTTPRoute(s) with Service parentRefs, field by field (spec §5.1);
//     every field without an equivalent becomes a YAML comment where it would go;
//   - PeerAuthentication DISABLE → PERMISSIVE (spec §4), STRICT/PERMISSIVE flagged as removable.
// Stateless; safe to call from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/cluster_state.h"
#include "model/state_file.h"
#include "model/yaml_writer.h"
#include "rules/rule.h"

namespace ambient_guard {

struct TranslateOptions {
  std::string waypoint;                       // waypoint name to use; "" = infer from the cluster
  bool lockdown = false;                      // add the spec §3.7 L4 lock-down DENY policies
  std::string trust_domain = "cluster.local";  // for the waypoint principal
  std::string default_namespace = "default";  // for objects without metadata.namespace (kubectl)
  bool experimental_channel = false;  // Gateway API experimental CRDs installed (HTTPRoute retry)
  std::vector<std::string> namespaces;  // translate only objects of these namespaces; empty = all
  rules::MeshSettings mesh;
};

// Identifies an object of any kind (HTTPRoute has no place in the reduced model).
struct ObjectRef {
  std::string api_version;
  std::string kind;
  std::string ns;
  std::string name;
  // Returns "Kind ns/name".
  std::string str() const;
  bool operator==(const ObjectRef&) const = default;
};

// The twin `translate` writes for a selector policy: `<name>-waypoint`, annotated with the
// original's name, applied next to it (the original is deleted right after the pods restart).
inline constexpr std::string_view kTwinSuffix = "-waypoint";
inline constexpr std::string_view kTranslatedFromAnnotation = "ambient-guard.io/translated-from";

// An object to apply.
struct TranslatedObject {
  ObjectRef ref;
  std::string source;     // "Kind ns/name" of the input object it comes from
  bool replaces = false;  // same kind/namespace/name as its source: applying it replaces it
  YamlDocument doc;       // the object, with comments
  // The API server would reject it as it stands (an HTTPRoute backend without the port it must
  // have): written to YAML as comment lines to complete and uncomment, left out of `-o json`.
  bool commented_out = false;
};

// An input object that the output replaces or makes obsolete.
struct SourceObject {
  ObjectRef ref;
  nlohmann::ordered_json original;  // cleaned of server-set fields: re-applying it rolls back
  bool superseded = false;  // the output replaces it or makes it obsolete (delete/restore it)
};

// One line of the summary, per input object.
struct TranslationNote {
  enum class Level { kInfo, kReview, kWarning };
  Level level = Level::kInfo;
  std::string object;  // "VirtualService shop/reviews"
  std::string text;
};

struct TranslateResult {
  std::vector<TranslatedObject> objects;
  std::vector<SourceObject> sources;  // every input object the output derives from
  std::vector<TranslationNote> notes;
  // Returns the objects as a YAML stream (with comments).
  std::string yaml() const;
  // Returns the objects as a v1 List (no comments).
  nlohmann::ordered_json list() const;
  // Returns the originals of superseded objects as a YAML stream: `kubectl replace -f` on it
  // restores them (the rollback of applying `yaml()`).
  std::string rollbackYaml() const;
  // Returns the human summary for stderr: one block per object, the gaps it had.
  std::string summary() const;
};

// Sets metadata.namespace to `ns` on the objects translate reads (Services, ServiceEntries,
// Istio and Gateway API policies and routes) that name none, as kubectl does with its context
// namespace. Run it on backups and inputs alike so lookups agree.
void applyDefaultNamespace(std::vector<RawDocument>& docs, const std::string& ns);

// Translates `inputs`. `state` is the cluster for context (backup plus the inputs themselves);
// `context` holds raw documents of kinds the reduced model does not keep (ServiceEntry,
// DestinationRule subsets' labels), typically the same backup and inputs.
TranslateResult translate(const std::vector<RawDocument>& inputs, const ClusterView& state,
                          const std::vector<RawDocument>& context, const TranslateOptions& options);

}  // namespace ambient_guard
