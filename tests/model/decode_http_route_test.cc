// HTTPRoute decoding (model/decode.cc): parentRefs as written, the Service backendRefs of every
// rule (defaults group "" and kind Service; ServiceEntry / Hostname backends dropped; duplicates
// once), field errors with their path, interning of the lists, and loading from a backup.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "model/decode.h"
#include "model/state_file.h"
#include "model/state_interner.h"
#include "tests/testlib/testlib.h"

namespace ambient_guard {
namespace {

// samples/bookinfo/gateway-api/bookinfo-gateway.yaml (Istio 1.31), plus a backend in another
// namespace and two backends that are not Services.
std::string bookinfoRoute(const std::string& ns) {
  return R"(
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bookinfo, namespace: )" + ns + R"(}
spec:
  parentRefs:
  - name: bookinfo-gateway
  - group: gateway.networking.k8s.io
    kind: Gateway
    name: public
    namespace: istio-ingress
    sectionName: https
  rules:
  - matches:
    - path: {type: Exact, value: /productpage}
    - path: {type: PathPrefix, value: /static}
    - path: {type: Exact, value: /login}
    - path: {type: Exact, value: /logout}
    - path: {type: PathPrefix, value: /api/v1/products}
    backendRefs:
    - name: productpage
      port: 9080
  - backendRefs:
    - {name: productpage, port: 9080}
    - {kind: Service, name: reviews, namespace: shop, port: 9080, weight: 10}
    - {group: networking.istio.io, kind: ServiceEntry, name: httpbin-ext}
    - {group: networking.istio.io, kind: Hostname, name: example.com}
)";
}

TEST(DecodeHttpRoute, KeepsParentsAndServiceBackends) {
  AnyObject obj = testing::objectFromYaml(bookinfoRoute("default"));
  ASSERT_EQ(kindOf(obj), Kind::kHTTPRoute);
  const auto& r = std::get<HTTPRoute>(obj);
  EXPECT_EQ(r.ns, "default");
  EXPECT_EQ(r.name, "bookinfo");
  ASSERT_EQ(r.parent_refs.size(), 2u);
  EXPECT_EQ(r.parent_refs[0], (RouteRef{"", "", "", "bookinfo-gateway", ""}));
  EXPECT_EQ(r.parent_refs[1], (RouteRef{"gateway.networking.k8s.io", "Gateway", "istio-ingress",
                                        "public", "https"}));
  ASSERT_EQ(r.backend_refs.size(), 2u);
  EXPECT_EQ(r.backend_refs[0], (RouteRef{"", "", "", "productpage", ""}));
  EXPECT_EQ(r.backend_refs[1], (RouteRef{"", "", "shop", "reviews", ""}));
}

TEST(DecodeHttpRoute, FieldErrorsNameThePath) {
  struct Case {
    std::string name;
    std::string spec;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"parentRefs not a list", "parentRefs: {name: gw}", "spec.parentRefs"},
      {"parentRef not an object", "parentRefs: [gw]", "spec.parentRefs[0]"},
      {"rule not an object", "rules: [x]", "spec.rules[0]"},
      {"backendRef name not a scalar", "rules: [{backendRefs: [{name: [a]}]}]",
       "spec.rules[0].backendRefs[0].name"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<AnyObject> objs;
    auto stats = loadText("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
                          "metadata: {name: r, namespace: default}\nspec:\n  " + c.spec + "\n",
                          "route.yaml", objs);
    ASSERT_FALSE(stats.ok());
    EXPECT_NE(stats.error().find("HTTPRoute r"), std::string::npos) << stats.error();
    EXPECT_NE(stats.error().find(c.error), std::string::npos) << stats.error();
  }
}

TEST(DecodeHttpRoute, ListsSharedOnceCompacted) {
  StateInterner interner;
  AnyObject a = testing::objectFromYaml(bookinfoRoute("default"));
  AnyObject b = testing::objectFromYaml(bookinfoRoute("books"));
  const HTTPRoute before = std::get<HTTPRoute>(a);
  interner.compact(a);
  interner.compact(b);
  const auto& ra = std::get<HTTPRoute>(a);
  const auto& rb = std::get<HTTPRoute>(b);
  EXPECT_TRUE(ra.parent_refs.handle().same(rb.parent_refs.handle()));
  EXPECT_TRUE(ra.backend_refs.handle().same(rb.backend_refs.handle()));
  EXPECT_EQ(ra.parent_refs, before.parent_refs);
  EXPECT_EQ(ra.backend_refs, before.backend_refs);
  EXPECT_EQ(interner.sizes().route_ref_lists, 2u);
}

TEST(DecodeHttpRoute, LoadedFromABackupList) {
  std::vector<AnyObject> objs;
  auto stats = loadText(R"(apiVersion: v1
kind: List
items:
- apiVersion: gateway.networking.k8s.io/v1
  kind: HTTPRoute
  metadata: {name: bookinfo, namespace: default}
  spec:
    parentRefs: [{name: bookinfo-gateway}]
    rules: [{backendRefs: [{name: productpage, port: 9080}]}]
- apiVersion: gateway.networking.k8s.io/v1
  kind: GRPCRoute
  metadata: {name: grpc, namespace: default}
)",
                        "backup.yaml", objs);
  ASSERT_TRUE(stats.ok()) << stats.error();
  EXPECT_EQ(stats->objects, 1u);
  EXPECT_EQ(stats->skipped.at("GRPCRoute"), 1u);
  ASSERT_EQ(objs.size(), 1u);
  EXPECT_EQ(std::get<HTTPRoute>(objs[0]).backend_refs[0].name, "productpage");
}

}  // namespace
}  // namespace ambient_guard
