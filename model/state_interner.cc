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
        o = T(o);  // a deep copy: strings and unshared vectors, allocated here and to size
        intern(o.ns);
        intern(o.name);
        intern(o.labels);
        if constexpr (requires { o.waypoint_canary_weight; }) {
          intern(o.waypoint_canary_weight);
        }
        if constexpr (requires { o.selector.match_labels; }) {
          intern(o.selector.match_labels);  // WorkloadSelector
        }
        if constexpr (std::is_same_v<T, Service>) {
          intern(o.selector);
          intern(o.ports, ports_);
        } else if constexpr (std::is_same_v<T, AuthorizationPolicy>) {
          trim(o.target_refs);
          intern(o.rules, rules_);
          intern(o.provider);
          intern(o.translated_from);
          if (o.dry_run) {
            intern(*o.dry_run);
          }
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
          intern(o.translated_from);
        } else if constexpr (std::is_same_v<T, VirtualService>) {
          intern(o.hosts, string_lists_);
          intern(o.gateways, string_lists_);
          intern(o.export_to, string_lists_);
          intern(o.destinations, destinations_);
          intern(o.no_httproute_equivalent, string_lists_);
        } else if constexpr (std::is_same_v<T, DestinationRule>) {
          intern(o.subsets, string_lists_);
        } else if constexpr (std::is_same_v<T, HTTPRoute>) {
          intern(o.parent_refs, route_refs_);
          intern(o.backend_refs, route_refs_);
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
  string_lists_.sweep();
  destinations_.sweep();
  route_refs_.sweep();
  strings_.sweep();
}

StateInterner::Sizes StateInterner::sizes() const {
  return Sizes{labels_.size(), ports_.size(), rules_.size(), string_lists_.size(),
               destinations_.size(), route_refs_.size(), strings_.size()};
}

}  // namespace ambient_guard
