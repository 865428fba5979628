// Shared<T>, SharedVector<T> and InternTable<T>: the pieces that let the live cluster state hold
// one copy of the values that repeat across objects (label maps, selectors, port lists, policy
// rules) instead of one per object.
//
// Shared<T> is a pointer-sized, reference-counted handle to an immutable T; copies share it.
// Writing through `mutate()` copies the value first when anyone else holds it (copy on write),
// so a handle behaves like a plain value. The count is atomic: handles to one value may be
// copied and destroyed on any threads, as long as each handle object is used by one thread at a
// time (like std::shared_ptr). InternTable<T> maps equal values to one shared copy; it is
// thread-safe.
#pragma once

#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace ambient_guard {

template <class T>
class InternTable;

template <class T>
class Shared {
 public:
  Shared() = default;
  explicit Shared(T value) : block_(new Block{{1}, std::move(value)}) {}
  Shared(const Shared& other) : block_(other.block_) { retain(); }
  Shared(Shared&& other) noexcept : block_(std::exchange(other.block_, nullptr)) {}
  Shared& operator=(const Shared& other) {
    Shared(other).swap(*this);
    return *this;
  }
  Shared& operator=(Shared&& other) noexcept {
    Shared(std::move(other)).swap(*this);
    return *this;
  }
  ~Shared() { release(); }
  void swap(Shared& other) noexcept { std::swap(block_, other.block_); }

  // Returns the value, or nullptr for an empty handle.
  const T* get() const { return block_ == nullptr ? nullptr : &block_->value; }
  bool null() const { return block_ == nullptr; }
  // Returns true when both handles point at the same copy.
  bool same(const Shared& other) const { return block_ == other.block_; }
  // Returns the value for writing, copying it first unless this handle is its only holder.
  // Creates a default T on an empty handle.
  T& mutate() {
    if (block_ == nullptr) {
      block_ = new Block{{1}, T()};
    } else if (block_->refs.load(std::memory_order_acquire) != 1) {
      Shared(block_->value).swap(*this);
    }
    return block_->value;
  }
  void reset() { Shared().swap(*this); }

 private:
  friend class InternTable<T>;
  struct Block {
    std::atomic<uint32_t> refs;
    T value;
  };
  void retain() const {
    if (block_ != nullptr) {
      block_->refs.fetch_add(1, std::memory_order_relaxed);
    }
  }
  void release() {
    if (block_ != nullptr && block_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      delete block_;
    }
    block_ = nullptr;
  }
  Block* block_ = nullptr;
};

// A vector whose elements live in a Shared block: 8 bytes in the owning object, one copy for
// every equal vector that went through an InternTable. Reads look like a const std::vector
// (and convert to one); push_back / emplace_back / assignment copy on write.
template <class T>
class SharedVector {
 public:
  using value_type = T;
  using const_iterator = const T*;
  using iterator = const T*;

  SharedVector() = default;
  SharedVector(std::vector<T> v) { assign(std::move(v)); }  // NOLINT: a value, like vector
  SharedVector(std::initializer_list<T> v) { assign(std::vector<T>(v)); }
  SharedVector& operator=(std::vector<T> v) {
    assign(std::move(v));
    return *this;
  }

  const std::vector<T>& vec() const {
    static const std::vector<T> kEmpty;
    const std::vector<T>* v = shared_.get();
    return v == nullptr ? kEmpty : *v;
  }
  operator const std::vector<T>&() const { return vec(); }  // NOLINT: reads like a vector
  const T* begin() const { return vec().data(); }
  const T* end() const { return vec().data() + vec().size(); }
  size_t size() const { return vec().size(); }
  bool empty() const { return vec().empty(); }
  const T& operator[](size_t i) const { return vec()[i]; }
  const T& front() const { return vec().front(); }
  const T& back() const { return vec().back(); }
  const T* data() const { return vec().data(); }

  void push_back(T v) { shared_.mutate().push_back(std::move(v)); }
  template <class... Args>
  T& emplace_back(Args&&... args) {
    return shared_.mutate().emplace_back(std::forward<Args>(args)...);
  }
  void clear() { shared_.reset(); }
  // Drops an empty block and the spare capacity of a block this vector alone holds.
  void shrink() {
    if (shared_.null()) {
      return;
    }
    if (shared_.get()->empty()) {
      shared_.reset();
    } else if (shared_.get()->capacity() != shared_.get()->size()) {
      shared_.mutate().shrink_to_fit();
    }
  }
  // Returns the elements for writing (copied first when shared).
  std::vector<T>& mutate() { return shared_.mutate(); }

  bool operator==(const SharedVector& other) const {
    return shared_.same(other.shared_) || vec() == other.vec();
  }
  bool operator==(const std::vector<T>& other) const { return vec() == other; }

  Shared<std::vector<T>>& handle() { return shared_; }
  const Shared<std::vector<T>>& handle() const { return shared_; }

 private:
  void assign(std::vector<T> v) {
    if (v.empty()) {
      shared_.reset();
    } else {
      shared_ = Shared<std::vector<T>>(std::move(v));
    }
  }
  Shared<std::vector<T>> shared_;
};

// An immutable string in a Shared block: 8 bytes in the owning object, one copy for every equal
// string that went through an InternTable (namespace names, annotation values that repeat).
// Reads like a const std::string (converts to const std::string& and std::string_view,
// compares with strings); assignment replaces the value. "" is the empty handle.
class SharedString {
 public:
  SharedString() = default;
  SharedString(std::string s) { assign(std::move(s)); }        // NOLINT: a value, like string
  SharedString(std::string_view s) { assign(std::string(s)); }  // NOLINT
  SharedString(const char* s) { assign(std::string(s)); }       // NOLINT
  SharedString& operator=(std::string s) {
    assign(std::move(s));
    return *this;
  }
  SharedString& operator=(std::string_view s) {
    assign(std::string(s));
    return *this;
  }
  SharedString& operator=(const char* s) {
    assign(std::string(s));
    return *this;
  }

  const std::string& str() const {
    static const std::string kEmpty;
    const std::string* s = shared_.get();
    return s == nullptr ? kEmpty : *s;
  }
  operator const std::string&() const { return str(); }  // NOLINT: reads like a string
  operator std::string_view() const { return str(); }    // NOLINT
  const char* c_str() const { return str().c_str(); }
  const char* data() const { return str().data(); }
  size_t size() const { return str().size(); }
  size_t length() const { return str().size(); }
  bool empty() const { return shared_.null(); }
  std::string::const_iterator begin() const { return str().begin(); }
  std::string::const_iterator end() const { return str().end(); }
  char operator[](size_t i) const { return str()[i]; }
  char front() const { return str().front(); }
  char back() const { return str().back(); }
  size_t find(std::string_view s, size_t pos = 0) const { return str().find(s, pos); }
  size_t find(char c, size_t pos = 0) const { return str().find(c, pos); }
  size_t rfind(std::string_view s, size_t pos = std::string::npos) const {
    return str().rfind(s, pos);
  }
  size_t rfind(char c, size_t pos = std::string::npos) const { return str().rfind(c, pos); }
  bool starts_with(std::string_view s) const { return str().starts_with(s); }
  bool ends_with(std::string_view s) const { return str().ends_with(s); }
  std::string substr(size_t pos, size_t n = std::string::npos) const {
    return str().substr(pos, n);
  }
  int compare(std::string_view s) const { return std::string_view(str()).compare(s); }
  void clear() { shared_.reset(); }

  friend bool operator==(const SharedString& a, const SharedString& b) {
    return a.shared_.same(b.shared_) || a.str() == b.str();
  }
  template <class S>
    requires(!std::same_as<S, SharedString> && std::convertible_to<const S&, std::string_view>)
  friend bool operator==(const SharedString& a, const S& b) {
    return std::string_view(a.str()) == std::string_view(b);
  }
  friend auto operator<=>(const SharedString& a, const SharedString& b) {
    return a.str() <=> b.str();
  }
  template <class S>
    requires(!std::same_as<S, SharedString> && std::convertible_to<const S&, std::string_view>)
  friend auto operator<=>(const SharedString& a, const S& b) {
    return std::string_view(a.str()) <=> std::string_view(b);
  }
  friend std::string operator+(const SharedString& a, std::string_view b) {
    std::string out = a.str();
    out += b;
    return out;
  }
  friend std::string operator+(std::string_view a, const SharedString& b) {
    std::string out(a);
    out += b.str();
    return out;
  }
  friend std::string operator+(const SharedString& a, const SharedString& b) {
    return a.str() + b.str();
  }
  friend std::string operator+(const SharedString& a, const char* b) { return a.str() + b; }
  friend std::string operator+(const char* a, const SharedString& b) { return a + b.str(); }
  friend std::string operator+(const SharedString& a, const std::string& b) { return a.str() + b; }
  friend std::string operator+(const std::string& a, const SharedString& b) { return a + b.str(); }
  friend std::string operator+(std::string&& a, const SharedString& b) {
    return std::move(a) + b.str();
  }
  friend std::ostream& operator<<(std::ostream& os, const SharedString& s) { return os << s.str(); }

  Shared<std::string>& handle() { return shared_; }
  const Shared<std::string>& handle() const { return shared_; }

 private:
  void assign(std::string s) {
    if (s.empty()) {
      shared_.reset();
    } else {
      shared_ = Shared<std::string>(std::move(s));
    }
  }
  Shared<std::string> shared_;
};

// Hash support for InternTable: hashValue(x) is defined for strings, integers, pairs and
// vectors here, and next to the structs that are interned (model/objects.h).
inline size_t hashCombine(size_t seed, size_t h) {
  return seed ^ (h + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
}
inline size_t hashValue(const std::string& s) { return std::hash<std::string>{}(s); }
inline size_t hashValue(int32_t v) { return std::hash<int32_t>{}(v); }
inline size_t hashValue(bool v) { return v ? 1 : 2; }
template <class A, class B>
size_t hashValue(const std::pair<A, B>& p) {
  return hashCombine(hashValue(p.first), hashValue(p.second));
}
template <class T>
size_t hashValue(const std::vector<T>& v) {
  size_t h = v.size();
  for (const T& x : v) {
    h = hashCombine(h, hashValue(x));
  }
  return h;
}

// Maps equal values to one shared, immutable copy. Thread-safe. The table holds a reference to
// every copy it handed out; sweep() drops the copies nothing else holds any more.
template <class T>
class InternTable {
 public:
  InternTable() = default;
  InternTable(const InternTable&) = delete;
  InternTable& operator=(const InternTable&) = delete;
  ~InternTable() {
    for (Block* b : set_) {
      Shared<T> owner;
      owner.block_ = b;  // releases the table's reference
    }
  }

  // Replaces `h` with the table's copy of its value, adding a copy made on the calling thread
  // when the value is new. Empty handles stay empty.
  void intern(Shared<T>& h) {
    if (h.block_ == nullptr) {
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    auto it = set_.find(h.block_);
    if (it != set_.end()) {
      if (*it != h.block_) {
        Shared<T> canonical;
        canonical.block_ = *it;
        canonical.retain();
        h.swap(canonical);
      }
      return;
    }
    // A new value: keep a fresh copy made on this thread, not the caller's block. The caller's
    // block was allocated wherever its object was decoded (among the transient allocations of
    // a parsed list page, on another thread's malloc arena); the table's copies are long-lived
    // and belong together, with the rest of the state.
    Shared<T> fresh(T(*h.get()));
    fresh.retain();  // the table's reference
    set_.insert(fresh.block_);
    h.swap(fresh);
  }

  // Drops the copies only the table still holds; returns how many remain.
  size_t sweep() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = set_.begin(); it != set_.end();) {
      // Nothing outside the table can take a new reference to a copy whose count is 1: new
      // references to it come only from intern(), under this mutex.
      if ((*it)->refs.load(std::memory_order_acquire) == 1) {
        Shared<T> owner;
        owner.block_ = *it;
        it = set_.erase(it);
      } else {
        ++it;
      }
    }
    return set_.size();
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return set_.size();
  }

 private:
  using Block = typename Shared<T>::Block;
  struct Hash {
    size_t operator()(const Block* b) const { return hashValue(b->value); }
  };
  struct Eq {
    bool operator()(const Block* a, const Block* b) const { return a->value == b->value; }
  };
  mutable std::mutex mu_;
  std::unordered_set<Block*, Hash, Eq> set_;
};

}  // namespace ambient_guard
