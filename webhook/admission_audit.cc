#include "webhook/admission_audit.h"

namespace ambient_guard {

std::string auditNamespace(const AdmissionRequest& req) {
  if (req.ns.empty() && req.kind.group.empty() && req.kind.kind == "Namespace") {
    return req.objectName();
  }
  return req.ns;
}

std::string formatAuditTime(std::chrono::system_clock::time_point t) {
  return formatTimeMicros(unixMicros(t));
}

AuditEntry toAuditEntry(const AuditRecord& r) {
  static const AdmissionRequest kNone;
  const AdmissionRequest& req = r.request != nullptr ? *r.request : kNone;
  static const std::vector<EnforcedFinding> kNoFindings;
  const std::vector<EnforcedFinding>& findings = r.findings != nullptr ? *r.findings : kNoFindings;

  AuditEntry e;
  e.time_us = unixMicros(r.time);
  e.uid = req.uid;
  e.webhook = std::string(r.webhook);
  e.operation = req.operation;
  e.kind = req.kind.kind;
  e.group = req.kind.group;
  e.ns = auditNamespace(req);
  e.name = req.objectName();
  e.user = req.username;
  e.groups = req.groups;
  e.dry_run = req.dry_run;
  e.mode = modeName(r.mode);
  e.allowed = r.allowed;
  e.decision = outcomeName(r.allowed, r.warned, findings);
  e.exempted = r.exempted;
  e.exemption = r.exempted ? r.exemption : std::string();
  e.findings.reserve(findings.size());
  for (const auto& f : findings) {
    e.findings.push_back({f.finding.rule, std::string(rules::actionName(f.action)),
                          std::string(rules::actionName(f.rule_action)), f.enforced,
                          f.finding.pre_existing, f.finding.object.str(), f.finding.message});
  }
  if (r.patch_ops) {
    e.patch_ops = static_cast<int64_t>(*r.patch_ops);
  }
  e.latency_us = r.latency_us;
  return e;
}

std::string formatAuditEntry(const AuditRecord& record) {
  return formatAuditEntry(toAuditEntry(record));
}

AuditLogOptions auditLogOptions(const AuditSettings& settings) {
  AuditLogOptions o;
  o.path = settings.path;
  o.max_size_bytes = static_cast<size_t>(settings.max_size_mb) << 20;
  o.max_files = static_cast<size_t>(settings.max_files);
  return o;
}

}  // namespace ambient_guard
