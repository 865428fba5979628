#include "model/quantity.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace ambient_guard {
namespace {

// Parses a resource.Quantity: a decimal number, then a binary (Ki…Ei), decimal (n, u, m, k, M,
// G, T, P, E) or exponent (e3) suffix (k8s.io/apimachinery pkg/api/resource/quantity.go).
std::optional<double> parseQuantity(std::string_view text) {
  std::string s(text);
  while (!s.empty() && s.back() == ' ') {
    s.pop_back();
  }
  if (s.empty()) {
    return std::nullopt;
  }
  size_t end = 0;
  while (end < s.size() && (std::isdigit(static_cast<unsigned char>(s[end])) || s[end] == '.' ||
                            ((s[end] == '+' || s[end] == '-') && end == 0))) {
    ++end;
  }
  if (end == 0) {
    return std::nullopt;
  }
  char* stop = nullptr;
  const std::string number = s.substr(0, end);
  double value = std::strtod(number.c_str(), &stop);
  if (stop != number.c_str() + number.size()) {
    return std::nullopt;
  }
  const std::string suffix = s.substr(end);
  struct Suffix {
    const char* text;
    double factor;
  };
  static constexpr Suffix kSuffixes[] = {
      {"", 1},        {"n", 1e-9},         {"u", 1e-6},         {"m", 1e-3},
      {"k", 1e3},     {"M", 1e6},          {"G", 1e9},          {"T", 1e12},
      {"P", 1e15},    {"E", 1e18},         {"Ki", 1024.0},      {"Mi", 1048576.0},
      {"Gi", 1073741824.0}, {"Ti", 1099511627776.0}, {"Pi", 1125899906842624.0},
      {"Ei", 1152921504606846976.0}};
  for (const auto& sfx : kSuffixes) {
    if (suffix == sfx.text) {
      return value * sfx.factor;
    }
  }
  if ((suffix[0] == 'e' || suffix[0] == 'E') && suffix.size() > 1) {
    char* estop = nullptr;
    long exp = std::strtol(suffix.c_str() + 1, &estop, 10);
    if (*estop == '\0') {
      return value * std::pow(10.0, static_cast<double>(exp));
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<int64_t> parseCpuMillis(std::string_view text) {
  auto v = parseQuantity(text);
  if (!v || *v < 0) {
    return std::nullopt;
  }
  return static_cast<int64_t>(std::ceil(*v * 1000.0 - 1e-9));
}

std::optional<int64_t> parseMemoryBytes(std::string_view text) {
  auto v = parseQuantity(text);
  if (!v || *v < 0) {
    return std::nullopt;
  }
  return static_cast<int64_t>(std::ceil(*v - 1e-9));
}

std::string formatCpu(int64_t millis) {
  if (millis < 0) {
    return "-" + formatCpu(-millis);
  }
  if (millis == 0) {
    return "0";
  }
  if (millis < 1000) {
    return std::to_string(millis) + "m";
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(millis) / 1000.0);
  std::string out = buf;
  while (out.back() == '0') {
    out.pop_back();
  }
  if (out.back() == '.') {
    out.pop_back();
  }
  return out;
}

std::string formatMemory(int64_t bytes) {
  if (bytes < 0) {
    return "-" + formatMemory(-bytes);
  }
  static constexpr const char* kUnits[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi"};
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024.0 && unit < 5) {
    v /= 1024.0;
    ++unit;
  }
  char buf[32];
  if (std::fabs(v - std::round(v)) < 0.05) {
    std::snprintf(buf, sizeof buf, "%.0f%s", v, kUnits[unit]);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f%s", v, kUnits[unit]);
  }
  return buf;
}

}  // namespace ambient_guard
