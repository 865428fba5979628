#include "cli/cli.h"

#include <iostream>

#include "rules/enablement.h"
#include "rules/platform.h"

namespace ambient_guard {

void addEnablementSelectorOption(CLI::App* cmd, std::string& target) {
  cmd->add_option("--ambient-enablement-selector", target,
                  "istio-cni's AMBIENT_ENABLEMENT_SELECTOR (YAML list of {podSelector, "
                  "namespaceSelector}); default: the istio-cni-config ConfigMap in the state, "
                  "else istio.io/dataplane-mode=ambient");
}

bool resolveEnablementInto(const ClusterView& state, const std::string& flag,
                           rules::MeshSettings& mesh) {
  auto resolved = ambient::resolveEnablement(state, flag);
  if (!resolved.ok()) {
    std::cerr << "ambient-guard: " << resolved.error() << "\n";
    return false;
  }
  mesh.enablement = std::move(*resolved);
  return true;
}

void addIstioVersionOption(CLI::App* cmd, std::string& target) {
  cmd->add_option("--istio-version", target,
                  "Istio release to assume (X.Y or X.Y.Z); default: istiod's image tag in the "
                  "state, else the istio-cni/ztunnel tags")
      ->check(CLI::Validator(
          [](const std::string& v) {
            return platform::parseVersion(v) ? std::string()
                                             : "not an Istio version (X.Y or X.Y.Z): " + v;
          },
          "X.Y[.Z]"));
}

void registerExtraCommands(CLI::App& app, int& exit_code) {
  registerServeCommand(app, exit_code);
  registerTranslateCommands(app, exit_code);
  registerVerifyCommand(app, exit_code);
  registerAuditCommand(app, exit_code);
  (void)app;
  (void)exit_code;
}

}  // namespace ambient_guard
