// A fast JSON reader for request bodies: RFC 8259 text → nlohmann::json, in one pass.
//
// nlohmann::json::parse spends most of the webhook's request time (it copies every character
// into a token buffer and validates UTF-8 as it goes); this reader scans strings in bulk and
// builds the same nlohmann values directly. It can leave out `metadata.managedFields` (the
// largest part of most admission objects, and never read by a rule) without building it.
// Pure functions, thread-safe.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "model/result.h"

namespace ambient_guard {

struct JsonReadOptions {
  // Leave out every "managedFields" member of an object that is itself the value of a
  // "metadata" member (Kubernetes server-side-apply bookkeeping).
  bool drop_managed_fields = false;
  int max_depth = 256;
};

// Returns the value in `text`, or an error "byte N: what". The result equals
// nlohmann::json::parse(text) for valid input (numbers: int64, then uint64, then double), except
// for the members dropped on request. Strings are not checked for valid UTF-8 (serialize with
// error_handler_t::replace). Never throws.
Result<nlohmann::json> readJson(std::string_view text, const JsonReadOptions& options = {});

}  // namespace ambient_guard
