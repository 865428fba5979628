// The webhook served in-process for end-to-end tests: the default rules over a fixed cluster
// state, a configuration, optionally an audit log, on 127.0.0.1 (port 0), from a background
// thread. Stopped (gracefully, as on SIGTERM) when destroyed.
#pragma once

#include <memory>
#include <optional>
#include <thread>

#include "audit/audit_log.h"
#include "kube/state_store.h"
#include "model/cluster_state.h"
#include "rules/reviewer.h"
#include "webhook/admission_pipeline.h"
#include "webhook/config.h"
#include "webhook/enforcement.h"
#include "webhook/metrics.h"
#include "webhook/server.h"
#include "webhook/tls.h"

namespace ambient_guard::testing {

class RunningServer {
 public:
  // `options` host and port are replaced by 127.0.0.1:0.
  RunningServer(CertReloader& certs, std::shared_ptr<const Snapshot> state, Config config = {},
                ServerOptions options = {}, std::optional<AuditLogOptions> audit = std::nullopt);
  ~RunningServer();
  RunningServer(const RunningServer&) = delete;
  RunningServer& operator=(const RunningServer&) = delete;

  // Shuts the server down and waits for serve() to return. Idempotent.
  void stop();

  int port() const { return port_; }
  StateStore& store() { return store_; }
  Metrics& metrics() { return metrics_; }
  AdmissionPipeline& pipeline() { return pipeline_; }
  AuditLog* audit() { return audit_.get(); }

 private:
  StateStore store_;
  Reviewer reviewer_;
  Enforcer enforcer_;
  Metrics metrics_;
  std::unique_ptr<AuditLog> audit_;
  AdmissionPipeline pipeline_;
  WebhookServer server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace ambient_guard::testing
