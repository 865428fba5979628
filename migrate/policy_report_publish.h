// The background PolicyReports (issue 17): migrate/policy_report builds the reports
// from the snapshot, kube/report_publisher elects a leader and writes them; this joins the two.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "kube/kube_config.h"
#include "kube/report_publisher.h"
#include "kube/state_store.h"
#include "rules/reviewer.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace ambient_guard {

struct PolicyReportWiring {
  std::string lease_namespace = "ambient-guard";
  std::string identity;  // "" : $POD_NAME, else hostname_pid
  std::chrono::milliseconds debounce{2000};
  std::chrono::seconds resync{180};
};

// Returns the publisher's build function: check over the snapshot, as PolicyReports of every
// served report API (wgpolicyk8s.io/v1alpha2, openreports.io/v1alpha1). `reviewer` must outlive it.
ReportPublisher::BuildFn policyReportBuilder(const Reviewer& reviewer);
// Returns the publisher options for the report APIs, the Lease and the timings of `wiring`.
ReportPublisherOptions policyReportOptions(const PolicyReportWiring& wiring);

}  // namespace ambient_guard
