#include "rules/cni_incompatible.h"
#include "rules/dual_dataplane_labels.h"
#include "rules/l7_policy_without_waypoint.h"
#include "rules/migration_blocker.h"
#include "rules/network_policy_blocks_hbone.h"
#include "rules/network_policy_blocks_probes.h"
#include "rules/peer_authentication_disable.h"
#include "rules/peer_authentication_redundant.h"
#include "rules/request_authentication_needs_waypoint.h"
#include "rules/rule.h"
#include "rules/targetref_unresolved.h"
#include "rules/unsupported_in_ambient.h"
#include "rules/virtualservice_needs_httproute.h"
#include "rules/waypoint_binding_unresolved.h"
#include "rules/waypoint_in_use.h"

namespace ambient_guard::rules {

std::vector<std::unique_ptr<Rule>> makeDefaultRules() {
  std::vector<std::unique_ptr<Rule>> rules;
  rules.push_back(std::make_unique<PeerAuthenticationDisable>());
  rules.push_back(std::make_unique<L7PolicyWithoutWaypoint>());
  rules.push_back(std::make_unique<VirtualServiceNeedsHttpRoute>());
  rules.push_back(std::make_unique<DualDataplaneLabels>());
  rules.push_back(std::make_unique<WaypointInUse>());
  rules.push_back(std::make_unique<TargetRefUnresolved>());
  rules.push_back(std::make_unique<RequestAuthenticationNeedsWaypoint>());
  rules.push_back(std::make_unique<UnsupportedInAmbient>());
  rules.push_back(std::make_unique<NetworkPolicyBlocksHbone>());
  rules.push_back(std::make_unique<NetworkPolicyBlocksProbes>());
  rules.push_back(std::make_unique<CniIncompatible>());
  rules.push_back(std::make_unique<PeerAuthenticationRedundant>());
  rules.push_back(std::make_unique<MigrationBlocker>());
  rules.push_back(std::make_unique<WaypointBindingUnresolved>());
  return rules;
}

}  // namespace ambient_guard::rules
