// Which pods of a namespace receive HBONE after cutover, as far as a backup (or the webhook's
// watch) shows them; and the scope of a NetworkPolicy rule evaluation (rules/network_policy.h).
#include <algorithm>

#include "rules/ambient.h"
#include "rules/network_policy.h"

namespace ambient_guard::netpol {

std::string_view roleName(Target::Role role) {
  switch (role) {
    case Target::Role::kAmbient:
      return "ambient";
    case Target::Role::kWaypoint:
      return "waypoint";
    case Target::Role::kHboneSidecar:
      return "HBONE sidecar";
  }
  return "ambient";
}

Labels namespaceLabels(const ClusterView& state, std::string_view ns) {
  const Namespace* n = state.findNamespace(ns);
  Labels labels = n != nullptr ? n->labels : Labels();
  labels.set("kubernetes.io/metadata.name", std::string(ns));
  return labels;
}

namespace {

// Pods injected with ISTIO_META_ENABLE_HBONE carry this label ([I] injection-template.yaml:35-37)
// and accept HBONE from ambient clients (workloads.go:1174-1189).
bool hboneSidecarLabels(const Labels& pod_labels) {
  const std::string* tunnel = pod_labels.get("networking.istio.io/tunnel");
  return tunnel != nullptr && tunnel->find("http") != std::string::npos;
}

bool isWaypointName(const ClusterView& state, std::string_view ns, const Labels& labels) {
  const std::string* gw = labels.get(kGatewayNameLabel);
  if (gw == nullptr) {
    return false;
  }
  const Gateway* g = state.find<Gateway>(ns, *gw);
  return g != nullptr && ambient::isWaypoint(state, *g);
}

struct Template {
  Kind kind;
  const Workload* workload;
};

template <class W>
void addTemplates(const ClusterView& state, std::string_view ns, const Labels& ns_labels,
                  const ambient::EnablementSelectors& enablement, std::vector<Target>& out,
                  std::vector<Template>& all) {
  for (const W* w : state.list<W>(ns)) {
    all.push_back({W::kKind, w});
    if (w->spec.host_network) {
      continue;
    }
    Target t{ObjectKey{W::kKind, w->ns, w->name}, w->pod_labels, &w->spec};
    if (isWaypointName(state, ns, w->pod_labels)) {
      t.role = Target::Role::kWaypoint;
    } else if (ambient::isAmbientWorkload(ns_labels, w->pod_labels, enablement)) {
      t.role = Target::Role::kAmbient;
    } else {
      continue;  // may become an HBONE sidecar below, from its pods' labels
    }
    out.push_back(std::move(t));
  }
}

// A pod belongs to a template when it carries every template label (pods add
// pod-template-hash / controller-revision-hash).
bool covers(const Workload& w, const Pod& pod) {
  return !w.pod_labels.empty() && pod.labels.contains(w.pod_labels);
}

bool listed(const std::vector<Target>& out, const ObjectKey& key) {
  return std::any_of(out.begin(), out.end(), [&](const Target& t) { return t.key == key; });
}

}  // namespace

std::vector<Target> hboneReceivers(const ClusterView& state, std::string_view ns,
                                   const ambient::EnablementSelectors& enablement) {
  std::vector<Target> out;
  const Namespace* n = state.findNamespace(ns);
  const Labels ns_labels = n != nullptr ? n->labels : Labels();
  std::vector<Template> templates;
  addTemplates<Deployment>(state, ns, ns_labels, enablement, out, templates);
  addTemplates<StatefulSet>(state, ns, ns_labels, enablement, out, templates);
  addTemplates<DaemonSet>(state, ns, ns_labels, enablement, out, templates);
  const std::vector<const Pod*> pods = state.list<Pod>(ns);
  for (const Pod* pod : pods) {
    if (pod->spec.host_network || pod->phase == "Succeeded" || pod->phase == "Failed") {
      continue;
    }
    const bool sidecar = pod->annotations.has("sidecar.istio.io/status");
    auto owner = std::find_if(templates.begin(), templates.end(),
                              [&](const Template& t) { return covers(*t.workload, *pod); });
    if (owner != templates.end()) {
      // A template that stays on sidecars still receives HBONE when its pods say so.
      const Workload& w = *owner->workload;
      const ObjectKey key{owner->kind, w.ns, w.name};
      if (sidecar && hboneSidecarLabels(pod->labels) && !w.spec.host_network &&
          !listed(out, key)) {
        out.push_back(Target{key, w.pod_labels, &w.spec, Target::Role::kHboneSidecar});
      }
      continue;
    }
    Target t{ObjectKey{Kind::kPod, pod->ns, pod->name}, pod->labels, &pod->spec};
    t.probes_rewritten = sidecar;
    if (isWaypointName(state, ns, pod->labels)) {
      t.role = Target::Role::kWaypoint;
    } else if (ambient::isAmbientWorkload(ns_labels, pod->labels, enablement)) {
      t.role = Target::Role::kAmbient;
    } else if (sidecar && hboneSidecarLabels(pod->labels)) {
      t.role = Target::Role::kHboneSidecar;
    } else {
      continue;
    }
    out.push_back(std::move(t));
  }
  // Waypoints whose deployment is not in the backup (istiod creates it from the Gateway).
  for (const Gateway* gw : state.list<Gateway>(ns)) {
    if (!ambient::isWaypoint(state, *gw)) {
      continue;
    }
    const bool has_pods = std::any_of(out.begin(), out.end(), [&](const Target& t) {
      const std::string* name = t.labels.get(kGatewayNameLabel);
      return name != nullptr && *name == gw->name;
    });
    if (!has_pods) {
      out.push_back(Target{ObjectKey{Kind::kGateway, gw->ns, gw->name},
                           Labels({{std::string(kGatewayNameLabel), gw->name}}), nullptr,
                           Target::Role::kWaypoint});
    }
  }
  if (templates.empty() && pods.empty()) {
    // No workloads in the backup (or in the webhook's watch): Services stand in for the pods
    // they select, and the Namespace for "any pod" when no Service selects any.
    bool any_service = false;
    for (const Service* svc : state.list<Service>(ns)) {
      if (!svc->selector.empty() && ambient::isAmbientWorkload(ns_labels, svc->selector, enablement)) {
        out.push_back(Target{ObjectKey{Kind::kService, svc->ns, svc->name}, svc->selector,
                             nullptr, Target::Role::kAmbient});
        any_service = true;
      }
    }
    if (!any_service && ambient::isAmbientWorkload(ns_labels, Labels(), enablement)) {
      out.push_back(Target{ObjectKey{Kind::kNamespace, "", std::string(ns)}, Labels(), nullptr,
                           Target::Role::kAmbient});
    }
  }
  return out;
}

std::optional<PolicyScope> policyScope(const rules::RuleContext& ctx) {
  if (ctx.subject.isNamespace()) {
    return PolicyScope{ctx.subject.key.name, nullptr};
  }
  if (ctx.subject.key.kind != Kind::kNetworkPolicy) {
    return std::nullopt;
  }
  const NetworkPolicy* np = ctx.state.find<NetworkPolicy>(ctx.subject.key.ns, ctx.subject.key.name);
  if (np == nullptr) {
    // Deleted: policies add up, so removing one that admitted 15008 can leave another one
    // isolating the pods. Evaluate what is left (findings the namespace already had are marked
    // pre-existing by the reviewer).
    return PolicyScope{ctx.subject.key.ns, nullptr};
  }
  return PolicyScope{np->ns, np};
}

std::string describeTargets(const std::vector<const Target*>& targets, size_t shown) {
  std::string out;
  for (size_t i = 0; i < targets.size() && i < shown; ++i) {
    const Target& t = *targets[i];
    if (i > 0) {
      out += (i + 1 == targets.size() || i + 1 == shown) && targets.size() <= shown ? " and "
                                                                                       : ", ";
    }
    if (t.key.kind == Kind::kNamespace) {
      out += "every pod of namespace " + t.key.name;
    } else if (t.key.kind == Kind::kService) {
      out += "the pods of Service " + t.key.name;
    } else if (t.key.kind == Kind::kGateway) {
      out += "the pods of waypoint " + t.key.name;
    } else {
      out += std::string(kindName(t.key.kind)) + " " + t.key.name;
    }
  }
  if (targets.size() > shown) {
    out += " and " + std::to_string(targets.size() - shown) + " more";
  }
  return out;
}

}  // namespace ambient_guard::netpol
