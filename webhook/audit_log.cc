#include "webhook/audit_log.h"

#include <ctime>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace ambient_guard {
namespace {

// The first error the audit logger reported during the current write on this thread. spdlog
// calls the error handler synchronously on the writing thread, so a thread-local pointer ties
// the handler to the entry being written without a lock.
thread_local std::string* t_write_error = nullptr;

}  // namespace

std::string auditNamespace(const AdmissionRequest& req) {
  if (req.ns.empty() && req.kind.group.empty() && req.kind.kind == "Namespace") {
    return req.objectName();
  }
  return req.ns;
}

std::string formatAuditTime(std::chrono::system_clock::time_point t) {
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  using std::chrono::seconds;
  const auto since_epoch = duration_cast<microseconds>(t.time_since_epoch());
  auto secs = duration_cast<seconds>(since_epoch);
  auto micros = since_epoch - duration_cast<microseconds>(secs);
  if (micros.count() < 0) {  // before 1970: keep the fraction positive
    secs -= seconds(1);
    micros += seconds(1);
  }
  const std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(micros.count()));
  return buf;
}

std::string formatAuditEntry(const AuditRecord& r) {
  using nlohmann::ordered_json;
  static const AdmissionRequest kNone;
  const AdmissionRequest& req = r.request != nullptr ? *r.request : kNone;
  static const std::vector<EnforcedFinding> kNoFindings;
  const std::vector<EnforcedFinding>& findings = r.findings != nullptr ? *r.findings : kNoFindings;

  ordered_json e;
  e["time"] = formatAuditTime(r.time);
  e["uid"] = req.uid;
  e["webhook"] = r.webhook;
  e["operation"] = req.operation;
  e["kind"] = req.kind.kind;
  e["group"] = req.kind.group;
  e["namespace"] = auditNamespace(req);
  e["name"] = req.objectName();
  e["user"] = req.username;
  e["groups"] = req.groups;
  e["dryRun"] = req.dry_run;
  e["mode"] = modeName(r.mode);
  e["allowed"] = r.allowed;
  e["decision"] = outcomeName(r.allowed, r.warned, findings);
  e["exempted"] = r.exempted;
  e["exemption"] = r.exempted ? r.exemption : std::string();
  ordered_json fs = ordered_json::array();
  for (const auto& f : findings) {
    fs.push_back({{"rule", f.finding.rule},
                  {"action", rules::actionName(f.action)},
                  {"ruleAction", rules::actionName(f.rule_action)},
                  {"enforced", f.enforced},
                  {"preExisting", f.finding.pre_existing},
                  {"object", f.finding.object.str()},
                  {"message", f.finding.message}});
  }
  e["findings"] = std::move(fs);
  if (r.patch_ops) {
    e["patch"] = *r.patch_ops;
  }
  e["latency_us"] = r.latency_us;
  return e.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

AuditLogOptions auditLogOptions(const AuditSettings& settings) {
  AuditLogOptions o;
  o.path = settings.path;
  o.max_size_bytes = static_cast<size_t>(settings.max_size_mb) << 20;
  o.max_files = static_cast<size_t>(settings.max_files);
  return o;
}

AuditLog::AuditLog(AuditLogOptions options, Metrics* metrics)
    : options_(std::move(options)), metrics_(metrics) {
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
  if (metrics_ != nullptr) {
    metrics_->countAuditWriteError();
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
  } else if (metrics_ != nullptr) {
    metrics_->countAuditEntry();
  }
}

void AuditLog::record(const AuditRecord& r) {
  std::string line;
  try {
    line = formatAuditEntry(r);
  } catch (const std::exception& e) {
    failed(std::string("cannot format entry: ") + e.what());
    return;
  }
  writeLine(line);
}

}  // namespace ambient_guard
