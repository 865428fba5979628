#include "migrate/plan.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "migrate/translate.h"
#include "model/decode.h"
#include "model/strings.h"
#include "rules/ambient.h"

namespace ambient_guard {
namespace {

using nlohmann::json;

// The cluster once the translation is applied: translated objects put, superseded ones removed.
std::shared_ptr<const Snapshot> afterTranslation(const Snapshot& state,
                                                 const TranslateResult& tr) {
  std::vector<AnyObject> puts;
  std::vector<ObjectKey> put_keys;
  for (const TranslatedObject& o : tr.objects) {
    if (o.commented_out) {
      continue;  // not applied as written (see TranslatedObject)
    }
    auto obj = decodeObject(json::parse(o.doc.value.dump()));
    if (obj.ok() && obj->has_value()) {
      put_keys.push_back(keyOf(**obj));
      puts.push_back(std::move(**obj));
    }
  }
  std::vector<ObjectKey> removes;
  for (const SourceObject& s : tr.sources) {
    std::optional<Kind> kind = kindFromName(s.ref.kind);
    if (!s.superseded || !kind) {
      continue;
    }
    ObjectKey key{*kind, s.ref.ns, s.ref.name};
    if (std::find(put_keys.begin(), put_keys.end(), key) == put_keys.end()) {
      removes.push_back(std::move(key));
    }
  }
  return state.withChanges(std::move(puts), removes);
}

struct Inputs {
  const ClusterView& state;
  const TranslateResult& tr;
  const TranslateResult& locked;  // the same translation with --lockdown
  const PlanOptions& options;
  std::string files;  // "-f a.yaml -f b.yaml"
};

std::string waypointName(const Inputs& in, const std::string& ns) {
  if (!in.options.waypoint.empty()) {
    return in.options.waypoint;
  }
  if (const Namespace* n = in.state.findNamespace(ns)) {
    const std::string* label = n->labels.get(ambient::kUseWaypointLabel);
    if (label != nullptr && *label != "none" && !n->labels.has(ambient::kUseWaypointNamespaceLabel)) {
      return *label;
    }
  }
  auto existing = ambient::waypointsIn(in.state, ns);
  return existing.empty() ? "waypoint" : existing.front()->name;
}

bool needsWaypoint(const Inputs& in, const std::string& ns, const NamespaceReport& now) {
  for (const rules::Finding& f : now.findings) {
    if (f.needs_waypoint) {
      return true;
    }
  }
  for (const TranslatedObject& o : in.tr.objects) {
    const auto& v = o.doc.value;
    if (o.ref.ns == ns && (o.ref.kind == "HTTPRoute" ||
                           (v.contains("spec") && v.at("spec").contains("targetRefs")))) {
      return true;
    }
  }
  for (const AuthorizationPolicy* ap : in.state.list<AuthorizationPolicy>(ns)) {
    if (!ap->target_refs.empty()) {
      return true;
    }
  }
  return false;
}

PlanStep makeStep(std::string id, std::string title) {
  PlanStep s;
  s.id = std::move(id);
  s.title = std::move(title);
  return s;
}

std::vector<PlanStep> steps(const Inputs& in, const NamespacePlan& np, const Namespace* ns_obj) {
  const std::string& ns = np.name;
  const std::string& wp = np.waypoint;
  const Labels labels = ns_obj != nullptr ? ns_obj->labels : Labels();
  const bool ambient_now = ambient::isAmbientNamespace(labels, in.options.mesh.enablement);
  std::vector<PlanStep> out;

  PlanStep pre = makeStep("preflight", "Pre-flight check");
  pre.commands = {"ambient-guard check " + in.files + " --namespace " + ns};
  pre.gate = std::string("the gate is not `blocked`") +
             (np.gate_after == Gate::kBlocked
                  ? "; today it stays blocked even after translation (see Blocked above)"
                  : " once the translation is applied (now: " + std::string(gateName(np.gate_now)) +
                        ", after translation: " + std::string(gateName(np.gate_after)) + ")");
  pre.gate_checks = {"istioctl analyze -n " + ns};
  pre.rollback = {"nothing to undo"};
  out.push_back(std::move(pre));

  PlanStep w = makeStep("waypoint", "Deploy the waypoint");
  if (!np.waypoint_needed) {
    w.done = true;
    w.why = "no policy or route in " + ns + " needs L7 enforcement";
  } else if (np.waypoint_ready) {
    w.done = true;
    w.why = "waypoint " + ns + "/" + wp + " is ready";
  } else {
    w.commands = {"istioctl waypoint apply -n " + ns + " --name " + wp + " --wait"};
    w.gate = "the waypoint Gateway has an address (istiod ignores waypoints without one, spec W4)";
    w.gate_checks = {"kubectl wait --for=condition=Programmed gateway/" + wp + " -n " + ns +
                         " --timeout=120s",
                     "kubectl get gateway " + wp + " -n " + ns +
                         " -o jsonpath='{.status.addresses[0].value}'"};
    w.rollback = {"kubectl delete gateway " + wp + " -n " + ns};
  }
  out.push_back(std::move(w));

  PlanStep b = makeStep("use-waypoint", "Bind the namespace to the waypoint");
  const std::string* bound = labels.get(ambient::kUseWaypointLabel);
  if (!np.waypoint_needed) {
    b.done = true;
    b.why = "no waypoint needed";
  } else if (bound != nullptr && *bound == wp) {
    b.done = true;
    b.why = "namespace " + ns + " already has istio.io/use-waypoint=" + wp;
  } else {
    b.commands = {"kubectl label namespace " + ns + " istio.io/use-waypoint=" + wp +
                  (bound != nullptr ? " --overwrite" : "")};
    b.gate = "every Service of " + ns + " reports istio.io/WaypointBound=True (reason "
             "WaypointAccepted)";
    b.gate_checks = {"kubectl get services -n " + ns +
                     " -o jsonpath='{range .items[*]}{.metadata.name}{\"\\t\"}{.status.conditions[?(@.type==\"istio.io/WaypointBound\")].reason}{\"\\n\"}{end}'"};
    b.watch = {"ambient-guard audit --namespace " + ns + " --rule waypoint-in-use --since 15m"};
    b.rollback = {bound != nullptr
                      ? "kubectl label namespace " + ns + " istio.io/use-waypoint=" + *bound +
                            " --overwrite"
                      : "kubectl label namespace " + ns + " istio.io/use-waypoint-"};
    b.note = "sidecar clients bypass the waypoint until they move to ambient too (spec §2.2).";
  }
  if (np.waypoint_needed) {
    // Ingress gateways bypass waypoints unless the Service or Namespace opts in (istio.io
    // docs/ambient/usage/waypoint, "Ingress gateways and waypoints"; targetref-unresolved).
    std::string called;
    for (const Service* svc : in.state.list<Service>(ns)) {
      if (!ambient::ingressUsesWaypoint(in.state, *svc) &&
          ambient::ingressRoutesTo(in.state, *svc)) {
        called += (called.empty() ? "" : ", ") + svc->name;
      }
    }
    if (!called.empty()) {
      b.done = false;
      b.why.clear();
      b.commands.push_back("kubectl label namespace " + ns + " " +
                           std::string(ambient::kIngressUseWaypointLabel) + "=true");
      b.rollback.push_back("kubectl label namespace " + ns + " " +
                           std::string(ambient::kIngressUseWaypointLabel) + "-");
      b.note += std::string(b.note.empty() ? "" : " ") + "an ingress gateway routes to " +
                called + ": without istio.io/ingress-use-waypoint its requests bypass the "
                "waypoint and the policies moved to it (Istio's waypoint guide, \"Ingress "
                "gateways and waypoints\").";
    }
  }
  out.push_back(std::move(b));

  PlanStep t = makeStep("translate", "Apply the targetRefs twins and routes next to the originals");
  std::vector<std::string> created;
  std::vector<std::string> originals;  // superseded sources, deleted right after the restart
  bool replace_needed = false;
  for (const TranslatedObject& o : in.tr.objects) {
    if (o.ref.ns == ns && !o.replaces && !o.commented_out) {
      std::string kind = o.ref.kind;
      std::transform(kind.begin(), kind.end(), kind.begin(), ::tolower);
      created.push_back("kubectl delete " + kind + " " + o.ref.name + " -n " + ns);
    }
    replace_needed = replace_needed || (o.ref.ns == ns && o.doc.comments.count("") > 0 &&
                                        join(o.doc.comments.at(""), " ").find("kubectl replace") !=
                                            std::string::npos);
  }
  for (const SourceObject& s : in.tr.sources) {
    bool replaced = false;
    for (const TranslatedObject& o : in.tr.objects) {
      replaced = replaced || (o.replaces && o.ref.kind == s.ref.kind && o.ref.ns == s.ref.ns &&
                              o.ref.name == s.ref.name);
    }
    if (s.ref.ns == ns && s.superseded && !replaced) {
      std::string kind = s.ref.kind;
      std::transform(kind.begin(), kind.end(), kind.begin(), ::tolower);
      originals.push_back("kubectl delete " + kind + " " + s.ref.name + " -n " + ns);
    }
  }
  if (np.translate.empty()) {
    t.done = true;
    t.why = "nothing in " + ns + " needs translating";
  } else {
    const std::string wp_flag = in.options.waypoint.empty() ? "" : " --waypoint " + wp;
    t.commands = {"ambient-guard translate " + in.files + " --namespace " + ns + wp_flag +
                      " --rollback-file " + ns + "-rollback.yaml > " + ns + "-ambient.yaml",
                  "# review every comment in " + ns + "-ambient.yaml, then:",
                  std::string(replace_needed ? "kubectl replace -f " : "kubectl apply -f ") + ns +
                      "-ambient.yaml"};
    t.gate = "the translated policies are accepted by the waypoint and no analyzer message is left";
    t.gate_checks = {
        "kubectl get authorizationpolicies -n " + ns +
            " -o jsonpath='{range .items[*]}{.metadata.name}{\"\\t\"}{.status.conditions[?(@.type==\"WaypointAccepted\")].reason}{\"\\n\"}{end}'",
        "istioctl analyze -n " + ns};
    t.watch = {"ambient-guard audit --namespace " + ns + " --since 15m"};
    t.rollback = {"kubectl apply -f " + ns + "-rollback.yaml"};
    t.rollback.insert(t.rollback.end(), created.begin(), created.end());
    t.note = "the originals stay: sidecar pods keep enforcing them and ignore the targetRefs "
             "twins (spec §3.1); the webhook allows enrolling once every twin attaches to a "
             "waypoint. L7 policies have a brief enforcement gap during the migration (sidecar "
             "clients and ingress bypass the waypoint, and the originals act at ztunnel between "
             "the restart and their deletion): plan a maintenance window." +
             std::string(replace_needed ? " `kubectl replace`: the live policies were not "
                                          "created with `kubectl apply`."
                                        : "");
  }
  out.push_back(std::move(t));

  PlanStep e = makeStep("enroll", "Enroll the namespace in ambient");
  if (ambient_now) {
    e.done = true;
    e.why = "namespace " + ns + " is already ambient";
  } else {
    const Labels enroll = in.options.mesh.enablement.enrollLabels();
    std::string set;
    std::string unset;
    for (const auto& [k, v] : enroll.items()) {
      set += " " + k + "=" + v;
      unset += " " + k + "-";
    }
    e.commands = {"kubectl label namespace " + ns + set};
    if (!in.options.mesh.enablement.is_default) {
      e.note = "istio-cni enrolls namespaces by its enablement selectors (" +
              in.options.mesh.enablement.source + "): " + in.options.mesh.enablement.str();
    }
    e.gate = "the label is admitted (the ambient-guard webhook denies it while a blocker is "
             "left) and istioctl reports no multiple-injection-labels message (IST0123) after "
             "the next step";
    e.gate_checks = {"kubectl get namespace " + ns + " --show-labels", "istioctl analyze -n " + ns};
    e.watch = {"ambient-guard audit --namespace " + ns + " --since 15m",
               "increase(ambient_guard_admission_requests_total{kind=\"Namespace\",decision=\"denied\"}[15m]) == 0"};
    e.rollback = {"kubectl label namespace " + ns + unset};
  }
  out.push_back(std::move(e));

  PlanStep r = makeStep("remove-injection", "Remove sidecar injection");
  std::vector<std::string> remove;
  std::vector<std::string> restore;
  for (std::string_view key : {ambient::kInjectionLabel, ambient::kRevLabel}) {
    if (const std::string* v = labels.get(key)) {
      remove.push_back(std::string(key) + "-");
      restore.push_back(std::string(key) + "=" + *v);
    }
  }
  if (remove.empty()) {
    r.done = true;
    r.why = "namespace " + ns + " has no injection label";
  } else {
    r.commands = {"kubectl label namespace " + ns + " " + join(remove, " ")};
    r.gate = "no injection label is left (the sidecar wins over ambient while one is, R1.3)";
    r.gate_checks = {"kubectl get namespace " + ns + " --show-labels"};
    r.rollback = {"kubectl label namespace " + ns + " " + join(restore, " ") + " --overwrite"};
    r.note = "with the ambient-guard mutating webhook on, the enrollment already removed them "
             "and recorded them in ambient-guard.io/previous-injection.";
  }
  out.push_back(std::move(r));

  PlanStep s = makeStep("restart", "Rolling restart into ambient");
  if (ambient_now && remove.empty()) {
    s.done = true;
    s.why = "pods already start in ambient";
  } else {
    s.commands = {"kubectl rollout restart deployment,statefulset,daemonset -n " + ns,
                  "for w in $(kubectl get deployment,statefulset,daemonset -n " + ns +
                      " -o name); do kubectl rollout status \"$w\" -n " + ns +
                      " --timeout=10m; done"};
    s.gate = "every pod is captured by ztunnel (annotation ambient.istio.io/redirection=enabled) "
             "and has no istio-proxy container; error rates through the waypoint stay flat";
    s.gate_checks = {
        "kubectl get pods -n " + ns +
            " -o jsonpath='{range .items[*]}{.metadata.name}{\"\\t\"}{.metadata.annotations.ambient\\.istio\\.io/redirection}{\"\\t\"}{.spec.containers[*].name}{\"\\n\"}{end}'",
        "istioctl ztunnel-config workloads --workload-namespace " + ns};
    s.watch = {
        "sum(rate(istio_requests_total{reporter=\"waypoint\",destination_workload_namespace=\"" +
            ns + "\",response_code=~\"5..\"}[5m]))",
        "increase(ambient_guard_findings_total{action=\"deny\",enforced=\"true\"}[15m]) == 0"};
    s.rollback = {"kubectl label namespace " + ns + " istio.io/dataplane-mode-" +
                      (restore.empty() ? "" : " " + join(restore, " ") + " --overwrite"),
                  "kubectl rollout restart deployment,statefulset,daemonset -n " + ns};
    if (!np.translate.empty()) {
      s.rollback.push_back("kubectl apply -f " + ns + "-rollback.yaml");
    }
    s.note = "ztunnel closes connections of a pod that leaves ambient instead of draining them "
             "(spec R1.6): roll back in a quiet period.";
  }
  out.push_back(std::move(s));

  PlanStep d = makeStep("delete-originals", "Delete the originals right after the restart");
  if (originals.empty()) {
    d.done = true;
    d.why = "no original policy or VirtualService in " + ns + " was translated";
  } else {
    d.commands = originals;
    d.gate = "no selector L7 policy is left in " + ns + " (ambient-guard reports no "
             "l7-policy-without-waypoint finding for it)";
    d.gate_checks = {"kubectl get authorizationpolicies,requestauthentications,wasmplugins,"
                     "virtualservices -n " + ns,
                     "ambient-guard audit --namespace " + ns +
                         " --rule l7-policy-without-waypoint --since 15m"};
    d.rollback = {"kubectl apply -f " + ns + "-rollback.yaml"};
    d.note = "do it immediately after the restart, before validating (Istio migration guide, "
             "\"Enable ambient mode\" Step 5): a selector ALLOW with HTTP rules left in place is "
             "enforced by ztunnel without them (deny-all), a DENY without its HTTP conditions.";
  }
  out.push_back(std::move(d));

  PlanStep c = makeStep("cleanup", "After the migration");
  std::vector<std::string> strict;
  std::vector<std::string> permissive;
  for (const PeerAuthentication* pa : in.state.list<PeerAuthentication>(ns)) {
    if (pa->mode == "STRICT") {
      strict.push_back(pa->name);
    } else if (pa->mode == "PERMISSIVE") {
      permissive.push_back(pa->name);
    }
  }
  std::vector<std::string> lockdowns;
  for (const TranslatedObject& o : in.locked.objects) {
    if (o.ref.ns == ns && o.ref.kind == "AuthorizationPolicy" &&
        o.ref.name.rfind("deny-waypoint-bypass", 0) == 0) {
      lockdowns.push_back(o.ref.name);
    }
  }
  c.commands = {"ambient-guard translate " + in.files + " --namespace " + ns + " --lockdown > " +
                    ns + "-lockdown.yaml",
                "kubectl apply -f " + ns + "-lockdown.yaml"};
  c.gate = "optional L4 lock-down (spec §3.7): first make sure no sidecar client or ingress "
           "gateway still calls " + ns + " (they bypass the waypoint and would be denied)";
  c.gate_checks = {"istioctl ztunnel-config workloads"};
  c.rollback = {"kubectl delete authorizationpolicy -n " + ns + " " + join(lockdowns, " ")};
  // STRICT is what makes ztunnel refuse plaintext from outside the mesh
  // ([API] security/v1beta1/peer_authentication.proto: "STRICT mode is useful to ensure that
  // connections that bypass the mesh are not possible"; spec §4.1): it stays after migration.
  if (!strict.empty()) {
    c.note = "keep PeerAuthentication " + join(strict, ", ") +
             " (STRICT): ambient-to-ambient traffic is always mTLS, but STRICT is what still "
             "refuses plaintext from outside the mesh.";
  }
  if (!permissive.empty()) {
    c.note += std::string(c.note.empty() ? "" : " ") + "PeerAuthentication " +
              join(permissive, ", ") +
              " (PERMISSIVE) admits plaintext from outside the mesh; keep it only while such "
              "clients remain.";
  }
  if (lockdowns.empty()) {
    c.done = true;
    c.why = "no translated policy to lock down" + (c.note.empty() ? std::string() : "; " + c.note);
  }
  out.push_back(std::move(c));
  return out;
}

}  // namespace

Plan buildPlan(const std::vector<RawDocument>& docs, const Snapshot& state,
               const Reviewer& reviewer, const PlanOptions& options) {
  Plan plan;
  plan.backup_files = options.backup_files;
  TranslateOptions topt;
  topt.waypoint = options.waypoint;
  topt.mesh = options.mesh;
  const TranslateResult tr = translate(docs, state, docs, topt);
  topt.lockdown = true;
  const TranslateResult locked = translate(docs, state, docs, topt);
  auto after = afterTranslation(state, tr);
  const CheckReport now = runCheck(state, reviewer, options.namespaces);
  const CheckReport then = runCheck(*after, reviewer, options.namespaces);
  std::map<std::string, const NamespaceReport*> then_by_ns;
  for (const NamespaceReport& r : then.namespaces) {
    then_by_ns[r.name] = &r;
  }
  std::vector<std::string> files;
  for (const std::string& f : options.backup_files.empty() ? std::vector<std::string>{"backup.yaml"}
                                                           : options.backup_files) {
    files.push_back("-f " + f);
  }
  const Inputs in{state, tr, locked, options, join(files, " ")};
  for (const NamespaceReport& r : now.namespaces) {
    NamespacePlan np;
    np.name = r.name;
    np.mode = r.mode;
    np.gate_now = r.gate;
    auto it = then_by_ns.find(r.name);
    const NamespaceReport* post = it != then_by_ns.end() ? it->second : &r;
    np.gate_after = post->gate;
    for (const rules::Finding& f : post->findings) {
      if (f.action == rules::Action::kDeny && !f.needs_waypoint) {
        np.blockers.push_back(f);
      } else if (f.action != rules::Action::kOff) {
        np.remaining.push_back(f);
      }
    }
    np.waypoint_needed = needsWaypoint(in, r.name, r);
    np.waypoint = waypointName(in, r.name);
    const Gateway* gw = state.find<Gateway>(r.name, np.waypoint);
    np.waypoint_ready = gw != nullptr && ambient::isWaypoint(state, *gw) &&
                        gw->readiness == GatewayReadiness::kReady;
    for (const SourceObject& s : tr.sources) {
      if (s.ref.ns != r.name) {
        continue;
      }
      std::string what = s.ref.str();
      for (const TranslationNote& n : tr.notes) {
        if (n.object == s.ref.str() && n.text.rfind("→", 0) == 0) {
          what += " " + n.text;
          break;
        }
      }
      np.translate.push_back(std::move(what));
    }
    np.steps = steps(in, np, state.findNamespace(r.name));
    plan.namespaces.push_back(std::move(np));
  }
  std::stable_sort(plan.namespaces.begin(), plan.namespaces.end(),
                   [](const NamespacePlan& a, const NamespacePlan& b) {
                     return std::make_tuple(a.gate_after, a.gate_now, a.translate.size(), a.name) <
                            std::make_tuple(b.gate_after, b.gate_now, b.translate.size(), b.name);
                   });
  return plan;
}

}  // namespace ambient_guard
