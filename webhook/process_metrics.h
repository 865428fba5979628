// The standard process_* metrics of the Prometheus client libraries (the names the Go client
// exports, so dashboards and alerts written for any exporter work), read from /proc/self at
// scrape time. Linux only; elsewhere, and for any file that cannot be read, the metric is left
// out rather than reported as zero.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include <prometheus/metric_family.h>

namespace ambient_guard {

// The fields of /proc/[pid]/stat the metrics use (proc(5)).
struct ProcStat {
  double utime_ticks = 0;      // field 14
  double stime_ticks = 0;      // field 15
  double starttime_ticks = 0;  // field 22, clock ticks after boot
  double vsize_bytes = 0;      // field 23
  double rss_pages = 0;        // field 24
};

// Returns the fields of a /proc/[pid]/stat line, or nullopt when it does not parse. The command
// name (field 2) may contain spaces and parentheses; fields are counted after its last ')'.
std::optional<ProcStat> parseProcStat(std::string_view text);

// Returns process_cpu_seconds_total (counter), process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds and
// process_start_time_seconds (gauges) of the calling process, read now.
std::vector<prometheus::MetricFamily> processMetrics();

}  // namespace ambient_guard
