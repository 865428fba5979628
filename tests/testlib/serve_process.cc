#include "tests/testlib/serve_process.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include <gtest/gtest.h>

namespace ambient_guard::testing {
namespace {

// Appends what one read returns; false at EOF or error.
bool readMore(int fd, std::string& acc) {
  char buf[4096];
  const ssize_t n = read(fd, buf, sizeof buf);
  if (n <= 0) {
    return false;
  }
  acc.append(buf, static_cast<size_t>(n));
  return true;
}

// Reads from fd into `acc` until `marker` appears in what was read since the last call (or EOF).
void readUntil(int fd, const std::string& marker, std::string& acc) {
  const size_t from = acc.size() >= marker.size() ? acc.size() - marker.size() : 0;
  while (acc.find(marker, from) == std::string::npos && readMore(fd, acc)) {
  }
}

}  // namespace

ServeProcess::ServeProcess(const std::vector<std::string>& args) {
  int out[2];
  int err[2];
  if (pipe(out) != 0 || pipe(err) != 0) {
    ADD_FAILURE() << "pipe failed";
    return;
  }
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive a test that dies
    dup2(out[1], 1);
    dup2(err[1], 2);
    for (int fd : {out[0], out[1], err[0], err[1]}) {
      close(fd);
    }
    std::vector<std::string> copy = {AG_BINARY, "serve"};
    copy.insert(copy.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : copy) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  out_ = out[0];
  err_ = err[0];
  bool has_cert = false;
  for (const auto& a : args) {
    has_cert = has_cert || a == "--cert";
  }
  // The CA bundle comes first on stdout; the bound port is announced once listening. Blocking
  // reads until then: no sleeps, and EOF (the process died) ends the wait.
  if (!has_cert) {
    readUntil(out_, "-----END CERTIFICATE-----\n", stdout_);
    ca_ = stdout_;
  }
  const std::string marker = "serving on https://";
  readUntil(err_, marker, stderr_);
  const size_t at = stderr_.find(marker);
  if (at != std::string::npos) {
    // The log line ends with a newline; the port follows the last ':' before it.
    while (stderr_.find('\n', at) == std::string::npos && readMore(err_, stderr_)) {
    }
    const size_t eol = stderr_.find('\n', at);
    const std::string url = stderr_.substr(at + marker.size(), eol - at - marker.size());
    const size_t colon = url.rfind(':');
    if (colon != std::string::npos) {
      port_ = std::atoi(url.c_str() + colon + 1);
    }
  }
}

int ServeProcess::terminate() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    while (readMore(err_, stderr_)) {
    }
    int status = 0;
    waitpid(pid_, &status, 0);
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pid_ = -1;
  }
  return status_;
}

ServeProcess::~ServeProcess() {
  terminate();
  for (int fd : {out_, err_}) {
    if (fd >= 0) {
      close(fd);
    }
  }
}

}  // namespace ambient_guard::testing
