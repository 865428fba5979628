// StateInterner: objects decoded separately share their equal label maps, selectors, port
// lists, policy rules and VirtualService lists once compacted; every field reads the same as
// before; sweep() forgets values only dropped objects held.
#include "model/state_interner.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/testlib/testlib.h"

namespace ambient_guard {
namespace {

std::string serviceYaml(const std::string& ns, const std::string& name) {
  return R"(
apiVersion: v1
kind: Service
metadata:
  name: )" + name + R"(
  namespace: )" + ns + R"(
  labels: {istio.io/use-waypoint: waypoint}
spec:
  selector: {app: reviews, version: v1}
  ports:
  - {name: http, port: 9080, protocol: TCP, appProtocol: http}
  - {name: grpc, port: 9090}
)";
}

std::string policyYaml(const std::string& ns, const std::string& name) {
  return R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: )" + name + R"(, namespace: )" + ns + R"(}
spec:
  selector: {matchLabels: {app: reviews}}
  action: DENY
  rules:
  - from: [{source: {principals: ["cluster.local/ns/shop/sa/frontend"]}}]
    to: [{operation: {methods: [GET], paths: ["/api/*"]}}]
    when: [{key: "request.headers[x-user]", values: [admin]}]
)";
}

std::string virtualServiceYaml(const std::string& ns) {
  return R"(
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: )" + ns + R"(}
spec:
  hosts: [reviews]
  http:
  - retries: {attempts: 3}
    route:
    - destination: {host: reviews, subset: v2}
)";
}

TEST(StateInterner, ServicesShareSelectorsPortsAndLabels) {
  StateInterner interner;
  AnyObject a = testing::objectFromYaml(serviceYaml("shop", "reviews"));
  AnyObject b = testing::objectFromYaml(serviceYaml("books", "reviews-canary"));
  const Service before = std::get<Service>(a);
  interner.compact(a);
  interner.compact(b);
  const Service& sa = std::get<Service>(a);
  const Service& sb = std::get<Service>(b);
  EXPECT_TRUE(sa.selector.handle().same(sb.selector.handle()));
  EXPECT_TRUE(sa.labels == sb.labels);
  EXPECT_TRUE(sa.ports.handle().same(sb.ports.handle()));
  // Compacting changes storage, never values.
  EXPECT_EQ(sa.ns, before.ns);
  EXPECT_EQ(sa.name, before.name);
  EXPECT_EQ(sa.labels, before.labels);
  EXPECT_EQ(sa.selector, before.selector);
  EXPECT_EQ(sa.ports, before.ports);
  ASSERT_EQ(sa.ports.size(), 2u);
  EXPECT_EQ(sa.ports[0].app_protocol, "http");
  EXPECT_EQ(*sb.selector.get("version"), "v1");
  EXPECT_EQ(sb.name, "reviews-canary");
}

TEST(StateInterner, PoliciesShareRulesAndSelectors) {
  StateInterner interner;
  AnyObject a = testing::objectFromYaml(policyYaml("shop", "deny-admin"));
  AnyObject b = testing::objectFromYaml(policyYaml("shop", "deny-admin-2"));
  const AuthorizationPolicy before = std::get<AuthorizationPolicy>(a);
  interner.compact(a);
  interner.compact(b);
  auto& pa = std::get<AuthorizationPolicy>(a);
  auto& pb = std::get<AuthorizationPolicy>(b);
  EXPECT_TRUE(pa.rules.handle().same(pb.rules.handle()));
  EXPECT_TRUE(pa.selector.match_labels.handle().same(pb.selector.match_labels.handle()));
  EXPECT_EQ(pa.rules, before.rules);
  EXPECT_EQ(pa.selector.match_labels, before.selector.match_labels);
  EXPECT_EQ(pa.action, "DENY");
  ASSERT_EQ(pa.rules.size(), 1u);
  EXPECT_EQ(pa.rules[0].when[0].key, "request.headers[x-user]");
}

TEST(StateInterner, VirtualServiceListsShared) {
  StateInterner interner;
  AnyObject a = testing::objectFromYaml(virtualServiceYaml("shop"));
  AnyObject b = testing::objectFromYaml(virtualServiceYaml("books"));
  const VirtualService before = std::get<VirtualService>(a);
  interner.compact(a);
  interner.compact(b);
  auto& va = std::get<VirtualService>(a);
  auto& vb = std::get<VirtualService>(b);
  EXPECT_TRUE(va.hosts.handle().same(vb.hosts.handle()));
  EXPECT_TRUE(va.destinations.handle().same(vb.destinations.handle()));
  EXPECT_TRUE(va.no_httproute_equivalent.handle().same(vb.no_httproute_equivalent.handle()));
  EXPECT_TRUE(va.gateways.handle().null());  // empty lists hold no block
  EXPECT_EQ(va.hosts, before.hosts);
  EXPECT_EQ(va.destinations, before.destinations);
  EXPECT_EQ(va.no_httproute_equivalent, before.no_httproute_equivalent);
  EXPECT_FALSE(va.no_httproute_equivalent.empty());
}

TEST(StateInterner, SweepForgetsDroppedObjectsValues) {
  StateInterner interner;
  {
    AnyObject a = testing::objectFromYaml(serviceYaml("shop", "reviews"));
    interner.compact(a);
    AnyObject p = testing::objectFromYaml(policyYaml("shop", "deny-admin"));
    interner.compact(p);
    interner.sweep();
    EXPECT_EQ(interner.sizes().port_lists, 1u);
    EXPECT_EQ(interner.sizes().rule_lists, 1u);
    EXPECT_GE(interner.sizes().label_maps, 2u);
  }
  interner.sweep();
  const StateInterner::Sizes left = interner.sizes();
  EXPECT_EQ(left.label_maps, 0u);
  EXPECT_EQ(left.port_lists, 0u);
  EXPECT_EQ(left.rule_lists, 0u);
}

TEST(StateInterner, WritingACompactedObjectLeavesOthersAlone) {
  StateInterner interner;
  AnyObject a = testing::objectFromYaml(serviceYaml("shop", "reviews"));
  AnyObject b = testing::objectFromYaml(serviceYaml("books", "reviews"));
  interner.compact(a);
  interner.compact(b);
  auto& sb = std::get<Service>(b);
  sb.labels.erase("istio.io/use-waypoint");
  sb.selector.set("version", "v2");
  sb.ports.push_back(ServicePort{15008, "hbone", "TCP", ""});
  const auto& sa = std::get<Service>(a);
  EXPECT_TRUE(sa.labels.has("istio.io/use-waypoint"));
  EXPECT_EQ(*sa.selector.get("version"), "v1");
  EXPECT_EQ(sa.ports.size(), 2u);
  // A later object still gets the original values.
  AnyObject c = testing::objectFromYaml(serviceYaml("music", "reviews"));
  interner.compact(c);
  EXPECT_TRUE(std::get<Service>(c).ports.handle().same(sa.ports.handle()));
}

}  // namespace
}  // namespace ambient_guard
