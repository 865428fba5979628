#include "audit/audit_review.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "model/glob.h"

namespace ambient_guard {

namespace {

constexpr int64_t kMicrosPerSecond = 1000000;

// The rules that made (or would make) the entry a denial: findings whose rule action is deny and
// that are not pre-existing; failing that, every finding's rule.
std::vector<std::string> denyingRules(const AuditEntry& e) {
  std::set<std::string> out;
  for (const auto& f : e.findings) {
    const std::string& action = f.rule_action.empty() ? f.action : f.rule_action;
    if (action == "deny" && !f.pre_existing) {
      out.insert(f.rule);
    }
  }
  if (out.empty()) {
    for (const auto& f : e.findings) {
      out.insert(f.rule);
    }
  }
  return {out.begin(), out.end()};
}

bool anyGlob(const std::vector<std::string>& patterns, std::string_view value) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return globMatch(p, value); });
}

}  // namespace

Result<int64_t> parseDuration(std::string_view s) {
  if (s.empty()) {
    return Error{"empty duration"};
  }
  // Seconds; at most kMaxSeconds so that the microseconds fit in an int64_t.
  constexpr int64_t kMaxSeconds = int64_t{100} * 366 * 86400 * 100;  // 10,000 years
  int64_t total = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    int64_t n = 0;
    size_t start = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos])) != 0) {
      if (n > 1000000000) {
        return Error{"duration too large"};
      }
      n = n * 10 + (s[pos] - '0');
      ++pos;
    }
    if (pos == start) {
      return Error{"expected a number"};
    }
    if (pos == s.size()) {
      return Error{"missing unit (s, m, h, d or w) after " + std::string(s.substr(start))};
    }
    int64_t unit = 0;
    switch (s[pos]) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      case 'w':
        unit = 7 * 86400;
        break;
      default:
        return Error{std::string("unknown unit '") + s[pos] + "' (use s, m, h, d or w)"};
    }
    ++pos;
    total += n * unit;  // n ≤ 1e9+9 and unit ≤ 604800: no overflow
    if (total > kMaxSeconds) {
      return Error{"duration too large"};
    }
  }
  return total * kMicrosPerSecond;
}

Result<int64_t> parseTimeBound(std::string_view text, int64_t now_us) {
  if (auto d = parseDuration(text); d.ok()) {
    return now_us - *d;
  }
  auto t = parseTimeMicros(text);
  if (t.ok()) {
    return *t;
  }
  return Error{"\"" + std::string(text) +
               "\" is neither a duration (30m, 2h, 7d, 1h30m) nor an RFC 3339 time "
               "(2026-11-21T10:00:00Z, 2026-11-21T12:00:00+02:00): " +
               t.error()};
}

Result<bool> validateFilter(const AuditFilter& filter) {
  for (const auto& d : filter.decisions) {
    if (!isDecision(d)) {
      return Error{"--decision: unknown decision \"" + d +
                   "\" (use deny, would-deny, warn or allow)"};
    }
  }
  if (filter.since_us && filter.until_us && *filter.since_us >= *filter.until_us) {
    return Error{"--since " + formatTimeMicros(*filter.since_us, false) +
                 " is not before --until " + formatTimeMicros(*filter.until_us, false)};
  }
  return true;
}

bool ruleMatches(const AuditFilter& filter, std::string_view rule) {
  return filter.rules.empty() || anyGlob(filter.rules, rule);
}

bool matches(const AuditFilter& filter, const AuditEntry& e) {
  if ((filter.since_us && e.time_us < *filter.since_us) ||
      (filter.until_us && e.time_us >= *filter.until_us)) {
    return false;
  }
  if (!filter.namespaces.empty() && !anyGlob(filter.namespaces, e.ns)) {
    return false;
  }
  if (!filter.users.empty() && !anyGlob(filter.users, e.user)) {
    return false;
  }
  if (!filter.decisions.empty() && std::find(filter.decisions.begin(), filter.decisions.end(),
                                             e.decision) == filter.decisions.end()) {
    return false;
  }
  if (!filter.rules.empty() &&
      std::none_of(e.findings.begin(), e.findings.end(),
                   [&](const AuditFinding& f) { return ruleMatches(filter, f.rule); })) {
    return false;
  }
  return true;
}

AuditReport buildAuditReport(const AuditTrail& log, const AuditFilter& filter, size_t top) {
  AuditReport r;
  r.filter = filter;
  r.files = log.files;
  r.skipped = log.skipped;
  std::map<std::pair<std::string, std::string>, RuleNamespaceCount> by_rule;
  std::map<std::string, UserCount> users;
  for (const AuditEntry& e : log.entries) {
    if (!matches(filter, e)) {
      continue;
    }
    AuditTotals& t = r.totals;
    ++t.requests;
    if (r.first_time.empty()) {
      r.first_time = e.time;
    }
    r.last_time = e.time;
    t.exempted += e.exempted ? 1 : 0;
    t.dry_run += e.dry_run ? 1 : 0;
    UserCount& u = users[e.user];
    u.user = e.user;
    ++u.requests;
    if (e.decision == "deny") {
      ++t.deny;
      ++u.deny;
    } else if (e.decision == "would-deny") {
      ++t.would_deny;
      ++u.would_deny;
    } else if (e.decision == "warn") {
      ++t.warn;
      ++u.warn;
    } else {
      ++t.allow;
    }
    for (const AuditFinding& f : e.findings) {
      if (!ruleMatches(filter, f.rule)) {
        continue;
      }
      RuleNamespaceCount& c = by_rule[{f.rule, e.ns}];
      c.rule = f.rule;
      c.ns = e.ns;
      ++c.findings;
      c.deny += f.action == "deny" ? 1 : 0;
      c.warn += f.action == "warn" ? 1 : 0;
      c.dryrun += f.action == "dryrun" ? 1 : 0;
      c.enforced += f.enforced ? 1 : 0;
      c.pre_existing += f.pre_existing ? 1 : 0;
    }
    if (e.decision == "deny" || e.decision == "would-deny") {
      r.would_deny.push_back({&e, denyingRules(e)});
      r.would_deny_exempted += e.exempted ? 1 : 0;
    }
  }
  for (auto& [key, c] : by_rule) {
    r.by_rule_namespace.push_back(std::move(c));
  }
  for (auto& [name, u] : users) {
    if (u.deny + u.would_deny > 0) {
      r.top_users.push_back(std::move(u));
    }
  }
  std::stable_sort(r.top_users.begin(), r.top_users.end(),
                   [](const UserCount& a, const UserCount& b) {
                     if (a.deny + a.would_deny != b.deny + b.would_deny) {
                       return a.deny + a.would_deny > b.deny + b.would_deny;
                     }
                     return a.requests > b.requests;
                   });
  if (r.top_users.size() > top) {
    r.top_users.resize(top);
  }
  return r;
}

bool failsOn(const AuditReport& report, std::string_view fail_on) {
  const AuditTotals& t = report.totals;
  if (fail_on == "deny") {
    return t.deny > 0;
  }
  if (fail_on == "would-deny") {
    return t.deny + t.would_deny > 0;
  }
  if (fail_on == "warn") {
    return t.deny + t.would_deny + t.warn > 0;
  }
  return false;
}

std::string AuditReport::verdict() const {
  const AuditTotals& t = totals;
  if (go()) {
    return "go: nothing would have been denied under enforce (" + std::to_string(t.requests) +
           " request" + (t.requests == 1 ? "" : "s") + " in the window, " + std::to_string(t.warn) +
           " warned)";
  }
  const size_t n = would_deny.size();
  std::string out = "no-go: " + std::to_string(n) + " request" + (n == 1 ? "" : "s") +
                    " would have been denied under enforce (" + std::to_string(t.deny) +
                    " denied, " + std::to_string(t.would_deny) + " would-deny";
  if (would_deny_exempted > 0) {
    out += ", " + std::to_string(would_deny_exempted) + " of them exempted";
  }
  return out + ")";
}

}  // namespace ambient_guard
