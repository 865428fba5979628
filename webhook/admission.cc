#include "webhook/admission.h"

#include <algorithm>

#include "model/base64.h"
#include "model/decode.h"
#include "model/json_value.h"

namespace ambient_guard {
namespace {

using nlohmann::json;

std::string metadataName(const JsonValue& obj) {
  JsonPtr meta = obj.find("metadata");
  return meta && meta->is_object() ? stringMember(*meta, "name") : std::string();
}

std::optional<Operation> parseOperation(std::string_view op) {
  if (op == "CREATE") {
    return Operation::kCreate;
  }
  if (op == "UPDATE") {
    return Operation::kUpdate;
  }
  if (op == "DELETE") {
    return Operation::kDelete;
  }
  if (op == "CONNECT") {
    return Operation::kConnect;
  }
  return std::nullopt;
}

// Decodes one side of the write; fills the namespace / name the apiserver knows but the
// object may leave out.
Result<std::optional<AnyObject>> decodeSide(const JsonValue& doc, const AdmissionRequest& req,
                                            const char* which) {
  if (!doc.is_object()) {
    return std::optional<AnyObject>();
  }
  auto decoded = decodeObject(doc);
  if (!decoded.ok()) {
    return Error{std::string("request.") + which + ": " + decoded.error()};
  }
  if (!decoded->has_value()) {
    return std::optional<AnyObject>();
  }
  AnyObject& obj = **decoded;
  Object& meta = metaOf(obj);
  const Kind kind = kindOf(obj);
  if (kind == Kind::kNamespace) {
    if (meta.name.empty()) {
      meta.name = req.name;
    }
  } else if (meta.ns.empty()) {
    meta.ns = req.ns;  // "" for cluster-scoped kinds
  }
  return std::move(*decoded);
}

}  // namespace

std::string AdmissionRequest::objectName() const {
  if (!name.empty()) {
    return name;
  }
  std::string n = metadataName(object);
  return n.empty() ? metadataName(old_object) : n;
}

Result<AdmissionRequest> parseAdmissionReview(std::string_view body) {
  return parseAdmissionReview(body, 0);
}

Result<AdmissionRequest> parseAdmissionReview(std::string_view body, size_t readable_after) {
  // Parsed once into a simdjson document; the decoders read it in place. managedFields (most
  // of a typical object, read by no rule) stays on the tape and is never converted.
  auto parsed = parseJsonPadded(body, readable_after);
  if (!parsed.ok()) {
    return Error{"malformed JSON: " + parsed.error()};
  }
  AdmissionRequest req;
  req.document = std::move(*parsed);
  const JsonValue doc = req.document.root();
  if (!doc.is_object()) {
    return Error{"the body is not an AdmissionReview object"};
  }
  const std::string api_version = stringMember(doc, "apiVersion");
  const std::string kind = stringMember(doc, "kind");
  if (api_version != kAdmissionApiVersion || kind != "AdmissionReview") {
    return Error{"expected apiVersion admission.k8s.io/v1, kind AdmissionReview; got \"" +
                 api_version + "\", \"" + kind + "\""};
  }
  JsonPtr rit = doc.find("request");
  if (!rit || !rit->is_object()) {
    return Error{"AdmissionReview has no request"};
  }
  // One pass over the request's members (of repeated keys the last one wins, as in find()).
  auto text = [](const JsonValue& v) {
    return v.is_string() ? std::string(v.string_view()) : std::string();
  };
  rit->forEachMember([&](std::string_view key, const JsonValue& v) {
    if (key == "uid") {
      req.uid = text(v);
    } else if (key == "kind") {
      req.kind = {};
      v.forEachMember([&](std::string_view k, const JsonValue& part) {
        if (k == "group") {
          req.kind.group = text(part);
        } else if (k == "version") {
          req.kind.version = text(part);
        } else if (k == "kind") {
          req.kind.kind = text(part);
        }
      });
    } else if (key == "subResource") {
      req.sub_resource = text(v);
    } else if (key == "name") {
      req.name = text(v);
    } else if (key == "namespace") {
      req.ns = text(v);
    } else if (key == "operation") {
      req.operation = text(v);
    } else if (key == "userInfo") {
      req.username.clear();
      req.groups.clear();
      v.forEachMember([&](std::string_view k, const JsonValue& part) {
        if (k == "username") {
          req.username = text(part);
        } else if (k == "groups") {
          req.groups.clear();
          if (part.is_array()) {
            req.groups.reserve(part.size());
            for (const JsonValue item : part) {
              if (item.is_string()) {
                req.groups.emplace_back(item.string_view());
              }
            }
          }
        }
      });
    } else if (key == "dryRun") {
      req.dry_run = v.is_boolean() && v.get<bool>();
    } else if (key == "object") {
      req.object = v;
    } else if (key == "oldObject") {
      req.old_object = v;
    }
  });
  if (req.uid.empty()) {
    return Error{"request.uid is missing"};
  }
  if (!parseOperation(req.operation)) {
    return Error{"request.operation \"" + req.operation +
                 "\" is not CREATE, UPDATE, DELETE or CONNECT"};
  }
  return req;
}

Result<std::optional<Change>> decodeChange(const AdmissionRequest& req) {
  const auto op = parseOperation(req.operation);
  if (!op || *op == Operation::kConnect || !req.sub_resource.empty()) {
    return std::optional<Change>();
  }
  Change change;
  change.op = *op;
  if (*op != Operation::kDelete) {
    auto obj = decodeSide(req.object, req, "object");
    if (!obj.ok()) {
      return Error{obj.error()};
    }
    change.object = std::move(*obj);
  }
  if (*op != Operation::kCreate) {
    auto old = decodeSide(req.old_object, req, "oldObject");
    if (!old.ok()) {
      return Error{old.error()};
    }
    change.old_object = std::move(*old);
  }
  if (!change.object && !change.old_object) {
    return std::optional<Change>();
  }
  return std::optional<Change>(std::move(change));
}

bool validAuditAnnotationKey(std::string_view key) {
  if (key.empty() || key.size() > 63) {
    return false;
  }
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(key.front()) || !alnum(key.back())) {
    return false;
  }
  for (char c : key) {
    if (!alnum(c) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

namespace {

// Appends `s` as a JSON string exactly as nlohmann's dump(-1, ' ', false, replace) writes it:
// printable ASCII without '"' and '\\' is copied; anything else goes through nlohmann.
void appendJsonString(std::string& out, std::string_view s) {
  const bool plain = std::all_of(s.begin(), s.end(), [](char c) {
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
  });
  if (plain) {
    out.push_back('"');
    out.append(s);
    out.push_back('"');
    return;
  }
  out.append(json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace

std::string serializeAdmissionResponse(const AdmissionResponse& resp) {
  // Written directly, members in nlohmann's (sorted) order so the bytes are what
  // json::dump of the same object gives (tests/webhook/admission_test.cc checks both ways);
  // building the tree first cost more than the rest of an allowed review's response.
  std::string out;
  out.reserve(160 + resp.uid.size() + resp.message.size());
  out.append(R"({"apiVersion":)");
  appendJsonString(out, kAdmissionApiVersion);
  out.append(R"(,"kind":"AdmissionReview","response":{"allowed":)");
  out.append(resp.allowed ? "true" : "false");
  if (!resp.audit_annotations.empty()) {
    out.append(R"(,"auditAnnotations":{)");
    bool first = true;
    for (const auto& [k, v] : resp.audit_annotations) {  // std::map: sorted, as nlohmann
      if (!first) {
        out.push_back(',');
      }
      first = false;
      appendJsonString(out, k);
      out.push_back(':');
      appendJsonString(out, v);
    }
    out.push_back('}');
  }
  if (resp.patch.is_array() && !resp.patch.empty()) {
    out.append(R"(,"patch":)");
    appendJsonString(
        out, base64Encode(resp.patch.dump(-1, ' ', false, json::error_handler_t::replace)));
    out.append(R"(,"patchType":"JSONPatch")");
  }
  if (!resp.allowed) {
    out.append(R"(,"status":{"code":403,"message":)");
    appendJsonString(out, resp.message);
    out.append(R"(,"reason":"Forbidden"})");
  }
  out.append(R"(,"uid":)");
  appendJsonString(out, resp.uid);
  if (!resp.warnings.empty()) {
    out.append(R"(,"warnings":[)");
    for (size_t i = 0; i < resp.warnings.size(); ++i) {
      if (i > 0) {
        out.push_back(',');
      }
      appendJsonString(out, resp.warnings[i]);
    }
    out.push_back(']');
  }
  out.append("}}");
  return out;
}

}  // namespace ambient_guard
