// `ambient-guard audit` as a process, on the scripted pilot of tests/testdata/audit: 16 requests
// in shop (mode warn) and payments (enforce) split across audit.2.jsonl, audit.1.jsonl and the
// current audit.jsonl, whose last line was cut short by a crash.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "tests/testlib/testlib.h"

namespace ambient_guard::testing {
namespace {

using nlohmann::json;

const std::string kAuditDir = std::string(AG_TESTDATA_DIR) + "/audit";
const std::string kCurrent = kAuditDir + "/audit.jsonl";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

json jsonOf(const ProcessResult& p) {
  try {
    return json::parse(p.out);
  } catch (const json::exception& e) {
    ADD_FAILURE() << "stdout is not JSON (" << e.what() << "): " << p.out << "\nstderr: " << p.err;
    return json::object();
  }
}

// Runs `audit` with -o json and returns the report.
json report(std::vector<std::string> args) {
  args.insert(args.begin(), "audit");
  args.push_back("-o");
  args.push_back("json");
  ProcessResult p = runCli(args);
  EXPECT_EQ(p.exit_code, 0) << p.err;
  return jsonOf(p);
}

TEST(AuditCli, TableReportsThePilotAcrossRotatedFiles) {
  ProcessResult p = runCli({"audit", kCurrent});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  const std::string& out = p.out;
  EXPECT_TRUE(contains(out,
                       "Audit log: 3 files, 16 requests from 2026-11-22T00:01:02.123456Z to "
                       "2026-11-22T02:35:00.000000Z\n"))
      << out;
  // Totals by decision.
  for (const char* line :
       {"  allow       5\n", "  warn        4\n", "  would-deny  4\n", "  deny        3\n",
        "  total       16\n", "  exempted    1\n", "  dry-run     1\n"}) {
    EXPECT_TRUE(contains(out, line)) << "missing line: " << line << "\n" << out;
  }
  // Rule × namespace.
  EXPECT_TRUE(contains(out,
                       "Findings by rule and namespace\n"
                       "  RULE                                   NAMESPACE  FINDINGS  DENY  "
                       "WARN  DRYRUN  ENFORCED  PRE-EXISTING\n"))
      << out;
  EXPECT_TRUE(contains(out,
                       "  peer-authentication-disable            shop       2         0     "
                       "2     0       2         1\n"))
      << out;
  EXPECT_TRUE(contains(out,
                       "  network-policy-blocks-hbone            payments   1         1     "
                       "0     0       0         0\n"))
      << out;
  // Top users: alice and carol tie at 3; alice made more requests.
  const size_t alice = out.find("  alice@example.com  ");
  const size_t carol = out.find("  carol@example.com  ");
  const size_t top = out.find("Top users by deny + would-deny\n");
  ASSERT_NE(top, std::string::npos) << out;
  EXPECT_LT(top, alice);
  EXPECT_LT(alice, carol);
  // The go/no-go list, in time order, with the rules and why it was let through.
  const size_t list = out.find("Would have been denied under enforce (7)\n");
  ASSERT_NE(list, std::string::npos) << out;
  const std::vector<std::string> rows = {
      "2026-11-22T00:01:02Z  would-deny  shop/plaintext",
      "2026-11-22T00:20:00Z  deny        payments/jwt-paths",
      "2026-11-22T01:00:00Z  deny        payments/jwt",
      "2026-11-22T01:15:00Z  would-deny  payments/payments",
      "2026-11-22T01:45:00Z  would-deny  shop/waypoint",
      "2026-11-22T02:30:00Z  deny        payments/legacy-disable",
      "2026-11-22T02:35:00Z  would-deny  shop/jwt",
  };
  size_t pos = list;
  for (const auto& row : rows) {
    const size_t at = out.find(row, pos);
    ASSERT_NE(at, std::string::npos) << "missing or out of order: " << row << "\n" << out;
    pos = at;
  }
  EXPECT_TRUE(contains(out, "exempted: user system:serviceaccount:argocd:*")) << out;
  EXPECT_TRUE(contains(out, "dry-run request")) << out;
  EXPECT_TRUE(contains(out, "PeerAuthentication     CREATE     alice@example.com")) << out;
  EXPECT_TRUE(contains(out, "waypoint-in-use")) << out;
  // The verdict is the last line.
  EXPECT_TRUE(contains(out,
                       "\nno-go: 7 requests would have been denied under enforce (3 denied, "
                       "4 would-deny, 1 of them exempted)\n"))
      << out;
  EXPECT_EQ(out.rfind("no-go: "), out.rfind('\n', out.size() - 2) + 1);
  // The crash-truncated last line: one note, not a malformed count.
  EXPECT_TRUE(contains(p.err, "audit.jsonl:8: last line is incomplete")) << p.err;
  EXPECT_FALSE(contains(p.err, "malformed")) << p.err;
}

TEST(AuditCli, JsonReport) {
  const json j = report({kCurrent});
  EXPECT_EQ(j["apiVersion"], "ambient-guard.io/v1alpha1");
  EXPECT_EQ(j["kind"], "AuditReport");
  EXPECT_EQ(j["files"],
            json::array({kAuditDir + "/audit.2.jsonl", kAuditDir + "/audit.1.jsonl", kCurrent}));
  EXPECT_EQ(j["totals"], json::parse(R"({"requests":16,"allow":5,"warn":4,"wouldDeny":4,
                                         "deny":3,"exempted":1,"dryRun":1})"));
  EXPECT_EQ(j["window"]["since"], nullptr);
  EXPECT_EQ(j["window"]["first"], "2026-11-22T00:01:02.123456Z");
  EXPECT_EQ(j["skipped"]["malformed"], 0);
  EXPECT_EQ(j["skipped"]["notes"].size(), 1u);
  ASSERT_EQ(j["wouldDeny"].size(), 7u);
  const json& exempt = j["wouldDeny"][3];
  EXPECT_EQ(exempt["exempted"], true);
  EXPECT_EQ(exempt["kind"], "Namespace");
  EXPECT_EQ(exempt["rules"], json::array({"network-policy-blocks-hbone"}));
  EXPECT_EQ(exempt["messages"][0],
            "[network-policy-blocks-hbone] NetworkPolicy payments/default-deny blocks TCP 15008 "
            "(HBONE) to ambient pods in payments.");
  EXPECT_EQ(j["wouldDeny"][2]["dryRun"], true);
  EXPECT_EQ(j["topUsers"][0]["user"], "alice@example.com");
  EXPECT_EQ(j["topUsers"][0]["wouldDeny"], 3);
  EXPECT_EQ(j["byRuleNamespace"].size(), 10u);
  EXPECT_EQ(j["verdict"]["go"], false);
}

TEST(AuditCli, Filters) {
  struct Case {
    std::vector<std::string> args;
    int requests;
    int would_deny;
  };
  const std::vector<Case> cases = {
      {{"--namespace", "shop"}, 9, 3},
      {{"-n", "pay*"}, 7, 4},
      {{"--namespace", "shop,payments"}, 16, 7},
      {{"--user", "carol@example.com"}, 3, 3},
      {{"--user", "system:serviceaccount:*"}, 1, 1},
      {{"--decision", "deny"}, 3, 3},
      {{"--decision", "deny,would-deny"}, 7, 7},
      {{"--decision", "warn", "--decision", "allow"}, 9, 0},
      {{"--rule", "peer-authentication-disable"}, 3, 2},
      {{"--rule", "peer-authentication-disable", "--namespace", "payments"}, 1, 1},
      // Options take one value each: the file after --rule is still a file.
      {{"--rule", "waypoint-in-use"}, 1, 1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.args));
    std::vector<std::string> args = c.args;
    args.push_back(kCurrent);
    const json j = report(args);
    EXPECT_EQ(j["totals"]["requests"], c.requests);
    EXPECT_EQ(j["wouldDeny"].size(), static_cast<size_t>(c.would_deny));
  }
  const json j = report({"--rule", "peer-authentication-disable", kCurrent});
  for (const auto& row : j["byRuleNamespace"]) {
    EXPECT_EQ(row["rule"], "peer-authentication-disable");
  }
  EXPECT_EQ(j["filters"]["rules"], json::array({"peer-authentication-disable"}));
}

TEST(AuditCli, TimeWindow) {
  struct Case {
    std::vector<std::string> args;
    int requests;
  };
  const std::vector<Case> cases = {
      {{"--now", "2026-11-22T03:00:00Z", "--since", "1h"}, 7},
      {{"--now", "2026-11-22T03:00:00Z", "--since", "2h30m"}, 12},
      {{"--now", "2026-11-22T03:00:00Z", "--since", "3h", "--until", "2h"}, 5},
      {{"--since", "2026-11-22T01:00:00Z", "--until", "2026-11-22T02:00:00Z"}, 4},
      {{"--since", "2026-11-22T02:00:00+01:00"}, 11},  // 01:00Z
      {{"--until", "2026-11-22T00:20:00Z"}, 3},        // exclusive
      {{"--since", "2026-11-23T00:00:00Z"}, 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.args));
    std::vector<std::string> args = c.args;
    args.push_back(kCurrent);
    EXPECT_EQ(report(args)["totals"]["requests"], c.requests);
  }
  const json j = report({"--now", "2026-11-22T03:00:00Z", "--since", "1h", kCurrent});
  EXPECT_EQ(j["window"]["since"], "2026-11-22T02:00:00Z");
  EXPECT_EQ(j["window"]["until"], nullptr);
}

TEST(AuditCli, FailOnExitCodes) {
  struct Case {
    std::vector<std::string> args;
    int exit_code;
  };
  const std::vector<Case> cases = {
      {{}, 0},
      {{"--fail-on", "would-deny"}, 1},
      {{"--fail-on", "deny"}, 1},
      {{"--fail-on", "warn"}, 1},
      {{"--fail-on", "deny", "--namespace", "shop"}, 0},  // shop is in warn mode
      {{"--fail-on", "would-deny", "--namespace", "shop"}, 1},
      {{"--fail-on", "would-deny", "--decision", "warn,allow"}, 0},
      {{"--fail-on", "warn", "--decision", "warn"}, 1},
      {{"--fail-on", "warn", "--decision", "allow"}, 0},
      {{"--fail-on", "would-deny", "--since", "2026-11-23T00:00:00Z"}, 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.args));
    std::vector<std::string> args = {"audit"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    args.push_back(kCurrent);
    ProcessResult p = runCli(args);
    EXPECT_EQ(p.exit_code, c.exit_code) << p.err;
    EXPECT_FALSE(p.out.empty());  // the report is printed either way
  }
}

TEST(AuditCli, GoVerdict) {
  ProcessResult p = runCli({"audit", "--namespace", "shop", "--decision", "allow,warn", "--fail-on",
                            "would-deny", kCurrent});
  EXPECT_EQ(p.exit_code, 0) << p.err;
  EXPECT_TRUE(contains(p.out, "Filters: namespace shop, decision allow,warn\n")) << p.out;
  EXPECT_TRUE(contains(p.out, "Would have been denied under enforce (0)\n  none\n")) << p.out;
  EXPECT_TRUE(contains(p.out,
                       "\ngo: nothing would have been denied under enforce (6 requests in "
                       "the window, 3 warned)\n"))
      << p.out;
}

TEST(AuditCli, ReadsStdinAndDirectories) {
  std::string text;
  for (const char* f : {"audit.jsonl", "audit.2.jsonl"}) {
    auto r = runProcess({"cat", kAuditDir + "/" + f});
    text += r.out;
  }
  ProcessResult p = runCli({"audit", "-", "-o", "json"}, text);
  // audit.jsonl's truncated last line runs into audit.2.jsonl's first entry: recovered.
  ASSERT_EQ(p.exit_code, 0) << p.err;
  const json j = jsonOf(p);
  EXPECT_EQ(j["files"], json::array({"-"}));
  EXPECT_EQ(j["totals"]["requests"], 12);
  EXPECT_EQ(j["wouldDeny"][0]["source"], "<stdin>:8");
  EXPECT_TRUE(contains(p.err, "<stdin>:8: an incomplete entry")) << p.err;

  const json dir = report({kAuditDir});
  EXPECT_EQ(dir["files"].size(), 3u);  // broken/ is a subdirectory: not read
  EXPECT_EQ(dir["totals"]["requests"], 16);
}

TEST(AuditCli, JsonLinesOutputMergesAndReadsBack) {
  // What the pilot loop does: each replica prints its filtered log, the merge is reviewed.
  ProcessResult p = runCli({"audit", kCurrent, "-o", "jsonl", "--namespace", "payments"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  std::vector<std::string> times;
  size_t start = 0;
  while (start < p.out.size()) {
    const size_t end = p.out.find('\n', start);
    ASSERT_NE(end, std::string::npos) << "every line ends with a newline";
    const json line = json::parse(p.out.substr(start, end - start));
    EXPECT_EQ(line["namespace"], "payments");
    times.push_back(line["time"]);
    start = end + 1;
  }
  EXPECT_EQ(times.size(), 7u);
  EXPECT_TRUE(std::is_sorted(times.begin(), times.end()));
  ProcessResult again = runCli({"audit", "-", "-o", "json", "--fail-on", "would-deny"},
                               p.out + p.out);  // two replicas
  EXPECT_EQ(again.exit_code, 1) << again.err;
  const json j = jsonOf(again);
  EXPECT_EQ(j["totals"]["requests"], 14);
  EXPECT_EQ(j["totals"]["deny"], 6);
  EXPECT_TRUE(again.err.empty()) << again.err;
}

TEST(AuditCli, MalformedLinesAreCountedNotFatal) {
  ProcessResult p = runCli({"audit", kAuditDir + "/broken/audit.jsonl", "-o", "json"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_TRUE(contains(p.err, "3 malformed lines skipped (first at " + kAuditDir +
                                  "/broken/audit.jsonl:2: invalid JSON"))
      << p.err;
  EXPECT_TRUE(contains(p.err, "broken/audit.jsonl:6: an incomplete entry")) << p.err;
  const json j = jsonOf(p);
  EXPECT_EQ(j["totals"]["requests"], 3);
  EXPECT_EQ(j["skipped"]["malformed"], 3);
  EXPECT_EQ(j["skipped"]["firstMalformed"].get<std::string>().rfind(
                kAuditDir + "/broken/audit.jsonl:2: invalid JSON", 0),
            0u);
}

TEST(AuditCli, UsageAndInputErrorsExit2) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::string missing = kAuditDir + "/missing.jsonl";
  const std::vector<Case> cases = {
      {{"audit", missing}, missing + ": no such audit file"},
      {{"audit", kCurrent, missing}, missing + ": no such audit file"},
      {{"audit", "--since", "yesterday", kCurrent}, "--since: \"yesterday\" is neither a duration"},
      {{"audit", "--until", "2026-11-22", kCurrent}, "--until: "},
      {{"audit", "--since", "1h", "--until", "2h", kCurrent}, "is not before --until"},
      {{"audit", "--now", "soon", kCurrent}, "--now"},
      {{"audit", "--decision", "denied", kCurrent}, "--decision: unknown decision \"denied\""},
      {{"audit", "--fail-on", "error", kCurrent}, "--fail-on"},
      {{"audit", "-o", "yaml", kCurrent}, "--output"},
      {{"audit"}, "file"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.args));
    ProcessResult p = runCli(c.args);
    EXPECT_EQ(p.exit_code, 2);
    EXPECT_TRUE(contains(p.err, c.message)) << p.err;
    EXPECT_TRUE(p.out.empty()) << p.out;
  }
}

}  // namespace
}  // namespace ambient_guard::testing
