#include "webhook/mutator.h"

#include <ctime>

#include "model/objects.h"
#include "rules/ambient.h"

namespace ambient_guard {
namespace {

using nlohmann::json;

const json* member(const json& j, std::string_view key) {
  if (!j.is_object()) {
    return nullptr;
  }
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

// Returns the string-valued entries of a labels/annotations map.
Labels stringMap(const json* m) {
  std::vector<std::pair<std::string, std::string>> kv;
  if (m != nullptr && m->is_object()) {
    for (auto it = m->begin(); it != m->end(); ++it) {
      if (it->is_string()) {
        kv.emplace_back(it.key(), it->get<std::string>());
      }
    }
  }
  return Labels(std::move(kv));
}

Labels labelsOf(const json& obj) {
  const json* meta = member(obj, "metadata");
  return stringMap(meta != nullptr ? member(*meta, "labels") : nullptr);
}

// With Istio's default selectors: labelled istio.io/dataplane-mode=ambient.
bool isAmbient(const Labels& labels, const ambient::EnablementSelectors& enablement) {
  return enablement.selectsNamespace(labels);
}

// Returns true when the write took the enrollment away on purpose: every enrollment label
// removed or set to `none` (by default: istio.io/dataplane-mode removed or `none`; another
// value is a typo to leave alone, not a rollback).
bool enrollmentLabelsRemoved(const Labels& labels,
                             const ambient::EnablementSelectors& enablement) {
  const Labels enroll = enablement.enrollLabels();
  for (const auto& [key, value] : enroll.items()) {
    const std::string* v = labels.get(key);
    if (v != nullptr && *v != "none") {
      return false;
    }
  }
  return true;
}

// Sets key in the map at meta[field], creating the map when absent or null.
void setEntry(json& meta, const char* field, std::string_view key, const std::string& value) {
  json& m = meta[field];
  if (!m.is_object()) {
    m = json::object();
  }
  m[std::string(key)] = value;
}

void eraseEntry(json& meta, const char* field, std::string_view key) {
  auto it = meta.find(field);
  if (it != meta.end() && it->is_object()) {
    it->erase(std::string(key));
  }
}

}  // namespace

std::string_view mutationKindName(Mutation::Kind kind) {
  switch (kind) {
    case Mutation::Kind::kNone:
      return "none";
    case Mutation::Kind::kEnroll:
      return "enroll";
    case Mutation::Kind::kRollback:
      return "rollback";
  }
  return "none";
}

std::string escapeJsonPointer(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string nowRfc3339() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Mutation mutateNamespace(const json& object, const json& old_object,
                         std::string_view now_rfc3339) {
  static const ambient::EnablementSelectors kIstioDefault;
  return mutateNamespace(object, old_object, now_rfc3339, kIstioDefault);
}

Mutation mutateNamespace(const json& object, const json& old_object, std::string_view now_rfc3339,
                         const ambient::EnablementSelectors& enablement) {
  Mutation m;
  const json* meta_ptr = member(object, "metadata");
  if (meta_ptr == nullptr || !meta_ptr->is_object()) {
    return m;  // the apiserver never sends a Namespace without metadata
  }
  const json& meta = *meta_ptr;
  const Labels labels = stringMap(member(meta, "labels"));
  const Labels annotations = stringMap(member(meta, "annotations"));
  json desired = meta;

  if (isAmbient(labels, enablement)) {
    const bool enrolling =
        !old_object.is_object() || !isAmbient(labelsOf(old_object), enablement);
    if (!enrolling) {
      return m;
    }
    m.kind = Mutation::Kind::kEnroll;
    if (ambient::namespaceInjectsSidecars(labels)) {
      json removed = json::object();
      for (std::string_view key : {ambient::kInjectionLabel, ambient::kRevLabel}) {
        if (const std::string* v = labels.get(key)) {
          removed[std::string(key)] = *v;
          eraseEntry(desired, "labels", key);
        }
      }
      setEntry(desired, "annotations", kPreviousInjectionAnnotation,
               removed.dump(-1, ' ', false, json::error_handler_t::replace));
    }
    if (!annotations.has(kEnrolledAtAnnotation)) {
      setEntry(desired, "annotations", kEnrolledAtAnnotation, std::string(now_rfc3339));
    }
  } else {
    const std::string* recorded = annotations.get(kPreviousInjectionAnnotation);
    if (!enrollmentLabelsRemoved(labels, enablement) || recorded == nullptr) {
      return m;
    }
    const json previous = json::parse(*recorded, nullptr, /*allow_exceptions=*/false);
    if (!previous.is_object()) {
      m.notes.push_back("annotation " + std::string(kPreviousInjectionAnnotation) +
                        " is not a JSON object; injection labels were not restored");
      return m;
    }
    m.kind = Mutation::Kind::kRollback;
    for (auto it = previous.begin(); it != previous.end(); ++it) {
      // Restore only the injection labels, and never over a value the write sets itself.
      if (it.key() != ambient::kInjectionLabel && it.key() != ambient::kRevLabel) {
        continue;
      }
      if (it->is_string() && !labels.has(it.key())) {
        setEntry(desired, "labels", it.key(), it->get<std::string>());
      }
    }
    eraseEntry(desired, "annotations", kPreviousInjectionAnnotation);
    eraseEntry(desired, "annotations", kEnrolledAtAnnotation);
  }
  // json::diff emits RFC 6902 with escaped tokens, `add` of whole maps that are absent, and
  // nothing at all when the maps are unchanged.
  m.patch = json::diff(meta, desired, "/metadata");
  if (m.patch.empty()) {
    m.kind = Mutation::Kind::kNone;
  }
  return m;
}

}  // namespace ambient_guard
