// The Istio version whose behaviour a rule assumes, and where ambient-guard found it.
//
// Some rules are true or false depending on the Istio release (the EKS branch-ENI probe fix,
// ztunnel dry-run support, what istiod does with AuthorizationPolicy trustDomains). They take the
// version from `--istio-version` (MeshSettings::istio_version), else from istiod's image tag in
// the cluster state, else from the istio-cni / ztunnel image tags, and every message they write
// says which version was assumed and why (docs/istio-1.31-notes.md §1).
#pragma once

#include <optional>
#include <string>

#include "rules/platform.h"
#include "rules/rule.h"

namespace ambient_guard::rules {

// The newest Istio release whose ambient behaviour ambient-guard models.
inline constexpr platform::Version kLatestKnownIstio{1, 31, 1};

struct IstioVersion {
  std::optional<platform::Version> version;  // nullopt: nothing in the state or the flags
  std::string source;  // "--istio-version", "istiod image docker.io/istio/pilot:1.29.3", ...

  // Returns "Istio 1.29.3 (istiod image docker.io/istio/pilot:1.29.3)", or
  // "Istio version unknown (no --istio-version, no istiod/istio-cni/ztunnel image in the state)".
  std::string describe() const;
};

// Returns the Istio version of the cluster: MeshSettings::istio_version when set, else the lowest
// tag of the istiod Deployments (`istiod`, `istiod-<rev>`, container `discovery`; the lowest, so a
// canary upgrade in progress is judged by the revision that still serves some namespaces), else
// the istio-cni / ztunnel DaemonSet image tags.
IstioVersion istioVersionOf(const ClusterView& state, const MeshSettings& mesh);

// Returns true when istio-cni routes kubelet probes of EKS branch-ENI pods over the veth pair
// (AMBIENT_ENABLE_AWS_BRANCH_ENI_PROBE, on by default): 1.28.7+, 1.29.3+, 1.30.0+
// (istio.io release notes for 1.28.7, 1.29.3, 1.30.0).
bool hasBranchEniProbeFix(const platform::Version& v);

// Returns true when ztunnel can dry-run AuthorizationPolicies (1.29+, behind istiod's
// AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY; istio.io 1.29 upgrade notes).
bool supportsZtunnelDryRun(const platform::Version& v);

// Returns true when the AuthorizationPolicy API has source.trustDomains (1.31+).
bool hasTrustDomainsField(const platform::Version& v);

// Returns true when istiod reports source.trustDomains / notTrustDomains of a ztunnel-bound
// policy as unsupported HTTP attributes ([I] pilot/pkg/serviceregistry/ambient/authorization.go
// httpSources on master after 1.31.1). Istio 1.31.x drops them without any status.
bool reportsTrustDomainsAsHttp(const platform::Version& v);

}  // namespace ambient_guard::rules
