// ambient-guard: admission webhook and CLI for moving Istio from sidecars to ambient mode.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/cli.h"
#include "migrate/check.h"
#include "migrate/cost.h"
#include "migrate/rules_catalog.h"
#include "model/state_file.h"
#include "rules/reviewer.h"
#include "rules/rule.h"

namespace ambient_guard {
namespace {

constexpr int kExitUsage = 2;

// Loads every file into one snapshot; prints one clear line and returns nullptr on error.
std::shared_ptr<const Snapshot> loadState(const std::vector<std::string>& files, LoadStats& stats) {
  std::vector<AnyObject> objects;
  for (const auto& f : files) {
    auto loaded = loadFile(f, objects);
    if (!loaded.ok()) {
      std::cerr << "ambient-guard: " << loaded.error() << "\n";
      return nullptr;
    }
    stats.merge(*loaded);
  }
  return Snapshot::build(std::move(objects));
}

struct CheckOptions {
  std::vector<std::string> files;
  std::vector<std::string> namespaces;
  std::string output = "table";
  std::string root_namespace = "istio-system";
  std::string istio_version;
  std::string enablement_selector;
  bool cost = false;
};

int runCheckCommand(const CheckOptions& opt) {
  LoadStats stats;
  auto state = loadState(opt.files, stats);
  if (state == nullptr) {
    return kExitUsage;
  }
  rules::MeshSettings mesh;
  mesh.root_namespace = opt.root_namespace;
  mesh.istio_version = opt.istio_version;
  if (!resolveEnablementInto(*state, opt.enablement_selector, mesh)) {
    return kExitUsage;
  }
  Reviewer reviewer(rules::makeDefaultRules(), mesh);
  CheckReport report = runCheck(*state, reviewer, opt.namespaces);
  report.input = stats;
  std::cerr << "ambient-guard: loaded " << stats.summary() << "\n";
  if (opt.output == "json") {
    nlohmann::json out = checkJson(report);
    if (opt.cost) {
      out["cost"] = costJson(estimateCostForCheck(*state, report, mesh));
    }
    std::cout << out.dump(2) << "\n";
  } else {
    printCheckTable(report, std::cout);
    if (opt.cost) {
      printCost(estimateCostForCheck(*state, report, mesh), std::cout);
    }
  }
  return report.wouldDeny() ? 1 : 0;
}

int runRulesCommand(const std::string& output) {
  const RuleList all = rules::makeDefaultRules();
  if (output == "json") {
    std::cout << rulesJson(all).dump(2) << "\n";
  } else if (output == "markdown") {
    std::cout << rulesMarkdown(all);
  } else {
    printRulesTable(all, std::cout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ambient-guard: keeps Istio sidecar-to-ambient migrations safe", "ambient-guard"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "ambient-guard 0.1.0");
  int exit_code = 0;

  CheckOptions check;
  CLI::App* check_cmd =
      app.add_subcommand("check", "Pre-flight: per-namespace readiness for ambient from a backup");
  check_cmd->add_option("-f,--filename", check.files,
                        "Backup files or directories (kubectl get -A -o yaml|json); - for stdin")
      ->required();
  check_cmd->add_option("-o,--output", check.output, "Output format")
      ->check(CLI::IsMember({"table", "json"}));
  check_cmd->add_option("-n,--namespace", check.namespaces, "Only these namespaces");
  check_cmd->add_option("--root-namespace", check.root_namespace,
                        "Istio root namespace (meshConfig.rootNamespace)");
  addIstioVersionOption(check_cmd, check.istio_version);
  addEnablementSelectorOption(check_cmd, check.enablement_selector);
  check_cmd->add_flag("--cost", check.cost,
                      "Add the cost estimate: sidecars today vs ztunnel, istio-cni, waypoints");
  check_cmd->callback([&] { exit_code = runCheckCommand(check); });

  std::string rules_output = "table";
  CLI::App* rules_cmd = app.add_subcommand("rules", "The rule catalog");
  rules_cmd
      ->add_option("-o,--output", rules_output, "Output format (markdown: the README section)")
      ->check(CLI::IsMember({"table", "json", "markdown"}));
  rules_cmd->callback([&] { exit_code = runRulesCommand(rules_output); });

  registerExtraCommands(app, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  return exit_code;
}

}  // namespace ambient_guard

int main(int argc, char** argv) { return ambient_guard::main(argc, argv); }
