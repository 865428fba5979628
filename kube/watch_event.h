// What list and watch read from the Kubernetes API (spec/admission-contract.md §6.3), parsed
// once with simdjson and decoded from the parsed document (model/json_value.h). The watch
// stream is newline-delimited `{"type":…,"object":…}` events whose boundaries need not match
// the chunks they arrive in: WatchEventFramer cuts it into events under a size limit;
// parseWatchEvent reads one, parseListPage one page of a list. All take whatever the server (or
// a man in the middle of a misconfigured cluster) sends and never throw. Not thread-safe; one
// framer per stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "model/json_value.h"
#include "model/result.h"

namespace ambient_guard {

// The deepest object decoded (nested arrays and objects, the object itself counted): what the
// decoder accepts of a document of its own (JsonParseOptions). A deeper object is skipped.
constexpr int kMaxObjectDepth = 256;
// The deepest event or list page read at all; past it the event or page is an error. Go's
// encoding/json reads 10000 levels, so the API server can hold objects nearly that deep, and
// one of them must not stop the others of its page from being read.
constexpr int kMaxStreamDepth = 10240;

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK, ERROR (or whatever was sent)
  JsonDocument doc;  // owns what `object` views
  JsonValue object;  // an object (checked)
  // The event nests deeper than an object may: check `object` with withinDepth before decoding.
  bool deep = false;
  // ERROR events: the Status fields; `code` is 0 unless the Status carries a number that fits.
  int code = 0;
  std::string reason;
  std::string message;
};

// Returns the event on one line, or an error for malformed JSON, a non-object, or an event
// without an object. Parsed by `parser`, or by parseJson's parser of this thread when null.
Result<WatchEvent> parseWatchEvent(std::string_view line, JsonParser* parser = nullptr);

// One page of a list response.
struct ListPage {
  JsonDocument doc;  // owns what `items` views
  JsonValue items;   // an array, or null when the page has no items
  std::string resource_version;
  std::string continue_token;
  // metadata.remainingItemCount: how many items the later pages hold (an estimate, absent with
  // selectors); 0 when absent or not a count.
  uint64_t remaining_items = 0;
  bool deep = false;  // as WatchEvent::deep, for every item
};

// Returns the page in `body` (with `readable_after` readable bytes past its end, see
// JsonParser::parse), parsed by `parser`, or the error "the response is not a List".
Result<ListPage> parseListPage(std::string_view body, size_t readable_after, JsonParser& parser);

// Returns the message of a Kubernetes Status in `body`, or its first 200 bytes when it is not one.
std::string statusMessage(std::string_view body);

class WatchEventFramer {
 public:
  explicit WatchEventFramer(size_t max_event_bytes) : max_event_bytes_(max_event_bytes) {}

  enum class Status { kOk, kStopped, kTooLarge };
  // Appends `data` and calls `on_event` with every complete non-blank line, in order. Stops
  // early when `on_event` returns false (kStopped) or an unterminated event grows past the
  // limit (kTooLarge).
  Status append(std::string_view data, const std::function<bool(std::string_view)>& on_event);
  // Returns true when bytes of an unterminated event (other than whitespace) are buffered.
  bool partial() const;

 private:
  size_t max_event_bytes_;
  std::string buf_;
  size_t scanned_ = 0;  // bytes of buf_ known to hold no newline
};

}  // namespace ambient_guard
