// Helpers shared by the tests: building states from inline YAML, running the CLI as a process.
#pragma once

#include <openssl/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/cluster_state.h"
#include "model/objects.h"
#include "webhook/config.h"

namespace ambient_guard::testing {

// Polls `pred` every 2 ms until it holds or `limit` passes; returns whether it held. Waiting for a
// state change, not a timed assertion: the limit only turns a hang into a failure.
bool eventually(const std::function<bool()>& pred,
                std::chrono::seconds limit = std::chrono::seconds(30));

// Returns the objects decoded from YAML text; fails the current test on a load error.
std::vector<AnyObject> objectsFromYaml(const std::string& yaml);
// Returns a snapshot of the objects in the YAML text.
std::shared_ptr<const Snapshot> stateFromYaml(const std::string& yaml);
// Returns the single object in the YAML text.
AnyObject objectFromYaml(const std::string& yaml);

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// Runs the ambient-guard binary with args (no shell), feeding `stdin_text`.
ProcessResult runCli(const std::vector<std::string>& args, const std::string& stdin_text = "");
// Runs argv[0] (searched on PATH when it has no slash) with argv (no shell), feeding
// `stdin_text`. exit_code is 127 when the program cannot be started.
ProcessResult runProcess(const std::vector<std::string>& argv, const std::string& stdin_text = "");

// Returns the enforcement configuration in `yaml` for the default rules; fails the test on an
// error.
Config configFromYaml(const std::string& yaml);

// Returns the caller-owned OpenSSL certificate store of every certificate in `pem` (for
// httplib::SSLClient::set_ca_cert_store, which takes ownership).
X509_STORE* caStore(const std::string& pem);

// Returns a fresh temporary directory, removed at process exit.
std::string tempDir();
// Writes text to dir/name and returns the path.
std::string writeFile(const std::string& dir, const std::string& name, const std::string& text);

}  // namespace ambient_guard::testing
