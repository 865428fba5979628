// KubectlDryRun: runs the real `kubectl apply --dry-run=client -f -` against a tiny API server.
//
// Client dry-run still needs a server: kubectl downloads /openapi/v3 to learn whether the server
// validates fields itself, downloads /openapi/v2 (protobuf only) to validate client-side, maps
// kinds through discovery (/api, /apis, /apis/<group>/<version>) and GETs each object to choose
// between create and patch. This server answers exactly those requests from CustomResourceDefinition
// files: the v3 document says the server does NOT support fieldValidation, so kubectl validates
// every object against the CRD's openAPIV3Schema published as OpenAPI v2 (types, properties,
// required fields, unknown fields), like it does against an older API server. Objects never exist
// (404), so every one is "created (dry run)". Plain HTTP on 127.0.0.1, port 0. Test-only.
#pragma once

#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "model/state_file.h"
#include "tests/testlib/testlib.h"

namespace ambient_guard::testing {

class KubectlDryRun {
 public:
  // `crd_files`: YAML files with CustomResourceDefinitions. `drop`: property paths removed from
  // every schema before publishing ("spec.rules.retry"), to emulate a CRD channel without them.
  explicit KubectlDryRun(const std::vector<std::string>& crd_files,
                         const std::set<std::string>& drop = {}) {
    for (const std::string& f : crd_files) {
      auto text = readFileText(f);
      if (!text.ok()) {
        error_ = text.error();
        return;
      }
      auto docs = parseDocuments(*text, f);
      if (!docs.ok()) {
        error_ = docs.error();
        return;
      }
      for (const RawDocument& d : *docs) {
        if (d.doc.value("kind", "") == "CustomResourceDefinition") {
          addCrd(d.doc, drop);
        }
      }
    }
    routes();
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    dir_ = tempDir();
    kubeconfig_ = writeFile(dir_, "kubeconfig",
                            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n"
                            "    server: http://127.0.0.1:" + std::to_string(port_) +
                                "\ncontexts:\n- name: fake\n  context: {cluster: fake, user: "
                                "fake, namespace: default}\nusers:\n- name: fake\n  user: {}\n"
                                "current-context: fake\n");
  }
  ~KubectlDryRun() {
    server_.stop();
    if (thread_.joinable()) {
      thread_.join();
    }
  }
  KubectlDryRun(const KubectlDryRun&) = delete;
  KubectlDryRun& operator=(const KubectlDryRun&) = delete;

  // Returns "" when the CRDs loaded, else the error.
  const std::string& error() const { return error_; }
  // Returns the kinds served ("gateway.networking.k8s.io/v1 HTTPRoute").
  size_t kinds() const { return kinds_; }

  // Runs `kubectl apply --dry-run=client -f -` with `yaml` on standard input.
  ProcessResult apply(const std::string& yaml) const {
    return runProcess({"kubectl", "--kubeconfig", kubeconfig_, "--cache-dir", dir_ + "/cache",
                       "apply", "--dry-run=client", "-f", "-"},
                      yaml);
  }

 private:
  struct Resource {
    std::string kind, plural, singular;
    bool namespaced = true;
    nlohmann::json schema;
  };

  void addCrd(const nlohmann::json& crd, const std::set<std::string>& drop) {
    const nlohmann::json& spec = crd.at("spec");
    const std::string group = spec.at("group");
    const nlohmann::json& names = spec.at("names");
    for (const nlohmann::json& v : spec.at("versions")) {
      if (!v.value("served", false)) {
        continue;
      }
      Resource r{names.at("kind"), names.at("plural"), names.value("singular", ""),
                 spec.value("scope", "Namespaced") == "Namespaced",
                 v.at("schema").at("openAPIV3Schema")};
      for (const std::string& path : drop) {
        dropPath(r.schema, path);
      }
      // The API server publishes every CRD with the standard type and object metadata, whether
      // or not the CRD's schema declares them (Istio's do not).
      r.schema["properties"]["apiVersion"] = {{"type", "string"}};
      r.schema["properties"]["kind"] = {{"type", "string"}};
      r.schema["properties"]["metadata"] = {{"type", "object"}};
      apis_[group + "/" + v.at("name").get<std::string>()].push_back(std::move(r));
      ++kinds_;
    }
  }

  // Removes property `path` ("spec.rules.retry"; arrays are stepped through via items).
  static void dropPath(nlohmann::json& schema, const std::string& path) {
    nlohmann::json* node = &schema;
    size_t start = 0;
    while (node != nullptr) {
      while (node->contains("items")) {
        node = &(*node)["items"];
      }
      const size_t dot = path.find('.', start);
      const std::string key = path.substr(start, dot == std::string::npos ? dot : dot - start);
      if (!node->contains("properties") || !(*node)["properties"].contains(key)) {
        return;
      }
      if (dot == std::string::npos) {
        (*node)["properties"].erase(key);
        return;
      }
      node = &(*node)["properties"][key];
      start = dot + 1;
    }
  }

  // --- protobuf encoding of gnostic openapi_v2.Document (google/gnostic openapiv2/OpenAPIv2.proto)
  static std::string varint(uint64_t v) {
    std::string out;
    do {
      uint8_t b = v & 0x7f;
      v >>= 7;
      out += static_cast<char>(v != 0 ? (b | 0x80) : b);
    } while (v != 0);
    return out;
  }
  static std::string field(int number, const std::string& bytes) {  // length-delimited
    return varint(static_cast<uint64_t>(number) << 3 | 2) + varint(bytes.size()) + bytes;
  }
  static std::string boolField(int number, bool v) {
    return varint(static_cast<uint64_t>(number) << 3) + varint(v ? 1 : 0);
  }
  // Schema: required=19, additional_properties=21, type=22, items=23, properties=25,
  // vendor_extension=31 (NamedAny{name=1, value=Any{yaml=2}}).
  static std::string schemaProto(const nlohmann::json& s, const std::string& gvk_yaml = "") {
    std::string out;
    if (s.contains("required")) {
      for (const auto& r : s["required"]) {
        out += field(19, r.get<std::string>());
      }
    }
    if (s.contains("additionalProperties")) {
      const auto& ap = s["additionalProperties"];
      out += field(21, ap.is_boolean() ? boolField(2, ap.get<bool>()) : field(1, schemaProto(ap)));
    }
    if (s.contains("type")) {
      out += field(22, field(1, s["type"].get<std::string>()));
    }
    if (s.contains("items") && s["items"].is_object()) {
      out += field(23, field(1, schemaProto(s["items"])));
    }
    if (s.contains("properties")) {
      std::string props;
      for (const auto& [k, v] : s["properties"].items()) {
        props += field(1, field(1, k) + field(2, schemaProto(v)));
      }
      out += field(25, props);
    }
    if (!gvk_yaml.empty()) {
      out += field(31, field(1, "x-kubernetes-group-version-kind") + field(2, field(2, gvk_yaml)));
    }
    return out;
  }
  std::string openApiV2() const {
    std::string defs;
    for (const auto& [gv, resources] : apis_) {
      const std::string group = gv.substr(0, gv.find('/'));
      const std::string version = gv.substr(gv.find('/') + 1);
      for (const Resource& r : resources) {
        const std::string gvk = "- group: " + group + "\n  kind: " + r.kind +
                                "\n  version: " + version + "\n";
        defs += field(1, field(1, group + "." + version + "." + r.kind) +
                             field(2, schemaProto(r.schema, gvk)));
      }
    }
    return field(1, "2.0") + field(2, field(1, "fake") + field(2, "v1")) + field(9, defs);
  }

  static void json(httplib::Response& res, const nlohmann::json& body, int status = 200) {
    res.status = status;
    res.set_content(body.dump(), "application/json");
  }

  void routes() {
    server_.Get("/version", [](const httplib::Request&, httplib::Response& res) {
      json(res, {{"major", "1"}, {"minor", "32"}, {"gitVersion", "v1.32.0"}});
    });
    server_.Get("/openapi/v3", [this](const httplib::Request&, httplib::Response& res) {
      nlohmann::json paths = nlohmann::json::object();
      for (const auto& [gv, _] : apis_) {
        paths["apis/" + gv] = {{"serverRelativeURL", "/openapi/v3/apis/" + gv + "?hash=1"}};
      }
      json(res, {{"paths", paths}});
    });
    server_.Get(R"(/openapi/v3/apis/([^/]+)/([^/]+))",
                [this](const httplib::Request& req, httplib::Response& res) {
                  const std::string gv = std::string(req.matches[1]) + "/" +
                                         std::string(req.matches[2]);
                  nlohmann::json paths = nlohmann::json::object();
                  auto it = apis_.find(gv);
                  if (it != apis_.end()) {
                    for (const Resource& r : it->second) {
                      // A PATCH without the fieldValidation parameter: kubectl validates itself.
                      paths["/apis/" + gv + "/namespaces/{namespace}/" + r.plural + "/{name}"] = {
                          {"patch",
                           {{"x-kubernetes-group-version-kind",
                             {{"group", gv.substr(0, gv.find('/'))},
                              {"version", gv.substr(gv.find('/') + 1)},
                              {"kind", r.kind}}}}},
                          {"parameters", {{{"name", "dryRun"}, {"in", "query"}}}}};
                    }
                  }
                  json(res, {{"openapi", "3.0.0"},
                             {"info", {{"title", "fake"}, {"version", "v1"}}},
                             {"paths", paths},
                             {"components", {{"schemas", nlohmann::json::object()}}}});
                });
    server_.Get("/openapi/v2", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(openApiV2(), "application/com.github.proto-openapi.spec.v2.v1.0+protobuf");
    });
    server_.Get("/api", [](const httplib::Request&, httplib::Response& res) {
      json(res, {{"kind", "APIVersions"}, {"versions", {"v1"}}});
    });
    server_.Get("/api/v1", [](const httplib::Request&, httplib::Response& res) {
      json(res, {{"kind", "APIResourceList"},
                 {"apiVersion", "v1"},
                 {"groupVersion", "v1"},
                 {"resources", nlohmann::json::array()}});
    });
    server_.Get("/apis", [this](const httplib::Request&, httplib::Response& res) {
      std::map<std::string, std::vector<std::string>> groups;
      for (const auto& [gv, _] : apis_) {
        groups[gv.substr(0, gv.find('/'))].push_back(gv.substr(gv.find('/') + 1));
      }
      nlohmann::json list = nlohmann::json::array();
      for (const auto& [g, versions] : groups) {
        nlohmann::json vs = nlohmann::json::array();
        for (const auto& v : versions) {
          vs.push_back({{"groupVersion", g + "/" + v}, {"version", v}});
        }
        list.push_back({{"name", g}, {"versions", vs}, {"preferredVersion", vs[0]}});
      }
      json(res, {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", list}});
    });
    server_.Get(R"(/apis/([^/]+)/([^/]+))",
                [this](const httplib::Request& req, httplib::Response& res) {
                  const std::string gv = std::string(req.matches[1]) + "/" +
                                         std::string(req.matches[2]);
                  auto it = apis_.find(gv);
                  if (it == apis_.end()) {
                    notFound(res);
                    return;
                  }
                  nlohmann::json resources = nlohmann::json::array();
                  for (const Resource& r : it->second) {
                    resources.push_back({{"name", r.plural},
                                         {"singularName", r.singular},
                                         {"namespaced", r.namespaced},
                                         {"kind", r.kind},
                                         {"verbs", {"get", "list", "create", "patch", "delete"}}});
                  }
                  json(res, {{"kind", "APIResourceList"},
                             {"apiVersion", "v1"},
                             {"groupVersion", gv},
                             {"resources", resources}});
                });
    server_.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (res.body.empty()) {
        notFound(res);
      }
    });
  }

  static void notFound(httplib::Response& res) {
    json(res,
         {{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"}, {"reason", "NotFound"},
          {"code", 404}},
         404);
  }

  std::map<std::string, std::vector<Resource>> apis_;  // "group/version" → kinds
  size_t kinds_ = 0;
  std::string error_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::string dir_;
  std::string kubeconfig_;
};

}  // namespace ambient_guard::testing
