// RFC 3339 timestamps and the civil calendar: the audit log's times and --since/--until, and
// metadata.creationTimestamp, read by one parser.
#pragma once

#include <cstdint>
#include <string_view>

#include "model/result.h"

namespace ambient_guard {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant, "chrono-Compatible Low-Level
// Date Algorithms"), and back.
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d);
void civilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d);

// Returns Unix microseconds for "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" (T and Z in
// either case), or an error naming what is wrong. Strict, it reads what Go's time.RFC3339 reads
// (metav1.Time); `lenient` also takes a space between date and time and a leap second (:60),
// as RFC 3339 allows and people type.
Result<int64_t> parseRfc3339Micros(std::string_view s, bool lenient);

}  // namespace ambient_guard
