#include "model/glob.h"

#include <fnmatch.h>

#include <string>

namespace ambient_guard {

bool globMatch(std::string_view pattern, std::string_view name) {
  if (pattern.find_first_of("*?[") == std::string_view::npos) {
    return pattern == name;
  }
  return fnmatch(std::string(pattern).c_str(), std::string(name).c_str(), 0) == 0;
}

}  // namespace ambient_guard
