#include "webhook/admission_pipeline.h"

#include <spdlog/spdlog.h>

#include "audit/audit_log.h"
#include "webhook/admission_audit.h"
#include "webhook/mutator.h"

namespace ambient_guard {
namespace {

using nlohmann::json;

AdmissionOutcome invalid(const std::string& why) {
  AdmissionOutcome out;
  out.http_status = 400;
  out.body = why + "\n";
  out.decision = "invalid";
  return out;
}

AdmissionOutcome respond(const AdmissionRequest& req, const AdmissionResponse& resp,
                         std::string decision) {
  AdmissionOutcome out;
  out.body = serializeAdmissionResponse(resp);
  out.kind = req.kind.kind;
  out.operation = req.operation;
  out.decision = std::move(decision);
  return out;
}

std::string objectRef(const AdmissionRequest& req) {
  const std::string name = req.objectName();
  const std::string kind = req.kind.kind.empty() ? std::string("object") : req.kind.kind;
  if (req.ns.empty() || req.kind.kind == "Namespace") {
    return kind + " " + name;
  }
  return kind + " " + req.ns + "/" + name;
}

// The namespace a write concerns, and its labels: a Namespace write concerns itself (with the
// labels it is about to have, or had when deleted); any other object its own namespace.
struct Where {
  std::string ns;
  const Labels* labels = nullptr;
};

Where whereOf(const Change& change, const ClusterView& state) {
  const AnyObject& any = change.object ? *change.object : *change.old_object;
  Where w;
  if (const auto* n = std::get_if<Namespace>(&any)) {
    w.ns = n->name;
    w.labels = &n->labels;
    return w;
  }
  w.ns = metaOf(any).ns;
  if (!w.ns.empty()) {
    if (const Namespace* n = state.findNamespace(w.ns)) {
      w.labels = &n->labels;
    }
  }
  return w;
}

std::string decisionLabel(const Decision& d) {
  if (d.exempted) {
    return "exempted";
  }
  if (!d.allowed) {
    return "denied";
  }
  if (d.outcome() == "would-deny") {
    return "would-deny";  // allowed only by the mode (warn, dryrun): the pilot's signal
  }
  return d.warnings.empty() ? "allowed" : "warned";
}

std::map<std::string, std::string> auditAnnotations(const Decision& d) {
  std::map<std::string, std::string> out;
  if (d.findings.empty() && !d.exempted) {
    return out;
  }
  out["mode"] = std::string(modeName(d.mode));
  out["decision"] = std::string(d.outcome());  // the audit log's word: deny, would-deny, ...
  if (d.exempted) {
    out["exempted"] = d.exemption;
  }
  if (d.dry_run) {
    out["dry-run"] = "true";
  }
  if (!d.findings.empty()) {
    json findings = json::array();
    for (const auto& f : d.findings) {
      findings.push_back({{"rule", f.finding.rule},
                          {"action", rules::actionName(f.action)},
                          {"ruleAction", rules::actionName(f.rule_action)},
                          {"enforced", f.enforced},
                          {"preExisting", f.finding.pre_existing},
                          {"object", f.finding.object.str()},
                          {"field", f.finding.field},
                          {"message", f.finding.message}});
    }
    out["findings"] = findings.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return out;
}

const Labels* namespaceLabels(const ClusterView& state, const std::string& ns) {
  if (ns.empty()) {
    return nullptr;
  }
  const Namespace* n = state.findNamespace(ns);
  return n != nullptr ? &n->labels : nullptr;
}

}  // namespace

void AdmissionPipeline::auditContext(const AdmissionRequest& req, const Labels* ns_labels,
                                     AuditRecord& record) const {
  RequestContext ctx;
  ctx.ns = auditNamespace(req);
  ctx.ns_labels = ns_labels;
  ctx.user = req.username;
  ctx.groups = req.groups;
  ctx.dry_run = req.dry_run;
  record.mode = enforcer_.modeFor(ctx.ns, ns_labels);
  if (auto why = enforcer_.exemptionFor(ctx)) {
    record.exempted = true;
    record.exemption = std::move(*why);
  }
}

void AdmissionPipeline::audit(AuditRecord& record, const AdmissionResponse& resp,
                              Clock::time_point start) const {
  record.allowed = resp.allowed;
  record.warned = !resp.warnings.empty();
  record.latency_us =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
  audit_->record(toAuditEntry(record));
}

AdmissionPipeline::AdmissionPipeline(const Reviewer& reviewer, const Enforcer& enforcer,
                                     const StateStore& state, Metrics* metrics)
    : reviewer_(reviewer), enforcer_(enforcer), state_(state), metrics_(metrics) {}

AdmissionOutcome AdmissionPipeline::validate(std::string_view body) const {
  const Clock::time_point start = Clock::now();
  AuditRecord record;
  record.time = std::chrono::system_clock::now();
  record.webhook = "validate";
  auto parsed = parseAdmissionReview(body);
  if (!parsed.ok()) {
    return invalid(parsed.error());
  }
  const AdmissionRequest& req = *parsed;
  record.request = &req;
  AdmissionResponse resp;
  resp.uid = req.uid;
  // A request that is not reviewed is still audited, with its namespace's mode and exemption.
  auto finishUnreviewed = [&](std::string decision) {
    AdmissionOutcome out = respond(req, resp, std::move(decision));
    if (audit_ != nullptr) {
      const std::shared_ptr<const Snapshot> snapshot = state_.current();
      auditContext(req, namespaceLabels(*snapshot, auditNamespace(req)), record);
      audit(record, resp, start);
    }
    return out;
  };

  auto change = decodeChange(req);
  if (!change.ok()) {
    // The apiserver validated the object against its schema already, so this is a shape we do
    // not understand: answer explicitly rather than let failurePolicy decide, and say so.
    spdlog::warn("validate uid={} {}: not checked: {}", req.uid, objectRef(req), change.error());
    resp.warnings.push_back(
        sanitizeWarning("[ambient-guard] " + objectRef(req) + " was not checked: " + change.error()));
    resp.audit_annotations["error"] = change.error();
    return finishUnreviewed("error");
  }
  if (!change->has_value()) {
    return finishUnreviewed("allowed");
  }
  const Change& ch = **change;

  // 1. Review against the cluster as it is now.
  const std::shared_ptr<const Snapshot> snapshot = state_.current();
  std::vector<rules::Finding> findings = reviewer_.review(*snapshot, ch);

  // 2. Fold into a decision.
  const Where where = whereOf(ch, *snapshot);
  RequestContext ctx;
  ctx.ns = where.ns;
  ctx.ns_labels = where.labels;
  ctx.user = req.username;
  ctx.groups = req.groups;
  ctx.dry_run = req.dry_run;
  const Decision decision = enforcer_.decide(std::move(findings), ctx);

  // 3. Respond.
  resp.allowed = decision.allowed;
  if (!decision.allowed) {
    resp.message = decision.denialMessage();
  }
  resp.warnings = decision.warnings;
  resp.audit_annotations = auditAnnotations(decision);

  if (metrics_ != nullptr) {
    for (const auto& f : decision.findings) {
      metrics_->countFinding(f.finding.rule, rules::actionName(f.action), f.enforced);
    }
  }
  std::string label = decisionLabel(decision);
  if (!decision.findings.empty()) {
    std::string ids;
    for (const auto& f : decision.findings) {
      ids += (ids.empty() ? "" : ",") + f.finding.rule + ":" +
             std::string(rules::actionName(f.action));
    }
    const auto level = decision.exempted || label == "allowed" ? spdlog::level::debug
                                                               : spdlog::level::info;
    spdlog::log(level, "validate uid={} {} {} user={} mode={} dryRun={} -> {} [{}]{}", req.uid,
                req.operation, objectRef(req), req.username, modeName(decision.mode),
                req.dry_run, label, ids,
                decision.exempted ? " exempt: " + decision.exemption : std::string());
  }
  if (hook_) {
    hook_(req, decision);
  }
  AdmissionOutcome out = respond(req, resp, std::move(label));
  if (audit_ != nullptr) {
    record.mode = decision.mode;
    record.exempted = decision.exempted;
    record.exemption = decision.exemption;
    record.findings = &decision.findings;
    audit(record, resp, start);
  }
  return out;
}

AdmissionOutcome AdmissionPipeline::mutate(std::string_view body) const {
  const Clock::time_point start = Clock::now();
  AuditRecord record;
  record.time = std::chrono::system_clock::now();
  record.webhook = "mutate";
  auto parsed = parseAdmissionReview(body);
  if (!parsed.ok()) {
    return invalid(parsed.error());
  }
  const AdmissionRequest& req = *parsed;
  record.request = &req;
  AdmissionResponse resp;
  resp.uid = req.uid;
  const bool namespace_write = req.kind.group.empty() && req.kind.kind == "Namespace" &&
                               req.sub_resource.empty() &&
                               (req.operation == "CREATE" || req.operation == "UPDATE") &&
                               req.object.is_object();
  // The labels the namespace is about to have: they choose its mode.
  const Labels* labels = nullptr;
  Labels new_labels;
  if (namespace_write) {
    if (JsonPtr meta = req.object.find("metadata"); meta && meta->is_object()) {
      if (JsonPtr l = meta->find("labels"); l && l->is_object()) {
        std::vector<std::pair<std::string, std::string>> pairs;
        for (const auto& [key, value] : l->items()) {
          if (value.is_string()) {
            pairs.emplace_back(key, value.get<std::string>());
          }
        }
        new_labels = Labels(std::move(pairs));
        labels = &new_labels;
      }
    }
  }
  auto finish = [&](std::string decision) {
    AdmissionOutcome out = respond(req, resp, std::move(decision));
    if (audit_ != nullptr) {
      std::shared_ptr<const Snapshot> snapshot;
      const Labels* mode_labels = labels;
      if (!namespace_write) {
        snapshot = state_.current();
        mode_labels = namespaceLabels(*snapshot, auditNamespace(req));
      }
      auditContext(req, mode_labels, record);
      record.patch_ops = resp.patch.is_array() ? resp.patch.size() : 0;
      audit(record, resp, start);
    }
    return out;
  };
  if (!namespace_write || !enforcer_.config().mutation_enabled) {
    return finish("allowed");
  }

  RequestContext ctx;
  ctx.ns = req.objectName();
  ctx.user = req.username;
  ctx.groups = req.groups;
  ctx.dry_run = req.dry_run;
  if (auto why = enforcer_.exemptionFor(ctx)) {
    return finish("exempted");
  }
  // The patch is built with nlohmann (json::diff); only Namespace writes get here.
  // Enrollment as istio-cni sees it: the enablement selectors the rules use, read per request
  // from the Reviewer (custom selectors: --ambient-enablement-selector, or the live
  // istio-cni-config it follows).
  const auto mesh = reviewer_.meshFor(*state_.current());
  Mutation m = mutateNamespace(toNlohmann(req.object), toNlohmann(req.old_object), nowRfc3339(),
                               mesh->enablement);
  for (const auto& note : m.notes) {
    resp.warnings.push_back(sanitizeWarning("[ambient-guard] Namespace " + ctx.ns + ": " + note));
  }
  if (m.patch.empty()) {
    return finish("allowed");
  }
  const Mode mode = enforcer_.modeFor(ctx.ns, labels);
  const std::string kind(mutationKindName(m.kind));
  if (mode == Mode::kDryrun) {
    // Audit-only: record what would have changed, change nothing.
    resp.audit_annotations["mutation"] = "would-" + kind;
    spdlog::info("mutate uid={} Namespace {} user={} mode=dryrun -> would {} ({} ops)", req.uid,
                 ctx.ns, req.username, kind, m.patch.size());
    return finish("allowed");
  }
  resp.patch = std::move(m.patch);
  resp.audit_annotations["mutation"] = kind;
  spdlog::info("mutate uid={} Namespace {} user={} dryRun={} -> {} ({} ops)", req.uid, ctx.ns,
               req.username, req.dry_run, kind, resp.patch.size());
  return finish("patched");
}

}  // namespace ambient_guard
