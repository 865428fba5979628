#include "rules/network_policy_blocks_probes.h"

#include <map>
#include <set>

#include "rules/istio_version.h"
#include "rules/network_policy.h"
#include "rules/platform.h"

namespace ambient_guard::rules {
namespace {

using netpol::Direction;
using netpol::Target;

constexpr RuleDoc kDoc{
    "network-policy-blocks-probes",
    Action::kWarn,
    "kubelet probes of ambient pods, which arrive from the SNAT address 169.254.7.127, are "
    "admitted by every NetworkPolicy that isolates those pods.",
    "istio-cni SNATs kubelet probes to 169.254.7.127, so the NetworkPolicy exemption for the "
    "node no longer applies; depending on the CNI the probes are dropped and pods go unready "
    "(certain on Cilium, Calico eBPF before 3.29 and EKS security groups for pods in strict "
    "mode, where this rule denies).",
    R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: shop}   # shop is ambient; pods probe :8080
spec:
  podSelector: {}
  policyTypes: [Ingress])",
    R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-ingress-allow-kubelet-healthprobes, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress:
  - from:
    - ipBlock: {cidr: 169.254.7.127/32})"};

// One probe the policy blocks.
struct Blocked {
  const Target* target;
  std::string probe;  // "readinessProbe httpGet :8080"
  int32_t port;
  std::string source;  // the SNAT address refused
};

// Returns the probes that reach the pod after cutover, with their ports resolved.
std::vector<std::pair<const Probe*, int32_t>> probesOf(const Target& t) {
  std::vector<std::pair<const Probe*, int32_t>> out;
  std::vector<ContainerPort> ports;
  for (const Container& c : t.spec->containers) {
    ports.insert(ports.end(), c.ports.begin(), c.ports.end());
  }
  auto add = [&](const Probe& p) {
    if (p.handler == "exec") {
      return;  // runs inside the container: no network
    }
    int32_t port = p.port.number;
    if (!p.port.name.empty()) {
      port = 0;
      for (const auto& cp : ports) {
        if (cp.name == p.port.name) {
          port = cp.port;
        }
      }
    }
    if (port > 0) {
      out.emplace_back(&p, port);
    }
  };
  if (t.probes_rewritten) {
    for (const Probe& p : t.spec->app_probers) {
      add(p);  // the app's own probes, not the rewritten :15020 ones
    }
    return out;
  }
  for (const Container& c : t.spec->containers) {
    if (c.name == "istio-proxy") {
      continue;
    }
    for (const Probe& p : c.probes) {
      add(p);
    }
  }
  return out;
}

std::vector<ContainerPort> containerPorts(const Target& t) {
  std::vector<ContainerPort> ports;
  for (const Container& c : t.spec->containers) {
    ports.insert(ports.end(), c.ports.begin(), c.ports.end());
  }
  return ports;
}

std::string ipBlockFix(const std::vector<std::string>& sources, const std::set<int32_t>& ports) {
  std::string out = "\n  - from:";
  for (const auto& s : sources) {
    const bool v6 = s.find(':') != std::string::npos;
    out += "\n    - ipBlock: {cidr: " + s + (v6 ? "/128}" : "/32}");
  }
  out += "\n    ports:";
  for (int32_t p : ports) {
    out += "\n    - {port: " + std::to_string(p) + ", protocol: TCP}";
  }
  return out;
}

void finding(const NetworkPolicy& np, const std::vector<Blocked>& blocked,
             const std::string& hard_failure, bool ipv6, std::vector<Finding>& out) {
  std::vector<const Target*> targets;
  std::set<int32_t> ports;
  std::vector<std::string> sources;
  std::string probes;
  for (const Blocked& b : blocked) {
    if (targets.empty() || targets.back() != b.target) {
      targets.push_back(b.target);
    }
    ports.insert(b.port);
    if (std::find(sources.begin(), sources.end(), b.source) == sources.end()) {
      sources.push_back(b.source);
    }
  }
  size_t shown = 0;
  for (const Blocked& b : blocked) {
    if (shown == 4) {
      probes += ", …";
      break;
    }
    const std::string item = b.target->key.name + " " + b.probe;
    if (probes.find(item) == std::string::npos) {
      probes += (probes.empty() ? "" : ", ") + item;
      ++shown;
    }
  }
  Finding f;
  f.rule = std::string(kDoc.id);
  f.action = hard_failure.empty() ? kDoc.default_action : Action::kDeny;
  f.object = ObjectKey{Kind::kNetworkPolicy, np.ns, np.name};
  f.ns = np.ns;
  f.field = "spec.ingress";
  f.message = "[" + f.rule + "] " + f.object.str() + " isolates " +
              netpol::describeTargets(targets) +
              " and no NetworkPolicy selecting them admits the kubelet probe source " +
              sources.front() + " (" + probes +
              "). After cutover istio-cni SNATs probes to that link-local address, so the "
              "node exemption no longer applies; ";
  f.message += hard_failure.empty()
                   ? "depending on the CNI the probes are dropped and the pods go unready."
                   : "on this cluster they are dropped: " + hard_failure + ".";
  f.message += " Fix: add this rule to spec.ingress (or a policy "
               "`deny-ingress-allow-kubelet-healthprobes` with the same podSelector):" +
               ipBlockFix(sources, ports);
  if (ipv6) {
    f.message += "\n  (the right IPv6 mask is unconfirmed, istio/istio#56484; /128 is the "
                 "narrowest)";
  }
  f.summary = oneLine("[" + f.rule + "] " + f.object.str() + ": blocks kubelet probes from " +
                          sources.front() + " to " + netpol::describeTargets(targets, 1) +
                          "; add an ipBlock " + sources.front() + "/32 rule",
                      200);
  out.push_back(std::move(f));
}

}  // namespace

const RuleDoc& NetworkPolicyBlocksProbes::doc() const { return kDoc; }

void NetworkPolicyBlocksProbes::evaluate(const RuleContext& ctx, std::vector<Finding>& out) const {
  const auto scope = netpol::policyScope(ctx);
  if (!scope) {
    return;
  }
  const std::vector<Target> targets = netpol::hboneReceivers(ctx.state, scope->ns, ctx.mesh.enablement);
  std::optional<platform::Platform> plat;
  std::map<std::string, std::pair<const NetworkPolicy*, std::vector<Blocked>>> by_policy;
  for (const Target& t : targets) {
    // Waypoints and sidecars are not captured: their probes keep the node's address.
    if (t.role != Target::Role::kAmbient || t.spec == nullptr) {
      continue;
    }
    const auto in = netpol::selecting(ctx.state, scope->ns, t.labels, Direction::kIngress);
    if (in.empty()) {
      continue;
    }
    const auto probes = probesOf(t);
    if (probes.empty()) {
      continue;
    }
    if (!plat) {
      plat = platform::detectPlatform(ctx.state, ctx.mesh);
    }
    std::vector<std::string> sources{plat->snatIpv4()};
    if (plat->probesOverIpv6()) {
      sources.push_back(plat->snatIpv6());
    }
    const std::vector<ContainerPort> ports = containerPorts(t);
    for (const auto& [probe, port] : probes) {
      for (const std::string& src : sources) {
        if (netpol::allowsFromIp(in, src, port, ports)) {
          continue;
        }
        const std::string what = probe->kind + "Probe " + probe->handler + " :" +
                                 std::to_string(port);
        for (const NetworkPolicy* np : in) {
          if (scope->includes(*np)) {
            auto& slot = by_policy[np->name];
            slot.first = np;
            slot.second.push_back({&t, what, port, src});
          }
        }
      }
    }
  }
  if (by_policy.empty()) {
    return;
  }
  // istio-cni 1.28.7, 1.29.3 and 1.30.0+ route probes of EKS branch-ENI pods over the veth pair
  // (AMBIENT_ENABLE_AWS_BRANCH_ENI_PROBE, on by default; rules/istio_version.h).
  const IstioVersion istio = istioVersionOf(ctx.state, ctx.mesh);
  const std::string* probe_fix =
      plat->istio_cni == nullptr
          ? nullptr
          : platform::envOf(*plat->istio_cni, "AMBIENT_ENABLE_AWS_BRANCH_ENI_PROBE");
  const bool eni_fix = istio.version && hasBranchEniProbeFix(*istio.version) &&
                       (probe_fix == nullptr || *probe_fix != "false");
  const std::string hard_failure = plat->probeHardFailure(eni_fix);
  for (const auto& [name, slot] : by_policy) {
    finding(*slot.first, slot.second, hard_failure, plat->probesOverIpv6(), out);
  }
}

}  // namespace ambient_guard::rules
