#include "webhook/enforcement.h"

#include <algorithm>

namespace ambient_guard {
namespace {

using rules::Action;

// Actions are ordered strongest first, so the weaker of two is the larger.
Action weaker(Action a, Action b) { return std::max(a, b); }

Action capByMode(Action a, Mode mode) {
  switch (mode) {
    case Mode::kEnforce:
      return a;
    case Mode::kWarn:
      return weaker(a, Action::kWarn);
    case Mode::kDryrun:
      return weaker(a, Action::kDryrun);
  }
  return a;
}

// Length of the UTF-8 sequence starting at s[i], or 0 when it is not valid UTF-8.
size_t utf8Length(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n = 0;
  if (c < 0x80) {
    return 1;
  } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
    n = 2;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
  } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
    n = 4;
  } else {
    return 0;
  }
  if (i + n > s.size()) {
    return 0;
  }
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) {
      return 0;
    }
  }
  const auto c1 = static_cast<unsigned char>(s[i + 1]);
  if ((n == 3 && c == 0xE0 && c1 < 0xA0) || (n == 3 && c == 0xED && c1 >= 0xA0) ||
      (n == 4 && c == 0xF0 && c1 < 0x90) || (n == 4 && c == 0xF4 && c1 >= 0x90)) {
    return 0;  // overlong, surrogate or above U+10FFFF
  }
  return n;
}

}  // namespace

std::string Decision::denialMessage() const {
  std::string out;
  for (const auto& d : denials) {
    if (!out.empty()) {
      out += '\n';
    }
    out += d;
  }
  return out;
}

std::string_view outcomeName(bool allowed, bool warned,
                             const std::vector<EnforcedFinding>& findings) {
  if (!allowed) {
    return "deny";
  }
  for (const auto& f : findings) {
    if (f.rule_action == Action::kDeny && !f.finding.pre_existing) {
      return "would-deny";
    }
  }
  return warned ? "warn" : "allow";
}

std::string sanitizeWarning(std::string_view text, size_t limit) {
  // Split into whole characters first so the cut never lands inside one.
  std::string clean;
  std::vector<size_t> starts;  // start offset of each character in `clean`
  clean.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t n = utf8Length(text, i);
    starts.push_back(clean.size());
    if (n == 0) {
      clean += '?';
      ++i;
      continue;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (n == 1 && (c < 0x20 || c == 0x7f)) {
      clean += ' ';
    } else if (n == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0) {
      clean += ' ';  // C1 control characters
    } else {
      clean.append(text.substr(i, n));
    }
    i += n;
  }
  if (clean.size() <= limit) {
    return clean;
  }
  const size_t room = limit > 3 ? limit - 3 : 0;
  size_t cut = 0;
  for (size_t s : starts) {
    if (s > room) {
      break;
    }
    cut = s;
  }
  clean.resize(cut);
  clean += "...";
  return clean;
}

std::map<std::string, Action, std::less<>> ruleDefaults(
    const std::vector<std::unique_ptr<rules::Rule>>& rules) {
  std::map<std::string, Action, std::less<>> out;
  for (const auto& r : rules) {
    out.emplace(std::string(r->id()), r->doc().default_action);
  }
  return out;
}

Enforcer::Enforcer(Config config, std::map<std::string, Action, std::less<>> rule_defaults)
    : config_(std::move(config)), rule_defaults_(std::move(rule_defaults)) {}

Action Enforcer::ruleAction(const rules::Finding& finding) const {
  auto configured = config_.rules.find(finding.rule);
  if (configured == config_.rules.end()) {
    return finding.action;
  }
  auto def = rule_defaults_.find(finding.rule);
  // A finding the rule itself demoted below its default (e.g. a waypoint already serves the
  // workloads) keeps that demotion under the configured action.
  if (def != rule_defaults_.end() && finding.action > def->second) {
    return weaker(configured->second, finding.action);
  }
  return configured->second;
}

Mode Enforcer::modeFor(std::string_view ns, const Labels* ns_labels) const {
  const NamespaceOverride* best = nullptr;
  int best_rank = 0;  // 3 exact name, 2 glob, 1 selector
  size_t best_literal = 0;  // for globs: characters that are not wildcards
  for (const auto& ov : config_.namespace_overrides) {
    int rank = 0;
    size_t literal = 0;
    if (ov.selector) {
      if (ns_labels != nullptr ? selectorMatches(*ov.selector, *ns_labels) : selectorMatches(*ov.selector, Labels())) {
        rank = 1;
      }
    } else {
      for (const auto& pattern : ov.namespaces) {
        if (!globMatch(pattern, ns)) {
          continue;
        }
        const bool exact = pattern.find_first_of("*?[") == std::string::npos;
        const size_t lit = static_cast<size_t>(std::count_if(
            pattern.begin(), pattern.end(), [](char c) { return c != '*' && c != '?'; }));
        const int r = exact ? 3 : 2;
        if (r > rank || (r == rank && lit > literal)) {
          rank = r;
          literal = lit;
        }
      }
    }
    if (rank > best_rank || (rank == best_rank && rank == 2 && literal > best_literal)) {
      best = &ov;
      best_rank = rank;
      best_literal = literal;
    }
  }
  return best != nullptr ? best->mode : config_.mode;
}

std::optional<std::string> Enforcer::exemptionFor(const RequestContext& req) const {
  if (!req.ns.empty()) {
    if (req.ns == "kube-system" || req.ns == config_.webhook_namespace) {
      return "namespace " + req.ns;
    }
    for (const auto& p : config_.exemptions.namespaces) {
      if (globMatch(p, req.ns)) {
        return "namespace " + req.ns;
      }
    }
  }
  for (const auto& p : config_.exemptions.users) {
    if (globMatch(p, req.user)) {
      return "user " + std::string(req.user);
    }
  }
  for (const auto& p : config_.exemptions.groups) {
    for (const auto& g : req.groups) {
      if (globMatch(p, g)) {
        return "group " + g;
      }
    }
  }
  return std::nullopt;
}

Decision Enforcer::decide(std::vector<rules::Finding> findings, const RequestContext& req) const {
  Decision d;
  d.dry_run = req.dry_run;
  d.mode = modeFor(req.ns, req.ns_labels);
  if (auto why = exemptionFor(req)) {
    d.exempted = true;
    d.exemption = std::move(*why);
  }
  for (auto& f : findings) {
    const Action rule_action = ruleAction(f);
    if (rule_action == Action::kOff) {
      continue;
    }
    Action a = capByMode(rule_action, d.mode);
    if (f.pre_existing) {
      a = weaker(a, Action::kWarn);
    }
    EnforcedFinding ef{std::move(f), a, false, rule_action};
    if (!d.exempted) {
      if (a == Action::kDeny) {
        ef.enforced = true;
        d.allowed = false;
        d.denials.push_back(ef.finding.message);
      } else if (a == Action::kWarn) {
        ef.enforced = true;
        const std::string& text =
            ef.finding.summary.empty() ? ef.finding.message : ef.finding.summary;
        std::string w =
            ef.finding.pre_existing
                ? sanitizeWarning(text, kMaxWarningLength - kPreExistingSuffix.size()) +
                      std::string(kPreExistingSuffix)
                : sanitizeWarning(text);
        if (std::find(d.warnings.begin(), d.warnings.end(), w) == d.warnings.end()) {
          d.warnings.push_back(std::move(w));
        }
      }
    }
    d.findings.push_back(std::move(ef));
  }
  return d;
}

}  // namespace ambient_guard
