// `ambient-guard serve` as a real process under 1,100 concurrent idle connections: admission and
// /healthz are still answered, whether the connections fit under --max-connections (the server
// then holds descriptors far above FD_SETSIZE, which a select(2) loop could not wait on) or not
// (idle connections are closed to make room, those that never sent a request first).
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <regex>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/state_file.h"
#include "tests/testlib/serve_process.h"
#include "tests/testlib/tls_client.h"

namespace ambient_guard {
namespace {

using testing::ServeProcess;
using testing::TlsClient;

constexpr int kIdle = 1100;

std::string example(const std::string& name) {
  auto text = readFileText(std::string(AG_SOURCE_DIR) + "/examples/admission/" + name);
  EXPECT_TRUE(text.ok()) << text.error();
  return text.ok() ? *text : std::string();
}

int connectTcp(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  return fd;
}

// Returns the value of an unlabelled metric in a /metrics page (-1 when absent).
double metric(const std::string& page, const std::string& name) {
  std::smatch m;
  if (std::regex_search(page, m, std::regex("\n" + name + " ([0-9.e+]+)"))) {
    return std::stod(m[1]);
  }
  return -1;
}

class ConnectionLimitsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    signal(SIGPIPE, SIG_IGN);
    // 1,100 connections here and as many in the server: more than the usual soft limit.
    rlimit lim{};
    getrlimit(RLIMIT_NOFILE, &lim);
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }

  // Answers /healthz and a real AdmissionReview on new connections, and prints how long it took.
  void expectAnswered(const ServeProcess& serve, const std::string& what) {
    const auto start = std::chrono::steady_clock::now();
    TlsClient probe(serve.port(), serve.ca());
    ASSERT_TRUE(probe.connected()) << probe.error();
    auto health = probe.request("GET", "/healthz");
    ASSERT_TRUE(health.has_value());
    EXPECT_EQ(health->status, 200);
    TlsClient admission(serve.port(), serve.ca());
    ASSERT_TRUE(admission.connected()) << admission.error();
    auto r = admission.request("POST", "/validate", example("deny-peerauthentication-disable.json"));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(nlohmann::json::parse(r->body)["response"]["allowed"].is_boolean()) << r->body;
    const double ms = std::chrono::duration<double, std::milli>(
                          std::chrono::steady_clock::now() - start)
                          .count();
    std::cout << what << ": /healthz and /validate answered in " << ms << " ms\n";
    RecordProperty("answered_ms", std::to_string(ms));
  }
};

TEST_F(ConnectionLimitsTest, IdleConnectionsAboveFdSetsizeAreServedAlongsideAdmission) {
  ServeProcess serve({"--listen", "127.0.0.1:0", "--max-connections", "2048"});
  ASSERT_GT(serve.port(), 0) << serve.log();
  // Kept-alive connections, as the API server leaves them: one request each, then idle (a
  // connection that never sends a request is closed after 10 s). Each answer proves the server
  // accepted the connection and holds it.
  std::vector<std::unique_ptr<TlsClient>> idle;
  for (int i = 0; i < kIdle; ++i) {
    idle.push_back(std::make_unique<TlsClient>(serve.port(), serve.ca()));
    ASSERT_TRUE(idle.back()->connected()) << i << ": " << idle.back()->error();
    auto r = idle.back()->request("GET", "/healthz");
    ASSERT_TRUE(r.has_value()) << i;
  }
  expectAnswered(serve, std::to_string(kIdle) + " idle TLS connections");
  TlsClient scrape(serve.port(), serve.ca());
  auto page = scrape.request("GET", "/metrics");
  ASSERT_TRUE(page.has_value());
  // The server's own descriptors for them: beyond what select(2) can watch.
  EXPECT_GT(metric(page->body, "process_open_fds"), kIdle);
  EXPECT_GT(metric(page->body, "process_open_fds"), FD_SETSIZE);
  EXPECT_EQ(serve.terminate(), 0) << serve.log();
}

TEST_F(ConnectionLimitsTest, IdleConnectionsPastTheCapMakeRoomForNewOnes) {
  ServeProcess serve({"--listen", "127.0.0.1:0", "--max-connections", "64"});
  ASSERT_GT(serve.port(), 0) << serve.log();
  // Connections that never even start a handshake: each holds a worker until it is closed.
  std::vector<int> fds;
  for (int i = 0; i < kIdle; ++i) {
    fds.push_back(connectTcp(serve.port()));
  }
  expectAnswered(serve, std::to_string(kIdle) + " silent TCP connections, 64 workers");
  TlsClient scrape(serve.port(), serve.ca());
  auto page = scrape.request("GET", "/metrics");
  ASSERT_TRUE(page.has_value());
  EXPECT_GT(metric(page->body, "ambient_guard_connections_evicted_total"), 0);
  for (int fd : fds) {
    ::close(fd);
  }
  EXPECT_EQ(serve.terminate(), 0) << serve.log();
}

}  // namespace
}  // namespace ambient_guard
