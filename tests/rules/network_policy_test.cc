// NetworkPolicy evaluation for ambient (rules/network_policy.h): the decision rules of
// ../shared/spec/platform-and-cost.md §1.3 as tables — effective types, HBONE classification
// (empty ingress, ports without 15008, rules without ports, endPort ranges, named ports,
// protocols, ipBlock except, egress), the probe SNAT source, CIDRs, selectors and receivers.
#include "rules/network_policy.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testlib/testlib.h"

namespace ambient_guard::netpol {
namespace {

using ::ambient_guard::testing::objectFromYaml;
using ::ambient_guard::testing::stateFromYaml;

// Returns a NetworkPolicy in namespace shop selecting app=web with the given spec body.
NetworkPolicy policy(const std::string& spec) {
  AnyObject obj = objectFromYaml(
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
      "metadata: {name: np, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: web}}\n" +
      spec);
  return std::get<NetworkPolicy>(obj);
}

Labels labels(std::vector<std::pair<std::string, std::string>> kv) { return Labels(std::move(kv)); }

std::vector<const NetworkPolicy*> ptrs(const std::vector<NetworkPolicy>& v) {
  std::vector<const NetworkPolicy*> out;
  for (const auto& p : v) {
    out.push_back(&p);
  }
  return out;
}

TEST(NetworkPolicy, EffectiveTypes) {
  struct Case {
    std::string name;
    std::string spec;
    bool ingress;
    bool egress;
  };
  const std::vector<Case> cases = {
      {"no policyTypes, no rules: Ingress only", "", true, false},
      {"no policyTypes, egress rules: both", "  egress: [{}]\n", true, true},
      {"no policyTypes, empty egress list: Ingress only", "  egress: []\n", true, false},
      {"policyTypes Egress only", "  policyTypes: [Egress]\n", false, true},
      {"policyTypes both", "  policyTypes: [Ingress, Egress]\n", true, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const NetworkPolicy np = policy(c.spec);
    EXPECT_EQ(hasType(np, Direction::kIngress), c.ingress);
    EXPECT_EQ(hasType(np, Direction::kEgress), c.egress);
  }
}

TEST(NetworkPolicy, HboneClassificationTable) {
  struct Case {
    std::string name;
    std::vector<std::string> specs;  // one policy each, all selecting the pod
    HboneStatus want;
  };
  const std::vector<Case> cases = {
      {"no policy selects the pod", {}, HboneStatus::kNotIsolated},
      {"empty ingress = deny all", {"  policyTypes: [Ingress]\n"}, HboneStatus::kBlocked},
      {"no ingress field, no policyTypes = deny all", {""}, HboneStatus::kBlocked},
      {"Egress-only policy does not isolate ingress",
       {"  policyTypes: [Egress]\n"},
       HboneStatus::kNotIsolated},
      {"ports without 15008", {"  ingress: [{ports: [{port: 8080}]}]\n"}, HboneStatus::kBlocked},
      {"ports without 15008 from a pod selector",
       {"  ingress: [{from: [{podSelector: {matchLabels: {app: fe}}}], ports: [{port: 8080}]}]\n"},
       HboneStatus::kBlocked},
      {"15008 next to 8080, from a pod selector (the documented fix)",
       {"  ingress: [{from: [{podSelector: {matchLabels: {app: fe}}}],\n"
        "              ports: [{port: 8080}, {port: 15008, protocol: TCP}]}]\n"},
       HboneStatus::kPartial},
      {"15008 from anywhere", {"  ingress: [{ports: [{port: 15008}]}]\n"}, HboneStatus::kOpen},
      {"rule without ports, from a pod selector",
       {"  ingress: [{from: [{podSelector: {}}]}]\n"},
       HboneStatus::kPartial},
      {"rule without ports and without from", {"  ingress: [{}]\n"}, HboneStatus::kOpen},
      {"endPort range covering 15008",
       {"  ingress: [{ports: [{port: 15000, endPort: 15010}]}]\n"},
       HboneStatus::kOpen},
      {"endPort range ending at 15008",
       {"  ingress: [{ports: [{port: 9000, endPort: 15008}]}]\n"},
       HboneStatus::kOpen},
      {"endPort range below 15008",
       {"  ingress: [{ports: [{port: 8000, endPort: 9000}]}]\n"},
       HboneStatus::kBlocked},
      {"named port never matches HBONE", {"  ingress: [{ports: [{port: hbone}]}]\n"},
       HboneStatus::kBlocked},
      {"UDP 15008 does not count",
       {"  ingress: [{ports: [{port: 15008, protocol: UDP}]}]\n"},
       HboneStatus::kBlocked},
      {"SCTP 15008 does not count",
       {"  ingress: [{ports: [{port: 15008, protocol: SCTP}]}]\n"},
       HboneStatus::kBlocked},
      {"port entry without a port = all TCP ports", {"  ingress: [{ports: [{protocol: TCP}]}]\n"},
       HboneStatus::kOpen},
      {"ipBlock with except still restricts sources",
       {"  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}],\n"
        "              ports: [{port: 15008}]}]\n"},
       HboneStatus::kPartial},
      {"policies add up: deny-all plus 15008 from anywhere",
       {"  policyTypes: [Ingress]\n", "  ingress: [{ports: [{port: 15008}]}]\n"},
       HboneStatus::kOpen},
      {"policies add up: two app-port policies stay blocked",
       {"  ingress: [{ports: [{port: 8080}]}]\n", "  ingress: [{ports: [{port: 9090}]}]\n"},
       HboneStatus::kBlocked},
      {"an open rule wins over a partial one",
       {"  ingress: [{from: [{podSelector: {}}], ports: [{port: 15008}]}, {ports: [{port: 15008}]}]\n"},
       HboneStatus::kOpen},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<NetworkPolicy> nps;
    for (const auto& s : c.specs) {
      nps.push_back(policy(s));
    }
    std::vector<const NetworkPolicy*> in;
    for (const auto& np : nps) {
      if (hasType(np, Direction::kIngress)) {
        in.push_back(&np);
      }
    }
    const HboneVerdict v = classifyHbone(in, Direction::kIngress);
    EXPECT_EQ(hboneStatusName(v.status), hboneStatusName(c.want));
    if (c.want == HboneStatus::kPartial) {
      EXPECT_FALSE(v.restricted.empty());
    }
  }
}

TEST(NetworkPolicy, EgressClassificationTable) {
  struct Case {
    std::string name;
    std::string spec;
    HboneStatus want;
  };
  const std::vector<Case> cases = {
      {"Ingress-only policy: egress not isolated", "  policyTypes: [Ingress]\n",
       HboneStatus::kNotIsolated},
      {"Egress with no rules = deny all", "  policyTypes: [Egress]\n", HboneStatus::kBlocked},
      {"DNS only", "  egress: [{ports: [{port: 53, protocol: UDP}, {port: 53}]}]\n",
       HboneStatus::kBlocked},
      {"app port to mesh pods only",
       "  egress: [{to: [{namespaceSelector: {}}], ports: [{port: 8080}]}]\n",
       HboneStatus::kBlocked},
      {"15008 to mesh namespaces",
       "  egress: [{to: [{namespaceSelector: {matchLabels: {mesh: 'true'}}}], ports: [{port: 15008}]}]\n",
       HboneStatus::kPartial},
      {"15008 anywhere", "  egress: [{ports: [{port: 15008}]}]\n", HboneStatus::kOpen},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const NetworkPolicy np = policy(c.spec);
    std::vector<const NetworkPolicy*> eg;
    if (hasType(np, Direction::kEgress)) {
      eg.push_back(&np);
    }
    EXPECT_EQ(hboneStatusName(classifyHbone(eg, Direction::kEgress).status),
              hboneStatusName(c.want));
  }
}

TEST(NetworkPolicy, ProbeSourceTable) {
  const std::vector<ContainerPort> ports = {{"http", 8080, "TCP"}, {"metrics", 9090, ""}};
  struct Case {
    std::string name;
    std::vector<std::string> specs;
    std::string ip;
    int32_t port;
    bool allowed;
  };
  const std::string v4(kProbeSnatIpv4);
  const std::string v6(kProbeSnatIpv6);
  const std::vector<Case> cases = {
      {"not isolated", {}, v4, 8080, true},
      {"deny all", {"  policyTypes: [Ingress]\n"}, v4, 8080, false},
      {"pod selectors never match the SNAT address",
       {"  ingress: [{from: [{podSelector: {}}], ports: [{port: 8080}]}]\n"}, v4, 8080, false},
      {"namespaceSelector {} matches pods only",
       {"  ingress: [{from: [{namespaceSelector: {}}]}]\n"}, v4, 8080, false},
      {"rule without from admits it", {"  ingress: [{ports: [{port: 8080}]}]\n"}, v4, 8080, true},
      {"ipBlock /32 (the documented exception)",
       {"  ingress: [{from: [{ipBlock: {cidr: 169.254.7.127/32}}]}]\n"}, v4, 8080, true},
      {"ipBlock covering, except carving it out",
       {"  ingress: [{from: [{ipBlock: {cidr: 169.254.0.0/16, except: [169.254.7.0/24]}}]}]\n"},
       v4, 8080, false},
      {"ipBlock covering, except elsewhere",
       {"  ingress: [{from: [{ipBlock: {cidr: 169.254.0.0/16, except: [169.254.8.0/24]}}]}]\n"},
       v4, 8080, true},
      {"ipBlock 0.0.0.0/0", {"  ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0}}]}]\n"}, v4, 8080,
       true},
      {"ipBlock on another port",
       {"  ingress: [{from: [{ipBlock: {cidr: 169.254.7.127/32}}], ports: [{port: 9090}]}]\n"},
       v4, 8080, false},
      {"named port resolved against the container ports",
       {"  ingress: [{from: [{ipBlock: {cidr: 169.254.7.127/32}}], ports: [{port: http}]}]\n"},
       v4, 8080, true},
      {"named port naming another container port",
       {"  ingress: [{from: [{ipBlock: {cidr: 169.254.7.127/32}}], ports: [{port: metrics}]}]\n"},
       v4, 8080, false},
      {"endPort range", {"  ingress: [{ports: [{port: 8000, endPort: 8100}]}]\n"}, v4, 8080,
       true},
      {"IPv4 block does not admit the IPv6 address",
       {"  ingress: [{from: [{ipBlock: {cidr: 169.254.7.127/32}}]}]\n"}, v6, 8080, false},
      {"IPv6 /128", {"  ingress: [{from: [{ipBlock: {cidr: 'fd16:9254:7127:1337:ffff:ffff:ffff:ffff/128'}}]}]\n"},
       v6, 8080, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<NetworkPolicy> nps;
    for (const auto& s : c.specs) {
      nps.push_back(policy(s));
    }
    EXPECT_EQ(allowsFromIp(ptrs(nps), c.ip, c.port, ports), c.allowed);
  }
}

TEST(NetworkPolicy, CidrContains) {
  struct Case {
    std::string cidr;
    std::string ip;
    bool want;
  };
  const std::vector<Case> cases = {
      {"169.254.7.127/32", "169.254.7.127", true},  {"169.254.7.127/32", "169.254.7.128", false},
      {"169.254.0.0/16", "169.254.7.127", true},    {"10.0.0.0/8", "169.254.7.127", false},
      {"0.0.0.0/0", "1.2.3.4", true},               {"169.254.7.127", "169.254.7.127", true},
      {"10.0.0.0/33", "10.0.0.1", false},           {"10.0.0.0/x", "10.0.0.1", false},
      {"fd16::/16", "fd16:9254:7127:1337:ffff:ffff:ffff:ffff", true},
      {"::/0", "fd16::1", true},                    {"::/0", "10.0.0.1", false},
      {"10.0.0.0/8", "not-an-ip", false},           {"10.1.2.0/23", "10.1.3.255", true},
      {"10.1.2.0/23", "10.1.4.0", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.cidr + " " + c.ip);
    EXPECT_EQ(cidrContains(c.cidr, c.ip), c.want);
  }
}

TEST(NetworkPolicy, SelectorsAndPeers) {
  const NetworkPolicy np = policy(R"(  ingress:
  - from:
    - podSelector:
        matchLabels: {app: fe}
        matchExpressions:
        - {key: tier, operator: In, values: [web, api]}
        - {key: legacy, operator: DoesNotExist}
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: istio-system}}
      podSelector: {matchExpressions: [{key: istio, operator: Exists}]}
    - namespaceSelector: {matchExpressions: [{key: team, operator: NotIn, values: [x]}]}
)");
  const auto& peers = np.ingress.at(0).peers;
  ASSERT_EQ(peers.size(), 3u);
  const Labels shop = labels({{"kubernetes.io/metadata.name", "shop"}, {"team", "x"}});
  const Labels istio = labels({{"kubernetes.io/metadata.name", "istio-system"}});
  struct Case {
    std::string name;
    size_t peer;
    std::string pod_ns;
    Labels ns_labels;
    Labels pod;
    bool want;
  };
  const std::vector<Case> cases = {
      {"podSelector: same namespace, all terms", 0, "shop", shop,
       labels({{"app", "fe"}, {"tier", "web"}}), true},
      {"podSelector: In fails", 0, "shop", shop, labels({{"app", "fe"}, {"tier", "db"}}), false},
      {"podSelector: DoesNotExist fails", 0, "shop", shop,
       labels({{"app", "fe"}, {"tier", "web"}, {"legacy", "1"}}), false},
      {"podSelector alone never crosses namespaces", 0, "other",
       labels({{"kubernetes.io/metadata.name", "other"}}), labels({{"app", "fe"}, {"tier", "web"}}),
       false},
      {"namespace + pod selector", 1, "istio-system", istio, labels({{"istio", "ingressgateway"}}),
       true},
      {"namespace matches, pod Exists fails", 1, "istio-system", istio, labels({{"app", "x"}}),
       false},
      {"NotIn on the namespace", 2, "shop", shop, Labels(), false},
      {"NotIn on a namespace without the key", 2, "istio-system", istio, Labels(), true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(peerSelectsPod(peers[c.peer], "shop", c.pod_ns, c.ns_labels, c.pod), c.want);
  }
  EXPECT_EQ(describePeers(np.ingress[0]),
            "pods app=fe,tier In (web,api),legacy DoesNotExist; namespaces "
            "kubernetes.io/metadata.name=istio-system / pods istio Exists; namespaces team NotIn (x)");
}

TEST(NetworkPolicy, ReceiversOfANamespace) {
  auto state = stateFromYaml(R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-5d9f-abcde, namespace: shop, labels: {app: web, pod-template-hash: 5d9f}}
spec: {containers: [{name: web}]}
---
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: shop, labels: {run: debug}}
spec: {containers: [{name: debug}]}
---
apiVersion: v1
kind: Pod
metadata: {name: opted-out, namespace: shop, labels: {istio.io/dataplane-mode: none}}
spec: {containers: [{name: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: node-agent, namespace: shop, labels: {app: agent}}
spec: {hostNetwork: true, containers: [{name: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: done, namespace: shop, labels: {app: job}}
spec: {containers: [{name: x}]}
status: {phase: Succeeded}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: shop}
spec: {gatewayClassName: istio-waypoint}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Pod
metadata:
  name: api-1
  namespace: legacy
  labels: {app: api, networking.istio.io/tunnel: http}
  annotations: {sidecar.istio.io/status: '{"containers":["istio-proxy"]}'}
spec: {containers: [{name: api}, {name: istio-proxy}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: old-1
  namespace: legacy
  labels: {app: old}
  annotations: {sidecar.istio.io/status: '{}'}
spec: {containers: [{name: old}, {name: istio-proxy}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: bare, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: bare}
spec: {selector: {app: cart}}
---
apiVersion: v1
kind: Namespace
metadata: {name: empty, labels: {istio.io/dataplane-mode: ambient}}
)");
  auto describe = [&](std::string_view ns) {
    std::vector<std::string> out;
    for (const Target& t : hboneReceivers(*state, ns, ambient::EnablementSelectors())) {
      out.push_back(t.key.str() + " " + std::string(roleName(t.role)));
    }
    return out;
  };
  EXPECT_EQ(describe("shop"),
            (std::vector<std::string>{"Deployment shop/web ambient", "Pod shop/debug ambient",
                                      "Gateway shop/waypoint waypoint"}));
  EXPECT_EQ(describe("legacy"), (std::vector<std::string>{"Pod legacy/api-1 HBONE sidecar"}));
  EXPECT_EQ(describe("bare"), (std::vector<std::string>{"Service bare/cart ambient"}));
  EXPECT_EQ(describe("empty"), (std::vector<std::string>{"Namespace empty ambient"}));
}

}  // namespace
}  // namespace ambient_guard::netpol
