// ApiClient: one HTTPS connection to the Kubernetes API server (cpp-httplib over OpenSSL).
//
// Used by one thread at a time for GETs (lists), streamed GETs (watches) and writes (server-side
// apply, Lease updates); interrupt() may be
// called from any thread and shuts down the request in flight. Each request carries the current
// bearer token from the config's TokenSource; a 401 invalidates it so the next request re-reads
// the token file. Before each request the client re-reads the config's CA file when it changed
// (the kube-root-ca.crt ConfigMap rotates it); the new CA applies from the next connection. Each
// client has its own certificate store: OpenSSL stores are not safe to initialize from several
// threads at once.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "kube/kube_config.h"
#include "model/result.h"

namespace httplib {
class SSLClient;
}  // namespace httplib

namespace ambient_guard {

struct ApiResponse {
  int status = 0;     // HTTP status; 0 when the request failed before a response
  std::string body;   // the body (for streams: only when the status is not 2xx)
  std::string error;  // transport error ("connection refused", "read failed"), or ""
  bool ok() const { return status >= 200 && status < 300 && error.empty(); }
};

// TLS material parsed once from a KubeConfig and shared by every ApiClient made from it.
class ApiCredentials;

class ApiClient {
 public:
  // Returns the parsed TLS material of `config`, or an error naming what does not parse.
  static Result<std::shared_ptr<const ApiCredentials>> credentials(const KubeConfig& config);

  // `config` (and its TokenSource) must outlive the client.
  ApiClient(KubeConfig& config, std::shared_ptr<const ApiCredentials> creds,
            std::chrono::seconds connect_timeout = std::chrono::seconds(10));
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // GET base_path + target; returns the whole body.
  ApiResponse get(const std::string& target, std::chrono::seconds read_timeout);
  // GET base_path + target, passing body bytes to on_data as they arrive while the status is
  // 2xx; on_data returns false to end the request early (the result then has error "canceled").
  ApiResponse stream(const std::string& target, std::chrono::seconds read_timeout,
                     const std::function<bool(std::string_view)>& on_data);
  // Sends `method` (PATCH, PUT, POST, DELETE) to base_path + target with `body` of
  // `content_type` (nothing when the body is empty); returns the whole response body.
  ApiResponse send(std::string_view method, const std::string& target, const std::string& body,
                   const std::string& content_type, std::chrono::seconds read_timeout);
  // Shuts down the request in flight, if any. Thread-safe; the client stays usable.
  void interrupt();

 private:
  // Builds client_ from creds_.
  void connectClient();
  // Re-reads the CA file when it changed since the last look.
  void refreshCa();

  KubeConfig& config_;
  std::chrono::seconds connect_timeout_;
  std::shared_ptr<const ApiCredentials> creds_;
  std::string ca_stamp_;  // fileStamp of config_.ca_file when creds_ were built
  std::mutex client_mu_;  // guards replacing client_ against interrupt()
  std::unique_ptr<httplib::SSLClient> client_;
};

// Returns `s` percent-encoded for a query parameter value (RFC 3986 unreserved kept).
std::string queryEscape(std::string_view s);

}  // namespace ambient_guard
