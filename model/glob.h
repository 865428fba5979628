// Shell-style globs (fnmatch(3)) for namespace, user and rule patterns in the configuration and
// in the audit review's filters.
#pragma once

#include <string_view>

namespace ambient_guard {

// Returns true when `name` matches the glob `pattern` (fnmatch(3) rules; a pattern without
// *, ? or [ is compared as is).
bool globMatch(std::string_view pattern, std::string_view name);

}  // namespace ambient_guard
