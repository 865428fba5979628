// peer-authentication-disable through the Reviewer: PeerAuthentication writes, namespace
// enrollment (admission and pre-flight), pre-existing marking and deletes.
#include "rules/peer_authentication_disable.h"

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

constexpr std::string_view kRule = "peer-authentication-disable";

constexpr const char* kNamespaces = R"(
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
metadata: {name: billing, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: legacy}
spec: {selector: {app: web}}
)";

// Returns a PeerAuthentication document.
std::string pa(const std::string& ns, const std::string& name, const std::string& spec,
               const std::string& created = "2024-06-01T00:00:00Z") {
  return "---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: " +
         name + ", namespace: " + ns + ", creationTimestamp: \"" + created + "\"}\nspec: " + spec +
         "\n";
}

const std::string kMeshStrict =
    pa("istio-system", "default", "{mtls: {mode: STRICT}}", "2024-01-01T00:00:00Z");

std::string ns(const std::string& name, const std::string& labels) {
  return "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + name + ", labels: " + labels +
         "}\n";
}

TEST(PeerAuthenticationDisable, PolicyWrites) {
  struct Case {
    std::string name;
    std::string cluster;  // added to kNamespaces
    std::string write;    // the PeerAuthentication created
    std::vector<Expect> want;
  };
  const std::string web_port_disable =
      "{selector: {matchLabels: {app: web}}, portLevelMtls: {\"8080\": {mode: DISABLE}}}";
  const std::vector<Case> cases = {
      {"namespace DISABLE in an ambient namespace",
       "",
       pa("shop", "no-mtls", "{mtls: {mode: DISABLE}}"),
       {{"PeerAuthentication shop/no-mtls",
         "spec.mtls.mode",
         Action::kDeny,
         {"(namespace-wide) sets mtls.mode DISABLE", "ambient namespace shop",
          "treats it as PERMISSIVE", "`mtls: {mode: PERMISSIVE}`"},
         {"overrides the mesh-wide STRICT"},
         "shop"}}},
      {"namespace DISABLE under a mesh STRICT names the mesh policy",
       kMeshStrict,
       pa("shop", "no-mtls", "{mtls: {mode: DISABLE}}"),
       {{"PeerAuthentication shop/no-mtls",
         "spec.mtls.mode",
         Action::kDeny,
         {"overrides the mesh-wide STRICT policy istio-system/default for the whole namespace"}}}},
      {"workload DISABLE",
       kMeshStrict,
       pa("shop", "web", "{selector: {matchLabels: {app: web}}, mtls: {mode: DISABLE}}"),
       {{"PeerAuthentication shop/web",
         "spec.mtls.mode",
         Action::kDeny,
         {"(selector app=web) sets mtls.mode DISABLE"},
         {"overrides the mesh-wide STRICT"}}}},
      {"DISABLE in a sidecar namespace",
       kMeshStrict,
       pa("legacy", "no-mtls", "{mtls: {mode: DISABLE}}"),
       {}},
      {"DISABLE in a namespace the cluster does not have",
       "",
       pa("ghost", "no-mtls", "{mtls: {mode: DISABLE}}"),
       {}},
      {"mesh-wide DISABLE covers every ambient namespace",
       "",
       pa("istio-system", "mesh-off", "{mtls: {mode: DISABLE}}"),
       {{"PeerAuthentication istio-system/mesh-off",
         "spec.mtls.mode",
         Action::kDeny,
         {"(mesh-wide: root namespace istio-system)", "ambient namespaces billing, shop"}}}},
      {"root-namespace selector DISABLE is ignored by istiod",
       "",
       pa("istio-system", "web-off",
          "{selector: {matchLabels: {app: web}}, mtls: {mode: DISABLE}}"),
       {}},
      {"port DISABLE under an inherited mesh STRICT stays STRICT",
       kMeshStrict,
       pa("shop", "web", web_port_disable),
       {{"PeerAuthentication shop/web",
         "spec.portLevelMtls.8080.mode",
         Action::kDeny,
         {"portLevelMtls[8080] DISABLE", "does not exempt the port",
          "port 8080 stays STRICT and plaintext callers are refused",
          "`portLevelMtls: {8080: {mode: PERMISSIVE}}`"},
         {"acts as PERMISSIVE"}}}},
      {"port DISABLE under an inherited namespace STRICT stays STRICT",
       pa("shop", "default", "{mtls: {mode: STRICT}}", "2024-01-01T00:00:00Z"),
       pa("shop", "web", web_port_disable),
       {{"PeerAuthentication shop/web",
         "spec.portLevelMtls.8080.mode",
         Action::kDeny,
         {"port 8080 stays STRICT"}}}},
      {"port DISABLE without a STRICT parent acts as PERMISSIVE",
       "",
       pa("shop", "web", web_port_disable),
       {{"PeerAuthentication shop/web",
         "spec.portLevelMtls.8080.mode",
         Action::kDeny,
         {"acts as PERMISSIVE on port 8080", "plaintext from outside the mesh is accepted"},
         {"stays STRICT"}}}},
      {"port DISABLE under a namespace PERMISSIVE that overrides mesh STRICT",
       kMeshStrict + pa("shop", "default", "{mtls: {mode: PERMISSIVE}}", "2024-01-01T00:00:00Z"),
       pa("shop", "web", web_port_disable),
       {{"PeerAuthentication shop/web",
         "spec.portLevelMtls.8080.mode",
         Action::kDeny,
         {"acts as PERMISSIVE on port 8080"}}}},
      {"port DISABLE under the workload's own STRICT acts as PERMISSIVE",
       kMeshStrict,
       pa("shop", "web",
          "{selector: {matchLabels: {app: web}}, mtls: {mode: STRICT}, portLevelMtls: {\"8080\": "
          "{mode: DISABLE}}}"),
       {{"PeerAuthentication shop/web",
         "spec.portLevelMtls.8080.mode",
         Action::kDeny,
         {"acts as PERMISSIVE on port 8080"}}}},
      {"top-level and port DISABLE are two findings",
       "",
       pa("shop", "web",
          "{selector: {matchLabels: {app: web}}, mtls: {mode: DISABLE}, portLevelMtls: {\"8080\": "
          "{mode: DISABLE}, \"9090\": {mode: STRICT}}}"),
       {{"PeerAuthentication shop/web", "spec.mtls.mode", Action::kDeny, {"mtls.mode DISABLE"}},
        {"PeerAuthentication shop/web",
         "spec.portLevelMtls.8080.mode",
         Action::kDeny,
         {"portLevelMtls[8080] DISABLE"}}}},
      {"namespace PERMISSIVE under a mesh STRICT is a warning",
       kMeshStrict,
       pa("shop", "open", "{mtls: {mode: PERMISSIVE}}"),
       {{"PeerAuthentication shop/open",
         "spec.mtls.mode",
         Action::kWarn,
         {"overrides the mesh-wide STRICT policy istio-system/default"}}}},
      {"namespace PERMISSIVE without a mesh policy",
       "",
       pa("shop", "open", "{mtls: {mode: PERMISSIVE}}"),
       {}},
      {"STRICT", kMeshStrict, pa("shop", "strict", "{mtls: {mode: STRICT}}"), {}},
      {"workload PERMISSIVE",
       kMeshStrict,
       pa("shop", "web", "{selector: {matchLabels: {app: web}}, mtls: {mode: PERMISSIVE}}"),
       {}},
      {"port PERMISSIVE",
       kMeshStrict,
       pa("shop", "web",
          "{selector: {matchLabels: {app: web}}, portLevelMtls: {\"8080\": {mode: PERMISSIVE}}}"),
       {}},
  };
  const Reviewer reviewer = testing::defaultReviewer();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto state = stateFromYaml(std::string(kNamespaces) + c.cluster);
    expectFindings(ofRule(reviewer.review(*state, createOf(c.write)), kRule), c.want, kRule);
  }
}

TEST(PeerAuthenticationDisable, NamespaceChangesAndLifecycle) {
  struct Case {
    std::string name;
    std::string cluster;  // added to kNamespaces
    std::function<Change()> change;
    std::vector<Expect> want;
  };
  const std::string legacy_off = pa("legacy", "no-mtls", "{mtls: {mode: DISABLE}}");
  const std::string shop_off = pa("shop", "no-mtls", "{mtls: {mode: DISABLE}}");
  const std::string shop_strict = pa("shop", "no-mtls", "{mtls: {mode: STRICT}}");
  const std::string legacy_ns = ns("legacy", "{istio-injection: enabled}");
  const std::string legacy_ambient = ns("legacy", "{istio.io/dataplane-mode: ambient}");
  const std::string shop_ns = ns("shop", "{istio.io/dataplane-mode: ambient}");
  const std::vector<Case> cases = {
      {"enrolling a namespace that has a DISABLE policy",
       legacy_off,
       [&] { return updateOf(legacy_ns, legacy_ambient); },
       {{"PeerAuthentication legacy/no-mtls",
         "spec.mtls.mode",
         Action::kDeny,
         {"ambient namespace legacy"},
         {},
         "legacy"}}},
      {"enrolling under a mesh-wide DISABLE",
       pa("istio-system", "mesh-off", "{mtls: {mode: DISABLE}}"),
       [&] { return updateOf(legacy_ns, legacy_ambient); },
       {{"PeerAuthentication istio-system/mesh-off",
         "spec.mtls.mode",
         Action::kDeny,
         {"(mesh-wide: root namespace istio-system)", "ambient namespace legacy"},
         {},
         "legacy"}}},
      {"a new ambient namespace under a mesh-wide DISABLE",
       pa("istio-system", "mesh-off", "{mtls: {mode: DISABLE}}"),
       [&] { return createOf(ns("fresh", "{istio.io/dataplane-mode: ambient}")); },
       {{"PeerAuthentication istio-system/mesh-off",
         "spec.mtls.mode",
         Action::kDeny,
         {},
         {},
         "fresh"}}},
      {"enrolling under a root-namespace selector DISABLE",
       pa("istio-system", "web-off",
          "{selector: {matchLabels: {app: web}}, mtls: {mode: DISABLE}}"),
       [&] { return updateOf(legacy_ns, legacy_ambient); },
       {}},
      {"enrolling with the injection label kept: the sidecar wins, not ambient",
       legacy_off,
       [&] {
         return updateOf(
             legacy_ns,
             ns("legacy", "{istio-injection: enabled, istio.io/dataplane-mode: ambient}"));
       },
       {}},
      {"unrelated label edit on an ambient namespace marks the finding pre-existing",
       shop_off,
       [&] { return updateOf(shop_ns, ns("shop", "{istio.io/dataplane-mode: ambient, team: x}")); },
       {{"PeerAuthentication shop/no-mtls",
         "spec.mtls.mode",
         Action::kDeny,
         {},
         {},
         "shop",
         /*pre_existing=*/true}}},
      {"re-applying an existing DISABLE policy is pre-existing",
       shop_off,
       [&] { return updateOf(shop_off, shop_off); },
       {{"PeerAuthentication shop/no-mtls",
         "spec.mtls.mode",
         Action::kDeny,
         {},
         {},
         "shop",
         /*pre_existing=*/true}}},
      {"STRICT changed to DISABLE is new",
       shop_strict,
       [&] { return updateOf(shop_strict, shop_off); },
       {{"PeerAuthentication shop/no-mtls",
         "spec.mtls.mode",
         Action::kDeny,
         {},
         {},
         "shop",
         /*pre_existing=*/false}}},
      {"deleting the DISABLE policy", shop_off, [&] { return deleteOf(shop_off); }, {}},
      {"leaving ambient",
       shop_off,
       [&] { return updateOf(shop_ns, ns("shop", "{istio.io/dataplane-mode: none}")); },
       {}},
      {"deleting the namespace", shop_off, [&] { return deleteOf(shop_ns); }, {}},
  };
  const Reviewer reviewer = testing::defaultReviewer();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto state = stateFromYaml(std::string(kNamespaces) + c.cluster);
    expectFindings(ofRule(reviewer.review(*state, c.change()), kRule), c.want, kRule);
  }
}

TEST(PeerAuthenticationDisable, PreflightReviewNamespace) {
  struct Case {
    std::string name;
    std::string cluster;
    std::string ns;
    std::vector<Expect> want;
  };
  const std::vector<Case> cases = {
      {"sidecar namespace evaluated as enrolled",
       pa("legacy", "no-mtls", "{mtls: {mode: DISABLE}}"),
       "legacy",
       {{"PeerAuthentication legacy/no-mtls", "spec.mtls.mode", Action::kDeny, {}, {}, "legacy"}}},
      {"mesh-wide DISABLE applies to every ambient namespace",
       pa("istio-system", "mesh-off", "{mtls: {mode: DISABLE}}"),
       "billing",
       {{"PeerAuthentication istio-system/mesh-off",
         "spec.mtls.mode",
         Action::kDeny,
         {},
         {},
         "billing"}}},
      {"root-namespace selector DISABLE is ignored",
       pa("istio-system", "web-off",
          "{selector: {matchLabels: {app: web}}, mtls: {mode: DISABLE}}"),
       "shop",
       {}},
      {"port DISABLE stays STRICT under the mesh STRICT",
       kMeshStrict + pa("shop", "web",
                        "{selector: {matchLabels: {app: web}}, portLevelMtls: {\"8080\": {mode: "
                        "DISABLE}}}"),
       "shop",
       {{"PeerAuthentication shop/web",
         "spec.portLevelMtls.8080.mode",
         Action::kDeny,
         {"stays STRICT"}}}},
      {"DISABLE in another namespace",
       pa("billing", "no-mtls", "{mtls: {mode: DISABLE}}"),
       "shop",
       {}},
  };
  const Reviewer reviewer = testing::defaultReviewer();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto state = stateFromYaml(std::string(kNamespaces) + c.cluster);
    expectFindings(ofRule(reviewer.reviewNamespace(*state, c.ns), kRule), c.want, kRule);
  }
}

}  // namespace
}  // namespace ambient_guard
