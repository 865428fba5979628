#include "model/cluster_state.h"

#include <algorithm>
#include <iterator>
#include <memory>
#include <new>
#include <optional>
#include <tuple>
#include <utility>

namespace ambient_guard {

namespace {

template <class T>
struct TypeTag {};

// One kind's objects of a bucket in one exactly sized block: 8 bytes in the bucket when empty
// (most namespaces hold a few of the 30 kinds) and no spare capacity. Reads like a const vector;
// changes go through take() and assign().
template <class T>
class PackedVec {
 public:
  using value_type = T;

  PackedVec() = default;
  PackedVec(const PackedVec& other) { copyFrom(other.begin(), other.end()); }
  PackedVec(PackedVec&& other) noexcept : block_(std::exchange(other.block_, nullptr)) {}
  PackedVec& operator=(const PackedVec&) = delete;
  PackedVec& operator=(PackedVec&&) = delete;
  ~PackedVec() { clear(); }

  size_t size() const { return block_ == nullptr ? 0 : block_->size; }
  bool empty() const { return block_ == nullptr; }
  const T* begin() const { return block_ == nullptr ? nullptr : block_->items(); }
  const T* end() const { return begin() + size(); }

  // Moves the elements out into a vector, leaving this empty.
  std::vector<T> take() {
    std::vector<T> out;
    if (block_ != nullptr) {
      out.reserve(size());
      std::move(block_->items(), block_->items() + size(), std::back_inserter(out));
      clear();
    }
    return out;
  }
  // Replaces the elements with `v`'s, moved into a block of exactly v.size().
  void assign(std::vector<T> v) {
    clear();
    if (v.empty()) {
      return;
    }
    Block* b = allocate(v.size());
    std::uninitialized_move(v.begin(), v.end(), b->items());
    block_ = b;
  }
  void clear() {
    if (block_ != nullptr) {
      std::destroy(block_->items(), block_->items() + block_->size);
      ::operator delete(block_);
      block_ = nullptr;
    }
  }

 private:
  struct Block {
    size_t size;
    T* items() { return reinterpret_cast<T*>(this + 1); }
  };
  static_assert(alignof(T) <= alignof(Block));
  static Block* allocate(size_t n) {
    Block* b = static_cast<Block*>(::operator new(sizeof(Block) + n * sizeof(T)));
    b->size = n;
    return b;
  }
  void copyFrom(const T* first, const T* last) {
    if (first == last) {
      return;
    }
    Block* b = allocate(static_cast<size_t>(last - first));
    try {
      std::uninitialized_copy(first, last, b->items());
    } catch (...) {
      ::operator delete(b);
      throw;
    }
    block_ = b;
  }
  Block* block_ = nullptr;
};

template <class Tuple>
struct VectorsOf;
template <class... Ts>
struct VectorsOf<std::tuple<PackedVec<Ts>...>> {
  using type = std::tuple<std::vector<Ts>...>;
};

}  // namespace

// One typed array per kind, so a Service costs sizeof(Service), not sizeof(AnyObject).
struct Snapshot::Bucket {
  std::tuple<PackedVec<Namespace>, PackedVec<Service>, PackedVec<Gateway>, PackedVec<GatewayClass>,
             PackedVec<AuthorizationPolicy>, PackedVec<PeerAuthentication>,
             PackedVec<RequestAuthentication>, PackedVec<VirtualService>,
             PackedVec<DestinationRule>, PackedVec<EnvoyFilter>, PackedVec<Sidecar>,
             PackedVec<WasmPlugin>, PackedVec<NetworkPolicy>, PackedVec<Pod>,
             PackedVec<Deployment>, PackedVec<StatefulSet>, PackedVec<DaemonSet>, PackedVec<Node>,
             PackedVec<ConfigMap>, PackedVec<ResourceQuota>, PackedVec<FelixConfiguration>,
             PackedVec<Installation>, PackedVec<SecurityGroupPolicy>,
             PackedVec<CiliumNetworkPolicy>, PackedVec<CiliumClusterwideNetworkPolicy>,
             PackedVec<ServiceEntry>, PackedVec<WorkloadEntry>, PackedVec<WorkloadGroup>,
             PackedVec<TrafficExtension>, PackedVec<ClusterSPIFFEID>,
             PackedVec<HTTPRoute>>
      vectors;

  template <class T>
  PackedVec<T>& of() {
    return std::get<PackedVec<T>>(vectors);
  }
  template <class T>
  const PackedVec<T>& of() const {
    return std::get<PackedVec<T>>(vectors);
  }

  // Calls fn(vector<T>&) for the vector of `kind`.
  template <class Fn>
  void withKind(Kind kind, Fn&& fn) {
    std::apply(
        [&](auto&... vecs) {
          (
              [&](auto& v) {
                using T = typename std::decay_t<decltype(v)>::value_type;
                if (T::kKind == kind) {
                  fn(v);
                }
              }(vecs),
              ...);
        },
        vectors);
  }
  template <class Fn>
  void withKind(Kind kind, Fn&& fn) const {
    const_cast<Bucket*>(this)->withKind(kind, [&](const auto& v) { fn(v); });
  }
  template <class Fn>
  void forAll(Fn&& fn) {
    std::apply([&](auto&... vecs) { (fn(vecs), ...); }, vectors);
  }
  template <class Fn>
  void forAll(Fn&& fn) const {
    std::apply([&](const auto&... vecs) { (fn(vecs), ...); }, vectors);
  }

  void put(AnyObject obj) {
    std::visit(
        [&](auto& o) {
          using T = std::decay_t<decltype(o)>;
          std::vector<T> vec = of<T>().take();
          auto it = std::lower_bound(vec.begin(), vec.end(), o.name,
                                     [](const T& a, const std::string& n) { return a.name < n; });
          if (it != vec.end() && it->name == o.name) {
            *it = std::move(o);
          } else {
            vec.insert(it, std::move(o));
          }
          of<T>().assign(std::move(vec));
        },
        obj);
  }

  void remove(Kind kind, const std::string& name) {
    withKind(kind, [&](auto& packed) {
      auto vec = packed.take();
      std::erase_if(vec, [&](const auto& o) { return o.name == name; });
      packed.assign(std::move(vec));
    });
  }

  bool empty() const {
    bool all_empty = true;
    forAll([&](const auto& v) { all_empty = all_empty && v.empty(); });
    return all_empty;
  }
};

namespace {

std::string bucketOf(const AnyObject& obj) {
  return clusterScoped(kindOf(obj)) ? std::string() : metaOf(obj).ns.str();
}

}  // namespace

void Snapshot::finish() {
  counts_ = {};
  names_.clear();
  for (const auto& [ns, bucket] : buckets_) {
    bucket->forAll([&](const auto& v) {
      using T = typename std::decay_t<decltype(v)>::value_type;
      counts_[static_cast<int>(T::kKind)] += v.size();
    });
    if (!ns.empty()) {
      names_.push_back(ns);
    }
  }
  if (auto it = buckets_.find(""); it != buckets_.end()) {
    for (const Namespace& n : it->second->of<Namespace>()) {
      names_.push_back(n.name);
    }
  }
  std::sort(names_.begin(), names_.end());
  names_.erase(std::unique(names_.begin(), names_.end()), names_.end());
}

std::shared_ptr<const Snapshot> Snapshot::build(std::vector<AnyObject> objects) {
  std::unordered_map<std::string, VectorsOf<decltype(Bucket::vectors)>::type> work;
  for (AnyObject& obj : objects) {
    auto& vecs = work[bucketOf(obj)];
    // Append, then sort and dedupe once: O(n log n) instead of sorted inserts.
    std::visit(
        [&](auto& o) {
          std::get<std::vector<std::decay_t<decltype(o)>>>(vecs).push_back(std::move(o));
        },
        obj);
  }
  std::shared_ptr<Snapshot> s(new Snapshot());
  for (auto& [ns, vecs] : work) {
    auto bucket = std::make_shared<Bucket>();
    std::apply(
        [&](auto&... all) {
          (
              [&](auto& vec) {
                using T = typename std::decay_t<decltype(vec)>::value_type;
                // Stable sort keeps input order among equal names, so "last one wins" is exact.
                std::stable_sort(vec.begin(), vec.end(),
                                 [](const T& a, const T& b) { return a.name < b.name; });
                auto dup_end = std::unique(vec.rbegin(), vec.rend(),
                                           [](const T& a, const T& b) { return a.name == b.name; });
                vec.erase(vec.begin(), dup_end.base());
                bucket->template of<T>().assign(std::move(vec));
              }(all),
              ...);
        },
        vecs);
    s->buckets_.emplace(ns, std::move(bucket));
  }
  s->finish();
  return s;
}

std::shared_ptr<const Snapshot> Snapshot::empty() {
  static const std::shared_ptr<const Snapshot> kEmpty = build({});
  return kEmpty;
}

std::shared_ptr<const Snapshot> Snapshot::withChanges(std::vector<AnyObject> puts,
                                                      const std::vector<ObjectKey>& removes) const {
  std::shared_ptr<Snapshot> s(new Snapshot());
  s->buckets_ = buckets_;
  std::unordered_map<std::string, std::shared_ptr<Bucket>> copied;
  auto writable = [&](const std::string& ns) -> Bucket& {
    auto& c = copied[ns];
    if (!c) {
      auto it = s->buckets_.find(ns);
      c = it != s->buckets_.end() ? std::make_shared<Bucket>(*it->second)
                                  : std::make_shared<Bucket>();
    }
    return *c;
  };
  for (AnyObject& obj : puts) {
    writable(bucketOf(obj)).put(std::move(obj));
  }
  for (const ObjectKey& key : removes) {
    writable(clusterScoped(key.kind) ? std::string() : key.ns).remove(key.kind, key.name);
  }
  for (auto& [ns, bucket] : copied) {
    if (bucket->empty()) {
      s->buckets_.erase(ns);
    } else {
      s->buckets_[ns] = std::move(bucket);
    }
  }
  s->finish();
  return s;
}

std::shared_ptr<const Snapshot> Snapshot::withKindReplaced(Kind kind,
                                                           std::vector<AnyObject> objects) const {
  std::shared_ptr<Snapshot> s(new Snapshot());
  std::unordered_map<std::string, std::shared_ptr<Bucket>> copied;
  for (const auto& [ns, bucket] : buckets_) {
    bool has_kind = false;
    bucket->withKind(kind, [&](const auto& v) { has_kind = !v.empty(); });
    if (has_kind) {
      auto b = std::make_shared<Bucket>(*bucket);
      b->withKind(kind, [](auto& v) { v.clear(); });
      copied[ns] = std::move(b);
    } else {
      s->buckets_.emplace(ns, bucket);
    }
  }
  for (AnyObject& obj : objects) {
    if (kindOf(obj) != kind) {
      continue;
    }
    const std::string ns = bucketOf(obj);
    auto& c = copied[ns];
    if (!c) {
      auto it = s->buckets_.find(ns);
      c = it != s->buckets_.end() ? std::make_shared<Bucket>(*it->second)
                                  : std::make_shared<Bucket>();
    }
    c->put(std::move(obj));
  }
  for (auto& [ns, bucket] : copied) {
    if (bucket->empty()) {
      s->buckets_.erase(ns);
    } else {
      s->buckets_[ns] = std::move(bucket);
    }
  }
  s->finish();
  return s;
}

const Namespace* Snapshot::findNamespace(std::string_view name) const {
  const Bucket* b = bucket("");
  if (b == nullptr) {
    return nullptr;
  }
  const auto& vec = b->of<Namespace>();
  auto pos = std::lower_bound(vec.begin(), vec.end(), name,
                              [](const Namespace& o, std::string_view n) { return o.name < n; });
  if (pos != vec.end() && pos->name == name) {
    return &*pos;
  }
  return nullptr;
}

std::vector<std::string> Snapshot::namespaceNames() const { return names_; }

const Snapshot::Bucket* Snapshot::bucket(std::string_view ns) const {
  auto it = buckets_.find(ns);
  return it == buckets_.end() ? nullptr : it->second.get();
}

void Snapshot::forEach(Kind kind, std::string_view ns, ObjectVisitor fn) const {
  // Rules ask for many kinds a cluster has none of (GatewayClasses, Sidecars, ...): no lookup.
  const Bucket* b =
      count(kind) == 0 ? nullptr : bucket(clusterScoped(kind) ? std::string_view() : ns);
  if (b == nullptr) {
    return;
  }
  b->withKind(kind, [&](const auto& vec) {
    for (const auto& o : vec) {
      fn(o);
    }
  });
}

const Object* Snapshot::findObject(Kind kind, std::string_view ns, std::string_view name) const {
  const Bucket* b =
      count(kind) == 0 ? nullptr : bucket(clusterScoped(kind) ? std::string_view() : ns);
  if (b == nullptr) {
    return nullptr;
  }
  const Object* found = nullptr;
  b->withKind(kind, [&](const auto& vec) {
    using T = typename std::decay_t<decltype(vec)>::value_type;
    auto pos = std::lower_bound(vec.begin(), vec.end(), name,
                                [](const T& o, std::string_view n) { return o.name < n; });
    if (pos != vec.end() && pos->name == name) {
      found = &*pos;
    }
  });
  return found;
}

std::vector<AnyObject> Snapshot::objects() const {
  std::vector<AnyObject> out;
  for (const auto& [ns, bucket] : buckets_) {
    bucket->forAll([&](const auto& vec) { out.insert(out.end(), vec.begin(), vec.end()); });
  }
  return out;
}

namespace {

ObjectKey normalized(ObjectKey key) {
  if (clusterScoped(key.kind)) {
    key.ns.clear();
  }
  return key;
}

}  // namespace

OverlayView::OverlayView(const ClusterView& base, AnyObject obj)
    : base_(base), key_(normalized(keyOf(obj))), owned_(std::move(obj)), put_(&*owned_) {
  if (key_.ns.empty()) {
    metaOf(*owned_).ns.clear();
  }
}

OverlayView::OverlayView(const ClusterView& base, const AnyObject* obj)
    : base_(base), key_(normalized(keyOf(*obj))), put_(obj) {
  if (key_.ns.empty() && !metaOf(*obj).ns.empty()) {
    owned_ = *obj;  // a cluster-scoped object written with a namespace: shown without it
    metaOf(*owned_).ns.clear();
    put_ = &*owned_;
  }
}

OverlayView::OverlayView(const ClusterView& base, ObjectKey removed)
    : base_(base), key_(normalized(std::move(removed))) {}

const Namespace* OverlayView::findNamespace(std::string_view name) const {
  if (key_.kind == Kind::kNamespace && key_.name == name) {
    return put_ ? &std::get<Namespace>(*put_) : nullptr;
  }
  return base_.findNamespace(name);
}

std::vector<std::string> OverlayView::namespaceNames() const {
  std::vector<std::string> names = base_.namespaceNames();
  const std::string touched = key_.kind == Kind::kNamespace ? key_.name : key_.ns;
  if (touched.empty()) {
    return names;  // another cluster-scoped kind
  }
  const bool listed = std::binary_search(names.begin(), names.end(), touched);
  if (put_ && !listed) {
    names.insert(std::lower_bound(names.begin(), names.end(), touched), touched);
  } else if (!put_ && listed) {
    // A removal keeps the name only while the namespace still has its Namespace object or
    // some namespaced object (the ClusterView::namespaceNames contract).
    bool left = findNamespace(touched) != nullptr;
    for (int k = 0; !left && k < kKindCount; ++k) {
      const Kind kind = static_cast<Kind>(k);
      if (!clusterScoped(kind)) {
        forEach(kind, touched, [&](const Object&) { left = true; });
      }
    }
    if (!left) {
      names.erase(std::lower_bound(names.begin(), names.end(), touched));
    }
  }
  return names;
}

void OverlayView::forEach(Kind kind, std::string_view ns, ObjectVisitor fn) const {
  if (clusterScoped(kind)) {
    ns = "";
  }
  const bool ours = kind == key_.kind && ns == key_.ns;
  bool emitted = false;
  base_.forEach(kind, ns, [&](const Object& o) {
    if (ours && o.name == key_.name) {
      if (put_ && !emitted) {
        fn(metaOf(*put_));
        emitted = true;
      }
      return;
    }
    if (ours && put_ && !emitted && key_.name < o.name) {
      fn(metaOf(*put_));  // keep name order
      emitted = true;
    }
    fn(o);
  });
  if (ours && put_ && !emitted) {
    fn(metaOf(*put_));
  }
}

const Object* OverlayView::findObject(Kind kind, std::string_view ns,
                                      std::string_view name) const {
  if (clusterScoped(kind)) {
    ns = "";
  }
  if (kind == key_.kind && ns == key_.ns && name == key_.name) {
    return put_ ? &metaOf(*put_) : nullptr;
  }
  return base_.findObject(kind, ns, name);
}

size_t OverlayView::count(Kind kind) const {
  size_t n = base_.count(kind);
  if (kind != key_.kind) {
    return n;
  }
  const bool existed = base_.findObject(kind, key_.ns, key_.name) != nullptr;
  if (existed && !put_) {
    return n - 1;
  }
  if (!existed && put_) {
    return n + 1;
  }
  return n;
}

}  // namespace ambient_guard
