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

inline std::string idx(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

inline JsonPtr member(const json& j, const char* key) {
  JsonPtr m = j.find(key);
  if (m == nullptr || m->is_null()) {
    return nullptr;
  }
  return m;
}

inline JsonPtr objectAt(const json& j, const char* key, const std::string& path) {
  JsonPtr m = member(j, key);
  if (m != nullptr && !m->is_object()) {
    fail(path + "." + key, "must be an object");
  }
  return m;
}

inline JsonPtr listAt(const json& j, const char* key, const std::string& path) {
  JsonPtr m = member(j, key);
  if (m != nullptr && !m->is_array()) {
    fail(path + "." + key, "must be a list");
  }
  return m;
}

// Kubernetes stores every scalar as text in these places; YAML may have produced a number or
// bool from an unquoted value, so accept any scalar and render it as text.
inline std::string scalar(const json& j, const std::string& path) {
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
  fail(path, "must be a string");
}

inline std::string stringAt(const json& j, const char* key, const std::string& path) {
  JsonPtr m = member(j, key);
  if (m == nullptr) {
    return std::string();
  }
  if (m->is_string()) {  // the common case: no field path built
    return std::string(m->string_view());
  }
  return scalar(*m, path + "." + key);
}

inline std::optional<int64_t> intAt(const json& j, const char* key, const std::string& path) {
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
  fail(path + "." + key, "must be an integer");
}

inline std::optional<bool> boolAt(const json& j, const char* key, const std::string& path) {
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
  fail(path + "." + key, "must be a boolean");
}

inline std::vector<std::string> stringList(const json& j, const char* key, const std::string& path) {
  std::vector<std::string> out;
  if (JsonPtr m = listAt(j, key, path)) {
    out.reserve(m->size());
    size_t i = 0;
    for (const json item : *m) {
      // The path is built only for a value that is not a string (an error, or a YAML scalar).
      out.push_back(item.is_string() ? std::string(item.string_view())
                                     : scalar(item, idx(path + "." + key, i)));
      ++i;
    }
  }
  return out;
}

inline Labels labelMap(JsonPtr m, const std::string& path) {
  if (m == nullptr) {
    return {};
  }
  if (!m->is_object()) {
    fail(path, "must be a map of strings");
  }
  std::vector<std::pair<std::string, std::string>> kv;
  kv.reserve(m->size());
  for (const auto& [k, v] : m->items()) {
    kv.emplace_back(k, v.is_null() ? std::string() : scalar(v, path + "." + k));
  }
  return Labels(std::move(kv));
}

// Returns spec, or an empty value (no members) when absent.
inline json specOf(const json& doc) {
  JsonPtr spec = objectAt(doc, "spec", "");
  return spec == nullptr ? json() : *spec;
}

inline KubeLabelSelector labelSelector(const json& j, const std::string& path) {
  if (!j.is_object()) {
    fail(path, "must be an object");
  }
  KubeLabelSelector sel;
  sel.match_labels = labelMap(member(j, "matchLabels"), path + ".matchLabels");
  if (JsonPtr exprs = listAt(j, "matchExpressions", path)) {
    for (size_t i = 0; i < exprs->size(); ++i) {
      const json& e = (*exprs)[i];
      const std::string ep = idx(path + ".matchExpressions", i);
      if (!e.is_object()) {
        fail(ep, "must be an object");
      }
      sel.expressions.push_back(
          {stringAt(e, "key", ep), stringAt(e, "operator", ep), stringList(e, "values", ep)});
    }
  }
  return sel;
}

inline PortRef portRef(const json& j, const std::string& path) {
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
        fail(path, "port number out of range");
      }
      ref.number = n;
    } else {
      ref.name = s;
    }
  } else {
    fail(path, "must be a port number or name");
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
