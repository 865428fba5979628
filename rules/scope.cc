#include "rules/scope.h"

namespace ambient_guard::rules {

std::string namespaceList(const std::vector<std::string>& namespaces) {
  constexpr size_t kShown = 5;
  std::string out = namespaces.size() == 1 ? "namespace " : "namespaces ";
  for (size_t i = 0; i < namespaces.size() && i < kShown; ++i) {
    out += (i == 0 ? "" : ", ") + namespaces[i];
  }
  if (namespaces.size() > kShown) {
    out += " and " + std::to_string(namespaces.size() - kShown) + " more";
  }
  return out;
}

std::string describePolicyScope(const std::string& ns, const WorkloadSelector& selector,
                                const MeshSettings& mesh) {
  if (ns == mesh.root_namespace) {
    return selectorLess(selector) ? "mesh-wide: root namespace " + ns
                                  : "root-namespace selector " + selector.match_labels.str();
  }
  return selectorLess(selector) ? "namespace-wide" : "selector " + selector.match_labels.str();
}

std::vector<std::string> coveredAmbientNamespaces(const ClusterView& state, const std::string& ns,
                                                  const WorkloadSelector& selector,
                                                  const MeshSettings& mesh,
                                                  bool root_selectors_apply) {
  if (ns != mesh.root_namespace || selectorLess(selector)) {
    return ambient::ambientNamespacesCovered(state, ns, mesh);
  }
  std::vector<std::string> out;
  if (!root_selectors_apply) {
    return out;
  }
  for (const std::string& n : ambient::ambientNamespacesCovered(state, ns, mesh)) {
    if (!ambient::servicesSelectedBy(state, n, selector.match_labels).empty()) {
      out.push_back(n);
    }
  }
  return out;
}

}  // namespace ambient_guard::rules
