// `ambient-guard serve`: the admission webhook over HTTPS.
#include <pthread.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>

#include "audit/audit_log.h"
#include "audit/audit_review.h"
#include "cli/cli.h"
#include "kube/kube_config.h"
#include "kube/kube_watch.h"
#include "kube/report_publisher.h"
#include "kube/state_store.h"
#include "migrate/policy_report_publish.h"
#include "model/state_file.h"
#include "rules/reviewer.h"
#include "rules/rule.h"
#include "webhook/admission_audit.h"
#include "webhook/admission_pipeline.h"
#include "webhook/client_auth.h"
#include "webhook/config.h"
#include "webhook/enforcement.h"
#include "webhook/metrics.h"
#include "webhook/server.h"
#include "webhook/tls.h"

namespace ambient_guard {
namespace {

constexpr int kExitUsage = 2;
constexpr int kExitError = 1;

struct ServeOptions {
  std::string listen = "0.0.0.0:8443";
  std::string cert;
  std::string key;
  std::string config;
  std::vector<std::string> state_files;
  std::string kubeconfig;
  std::string kube_context;
  std::string service = "ambient-guard";
  std::string service_namespace = "ambient-guard";
  std::string ca_bundle_out;
  std::string root_namespace;  // empty: from the config (default istio-system)
  std::string istio_version;   // empty: istiod's image tag in the state
  // Empty: istio-cni-config (live, or in --state), else the default.
  std::string enablement_selector;
  // Where istiod and istio-cni run: the watch reads their workloads and istio-cni-config there.
  std::string istio_namespace = std::string(kDefaultIstioNamespace);
  size_t max_connections = 512;
  size_t max_request_bytes = 8u << 20;
  std::string log_level = "info";
  std::string audit_log;      // empty: the config's audit.path
  int audit_max_size_mb = 0;  // 0: the config's audit.maxSizeMB
  int audit_max_files = 0;    // 0: the config's audit.maxFiles
  std::string max_state_staleness = "5m";
  std::string client_ca;
  std::vector<std::string> client_names;
  bool policy_reports = false;  // also: the config's policyReports.enabled
};

// Returns true for a Kubernetes namespace name: an RFC 1123 label (lower-case alphanumerics and
// '-', starting and ending alphanumeric, at most 63 characters).
bool isDnsLabel(std::string_view s) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (s.empty() || s.size() > 63 || !alnum(s.front()) || !alnum(s.back())) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-'; });
}

// Raises the soft limit on open files to the hard one (as Go programs do): every connection is
// a descriptor, and the default soft limit (often 1024) is below --max-connections.
void raiseFileLimit(size_t max_connections) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    return;
  }
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    getrlimit(RLIMIT_NOFILE, &lim);
  }
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < max_connections + 256) {
    spdlog::warn("open file limit {} is close to --max-connections {}: connections past it wait",
                 lim.rlim_cur, max_connections);
  }
}

// Splits "host:port" or "[v6]:port".
bool parseListen(const std::string& text, std::string& host, int& port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    return false;
  }
  host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  try {
    size_t used = 0;
    port = std::stoi(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1 || port < 0 || port > 65535) {
      return false;
    }
  } catch (const std::exception&) {
    return false;
  }
  return !host.empty();
}

// Returns the serving certificate: the files given, or a CA and certificate made now.
std::unique_ptr<CertReloader> servingCertificate(const ServeOptions& opt) {
  if (!opt.cert.empty() || !opt.key.empty()) {
    if (opt.cert.empty() || opt.key.empty()) {
      std::cerr << "ambient-guard: --cert and --key go together\n";
      return nullptr;
    }
    auto r = CertReloader::fromFiles(opt.cert, opt.key);
    if (!r.ok()) {
      std::cerr << "ambient-guard: " << r.error() << "\n";
      return nullptr;
    }
    return std::move(*r);
  }
  const std::string svc_dns = opt.service + "." + opt.service_namespace + ".svc";
  auto ca = generateCa("ambient-guard CA", 365);
  if (!ca.ok()) {
    std::cerr << "ambient-guard: " << ca.error() << "\n";
    return nullptr;
  }
  auto leaf =
      issueServingCert(*ca,
                       {svc_dns, svc_dns + ".cluster.local",
                        opt.service + "." + opt.service_namespace, opt.service, "localhost"},
                       {"127.0.0.1", "::1"}, 365);
  if (!leaf.ok()) {
    std::cerr << "ambient-guard: " << leaf.error() << "\n";
    return nullptr;
  }
  auto ck = CertKey::fromPem(*leaf);
  if (!ck.ok()) {
    std::cerr << "ambient-guard: " << ck.error() << "\n";
    return nullptr;
  }
  if (!opt.ca_bundle_out.empty()) {
    std::ofstream out(opt.ca_bundle_out, std::ios::binary | std::ios::trunc);
    out << ca->cert;
    if (!out.flush()) {
      std::cerr << "ambient-guard: cannot write " << opt.ca_bundle_out << "\n";
      return nullptr;
    }
    spdlog::info(
        "generated a CA and a serving certificate for {}, localhost, 127.0.0.1; CA "
        "bundle written to {}",
        svc_dns, opt.ca_bundle_out);
  } else {
    spdlog::info("generated a CA and a serving certificate for {}, localhost, 127.0.0.1", svc_dns);
  }
  std::cout << ca->cert << std::flush;
  return std::make_unique<CertReloader>(std::move(*ck));
}

int runServe(const ServeOptions& opt) {
  // SIGTERM/SIGINT are taken by one thread with sigwait, so block them before any thread starts
  // (the audit log's writer, the watch, the workers inherit the mask). A peer closing mid-write
  // must not kill the process.
  signal(SIGPIPE, SIG_IGN);
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  auto logger = spdlog::stderr_color_mt("ambient-guard");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(opt.log_level));

  std::string host;
  int port = 0;
  if (!parseListen(opt.listen, host, port)) {
    std::cerr << "ambient-guard: --listen " << opt.listen << ": want ADDR:PORT\n";
    return kExitUsage;
  }
  auto staleness = parseDuration(opt.max_state_staleness);
  if (!staleness.ok() && opt.max_state_staleness != "0") {
    std::cerr << "ambient-guard: --max-state-staleness " << opt.max_state_staleness << ": "
              << staleness.error() << "\n";
    return kExitUsage;
  }
  if (!opt.client_ca.empty()) {
    if (auto policy = ClientPolicy::load(opt.client_ca, opt.client_names); !policy.ok()) {
      std::cerr << "ambient-guard: " << policy.error() << "\n";
      return kExitUsage;
    }
  } else if (!opt.client_names.empty()) {
    std::cerr << "ambient-guard: --client-name needs --client-ca\n";
    return kExitUsage;
  }

  auto rule_set = rules::makeDefaultRules();
  std::vector<std::string> rule_ids;
  for (const auto& r : rule_set) {
    rule_ids.emplace_back(r->id());
  }
  Config config;
  if (!opt.config.empty()) {
    auto loaded = loadConfig(opt.config, rule_ids);
    if (!loaded.ok()) {
      std::cerr << "ambient-guard: " << loaded.error() << "\n";
      return kExitUsage;
    }
    config = std::move(*loaded);
  }
  if (!opt.root_namespace.empty()) {
    config.root_namespace = opt.root_namespace;
  }
  if (!opt.audit_log.empty()) {
    config.audit.path = opt.audit_log;
  }
  if (opt.audit_max_size_mb > 0) {
    config.audit.max_size_mb = opt.audit_max_size_mb;
  }
  if (opt.audit_max_files > 0) {
    config.audit.max_files = opt.audit_max_files;
  }
  if (opt.policy_reports) {
    config.policy_reports.enabled = true;
  }

  // Cluster state: from the API server (list + watch) with --kubeconfig or in a pod, else from
  // backup files (offline use), else empty.
  StateStore store;
  std::optional<KubeConfig> kube;
  if (!opt.kubeconfig.empty()) {
    auto loaded = loadKubeConfig(opt.kubeconfig, opt.kube_context);
    if (!loaded.ok()) {
      std::cerr << "ambient-guard: " << loaded.error() << "\n";
      return kExitUsage;
    }
    kube = std::move(*loaded);
  } else if (opt.state_files.empty() && inClusterEnvironment()) {
    auto loaded = inClusterConfig();
    if (!loaded.ok()) {
      std::cerr << "ambient-guard: in-cluster config: " << loaded.error() << "\n";
      return kExitUsage;
    }
    kube = std::move(*loaded);
  }
  if (kube && !opt.state_files.empty()) {
    std::cerr << "ambient-guard: --state and --kubeconfig are exclusive (offline backup or live "
                 "cluster)\n";
    return kExitUsage;
  }
  if (!opt.state_files.empty()) {
    std::vector<AnyObject> objects;
    LoadStats stats;
    for (const auto& f : opt.state_files) {
      auto loaded = loadFile(f, objects);
      if (!loaded.ok()) {
        std::cerr << "ambient-guard: " << loaded.error() << "\n";
        return kExitUsage;
      }
      stats.merge(*loaded);
    }
    store.publish(Snapshot::build(std::move(objects)));
    spdlog::info("cluster state from {} file(s): {}", opt.state_files.size(), stats.summary());
  } else if (!kube) {
    spdlog::warn("no --state and no --kubeconfig: starting with an empty cluster");
  }

  Metrics metrics;
  std::unique_ptr<CertReloader> certs = servingCertificate(opt);
  if (certs == nullptr) {
    return kExitUsage;
  }
  certs->onLoad([&metrics](const CertKey& ck) { metrics.setCertExpiry(ck.notAfter()); });

  rules::MeshSettings mesh;
  mesh.root_namespace = config.root_namespace;
  mesh.istio_version = opt.istio_version;
  if (!resolveEnablementInto(*store.current(), opt.enablement_selector, mesh)) {
    return kExitUsage;
  }
  auto defaults = ruleDefaults(rule_set);
  Reviewer reviewer(std::move(rule_set), mesh);
  if (kube) {
    // The watch brings istio-cni-config and istiod's Deployment after startup and follows their
    // changes; the flags win.
    auto log = [](bool error, const std::string& msg) {
      if (error) {
        spdlog::error("{}", msg);
      } else {
        spdlog::info("{}", msg);
      }
    };
    reviewer.followControlPlaneIn(opt.istio_namespace, opt.enablement_selector.empty(),
                                  opt.istio_version.empty(), log);
  }
  Enforcer enforcer(config, std::move(defaults));
  AdmissionPipeline pipeline(reviewer, enforcer, store, &metrics);
  // An audit file that cannot be opened is logged and counted, and serving starts anyway.
  std::unique_ptr<AuditLog> audit;
  if (!config.audit.path.empty()) {
    audit = std::make_unique<AuditLog>(auditLogOptions(config.audit), &metrics);
    pipeline.setAuditLog(audit.get());
  }

  ServerOptions sopt;
  sopt.host = host;
  sopt.port = port;
  sopt.max_connections = opt.max_connections;
  sopt.max_request_bytes = opt.max_request_bytes;
  sopt.client_ca_file = opt.client_ca;
  sopt.client_names = opt.client_names;
  raiseFileLimit(opt.max_connections);

  // The watch starts before the server binds: /readyz stays 503 until every initial list is in.
  if (kube) {
    tuneMallocForWatch();  // before the watch, report and server threads exist
  }
  std::unique_ptr<KubeWatch> watch;
  std::unique_ptr<ReportPublisher> reports;
  if (config.policy_reports.enabled && !kube) {
    spdlog::warn("policy reports: off (they need a live cluster: --kubeconfig or in-cluster)");
  }
  if (kube && config.policy_reports.enabled) {
    PolicyReportWiring wiring;
    wiring.lease_namespace = config.webhook_namespace;
    wiring.debounce = std::chrono::seconds(config.policy_reports.debounce_seconds);
    wiring.resync = std::chrono::seconds(config.policy_reports.resync_seconds);
    reports = std::make_unique<ReportPublisher>(*kube, store, metrics.registry(),
                                                policyReportBuilder(reviewer),
                                                policyReportOptions(wiring));
    auto started = reports->start();
    if (!started.ok()) {
      std::cerr << "ambient-guard: " << started.error() << "\n";
      return kExitUsage;
    }
    spdlog::info("policy reports: on (Lease {}/ambient-guard-policy-reports, resync every {} s)",
                 wiring.lease_namespace, wiring.resync.count());
  }
  if (kube) {
    spdlog::info("cluster state from {} (list + watch)", kube->url());
    KubeWatchOptions wopt;
    wopt.max_staleness = std::chrono::milliseconds(staleness.ok() ? *staleness / 1000 : 0);
    wopt.istio_namespace = opt.istio_namespace;
    watch = std::make_unique<KubeWatch>(std::move(*kube), store, metrics.registry(), wopt);
    auto started = watch->start();
    if (!started.ok()) {
      std::cerr << "ambient-guard: " << started.error() << "\n";
      return kExitUsage;
    }
  }

  WebhookServer server(sopt, *certs, pipeline, metrics, store);
  auto bound = server.bind();
  if (!bound.ok()) {
    std::cerr << "ambient-guard: " << bound.error() << "\n";
    return kExitError;
  }
  spdlog::info("serving on https://{}:{} (mode {}, {} namespace override(s), mutation {})", host,
               *bound, modeName(config.mode), config.namespace_overrides.size(),
               config.mutation_enabled ? "on" : "off");

  std::atomic<bool> done{false};
  std::thread signals([&] {
    const timespec tick{0, 200 * 1000 * 1000};
    while (!done.load()) {
      siginfo_t info;
      const int sig = sigtimedwait(&sigs, &info, &tick);
      if (sig == SIGTERM || sig == SIGINT) {
        spdlog::info("{}: draining in-flight requests", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        server.shutdown();
        return;
      }
    }
  });
  server.serve();
  done = true;
  signals.join();
  if (reports) {
    reports->stop();  // releases the Lease: a standby takes over at once
  }
  if (watch) {
    watch->stop();
  }
  spdlog::info("stopped");
  return 0;
}

}  // namespace

void registerServeCommand(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve", "Run the admission webhook (HTTPS)");
  cmd->add_option("--listen", opt->listen, "Address and port to listen on")->capture_default_str();
  cmd->add_option("--cert", opt->cert,
                  "Serving certificate (PEM, chain allowed); reloaded on change");
  cmd->add_option("--key", opt->key, "Private key of --cert (PEM)");
  cmd->add_option("--config", opt->config, "Enforcement configuration (YAML)");
  cmd->add_option("--state", opt->state_files,
                  "Cluster state from backup files (kubectl get -A -o yaml|json)");
  cmd->add_option("--kubeconfig", opt->kubeconfig,
                  "Watch the cluster with this kubeconfig (default in a pod: the service account)");
  cmd->add_option("--context", opt->kube_context, "kubeconfig context (default: current-context)");
  cmd->add_option("--service", opt->service, "Service name, for the generated certificate's SANs")
      ->capture_default_str();
  cmd->add_option("--namespace", opt->service_namespace,
                  "Service namespace, for the generated certificate's SANs")
      ->capture_default_str();
  cmd->add_option("--ca-bundle-out", opt->ca_bundle_out,
                  "Where to write the generated CA (PEM) when no --cert is given");
  cmd->add_option("--root-namespace", opt->root_namespace,
                  "Istio root namespace (overrides the config's rootNamespace)");
  addIstioVersionOption(cmd, opt->istio_version);
  addEnablementSelectorOption(cmd, opt->enablement_selector);
  cmd->add_option("--istio-namespace", opt->istio_namespace,
                  "Namespace of istiod, istio-cni and ztunnel: the live watch reads their "
                  "Deployments, DaemonSets (Istio version) and ConfigMap istio-cni-config "
                  "(enablement selectors) there")
      ->capture_default_str()
      ->check([](const std::string& ns) {
        return isDnsLabel(ns)
                   ? std::string()
                   : "--istio-namespace " + ns + ": not a namespace name (RFC 1123 label)";
      });
  cmd->add_option("--max-connections", opt->max_connections,
                  "Concurrent connections served (one worker thread each)")
      ->capture_default_str()
      ->check(CLI::Range(1, 65536));
  cmd->add_option("--max-request-bytes", opt->max_request_bytes,
                  "Largest request body accepted (413 above)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30));
  cmd->add_option("--audit-log", opt->audit_log,
                  "Audit log: one JSON line per admission decision, to this file (rotated) or - "
                  "for stdout (overrides the config's audit.path)");
  cmd->add_option("--audit-max-size-mb", opt->audit_max_size_mb,
                  "Rotate the audit file at this size (default: audit.maxSizeMB, 100)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--audit-max-files", opt->audit_max_files,
                  "Rotated audit files kept (default: audit.maxFiles, 5)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--max-state-staleness", opt->max_state_staleness,
                  "/readyz answers 503 while a watched kind has had no list, event or bookmark "
                  "for longer (e.g. 90s, 5m; 0 = never)")
      ->capture_default_str();
  cmd->add_option("--client-ca", opt->client_ca,
                  "Mutual TLS: /validate and /mutate answer only clients with a certificate "
                  "signed by this CA (PEM); the probes stay open");
  cmd->add_option("--client-name", opt->client_names,
                  "With --client-ca: allowed subject CN or DNS SAN of the client certificate "
                  "(repeatable; default: any)");
  cmd->add_flag("--policy-reports", opt->policy_reports,
                "Publish every namespace's migration readiness as PolicyReports (one replica "
                "writes, elected with a Lease); same as policyReports.enabled in the config");
  cmd->add_option("--log-level", opt->log_level, "trace|debug|info|warn|error")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  cmd->callback([opt, &exit_code] { exit_code = runServe(*opt); });
}

}  // namespace ambient_guard
