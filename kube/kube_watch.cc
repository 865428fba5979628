#include "kube/kube_watch.h"

#include <malloc.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "kube/watch_internal.h"

namespace ambient_guard {

using Clock = std::chrono::steady_clock;

std::string WatchedResource::path() const {
  std::string out = group.empty() ? "/api/" + std::string(version)
                                  : "/apis/" + std::string(group) + "/" + std::string(version);
  if (!ns.empty()) {
    out += "/namespaces/" + ns;
  }
  return out + "/" + std::string(plural);
}

std::string WatchedResource::selectorQuery() const {
  return field_selector.empty() ? std::string() : "&fieldSelector=" + queryEscape(field_selector);
}

std::string WatchedResource::apiVersion() const {
  return group.empty() ? std::string(version) : std::string(group) + "/" + std::string(version);
}

std::vector<WatchedResource> watchedResources(std::string_view istio_namespace) {
  // Served versions: ../shared/corpus/crds/istio-crd-all.gen.yaml (Istio v1 everywhere except
  // EnvoyFilter v1alpha3 and WasmPlugin v1alpha1) and the Gateway API standard channel (v1).
  std::vector<WatchedResource> resources = {
      {Kind::kNamespace, "", "v1", "namespaces"},
      {Kind::kService, "", "v1", "services"},
      {Kind::kGateway, "gateway.networking.k8s.io", "v1", "gateways"},
      {Kind::kGatewayClass, "gateway.networking.k8s.io", "v1", "gatewayclasses"},
      // Ingress through HTTPRoutes (targetref-unresolved's istio.io/ingress-use-waypoint check).
      {Kind::kHTTPRoute, "gateway.networking.k8s.io", "v1", "httproutes"},
      {Kind::kAuthorizationPolicy, "security.istio.io", "v1", "authorizationpolicies"},
      {Kind::kPeerAuthentication, "security.istio.io", "v1", "peerauthentications"},
      {Kind::kRequestAuthentication, "security.istio.io", "v1", "requestauthentications"},
      {Kind::kVirtualService, "networking.istio.io", "v1", "virtualservices"},
      {Kind::kDestinationRule, "networking.istio.io", "v1", "destinationrules"},
      {Kind::kEnvoyFilter, "networking.istio.io", "v1alpha3", "envoyfilters"},
      {Kind::kSidecar, "networking.istio.io", "v1", "sidecars"},
      {Kind::kWasmPlugin, "extensions.istio.io", "v1alpha1", "wasmplugins"},
      // Egress waypoints (waypoint-in-use, targetref-unresolved) and TrafficExtension (1.30+,
      // v1alpha1 only: ../shared/corpus/crds/istio-crd-all.gen.yaml).
      {Kind::kServiceEntry, "networking.istio.io", "v1", "serviceentries"},
      {Kind::kTrafficExtension, "extensions.istio.io", "v1alpha1", "trafficextensions"},
      // network-policy-blocks-hbone judges an enrollment against the namespace's policies.
      {Kind::kNetworkPolicy, "networking.k8s.io", "v1", "networkpolicies"},
  };
  // The control plane, in its namespace only (a Role there grants them: deploy/base/rbac.yaml):
  // istiod's image tag is the Istio version rules assume, istio-cni-config holds the enablement
  // selectors. A few objects, so the live state stays the size of the policies.
  const std::string ns(istio_namespace);
  resources.push_back({Kind::kDeployment, "apps", "v1", "deployments", ns, {}, true});
  resources.push_back({Kind::kDaemonSet, "apps", "v1", "daemonsets", ns, {}, true});
  resources.push_back(
      {Kind::kConfigMap, "", "v1", "configmaps", ns, "metadata.name=istio-cni-config", true});
  return resources;
}

void tuneMallocForWatch() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  const std::string_view set = tunables == nullptr ? "" : tunables;
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr &&
      set.find("glibc.malloc.arena_max") == std::string_view::npos) {
    mallopt(M_ARENA_MAX, 2);
  }
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr &&
      set.find("glibc.malloc.mmap_threshold") == std::string_view::npos) {
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  }
}

KubeWatch::Impl::Impl(KubeConfig config, StateStore& store, prometheus::Registry& registry,
                      KubeWatchOptions options)
    : config_(std::move(config)),
      store_(store),
      options_(options),
      resources_(watchedResources(options_.istio_namespace)),
      objects_family_(prometheus::BuildGauge()
                          .Name("ambient_guard_state_objects")
                          .Help("Objects held in the cluster state, by kind")
                          .Register(registry)),
      restarts_family_(prometheus::BuildCounter()
                           .Name("ambient_guard_watch_restarts_total")
                           .Help("List/watch restarts after 410 Gone, disconnects and HTTP "
                                 "errors, by kind")
                           .Register(registry)),
      age_family_(prometheus::BuildGauge()
                      .Name("ambient_guard_watch_last_event_age_seconds")
                      .Help("Seconds since the last list, watch event or bookmark of a kind "
                            "(refreshed every second)")
                      .Register(registry)),
      timestamp_family_(prometheus::BuildGauge()
                            .Name("ambient_guard_watch_last_event_timestamp_seconds")
                            .Help("Unix time of the last list, watch event or bookmark of a kind")
                            .Register(registry)),
      stale_family_(prometheus::BuildGauge()
                        .Name("ambient_guard_state_stale")
                        .Help("1 while a kind has had no list, event or bookmark for longer than "
                              "--max-state-staleness (/readyz answers 503), else 0")
                        .Register(registry)) {
  for (const WatchedResource& r : resources_) {
    const int k = static_cast<int>(r.kind);
    const std::string name(kindName(r.kind));
    objects_gauge_[k] = &objects_family_.Add({{"kind", name}});
    restarts_counter_[k] = &restarts_family_.Add({{"kind", name}});
    stale_gauge_[k] = &stale_family_.Add({{"kind", name}});
  }
}

Result<bool> KubeWatch::Impl::start() {
  if (started_) {
    return true;
  }
  // A peer that resets a TLS connection must not kill the process (httplib's server does the
  // same).
  std::signal(SIGPIPE, SIG_IGN);
  auto creds = ApiClient::credentials(config_);
  if (!creds.ok()) {
    return Error{creds.error()};
  }
  started_ = true;
  creds_ = *creds;
  store_.setReady(false);
  spdlog::info("watch: listing and watching {} kinds from {} ({}); the control plane's in {}",
               resources_.size(), config_.url(), config_.source, options_.istio_namespace);
  if (options_.max_staleness.count() > 0) {
    store_.setStalenessCheck([this] { return staleness(); });
  }
  publisher_ = std::thread([this] { publisherLoop(); });
  for (const WatchedResource& r : resources_) {
    workers_.push_back(std::make_unique<Worker>(*this, r));
  }
  for (auto& w : workers_) {
    w->start();
  }
  return true;
}

void KubeWatch::Impl::stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (stopping_.exchange(true)) {
      return;
    }
  }
  stop_cv_.notify_all();
  { std::lock_guard<std::mutex> lock(queue_mu_); }
  queue_cv_.notify_all();
  for (auto& w : workers_) {
    w->stopAndJoin();
  }
  if (publisher_.joinable()) {
    publisher_.join();
  }
  if (started_ && options_.max_staleness.count() > 0) {
    store_.setStalenessCheck({});
  }
}

double KubeWatch::Impl::staleSeconds(int k, int64_t now_ns) const {
  const int64_t at = last_event_steady_ns_[k].load();
  if (options_.max_staleness.count() <= 0 || at == 0) {
    return -1;
  }
  const int64_t age_ns = now_ns - at;
  if (age_ns <= std::chrono::duration_cast<std::chrono::nanoseconds>(options_.max_staleness)
                    .count()) {
    return -1;
  }
  return static_cast<double>(age_ns) / 1e9;
}

std::string KubeWatch::Impl::staleness() const {
  if (!ready_.load()) {
    return "";  // not loaded yet: readiness already says so
  }
  const int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
  std::string out;
  for (size_t i = 0; i < workers_.size(); ++i) {
    const Kind kind = resources_[i].kind;
    const double age = staleSeconds(static_cast<int>(kind), now_ns);
    if (age < 0 || workers_[i]->absent()) {
      continue;
    }
    out += (out.empty() ? "" : ", ") + std::string(kindName(kind)) +
           " (no list, event or bookmark for " + std::to_string(static_cast<int64_t>(age)) + " s)";
  }
  return out;
}

WatchStatus KubeWatch::Impl::status(Kind kind) const {
  for (size_t i = 0; i < workers_.size(); ++i) {
    if (resources_[i].kind == kind) {
      return workers_[i]->status();
    }
  }
  return {};
}

bool KubeWatch::Impl::sleepFor(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(stop_mu_);
  return !stop_cv_.wait_for(lock, d, [&] { return stopping(); });
}

void KubeWatch::Impl::push(Update update) {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    queue_.push_back(std::move(update));
  }
  queue_cv_.notify_one();
}

void KubeWatch::Impl::touch(Kind kind) {
  const int k = static_cast<int>(kind);
  last_event_steady_ns_[k].store(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
          .count());
  last_event_unix_s_[k].store(std::chrono::duration_cast<std::chrono::seconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count());
}

void KubeWatch::Impl::apply(std::deque<Update>& batch) {
  // Last operation per key wins, so a delete followed by a re-create in one batch is a put.
  std::map<ObjectKey, std::optional<AnyObject>> pending;
  auto flush = [&] {
    if (pending.empty()) {
      return;
    }
    std::vector<AnyObject> puts;
    std::vector<ObjectKey> removes;
    for (auto& [key, obj] : pending) {
      if (obj) {
        puts.push_back(std::move(*obj));
      } else {
        removes.push_back(key);
      }
    }
    pending.clear();
    working_ = working_->withChanges(std::move(puts), removes);
  };
  StateInterner& interner = store_.interner();
  for (Update& u : batch) {
    const int k = static_cast<int>(u.kind);
    switch (u.type) {
      case Update::Type::kReplace:
        flush();
        // Compacted here, on the publisher thread: the state's allocations stay together in
        // this thread's malloc arena instead of among the kinds' list pages, which can then be
        // given back to the OS.
        for (AnyObject& obj : u.objects) {
          interner.compact(obj);
        }
        working_ = working_->withKindReplaced(u.kind, std::move(u.objects));
        initial_done_[k] = true;
        break;
      case Update::Type::kMissing:
        flush();
        if (working_->count(u.kind) > 0) {
          working_ = working_->withKindReplaced(u.kind, {});
        }
        initial_done_[k] = true;
        break;
      case Update::Type::kPut: {
        interner.compact(*u.object);
        ObjectKey key = keyOf(*u.object);
        pending[std::move(key)] = std::move(u.object);
        break;
      }
      case Update::Type::kRemove:
        pending[u.key] = std::nullopt;
        break;
    }
  }
  flush();
}

void KubeWatch::Impl::publisherLoop() {
  Clock::time_point last_publish{};
  bool untrimmed = false;  // watch events applied since the last malloc_trim
  while (true) {
    std::deque<Update> batch;
    bool relisted = false;
    {
      std::unique_lock<std::mutex> lock(queue_mu_);
      queue_cv_.wait_for(lock, std::chrono::seconds(1),
                         [&] { return stopping() || !queue_.empty(); });
      if (stopping()) {
        return;
      }
      if (!queue_.empty()) {
        // Coalesce bursts: at most one snapshot per `coalesce` interval.
        const auto until = last_publish + options_.coalesce;
        if (Clock::now() < until) {
          queue_cv_.wait_until(lock, until, [&] { return stopping(); });
          if (stopping()) {
            return;
          }
        }
        batch.swap(queue_);
      }
    }
    if (!batch.empty()) {
      for (const Update& u : batch) {
        relisted = relisted || u.type == Update::Type::kReplace;
      }
      try {
        apply(batch);
      } catch (const std::exception& e) {
        // A bug in building a snapshot must not end the process: keep the last one published.
        spdlog::error("watch: cannot apply {} update(s): {}", batch.size(), e.what());
      }
      batch.clear();
      bool became_ready = false;
      if (!ready_.load()) {
        bool all = true;
        for (const WatchedResource& r : resources_) {
          all = all && initial_done_[static_cast<int>(r.kind)];
        }
        became_ready = all;
      }
      if (ready_.load() || became_ready) {
        store_.publish(working_);
        last_publish = Clock::now();
      }
      if (became_ready) {
        ready_.store(true);
        store_.setReady(true);
        spdlog::info("watch: initial lists complete, {} namespaces",
                     working_->namespaceNames().size());
      }
      if (relisted) {
        // A relist replaced a kind's objects: forget the shared values only they held.
        store_.interner().sweep();
        // List pages were parsed on the kinds' threads (one malloc arena each); hand the freed
        // pages back to the OS instead of keeping the peak resident.
        malloc_trim(0);
        untrimmed = false;
      } else {
        untrimmed = true;
      }
      refreshGauges(true);
    } else {
      if (untrimmed) {
        // A second without updates after a burst of events: give back what parsing them and
        // replacing the buckets they touched left free (once per burst, off the event path).
        store_.interner().sweep();
        malloc_trim(0);
        untrimmed = false;
      }
      refreshGauges(false);
    }
  }
}

void KubeWatch::Impl::refreshGauges(bool counts) {
  if (counts && ready_.load()) {
    for (const WatchedResource& r : resources_) {
      objects_gauge_[static_cast<int>(r.kind)]->Set(static_cast<double>(working_->count(r.kind)));
    }
  }
  const int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
  for (const WatchedResource& r : resources_) {
    const int k = static_cast<int>(r.kind);
    const int64_t at = last_event_steady_ns_[k].load();
    if (at == 0) {
      continue;
    }
    if (age_gauge_[k] == nullptr) {
      age_gauge_[k] = &age_family_.Add({{"kind", std::string(kindName(r.kind))}});
      timestamp_gauge_[k] = &timestamp_family_.Add({{"kind", std::string(kindName(r.kind))}});
    }
    age_gauge_[k]->Set(static_cast<double>(now_ns - at) / 1e9);
    timestamp_gauge_[k]->Set(static_cast<double>(last_event_unix_s_[k].load()));
  }
  if (!ready_.load()) {
    return;
  }
  for (size_t i = 0; i < workers_.size(); ++i) {
    const Kind kind = resources_[i].kind;
    const int k = static_cast<int>(kind);
    const double age = workers_[i]->absent() ? -1 : staleSeconds(k, now_ns);
    const bool stale = age >= 0;
    stale_gauge_[k]->Set(stale ? 1 : 0);
    if (stale != reported_stale_[k]) {
      reported_stale_[k] = stale;
      if (stale) {
        spdlog::warn("watch {}: stale: no list, event or bookmark for {:.0f} s (limit {} s); "
                     "/readyz answers 503 until it is fresh again",
                     kindName(kind), age, options_.max_staleness.count() / 1000.0);
      } else {
        spdlog::info("watch {}: fresh again", kindName(kind));
      }
    }
  }
}

KubeWatch::KubeWatch(KubeConfig config, StateStore& store, prometheus::Registry& registry,
                     KubeWatchOptions options)
    : impl_(std::make_unique<Impl>(std::move(config), store, registry, options)) {}

KubeWatch::~KubeWatch() { stop(); }

Result<bool> KubeWatch::start() { return impl_->start(); }
void KubeWatch::stop() { impl_->stop(); }
bool KubeWatch::ready() const { return impl_->ready(); }
WatchStatus KubeWatch::status(Kind kind) const { return impl_->status(kind); }
std::string KubeWatch::staleness() const { return impl_->staleness(); }

}  // namespace ambient_guard
