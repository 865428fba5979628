// cni-incompatible (rules/cni_incompatible.h): one case per row of
// ../shared/spec/platform-and-cost.md §2.1-§2.3 that a backup can show, and pre-flight only.
#include "rules/cni_incompatible.h"

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

constexpr const char* kId = "cni-incompatible";

const std::string kShop = R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}
)";

std::string ciliumConfig(const std::string& data) {
  return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cilium-config, namespace: "
         "kube-system}\ndata:\n" +
         data;
}

std::string daemonSet(const std::string& ns, const std::string& name, const std::string& containers,
                      const std::string& extra_spec = "") {
  return "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: " + name + ", namespace: " + ns +
         "}\nspec:\n  template:\n    spec:\n" + extra_spec + "      containers:\n" + containers +
         "status: {desiredNumberScheduled: 3}\n";
}

std::string node(const std::string& name, const std::string& kubelet, const std::string& kernel,
                 const std::string& labels = "{}") {
  return "apiVersion: v1\nkind: Node\nmetadata: {name: " + name + ", labels: " + labels +
         "}\nstatus:\n  nodeInfo: {kubeletVersion: " + kubelet + ", kernelVersion: " + kernel +
         ", osImage: Ubuntu 22.04}\n";
}

std::string istioCniConfig(const std::string& data) {
  return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio-cni-config, namespace: "
         "istio-system}\ndata:\n" +
         data;
}

const std::string kIstioCni =
    daemonSet("istio-system", "istio-cni-node",
              "      - {name: install-cni, image: docker.io/istio/install-cni:1.26.1}\n");

// Returns the findings for shop without the "verify on node" note (tested on its own).
std::vector<std::string> rows(const std::vector<std::string>& parts) {
  std::string cluster = kShop;
  for (const auto& p : parts) {
    cluster += "---\n" + p + "\n";
  }
  std::vector<std::string> out;
  for (const auto& b : brief(checkNamespace(cluster, "shop", kId))) {
    if (b.rfind("dryrun", 0) != 0) {
      out.push_back(b);
    }
  }
  return out;
}

using Rows = std::vector<std::string>;

TEST(CniIncompatible, CiliumRows) {
  struct Case {
    std::string name;
    std::vector<std::string> parts;
    Rows want;
  };
  const std::string cm = "ConfigMap kube-system/cilium-config ";
  const std::vector<Case> cases = {
      {"cni-exclusive true", {ciliumConfig("  cni-exclusive: \"true\"\n")},
       {"deny " + cm + "data.cni-exclusive"}},
      {"cni-exclusive absent: UNKNOWN", {ciliumConfig("  enable-policy: default\n")},
       {"warn " + cm + "data.cni-exclusive"}},
      {"compatible", {ciliumConfig("  cni-exclusive: \"false\"\n")}, {}},
      {"BPF masquerade",
       {ciliumConfig("  cni-exclusive: \"false\"\n  enable-bpf-masquerade: \"true\"\n")},
       {"deny " + cm + "data.enable-bpf-masquerade"}},
      {"kube-proxy replacement without hostns-only and legacy routing",
       {ciliumConfig("  cni-exclusive: \"false\"\n  kube-proxy-replacement: \"true\"\n")},
       {"warn " + cm + "data.bpf-lb-sock-hostns-only",
        "warn " + cm + "data.enable-host-legacy-routing"}},
      {"kube-proxy replacement configured for ambient",
       {ciliumConfig("  cni-exclusive: \"false\"\n  kube-proxy-replacement: \"true\"\n"
                     "  bpf-lb-sock-hostns-only: \"true\"\n  enable-host-legacy-routing: \"true\"\n")},
       {}},
      {"agent without its ConfigMap",
       {daemonSet("kube-system", "cilium", "      - {name: cilium-agent}\n")},
       {"warn " + cm + "data"}},
      {"enable-policy always", {ciliumConfig("  cni-exclusive: \"false\"\n  enable-policy: always\n")},
       {"warn " + cm + "data.enable-policy"}},
      {"default-deny CiliumNetworkPolicy without the probe exception",
       {ciliumConfig("  cni-exclusive: \"false\"\n"), R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: web}}
  ingress: [{fromEndpoints: [{matchLabels: {app: fe}}]}]
)"},
       {"deny CiliumClusterwideNetworkPolicy allow-ambient-hostprobes spec.ingress[0].fromCIDR"}},
      {"default-deny CiliumNetworkPolicy with the documented CCNP",
       {ciliumConfig("  cni-exclusive: \"false\"\n"), R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: web}}
  ingress: [{fromEndpoints: [{matchLabels: {app: fe}}]}]
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: allow-ambient-hostprobes}
spec:
  description: Allows SNAT-ed kubelet health check probes into ambient pods
  enableDefaultDeny: {egress: false, ingress: false}
  endpointSelector: {}
  ingress:
  - fromCIDR: [169.254.7.127/32]
)"},
       {}},
      {"AKS with Cilium dataplane, no cilium-config",
       {node("aks-1", "v1.30.3", "5.15.0-1064-azure",
             "{kubernetes.azure.com/ebpf-dataplane: cilium}")},
       {"warn Node (nodes) metadata.labels[kubernetes.azure.com/ebpf-dataplane]"}},
      {"GKE Dataplane V2", {daemonSet("kube-system", "anetd", "      - {name: cilium-agent}\n")},
       {"warn DaemonSet kube-system/anetd "}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(rows(c.parts), c.want);
  }
}

TEST(CniIncompatible, CalicoRows) {
  const std::string felix = R"(
apiVersion: crd.projectcalico.org/v1
kind: FelixConfiguration
metadata: {name: default}
spec: {bpfEnabled: true}
)";
  auto calicoNode = [](const std::string& tag) {
    return daemonSet("calico-system", "calico-node",
                     "      - {name: calico-node, image: docker.io/calico/node:" + tag + "}\n");
  };
  struct Case {
    std::string name;
    std::vector<std::string> parts;
    Rows want;
  };
  const std::vector<Case> cases = {
      {"eBPF before the fix", {felix, calicoNode("v3.27.3")},
       {"deny FelixConfiguration default spec.bpfEnabled"}},
      {"eBPF on a 3.28 backport", {felix, calicoNode("v3.28.2")},
       {"warn FelixConfiguration default spec.bpfEnabled"}},
      {"eBPF fixed", {felix, calicoNode("v3.29.1")}, {}},
      {"eBPF, version unknown", {felix}, {"warn FelixConfiguration default spec.bpfEnabled"}},
      {"iptables dataplane", {calicoNode("v3.26.0")}, {}},
      {"operator Installation with BPF", {R"(
apiVersion: operator.tigera.io/v1
kind: Installation
metadata: {name: default}
spec: {calicoNetwork: {linuxDataplane: BPF}}
status: {calicoVersion: v3.28.0}
)"},
       {"deny Installation default spec.calicoNetwork.linuxDataplane"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(rows(c.parts), c.want);
  }
}

TEST(CniIncompatible, GkeEksOpenShiftK3sMultusRows) {
  const std::string gke = node("gke-1", "v1.30.5-gke.1014001", "6.1.100+");
  const std::string ztunnel = daemonSet(
      "istio-system", "ztunnel", "      - {name: istio-proxy, image: docker.io/istio/ztunnel:1.26.1}\n",
      "      priorityClassName: system-node-critical\n");
  const std::string quota = R"(
apiVersion: v1
kind: ResourceQuota
metadata: {name: ztunnel, namespace: istio-system}
spec:
  hard: {pods: 5000}
  scopeSelector:
    matchExpressions:
    - {operator: In, scopeName: PriorityClass, values: [system-node-critical]}
)";
  auto awsNode = [](const std::string& env) {
    return daemonSet("kube-system", "aws-node", "      - name: aws-node\n        env:\n" + env);
  };
  const std::string sgp = R"(
apiVersion: vpcresources.k8s.aws/v1beta1
kind: SecurityGroupPolicy
metadata: {name: web, namespace: shop}
)";
  const std::string eni = "        - {name: ENABLE_POD_ENI, value: \"true\"}\n";
  const std::string cniDefaultPaths = daemonSet(
      "istio-system", "istio-cni-node", "      - {name: install-cni, image: istio/install-cni:1.26.1}\n",
      "      volumes:\n      - {name: cni-bin-dir, hostPath: {path: /opt/cni/bin}}\n"
      "      - {name: cni-net-dir, hostPath: {path: /etc/cni/net.d}}\n");
  struct Case {
    std::string name;
    std::vector<std::string> parts;
    Rows want;
  };
  const std::vector<Case> cases = {
      {"GKE: ztunnel outside kube-system without a quota", {gke, ztunnel},
       {"deny DaemonSet istio-system/ztunnel metadata.namespace"}},
      {"GKE: with the quota", {gke, ztunnel, quota}, {}},
      {"GKE: Istio not installed yet", {gke},
       {"warn Node (nodes) status.nodeInfo.kubeletVersion"}},
      {"GKE: wrong cni-bin-dir", {gke, cniDefaultPaths, quota},
       {"warn DaemonSet istio-system/istio-cni-node spec.template.spec.volumes[cni-bin-dir]"}},
      {"EKS: strict mode with SecurityGroupPolicies", {awsNode(eni), sgp},
       {"deny DaemonSet kube-system/aws-node "
        "spec.template.spec.containers[aws-node].env[POD_SECURITY_GROUP_ENFORCING_MODE]"}},
      {"EKS: strict mode on Istio 1.30.0 (branch-ENI probe fix)",
       {awsNode(eni), sgp,
        daemonSet("istio-system", "istio-cni-node",
                  "      - {name: install-cni, image: docker.io/istio/install-cni:1.30.0}\n")},
       {"warn DaemonSet kube-system/aws-node "
        "spec.template.spec.containers[aws-node].env[POD_SECURITY_GROUP_ENFORCING_MODE]"}},
      {"EKS: no SecurityGroupPolicy in the backup", {awsNode(eni)},
       {"warn DaemonSet kube-system/aws-node "
        "spec.template.spec.containers[aws-node].env[POD_SECURITY_GROUP_ENFORCING_MODE]"}},
      {"EKS: standard mode",
       {awsNode(eni + "        - {name: POD_SECURITY_GROUP_ENFORCING_MODE, value: standard}\n"),
        sgp},
       {}},
      {"OpenShift: agents outside kube-system, chained plugin",
       {"apiVersion: v1\nkind: Namespace\nmetadata: {name: openshift-monitoring}\n", kIstioCni,
        istioCniConfig("  AMBIENT_ENABLED: \"true\"\n  CHAINED_CNI_PLUGIN: \"true\"\n")},
       {"deny DaemonSet istio-system/istio-cni-node metadata.namespace",
        "deny ConfigMap istio-system/istio-cni-config data.CHAINED_CNI_PLUGIN"}},
      {"k3s: default CNI paths", {node("k3s-1", "v1.30.4+k3s1", "6.5.0"), cniDefaultPaths},
       {"warn DaemonSet istio-system/istio-cni-node spec.template.spec.volumes"}},
      {"Multus", {daemonSet("kube-system", "kube-multus-ds", "      - {name: kube-multus}\n")},
       {"warn DaemonSet kube-system/kube-multus-ds "}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(rows(c.parts), c.want);
  }
}

// The branch-ENI probe fix shipped in istio-cni 1.28.7, 1.29.3 and 1.30.0 (istio.io release
// notes of those versions), behind AMBIENT_ENABLE_AWS_BRANCH_ENI_PROBE (on by default). The
// version comes from --istio-version, else istiod's image, else the istio-cni image.
TEST(CniIncompatible, EksBranchEniProbeFixFollowsTheIstioVersion) {
  const std::string aws_node = daemonSet(
      "kube-system", "aws-node",
      "      - name: aws-node\n        env:\n        - {name: ENABLE_POD_ENI, value: \"true\"}\n");
  const std::string sgp =
      "apiVersion: vpcresources.k8s.aws/v1beta1\nkind: SecurityGroupPolicy\nmetadata: {name: "
      "web, namespace: shop}\n";
  auto cni = [](const std::string& tag, const std::string& env = "") {
    return daemonSet("istio-system", "istio-cni-node",
                     "      - name: install-cni\n        image: docker.io/istio/install-cni:" + tag +
                         "\n" + env);
  };
  auto istiod = [](const std::string& tag) {
    return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: istiod, namespace: "
           "istio-system}\nspec:\n  template:\n    spec:\n      containers:\n      - {name: "
           "discovery, image: \"docker.io/istio/pilot:" + tag + "\"}\n";
  };
  const std::string field =
      " DaemonSet kube-system/aws-node "
      "spec.template.spec.containers[aws-node].env[POD_SECURITY_GROUP_ENFORCING_MODE]";
  struct Case {
    std::string name;
    std::vector<std::string> parts;
    std::string flag;
    std::string action;
    std::string fragment;
  };
  const std::vector<Case> cases = {
      {"1.28.6: before the backport", {cni("1.28.6")}, "", "deny",
       "Istio 1.28.6 (image tag of the istio-cni / ztunnel DaemonSet) predates"},
      {"1.28.7: backport", {cni("1.28.7")}, "", "warn", "Istio 1.28.7"},
      {"1.29.2: before the backport", {cni("1.29.2")}, "", "deny", "predates"},
      {"1.29.3: backport", {cni("1.29.3")}, "", "warn", "routes probes of branch-ENI pods"},
      {"1.30.0", {cni("1.30.0")}, "", "warn", "on by default since 1.28.7, 1.29.3 and 1.30.0"},
      {"istiod's tag wins over istio-cni's", {cni("1.31.1"), istiod("1.29.2")}, "", "deny",
       "image of Deployment istio-system/istiod: docker.io/istio/pilot:1.29.2"},
      {"--istio-version wins", {cni("1.27.3")}, "1.30.1", "warn", "(--istio-version 1.30.1)"},
      {"fix turned off",
       {cni("1.31.1", "        env:\n        - {name: AMBIENT_ENABLE_AWS_BRANCH_ENI_PROBE, "
                      "value: \"false\"}\n")},
       "", "deny", "AMBIENT_ENABLE_AWS_BRANCH_ENI_PROBE=false, so it is off"},
      {"version unknown", {}, "", "deny", "Istio version unknown"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<std::string> parts = {kShop, aws_node, sgp};
    parts.insert(parts.end(), c.parts.begin(), c.parts.end());
    std::string cluster;
    for (const auto& p : parts) {
      cluster += "---\n" + p + "\n";
    }
    auto state = ::ambient_guard::testing::stateFromYaml(cluster);
    MeshSettings mesh;
    mesh.istio_version = c.flag;
    Reviewer reviewer(makeDefaultRules(), mesh);
    std::vector<Finding> eks;
    for (const Finding& f : reviewer.reviewNamespace(*state, "shop")) {
      if (f.rule == kId && f.object.str() == "DaemonSet kube-system/aws-node") {
        eks.push_back(f);
      }
    }
    ASSERT_EQ(eks.size(), 1u);
    EXPECT_EQ(std::string(actionName(eks[0].action)) + " " + eks[0].object.str() + " " +
                  eks[0].field,
              c.action + field);
    EXPECT_NE(eks[0].message.find(c.fragment), std::string::npos) << eks[0].message;
  }
}

TEST(CniIncompatible, KernelAndIstioCniConfigRows) {
  struct Case {
    std::string name;
    std::vector<std::string> parts;
    Rows want;
  };
  const std::string cm = "ConfigMap istio-system/istio-cni-config ";
  const std::vector<Case> cases = {
      {"ambient profile", {kIstioCni, istioCniConfig("  AMBIENT_ENABLED: \"true\"\n")}, {}},
      {"ambient off", {kIstioCni, istioCniConfig("  AMBIENT_ENABLED: \"false\"\n")},
       {"deny " + cm + "data.AMBIENT_ENABLED"}},
      {"no reconcile on startup",
       {kIstioCni, istioCniConfig("  AMBIENT_ENABLED: \"true\"\n"
                                  "  AMBIENT_RECONCILE_POD_RULES_ON_STARTUP: \"false\"\n")},
       {"warn " + cm + "data.AMBIENT_RECONCILE_POD_RULES_ON_STARTUP"}},
      {"namespace excluded",
       {kIstioCni, istioCniConfig("  AMBIENT_ENABLED: \"true\"\n"
                                  "  EXCLUDE_NAMESPACES: \"kube-system, shop\"\n")},
       {"deny " + cm + "data.EXCLUDE_NAMESPACES"}},
      {"nftables on an old kernel",
       {kIstioCni, node("n1", "v1.30.0", "5.10.0-28-amd64"),
        istioCniConfig("  AMBIENT_ENABLED: \"true\"\n  NATIVE_NFTABLES: \"true\"\n")},
       {"deny " + cm + "data.NATIVE_NFTABLES"}},
      {"nftables on 5.15", {kIstioCni, node("n1", "v1.30.0", "5.15.0-100-generic"),
                            istioCniConfig("  AMBIENT_ENABLED: \"true\"\n  NATIVE_NFTABLES: \"true\"\n")},
       {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(rows(c.parts), c.want);
  }
}

TEST(CniIncompatible, KernelModulesAreVerifiedOnTheNode) {
  const std::string cluster = docs({kShop, node("n1", "v1.30.0", "6.1.0", "{}")});
  const auto findings = checkNamespace(cluster, "shop", kId);
  ASSERT_EQ(brief(findings),
            (std::vector<std::string>{"dryrun Node (nodes) status.nodeInfo.kernelVersion"}));
  EXPECT_TRUE(anyMessageHas(findings, "verify on node"));
  EXPECT_TRUE(anyMessageHas(findings, "xt_connmark, xt_mark, ip_set, ip_set_hash_ip"));
  // A backup without any platform object says nothing.
  EXPECT_TRUE(checkNamespace(kShop, "shop", kId).empty());
}

TEST(CniIncompatible, PreflightOnlyNeverOnAdmission) {
  const std::string cluster =
      docs({kShop, ciliumConfig("  cni-exclusive: \"true\"\n"),
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: legacy, labels: {istio-injection: "
            "enabled}}\n"});
  // Enrolling a namespace through the webhook: nothing from this rule.
  EXPECT_TRUE(reviewWrite(cluster,
                          "apiVersion: v1\nkind: Namespace\nmetadata: {name: legacy, labels: "
                          "{istio.io/dataplane-mode: ambient}}\n",
                          kId)
                  .empty());
  // check: the ambient namespace and, as if enrolled, the sidecar one.
  EXPECT_EQ(brief(checkNamespace(cluster, "shop", kId)),
            (std::vector<std::string>{"deny ConfigMap kube-system/cilium-config data.cni-exclusive"}));
  EXPECT_EQ(brief(checkNamespace(cluster, "legacy", kId)),
            (std::vector<std::string>{"deny ConfigMap kube-system/cilium-config data.cni-exclusive"}));
  EXPECT_TRUE(CniIncompatible().doc().preflight_only);
}

}  // namespace
}  // namespace ambient_guard::rules
