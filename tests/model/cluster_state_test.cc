// ClusterState: Snapshot building (dedupe, namespace names), copy-on-write updates
// (withChanges, withKindReplaced) and the OverlayView of one write.
#include "model/cluster_state.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "tests/testlib/testlib.h"

namespace ambient_guard {
namespace {

using testing::stateFromYaml;

AnyObject service(const std::string& ns, const std::string& name,
                  const std::string& version = "1") {
  Service s;
  s.ns = ns;
  s.name = name;
  s.labels.set("version", version);
  return s;
}

AnyObject namespaceObject(const std::string& name) {
  Namespace n;
  n.name = name;
  return n;
}

AnyObject policy(const std::string& ns, const std::string& name) {
  AuthorizationPolicy ap;
  ap.ns = ns;
  ap.name = name;
  return ap;
}

// Returns the names of the objects of `kind` in ns, in the order the view gives them.
std::vector<std::string> names(const ClusterView& view, Kind kind, const std::string& ns) {
  std::vector<std::string> out;
  view.forEach(kind, ns, [&](const Object& o) { out.push_back(o.name); });
  return out;
}

std::string versionOf(const ClusterView& view, const std::string& ns, const std::string& name) {
  const Service* s = view.find<Service>(ns, name);
  if (s == nullptr) {
    return "<none>";
  }
  const std::string* v = s->labels.get("version");
  return v == nullptr ? "" : *v;
}

using Names = std::vector<std::string>;

TEST(ClusterState, BuildKeepsTheLastOfDuplicates) {
  auto snap =
      Snapshot::build({service("a", "web", "1"), service("a", "api", "1"), service("a", "web", "2"),
                       service("b", "web", "1"), policy("a", "web"), service("a", "web", "3")});
  EXPECT_EQ(versionOf(*snap, "a", "web"), "3");
  EXPECT_EQ(versionOf(*snap, "b", "web"), "1");                     // same name, other namespace
  EXPECT_NE(snap->find<AuthorizationPolicy>("a", "web"), nullptr);  // same name, other kind
  EXPECT_EQ(names(*snap, Kind::kService, "a"), (Names{"api", "web"}));
  EXPECT_EQ(snap->count(Kind::kService), 3u);
  EXPECT_EQ(snap->count(Kind::kAuthorizationPolicy), 1u);
  EXPECT_EQ(snap->count(Kind::kGateway), 0u);
  EXPECT_EQ(snap->objects().size(), 4u);
}

TEST(ClusterState, BuildFromYamlKeepsTheLastOfDuplicates) {
  auto snap = stateFromYaml(R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
)");
  const Namespace* shop = snap->findNamespace("shop");
  ASSERT_NE(shop, nullptr);
  EXPECT_EQ(shop->labels.str(), "istio-injection=enabled");
  EXPECT_EQ(snap->count(Kind::kNamespace), 1u);
}

TEST(ClusterState, NamespaceNames) {
  auto snap = stateFromYaml(R"(
apiVersion: v1
kind: Namespace
metadata: {name: zeta}
---
apiVersion: v1
kind: Namespace
metadata: {name: alpha}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: orphan}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: alpha}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: istio-waypoint}
spec: {controllerName: istio.io/mesh-controller}
)");
  // Namespace objects and namespaces that only have objects; sorted, unique; no "" for the
  // cluster-scoped GatewayClass.
  EXPECT_EQ(snap->namespaceNames(), (Names{"alpha", "orphan", "zeta"}));
  EXPECT_EQ(snap->findNamespace("orphan"), nullptr);
  EXPECT_NE(snap->find<GatewayClass>("", "istio-waypoint"), nullptr);
  EXPECT_NE(snap->find<GatewayClass>("alpha", "istio-waypoint"), nullptr);  // ns ignored
  EXPECT_TRUE(Snapshot::empty()->namespaceNames().empty());
}

TEST(ClusterState, WithChanges) {
  auto base = Snapshot::build({namespaceObject("a"), namespaceObject("b"), service("a", "web"),
                               service("a", "api"), service("b", "db"), service("solo", "only"),
                               policy("b", "p")});
  struct Case {
    std::string name;
    std::vector<AnyObject> puts;
    std::vector<ObjectKey> removes;
    Names namespaces;
    Names services_in_a;
    std::string web_version;
    size_t services;
    bool b_shared;  // namespace b untouched: its objects are the very same
  };
  const std::vector<Case> cases = {
      {"put a new object",
       {service("a", "cart")},
       {},
       {"a", "b", "solo"},
       {"api", "cart", "web"},
       "1",
       5,
       true},
      {"replace an object",
       {service("a", "web", "2")},
       {},
       {"a", "b", "solo"},
       {"api", "web"},
       "2",
       4,
       true},
      {"remove an object",
       {},
       {{Kind::kService, "a", "web"}},
       {"a", "b", "solo"},
       {"api"},
       "<none>",
       3,
       true},
      {"remove a missing object",
       {},
       {{Kind::kService, "a", "nope"}},
       {"a", "b", "solo"},
       {"api", "web"},
       "1",
       4,
       true},
      {"put into a new namespace",
       {service("fresh", "x")},
       {},
       {"a", "b", "fresh", "solo"},
       {"api", "web"},
       "1",
       5,
       true},
      {"remove the last object of a namespace",
       {},
       {{Kind::kService, "solo", "only"}},
       {"a", "b"},
       {"api", "web"},
       "1",
       3,
       true},
      {"remove a Namespace object that still has objects",
       {},
       {{Kind::kNamespace, "", "a"}},
       {"a", "b", "solo"},
       {"api", "web"},
       "1",
       4,
       true},
      {"put then remove the same key",
       {service("a", "cart")},
       {{Kind::kService, "a", "cart"}},
       {"a", "b", "solo"},
       {"api", "web"},
       "1",
       4,
       true},
      {"touch namespace b",
       {policy("b", "q")},
       {},
       {"a", "b", "solo"},
       {"api", "web"},
       "1",
       4,
       false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto next = base->withChanges(c.puts, c.removes);
    EXPECT_EQ(next->namespaceNames(), c.namespaces);
    EXPECT_EQ(names(*next, Kind::kService, "a"), c.services_in_a);
    EXPECT_EQ(versionOf(*next, "a", "web"), c.web_version);
    EXPECT_EQ(next->count(Kind::kService), c.services);
    EXPECT_EQ(next->find<Service>("b", "db") == base->find<Service>("b", "db"), c.b_shared);
    // The base snapshot never changes.
    EXPECT_EQ(base->namespaceNames(), (Names{"a", "b", "solo"}));
    EXPECT_EQ(names(*base, Kind::kService, "a"), (Names{"api", "web"}));
    EXPECT_EQ(versionOf(*base, "a", "web"), "1");
    EXPECT_EQ(base->count(Kind::kService), 4u);
  }
}

TEST(ClusterState, WithChangesRemovingNamespaceObjectOfEmptyNamespace) {
  auto base =
      Snapshot::build({namespaceObject("a"), namespaceObject("empty"), service("a", "web")});
  auto next = base->withChanges({}, {{Kind::kNamespace, "", "empty"}});
  EXPECT_EQ(next->namespaceNames(), (Names{"a"}));
  EXPECT_EQ(next->findNamespace("empty"), nullptr);
  EXPECT_NE(next->findNamespace("a"), nullptr);
  EXPECT_EQ(next->count(Kind::kNamespace), 1u);
}

TEST(ClusterState, WithKindReplaced) {
  auto base = Snapshot::build({namespaceObject("a"), service("a", "web"), policy("a", "old"),
                               policy("onlypolicies", "p"), service("c", "db")});
  auto next = base->withKindReplaced(
      Kind::kAuthorizationPolicy,
      {policy("a", "new"), policy("d", "fresh"), service("a", "ignored-other-kind")});
  EXPECT_EQ(names(*next, Kind::kAuthorizationPolicy, "a"), (Names{"new"}));
  EXPECT_EQ(names(*next, Kind::kAuthorizationPolicy, "d"), (Names{"fresh"}));
  EXPECT_EQ(next->count(Kind::kAuthorizationPolicy), 2u);
  // Other kinds are kept, and objects of another kind in the list are ignored.
  EXPECT_EQ(names(*next, Kind::kService, "a"), (Names{"web"}));
  EXPECT_EQ(next->count(Kind::kService), 2u);
  // A namespace that only had policies is gone; one without policies is shared as is.
  EXPECT_EQ(next->namespaceNames(), (Names{"a", "c", "d"}));
  EXPECT_EQ(next->find<Service>("c", "db"), base->find<Service>("c", "db"));
  EXPECT_NE(next->find<Service>("a", "web"), base->find<Service>("a", "web"));  // bucket copied
  EXPECT_EQ(names(*base, Kind::kAuthorizationPolicy, "a"), (Names{"old"}));
}

TEST(ClusterState, OverlayView) {
  auto base = Snapshot::build({namespaceObject("a"), service("a", "b-svc"), service("a", "d-svc"),
                               service("solo", "only"), policy("a", "p")});
  struct Case {
    std::string name;
    std::optional<AnyObject> put;
    std::optional<ObjectKey> remove;
    Names services_in_a;
    std::string changed_version;  // version of a/b-svc
    size_t services;
    Names namespaces;
  };
  const std::vector<Case> cases = {
      {"put before the first",
       service("a", "a-svc"),
       std::nullopt,
       {"a-svc", "b-svc", "d-svc"},
       "1",
       4,
       {"a", "solo"}},
      {"put in the middle",
       service("a", "c-svc"),
       std::nullopt,
       {"b-svc", "c-svc", "d-svc"},
       "1",
       4,
       {"a", "solo"}},
      {"put after the last",
       service("a", "e-svc"),
       std::nullopt,
       {"b-svc", "d-svc", "e-svc"},
       "1",
       4,
       {"a", "solo"}},
      {"replace",
       service("a", "b-svc", "2"),
       std::nullopt,
       {"b-svc", "d-svc"},
       "2",
       3,
       {"a", "solo"}},
      {"remove",
       std::nullopt,
       ObjectKey{Kind::kService, "a", "b-svc"},
       {"d-svc"},
       "<none>",
       2,
       {"a", "solo"}},
      {"remove a missing object",
       std::nullopt,
       ObjectKey{Kind::kService, "a", "x"},
       {"b-svc", "d-svc"},
       "1",
       3,
       {"a", "solo"}},
      {"put into a new namespace",
       service("new", "x"),
       std::nullopt,
       {"b-svc", "d-svc"},
       "1",
       4,
       {"a", "new", "solo"}},
      {"put a new Namespace",
       namespaceObject("b"),
       std::nullopt,
       {"b-svc", "d-svc"},
       "1",
       3,
       {"a", "b", "solo"}},
      {"remove the last object of a namespace",
       std::nullopt,
       ObjectKey{Kind::kService, "solo", "only"},
       {"b-svc", "d-svc"},
       "1",
       2,
       {"a"}},
      {"remove a Namespace object that still has objects",
       std::nullopt,
       ObjectKey{Kind::kNamespace, "", "a"},
       {"b-svc", "d-svc"},
       "1",
       3,
       {"a", "solo"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::optional<OverlayView> view;
    if (c.put) {
      view.emplace(*base, *c.put);
    } else {
      view.emplace(*base, *c.remove);
    }
    EXPECT_EQ(names(*view, Kind::kService, "a"), c.services_in_a);
    EXPECT_EQ(view->list<Service>("a").size(), c.services_in_a.size());
    EXPECT_EQ(versionOf(*view, "a", "b-svc"), c.changed_version);
    EXPECT_EQ(view->count(Kind::kService), c.services);
    EXPECT_EQ(view->count(Kind::kAuthorizationPolicy), 1u);  // other kinds untouched
    EXPECT_EQ(view->namespaceNames(), c.namespaces);
    if (c.put) {
      const OverlayView referring(*base, &*c.put);  // the same without a copy
      EXPECT_EQ(names(referring, Kind::kService, "a"), c.services_in_a);
      EXPECT_EQ(versionOf(referring, "a", "b-svc"), c.changed_version);
      EXPECT_EQ(referring.count(Kind::kService), c.services);
      EXPECT_EQ(referring.namespaceNames(), c.namespaces);
    }
  }
}

TEST(ClusterState, OverlayViewNamespaces) {
  auto base = Snapshot::build({namespaceObject("a"), namespaceObject("empty"), service("a", "x")});
  Namespace relabelled;
  relabelled.name = "a";
  relabelled.ns = "ignored";  // cluster-scoped: normalized away
  relabelled.labels.set("istio.io/dataplane-mode", "ambient");
  OverlayView put(*base, AnyObject(relabelled));
  ASSERT_NE(put.findNamespace("a"), nullptr);
  EXPECT_EQ(put.findNamespace("a")->labels.str(), "istio.io/dataplane-mode=ambient");
  EXPECT_EQ(put.count(Kind::kNamespace), 2u);
  EXPECT_EQ(names(put, Kind::kNamespace, ""), (Names{"a", "empty"}));
  EXPECT_EQ(put.namespaceNames(), (Names{"a", "empty"}));

  OverlayView removed(*base, ObjectKey{Kind::kNamespace, "", "empty"});
  EXPECT_EQ(removed.findNamespace("empty"), nullptr);
  EXPECT_EQ(removed.count(Kind::kNamespace), 1u);
  EXPECT_EQ(removed.namespaceNames(), (Names{"a"}));  // nothing is left in it

  // Cluster-scoped kinds ignore the namespace they are looked up in.
  GatewayClass gc;
  gc.name = "istio-waypoint";
  gc.ns = "stray";
  OverlayView with_class(*base, AnyObject(gc));
  EXPECT_NE(with_class.find<GatewayClass>("", "istio-waypoint"), nullptr);
  EXPECT_NE(with_class.find<GatewayClass>("a", "istio-waypoint"), nullptr);
  EXPECT_EQ(with_class.count(Kind::kGatewayClass), 1u);
  EXPECT_EQ(with_class.namespaceNames(), (Names{"a", "empty"}));

  // Referring to the written object: a stray namespace is still normalized away, in a copy.
  const AnyObject written(gc);
  const OverlayView referring(*base, &written);
  const GatewayClass* seen = referring.find<GatewayClass>("a", "istio-waypoint");
  ASSERT_NE(seen, nullptr);
  EXPECT_EQ(seen->ns.str(), "");
  EXPECT_EQ(std::get<GatewayClass>(written).ns.str(), "stray");
  const AnyObject relabelled_any(relabelled);
  const OverlayView referring_ns(*base, &relabelled_any);
  ASSERT_NE(referring_ns.findNamespace("a"), nullptr);
  EXPECT_EQ(referring_ns.findNamespace("a")->labels.str(), "istio.io/dataplane-mode=ambient");
}

TEST(ClusterState, OverlayOfOverlay) {
  auto base = Snapshot::build({service("a", "x")});
  OverlayView first(*base, service("a", "y"));
  OverlayView second(first, ObjectKey{Kind::kService, "a", "x"});
  EXPECT_EQ(names(second, Kind::kService, "a"), (Names{"y"}));
  EXPECT_EQ(second.count(Kind::kService), 1u);
  EXPECT_EQ(names(*base, Kind::kService, "a"), (Names{"x"}));
}

}  // namespace
}  // namespace ambient_guard
