// AdmissionReview v1 on the wire (spec/admission-contract.md §1): decoding the request,
// building the response exactly as the kube-apiserver verifies it, and the decoded write.
//
// No rules, no policy: only JSON ⇄ structs. Every function here is pure and thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/json_value.h"
#include "model/result.h"
#include "rules/reviewer.h"

namespace ambient_guard {

inline constexpr std::string_view kAdmissionApiVersion = "admission.k8s.io/v1";

struct GroupVersionKind {
  std::string group;  // "" for the core group
  std::string version;
  std::string kind;
};

// The fields of `request` a webhook uses. `object` / `old_object` are JSON null when absent; they
// are views into `document`, the parsed body (metadata.managedFields is never read). Move-only.
struct AdmissionRequest {
  JsonDocument document;
  std::string uid;
  GroupVersionKind kind;
  std::string sub_resource;
  std::string name;
  std::string ns;         // for a Namespace object: the namespace's own name
  std::string operation;  // CREATE | UPDATE | DELETE | CONNECT
  std::string username;
  std::vector<std::string> groups;
  bool dry_run = false;
  JsonValue object;
  JsonValue old_object;

  // Returns the name of the object written (request.name, else object / oldObject metadata).
  std::string objectName() const;
};

// Returns the request of an AdmissionReview v1 body, or an error for anything else (malformed
// JSON, another apiVersion/kind, no request or uid): the caller answers HTTP 400. Never throws.
Result<AdmissionRequest> parseAdmissionReview(std::string_view body);
// The same, parsing in place when `body` is followed by at least simdjson::SIMDJSON_PADDING
// readable bytes (`readable_after`: e.g. a std::string's capacity() - size()).
Result<AdmissionRequest> parseAdmissionReview(std::string_view body, size_t readable_after);

// Returns the typed write, or nullopt when the object's kind is not one ambient-guard reviews
// (or the operation is CONNECT). An error names the field that could not be decoded. DELETE
// reads oldObject; namespaced objects missing metadata.namespace get request.namespace.
Result<std::optional<Change>> decodeChange(const AdmissionRequest& req);

// Returns true when `key` is accepted by the apiserver as an audit annotation key suffix:
// 1-63 characters of [A-Za-z0-9._-], starting and ending alphanumeric (no '/').
bool validAuditAnnotationKey(std::string_view key);

struct AdmissionResponse {
  std::string uid;
  bool allowed = true;
  std::string message;  // status.message when denied
  std::vector<std::string> warnings;
  std::map<std::string, std::string> audit_annotations;  // keys must pass validAuditAnnotationKey
  nlohmann::json patch;  // RFC 6902 array; null or empty means no patch
};

// Returns the AdmissionReview v1 JSON for `resp`: a denial carries status {code 403, reason
// Forbidden, message}; patchType is set only with a non-empty patch (base64, padded).
std::string serializeAdmissionResponse(const AdmissionResponse& resp);

}  // namespace ambient_guard
