// Small string helpers shared by every layer.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ambient_guard {

// Returns the items separated by `sep` ("a, b, c"); a separator follows only a non-empty prefix,
// so leading empty items add nothing.
inline std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) {
      out += sep;
    }
    out += s;
  }
  return out;
}

}  // namespace ambient_guard
