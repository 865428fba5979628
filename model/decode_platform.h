// Decoding of the workload, NetworkPolicy and platform kinds (Pod, Deployment, StatefulSet,
// DaemonSet, Node, ConfigMap, ResourceQuota, Calico, EKS and Cilium objects) that the
// NetworkPolicy/CNI pre-flight, `verify` and the cost estimate read
// (../shared/spec/platform-and-cost.md). Called by decodeObject (model/decode.cc); kept apart
// so the Istio-object decoder stays small. Only the fields those features read are kept.
#pragma once

#include <stdexcept>
#include <string>


#include "model/json_value.h"
#include "model/objects.h"

namespace ambient_guard {

// Thrown by decodePlatformObject; what() reads "<field path> <problem>".
struct PlatformDecodeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Returns true for the kinds decoded here.
bool isPlatformKind(Kind kind);

// Returns false for documents of a platform kind that nothing reads, so they are skipped at
// decode time: every ConfigMap except cilium-config, istio-cni-config, istio-sidecar-injector[-*],
// values[-*] and the waypoint defaults (label gateway.istio.io/defaults-for-class).
bool keepPlatformDocument(Kind kind, const JsonValue& doc);

// Returns the decoded object of a platform kind (metadata is filled in by decodeObject).
// Throws PlatformDecodeError naming the field, or JsonTypeError.
AnyObject decodePlatformObject(Kind kind, const JsonValue& doc);

// ConfigMap data keys synthesised from the injector's `values` / `merged-values` JSON
// (global.proxy.resources and global.waypoint.resources).
inline constexpr const char* kProxyResourcePrefix = "global.proxy.resources.";
inline constexpr const char* kWaypointResourcePrefix = "global.waypoint.resources.";

}  // namespace ambient_guard
