// The audit log and metrics of `ambient-guard serve`, end to end over real TLS on 127.0.0.1: a
// scripted pilot (one namespace in warn mode, one enforced, an exempted user, a dry-run request)
// is read back from the audit file entry by entry; /metrics is scraped after known requests; and
// an audit file that cannot be opened or written never changes an admission answer.
#include "audit/audit_log.h"
#include "webhook/admission_audit.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "model/state_file.h"
#include "rules/rule.h"
#include "tests/testlib/running_server.h"
#include "tests/testlib/serve_process.h"
#include "tests/testlib/testlib.h"
#include "tests/testlib/tls_client.h"
#include "webhook/admission_pipeline.h"
#include "webhook/process_metrics.h"
#include "webhook/server.h"

namespace ambient_guard {
namespace {

using nlohmann::json;
using testing::TlsClient;

std::string example(const std::string& name) {
  auto text = readFileText(std::string(AG_SOURCE_DIR) + "/examples/admission/" + name);
  EXPECT_TRUE(text.ok()) << text.error();
  return text.ok() ? *text : std::string();
}

// The demo cluster plus `pilot-a`, an ambient namespace the pilot runs in warn mode.
std::shared_ptr<const Snapshot> pilotState() {
  std::vector<AnyObject> objects;
  auto loaded = loadFile(std::string(AG_SOURCE_DIR) + "/examples/demo-backup.yaml", objects);
  EXPECT_TRUE(loaded.ok()) << loaded.error();
  for (auto& o : testing::objectsFromYaml(R"(
apiVersion: v1
kind: Namespace
metadata:
  name: pilot-a
  labels: {kubernetes.io/metadata.name: pilot-a, istio.io/dataplane-mode: ambient}
)")) {
    objects.push_back(std::move(o));
  }
  return Snapshot::build(std::move(objects));
}

constexpr const char* kPilotConfig = R"(
mode: enforce
namespaceOverrides:
- {namespaces: [pilot-a], mode: warn}
- {namespaces: [shop], mode: enforce}
exemptions: {users: ["break-glass@*"]}
)";

// An AdmissionReview for the PeerAuthentication mtls DISABLE example, moved around.
std::string peerAuthDisable(const std::string& uid, const std::string& ns,
                            const std::string& user = "alice@example.com", bool dry_run = false) {
  json body = json::parse(example("deny-peerauthentication-disable.json"));
  body["request"]["uid"] = uid;
  body["request"]["namespace"] = ns;
  body["request"]["object"]["metadata"]["namespace"] = ns;
  body["request"]["name"] = "plaintext-" + uid;
  body["request"]["object"]["metadata"]["name"] = "plaintext-" + uid;
  body["request"]["userInfo"]["username"] = user;
  body["request"]["dryRun"] = dry_run;
  return body.dump();
}

std::string withUid(const std::string& example_name, const std::string& uid,
                    const std::string& ns = "") {
  json body = json::parse(example(example_name));
  body["request"]["uid"] = uid;
  if (!ns.empty()) {
    body["request"]["namespace"] = ns;
    body["request"]["object"]["metadata"]["namespace"] = ns;
  }
  return body.dump();
}

std::string configMap(const std::string& uid) {
  return json{{"apiVersion", "admission.k8s.io/v1"},
              {"kind", "AdmissionReview"},
              {"request",
               {{"uid", uid},
                {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "ConfigMap"}}},
                {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "configmaps"}}},
                {"name", "settings"},
                {"namespace", "shop"},
                {"operation", "CREATE"},
                {"userInfo",
                 {{"username", "bob"}, {"groups", json::array({"system:authenticated"})}}},
                {"object",
                 {{"apiVersion", "v1"},
                  {"kind", "ConfigMap"},
                  {"metadata", {{"name", "settings"}, {"namespace", "shop"}}}}},
                {"oldObject", nullptr},
                {"dryRun", false}}}}
      .dump();
}

class AuditLogTest : public ::testing::Test {
 protected:
  AuditLogTest()
      : ca_(*generateCa("ambient-guard test CA", 1)),
        certs_(*CertKey::fromPem(
            *issueServingCert(ca_, {testing::kServiceDns, "localhost"}, {"127.0.0.1"}, 1))) {}

  // Sends one AdmissionReview and returns its response, checking the HTTP envelope and that
  // every auditAnnotations key is one the apiserver accepts.
  json admit(TlsClient& c, const std::string& path, const std::string& body) {
    auto res = c.request("POST", path, body);
    EXPECT_TRUE(res.has_value()) << "connection closed";
    if (!res) {
      return json();
    }
    EXPECT_EQ(res->status, 200) << res->body;
    json resp = json::parse(res->body)["response"];
    EXPECT_EQ(resp["uid"], json::parse(body)["request"]["uid"]);
    if (resp.contains("auditAnnotations")) {
      for (const auto& [key, value] : resp["auditAnnotations"].items()) {
        EXPECT_TRUE(validAuditAnnotationKey(key)) << key;
      }
    }
    return resp;
  }

  std::string scrape(TlsClient& c) {
    auto res = c.request("GET", "/metrics", "", "");
    EXPECT_TRUE(res.has_value());
    if (!res) {
      return "";
    }
    EXPECT_EQ(res->status, 200);
    return res->body;
  }

  // The same answers as without an audit log: a failing log changes none of them.
  void expectAnswersUnchanged(TlsClient& c) {
    json deny = admit(c, "/validate", peerAuthDisable("f1", "shop"));
    EXPECT_EQ(deny["allowed"], false);
    EXPECT_EQ(deny["status"]["code"], 403);
    json allow = admit(c, "/validate", withUid("allow-authorizationpolicy.json", "f2"));
    EXPECT_EQ(allow["allowed"], true);
    json would = admit(c, "/validate", peerAuthDisable("f3", "pilot-a"));
    EXPECT_EQ(would["allowed"], true);
    EXPECT_EQ(would["auditAnnotations"]["decision"], "would-deny");
    json enroll = admit(c, "/mutate", withUid("namespace-enroll.json", "f4"));
    EXPECT_EQ(enroll["patchType"], "JSONPatch");
  }

  Pem ca_;
  CertReloader certs_;
};

// Returns the value of the series named exactly `series` (name and labels as rendered), or NaN.
double metric(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nan("");
}

std::vector<json> readEntries(const std::string& path) {
  std::ifstream in(path);
  std::vector<json> out;
  std::string line;
  while (std::getline(in, line)) {
    out.push_back(json::parse(line));
  }
  return out;
}

AuditLogOptions fileOptions(const std::string& path) {
  AuditLogOptions o;
  o.path = path;
  return o;
}

TEST(AuditEntry, FormatIsStable) {
  // The format `ambient-guard audit` parses: keys, their order and their spelling.
  AdmissionRequest req;
  req.uid = "u-1";
  req.kind = {"security.istio.io", "v1", "PeerAuthentication"};
  req.name = "plaintext";
  req.ns = "shop";
  req.operation = "CREATE";
  req.username = "alice@example.com";
  req.groups = {"shop-devs", "system:authenticated"};
  std::vector<EnforcedFinding> findings(1);
  findings[0].finding.rule = "peer-authentication-disable";
  findings[0].finding.object = ObjectKey{Kind::kPeerAuthentication, "shop", "plaintext"};
  findings[0].finding.message = "[peer-authentication-disable] \"quoted\"\nsecond line";
  findings[0].action = rules::Action::kWarn;
  findings[0].rule_action = rules::Action::kDeny;
  findings[0].enforced = true;
  AuditRecord r;
  r.time = std::chrono::system_clock::time_point(std::chrono::microseconds(1795305662123456));
  r.webhook = "validate";
  r.request = &req;
  r.mode = Mode::kWarn;
  r.allowed = true;
  r.warned = true;
  r.findings = &findings;
  r.latency_us = 123;
  EXPECT_EQ(formatAuditEntry(r),
            R"({"time":"2026-11-22T00:01:02.123456Z","uid":"u-1","webhook":"validate",)"
            R"("operation":"CREATE","kind":"PeerAuthentication","group":"security.istio.io",)"
            R"("namespace":"shop","name":"plaintext","user":"alice@example.com",)"
            R"("groups":["shop-devs","system:authenticated"],"dryRun":false,"mode":"warn",)"
            R"("allowed":true,"decision":"would-deny","exempted":false,"exemption":"",)"
            R"("findings":[{"rule":"peer-authentication-disable","action":"warn",)"
            R"("ruleAction":"deny","enforced":true,"preExisting":false,)"
            R"("object":"PeerAuthentication shop/plaintext",)"
            R"("message":"[peer-authentication-disable] \"quoted\"\nsecond line"}],)"
            R"("latency_us":123})");

  // Mutate entries carry the patch size; invalid UTF-8 never breaks the line.
  req.kind = {"", "v1", "Namespace"};
  req.ns = "";
  req.name = "bad\xff";
  AuditRecord m;
  m.time = r.time;
  m.webhook = "mutate";
  m.request = &req;
  m.patch_ops = 3;
  json e = json::parse(formatAuditEntry(m));
  EXPECT_EQ(e["patch"], 3);
  EXPECT_EQ(e["namespace"], "bad\xEF\xBF\xBD");  // a Namespace concerns itself
  EXPECT_EQ(e["decision"], "allow");
  EXPECT_EQ(e["findings"], json::array());
}

TEST(AuditEntry, TimeIsUtcWithMicroseconds) {
  using std::chrono::microseconds;
  using std::chrono::system_clock;
  EXPECT_EQ(formatAuditTime(system_clock::time_point(microseconds(0))),
            "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(formatAuditTime(system_clock::time_point(microseconds(951782400000007))),
            "2000-02-29T00:00:00.000007Z");
}

TEST_F(AuditLogTest, PilotDecisionsAreAuditedOnePerLine) {
  const std::string path = testing::tempDir() + "/audit/audit.log";  // directory made on open
  testing::RunningServer s(certs_, pilotState(), testing::configFromYaml(kPilotConfig), {},
                          fileOptions(path));
  ASSERT_TRUE(s.audit()->isOpen());
  TlsClient c(s.port(), ca_.cert);
  ASSERT_TRUE(c.connected()) << c.error();

  json allow = admit(c, "/validate", withUid("allow-authorizationpolicy.json", "p1"));
  EXPECT_EQ(allow["allowed"], true);
  json deny = admit(c, "/validate", peerAuthDisable("p2", "shop"));
  EXPECT_EQ(deny["allowed"], false);
  EXPECT_EQ(deny["auditAnnotations"]["decision"], "deny");
  json would = admit(c, "/validate", peerAuthDisable("p3", "pilot-a"));
  EXPECT_EQ(would["allowed"], true);
  EXPECT_TRUE(would.contains("warnings"));
  EXPECT_EQ(would["auditAnnotations"]["decision"], "would-deny");
  EXPECT_EQ(would["auditAnnotations"]["mode"], "warn");
  json warn = admit(c, "/validate", withUid("warn-virtualservice.json", "p4"));
  EXPECT_EQ(warn["allowed"], true);
  EXPECT_EQ(warn["auditAnnotations"]["decision"], "warn");
  json exempt = admit(c, "/validate", peerAuthDisable("p5", "shop", "break-glass@example.com"));
  EXPECT_EQ(exempt["allowed"], true);
  EXPECT_FALSE(exempt.contains("warnings"));
  EXPECT_EQ(exempt["auditAnnotations"]["decision"], "would-deny");
  EXPECT_EQ(exempt["auditAnnotations"]["exempted"], "user break-glass@example.com");
  json dry = admit(c, "/validate", peerAuthDisable("p6", "shop", "alice@example.com", true));
  EXPECT_EQ(dry["allowed"], false);
  EXPECT_EQ(dry["auditAnnotations"]["dry-run"], "true");
  json pilot_warn = admit(c, "/validate", withUid("warn-virtualservice.json", "p7", "pilot-a"));
  EXPECT_EQ(pilot_warn["allowed"], true);
  json unreviewed = admit(c, "/validate", configMap("p8"));
  EXPECT_EQ(unreviewed["allowed"], true);
  json enroll = admit(c, "/mutate", withUid("namespace-enroll.json", "p9"));
  EXPECT_EQ(enroll["patchType"], "JSONPatch");

  // Entries are written by the audit thread, after the responses: wait for them.
  s.audit()->flush();
  const std::vector<json> entries = readEntries(path);
  ASSERT_EQ(entries.size(), 9u);

  struct Finding {
    std::string rule, action, rule_action;
    bool enforced;
  };
  struct Want {
    std::string uid, webhook, kind, ns, user, mode;
    bool allowed;
    std::string decision;
    bool exempted;
    std::string exemption;
    bool dry_run;
    std::vector<Finding> findings;  // the first findings, in order
  };
  const std::string pad = "peer-authentication-disable";
  const std::string vs = "virtualservice-needs-httproute";
  const std::vector<Want> want = {
      {"p1", "validate", "AuthorizationPolicy", "shop",
       "system:serviceaccount:argocd:argocd-application-controller", "enforce", true, "allow",
       false, "", false, {}},
      {"p2", "validate", "PeerAuthentication", "shop", "alice@example.com", "enforce", false,
       "deny", false, "", false, {{pad, "deny", "deny", true}}},
      {"p3", "validate", "PeerAuthentication", "pilot-a", "alice@example.com", "warn", true,
       "would-deny", false, "", false, {{pad, "warn", "deny", true}}},
      {"p4", "validate", "VirtualService", "shop", "alice@example.com", "enforce", true, "warn",
       false, "", false, {{vs, "warn", "warn", true}}},
      {"p5", "validate", "PeerAuthentication", "shop", "break-glass@example.com", "enforce", true,
       "would-deny", true, "user break-glass@example.com", false, {{pad, "deny", "deny", false}}},
      {"p6", "validate", "PeerAuthentication", "shop", "alice@example.com", "enforce", false,
       "deny", false, "", true, {{pad, "deny", "deny", true}}},
      {"p7", "validate", "VirtualService", "pilot-a", "alice@example.com", "warn", true, "warn",
       false, "", false, {{vs, "warn", "warn", true}}},
      {"p8", "validate", "ConfigMap", "shop", "bob", "enforce", true, "allow", false, "", false,
       {}},
      {"p9", "mutate", "Namespace", "bookinfo", "", "enforce", true, "allow", false, "", false,
       {}},
  };
  const std::regex time_format(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)");
  for (size_t i = 0; i < want.size(); ++i) {
    const Want& w = want[i];
    const json& e = entries[i];
    SCOPED_TRACE(w.uid + ": " + e.dump());
    EXPECT_EQ(e["uid"], w.uid);
    EXPECT_EQ(e["webhook"], w.webhook);
    EXPECT_EQ(e["kind"], w.kind);
    EXPECT_EQ(e["namespace"], w.ns);
    if (!w.user.empty()) {
      EXPECT_EQ(e["user"], w.user);
    }
    EXPECT_EQ(e["mode"], w.mode);
    EXPECT_EQ(e["allowed"], w.allowed);
    EXPECT_EQ(e["decision"], w.decision);
    EXPECT_EQ(e["exempted"], w.exempted);
    EXPECT_EQ(e["exemption"], w.exemption);
    EXPECT_EQ(e["dryRun"], w.dry_run);
    EXPECT_TRUE(std::regex_match(e["time"].get<std::string>(), time_format));
    EXPECT_TRUE(e["latency_us"].is_number_integer());
    EXPECT_GE(e["latency_us"].get<int64_t>(), 0);
    EXPECT_TRUE(e["groups"].is_array());
    ASSERT_TRUE(e["findings"].is_array());
    if (w.findings.empty()) {
      EXPECT_TRUE(e["findings"].empty());
    }
    ASSERT_GE(e["findings"].size(), w.findings.size());
    for (size_t k = 0; k < w.findings.size(); ++k) {
      const json& f = e["findings"][k];
      EXPECT_EQ(f["rule"], w.findings[k].rule);
      EXPECT_EQ(f["action"], w.findings[k].action);
      EXPECT_EQ(f["ruleAction"], w.findings[k].rule_action);
      EXPECT_EQ(f["enforced"], w.findings[k].enforced);
      EXPECT_EQ(f["preExisting"], false);
      EXPECT_EQ(f["message"].get<std::string>().rfind("[" + w.findings[k].rule + "] ", 0), 0u);
      EXPECT_FALSE(f["object"].get<std::string>().empty());
    }
    EXPECT_EQ(e.contains("patch"), w.webhook == "mutate");
  }
  EXPECT_GT(entries[8]["patch"].get<int>(), 0);

  // The review loop on what the server wrote: `ambient-guard audit` (a real process) folds the
  // pilot into the go/no-go report.
  auto report = testing::runCli({"audit", path, "-o", "json"});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  const json r = json::parse(report.out);
  EXPECT_EQ(r["totals"], json::parse(R"({"requests": 9, "allow": 3, "warn": 2, "wouldDeny": 2,
                                         "deny": 2, "exempted": 1, "dryRun": 1})"));
  std::vector<std::string> would_deny;
  for (const json& w : r["wouldDeny"]) {
    would_deny.push_back(w["uid"].get<std::string>() + " " + w["decision"].get<std::string>());
  }
  EXPECT_EQ(would_deny, (std::vector<std::string>{"p2 deny", "p3 would-deny", "p5 would-deny",
                                                  "p6 deny"}));
  EXPECT_FALSE(r["verdict"]["go"].get<bool>());
  auto table = testing::runCli({"audit", path, "--namespace", "pilot-a"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("no-go: 1 request"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("plaintext-p3"), std::string::npos) << table.out;
  EXPECT_EQ(testing::runCli({"audit", path, "--fail-on", "would-deny"}).exit_code, 1);
  EXPECT_EQ(testing::runCli({"audit", path, "-n", "bookinfo", "--fail-on", "would-deny"}).exit_code,
            0);
  EXPECT_EQ(entries[1]["group"], "security.istio.io");
  EXPECT_EQ(entries[1]["name"], "plaintext-p2");
  EXPECT_EQ(entries[1]["operation"], "CREATE");
}

TEST_F(AuditLogTest, MetricsAfterKnownRequests) {
  const std::string path = testing::tempDir() + "/audit.log";
  testing::RunningServer s(certs_, pilotState(), testing::configFromYaml(kPilotConfig), {},
                          fileOptions(path));
  TlsClient c(s.port(), ca_.cert);
  ASSERT_TRUE(c.connected()) << c.error();
  admit(c, "/validate", withUid("allow-authorizationpolicy.json", "m1"));
  admit(c, "/validate", withUid("allow-authorizationpolicy.json", "m2"));
  admit(c, "/validate", peerAuthDisable("m3", "shop"));
  admit(c, "/validate", peerAuthDisable("m4", "pilot-a"));
  admit(c, "/validate", peerAuthDisable("m5", "shop", "break-glass@example.com"));
  admit(c, "/mutate", withUid("namespace-enroll.json", "m6"));

  s.audit()->flush();
  const std::string text = scrape(c);
  auto requests = [&](const std::string& decision, const std::string& kind,
                      const std::string& webhook) {
    return metric(text, "ambient_guard_admission_requests_total{decision=\"" + decision +
                            "\",kind=\"" + kind + "\",operation=\"" +
                            (kind == "Namespace" ? "UPDATE" : "CREATE") + "\",webhook=\"" +
                            webhook + "\"}");
  };
  EXPECT_EQ(requests("allowed", "AuthorizationPolicy", "validate"), 2) << text;
  EXPECT_EQ(requests("denied", "PeerAuthentication", "validate"), 1);
  // A deny finding let through by the pilot namespace's warn mode: the pilot's signal.
  EXPECT_EQ(requests("would-deny", "PeerAuthentication", "validate"), 1);
  EXPECT_TRUE(std::isnan(requests("warned", "PeerAuthentication", "validate")));  // no series
  EXPECT_EQ(requests("exempted", "PeerAuthentication", "validate"), 1);
  auto findings = [&](const std::string& action, bool enforced) {
    return metric(text, "ambient_guard_findings_total{action=\"" + action + "\",enforced=\"" +
                            (enforced ? "true" : "false") +
                            "\",rule=\"peer-authentication-disable\"}");
  };
  EXPECT_EQ(findings("deny", true), 1);
  EXPECT_EQ(findings("warn", true), 1);
  EXPECT_EQ(findings("deny", false), 1);  // exempted
  EXPECT_EQ(metric(text, "ambient_guard_admission_duration_seconds_count{webhook=\"validate\"}"),
            5);
  EXPECT_EQ(metric(text, "ambient_guard_admission_duration_seconds_count{webhook=\"mutate\"}"), 1);
  EXPECT_EQ(metric(text, "ambient_guard_admission_duration_seconds_bucket{webhook=\"validate\","
                         "le=\"+Inf\"}"),
            5);
  EXPECT_FALSE(std::isnan(metric(text, "ambient_guard_admission_duration_seconds_bucket{"
                                       "webhook=\"validate\",le=\"0.0001\"}")));
  EXPECT_FALSE(std::isnan(metric(
      text, "ambient_guard_admission_duration_seconds_bucket{webhook=\"validate\",le=\"10\"}")));
  EXPECT_EQ(metric(text, "ambient_guard_audit_entries_total"), 6);
  EXPECT_EQ(metric(text, "ambient_guard_audit_write_errors_total"), 0);
  EXPECT_EQ(readEntries(path).size(), 6u);

  // Process metrics, read from /proc/self at scrape time.
  EXPECT_GT(metric(text, "process_resident_memory_bytes"), 0);
  EXPECT_GT(metric(text, "process_virtual_memory_bytes"),
            metric(text, "process_resident_memory_bytes"));
  EXPECT_GE(metric(text, "process_cpu_seconds_total"), 0);
  EXPECT_GT(metric(text, "process_open_fds"), 2);  // at least the listener and this connection
  EXPECT_GE(metric(text, "process_max_fds"), metric(text, "process_open_fds"));
  const double start = metric(text, "process_start_time_seconds");
  const double now = static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count());
  EXPECT_GT(start, 1.6e9);
  EXPECT_LE(start, now + 1);
  EXPECT_NE(text.find("# TYPE process_cpu_seconds_total counter"), std::string::npos);
  EXPECT_NE(text.find("# TYPE process_resident_memory_bytes gauge"), std::string::npos);
  EXPECT_NE(text.find("# TYPE ambient_guard_cert_expiry_timestamp_seconds gauge"),
            std::string::npos);
}

TEST_F(AuditLogTest, ServeFlagOverridesTheConfigPath) {
  const std::string dir = testing::tempDir();
  const std::string cfg = testing::writeFile(
      dir, "config.yaml", std::string(kPilotConfig) + "audit: {path: " + dir + "/config.log}\n");
  const std::string flag_path = dir + "/flag.log";
  testing::ServeProcess serve({"--listen", "127.0.0.1:0", "--state",
                               std::string(AG_SOURCE_DIR) + "/examples/demo-backup.yaml",
                               "--config", cfg, "--audit-log", flag_path, "--audit-max-size-mb",
                               "1", "--audit-max-files", "2"});
  ASSERT_GT(serve.port(), 0) << serve.log();
  {
    TlsClient c(serve.port(), serve.ca());
    ASSERT_TRUE(c.connected()) << c.error();
    json deny = admit(c, "/validate", peerAuthDisable("cli-1", "shop"));
    EXPECT_EQ(deny["allowed"], false);
  }
  EXPECT_EQ(serve.terminate(), 0) << serve.log();
  const std::vector<json> entries = readEntries(flag_path);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0]["uid"], "cli-1");
  EXPECT_EQ(entries[0]["decision"], "deny");
  EXPECT_FALSE(std::filesystem::exists(dir + "/config.log"));
}

TEST_F(AuditLogTest, ServeStartsWhenTheAuditFileCannotBeOpened) {
  testing::ServeProcess serve({"--listen", "127.0.0.1:0", "--state",
                               std::string(AG_SOURCE_DIR) + "/examples/demo-backup.yaml",
                               "--audit-log", "/proc/ambient-guard-audit-test/audit.log"});
  ASSERT_GT(serve.port(), 0) << serve.log();
  {
    TlsClient c(serve.port(), serve.ca());
    ASSERT_TRUE(c.connected()) << c.error();
    json deny = admit(c, "/validate", peerAuthDisable("cli-2", "shop"));
    EXPECT_EQ(deny["allowed"], false);
    const std::string text = scrape(c);
    EXPECT_EQ(metric(text, "ambient_guard_audit_write_errors_total"), 2) << text;
  }
  EXPECT_EQ(serve.terminate(), 0) << serve.log();
}

TEST(ProcessMetrics, ParsesStatWithSpacesInTheCommand) {
  // proc(5): pid (comm) state ppid ... utime(14) stime(15) ... starttime(22) vsize(23) rss(24)
  auto s = parseProcStat(
      "42 (a) b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 12345 104857600 2560 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->utime_ticks, 250);
  EXPECT_EQ(s->stime_ticks, 50);
  EXPECT_EQ(s->starttime_ticks, 12345);
  EXPECT_EQ(s->vsize_bytes, 104857600);
  EXPECT_EQ(s->rss_pages, 2560);
  EXPECT_FALSE(parseProcStat("42 (x) S 1 2").has_value());
  EXPECT_FALSE(parseProcStat("garbage").has_value());
}

TEST_F(AuditLogTest, UnwritableDirectoryNeverFailsAdmission) {
  std::string path;
  std::string dir;
  if (geteuid() == 0) {
    // Root ignores directory permissions; nothing can be created under /proc, even by root.
    path = "/proc/ambient-guard-audit-test/audit.log";
  } else {
    dir = testing::tempDir() + "/readonly";
    ASSERT_EQ(mkdir(dir.c_str(), 0555), 0);
    path = dir + "/audit.log";
  }
  testing::RunningServer s(certs_, pilotState(), testing::configFromYaml(kPilotConfig), {},
                          fileOptions(path));
  EXPECT_FALSE(s.audit()->isOpen());
  TlsClient c(s.port(), ca_.cert);
  ASSERT_TRUE(c.connected()) << c.error();
  expectAnswersUnchanged(c);
  s.audit()->flush();
  const std::string text = scrape(c);
  // One for the failed open at startup, one per entry lost (no retry within the 10 s interval
  // can succeed either).
  EXPECT_EQ(metric(text, "ambient_guard_audit_write_errors_total"), 5) << text;
  EXPECT_EQ(metric(text, "ambient_guard_audit_entries_total"), 0);
  EXPECT_FALSE(std::filesystem::exists(path));
  if (!dir.empty()) {
    chmod(dir.c_str(), 0755);  // so the temporary directory can be removed
  }
}

TEST_F(AuditLogTest, DevFullNeverFailsAdmission) {
  // /dev/full opens fine and fails every flush with ENOSPC.
  testing::RunningServer s(certs_, pilotState(), testing::configFromYaml(kPilotConfig), {},
                          fileOptions("/dev/full"));
  EXPECT_TRUE(s.audit()->isOpen());
  TlsClient c(s.port(), ca_.cert);
  ASSERT_TRUE(c.connected()) << c.error();
  expectAnswersUnchanged(c);
  s.audit()->flush();
  const std::string text = scrape(c);
  EXPECT_EQ(metric(text, "ambient_guard_audit_write_errors_total"), 4) << text;
  EXPECT_EQ(metric(text, "ambient_guard_audit_entries_total"), 0);
}

TEST(AuditLog, ReopensAFileThatCouldNotBeOpened) {
  // A regular file where the directory should be: the open fails (for root too) until it goes.
  const std::string dir = testing::tempDir();
  const std::string blocker = testing::writeFile(dir, "logs", "not a directory");
  const std::string path = blocker + "/audit.log";
  Metrics metrics;
  AuditLogOptions o = fileOptions(path);
  o.retry_interval = std::chrono::milliseconds(0);  // retry on every entry
  AuditLog log(o, &metrics);
  EXPECT_FALSE(log.isOpen());
  log.writeLine(R"({"uid":"lost"})");
  EXPECT_FALSE(log.isOpen());
  std::filesystem::remove(blocker);
  log.writeLine(R"({"uid":"kept"})");
  EXPECT_TRUE(log.isOpen());
  log.flush();
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "{\"uid\":\"kept\"}\n");
  const std::string text = metrics.render();
  EXPECT_EQ(metric(text, "ambient_guard_audit_write_errors_total"), 2);  // startup + "lost"
  EXPECT_EQ(metric(text, "ambient_guard_audit_entries_total"), 1);
}

TEST(AuditLog, RotatesBySize) {
  const std::string dir = testing::tempDir();
  AuditLogOptions o = fileOptions(dir + "/audit.log");
  o.max_size_bytes = 1000;
  o.max_files = 2;
  Metrics metrics;
  {
    AuditLog log(o, &metrics);
    for (int i = 0; i < 100; ++i) {
      log.writeLine(json{{"uid", "r" + std::to_string(i)}, {"pad", std::string(80, 'x')}}.dump());
    }
  }
  // spdlog names rotated files before the extension: audit.1.log is the newer of the two.
  EXPECT_TRUE(std::filesystem::exists(dir + "/audit.log"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/audit.1.log"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/audit.2.log"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/audit.3.log"));
  std::vector<json> current = readEntries(dir + "/audit.log");
  ASSERT_FALSE(current.empty());
  EXPECT_EQ(current.back()["uid"], "r99");
  for (const char* name : {"/audit.log", "/audit.1.log", "/audit.2.log"}) {
    EXPECT_LE(std::filesystem::file_size(dir + name), 1000u) << name;
    for (const auto& e : readEntries(dir + name)) {  // whole lines only
      EXPECT_TRUE(e.contains("pad")) << name;
    }
  }
  EXPECT_EQ(metric(metrics.render(), "ambient_guard_audit_entries_total"), 100);
}

TEST(AuditLog, WritesToStdout) {
  Metrics metrics;
  AuditLogOptions o;
  o.path = "-";
  // The default logger of the tests writes to stdout too: quiet it while capturing.
  const auto level = spdlog::get_level();
  spdlog::set_level(spdlog::level::off);
  ::testing::internal::CaptureStdout();
  {
    AuditLog log(o, &metrics);
    log.writeLine(R"({"uid":"to-stdout"})");
  }
  const std::string out = ::testing::internal::GetCapturedStdout();
  spdlog::set_level(level);
  EXPECT_EQ(out, "{\"uid\":\"to-stdout\"}\n");
  EXPECT_EQ(metric(metrics.render(), "ambient_guard_audit_entries_total"), 1);
}

TEST(AuditLog, OptionsFromConfig) {
  Config cfg = testing::configFromYaml(
      "audit: {path: /var/log/ambient-guard/audit.log, maxSizeMB: 7, maxFiles: 3}");
  AuditLogOptions o = auditLogOptions(cfg.audit);
  EXPECT_EQ(o.path, "/var/log/ambient-guard/audit.log");
  EXPECT_EQ(o.max_size_bytes, size_t{7} << 20);
  EXPECT_EQ(o.max_files, 3u);
}

}  // namespace
}  // namespace ambient_guard
