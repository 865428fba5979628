// Output of `ambient-guard verify`: the report as text or JSON, and the golden signals to watch
// (../shared/spec/platform-and-cost.md §3.4).
#include <ostream>

#include "migrate/verify.h"

namespace ambient_guard {

using nlohmann::json;

std::vector<GoldenSignal> goldenSignals(std::string_view ns_view, bool waypoint) {
  const std::string ns(ns_view);
  const std::string dst = "reporter=\"destination\",destination_workload_namespace=\"" + ns + "\"";
  const std::string opened = "istio_tcp_connections_opened_total";
  std::vector<GoldenSignal> out = {
      {"L4 connections into " + ns + " (ztunnel)",
       "sum(rate(" + opened + "{" + dst + "}[5m]))",
       "ztunnel reports only istio_tcp_* families; compare with the sidecar baseline below."},
      {"mTLS share of inbound connections",
       "sum(rate(" + opened + "{" + dst + ",connection_security_policy=\"mutual_tls\"}[5m])) / "
       "sum(rate(" + opened + "{" + dst + "}[5m]))",
       "should be 1 once every client is in the mesh."},
      {"Plaintext leak (alert when > 0)",
       "sum(rate(" + opened + "{" + dst + ",connection_security_policy!=\"mutual_tls\"}[5m])) > 0",
       "ztunnel passthrough reports connection_security_policy=\"unknown\"."},
      {"Plaintext sent by ambient clients in " + ns,
       "sum(rate(" + opened + "{reporter=\"source\",source_workload_namespace=\"" + ns +
           "\",connection_security_policy=\"unknown\"}[5m]))",
       "restrict to ztunnel scrape targets (sidecar clients always report unknown; the label "
       "depends on your Prometheus config)."},
      {"Failed connections (unstable metric)",
       "sum(rate(istio_tcp_connections_failed_total{destination_workload_namespace=\"" + ns +
           "\"}[5m]))",
       "with ztunnel logs `maybe a NetworkPolicy is blocking HBONE port 15008` and kubelet "
       "`Readiness probe failed` events in " + ns + "."},
  };
  if (waypoint) {
    const std::string wp = "reporter=\"waypoint\",destination_service_namespace=\"" + ns + "\"";
    out.push_back({"HTTP 5xx ratio through the waypoint",
                   "sum(rate(istio_requests_total{" + wp + ",response_code=~\"5..\"}[5m])) / "
                   "sum(rate(istio_requests_total{" + wp + "}[5m]))",
                   "waypoints report reporter=\"waypoint\"; update dashboards and alerts."});
    out.push_back({"P99 latency through the waypoint (ms)",
                   "histogram_quantile(0.99, sum by (le) (rate("
                   "istio_request_duration_milliseconds_bucket{" + wp + "}[5m])))",
                   ""});
  }
  out.push_back({"Baseline before cutover (sidecars)",
                 "sum(rate(istio_requests_total{" + dst + "}[5m]))",
                 waypoint ? "after cutover HTTP metrics come from the waypoint only."
                          : "without a waypoint this series disappears after cutover: HTTP "
                            "metrics are lost for " + ns + "."});
  return out;
}

void printVerify(const VerifyReport& report, std::ostream& out) {
  size_t failed = 0;
  for (const auto& i : report.items) {
    failed += i.ok ? 0 : 1;
  }
  out << "Namespace " << report.ns << ": " << (report.ok() ? "cutover verified" : "NOT verified")
      << " (" << report.items.size() - failed << " ok, " << failed << " failed)\n\n";
  for (const auto& i : report.items) {
    out << "  " << (i.ok ? "OK  " : "FAIL") << "  " << i.check << "  " << i.object << "\n        "
        << i.message << "\n";
  }
  out << "\nPlaintext (protocol TCP) workloads in " << report.ns << ": ";
  if (report.plaintext.empty()) {
    out << "none\n";
  } else {
    out << report.plaintext.size() << "\n";
    for (const auto& p : report.plaintext) {
      out << "  - " << p << "\n";
    }
  }
  if (!report.notes.empty()) {
    out << "\nNotes:\n";
    for (const auto& n : report.notes) {
      out << "  - " << n << "\n";
    }
  }
  out << "\nGolden signals to watch (PromQL):\n";
  for (const auto& s : goldenSignals(report.ns, report.has_waypoint)) {
    out << "  # " << s.name << (s.note.empty() ? "" : ": " + s.note) << "\n  " << s.promql
        << "\n";
  }
}

nlohmann::json verifyJson(const VerifyReport& report) {
  json items = json::array();
  for (const auto& i : report.items) {
    items.push_back({{"check", i.check}, {"object", i.object}, {"ok", i.ok}, {"message", i.message}});
  }
  json signals = json::array();
  for (const auto& s : goldenSignals(report.ns, report.has_waypoint)) {
    signals.push_back({{"name", s.name}, {"promql", s.promql}, {"note", s.note}});
  }
  return {{"apiVersion", "ambient-guard.io/v1alpha1"},
          {"kind", "VerifyReport"},
          {"namespace", report.ns},
          {"verified", report.ok()},
          {"items", std::move(items)},
          {"plaintext", report.plaintext},
          {"notes", report.notes},
          {"goldenSignals", std::move(signals)}};
}

}  // namespace ambient_guard
