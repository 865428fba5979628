// FakeApiServer: a Kubernetes API server for tests, speaking the real wire format over real TLS.
//
// It serves list and watch for any resource, cluster-wide (`/api/v1/<plural>`,
// `/apis/<group>/<version>/<plural>`) or in one namespace (`/api/v1/namespaces/<ns>/<plural>`,
// `/apis/<group>/<version>/namespaces/<ns>/<plural>`), narrowed by `fieldSelector=metadata.name=X`
// (other field selectors answer 400):
// - List: `limit`/`continue` pagination over a consistent snapshot, `metadata.resourceVersion`
//   and `metadata.continue`, items without apiVersion/kind for the core group (as the real
//   server encodes typed lists); an expired continue token answers 410.
// - Watch: `Transfer-Encoding: chunked`, newline-terminated `{"type":…,"object":…}` events from
//   the requested resourceVersion, BOOKMARKs on request, ERROR 410 (or HTTP 410) for versions
//   older than the last compaction, abrupt disconnects, and the end at `timeoutSeconds`.
//   By default every write is cut into several chunks at arbitrary points, so events straddle
//   chunk boundaries.
// - 404 for resources marked not served (a CRD that is not installed), 403 for resources marked
//   forbidden (RBAC does not grant them), 401 for a wrong token.
// - Single objects (`…/namespaces/<ns>/<plural>/<name>`, `…/<plural>/<name>`): GET; PATCH with
//   application/apply-patch+yaml (server-side apply: requires fieldManager, creates or replaces
//   the object); PUT (update, 409 on a stale metadata.resourceVersion); POST to the collection
//   (create, 409 when it exists); DELETE. Every write is recorded (writes()) and seen by
//   watchers. Discovery: GET /apis/<group>/<version> answers 200 for served group versions.
// Certificates (CA, server for 127.0.0.1/localhost, client) are generated in memory. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace ambient_guard::testing {

struct TestPki {
  std::string ca_pem;
  std::string server_cert_pem;  // SANs: IP 127.0.0.1, IP ::1, DNS localhost
  std::string server_key_pem;
  std::string client_cert_pem;  // CN=ambient-guard-test, signed by the CA
  std::string client_key_pem;
};
// Returns a fresh CA with a server and a client certificate (EC P-256, valid one day).
TestPki makeTestPki();

class FakeApiServer {
 public:
  enum class GoneStyle { kErrorEvent, kHttpStatus };
  struct Options {
    std::string token = "token-1";     // accepted bearer token; "" accepts any request
    bool require_client_cert = false;  // TLS client authentication against the PKI's CA
    bool split_chunks = true;          // cut every watch write into several chunks
  };
  struct Request {
    std::string path;
    std::map<std::string, std::string> params;
    std::string token;  // the bearer token sent ("" when none)
    int status = 0;
    bool watch = false;
  };

  FakeApiServer();
  explicit FakeApiServer(Options options);
  ~FakeApiServer();
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  int port() const;
  // Returns "https://127.0.0.1:<port>".
  std::string url() const;
  const TestPki& pki() const;
  // Returns a kubeconfig for this server with the CA inline and the accepted token, or (with
  // client_cert) the client certificate and key inline.
  std::string kubeconfig(bool client_cert = false) const;

  // Creates or replaces an object (ADDED or MODIFIED to watchers); returns its resourceVersion.
  std::string apply(const nlohmann::json& object);
  // Applies every object of the YAML or JSON text (one or many documents, Lists flattened).
  void applyYaml(std::string_view text);
  // Deletes an object (DELETED to watchers, with its last state). With notify = false, the
  // deletion is not recorded in the watch history: a client only learns it by relisting.
  bool remove(std::string_view api_version, std::string_view kind, std::string_view ns,
              std::string_view name, bool notify = true);
  // Adds objects without events or history (benchmarks): list-only state. Faster than apply().
  void preload(std::string_view api_version, std::string_view kind,
               const std::vector<nlohmann::json>& objects);

  // `resource` is "namespaces", "services" (core) or "<group>/<plural>".
  void setServed(std::string_view resource, bool served);
  // While forbidden, list and watch of `resource` (same form as setServed) answer 403.
  void setForbidden(std::string_view resource, bool forbidden);
  void setToken(std::string token);
  void setGoneStyle(GoneStyle style);
  // While held, list requests for `resource` wait (the request is logged when it arrives);
  // with continuations_only, only the requests for the second and later pages wait.
  void holdLists(std::string_view resource, bool hold, bool continuations_only = false);

  // Sends a BOOKMARK at the current resourceVersion on every open watch.
  void bookmark();
  // Forgets the watch history and the continue tokens: a watch from any resourceVersion up to
  // now gets 410 (the way the style of setGoneStyle says), and so does a continued list.
  void compact();
  // Ends the open watches of `resource` ("" = all) with an ERROR 410 event.
  void expireWatches(std::string_view resource = "");
  // Cuts the open watches of `resource` ("" = all) mid-stream, without the terminating chunk.
  void dropWatches(std::string_view resource = "");
  // Sends `text` as it is on the open watches of `resource` (malformed events: a hostile or
  // broken server).
  void sendRaw(std::string_view resource, std::string text);

  // A write received (PATCH, PUT, POST or DELETE), in arrival order.
  struct Write {
    std::string method;
    std::string path;
    std::map<std::string, std::string> params;
    std::string content_type;
    std::string body;
    std::string token;
    int status = 0;
  };
  std::vector<Write> writes() const;
  // Returns the stored object (with apiVersion/kind), or null when there is none.
  // `resource` is a resourceKey ("wgpolicyk8s.io/policyreports").
  nlohmann::json object(std::string_view resource, std::string_view ns,
                        std::string_view name) const;
  // Returns the names ("ns/name") of the objects of `resource`.
  std::vector<std::string> objectNames(std::string_view resource) const;
  // Marks a group version ("openreports.io/v1alpha1") served or not for discovery. Served by
  // default: wgpolicyk8s.io/v1alpha2 and coordination.k8s.io/v1.
  void setGroupVersionServed(std::string_view group_version, bool served);

  std::vector<Request> requests() const;
  // Returns the number of watches of `resource` being served now.
  size_t openWatches(std::string_view resource) const;
  // Returns the current (latest) resourceVersion.
  std::string resourceVersion() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

// Returns the resource key ("services", "security.istio.io/peerauthentications") of a kind.
std::string resourceKey(std::string_view api_version, std::string_view kind);

}  // namespace ambient_guard::testing
