// Decoding of Kubernetes / Istio / Gateway API objects (as JSON) into the reduced object model.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "model/json_value.h"
#include "model/objects.h"
#include "model/result.h"

namespace ambient_guard {

// Returns the decoded object, nullopt when its kind is not one ambient-guard keeps, or an error
// naming the offending field ("AuthorizationPolicy shop/x: spec.rules[0].from must be a list").
// Never throws. `line` (YAML source line, 0 if unknown) is stored in Object::line.
// One decoder serves every caller: the webhook and the watch parse JSON text with parseJson
// (model/json_value.h) and pass the root here.
Result<std::optional<AnyObject>> decodeObject(const JsonValue& doc, int line = 0);

// Returns decodeObject of an item of a List: built-in Lists carry apiVersion and kind once, not
// on their items, so `api_version` and `kind` stand for whichever member the item lacks.
Result<std::optional<AnyObject>> decodeListItem(const JsonValue& item, std::string_view api_version,
                                                std::string_view kind);

// Returns decodeObject of `doc` serialised and parsed again: for objects that exist as nlohmann
// values (converted from YAML: state files, manifests), so that they take the same decoder.
Result<std::optional<AnyObject>> decodeObject(const nlohmann::json& doc, int line = 0);

// Returns the kind string of a document ("" when absent or not a string).
std::string documentKind(const JsonValue& doc);
std::string documentKind(const nlohmann::json& doc);

// Returns Unix seconds for an RFC 3339 timestamp ("2024-05-01T10:00:00Z", with an optional
// fraction and a Z or numeric offset), or nullopt for anything else.
std::optional<int64_t> parseRfc3339(std::string_view text);

}  // namespace ambient_guard
