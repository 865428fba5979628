// virtualservice-needs-httproute through the Reviewer: mesh versus ingress-only VirtualServices,
// hosts in other namespaces, waypoint or not, namespace enrollment, pre-existing marking, deletes.
#include "rules/virtualservice_needs_httproute.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "rules/reviewer.h"
#include "tests/rules/rule_test_util.h"
#include "tests/testlib/testlib.h"

namespace ambient_guard {
namespace {

using rules::Action;
using testing::createOf;
using testing::deleteOf;
using testing::Expect;
using testing::expectFindings;
using testing::ofRule;
using testing::stateFromYaml;
using testing::updateOf;

constexpr std::string_view kRule = "virtualservice-needs-httproute";

// shop: ambient, no waypoint. mall: ambient with a namespace waypoint. legacy: sidecars.
// frontend: not in the mesh.
constexpr const char* kCluster = R"(
apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Namespace
metadata: {name: mall, labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint}}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: frontend}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: shop}
spec: {selector: {app: reviews}, ports: [{port: 9080, name: http}]}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: mall}
spec: {selector: {app: reviews}, ports: [{port: 9080, name: http}]}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: legacy}
spec: {selector: {app: reviews}, ports: [{port: 9080, name: http}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: mall}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
status: {addresses: [{value: 10.0.0.9}]}
)";

// Returns a VirtualService document routing `hosts` (flow list text) to reviews v1.
std::string vs(const std::string& ns, const std::string& name, const std::string& hosts,
               const std::string& extra_spec = "") {
  return "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: " + name +
         ", namespace: " + ns + "}\nspec:\n  hosts: " + hosts + "\n" + extra_spec +
         "  http:\n  - route: [{destination: {host: reviews, subset: v1}}]\n";
}

std::string ns(const std::string& name, const std::string& labels) {
  return "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: " + name + ", labels: " + labels +
         "}\n";
}

TEST(VirtualServiceNeedsHttpRoute, VirtualServiceWrites) {
  struct Case {
    std::string name;
    std::string write;
    std::vector<Expect> want;
  };
  const std::vector<Case> cases = {
      {"mesh VirtualService in an ambient namespace",
       vs("shop", "reviews", "[reviews]"),
       {{.object = "VirtualService shop/reviews",
         .field = "spec.hosts",
         .action = Action::kWarn,
         .fragments =
             {"routes mesh traffic for reviews in ambient namespace shop",
              "no waypoint serves it, so ztunnel ignores it and its routing silently stops",
              "Fix: an HTTPRoute in namespace shop with `parentRefs: [{group: \"\", kind: "
              "Service, name: reviews, port: 9080}]`",
              "istioctl waypoint apply -n shop --enroll-namespace",
              "No HTTPRoute equivalent: spec.http[0].route[0].destination.subset"},
         .ns = "shop",
         .needs_waypoint = true,
         .summary =
             {"mesh VirtualService in ambient; use an HTTPRoute with a Service parentRef"}}}},
      {"gateways: [mesh]",
       vs("shop", "reviews", "[reviews]", "  gateways: [mesh]\n"),
       {{.object = "VirtualService shop/reviews", .field = "spec.hosts", .action = Action::kWarn}}},
      {"ingress-only VirtualService",
       vs("shop", "reviews", "[reviews]", "  gateways: [istio-system/gw]\n"),
       {}},
      {"ingress and mesh",
       vs("shop", "reviews", "[reviews]", "  gateways: [mesh, istio-system/gw]\n"),
       {{.object = "VirtualService shop/reviews", .field = "spec.hosts", .action = Action::kWarn}}},
      {"FQDN host of an ambient namespace, VirtualService elsewhere",
       vs("frontend", "to-reviews", "[reviews.shop.svc.cluster.local]"),
       {{.object = "VirtualService frontend/to-reviews",
         .field = "spec.hosts",
         .action = Action::kWarn,
         .fragments =
             {"routes mesh traffic for reviews.shop.svc.cluster.local in ambient namespace "
              "shop",
              "an HTTPRoute in namespace shop"}}}},
      {"hosts in two ambient namespaces: one finding",
       vs("frontend", "both", "[reviews.shop.svc.cluster.local, reviews.mall.svc.cluster.local]"),
       {{.object = "VirtualService frontend/both",
         .field = "spec.hosts",
         .action = Action::kWarn,
         .fragments = {"in ambient namespaces mall, shop"}}}},
      {"FQDN host of a sidecar namespace",
       vs("shop", "x", "[reviews.legacy.svc.cluster.local]"),
       {}},
      {"sidecar namespace", vs("legacy", "reviews", "[reviews]"), {}},
      {"external host", vs("shop", "ext", "[www.example.com]"), {}},
      {"wildcard host", vs("shop", "any", "[\"*\"]"), {}},
      {"namespace without a Namespace object", vs("ghost", "reviews", "[reviews]"), {}},
      {"waypoint serves: Alpha, no waypoint to deploy",
       vs("mall", "reviews", "[reviews]"),
       {{.object = "VirtualService mall/reviews",
         .field = "spec.hosts",
         .action = Action::kWarn,
         .fragments = {"waypoint mall/waypoint applies it only as an Alpha feature"},
         .absent = {"istioctl waypoint apply"},
         .needs_waypoint = false}}},
      {"fault injection has no HTTPRoute equivalent",
       "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: ratings, "
       "namespace: shop}\nspec:\n  hosts: [ratings]\n  http:\n  - fault: {abort: {httpStatus: "
       "500, percentage: {value: 10}}}\n    route: [{destination: {host: ratings}}]\n",
       {{.object = "VirtualService shop/ratings",
         .field = "spec.hosts",
         .action = Action::kWarn,
         .fragments = {"No HTTPRoute equivalent: spec.http[0].fault.",
                       "name: ratings}]"}}}},  // no such Service: no port in the parentRef
  };
  const Reviewer reviewer = testing::defaultReviewer();
  auto state = stateFromYaml(kCluster);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    expectFindings(ofRule(reviewer.review(*state, createOf(c.write)), kRule), c.want, kRule);
  }
}

TEST(VirtualServiceNeedsHttpRoute, NamespaceChangesAndLifecycle) {
  struct Case {
    std::string name;
    std::string cluster;  // added to kCluster
    std::function<Change()> change;
    std::vector<Expect> want;
  };
  const std::string legacy_vs = vs("legacy", "reviews", "[reviews]");
  const std::string shop_vs = vs("shop", "reviews", "[reviews]");
  const std::string shop_ingress =
      vs("shop", "reviews", "[reviews]", "  gateways: [istio-system/gw]\n");
  const std::string legacy_ns = ns("legacy", "{istio-injection: enabled}");
  const std::string legacy_ambient = ns("legacy", "{istio.io/dataplane-mode: ambient}");
  const std::string shop_ns = ns("shop", "{istio.io/dataplane-mode: ambient}");
  const std::vector<Case> cases = {
      {"enrolling a namespace with a mesh VirtualService",
       legacy_vs,
       [&] { return updateOf(legacy_ns, legacy_ambient); },
       {{.object = "VirtualService legacy/reviews",
         .field = "spec.hosts",
         .action = Action::kWarn,
         .fragments = {"ambient namespace legacy"},
         .ns = "legacy",
         .pre_existing = false}}},
      {"enrolling a namespace routed by a VirtualService elsewhere",
       vs("frontend", "to-legacy", "[reviews.legacy.svc.cluster.local]"),
       [&] { return updateOf(legacy_ns, legacy_ambient); },
       {{.object = "VirtualService frontend/to-legacy",
         .field = "spec.hosts",
         .action = Action::kWarn,
         .ns = "legacy"}}},
      {"enrolling a namespace with an ingress-only VirtualService",
       vs("legacy", "reviews", "[reviews]", "  gateways: [istio-system/gw]\n"),
       [&] { return updateOf(legacy_ns, legacy_ambient); },
       {}},
      {"unrelated label edit on an ambient namespace: pre-existing",
       shop_vs,
       [&] { return updateOf(shop_ns, ns("shop", "{istio.io/dataplane-mode: ambient, team: x}")); },
       {{.object = "VirtualService shop/reviews",
         .field = "spec.hosts",
         .action = Action::kWarn,
         .ns = "shop",
         .pre_existing = true}}},
      {"re-applying a mesh VirtualService: pre-existing",
       shop_vs,
       [&] { return updateOf(shop_vs, shop_vs); },
       {{.object = "VirtualService shop/reviews",
         .field = "spec.hosts",
         .action = Action::kWarn,
         .pre_existing = true}}},
      {"ingress-only becoming mesh: new",
       shop_ingress,
       [&] { return updateOf(shop_ingress, shop_vs); },
       {{.object = "VirtualService shop/reviews",
         .field = "spec.hosts",
         .action = Action::kWarn,
         .pre_existing = false}}},
      {"deleting the VirtualService", shop_vs, [&] { return deleteOf(shop_vs); }, {}},
  };
  const Reviewer reviewer = testing::defaultReviewer();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto state = stateFromYaml(std::string(kCluster) + c.cluster);
    expectFindings(ofRule(reviewer.review(*state, c.change()), kRule), c.want, kRule);
  }
}

TEST(VirtualServiceNeedsHttpRoute, PreflightReviewNamespace) {
  struct Case {
    std::string name;
    std::string cluster;
    std::string ns;
    std::vector<Expect> want;
  };
  const std::vector<Case> cases = {
      {"sidecar namespace evaluated as enrolled",
       vs("legacy", "reviews", "[reviews]"),
       "legacy",
       {{.object = "VirtualService legacy/reviews",
         .field = "spec.hosts",
         .action = Action::kWarn,
         .ns = "legacy"}}},
      {"VirtualService in another namespace routing this one",
       vs("frontend", "to-shop", "[reviews.shop.svc.cluster.local]"),
       "shop",
       {{.object = "VirtualService frontend/to-shop",
         .field = "spec.hosts",
         .action = Action::kWarn,
         .ns = "shop"}}},
      {"ingress-only",
       vs("shop", "reviews", "[reviews]", "  gateways: [istio-system/gw]\n"),
       "shop",
       {}},
      {"another namespace's hosts", vs("mall", "reviews", "[reviews]"), "shop", {}},
  };
  const Reviewer reviewer = testing::defaultReviewer();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto state = stateFromYaml(std::string(kCluster) + c.cluster);
    expectFindings(ofRule(reviewer.reviewNamespace(*state, c.ns), kRule), c.want, kRule);
  }
}

}  // namespace
}  // namespace ambient_guard
