// network-policy-blocks-probes (rules/network_policy_blocks_probes.h): probe ports from the
// workload template (not the sidecar-rewritten Pod), the exact ipBlock exception, and the CNIs on
// which a blocked probe is a certain failure (spec §1.3 rule 7).
#include "rules/network_policy_blocks_probes.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/rules/rule_review.h"

namespace ambient_guard::rules {
namespace {

using ::ambient_guard::testing::anyMessageHas;
using ::ambient_guard::testing::brief;
using ::ambient_guard::testing::checkNamespace;
using ::ambient_guard::testing::docs;
using ::ambient_guard::testing::reviewWrite;

constexpr const char* kId = "network-policy-blocks-probes";

const std::string kNamespace = R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}
)";

const std::string kWeb = R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /ready, port: http}}
        livenessProbe: {tcpSocket: {port: 8080}}
      - name: sidecar-helper
        livenessProbe: {exec: {command: [true]}}
)";

const std::string kDenyAll = R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress]}
)";

TEST(NetworkPolicyBlocksProbes, DenyAllBlocksTemplateProbesWithTheExactException) {
  const auto findings = reviewWrite(docs({kNamespace, kWeb}), kDenyAll, kId);
  ASSERT_EQ(brief(findings),
            (std::vector<std::string>{"warn NetworkPolicy shop/deny-all spec.ingress"}));
  const std::string& m = findings[0].message;
  EXPECT_NE(m.find("isolates Deployment web"), std::string::npos) << m;
  EXPECT_NE(m.find("web readinessProbe httpGet :8080"), std::string::npos) << m;
  EXPECT_NE(m.find("web livenessProbe tcpSocket :8080"), std::string::npos) << m;
  EXPECT_EQ(m.find("exec"), std::string::npos) << m;
  EXPECT_NE(m.find("depending on the CNI"), std::string::npos);
  EXPECT_NE(m.find("  - from:\n    - ipBlock: {cidr: 169.254.7.127/32}\n    ports:\n"
                   "    - {port: 8080, protocol: TCP}"),
            std::string::npos)
      << m;
}

TEST(NetworkPolicyBlocksProbes, PoliciesThatAdmitTheProbeSourcePass) {
  struct Case {
    std::string name;
    std::string policy;
  };
  const std::vector<Case> cases = {
      {"documented exception policy", R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-ingress-allow-kubelet-healthprobes, namespace: shop}
spec:
  podSelector: {}
  ingress: [{from: [{ipBlock: {cidr: 169.254.7.127/32}}]}]
)"},
      {"app port open to all sources", R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{ports: [{port: 8080}, {port: 15008}]}]
)"},
      {"Egress-only policy", R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress, namespace: shop}
spec: {podSelector: {}, policyTypes: [Egress]}
)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_TRUE(reviewWrite(docs({kNamespace, kWeb}), c.policy, kId).empty());
  }
}

TEST(NetworkPolicyBlocksProbes, PodSelectorPeersDoNotAdmitProbes) {
  const auto findings = reviewWrite(docs({kNamespace, kWeb}), R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {}}, {namespaceSelector: {}}]
    ports: [{port: 8080}, {port: 15008}]
)",
                                    kId);
  EXPECT_EQ(brief(findings), (std::vector<std::string>{"warn NetworkPolicy shop/web spec.ingress"}));
}

TEST(NetworkPolicyBlocksProbes, SidecarPodsUseTheRecordedAppProbes) {
  // A bare sidecar-era Pod: its probe points at the status port 15020; the injector recorded the
  // app's own probe in ISTIO_KUBE_APP_PROBERS, which is what the kubelet hits after cutover.
  const std::string pod = R"(
apiVersion: v1
kind: Pod
metadata:
  name: legacy-1
  namespace: shop
  labels: {app: legacy}
  annotations: {sidecar.istio.io/status: '{"containers":["istio-proxy"]}'}
spec:
  containers:
  - name: app
    readinessProbe: {httpGet: {path: /app-health/app/readyz, port: 15020}}
  - name: istio-proxy
    env:
    - name: ISTIO_KUBE_APP_PROBERS
      value: '{"/app-health/app/readyz":{"httpGet":{"path":"/ready","port":9000,"scheme":"HTTP"},"timeoutSeconds":1}}'
    readinessProbe: {httpGet: {path: /healthz/ready, port: 15021}}
)";
  const auto findings = reviewWrite(docs({kNamespace, pod}), kDenyAll, kId);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_TRUE(anyMessageHas(findings, "legacy-1 readinessProbe httpGet :9000"));
  EXPECT_FALSE(anyMessageHas(findings, ":15020"));
  EXPECT_FALSE(anyMessageHas(findings, ":15021"));
}

TEST(NetworkPolicyBlocksProbes, HardFailurePlatformsDeny) {
  struct Case {
    std::string name;
    std::string platform;
    Action want;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"no CNI objects: depends on the CNI", "", Action::kWarn, "depending on the CNI"},
      {"Cilium", R"(
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: cilium, namespace: kube-system}
spec: {template: {spec: {containers: [{name: cilium-agent, image: quay.io/cilium/cilium:v1.16.0}]}}}
)",
       Action::kDeny, "Cilium (DaemonSet kube-system/cilium)"},
      {"Calico eBPF 3.28.1", R"(
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: calico-node, namespace: calico-system}
spec: {template: {spec: {containers: [{name: calico-node, image: docker.io/calico/node:v3.28.1}]}}}
---
apiVersion: crd.projectcalico.org/v1
kind: FelixConfiguration
metadata: {name: default}
spec: {bpfEnabled: true}
)",
       Action::kDeny, "Calico eBPF dataplane 3.28.1"},
      {"Calico eBPF 3.29.0", R"(
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: calico-node, namespace: calico-system}
spec: {template: {spec: {containers: [{name: calico-node, image: docker.io/calico/node:v3.29.0}]}}}
---
apiVersion: crd.projectcalico.org/v1
kind: FelixConfiguration
metadata: {name: default}
spec: {bpfEnabled: true}
)",
       Action::kWarn, "depending on the CNI"},
      {"Calico iptables", R"(
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: calico-node, namespace: kube-system}
spec: {template: {spec: {containers: [{name: calico-node, image: docker.io/calico/node:v3.26.0}]}}}
)",
       Action::kWarn, "depending on the CNI"},
      {"EKS security groups for pods, strict", R"(
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: aws-node, namespace: kube-system}
spec:
  template:
    spec:
      containers:
      - name: aws-node
        env: [{name: ENABLE_POD_ENI, value: "true"}]
---
apiVersion: vpcresources.k8s.aws/v1beta1
kind: SecurityGroupPolicy
metadata: {name: web-sg, namespace: shop}
)",
       Action::kDeny, "EKS security groups for pods in strict mode"},
      // istio-cni 1.30.0 has the branch-ENI probe fix (istio.io 1.30.0 change notes): the probe
      // then depends on the NetworkPolicy alone, as on any CNI.
      {"EKS security groups for pods, strict, Istio 1.30.0", R"(
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: aws-node, namespace: kube-system}
spec:
  template:
    spec:
      containers:
      - name: aws-node
        env: [{name: ENABLE_POD_ENI, value: "true"}]
---
apiVersion: vpcresources.k8s.aws/v1beta1
kind: SecurityGroupPolicy
metadata: {name: web-sg, namespace: shop}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: istio-cni-node, namespace: istio-system}
spec: {template: {spec: {containers: [{name: install-cni, image: docker.io/istio/install-cni:1.30.0}]}}}
)",
       Action::kWarn, "depending on the CNI"},
      {"EKS security groups for pods, standard", R"(
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: aws-node, namespace: kube-system}
spec:
  template:
    spec:
      containers:
      - name: aws-node
        env:
        - {name: ENABLE_POD_ENI, value: "true"}
        - {name: POD_SECURITY_GROUP_ENFORCING_MODE, value: standard}
---
apiVersion: vpcresources.k8s.aws/v1beta1
kind: SecurityGroupPolicy
metadata: {name: web-sg, namespace: shop}
)",
       Action::kWarn, "depending on the CNI"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto findings = reviewWrite(docs({kNamespace, kWeb, c.platform}), kDenyAll, kId);
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_EQ(actionName(findings[0].action), actionName(c.want));
    EXPECT_TRUE(anyMessageHas(findings, c.says)) << findings[0].message;
  }
}

TEST(NetworkPolicyBlocksProbes, ConfiguredSnatAndIpv6Addresses) {
  const std::string platform = R"(
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: istio-cni-node, namespace: istio-system}
spec:
  template:
    spec:
      containers:
      - name: install-cni
        env: [{name: HOST_PROBE_SNAT_IP, value: 169.254.10.10}]
---
apiVersion: v1
kind: Node
metadata: {name: node-1}
spec: {podCIDRs: [10.244.1.0/24, 'fd00:10:244:1::/64']}
)";
  const auto findings = reviewWrite(docs({kNamespace, kWeb, platform}), R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: shop}
spec:
  podSelector: {}
  ingress: [{from: [{ipBlock: {cidr: 169.254.7.127/32}}]}]
)",
                                    kId);
  ASSERT_EQ(findings.size(), 1u);
  const std::string& m = findings[0].message;
  EXPECT_NE(m.find("probe source 169.254.10.10"), std::string::npos) << m;
  EXPECT_NE(m.find("- ipBlock: {cidr: 169.254.10.10/32}"), std::string::npos) << m;
  EXPECT_NE(m.find("- ipBlock: {cidr: fd16:9254:7127:1337:ffff:ffff:ffff:ffff/128}"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("istio/istio#56484"), std::string::npos);
}

TEST(NetworkPolicyBlocksProbes, EnrollmentOfASidecarNamespaceUsesTemplates) {
  // The Pod of the sidecar era has its probes rewritten; the Deployment has the real port.
  const std::string cluster = R"(
apiVersion: v1
kind: Namespace
metadata: {name: legacy, labels: {istio-injection: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: legacy}
spec:
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: api, readinessProbe: {httpGet: {port: 7000}}}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: api-7c9-x
  namespace: legacy
  labels: {app: api}
  annotations: {sidecar.istio.io/status: '{}'}
spec:
  containers:
  - {name: api, readinessProbe: {httpGet: {path: /app-health/api/readyz, port: 15020}}}
  - {name: istio-proxy}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: legacy}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{from: [{podSelector: {}}], ports: [{port: 7000}]}]
)";
  const auto findings = checkNamespace(cluster, "legacy", kId);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_TRUE(anyMessageHas(findings, "api readinessProbe httpGet :7000"));
  EXPECT_TRUE(anyMessageHas(findings, "- {port: 7000, protocol: TCP}"));
}

}  // namespace
}  // namespace ambient_guard::rules
