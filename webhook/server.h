// The HTTPS server of `ambient-guard serve`: cpp-httplib's SSLServer with the settings the
// kube-apiserver needs (spec/admission-contract.md §2), the admission routes and the probes.
//
// Routes: POST /validate, POST /mutate, GET /healthz, GET /readyz (503 until the cluster state is
// ready, while it is stale, and while draining), GET /metrics. Connections are read under the
// limits and deadlines of connection.h; the admission paths are answered directly from the
// framed request (direct_response.h), the rest by cpp-httplib. A connection holds a worker thread
// (from a pool that grows to `max_connections`) for its handshake and while a request is read,
// processed or written; between requests it waits in a few epoll loop threads, which answer
// complete admission requests themselves. At most `max_connections` are open: past that, or
// when every worker is taken, idle connections are closed for new ones (those that never sent a
// request first). Keep-alive outlives the apiserver's 90 s idle connections.
// shutdown() (any thread, e.g. on SIGTERM) stops accepting, closes idle keep-alive connections,
// lets in-flight requests finish, and then serve() returns.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "webhook/admission_pipeline.h"
#include "webhook/metrics.h"
#include "model/result.h"
#include "kube/state_store.h"
#include "webhook/tls.h"

namespace ambient_guard {

struct ServerOptions {
  std::string host = "0.0.0.0";
  int port = 8443;  // 0 picks a free port (tests)
  // An UPDATE carries object and oldObject, each up to etcd's ~1.5 MiB, plus managedFields.
  size_t max_request_bytes = 8u << 20;
  // Above Go's 90 s IdleConnTimeout, so the apiserver never reuses a connection we just closed.
  std::chrono::seconds keep_alive_timeout{120};
  size_t keep_alive_max_requests = 1u << 30;  // effectively unlimited
  // A request, head and body, must arrive within this of its first byte (else 408).
  std::chrono::seconds read_timeout{10};
  std::chrono::seconds write_timeout{10};  // for each response
  std::chrono::milliseconds handshake_timeout{10000};      // TLS handshake, from accept
  std::chrono::milliseconds first_request_timeout{10000};  // new connection to first request
  size_t max_connections = 512;  // open connections, and worker threads
  // Mutual TLS: with a CA file, clients must present a certificate it signed; with names, its CN
  // or a DNS SAN must be one of them.
  std::string client_ca_file;
  std::vector<std::string> client_names;
  // How long shutdown() waits for in-flight requests before closing their connections. Below
  // Kubernetes' default terminationGracePeriodSeconds (30 s).
  std::chrono::milliseconds drain_timeout{25000};
};

// Tracks established TLS connections so shutdown can wake the idle ones. Internal to the server;
// declared here only so WebhookServer can own it.
class ConnectionRegistry;
class ClientPolicy;

class WebhookServer {
 public:
  // All references must outlive the server.
  WebhookServer(ServerOptions options, CertReloader& certs, const AdmissionPipeline& pipeline,
                Metrics& metrics, const StateStore& state);
  ~WebhookServer();
  WebhookServer(const WebhookServer&) = delete;
  WebhookServer& operator=(const WebhookServer&) = delete;

  // Binds the listening socket; returns the port (useful with port 0) or an error.
  Result<int> bind();
  // Serves until shutdown() and returns once every connection is closed. Call after bind().
  void serve();
  // Starts a graceful shutdown; returns immediately. Safe from any thread, idempotent.
  void shutdown();

  bool draining() const { return draining_.load(); }
  int port() const { return port_; }

 private:
  class Impl;
  std::atomic<bool> draining_{false};
  std::chrono::milliseconds drain_timeout_{25000};
  std::mutex reaper_mu_;
  std::thread reaper_;  // closes idle connections while draining
  std::string host_;
  std::atomic<size_t> backlog_{0};  // connections waiting for a worker
  std::unique_ptr<ConnectionRegistry> connections_;  // outlives impl_ (its SSL objects)
  std::unique_ptr<ClientPolicy> client_policy_;
  std::string setup_error_;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace ambient_guard
