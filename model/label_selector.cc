#include "model/label_selector.h"

#include <algorithm>
#include <vector>

#include "model/strings.h"

namespace ambient_guard {

bool selectorMatches(const KubeLabelSelector& selector, const Labels& labels) {
  if (!labels.contains(selector.match_labels)) {
    return false;
  }
  for (const KubeSelectorRequirement& e : selector.expressions) {
    const std::string* v = labels.get(e.key);
    const bool in =
        v != nullptr && std::find(e.values.begin(), e.values.end(), *v) != e.values.end();
    bool ok = false;
    if (e.op == "In") {
      ok = in;
    } else if (e.op == "NotIn") {
      ok = !in;
    } else if (e.op == "Exists") {
      ok = v != nullptr;
    } else if (e.op == "DoesNotExist") {
      ok = v == nullptr;
    }
    if (!ok) {
      return false;
    }
  }
  return true;
}

bool selectorEmpty(const KubeLabelSelector& selector) {
  return selector.match_labels.empty() && selector.expressions.empty();
}

std::string selectorString(const KubeLabelSelector& selector) {
  std::vector<std::string> parts;
  if (!selector.match_labels.empty()) {
    parts.push_back(selector.match_labels.str());
  }
  for (const KubeSelectorRequirement& e : selector.expressions) {
    if (e.op == "Exists") {
      parts.push_back(e.key);
    } else if (e.op == "DoesNotExist") {
      parts.push_back("!" + e.key);
    } else {
      parts.push_back(e.key + (e.op == "In" ? " in (" : " notin (") + join(e.values, ",") + ")");
    }
  }
  return join(parts, ",");
}

}  // namespace ambient_guard
