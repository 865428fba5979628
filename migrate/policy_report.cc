#include "migrate/policy_report.h"

#include <array>

namespace ambient_guard {

using nlohmann::json;

const ReportApiNames& reportApiNames(ReportApi api) {
  static const ReportApiNames kWg{"wgpolicyk8s.io/v1alpha2", "PolicyReport",
                                  "ClusterPolicyReport", "policyreports", "clusterpolicyreports"};
  static const ReportApiNames kOpen{"openreports.io/v1alpha1", "Report", "ClusterReport",
                                    "reports", "clusterreports"};
  return api == ReportApi::kOpenReports ? kOpen : kWg;
}

std::string_view apiVersionOf(Kind kind) {
  switch (kind) {
    case Kind::kNamespace:
    case Kind::kService:
    case Kind::kPod:
    case Kind::kNode:
    case Kind::kConfigMap:
    case Kind::kResourceQuota:
      return "v1";
    case Kind::kGateway:
    case Kind::kGatewayClass:
    case Kind::kHTTPRoute:
      return "gateway.networking.k8s.io/v1";
    case Kind::kAuthorizationPolicy:
    case Kind::kPeerAuthentication:
    case Kind::kRequestAuthentication:
      return "security.istio.io/v1";
    case Kind::kVirtualService:
    case Kind::kDestinationRule:
    case Kind::kSidecar:
    case Kind::kServiceEntry:
    case Kind::kWorkloadEntry:
    case Kind::kWorkloadGroup:
      return "networking.istio.io/v1";
    case Kind::kEnvoyFilter:
      return "networking.istio.io/v1alpha3";
    case Kind::kWasmPlugin:
    case Kind::kTrafficExtension:
      return "extensions.istio.io/v1alpha1";
    case Kind::kClusterSPIFFEID:
      return "spire.spiffe.io/v1alpha1";
    case Kind::kNetworkPolicy:
      return "networking.k8s.io/v1";
    case Kind::kDeployment:
    case Kind::kStatefulSet:
    case Kind::kDaemonSet:
      return "apps/v1";
    case Kind::kFelixConfiguration:
      return "crd.projectcalico.org/v1";
    case Kind::kInstallation:
      return "operator.tigera.io/v1";
    case Kind::kSecurityGroupPolicy:
      return "vpcresources.k8s.aws/v1beta1";
    case Kind::kCiliumNetworkPolicy:
    case Kind::kCiliumClusterwideNetworkPolicy:
      return "cilium.io/v2";
  }
  return "v1";
}

namespace {

constexpr std::string_view kSource = "ambient-guard";
constexpr std::string_view kPolicy = "ambient-guard";
constexpr std::string_view kCategory = "Istio ambient migration";
constexpr std::string_view kGateRule = "namespace-gate";
// Names listed per gate in the cluster report's messages; the counts are always complete.
constexpr size_t kMaxNamesListed = 20;

// The v1alpha2 schema knows high, medium and low only.
std::string_view severityOf(rules::Action action) {
  switch (action) {
    case rules::Action::kDeny:
      return "high";
    case rules::Action::kWarn:
      return "medium";
    default:
      return "low";
  }
}

// A deny is a failed requirement; warn and dryrun findings are warnings (dryrun at low severity).
std::string_view resultOf(rules::Action action) {
  return action == rules::Action::kDeny ? "fail" : "warn";
}

std::string_view gateResult(Gate gate) {
  switch (gate) {
    case Gate::kReady:
      return "pass";
    case Gate::kNeedsWaypoint:
      return "warn";
    case Gate::kBlocked:
      return "fail";
  }
  return "pass";
}

std::string_view gateSeverity(Gate gate) {
  return gate == Gate::kBlocked ? "high" : gate == Gate::kNeedsWaypoint ? "medium" : "low";
}

std::string gateMessage(const NamespaceReport& ns) {
  const std::string as = ns.what_if ? " (evaluated as if enrolled in ambient now)" : "";
  switch (ns.gate) {
    case Gate::kReady:
      return "ready for ambient" + as + ": no finding would deny enrollment";
    case Gate::kNeedsWaypoint:
      return "needs a waypoint" + as + ": L7 policies or routes need a waypoint before cutover";
    case Gate::kBlocked:
      return "blocked" + as + ": fix the failed results before enrolling in ambient";
  }
  return "";
}

json objectRef(std::string_view api_version, std::string_view kind, std::string_view ns,
               std::string_view name) {
  json ref = {{"apiVersion", api_version}, {"kind", kind}, {"name", name}};
  if (!ns.empty()) {
    ref["namespace"] = ns;
  }
  return ref;
}

json metadata(std::string_view ns) {
  json meta = {{"name", kPolicyReportName}, {"labels", {{kManagedByLabel, "ambient-guard"}}}};
  if (!ns.empty()) {
    meta["namespace"] = ns;
  }
  return meta;
}

json namespaceReport(const NamespaceReport& ns, const Namespace& object,
                     const ReportApiNames& names) {
  const std::string gate(gateName(ns.gate));
  const std::string evaluated = ns.what_if ? "enrolled" : "current";
  json results = json::array();
  std::array<size_t, 3> counts{0, 0, 0};  // pass, fail, warn
  auto count = [&counts](std::string_view result) {
    counts[result == "pass" ? 0 : result == "fail" ? 1 : 2]++;
  };
  // The gate first: Policy Reporter lists results in order.
  results.push_back({{"source", kSource},
                     {"policy", kPolicy},
                     {"rule", kGateRule},
                     {"category", kCategory},
                     {"result", gateResult(ns.gate)},
                     {"severity", gateSeverity(ns.gate)},
                     {"scored", true},
                     {"message", gateMessage(ns)},
                     {"resources", json::array({objectRef("v1", "Namespace", "", ns.name)})},
                     {"properties", {{"gate", gate}, {"mode", ns.mode}, {"evaluatedAs", evaluated}}}});
  count(gateResult(ns.gate));
  for (const rules::Finding& f : ns.findings) {
    if (f.action == rules::Action::kOff) {
      continue;
    }
    json props = {{"gate", gate},
                  {"action", rules::actionName(f.action)},
                  {"evaluatedAs", evaluated},
                  {"needsWaypoint", f.needs_waypoint ? "true" : "false"}};
    if (!f.field.empty()) {
      props["field"] = f.field;
    }
    results.push_back(
        {{"source", kSource},
         {"policy", kPolicy},
         {"rule", f.rule},
         {"category", kCategory},
         {"result", resultOf(f.action)},
         {"severity", severityOf(f.action)},
         {"scored", true},
         {"message", f.message},
         {"resources", json::array({objectRef(apiVersionOf(f.object.kind), kindName(f.object.kind),
                                              f.object.ns, f.object.name)})},
         {"properties", std::move(props)}});
    count(resultOf(f.action));
  }
  json report = {{"apiVersion", names.api_version},
                 {"kind", names.kind},
                 {"metadata", metadata(ns.name)},
                 {"scope", objectRef("v1", "Namespace", "", ns.name)},
                 {"summary",
                  {{"pass", counts[0]}, {"fail", counts[1]}, {"warn", counts[2]}, {"error", 0},
                   {"skip", 0}}},
                 {"results", std::move(results)}};
  // Garbage collection removes the report with its namespace.
  if (!object.uid.empty()) {
    report["metadata"]["ownerReferences"] = json::array({{{"apiVersion", "v1"},
                                                          {"kind", "Namespace"},
                                                          {"name", ns.name},
                                                          {"uid", object.uid}}});
  }
  return report;
}

json clusterReport(const std::vector<const NamespaceReport*>& reported,
                   const ReportApiNames& names) {
  std::array<std::vector<std::string_view>, 3> by_gate;
  for (const NamespaceReport* ns : reported) {
    by_gate[static_cast<int>(ns->gate)].push_back(ns->name);
  }
  json results = json::array();
  for (Gate gate : {Gate::kReady, Gate::kNeedsWaypoint, Gate::kBlocked}) {
    const auto& list = by_gate[static_cast<int>(gate)];
    std::string listed;
    for (size_t i = 0; i < list.size() && i < kMaxNamesListed; ++i) {
      listed += (i == 0 ? "" : ", ") + std::string(list[i]);
    }
    if (list.size() > kMaxNamesListed) {
      listed += ", … (" + std::to_string(list.size() - kMaxNamesListed) + " more)";
    }
    std::string message = std::to_string(list.size()) + " namespace(s) " +
                          std::string(gateName(gate)) + (listed.empty() ? "" : ": " + listed);
    results.push_back({{"source", kSource},
                       {"policy", kPolicy},
                       {"rule", kGateRule},
                       {"category", kCategory},
                       {"result", gateResult(gate)},
                       {"severity", gateSeverity(gate)},
                       {"scored", false},
                       {"message", std::move(message)},
                       {"properties",
                        {{"gate", gateName(gate)}, {"namespaces", std::to_string(list.size())}}}});
  }
  return {{"apiVersion", names.api_version},
          {"kind", names.cluster_kind},
          {"metadata", metadata("")},
          {"summary",
           {{"pass", by_gate[0].size()},
            {"warn", by_gate[1].size()},
            {"fail", by_gate[2].size()},
            {"error", 0},
            {"skip", 0}}},
          {"results", std::move(results)}};
}

}  // namespace

DesiredReports policyReportsFromCheck(const CheckReport& report, const ClusterView& state,
                                      ReportApi api) {
  const ReportApiNames& names = reportApiNames(api);
  DesiredReports out;
  std::vector<const NamespaceReport*> reported;
  for (const NamespaceReport& ns : report.namespaces) {
    const Namespace* object = state.findNamespace(ns.name);
    // Objects of a namespace without a Namespace object, or one being deleted, have nowhere
    // to put a report (the API server refuses new objects in a terminating namespace).
    if (object == nullptr || object->terminating) {
      continue;
    }
    out.namespaced.push_back(namespaceReport(ns, *object, names));
    reported.push_back(&ns);
  }
  out.cluster = clusterReport(reported, names);
  return out;
}

DesiredReports buildPolicyReports(const ClusterView& state, const Reviewer& reviewer,
                                  ReportApi api) {
  return policyReportsFromCheck(runCheck(state, reviewer, {}), state, api);
}

}  // namespace ambient_guard
