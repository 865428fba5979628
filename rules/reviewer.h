// Reviewer: runs the rules for one write (admission) or one namespace (pre-flight check).
//
// It builds "the cluster after the write" as an OverlayView of the current snapshot, evaluates
// every rule for the write's subject, and marks findings that the cluster already had before the
// write (so an unrelated edit is never blocked for an old violation). No HTTP, no JSON; one
// Reviewer serves every request thread (the only lock guards followControlPlaneIn's cache).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/cluster_state.h"
#include "model/objects.h"
#include "rules/rule.h"

namespace ambient_guard {

enum class Operation { kCreate, kUpdate, kDelete, kConnect };

// A decoded write: the new object for CREATE/UPDATE, the old one for UPDATE/DELETE.
struct Change {
  Operation op = Operation::kCreate;
  std::optional<AnyObject> object;
  std::optional<AnyObject> old_object;
};

class Reviewer {
 public:
  Reviewer(std::vector<std::unique_ptr<rules::Rule>> rules, rules::MeshSettings mesh);

  // Returns the findings of every rule for the change against `state` (the cluster before the
  // write). Findings the cluster already had before the write have pre_existing = true.
  std::vector<rules::Finding> review(const ClusterView& state, const Change& change) const;

  // Returns the findings for namespace ns as it is; when it is not ambient yet (and `what_if`),
  // also as it would be if enrolled now (the enablement selectors' labels, injection labels removed).
  std::vector<rules::Finding> reviewNamespace(const ClusterView& state, std::string_view ns,
                                              bool what_if = true) const;

  // Returns the findings of every rule for one subject of `state`; `before` is the cluster
  // before the write when `state` is the result of one (see rules::RuleContext::before).
  // `preflight` adds the pre-flight-only rules (RuleDoc::preflight_only).
  std::vector<rules::Finding> evaluate(const ClusterView& state, const rules::Subject& subject,
                                       const ClusterView* before = nullptr,
                                       bool preflight = false) const;

  const std::vector<std::unique_ptr<rules::Rule>>& rules() const { return rules_; }
  const rules::MeshSettings& mesh() const { return mesh_; }

  // Makes every later review follow the Istio control plane in the reviewed state (the live
  // watch: these objects may appear, change or go at any time), in namespace `ns`:
  // - `enablement`: istio-cni's selectors from ConfigMap `ns`/istio-cni-config when it has an
  //   AMBIENT_ENABLEMENT_SELECTOR, else MeshSettings::enablement. One that does not parse is not
  //   used (the last value that parsed is, else MeshSettings::enablement) and the messages'
  //   source says why.
  // - `version`: the Istio version istioVersionOf finds in the state (istiod's image tag),
  //   searched once per change of the Deployments and DaemonSets rather than by every rule.
  // `log` (optional) is told once per change what is used, error = true for a selector that does
  // not parse. Pass false for what a flag decides. Call before sharing the Reviewer.
  void followControlPlaneIn(std::string ns, bool enablement, bool version,
                            std::function<void(bool error, const std::string&)> log = {});
  // Returns the settings a review of `state` uses: mesh(), with the selectors of
  // followControlPlaneIn when they apply. Thread-safe.
  std::shared_ptr<const rules::MeshSettings> meshFor(const ClusterView& state) const;

 private:
  struct Live;
  struct VersionInputs;
  std::vector<rules::Finding> evaluateWith(const rules::MeshSettings& mesh,
                                           const ClusterView& state, const rules::Subject& subject,
                                           const ClusterView* before, bool preflight) const;

  std::vector<std::unique_ptr<rules::Rule>> rules_;
  rules::MeshSettings mesh_;
  std::shared_ptr<Live> live_;  // null unless followControlPlaneIn was called
};

// Returns the namespace labels after enrollment the way ambient-guard's mutation does it:
// the enrollment labels of the enablement selectors (istio.io/dataplane-mode=ambient by
// default), istio-injection and istio.io/rev removed.
Namespace enrolled(const Namespace& ns, const ambient::EnablementSelectors& enablement);

}  // namespace ambient_guard
