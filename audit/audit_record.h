// The audit log's one record format (DESIGN.md §8): what `serve` writes (audit/audit_log.*) and
// what `ambient-guard audit` reads (audit/audit_review.*) are the same AuditEntry, formatted and
// parsed here, so the writer and the reader cannot drift apart.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/result.h"

namespace ambient_guard {

// One finding of an audit entry (the "findings" array).
struct AuditFinding {
  std::string rule;
  std::string action;       // effective: deny | warn | dryrun
  std::string rule_action;  // the rule's configured action before the mode fold
  bool enforced = false;    // changed the response (denied, or a warning returned)
  bool pre_existing = false;
  std::string object;
  std::string message;
};

// One admission decision, one line of the audit log.
struct AuditEntry {
  std::string time;     // as written (RFC 3339, UTC)
  int64_t time_us = 0;  // Unix microseconds
  std::string uid;
  std::string webhook;
  std::string operation;
  std::string kind;
  std::string group;
  std::string ns;
  std::string name;
  std::string user;
  std::vector<std::string> groups;
  bool dry_run = false;
  std::string mode;
  bool allowed = true;
  std::string decision;  // deny | would-deny | warn | allow
  bool exempted = false;
  std::string exemption;
  std::vector<AuditFinding> findings;
  std::optional<int64_t> patch_ops;  // mutate only: JSON Patch operations in the response
  int64_t latency_us = 0;
  std::string source;  // FILE:LINE (read only)
  std::string line;    // the line as read, for -o jsonl (read only)
};

// Returns the entry as one line of JSON (no newline), keys in this order:
// time (from time_us), uid, webhook, operation, kind, group, namespace, name, user, groups,
// dryRun, mode, allowed, decision, exempted, exemption, findings[{rule, action, ruleAction,
// enforced, preExisting, object, message}], patch (when set), latency_us. Invalid UTF-8 becomes
// U+FFFD.
std::string formatAuditEntry(const AuditEntry& entry);

// Returns one audit log line decoded, or why it is not an entry (`source` is left empty).
Result<AuditEntry> parseAuditLine(std::string_view line);

// Returns Unix microseconds for an RFC 3339 time ("2026-11-21T10:00:00Z",
// "2026-11-21T12:00:00.5+02:00"), or an error naming what is wrong.
Result<int64_t> parseTimeMicros(std::string_view text);
// Returns "2026-11-21T10:00:00.123456Z" (or without fraction when `micros` is false).
std::string formatTimeMicros(int64_t unix_us, bool micros = true);
// Returns whether `d` is a decision of the log: deny, would-deny, warn or allow.
bool isDecision(std::string_view d);
// Returns Unix microseconds of `t`.
int64_t unixMicros(std::chrono::system_clock::time_point t);

}  // namespace ambient_guard
