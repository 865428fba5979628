// Subcommands registered from their own files (serve, audit, translate, …).
#pragma once

#include <CLI/CLI.hpp>

namespace ambient_guard {

// Adds the subcommands that live outside main.cc; each stores its exit status in exit_code.
void registerExtraCommands(CLI::App& app, int& exit_code);

// `serve`: the admission webhook (webhook/cli_serve.cc).
void registerServeCommand(CLI::App& app, int& exit_code);

// `translate` and `plan`: policy translation and the cutover runbook (webhook/cli_translate.cc).
void registerTranslateCommands(CLI::App& app, int& exit_code);

// `verify`: cutover verification from istioctl output (webhook/cli_verify.cc).
void registerVerifyCommand(CLI::App& app, int& exit_code);

// `audit`: review of the admission audit log, the pilot's go/no-go (webhook/cli_audit.cc).
void registerAuditCommand(CLI::App& app, int& exit_code);

}  // namespace ambient_guard
