#include "migrate/cost.h"

#include <algorithm>

#include "migrate/check.h"
#include "model/quantity.h"
#include "model/state_file.h"
#include "rules/ambient.h"

namespace ambient_guard {

void ResourceSum::add(const Resources& r, int64_t times) {
  cpu_request_m += r.cpu_request_m.value_or(0) * times;
  memory_request += r.memory_request.value_or(0) * times;
  cpu_limit_m += r.cpu_limit_m.value_or(0) * times;
  memory_limit += r.memory_limit.value_or(0) * times;
  cpu_unlimited += r.cpu_limit_m ? 0 : static_cast<size_t>(times);
  memory_unlimited += r.memory_limit ? 0 : static_cast<size_t>(times);
}

void ResourceSum::add(const ResourceSum& o, int64_t times) {
  cpu_request_m += o.cpu_request_m * times;
  memory_request += o.memory_request * times;
  cpu_limit_m += o.cpu_limit_m * times;
  memory_limit += o.memory_limit * times;
  cpu_unlimited += o.cpu_unlimited * static_cast<size_t>(times);
  memory_unlimited += o.memory_unlimited * static_cast<size_t>(times);
}

ResourceSum ResourceSum::minus(const ResourceSum& o) const {
  ResourceSum d = *this;
  d.cpu_request_m -= o.cpu_request_m;
  d.memory_request -= o.memory_request;
  d.cpu_limit_m -= o.cpu_limit_m;
  d.memory_limit -= o.memory_limit;
  return d;
}

namespace {

// Chart defaults (spec §4.1).
constexpr const char* kProxySource =
    "chart default global.proxy.resources (istio-discovery/values.yaml:398-405)";
constexpr const char* kZtunnelSource = "chart default (ztunnel/values.yaml:58-64)";
constexpr const char* kCniSource = "chart default (istio-cni/values.yaml:118-121)";
constexpr const char* kWaypointSource =
    "chart default global.waypoint.resources (istio-discovery/values.yaml:532-540)";

constexpr int64_t kMi = 1024 * 1024;

Resources make(int64_t cpu_req, int64_t mem_req, std::optional<int64_t> cpu_lim,
               std::optional<int64_t> mem_lim) {
  return Resources{cpu_req, mem_req, cpu_lim, mem_lim};
}

std::optional<int64_t> cpuOf(const std::string* v) {
  return v == nullptr ? std::nullopt : parseCpuMillis(*v);
}
std::optional<int64_t> memOf(const std::string* v) {
  return v == nullptr ? std::nullopt : parseMemoryBytes(*v);
}

// Reads "<prefix>requests.cpu" … from the injector / values ConfigMap keys (decode_platform.cc).
std::optional<Resources> valuesResources(const ConfigMap& cm, const std::string& prefix) {
  Resources r{cpuOf(cm.data.get(prefix + "requests.cpu")),
              memOf(cm.data.get(prefix + "requests.memory")),
              cpuOf(cm.data.get(prefix + "limits.cpu")),
              memOf(cm.data.get(prefix + "limits.memory"))};
  if (!r.cpu_request_m && !r.memory_request && !r.cpu_limit_m && !r.memory_limit) {
    return std::nullopt;
  }
  return r;
}

// The injector's values: istio-sidecar-injector (key values) or values (key merged-values) in the
// root namespace, default revision first.
std::optional<ProxyResources> fromValues(const ClusterView& state, const rules::MeshSettings& mesh,
                                         const std::string& prefix) {
  std::vector<const ConfigMap*> candidates;
  for (const char* name : {"istio-sidecar-injector", "values"}) {
    if (const ConfigMap* cm = state.find<ConfigMap>(mesh.root_namespace, name)) {
      candidates.push_back(cm);
    }
  }
  for (const ConfigMap* cm : state.list<ConfigMap>(mesh.root_namespace)) {
    if (cm->name.starts_with("istio-sidecar-injector-") || cm->name.starts_with("values-")) {
      candidates.push_back(cm);
    }
  }
  for (const ConfigMap* cm : candidates) {
    if (auto r = valuesResources(*cm, prefix)) {
      return ProxyResources{*r, "ConfigMap " + cm->ns + "/" + cm->name + " (" + prefix + "*)"};
    }
  }
  return std::nullopt;
}

const Container* proxyContainer(const PodSpec& spec) {
  for (const Container& c : spec.containers) {
    if (c.name == "istio-proxy" && (!c.init || c.restart_always)) {
      return &c;
    }
  }
  return nullptr;
}

const DaemonSet* findDaemonSet(const ClusterView& state, std::string_view name) {
  for (const std::string& ns : state.namespaceNames()) {
    if (const DaemonSet* ds = state.find<DaemonSet>(ns, name)) {
      return ds;
    }
  }
  return nullptr;
}

ProxyResources daemonSetResources(const DaemonSet* ds, std::string_view container,
                                  Resources fallback, const char* fallback_source) {
  if (ds != nullptr) {
    for (const Container& c : ds->spec.containers) {
      if (c.name == container && !c.init) {
        return {c.resources, "DaemonSet " + ds->ns + "/" + ds->name + " container " + c.name};
      }
    }
  }
  return {fallback, fallback_source};
}

// The waypoint defaults ConfigMap (label gateway.istio.io/defaults-for-class=istio-waypoint) in
// the root namespace overlays global.waypoint.resources ([I] deploymentcontroller.go:604-621).
std::optional<ProxyResources> waypointOverlay(const ClusterView& state,
                                              const rules::MeshSettings& mesh) {
  for (const ConfigMap* cm : state.list<ConfigMap>(mesh.root_namespace)) {
    const std::string* cls = cm->labels.get("gateway.istio.io/defaults-for-class");
    const std::string* deployment = cm->data.get("deployment");
    if (cls == nullptr || *cls != "istio-waypoint" || deployment == nullptr) {
      continue;
    }
    auto docs = parseDocuments(*deployment, cm->name);
    if (!docs.ok() || docs->empty()) {
      continue;
    }
    // {spec: {template: {spec: {containers: [{name: istio-proxy, resources: …}]}}}}
    const nlohmann::json& d = docs->front().doc;
    try {
      for (const auto& c : d.at("spec").at("template").at("spec").at("containers")) {
        if (c.value("name", "") != "istio-proxy" || !c.contains("resources")) {
          continue;
        }
        const auto& res = c.at("resources");
        auto field = [&](const char* section, const char* r) -> std::optional<std::string> {
          if (res.contains(section) && res.at(section).contains(r)) {
            const auto& v = res.at(section).at(r);
            return v.is_string() ? v.get<std::string>() : v.dump();
          }
          return std::nullopt;
        };
        auto cpu = [&](const char* s) {
          auto v = field(s, "cpu");
          return v ? parseCpuMillis(*v) : std::nullopt;
        };
        auto mem = [&](const char* s) {
          auto v = field(s, "memory");
          return v ? parseMemoryBytes(*v) : std::nullopt;
        };
        return ProxyResources{Resources{cpu("requests"), mem("requests"), cpu("limits"),
                                        mem("limits")},
                              "ConfigMap " + cm->ns + "/" + cm->name + " (defaults-for-class)"};
      }
    } catch (const nlohmann::json::exception&) {
    }
  }
  return std::nullopt;
}

bool isGatewayPod(const Labels& labels) {
  const std::string* istio = labels.get("istio");
  return labels.has("gateway.networking.k8s.io/gateway-name") ||
         (istio != nullptr && (*istio == "ingressgateway" || *istio == "egressgateway"));
}

bool hasProxyAnnotation(const Labels& a) {
  for (const char* k : {"sidecar.istio.io/proxyCPU", "sidecar.istio.io/proxyMemory",
                        "sidecar.istio.io/proxyCPULimit", "sidecar.istio.io/proxyMemoryLimit"}) {
    if (a.has(k)) {
      return true;
    }
  }
  return false;
}

template <class W>
void addTemplates(const ClusterView& state, const std::string& ns, const Labels& ns_labels,
                  const Resources& fallback, NamespaceCost& nc, std::vector<std::string>& notes) {
  for (const W* w : state.list<W>(ns)) {
    if (w->spec.host_network || isGatewayPod(w->pod_labels) ||
        !ambient::podGetsSidecar(ns_labels, w->pod_labels)) {
      continue;
    }
    if (w->replicas < 0) {
      notes.push_back(std::string(kindName(W::kKind)) + " " + ns + "/" + w->name +
                      ": no status.desiredNumberScheduled in the backup, not counted.");
      continue;
    }
    const bool annotated = hasProxyAnnotation(w->pod_annotations);
    nc.sidecar.add(sidecarResources(w->pod_annotations, fallback), w->replicas);
    nc.sidecars += static_cast<size_t>(w->replicas);
    nc.annotated += annotated ? static_cast<size_t>(w->replicas) : 0;
  }
}

}  // namespace

Resources sidecarResources(const Labels& a, const Resources& fallback) {
  if (!hasProxyAnnotation(a)) {
    return fallback;
  }
  return Resources{cpuOf(a.get("sidecar.istio.io/proxyCPU")),
                   memOf(a.get("sidecar.istio.io/proxyMemory")),
                   cpuOf(a.get("sidecar.istio.io/proxyCPULimit")),
                   memOf(a.get("sidecar.istio.io/proxyMemoryLimit"))};
}

CostEstimate estimateCost(const ClusterView& state, const std::vector<std::string>& namespaces,
                          const std::set<std::string>& needs_waypoint,
                          const rules::MeshSettings& mesh) {
  CostEstimate c;
  c.proxy_default = fromValues(state, mesh, "global.proxy.resources.")
                        .value_or(ProxyResources{make(100, 128 * kMi, 2000, 1024 * kMi),
                                                 kProxySource});
  const DaemonSet* ztunnel = findDaemonSet(state, "ztunnel");
  const DaemonSet* cni = findDaemonSet(state, "istio-cni-node");
  c.ztunnel = daemonSetResources(ztunnel, "istio-proxy",
                                 make(200, 512 * kMi, std::nullopt, std::nullopt), kZtunnelSource);
  c.cni = daemonSetResources(cni, "install-cni", make(100, 100 * kMi, std::nullopt, std::nullopt),
                             kCniSource);
  c.cni_installed = cni != nullptr;
  c.waypoint = fromValues(state, mesh, "global.waypoint.resources.")
                   .value_or(ProxyResources{make(100, 128 * kMi, 2000, 1024 * kMi),
                                            kWaypointSource});
  if (auto overlay = waypointOverlay(state, mesh)) {
    c.waypoint = *overlay;
  }
  // Nodes: Node objects, else the DaemonSets' desiredNumberScheduled.
  c.nodes = state.list<Node>("").size();
  if (c.nodes > 0) {
    c.nodes_source = "Node objects";
  } else if (const DaemonSet* ds = (ztunnel != nullptr && ztunnel->replicas > 0) ? ztunnel
                                   : (cni != nullptr && cni->replicas > 0)     ? cni
                                                                               : nullptr) {
    c.nodes = static_cast<size_t>(ds->replicas);
    c.nodes_source = "DaemonSet " + ds->ns + "/" + ds->name + " desiredNumberScheduled";
  } else {
    // Istio's agents are not installed yet: the widest DaemonSet (kube-proxy, the CNI agent).
    for (const std::string& ns : state.namespaceNames()) {
      for (const DaemonSet* d : state.list<DaemonSet>(ns)) {
        if (d->replicas > 0 && static_cast<size_t>(d->replicas) > c.nodes) {
          c.nodes = static_cast<size_t>(d->replicas);
          c.nodes_source = "DaemonSet " + d->ns + "/" + d->name + " desiredNumberScheduled";
        }
      }
    }
  }
  if (c.nodes == 0) {
    c.notes.push_back("No Node objects or DaemonSet status in the backup: the per-node cost is "
                      "shown, the totals assume 0 nodes. Add `kubectl get nodes -o yaml`.");
  }
  if (c.proxy_default.resources.cpu_request_m.value_or(0) <= 10) {
    c.notes.push_back("The sidecar default is tiny (demo profile: 10m/40Mi, "
                      "manifests/helm-profiles/demo.yaml:25-47): a test cluster?");
  }
  for (const std::string& ns : namespaces) {
    NamespaceCost nc;
    nc.name = ns;
    const Namespace* n = state.findNamespace(ns);
    const Labels ns_labels = n != nullptr ? n->labels : Labels();
    const auto pods = state.list<Pod>(ns);
    if (!pods.empty()) {
      nc.basis = "pods";
      for (const Pod* pod : pods) {
        if (!pod->annotations.has("sidecar.istio.io/status") || isGatewayPod(pod->labels) ||
            (!pod->phase.empty() && pod->phase != "Running" && pod->phase != "Pending")) {
          continue;
        }
        const Container* proxy = proxyContainer(pod->spec);
        if (proxy == nullptr) {
          continue;
        }
        nc.sidecars++;
        nc.annotated += hasProxyAnnotation(pod->annotations) ? 1 : 0;
        nc.sidecar.add(proxy->resources);
      }
    } else {
      nc.basis = "templates";
      addTemplates<Deployment>(state, ns, ns_labels, c.proxy_default.resources, nc, c.notes);
      addTemplates<StatefulSet>(state, ns, ns_labels, c.proxy_default.resources, nc, c.notes);
      addTemplates<DaemonSet>(state, ns, ns_labels, c.proxy_default.resources, nc, c.notes);
    }
    for (const Gateway* gw : state.list<Gateway>(ns)) {
      c.existing_waypoints += ambient::isWaypoint(state, *gw) ? 1 : 0;
    }
    if (needs_waypoint.count(ns) > 0 && ambient::waypointsIn(state, ns).empty()) {
      nc.waypoints_planned = 1;
      nc.waypoint.add(c.waypoint.resources);
    }
    c.sidecars_total.add(nc.sidecar);
    c.waypoints_total.add(nc.waypoint);
    c.namespaces.push_back(std::move(nc));
  }
  c.ztunnel_total.add(c.ztunnel.resources, static_cast<int64_t>(c.nodes));
  if (!c.cni_installed) {
    c.cni_total.add(c.cni.resources, static_cast<int64_t>(c.nodes));
  }
  c.ambient_total.add(c.ztunnel_total);
  c.ambient_total.add(c.cni_total);
  c.ambient_total.add(c.waypoints_total);
  return c;
}

CostEstimate estimateCostForCheck(const ClusterView& state, const CheckReport& report,
                                  const rules::MeshSettings& mesh) {
  std::vector<std::string> namespaces;
  std::set<std::string> needs;
  for (const auto& ns : report.namespaces) {
    namespaces.push_back(ns.name);
    bool needs_waypoint = ns.gate == Gate::kNeedsWaypoint;
    for (const auto& f : ns.findings) {
      needs_waypoint = needs_waypoint || f.needs_waypoint;
    }
    if (needs_waypoint) {
      needs.insert(ns.name);
    }
  }
  return estimateCost(state, namespaces, needs, mesh);
}

}  // namespace ambient_guard
