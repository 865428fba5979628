// parseJson (model/json_value.h, simdjson), the parser of every AdmissionReview body and, through
// decodeObject, of every object decoded. Besides crashes it checks the contract: whatever both it
// and nlohmann::json accept, they read the same; and every accepted document decodes without
// throwing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "model/decode.h"
#include "model/json_value.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = ambient_guard::parseJson(text);
  if (!parsed.ok()) {
    if (parsed.error().empty()) {
      std::abort();  // an error must say what
    }
    return 0;
  }
  const nlohmann::json mine = ambient_guard::toNlohmann(parsed->root());
  nlohmann::json reference = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!reference.is_discarded() && reference != mine) {
    std::abort();
  }
  (void)ambient_guard::decodeObject(parsed->root());
  return 0;
}
