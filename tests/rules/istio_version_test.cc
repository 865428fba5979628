// rules/istio_version.h: where the assumed Istio version comes from, and the release tables
// (docs/istio-1.31-notes.md §1).
#include "rules/istio_version.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/rules/rule_review.h"

namespace ambient_guard::rules {
namespace {

using ::ambient_guard::testing::docs;
using platform::Version;

std::string istiod(const std::string& ns, const std::string& name, const std::string& tag) {
  return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: " + name + ", namespace: " + ns +
         "}\nspec:\n  template:\n    spec:\n      containers:\n      - name: discovery\n"
         "        image: docker.io/istio/pilot:" + tag + "\n";
}

const std::string kIstioCni = R"(
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: istio-cni-node, namespace: istio-system}
spec:
  template:
    spec:
      containers:
      - {name: install-cni, image: docker.io/istio/install-cni:1.29.2-distroless}
status: {desiredNumberScheduled: 3}
)";

TEST(IstioVersion, FlagThenIstiodThenNodeAgents) {
  struct Case {
    std::string name;
    std::string cluster;
    std::string flag;
    std::string want;  // describe()
  };
  const std::vector<Case> cases = {
      {"flag wins", docs({istiod("istio-system", "istiod", "1.30.3")}), "1.28.7",
       "Istio 1.28.7 (--istio-version 1.28.7)"},
      {"istiod image tag", docs({istiod("istio-system", "istiod", "1.30.3"), kIstioCni}), "",
       "Istio 1.30.3 (image of Deployment istio-system/istiod: docker.io/istio/pilot:1.30.3)"},
      {"canary upgrade: the lowest revision",
       docs({istiod("istio-system", "istiod-1-31-1", "1.31.1"),
             istiod("istio-system", "istiod-1-30-3", "1.30.3")}),
       "", "Istio 1.30.3 (image of Deployment istio-system/istiod-1-30-3: docker.io/istio/pilot:1.30.3)"},
      {"istiod outside the root namespace", docs({istiod("istio-cp", "istiod", "1.31.0")}), "",
       "Istio 1.31.0 (image of Deployment istio-cp/istiod: docker.io/istio/pilot:1.31.0)"},
      {"no istiod: istio-cni tag", docs({kIstioCni}), "",
       "Istio 1.29.2 (image tag of the istio-cni / ztunnel DaemonSet)"},
      {"nothing", docs({"apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"}), "",
       "Istio version unknown (no --istio-version and no istiod, istio-cni or ztunnel image in "
       "the state)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    MeshSettings mesh;
    mesh.istio_version = c.flag;
    auto state = ::ambient_guard::testing::stateFromYaml(c.cluster);
    EXPECT_EQ(istioVersionOf(*state, mesh).describe(), c.want);
  }
}

TEST(IstioVersion, AResolvedVersionIsUsedInsteadOfTheStateButNotTheFlag) {
  // The live webhook resolves the version once per change (Reviewer::followControlPlaneIn).
  auto state = ::ambient_guard::testing::stateFromYaml(
      docs({istiod("istio-system", "istiod", "1.30.3")}));
  MeshSettings mesh;
  mesh.resolved_istio_version =
      MeshSettings::ResolvedIstioVersion{"1.27.3", "image of Deployment istio-system/istiod"};
  EXPECT_EQ(istioVersionOf(*state, mesh).describe(),
            "Istio 1.27.3 (image of Deployment istio-system/istiod)");
  mesh.resolved_istio_version = MeshSettings::ResolvedIstioVersion{"", "nothing found"};
  EXPECT_EQ(istioVersionOf(*state, mesh).describe(), "Istio version unknown (nothing found)");
  mesh.istio_version = "1.29.0";
  EXPECT_EQ(istioVersionOf(*state, mesh).describe(), "Istio 1.29.0 (--istio-version 1.29.0)");
}

TEST(IstioVersion, ReleaseTables) {
  // Branch-ENI probe fix: 1.28.7, 1.29.3, 1.30.0 (istio.io release notes).
  EXPECT_FALSE(hasBranchEniProbeFix(Version{1, 27, 9}));
  EXPECT_FALSE(hasBranchEniProbeFix(Version{1, 28, 6}));
  EXPECT_TRUE(hasBranchEniProbeFix(Version{1, 28, 7}));
  EXPECT_FALSE(hasBranchEniProbeFix(Version{1, 29, 2}));
  EXPECT_TRUE(hasBranchEniProbeFix(Version{1, 29, 3}));
  EXPECT_TRUE(hasBranchEniProbeFix(Version{1, 30, 0}));
  EXPECT_TRUE(hasBranchEniProbeFix(Version{1, 31, 1}));
  // ztunnel dry-run from 1.29; trustDomains in the API from 1.31, reported by istiod after 1.31.
  EXPECT_FALSE(supportsZtunnelDryRun(Version{1, 28, 9}));
  EXPECT_TRUE(supportsZtunnelDryRun(Version{1, 29, 0}));
  EXPECT_FALSE(hasTrustDomainsField(Version{1, 30, 5}));
  EXPECT_TRUE(hasTrustDomainsField(Version{1, 31, 0}));
  EXPECT_FALSE(reportsTrustDomainsAsHttp(Version{1, 31, 1}));
  EXPECT_TRUE(reportsTrustDomainsAsHttp(Version{1, 32, 0}));
}

}  // namespace
}  // namespace ambient_guard::rules
