#include "webhook/config.h"

#include <fnmatch.h>

#include <algorithm>
#include <stdexcept>

#include <yaml-cpp/yaml.h>

#include "model/state_file.h"
#include "model/strings.h"

namespace ambient_guard {
namespace {

// Thrown inside this file only; parseConfig turns it into an Error.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw ConfigError(path + ": " + what);
}

std::string child(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// Rejects keys of `node` that are not in `allowed`.
void checkKeys(const YAML::Node& node, const std::string& path,
               const std::vector<std::string>& allowed) {
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {
      fail(path.empty() ? "config" : path, "keys must be strings");
    }
    const std::string key = kv.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      fail(child(path, key), "unknown key (want " + join(allowed, "|") + ")");
    }
  }
}

void requireMap(const YAML::Node& node, const std::string& path) {
  if (!node.IsMap()) {
    fail(path, "must be a map");
  }
}

std::string str(const YAML::Node& node, const std::string& path) {
  if (!node.IsScalar()) {
    fail(path, "must be a string");
  }
  return node.Scalar();
}

std::string nonEmptyStr(const YAML::Node& node, const std::string& path) {
  std::string s = str(node, path);
  if (s.empty()) {
    fail(path, "must not be empty");
  }
  return s;
}

bool boolean(const YAML::Node& node, const std::string& path) {
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
    fail(path, "must be true or false");
  }
  return value;
}

int positiveInt(const YAML::Node& node, const std::string& path) {
  int value = 0;
  if (!node.IsScalar() || !YAML::convert<int>::decode(node, value) || value <= 0) {
    fail(path, "must be a positive integer");
  }
  return value;
}

std::vector<std::string> stringList(const YAML::Node& node, const std::string& path) {
  std::vector<std::string> out;
  if (node.IsNull()) {
    return out;
  }
  if (!node.IsSequence()) {
    fail(path, "must be a list of strings");
  }
  for (size_t i = 0; i < node.size(); ++i) {
    out.push_back(nonEmptyStr(node[i], index(path, i)));
  }
  return out;
}

Mode mode(const YAML::Node& node, const std::string& path) {
  std::string s = str(node, path);
  auto m = parseMode(s);
  if (!m) {
    fail(path, "unknown mode \"" + s + "\" (want enforce|warn|dryrun)");
  }
  return *m;
}

Labels stringMap(const YAML::Node& node, const std::string& path) {
  if (node.IsNull()) {
    return Labels();
  }
  requireMap(node, path);
  std::vector<std::pair<std::string, std::string>> kv;
  for (const auto& item : node) {
    const std::string key = str(item.first, path);
    kv.emplace_back(key, str(item.second, child(path, key)));
  }
  return Labels(std::move(kv));
}

LabelSelector selector(const YAML::Node& node, const std::string& path) {
  requireMap(node, path);
  checkKeys(node, path, {"matchLabels", "matchExpressions"});
  LabelSelector sel;
  if (node["matchLabels"]) {
    sel.match_labels = stringMap(node["matchLabels"], child(path, "matchLabels"));
  }
  if (const YAML::Node exprs = node["matchExpressions"]) {
    const std::string epath = child(path, "matchExpressions");
    if (!exprs.IsSequence()) {
      fail(epath, "must be a list");
    }
    for (size_t i = 0; i < exprs.size(); ++i) {
      const std::string p = index(epath, i);
      const YAML::Node e = exprs[i];
      requireMap(e, p);
      checkKeys(e, p, {"key", "operator", "values"});
      if (!e["key"]) {
        fail(child(p, "key"), "is required");
      }
      if (!e["operator"]) {
        fail(child(p, "operator"), "is required");
      }
      KubeSelectorRequirement r;
      r.key = nonEmptyStr(e["key"], child(p, "key"));
      r.op = str(e["operator"], child(p, "operator"));
      if (e["values"]) {
        r.values = stringList(e["values"], child(p, "values"));
      }
      if (r.op == "In" || r.op == "NotIn") {
        if (r.values.empty()) {
          fail(child(p, "values"), "must be non-empty for operator " + r.op);
        }
      } else if (r.op == "Exists" || r.op == "DoesNotExist") {
        if (!r.values.empty()) {
          fail(child(p, "values"), "must be empty for operator " + r.op);
        }
      } else {
        fail(child(p, "operator"),
             "unknown operator \"" + r.op + "\" (want In|NotIn|Exists|DoesNotExist)");
      }
      sel.expressions.push_back(std::move(r));
    }
  }
  return sel;
}

void parseRules(const YAML::Node& node, const std::vector<std::string>& rule_ids, Config& cfg) {
  if (node.IsNull()) {
    return;
  }
  requireMap(node, "rules");
  for (const auto& item : node) {
    const std::string id = str(item.first, "rules");
    const std::string path = child("rules", id);
    if (std::find(rule_ids.begin(), rule_ids.end(), id) == rule_ids.end()) {
      fail(path, "unknown rule (want one of " + join(rule_ids, ", ") + ")");
    }
    const std::string action = str(item.second, path);
    auto a = rules::parseAction(action);
    if (!a) {
      fail(path, "unknown action \"" + action + "\" (want deny|warn|dryrun|off)");
    }
    cfg.rules[id] = *a;
  }
}

void parseOverrides(const YAML::Node& node, Config& cfg) {
  const std::string path = "namespaceOverrides";
  if (node.IsNull()) {
    return;
  }
  if (!node.IsSequence()) {
    fail(path, "must be a list");
  }
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string p = index(path, i);
    const YAML::Node o = node[i];
    requireMap(o, p);
    checkKeys(o, p, {"namespaces", "namespaceSelector", "mode"});
    NamespaceOverride ov;
    const bool by_name = static_cast<bool>(o["namespaces"]);
    const bool by_selector = static_cast<bool>(o["namespaceSelector"]);
    if (by_name == by_selector) {
      fail(p, "needs exactly one of namespaces or namespaceSelector");
    }
    if (by_name) {
      ov.namespaces = stringList(o["namespaces"], child(p, "namespaces"));
      if (ov.namespaces.empty()) {
        fail(child(p, "namespaces"), "must not be empty");
      }
    } else {
      ov.selector = selector(o["namespaceSelector"], child(p, "namespaceSelector"));
    }
    if (!o["mode"]) {
      fail(child(p, "mode"), "is required");
    }
    ov.mode = mode(o["mode"], child(p, "mode"));
    cfg.namespace_overrides.push_back(std::move(ov));
  }
}

Config parseRoot(const YAML::Node& root, const std::vector<std::string>& rule_ids) {
  Config cfg;
  if (root.IsNull()) {
    return cfg;
  }
  if (!root.IsMap()) {
    throw ConfigError("must be a YAML map at the top level");
  }
  checkKeys(root, "",
            {"mode", "rootNamespace", "rules", "namespaceOverrides", "exemptions", "mutation",
             "audit", "policyReports", "webhookNamespace"});
  if (root["mode"]) {
    cfg.mode = mode(root["mode"], "mode");
  }
  if (root["rootNamespace"]) {
    cfg.root_namespace = nonEmptyStr(root["rootNamespace"], "rootNamespace");
    cfg.root_namespace_set = true;
  }
  if (root["rules"]) {
    parseRules(root["rules"], rule_ids, cfg);
  }
  if (root["namespaceOverrides"]) {
    parseOverrides(root["namespaceOverrides"], cfg);
  }
  if (const YAML::Node ex = root["exemptions"]; ex && !ex.IsNull()) {
    requireMap(ex, "exemptions");
    checkKeys(ex, "exemptions", {"namespaces", "users", "groups"});
    if (ex["namespaces"]) {
      cfg.exemptions.namespaces = stringList(ex["namespaces"], "exemptions.namespaces");
    }
    if (ex["users"]) {
      cfg.exemptions.users = stringList(ex["users"], "exemptions.users");
    }
    if (ex["groups"]) {
      cfg.exemptions.groups = stringList(ex["groups"], "exemptions.groups");
    }
  }
  if (const YAML::Node m = root["mutation"]; m && !m.IsNull()) {
    requireMap(m, "mutation");
    checkKeys(m, "mutation", {"enabled"});
    if (m["enabled"]) {
      cfg.mutation_enabled = boolean(m["enabled"], "mutation.enabled");
    }
  }
  if (const YAML::Node a = root["audit"]; a && !a.IsNull()) {
    requireMap(a, "audit");
    checkKeys(a, "audit", {"path", "maxSizeMB", "maxFiles"});
    if (a["path"]) {
      cfg.audit.path = a["path"].IsNull() ? std::string() : str(a["path"], "audit.path");
    }
    if (a["maxSizeMB"]) {
      cfg.audit.max_size_mb = positiveInt(a["maxSizeMB"], "audit.maxSizeMB");
    }
    if (a["maxFiles"]) {
      cfg.audit.max_files = positiveInt(a["maxFiles"], "audit.maxFiles");
    }
  }
  if (const YAML::Node pr = root["policyReports"]; pr && !pr.IsNull()) {
    requireMap(pr, "policyReports");
    checkKeys(pr, "policyReports", {"enabled", "resyncSeconds", "debounceSeconds"});
    if (pr["enabled"]) {
      cfg.policy_reports.enabled = boolean(pr["enabled"], "policyReports.enabled");
    }
    if (pr["resyncSeconds"]) {
      cfg.policy_reports.resync_seconds =
          positiveInt(pr["resyncSeconds"], "policyReports.resyncSeconds");
    }
    if (pr["debounceSeconds"]) {
      cfg.policy_reports.debounce_seconds =
          positiveInt(pr["debounceSeconds"], "policyReports.debounceSeconds");
    }
  }
  if (root["webhookNamespace"]) {
    cfg.webhook_namespace = nonEmptyStr(root["webhookNamespace"], "webhookNamespace");
  }
  return cfg;
}

}  // namespace

std::string_view modeName(Mode mode) {
  switch (mode) {
    case Mode::kEnforce:
      return "enforce";
    case Mode::kWarn:
      return "warn";
    case Mode::kDryrun:
      return "dryrun";
  }
  return "enforce";
}

std::optional<Mode> parseMode(std::string_view text) {
  for (Mode m : {Mode::kEnforce, Mode::kWarn, Mode::kDryrun}) {
    if (modeName(m) == text) {
      return m;
    }
  }
  return std::nullopt;
}

Result<Config> parseConfig(std::string_view text, const std::string& source,
                           const std::vector<std::string>& rule_ids) {
  try {
    return parseRoot(YAML::Load(std::string(text)), rule_ids);
  } catch (const ConfigError& e) {
    return Error{source + ": " + e.what()};
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) {
      return Error{source + ": " + e.msg};
    }
    return Error{source + ":" + std::to_string(e.mark.line + 1) + ":" +
                 std::to_string(e.mark.column + 1) + ": " + e.msg};
  }
}

Result<Config> loadConfig(const std::string& path, const std::vector<std::string>& rule_ids) {
  auto text = readFileText(path);
  if (!text.ok()) {
    return Error{text.error()};
  }
  return parseConfig(*text, path, rule_ids);
}

}  // namespace ambient_guard
