// PolicyReports: the migration readiness of every namespace in the Policy Report API
// (wgpolicyk8s.io/v1alpha2, or openreports.io/v1alpha1), built from a cluster snapshot.
//
// Pure: snapshot in, desired report objects out (no I/O). The namespaces and findings are those
// of `check` (runCheck), so a report says what `check` would say about the same state; kube/
// writes them with server-side apply.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "migrate/check.h"
#include "model/cluster_state.h"
#include "rules/reviewer.h"

namespace ambient_guard {

// The report API to write: the Kubernetes policy WG's, or its successor OpenReports.
enum class ReportApi { kWgPolicy, kOpenReports };

// The apiVersion, namespaced kind, cluster kind and plurals of a report API.
struct ReportApiNames {
  std::string_view api_version;  // "wgpolicyk8s.io/v1alpha2"
  std::string_view kind;         // "PolicyReport"
  std::string_view cluster_kind; // "ClusterPolicyReport"
  std::string_view plural;       // "policyreports"
  std::string_view cluster_plural;
};
const ReportApiNames& reportApiNames(ReportApi api);

// The name of every report object ambient-guard writes (one per namespace, one cluster report).
inline constexpr std::string_view kPolicyReportName = "ambient-guard";
// The label that marks them, for `kubectl get policyreports -A -l` and for stale-report cleanup.
inline constexpr std::string_view kManagedByLabel = "app.kubernetes.io/managed-by";

struct DesiredReports {
  std::vector<nlohmann::json> namespaced;  // one PolicyReport per namespace, sorted by namespace
  nlohmann::json cluster;                  // the ClusterPolicyReport
};

// Returns the reports for `state`: one per namespace `check` evaluates that has a live Namespace
// object (terminating ones are left out), with a result per finding and one for the namespace's
// gate, and the cluster summary. Deterministic: equal states give byte-equal dumps.
DesiredReports buildPolicyReports(const ClusterView& state, const Reviewer& reviewer,
                                  ReportApi api = ReportApi::kWgPolicy);
// Same, from a check report already run over `state`.
DesiredReports policyReportsFromCheck(const CheckReport& report, const ClusterView& state,
                                      ReportApi api = ReportApi::kWgPolicy);

// Returns the apiVersion of a kind's objects ("security.istio.io/v1"), for report resources.
std::string_view apiVersionOf(Kind kind);

}  // namespace ambient_guard
