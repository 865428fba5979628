// One evaluator for every Kubernetes label selector ambient-guard reads (metav1.LabelSelector:
// matchLabels AND matchExpressions): NetworkPolicy and Cilium selectors, istio-cni's ambient
// enablement selectors (rules/enablement.h) and the webhook's namespaceOverrides
// (webhook/config.h) all hold a KubeLabelSelector (model/objects.h). Pure functions.
#pragma once

#include <string>

#include "model/objects.h"

namespace ambient_guard {

// Returns true when `labels` satisfies every matchLabels pair and every expression. An empty
// selector matches everything; an operator other than In, NotIn, Exists and DoesNotExist matches
// nothing (the API server rejects it, and so do our parsers).
bool selectorMatches(const KubeLabelSelector& selector, const Labels& labels);

// Returns true when the selector has neither matchLabels nor matchExpressions.
bool selectorEmpty(const KubeLabelSelector& selector);

// Returns the selector in kubectl syntax ("a=b,c notin (none),!d"), "" when empty.
std::string selectorString(const KubeLabelSelector& selector);

}  // namespace ambient_guard
