// webhook/audit_review.*: reading the audit log (rotation order, truncated and malformed lines),
// the time window, filters, and the folds of the report.
#include "audit/audit_review.h"

#include <gtest/gtest.h>

#include <sstream>

#include "tests/testlib/testlib.h"

namespace ambient_guard {
namespace {

using testing::tempDir;
using testing::writeFile;

const std::string kAuditDir = std::string(AG_TESTDATA_DIR) + "/audit";

// One entry in the writer's format (keys in audit/audit_record.h order).
std::string entry(const std::string& time, const std::string& ns, const std::string& user,
                  const std::string& decision, const std::string& findings = "",
                  const std::string& extra = "") {
  return R"({"time":")" + time + R"(","uid":"u-)" + time + R"(","webhook":"validate",)" +
         R"("operation":"CREATE","kind":"PeerAuthentication","group":"security.istio.io",)" +
         R"("namespace":")" + ns + R"(","name":"pa","user":")" + user +
         R"(","groups":["system:authenticated"],"dryRun":false,"mode":"warn",)" + R"("allowed":)" +
         (decision == "deny" ? "false" : "true") + R"(,"decision":")" + decision +
         R"(","exempted":false,"exemption":"","findings":[)" + findings + "]" + extra +
         R"(,"latency_us":12})";
}

std::string finding(const std::string& rule, const std::string& action,
                    const std::string& rule_action, bool enforced, bool pre_existing = false) {
  return R"({"rule":")" + rule + R"(","action":")" + action + R"(","ruleAction":")" + rule_action +
         R"(","enforced":)" + (enforced ? "true" : "false") + R"(,"preExisting":)" +
         (pre_existing ? "true" : "false") +
         R"(,"object":"PeerAuthentication ns/pa","message":"[)" + rule + R"(] text"})";
}

int64_t at(const std::string& text) {
  auto t = parseTimeMicros(text);
  EXPECT_TRUE(t.ok()) << text << ": " << t.error();
  return t.ok() ? *t : 0;
}

AuditTrail logOf(const std::string& text, const std::string& name = "audit.jsonl") {
  AuditTrail log;
  readAuditText(text, name, log);
  return log;
}

TEST(AuditTime, ParsesRfc3339WithFractionsAndOffsets) {
  EXPECT_EQ(at("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(at("2026-11-22T00:01:02.123456Z") % 1000000, 123456);
  EXPECT_EQ(at("2026-11-21T12:00:00+02:00"), at("2026-11-21T10:00:00Z"));
  EXPECT_EQ(at("2026-11-21T10:00:00-05:30"), at("2026-11-21T15:30:00Z"));
  EXPECT_EQ(at("2026-11-21t10:00:00.5z"), at("2026-11-21T10:00:00Z") + 500000);
  EXPECT_EQ(at("2024-02-29T00:00:00Z") + 86400LL * 1000000, at("2024-03-01T00:00:00Z"));
  EXPECT_EQ(formatTimeMicros(at("2026-11-22T00:01:02.123456Z")), "2026-11-22T00:01:02.123456Z");
  EXPECT_EQ(formatTimeMicros(at("2026-11-21T12:00:00+02:00"), false), "2026-11-21T10:00:00Z");
  for (const char* bad : {"", "2026-11-21", "2026-11-21T10:00Z", "2026-13-01T00:00:00Z",
                          "2026-02-29T00:00:00Z", "2026-11-21T10:00:00", "2026-11-21T10:00:00+2",
                          "2026-11-21T10:00:00Zjunk", "2026-11-21T10:00:00.Z"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(parseTimeMicros(bad).ok());
  }
}

TEST(AuditTime, ParsesDurationsAndBounds) {
  constexpr int64_t kS = 1000000;
  EXPECT_EQ(*parseDuration("30m"), 30 * 60 * kS);
  EXPECT_EQ(*parseDuration("2h"), 2 * 3600 * kS);
  EXPECT_EQ(*parseDuration("7d"), 7 * 86400 * kS);
  EXPECT_EQ(*parseDuration("1h30m"), 90 * 60 * kS);
  EXPECT_EQ(*parseDuration("1w"), 7 * 86400 * kS);
  EXPECT_EQ(*parseDuration("45s"), 45 * kS);
  for (const char* bad : {"", "30", "m", "3x", "1h30", "-1h", "1.5h"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(parseDuration(bad).ok());
  }
  const int64_t now = at("2026-11-22T03:00:00Z");
  EXPECT_EQ(*parseTimeBound("1h", now), at("2026-11-22T02:00:00Z"));
  EXPECT_EQ(*parseTimeBound("2026-11-21T10:00:00Z", now), at("2026-11-21T10:00:00Z"));
  auto bad = parseTimeBound("yesterday", now);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("neither a duration"), std::string::npos) << bad.error();
  EXPECT_NE(bad.error().find("RFC 3339"), std::string::npos) << bad.error();
}

TEST(AuditParse, DecodesEveryKey) {
  const std::string line =
      R"({"time":"2026-11-22T00:01:02.123456Z","uid":"abc","webhook":"mutate",)"
      R"("operation":"UPDATE","kind":"Namespace","group":"","namespace":"shop",)"
      R"("name":"shop","user":"alice","groups":["g1","g2"],"dryRun":true,)"
      R"("mode":"dryrun","allowed":true,"decision":"would-deny","exempted":true,)"
      R"("exemption":"namespace shop","findings":[)" +
      finding("dual-dataplane-labels", "dryrun", "deny", false, true) +
      R"(],"patch":2,"latency_us":345})";
  auto e = parseAuditLine(line);
  ASSERT_TRUE(e.ok()) << e.error();
  EXPECT_EQ(e->time, "2026-11-22T00:01:02.123456Z");
  EXPECT_EQ(e->time_us, at("2026-11-22T00:01:02.123456Z"));
  EXPECT_EQ(e->uid, "abc");
  EXPECT_EQ(e->webhook, "mutate");
  EXPECT_EQ(e->operation, "UPDATE");
  EXPECT_EQ(e->kind, "Namespace");
  EXPECT_EQ(e->ns, "shop");
  EXPECT_EQ(e->name, "shop");
  EXPECT_EQ(e->user, "alice");
  EXPECT_EQ(e->groups, (std::vector<std::string>{"g1", "g2"}));
  EXPECT_TRUE(e->dry_run);
  EXPECT_EQ(e->mode, "dryrun");
  EXPECT_TRUE(e->allowed);
  EXPECT_EQ(e->decision, "would-deny");
  EXPECT_TRUE(e->exempted);
  EXPECT_EQ(e->exemption, "namespace shop");
  EXPECT_EQ(e->latency_us, 345);
  ASSERT_EQ(e->findings.size(), 1u);
  EXPECT_EQ(e->findings[0].rule, "dual-dataplane-labels");
  EXPECT_EQ(e->findings[0].action, "dryrun");
  EXPECT_EQ(e->findings[0].rule_action, "deny");
  EXPECT_FALSE(e->findings[0].enforced);
  EXPECT_TRUE(e->findings[0].pre_existing);
  EXPECT_EQ(e->findings[0].message, "[dual-dataplane-labels] text");
}

TEST(AuditParse, RejectsWhatIsNotAnEntry) {
  struct Case {
    std::string line;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"not json", "invalid JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"decision":"allow"})", "no \"time\""},
      {R"({"time":"noon","decision":"allow"})", "\"time\""},
      {R"({"time":"2026-11-22T00:00:00Z"})", "no \"decision\""},
      {R"({"time":"2026-11-22T00:00:00Z","decision":"maybe"})", "unknown \"decision\""},
      {R"({"time":"2026-11-22T00:00:00Z","decision":"allow","namespace":3})", "\"namespace\""},
      {R"({"time":"2026-11-22T00:00:00Z","decision":"allow","findings":{}})", "\"findings\""},
      {R"({"time":"2026-11-22T00:00:00Z","decision":"allow","findings":[{"action":"deny"}]})",
       "no \"rule\""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    auto e = parseAuditLine(c.line);
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.error().find(c.reason), std::string::npos) << e.error();
  }
}

TEST(AuditRead, SkipsTruncatedLastLineWithANote) {
  const std::string good = entry("2026-11-22T00:00:01Z", "shop", "alice", "allow");
  AuditTrail log = logOf(good + "\n" + good.substr(0, 40), "audit.jsonl");
  EXPECT_EQ(log.entries.size(), 1u);
  EXPECT_EQ(log.skipped.malformed, 0u);
  ASSERT_EQ(log.skipped.notes.size(), 1u);
  EXPECT_NE(log.skipped.notes[0].find("audit.jsonl:2: last line is incomplete"), std::string::npos)
      << log.skipped.notes[0];
  // A complete last line without its newline is still an entry.
  AuditTrail whole = logOf(good + "\n" + good);
  EXPECT_EQ(whole.entries.size(), 2u);
  EXPECT_TRUE(whole.skipped.notes.empty());
}

TEST(AuditRead, CountsMalformedLinesAndNamesTheFirst) {
  const std::string good = entry("2026-11-22T00:00:01Z", "shop", "alice", "allow");
  AuditTrail log = logOf(good + "\n\n  \nnot json\n" + good + "\n{\"time\":1}\n", "a.jsonl");
  EXPECT_EQ(log.entries.size(), 2u);
  EXPECT_EQ(log.skipped.malformed, 2u);
  EXPECT_EQ(log.skipped.first_malformed.rfind("a.jsonl:4: invalid JSON", 0), 0u)
      << log.skipped.first_malformed;
  EXPECT_EQ(log.entries[1].source, "a.jsonl:5");
}

TEST(AuditRead, RecoversTheEntryAppendedAfterAPartialWrite) {
  const std::string first = entry("2026-11-22T00:00:01Z", "shop", "alice", "allow");
  const std::string second = entry("2026-11-22T00:00:02Z", "shop", "bob", "warn");
  AuditTrail log = logOf(first.substr(0, 50) + second + "\n");
  ASSERT_EQ(log.entries.size(), 1u);
  EXPECT_EQ(log.entries[0].user, "bob");
  EXPECT_EQ(log.skipped.malformed, 0u);
  ASSERT_EQ(log.skipped.notes.size(), 1u);
  EXPECT_NE(log.skipped.notes[0].find("kept the complete one"), std::string::npos);
}

TEST(AuditRotation, NamesRotatedFilesLikeSpdlog) {
  // spdlog::sinks::rotating_file_sink::calc_filename via file_helper::split_by_extension.
  EXPECT_EQ(rotatedFileName("audit.jsonl", 0), "audit.jsonl");
  EXPECT_EQ(rotatedFileName("audit.jsonl", 1), "audit.1.jsonl");
  EXPECT_EQ(rotatedFileName("/var/log/ag/audit.jsonl", 12), "/var/log/ag/audit.12.jsonl");
  EXPECT_EQ(rotatedFileName("/var/log/ag/audit", 2), "/var/log/ag/audit.2");
  EXPECT_EQ(rotatedFileName("/var/log.d/audit", 1), "/var/log.d/audit.1");
  EXPECT_EQ(rotatedFileName("/var/log/.audit", 1), "/var/log/.audit.1");
  EXPECT_EQ(rotatedFileName("audit.", 1), "audit..1");
  EXPECT_EQ(rotatedFileName("a.tar.gz", 3), "a.tar.3.gz");
}

TEST(AuditRotation, ReadsRotatedSiblingsOldestFirst) {
  const std::string dir = tempDir();
  // Written out of order on purpose; equal times keep reading order (oldest file first).
  writeFile(dir, "audit.2.jsonl", entry("2026-11-22T00:00:01Z", "a", "u2", "allow") + "\n");
  writeFile(dir, "audit.10.jsonl", entry("2026-11-22T00:00:01Z", "a", "u10", "allow") + "\n");
  writeFile(dir, "audit.1.jsonl", entry("2026-11-22T00:00:03Z", "a", "u1", "allow") + "\n");
  writeFile(dir, "audit.jsonl", entry("2026-11-22T00:00:02Z", "a", "u0", "allow") + "\n");
  writeFile(dir, "audit.x.jsonl", "ignored\n");
  writeFile(dir, "audit.01.jsonl", "ignored\n");
  writeFile(dir, "other.1.jsonl", "ignored\n");
  const std::string path = dir + "/audit.jsonl";
  EXPECT_EQ(auditFileChain(path),
            (std::vector<std::string>{dir + "/audit.10.jsonl", dir + "/audit.2.jsonl",
                                      dir + "/audit.1.jsonl", path}));
  std::istringstream none;
  auto log = readAuditInputs({path}, none);
  ASSERT_TRUE(log.ok()) << log.error();
  std::vector<std::string> users;
  for (const auto& e : log->entries) {
    users.push_back(e.user);
  }
  EXPECT_EQ(users, (std::vector<std::string>{"u10", "u2", "u0", "u1"}));
  EXPECT_EQ(log->skipped.malformed, 0u);
}

TEST(AuditRotation, DedupesFilesNamedTwiceAndReadsDirectories) {
  std::istringstream none;
  auto log =
      readAuditInputs({kAuditDir + "/audit.jsonl", kAuditDir + "/audit.1.jsonl", kAuditDir}, none);
  ASSERT_TRUE(log.ok()) << log.error();
  EXPECT_EQ(log->files.size(), 3u);
  EXPECT_EQ(log->entries.size(), 16u);
  EXPECT_EQ(log->skipped.notes.size(), 1u);  // the truncated last line, once
  auto missing = readAuditInputs({kAuditDir + "/nope.jsonl"}, none);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("nope.jsonl: no such audit file"), std::string::npos);
}

TEST(AuditRead, ReadsStdin) {
  std::istringstream in(entry("2026-11-22T00:00:02Z", "a", "u", "deny") + "\n");
  auto log = readAuditInputs({"-"}, in);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->entries.size(), 1u);
  EXPECT_EQ(log->entries[0].source, "<stdin>:1");
}

// The pilot fixture of tests/testdata/audit: 16 requests over 3 files.
AuditTrail pilot() {
  std::istringstream none;
  auto log = readAuditInputs({kAuditDir + "/audit.jsonl"}, none);
  EXPECT_TRUE(log.ok());
  return log.ok() ? std::move(*log) : AuditTrail{};
}

TEST(AuditReport, FoldsThePilot) {
  const AuditTrail log = pilot();
  ASSERT_EQ(log.files.size(), 3u);
  EXPECT_EQ(log.files[0], kAuditDir + "/audit.2.jsonl");
  const AuditReport r = buildAuditReport(log, {});
  EXPECT_EQ(r.totals.requests, 16u);
  EXPECT_EQ(r.totals.allow, 5u);
  EXPECT_EQ(r.totals.warn, 4u);
  EXPECT_EQ(r.totals.would_deny, 4u);
  EXPECT_EQ(r.totals.deny, 3u);
  EXPECT_EQ(r.totals.exempted, 1u);
  EXPECT_EQ(r.totals.dry_run, 1u);
  EXPECT_EQ(r.first_time, "2026-11-22T00:01:02.123456Z");
  EXPECT_EQ(r.last_time, "2026-11-22T02:35:00.000000Z");

  ASSERT_EQ(r.would_deny.size(), 7u);
  EXPECT_EQ(r.would_deny_exempted, 1u);
  EXPECT_EQ(r.would_deny[0].entry->name, "plaintext");
  EXPECT_EQ(r.would_deny[0].rules, std::vector<std::string>{"peer-authentication-disable"});
  EXPECT_EQ(r.would_deny[3].entry->user,
            "system:serviceaccount:argocd:argocd-application-controller");
  EXPECT_EQ(r.would_deny[6].entry->name, "jwt");
  EXPECT_FALSE(r.go());
  EXPECT_EQ(r.verdict(),
            "no-go: 7 requests would have been denied under enforce (3 denied, 4 would-deny, 1 "
            "of them exempted)");

  ASSERT_EQ(r.top_users.size(), 3u);
  // alice and carol tie on 3; alice made more requests.
  EXPECT_EQ(r.top_users[0].user, "alice@example.com");
  EXPECT_EQ(r.top_users[0].would_deny, 3u);
  EXPECT_EQ(r.top_users[0].warn, 2u);
  EXPECT_EQ(r.top_users[0].requests, 6u);
  EXPECT_EQ(r.top_users[1].user, "carol@example.com");
  EXPECT_EQ(r.top_users[1].deny, 3u);
  EXPECT_EQ(r.top_users[2].would_deny, 1u);

  const RuleNamespaceCount* pad_shop = nullptr;
  for (const auto& c : r.by_rule_namespace) {
    if (c.rule == "peer-authentication-disable" && c.ns == "shop") {
      pad_shop = &c;
    }
  }
  ASSERT_NE(pad_shop, nullptr);
  EXPECT_EQ(pad_shop->findings, 2u);
  EXPECT_EQ(pad_shop->warn, 2u);
  EXPECT_EQ(pad_shop->deny, 0u);
  EXPECT_EQ(pad_shop->enforced, 2u);
  EXPECT_EQ(pad_shop->pre_existing, 1u);
  EXPECT_EQ(r.by_rule_namespace.size(), 10u);
  EXPECT_EQ(r.by_rule_namespace.front().rule, "l7-policy-without-waypoint");  // sorted by rule
}

TEST(AuditReport, TimeWindowIsSinceInclusiveUntilExclusive) {
  const AuditTrail log = pilot();
  AuditFilter f;
  f.since_us = at("2026-11-22T01:00:00Z");
  f.until_us = at("2026-11-22T01:45:00Z");
  const AuditReport r = buildAuditReport(log, f);
  EXPECT_EQ(r.totals.requests, 3u);  // 01:00, 01:15, 01:30; not 01:45
  EXPECT_EQ(r.totals.deny, 1u);
  EXPECT_EQ(r.totals.would_deny, 1u);
  EXPECT_EQ(r.totals.allow, 1u);
  AuditFilter bad;
  bad.since_us = at("2026-11-22T02:00:00Z");
  bad.until_us = at("2026-11-22T01:00:00Z");
  EXPECT_FALSE(validateFilter(bad).ok());
}

TEST(AuditReport, FiltersByRuleNamespaceUserAndDecision) {
  const AuditTrail log = pilot();
  struct Case {
    std::string name;
    AuditFilter filter;
    size_t requests;
    size_t would_deny;
  };
  auto with = [](auto set) {
    AuditFilter f;
    set(f);
    return f;
  };
  const std::vector<Case> cases = {
      {"namespace", with([](AuditFilter& f) { f.namespaces = {"shop"}; }), 9, 3},
      {"namespace glob", with([](AuditFilter& f) { f.namespaces = {"pay*"}; }), 7, 4},
      {"user", with([](AuditFilter& f) { f.users = {"carol@example.com"}; }), 3, 3},
      {"user glob", with([](AuditFilter& f) { f.users = {"system:serviceaccount:*"}; }), 1, 1},
      {"decision", with([](AuditFilter& f) { f.decisions = {"deny"}; }), 3, 3},
      {"decisions", with([](AuditFilter& f) {
         f.decisions = {"warn", "allow"};
       }),
       9, 0},
      {"rule", with([](AuditFilter& f) { f.rules = {"peer-authentication-disable"}; }), 3, 2},
      {"rule glob", with([](AuditFilter& f) { f.rules = {"*-needs-*"}; }), 4, 2},
      {"rule and namespace", with([](AuditFilter& f) {
         f.rules = {"peer-authentication-disable"};
         f.namespaces = {"payments"};
       }),
       1, 1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const AuditReport r = buildAuditReport(log, c.filter);
    EXPECT_EQ(r.totals.requests, c.requests);
    EXPECT_EQ(r.would_deny.size(), c.would_deny);
  }
  // --rule narrows the rule table to that rule.
  AuditFilter rule;
  rule.rules = {"peer-authentication-disable"};
  for (const auto& c : buildAuditReport(log, rule).by_rule_namespace) {
    EXPECT_EQ(c.rule, "peer-authentication-disable");
  }
  AuditFilter bad;
  bad.decisions = {"denied"};
  auto v = validateFilter(bad);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().find("--decision"), std::string::npos);
}

TEST(AuditReport, FailOnLevels) {
  const AuditTrail log = pilot();
  auto report = [&](std::vector<std::string> decisions) {
    AuditFilter f;
    f.decisions = std::move(decisions);
    return buildAuditReport(log, f);
  };
  struct Case {
    std::vector<std::string> decisions;
    bool deny;
    bool would_deny;
    bool warn;
  };
  for (const auto& c : std::vector<Case>{{{"allow"}, false, false, false},
                                         {{"warn"}, false, false, true},
                                         {{"would-deny"}, false, true, true},
                                         {{"deny"}, true, true, true}}) {
    SCOPED_TRACE(c.decisions[0]);
    const AuditReport r = report(c.decisions);
    EXPECT_EQ(failsOn(r, "deny"), c.deny);
    EXPECT_EQ(failsOn(r, "would-deny"), c.would_deny);
    EXPECT_EQ(failsOn(r, "warn"), c.warn);
  }
}

TEST(AuditReport, GoWhenNothingWouldBeDenied) {
  const std::string text = entry("2026-11-22T00:00:01Z", "shop", "alice", "allow") + "\n" +
                           entry("2026-11-22T00:00:02Z", "shop", "bob", "warn",
                                 finding("virtualservice-needs-httproute", "warn", "warn", true)) +
                           "\n";
  const AuditTrail log = logOf(text);
  const AuditReport r = buildAuditReport(log, {});
  EXPECT_TRUE(r.go());
  EXPECT_EQ(r.verdict(),
            "go: nothing would have been denied under enforce (2 requests in the window, 1 "
            "warned)");
  EXPECT_TRUE(r.top_users.empty());
  const AuditReport empty = buildAuditReport(AuditTrail{}, {});
  EXPECT_TRUE(empty.go());
  EXPECT_EQ(auditReportJson(empty)["window"]["first"], nullptr);
}

TEST(AuditReport, DenyingRulesLeaveOutWarningsAndPreExisting) {
  const std::string findings =
      finding("peer-authentication-disable", "warn", "deny", true) + "," +
      finding("virtualservice-needs-httproute", "warn", "warn", true) + "," +
      finding("l7-policy-without-waypoint", "warn", "deny", true, /*pre_existing=*/true);
  const AuditTrail log =
      logOf(entry("2026-11-22T00:00:01Z", "shop", "alice", "would-deny", findings) + "\n");
  const AuditReport r = buildAuditReport(log, {});
  ASSERT_EQ(r.would_deny.size(), 1u);
  EXPECT_EQ(r.would_deny[0].rules, std::vector<std::string>{"peer-authentication-disable"});
  const auto j = auditReportJson(r);
  EXPECT_EQ(j["wouldDeny"][0]["messages"],
            nlohmann::json::array({"[peer-authentication-disable] text"}));
}

TEST(AuditReport, JsonSchema) {
  const AuditTrail log = pilot();
  AuditFilter f;
  f.since_us = at("2026-11-22T00:00:00Z");
  f.namespaces = {"shop"};
  const auto j = auditReportJson(buildAuditReport(log, f));
  EXPECT_EQ(j["apiVersion"], "ambient-guard.io/v1alpha1");
  EXPECT_EQ(j["kind"], "AuditReport");
  EXPECT_EQ(j["window"]["since"], "2026-11-22T00:00:00Z");
  EXPECT_EQ(j["window"]["until"], nullptr);
  EXPECT_EQ(j["filters"]["namespaces"], nlohmann::json::array({"shop"}));
  EXPECT_EQ(j["files"].size(), 3u);
  EXPECT_EQ(j["skipped"]["malformed"], 0);
  EXPECT_EQ(j["skipped"]["notes"].size(), 1u);
  for (const char* key : {"requests", "allow", "warn", "wouldDeny", "deny", "exempted", "dryRun"}) {
    EXPECT_TRUE(j["totals"].contains(key)) << key;
  }
  EXPECT_EQ(j["totals"]["wouldDeny"], 3);
  EXPECT_EQ(j["wouldDeny"].size(), 3u);
  EXPECT_EQ(j["wouldDeny"][0]["namespace"], "shop");
  EXPECT_EQ(j["wouldDeny"][0]["source"], kAuditDir + "/audit.2.jsonl:1");
  EXPECT_EQ(j["verdict"]["go"], false);
  EXPECT_TRUE(j["byRuleNamespace"].is_array());
  EXPECT_TRUE(j["topUsers"].is_array());
}

}  // namespace
}  // namespace ambient_guard
