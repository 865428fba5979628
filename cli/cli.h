// Subcommands registered from their own files (serve, audit, translate, …).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "model/cluster_state.h"
#include "rules/rule.h"

namespace ambient_guard {

// Adds `--istio-version X.Y[.Z]` to cmd, stored in `target`: the Istio release whose behaviour
// version-dependent rules assume (default: istiod's image tag in the state; rules/istio_version.h).
void addIstioVersionOption(CLI::App* cmd, std::string& target);

// Adds `--ambient-enablement-selector YAML` to cmd, stored in `target`: istio-cni's
// AMBIENT_ENABLEMENT_SELECTOR (default: the state's istio-cni-config, else Istio's default).
void addEnablementSelectorOption(CLI::App* cmd, std::string& target);

// Sets mesh.enablement from the flag, the state or the default (rules/enablement.h); prints one
// line and returns false when the chosen selector does not parse.
bool resolveEnablementInto(const ClusterView& state, const std::string& flag,
                           rules::MeshSettings& mesh);

// Adds the subcommands that live outside main.cc; each stores its exit status in exit_code.
void registerExtraCommands(CLI::App& app, int& exit_code);

// `serve`: the admission webhook (cli/cli_serve.cc).
void registerServeCommand(CLI::App& app, int& exit_code);

// `translate` and `plan`: policy translation and the cutover runbook (cli/cli_translate.cc).
void registerTranslateCommands(CLI::App& app, int& exit_code);

// `verify`: cutover verification from istioctl output (cli/cli_verify.cc).
void registerVerifyCommand(CLI::App& app, int& exit_code);

// `audit`: review of the admission audit log, the pilot's go/no-go (cli/cli_audit.cc).
void registerAuditCommand(CLI::App& app, int& exit_code);

}  // namespace ambient_guard
