#include "webhook/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace ambient_guard {
namespace {

std::optional<std::string> readSmallFile(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Returns the boot time (Unix seconds) from the "btime" line of /proc/stat.
std::optional<double> bootTime() {
  auto text = readSmallFile("/proc/stat");
  if (!text) {
    return std::nullopt;
  }
  std::istringstream lines(*text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("btime ", 0) == 0) {
      try {
        return std::stod(line.substr(6));
      } catch (const std::exception&) {
        return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

std::optional<double> openFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) {
    return std::nullopt;
  }
  double n = 0;
  while (const dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') {
      ++n;
    }
  }
  closedir(dir);
  return n - 1;  // the directory stream's own descriptor
}

prometheus::MetricFamily family(const char* name, const char* help, prometheus::MetricType type,
                                double value) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
  return f;
}

}  // namespace

std::optional<ProcStat> parseProcStat(std::string_view text) {
  const size_t paren = text.rfind(')');
  if (paren == std::string_view::npos) {
    return std::nullopt;
  }
  // Fields after the command name start at field 3 (state).
  std::vector<std::string_view> fields;
  size_t i = paren + 1;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n')) {
      ++i;
    }
    const size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\n') {
      ++i;
    }
    if (i > start) {
      fields.push_back(text.substr(start, i - start));
    }
  }
  auto field = [&](size_t number, double& out) {
    const size_t idx = number - 3;
    if (idx >= fields.size()) {
      return false;
    }
    long long v = 0;
    const auto f = fields[idx];
    const auto r = std::from_chars(f.data(), f.data() + f.size(), v);
    if (r.ec != std::errc() || r.ptr != f.data() + f.size()) {
      return false;
    }
    out = static_cast<double>(v);
    return true;
  };
  ProcStat s;
  if (!field(14, s.utime_ticks) || !field(15, s.stime_ticks) || !field(22, s.starttime_ticks) ||
      !field(23, s.vsize_bytes) || !field(24, s.rss_pages)) {
    return std::nullopt;
  }
  return s;
}

std::vector<prometheus::MetricFamily> processMetrics() {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  auto stat_text = readSmallFile("/proc/self/stat");
  std::optional<ProcStat> stat = stat_text ? parseProcStat(*stat_text) : std::nullopt;
  if (stat && ticks > 0) {
    out.push_back(family("process_cpu_seconds_total",
                         "Total user and system CPU time spent in seconds.", MetricType::Counter,
                         (stat->utime_ticks + stat->stime_ticks) / ticks));
  }
  if (auto fds = openFds()) {
    out.push_back(family("process_open_fds", "Number of open file descriptors.",
                         MetricType::Gauge, *fds));
  }
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    out.push_back(family("process_max_fds", "Maximum number of open file descriptors.",
                         MetricType::Gauge,
                         lim.rlim_cur == RLIM_INFINITY ? -1 : static_cast<double>(lim.rlim_cur)));
  }
  if (stat) {
    out.push_back(family("process_resident_memory_bytes", "Resident memory size in bytes.",
                         MetricType::Gauge, stat->rss_pages * page));
    if (auto boot = bootTime(); boot && ticks > 0) {
      out.push_back(family("process_start_time_seconds",
                           "Start time of the process since unix epoch in seconds.",
                           MetricType::Gauge, *boot + stat->starttime_ticks / ticks));
    }
    out.push_back(family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                         MetricType::Gauge, stat->vsize_bytes));
  }
  return out;
}

}  // namespace ambient_guard
