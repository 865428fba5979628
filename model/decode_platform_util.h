// Internal to webhook/decode*.cc: JSON field helpers shared by the Istio and the platform
// decoders (errors name the field path) and the decoders of the NetworkPolicy / CNI
// configuration kinds.
#pragma once

#include <algorithm>
#include <charconv>
#include <optional>
#include <string>
#include <vector>


#include "model/decode_platform.h"
#include "model/json_value.h"
#include "model/objects.h"

namespace ambient_guard::platform_decode {

using json = JsonValue;

[[noreturn]] inline void fail(const std::string& path, const std::string& what) {
  throw PlatformDecodeError(path + " " + what);
}

// A field's path for error messages ("spec.rules[0].from[1].source"), spelled out only when an
// error names it: a decoder passes it down as a chain of small nodes on the stack (a parent, a
// name, an optional index) instead of building a string per field it visits. A FieldPath views
// its parent and its name: it must not outlive either (pass `path.child(...)` straight to a call,
// or keep it in a local whose parent is a named FieldPath).
class FieldPath {
 public:
  FieldPath(const char* name) : name_(name) {}         // NOLINT: "spec", "" (the root)
  FieldPath(const std::string& name) : name_(name) {}  // NOLINT: an existing string path
  FieldPath(std::string_view name, size_t index) : name_(name), index_(index) {}

  // Returns `name` (dotted segments allowed) under this path, and `[index]` when given.
  FieldPath child(std::string_view name) const { return FieldPath(this, name, kNoIndex); }
  FieldPath child(std::string_view name, size_t index) const {
    return FieldPath(this, name, index);
  }

  std::string str() const {
    std::string out = parent_ != nullptr ? parent_->str() : std::string();
    if (!name_.empty()) {
      if (!out.empty()) {
        out.push_back('.');
      }
      out.append(name_);
    }
    if (index_ != kNoIndex) {
      out.append("[").append(std::to_string(index_)).append("]");
    }
    return out;
  }

 private:
  static constexpr size_t kNoIndex = static_cast<size_t>(-1);
  FieldPath(const FieldPath* parent, std::string_view name, size_t index)
      : parent_(parent), name_(name), index_(index) {}

  const FieldPath* parent_ = nullptr;
  std::string_view name_;
  size_t index_ = kNoIndex;
};

inline std::string idx(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

inline JsonPtr member(const json& j, const char* key) {
  JsonPtr m = j.find(key);
  if (m == nullptr || m->is_null()) {
    return nullptr;
  }
  return m;
}

inline JsonPtr objectAt(const json& j, const char* key, const FieldPath& path) {
  JsonPtr m = member(j, key);
  if (m != nullptr && !m->is_object()) {
    fail(path.child(key).str(), "must be an object");
  }
  return m;
}

inline JsonPtr listAt(const json& j, const char* key, const FieldPath& path) {
  JsonPtr m = member(j, key);
  if (m != nullptr && !m->is_array()) {
    fail(path.child(key).str(), "must be a list");
  }
  return m;
}

// Kubernetes stores every scalar as text in these places; YAML may have produced a number or
// bool from an unquoted value, so accept any scalar and render it as text.
inline std::string scalar(const json& j, const FieldPath& path) {
  if (j.is_string()) {
    return j.get<std::string>();
  }
  if (j.is_boolean()) {
    return j.get<bool>() ? "true" : "false";
  }
  if (j.is_number_integer()) {
    return std::to_string(j.get<int64_t>());
  }
  if (j.is_number()) {
    return j.dump();
  }
  fail(path.str(), "must be a string");
}

inline std::string stringAt(const json& j, const char* key, const FieldPath& path) {
  JsonPtr m = member(j, key);
  if (m == nullptr) {
    return std::string();
  }
  if (m->is_string()) {  // the common case: no field path built
    return std::string(m->string_view());
  }
  return scalar(*m, path.child(key));
}

inline std::optional<int64_t> intAt(const json& j, const char* key, const FieldPath& path) {
  JsonPtr m = member(j, key);
  if (m == nullptr) {
    return std::nullopt;
  }
  if (m->is_number_integer()) {
    return m->get<int64_t>();
  }
  if (m->is_string()) {
    try {
      size_t used = 0;
      int64_t v = std::stoll(m->get<std::string>(), &used);
      if (used == m->get<std::string>().size()) {
        return v;
      }
    } catch (const std::exception&) {
    }
  }
  fail(path.child(key).str(), "must be an integer");
}

inline std::optional<bool> boolAt(const json& j, const char* key, const FieldPath& path) {
  JsonPtr m = member(j, key);
  if (m == nullptr) {
    return std::nullopt;
  }
  if (m->is_boolean()) {
    return m->get<bool>();
  }
  if (m->is_string() && (*m == "true" || *m == "false")) {
    return *m == "true";
  }
  fail(path.child(key).str(), "must be a boolean");
}

inline std::vector<std::string> stringList(const json& j, const char* key,
                                           const FieldPath& path) {
  std::vector<std::string> out;
  if (JsonPtr m = listAt(j, key, path)) {
    out.reserve(m->size());
    size_t i = 0;
    for (const json item : *m) {
      // The path is built only for a value that is not a string (an error, or a YAML scalar).
      out.push_back(item.is_string() ? std::string(item.string_view())
                                     : scalar(item, path.child(key, i)));
      ++i;
    }
  }
  return out;
}

inline Labels labelMap(JsonPtr m, const FieldPath& path) {
  if (m == nullptr) {
    return {};
  }
  if (!m->is_object()) {
    fail(path.str(), "must be a map of strings");
  }
  std::vector<std::pair<std::string, std::string>> kv;
  kv.reserve(m->size());
  m->forEachMember([&](std::string_view k, const json& v) {
    kv.emplace_back(std::string(k), v.is_string()  ? std::string(v.string_view())
                                    : v.is_null() ? std::string()
                                                  : scalar(v, path.child(k)));
  });
  return Labels(std::move(kv));
}

// Returns spec, or an empty value (no members) when absent.
inline json specOf(const json& doc) {
  JsonPtr spec = objectAt(doc, "spec", "");
  return spec == nullptr ? json() : *spec;
}

inline KubeLabelSelector labelSelector(const json& j, const FieldPath& path) {
  if (!j.is_object()) {
    fail(path.str(), "must be an object");
  }
  KubeLabelSelector sel;
  sel.match_labels = labelMap(member(j, "matchLabels"), path.child("matchLabels"));
  if (JsonPtr exprs = listAt(j, "matchExpressions", path)) {
    for (size_t i = 0; i < exprs->size(); ++i) {
      const json& e = (*exprs)[i];
      const FieldPath ep = path.child("matchExpressions", i);
      if (!e.is_object()) {
        fail(ep.str(), "must be an object");
      }
      sel.expressions.push_back(
          {stringAt(e, "key", ep), stringAt(e, "operator", ep), stringList(e, "values", ep)});
    }
  }
  return sel;
}

inline PortRef portRef(const json& j, const FieldPath& path) {
  PortRef ref;
  if (j.is_number_integer()) {
    ref.number = static_cast<int32_t>(j.get<int64_t>());
  } else if (j.is_string()) {
    const std::string s = j.get<std::string>();
    // A digits-only string cannot be a port name (IANA_SVC_NAME needs a letter): a number.
    // from_chars, not std::stol: a value past the range must be an error, not an exception.
    if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      int32_t n = 0;
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      if (ec != std::errc() || end != s.data() + s.size()) {
        fail(path.str(), "port number out of range");
      }
      ref.number = n;
    } else {
      ref.name = s;
    }
  } else {
    fail(path.str(), "must be a port number or name");
  }
  return ref;
}

// model/decode_platform_config.cc
bool isKeptConfigMap(const json& doc);
ConfigMap decodeConfigMap(const json& doc);
ResourceQuota decodeResourceQuota(const json& doc);
NetworkPolicy decodeNetworkPolicy(const json& doc);
CiliumNetworkPolicy decodeCiliumNetworkPolicy(const json& doc);
CiliumClusterwideNetworkPolicy decodeCiliumClusterwideNetworkPolicy(const json& doc);

}  // namespace ambient_guard::platform_decode
