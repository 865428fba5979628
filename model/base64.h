// RFC 4648 base64: AdmissionReview patches, kubeconfig *-data fields, the fake API server's
// continue tokens.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ambient_guard {

// Returns standard base64 with '=' padding.
std::string base64Encode(std::string_view data);

// Returns the bytes of standard or URL-safe base64; padding and whitespace are ignored. nullopt
// when another character appears.
std::optional<std::string> base64Decode(std::string_view in);

}  // namespace ambient_guard
