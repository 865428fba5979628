// The watch stream of the Kubernetes API (spec/admission-contract.md §6.3): newline-delimited
// `{"type":…,"object":…}` events whose boundaries need not match the chunks they arrive in.
// WatchEventFramer cuts the stream into events under a size limit; parseWatchEvent reads one.
// Both take whatever the server (or a man in the middle of a misconfigured cluster) sends and
// never throw. Not thread-safe; one framer per stream.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "model/result.h"

namespace ambient_guard {

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK, ERROR (or whatever was sent)
  nlohmann::json object;  // an object (checked); managedFields and last-applied dropped
  // ERROR events: the Status fields; `code` is 0 unless the Status carries a number that fits.
  int code = 0;
  std::string reason;
  std::string message;
};

// Returns the event on one line, or an error for malformed JSON, a non-object, or an event
// without an object.
Result<WatchEvent> parseWatchEvent(std::string_view line);

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
