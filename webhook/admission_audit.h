// The audit entry of one admission decision: the webhook's view of a request (AdmissionRequest,
// mode, enforced findings) turned into the audit log's record format (audit/audit_record.h).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_log.h"
#include "audit/audit_record.h"
#include "webhook/admission.h"
#include "webhook/config.h"
#include "webhook/enforcement.h"

namespace ambient_guard {

// What one audit entry says about one admission request.
struct AuditRecord {
  std::chrono::system_clock::time_point time;  // when the request reached the pipeline
  std::string_view webhook;                    // "validate" | "mutate"
  const AdmissionRequest* request = nullptr;   // required
  Mode mode = Mode::kEnforce;
  bool allowed = true;
  bool warned = false;  // the response carried warnings
  bool exempted = false;
  std::string exemption;                                   // why, when exempted
  const std::vector<EnforcedFinding>* findings = nullptr;  // null: none
  std::optional<size_t> patch_ops;  // mutate only: JSON Patch operations in the response
  int64_t latency_us = 0;
};

// Returns the audit log entry for `record` (decision: deny, would-deny, warn or allow).
AuditEntry toAuditEntry(const AuditRecord& record);

// Returns the entry for `record` as one line of JSON (formatAuditEntry of toAuditEntry).
std::string formatAuditEntry(const AuditRecord& record);

// Returns the namespace a request concerns: request.namespace, or for a Namespace its own name.
std::string auditNamespace(const AdmissionRequest& req);

// Returns `t` as RFC 3339 UTC with microseconds, e.g. "2026-11-22T00:01:02.123456Z".
std::string formatAuditTime(std::chrono::system_clock::time_point t);

// Returns the options of the `audit` section of the configuration.
AuditLogOptions auditLogOptions(const AuditSettings& settings);

}  // namespace ambient_guard
