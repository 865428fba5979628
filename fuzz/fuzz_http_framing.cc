// Request framing as the server reads it (webhook/http_framing.h): the head scanner on a stream
// arriving in pieces, the head parser, the direct path's reading of an accepted head
// (webhook/direct_response.h), and the chunked-body decoder.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "webhook/direct_response.h"
#include "webhook/http_framing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  const size_t chunk = 1 + data[0] % 32;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  ambient_guard::HttpLimits limits;
  limits.max_request_line = 256;
  limits.max_header_line = 256;
  limits.max_head_bytes = 1024;
  limits.max_headers = 16;
  limits.max_body_bytes = 4096;
  ambient_guard::HeadScanner scanner(limits);
  size_t fed = 0;
  int status = 0;
  while (status == 0 && fed < input.size()) {
    fed = std::min(input.size(), fed + chunk);
    status = scanner.scan(input.substr(0, fed));
  }
  if (status != 200) {
    return 0;
  }
  if (scanner.head_size() > fed || scanner.head_size() > limits.max_head_bytes) {
    std::abort();
  }
  const auto head = ambient_guard::parseRequestHead(input.substr(0, scanner.head_size()), limits);
  if (head.refuse_status != 0) {
    return 0;
  }
  const ambient_guard::DirectRequest direct = ambient_guard::directRequest(head);
  if (direct.route != ambient_guard::DirectRoute::kNone) {
    const std::string_view n = head.normalized;
    const auto inside = [n](std::string_view v) {
      return v.empty() || (v.data() >= n.data() && v.data() + v.size() <= n.data() + n.size());
    };
    if (head.method != "POST" || !inside(direct.content_type)) {
      std::abort();
    }
    std::string response;
    ambient_guard::writeDirectResponse(response, 200, direct.content_type, n,
                                       direct.connection_close, "timeout=1, max=1");
  }
  if (!head.chunked) {
    return 0;
  }
  ambient_guard::ChunkedDecoder decoder(limits.max_body_bytes);
  std::string rest(input.substr(scanner.head_size()));
  std::string body;
  while (!rest.empty()) {
    const std::string piece = rest.substr(0, chunk);
    size_t consumed = 0;
    const auto state = decoder.feed(piece, body, consumed);
    if (consumed > piece.size() || body.size() > limits.max_body_bytes) {
      std::abort();
    }
    if (state != ambient_guard::ChunkedDecoder::State::kMore) {
      break;
    }
    rest.erase(0, consumed);
  }
  return 0;
}
