#include "rules/peer_authentication_disable.h"

#include "rules/ambient.h"
#include "rules/scope.h"

namespace ambient_guard::rules {
namespace {

constexpr RuleDoc kDoc{
    "peer-authentication-disable",
    Action::kDeny,
    "No PeerAuthentication with mode DISABLE (top level or any portLevelMtls) applies to an "
    "ambient namespace; a selector-less one in the root namespace applies to all of them.",
    "ztunnel always uses mTLS (HBONE) and does not support DISABLE: it acts as PERMISSIVE, "
    "plaintext from outside the mesh is accepted, and a namespace-level DISABLE overrides a "
    "mesh-wide STRICT. The Istio migration guide lists DISABLE as a hard blocker.",
    R"(apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: no-mtls, namespace: legacy}   # legacy is ambient
spec:
  mtls: {mode: DISABLE})",
    R"(apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: no-mtls, namespace: legacy}
spec:
  mtls: {mode: PERMISSIVE}   # accept plaintext where you must; ambient peers still use mTLS)"};

void check(const RuleContext& ctx, const PeerAuthentication& pa,
           const std::vector<std::string>& namespaces, const std::string& finding_ns,
           std::vector<Finding>& out) {
  const ObjectKey key{Kind::kPeerAuthentication, pa.ns, pa.name};
  const std::string prefix = "[" + std::string(kDoc.id) + "] " + key.str() + " (" +
                             describePolicyScope(pa.ns, pa.selector, ctx.mesh) + ")";
  const std::string where = "ambient " + namespaceList(namespaces);
  auto emit = [&](std::string field, std::string message, std::string summary) {
    Finding f;
    f.rule = std::string(kDoc.id);
    f.action = kDoc.default_action;
    f.object = key;
    f.ns = finding_ns;
    f.field = std::move(field);
    f.message = prefix + " " + std::move(message);
    f.summary = "[" + f.rule + "] " + key.str() + ": " + std::move(summary);
    out.push_back(std::move(f));
  };
  if (pa.mode == "DISABLE") {
    std::string msg =
        "sets mtls.mode DISABLE, which ztunnel does not support. In " + where +
        " istiod treats it as PERMISSIVE: plaintext from outside the mesh is accepted while "
        "traffic between ambient pods stays mTLS over HBONE, and the Istio migration guide "
        "lists DISABLE as a blocker.";
    if (pa.ns != ctx.mesh.root_namespace && selectorLess(pa.selector)) {
      const PeerAuthentication* mesh_pa =
          ambient::oldestNamespacePolicy(ctx.state, ctx.mesh.root_namespace);
      if (mesh_pa != nullptr && mesh_pa->mode == "STRICT") {
        msg += " It also overrides the mesh-wide STRICT policy " + mesh_pa->ns + "/" +
               mesh_pa->name + " for the whole namespace.";
      }
    }
    msg += " Fix: use `mtls: {mode: PERMISSIVE}` (only for the workloads that must accept "
           "plaintext, with a selector), or keep this namespace out of ambient.";
    emit("spec.mtls.mode", std::move(msg), "mode DISABLE is unsupported in ambient; use PERMISSIVE");
  }
  // A namespace-level PERMISSIVE overrides a mesh STRICT the same way (authorization.go:118-122,
  // only the oldest namespace policy counts): supported, so a warning of this family, not a deny.
  if (pa.mode == "PERMISSIVE" && pa.ns != ctx.mesh.root_namespace && selectorLess(pa.selector)) {
    const PeerAuthentication* mesh_pa =
        ambient::oldestNamespacePolicy(ctx.state, ctx.mesh.root_namespace);
    const PeerAuthentication* ns_pa = ambient::oldestNamespacePolicy(ctx.state, pa.ns);
    if (mesh_pa != nullptr && mesh_pa->mode == "STRICT" && ns_pa != nullptr &&
        ns_pa->name == pa.name) {
      emit("spec.mtls.mode",
           "sets mtls.mode PERMISSIVE for the whole namespace, which overrides the mesh-wide "
           "STRICT policy " + mesh_pa->ns + "/" + mesh_pa->name + ": in " + where +
               " plaintext from outside the mesh is accepted again (istiod takes the namespace "
               "mode over the mesh mode). Fix: delete it to inherit STRICT, or scope PERMISSIVE "
               "to the workloads that need plaintext (a selector, or portLevelMtls).",
           "namespace PERMISSIVE overrides mesh-wide STRICT; plaintext accepted");
      out.back().action = Action::kWarn;
    }
  }
  const bool inherits_strict =
      (pa.mode.empty() || pa.mode == "UNSET") &&
      ambient::effectiveMtls(ctx.state, pa.ns, Labels(), ctx.mesh).strict;
  for (const auto& [port, mode] : pa.port_modes) {
    if (mode != "DISABLE") {
      continue;
    }
    const std::string p = std::to_string(port);
    std::string msg = "sets portLevelMtls[" + p + "] DISABLE, which ztunnel does not support.";
    if (inherits_strict) {
      msg += " With mtls.mode unset under an inherited STRICT, istiod does not exempt the port at "
             "all (it only exempts PERMISSIVE ports), so in " +
             where + " port " + p + " stays STRICT and plaintext callers are refused.";
    } else {
      msg += " In " + where + " it acts as PERMISSIVE on port " + p +
             ": plaintext from outside the mesh is accepted.";
    }
    msg += " Fix: `portLevelMtls: {" + p + ": {mode: PERMISSIVE}}`.";
    emit("spec.portLevelMtls." + p + ".mode", std::move(msg),
         "port " + p + " DISABLE is unsupported in ambient; use PERMISSIVE");
  }
}

}  // namespace

const RuleDoc& PeerAuthenticationDisable::doc() const { return kDoc; }

void PeerAuthenticationDisable::evaluate(const RuleContext& ctx, std::vector<Finding>& out) const {
  forEachCoveringPolicy<PeerAuthentication>(
      ctx,
      [&](const PeerAuthentication& pa, const std::vector<std::string>& namespaces,
          const std::string& finding_ns) { check(ctx, pa, namespaces, finding_ns, out); },
      /*root_selectors_apply=*/false);
}

}  // namespace ambient_guard::rules
