// Policies bound by selector → the same policy bound with targetRefs (spec §3.1, §3.7, §2.3);
// PeerAuthentication DISABLE → PERMISSIVE (spec §4).
#include <algorithm>

#include "migrate/translate_internal.h"
#include "model/state_file.h"
#include "rules/ambient.h"

namespace ambient_guard::translation {
namespace {

using Level = TranslationNote::Level;
constexpr size_t kMaxTargetRefs = 16;  // authorization_policy.proto:306 MaxItems

std::string selectorText(const std::string& ns, const WorkloadSelector& s,
                         const rules::MeshSettings& mesh) {
  if (!s.match_labels.empty()) {
    return "selector " + s.match_labels.str();
  }
  return ns == mesh.root_namespace ? "mesh-wide" : "namespace-wide";
}

ordered_json serviceRef(const std::string& name) {
  return ordered_json{{"group", ""}, {"kind", "Service"}, {"name", name}};
}

// Returns the spec with `targetRefs` first and the workload selector removed; the other fields
// keep their order and values.
ordered_json retargetedSpec(const json& doc, const Target& t) {
  ordered_json spec = ordered_json::object();
  spec["targetRefs"] = t.refs;
  if (const json* in = member(doc, "spec"); in != nullptr && in->is_object()) {
    for (const auto& [k, v] : in->items()) {
      if (k != "selector" && k != "targetRef" && k != "targetRefs") {
        spec[k] = ordered(v);
      }
    }
  }
  return spec;
}

// Builds the targetRefs twin of a selector policy and records it: a new object named
// `<name>-waypoint`, annotated ambient-guard.io/translated-from: <name>, applied next to the
// original (Istio's migration guide: keep the sidecar policies until the pods restart, then
// delete them at once). Returns the new object.
TranslatedObject& retarget(Context& ctx, const json& doc, const ObjectRef& ref,
                           const std::string& api_version, const WorkloadSelector& selector,
                           const Target& t, const std::string& why) {
  TranslatedObject o;
  o.ref = ref;
  o.ref.api_version = api_version;
  o.ref.name = ref.name + std::string(kTwinSuffix);
  o.source = ref.str();
  o.replaces = false;
  ordered_json meta = cleanMetadata(doc, ref.ns);
  meta["name"] = o.ref.name;
  meta["annotations"][std::string(kTranslatedFromAnnotation)] = ref.name;
  o.doc.value = skeleton(api_version, ref.kind, std::move(meta));
  o.doc.value["spec"] = retargetedSpec(doc, t);
  std::string head = "ambient-guard translate: twin of " + ref.str() + " (" +
                     selectorText(ref.ns, selector, ctx.options.mesh) + "). " + why +
                     " Apply it next to the original, which sidecar pods keep enforcing (they "
                     "ignore targetRefs, spec §3.1); the waypoint enforces this twin once the "
                     "namespace is enrolled and its pods restarted. Delete " + ref.name +
                     " right after the restart (Istio migration guide, \"Enable ambient mode\" "
                     "Step 5).";
  if (!t.how.empty()) {
    head += " Needs: " + t.how + ".";
  }
  o.doc.comment("", head);
  // Ingress gateways bypass the waypoint unless the Service opts in (istio.io docs/ambient/usage/
  // waypoint, "Ingress gateways and waypoints"; targetref-unresolved reports it too).
  if (t.kind == "Service") {
    for (const auto& r : t.refs) {
      const Service* svc = ctx.state.find<Service>(ref.ns, r.value("name", ""));
      if (svc == nullptr || ambient::ingressUsesWaypoint(ctx.state, *svc) ||
          !ambient::ingressRoutesTo(ctx.state, *svc)) {
        continue;
      }
      const std::string fix = "kubectl label service " + svc->name + " -n " + svc->ns + " " +
                              std::string(ambient::kIngressUseWaypointLabel) + "=true";
      o.doc.comment("/spec/targetRefs",
                    "An ingress gateway routes to Service " + svc->name +
                        ": its requests bypass the waypoint, and this policy, unless the Service "
                        "or its namespace sets istio.io/ingress-use-waypoint=true (`" + fix +
                        "`).");
      ctx.note(Level::kReview, ref.str(),
               "ingress traffic to Service " + svc->name + " bypasses the waypoint: `" + fix +
                   "`");
    }
  }
  addSource(ctx, doc, ref, true);
  ctx.out.objects.push_back(std::move(o));
  return ctx.out.objects.back();
}

std::string targetComment(const Target& t, const WorkloadSelector& selector, size_t services) {
  if (t.kind == "Service") {
    return "Service-targeted: covers traffic addressed to the Service" +
           std::string(services > 1 ? "s" : "") +
           " only; callers using pod IPs need a Gateway targetRef and waypoint-for: workload or "
           "all (spec §2.3).";
  }
  if (t.kind == "GatewayClass") {
    return "GatewayClass istio-waypoint: applies at every waypoint of the mesh (root namespace "
           "only, spec §1.3).";
  }
  std::string c = "Gateway-targeted: applies to all traffic through waypoint " + t.waypoint_ns +
                  "/" + t.waypoint + ".";
  if (!selector.match_labels.empty()) {
    c += " The selector " + selector.match_labels.str() +
         (services == 0 ? " matches no Service" : " matches more Services than targetRefs hold") +
         ", so the whole waypoint is targeted: this widens the policy's scope (an ALLOW then "
         "denies other traffic through the waypoint). Review it.";
  }
  return c;
}

// Returns true when the source carries identities that ztunnel would read as the waypoint's.
bool usesIdentities(const AuthorizationPolicy& ap) {
  for (const AuthzRule& r : ap.rules) {
    for (const auto& from : r.from) {
      for (const FieldValues& fv : from) {
        if (fv.field.find("rincipals") != std::string::npos ||
            fv.field.find("amespaces") != std::string::npos ||
            fv.field.find("erviceAccounts") != std::string::npos) {
          return true;
        }
      }
    }
    for (const Condition& c : r.when) {
      if (c.key == "source.principal" || c.key == "source.namespace") {
        return true;
      }
    }
  }
  return false;
}

void addLockdown(Context& ctx, const json& doc, const AuthorizationPolicy& ap, const Target& t) {
  const std::string object = "AuthorizationPolicy " + ap.ns + "/" + ap.name;
  if (t.kind == "GatewayClass") {
    ctx.note(Level::kInfo, object, "no lock-down for a mesh-wide policy (no single waypoint)");
    return;
  }
  ObjectRef ref{"security.istio.io/v1", "AuthorizationPolicy", ap.ns,
                t.kind == "Service" && t.refs.size() == 1
                    ? "deny-waypoint-bypass-" + t.service
                    : "deny-waypoint-bypass"};
  for (const TranslatedObject& o : ctx.out.objects) {
    if (o.ref == ref) {
      return;  // one lock-down per workload set
    }
  }
  const Gateway* gw = ctx.state.find<Gateway>(t.waypoint_ns, t.waypoint);
  const std::string principal =
      gw != nullptr ? ambient::waypointPrincipal(*gw, ctx.options.trust_domain)
                    : ctx.options.trust_domain + "/ns/" + t.waypoint_ns + "/sa/" + t.waypoint;
  TranslatedObject o;
  o.ref = ref;
  o.source = object;
  o.doc.value = skeleton(ref.api_version, ref.kind,
                         ordered_json{{"name", ref.name}, {"namespace", ref.ns}});
  ordered_json spec = ordered_json::object();
  if (const json* in = member(doc, "spec"); in != nullptr && !ap.selector.match_labels.empty()) {
    spec["selector"] = ordered((*in)["selector"]);
  }
  spec["action"] = "DENY";
  spec["rules"] = ordered_json::array(
      {{{"from", ordered_json::array({{{"source", {{"notPrincipals", {principal}}}}}})}}});
  o.doc.value["spec"] = std::move(spec);
  o.doc.comment("", "ambient-guard translate --lockdown: the L4 lock-down of spec §3.7 for " +
                         object + ". ztunnel denies every caller that did not come through "
                         "waypoint " + t.waypoint_ns + "/" + t.waypoint +
                         " (it sees the waypoint's identity, " + principal +
                         "). It also blocks sidecar clients and ingress gateways, which bypass "
                         "the waypoint during the migration, and plaintext callers: apply it "
                         "once every client runs in ambient. Keep it a selector policy, never "
                         "targetRefs.");
  ctx.note(Level::kReview, object,
           "lock-down " + ref.str() + " denies callers not coming through the waypoint (" +
               principal + "); apply once every client is in ambient");
  ctx.out.objects.push_back(std::move(o));
}

}  // namespace

bool selectsGatewayPods(const WorkloadSelector& selector) {
  for (const auto& [k, v] : selector.match_labels.items()) {
    if (k == "gateway.networking.k8s.io/gateway-name" || k == "istio.io/gateway-name" ||
        (k == "istio" && v.size() >= 7 && v.compare(v.size() - 7, 7, "gateway") == 0)) {
      return true;
    }
  }
  return false;
}

Target targetFor(const Context& ctx, const std::string& ns, const WorkloadSelector& selector) {
  Target t;
  const rules::MeshSettings& mesh = ctx.options.mesh;
  ambient::TargetRefSuggestion s = ambient::suggestTargetRefs(ctx.state, ns, selector, mesh);
  // suggestTargetRefs documents its targetRefs as YAML flow text.
  auto parsed = parseDocuments("{" + s.target_refs + "}", "targetRefs");
  if (parsed.ok() && parsed->size() == 1 && parsed->front().doc.contains("targetRefs")) {
    t.refs = ordered(parsed->front().doc["targetRefs"]);
  } else {
    t.refs = ordered_json::array({{{"group", "gateway.networking.k8s.io"},
                                   {"kind", "Gateway"},
                                   {"name", "waypoint"}}});
  }
  t.kind = t.refs[0].value("kind", "");
  t.how = s.how;
  t.waypoint_ready = s.waypoint_ready;
  if (const size_t slash = s.waypoint.find('/'); slash != std::string::npos) {
    t.waypoint_ns = s.waypoint.substr(0, slash);
    t.waypoint = s.waypoint.substr(slash + 1);
  }
  if (t.kind == "Service") {
    t.service = t.refs[0].value("name", "");
  } else if (t.kind == "Gateway" && !selector.match_labels.empty()) {
    // Several Services behind the selector: name them all rather than widen to the waypoint.
    auto services = ambient::servicesSelectedBy(ctx.state, ns, selector.match_labels);
    if (services.size() > 1 && services.size() <= kMaxTargetRefs) {
      t.refs = ordered_json::array();
      for (const Service* svc : services) {
        t.refs.push_back(serviceRef(svc->name));
      }
      t.kind = "Service";
      t.service = services.front()->name;
    }
  }
  const std::string& wp = ctx.options.waypoint;
  if (!wp.empty() && t.kind != "GatewayClass" && wp != t.waypoint) {
    t.waypoint = wp;
    t.waypoint_ns = ns;
    const Gateway* gw = ctx.state.find<Gateway>(ns, wp);
    t.waypoint_ready = gw != nullptr && ambient::isWaypoint(ctx.state, *gw) &&
                       gw->readiness == GatewayReadiness::kReady;
    if (t.kind == "Gateway") {
      t.refs[0]["name"] = wp;
    }
    t.how = gw == nullptr ? "deploy waypoint " + wp + " (`istioctl waypoint apply -n " + ns +
                                " --name " + wp + "`) and "
                          : "";
    t.how += t.kind == "Service"
                 ? "bind the Service to it (`kubectl label service " + t.service + " -n " + ns +
                       " istio.io/use-waypoint=" + wp + "`, or label the namespace)"
                 : "label the namespace to use it (`kubectl label namespace " + ns +
                       " istio.io/use-waypoint=" + wp + "`)";
  }
  if (t.waypoint_ready) {
    t.how.clear();  // nothing to do first
  }
  return t;
}

void translateAuthorizationPolicy(Context& ctx, const json& doc, const AuthorizationPolicy& ap) {
  const ObjectRef ref{"security.istio.io/v1", "AuthorizationPolicy", ap.ns, ap.name};
  const std::string object = ref.str();
  if (!ap.target_refs.empty()) {
    ctx.note(Level::kInfo, object, "already bound with targetRefs: enforced by waypoints; kept");
    return;
  }
  if (selectsGatewayPods(ap.selector)) {
    ctx.note(Level::kInfo, object, "selects gateway pods: the gateway keeps enforcing it; kept");
    return;
  }
  // Dry-run policies are translated like enforced ones; the annotation is kept.
  AuthorizationPolicy probe = ap;
  probe.dry_run.reset();
  const ambient::ZtunnelConversion conv = ambient::convertForZtunnel(probe, ctx.options.mesh);
  if (conv.outcome == ambient::ZtunnelConversion::Outcome::kAccepted) {
    std::string text = "L4 only: ztunnel enforces it as written; kept";
    const bool waypoint =
        !ctx.options.waypoint.empty() ||
        ambient::resolveWaypoint(ctx.state, ap.ns, nullptr, ambient::TrafficType::kService).bound();
    if (waypoint && usesIdentities(ap)) {
      ctx.note(Level::kReview, object,
               text + ". It matches client identities: for traffic through a waypoint ztunnel "
                      "sees the waypoint's identity, so add it or move the policy to targetRefs "
                      "(spec §3.5)");
    } else {
      ctx.note(Level::kInfo, object, text);
    }
    return;
  }
  const Target t = targetFor(ctx, ap.ns, ap.selector);
  std::string why = "Bound with targetRefs, so the waypoint enforces it; rules unchanged (the "
                    "waypoint sees the original client identity, spec §3.5).";
  if (ap.action == "CUSTOM") {
    why += " The CUSTOM provider \"" + ap.provider.str() +
           "\" must be reachable from the waypoint (meshConfig extensionProviders).";
  }
  TranslatedObject& o = retarget(ctx, doc, ref, ref.api_version, ap.selector, t, why);
  const size_t services = t.kind == "Service" ? t.refs.size() : 0;
  o.doc.comment("/spec/targetRefs", targetComment(t, ap.selector, services));
  if (!conv.status_message.empty()) {
    o.doc.comment("/spec/targetRefs", "Left as is in ambient, istiod would report: \"" +
                                           conv.status_message + "\"");
  }
  const bool widened = t.kind == "Gateway" && !ap.selector.match_labels.empty();
  ctx.note(widened ? Level::kReview : Level::kInfo, object,
           "→ targetRefs " + t.kind + " " + t.refs[0].value("name", "") +
               (t.refs.size() > 1 ? " (+" + std::to_string(t.refs.size() - 1) + ")" : "") +
               (t.waypoint.empty() ? "" : "; waypoint " + t.waypoint_ns + "/" + t.waypoint) +
               (t.waypoint_ready || t.kind == "GatewayClass" ? "" : " (needs: " + t.how + ")") +
               (widened ? "; scope widened to the whole waypoint" : ""));
  if (ctx.options.lockdown) {
    addLockdown(ctx, doc, ap, t);
  }
}

void translateRequestAuthentication(Context& ctx, const json& doc,
                                    const RequestAuthentication& ra) {
  const ObjectRef ref{"security.istio.io/v1", "RequestAuthentication", ra.ns, ra.name};
  if (!ra.target_refs.empty()) {
    ctx.note(Level::kInfo, ref.str(), "already bound with targetRefs; kept");
    return;
  }
  if (selectsGatewayPods(ra.selector)) {
    ctx.note(Level::kInfo, ref.str(), "selects gateway pods: the gateway keeps using it; kept");
    return;
  }
  const Target t = targetFor(ctx, ra.ns, ra.selector);
  TranslatedObject& o = retarget(
      ctx, doc, ref, ref.api_version, ra.selector, t,
      "Bound with targetRefs, so the waypoint validates the JWTs; jwtRules unchanged. ztunnel "
      "and waypoints ignore selector RequestAuthentication: left as is, invalid tokens would be "
      "accepted and requestPrincipals rules could not match (fail-open, spec §5).");
  o.doc.comment("/spec/targetRefs",
                targetComment(t, ra.selector, t.kind == "Service" ? t.refs.size() : 0) +
                     " AuthorizationPolicies using requestPrincipals or request.auth.* must "
                     "target the same waypoint.");
  ctx.note(Level::kInfo, ref.str(),
           "→ targetRefs " + t.kind + " " + t.refs[0].value("name", "") +
               (t.waypoint_ready || t.how.empty() ? "" : " (needs: " + t.how + ")"));
}

namespace {

// WasmPlugin and TrafficExtension attach the same way: one already bound with targetRefs, or
// selecting gateway pods (the gateway keeps running it), is kept; otherwise it becomes a
// targetRefs twin bound to the waypoint that serves its selector.
template <class Extension>
void translateExtension(Context& ctx, const json& doc, const std::string& kind,
                        const Extension& ext, const std::string& why, const std::string& check) {
  const std::string api = text(doc, "apiVersion");
  const ObjectRef ref{api, kind, ext.ns, ext.name};
  if (!ext.target_refs.empty()) {
    ctx.note(Level::kInfo, ref.str(), "already bound with targetRefs; kept");
    return;
  }
  if (selectsGatewayPods(ext.selector)) {
    ctx.note(Level::kInfo, ref.str(), "selects gateway pods: the gateway keeps running it; kept");
    return;
  }
  const Target t = targetFor(ctx, ext.ns, ext.selector);
  TranslatedObject& o = retarget(ctx, doc, ref, api, ext.selector, t, why);
  o.doc.comment("/spec/targetRefs",
                targetComment(t, ext.selector, t.kind == "Service" ? t.refs.size() : 0));
  ctx.note(Level::kReview, ref.str(),
           "→ targetRefs " + t.kind + " " + t.refs[0].value("name", "") + "; " + check);
}

}  // namespace

void translateWasmPlugin(Context& ctx, const json& doc, const WasmPlugin& wp) {
  translateExtension(ctx, doc, "WasmPlugin", wp,
                     "Bound with targetRefs, so the plugin runs in the waypoint (Alpha in ambient); "
                     "url and pluginConfig unchanged. Selector WasmPlugins have no effect on "
                     "ambient pods.",
                     "check that the plugin works in a waypoint (Alpha)");
}

// TrafficExtension (extensions.istio.io/v1alpha1, Istio 1.30+) supersedes WasmPlugin and attaches
// the same way; "Waypoint proxies are required to use this field [targetRefs] for policies to
// apply; `selector` policies will be ignored", and only one of targetRefs or selector may be set
// (CEL) — the twin drops the selector ([API] extensions/v1alpha1/traffic_extension.proto).
void translateTrafficExtension(Context& ctx, const json& doc, const TrafficExtension& te) {
  translateExtension(ctx, doc, "TrafficExtension", te,
                     "Bound with targetRefs, so the Wasm or Lua filter runs in the waypoint; wasm, "
                     "lua, phase and match unchanged. Waypoints ignore selector TrafficExtensions, "
                     "and ambient pods have no proxy to run them.",
                     "check that the filter works in a waypoint (match.mode SERVER is the "
                     "waypoint's inbound side)");
}

void translatePeerAuthentication(Context& ctx, const json& doc, const PeerAuthentication& pa) {
  const ObjectRef ref{"security.istio.io/v1", "PeerAuthentication", pa.ns, pa.name};
  const bool top_disable = pa.mode == "DISABLE";
  std::vector<int32_t> disabled_ports;
  for (const auto& [port, mode] : pa.port_modes) {
    if (mode == "DISABLE") {
      disabled_ports.push_back(port);
    }
  }
  if (!top_disable && disabled_ports.empty()) {
    if (pa.mode == "STRICT" || pa.mode == "PERMISSIVE") {
      ctx.note(Level::kInfo, ref.str(),
               pa.mode == "STRICT"
                   ? "STRICT: kept, and keep it after the migration: ambient-to-ambient traffic "
                     "is always mTLS over HBONE, but STRICT is what refuses plaintext from "
                     "outside the mesh"
                   : "PERMISSIVE: kept; it admits plaintext from outside the mesh, so keep it "
                     "only while such clients remain");
    }
    return;
  }
  TranslatedObject o;
  o.ref = ref;
  o.source = ref.str();
  o.replaces = true;
  o.doc.value = skeleton(ref.api_version, ref.kind, cleanMetadata(doc, pa.ns));
  ordered_json spec = ordered(doc.value("spec", json::object()));
  if (top_disable) {
    spec["mtls"]["mode"] = "PERMISSIVE";
    o.doc.comment("/spec/mtls/mode",
                  "Was DISABLE. ambient does not support DISABLE and treats it as PERMISSIVE "
                       "(spec §4.1), and the Istio migration guide lists it as a blocker. "
                       "PERMISSIVE states what ambient does: plaintext from outside the mesh is "
                       "accepted, ambient-to-ambient traffic is always mTLS (HBONE). Sidecar pods "
                       "still in the namespace now also accept mTLS. To keep mTLS off entirely, "
                       "leave the namespace out of ambient.");
  }
  if (!disabled_ports.empty() && spec.contains("portLevelMtls")) {
    for (auto& [port, setting] : spec["portLevelMtls"].items()) {
      if (setting.is_object() && setting.value("mode", "") == "DISABLE") {
        setting["mode"] = "PERMISSIVE";
        o.doc.comment(pointerAppend(pointerAppend("/spec/portLevelMtls", port), "mode"),
                      "Was DISABLE. In ambient a port-level DISABLE is not exempted from an "
                           "inherited STRICT (spec §4.2); PERMISSIVE is.");
      }
    }
  }
  o.doc.value["spec"] = std::move(spec);
  o.doc.comment("", "ambient-guard translate: from " + ref.str() +
                        ", DISABLE replaced by PERMISSIVE.");
  std::string where = top_disable ? "mtls.mode" : "";
  for (int32_t p : disabled_ports) {
    where += (where.empty() ? "" : ", ") + std::string("port ") + std::to_string(p);
  }
  ctx.note(Level::kReview, ref.str(),
           "DISABLE → PERMISSIVE (" + where + "): same effect in ambient, and unblocks the "
           "migration; sidecar pods now also accept mTLS");
  addSource(ctx, doc, ref, true);
  ctx.out.objects.push_back(std::move(o));
}

}  // namespace ambient_guard::translation
