#include "audit/audit_record.h"

#include <cctype>
#include <cstdio>

#include "model/json_value.h"

namespace ambient_guard {

using nlohmann::json;

namespace {

constexpr int64_t kMicrosPerSecond = 1000000;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant, "chrono-Compatible Low-Level
// Date Algorithms").
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
}

bool leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned daysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at `pos`.
bool digits(std::string_view s, size_t& pos, size_t n, int& out) {
  if (pos + n > s.size()) {
    return false;
  }
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') {
      return false;
    }
    out = out * 10 + (c - '0');
  }
  pos += n;
  return true;
}

bool expect(std::string_view s, size_t& pos, std::string_view chars) {
  if (pos < s.size() && chars.find(s[pos]) != std::string_view::npos) {
    ++pos;
    return true;
  }
  return false;
}

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
  size_t pos = 0;
  int y = 0;
  int mo = 0;
  int d = 0;
  int h = 0;
  int mi = 0;
  int sec = 0;
  if (!digits(s, pos, 4, y) || !expect(s, pos, "-") || !digits(s, pos, 2, mo) ||
      !expect(s, pos, "-") || !digits(s, pos, 2, d)) {
    return Error{"expected a date YYYY-MM-DD"};
  }
  if (!expect(s, pos, "Tt ") || !digits(s, pos, 2, h) || !expect(s, pos, ":") ||
      !digits(s, pos, 2, mi) || !expect(s, pos, ":") || !digits(s, pos, 2, sec)) {
    return Error{"expected a time THH:MM:SS after the date"};
  }
  if (mo < 1 || mo > 12 || d < 1 || static_cast<unsigned>(d) > daysInMonth(y, mo) || h > 23 ||
      mi > 59 || sec > 60) {
    return Error{"date or time out of range"};
  }
  int64_t micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t n = 0;
    int64_t scale = 100000;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos])) != 0) {
      micros += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
      ++n;
    }
    if (n == 0) {
      return Error{"expected digits after the decimal point"};
    }
  }
  int64_t offset_s = 0;
  if (expect(s, pos, "Zz")) {
    offset_s = 0;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = 0;
    int om = 0;
    if (!digits(s, pos, 2, oh) || !expect(s, pos, ":") || !digits(s, pos, 2, om) || oh > 23 ||
        om > 59) {
      return Error{"expected a UTC offset +HH:MM"};
    }
    offset_s = sign * (oh * 3600 + om * 60);
  } else {
    return Error{"expected Z or a UTC offset (+HH:MM) after the time"};
  }
  if (pos != s.size()) {
    return Error{"unexpected text after the time"};
  }
  const int64_t secs = daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  return secs * kMicrosPerSecond + micros;
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
