// Migration-aware mutation of Namespace writes (`/mutate`, DESIGN.md §5).
//
// Enrollment (a write after which istio-cni's enablement selectors capture the namespace's pods:
// by default, one that sets istio.io/dataplane-mode=ambient) removes the injection labels
// (istio-injection=enabled, istio.io/rev) — the sidecar would otherwise win — records them in the
// annotation ambient-guard.io/previous-injection (JSON), and stamps ambient-guard.io/enrolled-at
// when absent. Rollback (no longer selected, every enrollment label (rules/enablement.h
// enrollLabels; by default dataplane-mode) removed or `none`, annotation present) restores the
// recorded labels unless the write sets them itself, and removes both annotations.
//
// The patch is computed against the object received, is RFC 6902 with RFC 6901 escaping, adds
// whole maps when `labels`/`annotations` are absent, and is empty when nothing changes — so a
// reinvocation on an already-mutated object yields no patch. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rules/enablement.h"

namespace ambient_guard {

inline constexpr std::string_view kPreviousInjectionAnnotation =
    "ambient-guard.io/previous-injection";
inline constexpr std::string_view kEnrolledAtAnnotation = "ambient-guard.io/enrolled-at";

struct Mutation {
  enum class Kind { kNone, kEnroll, kRollback };
  Kind kind = Kind::kNone;
  nlohmann::json patch = nlohmann::json::array();  // RFC 6902 operations; empty: no change
  std::vector<std::string> notes;  // problems worth a warning (e.g. an unreadable annotation)
};

std::string_view mutationKindName(Mutation::Kind kind);

// Returns the mutation for a Namespace write: `object` is request.object, `old_object`
// request.oldObject (null on CREATE). Enrollment is a write that makes the namespace ambient
// (CREATE, or the old object was not ambient) as `enablement` sees it (selectsNamespace: a pod
// without labels in it is captured). `now_rfc3339` is the enrolled-at value to stamp.
Mutation mutateNamespace(const nlohmann::json& object, const nlohmann::json& old_object,
                         std::string_view now_rfc3339,
                         const ambient::EnablementSelectors& enablement);
// The same with Istio's default selectors (istio.io/dataplane-mode=ambient).
Mutation mutateNamespace(const nlohmann::json& object, const nlohmann::json& old_object,
                         std::string_view now_rfc3339);

// Returns the current UTC time as RFC 3339 ("2024-05-01T10:00:00Z").
std::string nowRfc3339();

// Returns `token` escaped as one RFC 6901 reference token ("~" → "~0", then "/" → "~1").
std::string escapeJsonPointer(std::string_view token);

}  // namespace ambient_guard
