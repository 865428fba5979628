// Kubernetes resource quantities ("100m", "128Mi", "1.5", "2G") as integers, and back to text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ambient_guard {

// Returns millicores for a CPU quantity ("100m" → 100, "2" → 2000), or nullopt when malformed.
std::optional<int64_t> parseCpuMillis(std::string_view text);
// Returns bytes for a memory quantity ("128Mi" → 134217728, "1G" → 1e9), or nullopt.
std::optional<int64_t> parseMemoryBytes(std::string_view text);

// Returns "250m" for values below one core, else cores with up to two decimals ("2", "1.25").
std::string formatCpu(int64_t millis);
// Returns the largest binary unit that keeps one decimal readable ("128Mi", "1.5Gi", "512Ki").
std::string formatMemory(int64_t bytes);

}  // namespace ambient_guard
