#include "rules/unsupported_in_ambient.h"

#include <map>
#include <set>

#include "rules/ambient.h"
#include "rules/policy_attachment.h"
#include "rules/scope.h"
#include "rules/unsupported_in_ambient_egress.h"

namespace ambient_guard::rules {
namespace {

constexpr RuleDoc kDoc{
    "unsupported-in-ambient",
    Action::kWarn,
    "An ambient namespace has no EnvoyFilter, WasmPlugin or TrafficExtension without "
    "targetRefs, no Sidecar "
    "resource, no DestinationRule subsets that mesh VirtualServices route to, and no "
    "client-side egress routing or TLS origination for external hosts that no waypoint applies.",
    "ztunnel ignores all of them and waypoints never apply selector-based extensions or subsets "
    "from HTTPRoutes: filters, plugins, Sidecar egress limits and subset routing silently stop "
    "once the sidecars are gone.",
    R"(apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: auth-plugin, namespace: shop}   # shop is ambient
spec:
  selector: {matchLabels: {app: cart}}
  url: oci://registry.example.com/auth-plugin:1.0)",
    R"(apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: auth-plugin, namespace: shop}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: waypoint}]
  url: oci://registry.example.com/auth-plugin:1.0)"};

Finding make(const ObjectKey& key, const std::string& ns, std::string field, std::string message,
             std::string summary) {
  Finding f;
  f.rule = std::string(kDoc.id);
  f.action = kDoc.default_action;
  f.object = key;
  f.ns = ns;
  f.field = std::move(field);
  f.message = "[" + f.rule + "] " + key.str() + " " + std::move(message);
  f.summary = "[" + f.rule + "] " + key.str() + ": " + std::move(summary);
  return f;
}

std::string scopeText(const std::string& ns, const WorkloadSelector& sel, const MeshSettings& mesh) {
  return "(" + describePolicyScope(ns, sel, mesh) + ")";
}

void checkEnvoyFilter(const RuleContext& ctx, const EnvoyFilter& ef,
                      const std::vector<std::string>& namespaces, const std::string& finding_ns,
                      std::vector<Finding>& out) {
  if (!ef.target_refs.empty() || ambient::selectsGatewayPods(ef.selector.match_labels)) {
    return;
  }
  const ObjectKey key{Kind::kEnvoyFilter, ef.ns, ef.name};
  out.push_back(make(
      key, finding_ns, ef.selector.present ? "spec.workloadSelector" : "spec",
      scopeText(ef.ns, ef.selector, ctx.mesh) + " patches the sidecars of ambient " +
          namespaceList(namespaces) +
          ", which no longer have any: ztunnel has no Envoy to patch and waypoints do not apply "
          "workload-selected EnvoyFilters (the Istio migration guide: not supported on "
          "waypoints, silently ignored after migration). Fix: rebuild the behaviour with "
          "HTTPRoute filters or a WasmPlugin with `targetRefs` on a waypoint, or drop it.",
      "EnvoyFilter has no effect on ambient workloads"));
}

void checkSidecar(const RuleContext& ctx, const Sidecar& sc,
                  const std::vector<std::string>& namespaces, const std::string& finding_ns,
                  std::vector<Finding>& out) {
  if (sc.ns == ctx.mesh.root_namespace && selectorLess(sc.selector)) {
    return;  // the mesh-wide default Sidecar still configures the remaining sidecars
  }
  const ObjectKey key{Kind::kSidecar, sc.ns, sc.name};
  out.push_back(make(key, finding_ns, sc.selector.present ? "spec.workloadSelector" : "spec",
                     scopeText(sc.ns, sc.selector, ctx.mesh) + " configures sidecars of ambient " +
                         namespaceList(namespaces) +
                         ", which no longer have any, so it has no impact (Istio's analyzer "
                         "reports IST0167 IneffectivePolicy). Its egress host limits, "
                         "outbound traffic policy and ingress listeners are not enforced by "
                         "ztunnel or waypoints. Fix: delete it once the namespace is migrated; "
                         "restrict egress with AuthorizationPolicy or an egress waypoint.",
                     "Sidecar resource has no impact in ambient"));
}

// WasmPlugin, and TrafficExtension (Istio 1.30+, which supersedes it and attaches the same way:
// "Waypoint proxies are required to use this field for policies to apply; `selector` policies
// will be ignored", [API] extensions/v1alpha1/traffic_extension.proto).
template <class T>
void checkExtension(const RuleContext& ctx, const T& wp, const std::vector<std::string>& namespaces,
                    const std::string& finding_ns, std::vector<Finding>& out) {
  if (!wp.target_refs.empty() || ambient::selectsGatewayPods(wp.selector.match_labels)) {
    return;
  }
  ambient::TargetRefSuggestion fix =
      ambient::suggestTargetRefs(ctx.state, wp.ns, wp.selector, ctx.mesh);
  const ObjectKey key{T::kKind, wp.ns, wp.name};
  const std::string kind(kindName(T::kKind));
  Finding f = make(key, finding_ns, wp.selector.present ? "spec.selector" : "spec",
                   scopeText(wp.ns, wp.selector, ctx.mesh) + " extends the sidecars of ambient " +
                       namespaceList(namespaces) +
                       ", which no longer have any: ztunnel runs no extensions and waypoints "
                       "ignore " + kind + "s without targetRefs, so the " +
                       (T::kKind == Kind::kWasmPlugin ? "plugin" : "extension") +
                       " silently stops running. Fix: replace `selector` with `" +
                       fix.target_refs + "`; " + fix.how + ".",
                   kind + " without targetRefs is ignored in ambient; use targetRefs");
  f.needs_waypoint = !fix.waypoint_ready;
  out.push_back(std::move(f));
}

// Returns the short Service name of an in-cluster host, "" for wildcards.
std::string serviceName(const std::string& host) {
  if (host.empty() || host[0] == '*') {
    return "";
  }
  return host.substr(0, host.find('.'));
}

void checkDestinationRule(const RuleContext& ctx, const DestinationRule& dr,
                          const std::string& only_ns, std::vector<Finding>& out) {
  if (dr.subsets.empty()) {
    return;
  }
  const std::string host_ns = ambient::hostNamespace(dr.host, dr.ns);
  const std::string svc = serviceName(dr.host);
  if (host_ns.empty() || svc.empty() || (!only_ns.empty() && host_ns != only_ns) ||
      !ambient::isAmbientNamespace(ctx.state, host_ns, ctx.mesh.enablement)) {
    return;
  }
  const std::set<std::string> subsets(dr.subsets.begin(), dr.subsets.end());
  std::set<std::string> used;
  std::set<std::string> by;
  // A VirtualService in any namespace may route to the host (FQDN hosts).
  for (const std::string& ns : ctx.state.namespaceNames()) {
    for (const VirtualService* vs : ctx.state.list<VirtualService>(ns)) {
      if (!ambient::isMeshVirtualService(*vs)) {
        continue;  // ingress gateways run Envoy and keep honouring subsets
      }
      for (const VsDestination& d : vs->destinations) {
        if (!d.subset.empty() && subsets.count(d.subset) > 0 &&
            ambient::hostIsService(d.host, vs->ns, host_ns, svc)) {
          used.insert(d.subset);
          by.insert("VirtualService " + vs->ns + "/" + vs->name);
        }
      }
    }
  }
  if (used.empty()) {
    return;
  }
  std::string used_list;
  for (const auto& s : used) {
    used_list += (used_list.empty() ? "" : ", ") + s;
  }
  std::string by_list;
  for (const auto& s : by) {
    by_list += (by_list.empty() ? "" : ", ") + s;
  }
  out.push_back(make(
      ObjectKey{Kind::kDestinationRule, dr.ns, dr.name}, host_ns, "spec.subsets",
      "defines subsets " + used_list + " of " + dr.host + " (ambient namespace " + host_ns +
          ") that only VirtualServices route to (" + by_list +
          "). Waypoints do not support subset routing and an HTTPRoute cannot name a subset, so "
          "the version split silently stops. Fix: one Service per subset (its selector adds the "
          "subset labels, e.g. `" + svc + "-" + *used.begin() +
          "`) and HTTPRoute backendRefs to them; the DestinationRule's trafficPolicy keeps "
          "working at the waypoint.",
      "subsets " + used_list + " are unusable in ambient (HTTPRoute cannot name subsets)"));
}

}  // namespace

const RuleDoc& UnsupportedInAmbient::doc() const { return kDoc; }

void UnsupportedInAmbient::evaluate(const RuleContext& ctx, std::vector<Finding>& out) const {
  forEachCoveringPolicy<EnvoyFilter>(
      ctx, [&](const EnvoyFilter& ef, const std::vector<std::string>& nss, const std::string& ns) {
        checkEnvoyFilter(ctx, ef, nss, ns, out);
      });
  forEachCoveringPolicy<Sidecar>(
      ctx, [&](const Sidecar& sc, const std::vector<std::string>& nss, const std::string& ns) {
        checkSidecar(ctx, sc, nss, ns, out);
      });
  forEachCoveringPolicy<WasmPlugin>(
      ctx, [&](const WasmPlugin& wp, const std::vector<std::string>& nss, const std::string& ns) {
        checkExtension(ctx, wp, nss, ns, out);
      });
  forEachCoveringPolicy<TrafficExtension>(
      ctx, [&](const TrafficExtension& te, const std::vector<std::string>& nss,
               const std::string& ns) { checkExtension(ctx, te, nss, ns, out); });
  if (!ctx.subject.isNamespace()) {
    const ObjectKey& key = ctx.subject.key;
    if (key.kind == Kind::kDestinationRule) {
      if (const DestinationRule* dr = ctx.state.find<DestinationRule>(key.ns, key.name)) {
        checkDestinationRule(ctx, *dr, "", out);
      }
    }
    if (key.kind == Kind::kDestinationRule || key.kind == Kind::kVirtualService) {
      for (const std::string& ns : ctx.state.namespaceNames()) {
        if (ambient::isAmbientNamespace(ctx.state, ns, ctx.mesh.enablement)) {
          checkClientEgress(ctx, kDoc, ns, &key, out);
        }
      }
    }
    return;
  }
  const std::string& n = ctx.subject.key.name;
  if (!ambient::isAmbientNamespace(ctx.state, n, ctx.mesh.enablement)) {
    return;
  }
  for (const std::string& ns : ctx.state.namespaceNames()) {
    for (const DestinationRule* dr : ctx.state.list<DestinationRule>(ns)) {
      checkDestinationRule(ctx, *dr, n, out);
    }
  }
  checkClientEgress(ctx, kDoc, n, nullptr, out);
}

}  // namespace ambient_guard::rules
