#include "kube/kube_config.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>

#include "model/base64.h"

namespace ambient_guard {
namespace {

std::optional<std::string> readWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    return std::nullopt;
  }
  return ss.str();
}

std::string trimmed(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

std::string resolve(const std::string& dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || dir.empty()) {
    return path;
  }
  return (std::filesystem::path(dir) / path).string();
}

std::string scalarAt(const YAML::Node& node, const char* key) {
  const YAML::Node v = node[key];
  return v && v.IsScalar() ? v.as<std::string>() : std::string();
}

// Returns the entry named `name` of a kubeconfig list (clusters, users, contexts), or a null node.
YAML::Node namedEntry(const YAML::Node& root, const char* list, const char* field,
                      const std::string& name) {
  const YAML::Node entries = root[list];
  if (entries && entries.IsSequence()) {
    for (const YAML::Node& e : entries) {
      if (scalarAt(e, "name") == name) {
        const YAML::Node body = e[field];
        return body && body.IsMap() ? body : YAML::Node(YAML::NodeType::Map);
      }
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

// Reads PEM from `<key>-data` (base64) or the file `<key>`; sets error on failure.
std::string pemFrom(const YAML::Node& node, const std::string& key, const std::string& dir,
                    std::string& error) {
  const std::string data = scalarAt(node, (key + "-data").c_str());
  if (!data.empty()) {
    auto decoded = base64Decode(data);
    if (!decoded) {
      error = key + "-data is not valid base64";
      return {};
    }
    return *decoded;
  }
  const std::string file = scalarAt(node, key.c_str());
  if (file.empty()) {
    return {};
  }
  auto text = readWhole(resolve(dir, file));
  if (!text) {
    error = "cannot read " + key + " " + resolve(dir, file);
    return {};
  }
  return *text;
}

}  // namespace

std::string fileStamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return "";
  }
  return std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_ino) + ":" +
         std::to_string(st.st_dev);
}

TokenSource TokenSource::fixed(std::string token) {
  TokenSource t;
  t.token_ = std::move(token);
  t.loaded_ = true;
  return t;
}

TokenSource TokenSource::fromFile(std::string path, std::chrono::seconds period) {
  TokenSource t;
  t.path_ = std::move(path);
  t.period_ = period;
  return t;
}

TokenSource::TokenSource(const TokenSource& other) { *this = other; }

TokenSource& TokenSource::operator=(const TokenSource& other) {
  if (this != &other) {
    std::scoped_lock lock(mu_, other.mu_);
    path_ = other.path_;
    period_ = other.period_;
    token_ = other.token_;
    read_at_ = other.read_at_;
    loaded_ = other.loaded_;
    stamp_ = other.stamp_;
  }
  return *this;
}

std::string TokenSource::token(Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (path_.empty()) {
    return token_;
  }
  std::string stamp = fileStamp(path_);
  if (!loaded_ || now - read_at_ >= period_ || stamp != stamp_) {
    // Re-open by path every time: the kubelet swaps the file atomically (a symlink flip).
    if (auto text = readWhole(path_)) {
      token_ = trimmed(std::move(*text));
    }
    loaded_ = true;
    read_at_ = now;
    stamp_ = std::move(stamp);
  }
  return token_;
}

void TokenSource::invalidate() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!path_.empty()) {
    loaded_ = false;
  }
}

std::string KubeConfig::url() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return "https://" + h + ":" + std::to_string(port) + base_path;
}

Result<bool> parseServerUrl(const std::string& server, KubeConfig& cfg) {
  constexpr std::string_view kScheme = "https://";
  if (server.rfind(kScheme, 0) != 0) {
    return Error{"server \"" + server + "\" must be an https:// URL"};
  }
  std::string rest = server.substr(kScheme.size());
  std::string authority = rest.substr(0, rest.find('/'));
  std::string path = rest.size() > authority.size() ? rest.substr(authority.size()) : "";
  while (!path.empty() && path.back() == '/') {
    path.pop_back();
  }
  std::string host;
  std::string port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) {
      return Error{"server \"" + server + "\" has an unterminated IPv6 address"};
    }
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        return Error{"server \"" + server + "\" is not a valid URL"};
      }
      port = authority.substr(close + 2);
    }
  } else {
    auto colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string::npos) {
      port = authority.substr(colon + 1);
    }
  }
  if (host.empty()) {
    return Error{"server \"" + server + "\" has no host"};
  }
  int p = 443;
  if (!port.empty()) {
    char* end = nullptr;
    long v = std::strtol(port.c_str(), &end, 10);
    if (*end != '\0' || v <= 0 || v > 65535) {
      return Error{"server \"" + server + "\" has an invalid port"};
    }
    p = static_cast<int>(v);
  }
  cfg.host = host;
  cfg.port = p;
  cfg.base_path = path;
  return true;
}

bool inClusterEnvironment() {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  return host != nullptr && *host != '\0' && port != nullptr && *port != '\0';
}

Result<KubeConfig> inClusterConfig(const std::string& sa_dir) {
  if (!inClusterEnvironment()) {
    return Error{"not running in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set"};
  }
  const std::string host = std::getenv("KUBERNETES_SERVICE_HOST");
  const std::string port = std::getenv("KUBERNETES_SERVICE_PORT");
  KubeConfig cfg;
  // JoinHostPort: an IPv6 host gets brackets (client-go rest/config.go InClusterConfig).
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (auto ok = parseServerUrl("https://" + h + ":" + port, cfg); !ok) {
    return Error{"in-cluster config: " + ok.error()};
  }
  const std::string ca_path = sa_dir + "/ca.crt";
  auto ca = readWhole(ca_path);
  if (!ca) {
    return Error{"in-cluster config: cannot read " + ca_path};
  }
  cfg.ca_pem = std::move(*ca);
  cfg.ca_file = ca_path;
  cfg.token = TokenSource::fromFile(sa_dir + "/token");
  if (cfg.token.token().empty()) {
    return Error{"in-cluster config: cannot read " + sa_dir + "/token"};
  }
  cfg.source = "in-cluster";
  return cfg;
}

Result<KubeConfig> parseKubeConfig(const std::string& text, const std::string& dir,
                                   const std::string& source, const std::string& context) {
  try {
    const YAML::Node root = YAML::Load(text);
    if (!root || !root.IsMap()) {
      return Error{source + ": not a kubeconfig (expected a map)"};
    }
    const std::string ctx_name = context.empty() ? scalarAt(root, "current-context") : context;
    if (ctx_name.empty()) {
      return Error{source + ": no current-context"};
    }
    const YAML::Node ctx = namedEntry(root, "contexts", "context", ctx_name);
    if (!ctx) {
      return Error{source + ": context \"" + ctx_name + "\" not found"};
    }
    const std::string cluster_name = scalarAt(ctx, "cluster");
    const YAML::Node cluster = namedEntry(root, "clusters", "cluster", cluster_name);
    if (!cluster) {
      return Error{source + ": cluster \"" + cluster_name + "\" not found"};
    }
    KubeConfig cfg;
    cfg.source = source;
    if (auto ok = parseServerUrl(scalarAt(cluster, "server"), cfg); !ok) {
      return Error{source + ": " + ok.error()};
    }
    std::string error;
    cfg.ca_pem = pemFrom(cluster, "certificate-authority", dir, error);
    if (scalarAt(cluster, "certificate-authority-data").empty() &&
        !scalarAt(cluster, "certificate-authority").empty()) {
      cfg.ca_file = resolve(dir, scalarAt(cluster, "certificate-authority"));
    }
    cfg.insecure_skip_tls_verify = scalarAt(cluster, "insecure-skip-tls-verify") == "true";
    if (!scalarAt(cluster, "tls-server-name").empty()) {
      error = "tls-server-name is not supported";
    }
    const std::string user_name = scalarAt(ctx, "user");
    YAML::Node user = namedEntry(root, "users", "user", user_name);
    if (!user && !user_name.empty()) {
      return Error{source + ": user \"" + user_name + "\" not found"};
    }
    if (user) {
      if (user["exec"] || user["auth-provider"]) {
        return Error{source + ": user \"" + user_name +
                     "\" uses an exec/auth-provider plugin, which ambient-guard does not run; "
                     "use a token, tokenFile or client certificate"};
      }
      if (const std::string token = scalarAt(user, "token"); !token.empty()) {
        cfg.token = TokenSource::fixed(token);
      } else if (const std::string file = scalarAt(user, "tokenFile"); !file.empty()) {
        cfg.token = TokenSource::fromFile(resolve(dir, file));
      }
      if (error.empty()) {
        cfg.client_cert_pem = pemFrom(user, "client-certificate", dir, error);
      }
      if (error.empty()) {
        cfg.client_key_pem = pemFrom(user, "client-key", dir, error);
      }
      if (error.empty() && cfg.client_cert_pem.empty() != cfg.client_key_pem.empty()) {
        error = "client-certificate and client-key must be given together";
      }
    }
    if (!error.empty()) {
      return Error{source + ": " + error};
    }
    return cfg;
  } catch (const YAML::Exception& e) {
    return Error{source + ": " + e.what()};
  }
}

Result<KubeConfig> loadKubeConfig(const std::string& path, const std::string& context) {
  auto text = readWhole(path);
  if (!text) {
    return Error{"cannot read kubeconfig " + path};
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  return parseKubeConfig(*text, dir, path, context);
}

}  // namespace ambient_guard
