#include "webhook/cluster_state.h"

#include <algorithm>
#include <optional>

namespace ambient_guard {

std::shared_ptr<const Snapshot> Snapshot::build(std::vector<AnyObject> objects) {
  std::shared_ptr<Snapshot> s(new Snapshot());
  for (AnyObject& obj : objects) {
    const Object& m = metaOf(obj);
    std::string ns = kindOf(obj) == Kind::kNamespace ? std::string() : m.ns;
    s->buckets_[ns].by_kind[static_cast<int>(kindOf(obj))].push_back(std::move(obj));
  }
  for (auto& [ns, bucket] : s->buckets_) {
    for (auto& vec : bucket.by_kind) {
      // Stable sort keeps input order among equal names, so "last one wins" below is exact.
      std::stable_sort(vec.begin(), vec.end(), [](const AnyObject& a, const AnyObject& b) {
        return metaOf(a).name < metaOf(b).name;
      });
      auto dup_end = std::unique(vec.rbegin(), vec.rend(),
                                 [](const AnyObject& a, const AnyObject& b) {
                                   return metaOf(a).name == metaOf(b).name;
                                 });
      vec.erase(vec.begin(), dup_end.base());
      vec.shrink_to_fit();
    }
  }
  for (const auto& [ns, bucket] : s->buckets_) {
    for (int k = 0; k < kKindCount; ++k) {
      s->counts_[k] += bucket.by_kind[k].size();
    }
    if (!ns.empty()) {
      s->names_.push_back(ns);
    }
  }
  if (auto it = s->buckets_.find(""); it != s->buckets_.end()) {
    for (const auto& obj : it->second.by_kind[static_cast<int>(Kind::kNamespace)]) {
      s->names_.push_back(metaOf(obj).name);
    }
  }
  std::sort(s->names_.begin(), s->names_.end());
  s->names_.erase(std::unique(s->names_.begin(), s->names_.end()), s->names_.end());
  return s;
}

std::shared_ptr<const Snapshot> Snapshot::empty() {
  static const std::shared_ptr<const Snapshot> kEmpty = build({});
  return kEmpty;
}

const Namespace* Snapshot::findNamespace(std::string_view name) const {
  auto it = buckets_.find("");
  if (it == buckets_.end()) {
    return nullptr;
  }
  const auto& vec = it->second.by_kind[static_cast<int>(Kind::kNamespace)];
  auto pos = std::lower_bound(vec.begin(), vec.end(), name, [](const AnyObject& o, auto n) {
    return metaOf(o).name < n;
  });
  if (pos != vec.end() && metaOf(*pos).name == name) {
    return &std::get<Namespace>(*pos);
  }
  return nullptr;
}

std::vector<std::string> Snapshot::namespaceNames() const { return names_; }

void Snapshot::forEach(Kind kind, std::string_view ns,
                       const std::function<void(const Object&)>& fn) const {
  if (kind == Kind::kNamespace || kind == Kind::kGatewayClass) {
    ns = "";
  }
  auto it = buckets_.find(std::string(ns));
  if (it == buckets_.end()) {
    return;
  }
  for (const AnyObject& obj : it->second.by_kind[static_cast<int>(kind)]) {
    fn(metaOf(obj));
  }
}

std::vector<AnyObject> Snapshot::objects() const {
  std::vector<AnyObject> out;
  for (const auto& [ns, bucket] : buckets_) {
    for (const auto& vec : bucket.by_kind) {
      out.insert(out.end(), vec.begin(), vec.end());
    }
  }
  return out;
}

namespace {

ObjectKey normalized(ObjectKey key) {
  if (key.kind == Kind::kNamespace || key.kind == Kind::kGatewayClass) {
    key.ns.clear();
  }
  return key;
}

}  // namespace

OverlayView::OverlayView(const ClusterView& base, AnyObject obj)
    : base_(base), key_(normalized(keyOf(obj))), put_(std::move(obj)) {
  if (key_.ns.empty()) {
    metaOf(*put_).ns.clear();
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
  std::string added = key_.kind == Kind::kNamespace ? key_.name : key_.ns;
  if (put_ && !added.empty() && !std::binary_search(names.begin(), names.end(), added)) {
    names.insert(std::lower_bound(names.begin(), names.end(), added), added);
  }
  return names;
}

void OverlayView::forEach(Kind kind, std::string_view ns,
                          const std::function<void(const Object&)>& fn) const {
  if (kind == Kind::kNamespace || kind == Kind::kGatewayClass) {
    ns = "";
  }
  const bool ours = kind == key_.kind && ns == key_.ns;
  bool emitted = false;
  base_.forEach(kind, ns, [&](const Object& o) {
    if (ours && o.name == key_.name) {
      if (put_) {
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

size_t OverlayView::count(Kind kind) const {
  size_t n = base_.count(kind);
  if (kind != key_.kind) {
    return n;
  }
  bool existed = false;
  base_.forEach(kind, key_.ns, [&](const Object& o) { existed = existed || o.name == key_.name; });
  if (existed && !put_) {
    return n - 1;
  }
  if (!existed && put_) {
    return n + 1;
  }
  return n;
}

}  // namespace ambient_guard
