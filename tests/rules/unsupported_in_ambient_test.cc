// unsupported-in-ambient: EnvoyFilter, Sidecar, selector WasmPlugin and VirtualService-only
// DestinationRule subsets in ambient namespaces (rules/unsupported_in_ambient.h).
#include "rules/unsupported_in_ambient.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/rules/rule_review.h"

namespace ambient_guard::rules {
namespace {

using ::ambient_guard::testing::checkNamespace;
using ::ambient_guard::testing::docs;
using ::ambient_guard::testing::reviewWrite;

constexpr const char* kId = "unsupported-in-ambient";

const std::string kCluster = R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec: {selector: {app: cart}}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: shop}
spec: {selector: {app: reviews}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-split, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 90}
    - {destination: {host: reviews.shop.svc.cluster.local, subset: v2}, weight: 10}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: public, namespace: shop}
spec:
  hosts: [shop.example.com]
  gateways: [istio-ingress/public]
  http:
  - route: [{destination: {host: cart, subset: stable}}]
)";

std::string object(const std::string& api, const std::string& kind, const std::string& ns,
                   const std::string& spec) {
  return "apiVersion: " + api + "\nkind: " + kind + "\nmetadata: {name: x, namespace: " + ns +
         "}\nspec:\n" + spec + "\n";
}

const std::string kEf = "networking.istio.io/v1alpha3";
const std::string kNet = "networking.istio.io/v1";
const std::string kExt = "extensions.istio.io/v1alpha1";

TEST(UnsupportedInAmbient, Writes) {
  struct Case {
    std::string name;
    std::string object;
    size_t findings;
    std::string field;
    std::string contains;
  };
  const std::vector<Case> cases = {
      {"EnvoyFilter with a workloadSelector",
       object(kEf, "EnvoyFilter", "shop", "  workloadSelector: {labels: {app: cart}}"), 1,
       "spec.workloadSelector", "patches the sidecars of ambient namespace shop"},
      {"namespace-wide EnvoyFilter", object(kEf, "EnvoyFilter", "shop", "  priority: 1"), 1,
       "spec", "namespace-wide"},
      {"mesh-wide EnvoyFilter in the root namespace",
       object(kEf, "EnvoyFilter", "istio-system", "  priority: 1"), 1, "spec",
       "mesh-wide: root namespace istio-system"},
      {"Sidecar resource", object(kNet, "Sidecar", "shop", "  egress: [{hosts: [\"./*\"]}]"), 1,
       "spec", "IST0167"},
      {"Sidecar with a selector",
       object(kNet, "Sidecar", "shop", "  workloadSelector: {labels: {app: cart}}"), 1,
       "spec.workloadSelector", "no impact"},
      {"selector WasmPlugin",
       object(kExt, "WasmPlugin", "shop",
              "  selector: {matchLabels: {app: cart}}\n  url: oci://example.com/p:1"),
       1, "spec.selector", "targetRefs: [{group: \"\", kind: Service, name: cart}]"},
      // [API] extensions/v1alpha1/traffic_extension.proto (Istio 1.30+): selector
      // TrafficExtensions are ignored by waypoints, like WasmPlugins.
      {"selector TrafficExtension (Lua)",
       object(kExt, "TrafficExtension", "shop",
              "  selector: {matchLabels: {app: cart}}\n  phase: STATS\n  lua:\n    inlineCode: "
              "|\n      function envoy_on_request(request_handle) end"),
       1, "spec.selector", "waypoints ignore TrafficExtensions without targetRefs"},
      {"DestinationRule subsets a mesh VirtualService routes to",
       object(kNet, "DestinationRule", "shop",
              "  host: reviews\n  subsets: [{name: v1, labels: {version: v1}}, {name: v2, "
              "labels: {version: v2}}, {name: v3, labels: {version: v3}}]"),
       1, "spec.subsets", "defines subsets v1, v2 of reviews"},
      // Look-alikes that are fine.
      {"EnvoyFilter with targetRefs (waypoint)",
       object(kEf, "EnvoyFilter", "shop",
              "  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: waypoint}]"),
       0, "", ""},
      {"EnvoyFilter for the ingress gateway",
       object(kEf, "EnvoyFilter", "shop", "  workloadSelector: {labels: {istio: ingressgateway}}"),
       0, "", ""},
      {"root-namespace EnvoyFilter for the ingress gateway",
       object(kEf, "EnvoyFilter", "istio-system",
              "  workloadSelector: {labels: {istio: ingressgateway}}"),
       0, "", ""},
      {"EnvoyFilter in a sidecar namespace", object(kEf, "EnvoyFilter", "legacy", "  priority: 1"),
       0, "", ""},
      {"mesh-default Sidecar in the root namespace",
       object(kNet, "Sidecar", "istio-system", "  egress: [{hosts: [\"./*\"]}]"), 0, "", ""},
      {"Sidecar in a sidecar namespace", object(kNet, "Sidecar", "legacy", "  egress: []"), 0, "",
       ""},
      {"WasmPlugin with targetRefs",
       object(kExt, "WasmPlugin", "shop",
              "  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: waypoint}]"),
       0, "", ""},
      {"TrafficExtension with targetRefs (the proto's waypoint example)",
       object(kExt, "TrafficExtension", "shop",
              "  targetRefs: [{kind: Service, name: reviews}]\n  match: [{mode: SERVER}]\n  phase: "
              "STATS\n  lua:\n    inlineCode: |\n      function envoy_on_request(h) end"),
       0, "", ""},
      {"WasmPlugin on Gateway API gateway pods",
       object(kExt, "WasmPlugin", "shop",
              "  selector: {matchLabels: {gateway.networking.k8s.io/gateway-name: public}}"),
       0, "", ""},
      {"DestinationRule without subsets (traffic policy works on waypoints)",
       object(kNet, "DestinationRule", "shop",
              "  host: reviews\n  trafficPolicy: {connectionPool: {tcp: {maxConnections: 10}}}"),
       0, "", ""},
      {"DestinationRule subsets only ingress VirtualServices use",
       object(kNet, "DestinationRule", "shop", "  host: cart\n  subsets: [{name: stable}]"), 0,
       "", ""},
      {"DestinationRule subsets nobody routes to",
       object(kNet, "DestinationRule", "shop", "  host: reviews\n  subsets: [{name: v9}]"), 0,
       "", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto findings = reviewWrite(kCluster, c.object, kId);
    ASSERT_EQ(findings.size(), c.findings);
    if (c.findings == 1) {
      EXPECT_EQ(findings[0].action, Action::kWarn);
      EXPECT_EQ(findings[0].field, c.field);
      EXPECT_NE(findings[0].message.find(c.contains), std::string::npos) << findings[0].message;
    }
  }
}

TEST(UnsupportedInAmbient, DestinationRuleInAnotherNamespace) {
  // The DestinationRule lives elsewhere but its host is in the ambient namespace.
  auto findings = reviewWrite(
      kCluster,
      object(kNet, "DestinationRule", "legacy",
             "  host: reviews.shop.svc.cluster.local\n  subsets: [{name: v2}]"),
      kId);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].ns, "shop");
  EXPECT_NE(findings[0].message.find("VirtualService shop/reviews-split"), std::string::npos);
}

TEST(UnsupportedInAmbient, EnrollmentAndCheck) {
  const std::string cluster = docs({kCluster,
                                    object(kEf, "EnvoyFilter", "legacy", "  priority: 1"),
                                    object(kNet, "Sidecar", "legacy", "  egress: []")});
  const std::string enroll = R"(apiVersion: v1
kind: Namespace
metadata: {name: legacy, labels: {istio.io/dataplane-mode: ambient}})";
  auto findings = reviewWrite(cluster, enroll, kId);
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_EQ(findings[0].object.str(), "EnvoyFilter legacy/x");
  EXPECT_EQ(findings[1].object.str(), "Sidecar legacy/x");
  EXPECT_EQ(checkNamespace(cluster, "legacy", kId).size(), 2u);
  // The ambient namespace's DestinationRule subsets show up in check as well.
  const std::string with_dr = docs(
      {kCluster, object(kNet, "DestinationRule", "shop", "  host: reviews\n  subsets: [{name: v1}]")});
  auto shop = checkNamespace(with_dr, "shop", kId);
  ASSERT_EQ(shop.size(), 1u);
  EXPECT_EQ(shop[0].object.str(), "DestinationRule shop/x");
}

// Client-side egress (rules/unsupported_in_ambient_egress.h), with the objects of Istio's
// "Egress Gateways" and "Egress TLS Origination" tasks (istio.io docs/tasks/traffic-management/
// egress/egress-gateway, egress-tls-origination).
const std::string kEgressTask = R"(
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: cnn, namespace: default}
spec:
  hosts: [edition.cnn.com]
  ports: [{number: 80, name: http-port, protocol: HTTP}, {number: 443, name: https, protocol: HTTPS}]
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: egressgateway-for-cnn, namespace: default}
spec:
  host: istio-egressgateway.istio-system.svc.cluster.local
  subsets: [{name: cnn}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: direct-cnn-through-egress-gateway, namespace: default}
spec:
  hosts: [edition.cnn.com]
  gateways: [istio-egressgateway, mesh]
  http:
  - match: [{gateways: [mesh], port: 80}]
    route:
    - destination: {host: istio-egressgateway.istio-system.svc.cluster.local, subset: cnn,
                    port: {number: 80}}
      weight: 100
  - match: [{gateways: [istio-egressgateway], port: 80}]
    route: [{destination: {host: edition.cnn.com, port: {number: 80}}, weight: 100}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: edition-cnn-com, namespace: default}
spec:
  host: edition.cnn.com
  trafficPolicy:
    portLevelSettings:
    - port: {number: 80}
      tls: {mode: SIMPLE}
)";

const std::string kDefaultSidecar = R"(
apiVersion: v1
kind: Namespace
metadata: {name: default, labels: {istio-injection: enabled}}
)";

const std::string kDefaultAmbient = R"(apiVersion: v1
kind: Namespace
metadata: {name: default, labels: {istio.io/dataplane-mode: ambient}}
)";

TEST(UnsupportedInAmbient, ClientSideEgressStopsOnEnrollment) {
  auto findings = reviewWrite(docs({kDefaultSidecar, kEgressTask}), kDefaultAmbient, kId);
  std::vector<std::string> got;
  for (const auto& f : findings) {
    got.push_back(f.object.str() + " " + f.field);
    EXPECT_EQ(f.action, Action::kWarn);
    EXPECT_EQ(f.ns, "default");
    EXPECT_NE(f.message.find("istio.io/use-waypoint"), std::string::npos) << f.message;
  }
  EXPECT_EQ(got, (std::vector<std::string>{
                     "VirtualService default/direct-cnn-through-egress-gateway spec.hosts[0]",
                     "DestinationRule default/edition-cnn-com "
                     "spec.trafficPolicy.portLevelSettings[0].tls.mode"}));
  EXPECT_NE(findings[0].message.find("routes edition.cnn.com from the mesh to "
                                     "istio-egressgateway.istio-system.svc.cluster.local"),
            std::string::npos)
      << findings[0].message;
  EXPECT_NE(findings[1].message.find("originates TLS (SIMPLE) to edition.cnn.com"),
            std::string::npos)
      << findings[1].message;
  // `check` reports the same for the namespace (what-if enrollment).
  EXPECT_EQ(checkNamespace(docs({kDefaultSidecar, kEgressTask}), "default", kId).size(), 2u);
}

TEST(UnsupportedInAmbient, ClientSideEgressCases) {
  const std::string egress_waypoint = R"(
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: istio-egress}
spec:
  gatewayClassName: istio-waypoint
  listeners:
  - {name: mesh, port: 15008, protocol: HBONE, allowedRoutes: {namespaces: {from: All}}}
status: {addresses: [{value: 10.0.0.40}]}
)";
  // The ServiceEntry bound to an egress waypoint: the waypoint routes and originates TLS.
  std::string bound = kEgressTask;
  const std::string from = "metadata: {name: cnn, namespace: default}";
  bound.replace(bound.find(from), from.size(),
                "metadata:\n  name: cnn\n  namespace: default\n  labels: "
                "{istio.io/use-waypoint: waypoint, istio.io/use-waypoint-namespace: "
                "istio-egress}");
  struct Case {
    std::string name;
    std::string cluster;
    size_t findings;
  };
  const std::vector<Case> cases = {
      {"ServiceEntry bound to an egress waypoint", docs({kDefaultSidecar, bound, egress_waypoint}),
       0},
      {"bound to a waypoint that does not exist", docs({kDefaultSidecar, bound}), 2},
      {"egress objects exported to their own namespace only",
       docs({R"(
apiVersion: v1
kind: Namespace
metadata: {name: default, labels: {istio-injection: enabled}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: cnn, namespace: egress-config}
spec:
  hosts: [edition.cnn.com]
  exportTo: ["."]
  gateways: [mesh]
  http: [{route: [{destination: {host: istio-egressgateway.istio-system.svc.cluster.local}}]}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: cnn, namespace: egress-config}
spec:
  host: edition.cnn.com
  exportTo: [egress-config]
  trafficPolicy: {tls: {mode: MUTUAL}}
)"}),
       0},
      {"ISTIO_MUTUAL is not TLS origination to the external host",
       docs({kDefaultSidecar, R"(
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: cnn, namespace: default}
spec:
  host: edition.cnn.com
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
)"}),
       0},
      {"a mesh VirtualService for an in-cluster host is not egress",
       docs({kDefaultSidecar, R"(
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews}}]}]
)"}),
       0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    size_t egress = 0;
    for (const auto& f : reviewWrite(c.cluster, kDefaultAmbient, kId)) {
      egress += f.message.find("goes ambient") != std::string::npos ||
                        f.summary.find("goes ambient") != std::string::npos
                    ? 1
                    : 0;
    }
    EXPECT_EQ(egress, c.findings);
  }
  // A VirtualService write in a cluster whose clients are already ambient is judged too.
  auto on_write = reviewWrite(docs({kDefaultAmbient, R"(
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: cnn, namespace: default}
spec: {hosts: [edition.cnn.com], ports: [{number: 80, name: http, protocol: HTTP}]}
)"}),
                              R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: cnn, namespace: default}
spec:
  hosts: [edition.cnn.com]
  http: [{route: [{destination: {host: istio-egressgateway.istio-system.svc.cluster.local}}]}]
)",
                              kId);
  ASSERT_EQ(on_write.size(), 1u);
  EXPECT_EQ(on_write[0].object.str(), "VirtualService default/cnn");
}

}  // namespace
}  // namespace ambient_guard::rules
