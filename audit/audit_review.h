// Review of the admission audit log (`ambient-guard audit`): reads the JSON Lines the webhook
// writes (audit/audit_log.*) including spdlog's rotated files, filters by time window, rule,
// namespace, user and decision, and folds the entries into the pilot's go/no-go report: what was
// denied, warned, or would have been denied under enforce, by rule, namespace and user.
// Pure functions over values; no globals. Thread-compatible.
#pragma once

#include <cstdint>
#include <istream>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_record.h"
#include "model/result.h"

namespace ambient_guard {

// Returns the length of a duration such as 30s, 30m, 2h, 7d, 1w or 1h30m, in microseconds.
Result<int64_t> parseDuration(std::string_view text);
// Returns the instant of a --since/--until value: `now_us` minus a duration, or an RFC 3339
// time. The error explains both accepted forms.
Result<int64_t> parseTimeBound(std::string_view text, int64_t now_us);

// Returns the name spdlog's rotating_file_sink gives rotated file `index` of `path`
// (rotating_file_sink::calc_filename): audit.jsonl → audit.1.jsonl, audit → audit.1.
std::string rotatedFileName(const std::string& path, size_t index);
// Returns the files that hold the history of the audit log `path`, oldest first: the rotated
// siblings that exist (highest index first), then `path` itself.
std::vector<std::string> auditFileChain(const std::string& path);

// Lines the reader skipped, and where.
struct SkippedLines {
  size_t malformed = 0;
  std::string first_malformed;     // "FILE:LINE: reason" of the first one
  std::vector<std::string> notes;  // one line each: truncated last lines, recovered entries
};

// Everything read from the inputs, sorted by time (stable: equal times keep file order).
struct AuditTrail {
  std::vector<std::string> files;  // in reading order
  std::vector<AuditEntry> entries;
  SkippedLines skipped;
};

// Appends the entries in `text` (named `name` in messages) to `log`. A last line without its
// newline that does not parse is a write cut short by a crash: skipped with a note. Never fails.
void readAuditText(std::string_view text, const std::string& name, AuditTrail& log);

// Reads the inputs: "-" (stdin, via `in`), files (with their rotated siblings) and directories
// (every regular, non-hidden file in them), dedupes files, and sorts entries by time. Returns
// an error for a missing or unreadable input.
Result<AuditTrail> readAuditInputs(const std::vector<std::string>& inputs, std::istream& in);

// What to keep. Empty lists keep everything; namespaces, users and rules are globs (fnmatch).
struct AuditFilter {
  std::optional<int64_t> since_us;  // inclusive
  std::optional<int64_t> until_us;  // exclusive
  std::vector<std::string> rules;
  std::vector<std::string> namespaces;
  std::vector<std::string> users;
  std::vector<std::string> decisions;  // deny | would-deny | warn | allow
};

// Returns an error when a decision in the filter is not one of the four.
Result<bool> validateFilter(const AuditFilter& filter);
// Returns whether the entry passes every filter.
bool matches(const AuditFilter& filter, const AuditEntry& entry);
// Returns whether a finding's rule passes the --rule filter (always, without one).
bool ruleMatches(const AuditFilter& filter, std::string_view rule);

struct AuditTotals {
  size_t requests = 0;
  size_t allow = 0;
  size_t warn = 0;
  size_t would_deny = 0;
  size_t deny = 0;
  size_t exempted = 0;
  size_t dry_run = 0;
};

// Findings of one rule in one namespace, by effective action.
struct RuleNamespaceCount {
  std::string rule;
  std::string ns;
  size_t findings = 0;
  size_t deny = 0;
  size_t warn = 0;
  size_t dryrun = 0;
  size_t enforced = 0;
  size_t pre_existing = 0;
};

struct UserCount {
  std::string user;
  size_t requests = 0;
  size_t deny = 0;
  size_t would_deny = 0;
  size_t warn = 0;
};

// A request denied, or one that enforce mode would have denied.
struct BlockedRequest {
  const AuditEntry* entry = nullptr;
  std::vector<std::string> rules;  // the rules that deny (sorted, unique)
};

struct AuditReport {
  AuditFilter filter;
  std::vector<std::string> files;
  SkippedLines skipped;
  std::string first_time;  // of the entries in the window
  std::string last_time;
  AuditTotals totals;
  std::vector<RuleNamespaceCount> by_rule_namespace;  // by rule, then namespace
  std::vector<UserCount> top_users;        // by deny + would-deny, then requests, then name
  std::vector<BlockedRequest> would_deny;  // in time order: deny and would-deny entries
  size_t would_deny_exempted = 0;

  // True when nothing in the window would have been denied under enforce.
  bool go() const { return would_deny.empty(); }
  // Returns the one-line verdict ("go: …" / "no-go: …").
  std::string verdict() const;
};

// Folds the entries of `log` that pass `filter` into a report. `log` must outlive the report
// (would_deny points into it). At most `top` users are listed.
AuditReport buildAuditReport(const AuditTrail& log, const AuditFilter& filter, size_t top = 10);

// Returns whether the report contains entries at or above `fail_on` (deny | would-deny | warn):
// deny: any deny; would-deny: any deny or would-deny; warn: any deny, would-deny or warn.
bool failsOn(const AuditReport& report, std::string_view fail_on);

// Writes the report as tables ending with the verdict (audit/audit_review_report.cc).
void printAuditReport(const AuditReport& report, std::ostream& out);
// Returns the report as an AuditReport object (apiVersion ambient-guard.io/v1alpha1).
nlohmann::json auditReportJson(const AuditReport& report);
// Writes the lines of the entries that pass `filter`, in time order: the audit log merged and
// filtered, readable again by readAuditText (e.g. collected from every replica).
void printAuditLines(const AuditTrail& log, const AuditFilter& filter, std::ostream& out);

}  // namespace ambient_guard
