// Cost estimate for `check --cost` and `plan`: the sidecar proxies' requests and limits today
// versus ztunnel and istio-cni per node plus the waypoints the migration needs.
// Spec: ../shared/spec/platform-and-cost.md §4 (chart defaults §4.1, extraction §4.2,
// estimate §4.3, published figures §4.4). Pure: reads a ClusterView, no I/O.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/cluster_state.h"
#include "model/objects.h"
#include "rules/rule.h"

namespace ambient_guard {

struct CheckReport;

// Requests and limits summed over containers; a limit left unset is counted in `*_unlimited`.
struct ResourceSum {
  int64_t cpu_request_m = 0;
  int64_t memory_request = 0;
  int64_t cpu_limit_m = 0;
  int64_t memory_limit = 0;
  size_t cpu_unlimited = 0;     // containers without a CPU limit
  size_t memory_unlimited = 0;  // containers without a memory limit

  void add(const Resources& r, int64_t times = 1);
  void add(const ResourceSum& other, int64_t times = 1);
  ResourceSum minus(const ResourceSum& other) const;  // limits' unlimited counts are kept as is
};

// The resources of one proxy and where they came from.
struct ProxyResources {
  Resources resources;
  std::string source;  // "chart default (…values.yaml:398-405)", "ConfigMap istio-system/…", …
};

struct NamespaceCost {
  std::string name;
  std::string basis;            // "pods" (running sidecar pods) | "templates" (replicas)
  size_t sidecars = 0;          // proxies today
  size_t annotated = 0;         // of which sized by sidecar.istio.io/proxy* annotations
  ResourceSum sidecar;          // today
  size_t waypoints_planned = 0; // new waypoints the migration needs
  ResourceSum waypoint;         // after (planned waypoints only)
};

struct CostEstimate {
  std::vector<NamespaceCost> namespaces;
  ProxyResources proxy_default;  // what an injected pod without annotations gets
  ProxyResources ztunnel;        // per node
  ProxyResources cni;            // per node
  ProxyResources waypoint;       // per planned waypoint replica
  bool cni_installed = false;    // istio-cni-node already runs: not incremental
  size_t nodes = 0;
  std::string nodes_source;      // "Node objects" | "DaemonSet x desiredNumberScheduled" | ""
  size_t existing_waypoints = 0; // waypoint Deployments already running (same before/after)
  ResourceSum sidecars_total;    // today, over the namespaces
  ResourceSum ztunnel_total;     // after: nodes x ztunnel
  ResourceSum cni_total;         // after: nodes x istio-cni, 0 when already installed
  ResourceSum waypoints_total;   // after: planned waypoints
  ResourceSum ambient_total;     // after: the three above
  std::vector<std::string> notes;
};

// Returns the proxy resources of an injected pod template: the sidecar.istio.io/proxyCPU,
// proxyMemory, proxyCPULimit, proxyMemoryLimit annotations when any is present (no per-field
// fallback: [I] injection-template.yaml:1-26), else `fallback`.
Resources sidecarResources(const Labels& pod_annotations, const Resources& fallback);

// Estimates the cost of moving `namespaces` to ambient; `needs_waypoint` are those whose plan
// deploys a waypoint (one replica each).
CostEstimate estimateCost(const ClusterView& state, const std::vector<std::string>& namespaces,
                          const std::set<std::string>& needs_waypoint,
                          const rules::MeshSettings& mesh);

// Same, for the namespaces of a `check` report (those gated needs-waypoint, or with a finding
// that needs one, get a planned waypoint).
CostEstimate estimateCostForCheck(const ClusterView& state, const CheckReport& report,
                                  const rules::MeshSettings& mesh);

// Writes the estimate as text / returns its JSON form (README, "Cost estimate").
void printCost(const CostEstimate& cost, std::ostream& out);
nlohmann::json costJson(const CostEstimate& cost);
// Returns the estimate as a Markdown section (for `plan`).
std::string costMarkdown(const CostEstimate& cost);

}  // namespace ambient_guard
