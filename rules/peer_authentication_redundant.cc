#include "rules/peer_authentication_redundant.h"

#include "rules/ambient.h"
#include "rules/scope.h"

namespace ambient_guard::rules {
namespace {

constexpr RuleDoc kDoc{
    "peer-authentication-redundant",
    Action::kDryrun,
    "Every STRICT/PERMISSIVE PeerAuthentication covering an ambient namespace changes some "
    "workload's effective mTLS mode (it is the oldest at its level and does not restate what it "
    "inherits).",
    "Between ambient pods traffic is always mTLS over HBONE; a PeerAuthentication only decides "
    "whether plaintext from outside the mesh is accepted. Policies that restate the inherited "
    "mode, or lose to an older one, are clutter to remove after migration.",
    R"(apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: shop}   # shop is ambient; istio-system/default is STRICT
spec:
  mtls: {mode: STRICT})",
    R"(# Delete it: the mesh-wide STRICT policy already applies to shop.
kubectl delete peerauthentication default -n shop)"};

bool unset(const std::string& mode) { return mode.empty() || mode == "UNSET"; }

std::string effectiveName(bool strict) { return strict ? "STRICT" : "PERMISSIVE"; }

void check(const RuleContext& ctx, const PeerAuthentication& pa,
           const std::vector<std::string>& namespaces, const std::string& finding_ns,
           std::vector<Finding>& out) {
  if (pa.mode == "DISABLE") {
    return;  // peer-authentication-disable
  }
  const bool root = pa.ns == ctx.mesh.root_namespace;
  if (root && ctx.subject.isNamespace()) {
    return;  // reported on the policy's own write, not once per namespace
  }
  const std::string mode = unset(pa.mode) ? "UNSET" : pa.mode;
  std::string why;
  std::string field = "spec.mtls.mode";
  if (selectorLess(pa.selector)) {
    const PeerAuthentication* oldest = ambient::oldestNamespacePolicy(ctx.state, pa.ns);
    if (oldest != nullptr && oldest->name != pa.name) {
      why = "is ignored: istiod uses only the oldest " +
            std::string(root ? "mesh-wide" : "namespace-wide") + " PeerAuthentication of " +
            pa.ns + ", which is " + oldest->name + " (mode " +
            (unset(oldest->mode) ? std::string("UNSET") : oldest->mode) + ")";
      field = "metadata.creationTimestamp";
    } else if (root) {
      if (mode != "STRICT") {
        why = "sets the mesh-wide mode to " + mode +
              ", which is what every workload gets without any mesh-wide policy (PERMISSIVE)";
      }
    } else {
      const PeerAuthentication* mesh_pa =
          ambient::oldestNamespacePolicy(ctx.state, ctx.mesh.root_namespace);
      const bool mesh_strict = mesh_pa != nullptr && mesh_pa->mode == "STRICT";
      const std::string inherited =
          mesh_pa != nullptr
              ? "the mesh-wide policy " + mesh_pa->ns + "/" + mesh_pa->name + " (" +
                    effectiveName(mesh_strict) + ")"
              : "the default (PERMISSIVE; no mesh-wide policy)";
      if (mode == "UNSET" || (mode == "STRICT") == mesh_strict) {
        why = "sets mode " + mode + " for namespace " + pa.ns + ", which already inherits " +
              effectiveName(mesh_strict) + " from " + inherited;
      }
    }
  } else if (pa.port_modes.empty()) {
    const bool ns_strict = ambient::effectiveMtls(ctx.state, pa.ns, Labels(), ctx.mesh).strict;
    if (mode == "UNSET" || (mode == "STRICT") == ns_strict) {
      why = "sets mode " + mode + " for workloads " + pa.selector.match_labels.str() +
            ", which already get " + effectiveName(ns_strict) + " from their namespace " + pa.ns;
    }
  }
  if (why.empty()) {
    return;
  }
  Finding f;
  f.rule = std::string(kDoc.id);
  f.action = kDoc.default_action;
  f.object = ObjectKey{Kind::kPeerAuthentication, pa.ns, pa.name};
  f.ns = finding_ns;
  f.field = field;
  f.message = "[" + f.rule + "] " + f.object.str() + " (" +
              describePolicyScope(pa.ns, pa.selector, ctx.mesh) + ") " + why +
              ". It changes nothing for the workloads of ambient " + namespaceList(namespaces) +
              ", where traffic between ambient pods is mTLS over HBONE regardless. Fix: delete "
              "it (`kubectl delete peerauthentication " +
              pa.name + " -n " + pa.ns + "`) once the namespace is fully migrated.";
  f.summary = "[" + f.rule + "] " + f.object.str() + ": redundant in ambient; delete it";
  out.push_back(std::move(f));
}

}  // namespace

const RuleDoc& PeerAuthenticationRedundant::doc() const { return kDoc; }

void PeerAuthenticationRedundant::evaluate(const RuleContext& ctx,
                                           std::vector<Finding>& out) const {
  forEachCoveringPolicy<PeerAuthentication>(
      ctx,
      [&](const PeerAuthentication& pa, const std::vector<std::string>& namespaces,
          const std::string& finding_ns) { check(ctx, pa, namespaces, finding_ns, out); },
      /*root_selectors_apply=*/false);
}

}  // namespace ambient_guard::rules
