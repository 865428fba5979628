// POST /validate and /mutate are answered by the server itself from the connection's framed
// request (webhook/direct_response.h), everything else by cpp-httplib. These tests pin the bytes
// on the wire to what cpp-httplib 0.11 wrote for the same requests before the direct path
// existed (status line, header order and spelling, Keep-Alive, Connection: close), and the
// connection handling around them: pipelining, Connection: close, HTTP/1.0, HEAD and GET.
#include <signal.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/state_file.h"
#include "tests/testlib/running_server.h"
#include "tests/testlib/testlib.h"
#include "tests/testlib/tls_client.h"
#include "webhook/direct_response.h"
#include "webhook/server.h"
#include "webhook/tls.h"

namespace ambient_guard {
namespace {

using testing::RunningServer;
using testing::TlsClient;

constexpr const char* kKeepAlive = "Keep-Alive: timeout=120, max=1073741824\r\n";

std::string example(const std::string& name) {
  auto text = readFileText(std::string(AG_SOURCE_DIR) + "/examples/admission/" + name);
  EXPECT_TRUE(text.ok()) << text.error();
  return text.ok() ? *text : std::string();
}

std::string post(const std::string& target, const std::string& body,
                 const std::string& extra = "", const std::string& version = "HTTP/1.1") {
  return "POST " + target + " " + version +
         "\r\nHost: ambient-guard.ambient-guard.svc\r\nContent-Type: application/json\r\n" +
         extra + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// What cpp-httplib 0.11 wrote for a 200 AdmissionReview: headers in its (case-insensitive
// alphabetical) map order.
std::string ok(const std::string& body, bool close = false) {
  return "HTTP/1.1 200 OK\r\n" + std::string(close ? "Connection: close\r\n" : "") +
         "Content-Length: " + std::to_string(body.size()) +
         "\r\nContent-Type: application/json; charset=utf-8\r\n" +
         std::string(close ? "" : kKeepAlive) + "\r\n" + body;
}

class DirectResponseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { signal(SIGPIPE, SIG_IGN); }

  DirectResponseTest() {
    auto ca = generateCa("direct response test CA", 1);
    ca_ = ca->cert;
    auto leaf = issueServingCert(*ca, {testing::kServiceDns}, {"127.0.0.1"}, 1);
    certs_ = std::make_unique<CertReloader>(*CertKey::fromPem(*leaf));
    std::vector<AnyObject> objects;
    auto loaded = loadFile(std::string(AG_SOURCE_DIR) + "/examples/demo-backup.yaml", objects);
    EXPECT_TRUE(loaded.ok()) << loaded.error();
    server_ = std::make_unique<RunningServer>(*certs_, Snapshot::build(std::move(objects)));
  }

  int port() const { return server_->port(); }
  std::string validated(const std::string& body) {
    return server_->pipeline().validate(body).body;
  }
  std::string mutated(const std::string& body) { return server_->pipeline().mutate(body).body; }

  std::string ca_;
  std::unique_ptr<CertReloader> certs_;
  std::unique_ptr<RunningServer> server_;
};

TEST_F(DirectResponseTest, AdmissionResponsesAreTheBytesCppHttplibWrote) {
  const std::string deny = example("deny-peerauthentication-disable.json");
  const std::string allow = example("allow-authorizationpolicy.json");
  const std::string ns = example("namespace-enroll.json");
  TlsClient c(port(), ca_);
  ASSERT_TRUE(c.connected()) << c.error();
  struct Case {
    std::string request;
    std::string response;
  };
  const Case cases[] = {
      {post("/validate", deny), ok(validated(deny))},
      {post("/validate?timeout=10s", allow), ok(validated(allow))},
      {post("/mutate?timeout=10s", ns), ok(mutated(ns))},
      {post("/validate", allow, "Expect: 100-continue\r\n"), ""},  // 100 first, see below
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.request.substr(0, k.request.find('\r')));
    ASSERT_TRUE(c.send(k.request));
    auto raw = c.readRawResponse();
    ASSERT_TRUE(raw.has_value());
    if (k.response.empty()) {
      EXPECT_EQ(*raw, "HTTP/1.1 100 Continue\r\n\r\n");
      raw = c.readRawResponse();
      ASSERT_TRUE(raw.has_value());
      EXPECT_EQ(*raw, ok(validated(allow)));
    } else {
      EXPECT_EQ(*raw, k.response);
    }
  }
}

TEST_F(DirectResponseTest, ChunkedBodiesAreAnsweredTheSame) {
  const std::string body = example("deny-peerauthentication-disable.json");
  TlsClient c(port(), ca_);
  const size_t half = body.size() / 2;
  char sizes[2][32];
  std::snprintf(sizes[0], sizeof(sizes[0]), "%zx\r\n", half);
  std::snprintf(sizes[1], sizeof(sizes[1]), "%zx\r\n", body.size() - half);
  ASSERT_TRUE(c.send("POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n" +
                     std::string(sizes[0]) + body.substr(0, half) + "\r\n" + sizes[1] +
                     body.substr(half) + "\r\n0\r\n\r\n"));
  auto raw = c.readRawResponse();
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(*raw, ok(validated(body)));
}

TEST_F(DirectResponseTest, PipelinedRequestsMixDirectAndCppHttplibAnswersInOrder) {
  const std::string deny = example("deny-peerauthentication-disable.json");
  const std::string allow = example("allow-authorizationpolicy.json");
  TlsClient c(port(), ca_);
  ASSERT_TRUE(c.send(post("/validate", deny) + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" +
                     post("/validate", allow) + post("/validate", deny)));
  const std::string healthz =
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain; charset=utf-8\r\n" +
      std::string(kKeepAlive) + "\r\nok\n";
  for (const std::string& want :
       {ok(validated(deny)), healthz, ok(validated(allow)), ok(validated(deny))}) {
    auto raw = c.readRawResponse();
    ASSERT_TRUE(raw.has_value());
    EXPECT_EQ(*raw, want);
  }
}

TEST_F(DirectResponseTest, ConnectionCloseAndHttp10) {
  const std::string body = example("allow-authorizationpolicy.json");
  {
    SCOPED_TRACE("Connection: close");
    TlsClient c(port(), ca_);
    ASSERT_TRUE(c.send(post("/validate", body, "Connection: close\r\n")));
    auto raw = c.readRawResponse();
    ASSERT_TRUE(raw.has_value());
    EXPECT_EQ(*raw, ok(validated(body), true));
    EXPECT_TRUE(c.closedByServer());
  }
  {
    // cpp-httplib's spelling: only the exact value "close" closes.
    SCOPED_TRACE("Connection: Close");
    TlsClient c(port(), ca_);
    ASSERT_TRUE(c.send(post("/validate", body, "Connection: Close\r\n")));
    auto raw = c.readRawResponse();
    ASSERT_TRUE(raw.has_value());
    EXPECT_EQ(*raw, ok(validated(body)));
    ASSERT_TRUE(c.send(post("/validate", body)));
    EXPECT_TRUE(c.readRawResponse().has_value());
  }
  {
    // HTTP/1.0 without Keep-Alive: cpp-httplib still sent its Keep-Alive header, then closed.
    SCOPED_TRACE("HTTP/1.0");
    TlsClient c(port(), ca_);
    ASSERT_TRUE(c.send(post("/validate", body, "", "HTTP/1.0")));
    auto raw = c.readRawResponse();
    ASSERT_TRUE(raw.has_value());
    EXPECT_EQ(*raw, ok(validated(body)));
    EXPECT_TRUE(c.closedByServer());
  }
  {
    SCOPED_TRACE("HTTP/1.0 with Connection: Keep-Alive");
    TlsClient c(port(), ca_);
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(c.send(post("/validate", body, "Connection: Keep-Alive\r\n", "HTTP/1.0")));
      auto raw = c.readRawResponse();
      ASSERT_TRUE(raw.has_value());
      EXPECT_EQ(*raw, ok(validated(body)));
    }
  }
}

TEST_F(DirectResponseTest, OtherMethodsAndErrorsAreAnsweredAsBefore) {
  const std::string text = "Content-Type: text/plain; charset=utf-8\r\n";
  const std::string not_allowed = "use POST with an AdmissionReview\n";
  struct Case {
    std::string request;
    std::string response;
    bool head = false;
  };
  const Case cases[] = {
      {"GET /validate HTTP/1.1\r\nHost: x\r\n\r\n",
       "HTTP/1.1 405 Method Not Allowed\r\nAllow: POST\r\nContent-Length: 33\r\n" + text +
           kKeepAlive + "\r\n" + not_allowed},
      {"HEAD /mutate HTTP/1.1\r\nHost: x\r\n\r\n",
       "HTTP/1.1 405 Method Not Allowed\r\nAccept-Ranges: bytes\r\nAllow: POST\r\n"
       "Content-Length: 33\r\n" +
           text + kKeepAlive + "\r\n",
       true},
      {"PUT /validate HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
       "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n" + text + kKeepAlive + "\r\nHTTP 404\n"},
      {post("/validate", "{}"),
       "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n" + text + kKeepAlive + "\r\n"},
      {"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
       "\r\n{}",
       "HTTP/1.1 415 Unsupported Media Type\r\nContent-Length: 38\r\n" + text + kKeepAlive +
           "\r\nContent-Type must be application/json\n"},
      {"POST /validate/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
       "Content-Length: 2\r\n\r\n{}",
       "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n" + text + kKeepAlive + "\r\nHTTP 404\n"},
  };
  TlsClient c(port(), ca_);
  for (const Case& k : cases) {
    SCOPED_TRACE(k.request.substr(0, k.request.find('\r')));
    ASSERT_TRUE(c.send(k.request));
    auto raw = c.readRawResponse(k.head);
    ASSERT_TRUE(raw.has_value());
    if (k.response.find("400 Bad Request") != std::string::npos) {
      // The body is the pipeline's reason; the head is what matters here.
      const std::string reason = server_->pipeline().validate("{}").body;
      EXPECT_EQ(*raw, "HTTP/1.1 400 Bad Request\r\nContent-Length: " +
                          std::to_string(reason.size()) + "\r\n" + text + kKeepAlive + "\r\n" +
                          reason);
    } else {
      EXPECT_EQ(*raw, k.response);
    }
  }
}

TEST_F(DirectResponseTest, CompressedErrorsStayCppHttplibs) {
  // A 400 is text/plain, which cpp-httplib gzips for a client that accepts it (the apiserver
  // does); the server hands such requests back to cpp-httplib.
  TlsClient c(port(), ca_);
  ASSERT_TRUE(c.send(post("/validate", "{}", "Accept-Encoding: gzip\r\n")));
  auto raw = c.readRawResponse();
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(raw->rfind("HTTP/1.1 400 Bad Request\r\nContent-Encoding: gzip\r\n", 0), 0u) << *raw;
  EXPECT_NE(raw->find("\r\n\r\n\x1f\x8b"), std::string::npos) << *raw;  // a gzip body
  // A 200 is application/json with a charset, which it never compressed.
  const std::string body = example("allow-authorizationpolicy.json");
  ASSERT_TRUE(c.send(post("/validate", body, "Accept-Encoding: gzip, br\r\n")));
  raw = c.readRawResponse();
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(*raw, ok(validated(body)));
}

TEST_F(DirectResponseTest, RequestsAreCountedAndTimed) {
  const std::string body = example("deny-peerauthentication-disable.json");
  TlsClient c(port(), ca_);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send(post("/validate", body)));
    ASSERT_TRUE(c.readRawResponse().has_value());
  }
  ASSERT_TRUE(c.send(post("/validate", "not json")));
  ASSERT_TRUE(c.readRawResponse().has_value());
  const std::string metrics = server_->metrics().render();
  EXPECT_NE(metrics.find("ambient_guard_admission_requests_total{decision=\"denied\","
                         "kind=\"PeerAuthentication\",operation=\"CREATE\","
                         "webhook=\"validate\"} 3"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("ambient_guard_admission_requests_total{decision=\"invalid\",kind=\"\","
                         "operation=\"\",webhook=\"validate\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("ambient_guard_admission_duration_seconds_count{webhook=\"validate\"} 4"),
            std::string::npos)
      << metrics;
}

TEST_F(DirectResponseTest, PercentEncodingIsLeftToCppHttplibAndAnsweredTheSame) {
  const std::string body = example("allow-authorizationpolicy.json");
  TlsClient c(port(), ca_);
  for (const std::string& request :
       {post("/%76alidate", body), post("/validate?a=%20", body),
        "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application%2Fjson\r\n"
        "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body}) {
    SCOPED_TRACE(request.substr(0, request.find("\r\nContent-Length")));
    ASSERT_TRUE(c.send(request));
    auto raw = c.readRawResponse();
    ASSERT_TRUE(raw.has_value());
    EXPECT_EQ(*raw, ok(validated(body)));
  }
}

RequestHead parsed(const std::string& head) {
  return parseRequestHead(head, HttpLimits{});
}

TEST(DirectRequest, TakesOnlyWhatCppHttplibAnsweredPredictably) {
  struct Case {
    std::string head;
    DirectRoute route;
  };
  const Case cases[] = {
      {"POST /validate HTTP/1.1\r\nContent-Length: 0\r\n\r\n", DirectRoute::kValidate},
      {"POST /mutate?timeout=10s HTTP/1.1\r\nContent-Length: 0\r\n\r\n", DirectRoute::kMutate},
      {"POST /validate/ HTTP/1.1\r\nContent-Length: 0\r\n\r\n", DirectRoute::kNone},
      {"POST /validate?a?b HTTP/1.1\r\nContent-Length: 0\r\n\r\n", DirectRoute::kNone},
      {"POST /%76alidate HTTP/1.1\r\nContent-Length: 0\r\n\r\n", DirectRoute::kNone},
      {"PUT /validate HTTP/1.1\r\nContent-Length: 0\r\n\r\n", DirectRoute::kNone},
      {"GET /validate HTTP/1.1\r\n\r\n", DirectRoute::kNone},
      {"HEAD /validate HTTP/1.1\r\n\r\n", DirectRoute::kNone},
      {"POST /validate HTTP/1.1\r\nRange: bytes=0-1\r\nContent-Length: 0\r\n\r\n",
       DirectRoute::kNone},
      {"POST /validate HTTP/1.1\r\nContent-Encoding: identity\r\nContent-Length: 0\r\n\r\n",
       DirectRoute::kNone},
      {"POST /validate HTTP/1.1\r\nX-Empty:\r\nContent-Length: 0\r\n\r\n", DirectRoute::kNone},
      {"POST /validate HTTP/1.1\r\nX-A: 50%\r\nContent-Length: 0\r\n\r\n", DirectRoute::kNone},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.head);
    const RequestHead head = parsed(k.head);
    ASSERT_EQ(head.refuse_status, 0) << head.reason;
    EXPECT_EQ(directRequest(head).route, k.route);
  }
}

TEST(DirectRequest, ReadsTheFirstValueOfEachHeaderLikeCppHttplib) {
  const RequestHead head = parsed(
      "POST /validate HTTP/1.0\r\ncontent-TYPE:  application/json \r\n"
      "Content-Type: text/plain\r\nCONNECTION: close\r\nConnection: Keep-Alive\r\n"
      "Accept-Encoding: identity\r\nContent-Length: 0\r\n\r\n");
  const DirectRequest r = directRequest(head);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_TRUE(r.connection_close);
  EXPECT_TRUE(r.close_after);
  EXPECT_FALSE(r.accepts_compression);
  const DirectRequest keep = directRequest(parsed(
      "POST /validate HTTP/1.0\r\nConnection: Keep-Alive\r\nAccept-Encoding: gzip;q=0\r\n"
      "Content-Length: 0\r\n\r\n"));
  EXPECT_FALSE(keep.connection_close);
  EXPECT_FALSE(keep.close_after);
  EXPECT_TRUE(keep.accepts_compression);  // a substring, as cpp-httplib 0.11 reads it
}

TEST(DirectResponse, WritesCppHttplibsHeaderOrder) {
  std::string out = "old contents";
  writeDirectResponse(out, 200, "application/json; charset=utf-8", "{}", false,
                      "timeout=5, max=7");
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json; "
            "charset=utf-8\r\nKeep-Alive: timeout=5, max=7\r\n\r\n{}");
  writeDirectResponse(out, 400, "text/plain; charset=utf-8", "bad\n", true, "timeout=5, max=7");
  EXPECT_EQ(out,
            "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 4\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nbad\n");
}

}  // namespace
}  // namespace ambient_guard
