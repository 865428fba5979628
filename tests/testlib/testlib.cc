#include "tests/testlib/testlib.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "model/state_file.h"
#include "rules/rule.h"

namespace ambient_guard::testing {

bool eventually(const std::function<bool()>& pred, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

std::vector<AnyObject> objectsFromYaml(const std::string& yaml) {
  std::vector<AnyObject> out;
  auto loaded = loadText(yaml, "<test>", out);
  EXPECT_TRUE(loaded.ok()) << (loaded.ok() ? "" : loaded.error());
  return out;
}

std::shared_ptr<const Snapshot> stateFromYaml(const std::string& yaml) {
  return Snapshot::build(objectsFromYaml(yaml));
}

AnyObject objectFromYaml(const std::string& yaml) {
  auto objs = objectsFromYaml(yaml);
  EXPECT_EQ(objs.size(), 1u);
  if (objs.empty()) {
    return Namespace{};
  }
  return objs.front();
}

ProcessResult runCli(const std::vector<std::string>& args, const std::string& stdin_text) {
  std::vector<std::string> argv = {AG_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return runProcess(argv, stdin_text);
}

ProcessResult runProcess(const std::vector<std::string>& argv_in, const std::string& stdin_text) {
  ProcessResult result;
  if (argv_in.empty()) {
    ADD_FAILURE() << "runProcess: empty argv";
    return result;
  }
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe(in_pipe) != 0 || pipe(out_pipe) != 0 || pipe(err_pipe) != 0) {
    ADD_FAILURE() << "pipe failed";
    return result;
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) {
      close(fd);
    }
    std::vector<char*> argv;
    std::vector<std::string> copy = argv_in;
    for (auto& a : copy) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  // Feed stdin and drain both outputs without deadlocking on full pipes.
  size_t written = 0;
  if (stdin_text.empty()) {
    close(in_pipe[1]);
    in_pipe[1] = -1;
  } else {
    fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
  }
  bool out_open = true, err_open = true;
  char buf[65536];
  while (out_open || err_open) {
    pollfd fds[3] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}, {in_pipe[1], POLLOUT, 0}};
    int nfds = in_pipe[1] >= 0 ? 3 : 2;
    if (poll(fds, nfds, 60000) <= 0) {
      ADD_FAILURE() << argv_in[0] << " timed out";
      kill(pid, SIGKILL);
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents & (POLLIN | POLLHUP)) {
        ssize_t n = read(fds[i].fd, buf, sizeof(buf));
        if (n <= 0) {
          (i == 0 ? out_open : err_open) = false;
        } else {
          (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(n));
        }
      }
    }
    if (nfds == 3 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = write(in_pipe[1], stdin_text.data() + written, stdin_text.size() - written);
      if (n > 0) {
        written += static_cast<size_t>(n);
      }
      if (n < 0 || written == stdin_text.size()) {
        close(in_pipe[1]);
        in_pipe[1] = -1;
      }
    }
  }
  if (in_pipe[1] >= 0) {
    close(in_pipe[1]);
  }
  close(out_pipe[0]);
  close(err_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string tempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "ag-test-XXXXXX").string();
  char* dir = mkdtemp(tmpl.data());
  if (dir == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
    return "/tmp";
  }
  static std::vector<std::string>* dirs = [] {
    auto* v = new std::vector<std::string>();
    std::atexit([] {
      std::error_code ec;
      for (const auto& d : *dirs) {
        std::filesystem::remove_all(d, ec);
      }
    });
    return v;
  }();
  dirs->push_back(dir);
  return dir;
}

std::string writeFile(const std::string& dir, const std::string& name, const std::string& text) {
  std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

Config configFromYaml(const std::string& yaml) {
  std::vector<std::string> ids;
  for (const auto& r : rules::makeDefaultRules()) {
    ids.emplace_back(r->id());
  }
  auto cfg = parseConfig(yaml, "config.yaml", ids);
  EXPECT_TRUE(cfg.ok()) << cfg.error();
  return cfg.ok() ? *cfg : Config{};
}

X509_STORE* caStore(const std::string& pem) {
  X509_STORE* store = X509_STORE_new();
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store, x);
    X509_free(x);
  }
  BIO_free(bio);
  return store;
}

}  // namespace ambient_guard::testing
