// The hot path of the webhook without cpp-httplib: POST /validate and /mutate answered from the
// request the connection already framed (http_framing.h), the response written in one piece.
//
// Only requests whose answer cpp-httplib 0.11 would have written predictably are taken; the rest
// (percent-encoded targets or header values, Range, Content-Encoding, a header without a value,
// a second '?') are left to cpp-httplib so that every status, header and body stays what it was.
// The response bytes are cpp-httplib's: the status line, then its headers in its map order
// (case-insensitive alphabetical), Keep-Alive or Connection: close by the same rules. Pure
// functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "webhook/http_framing.h"

namespace ambient_guard {

enum class DirectRoute { kNone, kValidate, kMutate };

// What the direct path needs of a request head.
struct DirectRequest {
  DirectRoute route = DirectRoute::kNone;  // kNone: leave the request to cpp-httplib
  std::string_view content_type;           // the first Content-Type value ("" when none)
  bool connection_close = false;           // Connection: close (exactly, as cpp-httplib)
  // HTTP/1.0 without "Connection: Keep-Alive": answered with the usual headers, then closed.
  bool close_after = false;
  bool accepts_compression = false;  // Accept-Encoding names br or gzip (substring, as cpp-httplib)
};

// Classifies a parsed, acceptable head (refuse_status 0). The views point into `head`.
DirectRequest directRequest(const RequestHead& head);

// Replaces `out` with a complete response: `status` (200 or 400), Content-Length,
// `content_type`, Keep-Alive (`keep_alive` is its value, "timeout=120, max=1000") or, when
// `close`, Connection: close; then `body`. Reuses `out`'s capacity.
void writeDirectResponse(std::string& out, int status, std::string_view content_type,
                         std::string_view body, bool close, std::string_view keep_alive);

}  // namespace ambient_guard
