#include "cli/cli.h"

namespace ambient_guard {

void registerExtraCommands(CLI::App& app, int& exit_code) {
  registerServeCommand(app, exit_code);
  registerTranslateCommands(app, exit_code);
  registerVerifyCommand(app, exit_code);
  registerAuditCommand(app, exit_code);
  (void)app;
  (void)exit_code;
}

}  // namespace ambient_guard
