#include "model/yaml_writer.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

namespace ambient_guard {
namespace {

using nlohmann::ordered_json;

bool isPlainSafeChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '/' ||
         c == '-' || c == '=' || c == '+';
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Words that YAML 1.1 (go-yaml v2, used by kubectl for some paths) or 1.2 resolve to booleans or
// null when unquoted.
bool isReservedWord(std::string_view s) {
  static constexpr std::array<std::string_view, 11> kWords = {
      "y", "yes", "n", "no", "true", "false", "on", "off", "null", "~", "<<"};
  const std::string l = lower(s);
  return std::find(kWords.begin(), kWords.end(), l) != kWords.end();
}

constexpr int kWidth = 100;  // STYLE.md's column limit, kept by comments too

// Splits `line` at spaces into pieces of at most `width` characters (a longer word stays whole).
// Continuation pieces hang under the text of a "- item" line.
std::vector<std::string> wrapLine(const std::string& line, int width) {
  const size_t limit = static_cast<size_t>(std::max(width, 40));
  const size_t lead = line.find_first_not_of(' ');
  if (line.size() <= limit || lead == std::string::npos) {
    return {line};
  }
  const std::string hang(lead + (line.compare(lead, 2, "- ") == 0 ? 2 : 0), ' ');
  std::vector<std::string> out;
  std::string current = line.substr(0, lead);
  bool first_word = true;
  size_t pos = lead;
  while (pos < line.size()) {
    size_t end = line.find(' ', pos);
    if (end == std::string::npos) {
      end = line.size();
    }
    const std::string word = line.substr(pos, end - pos);
    pos = end + 1;
    if (word.empty()) {
      continue;
    }
    if (!first_word && current.size() + 1 + word.size() > limit) {
      out.push_back(current);
      current = hang + word;
    } else {
      current += (first_word ? "" : " ") + word;
    }
    first_word = false;
  }
  out.push_back(current);
  return out;
}

std::string spaces(int n) { return std::string(static_cast<size_t>(n), ' '); }

std::string scalarText(const ordered_json& v) {
  if (v.is_string()) {
    return yamlScalar(v.get<std::string>());
  }
  if (v.is_object()) {
    return "{}";
  }
  if (v.is_array()) {
    return "[]";
  }
  return v.dump();  // null, booleans and numbers are already valid YAML
}

class Writer {
 public:
  explicit Writer(const std::map<std::string, std::vector<std::string>>& comments)
      : comments_(comments) {}

  std::string document(const ordered_json& value) {
    out_ = "---\n";
    commentsAt("", 0);
    if (value.is_object() && !value.empty()) {
      mapping(value, "", 0, false);
    } else {
      out_ += scalarText(value) + "\n";
    }
    return std::move(out_);
  }

 private:
  void commentsAt(const std::string& anchor, int indent) {
    auto it = comments_.find(anchor);
    if (it == comments_.end()) {
      return;
    }
    for (const std::string& line : it->second) {
      for (const std::string& part : wrapLine(line, kWidth - indent - 2)) {
        out_ += spaces(indent) + (part.empty() ? "#" : "# " + part) + "\n";
      }
    }
  }

  // Writes the entries of a non-empty mapping with keys at `indent`. As a sequence item, the
  // first entry shares the "- " line (at indent - 2).
  void mapping(const ordered_json& obj, const std::string& path, int indent, bool seq_item) {
    bool first = true;
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      const std::string child = pointerAppend(path, it.key());
      if (first && seq_item) {
        commentsAt(child, indent - 2);
        out_ += spaces(indent - 2) + "- ";
      } else {
        commentsAt(child, indent);
        out_ += spaces(indent);
      }
      first = false;
      out_ += yamlScalar(it.key()) + ":";
      value(it.value(), child, indent);
    }
    commentsAt(path + "/$end", indent);
  }

  // Writes the value of a mapping entry whose "key:" is already on the current line.
  void value(const ordered_json& v, const std::string& path, int indent) {
    if (v.is_object() && !v.empty()) {
      out_ += "\n";
      mapping(v, path, indent + 2, false);
    } else if (v.is_array() && !v.empty()) {
      out_ += "\n";
      sequence(v, path, indent + 2);
    } else {
      out_ += " " + scalarText(v) + "\n";
      if (v.is_object()) {
        commentsAt(path + "/$end", indent + 2);
      }
    }
  }

  void sequence(const ordered_json& arr, const std::string& path, int indent) {
    for (size_t i = 0; i < arr.size(); ++i) {
      const ordered_json& item = arr[i];
      const std::string child = pointerAppend(path, i);
      commentsAt(child, indent);
      if (item.is_object() && !item.empty()) {
        mapping(item, child, indent + 2, true);
      } else if (item.is_array() && !item.empty()) {
        out_ += spaces(indent) + "-\n";
        sequence(item, child, indent + 2);
      } else {
        out_ += spaces(indent) + "- " + scalarText(item) + "\n";
        if (item.is_object()) {
          commentsAt(child + "/$end", indent + 2);
        }
      }
    }
  }

  const std::map<std::string, std::vector<std::string>>& comments_;
  std::string out_;
};

}  // namespace

void YamlDocument::comment(const std::string& anchor, const std::string& text) {
  std::vector<std::string>& lines = comments[anchor];
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      end = text.size();
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

std::string yamlScalar(const std::string& text) {
  bool plain = !text.empty() && !isReservedWord(text);
  if (plain) {
    const char c0 = text[0];
    // Digits and signs could resolve to numbers, timestamps or sexagesimals; '.' to .inf/.nan;
    // '-' to a sequence entry.
    plain = std::isalpha(static_cast<unsigned char>(c0)) != 0 || c0 == '/' || c0 == '_';
  }
  plain = plain && std::all_of(text.begin(), text.end(), isPlainSafeChar);
  if (plain) {
    return text;
  }
  return ordered_json(text).dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

std::string writeYaml(const std::vector<YamlDocument>& docs) {
  std::string out;
  for (const YamlDocument& d : docs) {
    out += Writer(d.comments).document(d.value);
  }
  return out;
}

std::string pointerAppend(const std::string& parent, const std::string& key) {
  std::string escaped;
  escaped.reserve(key.size());
  for (char c : key) {
    if (c == '~') {
      escaped += "~0";
    } else if (c == '/') {
      escaped += "~1";
    } else {
      escaped += c;
    }
  }
  return parent + "/" + escaped;
}

std::string pointerAppend(const std::string& parent, size_t index) {
  return parent + "/" + std::to_string(index);
}

}  // namespace ambient_guard
