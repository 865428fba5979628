#include "tests/testlib/running_server.h"

#include <gtest/gtest.h>

#include "rules/rule.h"
#include "webhook/enforcement.h"

namespace ambient_guard::testing {
namespace {

ServerOptions loopback(ServerOptions o) {
  o.host = "127.0.0.1";
  o.port = 0;
  return o;
}

}  // namespace

RunningServer::RunningServer(CertReloader& certs, std::shared_ptr<const Snapshot> state,
                             Config config, ServerOptions options,
                             std::optional<AuditLogOptions> audit)
    : store_(std::move(state)),
      reviewer_(rules::makeDefaultRules(), rules::MeshSettings{}),
      enforcer_(std::move(config), ruleDefaults(reviewer_.rules())),
      pipeline_(reviewer_, enforcer_, store_, &metrics_),
      server_(loopback(std::move(options)), certs, pipeline_, metrics_, store_) {
  if (audit) {
    audit_ = std::make_unique<AuditLog>(std::move(*audit), &metrics_);
    pipeline_.setAuditLog(audit_.get());
  }
  auto bound = server_.bind();
  EXPECT_TRUE(bound.ok()) << bound.error();
  port_ = bound.ok() ? *bound : 0;
  thread_ = std::thread([this] { server_.serve(); });
}

RunningServer::~RunningServer() { stop(); }

void RunningServer::stop() {
  server_.shutdown();
  if (thread_.joinable()) {
    thread_.join();
  }
}

}  // namespace ambient_guard::testing
