#include "audit/audit_log.h"

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace ambient_guard {
namespace {

// The first error the audit logger reported during the current write on this thread. spdlog
// calls the error handler synchronously on the writing thread, so a thread-local pointer ties
// the handler to the entry being written without a lock.
thread_local std::string* t_write_error = nullptr;

}  // namespace

AuditLog::AuditLog(AuditLogOptions options, AuditCounters* counters)
    : options_(std::move(options)), counters_(counters) {
  logger_ = open();
  if (logger_ == nullptr) {
    // Serve anyway: admission matters more than its record. Counted once here, then once per
    // entry lost until a later attempt opens the file.
    next_open_ = std::chrono::steady_clock::now() + options_.retry_interval;
    failed("cannot open: " + open_error_);
  }
}

AuditLog::~AuditLog() = default;

bool AuditLog::isOpen() const {
  std::lock_guard<std::mutex> lock(mu_);
  return logger_ != nullptr;
}

std::shared_ptr<spdlog::logger> AuditLog::open() {
  spdlog::sink_ptr sink;
  try {
    if (options_.path == "-") {
      sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    } else {
      sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
          options_.path, options_.max_size_bytes, options_.max_files);
    }
  } catch (const std::exception& e) {  // spdlog_ex: cannot open or create the file
    std::lock_guard<std::mutex> lock(mu_);
    open_error_ = e.what();
    return nullptr;
  }
  // Not registered with spdlog's registry: the default logger's settings (level, pattern) and
  // spdlog::drop_all() never touch it, and two logs (tests) never clash by name.
  auto logger = std::make_shared<spdlog::logger>("audit", std::move(sink));
  logger->set_pattern("%v");
  logger->set_level(spdlog::level::trace);
  logger->flush_on(spdlog::level::trace);
  logger->set_error_handler([](const std::string& msg) {
    if (t_write_error != nullptr && t_write_error->empty()) {
      *t_write_error = msg;
    }
  });
  spdlog::info("audit log: {}", options_.path == "-" ? std::string("stdout") : options_.path);
  return logger;
}

std::shared_ptr<spdlog::logger> AuditLog::logger() {
  std::unique_lock<std::mutex> lock(mu_);
  if (logger_ != nullptr) {
    return logger_;
  }
  const auto now = std::chrono::steady_clock::now();
  if (opening_ || now < next_open_) {
    return nullptr;
  }
  // Open outside the lock: spdlog retries a failing open a few times with short sleeps, and
  // the other request threads drop their entries meanwhile instead of waiting.
  opening_ = true;
  next_open_ = now + options_.retry_interval;
  lock.unlock();
  std::shared_ptr<spdlog::logger> opened = open();
  lock.lock();
  opening_ = false;
  logger_ = opened;
  return logger_;
}

void AuditLog::failed(const std::string& what) {
  if (counters_ != nullptr) {
    counters_->countAuditWriteError();
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++unreported_;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_report_) {
    return;
  }
  next_report_ = now + options_.retry_interval;
  try {
    spdlog::error("audit log {}: {} ({} failure{} since the last report; admission unaffected)",
                  options_.path, what, unreported_, unreported_ == 1 ? "" : "s");
  } catch (...) {  // the main logger failing must not fail admission either
  }
  unreported_ = 0;
}

void AuditLog::writeLine(std::string_view line) {
  std::shared_ptr<spdlog::logger> lg = logger();
  if (lg == nullptr) {
    std::string why;
    {
      std::lock_guard<std::mutex> lock(mu_);
      why = "not open: " + open_error_;
    }
    failed(why);
    return;
  }
  std::string error;
  t_write_error = &error;
  try {
    lg->log(spdlog::level::info, spdlog::string_view_t(line.data(), line.size()));
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = "unknown error";
  }
  t_write_error = nullptr;
  if (!error.empty()) {
    failed(error);
  } else if (counters_ != nullptr) {
    counters_->countAuditEntry();
  }
}

void AuditLog::record(const AuditEntry& entry) {
  std::string line;
  try {
    line = formatAuditEntry(entry);
  } catch (const std::exception& e) {
    failed(std::string("cannot format entry: ") + e.what());
    return;
  }
  writeLine(line);
}

}  // namespace ambient_guard
