// `ambient-guard audit`: registered from registerExtraCommands (cli/cli_extra.cc).
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "audit/audit_review.h"
#include "cli/cli.h"

namespace ambient_guard {
namespace {

constexpr int kExitUsage = 2;

struct AuditOptions {
  std::vector<std::string> inputs;
  std::string since;
  std::string until;
  std::string now;
  std::vector<std::string> rules;
  std::vector<std::string> namespaces;
  std::vector<std::string> users;
  std::vector<std::string> decisions;
  std::string output = "table";
  std::string fail_on;
  size_t top = 10;
};

int usageError(const std::string& message) {
  std::cerr << "ambient-guard: " << message << "\n";
  return kExitUsage;
}

int runAuditCommand(const AuditOptions& opt) {
  int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  if (!opt.now.empty()) {
    auto t = parseTimeMicros(opt.now);
    if (!t.ok()) {
      return usageError("--now \"" + opt.now + "\": " + t.error());
    }
    now_us = *t;
  }
  AuditFilter filter;
  for (const auto& [flag, text, bound] : {std::tuple{"--since", &opt.since, &filter.since_us},
                                          std::tuple{"--until", &opt.until, &filter.until_us}}) {
    if (text->empty()) {
      continue;
    }
    auto t = parseTimeBound(*text, now_us);
    if (!t.ok()) {
      return usageError(std::string(flag) + ": " + t.error());
    }
    *bound = *t;
  }
  filter.rules = opt.rules;
  filter.namespaces = opt.namespaces;
  filter.users = opt.users;
  filter.decisions = opt.decisions;
  if (auto valid = validateFilter(filter); !valid.ok()) {
    return usageError(valid.error());
  }

  auto log = readAuditInputs(opt.inputs, std::cin);
  if (!log.ok()) {
    return usageError(log.error());
  }
  for (const auto& note : log->skipped.notes) {
    std::cerr << "ambient-guard: " << note << "\n";
  }
  if (log->skipped.malformed > 0) {
    std::cerr << "ambient-guard: " << log->skipped.malformed << " malformed line"
              << (log->skipped.malformed == 1 ? "" : "s") << " skipped (first at "
              << log->skipped.first_malformed << ")\n";
  }

  if (opt.output == "jsonl") {
    printAuditLines(*log, filter, std::cout);
    const AuditReport report = buildAuditReport(*log, filter, opt.top);
    return !opt.fail_on.empty() && failsOn(report, opt.fail_on) ? 1 : 0;
  }
  const AuditReport report = buildAuditReport(*log, filter, opt.top);
  if (opt.output == "json") {
    std::cout << auditReportJson(report).dump(2, ' ', false,
                                              nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    printAuditReport(report, std::cout);
  }
  return !opt.fail_on.empty() && failsOn(report, opt.fail_on) ? 1 : 0;
}

}  // namespace

void registerAuditCommand(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<AuditOptions>();
  CLI::App* cmd = app.add_subcommand(
      "audit",
      "Review the audit log: what was denied, warned or would have been denied under enforce, "
      "by rule, namespace and user; the pilot's go/no-go");
  cmd->add_option("file", opt->inputs,
                  "Audit log files (their rotated siblings FILE.1…, e.g. audit.1.jsonl, are read "
                  "too), directories, or - for stdin")
      ->required();
  cmd->add_option("--since", opt->since,
                  "Only entries at or after: a duration back from now (30m, 2h, 7d, 1h30m) or an "
                  "RFC 3339 time (2026-11-21T10:00:00Z)");
  cmd->add_option("--until", opt->until, "Only entries before: a duration back from now or a time");
  cmd->add_option("--now", opt->now,
                  "The time durations count back from (RFC 3339; default: the clock), for "
                  "reproducible reports");
  cmd->add_option("--rule", opt->rules, "Only requests with a finding of these rules (globs)")
      ->delimiter(',')
      ->allow_extra_args(false);
  cmd->add_option("-n,--namespace", opt->namespaces, "Only these namespaces (globs)")
      ->delimiter(',')
      ->allow_extra_args(false);
  cmd->add_option("--user", opt->users, "Only these users (globs)")
      ->delimiter(',')
      ->allow_extra_args(false);
  cmd->add_option("--decision", opt->decisions,
                  "Only these decisions: deny, would-deny, warn, allow")
      ->delimiter(',')
      ->allow_extra_args(false);
  cmd->add_option("-o,--output", opt->output,
                  "Output format (jsonl: the entries merged and filtered, e.g. to collect every "
                  "replica's log)")
      ->check(CLI::IsMember({"table", "json", "jsonl"}));
  cmd->add_option("--fail-on", opt->fail_on,
                  "Exit 1 when the window has: deny; would-deny (or deny); warn (or worse)")
      ->check(CLI::IsMember({"deny", "would-deny", "warn"}));
  cmd->add_option("--top", opt->top, "How many users to list");
  cmd->callback([opt, &exit_code] { exit_code = runAuditCommand(*opt); });
}

}  // namespace ambient_guard
