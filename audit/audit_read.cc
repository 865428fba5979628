#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include "audit/audit_review.h"

namespace ambient_guard {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kEntryStart = "{\"time\":";

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

}  // namespace

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

}  // namespace ambient_guard
