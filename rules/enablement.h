// Which pods istio-cni captures for ambient: its enablement selectors.
//
// istio-cni reads AMBIENT_ENABLEMENT_SELECTOR (ConfigMap istio-cni-config, Helm value
// `ambient.enablementSelectors`): a YAML list of {podSelector, namespaceSelector} Kubernetes
// label selectors; a pod is captured when some entry matches both its labels and its namespace's
// labels ([I] cni/pkg/util/enablement_selector.go; cni/pkg/install/cniplugin.go and
// cni/pkg/cmd/root.go unmarshal it with sigs.k8s.io/yaml). The chart's default is the two
// entries of spec R1.2 (pod labelled ambient; or namespace labelled ambient and the pod not
// labelled none). Immutable values; safe to share between threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/cluster_state.h"
#include "model/label_selector.h"
#include "model/objects.h"
#include "model/result.h"

namespace ambient_guard::ambient {

// One entry: a pod selector and a namespace selector (model/label_selector.h evaluates them).
struct EnablementSelector {
  KubeLabelSelector pod;
  KubeLabelSelector ns;
};

struct EnablementSelectors {
  // Istio's defaults (manifests/charts/istio-cni/values.yaml ambient.enablementSelectors).
  EnablementSelectors();

  std::vector<EnablementSelector> entries;
  // Where the selectors came from: "the istio-cni default", "--ambient-enablement-selector",
  // "ConfigMap istio-system/istio-cni-config".
  std::string source = "the istio-cni default";
  bool is_default = true;

  // Returns true when istio-cni captures a pod with these labels in a namespace with these
  // labels (before the sidecar check, which callers do).
  bool selects(const Labels& ns_labels, const Labels& pod_labels) const;
  // Returns true when a namespace with these labels enrolls its pods as a whole: an entry
  // matches it and a pod without labels (namespace-level enrollment).
  bool selectsNamespace(const Labels& ns_labels) const;
  // Returns the namespace labels that enroll a namespace: the matchLabels of the first entry
  // that selects namespaces by matchLabels only and captures pods without labels;
  // istio.io/dataplane-mode=ambient when no entry does (then enrollment is per pod).
  Labels enrollLabels() const;
  // Returns a one-line description of the entries, for messages.
  std::string str() const;
};

// Parses AMBIENT_ENABLEMENT_SELECTOR (YAML or JSON); errors name the field, like istio-cni's
// "failed to parse ambient enablement selector" / "failed to instantiate" (it refuses to start).
Result<EnablementSelectors> parseEnablementSelectors(std::string_view text,
                                                     const std::string& source);

// Returns the selectors in the state's istio-cni-config ConfigMap (any namespace; the
// lexicographically first when there are several), nullopt when the state has none or it has no
// AMBIENT_ENABLEMENT_SELECTOR key, or the parse error.
std::optional<Result<EnablementSelectors>> enablementFromState(const ClusterView& state);

// Returns the selectors to assume: `flag` (AMBIENT_ENABLEMENT_SELECTOR text) when not empty,
// else the state's istio-cni-config, else Istio's default; an error when the one chosen does not
// parse.
Result<EnablementSelectors> resolveEnablement(const ClusterView& state, std::string_view flag);

}  // namespace ambient_guard::ambient
