#include "model/rfc3339.h"

#include <cctype>

namespace ambient_guard {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant, "chrono-Compatible Low-Level
// Date Algorithms").
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
}

namespace {

bool leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned daysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at `pos`.
bool digits(std::string_view s, size_t& pos, size_t n, int& out) {
  if (pos + n > s.size()) {
    return false;
  }
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') {
      return false;
    }
    out = out * 10 + (c - '0');
  }
  pos += n;
  return true;
}

bool expect(std::string_view s, size_t& pos, std::string_view chars) {
  if (pos < s.size() && chars.find(s[pos]) != std::string_view::npos) {
    ++pos;
    return true;
  }
  return false;
}

constexpr int64_t kMicrosPerSecond = 1000000;

}  // namespace

Result<int64_t> parseRfc3339Micros(std::string_view s, bool lenient) {
  size_t pos = 0;
  int y = 0;
  int mo = 0;
  int d = 0;
  int h = 0;
  int mi = 0;
  int sec = 0;
  if (!digits(s, pos, 4, y) || !expect(s, pos, "-") || !digits(s, pos, 2, mo) ||
      !expect(s, pos, "-") || !digits(s, pos, 2, d)) {
    return Error{"expected a date YYYY-MM-DD"};
  }
  if (!expect(s, pos, lenient ? "Tt " : "Tt") || !digits(s, pos, 2, h) || !expect(s, pos, ":") ||
      !digits(s, pos, 2, mi) || !expect(s, pos, ":") || !digits(s, pos, 2, sec)) {
    return Error{"expected a time THH:MM:SS after the date"};
  }
  if (mo < 1 || mo > 12 || d < 1 || static_cast<unsigned>(d) > daysInMonth(y, mo) || h > 23 ||
      mi > 59 || sec > (lenient ? 60 : 59)) {
    return Error{"date or time out of range"};
  }
  int64_t micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t n = 0;
    int64_t scale = 100000;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos])) != 0) {
      micros += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
      ++n;
    }
    if (n == 0) {
      return Error{"expected digits after the decimal point"};
    }
  }
  int64_t offset_s = 0;
  if (expect(s, pos, "Zz")) {
    offset_s = 0;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = 0;
    int om = 0;
    if (!digits(s, pos, 2, oh) || !expect(s, pos, ":") || !digits(s, pos, 2, om) || oh > 23 ||
        om > 59) {
      return Error{"expected a UTC offset +HH:MM"};
    }
    offset_s = sign * (oh * 3600 + om * 60);
  } else {
    return Error{"expected Z or a UTC offset (+HH:MM) after the time"};
  }
  if (pos != s.size()) {
    return Error{"unexpected text after the time"};
  }
  const int64_t secs = daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  return secs * kMicrosPerSecond + micros;
}

}  // namespace ambient_guard
