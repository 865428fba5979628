// The admission pipeline, read top to bottom: decode the AdmissionReview → review the write
// against the current cluster snapshot → fold findings and policy into a Decision → build the
// AdmissionReview response. `/mutate` computes the Namespace enrollment/rollback patch instead.
//
// No HTTP here (the server maps outcomes to status codes) and no rule logic (the Reviewer and
// the Enforcer own that). One pipeline serves every request thread; it holds no mutable state.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "kube/state_store.h"
#include "rules/reviewer.h"
#include "webhook/admission.h"
#include "webhook/enforcement.h"
#include "webhook/metrics.h"

namespace ambient_guard {

class AuditLog;
struct AuditRecord;

// What the server sends back and records for one call.
struct AdmissionOutcome {
  int http_status = 200;  // 200, or 400 for a body that is not an AdmissionReview v1
  std::string body;       // AdmissionReview JSON, or the error text for 400
  std::string kind;       // request.kind.kind ("" when the body did not parse)
  std::string operation;  // request.operation
  // allowed | denied | would-deny | warned | exempted | patched | invalid | error
  std::string decision;
};

class AdmissionPipeline {
 public:
  // Called with every validating decision (e.g. by tests); runs on request threads.
  using DecisionHook = std::function<void(const AdmissionRequest&, const Decision&)>;

  // `metrics` may be null. All references must outlive the pipeline.
  AdmissionPipeline(const Reviewer& reviewer, const Enforcer& enforcer, const StateStore& state,
                    Metrics* metrics);

  // Answers POST /validate.
  AdmissionOutcome validate(std::string_view body) const;
  // Answers POST /mutate.
  AdmissionOutcome mutate(std::string_view body) const;

  // Sets the hook; call before serving.
  void setDecisionHook(DecisionHook hook) { hook_ = std::move(hook); }
  // Writes an entry to `log` for every validate and mutate request that parses as an
  // AdmissionReview (null: no audit log). `log` must outlive the pipeline; call before serving.
  void setAuditLog(AuditLog* log) { audit_ = log; }

 private:
  using Clock = std::chrono::steady_clock;
  // Fills the mode and exemption of a request that has no Decision (not reviewed, or mutate).
  void auditContext(const AdmissionRequest& req, const Labels* ns_labels,
                    AuditRecord& record) const;
  // Completes `record` from the response and the time since `start`, and writes it.
  void audit(AuditRecord& record, const AdmissionResponse& resp, Clock::time_point start) const;

  const Reviewer& reviewer_;
  const Enforcer& enforcer_;
  const StateStore& state_;
  Metrics* metrics_;
  DecisionHook hook_;
  AuditLog* audit_ = nullptr;
};

}  // namespace ambient_guard
