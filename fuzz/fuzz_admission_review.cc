// The whole admission pipeline on arbitrary request bodies: AdmissionReview parsing, object
// decoding, every rule against the demo cluster, enforcement, response serialization (validate
// and mutate). It must answer everything and never throw.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "kube/state_store.h"
#include "model/state_file.h"
#include "rules/reviewer.h"
#include "rules/rule.h"
#include "webhook/admission_pipeline.h"
#include "webhook/enforcement.h"

namespace {

struct Pipeline {
  Pipeline()
      : store(state()),
        reviewer(ambient_guard::rules::makeDefaultRules(), ambient_guard::rules::MeshSettings{}),
        enforcer(ambient_guard::Config{}, ambient_guard::ruleDefaults(reviewer.rules())),
        pipeline(reviewer, enforcer, store, nullptr) {}

  static std::shared_ptr<const ambient_guard::Snapshot> state() {
    std::vector<ambient_guard::AnyObject> objects;
    auto loaded =
        ambient_guard::loadFile(std::string(AG_SOURCE_DIR) + "/examples/demo-backup.yaml", objects);
    if (!loaded.ok()) {
      std::abort();
    }
    return ambient_guard::Snapshot::build(std::move(objects));
  }

  ambient_guard::StateStore store;
  ambient_guard::Reviewer reviewer;
  ambient_guard::Enforcer enforcer;
  ambient_guard::AdmissionPipeline pipeline;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Pipeline* p = new Pipeline();
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto validated = p->pipeline.validate(body);
  const auto mutated = p->pipeline.mutate(body);
  if (validated.http_status == 0 || mutated.http_status == 0) {
    std::abort();
  }
  return 0;
}
