#include "rules/network_policy_blocks_hbone.h"

#include <map>
#include <set>

#include "rules/ambient.h"
#include "rules/network_policy.h"

namespace ambient_guard::rules {
namespace {

using netpol::Direction;
using netpol::HboneStatus;
using netpol::Target;

constexpr RuleDoc kDoc{
    "network-policy-blocks-hbone",
    Action::kDeny,
    "No NetworkPolicy isolating ambient pods, waypoint pods or HBONE-capable sidecars leaves "
    "TCP 15008 (HBONE) closed; egress policies of ambient pods admit 15008 too.",
    "After cutover ztunnel tunnels every in-mesh connection to port 15008 of the destination "
    "pod, and NetworkPolicy is enforced on the node: a policy that admits only the app port "
    "drops all mesh traffic (\"connection timed out, maybe a NetworkPolicy is blocking HBONE "
    "port 15008\"). Traffic through a waypoint arrives from the waypoint pod.",
    R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-ingress, namespace: shop}   # shop is ambient
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: frontend}}}]
    ports: [{port: 8080}])",
    R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-ingress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: frontend}}}]
    ports:
    - {port: 8080}
    - {port: 15008, protocol: TCP}   # HBONE; restrict app ports with an L4 AuthorizationPolicy)"};

std::string prefix() { return "[" + std::string(kDoc.id) + "] "; }

Finding make(const NetworkPolicy& np, Action action, std::string field, std::string message,
             std::string summary) {
  Finding f;
  f.rule = std::string(kDoc.id);
  f.action = action;
  f.object = ObjectKey{Kind::kNetworkPolicy, np.ns, np.name};
  f.ns = np.ns;
  f.field = std::move(field);
  f.message = prefix() + f.object.str() + " " + std::move(message);
  f.summary = oneLine(prefix() + f.object.str() + ": " + std::move(summary), 200);
  return f;
}

// Deny when an ambient or waypoint pod is cut off; HBONE sidecars outside ambient namespaces
// only warn (DESIGN.md §3: the rule is about ambient namespaces).
Action actionFor(const std::vector<const Target*>& targets) {
  for (const Target* t : targets) {
    if (t->role != Target::Role::kHboneSidecar) {
      return kDoc.default_action;
    }
  }
  return Action::kWarn;
}

// The app ports the policy admitted before, for the port-widening advice (rule 9).
std::string appPorts(const NetworkPolicy& np) {
  std::set<std::string> ports;
  for (const auto& r : np.ingress) {
    for (const auto& p : r.ports) {
      if (p.has_port && p.port.name.empty() && !p.end_port) {
        ports.insert("\"" + std::to_string(p.port.number) + "\"");
      }
    }
  }
  std::string out;
  for (const auto& p : ports) {
    out += (out.empty() ? "" : ", ") + p;
  }
  return out;
}

std::string portWideningNote(const NetworkPolicy& np) {
  const std::string ports = appPorts(np);
  std::string note =
      " Note: traffic tunnelled on 15008 reaches every port of the pod, so the policy's port "
      "list no longer limits mesh traffic (istio/istio#56659); keep that restriction with an L4 "
      "AuthorizationPolicy on the same pods";
  if (!ports.empty()) {
    note += " (`rules: [{to: [{operation: {ports: [" + ports + "]}}]}]`)";
  }
  return note + ".";
}

bool usesNamedPorts(const NetworkPolicy& np) {
  for (const auto& r : np.ingress) {
    for (const auto& p : r.ports) {
      if (!p.port.name.empty()) {
        return true;
      }
    }
  }
  return false;
}

void blockedFinding(const NetworkPolicy& np, const std::vector<const Target*>& targets,
                    std::vector<Finding>& out) {
  std::string msg = "isolates " + netpol::describeTargets(targets) +
                    " for ingress, and no NetworkPolicy selecting them admits TCP 15008 (HBONE): "
                    "BLOCKED. After cutover every in-mesh connection arrives on port 15008 and "
                    "is dropped on the node; ztunnel logs \"connection timed out, maybe a "
                    "NetworkPolicy is blocking HBONE port 15008\".";
  if (usesNamedPorts(np)) {
    msg += " Named ports never match 15008: pods do not declare it.";
  }
  if (np.ingress.empty()) {
    msg += " Fix: this policy admits nothing; to keep mesh traffic add `ingress: [{ports: "
           "[{port: 15008, protocol: TCP}]}]` and decide who may connect with an "
           "AuthorizationPolicy (ztunnel checks the client identity).";
  } else {
    msg += " Fix: add `- port: 15008` with `protocol: TCP` to the ports of each rule of "
           "spec.ingress (next to " +
           netpol::describePorts(np.ingress.front()) +
           "), keeping its `from` peers, which must also admit the waypoint pods in front of "
           "these workloads.";
  }
  msg += portWideningNote(np);
  out.push_back(make(np, actionFor(targets), "spec.ingress", std::move(msg),
                     "blocks HBONE to " + netpol::describeTargets(targets, 1) +
                         ": add `- port: 15008` (TCP) to spec.ingress ports"));
}

// The waypoint and ingress-gateway pods HBONE reaches the targets from (spec §1.2).
struct Front {
  std::string what;  // "waypoint shop/waypoint"
  std::string ns;
  Labels labels;  // pod labels
};

void addWaypoint(const ClusterView& state, std::string_view ns, const Labels* labels,
                 ambient::TrafficType traffic, std::map<std::string, Front>& fronts) {
  const ambient::WaypointBinding b = ambient::resolveWaypoint(state, ns, labels, traffic);
  if (b.status != ambient::WaypointBinding::Status::kBound || b.gateway == nullptr) {
    return;
  }
  const std::string id = b.gateway->ns + "/" + b.gateway->name;
  fronts.emplace(id, Front{"waypoint " + id, b.gateway->ns,
                           Labels({{std::string(netpol::kGatewayNameLabel), b.gateway->name}})});
}

std::vector<Front> frontsOf(const ClusterView& state, const std::vector<const Target*>& targets,
                            const MeshSettings& mesh) {
  std::map<std::string, Front> fronts;
  for (const Target* t : targets) {
    if (t->role == Target::Role::kWaypoint) {
      continue;
    }
    for (const Service* svc : state.list<Service>(t->key.ns)) {
      if (!svc->selector.empty() && t->labels.contains(svc->selector)) {
        addWaypoint(state, t->key.ns, &svc->labels, ambient::TrafficType::kService, fronts);
      }
    }
    if (t->key.kind != Kind::kService && t->key.kind != Kind::kNamespace) {
      addWaypoint(state, t->key.ns, &t->labels, ambient::TrafficType::kWorkload, fronts);
    }
  }
  // Istio's ingress gateway (the `gateway` chart's label) in its usual namespaces.
  for (const std::string& ns : {mesh.root_namespace, std::string("istio-ingress")}) {
    for (const Deployment* d : state.list<Deployment>(ns)) {
      const std::string* istio = d->pod_labels.get("istio");
      if (istio != nullptr && *istio == "ingressgateway") {
        fronts.emplace(ns + "/" + d->name,
                       Front{"ingress gateway " + ns + "/" + d->name, ns, d->pod_labels});
      }
    }
  }
  std::vector<Front> out;
  for (auto& [id, f] : fronts) {
    out.push_back(std::move(f));
  }
  return out;
}

void partialFinding(const ClusterView& state, const MeshSettings& mesh, const NetworkPolicy& np,
                    size_t index, const std::vector<const Target*>& targets,
                    std::vector<Finding>& out) {
  const NetworkPolicyRule& rule = np.ingress[index];
  std::vector<std::string> missing;
  std::string covered;
  for (const Front& f : frontsOf(state, targets, mesh)) {
    const Labels ns_labels = netpol::namespaceLabels(state, f.ns);
    bool ok = false;
    for (const auto& peer : rule.peers) {
      ok = ok || netpol::peerSelectsPod(peer, np.ns, f.ns, ns_labels, f.labels);
    }
    if (ok) {
      covered += (covered.empty() ? "" : ", ") + f.what;
    } else {
      missing.push_back(f.what + " (pods " + f.labels.str() + ")");
    }
  }
  const std::string field = "spec.ingress[" + std::to_string(index) + "].from";
  std::string msg = "admits TCP 15008 (HBONE) to " + netpol::describeTargets(targets) +
                    " only from " + netpol::describePeers(rule) +
                    ": PARTIAL. After cutover clients reach these pods on 15008 from their own "
                    "pod IP, and through a waypoint from the waypoint pod; make sure these peers "
                    "cover every client.";
  if (!missing.empty()) {
    msg += " Not covered:";
    for (size_t i = 0; i < missing.size(); ++i) {
      msg += (i ? ", " : " ") + missing[i];
    }
    msg += " — their connections will time out. Fix: add to " + field + " e.g. `- " +
           "namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: <ns>}}` with " +
           "`podSelector: {matchLabels: {<the labels above>}}`.";
  } else if (!covered.empty()) {
    msg += " Covered: " + covered + ".";
  }
  msg += portWideningNote(np);
  out.push_back(make(np, Action::kWarn, field, std::move(msg),
                     "HBONE (15008) only from " + netpol::describePeers(rule) +
                         (missing.empty() ? "" : "; misses " + missing.front())));
}

void egressFinding(const NetworkPolicy& np, const std::vector<const Target*>& targets,
                   std::vector<Finding>& out) {
  std::string msg =
      "restricts egress of " + netpol::describeTargets(targets) +
      " and no egress rule of the policies selecting them admits TCP 15008. After cutover "
      "ztunnel opens the outbound HBONE connection from inside the pod's network namespace to "
      "port 15008 of the destination pod or its waypoint, so calls to mesh services time out "
      "(derived from the traffic-redirection design, spec §1.3 rule 8; Istio's docs do not "
      "cover egress). Fix: add `- ports: [{port: 15008, protocol: TCP}]` to spec.egress, with "
      "`to` peers for the mesh namespaces if you need to narrow it.";
  out.push_back(make(np, Action::kWarn, "spec.egress", std::move(msg),
                     "egress of " + netpol::describeTargets(targets, 1) +
                         " does not admit HBONE: add `- port: 15008` (TCP) to spec.egress"));
}

}  // namespace

const RuleDoc& NetworkPolicyBlocksHbone::doc() const { return kDoc; }

void NetworkPolicyBlocksHbone::evaluate(const RuleContext& ctx, std::vector<Finding>& out) const {
  const auto scope = netpol::policyScope(ctx);
  if (!scope) {
    return;
  }
  const std::vector<Target> targets = netpol::hboneReceivers(ctx.state, scope->ns, ctx.mesh.enablement);
  if (targets.empty()) {
    return;
  }
  // Group receivers by the policy to change, so each finding names one policy (name order).
  std::map<std::string, std::pair<const NetworkPolicy*, std::vector<const Target*>>> blocked, egress;
  std::map<std::pair<std::string, size_t>,
           std::pair<const NetworkPolicy*, std::vector<const Target*>>>
      partial;
  for (const Target& t : targets) {
    const auto in = netpol::selecting(ctx.state, scope->ns, t.labels, Direction::kIngress);
    const netpol::HboneVerdict v = netpol::classifyHbone(in, Direction::kIngress);
    if (v.status == HboneStatus::kBlocked) {
      for (const NetworkPolicy* np : in) {
        if (scope->includes(*np)) {
          auto& slot = blocked[np->name];
          slot.first = np;
          slot.second.push_back(&t);
        }
      }
    } else if (v.status == HboneStatus::kPartial) {
      for (const auto& r : v.restricted) {
        if (scope->includes(*r.policy)) {
          auto& slot = partial[{r.policy->name, r.index}];
          slot.first = r.policy;
          slot.second.push_back(&t);
        }
      }
    }
    if (t.role == Target::Role::kHboneSidecar) {
      continue;  // sidecars send mTLS on the app port, not HBONE
    }
    const auto eg = netpol::selecting(ctx.state, scope->ns, t.labels, Direction::kEgress);
    if (netpol::classifyHbone(eg, Direction::kEgress).status == HboneStatus::kBlocked) {
      for (const NetworkPolicy* np : eg) {
        if (scope->includes(*np)) {
          auto& slot = egress[np->name];
          slot.first = np;
          slot.second.push_back(&t);
        }
      }
    }
  }
  for (const auto& [name, slot] : blocked) {
    blockedFinding(*slot.first, slot.second, out);
  }
  for (const auto& [key, slot] : partial) {
    partialFinding(ctx.state, ctx.mesh, *slot.first, key.second, slot.second, out);
  }
  for (const auto& [name, slot] : egress) {
    egressFinding(*slot.first, slot.second, out);
  }
}

}  // namespace ambient_guard::rules
