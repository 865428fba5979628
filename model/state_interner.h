// StateInterner: one shared copy of the values that repeat across the objects of a live cluster
// state (namespaces and object names, label maps and selectors, Service port lists,
// AuthorizationPolicy rules), so that 100k objects cost what their distinct values cost. Owned
// by the state's store; the watch compacts each decoded object before it reaches a snapshot.
// Thread-safe.
#pragma once

#include <cstddef>

#include "model/objects.h"
#include "model/shared_value.h"

namespace ambient_guard {

class StateInterner {
 public:
  // Copies `obj` anew on the calling thread, replacing its repeated values with the table's
  // shared copies and trimming its vectors to size; the object reads the same afterwards (every
  // field compares equal). Call it on the thread that builds the state (the watch's publisher),
  // so that what the state keeps is allocated together, apart from the transient allocations
  // of decoding.
  void compact(AnyObject& obj);
  // Drops the shared copies no object holds any more (after a relist, say); cheap to call.
  void sweep();

  struct Sizes {
    size_t label_maps = 0;
    size_t port_lists = 0;
    size_t rule_lists = 0;
    size_t string_lists = 0;
    size_t destination_lists = 0;
    size_t route_ref_lists = 0;
    size_t strings = 0;
  };
  // Returns how many distinct values each table holds.
  Sizes sizes() const;

 private:
  void intern(Labels& labels) { labels_.intern(labels.handle()); }
  void intern(SharedString& s) { strings_.intern(s.handle()); }
  template <class T>
  void intern(SharedVector<T>& v, InternTable<std::vector<T>>& table) {
    v.shrink();
    table.intern(v.handle());
  }
  InternTable<Labels::Items> labels_;
  InternTable<std::string> strings_;  // namespaces, object names, canary weights
  InternTable<std::vector<ServicePort>> ports_;
  InternTable<std::vector<AuthzRule>> rules_;
  InternTable<std::vector<std::string>> string_lists_;
  InternTable<std::vector<VsDestination>> destinations_;
  InternTable<std::vector<RouteRef>> route_refs_;  // HTTPRoute parentRefs and backendRefs
};

}  // namespace ambient_guard
