// Output of the cost estimate: text for `check --cost`, Markdown for `plan --cost`, JSON for both
// (../shared/spec/platform-and-cost.md §4.3-§4.4 for the published figures quoted).
#include <algorithm>
#include <ostream>
#include <sstream>

#include "migrate/cost.h"
#include "model/quantity.h"

namespace ambient_guard {

namespace {

std::string pad(std::string s, size_t w) {
  s.resize(std::max(s.size(), w), ' ');
  return s;
}

std::string res(const Resources& r) {
  auto cpu = [](const std::optional<int64_t>& v) { return v ? formatCpu(*v) : std::string("-"); };
  auto mem = [](const std::optional<int64_t>& v) { return v ? formatMemory(*v) : std::string("-"); };
  return "requests " + cpu(r.cpu_request_m) + "/" + mem(r.memory_request) + ", limits " +
         (r.cpu_limit_m || r.memory_limit ? cpu(r.cpu_limit_m) + "/" + mem(r.memory_limit)
                                          : std::string("none"));
}

std::string sumText(const ResourceSum& s) {
  std::string out = "requests " + formatCpu(s.cpu_request_m) + " CPU / " +
                    formatMemory(s.memory_request) + ", limits " + formatCpu(s.cpu_limit_m) +
                    " CPU / " + formatMemory(s.memory_limit);
  if (s.cpu_unlimited > 0 || s.memory_unlimited > 0) {
    out += " (+ " + std::to_string(std::max(s.cpu_unlimited, s.memory_unlimited)) +
           " containers without a limit)";
  }
  return out;
}

size_t totalSidecars(const CostEstimate& c) {
  size_t n = 0;
  for (const auto& ns : c.namespaces) {
    n += ns.sidecars;
  }
  return n;
}

size_t totalWaypoints(const CostEstimate& c) {
  size_t n = 0;
  for (const auto& ns : c.namespaces) {
    n += ns.waypoints_planned;
  }
  return n;
}

// Published measurements (spec §4.3/§4.4, D-PS Istio 1.24: 1000 HTTP rps, 1 KB payload).
std::string context(const CostEstimate& c) {
  const size_t sidecars = totalSidecars(c), waypoints = totalWaypoints(c) + c.existing_waypoints;
  std::ostringstream o;
  o << "Context (usage, not requests; istio.io Performance and Scalability, Istio 1.24, 1000 "
       "HTTP rps, 1 KB, 2 proxy workers): sidecar ~0.20 vCPU / 60 MB, waypoint ~0.25 vCPU / "
       "60 MB, ztunnel ~0.06 vCPU / 12 MB per 1000 rps. Per 1000 rps through a hop: sidecars "
       "~0.40 vCPU, ambient L4 ~0.12, ambient L7 (with a waypoint) ~0.37. Idle memory: ~60 MB x "
    << sidecars << " sidecars = " << sidecars * 60 << " MB today vs ~12 MB x " << c.nodes
    << " nodes + 60 MB x " << waypoints << " waypoints = " << c.nodes * 12 + waypoints * 60
    << " MB (memory depends on the mesh's configuration size). Published claims range up to "
       "90% lower allocation (Istio GA blog, Solo.io); measure your own.";
  return o.str();
}

}  // namespace

void printCost(const CostEstimate& c, std::ostream& out) {
  size_t width = 9;
  for (const auto& ns : c.namespaces) {
    width = std::max(width, ns.name.size());
  }
  out << "\nCost estimate (sidecars today vs ztunnel + istio-cni per node + planned waypoints)\n";
  out << pad("NAMESPACE", width) << "  SIDECARS  CPU REQ  MEM REQ  CPU LIM  MEM LIM  BASIS      "
         "NEW WAYPOINTS\n";
  for (const auto& ns : c.namespaces) {
    out << pad(ns.name, width) << "  " << pad(std::to_string(ns.sidecars), 8) << "  "
        << pad(formatCpu(ns.sidecar.cpu_request_m), 7) << "  "
        << pad(formatMemory(ns.sidecar.memory_request), 7) << "  "
        << pad(formatCpu(ns.sidecar.cpu_limit_m), 7) << "  "
        << pad(formatMemory(ns.sidecar.memory_limit), 7) << "  " << pad(ns.basis, 9) << "  "
        << ns.waypoints_planned << "\n";
  }
  out << "\nToday:  " << totalSidecars(c) << " sidecars: " << sumText(c.sidecars_total) << "\n";
  out << "After:  ztunnel " << c.nodes << " nodes x (" << res(c.ztunnel.resources)
      << ") = " << sumText(c.ztunnel_total) << "\n";
  out << "        istio-cni " << c.nodes << " nodes x (" << res(c.cni.resources) << ")"
      << (c.cni_installed ? ": already installed, not incremental\n"
                          : " = " + sumText(c.cni_total) + "\n");
  out << "        waypoints " << totalWaypoints(c) << " new x (" << res(c.waypoint.resources)
      << ") = " << sumText(c.waypoints_total);
  if (c.existing_waypoints > 0) {
    out << "; " << c.existing_waypoints << " existing waypoint(s) unchanged";
  }
  out << "\n        total " << sumText(c.ambient_total) << "\n";
  const ResourceSum d = c.sidecars_total.minus(c.ambient_total);
  out << "Saving: requests " << formatCpu(d.cpu_request_m) << " CPU / "
      << formatMemory(d.memory_request) << ", limits " << formatCpu(d.cpu_limit_m) << " CPU / "
      << formatMemory(d.memory_limit) << " (negative: ambient costs more)\n";
  out << "Defaults used: sidecar " << res(c.proxy_default.resources) << " from "
      << c.proxy_default.source << "; ztunnel from " << c.ztunnel.source << "; istio-cni from "
      << c.cni.source << "; waypoint from " << c.waypoint.source
      << ". Sidecars with any sidecar.istio.io/proxy{CPU,Memory,CPULimit,MemoryLimit} "
         "annotation use only the annotations (no per-field fallback). Nodes: "
      << (c.nodes_source.empty() ? "unknown" : c.nodes_source) << ".\n";
  for (const auto& n : c.notes) {
    out << "Note: " << n << "\n";
  }
  out << context(c) << "\n";
}

namespace {

nlohmann::json sumJson(const ResourceSum& s) {
  return {{"cpuRequestMillis", s.cpu_request_m},
          {"memoryRequestBytes", s.memory_request},
          {"cpuLimitMillis", s.cpu_limit_m},
          {"memoryLimitBytes", s.memory_limit},
          {"withoutCpuLimit", s.cpu_unlimited},
          {"withoutMemoryLimit", s.memory_unlimited}};
}

nlohmann::json proxyJson(const ProxyResources& p) {
  auto opt = [](const std::optional<int64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  return {{"cpuRequestMillis", opt(p.resources.cpu_request_m)},
          {"memoryRequestBytes", opt(p.resources.memory_request)},
          {"cpuLimitMillis", opt(p.resources.cpu_limit_m)},
          {"memoryLimitBytes", opt(p.resources.memory_limit)},
          {"source", p.source}};
}

}  // namespace

nlohmann::json costJson(const CostEstimate& c) {
  nlohmann::json namespaces = nlohmann::json::array();
  for (const auto& ns : c.namespaces) {
    namespaces.push_back({{"name", ns.name},
                          {"basis", ns.basis},
                          {"sidecars", ns.sidecars},
                          {"annotated", ns.annotated},
                          {"sidecar", sumJson(ns.sidecar)},
                          {"waypointsPlanned", ns.waypoints_planned},
                          {"waypoint", sumJson(ns.waypoint)}});
  }
  return {{"namespaces", std::move(namespaces)},
          {"nodes", c.nodes},
          {"nodesSource", c.nodes_source},
          {"defaults",
           {{"sidecar", proxyJson(c.proxy_default)},
            {"ztunnel", proxyJson(c.ztunnel)},
            {"istioCni", proxyJson(c.cni)},
            {"waypoint", proxyJson(c.waypoint)}}},
          {"istioCniInstalled", c.cni_installed},
          {"existingWaypoints", c.existing_waypoints},
          {"today", sumJson(c.sidecars_total)},
          {"after",
           {{"ztunnel", sumJson(c.ztunnel_total)},
            {"istioCni", sumJson(c.cni_total)},
            {"waypoints", sumJson(c.waypoints_total)},
            {"total", sumJson(c.ambient_total)}}},
          {"saving", sumJson(c.sidecars_total.minus(c.ambient_total))},
          {"notes", c.notes},
          {"context", context(c)}};
}

std::string costMarkdown(const CostEstimate& c) {
  std::ostringstream text;
  printCost(c, text);
  return "## Cost estimate\n\n```\n" + text.str().substr(1) + "```\n";
}

}  // namespace ambient_guard
