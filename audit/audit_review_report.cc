// Output of `ambient-guard audit`: the report as tables ending with the go/no-go verdict, or as
// an AuditReport JSON object whose keys are a stable interface for scripts.
#include <algorithm>
#include <ostream>

#include "audit/audit_review.h"
#include "model/strings.h"

namespace ambient_guard {

using nlohmann::json;

namespace {

using Row = std::vector<std::string>;

// Writes rows as left-aligned columns, two spaces apart, indented by two.
void printTable(const std::vector<Row>& rows, std::ostream& out) {
  std::vector<size_t> width;
  for (const Row& r : rows) {
    width.resize(std::max(width.size(), r.size()));
    for (size_t i = 0; i < r.size(); ++i) {
      width[i] = std::max(width[i], r[i].size());
    }
  }
  for (const Row& r : rows) {
    std::string line = " ";
    for (size_t i = 0; i < r.size(); ++i) {
      line += " " + r[i];
      if (i + 1 < r.size()) {
        line += std::string(width[i] - r[i].size() + 1, ' ');
      }
    }
    line.erase(line.find_last_not_of(' ') + 1);  // an empty last column leaves no padding
    out << line << "\n";
  }
}

std::string n(size_t v) { return std::to_string(v); }

std::string orDash(const std::string& s) { return s.empty() ? "-" : s; }

std::string objectRef(const AuditEntry& e) {
  return e.ns.empty() ? orDash(e.name) : e.ns + "/" + orDash(e.name);
}

// Seconds precision is enough to find the request in the apiserver audit log.
std::string shortTime(const AuditEntry& e) { return formatTimeMicros(e.time_us, false); }

std::string note(const AuditEntry& e) {
  std::vector<std::string> parts;
  if (e.exempted) {
    parts.push_back("exempted" + (e.exemption.empty() ? "" : ": " + e.exemption));
  }
  if (e.dry_run) {
    parts.push_back("dry-run request");
  }
  if (!e.mode.empty() && e.decision == "would-deny" && !e.exempted) {
    parts.push_back("mode " + e.mode);
  }
  return join(parts, "; ");
}

void printFilters(const AuditFilter& f, std::ostream& out) {
  std::vector<std::string> parts;
  if (f.since_us) {
    parts.push_back("since " + formatTimeMicros(*f.since_us, false));
  }
  if (f.until_us) {
    parts.push_back("until " + formatTimeMicros(*f.until_us, false));
  }
  auto add = [&](const char* name, const std::vector<std::string>& v) {
    if (!v.empty()) {
      parts.push_back(std::string(name) + " " + join(v, ","));
    }
  };
  add("rule", f.rules);
  add("namespace", f.namespaces);
  add("user", f.users);
  add("decision", f.decisions);
  if (!parts.empty()) {
    out << "Filters: " << join(parts, ", ") << "\n";
  }
}

json filterJson(const AuditFilter& f) {
  return {{"rules", f.rules},
          {"namespaces", f.namespaces},
          {"users", f.users},
          {"decisions", f.decisions}};
}

json timeOrNull(const std::optional<int64_t>& t) {
  return t ? json(formatTimeMicros(*t, false)) : json(nullptr);
}

json strOrNull(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

}  // namespace

void printAuditReport(const AuditReport& r, std::ostream& out) {
  const AuditTotals& t = r.totals;
  out << "Audit log: " << r.files.size() << " file" << (r.files.size() == 1 ? "" : "s") << ", "
      << t.requests << " request" << (t.requests == 1 ? "" : "s");
  if (t.requests > 0) {
    out << " from " << r.first_time << " to " << r.last_time;
  }
  out << "\n";
  printFilters(r.filter, out);

  out << "\nDecisions\n";
  printTable({{"allow", n(t.allow)},
              {"warn", n(t.warn)},
              {"would-deny", n(t.would_deny)},
              {"deny", n(t.deny)},
              {"total", n(t.requests)},
              {"exempted", n(t.exempted)},
              {"dry-run", n(t.dry_run)}},
             out);

  out << "\nFindings by rule and namespace\n";
  if (r.by_rule_namespace.empty()) {
    out << "  none\n";
  } else {
    std::vector<Row> rows = {
        {"RULE", "NAMESPACE", "FINDINGS", "DENY", "WARN", "DRYRUN", "ENFORCED", "PRE-EXISTING"}};
    for (const auto& c : r.by_rule_namespace) {
      rows.push_back({c.rule, orDash(c.ns), n(c.findings), n(c.deny), n(c.warn), n(c.dryrun),
                      n(c.enforced), n(c.pre_existing)});
    }
    printTable(rows, out);
  }

  out << "\nTop users by deny + would-deny\n";
  if (r.top_users.empty()) {
    out << "  none\n";
  } else {
    std::vector<Row> rows = {{"USER", "DENY", "WOULD-DENY", "WARN", "REQUESTS"}};
    for (const auto& u : r.top_users) {
      rows.push_back({orDash(u.user), n(u.deny), n(u.would_deny), n(u.warn), n(u.requests)});
    }
    printTable(rows, out);
  }

  out << "\nWould have been denied under enforce (" << r.would_deny.size() << ")\n";
  if (r.would_deny.empty()) {
    out << "  none\n";
  } else {
    std::vector<Row> rows = {
        {"TIME", "DECISION", "OBJECT", "KIND", "OPERATION", "USER", "RULES", "NOTE"}};
    for (const auto& b : r.would_deny) {
      const AuditEntry& e = *b.entry;
      rows.push_back({shortTime(e), e.decision, objectRef(e), orDash(e.kind), orDash(e.operation),
                      orDash(e.user), join(b.rules, ","), note(e)});
    }
    printTable(rows, out);
  }

  out << "\n" << r.verdict() << "\n";
}

json auditReportJson(const AuditReport& r) {
  const AuditTotals& t = r.totals;
  json by_rule = json::array();
  for (const auto& c : r.by_rule_namespace) {
    by_rule.push_back({{"rule", c.rule},
                       {"namespace", c.ns},
                       {"findings", c.findings},
                       {"deny", c.deny},
                       {"warn", c.warn},
                       {"dryrun", c.dryrun},
                       {"enforced", c.enforced},
                       {"preExisting", c.pre_existing}});
  }
  json users = json::array();
  for (const auto& u : r.top_users) {
    users.push_back({{"user", u.user},
                     {"deny", u.deny},
                     {"wouldDeny", u.would_deny},
                     {"warn", u.warn},
                     {"requests", u.requests}});
  }
  json blocked = json::array();
  for (const auto& b : r.would_deny) {
    const AuditEntry& e = *b.entry;
    json messages = json::array();
    for (const auto& f : e.findings) {
      if (std::find(b.rules.begin(), b.rules.end(), f.rule) != b.rules.end()) {
        messages.push_back(f.message);
      }
    }
    blocked.push_back({{"time", e.time},
                       {"uid", e.uid},
                       {"decision", e.decision},
                       {"mode", e.mode},
                       {"webhook", e.webhook},
                       {"operation", e.operation},
                       {"kind", e.kind},
                       {"group", e.group},
                       {"namespace", e.ns},
                       {"name", e.name},
                       {"user", e.user},
                       {"dryRun", e.dry_run},
                       {"exempted", e.exempted},
                       {"exemption", e.exemption},
                       {"rules", b.rules},
                       {"messages", std::move(messages)},
                       {"source", e.source}});
  }
  return {{"apiVersion", "ambient-guard.io/v1alpha1"},
          {"kind", "AuditReport"},
          {"window",
           {{"since", timeOrNull(r.filter.since_us)},
            {"until", timeOrNull(r.filter.until_us)},
            {"first", strOrNull(r.first_time)},
            {"last", strOrNull(r.last_time)}}},
          {"filters", filterJson(r.filter)},
          {"files", r.files},
          {"skipped",
           {{"malformed", r.skipped.malformed},
            {"firstMalformed", strOrNull(r.skipped.first_malformed)},
            {"notes", r.skipped.notes}}},
          {"totals",
           {{"requests", t.requests},
            {"allow", t.allow},
            {"warn", t.warn},
            {"wouldDeny", t.would_deny},
            {"deny", t.deny},
            {"exempted", t.exempted},
            {"dryRun", t.dry_run}}},
          {"byRuleNamespace", std::move(by_rule)},
          {"topUsers", std::move(users)},
          {"wouldDeny", std::move(blocked)},
          {"verdict", {{"go", r.go()}, {"message", r.verdict()}}}};
}

void printAuditLines(const AuditTrail& log, const AuditFilter& filter, std::ostream& out) {
  for (const AuditEntry& e : log.entries) {
    if (matches(filter, e)) {
      out << e.line << "\n";
    }
  }
}

}  // namespace ambient_guard
