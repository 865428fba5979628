// kubeconfig files (`serve --kubeconfig`): YAML, contexts, clusters, users, base64 data.
#include <cstddef>
#include <cstdint>
#include <string>

#include "kube/kube_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto cfg = ambient_guard::parseKubeConfig(text, "/nonexistent-fuzz-dir", "fuzz");
  if (cfg.ok()) {
    (void)cfg->url();
  }
  return 0;
}
