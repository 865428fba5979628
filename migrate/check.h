// `ambient-guard check`: the pre-flight of the Istio migration guide, per namespace.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/cluster_state.h"
#include "model/state_file.h"
#include "rules/reviewer.h"
#include "rules/rule.h"

namespace ambient_guard {

enum class Gate { kReady, kNeedsWaypoint, kBlocked };
std::string_view gateName(Gate gate);

struct NamespaceReport {
  std::string name;
  std::string mode;       // sidecar | ambient | mixed | none
  bool what_if = false;   // evaluated as if enrolled now
  Gate gate = Gate::kReady;
  std::vector<rules::Finding> findings;
};

struct CheckReport {
  LoadStats input;
  std::vector<NamespaceReport> namespaces;
  // Returns true when some finding would be denied (exit status 1).
  bool wouldDeny() const;
};

// Namespaces that never enroll (the CNI skips them; [I] cni values.yaml excludeNamespaces and the
// injector's ignored namespaces). `check` leaves them out unless asked for by name.
bool isSystemNamespace(std::string_view ns, const rules::MeshSettings& mesh);

// Runs the pre-flight over `state`: every namespace (or only `only_ns` when not empty).
CheckReport runCheck(const ClusterView& state, const Reviewer& reviewer,
                     const std::vector<std::string>& only_ns);

// Writes the human table.
void printCheckTable(const CheckReport& report, std::ostream& out);
// Returns the stable JSON form (documented in README, "check -o json").
nlohmann::json checkJson(const CheckReport& report);

}  // namespace ambient_guard
