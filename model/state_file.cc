#include "model/state_file.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <unordered_map>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "model/decode.h"

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

// Builds nlohmann JSON straight from yaml-cpp's parse events: no intermediate node tree, so a
// large backup costs one JSON tree instead of two. Records the line of every map that starts a
// document or an item of a top-level `items:` list (for error messages).
class JsonBuilder final : public YAML::EventHandler {
 public:
  struct Document {
    json root;
    int line = 0;                // 1-based line where the document's content starts
    std::vector<int> item_lines; // lines of the items of a top-level `items` list
  };

  // `max_nodes` bounds the values built, aliases counted at their expanded size: yaml-cpp 0.7
  // can emit null events for ever on some malformed input (found by fuzz/fuzz_state_loader),
  // and nested aliases can expand exponentially (a "billion laughs").
  explicit JsonBuilder(size_t max_nodes) : max_nodes_(max_nodes) {}

  std::vector<Document>& documents() { return docs_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    docs_.push_back({json(), mark.line + 1, {}});
    stack_.clear();
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    charge(mark, 1);
    add(mark, json(nullptr), anchor);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      throw YAML::ParserException(mark, "unknown alias");
    }
    charge(mark, nodes(it->second));
    add(mark, it->second, 0);
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    charge(mark, 1);
    // "?" marks a plain scalar whose type YAML resolves; "!" a quoted one (always a string).
    json v = tag == "?" ? plainScalar(value) : json(value);
    if (tag.find("int") != std::string::npos || tag.find("float") != std::string::npos ||
        tag.find("bool") != std::string::npos || tag.find("null") != std::string::npos) {
      v = plainScalar(value);
    }
    add(mark, std::move(v), anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, json::array(), anchor);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    // An item of the document's top-level `items:` sequence.
    if (stack_.size() == 2 && stack_[1].value.is_array() && stack_[0].key == "items") {
      docs_.back().item_lines.push_back(mark.line + 1);
    }
    open(mark, json::object(), anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    json value;
    YAML::anchor_t anchor = 0;
    std::string key;        // for maps: the key whose value is being built
    bool have_key = false;  // for maps: a key has been read, its value is next
  };

  void charge(const YAML::Mark& mark, size_t n) {
    built_ += n;
    if (built_ > max_nodes_) {
      throw YAML::ParserException(
          mark, "too many values for the size of the input (malformed, or aliases that expand "
                "too far)");
    }
  }
  static size_t nodes(const json& v) {
    size_t n = 1;
    if (v.is_structured()) {
      for (const auto& item : v) {
        n += nodes(item);
      }
    }
    return n;
  }

  void open(const YAML::Mark& mark, json value, YAML::anchor_t anchor) {
    charge(mark, 1);
    if (stack_.empty()) {
      docs_.back().line = mark.line + 1;  // where the content starts, after any "---"
    }
    if (stack_.size() >= kMaxDepth) {
      throw YAML::ParserException(mark, "document nested too deeply");
    }
    if (!stack_.empty() && stack_.back().value.is_object() && !stack_.back().have_key) {
      throw YAML::ParserException(mark, "map keys must be scalars");
    }
    stack_.push_back({std::move(value), anchor, {}, false});
  }

  void close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    if (f.anchor != 0) {
      anchors_[f.anchor] = f.value;
    }
    place(std::move(f.value));
  }

  void add(const YAML::Mark& mark, json value, YAML::anchor_t anchor) {
    if (anchor != 0) {
      anchors_[anchor] = value;
    }
    if (!stack_.empty() && stack_.back().value.is_object() && !stack_.back().have_key) {
      if (!value.is_string() && !value.is_number() && !value.is_boolean() && !value.is_null()) {
        throw YAML::ParserException(mark, "map keys must be scalars");
      }
      Frame& top = stack_.back();
      top.key = value.is_string() ? value.get<std::string>()
                                  : (value.is_null() ? std::string("null") : value.dump());
      top.have_key = true;
      return;
    }
    place(std::move(value));
  }

  void place(json value) {
    if (stack_.empty()) {
      docs_.back().root = std::move(value);
      return;
    }
    Frame& top = stack_.back();
    if (top.value.is_array()) {
      top.value.push_back(std::move(value));
    } else {
      top.value[top.key] = std::move(value);
      top.have_key = false;
    }
  }

  std::vector<Document> docs_;
  std::vector<Frame> stack_;
  std::unordered_map<YAML::anchor_t, json> anchors_;
  const size_t max_nodes_;
  size_t built_ = 0;
};

bool isList(const json& doc) {
  if (!doc.is_object()) {
    return false;
  }
  std::string kind = documentKind(doc);
  auto items = doc.find("items");
  return kind.size() >= 4 && kind.compare(kind.size() - 4, 4, "List") == 0 &&
         items != doc.end() && (items->is_array() || items->is_null());
}

void flatten(json doc, int line, std::vector<RawDocument>& out,
             const std::vector<int>* item_lines = nullptr) {
  if (doc.is_null()) {
    return;  // empty YAML document ("---" with nothing after it)
  }
  if (isList(doc)) {
    json& items = doc["items"];
    if (items.is_array()) {
      for (size_t i = 0; i < items.size(); ++i) {
        int item_line = (item_lines != nullptr && i < item_lines->size()) ? (*item_lines)[i] : line;
        out.push_back({std::move(items[i]), item_line});
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
    std::string copy(text);
    std::istringstream in(std::move(copy));
    YAML::Parser parser(in);
    // A value takes at least one byte of YAML; aliases may legitimately repeat some of them.
    JsonBuilder builder(16 * text.size() + 4096);
    while (parser.HandleNextDocument(builder)) {
      JsonBuilder::Document& d = builder.documents().back();
      if (d.root.is_array()) {
        // A bare YAML list of objects: treat each item as a document.
        for (auto& item : d.root) {
          flatten(std::move(item), d.line, out);
        }
      } else if (!d.root.is_null() && !d.root.is_object()) {
        return Error{source + ":" + std::to_string(d.line) +
                     ": document is not a Kubernetes object (expected a map)"};
      } else {
        flatten(std::move(d.root), d.line, out, &d.item_lines);
      }
      builder.documents().clear();
    }
  } catch (const YAML::Exception& e) {
    return Error{source + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg};
  }
  return out;
}

// Gives a document without metadata.namespace the namespace "default", as `kubectl apply -f`
// does; decodeObject drops it again for cluster-scoped kinds. Without it, namespaced manifests
// landed in the cluster-scoped bucket where no namespace ever saw them.
void defaultNamespace(json& doc) {
  if (!doc.is_object()) {
    return;
  }
  auto meta = doc.find("metadata");
  if (meta == doc.end() || !meta->is_object()) {
    return;
  }
  auto ns = meta->find("namespace");
  if (ns == meta->end() || ns->is_null() ||
      (ns->is_string() && ns->get_ref<const std::string&>().empty())) {
    (*meta)["namespace"] = "default";
  }
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
  for (RawDocument& raw : *docs) {
    defaultNamespace(raw.doc);
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
