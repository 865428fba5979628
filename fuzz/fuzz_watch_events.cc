// A watch stream from the API server: cut into chunks at the points the input's first bytes
// choose, framed into events, each event parsed (simdjson) and its object decoded from the parsed
// document as the watch does; the input once more as a list page.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "kube/watch_event.h"
#include "model/decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) {
    return 0;
  }
  const size_t chunk = 1 + data[0] % 64;
  std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  ambient_guard::WatchEventFramer framer(1 << 20);
  auto on_event = [](std::string_view line) {
    auto event = ambient_guard::parseWatchEvent(line);
    if (!event.ok()) {
      return false;
    }
    if (event->type == "ADDED" || event->type == "MODIFIED" || event->type == "DELETED") {
      if (!event->deep ||
          ambient_guard::withinDepth(event->object, ambient_guard::kMaxObjectDepth)) {
        (void)ambient_guard::decodeListItem(event->object, "v1", "Namespace");
      }
    }
    return event->type != "ERROR" || event->code != 410;
  };
  while (!stream.empty()) {
    const auto piece = stream.substr(0, chunk);
    stream.remove_prefix(piece.size());
    if (framer.append(piece, on_event) != ambient_guard::WatchEventFramer::Status::kOk) {
      break;
    }
  }
  (void)framer.partial();
  ambient_guard::JsonParser parser;
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  if (auto page = ambient_guard::parseListPage(body, 0, parser); page.ok()) {
    for (const ambient_guard::JsonValue item : page->items) {
      if (!page->deep || ambient_guard::withinDepth(item, ambient_guard::kMaxObjectDepth)) {
        (void)ambient_guard::decodeListItem(item, "v1", "Service");
      }
    }
  }
  return 0;
}
