// The rule interface: one invariant of an ambient-mode cluster per rule.
//
// A rule is a const predicate over a ClusterView. It is evaluated for a *subject*: the object
// being written, or a namespace whose labels change (or, in `check`, a namespace that would be
// enrolled). It reports every violation of its invariant that concerns that subject. Rules do no
// I/O, take no locks and keep no state, so one instance serves every request thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/cluster_state.h"
#include "model/objects.h"
#include "rules/enablement.h"

namespace ambient_guard::rules {

// What happens to a finding (Gatekeeper's words). Ordered from strongest to weakest.
enum class Action { kDeny, kWarn, kDryrun, kOff };

std::string_view actionName(Action action);
std::optional<Action> parseAction(std::string_view text);

// Mesh-wide settings rules need (istiod's meshConfig and feature flags).
struct MeshSettings {
  std::string root_namespace = "istio-system";  // meshConfig.rootNamespace
  std::string trust_domain = "cluster.local";   // meshConfig.trustDomain
  bool ambient_dry_run = false;  // AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY (istiod)
  // `--istio-version` ("1.31" or "1.31.1"); empty: read istiod's image tag from the state
  // (rules/istio_version.h).
  std::string istio_version;
  // The version istioVersionOf found in the state, when the caller resolved it once for many
  // reviews (the live webhook: Reviewer::followControlPlaneIn, again only when the control
  // plane's workloads change); istioVersionOf returns it instead of searching the state.
  // `version` empty: none found. Ignored when istio_version is set.
  struct ResolvedIstioVersion {
    std::string version;
    std::string source;
  };
  std::optional<ResolvedIstioVersion> resolved_istio_version;
  // istio-cni's AMBIENT_ENABLEMENT_SELECTOR: `--ambient-enablement-selector`, else the state's
  // istio-cni-config ConfigMap (resolveEnablement), else Istio's default selectors.
  ambient::EnablementSelectors enablement;
};

// What a rule evaluation is about.
struct Subject {
  enum class Type { kObject, kNamespace };
  Type type = Type::kObject;
  ObjectKey key;  // kObject: the written object; kNamespace: {Kind::kNamespace, "", name}

  static Subject object(ObjectKey key) { return {Type::kObject, std::move(key)}; }
  static Subject namespaceNamed(std::string name) {
    return {Type::kNamespace, ObjectKey{Kind::kNamespace, "", std::move(name)}};
  }
  bool isNamespace() const { return type == Type::kNamespace; }
};

struct RuleContext {
  const ClusterView& state;  // the cluster as it would be after the write under review
  Subject subject;
  const MeshSettings& mesh;
  // The cluster before the write, for rules about transitions (waypoint-in-use); nullptr when
  // there is no write (`check`, or the "before" evaluation of an admission review).
  const ClusterView* before = nullptr;
  // True for the pre-flight (`check`, `plan`: Reviewer::reviewNamespace); false on admission.
  // Rules whose RuleDoc::preflight_only is set run only when it is true.
  bool preflight = false;
};

// One violation. Messages name the rule, the object, what is wrong, what ztunnel will actually
// do, and the fix.
struct Finding {
  std::string rule;     // rule id, e.g. "l7-policy-without-waypoint"
  Action action;        // the rule's action for this finding (default, possibly demoted)
  ObjectKey object;     // the object at fault
  std::string ns;       // the namespace whose workloads are affected
  std::string field;    // field path in `object`, e.g. "spec.rules[0].to[0].operation.methods"
  std::string message;  // full text, starting "[rule-id] "
  std::string summary;  // one line for admission warnings, starting "[rule-id] "
  bool needs_waypoint = false;  // the fix needs a waypoint that does not exist yet
  bool pre_existing = false;    // the cluster already violated this before the write

  // Identity of the violation across two evaluations (old vs new cluster state).
  std::string identity() const;
};

// The manual of a rule, shown by `ambient-guard rules` and in the README.
struct RuleDoc {
  std::string_view id;
  Action default_action;
  std::string_view invariant;  // one sentence: what must hold
  std::string_view why;        // what breaks in ambient if it does not
  std::string_view example;    // a violating YAML example
  std::string_view fix;        // the corrected YAML
  // Evaluated only by the pre-flight, never on admission: the rule reads cluster facts the
  // webhook does not watch (CNI ConfigMaps, DaemonSets, Nodes), e.g. cni-incompatible.
  bool preflight_only = false;
};

class Rule {
 public:
  virtual ~Rule() = default;
  virtual const RuleDoc& doc() const = 0;
  std::string_view id() const { return doc().id; }
  // Appends the violations of this rule's invariant that concern ctx.subject.
  virtual void evaluate(const RuleContext& ctx, std::vector<Finding>& out) const = 0;
};

// Returns every rule of ambient-guard, in catalog order. Explicit, no static registration.
std::vector<std::unique_ptr<Rule>> makeDefaultRules();

// Returns text cut to at most `limit` bytes (ending "..." when cut), with
// control characters replaced by spaces (admission warnings must be a single clean line).
std::string oneLine(std::string_view text, size_t limit);

}  // namespace ambient_guard::rules
