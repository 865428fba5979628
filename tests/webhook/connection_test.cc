// Where connections wait between requests (webhook/connection.h): idle keep-alive connections
// are parked in a few loop threads instead of holding a worker each, keep their deadlines, are
// served there or handed back to a worker, and end cleanly when the server drains. Real TLS
// sockets on 127.0.0.1; the server runs in this process, so its threads are this process's.
#include "webhook/connection.h"

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

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
using testing::RunningServer;
using testing::TlsClient;
using Clock = std::chrono::steady_clock;

std::string example(const std::string& name) {
  auto text = readFileText(std::string(AG_SOURCE_DIR) + "/examples/admission/" + name);
  EXPECT_TRUE(text.ok()) << text.error();
  return text.ok() ? *text : std::string();
}

// Returns the number of threads of this process.
size_t threadCount() {
  size_t n = 0;
  DIR* dir = ::opendir("/proc/self/task");
  while (dirent* e = dir != nullptr ? ::readdir(dir) : nullptr) {
    n += e->d_name[0] != '.' ? 1 : 0;
  }
  if (dir != nullptr) {
    ::closedir(dir);
  }
  return n;
}

std::string post(const std::string& path, const std::string& body) {
  return "POST " + path +
         " HTTP/1.1\r\nHost: ambient-guard.ambient-guard.svc\r\nContent-Type: application/json\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

class ConnectionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { signal(SIGPIPE, SIG_IGN); }

  ConnectionTest() {
    auto ca = generateCa("connection test CA", 1);
    ca_ = ca->cert;
    auto leaf = issueServingCert(*ca, {testing::kServiceDns}, {"127.0.0.1"}, 1);
    certs_ = std::make_unique<CertReloader>(*CertKey::fromPem(*leaf));
  }

  std::unique_ptr<RunningServer> start(ServerOptions options = {}) {
    std::vector<AnyObject> objects;
    auto loaded = loadFile(std::string(AG_SOURCE_DIR) + "/examples/demo-backup.yaml", objects);
    EXPECT_TRUE(loaded.ok()) << loaded.error();
    return std::make_unique<RunningServer>(*certs_, Snapshot::build(std::move(objects)), Config{},
                                           options);
  }

  // Expects a review of `name` answered on `c` with `allowed`.
  void expectDecided(TlsClient& c, const std::string& name, bool allowed) {
    auto r = c.request("POST", "/validate", example(name));
    ASSERT_TRUE(r.has_value()) << name;
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(json::parse(r->body)["response"]["allowed"], allowed) << name;
  }

  std::string ca_;
  std::unique_ptr<CertReloader> certs_;
};

TEST_F(ConnectionTest, IdleKeepAliveConnectionsHoldNoWorker) {
  constexpr int kConnections = 200;
  ServerOptions o;
  o.max_connections = 1000;
  auto s = start(o);
  std::vector<std::unique_ptr<TlsClient>> clients;
  clients.push_back(std::make_unique<TlsClient>(s->port(), ca_));
  ASSERT_TRUE(clients.back()->request("GET", "/healthz"));  // a worker exists
  const size_t before = threadCount();
  for (int i = 1; i < kConnections; ++i) {
    clients.push_back(std::make_unique<TlsClient>(s->port(), ca_));
    ASSERT_TRUE(clients.back()->connected()) << clients.back()->error();
    auto r = clients.back()->request("GET", "/healthz");
    ASSERT_TRUE(r.has_value()) << i;
    EXPECT_EQ(r->status, 200);
  }
  // Thread per connection would add 199; a few workers may have started for overlapping
  // handshakes.
  const size_t idle = threadCount();
  EXPECT_LT(idle, before + 10) << before << " threads before, " << idle << " with "
                               << kConnections << " idle connections";
  // Every parked connection is still served (by the loops: reviews are answered there).
  for (auto& c : clients) {
    expectDecided(*c, "deny-peerauthentication-disable.json", false);
  }
  EXPECT_LT(threadCount(), before + 10);
}

TEST_F(ConnectionTest, MaxConnectionsCountsParkedConnections) {
  ServerOptions o;
  o.max_connections = 4;
  auto s = start(o);
  std::vector<std::unique_ptr<TlsClient>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<TlsClient>(s->port(), ca_));
    expectDecided(*clients.back(), "allow-authorizationpolicy.json", true);
  }
  // Every worker is free, but a fifth open connection is one too many: the longest idle goes.
  TlsClient fifth(s->port(), ca_);
  ASSERT_TRUE(fifth.connected()) << fifth.error();
  expectDecided(fifth, "deny-peerauthentication-disable.json", false);
  ASSERT_TRUE(clients[0]->readable(5000)) << "the longest idle connection is still open";
  EXPECT_TRUE(clients[0]->closedByServer());
  for (size_t i = 1; i < clients.size(); ++i) {
    expectDecided(*clients[i], "allow-authorizationpolicy.json", true);
  }
  auto page = fifth.request("GET", "/metrics", "", "");
  ASSERT_TRUE(page.has_value());
  EXPECT_NE(page->body.find("ambient_guard_connections_evicted_total 1\n"), std::string::npos);
}

TEST_F(ConnectionTest, KeepAliveMaxRequestsStillCounts) {
  ServerOptions o;
  o.keep_alive_max_requests = 3;
  auto s = start(o);
  TlsClient c(s->port(), ca_);
  ASSERT_TRUE(c.connected()) << c.error();
  for (int i = 0; i < 3; ++i) {
    expectDecided(c, "allow-authorizationpolicy.json", true);
  }
  EXPECT_TRUE(c.closedByServer());
}

TEST_F(ConnectionTest, ParkedConnectionsKeepTheirIdleDeadlines) {
  ServerOptions o;
  o.keep_alive_timeout = std::chrono::seconds(1);
  o.first_request_timeout = std::chrono::milliseconds(300);
  auto s = start(o);

  TlsClient silent(s->port(), ca_);  // never sends a request
  ASSERT_TRUE(silent.connected()) << silent.error();
  auto begin = Clock::now();
  EXPECT_TRUE(silent.closedByServer());
  EXPECT_GE(secondsSince(begin), 0.2);
  EXPECT_LT(secondsSince(begin), 3.0);

  TlsClient kept(s->port(), ca_);
  ASSERT_TRUE(kept.connected()) << kept.error();
  expectDecided(kept, "allow-authorizationpolicy.json", true);
  begin = Clock::now();
  // Past the first-request timeout, the connection is still there: it has served a request.
  EXPECT_FALSE(kept.readable(600));
  expectDecided(kept, "deny-peerauthentication-disable.json", false);
  begin = Clock::now();
  EXPECT_TRUE(kept.closedByServer());
  EXPECT_GE(secondsSince(begin), 0.9);
  EXPECT_LT(secondsSince(begin), 4.0);
}

TEST_F(ConnectionTest, ABodyInTwoWritesIsAnsweredByAWorker) {
  auto s = start();
  TlsClient c(s->port(), ca_);
  ASSERT_TRUE(c.connected()) << c.error();
  expectDecided(c, "allow-authorizationpolicy.json", true);  // now parked
  const std::string request = post("/validate", example("deny-peerauthentication-disable.json"));
  ASSERT_TRUE(c.send(request.substr(0, request.size() / 2)));
  // The pace of a slow client, not a wait for the server: the loop has read the first half.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(c.send(request.substr(request.size() / 2)));
  auto r = c.readResponse();
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["response"]["allowed"], false);
  expectDecided(c, "allow-authorizationpolicy.json", true);  // and kept alive
}

TEST_F(ConnectionTest, ABigReviewIsAnsweredByAWorker) {
  auto s = start();
  TlsClient c(s->port(), ca_);
  ASSERT_TRUE(c.connected()) << c.error();
  expectDecided(c, "allow-authorizationpolicy.json", true);  // now parked
  json review = json::parse(example("allow-authorizationpolicy.json"));
  review["request"]["object"]["metadata"]["annotations"]["example.com/big"] =
      std::string(400 * 1024, 'x');  // past what a loop decides itself
  auto r = c.request("POST", "/validate", review.dump());
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["response"]["allowed"], true) << r->body;
  expectDecided(c, "deny-peerauthentication-disable.json", false);  // and kept alive
}

TEST_F(ConnectionTest, PipelinedReviewsAreAnsweredInOrder) {
  auto s = start();
  TlsClient c(s->port(), ca_);
  ASSERT_TRUE(c.connected()) << c.error();
  expectDecided(c, "allow-authorizationpolicy.json", true);  // now parked
  ASSERT_TRUE(c.send(post("/validate", example("deny-peerauthentication-disable.json")) +
                     post("/validate", example("allow-authorizationpolicy.json")) +
                     "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" +
                     post("/validate", example("deny-peerauthentication-disable.json"))));
  for (const int allowed : {0, 1, -1, 0}) {
    auto r = c.readResponse();
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->status, 200) << r->body;
    if (allowed < 0) {
      EXPECT_EQ(r->body, "ok\n");
    } else {
      EXPECT_EQ(json::parse(r->body)["response"]["allowed"], allowed == 1) << r->body;
    }
  }
}

TEST_F(ConnectionTest, DrainingClosesParkedConnectionsAndAnswersOneMidRequest) {
  auto s = start();
  TlsClient parked(s->port(), ca_);
  ASSERT_TRUE(parked.connected()) << parked.error();
  expectDecided(parked, "allow-authorizationpolicy.json", true);
  TlsClient fresh(s->port(), ca_);  // parked before its first request
  ASSERT_TRUE(fresh.connected()) << fresh.error();
  TlsClient busy(s->port(), ca_);
  ASSERT_TRUE(busy.connected()) << busy.error();
  expectDecided(busy, "allow-authorizationpolicy.json", true);
  const std::string request = post("/validate", example("deny-peerauthentication-disable.json"));
  ASSERT_TRUE(busy.send(request.substr(0, request.size() - 10)));

  std::thread stopper([&] { s->stop(); });  // returns once every connection is closed
  EXPECT_TRUE(parked.closedByServer());
  EXPECT_TRUE(fresh.closedByServer());
  EXPECT_TRUE(busy.send(request.substr(request.size() - 10)));
  auto r = busy.readResponse();
  EXPECT_TRUE(r.has_value()) << "the request in flight was dropped";
  if (r.has_value()) {
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->headers["connection"], "close");
    EXPECT_EQ(json::parse(r->body)["response"]["allowed"], false);
    EXPECT_TRUE(busy.closedByServer());
  }
  ::shutdown(busy.fd(), SHUT_RDWR);  // so that a failed expectation above still lets the drain end
  stopper.join();
}

TEST_F(ConnectionTest, AClientThatNeverReadsDoesNotStallOthers) {
  ServerOptions o;
  o.write_timeout = std::chrono::seconds(30);  // what a blocked loop would stall the others for
  auto s = start(o);
  // Connections parked in every loop (a connection's loop follows its descriptor).
  std::vector<std::unique_ptr<TlsClient>> others;
  for (int i = 0; i < 16; ++i) {
    others.push_back(std::make_unique<TlsClient>(s->port(), ca_));
    expectDecided(*others.back(), "allow-authorizationpolicy.json", true);
  }
  TlsClient hog(s->port(), ca_);
  ASSERT_TRUE(hog.connected()) << hog.error();
  expectDecided(hog, "allow-authorizationpolicy.json", true);
  // Reviews without reading a response, until the client cannot send more: the server has
  // stopped reading because it cannot write. One at a time, 200 µs apart (a pace, not a
  // wait for the server), so that the loop serves them itself until a response does not fit;
  // a small receive buffer makes that soon, and no Nagle keeps them apart.
  ASSERT_EQ(::fcntl(hog.fd(), F_SETFL, ::fcntl(hog.fd(), F_GETFL) | O_NONBLOCK), 0);
  const int rcvbuf = 4096;
  const int one = 1;
  ::setsockopt(hog.fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  ::setsockopt(hog.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  const std::string request = post("/validate", example("deny-peerauthentication-disable.json"));
  size_t batches = 0;
  const auto begin = Clock::now();
  while (hog.send(request) && secondsSince(begin) < 30) {
    ++batches;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  EXPECT_LT(secondsSince(begin), 30);
  ASSERT_GT(batches, 0u);
  for (auto& c : others) {
    const auto asked = Clock::now();
    ASSERT_TRUE(c->send(post("/validate", example("deny-peerauthentication-disable.json"))));
    ASSERT_TRUE(c->readable(5000)) << "a review waited behind a client that does not read";
    auto r = c->readResponse();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_LT(secondsSince(asked), 2.0);
  }
}

}  // namespace
}  // namespace ambient_guard
