#include "audit/audit_record.h"

#include <cctype>
#include <cstdio>

#include "model/json_value.h"
#include "model/rfc3339.h"

namespace ambient_guard {

using nlohmann::json;

namespace {

constexpr int64_t kMicrosPerSecond = 1000000;

// Reads an optional member of `o` into `out`; false (with `err`) when it has the wrong type.
bool getString(const json& o, const char* key, std::string& out, std::string& err) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) {
    return true;
  }
  if (!it->is_string()) {
    err = std::string("\"") + key + "\" is not a string";
    return false;
  }
  out = it->get<std::string>();
  return true;
}

bool getBool(const json& o, const char* key, bool& out, std::string& err) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) {
    return true;
  }
  if (!it->is_boolean()) {
    err = std::string("\"") + key + "\" is not a boolean";
    return false;
  }
  out = it->get<bool>();
  return true;
}

Result<AuditFinding> decodeFinding(const json& f) {
  if (!f.is_object()) {
    return Error{"a finding is not an object"};
  }
  AuditFinding out;
  std::string err;
  if (!getString(f, "rule", out.rule, err) || !getString(f, "action", out.action, err) ||
      !getString(f, "ruleAction", out.rule_action, err) ||
      !getBool(f, "enforced", out.enforced, err) ||
      !getBool(f, "preExisting", out.pre_existing, err) ||
      !getString(f, "object", out.object, err) || !getString(f, "message", out.message, err)) {
    return Error{"finding: " + err};
  }
  if (out.rule.empty()) {
    return Error{"a finding has no \"rule\""};
  }
  return out;
}

Result<AuditEntry> decodeEntry(const json& o) {
  if (!o.is_object()) {
    return Error{"not a JSON object"};
  }
  AuditEntry e;
  std::string err;
  if (!getString(o, "time", e.time, err) || !getString(o, "uid", e.uid, err) ||
      !getString(o, "webhook", e.webhook, err) || !getString(o, "operation", e.operation, err) ||
      !getString(o, "kind", e.kind, err) || !getString(o, "group", e.group, err) ||
      !getString(o, "namespace", e.ns, err) || !getString(o, "name", e.name, err) ||
      !getString(o, "user", e.user, err) || !getBool(o, "dryRun", e.dry_run, err) ||
      !getString(o, "mode", e.mode, err) || !getBool(o, "allowed", e.allowed, err) ||
      !getString(o, "decision", e.decision, err) || !getBool(o, "exempted", e.exempted, err) ||
      !getString(o, "exemption", e.exemption, err)) {
    return Error{err};
  }
  if (e.time.empty()) {
    return Error{"no \"time\""};
  }
  auto t = parseTimeMicros(e.time);
  if (!t.ok()) {
    return Error{"\"time\": " + t.error()};
  }
  e.time_us = *t;
  if (!isDecision(e.decision)) {
    return Error{e.decision.empty() ? "no \"decision\""
                                    : "unknown \"decision\" \"" + e.decision + "\""};
  }
  if (auto g = o.find("groups"); g != o.end() && !g->is_null()) {
    if (!g->is_array()) {
      return Error{"\"groups\" is not an array"};
    }
    for (const auto& item : *g) {
      if (item.is_string()) {
        e.groups.push_back(item.get<std::string>());
      }
    }
  }
  if (auto fs = o.find("findings"); fs != o.end() && !fs->is_null()) {
    if (!fs->is_array()) {
      return Error{"\"findings\" is not an array"};
    }
    for (const auto& f : *fs) {
      auto finding = decodeFinding(f);
      if (!finding.ok()) {
        return Error{finding.error()};
      }
      e.findings.push_back(std::move(*finding));
    }
  }
  if (auto p = o.find("patch"); p != o.end() && p->is_number_integer()) {
    e.patch_ops = p->get<int64_t>();
  }
  if (auto l = o.find("latency_us"); l != o.end() && l->is_number()) {
    e.latency_us = l->get<int64_t>();
  }
  return e;
}

}  // namespace

Result<int64_t> parseTimeMicros(std::string_view s) {
  return parseRfc3339Micros(s, /*lenient=*/true);
}

std::string formatTimeMicros(int64_t unix_us, bool micros) {
  int64_t secs = unix_us / kMicrosPerSecond;
  int64_t frac = unix_us % kMicrosPerSecond;
  if (frac < 0) {
    frac += kMicrosPerSecond;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int64_t y = 0;
  unsigned m = 0;
  unsigned d = 0;
  civilFromDays(days, y, m, d);
  char buf[64];
  if (micros) {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ",
                  static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                  static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60),
                  static_cast<long long>(frac));
  } else {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
                  static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                  static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60));
  }
  return buf;
}

Result<AuditEntry> parseAuditLine(std::string_view line) {
  auto parsed = parseJson(line);
  if (!parsed.ok()) {
    return Error{"invalid JSON (" + parsed.error() + ")"};
  }
  return decodeEntry(toNlohmann(parsed->root()));
}

bool isDecision(std::string_view d) {
  return d == "deny" || d == "would-deny" || d == "warn" || d == "allow";
}

int64_t unixMicros(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

std::string formatAuditEntry(const AuditEntry& e) {
  using nlohmann::ordered_json;
  ordered_json o;
  o["time"] = formatTimeMicros(e.time_us);
  o["uid"] = e.uid;
  o["webhook"] = e.webhook;
  o["operation"] = e.operation;
  o["kind"] = e.kind;
  o["group"] = e.group;
  o["namespace"] = e.ns;
  o["name"] = e.name;
  o["user"] = e.user;
  o["groups"] = e.groups;
  o["dryRun"] = e.dry_run;
  o["mode"] = e.mode;
  o["allowed"] = e.allowed;
  o["decision"] = e.decision;
  o["exempted"] = e.exempted;
  o["exemption"] = e.exempted ? e.exemption : std::string();
  ordered_json fs = ordered_json::array();
  for (const auto& f : e.findings) {
    fs.push_back({{"rule", f.rule},
                  {"action", f.action},
                  {"ruleAction", f.rule_action},
                  {"enforced", f.enforced},
                  {"preExisting", f.pre_existing},
                  {"object", f.object},
                  {"message", f.message}});
  }
  o["findings"] = std::move(fs);
  if (e.patch_ops) {
    o["patch"] = *e.patch_ops;
  }
  o["latency_us"] = e.latency_us;
  return o.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

}  // namespace ambient_guard
