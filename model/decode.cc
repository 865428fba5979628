#include "model/decode.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <ctime>
#include <stdexcept>

#include "model/decode_platform.h"
#include "model/decode_platform_util.h"
#include "model/rfc3339.h"

namespace ambient_guard {
namespace {

using json = JsonValue;

// The JSON field helpers shared with the platform decoders; errors are PlatformDecodeError
// ("<field path> <problem>"). intAt stays local: here a missing port is 0, not nullopt.
using platform_decode::fail;
using platform_decode::FieldPath;
using platform_decode::idx;
using platform_decode::labelMap;
using platform_decode::listAt;
using platform_decode::member;
using platform_decode::objectAt;
using platform_decode::scalar;
using platform_decode::specOf;
using platform_decode::stringAt;
using platform_decode::stringList;

int32_t intAt(const json& j, const char* key, const FieldPath& path) {
  JsonPtr m = member(j, key);
  if (m == nullptr) {
    return 0;
  }
  if (m->is_number_integer()) {
    return static_cast<int32_t>(m->get<int64_t>());
  }
  if (m->is_string()) {
    try {
      return std::stoi(m->get<std::string>());
    } catch (const std::exception&) {
    }
  }
  fail(path.child(key).str(), "must be an integer");
}

WorkloadSelector selectorAt(const json& spec, const char* key, const char* labels_key,
                            const FieldPath& path) {
  WorkloadSelector sel;
  JsonPtr s = objectAt(spec, key, path);
  if (s != nullptr) {
    sel.present = true;
    const FieldPath selector = path.child(key);
    sel.match_labels = labelMap(member(*s, labels_key), selector.child(labels_key));
  }
  return sel;
}

TargetRef targetRef(const json& j, const FieldPath& path) {
  if (!j.is_object()) {
    fail(path.str(), "must be an object");
  }
  TargetRef ref;
  ref.group = stringAt(j, "group", path);
  ref.kind = stringAt(j, "kind", path);
  ref.name = stringAt(j, "name", path);
  ref.ns = stringAt(j, "namespace", path);
  return ref;
}

std::vector<TargetRef> targetRefs(const json& spec, const FieldPath& path) {
  std::vector<TargetRef> refs;
  if (JsonPtr one = member(spec, "targetRef")) {
    refs.push_back(targetRef(*one, path.child("targetRef")));
  }
  if (JsonPtr many = listAt(spec, "targetRefs", path)) {
    refs.reserve(refs.size() + many->size());
    size_t i = 0;
    for (const json ref : *many) {
      refs.push_back(targetRef(ref, path.child("targetRefs", i++)));
    }
  }
  return refs;
}

void decodeMeta(const json& doc, Object& o) {
  JsonPtr meta = objectAt(doc, "metadata", "");
  if (meta == nullptr) {
    fail("metadata", "is missing");
  }
  o.name = stringAt(*meta, "name", "metadata");
  if (o.name.empty()) {
    fail("metadata.name", "is missing");
  }
  o.ns = stringAt(*meta, "namespace", "metadata");
  o.labels = labelMap(member(*meta, "labels"), "metadata.labels");
  if (JsonPtr ts = member(*meta, "creationTimestamp"); ts != nullptr && ts->is_string()) {
    o.created = parseRfc3339(ts->string_view()).value_or(0);
  } else if (const std::string text = stringAt(*meta, "creationTimestamp", "metadata");
             !text.empty()) {
    o.created = parseRfc3339(text).value_or(0);  // a number or bool from YAML: never a time
  }
}

// Returns metadata.annotations (an object), or nothing when absent.
JsonPtr annotations(const json& doc) {
  JsonPtr meta = member(doc, "metadata");
  JsonPtr ann = meta == nullptr ? nullptr : member(*meta, "annotations");
  if (ann != nullptr && !ann->is_object()) {
    fail("metadata.annotations", "must be a map of strings");
  }
  return ann;
}

std::string annotation(JsonPtr annotations, const char* key) {
  return annotations == nullptr ? std::string()
                                : stringAt(*annotations, key, "metadata.annotations");
}

std::string annotation(const json& doc, const char* key) {
  return annotation(annotations(doc), key);
}

// Returns the weighted waypoint canary's share (Istio 1.31; Service, ServiceEntry, Namespace).
std::string canaryWeight(const json& doc) {
  return annotation(doc, "istio.io/use-waypoint-canary-weight");
}



// Keeps every non-empty list field of an AuthorizationPolicy source/operation under its Istio
// name. Unknown fields are kept too: istiod rejects them, and rules only look up known names.
std::vector<FieldValues> fieldValues(const json& j, const FieldPath& path) {
  std::vector<FieldValues> out;
  if (!j.is_object()) {
    fail(path.str(), "must be an object");
  }
  j.forEachMember([&](std::string_view key, const json& v) {
    // A repeated key: the last one wins, as for every other member.
    out.erase(std::remove_if(out.begin(), out.end(),
                             [&](const FieldValues& fv) { return fv.field == key; }),
              out.end());
    if (!v.is_array() || v.empty()) {
      return;
    }
    FieldValues fv{std::string(key), {}};
    fv.values.reserve(v.size());
    size_t i = 0;
    for (const json item : v) {
      // The path is built only for a value that is not a string (an error, or a YAML scalar).
      fv.values.push_back(item.is_string() ? std::string(item.string_view())
                                           : scalar(item, path.child(key, i)));
      ++i;
    }
    out.push_back(std::move(fv));
  });
  return out;
}

Service decodeService(const json& doc) {
  Service s;
  const json& spec = specOf(doc);
  s.selector = labelMap(member(spec, "selector"), "spec.selector");
  s.waypoint_canary_weight = canaryWeight(doc);
  if (JsonPtr ports = listAt(spec, "ports", "spec")) {
    for (size_t i = 0; i < ports->size(); ++i) {
      const json& p = (*ports)[i];
      std::string path = idx("spec.ports", i);
      if (!p.is_object()) {
        fail(path, "must be an object");
      }
      s.ports.push_back({intAt(p, "port", path), stringAt(p, "name", path),
                         stringAt(p, "protocol", path), stringAt(p, "appProtocol", path)});
    }
  }
  return s;
}

Gateway decodeGateway(const json& doc) {
  Gateway g;
  const json& spec = specOf(doc);
  g.gateway_class = stringAt(spec, "gatewayClassName", "spec");
  g.service_account = annotation(doc, "gateway.istio.io/service-account");
  g.inbound_binding = annotation(doc, "ambient.istio.io/waypoint-inbound-binding");
  if (JsonPtr ls = listAt(spec, "listeners", "spec")) {
    for (size_t i = 0; i < ls->size(); ++i) {
      const json& l = (*ls)[i];
      std::string path = idx("spec.listeners", i);
      if (!l.is_object()) {
        fail(path, "must be an object");
      }
      Listener listener{stringAt(l, "name", path), intAt(l, "port", path),
                        stringAt(l, "protocol", path), {}};
      if (JsonPtr ar = objectAt(l, "allowedRoutes", path)) {
        if (JsonPtr nss = objectAt(*ar, "namespaces", path + ".allowedRoutes")) {
          std::string np = path + ".allowedRoutes.namespaces";
          std::string from = stringAt(*nss, "from", np);
          if (!from.empty()) {
            listener.allowed_routes.from = from;
          }
          if (JsonPtr sel = objectAt(*nss, "selector", np)) {
            listener.allowed_routes.selector =
                labelMap(member(*sel, "matchLabels"), np + ".selector.matchLabels");
          }
        }
      }
      g.listeners.push_back(std::move(listener));
    }
  }
  if (JsonPtr status = objectAt(doc, "status", "")) {
    JsonPtr addrs = listAt(*status, "addresses", "status");
    g.readiness = (addrs != nullptr && !addrs->empty()) ? GatewayReadiness::kReady
                                                       : GatewayReadiness::kNotReady;
  }
  return g;
}

RouteRef routeRef(const json& j, const std::string& path) {
  if (!j.is_object()) {
    fail(path, "must be an object");
  }
  return RouteRef{stringAt(j, "group", path), stringAt(j, "kind", path),
                  stringAt(j, "namespace", path), stringAt(j, "name", path),
                  stringAt(j, "sectionName", path)};
}

// Keeps the parents and the Service backends only: filters, matches and weights are not read by
// any rule, and the lists intern well (many routes share one ingress Gateway parent).
HTTPRoute decodeHttpRoute(const json& doc) {
  HTTPRoute r;
  const json& spec = specOf(doc);
  if (JsonPtr ps = listAt(spec, "parentRefs", "spec")) {
    std::vector<RouteRef> parents;
    parents.reserve(ps->size());
    for (size_t i = 0; i < ps->size(); ++i) {
      parents.push_back(routeRef((*ps)[i], idx("spec.parentRefs", i)));
    }
    r.parent_refs = std::move(parents);
  }
  if (JsonPtr rules = listAt(spec, "rules", "spec")) {
    std::vector<RouteRef> backends;
    for (size_t i = 0; i < rules->size(); ++i) {
      const json& rule = (*rules)[i];
      const std::string path = idx("spec.rules", i);
      if (!rule.is_object()) {
        fail(path, "must be an object");
      }
      JsonPtr bs = listAt(rule, "backendRefs", path);
      for (size_t b = 0; bs != nullptr && b < bs->size(); ++b) {
        RouteRef ref = routeRef((*bs)[b], idx(path + ".backendRefs", b));
        // BackendObjectReference: group "" (core) and kind Service are the defaults.
        if (!ref.group.empty() || !(ref.kind.empty() || ref.kind == "Service")) {
          continue;
        }
        RouteRef svc{{}, {}, std::move(ref.ns), std::move(ref.name), {}};
        if (std::find(backends.begin(), backends.end(), svc) == backends.end()) {
          backends.push_back(std::move(svc));
        }
      }
    }
    r.backend_refs = std::move(backends);
  }
  return r;
}

AuthorizationPolicy decodeAuthorizationPolicy(const json& doc) {
  AuthorizationPolicy ap;
  const json& spec = specOf(doc);
  ap.selector = selectorAt(spec, "selector", "matchLabels", "spec");
  ap.target_refs = targetRefs(spec, "spec");
  std::string action = stringAt(spec, "action", "spec");
  if (!action.empty()) {
    ap.action = action;
  }
  if (JsonPtr provider = objectAt(spec, "provider", "spec")) {
    ap.provider = stringAt(*provider, "name", "spec.provider");
  }
  if (JsonPtr rules = listAt(spec, "rules", "spec")) {
    size_t i = 0;
    for (const json r : *rules) {
      const FieldPath path("spec.rules", i++);
      AuthzRule rule;
      if (r.is_null()) {
        ap.rules.push_back(std::move(rule));
        continue;
      }
      if (!r.is_object()) {
        fail(path.str(), "must be an object");
      }
      // from[k].source and to[k].operation: the same shape, a list of objects of field lists.
      auto clauses = [&](const char* list, const char* clause,
                         std::vector<std::vector<FieldValues>>& out) {
        JsonPtr items = listAt(r, list, path);
        if (items == nullptr) {
          return;
        }
        out.reserve(items->size());
        size_t k = 0;
        for (const json item : *items) {
          const FieldPath at = path.child(list, k++);
          JsonPtr fields = objectAt(item, clause, at);
          out.push_back(fields == nullptr ? std::vector<FieldValues>{}
                                          : fieldValues(*fields, at.child(clause)));
        }
      };
      clauses("from", "source", rule.from);
      clauses("to", "operation", rule.to);
      if (JsonPtr when = listAt(r, "when", path)) {
        size_t k = 0;
        for (const json c : *when) {
          const FieldPath cp = path.child("when", k++);
          if (!c.is_object()) {
            fail(cp.str(), "must be an object");
          }
          rule.when.push_back({stringAt(c, "key", cp), stringList(c, "values", cp),
                               stringList(c, "notValues", cp)});
        }
      }
      ap.rules.push_back(std::move(rule));
    }
  }
  const JsonPtr ann = annotations(doc);
  ap.translated_from = annotation(ann, "ambient-guard.io/translated-from");
  if (ann != nullptr && member(*ann, "istio.io/dry-run") != nullptr) {
    ap.dry_run = annotation(ann, "istio.io/dry-run");
  }
  return ap;
}

PeerAuthentication decodePeerAuthentication(const json& doc) {
  PeerAuthentication pa;
  const json& spec = specOf(doc);
  pa.selector = selectorAt(spec, "selector", "matchLabels", "spec");
  if (JsonPtr mtls = objectAt(spec, "mtls", "spec")) {
    pa.mode = stringAt(*mtls, "mode", "spec.mtls");
  }
  if (JsonPtr ports = objectAt(spec, "portLevelMtls", "spec")) {
    for (const auto& [port, cfg] : ports->items()) {
      std::string path = "spec.portLevelMtls." + port;
      int32_t n = 0;
      try {
        n = std::stoi(port);
      } catch (const std::exception&) {
        fail(path, "key must be a port number");
      }
      if (!cfg.is_object()) {
        fail(path, "must be an object");
      }
      pa.port_modes.emplace_back(n, stringAt(cfg, "mode", path));
    }
  }
  return pa;
}

RequestAuthentication decodeRequestAuthentication(const json& doc) {
  RequestAuthentication ra;
  const json& spec = specOf(doc);
  ra.selector = selectorAt(spec, "selector", "matchLabels", "spec");
  ra.target_refs = targetRefs(spec, "spec");
  ra.translated_from = annotation(doc, "ambient-guard.io/translated-from");
  if (JsonPtr rules = listAt(spec, "jwtRules", "spec")) {
    for (size_t i = 0; i < rules->size(); ++i) {
      if ((*rules)[i].is_object()) {
        ra.issuers.push_back(stringAt((*rules)[i], "issuer", idx("spec.jwtRules", i)));
      }
    }
  }
  return ra;
}

void noteMatchFeatures(const json& match, const std::string& path, std::vector<std::string>& out) {
  if (!match.is_object()) {
    fail(path, "must be an object");
  }
  // Match fields with no HTTPRoute equivalent (spec §5.1).
  static constexpr const char* kNone[] = {"sourceLabels", "sourceNamespace", "gateways",
                                          "withoutHeaders", "ignoreUriCase", "scheme",
                                          "statPrefix", "authority"};
  for (const char* f : kNone) {
    if (member(match, f) != nullptr) {
      out.push_back(path + "." + f);
    }
  }
  if (JsonPtr uri = objectAt(match, "uri", path)) {
    if (JsonPtr prefix = member(*uri, "prefix");
        prefix != nullptr && prefix->is_string() && prefix->get<std::string>() != "/") {
      out.push_back(path + ".uri.prefix (HTTPRoute PathPrefix matches whole path segments)");
    }
  }
  for (const char* kv : {"headers", "queryParams"}) {
    if (JsonPtr h = objectAt(match, kv, path)) {
      for (const auto& [name, m] : h->items()) {
        if (member(m, "prefix") != nullptr) {
          out.push_back(path + "." + kv + "." + name + ".prefix");
        }
      }
    }
  }
}

VirtualService decodeVirtualService(const json& doc) {
  VirtualService vs;
  const json& spec = specOf(doc);
  vs.hosts = stringList(spec, "hosts", "spec");
  vs.gateways = stringList(spec, "gateways", "spec");
  vs.export_to = stringList(spec, "exportTo", "spec");
  vs.has_tcp_or_tls = member(spec, "tcp") != nullptr || member(spec, "tls") != nullptr;
  auto& gaps = vs.no_httproute_equivalent.mutate();
  if (JsonPtr http = listAt(spec, "http", "spec")) {
    for (size_t i = 0; i < http->size(); ++i) {
      const json& h = (*http)[i];
      std::string path = idx("spec.http", i);
      if (!h.is_object()) {
        fail(path, "must be an object");
      }
      for (const char* f : {"fault", "directResponse", "delegate"}) {
        if (member(h, f) != nullptr) {
          gaps.push_back(path + "." + f);
        }
      }
      if (member(h, "retries") != nullptr) {
        gaps.push_back(path + ".retries (HTTPRoute retry is experimental-channel only)");
      }
      if (JsonPtr rw = objectAt(h, "rewrite", path)) {
        if (member(*rw, "uriRegexRewrite") != nullptr) {
          gaps.push_back(path + ".rewrite.uriRegexRewrite");
        }
      }
      if (JsonPtr matches = listAt(h, "match", path)) {
        for (size_t m = 0; m < matches->size(); ++m) {
          noteMatchFeatures((*matches)[m], idx(path + ".match", m), gaps);
        }
      }
      if (JsonPtr routes = listAt(h, "route", path)) {
        for (size_t r = 0; r < routes->size(); ++r) {
          std::string rp = idx(path + ".route", r);
          JsonPtr dest = objectAt((*routes)[r], "destination", rp);
          if (dest == nullptr) {
            continue;
          }
          VsDestination d{stringAt(*dest, "host", rp + ".destination"),
                          stringAt(*dest, "subset", rp + ".destination")};
          if (!d.subset.empty()) {
            gaps.push_back(rp + ".destination.subset (use one Service per subset)");
          }
          vs.destinations.push_back(std::move(d));
        }
      }
    }
  }
  return vs;
}

// Keeps the SIMPLE / MUTUAL tls modes of a DestinationRule's trafficPolicy (and its port-level
// settings): TLS origination by the client's proxy.
void decodeTlsOrigination(const json& spec, DestinationRule& dr) {
  auto keep = [&](const json& policy, const std::string& path) {
    JsonPtr tls = objectAt(policy, "tls", path);
    if (tls == nullptr) {
      return;
    }
    const std::string mode = stringAt(*tls, "mode", path + ".tls");
    if (mode == "SIMPLE" || mode == "MUTUAL") {
      dr.tls_origination.emplace_back(path + ".tls.mode", mode);
    }
  };
  JsonPtr tp = objectAt(spec, "trafficPolicy", "spec");
  if (tp == nullptr) {
    return;
  }
  keep(*tp, "spec.trafficPolicy");
  if (JsonPtr ports = listAt(*tp, "portLevelSettings", "spec.trafficPolicy")) {
    for (size_t i = 0; i < ports->size(); ++i) {
      if ((*ports)[i].is_object()) {
        keep((*ports)[i], idx("spec.trafficPolicy.portLevelSettings", i));
      }
    }
  }
}

DestinationRule decodeDestinationRule(const json& doc) {
  DestinationRule dr;
  const json& spec = specOf(doc);
  dr.host = stringAt(spec, "host", "spec");
  if (JsonPtr subsets = listAt(spec, "subsets", "spec")) {
    for (size_t i = 0; i < subsets->size(); ++i) {
      if ((*subsets)[i].is_object()) {
        dr.subsets.push_back(stringAt((*subsets)[i], "name", idx("spec.subsets", i)));
      }
    }
  }
  dr.export_to = stringList(spec, "exportTo", "spec");
  decodeTlsOrigination(spec, dr);
  return dr;
}

AnyObject decodeKind(Kind kind, const json& doc) {
  switch (kind) {
    case Kind::kNamespace: {
      Namespace n;
      if (JsonPtr meta = member(doc, "metadata"); meta != nullptr && meta->is_object()) {
        n.uid = stringAt(*meta, "uid", "metadata");
        JsonPtr deleted = member(*meta, "deletionTimestamp");
        n.terminating = deleted != nullptr && !deleted->is_null();
      }
      n.waypoint_canary_weight = canaryWeight(doc);
      return n;
    }
    case Kind::kService:
      return decodeService(doc);
    case Kind::kGateway:
      return decodeGateway(doc);
    case Kind::kGatewayClass: {
      GatewayClass gc;
      gc.controller = stringAt(specOf(doc), "controllerName", "spec");
      return gc;
    }
    case Kind::kAuthorizationPolicy:
      return decodeAuthorizationPolicy(doc);
    case Kind::kPeerAuthentication:
      return decodePeerAuthentication(doc);
    case Kind::kRequestAuthentication:
      return decodeRequestAuthentication(doc);
    case Kind::kVirtualService:
      return decodeVirtualService(doc);
    case Kind::kDestinationRule:
      return decodeDestinationRule(doc);
    case Kind::kEnvoyFilter: {
      EnvoyFilter ef;
      ef.selector = selectorAt(specOf(doc), "workloadSelector", "labels", "spec");
      ef.target_refs = targetRefs(specOf(doc), "spec");
      return ef;
    }
    case Kind::kSidecar: {
      Sidecar sc;
      sc.selector = selectorAt(specOf(doc), "workloadSelector", "labels", "spec");
      return sc;
    }
    case Kind::kWasmPlugin: {
      WasmPlugin wp;
      wp.selector = selectorAt(specOf(doc), "selector", "matchLabels", "spec");
      wp.target_refs = targetRefs(specOf(doc), "spec");
      return wp;
    }
    case Kind::kServiceEntry: {
      ServiceEntry se;
      se.hosts = stringList(specOf(doc), "hosts", "spec");
      se.export_to = stringList(specOf(doc), "exportTo", "spec");
      se.waypoint_canary_weight = canaryWeight(doc);
      return se;
    }
    case Kind::kWorkloadEntry: {
      WorkloadEntry we;
      we.address = stringAt(specOf(doc), "address", "spec");
      return we;
    }
    case Kind::kWorkloadGroup:
      return WorkloadGroup{};
    case Kind::kTrafficExtension: {
      TrafficExtension te;
      te.selector = selectorAt(specOf(doc), "selector", "matchLabels", "spec");
      te.target_refs = targetRefs(specOf(doc), "spec");
      return te;
    }
    case Kind::kClusterSPIFFEID:
      return ClusterSPIFFEID{};
    case Kind::kHTTPRoute:
      return decodeHttpRoute(doc);
    default:
      if (isPlatformKind(kind)) {
        return decodePlatformObject(kind, doc);  // model/decode_platform.cc
      }
      break;
  }
  fail("kind", "is not supported");
}

}  // namespace

std::string documentKind(const json& doc) { return stringMember(doc, "kind"); }

namespace {

// decodeObject, with `api_version` and `kind` for an absent member (not for a null one) when
// they are not null.
Result<std::optional<AnyObject>> decodeWithDefaults(const json& doc, int line,
                                                    const std::string_view* default_api,
                                                    const std::string_view* default_kind) {
  if (!doc.is_object()) {
    return Error{"document is not an object"};
  }
  auto text = [&](const char* key, const std::string_view* fallback) -> std::optional<std::string> {
    JsonPtr present = doc.find(key);
    if (present == nullptr && fallback != nullptr) {
      return std::string(*fallback);
    }
    return present != nullptr && present->is_string()
               ? std::optional<std::string>(std::string(present->string_view()))
               : std::nullopt;
  };
  std::optional<std::string> api = text("apiVersion", default_api);
  std::optional<std::string> kind = text("kind", default_kind);
  if (!api || !kind) {
    return Error{"object has no apiVersion/kind"};
  }
  std::optional<Kind> k = kindFromApi(*api, *kind);
  if (!k || !keepPlatformDocument(*k, doc)) {
    return std::optional<AnyObject>();
  }
  // The object's name, for an error only.
  auto nameOf = [&doc]() -> std::string {
    if (JsonPtr meta = member(doc, "metadata"); meta != nullptr && meta->is_object()) {
      if (JsonPtr n = member(*meta, "name"); n != nullptr && n->is_string()) {
        return n->get<std::string>();
      }
    }
    return "?";
  };
  try {
    Object meta_only;
    decodeMeta(doc, meta_only);
    AnyObject obj = decodeKind(*k, doc);
    Object& m = metaOf(obj);
    m = std::move(meta_only);
    if (clusterScoped(*k)) {
      m.ns.clear();
    }
    m.line = line;
    return std::optional<AnyObject>(std::move(obj));
  } catch (const PlatformDecodeError& e) {
    return Error{std::string(kindName(*k)) + " " + nameOf() + ": " + e.what()};
  } catch (const JsonTypeError& e) {
    return Error{std::string(kindName(*k)) + " " + nameOf() + ": " + e.what()};
  } catch (const std::exception& e) {
    // Last resort (std::out_of_range, std::length_error, ...): the caller gets an error for
    // this object, never an exception out of a request or watch thread.
    return Error{std::string(kindName(*k)) + " " + nameOf() + ": " + e.what()};
  }
}

}  // namespace

Result<std::optional<AnyObject>> decodeObject(const json& doc, int line) {
  return decodeWithDefaults(doc, line, nullptr, nullptr);
}

Result<std::optional<AnyObject>> decodeListItem(const json& item, std::string_view api_version,
                                                std::string_view kind) {
  return decodeWithDefaults(item, 0, &api_version, &kind);
}

Result<std::optional<AnyObject>> decodeObject(const nlohmann::json& doc, int line) {
  // Strings from YAML need not be valid UTF-8; replace rather than throw.
  const std::string text = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  auto parsed = parseJson(text);
  if (!parsed.ok()) {
    return Error{"document: " + parsed.error()};
  }
  return decodeObject(parsed->root(), line);
}

std::string documentKind(const nlohmann::json& doc) {
  auto k = doc.is_object() ? doc.find("kind") : doc.end();
  return doc.is_object() && k != doc.end() && k->is_string() ? k->get<std::string>()
                                                             : std::string();
}

std::optional<int64_t> parseRfc3339(std::string_view text) {
  auto micros = parseRfc3339Micros(text, /*lenient=*/false);
  if (!micros.ok()) {
    return std::nullopt;
  }
  // Whole seconds, rounded down (the fraction is dropped, also before 1970).
  const int64_t us = *micros;
  return us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
}

}  // namespace ambient_guard
