// StateInterner: one shared copy of the values that repeat across the objects of a live cluster
// state (label maps and selectors, Service port lists, AuthorizationPolicy rules), so that 100k
// objects cost what their distinct values cost. Owned by the state's store; the watch compacts
// each decoded object before it reaches a snapshot. Thread-safe.
#pragma once

#include <cstddef>

#include "model/objects.h"
#include "model/shared_value.h"

namespace ambient_guard {

class StateInterner {
 public:
  // Replaces the repeated values of `obj` with the table's shared copies and trims its vectors
  // to size. The object reads the same afterwards (every field compares equal).
  void compact(AnyObject& obj);
  // Drops the shared copies no object holds any more (after a relist, say); cheap to call.
  void sweep();

  struct Sizes {
    size_t label_maps = 0;
    size_t port_lists = 0;
    size_t rule_lists = 0;
  };
  // Returns how many distinct values each table holds.
  Sizes sizes() const;

 private:
  void intern(Labels& labels) { labels_.intern(labels.handle()); }
  InternTable<Labels::Items> labels_;
  InternTable<std::vector<ServicePort>> ports_;
  InternTable<std::vector<AuthzRule>> rules_;
};

}  // namespace ambient_guard
