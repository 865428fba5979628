// Which policies concern a rule subject, shared by the policy rules.
//
// A ztunnel-bound policy (selector or namespace-wide) covers its own namespace, or every
// namespace when it lives in the root namespace ([I] authorization.go:426-433: Scope GLOBAL;
// workloads.go:846-869 for root-namespace selectors).
#pragma once

#include <string>
#include <vector>

#include "rules/ambient.h"
#include "rules/rule.h"

namespace ambient_guard::rules {

// Returns "namespace a", "namespaces a, b" or "namespaces a, b, c, d, e and 3 more".
std::string namespaceList(const std::vector<std::string>& namespaces);

// Returns how a policy attaches: "selector app=x", "namespace-wide", "mesh-wide: root namespace
// istio-system", or "root-namespace selector app=x".
std::string describePolicyScope(const std::string& ns, const WorkloadSelector& selector,
                                const MeshSettings& mesh);

// Returns true when the selector selects nothing in particular (absent, or no labels).
inline bool selectorLess(const WorkloadSelector& s) { return s.match_labels.empty(); }

// Returns the ambient namespaces a ztunnel-bound policy covers. Root-namespace selector policies
// cover the ambient namespaces with a Service whose pods the selector matches, and only when
// `root_selectors_apply` (PeerAuthentication ignores them: [I] authorization.go:98).
std::vector<std::string> coveredAmbientNamespaces(const ClusterView& state, const std::string& ns,
                                                  const WorkloadSelector& selector,
                                                  const MeshSettings& mesh,
                                                  bool root_selectors_apply);

// Calls fn(policy, covered ambient namespaces, finding namespace) for each policy of type T that
// concerns the subject: the written policy itself when it covers an ambient namespace, or — for
// a namespace subject that is ambient — the policies of that namespace and of the root namespace
// that cover it.
template <class T, class Fn>
void forEachCoveringPolicy(const RuleContext& ctx, Fn fn, bool root_selectors_apply = true) {
  if (!ctx.subject.isNamespace()) {
    if (ctx.subject.key.kind != T::kKind) {
      return;
    }
    const T* p = ctx.state.find<T>(ctx.subject.key.ns, ctx.subject.key.name);
    if (p == nullptr) {
      return;
    }
    auto covered =
        coveredAmbientNamespaces(ctx.state, p->ns, p->selector, ctx.mesh, root_selectors_apply);
    if (!covered.empty()) {
      fn(*p, covered, p->ns);
    }
    return;
  }
  const std::string& n = ctx.subject.key.name;
  if (!ambient::isAmbientNamespace(ctx.state, n, ctx.mesh.enablement)) {
    return;
  }
  const std::vector<std::string> just_n{n};
  for (const T* p : ctx.state.template list<T>(n)) {
    fn(*p, just_n, n);
  }
  if (n == ctx.mesh.root_namespace) {
    return;
  }
  for (const T* p : ctx.state.template list<T>(ctx.mesh.root_namespace)) {
    if (selectorLess(p->selector) ||
        (root_selectors_apply &&
         !ambient::servicesSelectedBy(ctx.state, n, p->selector.match_labels).empty())) {
      fn(*p, just_n, n);
    }
  }
}

}  // namespace ambient_guard::rules
