#include "kube/lease.h"

#include <unistd.h>

#include <ctime>

#include <nlohmann/json.hpp>

namespace ambient_guard {

using nlohmann::json;

std::string microTime(std::chrono::system_clock::time_point now) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch());
  const std::time_t secs = static_cast<std::time_t>(us.count() / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  std::snprintf(frac, sizeof(frac), ".%06lldZ", static_cast<long long>(us.count() % 1000000));
  return std::string(buf) + frac;
}

namespace {

std::string defaultIdentity() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) {
    host[0] = '\0';
  }
  return std::string(host[0] != '\0' ? host : "ambient-guard") + "_" + std::to_string(getpid());
}

}  // namespace

LeaderElector::LeaderElector(KubeConfig& config, std::shared_ptr<const ApiCredentials> creds,
                             LeaseOptions options)
    : options_(std::move(options)),
      client_(std::make_unique<ApiClient>(config, std::move(creds))) {
  if (options_.identity.empty()) {
    options_.identity = defaultIdentity();
  }
}

LeaderElector::~LeaderElector() = default;

std::string LeaderElector::leasePath(bool with_name) const {
  std::string p = "/apis/coordination.k8s.io/v1/namespaces/" +
                  queryEscape(options_.lease_namespace) + "/leases";
  if (with_name) {
    p += "/" + queryEscape(options_.name);
  }
  return p;
}

bool LeaderElector::update(const std::string& body) {
  ApiResponse r = client_->send("PUT", leasePath(true), body, "application/json",
                                options_.request_timeout);
  if (!r.ok()) {
    last_error_ = r.error.empty() ? "update Lease: HTTP " + std::to_string(r.status)
                                  : "update Lease: " + r.error;
    return false;
  }
  return true;
}

bool LeaderElector::tryAcquireOrRenew(Clock::time_point now) {
  const std::string stamp = microTime(std::chrono::system_clock::now());
  const int duration = static_cast<int>(options_.lease_duration.count());
  auto fail = [&](std::string error) {
    last_error_ = std::move(error);
    // Keep leading only while our last renewal still holds off every other candidate.
    const bool still = leader_.load() && now - renewed_at_ < options_.lease_duration;
    leader_.store(still, std::memory_order_release);
    return still;
  };
  ApiResponse got = client_->get(leasePath(true), options_.request_timeout);
  if (got.status == 404) {
    json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", options_.name}, {"namespace", options_.lease_namespace}}},
                  {"spec",
                   {{"holderIdentity", options_.identity},
                    {"leaseDurationSeconds", duration},
                    {"acquireTime", stamp},
                    {"renewTime", stamp},
                    {"leaseTransitions", 0}}}};
    ApiResponse created = client_->send("POST", leasePath(false), lease.dump(), "application/json",
                                        options_.request_timeout);
    if (!created.ok()) {
      return fail("create Lease: " + (created.error.empty()
                                          ? "HTTP " + std::to_string(created.status) + " " +
                                                created.body.substr(0, 200)
                                          : created.error));
    }
    renewed_at_ = now;
    observed_at_ = now;
    observed_holder_ = options_.identity;
    leader_.store(true, std::memory_order_release);
    last_error_.clear();
    return true;
  }
  if (!got.ok()) {
    return fail("get Lease: " + (got.error.empty() ? "HTTP " + std::to_string(got.status) : got.error));
  }
  json lease = json::parse(got.body, nullptr, false);
  if (!lease.is_object() || !lease.contains("metadata")) {
    return fail("get Lease: not a Lease object");
  }
  json& spec = lease["spec"];
  if (!spec.is_object()) {
    spec = json::object();
  }
  const std::string holder = spec.value("holderIdentity", "");
  const std::string renew = spec.value("renewTime", "");
  const std::string rv = lease["metadata"].value("resourceVersion", "");
  if (holder != observed_holder_ || renew != observed_renew_ || rv != observed_rv_) {
    observed_holder_ = holder;
    observed_renew_ = renew;
    observed_rv_ = rv;
    observed_at_ = now;
  }
  const int held_for = spec.value("leaseDurationSeconds", duration);
  const bool ours = holder == options_.identity;
  const bool expired = holder.empty() || now - observed_at_ >= std::chrono::seconds(held_for);
  if (!ours && !expired) {
    leader_.store(false, std::memory_order_release);
    last_error_.clear();
    return false;
  }
  transitions_ = spec.value("leaseTransitions", 0);
  if (!ours) {
    spec["acquireTime"] = stamp;
    spec["leaseTransitions"] = transitions_ + 1;
  }
  spec["holderIdentity"] = options_.identity;
  spec["leaseDurationSeconds"] = duration;
  spec["renewTime"] = stamp;
  // The resourceVersion read stays in metadata: a concurrent writer makes this a 409.
  if (!update(lease.dump())) {
    leader_.store(false, std::memory_order_release);
    return false;
  }
  renewed_at_ = now;
  observed_holder_ = options_.identity;
  leader_.store(true, std::memory_order_release);
  last_error_.clear();
  return true;
}

void LeaderElector::release() {
  if (!leader_.exchange(false)) {
    return;
  }
  ApiResponse got = client_->get(leasePath(true), options_.request_timeout);
  if (!got.ok()) {
    return;
  }
  json lease = json::parse(got.body, nullptr, false);
  if (!lease.is_object() || !lease["spec"].is_object() ||
      lease["spec"].value("holderIdentity", "") != options_.identity) {
    return;
  }
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  update(lease.dump());
}

}  // namespace ambient_guard
