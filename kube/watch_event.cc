#include "kube/watch_event.h"

#include <algorithm>
#include <limits>
#include <optional>

namespace ambient_guard {
namespace {

// Returns an integer `code` (a Status's HTTP code), or 0 when it is absent, not an integer
// (a string, a float) or out of range: a malformed Status must not throw out of the watch.
int codeOf(const JsonValue& status) {
  JsonPtr code = status.find("code");
  if (code == nullptr) {
    return 0;
  }
  if (code->is_number_unsigned()) {
    const auto v = code->get<uint64_t>();
    return v <= 999 ? static_cast<int>(v) : 0;
  }
  if (code->is_number_integer()) {
    const auto v = code->get<int64_t>();
    return v >= 0 && v <= 999 ? static_cast<int>(v) : 0;
  }
  return 0;
}

// Returns `text` parsed, its objects `levels` below the root; `deep` tells whether it nests
// deeper than such objects may (kMaxObjectDepth). Streams are sized by the framer or the server,
// not by JsonParseOptions::max_bytes. Numbers read as nlohmann read them (big integers as
// doubles), so that an object nobody decodes cannot fail its whole page.
Result<JsonDocument> parseStreamed(std::string_view text, size_t readable_after, int levels,
                                   JsonParser* parser, bool& deep) {
  JsonParseOptions options;
  options.max_bytes = std::numeric_limits<size_t>::max();
  options.big_integers_as_doubles = true;
  auto parse = [&] {
    return parser != nullptr ? parser->parse(text, readable_after, options)
                             : parseJsonPadded(text, readable_after, options);
  };
  options.max_depth = kMaxObjectDepth + levels;
  auto doc = parse();
  deep = false;
  if (doc.ok()) {
    return doc;
  }
  // Any error: parsing again with the hostile limit tells a deep object (read, and skipped
  // when decoded) from malformed text (the same error again). Errors end a watch or a list,
  // so the second parse is rare.
  options.max_depth = kMaxStreamDepth;
  doc = parse();
  deep = doc.ok();
  return doc;
}

}  // namespace

Result<WatchEvent> parseWatchEvent(std::string_view line, JsonParser* parser) {
  WatchEvent event;
  auto doc = parseStreamed(line, 0, 1, parser, event.deep);
  if (!doc.ok()) {
    return Error{"malformed watch event: " + doc.error()};
  }
  event.doc = std::move(*doc);
  const JsonValue root = event.doc.root();
  if (!root.is_object()) {
    return Error{"malformed watch event"};
  }
  event.type = stringMember(root, "type");
  JsonPtr object = root.find("object");
  if (object == nullptr || !object->is_object()) {
    return Error{"watch event without an object"};
  }
  event.object = *object;
  if (event.type == "ERROR") {
    event.code = codeOf(event.object);
    event.reason = stringMember(event.object, "reason");
    event.message = stringMember(event.object, "message");
  }
  return event;
}

Result<ListPage> parseListPage(std::string_view body, size_t readable_after, JsonParser& parser) {
  ListPage page;
  auto doc = parseStreamed(body, readable_after, 2, &parser, page.deep);
  const JsonValue root = doc.ok() ? doc->root() : JsonValue();
  JsonPtr items = root.find("items");
  if (!root.is_object() || (items != nullptr && !items->is_array() && !items->is_null())) {
    return Error{"the response is not a List"};
  }
  if (JsonPtr meta = root.find("metadata"); meta != nullptr && meta->is_object()) {
    page.resource_version = stringMember(*meta, "resourceVersion");
    page.continue_token = stringMember(*meta, "continue");
    if (JsonPtr n = meta->find("remainingItemCount"); n != nullptr && n->is_number_integer()) {
      page.remaining_items = n->is_number_unsigned() ? n->get<uint64_t>()
                                                     : std::max<int64_t>(0, n->get<int64_t>());
    }
  }
  if (items != nullptr && items->is_array()) {
    page.items = *items;
  }
  page.doc = std::move(*doc);
  return page;
}

std::string statusMessage(std::string_view body) {
  auto doc = parseJson(body);
  std::string msg = doc.ok() ? stringMember(doc->root(), "message") : std::string();
  return msg.empty() ? std::string(body.substr(0, 200)) : msg;
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
