// Loading of cluster backups: `kubectl get … -A -o yaml|json` output (a v1 List), multi-document
// YAML, or single objects, from files or standard input ("-").
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/objects.h"
#include "model/result.h"

namespace ambient_guard {

struct LoadStats {
  size_t documents = 0;                   // top-level documents read
  size_t objects = 0;                     // objects kept
  std::map<std::string, size_t> skipped;  // kinds not kept, by "Kind" name
  void merge(const LoadStats& other);
  // Returns "N objects kept, M skipped (Deployment: 3, ...)".
  std::string summary() const;
};

// A raw Kubernetes object with the source line it started on (0 for JSON).
struct RawDocument {
  nlohmann::json doc;
  int line = 0;
};

// Parses text (JSON or YAML, one or many documents, Lists flattened) into raw objects. The
// error names `source` and, for YAML, the line. Never throws.
Result<std::vector<RawDocument>> parseDocuments(std::string_view text, const std::string& source);

// Decodes the objects in `text` and appends them to `out`. Errors read "<source>:<line>: …".
// Namespaced objects without metadata.namespace go to "default" (kubectl apply -f).
Result<LoadStats> loadText(std::string_view text, const std::string& source,
                           std::vector<AnyObject>& out);

// Reads `path` ("-" for standard input) and appends its objects to `out`.
Result<LoadStats> loadFile(const std::string& path, std::vector<AnyObject>& out);

// Returns the whole content of path ("-" for standard input), or an error naming the path.
Result<std::string> readFileText(const std::string& path);

}  // namespace ambient_guard
