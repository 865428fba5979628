// deploy/monitoring: renders it with the real `kubectl kustomize`, parses the Grafana dashboard,
// and checks that every metric the PromQL of the alerts and panels reads is one the webhook
// registers — names read from the sources (webhook/*.cc, kube/*.cc `Build…().Name("…")`) at test time — and
// that label values match the ones the code emits.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/testlib/testlib.h"

namespace ambient_guard::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kSourceDir = AG_SOURCE_DIR;
const std::string kMonitoringDir = kSourceDir + "/deploy/monitoring";

std::string readText(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Registered {
  std::set<std::string> names;       // as registered
  std::set<std::string> histograms;  // subset: histogram families
};

// Every metric family registered in webhook/*.cc and kube/*.cc (the watch's own series), e.g.
// prometheus::BuildCounter().Name("…").
const Registered& registered() {
  static const Registered r = [] {
    Registered out;
    const std::regex build(
        R"re(Build(Counter|Gauge|Histogram|Summary)\(\)\s*\.Name\("([^"]+)"\))re");
    std::vector<fs::path> sources;
    for (const char* layer : {"/webhook", "/kube"}) {
      for (const auto& entry : fs::directory_iterator(kSourceDir + layer)) {
        if (entry.path().extension() == ".cc") {
          sources.push_back(entry.path());
        }
      }
    }
    for (const auto& path : sources) {
      const std::string text = readText(path.string());
      for (std::sregex_iterator it(text.begin(), text.end(), build), end; it != end; ++it) {
        out.names.insert((*it)[2]);
        if ((*it)[1] == "Histogram") {
          out.histograms.insert((*it)[2]);
        }
      }
    }
    return out;
  }();
  return r;
}

// Returns whether `series` is a series name the webhook exposes (histograms as _bucket/_sum/
// _count), or Prometheus's own `up`.
bool knownSeries(const std::string& series) {
  const Registered& r = registered();
  if (series == "up" || r.names.count(series) > 0) {
    return !r.histograms.count(series);  // a histogram is only read through its suffixes
  }
  for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
    if (series.size() > suffix.size() &&
        series.compare(series.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        r.histograms.count(series.substr(0, series.size() - suffix.size())) > 0) {
      return true;
    }
  }
  return false;
}

// The series names an expression reads: every ambient_guard_* token, and every identifier
// directly followed by a `{` selector.
std::set<std::string> seriesIn(const std::string& expr) {
  std::set<std::string> out;
  const std::regex ours(R"(ambient_guard_[a-zA-Z0-9_:]*)");
  for (std::sregex_iterator it(expr.begin(), expr.end(), ours), end; it != end; ++it) {
    out.insert(it->str());
  }
  const std::regex selector(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{)");
  for (std::sregex_iterator it(expr.begin(), expr.end(), selector), end; it != end; ++it) {
    out.insert((*it)[1]);
  }
  return out;
}

// The values an expression matches a label against: decision="denied" → {"denied"}.
std::set<std::string> labelValues(const std::string& expr, const std::string& label) {
  std::set<std::string> out;
  const std::regex matcher(label + R"re(\s*=~?\s*"([^"]*)")re");
  for (std::sregex_iterator it(expr.begin(), expr.end(), matcher), end; it != end; ++it) {
    out.insert((*it)[1]);
  }
  return out;
}

struct Rendered {
  bool ok = false;
  std::vector<YAML::Node> objects;
  YAML::Node one(const std::string& kind) const {
    std::vector<YAML::Node> all;
    for (const auto& o : objects) {
      if (o["kind"].as<std::string>("") == kind) {
        all.push_back(o);
      }
    }
    EXPECT_EQ(all.size(), 1u) << "objects of kind " << kind;
    return all.empty() ? YAML::Node() : all.front();
  }
};

const Rendered& rendered() {
  static const Rendered r = [] {
    Rendered out;
    ProcessResult p = runProcess({"kubectl", "kustomize", kMonitoringDir});
    if (p.exit_code == 127) {
      ADD_FAILURE() << "kubectl is not on PATH: the monitoring tests render deploy/monitoring "
                       "with `kubectl kustomize`";
      return out;
    }
    if (p.exit_code != 0) {
      ADD_FAILURE() << "kubectl kustomize deploy/monitoring failed (" << p.exit_code
                    << "): " << p.err;
      return out;
    }
    try {
      for (const auto& doc : YAML::LoadAll(p.out)) {
        if (doc.IsMap()) {
          out.objects.push_back(doc);
        }
      }
    } catch (const YAML::Exception& e) {
      ADD_FAILURE() << "deploy/monitoring rendered invalid YAML: " << e.what();
      return out;
    }
    out.ok = !out.objects.empty();
    return out;
  }();
  return r;
}

json dashboard() {
  try {
    return json::parse(readText(kMonitoringDir + "/grafana-dashboard.json"));
  } catch (const json::exception& e) {
    ADD_FAILURE() << "grafana-dashboard.json does not parse: " << e.what();
    return json::object();
  }
}

// Every PromQL expression of the dashboard: panel targets (rows included) and query variables.
std::vector<std::string> dashboardExprs(const json& d) {
  std::vector<std::string> out;
  std::function<void(const json&)> panels = [&](const json& list) {
    for (const auto& p : list) {
      for (const auto& t : p.value("targets", json::array())) {
        out.push_back(t.value("expr", ""));
      }
      panels(p.value("panels", json::array()));
    }
  };
  panels(d.value("panels", json::array()));
  for (const auto& v : d["templating"].value("list", json::array())) {
    if (v.value("type", "") == "query") {
      out.push_back(v.value("definition", ""));
    }
  }
  return out;
}

std::map<std::string, YAML::Node> alerts() {
  std::map<std::string, YAML::Node> out;
  const Rendered& r = rendered();
  if (!r.ok) {
    return out;
  }
  for (const auto& group : r.one("PrometheusRule")["spec"]["groups"]) {
    for (const auto& rule : group["rules"]) {
      out[rule["alert"].as<std::string>("")] = YAML::Node(rule);
    }
  }
  return out;
}

TEST(Monitoring, SourcesRegisterTheMetricsTheAlertsNeed) {
  // Guards the grep itself: if these vanish the name check below would pass vacuously.
  const Registered& r = registered();
  for (const char* name :
       {"ambient_guard_admission_requests_total", "ambient_guard_admission_duration_seconds",
        "ambient_guard_findings_total", "ambient_guard_cert_expiry_timestamp_seconds",
        "ambient_guard_state_objects", "ambient_guard_watch_restarts_total",
        "ambient_guard_watch_last_event_age_seconds", "ambient_guard_audit_write_errors_total"}) {
    EXPECT_EQ(r.names.count(name), 1u) << name;
  }
  EXPECT_EQ(r.histograms, (std::set<std::string>{"ambient_guard_admission_duration_seconds",
                                                 "ambient_guard_policy_report_scan_seconds"}));
}

TEST(Monitoring, KustomizeBuildsRuleMonitorAndDashboardConfigMap) {
  const Rendered& r = rendered();
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.objects.size(), 3u);
  const YAML::Node cm = r.one("ConfigMap");
  EXPECT_EQ(cm["metadata"]["name"].as<std::string>(""), "ambient-guard-dashboard");
  EXPECT_EQ(cm["metadata"]["labels"]["grafana_dashboard"].as<std::string>(""), "1");
  const std::string embedded = cm["data"]["grafana-dashboard.json"].as<std::string>("");
  EXPECT_EQ(json::parse(embedded), dashboard());
  const YAML::Node rule = r.one("PrometheusRule");
  EXPECT_EQ(rule["apiVersion"].as<std::string>(""), "monitoring.coreos.com/v1");
  EXPECT_EQ(rule["metadata"]["namespace"].as<std::string>(""), "ambient-guard");
  const YAML::Node sm = r.one("ServiceMonitor");
  const YAML::Node ep = sm["spec"]["endpoints"][0];
  EXPECT_EQ(ep["port"].as<std::string>(""), "https");
  EXPECT_EQ(ep["scheme"].as<std::string>(""), "https");
  EXPECT_EQ(ep["path"].as<std::string>(""), "/metrics");
}

TEST(Monitoring, AlertsAreTheAgreedSetWithSeverityAndText) {
  const auto all = alerts();
  std::set<std::string> names;
  for (const auto& [name, rule] : all) {
    names.insert(name);
    SCOPED_TRACE(name);
    EXPECT_FALSE(rule["expr"].as<std::string>("").empty());
    const std::string severity = rule["labels"]["severity"].as<std::string>("");
    EXPECT_TRUE(severity == "warning" || severity == "critical") << severity;
    EXPECT_FALSE(rule["annotations"]["summary"].as<std::string>("").empty());
    EXPECT_FALSE(rule["annotations"]["description"].as<std::string>("").empty());
  }
  EXPECT_EQ(names, (std::set<std::string>{"AmbientGuardDown", "AmbientGuardHighLatency",
                                          "AmbientGuardDenySpike", "AmbientGuardWatchStalled",
                                          "AmbientGuardCertExpiringSoon",
                                          "AmbientGuardAuditWriteErrors"}));
  if (all.count("AmbientGuardHighLatency") > 0) {
    const YAML::Node latency = all.at("AmbientGuardHighLatency");
    EXPECT_EQ(latency["for"].as<std::string>(""), "10m");
    const std::string expr = latency["expr"].as<std::string>("");
    EXPECT_NE(expr.find("histogram_quantile(0.99"), std::string::npos) << expr;
    EXPECT_NE(expr.find("ambient_guard_admission_duration_seconds_bucket"), std::string::npos);
    EXPECT_NE(expr.find(") > 1"), std::string::npos) << expr;
  }
  if (all.count("AmbientGuardCertExpiringSoon") > 0) {
    const std::string expr = all.at("AmbientGuardCertExpiringSoon")["expr"].as<std::string>("");
    EXPECT_NE(expr.find("time()"), std::string::npos) << expr;
    EXPECT_NE(expr.find("< 14"), std::string::npos) << expr;
  }
}

TEST(Monitoring, EveryMetricReadIsRegistered) {
  std::vector<std::pair<std::string, std::string>> exprs;  // where, expr
  for (const auto& [name, rule] : alerts()) {
    exprs.emplace_back("alert " + name, rule["expr"].as<std::string>(""));
  }
  for (const auto& e : dashboardExprs(dashboard())) {
    exprs.emplace_back("dashboard", e);
  }
  ASSERT_GT(exprs.size(), 15u);
  // Label values the code emits: the decision label of admission_requests_total (server.cc and
  // admission_pipeline.cc), and the action of findings_total (rules::actionName).
  const std::string emitters = readText(kSourceDir + "/webhook/admission_pipeline.cc") +
                               readText(kSourceDir + "/webhook/server.cc");
  const std::string actions = readText(kSourceDir + "/rules/rule.cc");
  std::set<std::string> read;
  for (const auto& [where, expr] : exprs) {
    SCOPED_TRACE(where + ": " + expr);
    EXPECT_FALSE(expr.empty());
    for (const auto& series : seriesIn(expr)) {
      EXPECT_TRUE(knownSeries(series)) << "unknown series " << series;
      read.insert(series);
    }
    for (const auto& v : labelValues(expr, "decision")) {
      EXPECT_NE(emitters.find("\"" + v + "\""), std::string::npos) << "decision=\"" << v << "\"";
    }
    for (const auto& v : labelValues(expr, "action")) {
      EXPECT_NE(actions.find("\"" + v + "\""), std::string::npos) << "action=\"" << v << "\"";
    }
    for (const auto& v : labelValues(expr, "enforced")) {
      EXPECT_TRUE(v == "true" || v == "false") << v;
    }
  }
  // The dashboard and alerts cover what an operator needs.
  for (const char* series :
       {"ambient_guard_admission_requests_total", "ambient_guard_admission_duration_seconds_bucket",
        "ambient_guard_findings_total", "ambient_guard_watch_restarts_total",
        "ambient_guard_watch_last_event_age_seconds", "ambient_guard_state_objects",
        "ambient_guard_cert_expiry_timestamp_seconds", "ambient_guard_audit_write_errors_total",
        "up"}) {
    EXPECT_EQ(read.count(series), 1u) << series;
  }
}

TEST(Monitoring, DashboardIsWellFormed) {
  const json d = dashboard();
  EXPECT_EQ(d.value("uid", ""), "ambient-guard");
  std::set<int> ids;
  for (const auto& p : d["panels"]) {
    SCOPED_TRACE(p.value("title", ""));
    EXPECT_TRUE(ids.insert(p.value("id", -1)).second) << "duplicate panel id";
    const json& g = p["gridPos"];
    EXPECT_LE(g.value("x", 99) + g.value("w", 99), 24);
    if (p.value("type", "") == "row") {
      continue;
    }
    EXPECT_EQ(p["datasource"].value("uid", ""), "${datasource}");
    ASSERT_FALSE(p.value("targets", json::array()).empty());
    for (const auto& t : p["targets"]) {
      EXPECT_FALSE(t.value("refId", "").empty());
    }
  }
  EXPECT_GE(ids.size(), 12u);
}

}  // namespace
}  // namespace ambient_guard::testing
