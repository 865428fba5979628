// `ambient-guard verify`: registered from registerExtraCommands (cli/cli_extra.cc).
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "migrate/verify.h"
#include "model/state_file.h"

namespace ambient_guard {
namespace {

constexpr int kExitUsage = 2;

struct VerifyOptions {
  std::string ns;
  std::string workloads;
  std::string services;
  std::string waypoints;
  std::vector<std::string> files;
  std::string output = "table";
  std::string root_namespace = "istio-system";
};

template <class T>
bool readInto(const std::string& path, Result<T> (*parse)(std::string_view), T& out) {
  auto text = readFileText(path);
  if (!text.ok()) {
    std::cerr << "ambient-guard: " << text.error() << "\n";
    return false;
  }
  auto parsed = parse(*text);
  if (!parsed.ok()) {
    std::cerr << "ambient-guard: " << path << ": " << parsed.error() << "\n";
    return false;
  }
  out = std::move(*parsed);
  return true;
}

int runVerifyCommand(const VerifyOptions& opt) {
  VerifyInput in;
  in.ns = opt.ns;
  if (!readInto(opt.workloads, &parseZtunnelWorkloads, in.workloads)) {
    return kExitUsage;
  }
  if (!opt.services.empty()) {
    in.services.emplace();
    if (!readInto(opt.services, &parseZtunnelServices, *in.services)) {
      return kExitUsage;
    }
  }
  if (!opt.waypoints.empty()) {
    in.waypoints.emplace();
    if (!readInto(opt.waypoints, &parseWaypointStatus, *in.waypoints)) {
      return kExitUsage;
    }
  }
  std::shared_ptr<const Snapshot> backup;
  if (!opt.files.empty()) {
    std::vector<AnyObject> objects;
    for (const auto& f : opt.files) {
      auto loaded = loadFile(f, objects);
      if (!loaded.ok()) {
        std::cerr << "ambient-guard: " << loaded.error() << "\n";
        return kExitUsage;
      }
    }
    backup = Snapshot::build(std::move(objects));
    in.backup = backup.get();
  }
  rules::MeshSettings mesh;
  mesh.root_namespace = opt.root_namespace;
  const VerifyReport report = runVerify(in, mesh);
  if (opt.output == "json") {
    std::cout << verifyJson(report).dump(2) << "\n";
  } else {
    printVerify(report, std::cout);
  }
  return report.ok() ? 0 : 1;
}

}  // namespace

void registerVerifyCommand(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<VerifyOptions>();
  CLI::App* cmd = app.add_subcommand(
      "verify", "After a cutover: pods captured over HBONE, waypoints bound, plaintext listed");
  cmd->add_option("-n,--namespace", opt->ns, "The namespace that was cut over")->required();
  cmd->add_option("--ztunnel-workloads", opt->workloads,
                  "Output of `istioctl zc workloads -o json` (- for stdin)")
      ->required();
  cmd->add_option("--ztunnel-services", opt->services,
                  "Output of `istioctl zc services -o json` (checks waypoint binding)");
  cmd->add_option("--waypoint-status", opt->waypoints,
                  "Output of `istioctl waypoint status -n NS` (checks Programmed)");
  cmd->add_option("-f,--filename", opt->files,
                  "Backup files (pods, services, gateways of the namespace) for the sidecar and "
                  "redirection checks and the expected waypoints");
  cmd->add_option("-o,--output", opt->output, "Output format")
      ->check(CLI::IsMember({"table", "json"}));
  cmd->add_option("--root-namespace", opt->root_namespace,
                  "Istio root namespace (meshConfig.rootNamespace)");
  cmd->callback([opt, &exit_code] { exit_code = runVerifyCommand(*opt); });
}

}  // namespace ambient_guard
