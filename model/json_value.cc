#include "model/json_value.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <cmath>

#include <nlohmann/json.hpp>

namespace ambient_guard {
namespace {

namespace dom = simdjson::dom;
namespace od = simdjson::ondemand;

[[noreturn]] void typeError(const char* want) {
  throw JsonTypeError(std::string("JSON value is not ") + want);
}

// Returns the offset of the first byte that is not part of valid UTF-8, or npos.
size_t firstInvalidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t min = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1;
      min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      min = 0x10000;
    } else {
      return i;
    }
    if (i + n >= s.size()) {
      return i;
    }
    uint32_t cp = c & (0x3f >> n);
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) {
        return i;
      }
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return i;
    }
    i += n + 1;
  }
  return std::string_view::npos;
}

// Walks an on-demand view of the text to the first error (error path only: the DOM parser
// reports what went wrong but not where).
simdjson::error_code visit(od::value v, int depth, int max_depth) {
  if (depth > max_depth) {
    return simdjson::DEPTH_ERROR;
  }
  od::json_type t;
  if (auto e = v.type().get(t)) {
    return e;
  }
  switch (t) {
    case od::json_type::object: {
      od::object o;
      if (auto e = v.get_object().get(o)) {
        return e;
      }
      for (auto f : o) {
        if (auto e = f.error()) {
          return e;
        }
        od::field field = std::move(f).value_unsafe();
        std::string_view key;
        if (auto e = field.unescaped_key().get(key)) {
          return e;
        }
        if (auto e = visit(field.value(), depth + 1, max_depth)) {
          return e;
        }
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      od::array a;
      if (auto e = v.get_array().get(a)) {
        return e;
      }
      for (auto item : a) {
        if (auto e = item.error()) {
          return e;
        }
        od::value iv = std::move(item).value_unsafe();
        if (auto e = visit(iv, depth + 1, max_depth)) {
          return e;
        }
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::string:
      return v.get_string().error();
    case od::json_type::number:
      return v.get_number().error();
    case od::json_type::boolean:
      return v.get_bool().error();
    case od::json_type::null:
      return v.is_null().error();
  }
  return simdjson::SUCCESS;
}

// visit() recurses once per level; past this many it stops, and the error's offset is unknown.
// Deeper limits (the watch reads streams up to 10240 levels) would need more stack than a thread
// is sure to have, sanitizer builds included; a hostile document must never overflow it.
constexpr int kMaxLocateDepth = 256;

// Returns the offset where on-demand parsing of `text` first fails, or -1 when unknown.
long locateError(std::string_view text, int max_depth) {
  const simdjson::padded_string padded(text);
  od::parser parser;
  od::document doc;
  if (parser.iterate(padded).get(doc)) {
    return -1;
  }
  auto where = [&]() -> long {
    const char* p = nullptr;
    if (doc.current_location().get(p)) {
      return static_cast<long>(text.size());  // ran off the end: truncated input
    }
    return p - padded.data();
  };
  od::json_type t;
  if (doc.type().get(t)) {
    return where();
  }
  simdjson::error_code e = simdjson::SUCCESS;
  if (t == od::json_type::object || t == od::json_type::array) {
    od::value v;
    e = doc.get_value().get(v);
    if (!e) {
      const int limit = std::min(max_depth, kMaxLocateDepth);
      e = visit(v, 1, limit);
      if (e == simdjson::DEPTH_ERROR && limit < max_depth) {
        return -1;  // deeper than the walk goes: the parser's error, without a position
      }
    }
  } else if (t == od::json_type::string) {
    e = doc.get_string().error();
  } else if (t == od::json_type::number) {
    e = doc.get_number().error();
  } else if (t == od::json_type::boolean) {
    e = doc.get_bool().error();
  } else {
    e = doc.is_null().error();
  }
  // On success the DOM parser's complaint is about what follows the value: point there.
  (void)e;
  return where();
}

// The text of an error: simdjson's message without its code name ("TAPE_ERROR: ...").
std::string describe(simdjson::error_code code) {
  switch (code) {
    case simdjson::DEPTH_ERROR:
      return "nesting too deep";
    case simdjson::UTF8_ERROR:
      return "invalid UTF-8";
    case simdjson::UNCLOSED_STRING:
      return "unterminated string";
    case simdjson::STRING_ERROR:
      return "invalid string (escape or control character)";
    case simdjson::NUMBER_ERROR:
      return "invalid number (or out of range)";
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR:
      return "invalid literal";
    case simdjson::EMPTY:
      return "no JSON value";
    case simdjson::CAPACITY:
      return "document too large";
    case simdjson::TAPE_ERROR:
      return "invalid structure";
    default:
      return simdjson::error_message(code);
  }
}

// Indexing a simdjson array walks it from the start; decoders loop `for i < size(): v[i]`, which
// would be quadratic (a hang on a hostile million-element list). Each thread remembers where its
// last index landed and continues from there. A cursor is trusted only while no document has
// been freed since it was set (a new document may reuse the freed one's address).
std::atomic<uint64_t> g_documents_freed{0};

struct RawTapeRef {  // the layout of dom::element (one internal::tape_ref)
  const void* doc;
  size_t index;
};
static_assert(sizeof(RawTapeRef) == sizeof(dom::element));

RawTapeRef rawRef(const dom::element& e) {
  RawTapeRef r;
  std::memcpy(&r, &e, sizeof r);
  return r;
}

struct ArrayCursor {
  RawTapeRef array{nullptr, 0};
  uint64_t freed = 0;
  size_t position = 0;
  dom::array::iterator it;
};

thread_local ArrayCursor t_cursor;

dom::parser& threadParser() {
  thread_local dom::parser parser;
  return parser;
}

// Returns `text` with every integer literal that does not fit 64 bits (simdjson refuses those)
// written as a double ("1e20" digits + ".0"), or "" when there is none. Strings are left alone.
std::string widenBigIntegers(std::string_view text) {
  std::string out;
  size_t copied = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    if (c != '-' && (c < '0' || c > '9')) {
      continue;
    }
    size_t end = i;
    bool integer = true;
    while (end < text.size() && std::string_view("-+0123456789.eE").find(text[end]) !=
                                    std::string_view::npos) {
      integer = integer && std::string_view(".eE").find(text[end]) == std::string_view::npos;
      ++end;
    }
    const bool negative = c == '-';
    const size_t sign = negative ? 1 : 0;
    const std::string_view digits = text.substr(i + sign, end - i - sign);
    const std::string_view limit = negative ? "9223372036854775808" : "18446744073709551615";
    const bool too_big = digits.size() > limit.size() ||
                         (digits.size() == limit.size() && digits > limit);
    if (integer && too_big && digits.find_first_not_of("0123456789") == std::string_view::npos) {
      out.append(text.substr(copied, end - copied)).append(".0");
      copied = end;
    }
    i = end - 1;
  }
  if (copied == 0) {
    return std::string();
  }
  out.append(text.substr(copied));
  return out;
}

// Parses `text` into *doc; returns an empty string, or the error.
std::string parseInto(dom::parser& parser, dom::document* doc, std::string_view text, bool padded,
                      const JsonParseOptions& options) {
  if (text.size() > options.max_bytes) {
    return "document too large (" + std::to_string(text.size()) + " bytes, limit " +
           std::to_string(options.max_bytes) + ")";
  }
  const size_t depth = static_cast<size_t>(options.max_depth);
  // simdjson's depth is the number of nested arrays/objects, as ours.
  if (parser.max_depth() != depth) {
    if (auto e = parser.allocate(std::max<size_t>(text.size(), 4096), depth)) {
      return std::string("cannot allocate the JSON parser: ") + simdjson::error_message(e);
    }
  }
  dom::element root;
  auto err = parser.parse_into_document(*doc, text.data(), text.size(), !padded).get(root);
  if (err == simdjson::NUMBER_ERROR && options.big_integers_as_doubles) {
    std::string widened = widenBigIntegers(text);
    if (!widened.empty()) {
      widened.reserve(widened.size() + simdjson::SIMDJSON_PADDING);
      err = parser.parse_into_document(*doc, widened.data(), widened.size(), false).get(root);
    }
  }
  if (!err) {
    return std::string();
  }
  {
    std::string what = describe(err);
    long at = -1;
    if (err == simdjson::UTF8_ERROR) {
      const size_t i = firstInvalidUtf8(text);
      at = i == std::string_view::npos ? -1 : static_cast<long>(i);
    } else {
      at = locateError(text, options.max_depth);
    }
    if (at >= 0) {
      return "byte " + std::to_string(at) + ": " + what;
    }
    return what;
  }
}

}  // namespace

size_t JsonValue::size() const {
  if (!valid_) {
    return 0;
  }
  switch (e_.type()) {
    case dom::element_type::ARRAY:
      return dom::array(e_).size();
    case dom::element_type::OBJECT:
      return dom::object(e_).size();
    case dom::element_type::NULL_VALUE:
      return 0;
    default:
      return 1;
  }
}

JsonValue JsonValue::operator[](size_t i) const {
  if (!is_array()) {
    typeError("an array");
  }
  const dom::array a(e_);
  const RawTapeRef self = rawRef(e_);
  const uint64_t freed = g_documents_freed.load(std::memory_order_acquire);
  ArrayCursor& c = t_cursor;
  const bool resume = c.array.doc == self.doc && c.array.index == self.index &&
                      c.freed == freed && c.position <= i;
  dom::array::iterator it = resume ? c.it : a.begin();
  size_t at = resume ? c.position : 0;
  const dom::array::iterator end = a.end();
  for (; at < i && it != end; ++at) {
    ++it;
  }
  if (!(it != end)) {
    throw JsonTypeError("array index " + std::to_string(i) + " out of range");
  }
  c.array = self;
  c.freed = freed;
  c.position = at;
  c.it = it;
  return JsonValue(*it);
}

JsonValue::Iterator JsonValue::begin() const {
  return Iterator(is_array() ? dom::array(e_).begin() : dom::array().begin());
}

JsonValue::Iterator JsonValue::end() const {
  return Iterator(is_array() ? dom::array(e_).end() : dom::array().begin());
}

JsonPtr JsonValue::find(std::string_view key) const {
  if (!is_object()) {
    return nullptr;
  }
  JsonPtr found;
  for (dom::key_value_pair kv : dom::object(e_)) {
    if (kv.key == key) {
      found = JsonPtr(JsonValue(kv.value));
    }
  }
  return found;
}

std::string_view JsonValue::string_view() const {
  if (!is_string()) {
    typeError("a string");
  }
  return e_.get_string().value_unsafe();
}

template <>
std::string JsonValue::get<std::string>() const {
  return std::string(string_view());
}

template <>
int64_t JsonValue::get<int64_t>() const {
  if (!valid_) {
    typeError("a number");
  }
  switch (e_.type()) {
    case dom::element_type::INT64:
      return e_.get_int64().value_unsafe();
    case dom::element_type::UINT64:
      return static_cast<int64_t>(e_.get_uint64().value_unsafe());  // as nlohmann
    case dom::element_type::DOUBLE:
      return static_cast<int64_t>(e_.get_double().value_unsafe());
    default:
      typeError("a number");
  }
}

template <>
uint64_t JsonValue::get<uint64_t>() const {
  if (valid_ && e_.type() == dom::element_type::UINT64) {
    return e_.get_uint64().value_unsafe();
  }
  return static_cast<uint64_t>(get<int64_t>());
}

template <>
double JsonValue::get<double>() const {
  if (!is_number()) {
    typeError("a number");
  }
  return e_.get_double().value_unsafe();
}

template <>
bool JsonValue::get<bool>() const {
  if (!is_boolean()) {
    typeError("a boolean");
  }
  return e_.get_bool().value_unsafe();
}

std::vector<std::pair<std::string, JsonValue>> JsonValue::items() const {
  std::vector<std::pair<std::string, JsonValue>> out;
  if (!is_object()) {
    return out;
  }
  dom::object o(e_);
  out.reserve(o.size());
  for (dom::key_value_pair kv : o) {
    out.emplace_back(std::string(kv.key), JsonValue(kv.value));
  }
  return out;
}

std::string stringMember(const JsonValue& v, std::string_view key) {
  JsonPtr m = v.find(key);
  return m != nullptr && m->is_string() ? std::string(m->string_view()) : std::string();
}

std::string JsonValue::dump() const {
  return toNlohmann(*this).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool withinDepth(const JsonValue& v, int max_depth) {
  if (!v.is_object() && !v.is_array()) {
    return true;
  }
  if (max_depth <= 0) {
    return false;
  }
  if (v.is_array()) {
    for (dom::element item : dom::array(v.element())) {
      if (!withinDepth(JsonValue(item), max_depth - 1)) {
        return false;
      }
    }
    return true;
  }
  for (dom::key_value_pair kv : dom::object(v.element())) {
    if (!withinDepth(JsonValue(kv.value), max_depth - 1)) {
      return false;
    }
  }
  return true;
}

nlohmann::json toNlohmann(const JsonValue& v) {
  if (v.is_null()) {
    return nullptr;
  }
  const dom::element e = v.element();
  switch (e.type()) {
    case dom::element_type::ARRAY: {
      nlohmann::json out = nlohmann::json::array();
      for (dom::element item : dom::array(e)) {
        out.push_back(toNlohmann(JsonValue(item)));
      }
      return out;
    }
    case dom::element_type::OBJECT: {
      nlohmann::json out = nlohmann::json::object();
      for (dom::key_value_pair kv : dom::object(e)) {
        out[std::string(kv.key)] = toNlohmann(JsonValue(kv.value));  // last repeated key wins
      }
      return out;
    }
    case dom::element_type::INT64:
      return e.get_int64().value_unsafe();
    case dom::element_type::UINT64:
      return e.get_uint64().value_unsafe();
    case dom::element_type::DOUBLE:
      return e.get_double().value_unsafe();
    case dom::element_type::STRING:
      return std::string(v.string_view());
    case dom::element_type::BOOL:
      return e.get_bool().value_unsafe();
    case dom::element_type::NULL_VALUE:
      return nullptr;
  }
  return nullptr;
}

namespace {

// Documents of small inputs (admission requests, single objects) are kept for the next parse on
// the same thread: a review then allocates no tape or string buffer. A handful per thread, each
// at most kCachedCapacity bytes of input, so the cache stays small; larger ones are freed.
constexpr size_t kCachedDocuments = 2;
constexpr size_t kCachedCapacity = 16 << 10;

// Set when the thread's cache is destroyed (thread exit; the main thread's before static
// destructors run, which may still free documents): from then on documents are just freed.
thread_local bool t_documents_gone = false;

struct DocumentCache {
  std::unique_ptr<dom::document> docs[kCachedDocuments];
  size_t size = 0;
  ~DocumentCache() { t_documents_gone = true; }
};
thread_local DocumentCache t_documents;

std::unique_ptr<dom::document> takeDocument() {
  if (t_documents_gone) {
    return std::make_unique<dom::document>();
  }
  DocumentCache& c = t_documents;
  if (c.size > 0) {
    return std::move(c.docs[--c.size]);
  }
  return std::make_unique<dom::document>();
}

void recycleDocument(std::unique_ptr<dom::document> doc) {
  g_documents_freed.fetch_add(1, std::memory_order_release);  // its tape is reused: views die
  if (t_documents_gone) {
    return;
  }
  DocumentCache& c = t_documents;
  if (doc->capacity() <= kCachedCapacity && c.size < kCachedDocuments) {
    c.docs[c.size++] = std::move(doc);
  }
}

}  // namespace

JsonDocument::JsonDocument() = default;
JsonDocument::JsonDocument(JsonDocument&&) noexcept = default;

JsonDocument& JsonDocument::operator=(JsonDocument&& other) noexcept {
  if (this != &other) {
    if (doc_ != nullptr) {
      recycleDocument(std::move(doc_));
    }
    doc_ = std::move(other.doc_);
    parsed_ = other.parsed_;
  }
  return *this;
}

JsonDocument::~JsonDocument() {
  if (doc_ != nullptr) {
    recycleDocument(std::move(doc_));
  }
}

JsonValue JsonDocument::root() const {
  if (!parsed_) {
    return JsonValue();
  }
  return JsonValue(doc_->root());
}

Result<JsonDocument> parseJson(std::string_view text, const JsonParseOptions& options) {
  return parseJsonPadded(text, 0, options);
}

Result<JsonDocument> parseJsonPadded(std::string_view text, size_t readable_after,
                                     const JsonParseOptions& options) {
  return JsonParser::parseWith(threadParser(), text, readable_after, options);
}

JsonParser::JsonParser() : parser_(std::make_unique<dom::parser>()) {}
JsonParser::JsonParser(JsonParser&&) noexcept = default;
JsonParser& JsonParser::operator=(JsonParser&&) noexcept = default;
JsonParser::~JsonParser() = default;

Result<JsonDocument> JsonParser::parse(std::string_view text, size_t readable_after,
                                       const JsonParseOptions& options) {
  return parseWith(*parser_, text, readable_after, options);
}

Result<JsonDocument> JsonParser::parseWith(dom::parser& parser, std::string_view text,
                                           size_t readable_after,
                                           const JsonParseOptions& options) {
  JsonDocument out;
  out.doc_ = takeDocument();
  std::string error = parseInto(parser, out.doc_.get(), text,
                                readable_after >= simdjson::SIMDJSON_PADDING, options);
  if (!error.empty()) {
    return Error{std::move(error)};
  }
  out.parsed_ = true;
  return out;
}

void JsonParser::trim(size_t max_kept_bytes) {
  if (parser_->capacity() > max_kept_bytes) {
    parser_ = std::make_unique<dom::parser>();
  }
}

}  // namespace ambient_guard
