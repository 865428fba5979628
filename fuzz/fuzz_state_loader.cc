// Backup files (`check -f`, `serve --state`): YAML or JSON, Lists or multi-document streams,
// decoded into objects and built into a snapshot.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "model/cluster_state.h"
#include "model/state_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<ambient_guard::AnyObject> objects;
  auto loaded = ambient_guard::loadText(text, "fuzz", objects);
  if (loaded.ok()) {
    auto snapshot = ambient_guard::Snapshot::build(std::move(objects));
    (void)snapshot->namespaceNames();
  }
  return 0;
}
