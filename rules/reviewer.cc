#include "rules/reviewer.h"

#include <set>

#include "rules/ambient.h"

namespace ambient_guard {

Reviewer::Reviewer(std::vector<std::unique_ptr<rules::Rule>> rules, rules::MeshSettings mesh)
    : rules_(std::move(rules)), mesh_(std::move(mesh)) {}

std::vector<rules::Finding> Reviewer::evaluate(const ClusterView& state,
                                               const rules::Subject& subject,
                                               const ClusterView* before,
                                               bool preflight) const {
  std::vector<rules::Finding> out;
  rules::RuleContext ctx{state, subject, mesh_, before, preflight};
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
  std::vector<rules::Finding> after;
  if (change.op == Operation::kDelete || !change.object) {
    after = evaluate(OverlayView(state, key), subject, &before_state);
  } else {
    after = evaluate(OverlayView(state, *change.object), subject, &before_state);
  }
  if (after.empty()) {
    return after;
  }
  std::vector<rules::Finding> before = evaluate(before_state, subject);
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
  std::vector<rules::Finding> out = evaluate(state, subject, nullptr, /*preflight=*/true);
  const Namespace* current = state.findNamespace(ns);
  if (!what_if || (current != nullptr && ambient::isAmbientNamespace(current->labels, mesh_.enablement))) {
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
  for (auto& f : evaluate(OverlayView(state, AnyObject(enrolled(base, mesh_.enablement))), subject, nullptr,
                          /*preflight=*/true)) {
    if (seen.insert(f.identity()).second) {
      out.push_back(std::move(f));
    }
  }
  return out;
}

}  // namespace ambient_guard
