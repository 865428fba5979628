// Generates a realistic 10k-object cluster backup as `kubectl get -A -o json` and `-o yaml`
// would write it, then times `ambient-guard check` on each (the real binary, end to end) and the
// in-process phases (parse+decode, snapshot build, rule evaluation). Prints figures; asserts
// nothing. Usage: check_bench [objects=10000] [runs=3]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "migrate/check.h"
#include "model/state_file.h"
#include "rules/reviewer.h"
#include "rules/rule.h"

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

json meta(const std::string& name, const std::string& ns, json labels, bool last_applied) {
  json m = {{"name", name},
            {"namespace", ns},
            {"uid", "6f1c2d3e-0000-4000-8000-" + std::to_string(100000000000 + std::hash<std::string>{}(ns + name) % 899999999999)},
            {"resourceVersion", std::to_string(std::hash<std::string>{}(name) % 10000000)},
            {"creationTimestamp", "2025-03-04T10:11:12Z"},
            {"generation", 1},
            {"labels", std::move(labels)}};
  if (last_applied) {
    // kubectl apply leaves the whole previous object here; it dominates real backups' size.
    m["annotations"] = {{"kubectl.kubernetes.io/last-applied-configuration",
                         std::string(R"({"apiVersion":"v1","kind":"X","metadata":{"name":")") +
                             name + R"(","namespace":")" + ns +
                             R"("},"spec":{"note":"previously applied configuration of this object, kept by kubectl"}})"}};
  }
  if (ns.empty()) {
    m.erase("namespace");
  }
  return m;
}

json generate(size_t total) {
  json items = json::array();
  const size_t per_ns = 50;
  const size_t namespaces = std::max<size_t>(1, total / per_ns);
  items.push_back({{"apiVersion", "security.istio.io/v1"},
                   {"kind", "PeerAuthentication"},
                   {"metadata", meta("default", "istio-system", json::object(), false)},
                   {"spec", {{"mtls", {{"mode", "STRICT"}}}}}});
  for (size_t n = 0; n < namespaces && items.size() < total; ++n) {
    const std::string ns = "team-" + std::to_string(n);
    json ns_labels = {{"kubernetes.io/metadata.name", ns}, {"team", "t" + std::to_string(n % 17)}};
    if (n % 3 == 0) {
      ns_labels["istio.io/dataplane-mode"] = "ambient";
      ns_labels["istio.io/use-waypoint"] = "waypoint";
    } else {
      ns_labels["istio-injection"] = "enabled";
    }
    items.push_back({{"apiVersion", "v1"},
                     {"kind", "Namespace"},
                     {"metadata", meta(ns, "", ns_labels, false)},
                     {"spec", {{"finalizers", {"kubernetes"}}}},
                     {"status", {{"phase", "Active"}}}});
    items.push_back({{"apiVersion", "gateway.networking.k8s.io/v1"},
                     {"kind", "Gateway"},
                     {"metadata", meta("waypoint", ns, {{"istio.io/waypoint-for", "service"}}, true)},
                     {"spec",
                      {{"gatewayClassName", "istio-waypoint"},
                       {"listeners", {{{"name", "mesh"}, {"port", 15008}, {"protocol", "HBONE"}}}}}},
                     {"status", {{"addresses", {{{"type", "IPAddress"}, {"value", "10.96.1.1"}}}}}}});
    for (int s = 0; s < 20; ++s) {
      const std::string app = "svc-" + std::to_string(s);
      items.push_back(
          {{"apiVersion", "v1"},
           {"kind", "Service"},
           {"metadata", meta(app, ns, {{"app", app}, {"version", "v1"}}, s % 2 == 0)},
           {"spec",
            {{"selector", {{"app", app}}},
             {"type", "ClusterIP"},
             {"clusterIP", "10.96.2." + std::to_string(s)},
             {"ports",
              {{{"name", "http"}, {"port", 8080}, {"protocol", "TCP"}, {"targetPort", 8080}},
               {{"name", "grpc"}, {"port", 9090}, {"protocol", "TCP"}, {"targetPort", 9090}}}}}},
           {"status", {{"loadBalancer", json::object()}}}});
    }
    for (int a = 0; a < 12; ++a) {
      json rule;
      rule["from"] = json::array({{{"source", {{"principals", {"cluster.local/ns/" + ns + "/sa/client"}}}}}});
      rule["to"] = json::array({{{"operation", {{"ports", {"8080"}}}}}});
      if (a % 4 == 0) {
        rule["to"][0]["operation"]["methods"] = {"GET", "HEAD"};
        rule["to"][0]["operation"]["paths"] = {"/api/*"};
      }
      if (a % 6 == 1) {
        rule["when"] = {{{"key", "request.headers[x-tenant]"}, {"values", {"t1"}}}};
      }
      items.push_back({{"apiVersion", "security.istio.io/v1"},
                       {"kind", "AuthorizationPolicy"},
                       {"metadata", meta("ap-" + std::to_string(a), ns, json::object(), true)},
                       {"spec",
                        {{"selector", {{"matchLabels", {{"app", "svc-" + std::to_string(a)}}}}},
                         {"action", a % 5 == 0 ? "DENY" : "ALLOW"},
                         {"rules", {rule}}}}});
    }
    for (int p = 0; p < 2; ++p) {
      items.push_back({{"apiVersion", "security.istio.io/v1"},
                       {"kind", "PeerAuthentication"},
                       {"metadata", meta("pa-" + std::to_string(p), ns, json::object(), false)},
                       {"spec",
                        {{"selector", {{"matchLabels", {{"app", "svc-" + std::to_string(p)}}}}},
                         {"mtls", {{"mode", n % 10 == 0 && p == 0 ? "DISABLE" : "STRICT"}}}}}});
    }
    for (int v = 0; v < 10; ++v) {
      const std::string host = "svc-" + std::to_string(v);
      items.push_back(
          {{"apiVersion", "networking.istio.io/v1"},
           {"kind", "VirtualService"},
           {"metadata", meta("vs-" + std::to_string(v), ns, json::object(), true)},
           {"spec",
            {{"hosts", {host}},
             {"http",
              {{{"match", {{{"uri", {{"prefix", "/v1"}}}}}},
                {"retries", {{"attempts", 3}, {"perTryTimeout", "2s"}}},
                {"route",
                 {{{"destination", {{"host", host}, {"subset", "v1"}}}, {"weight", 90}},
                  {{"destination", {{"host", host}, {"subset", "v2"}}}, {"weight", 10}}}}}}}}}});
    }
    for (int d = 0; d < 5 && items.size() < total; ++d) {
      items.push_back(
          {{"apiVersion", "networking.istio.io/v1"},
           {"kind", "DestinationRule"},
           {"metadata", meta("dr-" + std::to_string(d), ns, json::object(), false)},
           {"spec",
            {{"host", "svc-" + std::to_string(d)},
             {"subsets", {{{"name", "v1"}, {"labels", {{"version", "v1"}}}},
                          {{"name", "v2"}, {"labels", {{"version", "v2"}}}}}}}}});
    }
  }
  while (items.size() > total) {
    items.erase(items.end() - 1);
  }
  return {{"apiVersion", "v1"}, {"kind", "List"}, {"metadata", {{"resourceVersion", ""}}}, {"items", items}};
}

void emitYaml(YAML::Emitter& out, const json& j) {
  if (j.is_object()) {
    out << YAML::BeginMap;
    for (const auto& [k, v] : j.items()) {
      out << YAML::Key << k << YAML::Value;
      emitYaml(out, v);
    }
    out << YAML::EndMap;
  } else if (j.is_array()) {
    out << YAML::BeginSeq;
    for (const auto& v : j) {
      emitYaml(out, v);
    }
    out << YAML::EndSeq;
  } else if (j.is_string()) {
    const std::string s = j.get<std::string>();
    // Quote strings that YAML would otherwise read as another type, as kubectl does.
    out << (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])) || s == "true" || s == "false"
                ? YAML::DoubleQuoted
                : YAML::Auto)
        << s;
  } else if (j.is_boolean()) {
    out << j.get<bool>();
  } else if (j.is_number_integer()) {
    out << j.get<int64_t>();
  } else if (j.is_number()) {
    out << j.get<double>();
  } else {
    out << YAML::Null;
  }
}

double runProcess(const std::vector<std::string>& args, long& max_rss_kb, int& exit_code) {
  auto start = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    FILE* devnull = std::fopen("/dev/null", "w");
    dup2(fileno(devnull), 1);
    dup2(fileno(devnull), 2);
    std::vector<char*> argv;
    std::vector<std::string> copy = args;
    for (auto& a : copy) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  max_rss_kb = ru.ru_maxrss;
  exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const size_t total = argc > 1 ? std::stoul(argv[1]) : 10000;
  const int runs = argc > 2 ? std::stoi(argv[2]) : 3;
  const auto dir = std::filesystem::temp_directory_path() / ("ag-check-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);

  json backup = generate(total);
  const std::string json_path = (dir / "backup.json").string();
  const std::string yaml_path = (dir / "backup.yaml").string();
  std::ofstream(json_path) << backup.dump(4);
  {
    YAML::Emitter out;
    emitYaml(out, backup);
    std::ofstream(yaml_path) << out.c_str() << "\n";
  }
  std::printf("backup: %zu objects; json %.1f MiB, yaml %.1f MiB\n", backup["items"].size(),
              std::filesystem::file_size(json_path) / 1048576.0,
              std::filesystem::file_size(yaml_path) / 1048576.0);

  for (const std::string& path : {json_path, yaml_path}) {
    const char* fmt = path == json_path ? "json" : "yaml";
    // In-process phases, once.
    std::vector<ambient_guard::AnyObject> objects;
    auto t0 = Clock::now();
    auto stats = ambient_guard::loadFile(path, objects);
    auto t1 = Clock::now();
    if (!stats.ok()) {
      std::fprintf(stderr, "load failed: %s\n", stats.error().c_str());
      return 1;
    }
    auto state = ambient_guard::Snapshot::build(std::move(objects));
    auto t2 = Clock::now();
    ambient_guard::Reviewer reviewer(ambient_guard::rules::makeDefaultRules(), {});
    auto report = ambient_guard::runCheck(*state, reviewer, {});
    auto t3 = Clock::now();
    size_t findings = 0;
    for (const auto& ns : report.namespaces) {
      findings += ns.findings.size();
    }
    auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
    std::printf("%s in-process: load+decode %.0f ms, snapshot %.0f ms, rules %.0f ms "
                "(%zu namespaces, %zu findings)\n",
                fmt, ms(t0, t1), ms(t1, t2), ms(t2, t3), report.namespaces.size(), findings);
    // The real CLI, end to end.
    std::vector<double> times;
    long rss = 0;
    int code = 0;
    for (int r = 0; r < runs; ++r) {
      times.push_back(runProcess({AG_BINARY, "check", "-f", path, "-o", "json"}, rss, code));
    }
    std::sort(times.begin(), times.end());
    std::printf("%s `ambient-guard check -o json`: median %.3f s, min %.3f s over %d runs; "
                "max RSS %.1f MiB; exit %d\n",
                fmt, times[times.size() / 2], times.front(), runs, rss / 1024.0, code);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
