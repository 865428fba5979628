// Rendering of the cutover plan: Markdown for people, JSON for tools.
#include <array>

#include "migrate/plan.h"

namespace ambient_guard {
namespace {

std::string codeBlock(const std::vector<std::string>& lines) {
  std::string out = "```sh\n";
  for (const std::string& l : lines) {
    out += l + "\n";
  }
  return out + "```\n";
}

std::string waypointCell(const NamespacePlan& np) {
  if (!np.waypoint_needed) {
    return "not needed";
  }
  return np.waypoint + (np.waypoint_ready ? " (ready)" : " (deploy)");
}

nlohmann::ordered_json findingJson(const rules::Finding& f) {
  return {{"rule", f.rule},
          {"action", rules::actionName(f.action)},
          {"object",
           {{"kind", kindName(f.object.kind)}, {"namespace", f.object.ns}, {"name", f.object.name}}},
          {"field", f.field},
          {"message", f.message}};
}

}  // namespace

std::string planMarkdown(const Plan& plan) {
  std::array<size_t, 3> gates{0, 0, 0};
  for (const NamespacePlan& np : plan.namespaces) {
    gates[static_cast<int>(np.gate_after)]++;
  }
  std::string files;
  for (const std::string& f : plan.backup_files) {
    files += (files.empty() ? "" : ", ") + ("`" + f + "`");
  }
  std::string out = "# Ambient cutover plan\n\n";
  out += "From " + (files.empty() ? std::string("the backup") : files) + ": " +
         std::to_string(plan.namespaces.size()) + " namespaces; once translated " +
         std::to_string(gates[0]) + " ready, " + std::to_string(gates[1]) +
         " need a waypoint, " + std::to_string(gates[2]) + " blocked.\n\n";
  out += "Namespaces are ordered by readiness. Migrate one namespace at a time: run its steps in "
         "order and pass each gate before the next step. Every step lists its rollback.\n\n";
  out += "| # | Namespace | Mode | Gate now | After translation | Waypoint | To translate |\n";
  out += "|---|---|---|---|---|---|---|\n";
  for (size_t i = 0; i < plan.namespaces.size(); ++i) {
    const NamespacePlan& np = plan.namespaces[i];
    out += "| " + std::to_string(i + 1) + " | " + np.name + " | " + np.mode + " | " +
           std::string(gateName(np.gate_now)) + " | " + std::string(gateName(np.gate_after)) +
           " | " + waypointCell(np) + " | " + std::to_string(np.translate.size()) + " |\n";
  }
  for (size_t i = 0; i < plan.namespaces.size(); ++i) {
    const NamespacePlan& np = plan.namespaces[i];
    out += "\n## " + std::to_string(i + 1) + ". " + np.name + " (" + np.mode + "): " +
           std::string(gateName(np.gate_after)) + "\n\n";
    if (!np.blockers.empty()) {
      out += "**Blocked.** Even after translation and with a waypoint, enrolling " + np.name +
             " would be denied. Resolve these first; the steps below apply once "
             "`ambient-guard check` no longer reports them:\n\n";
      for (const rules::Finding& f : np.blockers) {
        out += "- " + f.message + "\n";
      }
      out += "\n";
    }
    out += "**Prerequisites**\n\n";
    if (!np.waypoint_needed) {
      out += "- Waypoint: not needed (no L7 policy or route).\n";
    } else if (np.waypoint_ready) {
      out += "- Waypoint: " + np.name + "/" + np.waypoint + " is ready.\n";
    } else {
      out += "- Waypoint: needed; deploy `" + np.waypoint + "` (step 2).\n";
    }
    if (np.translate.empty()) {
      out += "- Policies to translate first: none.\n";
    } else {
      out += "- Policies and routes to translate first (step 4):\n";
      for (const std::string& t : np.translate) {
        out += "  - " + t + "\n";
      }
    }
    if (!np.remaining.empty()) {
      out += "- Findings left after translation:\n";
      for (const rules::Finding& f : np.remaining) {
        out += "  - " + f.summary + "\n";
      }
    }
    for (size_t s = 0; s < np.steps.size(); ++s) {
      const PlanStep& st = np.steps[s];
      out += "\n### Step " + std::to_string(s + 1) + ". " + st.title;
      if (st.done) {
        out += ": nothing to do\n\n" + st.why + ".\n";
        continue;
      }
      out += "\n\n" + codeBlock(st.commands);
      if (!st.gate.empty()) {
        out += "\n- **Gate:** " + st.gate + ".\n";
        for (const std::string& g : st.gate_checks) {
          out += "  - `" + g + "`\n";
        }
      }
      for (const std::string& w : st.watch) {
        out += "- **Watch:** `" + w + "`\n";
      }
      if (!st.rollback.empty()) {
        out += "- **Rollback:**\n";
        for (const std::string& r : st.rollback) {
          out += "  - `" + r + "`\n";
        }
      }
      if (!st.note.empty()) {
        out += "- **Note:** " + st.note + "\n";
      }
    }
  }
  return out;
}

nlohmann::ordered_json planJson(const Plan& plan) {
  using nlohmann::ordered_json;
  std::array<size_t, 3> gates{0, 0, 0};
  ordered_json namespaces = ordered_json::array();
  for (const NamespacePlan& np : plan.namespaces) {
    gates[static_cast<int>(np.gate_after)]++;
    ordered_json blockers = ordered_json::array();
    for (const rules::Finding& f : np.blockers) {
      blockers.push_back(findingJson(f));
    }
    ordered_json remaining = ordered_json::array();
    for (const rules::Finding& f : np.remaining) {
      remaining.push_back(findingJson(f));
    }
    ordered_json steps = ordered_json::array();
    for (const PlanStep& st : np.steps) {
      steps.push_back({{"id", st.id},
                       {"title", st.title},
                       {"done", st.done},
                       {"why", st.why},
                       {"commands", st.commands},
                       {"gate", {{"description", st.gate}, {"checks", st.gate_checks}}},
                       {"watch", st.watch},
                       {"rollback", st.rollback},
                       {"note", st.note}});
    }
    namespaces.push_back(
        {{"name", np.name},
         {"mode", np.mode},
         {"gate", {{"now", gateName(np.gate_now)}, {"afterTranslation", gateName(np.gate_after)}}},
         {"blockedBy", std::move(blockers)},
         {"waypoint", {{"needed", np.waypoint_needed}, {"name", np.waypoint},
                       {"ready", np.waypoint_ready}}},
         {"translate", np.translate},
         {"findings", std::move(remaining)},
         {"steps", std::move(steps)}});
  }
  ordered_json out = ordered_json::object();
  out["apiVersion"] = "ambient-guard.io/v1alpha1";
  out["kind"] = "Plan";
  out["backup"] = plan.backup_files;
  out["summary"] = {{"namespaces", plan.namespaces.size()},
                    {"ready", gates[0]},
                    {"needsWaypoint", gates[1]},
                    {"blocked", gates[2]}};
  out["namespaces"] = std::move(namespaces);
  return out;
}

}  // namespace ambient_guard
