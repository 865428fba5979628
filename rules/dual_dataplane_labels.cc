#include "rules/dual_dataplane_labels.h"

#include "rules/ambient.h"

namespace ambient_guard::rules {
namespace {

constexpr RuleDoc kDoc{
    "dual-dataplane-labels",
    Action::kWarn,
    "A namespace is not labelled both ambient and sidecar-injected, and "
    "istio.io/dataplane-mode is only `ambient` or `none` (an invalid value is denied).",
    "The sidecar wins: new pods get a sidecar and ztunnel does not capture them, so the "
    "namespace looks enrolled but is not. An invalid dataplane-mode value enrolls nothing.",
    R"(apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {istio-injection: enabled, istio.io/dataplane-mode: ambient})",
    R"(apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {istio.io/dataplane-mode: ambient}   # then restart the pods to drop their sidecars)"};

Finding make(const std::string& ns, Action action, std::string field, std::string message,
             std::string summary) {
  Finding f;
  f.rule = std::string(kDoc.id);
  f.action = action;
  f.object = ObjectKey{Kind::kNamespace, "", ns};
  f.ns = ns;
  f.field = std::move(field);
  f.message = "[" + f.rule + "] Namespace " + ns + " " + std::move(message);
  f.summary = "[" + f.rule + "] Namespace " + ns + ": " + std::move(summary);
  return f;
}

}  // namespace

const RuleDoc& DualDataplaneLabels::doc() const { return kDoc; }

void DualDataplaneLabels::evaluate(const RuleContext& ctx, std::vector<Finding>& out) const {
  if (!ctx.subject.isNamespace()) {
    return;
  }
  const Namespace* n = ctx.state.findNamespace(ctx.subject.key.name);
  if (n == nullptr) {
    return;
  }
  const std::string* mode = n->labels.get(ambient::kDataplaneModeLabel);
  if (mode != nullptr && *mode != "ambient" && *mode != "none") {
    out.push_back(make(
        n->name, Action::kDeny, "metadata.labels[istio.io/dataplane-mode]",
        "has istio.io/dataplane-mode=\"" + *mode +
            "\", which is not a value Istio knows: only `ambient` (enroll) and `none` (opt out) "
            "are valid, and the match is case-sensitive, so the CNI ignores it and no pod is "
            "captured. Fix: `kubectl label namespace " +
            n->name + " istio.io/dataplane-mode=ambient --overwrite`.",
        "invalid istio.io/dataplane-mode \"" + *mode + "\" (use ambient or none)"));
  }
  if (ambient::namespaceMode(n->labels, ctx.mesh.enablement) != ambient::DataplaneMode::kMixed) {
    return;
  }
  std::string injection;
  if (const std::string* v = n->labels.get(ambient::kInjectionLabel)) {
    injection = "istio-injection=" + *v;
  } else if (const std::string* rev = n->labels.get(ambient::kRevLabel)) {
    injection = "istio.io/rev=" + *rev;
  }
  const std::string remove =
      n->labels.has(ambient::kInjectionLabel) ? "istio-injection-" : "istio.io/rev-";
  out.push_back(make(
      n->name, kDoc.default_action, "metadata.labels",
      "has more than one type of injection labels [" + injection +
          " istio.io/dataplane-mode=ambient], which may lead to undefined behavior (IST0123). The "
          "sidecar wins: new pods get a sidecar and are not captured by ztunnel. Fix: `kubectl "
          "label namespace " +
          n->name + " " + remove + "`, then restart the workloads (`kubectl rollout restart "
          "deployment -n " + n->name + "`) so they come back without sidecars.",
      "both ambient and " + injection + ": the sidecar wins; remove " + remove.substr(0, remove.size() - 1)));
}

}  // namespace ambient_guard::rules
