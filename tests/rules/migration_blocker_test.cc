// migration-blocker (rules/migration_blocker.h): the hard blockers of Istio's "Migrate from
// Sidecar to Ambient" guide (VM workloads, SPIRE, primary-remote) and sidecars that were not
// restarted after the ambient profile, with objects shaped like Istio's own examples.
#include "rules/migration_blocker.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/rules/rule_review.h"

namespace ambient_guard::rules {
namespace {

using ::ambient_guard::testing::brief;
using ::ambient_guard::testing::checkNamespace;
using ::ambient_guard::testing::docs;
using ::ambient_guard::testing::Expect;
using ::ambient_guard::testing::expectFindings;
using ::ambient_guard::testing::reviewWrite;

constexpr const char* kId = "migration-blocker";

const std::string kShop = R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
)";

const std::string kShopAmbient = R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}
)";

// istio.io docs/setup/install/virtual-machine: the WorkloadGroup and the auto-registered entry.
const std::string kWorkloadGroup = R"(
apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: vm-app, namespace: vm-ns}
spec:
  metadata: {labels: {app: vm-app}}
  template: {serviceAccount: vm-sa, network: vm-network}
  probe: {periodSeconds: 5, initialDelaySeconds: 1, httpGet: {port: 8080, path: /ready}}
)";

const std::string kWorkloadEntry = R"(
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-app-10.128.0.2, namespace: vm-ns}
spec: {address: 10.128.0.2, labels: {app: vm-app}, serviceAccount: vm-sa}
)";

// istio.io docs/ops/integrations/spire: the ClusterSPIFFEID and the injection template.
const std::string kClusterSpiffeId = R"(
apiVersion: spire.spiffe.io/v1alpha1
kind: ClusterSPIFFEID
metadata: {name: example}
spec:
  spiffeIDTemplate: "spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}"
  podSelector: {matchLabels: {spiffe.io/spire-managed-identity: "true"}}
)";

const std::string kSpireCurl = R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: curl, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: curl, spiffe.io/spire-managed-identity: "true"}
      annotations: {inject.istio.io/templates: "sidecar,spire"}
    spec:
      containers:
      - {name: curl, image: curlimages/curl}
)";

std::string istiod(const std::string& env) {
  return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: istiod, namespace: "
         "istio-system}\nspec:\n  template:\n    spec:\n      containers:\n      - name: "
         "discovery\n        image: docker.io/istio/pilot:1.31.1\n        env:\n" +
         env;
}

const std::string kZtunnel = R"(
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ztunnel, namespace: istio-system}
spec:
  template:
    spec:
      containers:
      - {name: istio-proxy, image: docker.io/istio/ztunnel:1.31.1}
status: {desiredNumberScheduled: 3}
)";

// A pod injected before and one injected after the ambient profile (native sidecar).
std::string injectedPod(const std::string& ns, const std::string& name, bool hbone) {
  return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\n  namespace: " + ns +
         "\n  annotations: {sidecar.istio.io/status: '{\"containers\":[\"istio-proxy\"]}'}\n"
         "spec:\n  initContainers:\n  - name: istio-proxy\n    restartPolicy: Always\n"
         "    image: docker.io/istio/proxyv2:1.31.1\n    env:\n"
         "    - {name: ISTIO_META_CLUSTER_ID, value: Kubernetes}\n" +
         (hbone ? "    - {name: ISTIO_META_ENABLE_HBONE, value: \"true\"}\n" : "") +
         "  containers:\n  - {name: app, image: app}\n";
}

TEST(MigrationBlocker, VmWorkloadsBlockEveryNamespace) {
  const auto got = checkNamespace(docs({kShop, kWorkloadGroup, kWorkloadEntry}), "shop", kId);
  expectFindings(got,
                 {Expect{"WorkloadEntry vm-ns/vm-app-10.128.0.2", "kind", Action::kDeny,
                         {"VM-based workloads cannot join the ambient mesh", "shop"},
                         {},
                         "shop"},
                  Expect{"WorkloadGroup vm-ns/vm-app", "kind", Action::kDeny,
                         {"hard blocker", "WorkloadGroup"}}},
                 kId);
}

TEST(MigrationBlocker, SpireIsABlocker) {
  struct Case {
    std::string name;
    std::string cluster;
    std::vector<std::string> want;
  };
  const std::vector<Case> cases = {
      {"ClusterSPIFFEID", docs({kShop, kClusterSpiffeId}), {"deny ClusterSPIFFEID example kind"}},
      {"spire injection template",
       docs({kShop, kSpireCurl}),
       {"deny Deployment shop/curl spec.template.metadata.annotations[inject.istio.io/templates]"}},
      {"no SPIRE", docs({kShop}), {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(brief(checkNamespace(c.cluster, "shop", kId)), c.want);
  }
  const auto got = checkNamespace(docs({kShop, kClusterSpiffeId}), "shop", kId);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].message.find("Ambient mode does not support SPIRE integration"),
            std::string::npos);
}

TEST(MigrationBlocker, PrimaryRemoteControlPlane) {
  const std::string external = "        - {name: EXTERNAL_ISTIOD, value: \"true\"}\n";
  const std::string local = "        - {name: PILOT_ENABLE_AMBIENT, value: \"true\"}\n";
  EXPECT_EQ(brief(checkNamespace(docs({kShop, istiod(external)}), "shop", kId)),
            std::vector<std::string>{"deny Deployment istio-system/istiod "
                                     "spec.template.spec.containers[discovery].env[EXTERNAL_ISTIOD]"});
  EXPECT_TRUE(checkNamespace(docs({kShop, istiod(local)}), "shop", kId).empty());
}

TEST(MigrationBlocker, SidecarsNotRestartedAfterTheAmbientProfile) {
  struct Case {
    std::string name;
    std::string cluster;
    std::vector<std::string> want;
  };
  const std::vector<Case> cases = {
      {"old sidecars in two namespaces, ztunnel installed",
       docs({kShop, kZtunnel, injectedPod("shop", "web-1", false), injectedPod("shop", "web-2", false),
             injectedPod("other", "api-1", false), injectedPod("other", "api-2", true)}),
       {"warn Pod other/api-1 spec.containers[istio-proxy].env[ISTIO_META_ENABLE_HBONE]",
        "warn Pod shop/web-1 spec.containers[istio-proxy].env[ISTIO_META_ENABLE_HBONE]"}},
      {"every sidecar restarted", docs({kShop, kZtunnel, injectedPod("shop", "web-1", true)}), {}},
      {"ambient not installed yet: nothing to restart for",
       docs({kShop, injectedPod("shop", "web-1", false)}),
       {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(brief(checkNamespace(c.cluster, "shop", kId)), c.want);
  }
  const auto got = checkNamespace(
      docs({kShop, kZtunnel, injectedPod("shop", "web-1", false), injectedPod("shop", "web-2", false)}),
      "shop", kId);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].message.find("kubectl rollout restart deployment -n shop"), std::string::npos);
  EXPECT_NE(got[0].message.find("(and 1 more)"), std::string::npos);
}

TEST(MigrationBlocker, EnrollmentIsDeniedWhileAVmIsInTheMesh) {
  const auto got = reviewWrite(docs({kShop, kWorkloadEntry}), kShopAmbient, kId);
  EXPECT_EQ(brief(got), std::vector<std::string>{"deny WorkloadEntry vm-ns/vm-app-10.128.0.2 kind"});
  // Not about namespaces that stay in sidecar mode.
  EXPECT_TRUE(reviewWrite(docs({kShopAmbient, kWorkloadEntry}), kShop, kId).empty());
}

}  // namespace
}  // namespace ambient_guard::rules
