// Decoding of Kubernetes / Istio / Gateway API objects (as JSON) into the reduced object model.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "model/objects.h"
#include "model/result.h"

namespace ambient_guard {

// Returns the decoded object, nullopt when its kind is not one ambient-guard keeps, or an error
// naming the offending field ("AuthorizationPolicy shop/x: spec.rules[0].from must be a list").
// Never throws. `line` (YAML source line, 0 if unknown) is stored in Object::line.
Result<std::optional<AnyObject>> decodeObject(const nlohmann::json& doc, int line = 0);

// Returns the kind string of a document ("" when absent or not a string).
std::string documentKind(const nlohmann::json& doc);

// Returns Unix seconds for an RFC 3339 timestamp ("2024-05-01T10:00:00Z"), or nullopt.
std::optional<int64_t> parseRfc3339(const std::string& text);

}  // namespace ambient_guard
