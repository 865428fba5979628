#include "kube/watch_event.h"

#include <algorithm>
#include <limits>

namespace ambient_guard {
namespace {

using json = nlohmann::json;

std::string stringField(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Returns an integer `code` (a Status's HTTP code), or 0 when it is absent, not an integer
// (a string, a float) or out of range: a malformed Status must not throw out of the watch.
int codeOf(const json& status) {
  auto it = status.find("code");
  if (it == status.end()) {
    return 0;
  }
  if (it->is_number_unsigned()) {
    const auto v = it->get<uint64_t>();
    return v <= 999 ? static_cast<int>(v) : 0;
  }
  if (it->is_number_integer()) {
    const auto v = it->get<int64_t>();
    return v >= 0 && v <= 999 ? static_cast<int>(v) : 0;
  }
  return 0;
}

}  // namespace

Result<WatchEvent> parseWatchEvent(std::string_view line) {
  // Drops, while parsing, the two fields that dominate real objects and that no rule reads.
  static const json::parser_callback_t kFilter = [](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && parsed.is_string()) {
      const auto& key = parsed.get_ref<const std::string&>();
      return key != "managedFields" && key != "kubectl.kubernetes.io/last-applied-configuration";
    }
    return true;
  };
  json doc;
  try {
    doc = json::parse(line.begin(), line.end(), kFilter, /*allow_exceptions=*/false);
  } catch (const std::exception& e) {  // the callback path can still throw on deep input
    return Error{std::string("malformed watch event: ") + e.what()};
  }
  if (doc.is_discarded() || !doc.is_object()) {
    return Error{"malformed watch event"};
  }
  WatchEvent event;
  event.type = stringField(doc, "type");
  auto it = doc.find("object");
  if (it == doc.end() || !it->is_object()) {
    return Error{"watch event without an object"};
  }
  event.object = std::move(*it);
  if (event.type == "ERROR") {
    event.code = codeOf(event.object);
    event.reason = stringField(event.object, "reason");
    event.message = stringField(event.object, "message");
  }
  return event;
}

WatchEventFramer::Status WatchEventFramer::append(
    std::string_view data, const std::function<bool(std::string_view)>& on_event) {
  buf_.append(data);
  size_t start = 0;
  Status status = Status::kOk;
  for (;;) {
    const size_t nl = buf_.find('\n', std::max(start, scanned_));
    if (nl == std::string::npos) {
      break;
    }
    const std::string_view line(buf_.data() + start, nl - start);
    start = nl + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
      continue;
    }
    if (!on_event(line)) {
      status = Status::kStopped;
      break;
    }
  }
  buf_.erase(0, start);
  scanned_ = status == Status::kStopped ? 0 : buf_.size();
  if (status == Status::kOk && buf_.size() > max_event_bytes_) {
    return Status::kTooLarge;
  }
  return status;
}

bool WatchEventFramer::partial() const {
  return buf_.find_first_not_of(" \t\r\n") != std::string::npos;
}

}  // namespace ambient_guard
