#include "rules/waypoint_in_use.h"

#include <map>
#include <optional>
#include <set>

#include "rules/ambient.h"
#include "rules/policy_attachment.h"

namespace ambient_guard::rules {
namespace {

constexpr RuleDoc kDoc{
    "waypoint-in-use",
    Action::kDeny,
    "A waypoint Gateway is not deleted or changed (class, waypoint-for, listeners), "
    "istio.io/use-waypoint is not removed or repointed on a Service, ServiceEntry or Namespace, "
    "and traffic is not shifted to a canary waypoint (istio.io/use-waypoint-canary*, including "
    "a Namespace canary weight that Services without their own inherit) lacking the primary's "
    "Gateway-targeted policies, while targetRef'd AuthorizationPolicies, "
    "RequestAuthentications, WasmPlugins or TrafficExtensions depend on it.",
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

// Traffic that a waypoint serves: a Service's or a ServiceEntry's (service traffic) or a
// namespace's pods (workload traffic, labels == nullptr).
struct User {
  std::string label;  // "Service bookinfo/reviews", "pods of namespace bookinfo"
  Kind kind = Kind::kService;  // kService, kServiceEntry, or kNamespace for pods
  std::string ns;
  std::string name;
  const Labels* labels = nullptr;
  std::string canary_weight;  // istio.io/use-waypoint-canary-weight of the object

  bool pods() const { return labels == nullptr; }
};

User serviceUser(const Service& svc) {
  return {"Service " + svc.ns + "/" + svc.name, Kind::kService, svc.ns, svc.name, &svc.labels,
          svc.waypoint_canary_weight};
}

User entryUser(const ServiceEntry& se) {
  return {"ServiceEntry " + se.ns + "/" + se.name, Kind::kServiceEntry, se.ns, se.name,
          &se.labels, se.waypoint_canary_weight};
}

User podsUser(const std::string& ns) {
  return {"pods of namespace " + ns, Kind::kNamespace, ns, "", nullptr, ""};
}

// One targetRef of one policy applied by the waypoint(s) that carry one user's traffic.
struct Edge {
  ambient::Attachment attachment;
  std::string user;
  std::set<std::string> waypoints;  // "ns/name" of each waypoint carrying the traffic
};

using Edges = std::map<std::string, Edge>;  // keyed by policy|ref|user

// The waypoints a user's traffic goes through: the primary, and a canary that carries traffic.
struct Route {
  ambient::WaypointBinding primary;
  ambient::WaypointCanary canary;
};

Route routeOf(const ClusterView& state, const User& u) {
  Route r;
  r.primary = ambient::resolveWaypoint(
      state, u.ns, u.labels, u.pods() ? ambient::TrafficType::kWorkload : ambient::TrafficType::kService);
  if (!u.pods()) {  // canaries are not supported on pods (istio.io docs/ambient/usage/waypoint)
    r.canary = ambient::resolveCanary(state, u.ns, u.labels, u.canary_weight, r.primary);
  }
  return r;
}

void addEdges(const ClusterView& state, const User& user, const MeshSettings& mesh, Edges& out) {
  const Route route = routeOf(state, user);
  std::optional<ambient::ServiceTarget> target;
  if (!user.pods()) {
    target = ambient::ServiceTarget{user.kind, user.ns, user.name};
  }
  const ambient::ServiceTarget* t = target ? &*target : nullptr;
  const std::string primary = route.primary.ns + "/" + route.primary.name;
  std::vector<ambient::Attachment> attached = ambient::attachedPolicies(state, t, route.primary, mesh);
  std::set<std::string> waypoints{primary};
  if (route.canary.carriesTraffic()) {
    // The traffic is split per connection: a policy is enforced on all of it only when both
    // waypoints apply it. Service-targeted policies do; a Gateway-targeted one applies only at
    // the Gateway it names ("Replicate it on the canary before shifting traffic").
    const std::string canary = route.canary.ns + "/" + route.canary.name;
    std::vector<ambient::Attachment> at_canary =
        ambient::attachedPolicies(state, t, route.canary.binding, mesh);
    std::set<ObjectKey> canary_policies;
    for (const ambient::Attachment& a : at_canary) {
      canary_policies.insert(a.policy);
    }
    if (route.canary.weight == 100) {
      attached = std::move(at_canary);
      waypoints = {canary};
    } else {
      std::set<ObjectKey> primary_policies;
      for (const ambient::Attachment& a : attached) {
        primary_policies.insert(a.policy);
      }
      std::erase_if(attached, [&](const ambient::Attachment& a) {
        return canary_policies.count(a.policy) == 0;
      });
      for (ambient::Attachment& a : at_canary) {
        if (primary_policies.count(a.policy) != 0) {
          attached.push_back(std::move(a));  // a second ref of a policy applied at both
        }
      }
      waypoints.insert(canary);
    }
  }
  for (ambient::Attachment& a : attached) {
    std::string key = a.policy.str() + "|" + std::to_string(a.ref_index) + "|" + user.label;
    out.emplace(std::move(key), Edge{std::move(a), user.label, waypoints});
  }
}

// Returns the labels that carry an object's waypoint binding: its own when it sets
// istio.io/use-waypoint, else its namespace's (waypoints.go:129-145; a namespace canary applies
// only to objects that inherit the primary).
const Labels* bindingLabels(const Labels* object_labels, const Namespace* ns) {
  if (object_labels != nullptr && object_labels->has(ambient::kUseWaypointLabel)) {
    return object_labels;
  }
  return ns != nullptr ? &ns->labels : nullptr;
}

// Returns true when the binding labels name the waypoint `name` as primary or canary.
bool namesWaypoint(const Labels* labels, const std::string& name, bool with_canary) {
  if (labels == nullptr) {
    return false;
  }
  const std::string* wp = labels->get(ambient::kUseWaypointLabel);
  const std::string* canary = labels->get(ambient::kUseWaypointCanaryLabel);
  return (wp != nullptr && *wp == name) || (with_canary && canary != nullptr && *canary == name);
}

// Returns true when a Namespace write can move the traffic of a Service or ServiceEntry with
// these labels and canary weight: it inherits the primary, or it names its own canary and takes
// the namespace's canary weight.
bool inheritsFromNamespace(const Labels& labels, const std::string& own_weight) {
  if (!labels.has(ambient::kUseWaypointLabel)) {
    return true;
  }
  const std::string* canary = labels.get(ambient::kUseWaypointCanaryLabel);
  return own_weight.empty() && canary != nullptr && !canary->empty() && *canary != "none";
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
    // Services without a label of their own take the namespace's (waypoints.go:129-145), and
    // so do those with their own canary but no weight of their own: they take the namespace's
    // istio.io/use-waypoint-canary-weight (getCanaryWeight, resolveCanary).
    for (const Service* svc : state.list<Service>(key.name)) {
      if (inheritsFromNamespace(svc->labels, svc->waypoint_canary_weight)) {
        users.push_back(serviceUser(*svc));
      }
    }
    for (const ServiceEntry* se : state.list<ServiceEntry>(key.name)) {
      if (inheritsFromNamespace(se->labels, se->waypoint_canary_weight)) {
        users.push_back(entryUser(*se));
      }
    }
    users.push_back(podsUser(key.name));
    return users;
  }
  if (key.kind == Kind::kService) {
    if (const Service* svc = state.find<Service>(key.ns, key.name)) {
      users.push_back(serviceUser(*svc));
    }
    return users;
  }
  if (key.kind == Kind::kServiceEntry) {
    if (const ServiceEntry* se = state.find<ServiceEntry>(key.ns, key.name)) {
      users.push_back(entryUser(*se));
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
      if (namesWaypoint(bindingLabels(&svc->labels, n), key.name, true)) {
        users.push_back(serviceUser(*svc));
      }
    }
    for (const ServiceEntry* se : state.list<ServiceEntry>(ns)) {
      if (namesWaypoint(bindingLabels(&se->labels, n), key.name, true)) {
        users.push_back(entryUser(*se));
      }
    }
    if (namesWaypoint(bindingLabels(nullptr, n), key.name, false)) {
      users.push_back(podsUser(ns));
    }
  }
  return users;
}

// Returns the edges of the subject's users in `state`; with `through`, only those whose traffic
// passes that waypoint ("ns/name").
Edges edgesOf(const ClusterView& state, const Subject& subject, const MeshSettings& mesh,
              const std::string& through = "") {
  Edges edges;
  for (const User& u : usersOf(state, subject)) {
    addEdges(state, u, mesh, edges);
  }
  if (!through.empty()) {
    std::erase_if(edges, [&](const auto& kv) { return kv.second.waypoints.count(through) == 0; });
  }
  return edges;
}

// The waypoint labels and canary weight of an object, before or after the write.
struct Binding {
  const Labels* labels = nullptr;
  std::string weight;
};

// Describes the write, and names the field it changed.
std::pair<std::string, std::string> describeWrite(const RuleContext& ctx) {
  const ObjectKey& key = ctx.subject.key;
  auto labelChange = [&](const Binding& before, const Binding& after, const std::string& what) {
    for (std::string_view k : {ambient::kUseWaypointLabel, ambient::kUseWaypointNamespaceLabel,
                               ambient::kUseWaypointCanaryLabel,
                               ambient::kUseWaypointCanaryNamespaceLabel}) {
      const std::string field = "metadata.labels[" + std::string(k) + "]";
      const std::string* b = before.labels != nullptr ? before.labels->get(k) : nullptr;
      const std::string* a = after.labels != nullptr ? after.labels->get(k) : nullptr;
      if (b != nullptr && a == nullptr) {
        return std::make_pair("Removing " + std::string(k) + "=" + *b + " from " + what, field);
      }
      if (b == nullptr && a != nullptr) {
        return std::make_pair("Setting " + std::string(k) + "=" + *a + " on " + what, field);
      }
      if (b != nullptr && *a != *b) {
        return std::make_pair(
            "Changing " + std::string(k) + " on " + what + " from " + *b + " to " + *a, field);
      }
    }
    if (before.weight != after.weight) {
      auto shown = [](const std::string& w) { return w.empty() ? std::string("(unset)") : w; };
      return std::make_pair("Changing " + std::string(ambient::kUseWaypointCanaryWeightAnnotation) +
                                " on " + what + " from " + shown(before.weight) + " to " +
                                shown(after.weight),
                            "metadata.annotations[" +
                                std::string(ambient::kUseWaypointCanaryWeightAnnotation) + "]");
    }
    return std::make_pair("This change to " + what, std::string("metadata.labels"));
  };
  auto bindingOf = [](const auto* o) {
    return o != nullptr ? Binding{&o->labels, o->waypoint_canary_weight} : Binding{};
  };
  if (ctx.subject.isNamespace()) {
    return labelChange(bindingOf(ctx.before->findNamespace(key.name)),
                       bindingOf(ctx.state.findNamespace(key.name)), "Namespace " + key.name);
  }
  if (key.kind == Kind::kService) {
    return labelChange(bindingOf(ctx.before->find<Service>(key.ns, key.name)),
                       bindingOf(ctx.state.find<Service>(key.ns, key.name)),
                       "Service " + key.ns + "/" + key.name);
  }
  if (key.kind == Kind::kServiceEntry) {
    return labelChange(bindingOf(ctx.before->find<ServiceEntry>(key.ns, key.name)),
                       bindingOf(ctx.state.find<ServiceEntry>(key.ns, key.name)),
                       "ServiceEntry " + key.ns + "/" + key.name);
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

// A Namespace write can move the traffic of every Service in it: messages name this many
// users, then count the rest.
constexpr size_t kUsersShown = 10;

// Returns "a, b, c" for the first kUsersShown users, then " and N more".
std::string cappedList(const std::set<std::string>& users) {
  std::string out;
  size_t shown = 0;
  for (const auto& u : users) {
    if (shown == kUsersShown) {
      return out + " and " + std::to_string(users.size() - shown) + " more";
    }
    out += (out.empty() ? "" : ", ") + u;
    ++shown;
  }
  return out;
}

// Returns what the user's traffic gets after the write ("no waypoint (…)", "waypoint x/y"),
// and sets `split` when a canary carries part of it.
std::string afterText(const ClusterView& state, const std::string& user_label,
                      const std::vector<User>& users_after, bool& split) {
  for (const User& u : users_after) {
    if (u.label != user_label) {
      continue;
    }
    const Route r = routeOf(state, u);
    const ambient::WaypointBinding& b = r.primary;
    if (b.bound() && r.canary.carriesTraffic()) {
      split = true;
      return "sends " + std::to_string(r.canary.weight) + "% of new connections through canary "
             "waypoint " + r.canary.ns + "/" + r.canary.name + " and the rest through waypoint " +
             b.ns + "/" + b.name;
    }
    if (b.bound()) {
      std::string text = "uses waypoint " + b.ns + "/" + b.name + " instead";
      if (!r.canary.problem().empty()) {
        text += " (its canary is ignored: " + r.canary.problem() + ")";
      }
      return text;
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
  } else if (key.kind == Kind::kServiceEntry) {
    if (ctx.state.find<ServiceEntry>(key.ns, key.name) == nullptr) {
      return;  // deleting the ServiceEntry is not a waypoint change
    }
  } else if (key.kind != Kind::kGateway) {
    return;
  }
  // For a Gateway write, the edges through that Gateway; compared with every edge after it, so
  // that traffic a canary shared with the primary is not lost when the canary goes away.
  const bool gateway = !ctx.subject.isNamespace() && key.kind == Kind::kGateway;
  const Edges before =
      edgesOf(*ctx.before, ctx.subject, ctx.mesh, gateway ? key.ns + "/" + key.name : "");
  if (before.empty()) {
    return;
  }
  const Edges after = edgesOf(ctx.state, ctx.subject, ctx.mesh);
  // A policy is lost for a user when no targetRef of it applies to that user's traffic after the
  // write, whichever waypoint applies it: a Service that moves to another waypoint keeps its
  // Service-targeted policies and loses only the old Gateway's; a policy that targets both the
  // primary and the canary Gateway stays when the canary goes.
  std::set<std::pair<ObjectKey, std::string>> kept;
  for (const auto& [k, e] : after) {
    kept.emplace(e.attachment.policy, e.user);
  }
  std::map<ObjectKey, std::vector<const Edge*>> lost;  // by policy, sorted
  for (const auto& [k, e] : before) {
    if (kept.count({e.attachment.policy, e.user}) == 0) {
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
    const std::string a = cappedList(affected);
    list += (list.empty() ? "" : "; ") + policy.str() + " (" + v + ", for " + a + ")";
    names += (names.empty() ? "" : ", ") + policy.str();
  }
  std::string consequences;
  bool split = false;
  size_t shown = 0;
  for (const auto& u : users) {
    if (shown == kUsersShown) {
      // The rest are counted; one of them may still be the one a canary splits.
      if (!split) {
        afterText(ctx.state, u, users_after, split);
      }
      continue;
    }
    ++shown;
    consequences += (consequences.empty() ? "" : "; ") + u + " " +
                    afterText(ctx.state, u, users_after, split);
  }
  if (users.size() > shown) {
    consequences += "; and " + std::to_string(users.size() - shown) + " more";
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
              "not validated). " +
              (split ? std::string("A canary waypoint takes a share of the traffic, and a "
                                   "policy that targets a waypoint Gateway applies only at the "
                                   "Gateway it names (istio.io docs/ambient/usage/waypoint, "
                                   "Istio 1.31): replicate these policies on the canary "
                                   "Gateway before shifting traffic to it. ")
                     : std::string()) +
              "Fix: retarget or delete these policies first (or bind the "
              "traffic to another waypoint and move Gateway-targeted policies to it), then make "
              "this change.";
  f.summary = "[" + f.rule + "] " + key.str() + ": waypoint still enforces " + names;
  out.push_back(std::move(f));
}

}  // namespace ambient_guard::rules
