#include "cli/cli.h"

#include "rules/platform.h"

namespace ambient_guard {

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
