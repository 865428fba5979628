// `ambient-guard translate` and `ambient-guard plan`: argument parsing and I/O only; the work is
// in webhook/translate*.cc and webhook/plan*.cc.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "migrate/check.h"
#include "migrate/cost.h"
#include "migrate/plan.h"
#include "migrate/translate.h"
#include "model/decode.h"
#include "model/state_file.h"
#include "rules/reviewer.h"
#include "rules/rule.h"

namespace ambient_guard {
namespace {

constexpr int kExitUsage = 2;

// Returns the files behind `path`: itself, or for a directory every .yaml/.yml/.json below it in
// name order (as `kubectl apply -f DIR` and `check -f DIR` read them).
std::vector<std::string> expand(const std::string& path) {
  std::error_code ec;
  if (path == "-" || !std::filesystem::is_directory(path, ec)) {
    return {path};
  }
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(path, ec)) {
    const std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Raw documents plus their decoded objects, read from files; "-" is standard input.
struct Loaded {
  std::vector<RawDocument> docs;
  std::vector<AnyObject> objects;
};

// Reads every file; prints one clear line and returns false on the first error.
bool readInto(const std::vector<std::string>& paths, const std::string& default_ns, Loaded& out) {
  for (const std::string& p : paths) {
    for (const std::string& file : expand(p)) {
      auto text = readFileText(file);
      const std::string source = file == "-" ? "<stdin>" : file;
      if (!text.ok()) {
        std::cerr << "ambient-guard: " << text.error() << "\n";
        return false;
      }
      auto docs = parseDocuments(*text, source);
      if (!docs.ok()) {
        std::cerr << "ambient-guard: " << docs.error() << "\n";
        return false;
      }
      applyDefaultNamespace(*docs, default_ns);
      for (RawDocument& raw : *docs) {
        auto obj = decodeObject(raw.doc, raw.line);
        if (!obj.ok()) {
          std::cerr << "ambient-guard: " << source
                    << (raw.line > 0 ? ":" + std::to_string(raw.line) : "") << ": " << obj.error()
                    << "\n";
          return false;
        }
        if (obj->has_value()) {
          out.objects.push_back(std::move(**obj));
        }
        out.docs.push_back(std::move(raw));
      }
    }
  }
  return true;
}

struct TranslateCli {
  std::vector<std::string> files;
  std::vector<std::string> state;
  std::string output = "yaml";
  std::string channel = "standard";
  std::string rollback_file;
  TranslateOptions options;
  std::string enablement_selector;
};

int runTranslate(TranslateCli& cli) {
  Loaded state;
  Loaded input;
  const std::string& ns = cli.options.default_namespace;
  if (!readInto(cli.state, ns, state) || !readInto(cli.files, ns, input)) {
    return kExitUsage;
  }
  cli.options.experimental_channel = cli.channel == "experimental";
  // The inputs are part of the cluster too (a Service next to its policy); they win.
  std::vector<AnyObject> objects = std::move(state.objects);
  objects.insert(objects.end(), input.objects.begin(), input.objects.end());
  auto snapshot = Snapshot::build(std::move(objects));
  std::vector<RawDocument> context = std::move(state.docs);
  context.insert(context.end(), input.docs.begin(), input.docs.end());

  if (!resolveEnablementInto(*snapshot, cli.enablement_selector, cli.options.mesh)) {
    return kExitUsage;
  }
  TranslateResult result = translate(input.docs, *snapshot, context, cli.options);
  if (cli.output == "json") {
    std::cout << result.list().dump(2) << "\n";
  } else {
    std::cout << result.yaml();
  }
  if (!cli.rollback_file.empty()) {
    std::ofstream out(cli.rollback_file, std::ios::binary | std::ios::trunc);
    out << result.rollbackYaml();
    if (!out) {
      std::cerr << "ambient-guard: " << cli.rollback_file << ": cannot write\n";
      return kExitUsage;
    }
  }
  std::cerr << result.summary();
  return 0;
}

struct PlanCli {
  std::vector<std::string> files;
  std::string output = "markdown";
  PlanOptions options;
  std::string enablement_selector;
  bool cost = false;
};

// The cost section of `plan --cost` (migrate/cost.h): the plan's namespaces, a new waypoint
// where the plan deploys one.
CostEstimate planCost(const Snapshot& state, const Plan& plan, const rules::MeshSettings& mesh) {
  std::vector<std::string> names;
  std::set<std::string> waypoints;
  for (const NamespacePlan& np : plan.namespaces) {
    names.push_back(np.name);
    if (np.waypoint_needed) {
      waypoints.insert(np.name);
    }
  }
  return estimateCost(state, names, waypoints, mesh);
}

int runPlan(PlanCli& cli) {
  Loaded backup;
  if (!readInto(cli.files, "default", backup)) {
    return kExitUsage;
  }
  cli.options.backup_files = cli.files;
  auto snapshot = Snapshot::build(std::move(backup.objects));
  if (!resolveEnablementInto(*snapshot, cli.enablement_selector, cli.options.mesh)) {
    return kExitUsage;
  }
  Reviewer reviewer(rules::makeDefaultRules(), cli.options.mesh);
  Plan plan = buildPlan(backup.docs, *snapshot, reviewer, cli.options);
  if (cli.output == "json") {
    nlohmann::ordered_json out = planJson(plan);
    if (cli.cost) {
      out["cost"] = nlohmann::ordered_json(costJson(planCost(*snapshot, plan, cli.options.mesh)));
    }
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << planMarkdown(plan);
    if (cli.cost) {
      std::cout << "\n" << costMarkdown(planCost(*snapshot, plan, cli.options.mesh));
    }
  }
  return 0;
}

}  // namespace

void registerTranslateCommands(CLI::App& app, int& exit_code) {
  auto tr = std::make_shared<TranslateCli>();
  CLI::App* t = app.add_subcommand(
      "translate",
      "Translate sidecar-era policies and VirtualServices to their ambient equivalents");
  t->add_option("-f,--filename", tr->files, "Files or directories to translate; - for stdin")
      ->required();
  t->add_option("--state", tr->state,
                "Cluster backup for context (Services, waypoints, ServiceEntries, "
                "DestinationRules)");
  t->add_option("-o,--output", tr->output, "Output format")
      ->check(CLI::IsMember({"yaml", "json"}));
  t->add_option("--waypoint", tr->options.waypoint,
                "Waypoint name to target (default: the namespace's waypoint, else \"waypoint\")");
  t->add_flag("--lockdown", tr->options.lockdown,
              "Also write the L4 lock-down DENY policy that only admits the waypoint (spec §3.7)");
  t->add_option("--trust-domain", tr->options.trust_domain,
                "Trust domain of the waypoint principal (meshConfig.trustDomain)");
  t->add_option("-n,--namespace", tr->options.namespaces, "Only objects of these namespaces");
  t->add_option("--default-namespace", tr->options.default_namespace,
                "Namespace of objects that name none (kubectl's context namespace)");
  t->add_option("--gateway-api-channel", tr->channel,
                "Gateway API CRD channel installed: experimental enables HTTPRoute retry")
      ->check(CLI::IsMember({"standard", "experimental"}));
  t->add_option("--rollback-file", tr->rollback_file,
                "Write the originals of replaced objects here (`kubectl apply -f` restores them)");
  t->add_option("--root-namespace", tr->options.mesh.root_namespace,
                "Istio root namespace (meshConfig.rootNamespace)");
  addIstioVersionOption(t, tr->options.mesh.istio_version);
  addEnablementSelectorOption(t, tr->enablement_selector);
  t->callback([tr, &exit_code] { exit_code = runTranslate(*tr); });

  auto pl = std::make_shared<PlanCli>();
  CLI::App* p = app.add_subcommand(
      "plan", "Phased cutover runbook per namespace, with gates and rollback commands");
  p->add_option("-f,--filename", pl->files, "Backup files or directories; - for stdin")
      ->required();
  p->add_option("-o,--output", pl->output, "Output format")
      ->check(CLI::IsMember({"markdown", "json"}));
  p->add_option("-n,--namespace", pl->options.namespaces, "Only these namespaces");
  p->add_option("--waypoint", pl->options.waypoint, "Waypoint name to deploy and use");
  p->add_option("--root-namespace", pl->options.mesh.root_namespace,
                "Istio root namespace (meshConfig.rootNamespace)");
  addIstioVersionOption(p, pl->options.mesh.istio_version);
  addEnablementSelectorOption(p, pl->enablement_selector);
  p->add_flag("--cost", pl->cost,
              "Add the cost estimate: sidecars today vs ztunnel, istio-cni, waypoints");
  p->callback([pl, &exit_code] { exit_code = runPlan(*pl); });
}

}  // namespace ambient_guard
