// HTTP/1.1 request framing under hard limits (RFC 9112), checked before cpp-httplib sees a byte.
//
// cpp-httplib 0.11 reads a request line and header lines of any length into memory, accepts any
// number of headers, reads chunked bodies and bodies without a length until the peer stops, and
// inflates gzip/brotli bodies: each is a way to make the server hold unbounded memory or a
// worker forever. The server reads each request through these functions first, refuses what
// breaks a limit with the right status, and hands cpp-httplib a normalized request (one
// Content-Length, no Transfer-Encoding, no Expect). Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ambient_guard {

struct HttpLimits {
  size_t max_request_line = 8192;  // 414 past it
  size_t max_header_line = 8192;   // 431 past it
  size_t max_head_bytes = 32768;   // request line and every header line; 431 past it
  size_t max_headers = 100;        // 431 past it
  size_t max_body_bytes = 8u << 20;  // 413 past it, whatever the framing
};

// What a complete request head asks for, or why it is refused.
struct RequestHead {
  int refuse_status = 0;   // 0: acceptable; else 400, 411, 413, 414, 415, 431 or 501
  std::string reason;      // why it is refused (the response body)
  std::string method;
  std::string target;      // the request target ("/validate?timeout=10s")
  bool chunked = false;    // Transfer-Encoding: chunked
  uint64_t content_length = 0;
  bool expect_continue = false;  // Expect: 100-continue
  bool http10 = false;           // HTTP/1.0 (else HTTP/1.1)
  // The head as cpp-httplib should see it: request line and headers without Content-Length,
  // Transfer-Encoding and Expect, and without the blank line (the caller appends its own
  // Content-Length and the blank line once the body is read).
  std::string normalized;
};

// Finds the end of a request head in a growing buffer, enforcing the line and size limits as the
// bytes arrive (so a refusal never waits for a line to end). Incremental: each call scans only
// what was appended since the last one.
class HeadScanner {
 public:
  explicit HeadScanner(const HttpLimits& limits) : limits_(limits) {}
  // Scans `buffer` (the bytes received so far, a prefix of the same stream each time). Returns
  // 0 while the head is incomplete, 414 or 431 once a limit is past, or 200 once the head is
  // complete: head_size() is then its length including the blank line.
  int scan(std::string_view buffer);
  size_t head_size() const { return head_size_; }

 private:
  const HttpLimits& limits_;
  size_t scanned_ = 0;
  size_t line_start_ = 0;
  size_t lines_ = 0;  // complete lines, the request line included
  size_t head_size_ = 0;
};

// Parses a complete head: `head` is everything up to and including the "\r\n\r\n" that ends it.
RequestHead parseRequestHead(std::string_view head, const HttpLimits& limits);

// Incremental decoder of a chunked body (RFC 9112 §7.1): feed it bytes as they arrive; it
// appends the data to `body` and stops at the first error or once the body (trailers included)
// has ended. Chunk extensions and trailer fields are read and dropped.
class ChunkedDecoder {
 public:
  enum class State { kMore, kDone, kTooLarge, kMalformed };

  explicit ChunkedDecoder(size_t max_body_bytes) : max_body_(max_body_bytes) {}

  // Consumes bytes from the front of `in` (as many as it can use) and returns the state: kMore
  // wants more input. `consumed` is set to the number of bytes used; bytes after the end of the
  // body stay in `in` (the next request of a pipelining client).
  State feed(std::string_view in, std::string& body, size_t& consumed);

 private:
  enum class Part { kSize, kData, kDataEnd, kTrailer, kDone };
  Part part_ = Part::kSize;
  std::string line_;  // the size or trailer line being read
  uint64_t remaining_ = 0;
  size_t trailer_bytes_ = 0;
  const size_t max_body_;
};

// Returns `s` without leading and trailing spaces and tabs (HTTP optional whitespace).
std::string_view trimOws(std::string_view s);
// Returns true when `s` equals `lower` (which is lower-case) ignoring ASCII case: header names.
bool equalsIgnoreCase(std::string_view s, std::string_view lower);

}  // namespace ambient_guard
