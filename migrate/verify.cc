#include "migrate/verify.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "rules/ambient.h"

namespace ambient_guard {
namespace {

using nlohmann::json;

std::string str(const json& j, const char* key) {
  if (!j.is_object()) {
    return {};
  }
  auto it = j.find(key);
  return (it != j.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

std::string waypointOf(const json& j) {
  auto it = j.find("waypoint");
  return (it != j.end() && it->is_object()) ? str(*it, "destination") : std::string();
}

Result<json> parseArray(std::string_view text, const char* what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return Error{std::string(what) + ": not valid JSON (expected the output of `istioctl " +
                 what + " -o json`)"};
  }
  if (!j.is_array()) {
    return Error{std::string(what) + ": expected a JSON array"};
  }
  return j;
}

}  // namespace

Result<std::vector<ZtunnelWorkload>> parseZtunnelWorkloads(std::string_view text) {
  auto j = parseArray(text, "zc workloads");
  if (!j.ok()) {
    return Error{j.error()};
  }
  std::vector<ZtunnelWorkload> out;
  for (size_t i = 0; i < j->size(); ++i) {
    const json& w = (*j)[i];
    if (!w.is_object()) {
      return Error{"zc workloads: [" + std::to_string(i) + "] is not an object"};
    }
    out.push_back({str(w, "uid"), str(w, "name"), str(w, "namespace"), str(w, "workloadName"),
                   str(w, "workloadType"), str(w, "protocol"), str(w, "status"), str(w, "node"),
                   waypointOf(w)});
  }
  return out;
}

Result<std::vector<ZtunnelService>> parseZtunnelServices(std::string_view text) {
  auto j = parseArray(text, "zc services");
  if (!j.ok()) {
    return Error{j.error()};
  }
  std::vector<ZtunnelService> out;
  for (size_t i = 0; i < j->size(); ++i) {
    const json& s = (*j)[i];
    if (!s.is_object()) {
      return Error{"zc services: [" + std::to_string(i) + "] is not an object"};
    }
    ZtunnelService svc{str(s, "name"), str(s, "namespace"), str(s, "hostname"), {}, waypointOf(s)};
    if (auto it = s.find("vips"); it != s.end() && it->is_array()) {
      for (const json& v : *it) {
        if (v.is_string()) {
          svc.vips.push_back(v.get<std::string>());
        }
      }
    }
    out.push_back(std::move(svc));
  }
  return out;
}

Result<std::vector<WaypointStatusRow>> parseWaypointStatus(std::string_view text) {
  std::vector<std::string> lines;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (line.find_first_not_of(' ') != std::string::npos) {
      lines.push_back(line);
    }
  }
  if (lines.empty() || lines[0].find("NAME") == std::string::npos ||
      lines[0].find("STATUS") == std::string::npos) {
    return Error{"waypoint status: expected the table of `istioctl waypoint status` (a header "
                 "line with NAME and STATUS)"};
  }
  // istioctl aligns columns with a tabwriter: cut each row at the header's column starts.
  const std::string& header = lines[0];
  std::vector<std::pair<std::string, size_t>> cols;
  for (size_t i = 0; i < header.size();) {
    if (header[i] == ' ') {
      ++i;
      continue;
    }
    size_t end = header.find(' ', i);
    end = end == std::string::npos ? header.size() : end;
    cols.emplace_back(header.substr(i, end - i), i);
    i = end;
  }
  std::vector<WaypointStatusRow> out;
  for (size_t r = 1; r < lines.size(); ++r) {
    const std::string& line = lines[r];
    WaypointStatusRow row;
    for (size_t c = 0; c < cols.size(); ++c) {
      const size_t start = cols[c].second;
      const size_t end = c + 1 < cols.size() ? cols[c + 1].second : line.size();
      std::string cell = start < line.size() ? line.substr(start, end - start) : std::string();
      cell.erase(0, cell.find_first_not_of(' '));
      cell.erase(cell.find_last_not_of(' ') + 1);
      const std::string& name = cols[c].first;
      if (name == "NAMESPACE") {
        row.ns = cell;
      } else if (name == "NAME") {
        row.name = cell;
      } else if (name == "STATUS") {
        row.status = cell;
      } else if (name == "TYPE") {
        row.type = cell;
      } else if (name == "REASON") {
        row.reason = cell;
      } else if (name == "MESSAGE") {
        row.message = cell;
      }
    }
    if (!row.name.empty()) {
      out.push_back(std::move(row));
    }
  }
  return out;
}

std::string resolveWaypointDestination(std::string_view destination,
                                       const std::vector<ZtunnelService>& services) {
  for (const auto& s : services) {
    if (destination == s.ns + "/" + s.hostname ||
        std::find(s.vips.begin(), s.vips.end(), destination) != s.vips.end()) {
      return s.ns + "/" + s.name;
    }
  }
  return {};
}

bool VerifyReport::ok() const {
  return std::all_of(items.begin(), items.end(), [](const VerifyItem& i) { return i.ok; });
}

namespace {

constexpr std::string_view kRedirection = "ambient.istio.io/redirection";

bool hasProxyContainer(const Pod& pod) {
  return std::any_of(pod.spec.containers.begin(), pod.spec.containers.end(),
                     [](const Container& c) { return c.name == "istio-proxy"; });
}

const ZtunnelWorkload* findWorkload(const std::vector<ZtunnelWorkload>& ws, std::string_view ns,
                                    std::string_view pod) {
  const std::string uid = "Kubernetes//Pod/" + std::string(ns) + "/" + std::string(pod);
  for (const auto& w : ws) {
    if (w.uid == uid || (w.ns == ns && w.name == pod)) {
      return &w;
    }
  }
  return nullptr;
}

std::string ztunnelProblems(const ZtunnelWorkload& w) {
  std::string out;
  if (w.protocol != "HBONE") {
    out += " ztunnel reports protocol " + (w.protocol.empty() ? "<none>" : w.protocol) +
           ", not HBONE: traffic to it is plaintext.";
  }
  if (w.status != "Healthy") {
    out += " ztunnel reports status " + (w.status.empty() ? "<none>" : w.status) + ".";
  }
  return out;
}

// Check 1 and 2 with a backup: each pod of ns against its ztunnel entry.
void checkPods(const VerifyInput& in, const ClusterView& backup, const std::set<std::string>& waypoints,
               VerifyReport& r) {
  const Namespace* n = backup.findNamespace(in.ns);
  const Labels ns_labels = n != nullptr ? n->labels : Labels();
  for (const Pod* pod : backup.list<Pod>(in.ns)) {
    if (pod->phase == "Succeeded" || pod->phase == "Failed") {
      continue;
    }
    const std::string obj = "Pod " + pod->ns + "/" + pod->name;
    const std::string* gw = pod->labels.get("gateway.networking.k8s.io/gateway-name");
    if (gw != nullptr && waypoints.count(*gw) > 0) {
      continue;  // waypoint pods run Envoy and are not captured
    }
    if (pod->spec.host_network) {
      r.notes.push_back(obj + " uses hostNetwork: never captured (expected).");
      continue;
    }
    const std::string* mode = pod->labels.get(ambient::kDataplaneModeLabel);
    if (mode != nullptr && *mode == "none") {
      r.items.push_back({"pods", obj, true, "opted out (istio.io/dataplane-mode=none)"});
      continue;
    }
    std::string problems;
    if (hasProxyContainer(*pod) || pod->annotations.has("sidecar.istio.io/status")) {
      problems += " It still has a sidecar (istio-proxy / sidecar.istio.io/status): the sidecar "
                  "takes precedence over ztunnel. Restart it (`kubectl rollout restart` its "
                  "workload)" +
                  std::string(ambient::namespaceInjectsSidecars(ns_labels)
                                  ? " after removing the namespace's injection label."
                                  : ".");
    }
    const std::string* redir = pod->annotations.get(kRedirection);
    if (redir == nullptr) {
      problems += " No ambient.istio.io/redirection annotation: istio-cni has not captured it.";
    } else if (*redir != "enabled") {
      problems += " ambient.istio.io/redirection is \"" + *redir + "\" (partially captured).";
    }
    const ZtunnelWorkload* w = findWorkload(in.workloads, in.ns, pod->name);
    if (w == nullptr) {
      problems += " Not in `istioctl zc workloads`: ztunnel does not know it.";
    } else {
      problems += ztunnelProblems(*w);
      if (w->protocol == "HBONE" && hasProxyContainer(*pod)) {
        problems += " (HBONE here comes from the sidecar's networking.istio.io/tunnel label, "
                    "not from ztunnel capture.)";
      }
    }
    if (problems.empty()) {
      r.items.push_back({"pods", obj, true, "captured: HBONE, no sidecar, redirection enabled"});
    } else {
      r.items.push_back({"pods", obj, false, problems.substr(1)});
    }
  }
}

// Check 2 without pods in the backup: the ztunnel view only.
void checkWorkloadsOnly(const VerifyInput& in, const std::set<std::string>& waypoints,
                        VerifyReport& r) {
  bool any = false;
  for (const auto& w : in.workloads) {
    if (w.ns != in.ns || waypoints.count(w.workload_name) > 0) {
      continue;
    }
    any = true;
    const std::string problems = ztunnelProblems(w);
    r.items.push_back({"workloads", "Pod " + w.ns + "/" + w.name, problems.empty(),
                       problems.empty() ? "HBONE, Healthy" : problems.substr(1)});
  }
  if (!any) {
    r.items.push_back({"workloads", "Namespace " + in.ns, false,
                       "`istioctl zc workloads` lists no workload in " + in.ns +
                           " (wrong namespace, or ztunnel in another namespace: pass "
                           "`-i kube-system`)."});
  }
  r.notes.push_back(
      "HBONE does not prove capture: sidecars injected with ISTIO_META_ENABLE_HBONE also show "
      "HBONE. Pass `-f` with `kubectl get pods -n " + in.ns +
      " -o yaml` to check for sidecars and the ambient.istio.io/redirection annotation.");
}

struct Expected {
  std::string service;  // "ns/name"
  std::string waypoint;  // "ns/name" of the Gateway
  std::string problem;   // binding problem (label points at nothing usable)
};

std::vector<Expected> expectedWaypoints(const VerifyInput& in, const ClusterView& backup) {
  std::vector<Expected> out;
  for (const Service* svc : backup.list<Service>(in.ns)) {
    const ambient::WaypointBinding b =
        ambient::resolveWaypoint(backup, in.ns, &svc->labels, ambient::TrafficType::kService);
    using S = ambient::WaypointBinding::Status;
    if (b.status == S::kNoLabel || b.status == S::kOptedOut) {
      continue;
    }
    Expected e{svc->ns + "/" + svc->name, b.ns + "/" + b.name, b.bound() ? "" : b.problem()};
    if (b.ns.empty()) {
      e.waypoint = in.ns + "/" + b.name;
    }
    if (std::find_if(out.begin(), out.end(), [&](const Expected& x) { return x.service == e.service; }) ==
        out.end()) {
      out.push_back(std::move(e));
    }
  }
  return out;
}

void checkWaypoints(const VerifyInput& in, VerifyReport& r) {
  std::vector<Expected> expected;
  if (in.backup != nullptr) {
    expected = expectedWaypoints(in, *in.backup);
  }
  r.has_waypoint = !expected.empty();
  std::set<std::string> gateways;
  for (const Expected& e : expected) {
    gateways.insert(e.waypoint);
    const std::string obj = "Service " + e.service;
    if (!e.problem.empty()) {
      r.items.push_back({"waypoints", obj, false, "istio.io/use-waypoint: " + e.problem});
      continue;
    }
    if (!in.services) {
      continue;
    }
    const size_t slash = e.service.find('/');
    const std::string ns = e.service.substr(0, slash), name = e.service.substr(slash + 1);
    auto it = std::find_if(in.services->begin(), in.services->end(),
                           [&](const ZtunnelService& s) { return s.ns == ns && s.name == name; });
    if (it == in.services->end()) {
      r.items.push_back({"waypoints", obj, false,
                         "not in `istioctl zc services`: ztunnel does not know the Service."});
      continue;
    }
    if (it->waypoint.empty()) {
      r.items.push_back({"waypoints", obj, false,
                         "expected waypoint " + e.waypoint +
                             ", but ztunnel has none for it: its traffic bypasses the waypoint "
                             "and L7 policy."});
      continue;
    }
    const std::string got = resolveWaypointDestination(it->waypoint, *in.services);
    if (got != e.waypoint) {
      r.items.push_back({"waypoints", obj, false,
                         "expected waypoint " + e.waypoint + ", ztunnel uses " +
                             (got.empty() ? it->waypoint + " (None)" : got) + "."});
      continue;
    }
    r.items.push_back({"waypoints", obj, true, "bound to waypoint " + got});
  }
  if (!expected.empty() && !in.services) {
    r.notes.push_back("Waypoint binding not verified: pass `--ztunnel-services` with `istioctl zc "
                      "services --service-namespace " + in.ns + " -o json`.");
  }
  if (in.backup == nullptr && in.services) {
    // No expectation without the backup: show what ztunnel does.
    for (const auto& s : *in.services) {
      if (s.ns == in.ns && !s.waypoint.empty()) {
        const std::string got = resolveWaypointDestination(s.waypoint, *in.services);
        r.has_waypoint = true;
        r.items.push_back({"waypoints", "Service " + s.ns + "/" + s.name, !got.empty(),
                           got.empty() ? "waypoint " + s.waypoint + " resolves to no Service (None)"
                                       : "bound to waypoint " + got});
        gateways.insert(got);
      }
    }
  }
  if (!in.waypoints) {
    if (!gateways.empty()) {
      r.notes.push_back("Waypoint readiness not verified: pass `--waypoint-status` with "
                        "`istioctl waypoint status -n " + in.ns + "`.");
    }
    return;
  }
  for (const std::string& gw : gateways) {
    if (gw.empty()) {
      continue;
    }
    const size_t slash = gw.find('/');
    const std::string ns = gw.substr(0, slash), name = gw.substr(slash + 1);
    auto it = std::find_if(in.waypoints->begin(), in.waypoints->end(), [&](const auto& row) {
      return row.name == name && (row.ns.empty() || row.ns == ns);
    });
    const std::string obj = "Gateway " + gw;
    if (it == in.waypoints->end()) {
      r.items.push_back({"waypoints", obj, false, "not listed by `istioctl waypoint status`."});
    } else if (it->status != "True") {
      r.items.push_back({"waypoints", obj, false,
                         "not Programmed: " + it->status + " " + it->reason + " " + it->message});
    } else {
      r.items.push_back({"waypoints", obj, true, "Programmed"});
    }
  }
}

std::set<std::string> waypointNames(const VerifyInput& in) {
  std::set<std::string> names;
  if (in.backup != nullptr) {
    for (const Gateway* gw : in.backup->list<Gateway>(in.ns)) {
      if (ambient::isWaypoint(*in.backup, *gw)) {
        names.insert(gw->name);
      }
    }
  }
  if (in.waypoints) {
    for (const auto& row : *in.waypoints) {
      names.insert(row.name);
    }
  }
  if (in.services) {
    for (const auto& s : *in.services) {
      const std::string got = resolveWaypointDestination(s.waypoint, *in.services);
      if (!got.empty() && got.substr(0, got.find('/')) == in.ns) {
        names.insert(got.substr(got.find('/') + 1));
      }
    }
  }
  return names;
}

}  // namespace

VerifyReport runVerify(const VerifyInput& in, const rules::MeshSettings& mesh) {
  (void)mesh;
  VerifyReport r;
  r.ns = in.ns;
  const std::set<std::string> waypoints = waypointNames(in);
  const bool have_pods = in.backup != nullptr && !in.backup->list<Pod>(in.ns).empty();
  if (have_pods) {
    checkPods(in, *in.backup, waypoints, r);
  } else {
    checkWorkloadsOnly(in, waypoints, r);
  }
  for (const auto& w : in.workloads) {
    if (w.ns == in.ns && w.protocol == "TCP" && waypoints.count(w.workload_name) == 0) {
      r.plaintext.push_back(w.name + (w.node.empty() ? "" : " (node " + w.node + ")"));
    }
  }
  checkWaypoints(in, r);
  if (!r.plaintext.empty()) {
    r.notes.push_back("HBONE does not reject plaintext: to refuse it, apply a PeerAuthentication "
                      "with mtls.mode STRICT (istio.io \"Verify mutual TLS is enabled\").");
  }
  r.notes.push_back("Per-node capture (`istioctl zc connections <ztunnel-pod> -o json`: every pod "
                    "state \"Up\") and inbound plaintext (connections with protocol TCP) are not "
                    "checked here.");
  return r;
}

}  // namespace ambient_guard
