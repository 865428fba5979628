// JSON input for every decoder: text is parsed once by simdjson (DOM) and read through small
// views, with no intermediate tree. JsonDocument owns a parsed document; JsonValue is a view into
// one (valid while its document lives); JsonPtr is a nullable JsonValue that reads like the
// `const nlohmann::json*` the decoders used to pass around. Views are cheap to copy.
// parseJson is thread-safe (one simdjson parser per thread); documents are immutable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <simdjson.h>

#include "model/result.h"

namespace ambient_guard {

// Thrown by JsonValue::get<T>() on a value of another type; decoders catch it with the rest.
struct JsonTypeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class JsonPtr;
class JsonDocument;
struct JsonParseOptions;

// A read-only view of one value. Object member lookup follows nlohmann (and Go's encoding/json,
// what the apiserver decodes with): of repeated keys the last one wins.
class JsonValue {
 public:
  JsonValue() = default;  // null
  explicit JsonValue(simdjson::dom::element e) : e_(e), valid_(true) {}

  bool is_null() const { return !valid_ || e_.is_null(); }
  bool is_object() const { return valid_ && e_.is_object(); }
  bool is_array() const { return valid_ && e_.is_array(); }
  bool is_string() const { return valid_ && e_.is_string(); }
  bool is_boolean() const { return valid_ && e_.is_bool(); }
  bool is_number() const { return valid_ && e_.is_number(); }
  bool is_number_integer() const { return valid_ && (e_.is_int64() || e_.is_uint64()); }
  bool is_number_unsigned() const {
    return valid_ && e_.type() == simdjson::dom::element_type::UINT64;
  }
  bool is_number_float() const { return valid_ && e_.type() == simdjson::dom::element_type::DOUBLE; }

  // Returns the number of elements or members; 0 for null, 1 for other scalars (as nlohmann).
  size_t size() const;
  bool empty() const { return size() == 0; }
  // Returns array element i; throws JsonTypeError for a non-array or an index past the end.
  JsonValue operator[](size_t i) const;
  // Returns the member `key` of an object (the last one when repeated), or a null JsonPtr.
  JsonPtr find(std::string_view key) const;

  // Returns the string's bytes (valid while the document lives); throws for a non-string.
  std::string_view string_view() const;
  // get<std::string>, get<int64_t>, get<uint64_t>, get<double>, get<bool>; throw JsonTypeError.
  template <typename T>
  T get() const;

  // Iterates the elements of an array (nothing for other values).
  class Iterator {
   public:
    explicit Iterator(simdjson::dom::array::iterator it) : it_(it) {}
    JsonValue operator*() const { return JsonValue(*it_); }
    Iterator& operator++() {
      ++it_;
      return *this;
    }
    bool operator!=(const Iterator& o) const { return it_ != o.it_; }

   private:
    simdjson::dom::array::iterator it_;
  };
  Iterator begin() const;
  Iterator end() const;

  // Object members in document order, keys copied (the decoders build paths from them).
  std::vector<std::pair<std::string, JsonValue>> items() const;
  // Calls f(std::string_view key, const JsonValue& value) for each member of an object in
  // document order (nothing for other values); the keys are views into the document.
  template <typename F>
  void forEachMember(F&& f) const {
    if (!is_object()) {
      return;
    }
    for (simdjson::dom::key_value_pair kv : simdjson::dom::object(e_)) {
      f(kv.key, JsonValue(kv.value));
    }
  }

  // Returns compact JSON text for the value (numbers as nlohmann prints them).
  std::string dump() const;

  bool operator==(std::string_view s) const { return is_string() && string_view() == s; }

  simdjson::dom::element element() const { return e_; }

 private:
  simdjson::dom::element e_;
  bool valid_ = false;
};

template <>
std::string JsonValue::get<std::string>() const;
template <>
int64_t JsonValue::get<int64_t>() const;
template <>
uint64_t JsonValue::get<uint64_t>() const;
template <>
double JsonValue::get<double>() const;
template <>
bool JsonValue::get<bool>() const;

// A JsonValue or nothing: `if (JsonPtr m = member(j, "spec"))`, `m->is_object()`, `*m`.
class JsonPtr {
 public:
  JsonPtr() = default;
  JsonPtr(std::nullptr_t) {}  // NOLINT: reads like a pointer
  explicit JsonPtr(JsonValue v) : v_(v), set_(true) {}

  explicit operator bool() const { return set_; }
  bool operator==(std::nullptr_t) const { return !set_; }
  const JsonValue& operator*() const { return v_; }
  const JsonValue* operator->() const { return &v_; }

 private:
  JsonValue v_;
  bool set_ = false;
};

struct JsonParseOptions {
  int max_depth = 256;  // nesting of arrays and objects
  size_t max_bytes = 64 * 1024 * 1024;
  // Integers past 64 bits (which simdjson refuses) read as doubles, as nlohmann and Go read them:
  // the API server writes a float64 under 1e21 without exponent (100000000000000000000).
  bool big_integers_as_doubles = false;
};

class JsonParser;

// An immutable parsed document; movable, the views into it stay valid across moves.
class JsonDocument {
 public:
  JsonDocument();
  JsonDocument(JsonDocument&&) noexcept;
  JsonDocument& operator=(JsonDocument&&) noexcept;
  ~JsonDocument();

  // Returns the root value (null for a default-constructed document).
  JsonValue root() const;

 private:
  friend class JsonParser;
  std::unique_ptr<simdjson::dom::document> doc_;
  bool parsed_ = false;
};

// A parser whose buffers (about five bytes per byte of the largest text parsed so far) are
// reused from one document to the next. parseJson keeps one per thread; own one to parse large
// texts with (list pages) behind a lock, so that no thread keeps buffers that size. Not
// thread-safe.
class JsonParser {
 public:
  JsonParser();
  JsonParser(JsonParser&&) noexcept;
  JsonParser& operator=(JsonParser&&) noexcept;
  ~JsonParser();

  // Returns `text` parsed, in place when its buffer has at least simdjson::SIMDJSON_PADDING
  // readable bytes after its end (`readable_after`), else from a padded copy. As parseJson.
  Result<JsonDocument> parse(std::string_view text, size_t readable_after,
                             const JsonParseOptions& options = {});
  // Frees the buffers when they were sized for a text longer than `max_kept_bytes`.
  void trim(size_t max_kept_bytes);

 private:
  friend Result<JsonDocument> parseJsonPadded(std::string_view text, size_t readable_after,
                                              const JsonParseOptions& options);
  static Result<JsonDocument> parseWith(simdjson::dom::parser& parser, std::string_view text,
                                        size_t readable_after, const JsonParseOptions& options);

  std::unique_ptr<simdjson::dom::parser> parser_;
};

// Returns the document in `text` (RFC 8259: one value, valid UTF-8), or an error
// "byte N: what" (or "what" when the position is not known). Never throws.
Result<JsonDocument> parseJson(std::string_view text, const JsonParseOptions& options = {});

// Returns `text` parsed, for text whose buffer has at least simdjson::SIMDJSON_PADDING readable
// bytes after its end (a std::string with that much spare capacity): parsed in place, no copy.
Result<JsonDocument> parseJsonPadded(std::string_view text, size_t readable_after,
                                     const JsonParseOptions& options = {});

// Returns true when `v` nests at most `max_depth` arrays and objects (`v` itself counted, so a
// scalar is within 0). Recurses at most `max_depth` calls deep.
bool withinDepth(const JsonValue& v, int max_depth);

// Returns the member `key` of `v` when it is a string, else "" (absent, another type, or `v` not
// an object): for fields read leniently, where a wrong type is not an error.
std::string stringMember(const JsonValue& v, std::string_view key);

// Returns `v` as an nlohmann value (for building patches from request objects, and for tests).
nlohmann::json toNlohmann(const JsonValue& v);

}  // namespace ambient_guard
