// `ambient-guard plan`: the phased cutover runbook, per namespace, from a cluster backup.
//
// For every namespace the runbook of the Istio migration guide in the order spec §7.2 demands
// (waypoint first, then the translated policies, the ambient label, injection removal and the
// restart), each step with its commands, the gate to pass before the next one and the rollback.
// Readiness comes from `check` (migrate/check.h) on the cluster as it is and as it would be once
// `translate` output is applied, so the two commands never disagree. Pure: no I/O.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "migrate/check.h"
#include "model/state_file.h"
#include "rules/reviewer.h"
#include "rules/rule.h"

namespace ambient_guard {

struct PlanOptions {
  std::vector<std::string> backup_files;  // shown in the commands
  std::vector<std::string> namespaces;    // only these; empty = every non-system namespace
  std::string waypoint;                   // waypoint name to deploy; "" = existing or "waypoint"
  rules::MeshSettings mesh;
};

struct PlanStep {
  std::string id;     // preflight | waypoint | use-waypoint | translate | enroll | ...
  std::string title;
  bool done = false;  // nothing to do (already true in the backup), with `why`
  std::string why;
  std::vector<std::string> commands;
  std::string gate;                      // what must hold before the next step
  std::vector<std::string> gate_checks;  // istioctl / kubectl commands that show it
  std::vector<std::string> watch;        // ambient-guard metric or audit queries
  std::vector<std::string> rollback;     // commands that undo this step
  std::string note;
};

struct NamespacePlan {
  std::string name;
  std::string mode;              // sidecar | ambient | mixed | none
  Gate gate_now = Gate::kReady;  // `check` on the backup
  Gate gate_after = Gate::kReady;  // `check` once the translation is applied
  std::vector<rules::Finding> blockers;  // denied even after translation and with a waypoint
  std::vector<rules::Finding> remaining;  // other findings left after translation
  bool waypoint_needed = false;
  std::string waypoint;  // name
  bool waypoint_ready = false;
  std::vector<std::string> translate;  // "AuthorizationPolicy shop/x: → targetRefs …"
  std::vector<PlanStep> steps;
};

struct Plan {
  std::vector<std::string> backup_files;
  std::vector<NamespacePlan> namespaces;  // ordered by readiness
};

// Builds the plan for the backup (`docs` raw, `state` its snapshot).
Plan buildPlan(const std::vector<RawDocument>& docs, const Snapshot& state,
               const Reviewer& reviewer, const PlanOptions& options);

// Returns the runbook as Markdown.
std::string planMarkdown(const Plan& plan);
// Returns the stable JSON form (documented in README, "plan -o json").
nlohmann::ordered_json planJson(const Plan& plan);

}  // namespace ambient_guard
