#include "tests/testlib/fake_apiserver.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "model/base64.h"
#include "model/state_file.h"

namespace ambient_guard::testing {

using json = nlohmann::json;

namespace {

// ------------------------------------------------------------------------------------------
// Certificates

std::string pemOf(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

std::string pemOf(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

void addExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) {
    throw std::runtime_error("bad certificate extension");
  }
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509* makeCert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, long serial,
               const char* role) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert;
  X509_set_issuer_name(cert, X509_get_subject_name(signer));
  addExtension(cert, signer, NID_subject_key_identifier, "hash");
  if (std::string_view(role) == "ca") {
    addExtension(cert, signer, NID_basic_constraints, "critical,CA:TRUE");
    addExtension(cert, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    addExtension(cert, signer, NID_authority_key_identifier, "keyid:always");
    addExtension(cert, signer, NID_basic_constraints, "critical,CA:FALSE");
    addExtension(cert, signer, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    if (std::string_view(role) == "server") {
      addExtension(cert, signer, NID_ext_key_usage, "serverAuth");
      addExtension(cert, signer, NID_subject_alt_name, "IP:127.0.0.1,IP:::1,DNS:localhost");
    } else {
      addExtension(cert, signer, NID_ext_key_usage, "clientAuth");
    }
  }
  X509_sign(cert, issuer_key != nullptr ? issuer_key : key, EVP_sha256());
  return cert;
}

// ------------------------------------------------------------------------------------------
// Wire helpers

std::string statusJson(int code, std::string_view reason, std::string_view message) {
  return json{{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
              {"status", "Failure"}, {"message", message}, {"reason", reason},
              {"code", code}}
      .dump();
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string pluralOf(std::string_view kind) {
  std::string k = lower(kind);
  if (k.size() > 1 && k.ends_with("y") &&
      std::string_view("aeiou").find(k[k.size() - 2]) == std::string_view::npos) {
    return k.substr(0, k.size() - 1) + "ies";
  }
  if (k.ends_with("s")) {
    return k + "es";
  }
  return k + "s";
}

std::string groupOf(std::string_view api_version) {
  auto slash = api_version.find('/');
  return slash == std::string_view::npos ? std::string()
                                         : std::string(api_version.substr(0, slash));
}

// `{"apiVersion":…,"kind":…,` + the rest of a stored body (which starts with '{').
std::string withTypeMeta(const std::string& api_version, const std::string& kind,
                         const std::string& body) {
  std::string out =
      "{\"apiVersion\":" + json(api_version).dump() + ",\"kind\":" + json(kind).dump();
  if (body.size() > 2) {
    out += ',';
  }
  out.append(body, 1, std::string::npos);
  return out;
}

// cpp-httplib 0.11.4 listens with a backlog of 5 (compiled into the library). A watch client
// opens one connection per kind at once; the connections beyond the backlog lose their SYN and
// retry a second later. Linux lets listen() on a listening socket change its backlog, so find
// ours and give it room, as the real apiserver has.
void widenListenBacklog(int port) {
  for (int fd = 0; fd < 4096; ++fd) {
    int listening = 0;
    socklen_t len = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening == 0) {
      continue;
    }
    sockaddr_storage addr{};
    socklen_t alen = sizeof(addr);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen) == 0 &&
        addr.ss_family == AF_INET &&
        ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port) == port) {
      listen(fd, 256);
      return;
    }
  }
}

}  // namespace

std::string resourceKey(std::string_view api_version, std::string_view kind) {
  std::string group = groupOf(api_version);
  return group.empty() ? pluralOf(kind) : group + "/" + pluralOf(kind);
}

TestPki makeTestPki() {
  EVP_PKEY* ca_key = EVP_EC_gen("P-256");
  EVP_PKEY* server_key = EVP_EC_gen("P-256");
  EVP_PKEY* client_key = EVP_EC_gen("P-256");
  static std::atomic<long> serial{1000};
  X509* ca = makeCert(ca_key, "ambient-guard-test-ca", nullptr, nullptr, serial++, "ca");
  X509* server = makeCert(server_key, "kube-apiserver", ca, ca_key, serial++, "server");
  X509* client = makeCert(client_key, "ambient-guard-test", ca, ca_key, serial++, "client");
  TestPki pki{pemOf(ca), pemOf(server), pemOf(server_key), pemOf(client), pemOf(client_key)};
  X509_free(ca);
  X509_free(server);
  X509_free(client);
  EVP_PKEY_free(ca_key);
  EVP_PKEY_free(server_key);
  EVP_PKEY_free(client_key);
  return pki;
}

// ------------------------------------------------------------------------------------------

struct FakeApiServer::State {
  struct Event {
    uint64_t rv;
    std::string type;
    std::shared_ptr<const std::string> body;  // without apiVersion/kind
    std::string key;                          // "ns/name"
  };
  struct Resource {
    std::string kind;
    bool served = true;
    bool forbidden = false;
    bool hold = false;
    bool hold_continuations = false;
    std::map<std::string, std::shared_ptr<const std::string>> objects;  // "ns/name" → body
    std::vector<Event> history;
  };
  // What a namespaced collection path and a `metadata.name=` field selector narrow to.
  struct Scope {
    std::string ns;    // "" : every namespace
    std::string name;  // "" : every name
    bool contains(const std::string& okey) const {
      const size_t slash = okey.find('/');
      return (ns.empty() || okey.compare(0, slash, ns) == 0) &&
             (name.empty() || okey.compare(slash + 1, std::string::npos, name) == 0);
    }
  };
  struct Watcher {
    std::string resource;
    std::string api_version;  // as requested
    Scope scope;
    uint64_t sent_rv = 0;
    std::string initial;  // synthetic ADDED events for a watch without resourceVersion
    bool bookmark = false;
    bool expire = false;
    bool drop = false;
  };
  struct ListSnapshot {
    uint64_t rv;
    std::vector<std::shared_ptr<const std::string>> items;
  };

  Options options;
  TestPki pki;
  std::unique_ptr<httplib::SSLServer> server;
  std::thread thread;
  int port = 0;

  mutable std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  uint64_t rv = 100;
  uint64_t compacted = 0;  // watches from older resourceVersions get 410
  GoneStyle gone_style = GoneStyle::kErrorEvent;
  std::map<std::string, Resource> resources;
  std::vector<std::shared_ptr<Watcher>> watchers;
  std::map<uint64_t, ListSnapshot> snapshots;
  uint64_t next_snapshot = 1;
  std::vector<Request> log;
  std::vector<Write> writes;
  std::set<std::string> served_group_versions = {"wgpolicyk8s.io/v1alpha2",
                                                 "coordination.k8s.io/v1"};

  Resource& resource(const std::string& key) {
    auto [it, added] = resources.try_emplace(key);
    if (added) {
      it->second.kind = kindForKey(key);
    }
    return it->second;
  }

  static std::string kindForKey(const std::string& key) {
    static const std::map<std::string, std::string> kKinds = {
        {"namespaces", "Namespace"},
        {"services", "Service"},
        {"gateway.networking.k8s.io/gateways", "Gateway"},
        {"gateway.networking.k8s.io/gatewayclasses", "GatewayClass"},
        {"security.istio.io/authorizationpolicies", "AuthorizationPolicy"},
        {"security.istio.io/peerauthentications", "PeerAuthentication"},
        {"security.istio.io/requestauthentications", "RequestAuthentication"},
        {"networking.istio.io/virtualservices", "VirtualService"},
        {"networking.istio.io/destinationrules", "DestinationRule"},
        {"networking.istio.io/envoyfilters", "EnvoyFilter"},
        {"networking.istio.io/sidecars", "Sidecar"},
        {"extensions.istio.io/wasmplugins", "WasmPlugin"},
        {"wgpolicyk8s.io/policyreports", "PolicyReport"},
        {"wgpolicyk8s.io/clusterpolicyreports", "ClusterPolicyReport"},
        {"openreports.io/reports", "Report"},
        {"openreports.io/clusterreports", "ClusterReport"},
        {"coordination.k8s.io/leases", "Lease"},
        {"apps/deployments", "Deployment"},
        {"apps/daemonsets", "DaemonSet"},
        {"configmaps", "ConfigMap"},
    };
    auto it = kKinds.find(key);
    return it == kKinds.end() ? std::string() : it->second;
  }

  // Returns the stored form of an object: no apiVersion/kind, metadata.resourceVersion set.
  static std::string storedBody(json object, uint64_t version) {
    object.erase("apiVersion");
    object.erase("kind");
    object["metadata"]["resourceVersion"] = std::to_string(version);
    if (!object["metadata"].contains("creationTimestamp")) {
      object["metadata"]["creationTimestamp"] = "2024-05-01T10:00:00Z";
    }
    return object.dump();
  }

  static std::string objectKey(const json& object) {
    const json& meta = object.at("metadata");
    return meta.value("namespace", "") + "/" + meta.at("name").get<std::string>();
  }

  bool authorized(const httplib::Request& req, Request& entry) const {
    std::string auth = req.get_header_value("Authorization");
    if (auth.rfind("Bearer ", 0) == 0) {
      entry.token = auth.substr(7);
    }
    if (options.require_client_cert) {
      return true;  // the TLS handshake verified the client certificate
    }
    return options.token.empty() || entry.token == options.token;
  }

  void record(Request entry) {
    std::lock_guard<std::mutex> lock(mu);
    log.push_back(std::move(entry));
  }

  void handle(const httplib::Request& req, httplib::Response& res, const std::string& key,
              const std::string& api_version, const std::string& ns = "");
  void list(const httplib::Request& req, httplib::Response& res, const std::string& key,
            const std::string& api_version, const Scope& scope, Request& entry);
  void watch(const httplib::Request& req, httplib::Response& res, const std::string& key,
             const std::string& api_version, const Scope& scope, Request& entry);
  bool writeOut(httplib::DataSink& sink, const std::string& out) const;
  // Single objects: GET and the writes. `ns` is "" for cluster-scoped objects, `name` "" for a
  // POST to the collection.
  void handleObject(const httplib::Request& req, httplib::Response& res, const std::string& method,
                    const std::string& group, const std::string& version, const std::string& ns,
                    const std::string& plural, const std::string& name);
  // Stores `object` under key (mu held); returns the stored body with type meta.
  std::string storeLocked(const std::string& key, const std::string& api_version,
                          const std::string& kind, json object);
};

// The kind of a written body (take it before moving the body into storeLocked).
std::string kindOf(const json& body, const std::string& fallback) {
  return body.value("kind", fallback);
}

std::string FakeApiServer::State::storeLocked(const std::string& key,
                                              const std::string& api_version,
                                              const std::string& kind, json object) {
  Resource& r = resource(key);
  r.kind = kind;
  const uint64_t version = ++rv;
  const std::string okey = objectKey(object);
  const bool existed = r.objects.count(okey) > 0;
  auto body = std::make_shared<const std::string>(storedBody(std::move(object), version));
  r.objects[okey] = body;
  r.history.push_back({version, existed ? "MODIFIED" : "ADDED", body, okey});
  return withTypeMeta(api_version, kind, *body);
}

void FakeApiServer::State::handleObject(const httplib::Request& req, httplib::Response& res,
                                        const std::string& method, const std::string& group,
                                        const std::string& version, const std::string& ns,
                                        const std::string& plural, const std::string& name) {
  Request entry;
  entry.path = req.path;
  for (const auto& [k, v] : req.params) {
    entry.params[k] = v;
  }
  Write w{method, req.path, entry.params, req.get_header_value("Content-Type"), req.body, "", 0};
  auto reply = [&](int status, std::string body) {
    res.status = status;
    res.set_content(std::move(body), "application/json");
    std::lock_guard<std::mutex> lock(mu);
    entry.status = status;
    log.push_back(entry);
    if (method != "GET") {
      w.status = status;
      writes.push_back(w);
    }
  };
  const bool ok = authorized(req, entry);
  w.token = entry.token;
  if (!ok) {
    return reply(401, statusJson(401, "Unauthorized", "Unauthorized"));
  }
  const std::string key = group.empty() ? plural : group + "/" + plural;
  const std::string api_version = group.empty() ? version : group + "/" + version;
  std::string out;
  int status = 200;
  {
    std::lock_guard<std::mutex> lock(mu);
    Resource& r = resource(key);
    if (!r.served || (!group.empty() && served_group_versions.count(api_version) == 0)) {
      status = 404;
      out = statusJson(404, "NotFound", "the server could not find the requested resource");
    } else {
      const std::string okey = ns + "/" + name;
      auto it = name.empty() ? r.objects.end() : r.objects.find(okey);
      const bool exists = it != r.objects.end();
      json body;
      if (method == "PATCH" || method == "PUT" || method == "POST") {
        body = json::parse(req.body, nullptr, false);
        if (!body.is_object() || !body.contains("metadata") || !body["metadata"].is_object()) {
          status = 400;
          out = statusJson(400, "BadRequest", "the body is not an object with metadata");
        } else {
          if (!ns.empty()) {
            body["metadata"]["namespace"] = ns;
          }
          if (!name.empty() && body["metadata"].value("name", "") != name) {
            status = 400;
            out = statusJson(400, "BadRequest", "metadata.name does not match the path");
          }
        }
      }
      if (status != 200) {
      } else if (method == "GET") {
        if (!exists) {
          status = 404;
          out = statusJson(404, "NotFound", plural + " \"" + name + "\" not found");
        } else {
          out = withTypeMeta(api_version, r.kind, *it->second);
        }
      } else if (method == "DELETE") {
        if (!exists) {
          status = 404;
          out = statusJson(404, "NotFound", plural + " \"" + name + "\" not found");
        } else {
          const uint64_t v = ++rv;
          json last = json::parse(*it->second);
          last["metadata"]["resourceVersion"] = std::to_string(v);
          r.history.push_back(
              {v, "DELETED", std::make_shared<const std::string>(last.dump()), it->first});
          r.objects.erase(it);
          out = statusJson(200, "", "deleted");
        }
      } else if (method == "PATCH") {
        if (w.content_type.rfind("application/apply-patch+yaml", 0) != 0 ||
            !entry.params.count("fieldManager")) {
          status = 415;
          out = statusJson(415, "UnsupportedMediaType",
                           "only server-side apply with a fieldManager is served");
        } else {
          if (exists) {
            const json old = json::parse(*it->second);
            body["metadata"]["uid"] = old["metadata"].value("uid", "");
            body["metadata"]["creationTimestamp"] = old["metadata"].value("creationTimestamp", "");
          } else {
            body["metadata"]["uid"] = "uid-" + std::to_string(rv + 1);
            status = 201;
          }
          const std::string kind = kindOf(body, r.kind);
          out = storeLocked(key, api_version, kind, std::move(body));
        }
      } else if (method == "PUT") {
        const std::string want = body["metadata"].value("resourceVersion", "");
        if (!exists) {
          status = 404;
          out = statusJson(404, "NotFound", plural + " \"" + name + "\" not found");
        } else if (json::parse(*it->second)["metadata"].value("resourceVersion", "") != want) {
          status = 409;
          out = statusJson(409, "Conflict",
                           "the object has been modified; please apply your changes to the latest "
                           "version and try again");
        } else {
          const std::string kind = kindOf(body, r.kind);
          out = storeLocked(key, api_version, kind, std::move(body));
        }
      } else if (method == "POST") {
        const std::string bname = body["metadata"].value("name", "");
        if (r.objects.count(ns + "/" + bname) > 0) {
          status = 409;
          out = statusJson(409, "AlreadyExists", plural + " \"" + bname + "\" already exists");
        } else {
          body["metadata"]["uid"] = "uid-" + std::to_string(rv + 1);
          status = 201;
          const std::string kind = kindOf(body, r.kind);
          out = storeLocked(key, api_version, kind, std::move(body));
        }
      }
    }
  }
  cv.notify_all();
  reply(status, std::move(out));
}

void FakeApiServer::State::handle(const httplib::Request& req, httplib::Response& res,
                                  const std::string& key, const std::string& api_version,
                                  const std::string& ns) {
  Request entry;
  entry.path = req.path;
  for (const auto& [k, v] : req.params) {
    entry.params[k] = v;
  }
  entry.watch = req.get_param_value("watch") == "true" || req.get_param_value("watch") == "1";
  if (!authorized(req, entry)) {
    res.status = 401;
    res.set_content(statusJson(401, "Unauthorized", "Unauthorized"), "application/json");
    entry.status = 401;
    record(std::move(entry));
    return;
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    Resource& r = resource(key);
    if (!r.served) {
      lock.unlock();
      res.status = 404;
      res.set_content(
          statusJson(404, "NotFound", "the server could not find the requested resource"),
          "application/json");
      entry.status = 404;
      record(std::move(entry));
      return;
    }
    if (r.forbidden) {
      lock.unlock();
      // The RBAC authorizer's wording (k8s.io/apiserver pkg/endpoints/handlers/responsewriters).
      const size_t slash = key.find('/');
      const std::string group = slash == std::string::npos ? "" : key.substr(0, slash);
      const std::string plural = slash == std::string::npos ? key : key.substr(slash + 1);
      res.status = 403;
      res.set_content(
          statusJson(
              403, "Forbidden",
              plural + (group.empty() ? "" : "." + group) +
                  " is forbidden: User \"system:serviceaccount:ambient-guard:ambient-guard\" "
                  "cannot " +
                  (entry.watch ? "watch" : "list") + " resource \"" + plural +
                  "\" in API group \"" + group + "\"" +
                  (ns.empty() ? " at the cluster scope" : " in the namespace \"" + ns + "\"")),
          "application/json");
      entry.status = 403;
      record(std::move(entry));
      return;
    }
  }
  Scope scope{ns, ""};
  const std::string selector = req.get_param_value("fieldSelector");
  if (!selector.empty()) {
    if (selector.rfind("metadata.name=", 0) != 0 || selector.find(',') != std::string::npos) {
      res.status = 400;
      res.set_content(statusJson(400, "BadRequest",
                                 "the fake API server supports only fieldSelector=metadata.name=X, "
                                 "not " +
                                     selector),
                      "application/json");
      entry.status = 400;
      record(std::move(entry));
      return;
    }
    scope.name = selector.substr(std::string_view("metadata.name=").size());
  }
  if (entry.watch) {
    watch(req, res, key, api_version, scope, entry);
  } else {
    list(req, res, key, api_version, scope, entry);
  }
}

void FakeApiServer::State::list(const httplib::Request& req, httplib::Response& res,
                                const std::string& key, const std::string& api_version,
                                const Scope& scope, Request& entry) {
  std::unique_lock<std::mutex> lock(mu);
  log.push_back(entry);  // logged on arrival, so a test can see a held list
  const size_t log_index = log.size() - 1;
  const bool continued = req.has_param("continue");
  cv.wait(lock, [&] {
    const Resource& held = resource(key);
    return stopping || !(held.hold && (continued || !held.hold_continuations));
  });
  Resource& r = resource(key);
  const bool core = api_version.find('/') == std::string::npos;
  size_t limit = 0;
  if (req.has_param("limit")) {
    limit = std::stoul(req.get_param_value("limit"));
  }
  uint64_t snapshot_id = 0;
  size_t offset = 0;
  if (req.has_param("continue")) {
    json token = json::parse(base64Decode(req.get_param_value("continue")).value_or(""), nullptr,
                             false);
    snapshot_id = token.is_object() ? token.value("id", uint64_t{0}) : 0;
    offset = token.is_object() ? token.value("start", size_t{0}) : 0;
    if (snapshots.count(snapshot_id) == 0) {
      res.status = 410;
      res.set_content(statusJson(410, "Expired",
                                 "The provided continue parameter is too old to display a "
                                 "consistent list result. You can start a new list without the "
                                 "continue parameter."),
                      "application/json");
      log[log_index].status = 410;
      return;
    }
  } else {
    ListSnapshot snap{rv, {}};
    snap.items.reserve(r.objects.size());
    for (const auto& [k, body] : r.objects) {
      if (scope.contains(k)) {
        snap.items.push_back(body);
      }
    }
    snapshot_id = next_snapshot++;
    snapshots.emplace(snapshot_id, std::move(snap));
  }
  const ListSnapshot& snap = snapshots.at(snapshot_id);
  const size_t end = limit == 0 ? snap.items.size() : std::min(snap.items.size(), offset + limit);
  std::string body = "{\"apiVersion\":" + json(api_version).dump() +
                     ",\"kind\":" + json(r.kind.empty() ? "List" : r.kind + "List").dump() +
                     ",\"metadata\":{\"resourceVersion\":\"" + std::to_string(snap.rv) + "\"";
  if (end < snap.items.size()) {
    json token = {{"v", "meta.k8s.io/v1"}, {"rv", snap.rv}, {"id", snapshot_id}, {"start", end}};
    body += ",\"continue\":\"" + base64Encode(token.dump()) +
            "\",\"remainingItemCount\":" + std::to_string(snap.items.size() - end);
  }
  body += "},\"items\":[";
  for (size_t i = offset; i < end; ++i) {
    if (i > offset) {
      body += ',';
    }
    body += core ? *snap.items[i] : withTypeMeta(api_version, r.kind, *snap.items[i]);
  }
  body += "]}";
  if (end >= snap.items.size()) {
    snapshots.erase(snapshot_id);
  }
  log[log_index].status = 200;
  lock.unlock();
  res.set_content(std::move(body), "application/json");
}

bool FakeApiServer::State::writeOut(httplib::DataSink& sink, const std::string& out) const {
  if (!options.split_chunks || out.size() < 3) {
    return sink.write(out.data(), out.size());
  }
  // Three chunks cut at odd places, so events straddle chunk (and TLS record) boundaries.
  const size_t a = out.size() / 3 + 1;
  const size_t b = std::max(a + 1, out.size() * 2 / 3 + 3);
  if (b >= out.size()) {
    return sink.write(out.data(), a) && sink.write(out.data() + a, out.size() - a);
  }
  return sink.write(out.data(), a) && sink.write(out.data() + a, b - a) &&
         sink.write(out.data() + b, out.size() - b);
}

void FakeApiServer::State::watch(const httplib::Request& req, httplib::Response& res,
                                 const std::string& key, const std::string& api_version,
                                 const Scope& scope, Request& entry) {
  auto w = std::make_shared<Watcher>();
  w->resource = key;
  w->api_version = api_version;
  w->scope = scope;
  int timeout_s = 1800;
  if (req.has_param("timeoutSeconds")) {
    timeout_s = std::stoi(req.get_param_value("timeoutSeconds"));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  const std::string rv_param = req.get_param_value("resourceVersion");
  {
    std::lock_guard<std::mutex> lock(mu);
    Resource& r = resource(key);
    if (rv_param.empty() || rv_param == "0") {
      // "Start at most recent" with synthetic ADDED events for the current state.
      for (const auto& [k, body] : r.objects) {
        if (!scope.contains(k)) {
          continue;
        }
        w->initial +=
            "{\"type\":\"ADDED\",\"object\":" + withTypeMeta(api_version, r.kind, *body) + "}\n";
      }
      w->sent_rv = rv;
    } else {
      w->sent_rv = std::stoull(rv_param);
      if (w->sent_rv < compacted) {
        if (gone_style == GoneStyle::kHttpStatus) {
          res.status = 410;
          res.set_content(statusJson(410, "Expired",
                                     "too old resource version: " + rv_param + " (" +
                                         std::to_string(compacted) + ")"),
                          "application/json");
          entry.status = 410;
          log.push_back(entry);
          return;
        }
        w->expire = true;  // 200, then one ERROR event: the watch cache's way
      }
    }
    watchers.push_back(w);
    entry.status = 200;
    log.push_back(entry);
  }
  res.set_chunked_content_provider(
      "application/json",
      [this, w, deadline](size_t, httplib::DataSink& sink) {
        std::string out;
        bool end = false;
        {
          std::unique_lock<std::mutex> lock(mu);
          auto pending = [&] {
            const Resource& r = resources.at(w->resource);
            return stopping || w->drop || w->expire || w->bookmark || !w->initial.empty() ||
                   (!r.history.empty() && r.history.back().rv > w->sent_rv);
          };
          cv.wait_until(
              lock,
              std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(200)),
              pending);
          if (stopping || w->drop) {
            return false;  // abrupt close: no terminating chunk
          }
          out.swap(w->initial);
          const Resource& r = resources.at(w->resource);
          auto it = std::upper_bound(r.history.begin(), r.history.end(), w->sent_rv,
                                     [](uint64_t v, const Event& e) { return v < e.rv; });
          for (; it != r.history.end(); ++it) {
            w->sent_rv = it->rv;
            if (!w->scope.contains(it->key)) {
              continue;
            }
            out += "{\"type\":\"" + it->type +
                   "\",\"object\":" + withTypeMeta(w->api_version, r.kind, *it->body) + "}\n";
          }
          if (w->bookmark) {
            w->bookmark = false;
            w->sent_rv = std::max(w->sent_rv, rv);
            json obj = {
                {"kind", r.kind},
                {"apiVersion", w->api_version},
                {"metadata",
                 {{"resourceVersion", std::to_string(rv)}, {"creationTimestamp", nullptr}}}};
            out += "{\"type\":\"BOOKMARK\",\"object\":" + obj.dump() + "}\n";
          }
          if (w->expire) {
            out += "{\"type\":\"ERROR\",\"object\":" +
                   statusJson(410, "Expired",
                              "too old resource version: " + std::to_string(w->sent_rv) + " (" +
                                  std::to_string(compacted) + ")") +
                   "}\n";
            end = true;
          }
          end = end || std::chrono::steady_clock::now() >= deadline;
        }
        if (!out.empty() && !writeOut(sink, out)) {
          return false;
        }
        if (end) {
          sink.done();
        }
        return true;
      },
      [this, w](bool) {
        std::lock_guard<std::mutex> lock(mu);
        std::erase(watchers, w);
      });
}

FakeApiServer::FakeApiServer() : FakeApiServer(Options()) {}

FakeApiServer::FakeApiServer(Options options) : state_(std::make_shared<State>()) {
  State& s = *state_;
  s.options = std::move(options);
  s.pki = makeTestPki();
  auto load_cert = [](const std::string& pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    return cert;
  };
  X509* cert = load_cert(s.pki.server_cert_pem);
  BIO* kbio =
      BIO_new_mem_buf(s.pki.server_key_pem.data(), static_cast<int>(s.pki.server_key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(kbio, nullptr, nullptr, nullptr);
  BIO_free(kbio);
  X509_STORE* client_ca = nullptr;
  if (s.options.require_client_cert) {
    client_ca = X509_STORE_new();
    X509* ca = load_cert(s.pki.ca_pem);
    X509_STORE_add_cert(client_ca, ca);
    X509_free(ca);
  }
  s.server = std::make_unique<httplib::SSLServer>(cert, key, client_ca);
  X509_free(cert);
  EVP_PKEY_free(key);
  if (!s.server->is_valid()) {
    throw std::runtime_error("FakeApiServer: invalid TLS setup");
  }
  // Every watch holds a thread for its whole life.
  s.server->new_task_queue = [] { return new httplib::ThreadPool(64); };
  // An apiserver client reuses one connection for its list pages and watches.
  s.server->set_keep_alive_max_count(1000000);
  s.server->set_keep_alive_timeout(30);
  s.server->set_tcp_nodelay(
      true);  // as Go's net/http does; otherwise Nagle + delayed ACK add 40 ms

  State* st = &s;
  s.server->Get(R"(/api/v1/([a-z0-9]+))",
                [st](const httplib::Request& req, httplib::Response& res) {
                  st->handle(req, res, req.matches[1].str(), "v1");
                });
  s.server->Get(R"(/apis/([^/]+)/([^/]+)/([a-z0-9]+))",
                [st](const httplib::Request& req, httplib::Response& res) {
                  st->handle(req, res, req.matches[1].str() + "/" + req.matches[3].str(),
                             req.matches[1].str() + "/" + req.matches[2].str());
                });
  // Namespaced collections: list and watch in one namespace.
  s.server->Get(R"(/api/v1/namespaces/([^/]+)/([a-z0-9]+))",
                [st](const httplib::Request& req, httplib::Response& res) {
                  st->handle(req, res, req.matches[2].str(), "v1", req.matches[1].str());
                });
  s.server->Get(R"(/apis/([^/]+)/([^/]+)/namespaces/([^/]+)/([a-z0-9]+))",
                [st](const httplib::Request& req, httplib::Response& res) {
                  st->handle(req, res, req.matches[1].str() + "/" + req.matches[4].str(),
                             req.matches[1].str() + "/" + req.matches[2].str(),
                             req.matches[3].str());
                });
  // Single objects and discovery. Namespaced: /apis/<g>/<v>/namespaces/<ns>/<plural>[/<name>];
  // cluster-scoped: /apis/<g>/<v>/<plural>/<name>.
  const std::string kNamespaced = R"(/apis/([^/]+)/([^/]+)/namespaces/([^/]+)/([a-z0-9]+)/([^/]+))";
  const std::string kCluster = R"(/apis/([^/]+)/([^/]+)/([a-z0-9]+)/([^/]+))";
  for (const std::string method : {"GET", "PATCH", "PUT", "DELETE"}) {
    auto namespaced = [st, method](const httplib::Request& req, httplib::Response& res) {
      st->handleObject(req, res, method, req.matches[1].str(), req.matches[2].str(),
                       req.matches[3].str(), req.matches[4].str(), req.matches[5].str());
    };
    auto cluster = [st, method](const httplib::Request& req, httplib::Response& res) {
      st->handleObject(req, res, method, req.matches[1].str(), req.matches[2].str(), "",
                       req.matches[3].str(), req.matches[4].str());
    };
    if (method == "GET") {
      s.server->Get(kNamespaced, namespaced);
      s.server->Get(kCluster, cluster);
    } else if (method == "PATCH") {
      s.server->Patch(kNamespaced, namespaced);
      s.server->Patch(kCluster, cluster);
    } else if (method == "PUT") {
      s.server->Put(kNamespaced, namespaced);
      s.server->Put(kCluster, cluster);
    } else {
      s.server->Delete(kNamespaced, namespaced);
      s.server->Delete(kCluster, cluster);
    }
  }
  s.server->set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        res.status = 500;
        res.set_content(statusJson(500, "InternalError", what), "application/json");
      });
  s.server->Post(R"(/apis/([^/]+)/([^/]+)/namespaces/([^/]+)/([a-z0-9]+))",
                 [st](const httplib::Request& req, httplib::Response& res) {
                   st->handleObject(req, res, "POST", req.matches[1].str(), req.matches[2].str(),
                                    req.matches[3].str(), req.matches[4].str(), "");
                 });
  s.server->Post(R"(/apis/([^/]+)/([^/]+)/([a-z0-9]+))",
                 [st](const httplib::Request& req, httplib::Response& res) {
                   st->handleObject(req, res, "POST", req.matches[1].str(), req.matches[2].str(),
                                    "", req.matches[3].str(), "");
                 });
  s.server->Get(R"(/apis/([^/]+)/([^/]+))", [st](const httplib::Request& req,
                                                 httplib::Response& res) {
    const std::string gv = req.matches[1].str() + "/" + req.matches[2].str();
    std::lock_guard<std::mutex> lock(st->mu);
    if (st->served_group_versions.count(gv) == 0) {
      res.status = 404;
      res.set_content(statusJson(404, "NotFound", "the server could not find the requested resource"),
                      "application/json");
      return;
    }
    res.set_content(json{{"kind", "APIResourceList"}, {"apiVersion", "v1"}, {"groupVersion", gv},
                         {"resources", json::array()}}
                        .dump(),
                    "application/json");
  });
  s.port = s.server->bind_to_any_port("127.0.0.1");
  if (s.port <= 0) {
    throw std::runtime_error("FakeApiServer: cannot bind");
  }
  widenListenBacklog(s.port);
  s.thread = std::thread([st] { st->server->listen_after_bind(); });
  while (!s.server->is_running()) {
    std::this_thread::yield();
  }
}

FakeApiServer::~FakeApiServer() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stopping = true;
  }
  state_->cv.notify_all();
  state_->server->stop();
  state_->thread.join();
}

int FakeApiServer::port() const { return state_->port; }

std::string FakeApiServer::url() const { return "https://127.0.0.1:" + std::to_string(port()); }

const TestPki& FakeApiServer::pki() const { return state_->pki; }

std::string FakeApiServer::kubeconfig(bool client_cert) const {
  std::string user;
  if (client_cert) {
    user = "    client-certificate-data: " + base64Encode(state_->pki.client_cert_pem) +
           "\n    client-key-data: " + base64Encode(state_->pki.client_key_pem) + "\n";
  } else {
    std::lock_guard<std::mutex> lock(state_->mu);
    user = "    token: " + state_->options.token + "\n";
  }
  return "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n"
         "  cluster:\n    server: " +
         url() + "\n    certificate-authority-data: " + base64Encode(state_->pki.ca_pem) +
         "\ncontexts:\n- name: fake\n  context: {cluster: fake, user: tester}\nusers:\n"
         "- name: tester\n  user:\n" +
         user;
}

std::string FakeApiServer::apply(const json& object) {
  const std::string api_version = object.at("apiVersion").get<std::string>();
  const std::string kind = object.at("kind").get<std::string>();
  const std::string key = resourceKey(api_version, kind);
  const std::string okey = State::objectKey(object);
  std::string version;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    State::Resource& r = state_->resource(key);
    r.kind = kind;
    const uint64_t rv = ++state_->rv;
    auto body = std::make_shared<const std::string>(State::storedBody(object, rv));
    const bool existed = r.objects.count(okey) > 0;
    r.objects[okey] = body;
    r.history.push_back({rv, existed ? "MODIFIED" : "ADDED", body, okey});
    version = std::to_string(rv);
  }
  state_->cv.notify_all();
  return version;
}

void FakeApiServer::applyYaml(std::string_view text) {
  auto docs = parseDocuments(text, "<fake-apiserver>");
  if (!docs.ok()) {
    throw std::runtime_error(docs.error());
  }
  for (const RawDocument& d : *docs) {
    apply(d.doc);
  }
}

bool FakeApiServer::remove(std::string_view api_version, std::string_view kind, std::string_view ns,
                           std::string_view name, bool notify) {
  const std::string key = resourceKey(api_version, kind);
  const std::string okey = std::string(ns) + "/" + std::string(name);
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    State::Resource& r = state_->resource(key);
    auto it = r.objects.find(okey);
    if (it == r.objects.end()) {
      return false;
    }
    const uint64_t rv = ++state_->rv;
    if (notify) {
      // DELETED carries the last state, at the deletion's resourceVersion.
      json last = json::parse(*it->second);
      last["metadata"]["resourceVersion"] = std::to_string(rv);
      r.history.push_back({rv, "DELETED", std::make_shared<const std::string>(last.dump()), okey});
    }
    r.objects.erase(it);
  }
  state_->cv.notify_all();
  return true;
}

void FakeApiServer::preload(std::string_view api_version, std::string_view kind,
                            const std::vector<json>& objects) {
  const std::string key = resourceKey(api_version, kind);
  std::lock_guard<std::mutex> lock(state_->mu);
  State::Resource& r = state_->resource(key);
  r.kind = std::string(kind);
  for (const json& o : objects) {
    r.objects[State::objectKey(o)] =
        std::make_shared<const std::string>(State::storedBody(o, ++state_->rv));
  }
}

void FakeApiServer::setServed(std::string_view resource, bool served) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->resource(std::string(resource)).served = served;
}

void FakeApiServer::setForbidden(std::string_view resource, bool forbidden) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->resource(std::string(resource)).forbidden = forbidden;
}

void FakeApiServer::setToken(std::string token) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->options.token = std::move(token);
}

void FakeApiServer::setGoneStyle(GoneStyle style) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->gone_style = style;
}

void FakeApiServer::holdLists(std::string_view resource, bool hold, bool continuations_only) {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    State::Resource& r = state_->resource(std::string(resource));
    r.hold = hold;
    r.hold_continuations = continuations_only;
  }
  state_->cv.notify_all();
}

void FakeApiServer::bookmark() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    for (auto& w : state_->watchers) {
      w->bookmark = true;
    }
  }
  state_->cv.notify_all();
}

void FakeApiServer::compact() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->compacted = state_->rv + 1;
  for (auto& [key, r] : state_->resources) {
    r.history.clear();
  }
  state_->snapshots.clear();
}

void FakeApiServer::expireWatches(std::string_view resource) {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    for (auto& w : state_->watchers) {
      if (resource.empty() || w->resource == resource) {
        w->expire = true;
      }
    }
  }
  state_->cv.notify_all();
}

void FakeApiServer::sendRaw(std::string_view resource, std::string text) {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    for (auto& w : state_->watchers) {
      if (w->resource == resource) {
        w->initial += text;
      }
    }
  }
  state_->cv.notify_all();
}

void FakeApiServer::dropWatches(std::string_view resource) {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    for (auto& w : state_->watchers) {
      if (resource.empty() || w->resource == resource) {
        w->drop = true;
      }
    }
  }
  state_->cv.notify_all();
}

std::vector<FakeApiServer::Write> FakeApiServer::writes() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->writes;
}

json FakeApiServer::object(std::string_view resource, std::string_view ns,
                           std::string_view name) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  auto r = state_->resources.find(std::string(resource));
  if (r == state_->resources.end()) {
    return nullptr;
  }
  auto it = r->second.objects.find(std::string(ns) + "/" + std::string(name));
  if (it == r->second.objects.end()) {
    return nullptr;
  }
  json o = json::parse(*it->second);
  o["kind"] = r->second.kind;
  return o;
}

std::vector<std::string> FakeApiServer::objectNames(std::string_view resource) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  std::vector<std::string> out;
  auto r = state_->resources.find(std::string(resource));
  if (r != state_->resources.end()) {
    for (const auto& [k, v] : r->second.objects) {
      out.push_back(k);
    }
  }
  return out;
}

void FakeApiServer::setGroupVersionServed(std::string_view group_version, bool served) {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (served) {
    state_->served_group_versions.insert(std::string(group_version));
  } else {
    state_->served_group_versions.erase(std::string(group_version));
  }
}

std::vector<FakeApiServer::Request> FakeApiServer::requests() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->log;
}

size_t FakeApiServer::openWatches(std::string_view resource) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return static_cast<size_t>(std::count_if(
      state_->watchers.begin(), state_->watchers.end(),
      [&](const auto& w) { return w->resource == resource && !w->drop && !w->expire; }));
}

std::string FakeApiServer::resourceVersion() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return std::to_string(state_->rv);
}

}  // namespace ambient_guard::testing
