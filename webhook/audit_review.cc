#include "webhook/audit_review.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <system_error>

#include "webhook/config.h"
#include "webhook/json_reader.h"

namespace ambient_guard {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr std::string_view kEntryStart = "{\"time\":";

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

bool isDecision(std::string_view d) {
  return d == "deny" || d == "would-deny" || d == "warn" || d == "allow";
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
  if (auto l = o.find("latency_us"); l != o.end() && l->is_number()) {
    e.latency_us = l->get<int64_t>();
  }
  return e;
}

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c) != 0; });
}

Result<std::string> readWholeFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    return Error{path + ": cannot read the audit file"};
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) {
    return Error{path + ": read error"};
  }
  return ss.str();
}

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

Result<int64_t> parseDuration(std::string_view s) {
  if (s.empty()) {
    return Error{"empty duration"};
  }
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
    total += n * unit * kMicrosPerSecond;
  }
  return total;
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

Result<AuditEntry> parseAuditLine(std::string_view line) {
  auto parsed = readJson(line);
  if (!parsed.ok()) {
    return Error{"invalid JSON (" + parsed.error() + ")"};
  }
  return decodeEntry(*parsed);
}

std::string rotatedFileName(const std::string& path, size_t index) {
  if (index == 0) {
    return path;
  }
  // details::file_helper::split_by_extension: the last dot, unless it starts the path, ends it,
  // or belongs to a directory name or starts the file name (a hidden file).
  const size_t ext = path.rfind('.');
  std::string base = path;
  std::string suffix;
  if (ext != std::string::npos && ext != 0 && ext != path.size() - 1) {
    const size_t folder = path.find_last_of('/');
    if (folder == std::string::npos || folder < ext - 1) {
      base = path.substr(0, ext);
      suffix = path.substr(ext);
    }
  }
  return base + "." + std::to_string(index) + suffix;
}

std::vector<std::string> auditFileChain(const std::string& path) {
  // Scan the directory rather than probe 1, 2, … so a gap (max_files lowered, a file removed by
  // hand) does not hide the older files.
  const std::string one = rotatedFileName(path, 1);
  const size_t dot = one.rfind(".1");
  const std::string prefix = one.substr(0, dot + 1);  // ".../audit."
  const std::string suffix = one.substr(dot + 2);     // ".jsonl" or ""
  const fs::path prefix_path(prefix);
  const std::string name_prefix = prefix_path.filename().string();
  fs::path dir = prefix_path.parent_path();
  std::vector<std::pair<size_t, std::string>> rotated;
  std::error_code ec;
  for (fs::directory_iterator it(dir.empty() ? fs::path(".") : dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= name_prefix.size() + suffix.size() || name.rfind(name_prefix, 0) != 0 ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    const std::string index =
        name.substr(name_prefix.size(), name.size() - name_prefix.size() - suffix.size());
    if (index.size() > 9 || index[0] == '0' ||
        !std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    const size_t n = std::stoul(index);
    if (std::error_code fec; fs::is_regular_file(it->path(), fec)) {
      rotated.emplace_back(n, rotatedFileName(path, n));
    }
  }
  std::sort(rotated.begin(), rotated.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (auto& r : rotated) {
    out.push_back(std::move(r.second));
  }
  out.push_back(path);
  return out;
}

void readAuditText(std::string_view text, const std::string& name, AuditTrail& log) {
  size_t pos = 0;
  size_t line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    const bool last_without_newline = end == std::string_view::npos;
    if (last_without_newline) {
      end = text.size();
    }
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (blank(line)) {
      continue;
    }
    const std::string where = name + ":" + std::to_string(line_no);
    auto entry = parseAuditLine(line);
    if (entry.ok()) {
      entry->source = where;
      entry->line = std::string(line);
      log.entries.push_back(std::move(*entry));
      continue;
    }
    if (last_without_newline) {
      log.skipped.notes.push_back(where + ": last line is incomplete (" +
                                  std::to_string(line.size()) +
                                  " bytes, no newline: a write cut short?); skipped");
      continue;
    }
    // A crash mid-write leaves a partial entry; the restarted writer appends to the same line.
    if (size_t next = line.rfind(kEntryStart); next != std::string_view::npos && next > 0) {
      if (auto rest = parseAuditLine(line.substr(next)); rest.ok()) {
        rest->source = where;
        rest->line = std::string(line.substr(next));
        log.entries.push_back(std::move(*rest));
        log.skipped.notes.push_back(where +
                                    ": an incomplete entry (a write cut short?) precedes a "
                                    "complete one; kept the complete one");
        continue;
      }
    }
    if (log.skipped.malformed++ == 0) {
      log.skipped.first_malformed = where + ": " + entry.error();
    }
  }
}

Result<AuditTrail> readAuditInputs(const std::vector<std::string>& inputs, std::istream& in) {
  AuditTrail log;
  std::set<std::string> seen;
  auto readOne = [&](const std::string& path) -> Result<bool> {
    std::error_code ec;
    const std::string key = fs::weakly_canonical(path, ec).string();
    if (!seen.insert(ec ? path : key).second) {
      return true;
    }
    auto text = readWholeFile(path);
    if (!text.ok()) {
      return Error{text.error()};
    }
    log.files.push_back(path);
    readAuditText(*text, path, log);
    return true;
  };
  for (const auto& input : inputs) {
    if (input == "-") {
      if (!seen.insert("-").second) {
        continue;
      }
      std::ostringstream ss;
      ss << in.rdbuf();
      log.files.push_back("-");
      readAuditText(ss.str(), "<stdin>", log);
      continue;
    }
    std::error_code ec;
    const fs::file_status st = fs::status(input, ec);
    if (ec || !fs::exists(st)) {
      return Error{input + ": no such audit file or directory"};
    }
    std::vector<std::string> files;
    if (fs::is_directory(st)) {
      for (fs::directory_iterator it(input, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (std::error_code fec;
            !name.empty() && name[0] != '.' && fs::is_regular_file(it->path(), fec)) {
          files.push_back(it->path().string());
        }
      }
      if (ec) {
        return Error{input + ": cannot list the directory: " + ec.message()};
      }
      std::sort(files.begin(), files.end());
    } else {
      files = auditFileChain(input);
    }
    for (const auto& f : files) {
      auto r = readOne(f);
      if (!r.ok()) {
        return Error{r.error()};
      }
    }
  }
  std::stable_sort(log.entries.begin(), log.entries.end(),
                   [](const AuditEntry& a, const AuditEntry& b) { return a.time_us < b.time_us; });
  return log;
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
