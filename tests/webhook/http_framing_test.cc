// Request framing limits and the chunked decoder (webhook/http_framing.h), byte by byte.
#include "webhook/http_framing.h"

#include <gtest/gtest.h>

namespace ambient_guard {
namespace {

int scanAll(std::string_view text, const HttpLimits& limits, size_t step, size_t* head = nullptr) {
  HeadScanner scanner(limits);
  int status = 0;
  for (size_t n = step; status == 0; n += step) {
    status = scanner.scan(text.substr(0, std::min(n, text.size())));
    if (n >= text.size()) {
      break;
    }
  }
  if (head != nullptr) {
    *head = scanner.head_size();
  }
  return status;
}

TEST(HttpFraming, HeadScannerFindsTheEndWhateverThePieces) {
  const std::string text = "POST /validate HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}";
  for (size_t step : {1u, 2u, 7u, 1000u}) {
    SCOPED_TRACE(step);
    size_t head = 0;
    EXPECT_EQ(scanAll(text, HttpLimits{}, step, &head), 200);
    EXPECT_EQ(head, text.size() - 2);
  }
}

TEST(HttpFraming, LimitsApplyBeforeALineEnds) {
  HttpLimits l;
  l.max_request_line = 16;
  l.max_header_line = 16;
  l.max_head_bytes = 64;
  l.max_headers = 2;
  EXPECT_EQ(scanAll("GET /" + std::string(100, 'a'), l, 1), 414);  // no CRLF needed
  EXPECT_EQ(scanAll("GET / HTTP/1.1\r\nX: " + std::string(100, 'a'), l, 1), 431);
  EXPECT_EQ(scanAll("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", l, 1), 431);
  EXPECT_EQ(scanAll("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n", l, 1), 200);
}

TEST(HttpFraming, ParseRequestHead) {
  struct Case {
    std::string head;
    int status;
  };
  const std::vector<Case> cases = {
      {"POST /v HTTP/1.1\r\nContent-Length: 10\r\n\r\n", 0},
      {"POST /v HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n", 0},
      {"POST /v HTTP/1.1\r\n\r\n", 411},
      {"DELETE /v HTTP/1.1\r\n\r\n", 0},
      {"POST /v HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400},
      {"POST /v HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
      {"POST /v HTTP/1.1\r\nContent-Length: 8388609\r\n\r\n", 413},
      {"POST /v HTTP/1.1\r\nContent-Length: 000000000000000000000000000008\r\n\r\n", 0},
      {"POST /v HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", 0},
      {"POST /v HTTP/1.1\r\nContent-Encoding: deflate\r\nContent-Length: 3\r\n\r\n", 415},
      {"POST /v HTTP/1.1\r\nContent-Encoding: Identity\r\nContent-Length: 3\r\n\r\n", 0},
      {"POST /v HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
       501},
      {"POST /v HTTP/1.1\r\nContent-Length : 3\r\n\r\n", 400},
      {"POST /v HTTP/1.1\r\nX: a\r\n b\r\nContent-Length: 3\r\n\r\n", 400},
      {"POST /v HTTP/1.1\r\nX: a\rb\r\nContent-Length: 3\r\n\r\n", 400},
      {"POST  /v HTTP/1.1\r\n\r\n", 400},
      {"GET /v HTTP/3\r\n\r\n", 505},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.head);
    const RequestHead h = parseRequestHead(c.head, HttpLimits{});
    EXPECT_EQ(h.refuse_status, c.status) << h.reason;
  }
  const RequestHead h = parseRequestHead(
      "POST /v?timeout=10s HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n",
      HttpLimits{});
  EXPECT_EQ(h.target, "/v?timeout=10s");
  EXPECT_EQ(h.content_length, 2u);
  EXPECT_TRUE(h.expect_continue);
  EXPECT_EQ(h.normalized, "POST /v?timeout=10s HTTP/1.1\r\nHost: x\r\n");
}

ChunkedDecoder::State decode(std::string_view in, size_t limit, size_t step, std::string& body,
                             std::string& rest) {
  ChunkedDecoder d(limit);
  std::string pending;
  size_t pos = 0;
  for (;;) {
    const size_t n = std::min(step, in.size() - pos);
    pending.append(in.substr(pos, n));
    pos += n;
    size_t used = 0;
    const auto state = d.feed(pending, body, used);
    pending.erase(0, used);
    if (state != ChunkedDecoder::State::kMore || pos == in.size()) {
      rest = pending + std::string(in.substr(pos));
      return state;
    }
  }
}

TEST(HttpFraming, ChunkedDecoder) {
  using State = ChunkedDecoder::State;
  const std::string text = "5;ext=\"a\"\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT";
  for (size_t step : {1u, 3u, 1000u}) {
    SCOPED_TRACE(step);
    std::string body, rest;
    EXPECT_EQ(decode(text, 100, step, body, rest), State::kDone);
    EXPECT_EQ(body, "hello world");
    EXPECT_EQ(rest, "NEXT");
  }
  std::string body, rest;
  EXPECT_EQ(decode("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 10, 1, body, rest), State::kTooLarge);
  EXPECT_LE(body.size(), 10u);
  body.clear();
  EXPECT_EQ(decode("fffffffffffffffffffffff\r\n", 100, 1, body, rest), State::kTooLarge);
  EXPECT_EQ(decode("zz\r\n", 100, 1, body, rest), State::kMalformed);
  EXPECT_EQ(decode("2\r\nabX\r\n", 100, 1, body, rest), State::kMalformed);
  EXPECT_EQ(decode("2\nab\r\n", 100, 1, body, rest), State::kMalformed);
  EXPECT_EQ(decode(std::string(10000, '0'), 100, 1, body, rest), State::kMalformed);
}

}  // namespace
}  // namespace ambient_guard
