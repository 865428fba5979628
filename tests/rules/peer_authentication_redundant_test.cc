// peer-authentication-redundant: PeerAuthentications that change nothing in ambient namespaces
// (rules/peer_authentication_redundant.h), and the namespace PERMISSIVE over mesh STRICT warning
// of peer-authentication-disable.
#include "rules/peer_authentication_redundant.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/rules/rule_review.h"

namespace ambient_guard::rules {
namespace {

using ::ambient_guard::testing::checkNamespace;
using ::ambient_guard::testing::docs;
using ::ambient_guard::testing::reviewWrite;

constexpr const char* kId = "peer-authentication-redundant";

const std::string kNamespaces = R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy, labels: {istio-injection: enabled}}
)";

std::string pa(const std::string& ns, const std::string& name, const std::string& spec,
               const std::string& created = "2024-01-01T00:00:00Z") {
  return "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: " + name +
         ", namespace: " + ns + ", creationTimestamp: \"" + created + "\"}\nspec: " + spec + "\n";
}

const std::string kMeshStrict = pa("istio-system", "default", "{mtls: {mode: STRICT}}");
const std::string kMeshPermissive = pa("istio-system", "default", "{mtls: {mode: PERMISSIVE}}");

TEST(PeerAuthenticationRedundant, Writes) {
  struct Case {
    std::string name;
    std::string cluster;
    std::string object;
    size_t findings;
    std::string contains;
  };
  const std::string strict = docs({kNamespaces, kMeshStrict});
  const std::string permissive = docs({kNamespaces, kMeshPermissive});
  const std::string none = kNamespaces;
  const std::vector<Case> cases = {
      {"namespace STRICT under mesh STRICT", strict,
       pa("shop", "default", "{mtls: {mode: STRICT}}"), 1,
       "already inherits STRICT from the mesh-wide policy istio-system/default"},
      {"namespace PERMISSIVE without a mesh policy", none,
       pa("shop", "default", "{mtls: {mode: PERMISSIVE}}"), 1,
       "the default (PERMISSIVE; no mesh-wide policy)"},
      {"namespace PERMISSIVE under mesh PERMISSIVE", permissive,
       pa("shop", "default", "{mtls: {mode: PERMISSIVE}}"), 1, "already inherits PERMISSIVE"},
      {"namespace UNSET", strict, pa("shop", "default", "{}"), 1, "sets mode UNSET"},
      {"younger namespace policy is ignored",
       docs({strict, pa("shop", "old", "{mtls: {mode: PERMISSIVE}}", "2023-01-01T00:00:00Z")}),
       pa("shop", "young", "{mtls: {mode: STRICT}}"), 1,
       "is ignored: istiod uses only the oldest namespace-wide PeerAuthentication of shop, which "
       "is old"},
      {"workload STRICT under effective STRICT", strict,
       pa("shop", "cart", "{selector: {matchLabels: {app: cart}}, mtls: {mode: STRICT}}"), 1,
       "workloads app=cart, which already get STRICT from their namespace shop"},
      {"workload PERMISSIVE under effective PERMISSIVE", none,
       pa("shop", "cart", "{selector: {matchLabels: {app: cart}}, mtls: {mode: PERMISSIVE}}"), 1,
       "already get PERMISSIVE"},
      {"mesh-wide PERMISSIVE", kNamespaces, kMeshPermissive, 1,
       "what every workload gets without any mesh-wide policy"},
      // Policies that change the effective mode.
      {"namespace STRICT without a mesh policy", none,
       pa("shop", "default", "{mtls: {mode: STRICT}}"), 0, ""},
      {"namespace STRICT under mesh PERMISSIVE", permissive,
       pa("shop", "default", "{mtls: {mode: STRICT}}"), 0, ""},
      {"workload PERMISSIVE exception under STRICT", strict,
       pa("shop", "cart", "{selector: {matchLabels: {app: cart}}, mtls: {mode: PERMISSIVE}}"), 0,
       ""},
      {"workload STRICT with port exceptions", strict,
       pa("shop", "cart",
          "{selector: {matchLabels: {app: cart}}, mtls: {mode: STRICT}, portLevelMtls: {\"8080\": "
          "{mode: PERMISSIVE}}}"),
       0, ""},
      {"mesh-wide STRICT", kNamespaces, kMeshStrict, 0, ""},
      {"DISABLE is peer-authentication-disable's", none,
       pa("shop", "default", "{mtls: {mode: DISABLE}}"), 0, ""},
      {"sidecar namespace", strict, pa("legacy", "default", "{mtls: {mode: STRICT}}"), 0, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto findings = reviewWrite(c.cluster, c.object, kId);
    ASSERT_EQ(findings.size(), c.findings);
    if (c.findings == 1) {
      EXPECT_EQ(findings[0].action, Action::kDryrun);
      EXPECT_NE(findings[0].message.find(c.contains), std::string::npos) << findings[0].message;
      EXPECT_NE(findings[0].message.find("kubectl delete peerauthentication"), std::string::npos);
    }
  }
}

TEST(PeerAuthenticationRedundant, EnrollmentAndCheck) {
  const std::string cluster =
      docs({kNamespaces, kMeshStrict, pa("legacy", "default", "{mtls: {mode: STRICT}}")});
  const std::string enroll = R"(apiVersion: v1
kind: Namespace
metadata: {name: legacy, labels: {istio.io/dataplane-mode: ambient}})";
  auto findings = reviewWrite(cluster, enroll, kId);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].object.str(), "PeerAuthentication legacy/default");
  EXPECT_EQ(checkNamespace(cluster, "legacy", kId).size(), 1u);
  // The mesh-wide policy is reported on its own write, not once per namespace.
  EXPECT_TRUE(checkNamespace(docs({kNamespaces, kMeshPermissive}), "shop", kId).empty());
}

TEST(PeerAuthenticationDisableFamily, NamespacePermissiveOverridesMeshStrict) {
  const std::string id = "peer-authentication-disable";
  const std::string strict = docs({kNamespaces, kMeshStrict});
  auto findings = reviewWrite(strict, pa("shop", "default", "{mtls: {mode: PERMISSIVE}}"), id);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].action, Action::kWarn);
  EXPECT_EQ(findings[0].field, "spec.mtls.mode");
  EXPECT_NE(findings[0].message.find("overrides the mesh-wide STRICT policy istio-system/default"),
            std::string::npos)
      << findings[0].message;
  // Not when the mesh is not STRICT, not for workload policies, not in sidecar namespaces, and
  // not for a younger namespace policy that istiod ignores.
  EXPECT_TRUE(reviewWrite(docs({kNamespaces, kMeshPermissive}),
                          pa("shop", "default", "{mtls: {mode: PERMISSIVE}}"), id)
                  .empty());
  EXPECT_TRUE(reviewWrite(strict,
                          pa("shop", "cart",
                             "{selector: {matchLabels: {app: cart}}, mtls: {mode: PERMISSIVE}}"),
                          id)
                  .empty());
  EXPECT_TRUE(reviewWrite(strict, pa("legacy", "default", "{mtls: {mode: PERMISSIVE}}"), id).empty());
  EXPECT_TRUE(reviewWrite(docs({strict, pa("shop", "old", "{mtls: {mode: STRICT}}",
                                           "2023-01-01T00:00:00Z")}),
                          pa("shop", "young", "{mtls: {mode: PERMISSIVE}}"), id)
                  .empty());
  // A namespace DISABLE stays a deny.
  auto disable = reviewWrite(strict, pa("shop", "default", "{mtls: {mode: DISABLE}}"), id);
  ASSERT_EQ(disable.size(), 1u);
  EXPECT_EQ(disable[0].action, Action::kDeny);
}

}  // namespace
}  // namespace ambient_guard::rules
