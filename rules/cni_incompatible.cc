#include "rules/cni_incompatible.h"

#include <algorithm>
#include <sstream>

#include "rules/ambient.h"
#include "rules/istio_version.h"
#include "rules/network_policy.h"
#include "rules/platform.h"

namespace ambient_guard::rules {
namespace {

using platform::Platform;
using platform::Version;

constexpr RuleDoc kDoc{
    "cni-incompatible",
    Action::kDeny,
    "The cluster's CNI and platform settings support ambient's in-pod redirection and probe "
    "SNAT (Cilium, Calico, GKE, EKS, OpenShift, k3s, kernel, istio-cni-config).",
    "istio-cni redirects traffic from inside each pod and SNATs kubelet probes to "
    "169.254.7.127; Cilium with cni.exclusive or BPF masquerade, Calico eBPF before 3.29, EKS "
    "security groups for pods in strict mode, or ztunnel/istio-cni outside kube-system on GKE "
    "break capture or health checks, and Istio does not check them up front.",
    R"(apiVersion: v1
kind: ConfigMap
metadata: {name: cilium-config, namespace: kube-system}
data:
  cni-exclusive: "true")",
    R"(# helm upgrade cilium cilium/cilium -n kube-system --reuse-values --set cni.exclusive=false
apiVersion: v1
kind: ConfigMap
metadata: {name: cilium-config, namespace: kube-system}
data:
  cni-exclusive: "false")",
    /*preflight_only=*/true};

class Emitter {
 public:
  Emitter(std::string ns, std::vector<Finding>& out) : ns_(std::move(ns)), out_(out) {}

  // One spec row: the object holding the setting, the setting's path, what is wrong and the fix.
  void row(Action action, ObjectKey object, std::string field, const std::string& platform,
           const std::string& problem, const std::string& fix) {
    Finding f;
    f.rule = std::string(kDoc.id);
    f.action = action;
    f.object = std::move(object);
    f.ns = ns_;
    f.field = std::move(field);
    f.message = "[" + f.rule + "] " + platform + ": " + problem + " Fix: " + fix;
    f.summary = oneLine("[" + f.rule + "] " + platform + ": " + problem, 200);
    out_.push_back(std::move(f));
  }

 private:
  std::string ns_;
  std::vector<Finding>& out_;
};

ObjectKey keyOf(const Object* o, Kind kind) {
  return o == nullptr ? ObjectKey{kind, "", ""} : ObjectKey{kind, o->ns, o->name};
}

ObjectKey configMapKey(const ConfigMap* cm, std::string_view name,
                       const std::string& fallback_ns) {
  return cm != nullptr ? ObjectKey{Kind::kConfigMap, cm->ns, cm->name}
                       : ObjectKey{Kind::kConfigMap, fallback_ns, std::string(name)};
}

// §2.1 Cilium (D-PP items 1-3, D-CIL).
void cilium(const ClusterView& state, const std::string& ns, const Platform& p, Emitter& e) {
  if (!p.hasCilium()) {
    if (p.aks_cilium) {
      e.row(Action::kWarn, ObjectKey{Kind::kNode, "", "(nodes)"},
            "metadata.labels[kubernetes.azure.com/ebpf-dataplane]", "AKS (Azure CNI powered by Cilium)",
            "nodes run the Cilium eBPF dataplane, but cilium-config is not in the backup; the "
            "Cilium rows (cni-exclusive, BPF masquerade, probe SNAT policies) apply, and whether "
            "AKS-managed Cilium honours cni-exclusive=false is unconfirmed.",
            "add `kubectl -n kube-system get configmap cilium-config -o yaml` to the backup and "
            "re-run; verify probes with a test namespace first.");
    }
    if (p.anetd != nullptr) {
      e.row(Action::kWarn, keyOf(p.anetd, Kind::kDaemonSet), "", "GKE Dataplane V2",
            "DaemonSet anetd (Cilium-based) found; Istio's docs do not cover Dataplane V2 with "
            "ambient (unconfirmed), so treat it as Cilium: probes blocked by NetworkPolicy "
            "fail.",
            "allow the probe SNAT address 169.254.7.127/32 in every NetworkPolicy that isolates "
            "ambient pods, and verify on a test namespace.");
    }
    return;
  }
  const std::string cm_ns = p.cilium != nullptr ? p.cilium->ns : "kube-system";
  const ObjectKey cm = configMapKey(p.cilium_config, "cilium-config", cm_ns);
  auto key = [&](std::string_view k) { return p.ciliumKey(k); };
  const std::string platform = "Cilium";
  if (p.cilium_config == nullptr) {
    e.row(Action::kWarn, cm, "data", platform,
          "DaemonSet cilium found but ConfigMap cilium-config is not in the backup, so "
          "cni-exclusive, BPF masquerade and kube-proxy replacement cannot be checked "
          "(verify).",
          "`kubectl -n " + cm_ns + " get configmap cilium-config -o yaml >> backup.yaml` and "
          "re-run.");
  } else {
    const std::string* exclusive = key("cni-exclusive");
    if (exclusive == nullptr) {
      e.row(Action::kWarn, cm, "data.cni-exclusive", platform,
            "cni-exclusive is not set in cilium-config (the agent default is unconfirmed; the "
            "chart emits it only when cni.install is on and cni.customConf off): UNKNOWN. "
            "Ambient requires `cni.exclusive = false`, or Cilium removes istio-cni's config.",
            "`helm upgrade cilium cilium/cilium -n " + cm_ns +
                " --reuse-values --set cni.exclusive=false` (ConfigMap key cni-exclusive: "
                "\"false\"), then restart the cilium DaemonSet.");
    } else if (*exclusive != "false") {
      e.row(Action::kDeny, cm, "data.cni-exclusive", platform,
            "cni-exclusive is \"" + *exclusive +
                "\": Cilium takes over the node's CNI configuration and removes istio-cni's "
                "chained plugin, so pods are not captured (\"must be configured with "
                "cni.exclusive = false\", istio.io Platform-Specific Prerequisites).",
            "`helm upgrade cilium cilium/cilium -n " + cm_ns +
                " --reuse-values --set cni.exclusive=false` (cni-exclusive: \"false\"), then "
                "restart the cilium DaemonSet.");
    }
    if (const std::string* masq = key("enable-bpf-masquerade"); masq && *masq == "true") {
      e.row(Action::kDeny, cm, "data.enable-bpf-masquerade", platform,
            "enable-bpf-masquerade is \"true\": \"Enabling BPF masquerading via "
            "bpf.masquerade=true is not currently supported, and results in non-functional pod "
            "health checks\".",
            "`--set bpf.masquerade=false` (iptables masquerading works with ambient).");
    }
    const std::string* kpr = key("kube-proxy-replacement");
    if (kpr != nullptr && *kpr == "true") {
      const std::string* hostns = key("bpf-lb-sock-hostns-only");
      if (hostns == nullptr || *hostns != "true") {
        e.row(Action::kWarn, cm, "data.bpf-lb-sock-hostns-only", platform,
              "kube-proxy replacement is on and bpf-lb-sock-hostns-only is not \"true\": "
              "Cilium's socket load balancer rewrites Service addresses inside the pod before "
              "ztunnel sees them (docs.cilium.io \"Integration with Istio\").",
              "`--set socketLB.hostNamespaceOnly=true` (bpf-lb-sock-hostns-only: \"true\").");
      }
      const std::string* legacy = key("enable-host-legacy-routing");
      if (legacy == nullptr || *legacy != "true") {
        e.row(Action::kWarn, cm, "data.enable-host-legacy-routing", platform,
              "kube-proxy replacement is on with eBPF host routing (enable-host-legacy-routing "
              "is not \"true\"): replies to the probe SNAT address 169.254.7.127 are dropped "
              "(cilium/cilium#36022, istio/istio#52208, both open).",
              "`--set bpf.hostLegacyRouting=true` (enable-host-legacy-routing: \"true\").");
      }
    }
  }
  // §1.4: default-deny Cilium policies need a fromCIDR exception for the probe SNAT address.
  const std::string snat = p.snatIpv4();
  bool isolating = false;
  bool allowed = false;
  std::string example;
  for (const CiliumPolicy* c : p.cilium_policies) {
    const bool here = c->ns.empty() || c->ns == ns;
    isolating = isolating || (here && c->isolates_ingress);
    for (const auto& cidr : c->from_cidrs) {
      allowed = allowed || (here && netpol::cidrContains(cidr, snat));
    }
    if (here && c->isolates_ingress && example.empty()) {
      example = (c->ns.empty() ? "CiliumClusterwideNetworkPolicy " : "CiliumNetworkPolicy " + c->ns + "/") + c->name;
    }
  }
  const std::string* enforce = key("enable-policy");
  const bool always = enforce != nullptr && *enforce == "always";
  if ((isolating || always) && !allowed) {
    const std::string why = isolating ? example + " isolates endpoints in namespace " + ns
                                      : "cilium-config enable-policy is \"always\" (every "
                                        "endpoint is default-deny; Cilium semantics unconfirmed)";
    e.row(isolating ? Action::kDeny : Action::kWarn,
          isolating ? ObjectKey{Kind::kCiliumClusterwideNetworkPolicy, "", "allow-ambient-hostprobes"}
                    : cm,
          isolating ? "spec.ingress[0].fromCIDR" : "data.enable-policy", platform,
          why + " and no CiliumNetworkPolicy/CiliumClusterwideNetworkPolicy admits the probe "
                "SNAT address " + snat + ": kubelet probes of ambient pods are dropped.",
          "apply the policy from istio.io Platform-Specific Prerequisites:\n"
          "  apiVersion: cilium.io/v2\n  kind: CiliumClusterwideNetworkPolicy\n"
          "  metadata: {name: allow-ambient-hostprobes}\n  spec:\n"
          "    description: Allows SNAT-ed kubelet health check probes into ambient pods\n"
          "    enableDefaultDeny: {egress: false, ingress: false}\n    endpointSelector: {}\n"
          "    ingress:\n    - fromCIDR: [\"" + snat + "/32\"]");
  }
  (void)state;
}

// §2.1 Calico (istio/istio#52765, projectcalico/calico#9157).
void calico(const Platform& p, Emitter& e) {
  if (!p.calicoBpf()) {
    return;
  }
  const ObjectKey where = p.felix != nullptr && p.felix->bpf_enabled.value_or(false)
                              ? keyOf(p.felix, Kind::kFelixConfiguration)
                              : keyOf(p.installation, Kind::kInstallation);
  const std::string field = where.kind == Kind::kFelixConfiguration
                                ? "spec.bpfEnabled"
                                : "spec.calicoNetwork.linuxDataplane";
  const auto v = p.calicoVersion();
  const std::string fix =
      "upgrade Calico to 3.29 or later, or switch the dataplane to iptables "
      "(FelixConfiguration default `spec.bpfEnabled: false`, or Installation default "
      "`spec.calicoNetwork.linuxDataplane: Iptables`).";
  if (!v) {
    e.row(Action::kWarn, where, field, "Calico eBPF",
          "the eBPF dataplane is on and the Calico version is not in the backup (no calico-node "
          "image tag or Installation status): before 3.29 it breaks ambient probes "
          "(istio/istio#52765). Verify the version.",
          fix);
  } else if (*v < Version{3, 28, 2}) {
    e.row(Action::kDeny, where, field, "Calico eBPF " + v->str(),
          "the eBPF dataplane of Calico before 3.29 drops the SNATed kubelet probes of ambient "
          "pods (istio/istio#52765, fixed in 3.29).",
          fix);
  } else if (*v < Version{3, 29, 0}) {
    e.row(Action::kWarn, where, field, "Calico eBPF " + v->str(),
          "the probe fix was backported to the 3.28 branch (\"3.28.2\", projectcalico/calico#9157; "
          "exact patch unconfirmed): verify probes on a test namespace.",
          fix);
  }
}

bool hasNodeCriticalQuota(const ClusterView& state, const std::string& ns) {
  for (const ResourceQuota* q : state.list<ResourceQuota>(ns)) {
    if (std::find(q->priority_classes.begin(), q->priority_classes.end(),
                  "system-node-critical") != q->priority_classes.end()) {
      return true;
    }
  }
  return false;
}

std::string hostPath(const DaemonSet& ds, std::string_view volume) {
  for (const auto& v : ds.spec.host_paths) {
    if (v.name == volume) {
      return v.path;
    }
  }
  return {};
}

// §2.1 GKE: system-node-critical pods need a ResourceQuota outside kube-system.
void gke(const ClusterView& state, const Platform& p, Emitter& e) {
  if (!p.gke) {
    return;
  }
  const std::string platform = "GKE";
  if (p.istio_cni == nullptr && p.ztunnel == nullptr) {
    e.row(Action::kWarn, ObjectKey{Kind::kNode, "", "(nodes)"}, "status.nodeInfo.kubeletVersion",
          platform,
          "nodes run GKE and istio-cni/ztunnel are not in the backup: on GKE pods with "
          "priorityClassName system-node-critical only run in namespaces with a matching "
          "ResourceQuota (only kube-system has one).",
          "install with `--set global.platform=gke` (istioctl: `--set values.global.platform=gke`), "
          "which puts istio-cni in kube-system and creates the quotas (Istio 1.26+).");
    return;
  }
  for (const DaemonSet* ds : {p.istio_cni, p.ztunnel}) {
    if (ds == nullptr || ds->ns == "kube-system" || hasNodeCriticalQuota(state, ds->ns)) {
      continue;
    }
    e.row(Action::kDeny, keyOf(ds, Kind::kDaemonSet), "metadata.namespace", platform,
          "DaemonSet " + ds->ns + "/" + ds->name +
              " uses priorityClassName system-node-critical outside kube-system and namespace " +
              ds->ns +
              " has no ResourceQuota with scopeSelector PriorityClass In [system-node-critical]: "
              "GKE refuses its pods.",
          "reinstall with `--set global.platform=gke` (creates the quota), or apply:\n"
          "  apiVersion: v1\n  kind: ResourceQuota\n  metadata: {name: " + ds->name +
              "-quota, namespace: " + ds->ns +
              "}\n  spec:\n    hard: {pods: 5000}\n    scopeSelector:\n      matchExpressions:\n"
              "      - {operator: In, scopeName: PriorityClass, values: [system-node-critical]}");
  }
  if (p.istio_cni != nullptr) {
    const std::string bin = hostPath(*p.istio_cni, "cni-bin-dir");
    if (!bin.empty() && bin != "/home/kubernetes/bin") {
      e.row(Action::kWarn, keyOf(p.istio_cni, Kind::kDaemonSet), "spec.template.spec.volumes[cni-bin-dir]",
            platform,
            "istio-cni's cni-bin-dir is " + bin + "; GKE's CNI binaries live in "
            "/home/kubernetes/bin, so the plugin is not found.",
            "reinstall istio-cni with `--set global.platform=gke`.");
    }
  }
}

// §2.1 EKS: security groups for pods in strict mode. istio-cni 1.28.7, 1.29.3 and 1.30.0 route
// probes of branch-ENI pods over the veth pair (AMBIENT_ENABLE_AWS_BRANCH_ENI_PROBE, on by
// default; istio.io release notes of those versions).
void eks(const Platform& p, const IstioVersion& istio, Emitter& e) {
  if (p.aws_node == nullptr) {
    return;
  }
  const std::string* eni = platform::envOf(*p.aws_node, "ENABLE_POD_ENI");
  const std::string* mode = platform::envOf(*p.aws_node, "POD_SECURITY_GROUP_ENFORCING_MODE");
  if (eni == nullptr || *eni != "true" || (mode != nullptr && *mode == "standard")) {
    return;
  }
  const std::string fix =
      "`kubectl -n " + p.aws_node->ns +
      " set env daemonset aws-node POD_SECURITY_GROUP_ENFORCING_MODE=standard`, or use exec "
      "probes.";
  const std::string current = mode == nullptr ? "unset (strict)" : "\"" + *mode + "\"";
  if (p.security_group_policies == 0) {
    e.row(Action::kWarn, keyOf(p.aws_node, Kind::kDaemonSet),
          "spec.template.spec.containers[aws-node].env[POD_SECURITY_GROUP_ENFORCING_MODE]",
          "EKS", "ENABLE_POD_ENI is true and POD_SECURITY_GROUP_ENFORCING_MODE is " + current +
                     "; no SecurityGroupPolicy is in the backup. If any exists "
                     "(`kubectl get securitygrouppolicies -A`), probes of its pods fail.",
          fix);
    return;
  }
  const std::string* probe_fix =
      p.istio_cni == nullptr ? nullptr
                             : platform::envOf(*p.istio_cni, "AMBIENT_ENABLE_AWS_BRANCH_ENI_PROBE");
  const bool fix_off = probe_fix != nullptr && *probe_fix == "false";
  const bool fixed = istio.version && hasBranchEniProbeFix(*istio.version) && !fix_off;
  std::string assumed;
  if (!istio.version) {
    assumed = " " + istio.describe() +
              ": assuming a release without istio-cni's branch-ENI probe fix (it is in 1.28.7, "
              "1.29.3 and 1.30.0 onwards); pass --istio-version if yours has it.";
  } else if (fix_off) {
    assumed = " " + istio.describe() +
              " has the branch-ENI probe fix, but istio-cni sets "
              "AMBIENT_ENABLE_AWS_BRANCH_ENI_PROBE=false, so it is off.";
  } else if (fixed) {
    assumed = " " + istio.describe() +
              " routes probes of branch-ENI pods over the veth pair "
              "(AMBIENT_ENABLE_AWS_BRANCH_ENI_PROBE, on by default since 1.28.7, 1.29.3 and "
              "1.30.0); the Istio docs still ask for standard mode, so verify probes of a pod "
              "with a SecurityGroupPolicy after enrolling.";
  } else {
    assumed = " " + istio.describe() +
              " predates istio-cni's branch-ENI probe fix (1.28.7, 1.29.3, 1.30.0).";
  }
  e.row(fixed ? Action::kWarn : Action::kDeny, keyOf(p.aws_node, Kind::kDaemonSet),
        "spec.template.spec.containers[aws-node].env[POD_SECURITY_GROUP_ENFORCING_MODE]", "EKS",
        "ENABLE_POD_ENI is true, " + std::to_string(p.security_group_policies) +
            " SecurityGroupPolicy object(s) exist and POD_SECURITY_GROUP_ENFORCING_MODE is " +
            current + ": \"must be explicitly set to standard, or pod health probes will "
            "fail\" (aws/amazon-vpc-cni-k8s#2797)." + assumed,
        fixed ? fix : "upgrade Istio to 1.28.7, 1.29.3 or 1.30.0+, or " + fix);
}

// §2.1 OpenShift.
void openshift(const Platform& p, Emitter& e) {
  if (!p.openshift) {
    return;
  }
  for (const DaemonSet* ds : {p.istio_cni, p.ztunnel}) {
    if (ds != nullptr && ds->ns != "kube-system") {
      e.row(Action::kDeny, keyOf(ds, Kind::kDaemonSet), "metadata.namespace", "OpenShift",
            "DaemonSet " + ds->ns + "/" + ds->name +
                " is not in kube-system: on OpenShift ztunnel and istio-cni must be installed "
                "there (trustedZtunnelNamespace: kube-system).",
            "reinstall with `--set global.platform=openshift` (istioctl: `--set "
            "profile=openshift-ambient`).");
    }
  }
  if (const std::string* chained = p.istioCniKey("CHAINED_CNI_PLUGIN");
      p.istio_cni_config != nullptr && (chained == nullptr || *chained != "false")) {
    e.row(Action::kDeny, keyOf(p.istio_cni_config, Kind::kConfigMap), "data.CHAINED_CNI_PLUGIN",
          "OpenShift",
          "istio-cni runs as a chained plugin (CHAINED_CNI_PLUGIN " +
              (chained == nullptr ? std::string("unset, default true") : "\"" + *chained + "\"") +
              "); on OpenShift it must be a Multus plugin.",
          "reinstall istio-cni with `--set global.platform=openshift` (provider: multus, "
          "chained: false).");
  }
}

// §2.1 k3s: the CNI paths differ from the chart defaults.
void k3s(const Platform& p, Emitter& e) {
  if (!p.k3s || p.istio_cni == nullptr) {
    return;
  }
  const std::string net = hostPath(*p.istio_cni, "cni-net-dir");
  const std::string bin = hostPath(*p.istio_cni, "cni-bin-dir");
  const bool net_ok = net.empty() || net == "/var/lib/rancher/k3s/agent/etc/cni/net.d";
  const bool bin_ok = bin.empty() || bin == "/var/lib/rancher/k3s/data/cni" || bin == "/bin";
  if (!net_ok || !bin_ok) {
    e.row(Action::kWarn, keyOf(p.istio_cni, Kind::kDaemonSet), "spec.template.spec.volumes", "k3s",
          "istio-cni uses cni-net-dir " + net + " and cni-bin-dir " + bin +
              "; k3s keeps them in /var/lib/rancher/k3s/agent/etc/cni/net.d and "
              "/var/lib/rancher/k3s/data/cni (k3d: /bin).",
          "reinstall istio-cni with `--set global.platform=k3s` (or k3d), or set cniConfDir / "
          "cniBinDir by hand for a custom CNI.");
  }
}

// §2.1 Multus outside OpenShift.
void multus(const Platform& p, Emitter& e) {
  if (p.multus == nullptr || p.openshift) {
    return;
  }
  e.row(Action::kWarn, keyOf(p.multus, Kind::kDaemonSet), "", "Multus",
        "Multus is installed; ambient with Multus outside OpenShift is not covered by Istio's "
        "docs (open issues: the NetworkAttachmentDefinition must live in `default`, #54820; "
        "ipset errors, #52761). Manual review.",
        "test capture on a pod with secondary networks before enrolling.");
}

// §2.2 kernel and §2.3 istio-cni-config.
void kernelAndCni(const std::string& ns, const Platform& p, Emitter& e) {
  const bool nft = [&] {
    const std::string* v = p.istioCniKey("NATIVE_NFTABLES");
    return v != nullptr && *v == "true";
  }();
  if (nft && !p.oldest_kernel.empty()) {
    const auto k = platform::parseVersion(p.oldest_kernel);
    if (k && *k < Version{5, 13, 0}) {
      e.row(Action::kDeny, keyOf(p.istio_cni_config, Kind::kConfigMap), "data.NATIVE_NFTABLES",
            "Kernel", "istio-cni uses native nftables, which needs Linux 5.13 or later; a node "
                      "runs " + p.oldest_kernel + ".",
            "upgrade the node image, or set `global.nativeNftables: false` (iptables backend).");
    }
  }
  if (p.nodes == 0 && p.istio_cni == nullptr && p.istio_cni_config == nullptr) {
    return;  // the backup has no platform objects at all: nothing to say about this cluster
  }
  std::string modules =
      nft ? "nft 1.0.1+ and the modules nf_tables, nf_conntrack, nft_ct, nf_defrag_ipv4/6, "
            "nft_nat, nft_socket, nft_tproxy, nft_redir"
          : "the modules xt_connmark, xt_mark, ip_set, ip_set_hash_ip (ambient) and "
            "br_netfilter, iptable_mangle, iptable_nat, xt_REDIRECT, xt_conntrack, xt_owner, "
            "xt_tcpudp, xt_multiport (ip6table_* on IPv6)";
  std::string note = "a backup cannot show kernel modules: verify on node that " + modules +
                     " are available (istio.io Platform Requirements).";
  if (p.os_image.find("Red Hat") != std::string::npos ||
      p.os_image.find("CentOS") != std::string::npos ||
      p.os_image.find("Rocky") != std::string::npos) {
    note += " On RHEL-family nodes SELinux can block module auto-loading.";
  }
  e.row(Action::kDryrun, ObjectKey{Kind::kNode, "", "(nodes)"}, "status.nodeInfo.kernelVersion",
        "Kernel (verify on node)", note,
        "`lsmod | grep -E 'xt_connmark|xt_mark|ip_set'` on a node (or `modprobe` them).");
  if (p.istio_cni_config == nullptr) {
    return;
  }
  const ObjectKey cm = keyOf(p.istio_cni_config, Kind::kConfigMap);
  if (const std::string* v = p.istioCniKey("AMBIENT_ENABLED"); v == nullptr || *v != "true") {
    e.row(Action::kDeny, cm, "data.AMBIENT_ENABLED", "istio-cni",
          "AMBIENT_ENABLED is " + (v == nullptr ? std::string("unset") : "\"" + *v + "\"") +
              ": the node agent does not capture ambient pods.",
          "install istio-cni with the ambient profile (`--set profile=ambient`, i.e. "
          "`ambient.enabled=true`).");
  }
  if (const std::string* v = p.istioCniKey("AMBIENT_RECONCILE_POD_RULES_ON_STARTUP");
      v != nullptr && *v == "false") {
    e.row(Action::kWarn, cm, "data.AMBIENT_RECONCILE_POD_RULES_ON_STARTUP", "istio-cni",
          "AMBIENT_RECONCILE_POD_RULES_ON_STARTUP is \"false\" (the default before 1.29): after "
          "an istio-cni upgrade, existing ambient pods keep stale redirection rules until "
          "restarted.",
          "`--set ambient.reconcileIptablesOnStartup=true`, or restart ambient pods after each "
          "istio-cni upgrade.");
  }
  if (const std::string* v = p.istioCniKey("EXCLUDE_NAMESPACES")) {
    std::stringstream ss(*v);
    std::string item;
    while (std::getline(ss, item, ',')) {
      item.erase(0, item.find_first_not_of(' '));
      item.erase(item.find_last_not_of(' ') + 1);
      if (item == ns) {
        e.row(Action::kDeny, cm, "data.EXCLUDE_NAMESPACES", "istio-cni",
              "EXCLUDE_NAMESPACES (\"" + *v + "\") lists " + ns +
                  ": its pods are never captured, whatever the namespace label says.",
              "remove " + ns + " from the istio-cni `excludeNamespaces` value.");
      }
    }
  }
}

}  // namespace

const RuleDoc& CniIncompatible::doc() const { return kDoc; }

void CniIncompatible::evaluate(const RuleContext& ctx, std::vector<Finding>& out) const {
  if (!ctx.preflight || !ctx.subject.isNamespace()) {
    return;
  }
  const std::string& ns = ctx.subject.key.name;
  if (!ambient::isAmbientNamespace(ctx.state, ns, ctx.mesh.enablement)) {
    return;  // check evaluates non-ambient namespaces again as if enrolled
  }
  const Platform p = platform::detectPlatform(ctx.state, ctx.mesh);
  Emitter e(ns, out);
  cilium(ctx.state, ns, p, e);
  calico(p, e);
  gke(ctx.state, p, e);
  eks(p, istioVersionOf(ctx.state, ctx.mesh), e);
  openshift(p, e);
  k3s(p, e);
  multus(p, e);
  kernelAndCni(ns, p, e);
}

}  // namespace ambient_guard::rules
