#include "model/state_interner.h"

#include <type_traits>

namespace ambient_guard {

namespace {

template <class T>
void trim(std::vector<T>& v) {
  if (v.capacity() != v.size()) {
    v.shrink_to_fit();
  }
}

}  // namespace

void StateInterner::compact(AnyObject& obj) {
  std::visit(
      [&](auto& o) {
        using T = std::decay_t<decltype(o)>;
        intern(o.labels);
        if constexpr (requires { o.selector.match_labels; }) {
          intern(o.selector.match_labels);  // WorkloadSelector
        }
        if constexpr (std::is_same_v<T, Service>) {
          intern(o.selector);
          ports_.intern(o.ports.handle());
        } else if constexpr (std::is_same_v<T, AuthorizationPolicy>) {
          trim(o.target_refs);
          rules_.intern(o.rules.handle());
        } else if constexpr (std::is_same_v<T, Gateway>) {
          trim(o.listeners);
          for (Listener& l : o.listeners) {
            intern(l.allowed_routes.selector);
          }
        } else if constexpr (std::is_same_v<T, PeerAuthentication>) {
          trim(o.port_modes);
        } else if constexpr (std::is_same_v<T, RequestAuthentication>) {
          trim(o.target_refs);
          trim(o.issuers);
        } else if constexpr (std::is_same_v<T, VirtualService>) {
          trim(o.hosts);
          trim(o.gateways);
          trim(o.export_to);
          trim(o.destinations);
          trim(o.no_httproute_equivalent);
        } else if constexpr (std::is_same_v<T, DestinationRule>) {
          trim(o.subsets);
        } else if constexpr (std::is_same_v<T, NetworkPolicy>) {
          intern(o.pod_selector.match_labels);
        }
      },
      obj);
}

void StateInterner::sweep() {
  labels_.sweep();
  ports_.sweep();
  rules_.sweep();
}

StateInterner::Sizes StateInterner::sizes() const {
  return Sizes{labels_.size(), ports_.size(), rules_.size()};
}

}  // namespace ambient_guard
