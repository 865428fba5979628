#include "rules/istio_version.h"

#include <algorithm>

namespace ambient_guard::rules {
namespace {

using platform::Version;

// istiod's Deployment: `istiod` or `istiod-<revision>` (Helm chart istio-discovery), image
// .../pilot:<tag> in container `discovery`.
bool isIstiod(const Deployment& d) {
  return d.name == "istiod" || d.name.rfind("istiod-", 0) == 0;
}

void lowestIstiod(const ClusterView& state, std::string_view ns, IstioVersion& best) {
  state.forEachOf<Deployment>(ns, [&](const Deployment& d) {
    if (!isIstiod(d)) {
      return;
    }
    for (const Container& c : d.spec.containers) {
      if (c.init || c.name != "discovery") {
        continue;
      }
      auto v = platform::parseVersion(c.image);
      if (v && (!best.version || *v < *best.version)) {
        best.version = v;
        best.source = "image of Deployment " + d.ns + "/" + d.name + ": " + c.image;
      }
    }
  });
}

}  // namespace

std::string IstioVersion::describe() const {
  if (!version) {
    return "Istio version unknown (" + source + ")";
  }
  return "Istio " + version->str() + " (" + source + ")";
}

IstioVersion istioVersionOf(const ClusterView& state, const MeshSettings& mesh) {
  IstioVersion out;
  if (!mesh.istio_version.empty()) {
    out.version = platform::parseVersion(mesh.istio_version);
    out.source = "--istio-version " + mesh.istio_version;
    if (out.version) {
      return out;
    }
  }
  if (mesh.resolved_istio_version) {
    out.version = platform::parseVersion(mesh.resolved_istio_version->version);
    out.source = mesh.resolved_istio_version->source;
    return out;
  }
  if (state.count(Kind::kDeployment) > 0) {
    lowestIstiod(state, mesh.root_namespace, out);
    if (!out.version && mesh.root_namespace != "istio-system") {
      lowestIstiod(state, "istio-system", out);
    }
    if (!out.version) {
      for (const std::string& ns : state.namespaceNames()) {
        lowestIstiod(state, ns, out);
      }
    }
    if (out.version) {
      return out;
    }
  }
  if (state.count(Kind::kDaemonSet) > 0) {
    const platform::Platform p = platform::detectPlatform(state, mesh);
    if (auto v = p.istioVersion()) {
      out.version = v;
      out.source = "image tag of the istio-cni / ztunnel DaemonSet";
      return out;
    }
  }
  out.source = "no --istio-version and no istiod, istio-cni or ztunnel image in the state";
  return out;
}

bool hasBranchEniProbeFix(const Version& v) {
  if (v.major != 1) {
    return v.major > 1;
  }
  if (v.minor == 28) {
    return v.patch >= 7;
  }
  if (v.minor == 29) {
    return v.patch >= 3;
  }
  return v.minor >= 30;
}

bool supportsZtunnelDryRun(const Version& v) { return v >= Version{1, 29, 0}; }

bool hasTrustDomainsField(const Version& v) { return v >= Version{1, 31, 0}; }

bool reportsTrustDomainsAsHttp(const Version& v) { return v >= Version{1, 32, 0}; }

}  // namespace ambient_guard::rules
