#include "rules/migration_blocker.h"

#include <map>
#include <optional>

#include "rules/ambient.h"
#include "rules/platform.h"
#include "rules/scope.h"

namespace ambient_guard::rules {
namespace {

constexpr RuleDoc kDoc{
    "migration-blocker",
    Action::kDeny,
    "The mesh has none of the migration guide's hard blockers (VM workloads: WorkloadEntry or "
    "WorkloadGroup; SPIRE as the certificate provider; a primary-remote control plane), and "
    "every sidecar was restarted after the ambient profile so it speaks HBONE (warn).",
    "Istio's migration guide lists VM workloads, SPIRE and primary-remote multicluster as hard "
    "blockers: \"migration is not possible until these are resolved\". A sidecar started before "
    "the ambient profile lacks ISTIO_META_ENABLE_HBONE and cannot reach ambient pods over HBONE.",
    R"(apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: billing-vm, namespace: billing}   # a VM in the mesh
spec: {address: 10.0.0.12, labels: {app: billing}, serviceAccount: billing})",
    R"(# Move the VM workload off the mesh (or keep the mesh in sidecar mode):
kubectl delete workloadentry billing-vm -n billing
kubectl delete workloadgroup billing -n billing)"};

Finding base(Action action, ObjectKey object, std::string ns, std::string field) {
  Finding f;
  f.rule = std::string(kDoc.id);
  f.action = action;
  f.object = std::move(object);
  f.ns = std::move(ns);
  f.field = std::move(field);
  return f;
}

std::string andMore(size_t total) {
  return total > 1 ? " (and " + std::to_string(total - 1) + " more)" : "";
}

// Calls fn for every object of type T in the cluster (every namespace, or cluster scope).
template <class T, class Fn>
void forAll(const ClusterView& state, Fn fn) {
  if (state.count(T::kKind) == 0) {
    return;
  }
  if (clusterScoped(T::kKind)) {
    for (const T* o : state.template list<T>("")) {
      fn(*o);
    }
    return;
  }
  for (const std::string& ns : state.namespaceNames()) {
    for (const T* o : state.template list<T>(ns)) {
      fn(*o);
    }
  }
}

template <class T>
void vmBlocker(const RuleContext& ctx, const std::string& ns, std::vector<Finding>& out) {
  const T* first = nullptr;
  size_t total = 0;
  forAll<T>(ctx.state, [&](const T& o) {
    first = first == nullptr ? &o : first;
    ++total;
  });
  if (first == nullptr) {
    return;
  }
  const ObjectKey key{T::kKind, first->ns, first->name};
  Finding f = base(Action::kDeny, key, ns, "kind");
  f.message = "[" + f.rule + "] " + key.str() + andMore(total) +
              " puts a VM workload in the mesh. Istio's migration guide lists VM workloads as a "
              "hard blocker: \"VM-based workloads cannot join the ambient mesh\" and migration "
              "is not possible until they are resolved, so " + ns +
              " should not be enrolled. Fix: move the VM workloads out of the mesh (delete the " +
              std::string(kindName(T::kKind)) +
              " objects) or keep this mesh in sidecar mode.";
  f.summary = "[" + f.rule + "] " + key.str() + ": VM workloads block ambient (migration guide)";
  out.push_back(std::move(f));
}

bool usesSpireTemplate(const Labels& annotations) {
  const std::string* t = annotations.get("inject.istio.io/templates");
  return t != nullptr && t->find("spire") != std::string::npos;
}

void spireBlocker(const RuleContext& ctx, const std::string& ns, std::vector<Finding>& out) {
  std::optional<ObjectKey> first;
  size_t total = 0;
  std::string evidence;
  auto seen = [&](ObjectKey key, const std::string& why) {
    if (!first) {
      first = std::move(key);
      evidence = why;
    }
    ++total;
  };
  forAll<ClusterSPIFFEID>(ctx.state, [&](const ClusterSPIFFEID& c) {
    seen(ObjectKey{Kind::kClusterSPIFFEID, "", c.name}, "SPIRE issues its workload identities");
  });
  forAll<Deployment>(ctx.state, [&](const Deployment& d) {
    if (usesSpireTemplate(d.pod_annotations)) {
      seen(ObjectKey{Kind::kDeployment, d.ns, d.name},
           "its pods use the `spire` injection template (inject.istio.io/templates)");
    }
  });
  forAll<Pod>(ctx.state, [&](const Pod& p) {
    if (usesSpireTemplate(p.annotations)) {
      seen(ObjectKey{Kind::kPod, p.ns, p.name},
           "it uses the `spire` injection template (inject.istio.io/templates)");
    }
  });
  if (!first) {
    return;
  }
  Finding f = base(Action::kDeny, *first, ns,
                   first->kind == Kind::kClusterSPIFFEID
                       ? "kind"
                       : (first->kind == Kind::kPod ? "metadata" : "spec.template.metadata") +
                             std::string(".annotations[inject.istio.io/templates]"));
  f.message = "[" + f.rule + "] " + first->str() + andMore(total) + ": " + evidence +
              ", so SPIRE is the mesh's certificate provider. Istio's migration guide lists it "
              "as a hard blocker: \"Ambient mode does not support SPIRE integration\", so " + ns +
              " should not be enrolled. Fix: move the mesh back to istiod-issued certificates "
              "first, or keep it in sidecar mode.";
  f.summary = "[" + f.rule + "] " + first->str() + ": SPIRE blocks ambient (migration guide)";
  out.push_back(std::move(f));
}

void primaryRemoteBlocker(const RuleContext& ctx, const std::string& ns,
                          std::vector<Finding>& out) {
  forAll<Deployment>(ctx.state, [&](const Deployment& d) {
    if (d.name != "istiod" && d.name.rfind("istiod-", 0) != 0) {
      return;
    }
    const std::string* ext = platform::envOf(d, "EXTERNAL_ISTIOD");
    if (ext == nullptr || *ext != "true") {
      return;
    }
    const ObjectKey key{Kind::kDeployment, d.ns, d.name};
    Finding f = base(Action::kDeny, key, ns,
                     "spec.template.spec.containers[discovery].env[EXTERNAL_ISTIOD]");
    f.message = "[" + f.rule + "] " + key.str() +
                " runs with EXTERNAL_ISTIOD=true (values.global.externalIstiod): it is the "
                "primary of a primary-remote mesh. Istio's migration guide lists primary-remote "
                "multicluster as a hard blocker: \"Only multiple-primary clusters are supported. "
                "Deployments with one or more remote clusters will not work correctly.\" Fix: "
                "move to a multi-primary (multi-network) topology before enrolling " + ns + ".";
    f.summary = "[" + f.rule + "] " + key.str() + ": primary-remote multicluster blocks ambient";
    out.push_back(std::move(f));
  });
}

// The istio-proxy container of an injected pod: a container, or a native sidecar (an init
// container with restartPolicy Always).
const Container* istioProxy(const PodSpec& spec) {
  for (const Container& c : spec.containers) {
    if (c.name == "istio-proxy" && (!c.init || c.restart_always)) {
      return &c;
    }
  }
  return nullptr;
}

bool speaksHbone(const Container& proxy) {
  for (const auto& [k, v] : proxy.env) {
    if (k == "ISTIO_META_ENABLE_HBONE") {
      return v == "true";
    }
  }
  return false;
}

void unrestartedSidecars(const RuleContext& ctx, const std::string& ns,
                         std::vector<Finding>& out) {
  if (ctx.state.count(Kind::kPod) == 0) {
    return;
  }
  // Only once the ambient components are installed: before that, no sidecar has the setting.
  const platform::Platform p = platform::detectPlatform(ctx.state, ctx.mesh);
  if (p.ztunnel == nullptr) {
    return;
  }
  std::map<std::string, std::vector<const Pod*>> stale;  // namespace -> pods
  for (const std::string& n : ctx.state.namespaceNames()) {
    for (const Pod* pod : ctx.state.list<Pod>(n)) {
      const Container* proxy = istioProxy(pod->spec);
      if (pod->annotations.has("sidecar.istio.io/status") && proxy != nullptr &&
          !speaksHbone(*proxy)) {
        stale[n].push_back(pod);
      }
    }
  }
  for (const auto& [pod_ns, pods] : stale) {
    const ObjectKey key{Kind::kPod, pod_ns, pods.front()->name};
    Finding f = base(Action::kWarn, key, ns, "spec.containers[istio-proxy].env[ISTIO_META_ENABLE_HBONE]");
    f.message = "[" + f.rule + "] " + key.str() + andMore(pods.size()) +
                " has a sidecar started before the ambient profile: its istio-proxy lacks "
                "ISTIO_META_ENABLE_HBONE=true, so it cannot use HBONE to reach ambient pods such "
                "as those of " + ns + " (istio.io migrate guide, \"Enable HBONE support in existing "
                "sidecars\"). Fix: `kubectl rollout restart deployment -n " + pod_ns +
                "` (and statefulsets, daemonsets) before enrolling " + ns + ".";
    f.summary = "[" + f.rule + "] " + std::to_string(pods.size()) + " sidecar pod(s) in " + pod_ns +
                " not restarted since the ambient profile (no HBONE)";
    out.push_back(std::move(f));
  }
}

}  // namespace

const RuleDoc& MigrationBlocker::doc() const { return kDoc; }

void MigrationBlocker::evaluate(const RuleContext& ctx, std::vector<Finding>& out) const {
  if (!ctx.subject.isNamespace()) {
    return;
  }
  const std::string& ns = ctx.subject.key.name;
  if (!ambient::isAmbientNamespace(ctx.state, ns, ctx.mesh.enablement)) {
    return;
  }
  vmBlocker<WorkloadEntry>(ctx, ns, out);
  vmBlocker<WorkloadGroup>(ctx, ns, out);
  spireBlocker(ctx, ns, out);
  primaryRemoteBlocker(ctx, ns, out);
  unrestartedSidecars(ctx, ns, out);
}

}  // namespace ambient_guard::rules
