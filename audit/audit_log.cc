#include "audit/audit_log.h"

#include <nlohmann/json.hpp>
#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/details/null_mutex.h>
#include <spdlog/details/thread_pool.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace ambient_guard {
namespace {

// Runs on the writer thread: writes and flushes each entry through the file (or stdout) sink and
// reports the outcome, which spdlog's async logger would only hand to an error handler.
class ReportingSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  ReportingSink(spdlog::sink_ptr inner, std::function<void(const std::string&)> on_error,
                std::function<void()> on_written, std::function<void()> on_done)
      : inner_(std::move(inner)),
        on_error_(std::move(on_error)),
        on_written_(std::move(on_written)),
        on_done_(std::move(on_done)) {
    inner_->set_pattern("%v");
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    try {
      inner_->log(msg);
      inner_->flush();
      on_written_();
    } catch (const std::exception& e) {
      on_error_(e.what());
    } catch (...) {
      on_error_("unknown error");
    }
    on_done_();
  }
  void flush_() override {}

 private:
  spdlog::sink_ptr inner_;
  std::function<void(const std::string&)> on_error_;
  std::function<void()> on_written_;
  std::function<void()> on_done_;
};

}  // namespace

AuditLog::AuditLog(AuditLogOptions options, AuditCounters* counters)
    : options_(std::move(options)),
      counters_(counters),
      pool_(std::make_shared<spdlog::details::thread_pool>(std::max<size_t>(options_.queue_entries, 1),
                                                           1)) {
  logger_ = open();
  if (logger_ == nullptr) {
    // Serve anyway: admission matters more than its record. Counted once here, then once per
    // entry lost until a later attempt opens the file.
    next_open_ = std::chrono::steady_clock::now() + options_.retry_interval;
    failed("cannot open: " + open_error_);
  }
}

AuditLog::~AuditLog() {
  // Write what is queued, then stop the writer thread, while the members it reports to live.
  logger_.reset();
  pool_.reset();
}

void AuditLog::processed() {
  {
    std::lock_guard<std::mutex> lock(flush_mu_);
    ++done_;
  }
  flush_cv_.notify_all();
}

void AuditLog::countDropped() {
  const uint64_t total = pool_->overrun_counter();
  uint64_t lost = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (total > dropped_seen_) {
      lost = total - dropped_seen_;
      dropped_seen_ = total;
    }
  }
  if (lost > 0) {
    failed("the write queue is full (" + std::to_string(options_.queue_entries) +
               " entries): dropped the oldest",
           lost);
    flush_cv_.notify_all();
  }
}

void AuditLog::flush() {
  std::unique_lock<std::mutex> lock(flush_mu_);
  const uint64_t target = queued_;
  flush_cv_.wait(lock, [&] { return done_ + pool_->overrun_counter() >= target; });
}

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
  auto reporting = std::make_shared<ReportingSink>(
      std::move(sink), [this](const std::string& what) { failed(what); },
      [this] {
        if (counters_ != nullptr) {
          counters_->countAuditEntry();
        }
      },
      [this] { processed(); });
  // Not registered with spdlog's registry: the default logger's settings (level, pattern) and
  // spdlog::drop_all() never touch it, and two logs (tests) never clash by name. A full queue
  // drops its oldest entry instead of blocking the request thread.
  auto logger = std::make_shared<spdlog::async_logger>(
      "audit", std::move(reporting), pool_, spdlog::async_overflow_policy::overrun_oldest);
  logger->set_pattern("%v");
  logger->set_level(spdlog::level::trace);
  logger->set_error_handler([this](const std::string& msg) { failed(msg); });
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

void AuditLog::failed(const std::string& what, uint64_t lost) {
  if (counters_ != nullptr) {
    for (uint64_t i = 0; i < lost; ++i) {
      counters_->countAuditWriteError();
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  unreported_ += lost;
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
  {
    std::lock_guard<std::mutex> lock(flush_mu_);
    ++queued_;
  }
  try {
    lg->log(spdlog::level::info, spdlog::string_view_t(line.data(), line.size()));
  } catch (...) {  // spdlog reports through the error handler; nothing may escape admission
  }
  countDropped();
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
