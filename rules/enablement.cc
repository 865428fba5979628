#include "rules/enablement.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "model/strings.h"
#include "rules/ambient.h"

namespace ambient_guard::ambient {
namespace {

Result<Labels> stringMap(const YAML::Node& node, const std::string& path) {
  if (!node || node.IsNull()) {
    return Labels();
  }
  if (!node.IsMap()) {
    return Error{path + " must be a map of strings"};
  }
  std::vector<std::pair<std::string, std::string>> kv;
  for (const auto& it : node) {
    if (!it.second.IsScalar()) {
      return Error{path + "." + it.first.as<std::string>() + " must be a string"};
    }
    kv.emplace_back(it.first.as<std::string>(), it.second.as<std::string>());
  }
  return Labels(std::move(kv));
}

// metav1.LabelSelectorAsSelector's checks: a known operator; values for In/NotIn, none for
// Exists/DoesNotExist.
Result<KubeLabelSelector> labelSelector(const YAML::Node& node, const std::string& path) {
  KubeLabelSelector s;
  if (!node || node.IsNull()) {
    return s;
  }
  if (!node.IsMap()) {
    return Error{path + " must be a label selector (matchLabels, matchExpressions)"};
  }
  auto labels = stringMap(node["matchLabels"], path + ".matchLabels");
  if (!labels) {
    return Error{labels.error()};
  }
  s.match_labels = std::move(*labels);
  const YAML::Node exprs = node["matchExpressions"];
  if (exprs && !exprs.IsNull()) {
    if (!exprs.IsSequence()) {
      return Error{path + ".matchExpressions must be a list"};
    }
    for (size_t i = 0; i < exprs.size(); ++i) {
      const std::string p = path + ".matchExpressions[" + std::to_string(i) + "]";
      const YAML::Node e = exprs[i];
      if (!e.IsMap() || !e["key"] || !e["key"].IsScalar() || !e["operator"] ||
          !e["operator"].IsScalar()) {
        return Error{p + " needs a key and an operator"};
      }
      KubeSelectorRequirement r{e["key"].as<std::string>(), e["operator"].as<std::string>(), {}};
      if (const YAML::Node v = e["values"]; v && !v.IsNull()) {
        if (!v.IsSequence()) {
          return Error{p + ".values must be a list of strings"};
        }
        for (const auto& x : v) {
          if (!x.IsScalar()) {
            return Error{p + ".values must be a list of strings"};
          }
          r.values.push_back(x.as<std::string>());
        }
      }
      if (r.op == "In" || r.op == "NotIn") {
        if (r.values.empty()) {
          return Error{p + ": for 'in', 'notin' operators, values set can't be empty"};
        }
      } else if (r.op == "Exists" || r.op == "DoesNotExist") {
        if (!r.values.empty()) {
          return Error{p + ": values set must be empty for exists and does not exist"};
        }
      } else {
        return Error{p + ": \"" + r.op + "\" is not a valid label selector operator"};
      }
      s.expressions.push_back(std::move(r));
    }
  }
  return s;
}

}  // namespace

EnablementSelectors::EnablementSelectors() {
  EnablementSelector pod_labelled;
  pod_labelled.pod.match_labels.set(std::string(kDataplaneModeLabel), "ambient");
  EnablementSelector ns_labelled;
  ns_labelled.ns.match_labels.set(std::string(kDataplaneModeLabel), "ambient");
  ns_labelled.pod.expressions.push_back({std::string(kDataplaneModeLabel), "NotIn", {"none"}});
  entries = {std::move(pod_labelled), std::move(ns_labelled)};
}

bool EnablementSelectors::selects(const Labels& ns_labels, const Labels& pod_labels) const {
  for (const EnablementSelector& e : entries) {
    if (selectorMatches(e.pod, pod_labels) && selectorMatches(e.ns, ns_labels)) {
      return true;
    }
  }
  return false;
}

bool EnablementSelectors::selectsNamespace(const Labels& ns_labels) const {
  return selects(ns_labels, Labels());
}

Labels EnablementSelectors::enrollLabels() const {
  for (const EnablementSelector& e : entries) {
    if (!e.ns.match_labels.empty() && e.ns.expressions.empty() && selectorMatches(e.pod, Labels())) {
      return e.ns.match_labels;
    }
  }
  Labels out;
  out.set(std::string(kDataplaneModeLabel), "ambient");
  return out;
}

std::string EnablementSelectors::str() const {
  std::vector<std::string> parts;
  for (const EnablementSelector& e : entries) {
    const std::string pod = selectorEmpty(e.pod) ? "any pod" : "pods " + selectorString(e.pod);
    const std::string ns = selectorEmpty(e.ns) ? "any namespace" : "namespaces " + selectorString(e.ns);
    parts.push_back("{" + pod + " in " + ns + "}");
  }
  return parts.empty() ? "(none: nothing is captured)" : join(parts, " or ");
}

Result<EnablementSelectors> parseEnablementSelectors(std::string_view text,
                                                     const std::string& source) {
  const std::string what = "ambient enablement selector (" + source + ")";
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Error{"failed to parse " + what + ": " + e.what()};
  }
  EnablementSelectors out;
  out.entries.clear();
  out.source = source;
  out.is_default = false;
  if (!root || root.IsNull()) {
    return out;  // an empty list: istio-cni captures nothing
  }
  if (!root.IsSequence()) {
    return Error{"failed to parse " + what +
                 ": must be a list of {podSelector, namespaceSelector}"};
  }
  try {
    for (size_t i = 0; i < root.size(); ++i) {
      const std::string p = "[" + std::to_string(i) + "]";
      if (!root[i].IsMap()) {
        return Error{"failed to parse " + what + ": " + p + " must be a map"};
      }
      EnablementSelector e;
      auto pod = labelSelector(root[i]["podSelector"], p + ".podSelector");
      auto ns = labelSelector(root[i]["namespaceSelector"], p + ".namespaceSelector");
      if (!pod || !ns) {
        return Error{"invalid " + what + ": " + (pod ? ns.error() : pod.error())};
      }
      e.pod = std::move(*pod);
      e.ns = std::move(*ns);
      out.entries.push_back(std::move(e));
    }
  } catch (const YAML::Exception& e) {
    return Error{"failed to parse " + what + ": " + e.what()};
  }
  return out;
}

std::optional<Result<EnablementSelectors>> enablementFromState(const ClusterView& state) {
  for (const std::string& ns : state.namespaceNames()) {
    const ConfigMap* cm = state.find<ConfigMap>(ns, "istio-cni-config");
    if (cm == nullptr) {
      continue;
    }
    const std::string* v = cm->data.get("AMBIENT_ENABLEMENT_SELECTOR");
    if (v == nullptr) {
      return std::nullopt;
    }
    return parseEnablementSelectors(*v, "ConfigMap " + ns + "/istio-cni-config");
  }
  return std::nullopt;
}

Result<EnablementSelectors> resolveEnablement(const ClusterView& state, std::string_view flag) {
  if (!flag.empty()) {
    return parseEnablementSelectors(flag, "--ambient-enablement-selector");
  }
  if (auto from_state = enablementFromState(state)) {
    return std::move(*from_state);
  }
  return EnablementSelectors();
}

}  // namespace ambient_guard::ambient
