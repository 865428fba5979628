#include "rules/reviewer.h"

#include <functional>
#include <mutex>
#include <set>

#include "rules/ambient.h"
#include "rules/enablement.h"

namespace ambient_guard {

// The settings last built from the ConfigMap's AMBIENT_ENABLEMENT_SELECTOR, so that a review
// parses the selectors only when the text changed. Guarded by `mu` (a string comparison per
// review; std::atomic<std::shared_ptr> is not in GCC 12's libstdc++).
struct Reviewer::LiveEnablement {
  std::string ns;
  std::function<void(bool error, const std::string&)> log;
  std::shared_ptr<const rules::MeshSettings> fixed;  // no ConfigMap (or no key): mesh_
  std::mutex mu;
  bool have = false;        // `text` and `mesh` describe the last state seen
  bool had_text = false;    // the last state seen had the key
  std::string text;         // its value
  std::shared_ptr<const rules::MeshSettings> mesh;
  std::optional<ambient::EnablementSelectors> last_good;  // the last value that parsed
};

Reviewer::Reviewer(std::vector<std::unique_ptr<rules::Rule>> rules, rules::MeshSettings mesh)
    : rules_(std::move(rules)), mesh_(std::move(mesh)) {}

void Reviewer::followEnablementIn(std::string ns,
                                  std::function<void(bool error, const std::string&)> log) {
  live_ = std::make_shared<LiveEnablement>();
  live_->ns = std::move(ns);
  live_->log = std::move(log);
  live_->fixed = std::make_shared<const rules::MeshSettings>(mesh_);
}

std::shared_ptr<const rules::MeshSettings> Reviewer::meshFor(const ClusterView& state) const {
  if (live_ == nullptr) {
    return std::shared_ptr<const rules::MeshSettings>(std::shared_ptr<const void>(), &mesh_);
  }
  LiveEnablement& live = *live_;
  const ConfigMap* cm = state.find<ConfigMap>(live.ns, "istio-cni-config");
  const std::string* text = cm == nullptr ? nullptr : cm->data.get("AMBIENT_ENABLEMENT_SELECTOR");
  std::lock_guard<std::mutex> lock(live.mu);
  if (live.have && live.had_text == (text != nullptr) && (text == nullptr || live.text == *text)) {
    return live.mesh;
  }
  const std::string source = "ConfigMap " + live.ns + "/istio-cni-config";
  const bool first = !live.have;
  live.have = true;
  live.had_text = text != nullptr;
  live.text = text == nullptr ? std::string() : *text;
  if (text == nullptr) {
    live.mesh = live.fixed;
    live.last_good.reset();
    if (!first && live.log) {
      live.log(false, "enablement: " + source + " has no AMBIENT_ENABLEMENT_SELECTOR now; using " +
                          live.fixed->enablement.source + ": " + live.fixed->enablement.str());
    }
    return live.mesh;
  }
  auto mesh = std::make_shared<rules::MeshSettings>(mesh_);
  auto parsed = ambient::parseEnablementSelectors(*text, source);
  if (parsed.ok()) {
    mesh->enablement = std::move(*parsed);
    live.last_good = mesh->enablement;
    if (live.log) {
      live.log(false, "enablement: using " + source + ": " + mesh->enablement.str());
    }
  } else {
    // istio-cni refuses to start with it, so the istio-cni pods that run keep what they had:
    // the last value that parsed, else Istio's default; every message names the source.
    if (live.last_good) {
      mesh->enablement = *live.last_good;
    }
    mesh->enablement.source += " (" + source + " does not parse: " + parsed.error() + ")";
    if (live.log) {
      live.log(true, "enablement: " + source + " AMBIENT_ENABLEMENT_SELECTOR does not parse (" +
                         parsed.error() + "); falling back to " +
                         (live.last_good ? "its last valid value" : live.fixed->enablement.source) +
                         ": " + mesh->enablement.str());
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
  const OverlayView before_state = change.old_object ? OverlayView(state, *change.old_object)
                                                     : OverlayView(state, key);
  const auto mesh = meshFor(state);
  std::vector<rules::Finding> after;
  if (change.op == Operation::kDelete || !change.object) {
    after = evaluateWith(*mesh, OverlayView(state, key), subject, &before_state, false);
  } else {
    after = evaluateWith(*mesh, OverlayView(state, *change.object), subject, &before_state, false);
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
  std::vector<rules::Finding> out = evaluateWith(*mesh, state, subject, nullptr, /*preflight=*/true);
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
  for (auto& f : evaluateWith(*mesh, OverlayView(state, AnyObject(enrolled(base, mesh->enablement))),
                              subject, nullptr, /*preflight=*/true)) {
    if (seen.insert(f.identity()).second) {
      out.push_back(std::move(f));
    }
  }
  return out;
}

}  // namespace ambient_guard
