// A watch stream from the API server: cut into chunks at the points the input's first bytes
// choose, framed into events, each event parsed and its object decoded as the watch does.
#include <cstddef>
#include <cstdint>
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
      (void)ambient_guard::decodeObject(event->object);
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
  return 0;
}
