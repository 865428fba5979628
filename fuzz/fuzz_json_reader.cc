// readJson (model/json_reader.h), the reader of every AdmissionReview body. Besides crashes it
// checks the reader's contract: whatever both it and nlohmann::json accept, they read the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "model/json_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto plain = ambient_guard::readJson(text);
  auto dropped = ambient_guard::readJson(text, {.drop_managed_fields = true});
  if (plain.ok() != dropped.ok()) {
    std::abort();  // dropping members must not change what parses
  }
  if (plain.ok()) {
    nlohmann::json reference = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!reference.is_discarded() && reference != *plain) {
      std::abort();
    }
    (void)plain->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return 0;
}
