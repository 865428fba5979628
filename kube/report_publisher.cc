#include "kube/report_publisher.h"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include "kube/kube_client.h"

namespace ambient_guard {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

class ReportPublisher::Impl {
 public:
  Impl(KubeConfig config, StateStore& store, prometheus::Registry& registry, BuildFn build,
       ReportPublisherOptions options)
      : config_(std::move(config)),
        store_(store),
        build_(std::move(build)),
        options_(std::move(options)),
        scan_seconds_(prometheus::BuildHistogram()
                          .Name("ambient_guard_policy_report_scan_seconds")
                          .Help("Time to build every PolicyReport from the cluster snapshot.")
                          .Register(registry)
                          .Add({}, prometheus::Histogram::BucketBoundaries{
                                       0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
                                       5, 10, 30})),
        writes_(prometheus::BuildCounter()
                    .Name("ambient_guard_policy_report_writes_total")
                    .Help("PolicyReport writes to the API server, by result (applied, deleted, "
                          "error); unchanged reports are not written.")
                    .Register(registry)),
        applied_(writes_.Add({{"result", "applied"}})),
        deleted_(writes_.Add({{"result", "deleted"}})),
        errored_(writes_.Add({{"result", "error"}})),
        leader_gauge_(prometheus::BuildGauge()
                          .Name("ambient_guard_policy_report_leader")
                          .Help("1 while this replica holds the PolicyReport Lease.")
                          .Register(registry)
                          .Add({})) {}

  Result<bool> start() {
    auto creds = ApiClient::credentials(config_);
    if (!creds.ok()) {
      return Error{creds.error()};
    }
    client_ = std::make_unique<ApiClient>(config_, *creds);
    elector_ = std::make_unique<LeaderElector>(config_, *creds, options_.lease);
    thread_ = std::thread([this] { run(); });
    return true;
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) {
        return;
      }
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  void requestScan() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      scan_requested_ = true;
    }
    cv_.notify_all();
  }

  Stats stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    Stats s = stats_;
    s.leader = elector_ != nullptr && elector_->isLeader();
    return s;
  }

 private:
  void run();
  void scan();
  std::vector<std::string> discover();
  void loadExisting(const std::vector<std::string>& served);
  bool apply(const DesiredObject& o);
  bool remove(const std::string& path);
  void count(uint64_t Stats::*field) {
    std::lock_guard<std::mutex> lock(mu_);
    ++(stats_.*field);
  }

  KubeConfig config_;
  StateStore& store_;
  BuildFn build_;
  ReportPublisherOptions options_;
  prometheus::Histogram& scan_seconds_;
  prometheus::Family<prometheus::Counter>& writes_;
  prometheus::Counter& applied_;
  prometheus::Counter& deleted_;
  prometheus::Counter& errored_;
  prometheus::Gauge& leader_gauge_;

  std::unique_ptr<ApiClient> client_;
  std::unique_ptr<LeaderElector> elector_;
  std::thread thread_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool scan_requested_ = false;
  Stats stats_;

  // Loop thread only: object path → the body last applied there (the content written), and
  // the paths of objects of ours that exist (written or found), for stale deletion.
  std::map<std::string, std::string> written_;
  std::set<std::string> existing_;
  bool warned_no_api_ = false;
};

std::vector<std::string> ReportPublisher::Impl::discover() {
  std::vector<std::string> served;
  for (const ReportCollection& api : options_.apis) {
    ApiResponse r = client_->get("/apis/" + api.group_version, options_.request_timeout);
    if (r.ok()) {
      served.push_back(api.group_version);
    } else if (r.status != 404) {
      spdlog::warn("policy reports: discovery of {}: {}", api.group_version,
                   r.error.empty() ? "HTTP " + std::to_string(r.status) : r.error);
    }
  }
  return served;
}

void ReportPublisher::Impl::loadExisting(const std::vector<std::string>& served) {
  for (const ReportCollection& api : options_.apis) {
    if (std::find(served.begin(), served.end(), api.group_version) == served.end()) {
      continue;
    }
    for (const std::string& plural : api.plurals) {
      // Our own objects only, by label: this is not a scan of the cluster.
      ApiResponse r = client_->get("/apis/" + api.group_version + "/" + plural +
                                       "?labelSelector=" + queryEscape(options_.label_selector),
                                   options_.request_timeout);
      if (!r.ok()) {
        spdlog::warn("policy reports: list {}: {}", plural,
                     r.error.empty() ? "HTTP " + std::to_string(r.status) : r.error);
        continue;
      }
      json list = json::parse(r.body, nullptr, false);
      if (!list.is_object() || !list["items"].is_array()) {
        continue;
      }
      for (const json& item : list["items"]) {
        const json& meta = item.value("metadata", json::object());
        const std::string ns = meta.value("namespace", "");
        const std::string name = meta.value("name", "");
        std::string path = "/apis/" + api.group_version + "/";
        if (!ns.empty()) {
          path += "namespaces/" + ns + "/";
        }
        existing_.insert(path + plural + "/" + name);
      }
    }
  }
}

bool ReportPublisher::Impl::apply(const DesiredObject& o) {
  const std::string path = o.collection + "/" + o.name;
  ApiResponse r = client_->send(
      "PATCH",
      path + "?fieldManager=" + queryEscape(options_.field_manager) + "&force=true",
      o.body, "application/apply-patch+yaml", options_.request_timeout);
  if (!r.ok()) {
    errored_.Increment();
    count(&Stats::errors);
    spdlog::warn("policy reports: apply {}: {} {}", path,
                 r.error.empty() ? "HTTP " + std::to_string(r.status) : r.error,
                 r.body.substr(0, 300));
    return false;
  }
  applied_.Increment();
  count(&Stats::applied);
  return true;
}

bool ReportPublisher::Impl::remove(const std::string& path) {
  ApiResponse r = client_->send("DELETE", path, "", "", options_.request_timeout);
  if (!r.ok() && r.status != 404) {
    errored_.Increment();
    count(&Stats::errors);
    spdlog::warn("policy reports: delete {}: {}", path,
                 r.error.empty() ? "HTTP " + std::to_string(r.status) : r.error);
    return false;
  }
  deleted_.Increment();
  count(&Stats::deleted);
  return true;
}

void ReportPublisher::Impl::scan() {
  const std::vector<std::string> served = discover();
  if (served.empty()) {
    if (!warned_no_api_) {
      spdlog::warn("policy reports: no report API is served (install the PolicyReport CRD); "
                   "looking again at every scan");
      warned_no_api_ = true;
    }
    return;
  }
  warned_no_api_ = false;
  std::shared_ptr<const Snapshot> snapshot = store_.current();
  const auto t0 = Clock::now();
  std::vector<DesiredObject> desired = build_(*snapshot, served);
  scan_seconds_.Observe(std::chrono::duration<double>(Clock::now() - t0).count());
  std::set<std::string> wanted;
  size_t applied = 0;
  for (const DesiredObject& o : desired) {
    const std::string path = o.collection + "/" + o.name;
    wanted.insert(path);
    auto it = written_.find(path);
    if (it != written_.end() && it->second == o.body) {
      count(&Stats::unchanged);
      continue;
    }
    if (apply(o)) {
      written_[path] = o.body;
      existing_.insert(path);
      ++applied;
    } else {
      written_.erase(path);
    }
  }
  size_t deleted = 0;
  for (auto it = existing_.begin(); it != existing_.end();) {
    if (wanted.count(*it) != 0) {
      ++it;
      continue;
    }
    if (remove(*it)) {
      written_.erase(*it);
      it = existing_.erase(it);
      ++deleted;
    } else {
      ++it;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.scans;
  }
  if (applied > 0 || deleted > 0) {
    spdlog::info("policy reports: {} object(s) desired, {} applied, {} stale deleted",
                 desired.size(), applied, deleted);
  }
}

void ReportPublisher::Impl::run() {
  auto next_election = Clock::now();
  auto next_resync = Clock::now();
  bool was_leader = false;
  bool dirty = true;  // the first scan after becoming leader writes everything
  Clock::time_point not_before{};
  Clock::time_point first_change{};
  Clock::time_point last_change{};
  std::shared_ptr<const Snapshot> seen = store_.current();
  while (true) {
    bool requested = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, options_.tick, [&] { return stopping_ || scan_requested_; });
      if (stopping_) {
        break;
      }
      requested = scan_requested_;
      scan_requested_ = false;
    }
    const auto now = Clock::now();
    if (now >= next_election) {
      const bool leader = elector_->tryAcquireOrRenew(now);
      next_election = now + options_.election_period;
      leader_gauge_.Set(leader ? 1 : 0);
      if (leader != was_leader) {
        spdlog::info("policy reports: {} the Lease {}/{} as {}",
                     leader ? "acquired" : "lost", options_.lease.lease_namespace,
                     options_.lease.name, elector_->identity());
        written_.clear();
        existing_.clear();
        if (leader) {
          loadExisting(discover());
          dirty = true;
          first_change = last_change = Clock::time_point{};
        }
        was_leader = leader;
      } else if (!elector_->lastError().empty()) {
        spdlog::warn("policy reports: leader election: {}", elector_->lastError());
      }
    }
    std::shared_ptr<const Snapshot> current = store_.current();
    if (current != seen) {
      seen = current;
      if (!dirty) {
        first_change = now;
      }
      dirty = true;
      last_change = now;
    }
    if (!was_leader || !store_.ready()) {
      continue;
    }
    const bool settled = dirty && now - last_change >= options_.debounce;
    const bool overdue = dirty && first_change != Clock::time_point{} &&
                         now - first_change >= options_.max_delay;
    const bool initial = dirty && first_change == Clock::time_point{};
    if (now < not_before && !requested) {
      continue;
    }
    if (requested || settled || overdue || initial || now >= next_resync) {
      dirty = false;
      first_change = Clock::time_point{};
      next_resync = now + options_.resync;
      scan();
      // Under constant churn a large cluster's scans must not take a core: wait at least
      // `busy_factor` times the last scan's duration before the next one.
      const auto took = Clock::now() - now;
      not_before = Clock::now() + took * options_.busy_factor;
    }
  }
  elector_->release();
  leader_gauge_.Set(0);
}

ReportPublisher::ReportPublisher(KubeConfig config, StateStore& store,
                                 prometheus::Registry& registry, BuildFn build,
                                 ReportPublisherOptions options)
    : impl_(std::make_unique<Impl>(std::move(config), store, registry, std::move(build),
                                   std::move(options))) {}

ReportPublisher::~ReportPublisher() { stop(); }

Result<bool> ReportPublisher::start() { return impl_->start(); }
void ReportPublisher::stop() { impl_->stop(); }
void ReportPublisher::requestScan() { impl_->requestScan(); }
ReportPublisher::Stats ReportPublisher::stats() const { return impl_->stats(); }

}  // namespace ambient_guard
