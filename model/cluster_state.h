// ClusterState: the read-only, indexed view of the cluster that rules evaluate against.
//
// `ClusterView` is the interface rules read. `Snapshot` is the immutable, namespace-indexed
// implementation built from a backup file or from the watch; it is shared between request
// threads as `std::shared_ptr<const Snapshot>` and never changes once built. `OverlayView`
// presents a snapshot with one object added, replaced or removed: the cluster as it would be
// if the admission request under review were admitted. Neither takes locks.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "model/objects.h"

namespace ambient_guard {

// A reference to a callable taking `const Object&`, for ClusterView::forEach: no allocation and
// one indirect call per object (a std::function allocates for captures over 16 bytes). It does
// not own the callable, so it is only a parameter type: the callable outlives the call.
class ObjectVisitor {
 public:
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, ObjectVisitor> &&
             std::is_invocable_v<F&, const Object&>)
  ObjectVisitor(F&& fn)  // NOLINT(google-explicit-constructor): lambdas convert implicitly
      : callable_(const_cast<void*>(static_cast<const void*>(&fn))),
        call_([](void* callable, const Object& o) {
          (*static_cast<std::remove_reference_t<F>*>(callable))(o);
        }) {}

  void operator()(const Object& o) const { call_(callable_, o); }

 private:
  void* callable_;
  void (*call_)(void* callable, const Object& o);
};

class ClusterView {
 public:
  virtual ~ClusterView() = default;

  // Returns the Namespace object, or nullptr when the cluster has none by that name.
  virtual const Namespace* findNamespace(std::string_view name) const = 0;
  // Returns the names of every namespace that has a Namespace object or namespaced objects,
  // sorted.
  virtual std::vector<std::string> namespaceNames() const = 0;
  // Calls fn for each object of `kind` in namespace `ns` ("" for cluster-scoped kinds), in name
  // order.
  virtual void forEach(Kind kind, std::string_view ns, ObjectVisitor fn) const = 0;
  // Returns the object of `kind` named ns/name (ns ignored for cluster-scoped kinds), or nullptr.
  virtual const Object* findObject(Kind kind, std::string_view ns,
                                   std::string_view name) const = 0;
  // Returns the number of objects of `kind` across all namespaces.
  virtual size_t count(Kind kind) const = 0;

  // Returns the objects of type T in namespace ns, in name order.
  template <class T>
  std::vector<const T*> list(std::string_view ns) const {
    std::vector<const T*> out;
    forEach(T::kKind, ns, [&](const Object& o) { out.push_back(static_cast<const T*>(&o)); });
    return out;
  }
  // Calls fn(const T&) for each object of type T in namespace ns, in name order (list without
  // the vector).
  template <class T, class F>
  void forEachOf(std::string_view ns, F&& fn) const {
    forEach(T::kKind, ns, [&](const Object& o) { fn(static_cast<const T&>(o)); });
  }
  // Returns the object of type T named ns/name, or nullptr.
  template <class T>
  const T* find(std::string_view ns, std::string_view name) const {
    return static_cast<const T*>(findObject(T::kKind, ns, name));
  }
};

// Immutable snapshot indexed by namespace and kind. Namespaces are held in shared, immutable
// buckets, so `withChanges` builds the next snapshot by copying only the buckets it touches:
// a watch event costs O(objects in that namespace + number of namespaces), not O(cluster).
class Snapshot final : public ClusterView {
 public:
  // Builds a snapshot. Later objects with the same kind/namespace/name replace earlier ones.
  static std::shared_ptr<const Snapshot> build(std::vector<AnyObject> objects);
  static std::shared_ptr<const Snapshot> empty();

  // Returns a new snapshot: this one with `puts` added or replacing, then `removes` removed.
  std::shared_ptr<const Snapshot> withChanges(std::vector<AnyObject> puts,
                                              const std::vector<ObjectKey>& removes) const;
  // Returns a new snapshot in which every object of `kind` is replaced by `objects` (a relist).
  std::shared_ptr<const Snapshot> withKindReplaced(Kind kind, std::vector<AnyObject> objects) const;

  const Namespace* findNamespace(std::string_view name) const override;
  std::vector<std::string> namespaceNames() const override;
  void forEach(Kind kind, std::string_view ns, ObjectVisitor fn) const override;
  const Object* findObject(Kind kind, std::string_view ns, std::string_view name) const override;
  size_t count(Kind kind) const override { return counts_[static_cast<int>(kind)]; }

  // Returns every object of the snapshot (a copy), e.g. to build the next one.
  std::vector<AnyObject> objects() const;

  // Objects of one namespace: one vector per kind, each sorted by name. Public for the
  // implementation's helpers; treat as opaque.
  struct Bucket;

 private:
  Snapshot() = default;
  // Hashes std::string and std::string_view alike, so a lookup by namespace copies no string.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  const Bucket* bucket(std::string_view ns) const;
  void finish();
  using Buckets =
      std::unordered_map<std::string, std::shared_ptr<const Bucket>, NameHash, std::equal_to<>>;
  Buckets buckets_;  // "" = cluster-scoped
  std::vector<std::string> names_;  // sorted
  std::array<size_t, kKindCount> counts_{};
};

// A view of `base` with one object put (added or replaced) or removed. Neither copyable nor
// movable: it may point into itself.
class OverlayView final : public ClusterView {
 public:
  // The cluster with `obj` added or replacing the object with the same key.
  OverlayView(const ClusterView& base, AnyObject obj);
  // The same without a copy of *obj (a review's decoded object): *obj must outlive the view.
  OverlayView(const ClusterView& base, const AnyObject* obj);
  // The cluster without the object `removed`.
  OverlayView(const ClusterView& base, ObjectKey removed);
  OverlayView(const OverlayView&) = delete;
  OverlayView& operator=(const OverlayView&) = delete;

  const Namespace* findNamespace(std::string_view name) const override;
  std::vector<std::string> namespaceNames() const override;
  void forEach(Kind kind, std::string_view ns, ObjectVisitor fn) const override;
  const Object* findObject(Kind kind, std::string_view ns, std::string_view name) const override;
  size_t count(Kind kind) const override;

 private:
  const ClusterView& base_;
  ObjectKey key_;
  std::optional<AnyObject> owned_;  // the put object when the view holds its own copy
  const AnyObject* put_ = nullptr;  // the object put (*owned_ or the caller's); null: removal
};

}  // namespace ambient_guard
