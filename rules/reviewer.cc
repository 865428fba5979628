#include "rules/reviewer.h"

#include <functional>
#include <mutex>
#include <set>

#include "rules/ambient.h"
#include "rules/enablement.h"
#include "rules/istio_version.h"

namespace ambient_guard {

namespace {

// Calls f(text) for each piece of what istioVersionOf reads of a live state: the names, container
// names and images of the workloads in the Istio namespace.
template <class F>
void forEachVersionInput(const ClusterView& state, std::string_view ns, F&& f) {
  auto add = [&](const Workload& w) {
    f(std::string_view(w.name));
    for (const Container& c : w.spec.containers) {
      f(std::string_view(c.name));
      f(std::string_view(c.image));
    }
  };
  for (const Deployment* d : state.list<Deployment>(ns)) {
    add(*d);
  }
  for (const DaemonSet* d : state.list<DaemonSet>(ns)) {
    add(*d);
  }
}

}  // namespace

// What istioVersionOf read of the last state: those pieces, and how many workloads there are
// anywhere (so that any change shows). Compared in place, so an unchanged control plane costs a
// review no allocation.
struct Reviewer::VersionInputs {
  size_t deployments = 0;
  size_t daemonsets = 0;
  std::vector<std::string> pieces;

  static VersionInputs of(const ClusterView& state, std::string_view ns) {
    VersionInputs in{state.count(Kind::kDeployment), state.count(Kind::kDaemonSet), {}};
    forEachVersionInput(state, ns, [&](std::string_view s) { in.pieces.emplace_back(s); });
    return in;
  }
  bool sameAs(const ClusterView& state, std::string_view ns) const {
    if (state.count(Kind::kDeployment) != deployments ||
        state.count(Kind::kDaemonSet) != daemonsets) {
      return false;
    }
    size_t i = 0;
    bool same = true;
    forEachVersionInput(state, ns, [&](std::string_view s) {
      same = same && i < pieces.size() && pieces[i] == s;
      ++i;
    });
    return same && i == pieces.size();
  }
};

// What the last reviewed state's control plane was, and the settings built from it, so that a
// review parses the selectors and searches istiod's image only when those objects changed.
// Guarded by `mu`: held for a few string comparisons per review, and while rebuilding after a
// change (rare), so that one change is parsed and logged once.
struct Reviewer::Live {
  std::string ns;
  bool enablement = false;  // follow istio-cni-config (no --ambient-enablement-selector)
  bool version = false;     // follow istiod's image (no --istio-version)
  std::function<void(bool error, const std::string&)> log;

  std::mutex mu;
  bool have = false;        // the fields below describe the last state seen
  bool had_text = false;    // its ConfigMap had AMBIENT_ENABLEMENT_SELECTOR
  std::string text;         // the value
  VersionInputs workloads;  // what istiod's version was searched in
  std::shared_ptr<const rules::MeshSettings> mesh;
  std::optional<ambient::EnablementSelectors> last_good;  // the last value that parsed
};

Reviewer::Reviewer(std::vector<std::unique_ptr<rules::Rule>> rules, rules::MeshSettings mesh)
    : rules_(std::move(rules)), mesh_(std::move(mesh)) {}

void Reviewer::followControlPlaneIn(std::string ns, bool enablement, bool version,
                                    std::function<void(bool error, const std::string&)> log) {
  if (!enablement && !version) {
    live_.reset();
    return;
  }
  live_ = std::make_shared<Live>();
  live_->ns = std::move(ns);
  live_->enablement = enablement;
  live_->version = version;
  live_->log = std::move(log);
}

std::shared_ptr<const rules::MeshSettings> Reviewer::meshFor(const ClusterView& state) const {
  if (live_ == nullptr) {
    return std::shared_ptr<const rules::MeshSettings>(std::shared_ptr<const void>(), &mesh_);
  }
  Live& live = *live_;
  const std::string* text = nullptr;
  if (live.enablement) {
    const ConfigMap* cm = state.find<ConfigMap>(live.ns, "istio-cni-config");
    text = cm == nullptr ? nullptr : cm->data.get("AMBIENT_ENABLEMENT_SELECTOR");
  }
  std::lock_guard<std::mutex> lock(live.mu);
  const bool same_enablement =
      live.have && live.had_text == (text != nullptr) && (text == nullptr || live.text == *text);
  const bool same_version = live.have && (!live.version || live.workloads.sameAs(state, live.ns));
  if (same_enablement && same_version) {
    return live.mesh;
  }
  const bool first = !live.have;
  auto mesh = std::make_shared<rules::MeshSettings>(live.have ? *live.mesh : mesh_);
  live.have = true;
  if (!same_enablement) {
    live.had_text = text != nullptr;
    live.text = text == nullptr ? std::string() : *text;
    const std::string source = "ConfigMap " + live.ns + "/istio-cni-config";
    if (text == nullptr) {
      mesh->enablement = mesh_.enablement;
      live.last_good.reset();
      if (!first && live.log) {
        live.log(false, "enablement: " + source +
                            " has no AMBIENT_ENABLEMENT_SELECTOR now; using " +
                            mesh_.enablement.source + ": " + mesh_.enablement.str());
      }
    } else if (auto parsed = ambient::parseEnablementSelectors(*text, source); parsed.ok()) {
      mesh->enablement = std::move(*parsed);
      live.last_good = mesh->enablement;
      if (live.log) {
        live.log(false, "enablement: using " + source + ": " + mesh->enablement.str());
      }
    } else {
      // istio-cni refuses to start with it, so the istio-cni pods that run keep what they had:
      // the last value that parsed, else Istio's default; every message names the source.
      mesh->enablement = live.last_good ? *live.last_good : mesh_.enablement;
      mesh->enablement.source += " (" + source + " does not parse: " + parsed.error() + ")";
      if (live.log) {
        live.log(true, "enablement: " + source + " AMBIENT_ENABLEMENT_SELECTOR does not parse (" +
                           parsed.error() + "); falling back to " +
                           (live.last_good ? "its last valid value" : mesh_.enablement.source) +
                           ": " + mesh->enablement.str());
      }
    }
  }
  if (!same_version) {
    live.workloads = VersionInputs::of(state, live.ns);
    rules::MeshSettings search = mesh_;
    search.resolved_istio_version.reset();
    const rules::IstioVersion found = rules::istioVersionOf(state, search);
    mesh->resolved_istio_version = rules::MeshSettings::ResolvedIstioVersion{
        found.version ? found.version->str() : "", found.source};
    if (live.log && (found.version || !first)) {
      live.log(false, "istio version: " + found.describe());
    }
  }
  live.mesh = std::move(mesh);
  return live.mesh;
}

std::vector<rules::Finding> Reviewer::evaluate(const ClusterView& state,
                                               const rules::Subject& subject,
                                               const ClusterView* before,
                                               bool preflight) const {
  return evaluateWith(*meshFor(before != nullptr ? *before : state), state, subject, before,
                      preflight);
}

std::vector<rules::Finding> Reviewer::evaluateWith(const rules::MeshSettings& mesh,
                                                   const ClusterView& state,
                                                   const rules::Subject& subject,
                                                   const ClusterView* before,
                                                   bool preflight) const {
  std::vector<rules::Finding> out;
  rules::RuleContext ctx{state, subject, mesh, before, preflight};
  for (const auto& rule : rules_) {
    if (rule->doc().preflight_only && !preflight) {
      continue;
    }
    rule->evaluate(ctx, out);
  }
  return out;
}

std::vector<rules::Finding> Reviewer::review(const ClusterView& state, const Change& change) const {
  const AnyObject* any = change.object ? &*change.object
                                       : (change.old_object ? &*change.old_object : nullptr);
  if (any == nullptr) {
    return {};
  }
  const ObjectKey key = keyOf(*any);
  const rules::Subject subject = kindOf(*any) == Kind::kNamespace
                                     ? rules::Subject::namespaceNamed(key.name)
                                     : rules::Subject::object(key);
  // The views refer to the change's objects rather than copy them.
  const OverlayView before_state = change.old_object ? OverlayView(state, &*change.old_object)
                                                     : OverlayView(state, key);
  const auto mesh = meshFor(state);
  std::vector<rules::Finding> after;
  if (change.op == Operation::kDelete || !change.object) {
    after = evaluateWith(*mesh, OverlayView(state, key), subject, &before_state, false);
  } else {
    after = evaluateWith(*mesh, OverlayView(state, &*change.object), subject, &before_state, false);
  }
  if (after.empty()) {
    return after;
  }
  std::vector<rules::Finding> before = evaluateWith(*mesh, before_state, subject, nullptr, false);
  std::set<std::string> seen;
  for (const auto& f : before) {
    seen.insert(f.identity());
  }
  for (auto& f : after) {
    f.pre_existing = seen.count(f.identity()) > 0;
  }
  return after;
}

Namespace enrolled(const Namespace& ns, const ambient::EnablementSelectors& enablement) {
  Namespace n = ns;
  const Labels enroll = enablement.enrollLabels();  // items() refers into it
  for (const auto& [k, v] : enroll.items()) {
    n.labels.set(k, v);
  }
  n.labels.erase(ambient::kInjectionLabel);
  n.labels.erase(ambient::kRevLabel);
  return n;
}

std::vector<rules::Finding> Reviewer::reviewNamespace(const ClusterView& state, std::string_view ns,
                                                      bool what_if) const {
  const rules::Subject subject = rules::Subject::namespaceNamed(std::string(ns));
  const auto mesh = meshFor(state);
  std::vector<rules::Finding> out =
      evaluateWith(*mesh, state, subject, nullptr, /*preflight=*/true);
  const Namespace* current = state.findNamespace(ns);
  if (!what_if ||
      (current != nullptr && ambient::isAmbientNamespace(current->labels, mesh->enablement))) {
    return out;
  }
  Namespace base;
  if (current != nullptr) {
    base = *current;
  } else {
    base.name = std::string(ns);
  }
  std::set<std::string> seen;
  for (const auto& f : out) {
    seen.insert(f.identity());
  }
  for (auto& f :
       evaluateWith(*mesh, OverlayView(state, AnyObject(enrolled(base, mesh->enablement))), subject,
                    nullptr, /*preflight=*/true)) {
    if (seen.insert(f.identity()).second) {
      out.push_back(std::move(f));
    }
  }
  return out;
}

}  // namespace ambient_guard
