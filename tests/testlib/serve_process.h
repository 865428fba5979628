// `ambient-guard serve` as a child process for end-to-end tests: started with the given flags
// (the binary prints its generated CA on stdout and "serving on https://HOST:PORT" on stderr),
// stopped with SIGTERM.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace ambient_guard::testing {

class ServeProcess {
 public:
  // Starts `ambient-guard serve ARGS` and returns once it listens (or died: port() is then 0).
  // Without --cert, the CA the server generated is read from its standard output.
  explicit ServeProcess(const std::vector<std::string>& args);
  ~ServeProcess();
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  int port() const { return port_; }
  const std::string& ca() const { return ca_; }
  // Everything read from stderr so far (the log).
  const std::string& log() const { return stderr_; }

  // Sends SIGTERM, reads the rest of the log and returns the exit status (128+signal when the
  // process was killed by a signal). Idempotent.
  int terminate();

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int err_ = -1;
  int port_ = 0;
  int status_ = -1;
  std::string ca_;
  std::string stdout_;
  std::string stderr_;
};

}  // namespace ambient_guard::testing
