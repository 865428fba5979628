// `ambient-guard verify`: after a namespace's cutover, checks from `istioctl ztunnel-config`
// output (and optionally the backup) that every pod is captured by ztunnel over HBONE without a
// sidecar, that Services reach the waypoint they should, and lists plaintext workloads; then
// prints the golden signals to watch as PromQL. Spec: ../shared/spec/platform-and-cost.md §3.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/cluster_state.h"
#include "model/result.h"
#include "rules/rule.h"

namespace ambient_guard {

// One entry of `istioctl zc workloads -o json` (an array of ZtunnelWorkload,
// [I] istioctl/pkg/writer/ztunnel/configdump/api.go:29-52), reduced to what verify reads.
struct ZtunnelWorkload {
  std::string uid;  // "Kubernetes//Pod/<ns>/<pod>"
  std::string name;
  std::string ns;
  std::string workload_name;
  std::string workload_type;
  std::string protocol;  // "HBONE" | "TCP"
  std::string status;    // "Healthy" | "Unhealthy"
  std::string node;
  std::string waypoint;  // waypoint.destination, "" when none
};

// One entry of `istioctl zc services -o json` (ZtunnelService, api.go:106-120).
struct ZtunnelService {
  std::string name;
  std::string ns;
  std::string hostname;
  std::vector<std::string> vips;  // "network/ip"
  std::string waypoint;           // waypoint.destination, "" when none
};

// One row of `istioctl waypoint status` ([I] istioctl/pkg/waypoint/waypoint.go:122-178).
struct WaypointStatusRow {
  std::string ns;  // "" when the output has no NAMESPACE column
  std::string name;
  std::string status;  // "True" when Programmed
  std::string type;
  std::string reason;
  std::string message;
};

// Returns the workloads of a `zc workloads -o json` document, or an error naming the field.
Result<std::vector<ZtunnelWorkload>> parseZtunnelWorkloads(std::string_view text);
// Returns the services of a `zc services -o json` document.
Result<std::vector<ZtunnelService>> parseZtunnelServices(std::string_view text);
// Returns the rows of `istioctl waypoint status` text output (header line first).
Result<std::vector<WaypointStatusRow>> parseWaypointStatus(std::string_view text);

// Resolves a waypoint destination ("<network>/<ip>" or "<namespace>/<hostname>") to "ns/name"
// of the ZtunnelService it names, as istioctl does (configdump/workload.go:132-149); "" when no
// service matches.
std::string resolveWaypointDestination(std::string_view destination,
                                       const std::vector<ZtunnelService>& services);

struct VerifyInput {
  std::string ns;
  std::vector<ZtunnelWorkload> workloads;
  std::optional<std::vector<ZtunnelService>> services;       // --ztunnel-services
  std::optional<std::vector<WaypointStatusRow>> waypoints;   // --waypoint-status
  const ClusterView* backup = nullptr;                       // -f, may be null
};

// One verified thing: a pod, a Service's waypoint, a waypoint's status.
struct VerifyItem {
  std::string check;   // pods | workloads | waypoints | plaintext
  std::string object;  // "Pod shop/web-1", "Service shop/reviews", "Gateway shop/waypoint"
  bool ok = true;
  std::string message;
};

struct VerifyReport {
  std::string ns;
  std::vector<VerifyItem> items;
  std::vector<std::string> plaintext;  // workloads of ns still on TCP ("name (node)")
  std::vector<std::string> notes;      // what could not be verified and how to
  bool has_waypoint = false;           // some Service/namespace of ns uses a waypoint
  // Returns true when nothing failed (exit status 0).
  bool ok() const;
};

// Runs the checks of spec §3.3 (1-3 and 5a from the workload list) for in.ns.
VerifyReport runVerify(const VerifyInput& in, const rules::MeshSettings& mesh);

// Writes the report and the golden signals.
void printVerify(const VerifyReport& report, std::ostream& out);
nlohmann::json verifyJson(const VerifyReport& report);

struct GoldenSignal {
  std::string name;
  std::string promql;
  std::string note;
};
// Returns the PromQL to watch for namespace ns after cutover (spec §3.4); the waypoint signals
// only when `waypoint` (namespaces without one lose istio_requests_total).
std::vector<GoldenSignal> goldenSignals(std::string_view ns, bool waypoint);

}  // namespace ambient_guard
