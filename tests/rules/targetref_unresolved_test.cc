// targetref-unresolved: targetRefs of AuthorizationPolicy / RequestAuthentication / WasmPlugin /
// TrafficExtension that attach to nothing, or only to an agentgateway proxy
// (rules/targetref_unresolved.h).
#include "rules/targetref_unresolved.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/rules/rule_review.h"

namespace ambient_guard::rules {
namespace {

using ::ambient_guard::testing::anyMessageHas;
using ::ambient_guard::testing::checkNamespace;
using ::ambient_guard::testing::docs;
using ::ambient_guard::testing::reviewWrite;

constexpr const char* kId = "targetref-unresolved";

const std::string kCluster = R"(
apiVersion: v1
kind: Namespace
metadata: {name: bookinfo, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy, labels: {istio-injection: enabled}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: bookinfo}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
status: {addresses: [{value: 10.0.0.9}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: idle, namespace: bookinfo, labels: {istio.io/waypoint-for: none}}
spec: {gatewayClassName: istio-waypoint}
status: {addresses: [{value: 10.0.0.10}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: ingress, namespace: bookinfo}
spec: {gatewayClassName: istio, listeners: [{name: http, port: 80, protocol: HTTP}]}
status: {addresses: [{value: 203.0.113.1}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: nginx}
spec: {controllerName: k8s.nginx.org/nginx-gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: bookinfo}
spec: {gatewayClassName: nginx}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bookinfo, labels: {istio.io/use-waypoint: waypoint}}
spec: {selector: {app: reviews}}
---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: bookinfo}
spec: {selector: {app: ratings}}
---
apiVersion: v1
kind: Service
metadata: {name: details, namespace: bookinfo, labels: {istio.io/use-waypoint: gone}}
spec: {selector: {app: details}}
---
# istio.io docs/ambient/usage/egress-gateway: a ServiceEntry bound to an egress waypoint.
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: httpbin-org, namespace: bookinfo, labels: {istio.io/use-waypoint: waypoint}}
spec: {hosts: [httpbin.org], ports: [{number: 80, name: http, protocol: HTTP}], resolution: DNS}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: example-com, namespace: bookinfo}
spec: {hosts: [example.com], ports: [{number: 80, name: http, protocol: HTTP}], resolution: DNS}
---
# istio.io docs/ambient/usage/agentgateway: an agentgateway waypoint and a Service bound to it.
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: agentgateway-waypoint, namespace: bookinfo, labels: {istio.io/waypoint-for: service}}
spec:
  gatewayClassName: istio-agentgateway-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
status: {addresses: [{value: 10.96.15.112}]}
---
apiVersion: v1
kind: Service
metadata: {name: productpage, namespace: bookinfo, labels: {istio.io/use-waypoint: agentgateway-waypoint}}
spec: {selector: {app: productpage}}
)";

std::string policy(const std::string& kind, const std::string& ns, const std::string& refs) {
  const std::string api = kind == "WasmPlugin" || kind == "TrafficExtension"
                              ? "extensions.istio.io/v1alpha1"
                              : "security.istio.io/v1";
  return "apiVersion: " + api + "\nkind: " + kind + "\nmetadata: {name: p, namespace: " + ns +
         "}\nspec:\n  targetRefs: " + refs + "\n";
}

TEST(TargetRefUnresolved, PolicyWrites) {
  struct Case {
    std::string name;
    std::string kind;
    std::string ns;
    std::string refs;
    std::vector<std::string> fields;  // fields of the expected findings, in order
    std::string contains;
    bool needs_waypoint = false;
  };
  const std::string svc = R"([{group: "", kind: Service, name: )";
  const std::string gw = "[{group: gateway.networking.k8s.io, kind: Gateway, name: ";
  const std::string gc = "[{group: gateway.networking.k8s.io, kind: GatewayClass, name: ";
  const std::vector<Case> cases = {
      // Resolved: a Service bound to a waypoint, a waypoint, an ingress Gateway, the mesh class.
      {"Service bound to a waypoint", "AuthorizationPolicy", "bookinfo", svc + "reviews}]", {}, ""},
      {"core group spelled out", "AuthorizationPolicy", "bookinfo",
       "[{group: core, kind: Service, name: reviews}]", {}, ""},
      {"waypoint Gateway", "RequestAuthentication", "bookinfo", gw + "waypoint}]", {}, ""},
      {"ingress Gateway of class istio", "AuthorizationPolicy", "bookinfo", gw + "ingress}]", {},
       ""},
      {"GatewayClass istio-waypoint from the root namespace", "AuthorizationPolicy",
       "istio-system", gc + "istio-waypoint}]", {}, ""},
      {"ServiceEntry bound to an egress waypoint", "AuthorizationPolicy", "bookinfo",
       "[{group: networking.istio.io, kind: ServiceEntry, name: httpbin-org}]", {}, ""},
      {"TrafficExtension on a Service bound to a waypoint", "TrafficExtension", "bookinfo",
       svc + "reviews}]", {}, ""},
      {"classic Istio Gateway is not modelled", "AuthorizationPolicy", "bookinfo",
       "[{group: networking.istio.io, kind: Gateway, name: public}]", {}, ""},
      // Unresolved.
      {"Service without any waypoint", "AuthorizationPolicy", "bookinfo", svc + "ratings}]",
       {"spec.targetRefs[0]"}, "Service bookinfo/ratings is not bound to a waypoint", true},
      {"Service bound to a missing waypoint", "WasmPlugin", "bookinfo", svc + "details}]",
       {"spec.targetRefs[0]"}, "waypoint \"bookinfo/gone\" is not ready", true},
      {"missing Service", "AuthorizationPolicy", "bookinfo", svc + "nope}]",
       {"spec.targetRefs[0]"}, "Service bookinfo/nope was not found"},
      {"missing Gateway", "RequestAuthentication", "bookinfo", gw + "waypoint-typo}]",
       {"spec.targetRefs[0]"}, "Gateway bookinfo/waypoint-typo was not found", true},
      {"Gateway of a foreign class", "AuthorizationPolicy", "bookinfo", gw + "edge}]",
       {"spec.targetRefs[0]"}, "controller is not Istio's"},
      {"waypoint serving no traffic", "AuthorizationPolicy", "bookinfo", gw + "idle}]",
       {"spec.targetRefs[0]"}, "istio.io/waypoint-for=none"},
      {"GatewayClass outside the root namespace", "AuthorizationPolicy", "bookinfo",
       gc + "istio-waypoint}]", {"spec.targetRefs[0]"},
       "must be in the root namespace `istio-system`"},
      {"GatewayClass other than istio-waypoint", "WasmPlugin", "istio-system", gc + "istio}]",
       {"spec.targetRefs[0]"}, "GatewayClass istio is not istio-waypoint"},
      {"ServiceEntry without a waypoint", "AuthorizationPolicy", "bookinfo",
       "[{group: networking.istio.io, kind: ServiceEntry, name: example-com}]",
       {"spec.targetRefs[0]"}, "ServiceEntry bookinfo/example-com is not bound to a waypoint",
       true},
      {"missing ServiceEntry", "AuthorizationPolicy", "bookinfo",
       "[{group: networking.istio.io, kind: ServiceEntry, name: ext}]", {"spec.targetRefs[0]"},
       "ServiceEntry bookinfo/ext was not found"},
      {"TrafficExtension on a Service without a waypoint", "TrafficExtension", "bookinfo",
       svc + "ratings}]", {"spec.targetRefs[0]"},
       "Service bookinfo/ratings is not bound to a waypoint", true},
      {"Service bound to an agentgateway waypoint", "AuthorizationPolicy", "bookinfo",
       svc + "productpage}]", {"spec.targetRefs[0]"},
       "bound to agentgateway bookinfo/agentgateway-waypoint"},
      {"agentgateway waypoint Gateway", "RequestAuthentication", "bookinfo",
       gw + "agentgateway-waypoint}]", {"spec.targetRefs[0]"},
       "Istio applies no AuthorizationPolicy, RequestAuthentication, WasmPlugin or "
       "TrafficExtension to agentgateway proxies"},
      {"only the unresolved entry of several", "AuthorizationPolicy", "bookinfo",
       svc + "reviews}, {group: \"\", kind: Service, name: ratings}]", {"spec.targetRefs[1]"},
       "targetRefs[1] (Service ratings)", true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto findings = reviewWrite(kCluster, policy(c.kind, c.ns, c.refs), kId);
    ASSERT_EQ(findings.size(), c.fields.size());
    for (size_t i = 0; i < findings.size(); ++i) {
      EXPECT_EQ(findings[i].field, c.fields[i]);
      EXPECT_EQ(findings[i].action, Action::kWarn);
      EXPECT_EQ(findings[i].needs_waypoint, c.needs_waypoint);
      EXPECT_EQ(findings[i].object.kind, *kindFromName(c.kind));
      EXPECT_NE(findings[i].message.find(c.contains), std::string::npos) << findings[i].message;
      EXPECT_NE(findings[i].message.find("enforced nowhere"), std::string::npos);
    }
  }
}

TEST(TargetRefUnresolved, SelectorPoliciesAreNotItsConcern) {
  const std::string selector_policy = R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: l4, namespace: bookinfo}
spec:
  selector: {matchLabels: {app: ratings}}
  rules: [{from: [{source: {namespaces: [bookinfo]}}]}])";
  EXPECT_TRUE(reviewWrite(kCluster, selector_policy, kId).empty());
}

TEST(TargetRefUnresolved, CheckReportsEveryPolicyOfTheNamespace) {
  const std::string cluster = docs({kCluster, R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ok, namespace: bookinfo}
spec: {targetRefs: [{group: "", kind: Service, name: reviews}]}
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: bookinfo}
spec: {targetRefs: [{group: "", kind: Service, name: ratings}]}
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: plugin, namespace: legacy}
spec: {targetRefs: [{group: "", kind: Service, name: missing}]}
)"});
  auto findings = checkNamespace(cluster, "bookinfo", kId);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].object.str(), "RequestAuthentication bookinfo/jwt");
  // A sidecar namespace is checked too: sidecars ignore targetRef'd policies as well.
  auto legacy = checkNamespace(cluster, "legacy", kId);
  ASSERT_EQ(legacy.size(), 1u);
  EXPECT_EQ(legacy[0].object.str(), "WasmPlugin legacy/plugin");
}

TEST(TargetRefUnresolved, NamespaceWritesLeaveItToWaypointInUse) {
  // Removing the namespace's use-waypoint is denied by waypoint-in-use; no duplicate warning.
  const std::string cluster = R"(
apiVersion: v1
kind: Namespace
metadata:
  name: bookinfo
  labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: bookinfo}
spec: {gatewayClassName: istio-waypoint}
status: {addresses: [{value: 10.0.0.9}]}
---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: bookinfo}
spec: {selector: {app: ratings}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: p, namespace: bookinfo}
spec: {targetRefs: [{group: "", kind: Service, name: ratings}]}
)";
  const std::string unlabel = R"(apiVersion: v1
kind: Namespace
metadata: {name: bookinfo, labels: {istio.io/dataplane-mode: ambient}})";
  EXPECT_TRUE(reviewWrite(cluster, unlabel, kId).empty());
  EXPECT_EQ(reviewWrite(cluster, unlabel, "waypoint-in-use").size(), 1u);
}

// Ingress gateways bypass waypoints unless istio.io/ingress-use-waypoint is set (Istio 1.31
// docs/ambient/usage/waypoint). Objects from samples/bookinfo/networking/bookinfo-gateway.yaml.
TEST(TargetRefUnresolved, IngressBypassesTheWaypoint) {
  auto ns = [](const std::string& extra) {
    return "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: default\n"
           "  labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint" +
           extra + "}\n";
  };
  auto productpage = [](const std::string& extra) {
    return "apiVersion: v1\nkind: Service\nmetadata:\n  name: productpage\n"
           "  namespace: default\n  labels: {app: productpage" + extra + "}\n"
           "spec: {selector: {app: productpage}, ports: [{port: 9080, name: http}]}\n";
  };
  const std::string rest = R"(
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: default}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
status: {addresses: [{value: 10.0.0.9}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bookinfo, namespace: default}
spec:
  hosts: ["*"]
  gateways: [bookinfo-gateway]
  http:
  - match: [{uri: {exact: /productpage}}]
    route: [{destination: {host: productpage, port: {number: 9080}}}]
)";
  const std::string policy = R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: productpage-viewer, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: productpage}]
  action: ALLOW
  rules: [{to: [{operation: {methods: [GET]}}]}]
)";
  struct Case {
    std::string name;
    std::string cluster;
    bool reported;
  };
  const std::vector<Case> cases = {
      {"no label anywhere", docs({ns(""), productpage(""), rest}), true},
      {"Service label", docs({ns(""), productpage(", istio.io/ingress-use-waypoint: \"true\""),
                              rest}),
       false},
      {"Namespace label", docs({ns(", istio.io/ingress-use-waypoint: \"true\""), productpage(""),
                                rest}),
       false},
      {"Service label false overrides the namespace",
       docs({ns(", istio.io/ingress-use-waypoint: \"true\""),
             productpage(", istio.io/ingress-use-waypoint: \"false\""), rest}),
       true},
      {"not a Go bool counts as false",
       docs({ns(""), productpage(", istio.io/ingress-use-waypoint: \"yes\""), rest}), true},
      {"a mesh-only VirtualService is not ingress",
       docs({ns(""), productpage(""), R"(
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: default}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
status: {addresses: [{value: 10.0.0.9}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: productpage, namespace: default}
spec:
  hosts: [productpage]
  http: [{route: [{destination: {host: productpage}}]}]
)"}),
       false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto findings = reviewWrite(c.cluster, policy, kId);
    if (!c.reported) {
      EXPECT_TRUE(findings.empty()) << findings.front().message;
      continue;
    }
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_EQ(findings[0].action, Action::kWarn);
    EXPECT_EQ(findings[0].field, "spec.targetRefs[0]");
    EXPECT_TRUE(anyMessageHas(findings, "VirtualService default/bookinfo (gateways "
                                        "bookinfo-gateway) routes to it"));
    EXPECT_TRUE(anyMessageHas(findings, "kubectl label service productpage -n default "
                                        "istio.io/ingress-use-waypoint=true"));
  }
  // `check` reports it too.
  EXPECT_EQ(checkNamespace(docs({ns(""), productpage(""), rest, policy}), "default", kId).size(),
            1u);
}

// The same bypass through Gateway API ingress: an HTTPRoute whose parentRef is an ingress
// (non-waypoint) Gateway and whose backendRef is the Service. Objects from
// samples/bookinfo/gateway-api/bookinfo-gateway.yaml (Istio 1.31).
TEST(TargetRefUnresolved, HttpRouteIngressBypassesTheWaypoint) {
  auto productpage = [](const std::string& extra) {
    return "apiVersion: v1\nkind: Service\nmetadata:\n  name: productpage\n"
           "  namespace: default\n  labels: {app: productpage" + extra + "}\n"
           "spec: {selector: {app: productpage}, ports: [{port: 9080, name: http}]}\n";
  };
  const std::string base = R"(
apiVersion: v1
kind: Namespace
metadata:
  name: default
  labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: default}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
status: {addresses: [{value: 10.0.0.9}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: bookinfo-gateway, namespace: default}
spec:
  gatewayClassName: istio
  listeners: [{name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: Same}}}]
)";
  auto route = [](const std::string& ns, const std::string& parent, const std::string& backend) {
    return "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: bookinfo, "
           "namespace: " + ns + "}\nspec:\n  parentRefs: [" + parent + "]\n  rules:\n"
           "  - matches: [{path: {type: Exact, value: /productpage}}, {path: {type: PathPrefix, "
           "value: /static}}]\n    backendRefs: [" + backend + "]\n";
  };
  const std::string bookinfo = route("default", "{name: bookinfo-gateway}",
                                     "{name: productpage, port: 9080}");
  const std::string policy = R"(apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: productpage-viewer, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: productpage}]
  action: ALLOW
  rules: [{to: [{operation: {methods: [GET]}}]}]
)";
  const std::string other_ns = R"(
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public, namespace: istio-ingress}
spec: {gatewayClassName: istio, listeners: [{name: http, port: 80, protocol: HTTP}]}
)";
  struct Case {
    std::string name;
    std::string cluster;
    std::string via;  // "" when not reported
  };
  const std::vector<Case> cases = {
      {"ingress Gateway parent", docs({base, productpage(""), bookinfo}),
       "HTTPRoute default/bookinfo (parentRefs Gateway default/bookinfo-gateway) routes to it"},
      {"Service label", docs({base, productpage(", istio.io/ingress-use-waypoint: \"true\""),
                              bookinfo}),
       ""},
      {"route in the gateway's namespace, backend namespace given",
       docs({base, productpage(""), other_ns,
             route("istio-ingress", "{name: public}",
                   "{kind: Service, name: productpage, namespace: default, port: 9080}")}),
       "HTTPRoute istio-ingress/bookinfo (parentRefs Gateway istio-ingress/public)"},
      {"a waypoint parent is not ingress",
       docs({base, productpage(""),
             route("default", "{group: gateway.networking.k8s.io, kind: Gateway, name: waypoint}",
                   "{name: productpage, port: 9080}")}),
       ""},
      {"a Service parent (mesh route) is not ingress",
       docs({base, productpage(""),
             route("default", "{group: \"\", kind: Service, name: productpage}",
                   "{name: productpage, port: 9080}")}),
       ""},
      {"an unknown Gateway programs nothing",
       docs({base, productpage(""), route("default", "{name: missing}", "{name: productpage}")}),
       ""},
      {"a backend in the route's namespace by default",
       docs({base, productpage(""), other_ns,
             route("istio-ingress", "{name: public}", "{name: productpage}")}),
       ""},
      {"a ServiceEntry backend is not the Service",
       docs({base, productpage(""),
             route("default", "{name: bookinfo-gateway}",
                   "{group: networking.istio.io, kind: ServiceEntry, name: productpage}")}),
       ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto findings = reviewWrite(c.cluster, policy, kId);
    if (c.via.empty()) {
      EXPECT_TRUE(findings.empty()) << findings.front().message;
      continue;
    }
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_EQ(findings[0].action, Action::kWarn);
    EXPECT_EQ(findings[0].field, "spec.targetRefs[0]");
    EXPECT_TRUE(anyMessageHas(findings, c.via)) << findings[0].message;
    EXPECT_TRUE(anyMessageHas(findings, "kubectl label service productpage -n default "
                                        "istio.io/ingress-use-waypoint=true"));
  }
  // `check` on a backup reports it too.
  EXPECT_EQ(
      checkNamespace(docs({base, productpage(""), bookinfo, policy}), "default", kId).size(),
      1u);
}

}  // namespace
}  // namespace ambient_guard::rules
