#include "rules/unsupported_in_ambient_egress.h"

#include <algorithm>
#include <set>

#include "rules/ambient.h"

namespace ambient_guard::rules {
namespace {

// Returns true when an object of namespace `ns` with this exportTo is visible to `client_ns`
// (empty or "*": everywhere; ".": its own namespace; else the namespaces listed).
bool visibleTo(const std::vector<std::string>& export_to, const std::string& ns,
               const std::string& client_ns) {
  if (export_to.empty()) {
    return true;
  }
  return std::any_of(export_to.begin(), export_to.end(), [&](const std::string& e) {
    return e == "*" || e == client_ns || (e == "." && ns == client_ns);
  });
}

// Returns true for a host outside the cluster (a ServiceEntry host such as edition.cnn.com).
bool externalHost(const std::string& host, const std::string& ns) {
  return !host.empty() && host != "*" && ambient::hostNamespace(host, ns).empty();
}

// Returns the ServiceEntry that declares the host and is bound to a waypoint (which then applies
// the routing and TLS origination for every client), or nullptr.
const ServiceEntry* waypointEntryFor(const ClusterView& state, const std::string& host,
                                     const std::string& client_ns) {
  for (const std::string& ns : state.namespaceNames()) {
    for (const ServiceEntry* se : state.list<ServiceEntry>(ns)) {
      if (std::find(se->hosts.begin(), se->hosts.end(), host) == se->hosts.end() ||
          !visibleTo(se->export_to, se->ns, client_ns)) {
        continue;
      }
      if (ambient::resolveWaypoint(state, se->ns, &se->labels, ambient::TrafficType::kService)
              .bound()) {
        return se;
      }
    }
  }
  return nullptr;
}

Finding make(const RuleDoc& doc, const ObjectKey& key, const std::string& client_ns,
             std::string field, const std::string& message, const std::string& summary) {
  Finding f;
  f.rule = std::string(doc.id);
  f.action = doc.default_action;
  f.object = key;
  f.ns = client_ns;
  f.field = std::move(field);
  f.message = "[" + f.rule + "] " + key.str() + " " + message;
  f.summary = "[" + f.rule + "] " + key.str() + ": " + summary;
  return f;
}

constexpr const char* kFix =
    "Fix: bind the ServiceEntry to an egress waypoint (`kubectl label serviceentry <name> "
    "istio.io/use-waypoint=<waypoint>`; istio.io docs/ambient/usage/egress-gateway) so the "
    "waypoint routes and originates TLS for every client, or keep the client namespace in "
    "sidecar mode until then.";

void checkVirtualService(const RuleContext& ctx, const RuleDoc& doc, const VirtualService& vs,
                         const std::string& client_ns, std::vector<Finding>& out) {
  if (!ambient::isMeshVirtualService(vs) || !visibleTo(vs.export_to, vs.ns, client_ns)) {
    return;
  }
  // The egress-gateway pattern: a mesh route for an external host to an in-cluster proxy.
  std::string gateway;
  for (const VsDestination& d : vs.destinations) {
    if (!ambient::hostNamespace(d.host, vs.ns).empty()) {
      gateway = d.host;
      break;
    }
  }
  if (gateway.empty()) {
    return;
  }
  for (size_t i = 0; i < vs.hosts.size(); ++i) {
    const std::string& host = vs.hosts[i];
    if (!externalHost(host, vs.ns) || waypointEntryFor(ctx.state, host, client_ns) != nullptr) {
      continue;
    }
    out.push_back(make(
        doc, ObjectKey{Kind::kVirtualService, vs.ns, vs.name}, client_ns,
        "spec.hosts[" + std::to_string(i) + "]",
        "routes " + host + " from the mesh to " + gateway +
            " (client-side egress routing). Its clients' sidecars apply it; once namespace " +
            client_ns + " is ambient its pods have no sidecar and ztunnel does not apply "
            "VirtualServices, so their requests to " + host + " go straight out, bypassing the "
            "egress gateway and its policies. " + kFix,
        "egress routing for " + host + " stops when " + client_ns + " goes ambient"));
  }
}

void checkDestinationRule(const RuleContext& ctx, const RuleDoc& doc, const DestinationRule& dr,
                          const std::string& client_ns, std::vector<Finding>& out) {
  if (dr.tls_origination.empty() || !externalHost(dr.host, dr.ns) ||
      !visibleTo(dr.export_to, dr.ns, client_ns) ||
      waypointEntryFor(ctx.state, dr.host, client_ns) != nullptr) {
    return;
  }
  const auto& [field, mode] = dr.tls_origination.front();
  out.push_back(make(
      doc, ObjectKey{Kind::kDestinationRule, dr.ns, dr.name}, client_ns, field,
      "originates TLS (" + mode + ") to " + dr.host +
          " in its clients' sidecars. Once namespace " + client_ns +
          " is ambient its pods have no sidecar and ztunnel does not apply DestinationRules, so "
          "requests the app sends in plaintext to " + dr.host +
          " leave unencrypted (or fail against a TLS-only port). " + kFix,
      "TLS origination to " + dr.host + " stops when " + client_ns + " goes ambient"));
}

}  // namespace

void checkClientEgress(const RuleContext& ctx, const RuleDoc& doc, const std::string& client_ns,
                       const ObjectKey* only, std::vector<Finding>& out) {
  for (const std::string& ns : ctx.state.namespaceNames()) {
    if (only != nullptr && only->ns != ns) {
      continue;
    }
    if (only == nullptr || only->kind == Kind::kVirtualService) {
      for (const VirtualService* vs : ctx.state.list<VirtualService>(ns)) {
        if (only == nullptr || only->name == vs->name) {
          checkVirtualService(ctx, doc, *vs, client_ns, out);
        }
      }
    }
    if (only == nullptr || only->kind == Kind::kDestinationRule) {
      for (const DestinationRule* dr : ctx.state.list<DestinationRule>(ns)) {
        if (only == nullptr || only->name == dr->name) {
          checkDestinationRule(ctx, doc, *dr, client_ns, out);
        }
      }
    }
  }
}

}  // namespace ambient_guard::rules
