#include "webhook/state_file.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "webhook/decode.h"

namespace ambient_guard {
namespace {

using nlohmann::json;

// YAML 1.2 core-schema resolution of a plain (unquoted) scalar, as kubectl does.
json plainScalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") {
    return nullptr;
  }
  if (s == "true" || s == "True" || s == "TRUE") {
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    return false;
  }
  const char* begin = s.c_str();
  char* end = nullptr;
  const bool digit_start =
      std::isdigit(static_cast<unsigned char>(s[0])) ||
      ((s[0] == '-' || s[0] == '+') && s.size() > 1 &&
       std::isdigit(static_cast<unsigned char>(s[1])));
  if (digit_start) {
    errno = 0;
    long long v = std::strtoll(begin, &end, 10);
    if (errno == 0 && end == begin + s.size()) {
      return v;
    }
    errno = 0;
    double d = std::strtod(begin, &end);
    if (errno == 0 && end == begin + s.size() && std::isfinite(d)) {
      return d;
    }
  }
  return s;
}

constexpr int kMaxDepth = 256;

json toJson(const YAML::Node& node, int depth) {
  if (depth > kMaxDepth) {
    throw YAML::Exception(node.Mark(), "document nested too deeply");
  }
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      // Tag "!" marks a quoted scalar; "?" a plain one that needs type resolution.
      if (node.Tag() == "?") {
        return plainScalar(node.Scalar());
      }
      return node.Scalar();
    case YAML::NodeType::Sequence: {
      json arr = json::array();
      for (const auto& item : node) {
        arr.push_back(toJson(item, depth + 1));
      }
      return arr;
    }
    case YAML::NodeType::Map: {
      json obj = json::object();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) {
          throw YAML::Exception(kv.first.Mark(), "map keys must be scalars");
        }
        obj[kv.first.Scalar()] = toJson(kv.second, depth + 1);
      }
      return obj;
    }
  }
  return nullptr;
}

bool isList(const json& doc) {
  if (!doc.is_object()) {
    return false;
  }
  std::string kind = documentKind(doc);
  auto items = doc.find("items");
  return kind.size() >= 4 && kind.compare(kind.size() - 4, 4, "List") == 0 &&
         items != doc.end() && (items->is_array() || items->is_null());
}

void flatten(json doc, int line, std::vector<RawDocument>& out) {
  if (doc.is_null()) {
    return;  // empty YAML document ("---" with nothing after it)
  }
  if (isList(doc)) {
    json& items = doc["items"];
    if (items.is_array()) {
      for (auto& item : items) {
        out.push_back({std::move(item), line});
      }
    }
    return;
  }
  out.push_back({std::move(doc), line});
}

// Returns the 1-based line of byte offset `pos` in text.
size_t lineOf(std::string_view text, size_t pos) {
  pos = std::min(pos, text.size());
  return 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + pos, '\n'));
}

Result<std::vector<RawDocument>> parseYaml(std::string_view text, const std::string& source) {
  std::vector<RawDocument> out;
  try {
    std::vector<YAML::Node> roots = YAML::LoadAll(std::string(text));
    for (const YAML::Node& root : roots) {
      if (root.IsSequence()) {
        // A bare YAML list of objects: treat each item as a document.
        for (const auto& item : root) {
          flatten(toJson(item, 0), item.Mark().line + 1, out);
        }
        continue;
      }
      if (!root.IsNull() && !root.IsMap()) {
        return Error{source + ":" + std::to_string(root.Mark().line + 1) +
                     ": document is not a Kubernetes object (expected a map)"};
      }
      flatten(toJson(root, 0), root.Mark().line + 1, out);
    }
  } catch (const YAML::Exception& e) {
    return Error{source + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg};
  }
  return out;
}

}  // namespace

void LoadStats::merge(const LoadStats& other) {
  documents += other.documents;
  objects += other.objects;
  for (const auto& [k, n] : other.skipped) {
    skipped[k] += n;
  }
}

std::string LoadStats::summary() const {
  size_t skipped_total = 0;
  std::string detail;
  for (const auto& [k, n] : skipped) {
    skipped_total += n;
    detail += (detail.empty() ? "" : ", ") + k + ": " + std::to_string(n);
  }
  std::string out = std::to_string(objects) + " objects kept, " + std::to_string(skipped_total) +
                    " skipped";
  if (!detail.empty()) {
    out += " (" + detail + ")";
  }
  return out;
}

Result<std::vector<RawDocument>> parseDocuments(std::string_view text, const std::string& source) {
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return std::vector<RawDocument>{};
  }
  if (text[first] == '{' || text[first] == '[') {
    try {
      std::vector<RawDocument> out;
      json doc = json::parse(text);
      if (doc.is_array()) {
        for (auto& item : doc) {
          flatten(std::move(item), 0, out);
        }
      } else {
        flatten(std::move(doc), 0, out);
      }
      return out;
    } catch (const json::parse_error& e) {
      // YAML flow style also starts with '{'. Text that opens like JSON ({"key" or [{) is
      // JSON and gets the JSON error; anything else gets a chance as YAML.
      size_t second = text.find_first_not_of(" \t\r\n", first + 1);
      const bool looks_json = second != std::string_view::npos &&
                              (text[second] == '"' || text[second] == '{');
      if (!looks_json) {
        auto yaml = parseYaml(text, source);
        if (yaml.ok()) {
          return yaml;
        }
      }
      std::string msg = e.what();
      if (auto pos = msg.find("syntax error"); pos != std::string::npos) {
        msg = msg.substr(pos);
      }
      return Error{source + ":" + std::to_string(lineOf(text, e.byte == 0 ? 0 : e.byte - 1)) +
                   ": invalid JSON: " + msg};
    }
  }
  return parseYaml(text, source);
}

Result<LoadStats> loadText(std::string_view text, const std::string& source,
                           std::vector<AnyObject>& out) {
  auto docs = parseDocuments(text, source);
  if (!docs.ok()) {
    return Error{docs.error()};
  }
  LoadStats stats;
  stats.documents = docs->size();
  for (const RawDocument& raw : *docs) {
    auto obj = decodeObject(raw.doc, raw.line);
    std::string where = raw.line > 0 ? source + ":" + std::to_string(raw.line) : source;
    if (!obj.ok()) {
      return Error{where + ": " + obj.error()};
    }
    if (!obj->has_value()) {
      std::string kind = documentKind(raw.doc);
      stats.skipped[kind.empty() ? "<no kind>" : kind]++;
      continue;
    }
    out.push_back(std::move(**obj));
    stats.objects++;
  }
  return stats;
}

Result<std::string> readFileText(const std::string& path) {
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error{path + ": cannot open: " + std::strerror(errno)};
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    return Error{path + ": read error: " + std::strerror(errno)};
  }
  return text;
}

Result<LoadStats> loadFile(const std::string& path, std::vector<AnyObject>& out) {
  std::error_code ec;
  if (path != "-" && std::filesystem::is_directory(path, ec)) {
    // Like `kubectl apply -f DIR`: every .yaml, .yml and .json file below it, in name order.
    std::vector<std::string> files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(path, ec)) {
      const std::string ext = entry.path().extension().string();
      if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) {
        files.push_back(entry.path().string());
      }
    }
    if (ec) {
      return Error{path + ": cannot list directory: " + ec.message()};
    }
    std::sort(files.begin(), files.end());
    LoadStats total;
    for (const auto& f : files) {
      auto one = loadFile(f, out);
      if (!one.ok()) {
        return one;
      }
      total.merge(*one);
    }
    return total;
  }
  auto text = readFileText(path);
  if (!text.ok()) {
    return Error{text.error()};
  }
  return loadText(*text, path == "-" ? "<stdin>" : path, out);
}

}  // namespace ambient_guard
