#include "rules/waypoint_in_use.h"

#include <map>
#include <set>

#include "rules/ambient.h"
#include "rules/policy_attachment.h"

namespace ambient_guard::rules {
namespace {

constexpr RuleDoc kDoc{
    "waypoint-in-use",
    Action::kDeny,
    "A waypoint Gateway is not deleted or changed (class, waypoint-for, listeners), and "
    "istio.io/use-waypoint is not removed or repointed on a Service or Namespace, while "
    "targetRef'd AuthorizationPolicies, RequestAuthentications, WasmPlugins or TrafficExtensions "
    "depend on it.",
    "Only waypoints enforce targetRef'd policies. Take the waypoint away and the traffic goes "
    "straight to the pods: ALLOW rules stop restricting, DENY rules stop blocking, JWTs stop "
    "being validated, silently. Istio has no fallback to another waypoint.",
    R"(# AuthorizationPolicy bookinfo/reviews-get has targetRefs [{kind: Service, name: reviews}]
# and Service reviews uses waypoint bookinfo/waypoint:
kubectl delete gateway waypoint -n bookinfo
kubectl label service reviews -n bookinfo istio.io/use-waypoint-)",
    R"(# Move or delete the dependent policies first, then the waypoint:
kubectl delete authorizationpolicy reviews-get -n bookinfo   # or retarget it
kubectl delete gateway waypoint -n bookinfo)"};

// Traffic that a waypoint serves: a Service's (service traffic) or a namespace's pods
// (workload traffic, svc == nullptr).
struct User {
  std::string label;  // "Service bookinfo/reviews", "pods of namespace bookinfo"
  const Service* svc = nullptr;
  std::string ns;
};

// One targetRef of one policy applied by a waypoint to one user's traffic.
struct Edge {
  ambient::Attachment attachment;
  std::string user;
  std::string waypoint;  // "ns/name"
};

using Edges = std::map<std::string, Edge>;  // keyed by policy|ref|user

void addEdges(const ClusterView& state, const User& user, const MeshSettings& mesh, Edges& out) {
  const ambient::WaypointBinding b =
      ambient::resolveWaypoint(state, user.ns, user.svc != nullptr ? &user.svc->labels : nullptr,
                               user.svc != nullptr ? ambient::TrafficType::kService
                                                   : ambient::TrafficType::kWorkload);
  for (ambient::Attachment& a : ambient::attachedPolicies(state, user.svc, b, mesh)) {
    std::string key = a.policy.str() + "|" + std::to_string(a.ref_index) + "|" + user.label;
    out.emplace(std::move(key), Edge{std::move(a), user.label, b.ns + "/" + b.name});
  }
}

// Returns the value of istio.io/use-waypoint that applies to a Service (its own, else its
// namespace's), or nullptr.
const std::string* useWaypointName(const Labels* svc_labels, const Namespace* ns) {
  if (svc_labels != nullptr) {
    if (const std::string* v = svc_labels->get(ambient::kUseWaypointLabel)) {
      return v;
    }
  }
  return ns != nullptr ? ns->labels.get(ambient::kUseWaypointLabel) : nullptr;
}

// Returns the users whose traffic the write to the subject can move off a waypoint.
std::vector<User> usersOf(const ClusterView& state, const Subject& subject) {
  std::vector<User> users;
  const ObjectKey& key = subject.key;
  if (subject.isNamespace()) {
    const Namespace* n = state.findNamespace(key.name);
    if (n == nullptr) {
      return users;
    }
    // Services without a label of their own take the namespace's (waypoints.go:129-145).
    for (const Service* svc : state.list<Service>(key.name)) {
      if (!svc->labels.has(ambient::kUseWaypointLabel)) {
        users.push_back({"Service " + svc->ns + "/" + svc->name, svc, svc->ns});
      }
    }
    users.push_back({"pods of namespace " + key.name, nullptr, key.name});
    return users;
  }
  if (key.kind == Kind::kService) {
    if (const Service* svc = state.find<Service>(key.ns, key.name)) {
      users.push_back({"Service " + svc->ns + "/" + svc->name, svc, svc->ns});
    }
    return users;
  }
  if (key.kind != Kind::kGateway) {
    return users;
  }
  // Any namespace may bind to a waypoint that admits it; a cheap name check first.
  for (const std::string& ns : state.namespaceNames()) {
    const Namespace* n = state.findNamespace(ns);
    for (const Service* svc : state.list<Service>(ns)) {
      const std::string* wp = useWaypointName(&svc->labels, n);
      if (wp != nullptr && *wp == key.name) {
        users.push_back({"Service " + svc->ns + "/" + svc->name, svc, svc->ns});
      }
    }
    const std::string* wp = useWaypointName(nullptr, n);
    if (wp != nullptr && *wp == key.name) {
      users.push_back({"pods of namespace " + ns, nullptr, ns});
    }
  }
  return users;
}

// Returns the edges of the subject's users in `state`; for a Gateway subject only those through
// that Gateway.
Edges edgesOf(const ClusterView& state, const Subject& subject, const MeshSettings& mesh) {
  Edges edges;
  for (const User& u : usersOf(state, subject)) {
    addEdges(state, u, mesh, edges);
  }
  if (!subject.isNamespace() && subject.key.kind == Kind::kGateway) {
    const std::string wp = subject.key.ns + "/" + subject.key.name;
    std::erase_if(edges, [&](const auto& kv) { return kv.second.waypoint != wp; });
  }
  return edges;
}

// Describes the write, and names the field it changed.
std::pair<std::string, std::string> describeWrite(const RuleContext& ctx) {
  const ObjectKey& key = ctx.subject.key;
  const std::string label_field = "metadata.labels[istio.io/use-waypoint]";
  auto labelChange = [&](const Labels* before, const Labels* after, const std::string& what) {
    const std::string* b = before != nullptr ? before->get(ambient::kUseWaypointLabel) : nullptr;
    const std::string* a = after != nullptr ? after->get(ambient::kUseWaypointLabel) : nullptr;
    if (b != nullptr && a == nullptr) {
      return std::make_pair("Removing istio.io/use-waypoint=" + *b + " from " + what, label_field);
    }
    if (b != nullptr && a != nullptr && *a != *b) {
      return std::make_pair("Changing istio.io/use-waypoint on " + what + " from " + *b + " to " +
                                *a,
                            label_field);
    }
    return std::make_pair("This change to " + what, std::string("metadata.labels"));
  };
  if (ctx.subject.isNamespace()) {
    const Namespace* b = ctx.before->findNamespace(key.name);
    const Namespace* a = ctx.state.findNamespace(key.name);
    return labelChange(b != nullptr ? &b->labels : nullptr, a != nullptr ? &a->labels : nullptr,
                       "Namespace " + key.name);
  }
  if (key.kind == Kind::kService) {
    const Service* b = ctx.before->find<Service>(key.ns, key.name);
    const Service* a = ctx.state.find<Service>(key.ns, key.name);
    return labelChange(b != nullptr ? &b->labels : nullptr, a != nullptr ? &a->labels : nullptr,
                       "Service " + key.ns + "/" + key.name);
  }
  const std::string what = "Gateway " + key.ns + "/" + key.name;
  const Gateway* b = ctx.before->find<Gateway>(key.ns, key.name);
  const Gateway* a = ctx.state.find<Gateway>(key.ns, key.name);
  if (a == nullptr) {
    return {"Deleting " + what, ""};
  }
  if (b != nullptr && a->gateway_class != b->gateway_class) {
    return {"Changing gatewayClassName of " + what + " from " + b->gateway_class + " to " +
                a->gateway_class,
            "spec.gatewayClassName"};
  }
  if (b != nullptr) {
    const std::string wb = ambient::waypointFor(*ctx.before, *b);
    const std::string wa = ambient::waypointFor(ctx.state, *a);
    if (wb != wa) {
      return {"Changing istio.io/waypoint-for of " + what + " from " + wb + " to " + wa,
              "metadata.labels[istio.io/waypoint-for]"};
    }
  }
  return {"This change to " + what, "spec"};
}

// Returns what the user's traffic gets after the write ("no waypoint (…)", "waypoint x/y").
std::string afterText(const ClusterView& state, const std::string& user_label,
                      const std::vector<User>& users_after) {
  for (const User& u : users_after) {
    if (u.label != user_label) {
      continue;
    }
    const ambient::WaypointBinding b = ambient::resolveWaypoint(
        state, u.ns, u.svc != nullptr ? &u.svc->labels : nullptr,
        u.svc != nullptr ? ambient::TrafficType::kService : ambient::TrafficType::kWorkload);
    if (b.bound()) {
      return "uses waypoint " + b.ns + "/" + b.name + " instead";
    }
    return b.problem().empty() ? "has no waypoint" : "has no waypoint (" + b.problem() + ")";
  }
  return "has no waypoint";
}

}  // namespace

const RuleDoc& WaypointInUse::doc() const { return kDoc; }

void WaypointInUse::evaluate(const RuleContext& ctx, std::vector<Finding>& out) const {
  if (ctx.before == nullptr) {
    return;  // no write (check): nothing can be taken away
  }
  const ObjectKey& key = ctx.subject.key;
  if (ctx.subject.isNamespace()) {
    if (ctx.state.findNamespace(key.name) == nullptr) {
      return;  // deleting the namespace deletes its policies too
    }
  } else if (key.kind == Kind::kService) {
    if (ctx.state.find<Service>(key.ns, key.name) == nullptr) {
      return;  // deleting the Service is not a waypoint change
    }
  } else if (key.kind != Kind::kGateway) {
    return;
  }
  const Edges before = edgesOf(*ctx.before, ctx.subject, ctx.mesh);
  if (before.empty()) {
    return;
  }
  const Edges after = edgesOf(ctx.state, ctx.subject, ctx.mesh);
  // Edges are keyed by policy, ref and user, not by waypoint: a Service that moves to another
  // waypoint keeps its Service-targeted policies, and loses only the old Gateway's.
  std::map<ObjectKey, std::vector<const Edge*>> lost;  // by policy, sorted
  for (const auto& [k, e] : before) {
    if (after.count(k) == 0) {
      lost[e.attachment.policy].push_back(&e);
    }
  }
  if (lost.empty()) {
    return;
  }
  const std::vector<User> users_after = usersOf(ctx.state, ctx.subject);
  auto [write, field] = describeWrite(ctx);
  std::string list;
  std::string names;
  std::set<std::string> users;
  for (const auto& [policy, edges] : lost) {
    std::set<std::string> via;
    std::set<std::string> affected;
    for (const Edge* e : edges) {
      via.insert("targetRefs[" + std::to_string(e->attachment.ref_index) + "] " +
                 e->attachment.via);
      affected.insert(e->user);
      users.insert(e->user);
    }
    std::string v;
    for (const auto& s : via) {
      v += (v.empty() ? "" : ", ") + s;
    }
    std::string a;
    for (const auto& s : affected) {
      a += (a.empty() ? "" : ", ") + s;
    }
    list += (list.empty() ? "" : "; ") + policy.str() + " (" + v + ", for " + a + ")";
    names += (names.empty() ? "" : ", ") + policy.str();
  }
  std::string consequences;
  for (const auto& u : users) {
    consequences += (consequences.empty() ? "" : "; ") + u + " " +
                    afterText(ctx.state, u, users_after);
  }
  Finding f;
  f.rule = std::string(kDoc.id);
  f.action = kDoc.default_action;
  f.object = key;
  f.ns = ctx.subject.isNamespace() ? key.name : key.ns;
  f.field = field;
  const size_t n = lost.size();
  f.message = "[" + f.rule + "] " + write + " silently stops enforcement of " +
              std::to_string(n) + (n == 1 ? " policy that depends" : " policies that depend") +
              " on its waypoint: " + list + ". After the write: " + consequences +
              ". Sidecars and ztunnel ignore targetRef'd policies, so without the waypoint their "
              "rules are not applied (ALLOW no longer restricts, DENY no longer blocks, JWTs are "
              "not validated). Fix: retarget or delete these policies first (or bind the "
              "traffic to another waypoint and move Gateway-targeted policies to it), then make "
              "this change.";
  f.summary = "[" + f.rule + "] " + key.str() + ": waypoint still enforces " + names;
  out.push_back(std::move(f));
}

}  // namespace ambient_guard::rules
