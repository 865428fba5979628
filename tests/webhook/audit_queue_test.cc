// Audit writes never block admission: the audit log is a FIFO that nobody reads, so its writer
// thread blocks for good after the pipe's 64 KiB; every admission request is still answered,
// and the entries that did not fit the queue are counted as lost.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <regex>

#include <gtest/gtest.h>

#include "model/state_file.h"
#include "tests/testlib/running_server.h"
#include "tests/testlib/testlib.h"
#include "tests/testlib/tls_client.h"

namespace ambient_guard {
namespace {

using testing::RunningServer;
using testing::TlsClient;

double counter(const std::string& page, const std::string& name) {
  std::smatch m;
  if (std::regex_search(page, m, std::regex("\n" + name + " ([0-9.e+]+)"))) {
    return std::stod(m[1]);
  }
  return -1;
}

TEST(AuditQueue, AStuckAuditOutputNeitherBlocksNorFailsAdmission) {
  signal(SIGPIPE, SIG_IGN);
  const std::string fifo = testing::tempDir() + "/audit.log";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  // A reader that never reads: opening for writing succeeds, writes stop after 64 KiB.
  const int reader = open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);

  auto ca = generateCa("audit queue test CA", 1);
  auto leaf = issueServingCert(*ca, {testing::kServiceDns}, {"127.0.0.1"}, 1);
  CertReloader certs(*CertKey::fromPem(*leaf));
  AuditLogOptions audit;
  audit.path = fifo;
  audit.queue_entries = 16;
  auto s = std::make_unique<RunningServer>(certs, Snapshot::empty(), Config{}, ServerOptions{},
                                           audit);
  auto body = readFileText(std::string(AG_SOURCE_DIR) + "/examples/admission/namespace-enroll.json");
  ASSERT_TRUE(body.ok());

  TlsClient client(s->port(), ca->cert);
  constexpr int kRequests = 400;  // ~400 audit lines: several times the pipe plus the queue
  for (int i = 0; i < kRequests; ++i) {
    auto r = client.request("POST", "/validate", *body);
    ASSERT_TRUE(r.has_value()) << i;
    ASSERT_EQ(r->status, 200) << i;
  }
  const std::string page = s->metrics().render();
  const double written = counter(page, "ambient_guard_audit_entries_total");
  const double lost = counter(page, "ambient_guard_audit_write_errors_total");
  std::cout << "audit entries written " << written << ", lost " << lost << " of " << kRequests
            << "\n";
  EXPECT_GT(lost, 0);
  EXPECT_LE(written + lost, kRequests);

  // Unblock the writer (EPIPE from now on) so that the server can stop.
  close(reader);
  s.reset();
}

}  // namespace
}  // namespace ambient_guard
