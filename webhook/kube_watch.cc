#include "webhook/kube_watch.h"

#include <malloc.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <csignal>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>

#include "webhook/decode.h"
#include "webhook/kube_client.h"

namespace ambient_guard {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string WatchedResource::path() const {
  return group.empty() ? "/api/" + std::string(version) + "/" + std::string(plural)
                       : "/apis/" + std::string(group) + "/" + std::string(version) + "/" +
                             std::string(plural);
}

std::string WatchedResource::apiVersion() const {
  return group.empty() ? std::string(version) : std::string(group) + "/" + std::string(version);
}

const std::vector<WatchedResource>& watchedResources() {
  // Served versions: ../shared/corpus/crds/istio-crd-all.gen.yaml (Istio v1 everywhere except
  // EnvoyFilter v1alpha3 and WasmPlugin v1alpha1) and the Gateway API standard channel (v1).
  static const std::vector<WatchedResource> kResources = {
      {Kind::kNamespace, "", "v1", "namespaces"},
      {Kind::kService, "", "v1", "services"},
      {Kind::kGateway, "gateway.networking.k8s.io", "v1", "gateways"},
      {Kind::kGatewayClass, "gateway.networking.k8s.io", "v1", "gatewayclasses"},
      {Kind::kAuthorizationPolicy, "security.istio.io", "v1", "authorizationpolicies"},
      {Kind::kPeerAuthentication, "security.istio.io", "v1", "peerauthentications"},
      {Kind::kRequestAuthentication, "security.istio.io", "v1", "requestauthentications"},
      {Kind::kVirtualService, "networking.istio.io", "v1", "virtualservices"},
      {Kind::kDestinationRule, "networking.istio.io", "v1", "destinationrules"},
      {Kind::kEnvoyFilter, "networking.istio.io", "v1alpha3", "envoyfilters"},
      {Kind::kSidecar, "networking.istio.io", "v1", "sidecars"},
      {Kind::kWasmPlugin, "extensions.istio.io", "v1alpha1", "wasmplugins"},
      // network-policy-blocks-hbone judges an enrollment against the namespace's policies.
      {Kind::kNetworkPolicy, "networking.k8s.io", "v1", "networkpolicies"},
  };
  return kResources;
}

namespace {

// Parses JSON, dropping while parsing the two fields that dominate real objects and that no
// rule reads: metadata.managedFields and the last-applied-configuration annotation (a full
// copy of the object). Returns a discarded value on malformed input; never throws.
json parseFiltered(std::string_view text) {
  static const json::parser_callback_t kFilter = [](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && parsed.is_string()) {
      const auto& key = parsed.get_ref<const std::string&>();
      return key != "managedFields" && key != "kubectl.kubernetes.io/last-applied-configuration";
    }
    return true;
  };
  return json::parse(text.begin(), text.end(), kFilter, /*allow_exceptions=*/false);
}

std::string stringField(const json& j, const char* key) {
  if (!j.is_object()) {
    return {};
  }
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const json& metadataOf(const json& obj) {
  static const json kEmpty = json::object();
  if (!obj.is_object()) {
    return kEmpty;
  }
  auto it = obj.find("metadata");
  return it != obj.end() && it->is_object() ? *it : kEmpty;
}

// Returns the message of a Status body ("" when the body is not a Status).
std::string statusMessage(const std::string& body) {
  json status = json::parse(body, nullptr, false);
  std::string msg = stringField(status, "message");
  return msg.empty() ? body.substr(0, 200) : msg;
}

// Labels rules read on objects other than Namespaces are all in Istio's domains
// (istio.io/use-waypoint, istio.io/waypoint-for, ...). Keeping only those is what lets 100k
// objects fit in a few tens of MiB: chart and app labels are most of a Service's metadata.
bool ruleLabel(std::string_view key) {
  auto slash = key.find('/');
  if (slash == std::string_view::npos) {
    return false;
  }
  std::string_view prefix = key.substr(0, slash);
  return prefix == "istio.io" || prefix.ends_with(".istio.io");
}

void compactLabels(AnyObject& obj) {
  if (kindOf(obj) == Kind::kNamespace) {
    return;  // allowedRoutes namespace selectors may use any Namespace label
  }
  Labels& labels = metaOf(obj).labels;
  size_t keep = 0;
  for (const auto& kv : labels.items()) {
    keep += ruleLabel(kv.first) ? 1 : 0;
  }
  if (keep == labels.size()) {
    return;
  }
  std::vector<std::pair<std::string, std::string>> kept;
  kept.reserve(keep);
  for (const auto& kv : labels.items()) {
    if (ruleLabel(kv.first)) {
      kept.push_back(kv);
    }
  }
  labels = Labels(std::move(kept));
}

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
      : initial_(initial), max_(max), rng_(std::random_device{}()) {}
  // Returns the next delay: doubling from `initial` up to `max`, with "equal jitter" (a random
  // point in the upper half) so that replicas and kinds do not reconnect in lockstep.
  std::chrono::milliseconds next() {
    auto base = initial_ * (int64_t{1} << std::min(attempt_, 20));
    base = std::min<std::chrono::milliseconds>(base, max_);
    ++attempt_;
    std::uniform_int_distribution<int64_t> half(base.count() / 2, base.count());
    return std::chrono::milliseconds(half(rng_));
  }
  void reset() { attempt_ = 0; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  int attempt_ = 0;
  std::mt19937_64 rng_;
};

// One change for the publisher, in the order the kind's loop produced it.
struct Update {
  enum class Type { kReplace, kPut, kRemove, kMissing };
  Type type;
  Kind kind;
  std::vector<AnyObject> objects;   // kReplace
  std::optional<AnyObject> object;  // kPut
  ObjectKey key;                    // kRemove
};

enum class Outcome { kOk, kEnded, kGone, kMissing, kUnauthorized, kError, kStopped };

}  // namespace

class KubeWatch::Impl {
 public:
  Impl(KubeConfig config, StateStore& store, prometheus::Registry& registry,
       KubeWatchOptions options);

  Result<bool> start();
  void stop();
  bool ready() const { return ready_.load(); }
  WatchStatus status(Kind kind) const;

 private:
  class Worker;
  friend class Worker;

  void push(Update update);
  bool stopping() const { return stopping_.load(); }
  // Waits for `d` or until stop; returns false when stopping.
  bool sleepFor(std::chrono::milliseconds d);
  void publisherLoop();
  void apply(std::deque<Update>& batch);
  void refreshGauges(bool counts);
  void touch(Kind kind);

  KubeConfig config_;
  StateStore& store_;
  KubeWatchOptions options_;
  std::shared_ptr<const ApiCredentials> creds_;

  std::atomic<bool> stopping_{false};
  std::atomic<bool> ready_{false};
  bool started_ = false;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;

  std::mutex decode_mu_;  // one list page's JSON document in memory at a time

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Update> queue_;
  std::shared_ptr<const Snapshot> working_ = Snapshot::empty();  // publisher thread only
  std::array<bool, kKindCount> initial_done_{};                  // publisher thread only

  std::vector<std::unique_ptr<Worker>> workers_;
  std::thread publisher_;

  std::array<std::atomic<int64_t>, kKindCount> last_event_steady_ns_{};
  std::array<std::atomic<int64_t>, kKindCount> last_event_unix_s_{};
  prometheus::Family<prometheus::Gauge>& objects_family_;
  prometheus::Family<prometheus::Counter>& restarts_family_;
  prometheus::Family<prometheus::Gauge>& age_family_;
  prometheus::Family<prometheus::Gauge>& timestamp_family_;
  std::array<prometheus::Gauge*, kKindCount> objects_gauge_{};
  std::array<prometheus::Counter*, kKindCount> restarts_counter_{};
  std::array<prometheus::Gauge*, kKindCount> age_gauge_{};
  std::array<prometheus::Gauge*, kKindCount> timestamp_gauge_{};
};

// The list/watch loop of one kind, on its own thread with its own connection.
class KubeWatch::Impl::Worker {
 public:
  Worker(Impl& owner, const WatchedResource& resource)
      : owner_(owner),
        res_(resource),
        client_(owner.config_, owner.creds_, owner.options_.connect_timeout),
        backoff_(owner.options_.backoff_initial, owner.options_.backoff_max),
        rng_(std::random_device{}()) {}

  void start() {
    thread_ = std::thread([this] { run(); });
  }
  // Interrupts the request in flight until the thread has noticed the stop, then joins it.
  void stopAndJoin() {
    std::unique_lock<std::mutex> lock(owner_.stop_mu_);
    while (!done_) {
      lock.unlock();
      client_.interrupt();
      lock.lock();
      owner_.stop_cv_.wait_for(lock, std::chrono::milliseconds(20), [&] { return done_; });
    }
    lock.unlock();
    thread_.join();
  }
  WatchStatus status() const {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }

 private:
  void run();
  Outcome list();
  Outcome watch();
  bool handleEvent(std::string_view line, Outcome& verdict, std::string& error);
  std::optional<AnyObject> decode(json& item);
  void setError(std::string error) {
    std::lock_guard<std::mutex> lock(mu_);
    status_.last_error = std::move(error);
  }
  void setResourceVersion(std::string rv) {
    std::lock_guard<std::mutex> lock(mu_);
    status_.resource_version = std::move(rv);
  }
  std::string resourceVersion() const {
    std::lock_guard<std::mutex> lock(mu_);
    return status_.resource_version;
  }
  void countRestart(const std::string& why);

  Impl& owner_;
  const WatchedResource& res_;
  ApiClient client_;
  Backoff backoff_;
  std::mt19937 rng_;
  std::thread thread_;
  bool done_ = false;  // guarded by owner_.stop_mu_
  mutable std::mutex mu_;
  WatchStatus status_;
  bool published_missing_ = false;
};

std::optional<AnyObject> KubeWatch::Impl::Worker::decode(json& item) {
  // Items of built-in lists carry no apiVersion/kind (the List has them); CRD items and watch
  // event objects do.
  if (!item.contains("apiVersion")) {
    item["apiVersion"] = res_.apiVersion();
  }
  if (!item.contains("kind")) {
    item["kind"] = std::string(kindName(res_.kind));
  }
  auto decoded = decodeObject(item);
  if (!decoded.ok()) {
    // A malformed object must not block the others; the apiserver's own validation makes
    // this rare (e.g. a CRD without a schema).
    spdlog::warn("watch {}: skipping object: {}", kindName(res_.kind), decoded.error());
    return std::nullopt;
  }
  if (!decoded->has_value()) {
    return std::nullopt;
  }
  AnyObject obj = std::move(**decoded);
  if (owner_.options_.compact_labels) {
    compactLabels(obj);
  }
  return obj;
}

Outcome KubeWatch::Impl::Worker::list() {
  std::vector<AnyObject> objects;
  std::string cont;
  std::string rv;
  do {
    std::string target = res_.path() + "?limit=" + std::to_string(owner_.options_.page_size);
    if (!cont.empty()) {
      target += "&continue=" + queryEscape(cont);
    }
    ApiResponse r = client_.get(target, owner_.options_.list_read_timeout);
    if (owner_.stopping()) {
      return Outcome::kStopped;
    }
    if (r.status == 0) {
      setError("list " + res_.path() + ": " + r.error);
      return Outcome::kError;
    }
    if (r.status == 404 && cont.empty()) {
      return Outcome::kMissing;
    }
    if (r.status != 200) {
      setError("list " + res_.path() + ": HTTP " + std::to_string(r.status) + ": " +
               statusMessage(r.body));
      // 410: the continue token expired (~5 min on etcd); the caller starts a new list.
      return r.status == 410 ? Outcome::kGone
                             : (r.status == 401 ? Outcome::kUnauthorized : Outcome::kError);
    }
    std::lock_guard<std::mutex> gate(owner_.decode_mu_);
    json page = parseFiltered(r.body);
    std::string().swap(r.body);
    const json& meta = metadataOf(page);
    auto items = page.is_object() ? page.find("items") : page.end();
    if (page.is_discarded() || !page.is_object() ||
        (items != page.end() && !items->is_array() && !items->is_null())) {
      setError("list " + res_.path() + ": the response is not a List");
      return Outcome::kError;
    }
    rv = stringField(meta, "resourceVersion");
    cont = stringField(meta, "continue");
    if (items != page.end() && items->is_array()) {
      objects.reserve(objects.size() + items->size());
      for (json& item : *items) {
        if (auto obj = decode(item)) {
          objects.push_back(std::move(*obj));
        }
      }
    }
  } while (!cont.empty());
  objects.shrink_to_fit();
  owner_.push(Update{Update::Type::kReplace, res_.kind, std::move(objects), std::nullopt, {}});
  {
    std::lock_guard<std::mutex> lock(mu_);
    status_.resource_version = rv;
    status_.lists++;
    status_.listed = true;
    status_.missing = false;
  }
  owner_.touch(res_.kind);
  return Outcome::kOk;
}

bool KubeWatch::Impl::Worker::handleEvent(std::string_view line, Outcome& verdict,
                                          std::string& error) {
  json event = parseFiltered(line);
  if (event.is_discarded() || !event.is_object()) {
    error = "malformed watch event";
    verdict = Outcome::kError;
    return false;
  }
  const std::string type = stringField(event, "type");
  auto it = event.find("object");
  if (it == event.end() || !it->is_object()) {
    error = "watch event without an object";
    verdict = Outcome::kError;
    return false;
  }
  json& obj = *it;
  if (type == "ERROR") {
    // Usually a Status with code 410 "too old resource version" (reason Expired or Gone).
    const int code = obj.value("code", 0);
    const std::string reason = stringField(obj, "reason");
    error =
        "watch ERROR " + std::to_string(code) + " " + reason + ": " + stringField(obj, "message");
    verdict =
        (code == 410 || reason == "Expired" || reason == "Gone") ? Outcome::kGone : Outcome::kError;
    return false;
  }
  std::string rv = stringField(metadataOf(obj), "resourceVersion");
  if (type == "ADDED" || type == "MODIFIED") {
    if (auto decoded = decode(obj)) {
      owner_.push(Update{Update::Type::kPut, res_.kind, {}, std::move(decoded), {}});
    }
  } else if (type == "DELETED") {
    const json& meta = metadataOf(obj);
    ObjectKey key{res_.kind, stringField(meta, "namespace"), stringField(meta, "name")};
    if (res_.kind == Kind::kNamespace || res_.kind == Kind::kGatewayClass) {
      key.ns.clear();
    }
    owner_.push(Update{Update::Type::kRemove, res_.kind, {}, std::nullopt, std::move(key)});
  } else if (type != "BOOKMARK") {
    spdlog::warn("watch {}: ignoring event type \"{}\"", kindName(res_.kind), type);
  }
  if (!rv.empty()) {
    setResourceVersion(std::move(rv));
  }
  owner_.touch(res_.kind);
  return true;
}

Outcome KubeWatch::Impl::Worker::watch() {
  const KubeWatchOptions& opt = owner_.options_;
  std::uniform_int_distribution<int> timeout_dist(
      opt.watch_timeout_min_s, std::max(opt.watch_timeout_min_s, opt.watch_timeout_max_s));
  const int timeout = timeout_dist(rng_);
  const std::string target = res_.path() + "?watch=true&allowWatchBookmarks=true" +
                             "&resourceVersion=" + queryEscape(resourceVersion()) +
                             "&timeoutSeconds=" + std::to_string(timeout);
  constexpr size_t kMaxEventBytes = 64 << 20;
  std::string buf;
  size_t scanned = 0;
  std::optional<Outcome> verdict;
  std::string error;
  const auto began = Clock::now();
  bool any_event = false;
  // Events are newline-delimited, but chunk boundaries are not event boundaries: keep the
  // unterminated tail for the next chunk.
  auto on_data = [&](std::string_view data) {
    if (owner_.stopping()) {
      verdict = Outcome::kStopped;
      return false;
    }
    buf.append(data);
    size_t start = 0;
    for (;;) {
      size_t nl = buf.find('\n', std::max(start, scanned));
      if (nl == std::string::npos) {
        break;
      }
      std::string_view line(buf.data() + start, nl - start);
      start = nl + 1;
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
        continue;
      }
      Outcome v = Outcome::kOk;
      any_event = true;
      if (!handleEvent(line, v, error)) {
        verdict = v;
        return false;
      }
    }
    buf.erase(0, start);
    scanned = buf.size();
    if (buf.size() > kMaxEventBytes) {
      error = "watch event larger than 64 MiB";
      verdict = Outcome::kError;
      return false;
    }
    return true;
  };
  // The read timeout outlasts timeoutSeconds so that the server, not us, ends a quiet watch.
  ApiResponse r = client_.stream(target, std::chrono::seconds(timeout + 30), on_data);
  if (owner_.stopping()) {
    return Outcome::kStopped;
  }
  if (verdict) {
    setError(error);
    return *verdict;
  }
  if (r.status == 0 || (r.status >= 200 && r.status < 300 && !r.error.empty())) {
    setError("watch " + res_.path() + ": connection lost: " + r.error);
    return Outcome::kError;
  }
  if (r.status != 200) {
    setError("watch " + res_.path() + ": HTTP " + std::to_string(r.status) + ": " +
             statusMessage(r.body));
    switch (r.status) {
      case 410:
        return Outcome::kGone;
      case 404:
        return Outcome::kMissing;
      case 401:
        return Outcome::kUnauthorized;
      default:
        return Outcome::kError;
    }
  }
  if (buf.find_first_not_of(" \t\r\n") != std::string::npos) {
    setError("watch " + res_.path() + ": stream ended inside an event");
    return Outcome::kError;
  }
  // A clean end (timeoutSeconds): resume at once, unless the server ends watches immediately.
  if (!any_event && Clock::now() - began < std::chrono::seconds(1)) {
    return Outcome::kError;
  }
  return Outcome::kEnded;
}

void KubeWatch::Impl::Worker::countRestart(const std::string& why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    status_.restarts++;
  }
  owner_.restarts_counter_[static_cast<int>(res_.kind)]->Increment();
  spdlog::info("watch {}: restarting: {}", kindName(res_.kind), why);
}

void KubeWatch::Impl::Worker::run() {
  bool need_list = true;
  bool missing_reported = false;
  while (!owner_.stopping()) {
    if (need_list) {
      Outcome o = list();
      if (o == Outcome::kStopped) {
        break;
      }
      if (o == Outcome::kOk) {
        need_list = false;
        backoff_.reset();
        published_missing_ = false;
      } else if (o == Outcome::kMissing) {
        if (!missing_reported) {
          spdlog::warn(
              "{} is not served (404): its CRD is probably not installed; retrying "
              "every {} s without holding readiness back",
              res_.path(), owner_.options_.missing_retry.count() / 1000.0);
          missing_reported = true;
        }
        {
          std::lock_guard<std::mutex> lock(mu_);
          status_.missing = true;
          status_.listed = true;
          status_.last_error = "not served (404)";
        }
        if (!published_missing_) {
          owner_.push(Update{Update::Type::kMissing, res_.kind, {}, std::nullopt, {}});
          published_missing_ = true;
        }
        if (!owner_.sleepFor(owner_.options_.missing_retry)) {
          break;
        }
        continue;
      } else {
        countRestart(status().last_error);
        if (!owner_.sleepFor(backoff_.next())) {
          break;
        }
        continue;
      }
    }
    Outcome o = watch();
    switch (o) {
      case Outcome::kStopped:
        break;
      case Outcome::kEnded:
        backoff_.reset();
        continue;
      case Outcome::kGone:
      case Outcome::kMissing:
        need_list = true;  // relist and replace: deletions in the gap are not replayed
        [[fallthrough]];
      default:
        countRestart(status().last_error);
        if (!owner_.sleepFor(backoff_.next())) {
          break;
        }
        continue;
    }
    break;
  }
  std::lock_guard<std::mutex> lock(owner_.stop_mu_);
  done_ = true;
  owner_.stop_cv_.notify_all();
}

KubeWatch::Impl::Impl(KubeConfig config, StateStore& store, prometheus::Registry& registry,
                      KubeWatchOptions options)
    : config_(std::move(config)),
      store_(store),
      options_(options),
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
                            .Register(registry)) {
  for (const WatchedResource& r : watchedResources()) {
    const int k = static_cast<int>(r.kind);
    const std::string name(kindName(r.kind));
    objects_gauge_[k] = &objects_family_.Add({{"kind", name}});
    restarts_counter_[k] = &restarts_family_.Add({{"kind", name}});
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
  spdlog::info("watch: listing and watching {} kinds from {} ({})", watchedResources().size(),
               config_.url(), config_.source);
  publisher_ = std::thread([this] { publisherLoop(); });
  for (const WatchedResource& r : watchedResources()) {
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
}

WatchStatus KubeWatch::Impl::status(Kind kind) const {
  for (size_t i = 0; i < workers_.size(); ++i) {
    if (watchedResources()[i].kind == kind) {
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
  for (Update& u : batch) {
    const int k = static_cast<int>(u.kind);
    switch (u.type) {
      case Update::Type::kReplace:
        flush();
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
      apply(batch);
      batch.clear();
      bool became_ready = false;
      if (!ready_.load()) {
        bool all = true;
        for (const WatchedResource& r : watchedResources()) {
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
        // List pages were parsed on the kinds' threads (one malloc arena each); hand the freed
        // pages back to the OS instead of keeping the peak resident.
        malloc_trim(0);
      }
      refreshGauges(true);
    } else {
      refreshGauges(false);
    }
  }
}

void KubeWatch::Impl::refreshGauges(bool counts) {
  if (counts && ready_.load()) {
    for (const WatchedResource& r : watchedResources()) {
      objects_gauge_[static_cast<int>(r.kind)]->Set(static_cast<double>(working_->count(r.kind)));
    }
  }
  const int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
  for (const WatchedResource& r : watchedResources()) {
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
}

KubeWatch::KubeWatch(KubeConfig config, StateStore& store, prometheus::Registry& registry,
                     KubeWatchOptions options)
    : impl_(std::make_unique<Impl>(std::move(config), store, registry, options)) {}

KubeWatch::~KubeWatch() { stop(); }

Result<bool> KubeWatch::start() { return impl_->start(); }
void KubeWatch::stop() { impl_->stop(); }
bool KubeWatch::ready() const { return impl_->ready(); }
WatchStatus KubeWatch::status(Kind kind) const { return impl_->status(kind); }

}  // namespace ambient_guard
