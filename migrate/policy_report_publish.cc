#include "migrate/policy_report_publish.h"

#include <algorithm>
#include <cstdlib>

#include "migrate/policy_report.h"

namespace ambient_guard {

ReportPublisher::BuildFn policyReportBuilder(const Reviewer& reviewer) {
  return [&reviewer](const Snapshot& snapshot, const std::vector<std::string>& served) {
    std::vector<DesiredObject> out;
    const CheckReport check = runCheck(snapshot, reviewer, {});
    for (ReportApi api : {ReportApi::kWgPolicy, ReportApi::kOpenReports}) {
      const ReportApiNames& names = reportApiNames(api);
      if (std::find(served.begin(), served.end(), names.api_version) == served.end()) {
        continue;
      }
      DesiredReports reports = policyReportsFromCheck(check, snapshot, api);
      const std::string base = "/apis/" + std::string(names.api_version);
      out.reserve(out.size() + reports.namespaced.size() + 1);
      for (const nlohmann::json& r : reports.namespaced) {
        out.push_back({base + "/namespaces/" + r["metadata"]["namespace"].get<std::string>() +
                           "/" + std::string(names.plural),
                       std::string(kPolicyReportName), r.dump()});
      }
      out.push_back({base + "/" + std::string(names.cluster_plural),
                     std::string(kPolicyReportName), reports.cluster.dump()});
    }
    return out;
  };
}

ReportPublisherOptions policyReportOptions(const PolicyReportWiring& wiring) {
  ReportPublisherOptions o;
  o.debounce = wiring.debounce;
  o.max_delay = std::max(o.max_delay, wiring.debounce * 5);
  o.resync = wiring.resync;
  o.lease.lease_namespace = wiring.lease_namespace;
  o.lease.identity = wiring.identity;
  if (o.lease.identity.empty()) {
    if (const char* pod = std::getenv("POD_NAME"); pod != nullptr && *pod != '\0') {
      o.lease.identity = pod;
    }
  }
  for (ReportApi api : {ReportApi::kWgPolicy, ReportApi::kOpenReports}) {
    const ReportApiNames& n = reportApiNames(api);
    o.apis.push_back({std::string(n.api_version),
                      {std::string(n.plural), std::string(n.cluster_plural)}});
  }
  return o;
}

}  // namespace ambient_guard
