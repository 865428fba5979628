// VirtualService http[] route → HTTPRoute rule (spec §5.1): destinations, filters, timeouts,
// retries. Matches are in translate_match.cc.
#include <algorithm>
#include <array>
#include <cmath>
#include <regex>
#include <set>

#include "migrate/translate_internal.h"
#include "rules/ambient.h"

namespace ambient_guard::translation {
namespace {

constexpr std::array<int, 5> kRedirectCodes = {301, 302, 303, 307, 308};  // HR statusCode enum

std::string idx(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// Short service name of an in-cluster host: "reviews.shop.svc.cluster.local" → "reviews".
std::string serviceOf(const std::string& host) { return host.substr(0, host.find('.')); }

ordered_json headerModifier(const json& ops) {
  ordered_json f = ordered_json::object();
  for (const char* verb : {"set", "add"}) {
    if (const json* kv = member(ops, verb); kv != nullptr && kv->is_object()) {
      ordered_json list = ordered_json::array();
      for (const auto& [name, value] : kv->items()) {
        list.push_back(
            {{"name", name}, {"value", value.is_string() ? value.get<std::string>() : value.dump()}});
      }
      f[verb] = std::move(list);
    }
  }
  if (const json* rm = member(ops, "remove"); rm != nullptr && rm->is_array()) {
    f["remove"] = ordered(*rm);
  }
  return f;
}

// Appends {type: RequestHeaderModifier|ResponseHeaderModifier} filters for VS `headers`.
void headerFilters(const json& headers, ordered_json& filters) {
  if (const json* req = member(headers, "request")) {
    filters.push_back({{"type", "RequestHeaderModifier"}, {"requestHeaderModifier",
                                                           headerModifier(*req)}});
  }
  if (const json* resp = member(headers, "response")) {
    filters.push_back({{"type", "ResponseHeaderModifier"}, {"responseHeaderModifier",
                                                            headerModifier(*resp)}});
  }
}

// Returns the labels of DestinationRule subset `subset` for Service ns/svc, or "".
std::string subsetLabels(const Context& ctx, const std::string& ns, const std::string& svc,
                         const std::string& subset) {
  for (const RawDocument& raw : ctx.docs) {
    if (text(raw.doc, "kind") != "DestinationRule") {
      continue;
    }
    const json* meta = member(raw.doc, "metadata");
    const json* spec = member(raw.doc, "spec");
    if (meta == nullptr || spec == nullptr) {
      continue;
    }
    std::string dr_ns = text(*meta, "namespace");
    const std::string host = text(*spec, "host");
    if (ambient::hostNamespace(host, dr_ns.empty() ? ns : dr_ns) != ns || serviceOf(host) != svc) {
      continue;
    }
    if (const json* subsets = member(*spec, "subsets"); subsets != nullptr && subsets->is_array()) {
      for (const json& s : *subsets) {
        if (text(s, "name") == subset) {
          std::string out;
          if (const json* labels = member(s, "labels"); labels != nullptr && labels->is_object()) {
            for (const auto& [k, v] : labels->items()) {
              out += (out.empty() ? "" : ",") + k + "=" + (v.is_string() ? v.get<std::string>()
                                                                          : v.dump());
            }
          }
          return out;
        }
      }
    }
  }
  return "";
}

// Returns the single port of a ServiceEntry declaring `host`, or 0.
int32_t serviceEntryPort(const Context& ctx, const std::string& host) {
  for (const RawDocument& raw : ctx.docs) {
    if (text(raw.doc, "kind") != "ServiceEntry") {
      continue;
    }
    const json* spec = member(raw.doc, "spec");
    const json* hosts = spec != nullptr ? member(*spec, "hosts") : nullptr;
    if (hosts == nullptr || !hosts->is_array() ||
        std::find(hosts->begin(), hosts->end(), json(host)) == hosts->end()) {
      continue;
    }
    const json* ports = member(*spec, "ports");
    if (ports != nullptr && ports->is_array() && ports->size() == 1) {
      return (*ports)[0].value("number", 0);
    }
  }
  return 0;
}

struct Backend {
  ordered_json ref = ordered_json::object();
  std::vector<std::string> notes;  // comments for this backend
  bool review = false;
  bool port_missing = false;  // a Service backend without a port: not valid as written
};

// A VirtualService Destination as an HTTPRoute backend reference (spec §5.1 route rows).
Backend backendFor(const Context& ctx, const json& dest, const RouteScope& scope,
                   const std::string& path) {
  Backend b;
  const std::string host = text(dest, "host");
  const std::string subset = text(dest, "subset");
  int32_t port = 0;
  if (const json* p = member(dest, "port")) {
    port = p->value("number", 0);
  }
  const std::string ns = ambient::hostNamespace(host, scope.vs_ns);
  if (ns.empty()) {
    // A ServiceEntry host ([I] conversion.go:1193-1209).
    b.ref["group"] = "networking.istio.io";
    b.ref["kind"] = "Hostname";
    b.ref["name"] = host;
    port = port != 0 ? port : serviceEntryPort(ctx, host);
  } else {
    const std::string svc = serviceOf(host);
    b.ref["name"] = subset.empty() ? svc : svc + "-" + subset;
    if (ns != scope.route_ns) {
      b.ref["namespace"] = ns;
      b.notes.push_back("Service " + ns + "/" + svc + " is in another namespace: it needs a "
                        "ReferenceGrant there allowing HTTPRoutes from " + scope.route_ns + ".");
      b.review = true;
    }
    if (port == 0) {
      const Service* service = ctx.state.find<Service>(ns, svc);
      if (service != nullptr && service->ports.size() == 1) {
        port = service->ports[0].port;
      } else if (scope.parent_port) {
        port = *scope.parent_port;
      } else {
        b.notes.push_back(path + ".destination.port is not set and Service " + ns + "/" + svc +
                          (service == nullptr ? " is not in the state (--state)"
                                              : " has several ports") +
                          ": HTTPRoute needs backendRefs[].port; add it.");
        b.review = true;
        b.port_missing = true;
      }
    }
    if (!subset.empty()) {
      const std::string labels = subsetLabels(ctx, ns, svc, subset);
      const bool exists = ctx.state.find<Service>(ns, svc + "-" + subset) != nullptr;
      b.notes.push_back(path + ".destination.subset \"" + subset + "\" has no HTTPRoute "
                        "equivalent (migrate-policies: one Service per subset)" +
                        (exists ? "; Service " + svc + "-" + subset + " exists."
                                : ": create Service " + ns + "/" + svc + "-" + subset +
                                      " selecting " +
                                      (labels.empty() ? "the subset's pods"
                                                      : "the subset's pods (" + labels + ")") +
                                      " with the ports of " + svc + "; until then this backend "
                                      "answers 500."));
      b.review = b.review || !exists;
    }
  }
  if (port != 0) {
    b.ref["port"] = port;
  }
  return b;
}

// A mirror percentage (0-100, fractional allowed) as RequestMirror percent or fraction.
void mirrorAmount(const json& pct, ordered_json& mirror) {
  if (!pct.is_number()) {
    return;
  }
  const double v = pct.get<double>();
  if (v == std::floor(v)) {
    mirror["percent"] = static_cast<int>(v);
  } else {
    // [I] conversion.go:1322-1343 uses fraction for non-integral percentages.
    mirror["fraction"] = {{"numerator", std::llround(v * 10000)}, {"denominator", 1000000}};
  }
}

}  // namespace

HttpRule convertHttpRoute(const Context& ctx, const json& http, size_t index,
                          const RouteScope& scope) {
  HttpRule out;
  const std::string hp = idx("spec.http", index);
  auto gap = [&](const std::string& anchor, const std::string& field, const std::string& text) {
    out.comments.push_back({anchor, text});
    out.gaps.push_back(field);
    out.review = true;
  };
  if (const json* d = member(http, "delegate")) {
    out.rule = nullptr;
    out.comments.push_back({"", hp + ".delegate " + compact(*d) + " has no HTTPRoute "
                                     "equivalent: translate the delegate VirtualService and "
                                     "merge its routes here. Left out."});
    out.gaps.push_back(hp + ".delegate");
    out.review = true;
    return out;
  }
  ordered_json rule = ordered_json::object();
  ordered_json filters = ordered_json::array();
  ordered_json backends = ordered_json::array();
  ordered_json timeouts = ordered_json::object();

  // name ----------------------------------------------------------------------------------
  if (const std::string name = text(http, "name"); !name.empty()) {
    static const std::regex kSectionName("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
    if (name.size() <= 253 && std::regex_match(name, kSectionName)) {
      rule["name"] = name;
    } else {
      out.gaps.push_back(hp + ".name (not a valid rule name; dropped)");
      out.comments.push_back({"", hp + ".name \"" + name + "\" is not a valid HTTPRoute rule "
                                      "name (lowercase letters, digits, '-'); dropped."});
    }
  }

  // matches --------------------------------------------------------------------------------
  const json* rewrite = member(http, "rewrite");
  const bool rewrite_uri = rewrite != nullptr && member(*rewrite, "uri") != nullptr;
  ordered_json matches = ordered_json::array();
  if (const json* ms = member(http, "match"); ms != nullptr && ms->is_array()) {
    std::vector<std::string> omitted;
    for (size_t m = 0; m < ms->size(); ++m) {
      MatchResult r = convertMatch((*ms)[m], idx(hp + ".match", m), scope, rewrite_uri);
      if (!r.omitted.empty()) {
        omitted.push_back(r.omitted);
        out.gaps.push_back(idx(hp + ".match", m) + " omitted");
        continue;
      }
      out.gaps.insert(out.gaps.end(), r.gaps.begin(), r.gaps.end());
      const std::string base = "/matches/" + std::to_string(matches.size());
      for (RuleComment& c : r.comments) {
        out.comments.push_back({base + c.anchor, c.text});
      }
      out.review = out.review || r.review;
      for (ordered_json& one : r.matches) {
        matches.push_back(std::move(one));
      }
    }
    if (!ms->empty() && matches.empty()) {
      out.rule = nullptr;
      std::string why;
      for (const std::string& o : omitted) {
        why += "\n- " + o;
      }
      out.comments.push_back(
          {"", hp + " left out: none of its matches can be expressed, so requests it "
                         "matched now reach the following rules:" +
                   why + "\n" + "Original: " + compact(http)});
      out.review = true;
      return out;
    }
    for (const std::string& o : omitted) {
      out.comments.push_back({"/matches", "Match omitted: " + o + "."});
      out.review = true;
    }
  }

  // filters --------------------------------------------------------------------------------
  if (const json* h = member(http, "headers")) {
    headerFilters(*h, filters);
  }
  if (rewrite != nullptr) {
    ordered_json url = ordered_json::object();
    if (const json* a = member(*rewrite, "authority")) {
      url["hostname"] = a->get<std::string>();
    }
    if (rewrite_uri) {
      const std::string uri = text(*rewrite, "uri");
      bool all_exact = !matches.empty();
      for (const auto& m : matches) {
        all_exact = all_exact && m.contains("path") && m["path"]["type"] == "Exact";
      }
      if (matches.empty()) {
        // [I] conversion.go:1345-1371: ReplacePrefixMatch needs exactly one PathPrefix match;
        // a VirtualService rewrite without a match rewrites the prefix "/".
        matches.push_back({{"path", {{"type", "PathPrefix"}, {"value", "/"}}}});
        url["path"] = {{"type", "ReplacePrefixMatch"}, {"replacePrefixMatch", uri}};
      } else if (matches.size() == 1 && matches[0].contains("path") &&
                 matches[0]["path"]["type"] == "PathPrefix") {
        url["path"] = {{"type", "ReplacePrefixMatch"}, {"replacePrefixMatch", uri}};
      } else if (all_exact) {
        url["path"] = {{"type", "ReplaceFullPath"}, {"replaceFullPath", uri}};
      } else {
        gap("/$end", hp + ".rewrite.uri",
            hp + ".rewrite.uri \"" + uri + "\": HTTPRoute rewrites a prefix only with "
                 "exactly one PathPrefix match (or whole paths of Exact matches); this rule has "
                 "other matches. Split the rule per match to keep it.");
      }
    }
    if (const json* rr = member(*rewrite, "uriRegexRewrite")) {
      gap("/$end", hp + ".rewrite.uriRegexRewrite",
          hp + ".rewrite.uriRegexRewrite has no HTTPRoute equivalent: " + compact(*rr));
    }
    if (!url.empty()) {
      filters.push_back({{"type", "URLRewrite"}, {"urlRewrite", std::move(url)}});
    }
  }
  if (const json* r = member(http, "redirect")) {
    ordered_json red = ordered_json::object();
    if (const json* s = member(*r, "scheme")) {
      red["scheme"] = s->get<std::string>();
    }
    if (const json* a = member(*r, "authority")) {
      red["hostname"] = a->get<std::string>();
    }
    if (const json* u = member(*r, "uri")) {
      red["path"] = {{"type", "ReplaceFullPath"}, {"replaceFullPath", u->get<std::string>()}};
    }
    if (const json* p = member(*r, "port"); p != nullptr && p->is_number()) {
      red["port"] = p->get<int32_t>();
    }
    if (const json* dp = member(*r, "derivePort")) {
      out.gaps.push_back(hp + ".redirect.derivePort (partial equivalent)");
      out.comments.push_back({"/$end", hp + ".redirect.derivePort " + compact(*dp) +
                                            ": HTTPRoute derives the port from the scheme when "
                                            "no port is set (partial equivalent)."});
    }
    const int code = r->value("redirectCode", 301);
    if (std::find(kRedirectCodes.begin(), kRedirectCodes.end(), code) != kRedirectCodes.end()) {
      red["statusCode"] = code;
    } else {
      gap("/$end", hp + ".redirect.redirectCode",
          hp + ".redirect.redirectCode " + std::to_string(code) +
              " is not allowed in HTTPRoute (301, 302, 303, 307, 308); 302 is used.");
      red["statusCode"] = 302;
    }
    filters.push_back({{"type", "RequestRedirect"}, {"requestRedirect", std::move(red)}});
  }
  std::vector<std::pair<const json*, json>> mirrors;  // destination, percentage
  if (const json* m = member(http, "mirror")) {
    json pct = nullptr;
    if (const json* p = member(http, "mirrorPercentage")) {
      pct = p->value("value", json());
    } else if (const json* p2 = member(http, "mirrorPercent")) {
      pct = *p2;
    } else if (const json* p3 = member(http, "mirror_percent")) {
      pct = *p3;
    }
    mirrors.emplace_back(m, pct);
  }
  if (const json* ms = member(http, "mirrors"); ms != nullptr && ms->is_array()) {
    for (const json& m : *ms) {
      if (const json* d = member(m, "destination")) {
        const json* p = member(m, "percentage");
        mirrors.emplace_back(d, p != nullptr ? p->value("value", json()) : json());
      }
    }
  }
  for (size_t k = 0; k < mirrors.size(); ++k) {
    Backend b = backendFor(ctx, *mirrors[k].first, scope, hp + ".mirror");
    ordered_json mirror = {{"backendRef", b.ref}};
    mirrorAmount(mirrors[k].second, mirror);
    const std::string anchor = "/filters/" + std::to_string(filters.size());
    for (const std::string& n : b.notes) {
      out.comments.push_back({anchor, n});
      if (n.find(".subset") != std::string::npos) {
        out.gaps.push_back(hp + ".mirror.destination.subset");
      }
    }
    out.review = out.review || b.review;
    if (b.port_missing) {
      out.missing_ports.push_back(hp + ".mirror.destination.port");
    }
    filters.push_back({{"type", "RequestMirror"}, {"requestMirror", std::move(mirror)}});
  }
  if (const json* cp = member(http, "corsPolicy")) {
    ordered_json cors = ordered_json::object();
    const std::string anchor = "/filters/" + std::to_string(filters.size());
    ordered_json origins = ordered_json::array();
    if (const json* ao = member(*cp, "allowOrigins"); ao != nullptr && ao->is_array()) {
      for (const json& sm : *ao) {
        if (const json* e = member(sm, "exact")) {
          origins.push_back(e->get<std::string>());
        } else if (text(sm, "regex") == ".*") {
          origins.push_back("*");
        } else {
          gap(anchor, hp + ".corsPolicy.allowOrigins",
              hp + ".corsPolicy.allowOrigins " + compact(sm) + ": HTTPRoute CORS takes "
                   "origins with an optional leading \"*.\" wildcard only; this origin is "
                   "dropped (requests from it are no longer allowed).");
        }
      }
    }
    if (const json* ao = member(*cp, "allowOrigin"); ao != nullptr && ao->is_array()) {
      for (const json& o : *ao) {
        origins.push_back(o.get<std::string>());
      }
    }
    if (!origins.empty()) {
      cors["allowOrigins"] = std::move(origins);
    }
    for (const char* k : {"allowMethods", "allowHeaders", "exposeHeaders"}) {
      if (const json* v = member(*cp, k)) {
        cors[k] = ordered(*v);
      }
    }
    if (const json* ma = member(*cp, "maxAge")) {
      if (auto ms = parseDurationMs(ma->get<std::string>())) {
        cors["maxAge"] = *ms / 1000;
      }
    }
    if (const json* ac = member(*cp, "allowCredentials")) {
      cors["allowCredentials"] = ac->is_boolean() ? ac->get<bool>() : ac->value("value", false);
    }
    if (const json* up = member(*cp, "unmatchedPreflights")) {
      gap(anchor, hp + ".corsPolicy.unmatchedPreflights",
          hp + ".corsPolicy.unmatchedPreflights " + compact(*up) +
              ": no confirmed HTTPRoute equivalent (spec §5.1); dropped.");
    }
    filters.push_back({{"type", "CORS"}, {"cors", std::move(cors)}});
  }
  if (const json* f = member(http, "fault")) {
    gap(filters.empty() ? "/$end" : "/filters", hp + ".fault",
        hp + ".fault has no HTTPRoute equivalent (Istio rejects other filter types, "
             "[I] conversion.go:178-182); fault injection stops: " + compact(*f));
  }

  // backends -------------------------------------------------------------------------------
  if (const json* routes = member(http, "route"); routes != nullptr && routes->is_array()) {
    for (size_t k = 0; k < routes->size(); ++k) {
      const json& route = (*routes)[k];
      const std::string rp = idx(hp + ".route", k);
      Backend b = backendFor(ctx, route.value("destination", json::object()), scope, rp);
      if (const json* w = member(route, "weight")) {
        b.ref["weight"] = w->get<int64_t>();
      }
      if (const json* h = member(route, "headers")) {
        ordered_json bf = ordered_json::array();
        headerFilters(*h, bf);
        b.ref["filters"] = std::move(bf);
      }
      const std::string anchor = "/backendRefs/" + std::to_string(backends.size());
      for (const std::string& n : b.notes) {
        out.comments.push_back({anchor, n});
        if (n.find(".subset") != std::string::npos) {
          out.gaps.push_back(rp + ".destination.subset");
        }
      }
      out.review = out.review || b.review;
      if (b.port_missing) {
        out.missing_ports.push_back(rp + ".destination.port");
      }
      backends.push_back(std::move(b.ref));
    }
  }
  if (const json* dr = member(http, "directResponse")) {
    gap("", hp + ".directResponse",
        hp + ".directResponse " + compact(*dr) + " has no HTTPRoute equivalent: a rule "
             "without backends answers 500 instead.");
  }

  // timeouts and retries -------------------------------------------------------------------
  std::optional<int64_t> request_ms;
  if (const json* t = member(http, "timeout")) {
    request_ms = parseDurationMs(t->get<std::string>());
    if (request_ms) {
      timeouts["request"] = gatewayDuration(*request_ms);
    } else {
      gap("/$end", hp + ".timeout", hp + ".timeout " + compact(*t) + " is not a duration.");
    }
  }
  if (const json* r = member(http, "retries")) {
    ordered_json retry = ordered_json::object();
    std::vector<std::string> lost;
    const int attempts = r->value("attempts", -1);
    if (attempts == 0) {
      lost.push_back("attempts: 0 (retries disabled) cannot be expressed: retry.attempts is at "
                     "least 1, and without `retry` Istio applies its default retry policy");
    } else if (attempts > 0) {
      retry["attempts"] = attempts;
    }
    if (const json* bo = member(*r, "backoff")) {
      if (auto ms = parseDurationMs(bo->get<std::string>())) {
        retry["backoff"] = gatewayDuration(*ms);
      }
    }
    std::set<int> codes;
    if (const json* on = member(*r, "retryOn")) {
      std::string conditions = on->get<std::string>();
      size_t start = 0;
      while (start <= conditions.size()) {
        size_t comma = conditions.find(',', start);
        std::string c = conditions.substr(start, comma == std::string::npos ? std::string::npos
                                                                             : comma - start);
        start = comma == std::string::npos ? conditions.size() + 1 : comma + 1;
        c.erase(0, c.find_first_not_of(' '));
        c.erase(c.find_last_not_of(' ') + 1);
        if (c.empty()) {
          continue;
        }
        if (std::all_of(c.begin(), c.end(), ::isdigit)) {
          codes.insert(std::stoi(c));
        } else if (c == "gateway-error") {
          codes.insert({502, 503, 504});
        } else if (c == "5xx") {
          codes.insert({500, 502, 503, 504});
          lost.push_back("retryOn 5xx approximated by codes 500, 502, 503, 504");
        } else if (c == "retriable-4xx") {
          codes.insert(409);
        } else if (c == "connect-failure" || c == "refused-stream" || c == "unavailable" ||
                   c == "cancelled" || c == "retriable-status-codes") {
          // Istio always retries on these ([I] conversion.go:186-204).
        } else {
          lost.push_back("retryOn " + c + " has no equivalent");
        }
      }
    }
    if (!codes.empty()) {
      retry["codes"] = ordered_json(std::vector<int>(codes.begin(), codes.end()));
    }
    int64_t per_try = -1;  // ms; -1 = not set
    if (const json* pt = member(*r, "perTryTimeout")) {
      per_try = parseDurationMs(pt->get<std::string>()).value_or(-1);
      if (per_try >= 0 && request_ms && *request_ms > 0 && per_try > *request_ms) {
        lost.push_back("perTryTimeout longer than the request timeout is not allowed by "
                       "HTTPRoute (backendRequest <= request); dropped");
        per_try = -1;
      }
    }
    for (const char* k : {"retryRemoteLocalities", "retryIgnorePreviousHosts"}) {
      if (member(*r, k) != nullptr) {
        lost.push_back(std::string(k) + " has no equivalent");
      }
    }
    if (ctx.options.experimental_channel && !retry.empty()) {
      rule["retry"] = retry;  // placed after timeouts below
      if (per_try >= 0) {
        // Istio maps backendRequest to perTryTimeout only when retry is set (conversion.go:211).
        timeouts["backendRequest"] = gatewayDuration(per_try);
      }
    } else {
      std::string would = retry.empty() ? "" : "retry: " + retry.dump();
      if (per_try >= 0) {
        would += std::string(would.empty() ? "" : "; ") +
                 "timeouts.backendRequest: " + gatewayDuration(per_try);
      }
      lost.insert(lost.begin(),
                  "HTTPRoute `retry` is experimental-channel only (pruned by standard-channel "
                  "CRDs), and backendRequest without it replaces the route timeout" +
                      (would.empty() ? std::string() : "; it would be " + would) +
                      ". Use --gateway-api-channel experimental if those CRDs are installed");
    }
    if (!lost.empty()) {
      std::string text = hp + ".retries " + compact(*r) + ":";
      for (const std::string& l : lost) {
        text += "\n- " + l;
      }
      gap("/$end", hp + ".retries", text);
    }
  }

  // anything else --------------------------------------------------------------------------
  static const std::set<std::string> kKnown = {
      "name",   "match",     "route",          "redirect",     "directResponse", "delegate",
      "rewrite", "timeout",  "retries",        "fault",        "mirror",         "mirrorPercentage",
      "mirrorPercent", "mirror_percent", "mirrors", "corsPolicy", "headers"};
  for (const auto& [k, v] : http.items()) {
    if (kKnown.count(k) == 0) {
      gap("/$end", hp + "." + k,
          hp + "." + k + " has no HTTPRoute equivalent: " + compact(v));
    }
  }

  if (!matches.empty()) {
    rule["matches"] = std::move(matches);
  }
  if (!filters.empty()) {
    rule["filters"] = std::move(filters);
  }
  if (!backends.empty()) {
    rule["backendRefs"] = std::move(backends);
  }
  if (!timeouts.empty()) {
    rule["timeouts"] = std::move(timeouts);
  }
  // Field order: name, matches, filters, backendRefs, timeouts, retry.
  ordered_json ordered_rule = ordered_json::object();
  for (const char* k : {"name", "matches", "filters", "backendRefs", "timeouts", "retry"}) {
    if (rule.contains(k)) {
      ordered_rule[k] = rule[k];
    }
  }
  out.rule = std::move(ordered_rule);
  return out;
}

}  // namespace ambient_guard::translation
