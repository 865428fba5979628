#include "webhook/admission_pipeline.h"

#include <spdlog/spdlog.h>

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
  return d.warnings.empty() ? "allowed" : "warned";
}

std::map<std::string, std::string> auditAnnotations(const Decision& d) {
  std::map<std::string, std::string> out;
  if (d.findings.empty() && !d.exempted) {
    return out;
  }
  out["mode"] = std::string(modeName(d.mode));
  out["decision"] = decisionLabel(d);
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

}  // namespace

AdmissionPipeline::AdmissionPipeline(const Reviewer& reviewer, const Enforcer& enforcer,
                                     const StateStore& state, Metrics* metrics)
    : reviewer_(reviewer), enforcer_(enforcer), state_(state), metrics_(metrics) {}

AdmissionOutcome AdmissionPipeline::validate(std::string_view body) const {
  auto parsed = parseAdmissionReview(body);
  if (!parsed.ok()) {
    return invalid(parsed.error());
  }
  const AdmissionRequest& req = *parsed;
  AdmissionResponse resp;
  resp.uid = req.uid;

  auto change = decodeChange(req);
  if (!change.ok()) {
    // The apiserver validated the object against its schema already, so this is a shape we do
    // not understand: answer explicitly rather than let failurePolicy decide, and say so.
    spdlog::warn("validate uid={} {}: not checked: {}", req.uid, objectRef(req), change.error());
    resp.warnings.push_back(
        sanitizeWarning("[ambient-guard] " + objectRef(req) + " was not checked: " + change.error()));
    resp.audit_annotations["error"] = change.error();
    return respond(req, resp, "error");
  }
  if (!change->has_value()) {
    return respond(req, resp, "allowed");
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
  return respond(req, resp, std::move(label));
}

AdmissionOutcome AdmissionPipeline::mutate(std::string_view body) const {
  auto parsed = parseAdmissionReview(body);
  if (!parsed.ok()) {
    return invalid(parsed.error());
  }
  const AdmissionRequest& req = *parsed;
  AdmissionResponse resp;
  resp.uid = req.uid;
  const bool namespace_write = req.kind.group.empty() && req.kind.kind == "Namespace" &&
                               req.sub_resource.empty() &&
                               (req.operation == "CREATE" || req.operation == "UPDATE") &&
                               req.object.is_object();
  if (!namespace_write || !enforcer_.config().mutation_enabled) {
    return respond(req, resp, "allowed");
  }

  RequestContext ctx;
  ctx.ns = req.objectName();
  ctx.user = req.username;
  ctx.groups = req.groups;
  ctx.dry_run = req.dry_run;
  if (auto why = enforcer_.exemptionFor(ctx)) {
    return respond(req, resp, "exempted");
  }
  Mutation m = mutateNamespace(req.object, req.old_object, nowRfc3339());
  for (const auto& note : m.notes) {
    resp.warnings.push_back(sanitizeWarning("[ambient-guard] Namespace " + ctx.ns + ": " + note));
  }
  if (m.patch.empty()) {
    return respond(req, resp, "allowed");
  }
  const Labels* labels = nullptr;
  Labels new_labels;
  if (auto meta = req.object.find("metadata"); meta != req.object.end() && meta->is_object()) {
    if (auto l = meta->find("labels"); l != meta->end() && l->is_object()) {
      std::vector<std::pair<std::string, std::string>> pairs;
      for (auto it = l->begin(); it != l->end(); ++it) {
        if (it->is_string()) {
          pairs.emplace_back(it.key(), it->get<std::string>());
        }
      }
      new_labels = Labels(std::move(pairs));
      labels = &new_labels;
    }
  }
  const Mode mode = enforcer_.modeFor(ctx.ns, labels);
  const std::string kind(mutationKindName(m.kind));
  if (mode == Mode::kDryrun) {
    // Audit-only: record what would have changed, change nothing.
    resp.audit_annotations["mutation"] = "would-" + kind;
    spdlog::info("mutate uid={} Namespace {} user={} mode=dryrun -> would {} ({} ops)", req.uid,
                 ctx.ns, req.username, kind, m.patch.size());
    return respond(req, resp, "allowed");
  }
  resp.patch = std::move(m.patch);
  resp.audit_annotations["mutation"] = kind;
  spdlog::info("mutate uid={} Namespace {} user={} dryRun={} -> {} ({} ops)", req.uid, ctx.ns,
               req.username, req.dry_run, kind, resp.patch.size());
  return respond(req, resp, "patched");
}

}  // namespace ambient_guard
