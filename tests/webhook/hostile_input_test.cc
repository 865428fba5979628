// Hostile input against the webhook's serving path, over real TLS sockets on 127.0.0.1: request
// framing (oversized, chunked, unframed, compressed bodies; overlong request and header lines),
// slow and idle clients, and the process's memory while it refuses all of it. Runs alone:
//   ./build/tests/hostile_input_test
// Each test ends by checking that the server still answers a real AdmissionReview.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/state_file.h"
#include "tests/testlib/running_server.h"
#include "tests/testlib/testlib.h"
#include "tests/testlib/tls_client.h"
#include "webhook/server.h"
#include "webhook/tls.h"

namespace ambient_guard {
namespace {

using nlohmann::json;
using testing::HttpResponse;
using testing::RunningServer;
using testing::TlsClient;

constexpr size_t kLimit = 64 * 1024;  // --max-request-bytes of these servers

std::string example(const std::string& name) {
  auto text = readFileText(std::string(AG_SOURCE_DIR) + "/examples/admission/" + name);
  EXPECT_TRUE(text.ok()) << text.error();
  return text.ok() ? *text : std::string();
}

// Returns the resident set size of this process (the server runs in it), in KiB.
long rssKib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stol(line.substr(6));
    }
  }
  return 0;
}

std::string chunked(std::string_view body, size_t piece) {
  std::string out;
  for (size_t i = 0; i < body.size(); i += piece) {
    const size_t n = std::min(piece, body.size() - i);
    char size[32];
    std::snprintf(size, sizeof(size), "%zx\r\n", n);
    out.append(size).append(body.substr(i, n)).append("\r\n");
  }
  return out + "0\r\n\r\n";
}

std::string head(const std::string& request_line, const std::string& headers) {
  return request_line + "\r\nHost: ambient-guard.ambient-guard.svc\r\n" + headers + "\r\n";
}

class HostileInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    signal(SIGPIPE, SIG_IGN);  // the server closes connections the tests are still writing to
  }

  HostileInputTest() {
    auto ca = generateCa("hostile test CA", 1);
    ca_ = ca->cert;
    auto leaf = issueServingCert(*ca, {testing::kServiceDns}, {"127.0.0.1"}, 1);
    certs_ = std::make_unique<CertReloader>(*CertKey::fromPem(*leaf));
  }

  std::unique_ptr<RunningServer> start(ServerOptions options = {}) {
    options.max_request_bytes = kLimit;
    std::vector<AnyObject> objects;
    auto loaded = loadFile(std::string(AG_SOURCE_DIR) + "/examples/demo-backup.yaml", objects);
    EXPECT_TRUE(loaded.ok()) << loaded.error();
    return std::make_unique<RunningServer>(*certs_, Snapshot::build(std::move(objects)), Config{},
                                           options);
  }

  // Sends `raw` on a new connection and returns the response (nullopt: closed without one).
  std::optional<HttpResponse> exchange(int port, const std::string& raw) {
    TlsClient c(port, ca_);
    EXPECT_TRUE(c.connected()) << c.error();
    if (!c.send(raw)) {
      return std::nullopt;
    }
    return c.readResponse();
  }

  // The server still decides a real AdmissionReview.
  void expectStillServing(int port) {
    TlsClient c(port, ca_);
    auto r = c.request("POST", "/validate", example("deny-peerauthentication-disable.json"));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(json::parse(r->body)["response"]["allowed"], false);
  }

  std::string ca_;
  std::unique_ptr<CertReloader> certs_;
};

TEST_F(HostileInputTest, ContentLengthAboveTheLimitIs413BeforeAnyBodyIsRead) {
  auto s = start();
  // The body is never sent: the answer must not wait for it.
  auto r = exchange(s->port(), head("POST /validate HTTP/1.1",
                                    "Content-Type: application/json\r\n"
                                    "Content-Length: 107374182400\r\n"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->headers["connection"], "close");
  r = exchange(s->port(), head("POST /validate HTTP/1.1",
                               "Content-Type: application/json\r\n"
                               "Content-Length: 99999999999999999999999999999\r\n"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  expectStillServing(s->port());
}

TEST_F(HostileInputTest, ChunkedBodyIsCountedAsItArrivesAndRefusedPastTheLimit) {
  auto s = start();
  TlsClient c(s->port(), ca_);
  ASSERT_TRUE(c.send(head("POST /validate HTTP/1.1", "Content-Type: application/json\r\n"
                                                      "Transfer-Encoding: chunked\r\n")));
  // Twice the limit in 4 KiB chunks; the server stops reading after the limit, answers and
  // discards the rest without keeping it.
  const std::string piece(4096, 'x');
  for (size_t sent = 0; sent < 2 * kLimit; sent += piece.size()) {
    if (!c.send("1000\r\n" + piece + "\r\n")) {
      break;
    }
  }
  auto r = c.readResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  expectStillServing(s->port());
}

TEST_F(HostileInputTest, ChunkedBodyWithinTheLimitIsDecided) {
  auto s = start();
  const std::string body = example("deny-peerauthentication-disable.json");
  auto r = exchange(s->port(), head("POST /validate HTTP/1.1",
                                    "Content-Type: application/json\r\n"
                                    "Transfer-Encoding: chunked\r\n") +
                                   chunked(body, 100));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["response"]["allowed"], false);
}

TEST_F(HostileInputTest, FramingErrors) {
  auto s = start();
  const std::string body = example("deny-peerauthentication-disable.json");
  struct Case {
    std::string name;
    std::string raw;
    int status;
  };
  const std::vector<Case> cases = {
      {"POST without a length", head("POST /validate HTTP/1.1", "Content-Type: application/json\r\n"),
       411},
      {"gzip body", head("POST /validate HTTP/1.1", "Content-Type: application/json\r\n"
                                                     "Content-Encoding: gzip\r\n"
                                                     "Content-Length: 10\r\n") +
                        std::string(10, '\0'),
       415},
      {"brotli body", head("POST /mutate HTTP/1.1", "Content-Type: application/json\r\n"
                                                     "Content-Encoding: br\r\n"
                                                     "Content-Length: 4\r\n") +
                          "abcd",
       415},
      {"request line past 8 KiB", head("GET /" + std::string(9000, 'a') + " HTTP/1.1", ""), 414},
      {"header line past 8 KiB", head("GET /healthz HTTP/1.1", "X-A: " + std::string(9000, 'a') +
                                                                  "\r\n"),
       431},
      {"too many headers", [] {
         std::string h;
         for (int i = 0; i < 200; ++i) {
           h += "X-" + std::to_string(i) + ": 1\r\n";
         }
         return head("GET /healthz HTTP/1.1", h);
       }(),
       431},
      {"gzip transfer coding", head("POST /validate HTTP/1.1", "Transfer-Encoding: gzip, chunked\r\n"),
       501},
      {"chunked and a length", head("POST /validate HTTP/1.1", "Transfer-Encoding: chunked\r\n"
                                                                "Content-Length: 5\r\n"),
       400},
      {"two lengths", head("POST /validate HTTP/1.1", "Content-Length: 5\r\nContent-Length: 6\r\n"),
       400},
      {"malformed chunk size", head("POST /validate HTTP/1.1", "Transfer-Encoding: chunked\r\n") +
                                   "zz\r\nabc\r\n0\r\n\r\n",
       400},
      {"chunk size past the limit", head("POST /validate HTTP/1.1",
                                         "Transfer-Encoding: chunked\r\n") +
                                        "ffffffffffffffffffff\r\n",
       413},
      {"bare LF", "GET /healthz HTTP/1.1\nHost: x\n\n\r\n\r\n", 400},
      {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = exchange(s->port(), c.raw);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, c.status) << r->body;
  }
  // Identity encoding and Expect: 100-continue are fine.
  TlsClient c(s->port(), ca_);
  ASSERT_TRUE(c.send(head("POST /validate HTTP/1.1",
                          "Content-Type: application/json\r\nContent-Encoding: identity\r\n"
                          "Expect: 100-continue\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n")));
  auto cont = c.readResponse();
  ASSERT_TRUE(cont.has_value());
  EXPECT_EQ(cont->status, 100);
  ASSERT_TRUE(c.send(body));
  auto r = c.readResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  expectStillServing(s->port());
}

TEST_F(HostileInputTest, PipelinedRequestsAreAnsweredInOrder) {
  auto s = start();
  const std::string body = example("deny-peerauthentication-disable.json");
  TlsClient c(s->port(), ca_);
  ASSERT_TRUE(c.send(head("GET /healthz HTTP/1.1", "") +
                     head("POST /validate HTTP/1.1", "Content-Type: application/json\r\n"
                                                     "Content-Length: " +
                                                         std::to_string(body.size()) + "\r\n") +
                     body + head("GET /nothing-here HTTP/1.1", "")));
  for (int status : {200, 200, 404}) {
    auto r = c.readResponse();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, status);
  }
}

TEST_F(HostileInputTest, ARequestThatTricklesInHitsTheWholeRequestDeadline) {
  ServerOptions o;
  o.read_timeout = std::chrono::seconds(1);
  auto s = start(o);
  TlsClient c(s->port(), ca_);
  ASSERT_TRUE(c.send("POST /validate HTTP/1.1\r\n"));
  // One header byte every 100 ms until the server answers: each read is quick, so only a
  // deadline for the whole request ends it (100 ms is the pace of the drip, not a wait for the
  // server).
  while (!c.readable(100) && c.send("X")) {
  }
  auto r = c.readResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 408);
  expectStillServing(s->port());
}

TEST_F(HostileInputTest, HalfSentBodyIs408) {
  ServerOptions o;
  o.read_timeout = std::chrono::seconds(1);
  auto s = start(o);
  auto r = exchange(s->port(), head("POST /validate HTTP/1.1", "Content-Type: application/json\r\n"
                                                               "Content-Length: 100\r\n") +
                                   "{\"apiVersion\":");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 408);
}

// Returns a connected TCP socket to 127.0.0.1:port with a 60 s receive timeout (a safety net
// against a hang; the tests never wait that long when the server behaves).
int connectTcp(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  timeval tv{60, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

TEST_F(HostileInputTest, HandshakesThatNeverFinishAndSilentConnectionsAreClosed) {
  ServerOptions o;
  o.handshake_timeout = std::chrono::milliseconds(300);
  o.first_request_timeout = std::chrono::milliseconds(300);
  auto s = start(o);
  // A TLS record header, then nothing.
  const int fd = connectTcp(s->port());
  ASSERT_EQ(::send(fd, "\x16\x03\x01", 3, 0), 3);
  char c;
  EXPECT_EQ(::recv(fd, &c, 1, 0), 0) << "the server must close a handshake that stalls";
  ::close(fd);
  // A completed handshake and no request.
  TlsClient idle(s->port(), ca_);
  ASSERT_TRUE(idle.connected());
  EXPECT_TRUE(idle.closedByServer());
  expectStillServing(s->port());
}

TEST_F(HostileInputTest, MemoryStaysBoundedWhileRefusing) {
  auto s = start();
  expectStillServing(s->port());
  const long before = rssKib();
  // 40 connections, each announcing or streaming far more than the limit.
  const std::string piece(16384, 'x');
  for (int i = 0; i < 20; ++i) {
    TlsClient c(s->port(), ca_);
    ASSERT_TRUE(c.send(head("POST /validate HTTP/1.1", "Content-Type: application/json\r\n"
                                                        "Transfer-Encoding: chunked\r\n")));
    for (size_t sent = 0; sent < 2 * kLimit; sent += piece.size()) {
      if (!c.send("4000\r\n" + piece + "\r\n")) {
        break;
      }
    }
    auto r = c.readResponse();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 413);
    auto big = exchange(s->port(), head("POST /validate HTTP/1.1",
                                        "Content-Length: 1099511627776\r\n"));
    ASSERT_TRUE(big.has_value());
    EXPECT_EQ(big->status, 413);
  }
  expectStillServing(s->port());
  const long after = rssKib();
  std::cout << "RSS before " << before << " KiB, after " << after << " KiB\n";
  RecordProperty("rss_before_kib", std::to_string(before));
  RecordProperty("rss_after_kib", std::to_string(after));
  // 20 TiB announced and 2.5 MiB streamed past the limit: none of it may be held. Under
  // AddressSanitizer freed memory stays resident in its quarantine (256 MiB by default), so the
  // bound there only catches growth with what was sent.
#if defined(__SANITIZE_ADDRESS__)
  constexpr long kBoundKib = 128 * 1024;
#else
  constexpr long kBoundKib = 32 * 1024;
#endif
  EXPECT_LT(after - before, kBoundKib);
}

std::string review(const std::string& uid, const json& kind, const std::string& operation,
                   const json& object) {
  return json{{"apiVersion", "admission.k8s.io/v1"},
              {"kind", "AdmissionReview"},
              {"request",
               {{"uid", uid},
                {"kind", kind},
                {"name", "x"},
                {"namespace", "shop"},
                {"operation", operation},
                {"userInfo", {{"username", "mallory"}}},
                {"object", object},
                {"oldObject", nullptr},
                {"dryRun", false}}}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

TEST_F(HostileInputTest, OutOfRangeNumbersInAnObjectAreAnsweredNotA500) {
  auto s = start();
  // std::stol threw std::out_of_range out of the decoder for this port.
  const json policy = json::parse(R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",
    "metadata":{"name":"x","namespace":"shop"},
    "spec":{"podSelector":{},"ingress":[{"ports":[{"port":"99999999999999999999"}]}]}})");
  TlsClient c(s->port(), ca_);
  auto r = c.request("POST", "/validate",
                     review("u1", {{"group", "networking.k8s.io"}, {"version", "v1"},
                                   {"kind", "NetworkPolicy"}},
                            "CREATE", policy));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200) << r->body;
  const json response = json::parse(r->body)["response"];
  EXPECT_EQ(response["uid"], "u1");
  EXPECT_EQ(response["allowed"], true);  // not understood: said so, and failurePolicy not used
  EXPECT_NE(response["warnings"][0].get<std::string>().find("was not checked"), std::string::npos);
  expectStillServing(s->port());
}

TEST_F(HostileInputTest, MadeUpKindsAndOperationsCountAsOtherInMetrics) {
  auto s = start();
  TlsClient c(s->port(), ca_);
  const json object = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "x"}}}};
  for (int i = 0; i < 300; ++i) {
    const std::string kind = i % 3 == 0   ? "Kind" + std::to_string(i)
                             : i % 3 == 1 ? "NOT-UTF8-" + std::to_string(i)
                                          : "Namespace";
    std::string body = review("u" + std::to_string(i), {{"group", ""}, {"version", "v1"},
                                                        {"kind", kind}},
                              i % 3 == 2 ? "OP" + std::to_string(i) : "UPDATE", object);
    if (const size_t at = body.find("NOT-UTF8-"); at != std::string::npos) {
      body.replace(at, 9, "K\xff\xfe");  // raw bytes that are not UTF-8
    }
    auto r = c.request("POST", i % 2 == 0 ? "/validate" : "/mutate", body);
    ASSERT_TRUE(r.has_value());
  }
  const std::string page = s->metrics().render();
  EXPECT_EQ(page.find("Kind0"), std::string::npos);
  EXPECT_EQ(page.find("OP2"), std::string::npos);
  EXPECT_EQ(page.find("\xff"), std::string::npos);
  EXPECT_NE(page.find("kind=\"other\""), std::string::npos) << page;
  // A bounded number of series, whatever the requests said.
  size_t series = 0;
  for (size_t pos = 0; (pos = page.find("ambient_guard_admission_requests_total{", pos)) !=
                       std::string::npos;
       ++pos) {
    ++series;
  }
  EXPECT_LT(series, 20u) << page;
}

}  // namespace
}  // namespace ambient_guard
