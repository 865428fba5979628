#include "rules/dual_dataplane_labels.h"
#include "rules/l7_policy_without_waypoint.h"
#include "rules/peer_authentication_disable.h"
#include "rules/rule.h"
#include "rules/virtualservice_needs_httproute.h"

namespace ambient_guard::rules {

std::vector<std::unique_ptr<Rule>> makeDefaultRules() {
  std::vector<std::unique_ptr<Rule>> rules;
  rules.push_back(std::make_unique<PeerAuthenticationDisable>());
  rules.push_back(std::make_unique<L7PolicyWithoutWaypoint>());
  rules.push_back(std::make_unique<VirtualServiceNeedsHttpRoute>());
  rules.push_back(std::make_unique<DualDataplaneLabels>());
  return rules;
}

}  // namespace ambient_guard::rules
