#include "migrate/check.h"

#include <algorithm>
#include <ostream>
#include <tuple>

#include "rules/ambient.h"

namespace ambient_guard {

std::string_view gateName(Gate gate) {
  switch (gate) {
    case Gate::kReady:
      return "ready";
    case Gate::kNeedsWaypoint:
      return "needs-waypoint";
    case Gate::kBlocked:
      return "blocked";
  }
  return "ready";
}

bool isSystemNamespace(std::string_view ns, const rules::MeshSettings& mesh) {
  return ns == "kube-system" || ns == "kube-public" || ns == "kube-node-lease" ||
         ns == "local-path-storage" || ns == mesh.root_namespace;
}

bool CheckReport::wouldDeny() const {
  for (const auto& ns : namespaces) {
    for (const auto& f : ns.findings) {
      if (f.action == rules::Action::kDeny) {
        return true;
      }
    }
  }
  return false;
}

namespace {

Gate gateFor(const std::vector<rules::Finding>& findings) {
  bool waypoint = false;
  for (const auto& f : findings) {
    if (f.action == rules::Action::kDeny && !f.needs_waypoint) {
      return Gate::kBlocked;
    }
    waypoint = waypoint || f.needs_waypoint;
  }
  return waypoint ? Gate::kNeedsWaypoint : Gate::kReady;
}

int severity(rules::Action a) { return static_cast<int>(a); }

}  // namespace

CheckReport runCheck(const ClusterView& state, const Reviewer& reviewer,
                     const std::vector<std::string>& only_ns) {
  CheckReport report;
  std::vector<std::string> names = only_ns;
  if (names.empty()) {
    for (const auto& ns : state.namespaceNames()) {
      const Namespace* n = state.findNamespace(ns);
      const bool ambient = n != nullptr && ambient::isAmbientNamespace(n->labels, reviewer.mesh().enablement);
      if (!isSystemNamespace(ns, reviewer.mesh()) || ambient) {
        names.push_back(ns);
      }
    }
  }
  for (const std::string& ns : names) {
    NamespaceReport r;
    r.name = ns;
    const Namespace* n = state.findNamespace(ns);
    Labels labels = n != nullptr ? n->labels : Labels();
    r.mode = std::string(ambient::modeName(ambient::namespaceMode(labels, reviewer.mesh().enablement)));
    r.what_if = !ambient::isAmbientNamespace(labels, reviewer.mesh().enablement);
    r.findings = reviewer.reviewNamespace(state, ns);
    std::stable_sort(r.findings.begin(), r.findings.end(), [](const auto& a, const auto& b) {
      return std::make_tuple(severity(a.action), a.rule) < std::make_tuple(severity(b.action), b.rule);
    });
    r.gate = gateFor(r.findings);
    report.namespaces.push_back(std::move(r));
  }
  return report;
}

void printCheckTable(const CheckReport& report, std::ostream& out) {
  size_t width = 9;
  for (const auto& ns : report.namespaces) {
    width = std::max(width, ns.name.size());
  }
  auto pad = [](std::string s, size_t w) {
    s.resize(std::max(s.size(), w), ' ');
    return s;
  };
  out << pad("NAMESPACE", width) << "  " << pad("MODE", 8) << "  " << pad("GATE", 15)
      << "  DENY  WARN  DRYRUN\n";
  for (const auto& ns : report.namespaces) {
    size_t counts[3] = {0, 0, 0};
    for (const auto& f : ns.findings) {
      if (f.action != rules::Action::kOff) {
        counts[severity(f.action)]++;
      }
    }
    std::string gate(gateName(ns.gate));
    out << pad(ns.name, width) << "  " << pad(ns.mode, 8) << "  " << pad(gate, 15) << "  "
        << pad(std::to_string(counts[0]), 4) << "  " << pad(std::to_string(counts[1]), 4) << "  "
        << counts[2] << "\n";
  }
  for (const auto& ns : report.namespaces) {
    if (ns.findings.empty()) {
      continue;
    }
    out << "\n" << ns.name << " (" << ns.mode
        << (ns.what_if ? ", evaluated as if enrolled in ambient now" : "") << "): "
        << gateName(ns.gate) << "\n";
    for (const auto& f : ns.findings) {
      std::string action(rules::actionName(f.action));
      std::transform(action.begin(), action.end(), action.begin(), ::toupper);
      out << "  " << pad(action, 6) << " " << f.rule << "  " << f.object.str();
      if (!f.field.empty()) {
        out << "  " << f.field;
      }
      out << "\n         " << f.message << "\n";
    }
  }
}

nlohmann::json checkJson(const CheckReport& report) {
  using nlohmann::json;
  json out;
  out["apiVersion"] = "ambient-guard.io/v1alpha1";
  out["kind"] = "CheckReport";
  json skipped = json::object();
  for (const auto& [k, n] : report.input.skipped) {
    skipped[k] = n;
  }
  out["input"] = {{"objects", report.input.objects}, {"skipped", skipped}};
  size_t gates[3] = {0, 0, 0};
  size_t actions[4] = {0, 0, 0, 0};
  json namespaces = json::array();
  for (const auto& ns : report.namespaces) {
    gates[static_cast<int>(ns.gate)]++;
    json findings = json::array();
    for (const auto& f : ns.findings) {
      actions[static_cast<int>(f.action)]++;
      findings.push_back({{"rule", f.rule},
                          {"action", rules::actionName(f.action)},
                          {"object",
                           {{"kind", kindName(f.object.kind)},
                            {"namespace", f.object.ns},
                            {"name", f.object.name}}},
                          {"field", f.field},
                          {"message", f.message},
                          {"needsWaypoint", f.needs_waypoint}});
    }
    namespaces.push_back({{"name", ns.name},
                          {"mode", ns.mode},
                          {"evaluatedAs", ns.what_if ? "enrolled" : "current"},
                          {"gate", gateName(ns.gate)},
                          {"findings", std::move(findings)}});
  }
  out["summary"] = {{"namespaces", report.namespaces.size()},
                    {"ready", gates[0]},
                    {"needsWaypoint", gates[1]},
                    {"blocked", gates[2]},
                    {"findings", {{"deny", actions[0]}, {"warn", actions[1]}, {"dryrun", actions[2]}}},
                    {"wouldDeny", report.wouldDeny()}};
  out["namespaces"] = std::move(namespaces);
  return out;
}

}  // namespace ambient_guard
