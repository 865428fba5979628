// Loads a generated cluster of N objects (default 100k) into KubeWatch from a fake API server
// running in a child process (real TLS, real list pages and chunked watch streams): 90 % by the
// paginated initial list, the last 10 % as watch ADDED events after ready. Prints the time to
// ready, the time until every event is applied, resident memory (baseline, at ready, right after
// the events, settled 2.5 s later, peak), heap in use, the values shared by StateInterner and
// the heap held by each kind's objects. Asserts nothing.
// serve's malloc settings apply (tuneMallocForWatch) unless --default-malloc.
// Usage: watch_bench [objects=100000] [--no-compact] [--default-malloc] [--malloc-stats]
#include <malloc.h>
#include <prometheus/registry.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "kube/kube_config.h"
#include "kube/kube_watch.h"
#include "kube/state_store.h"
#include "tests/testlib/fake_apiserver.h"

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace ambient_guard {
namespace {

// ------------------------------------------------------------------------------------------
// A realistic cluster: Helm-managed Services with chart labels, managedFields and
// last-applied annotations, as `kubectl get -o json` shows them.

json managedFields(const std::string& manager) {
  return json::array(
      {{{"manager", manager},
        {"operation", "Update"},
        {"apiVersion", "v1"},
        {"time", "2025-03-04T10:11:12Z"},
        {"fieldsType", "FieldsV1"},
        {"fieldsV1",
         {{"f:metadata",
           {{"f:labels", {{".", json::object()}, {"f:app", json::object()}}},
            {"f:annotations", {{".", json::object()}}}}},
          {"f:spec", {{"f:ports", json::object()}, {"f:selector", json::object()}}}}}}});
}

json meta(const std::string& name, const std::string& ns, json labels) {
  json m = {{"name", name},
            {"uid",
             "6f1c2d3e-0000-4000-8000-" +
                 std::to_string(100000000000 + std::hash<std::string>{}(ns + name) % 899999999999)},
            {"creationTimestamp", "2025-03-04T10:11:12Z"},
            {"generation", 1},
            {"labels", std::move(labels)},
            {"annotations",
             {{"meta.helm.sh/release-name", ns + "-" + name},
              {"meta.helm.sh/release-namespace", ns},
              {"kubectl.kubernetes.io/last-applied-configuration",
               R"({"apiVersion":"v1","kind":"X","metadata":{"name":")" + name +
                   R"(","namespace":")" + ns + R"("},"spec":{"previously":"applied"}})"}}},
            {"managedFields", managedFields("helm")}};
  if (!ns.empty()) {
    m["namespace"] = ns;
  }
  return m;
}

json chartLabels(const std::string& app) {
  return {{"app", app},
          {"version", "v1"},
          {"app.kubernetes.io/name", app},
          {"app.kubernetes.io/instance", app + "-prod"},
          {"app.kubernetes.io/managed-by", "Helm"},
          {"app.kubernetes.io/part-of", "storefront"},
          {"helm.sh/chart", app + "-1.24.3"}};
}

struct Generated {
  std::string api_version;
  std::string kind;
  std::vector<json> objects;
};

std::vector<Generated> generate(size_t total) {
  // Per namespace: 29 Services, 8 AuthorizationPolicies, 2 PeerAuthentications,
  // 4 VirtualServices, 4 DestinationRules, 1 waypoint Gateway; every other namespace a
  // RequestAuthentication and a Sidecar: 50 objects per namespace.
  const size_t namespaces = std::max<size_t>(1, total / 50);
  std::vector<Generated> out = {
      {"v1", "Namespace", {}},
      {"v1", "Service", {}},
      {"security.istio.io/v1", "AuthorizationPolicy", {}},
      {"security.istio.io/v1", "PeerAuthentication", {}},
      {"networking.istio.io/v1", "VirtualService", {}},
      {"networking.istio.io/v1", "DestinationRule", {}},
      {"gateway.networking.k8s.io/v1", "Gateway", {}},
      {"security.istio.io/v1", "RequestAuthentication", {}},
      {"networking.istio.io/v1", "Sidecar", {}},
  };
  for (size_t n = 0; n < namespaces; ++n) {
    const std::string ns = "team-" + std::to_string(n) + "-prod";
    json ns_labels = {{"kubernetes.io/metadata.name", ns},
                      {"team", "team-" + std::to_string(n)},
                      {"environment", "production"}};
    if (n % 4 == 0) {
      ns_labels["istio.io/dataplane-mode"] = "ambient";
      ns_labels["istio.io/use-waypoint"] = "waypoint";
    } else {
      ns_labels["istio-injection"] = "enabled";
    }
    out[0].objects.push_back({{"metadata", meta(ns, "", ns_labels)},
                              {"spec", {{"finalizers", {"kubernetes"}}}},
                              {"status", {{"phase", "Active"}}}});
    for (int s = 0; s < 29; ++s) {
      const std::string app = "svc-" + std::to_string(s);
      json labels = chartLabels(app);
      if (s == 0) {
        labels["istio.io/use-waypoint"] = "waypoint";
      }
      out[1].objects.push_back(
          {{"metadata", meta(app, ns, labels)},
           {"spec",
            {{"clusterIP", "10.96." + std::to_string(n % 250) + "." + std::to_string(s)},
             {"clusterIPs", {"10.96." + std::to_string(n % 250) + "." + std::to_string(s)}},
             {"internalTrafficPolicy", "Cluster"},
             {"ipFamilies", {"IPv4"}},
             {"ipFamilyPolicy", "SingleStack"},
             {"ports",
              {{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}, {"targetPort", 8080}},
               {{"name", "grpc"}, {"port", 9090}, {"protocol", "TCP"}, {"targetPort", 9090}}}},
             {"selector", {{"app", app}, {"app.kubernetes.io/instance", app + "-prod"}}},
             {"sessionAffinity", "None"},
             {"type", "ClusterIP"}}},
           {"status", {{"loadBalancer", json::object()}}}});
    }
    for (int a = 0; a < 8; ++a) {
      const std::string app = "svc-" + std::to_string(a);
      out[2].objects.push_back(
          {{"metadata", meta("allow-" + app, ns, {{"app", app}})},
           {"spec",
            {{"selector", {{"matchLabels", {{"app", app}}}}},
             {"action", "ALLOW"},
             {"rules",
              {{{"from",
                 {{{"source",
                    {{"principals",
                      {"cluster.local/ns/" + ns + "/sa/frontend",
                       "cluster.local/ns/istio-system/sa/istio-ingressgateway"}}}}}}},
                {"to",
                 {{{"operation", {{"methods", {"GET", "POST"}}, {"paths", {"/api/*"}}}}}}}}}}}}});
    }
    out[3].objects.push_back({{"metadata", meta("default", ns, json::object())},
                              {"spec", {{"mtls", {{"mode", "STRICT"}}}}}});
    out[3].objects.push_back({{"metadata", meta("metrics-port", ns, json::object())},
                              {"spec",
                               {{"selector", {{"matchLabels", {{"app", "svc-1"}}}}},
                                {"mtls", {{"mode", "STRICT"}}},
                                {"portLevelMtls", {{"15090", {{"mode", "PERMISSIVE"}}}}}}}});
    for (int v = 0; v < 4; ++v) {
      const std::string host = "svc-" + std::to_string(v);
      out[4].objects.push_back(
          {{"metadata", meta(host, ns, json::object())},
           {"spec",
            {{"hosts", {host}},
             {"http",
              {{{"match", {{{"uri", {{"prefix", "/v2"}}}}}},
                {"route", {{{"destination", {{"host", host}, {"subset", "v2"}}}}}},
                {"retries", {{"attempts", 3}, {"perTryTimeout", "2s"}}}},
               {{"route", {{{"destination", {{"host", host}, {"subset", "v1"}}}}}}}}}}}});
      out[5].objects.push_back(
          {{"metadata", meta(host, ns, json::object())},
           {"spec",
            {{"host", host},
             {"trafficPolicy", {{"connectionPool", {{"tcp", {{"maxConnections", 100}}}}}}},
             {"subsets",
              {{{"name", "v1"}, {"labels", {{"version", "v1"}}}},
               {{"name", "v2"}, {"labels", {{"version", "v2"}}}}}}}}});
    }
    out[6].objects.push_back(
        {{"metadata", meta("waypoint", ns, {{"istio.io/waypoint-for", "service"}})},
         {"spec",
          {{"gatewayClassName", "istio-waypoint"},
           {"listeners", {{{"name", "mesh"}, {"port", 15008}, {"protocol", "HBONE"}}}}}},
         {"status", {{"addresses", {{{"type", "IPAddress"}, {"value", "10.96.1.1"}}}}}}});
    if (n % 2 == 0) {
      out[7].objects.push_back({{"metadata", meta("jwt", ns, json::object())},
                                {"spec",
                                 {{"selector", {{"matchLabels", {{"app", "svc-0"}}}}},
                                  {"jwtRules", {{{"issuer", "https://issuer.example.com"}}}}}}});
      out[8].objects.push_back({{"metadata", meta("default", ns, json::object())},
                                {"spec", {{"egress", {{{"hosts", {"./*", "istio-system/*"}}}}}}}});
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------

struct Memory {
  double rss_mib = 0;
  double peak_mib = 0;
};

Memory memory() {
  Memory m;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      m.rss_mib = std::atof(line.c_str() + 6) / 1024.0;
    } else if (line.rfind("VmHWM:", 0) == 0) {
      m.peak_mib = std::atof(line.c_str() + 6) / 1024.0;
    }
  }
  return m;
}

double heapMib() {
  struct mallinfo2 mi = mallinfo2();
  return static_cast<double>(mi.uordblks + mi.hblkhd) / (1024.0 * 1024.0);
}

// Returns the heap held by deep copies of every object of type T (struct + strings + vectors).
template <class T>
double kindHeapMib(const Snapshot& s, size_t& count) {
  std::vector<std::string> names = {""};
  if (!clusterScoped(T::kKind)) {  // a cluster-scoped kind lists the same objects for every ns
    names = s.namespaceNames();
  }
  const double before = heapMib();
  std::vector<T> copy;
  copy.reserve(s.count(T::kKind));
  for (const auto& ns : names) {
    for (const T* o : s.list<T>(ns)) {
      copy.push_back(*o);
    }
  }
  count = copy.size();
  return heapMib() - before;
}

// The fake API server's process: preloads `list` objects, sends its kubeconfig, applies the
// `watch` objects when told, and exits when the pipe closes.
[[noreturn]] void serveChild(int to_parent, int from_parent, size_t total) {
  const std::vector<Generated> kinds = generate(total);
  uint64_t generated = 0;
  for (const auto& g : kinds) {
    generated += g.objects.size();
  }
  testing::FakeApiServer server;
  std::vector<std::pair<const Generated*, size_t>> later;
  for (const Generated& g : kinds) {
    const size_t list_part = g.objects.size() - g.objects.size() / 10;
    std::vector<json> preload;
    for (size_t i = 0; i < list_part; ++i) {
      json o = g.objects[i];
      o["apiVersion"] = g.api_version;
      o["kind"] = g.kind;
      preload.push_back(std::move(o));
    }
    server.preload(g.api_version, g.kind, preload);
    later.emplace_back(&g, list_part);
  }
  const std::string kc = server.kubeconfig();
  const uint32_t len = static_cast<uint32_t>(kc.size());
  (void)!write(to_parent, &generated, sizeof(generated));
  (void)!write(to_parent, &len, sizeof(len));
  (void)!write(to_parent, kc.data(), kc.size());
  char go = 0;
  if (read(from_parent, &go, 1) == 1) {
    for (auto& [g, from] : later) {
      for (size_t i = from; i < g->objects.size(); ++i) {
        json o = g->objects[i];
        o["apiVersion"] = g->api_version;
        o["kind"] = g->kind;
        server.apply(o);
      }
    }
  }
  (void)!read(from_parent, &go, 1);  // EOF: the parent is done
  _exit(0);
}

bool readAll(int fd, void* data, size_t len) {
  char* p = static_cast<char*>(data);
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n <= 0) {
      return false;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

int run(size_t total, bool compact, bool tune_malloc, bool malloc_stats) {
  if (tune_malloc) {
    tuneMallocForWatch();  // as `serve` does before it starts watching
  }
  // Fork first: the generated JSON and the server live only in the child, so this process's
  // resident memory is the watch's alone.
  int up[2];
  int down[2];
  if (pipe(up) != 0 || pipe(down) != 0) {
    return 1;
  }
  pid_t child = fork();
  if (child == 0) {
    close(up[0]);
    close(down[1]);
    serveChild(up[1], down[0], total);
  }
  close(up[1]);
  close(down[0]);

  uint64_t generated = 0;
  uint32_t len = 0;
  std::string kc;
  if (!readAll(up[0], &generated, sizeof(generated)) || !readAll(up[0], &len, sizeof(len)) ||
      (kc.resize(len), !readAll(up[0], kc.data(), len))) {
    std::fprintf(stderr, "watch_bench: the fake API server did not start\n");
    return 1;
  }
  auto cfg = parseKubeConfig(kc, "", "bench");
  if (!cfg.ok()) {
    std::fprintf(stderr, "watch_bench: %s\n", cfg.error().c_str());
    return 1;
  }

  StateStore store;
  prometheus::Registry registry;
  KubeWatchOptions options;
  options.compact_labels = compact;
  const Memory baseline = memory();
  const double heap_baseline = heapMib();
  auto watch = std::make_unique<KubeWatch>(std::move(*cfg), store, registry, options);
  const auto t0 = Clock::now();
  if (auto started = watch->start(); !started.ok()) {
    std::fprintf(stderr, "watch_bench: %s\n", started.error().c_str());
    return 1;
  }
  while (!store.ready()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const double ready_s = std::chrono::duration<double>(Clock::now() - t0).count();
  const Memory at_ready = memory();
  auto count_all = [&] {
    auto s = store.current();
    size_t n = 0;
    for (const auto& r : watchedResources()) {
      n += s->count(r.kind);
    }
    return n;
  };
  const size_t listed = count_all();

  const auto t1 = Clock::now();
  char go = 1;
  (void)!write(down[1], &go, 1);
  while (count_all() < generated) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const double events_s = std::chrono::duration<double>(Clock::now() - t1).count();
  const Memory after_events = memory();
  // The steady state: the watch gives memory back once a burst of events has been quiet for a
  // second (kube/kube_watch.cc); measure after that.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  const Memory loaded = memory();
  const double heap_loaded = heapMib() - heap_baseline;
  const StateInterner::Sizes shared = store.interner().sizes();

  watch->stop();
  auto snap = store.current();
  std::printf("watch_bench: %zu objects (%zu by list, %zu by watch events), labels %s, malloc %s\n",
              generated, listed, generated - listed, compact ? "compacted" : "all kept",
              tune_malloc ? "as serve sets it" : "glibc defaults");
  std::printf("  time to ready (TLS list of %zu objects, pages of %d): %.2f s\n", listed,
              options.page_size, ready_s);
  std::printf("  %zu watch events applied in %.2f s\n", generated - listed, events_s);
  std::printf(
      "  RSS: baseline %.1f MiB, at ready %.1f MiB, right after the events %.1f MiB, settled "
      "%.1f MiB, peak %.1f MiB\n",
      baseline.rss_mib, at_ready.rss_mib, after_events.rss_mib, loaded.rss_mib, loaded.peak_mib);
  std::printf(
      "  RSS held for the cluster state: %.1f MiB (%.0f bytes/object); heap in use %.1f "
      "MiB\n",
      loaded.rss_mib - baseline.rss_mib,
      (loaded.rss_mib - baseline.rss_mib) * 1024 * 1024 / static_cast<double>(generated),
      heap_loaded);
  std::printf(
      "  shared values (StateInterner): %zu strings, %zu label maps, %zu port lists, %zu rule "
      "lists, %zu string lists, %zu destination lists\n",
      shared.strings, shared.label_maps, shared.port_lists, shared.rule_lists,
      shared.string_lists, shared.destination_lists);
  std::printf(
      "  heap held by the objects, by kind (copies measured with mallinfo2; shared values are "
      "counted in the slack line, once):\n");
  double objects_total = 0;
  auto row = [&](const char* name, double mib, size_t n) {
    objects_total += mib;
    std::printf("    %-22s %7zu objects %6.1f MiB %5.0f bytes/object\n", name, n, mib,
                n == 0 ? 0.0 : mib * 1024 * 1024 / static_cast<double>(n));
  };
  size_t n = 0;
  double mib = kindHeapMib<Namespace>(*snap, n);
  row("Namespace", mib, n);
  mib = kindHeapMib<Service>(*snap, n);
  row("Service", mib, n);
  mib = kindHeapMib<AuthorizationPolicy>(*snap, n);
  row("AuthorizationPolicy", mib, n);
  mib = kindHeapMib<PeerAuthentication>(*snap, n);
  row("PeerAuthentication", mib, n);
  mib = kindHeapMib<VirtualService>(*snap, n);
  row("VirtualService", mib, n);
  mib = kindHeapMib<DestinationRule>(*snap, n);
  row("DestinationRule", mib, n);
  mib = kindHeapMib<Gateway>(*snap, n);
  row("Gateway", mib, n);
  mib = kindHeapMib<RequestAuthentication>(*snap, n);
  row("RequestAuthentication", mib, n);
  mib = kindHeapMib<Sidecar>(*snap, n);
  row("Sidecar", mib, n);
  std::printf("    objects total %.1f MiB; shared values, snapshot index and slack %.1f MiB\n",
              objects_total, heap_loaded - objects_total);

  if (malloc_stats) {
    std::fflush(stdout);
    ::malloc_stats();  // per arena: system bytes against bytes in use (stderr)
  }

  close(down[1]);
  close(up[0]);
  int status = 0;
  waitpid(child, &status, 0);
  return 0;
}

}  // namespace
}  // namespace ambient_guard

int main(int argc, char** argv) {
  size_t total = 100000;
  bool compact = true;
  bool malloc_stats = false;
  bool tune_malloc = true;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--no-compact") == 0) {
      compact = false;
    } else if (std::strcmp(argv[i], "--default-malloc") == 0) {
      tune_malloc = false;
    } else if (std::strcmp(argv[i], "--malloc-stats") == 0) {
      malloc_stats = true;
    } else {
      total = std::strtoul(argv[i], nullptr, 10);
    }
  }
  return ambient_guard::run(total, compact, tune_malloc, malloc_stats);
}
