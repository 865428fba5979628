// Mesh VirtualService → HTTPRoute(s) with Service parentRefs (spec §5.1, "Attachment"): one
// HTTPRoute per namespace of the VirtualService's hosts, created in the Service's namespace
// (a producer route). Rules come from translate_http.cc.
#include <map>
#include <set>

#include "migrate/translate_internal.h"
#include "rules/ambient.h"

namespace ambient_guard::translation {
namespace {

using Level = TranslationNote::Level;
constexpr size_t kMaxRules = 16;  // HTTPRoute spec.rules MaxItems

std::string serviceOf(const std::string& host) { return host.substr(0, host.find('.')); }

// Returns the ServiceEntry (namespace, name) that declares `host`, if any.
std::optional<std::pair<std::string, std::string>> serviceEntryFor(const Context& ctx,
                                                                   const std::string& host) {
  for (const RawDocument& raw : ctx.docs) {
    if (text(raw.doc, "kind") != "ServiceEntry") {
      continue;
    }
    const json* spec = member(raw.doc, "spec");
    const json* hosts = spec != nullptr ? member(*spec, "hosts") : nullptr;
    if (hosts != nullptr && hosts->is_array() &&
        std::find(hosts->begin(), hosts->end(), json(host)) != hosts->end()) {
      const json& meta = raw.doc.value("metadata", json::object());
      std::string ns = text(meta, "namespace");
      return std::make_pair(ns.empty() ? ctx.options.default_namespace : ns, text(meta, "name"));
    }
  }
  return std::nullopt;
}

// Returns true when JSON Pointer `anchor` (optionally ending in "/$end") names a node of v.
bool anchorExists(const ordered_json& v, std::string anchor) {
  const std::string end = "/$end";
  if (anchor.size() >= end.size() && anchor.compare(anchor.size() - end.size(), end.size(), end) == 0) {
    anchor.resize(anchor.size() - end.size());
  }
  try {
    return v.contains(ordered_json::json_pointer(anchor));
  } catch (const ordered_json::exception&) {
    return false;
  }
}

struct Parents {
  std::vector<std::string> order;            // namespaces in host order
  std::map<std::string, ordered_json> refs;  // namespace → parentRefs
  std::vector<std::string> gaps;             // hosts without a parent
};

Parents parentsOf(Context& ctx, const VirtualService& vs, const std::string& object) {
  Parents p;
  auto add = [&](const std::string& ns, ordered_json ref) {
    if (p.refs.find(ns) == p.refs.end()) {
      p.order.push_back(ns);
      p.refs[ns] = ordered_json::array();
    }
    for (const auto& r : p.refs[ns]) {
      if (r == ref) {
        return;
      }
    }
    p.refs[ns].push_back(std::move(ref));
  };
  for (const std::string& host : vs.hosts) {
    if (!host.empty() && host[0] == '*') {
      p.gaps.push_back("spec.hosts: wildcard host \"" + host +
                       "\" has no Service parent (waypoints do not support wildcard hosts)");
      continue;
    }
    const std::string ns = ambient::hostNamespace(host, vs.ns);
    if (!ns.empty()) {
      const std::string svc = serviceOf(host);
      if (ctx.state.find<Service>(ns, svc) == nullptr) {
        ctx.note(Level::kReview, object,
                 "Service " + ns + "/" + svc + " (host " + host +
                     ") is not in the state: check the parentRef (pass the backup with --state)");
      }
      add(ns, ordered_json{{"group", ""}, {"kind", "Service"}, {"name", svc}});
    } else if (auto se = serviceEntryFor(ctx, host)) {
      add(se->first, ordered_json{{"group", "networking.istio.io"},
                                  {"kind", "ServiceEntry"},
                                  {"name", se->second}});
    } else {
      p.gaps.push_back("spec.hosts: \"" + host + "\" is neither a cluster Service nor declared by "
                       "a ServiceEntry in the input: no parentRef");
    }
  }
  return p;
}

// Returns the port every match names, when all of them name the same one (parentRefs[].port).
std::optional<int32_t> commonMatchPort(const json& spec) {
  std::set<int32_t> ports;
  bool unported = false;
  const json* http = member(spec, "http");
  if (http == nullptr || !http->is_array()) {
    return std::nullopt;
  }
  for (const json& h : *http) {
    const json* ms = member(h, "match");
    if (ms == nullptr || !ms->is_array() || ms->empty()) {
      unported = true;
      continue;
    }
    for (const json& m : *ms) {
      if (const json* port = member(m, "port"); port != nullptr && port->is_number_integer()) {
        ports.insert(port->get<int32_t>());
      } else {
        unported = true;
      }
    }
  }
  if (ports.size() == 1 && !unported) {
    return *ports.begin();
  }
  return std::nullopt;
}

// Returns what the parents still need before the waypoint applies the route.
std::string bindingNeeds(const Context& ctx, const std::string& ns, const ordered_json& refs) {
  std::string needs;
  for (const auto& ref : refs) {
    if (ref.value("kind", "") != "Service") {
      continue;
    }
    const std::string svc = ref.value("name", "");
    const Service* service = ctx.state.find<Service>(ns, svc);
    ambient::WaypointBinding b = ambient::resolveWaypoint(
        ctx.state, ns, service != nullptr ? &service->labels : nullptr,
        ambient::TrafficType::kService);
    if (b.bound()) {
      continue;
    }
    const std::string wp = !ctx.options.waypoint.empty() ? ctx.options.waypoint
                           : !b.name.empty()            ? b.name
                                                        : "waypoint";
    needs += (needs.empty() ? "" : "; ") + std::string("Service ") + svc + " needs a waypoint (`kubectl label namespace " + ns +
             " istio.io/use-waypoint=" + wp + "`)" +
             (b.problem().empty() ? "" : ", today: " + b.problem());
  }
  return needs;
}

}  // namespace

void translateVirtualService(Context& ctx, const json& doc, const VirtualService& vs) {
  const ObjectRef src{"networking.istio.io/v1", "VirtualService", vs.ns, vs.name};
  const std::string object = src.str();
  if (!ambient::isMeshVirtualService(vs)) {
    std::string gws;
    for (const std::string& g : vs.gateways) {
      gws += (gws.empty() ? "" : ", ") + g;
    }
    ctx.note(Level::kInfo, object,
             "ingress-only (gateways: " + gws + "): Istio gateways keep using VirtualServices; "
             "left alone");
    return;
  }
  const json& spec = doc["spec"];
  Parents parents = parentsOf(ctx, vs, object);
  if (parents.refs.empty()) {
    ctx.note(Level::kWarning, object,
             "no host names a Service or ServiceEntry: no HTTPRoute written; VirtualService kept");
    return;
  }
  const std::optional<int32_t> port = commonMatchPort(spec);
  std::vector<std::string> top;  // header comment paragraphs
  std::vector<std::string> gaps = parents.gaps;
  if (const json* e = member(spec, "exportTo")) {
    gaps.push_back("spec.exportTo " + compact(*e) + " has no HTTPRoute equivalent: a route in the "
                   "Service's namespace applies to every client");
  }
  for (const char* k : {"tcp", "tls"}) {
    if (member(spec, k) != nullptr) {
      gaps.push_back(std::string("spec.") + k + " is not translated: it needs a " +
                     (std::string(k) == "tcp" ? "TCPRoute" : "TLSRoute") +
                     " (Alpha in ambient)");
    }
  }
  const json* http = member(spec, "http");
  size_t written = 0;
  std::vector<std::string> route_names;
  std::vector<std::string> commented_routes;  // written as comments: a backend port is missing
  bool review = !gaps.empty();
  std::vector<std::string> rule_gaps;
  for (const std::string& pns : parents.order) {
    ordered_json refs = parents.refs[pns];
    if (port) {
      for (auto& r : refs) {
        r["port"] = *port;
      }
    }
    const RouteScope scope{vs.ns, pns, port};
    std::vector<HttpRule> rules;
    if (http != nullptr && http->is_array()) {
      for (size_t i = 0; i < http->size(); ++i) {
        rules.push_back(convertHttpRoute(ctx, (*http)[i], i, scope));
      }
    }
    // Comments of rules that were left out go before the next rule that is written.
    std::vector<ordered_json> kept;
    std::vector<std::vector<RuleComment>> kept_comments;
    std::vector<std::vector<std::string>> kept_missing_ports;
    std::vector<RuleComment> pending;
    for (HttpRule& r : rules) {
      review = review || r.review;
      if (written == 0) {  // the same for every parent namespace: record once
        rule_gaps.insert(rule_gaps.end(), r.gaps.begin(), r.gaps.end());
      }
      if (r.rule.is_null()) {
        for (RuleComment& c : r.comments) {
          pending.push_back({"", c.text});
        }
        continue;
      }
      std::vector<RuleComment> cs = std::move(pending);
      pending.clear();
      cs.insert(cs.end(), r.comments.begin(), r.comments.end());
      kept.push_back(std::move(r.rule));
      kept_comments.push_back(std::move(cs));
      kept_missing_ports.push_back(std::move(r.missing_ports));
    }
    if (kept.empty()) {
      ctx.note(Level::kWarning, object,
               "no http route could be expressed for namespace " + pns + ": no HTTPRoute written");
      continue;
    }
    const std::string needs = bindingNeeds(ctx, pns, refs);
    for (size_t first = 0, part = 0; first < kept.size(); first += kMaxRules, ++part) {
      const size_t last = std::min(kept.size(), first + kMaxRules);
      TranslatedObject o;
      const std::string name = part == 0 ? vs.name.str() : vs.name + "-" + std::to_string(part + 1);
      o.ref = ObjectRef{"gateway.networking.k8s.io/v1", "HTTPRoute", pns, name};
      o.source = object;
      ordered_json meta = ordered_json{{"name", name}, {"namespace", pns}};
      if (const json* labels = member(doc["metadata"], "labels")) {
        meta["labels"] = ordered(*labels);
      }
      o.doc.value = skeleton(o.ref.api_version, o.ref.kind, std::move(meta));
      ordered_json rspec = ordered_json::object();
      rspec["parentRefs"] = refs;
      rspec["rules"] = ordered_json::array();
      for (size_t j = first; j < last; ++j) {
        rspec["rules"].push_back(kept[j]);
      }
      o.doc.value["spec"] = std::move(rspec);
      for (size_t j = first; j < last; ++j) {
        const std::string base = "/spec/rules/" + std::to_string(j - first);
        for (const RuleComment& c : kept_comments[j]) {
          const std::string anchor = base + c.anchor;
          o.doc.comment(anchorExists(o.doc.value, anchor) ? anchor : base + "/$end", c.text);
        }
      }
      for (const RuleComment& c : pending) {
        o.doc.comment("/spec/$end", c.text);
      }
      std::string head = "ambient-guard translate: from " + object + " (hosts";
      for (const std::string& h : vs.hosts) {
        head += " " + h;
      }
      head += "). The waypoint bound to each parent Service applies it (spec §5.1). ";
      head += vs.gateways.empty()
                  ? "Delete the VirtualService right after the pods restart (Istio migration "
                    "guide, \"Enable ambient mode\" Step 5): a VirtualService and an HTTPRoute "
                    "for the same host is undefined behaviour."
                  : "The VirtualService stays for its ingress gateways, without `mesh`.";
      if (!needs.empty()) {
        head += " Needs: " + needs + ".";
      }
      o.doc.comment("", head);
      if (last - first > 1) {
        o.doc.comment("", "Rule order: a VirtualService takes the first matching http "
                               "route; HTTPRoute ranks matches by specificity (Exact path, longest "
                               "prefix, method, most headers, most query parameters) before "
                               "order. Check overlapping rules.");
      }
      if (kept.size() > kMaxRules) {
        o.doc.comment("", "Part " + std::to_string(part + 1) + ": HTTPRoute holds at most 16 "
                          "rules.");
      }
      for (const std::string& g : gaps) {
        o.doc.comment("", g + ".");
      }
      std::string missing;
      for (size_t j = first; j < last; ++j) {
        for (const std::string& m : kept_missing_ports[j]) {
          missing += (missing.empty() ? "" : ", ") + m;
        }
      }
      if (!missing.empty()) {
        // The Gateway API CRD requires a port on every Service backendRef (CEL rule "Must have
        // port for Service reference"): the API server would refuse the route as it stands.
        o.commented_out = true;
        o.doc.comment("", "COMMENTED OUT: the API server refuses a Service backendRef without a "
                          "port, and " + missing + " is not set (pass the backup with --state "
                          "to take it from the Service). Add the ports, then uncomment (remove "
                          "the leading `#   `).");
        commented_routes.push_back(o.ref.str());
      }
      route_names.push_back(o.ref.str());
      ctx.out.objects.push_back(std::move(o));
      ++written;
    }
  }
  if (written == 0) {
    return;
  }
  std::string routes;
  for (const std::string& r : route_names) {
    routes += (routes.empty() ? "" : ", ") + r;
  }
  ctx.note(Level::kInfo, object, "→ " + routes);
  if (!commented_routes.empty()) {
    // Until the route can be applied, the VirtualService keeps routing mesh traffic: not
    // superseded, not rewritten without `mesh`.
    addSource(ctx, doc, src, false);
    std::string list;
    for (const std::string& r : commented_routes) {
      list += (list.empty() ? "" : ", ") + r;
    }
    ctx.note(Level::kWarning, object,
             list + " written commented out: a Service backend has no port, which the API "
                    "server refuses (pass --state, or add the ports); VirtualService kept");
  } else if (!vs.gateways.empty()) {
    addSource(ctx, doc, src, true);
    // Mixed mesh + ingress: keep the ingress part as a VirtualService without `mesh`.
    TranslatedObject o;
    o.ref = src;
    o.source = object;
    o.replaces = true;
    o.doc.value = skeleton(src.api_version, src.kind, cleanMetadata(doc, vs.ns));
    ordered_json vspec = ordered(spec);
    ordered_json gws = ordered_json::array();
    for (const std::string& g : vs.gateways) {
      if (g != "mesh") {
        gws.push_back(g);
      }
    }
    vspec["gateways"] = std::move(gws);
    o.doc.value["spec"] = std::move(vspec);
    o.doc.comment("", "ambient-guard translate: " + object + " without `mesh` in gateways: "
                           "mesh traffic now follows " + routes + "; ingress gateways keep this "
                           "VirtualService.");
    ctx.out.objects.push_back(std::move(o));
    ctx.note(Level::kInfo, object, "kept for its ingress gateways, `mesh` removed from gateways");
  } else {
    addSource(ctx, doc, src, true);
    ctx.note(Level::kInfo, object,
             "delete the VirtualService once the HTTPRoute is in place (mixing both is undefined)");
  }
  std::vector<std::string> all = gaps;
  all.insert(all.end(), rule_gaps.begin(), rule_gaps.end());
  if (!all.empty()) {
    std::string list;
    for (const std::string& g : all) {
      list += "\n    - " + g;
    }
    ctx.note(Level::kReview, object, "without HTTPRoute equivalent (see the comments):" + list);
  } else if (review) {
    ctx.note(Level::kReview, object, "approximations: see the comments in the output");
  }
}

}  // namespace ambient_guard::translation
