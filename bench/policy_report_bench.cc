// PolicyReports of a 2,000-namespace cluster: times the scan (check over the snapshot plus the
// report objects, serialized as they are sent) and prints the memory it holds. The scan is what
// kube/report_publisher runs on the leader after every settled change and at least every
// resyncSeconds. Prints figures; asserts nothing.
// Usage: policy_report_bench [namespaces=2000] [runs=5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "migrate/check.h"
#include "migrate/policy_report.h"
#include "model/decode.h"
#include "model/cluster_state.h"
#include "rules/reviewer.h"
#include "rules/rule.h"

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

long statusKiB(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) {
      return std::atol(line.c_str() + std::string(field).size());
    }
  }
  return -1;
}

void add(std::vector<ambient_guard::AnyObject>& out, const json& doc) {
  auto o = ambient_guard::decodeObject(doc);
  if (o.ok() && o->has_value()) {
    out.push_back(std::move(**o));
  }
}

// Each namespace: 6 Services, an AuthorizationPolicy, and every 4th a blocker of some kind
// (PeerAuthentication DISABLE, an L7 selector policy, a mesh VirtualService); a third ambient.
std::vector<ambient_guard::AnyObject> generate(size_t namespaces) {
  std::vector<ambient_guard::AnyObject> out;
  add(out, {{"apiVersion", "security.istio.io/v1"},
            {"kind", "PeerAuthentication"},
            {"metadata", {{"name", "default"}, {"namespace", "istio-system"}}},
            {"spec", {{"mtls", {{"mode", "STRICT"}}}}}});
  for (size_t i = 0; i < namespaces; ++i) {
    const std::string ns = "team-" + std::to_string(i);
    json labels = i % 3 == 0 ? json{{"istio.io/dataplane-mode", "ambient"}}
                             : json{{"istio-injection", "enabled"}};
    add(out, {{"apiVersion", "v1"},
              {"kind", "Namespace"},
              {"metadata",
               {{"name", ns}, {"uid", "uid-" + std::to_string(i)}, {"labels", labels}}}});
    for (int s = 0; s < 6; ++s) {
      add(out, {{"apiVersion", "v1"},
                {"kind", "Service"},
                {"metadata", {{"name", "svc-" + std::to_string(s)}, {"namespace", ns}}},
                {"spec",
                 {{"selector", {{"app", "svc-" + std::to_string(s)}}},
                  {"ports", {{{"name", "http"}, {"port", 8080}}}}}}});
    }
    add(out, {{"apiVersion", "security.istio.io/v1"},
              {"kind", "AuthorizationPolicy"},
              {"metadata", {{"name", "allow-frontend"}, {"namespace", ns}}},
              {"spec",
               {{"selector", {{"matchLabels", {{"app", "svc-0"}}}}},
                {"rules", {{{"from", {{{"source", {{"namespaces", {"frontend"}}}}}}}}}}}}});
    switch (i % 12) {
      case 3:
        add(out, {{"apiVersion", "security.istio.io/v1"},
                  {"kind", "PeerAuthentication"},
                  {"metadata", {{"name", "no-mtls"}, {"namespace", ns}}},
                  {"spec", {{"mtls", {{"mode", "DISABLE"}}}}}});
        break;
      case 7:
        add(out, {{"apiVersion", "security.istio.io/v1"},
                  {"kind", "AuthorizationPolicy"},
                  {"metadata", {{"name", "get-only"}, {"namespace", ns}}},
                  {"spec",
                   {{"selector", {{"matchLabels", {{"app", "svc-1"}}}}},
                    {"rules", {{{"to", {{{"operation", {{"methods", {"GET"}}}}}}}}}}}}});
        break;
      case 11:
        add(out, {{"apiVersion", "networking.istio.io/v1"},
                  {"kind", "VirtualService"},
                  {"metadata", {{"name", "svc-2"}, {"namespace", ns}}},
                  {"spec",
                   {{"hosts", {"svc-2"}},
                    {"http", {{{"route", {{{"destination", {{"host", "svc-2"}}}}}}}}}}}});
        break;
      default:
        break;
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ambient_guard;
  const size_t namespaces = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 2000;
  const int runs = argc > 2 ? std::atoi(argv[2]) : 5;
  const long rss_start = statusKiB("VmRSS:");
  auto objects = generate(namespaces);
  const size_t count = objects.size();
  auto snapshot = Snapshot::build(std::move(objects));
  const long rss_state = statusKiB("VmRSS:");
  Reviewer reviewer(rules::makeDefaultRules(), rules::MeshSettings{});

  std::vector<double> check_s;
  std::vector<double> total_s;
  size_t bytes = 0;
  size_t reports = 0;
  size_t results = 0;
  long rss_scan = 0;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = Clock::now();
    CheckReport check = runCheck(*snapshot, reviewer, {});
    const auto t1 = Clock::now();
    DesiredReports d = policyReportsFromCheck(check, *snapshot);
    // The publisher keeps each report as its serialized body (to skip unchanged ones).
    std::vector<std::string> bodies;
    bodies.reserve(d.namespaced.size() + 1);
    for (const json& o : d.namespaced) {
      bodies.push_back(o.dump());
    }
    bodies.push_back(d.cluster.dump());
    const auto t2 = Clock::now();
    check_s.push_back(std::chrono::duration<double>(t1 - t0).count());
    total_s.push_back(std::chrono::duration<double>(t2 - t0).count());
    bytes = 0;
    results = 0;
    for (const auto& b : bodies) {
      bytes += b.size();
    }
    for (const json& o : d.namespaced) {
      results += o["results"].size();
    }
    reports = bodies.size();
    rss_scan = std::max(rss_scan, statusKiB("VmRSS:"));
  }
  std::sort(check_s.begin(), check_s.end());
  std::sort(total_s.begin(), total_s.end());
  std::printf("cluster: %zu namespaces, %zu objects; state %.1f MiB RSS\n", namespaces, count,
              (rss_state - rss_start) / 1024.0);
  std::printf("scan (median of %d): %.3f s (check %.3f s, reports + serialization %.3f s)\n",
              runs, total_s[total_s.size() / 2], check_s[check_s.size() / 2],
              total_s[total_s.size() / 2] - check_s[check_s.size() / 2]);
  std::printf("reports: %zu objects, %zu results, %.1f MiB serialized (%.0f bytes/report)\n",
              reports, results, bytes / 1048576.0, static_cast<double>(bytes) / reports);
  std::printf("memory: RSS %.1f MiB after the scans (%.1f MiB above the state), peak %.1f MiB\n",
              rss_scan / 1024.0, (rss_scan - rss_state) / 1024.0, statusKiB("VmHWM:") / 1024.0);
  return 0;
}
