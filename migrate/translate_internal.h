// Shared pieces of the translators (webhook/translate*.cc). Not part of the public interface.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "migrate/translate.h"
#include "model/objects.h"

namespace ambient_guard::translation {

using nlohmann::json;
using nlohmann::ordered_json;

// What every translator reads and writes.
struct Context {
  const ClusterView& state;
  const std::vector<RawDocument>& docs;  // raw context documents (ServiceEntry, DestinationRule)
  const TranslateOptions& options;
  TranslateResult& out;

  void note(TranslationNote::Level level, const std::string& object, const std::string& text) {
    out.notes.push_back({level, object, text});
  }
};

// Returns the JSON value as an ordered_json (keys keep nlohmann::json's sorted order).
ordered_json ordered(const json& j);

// Returns a one-line rendering of a value for comments ({"delay":{"fixedDelay":"5s"}}).
std::string compact(const json& j);

// Returns metadata reduced to what a user applies: name, namespace (`ns`), labels, and
// annotations without kubectl's last-applied-configuration.
ordered_json cleanMetadata(const json& doc, const std::string& ns);

// Returns a new object skeleton {apiVersion, kind, metadata}.
ordered_json skeleton(const std::string& api_version, const std::string& kind,
                      ordered_json metadata);

// Returns the member `key` of `j` when present and not null.
const json* member(const json& j, const char* key);
// Returns the string at j[key], or "" (numbers and booleans rendered as text).
std::string text(const json& j, const char* key);

// Records the input object `doc` (namespace `ns`) among the sources of the output.
void addSource(Context& ctx, const json& doc, const ObjectRef& ref, bool superseded);

// The targetRefs that move a selector or namespace-wide policy onto a waypoint.
struct Target {
  ordered_json refs = ordered_json::array();
  std::string kind;          // Service | Gateway | GatewayClass
  std::string service;       // kind Service: its name
  std::string waypoint_ns;   // the waypoint that will enforce it ("" for GatewayClass)
  std::string waypoint;      // its name
  bool waypoint_ready = false;
  std::string how;           // what must exist first
};

// Returns the target for a policy in ns with `selector` (rules/ambient.h suggestTargetRefs, with
// the --waypoint override applied).
Target targetFor(const Context& ctx, const std::string& ns, const WorkloadSelector& selector);

// Returns true when the selector picks gateway pods (istio=ingressgateway, gateway-name labels):
// policies for gateways are not part of a namespace's move to ambient.
bool selectsGatewayPods(const WorkloadSelector& selector);

// ---------------------------------------------------------------------------------------------
// VirtualService → HTTPRoute pieces (spec §5.1).

// A comment for one HTTPRoute rule, anchored relative to the rule: "" before the rule,
// "/$end" after its last field, "/matches/0/path", "/backendRefs/1", ...
struct RuleComment {
  std::string anchor;
  std::string text;
};

// What converting spec.http[i] needs to know about the route being built.
struct RouteScope {
  std::string vs_ns;     // the VirtualService's namespace (short hosts resolve there)
  std::string route_ns;  // the HTTPRoute's namespace (the parent Services' namespace)
  std::optional<int32_t> parent_port;  // parentRefs[].port when every match named that port
};

// One HTTPRoute rule from one VirtualService http route.
struct HttpRule {
  ordered_json rule;  // null when nothing of it could be expressed
  std::vector<RuleComment> comments;
  std::vector<std::string> gaps;  // "spec.http[0].fault: no equivalent" lines for the summary
  bool review = false;            // the result differs from the original: a human should look
  // Paths of Service backends whose port could not be determined. The API server rejects such a
  // backendRef (the Gateway API CRD's CEL rule "Must have port for Service reference").
  std::vector<std::string> missing_ports;
};

// Returns the rule for spec.http[index].
HttpRule convertHttpRoute(const Context& ctx, const json& http, size_t index,
                          const RouteScope& scope);

// The HTTPRoute matches made from one VirtualService match (spec §5.1, matches rows).
struct MatchResult {
  std::vector<ordered_json> matches;  // empty with `omitted` set when it cannot be expressed
  std::vector<RuleComment> comments;  // anchored relative to the first produced match
  std::vector<std::string> gaps;      // fields written differently, for the summary
  std::string omitted;                // why the match was left out
  bool review = false;
};

// Converts spec.http[i].match[m] at `path`. `prefix_as_path_prefix`: write uri.prefix as
// PathPrefix (needed by URLRewrite ReplacePrefixMatch) instead of an exact regular expression.
MatchResult convertMatch(const json& match, const std::string& path, const RouteScope& scope,
                         bool prefix_as_path_prefix);

// Returns `text` with RE2 metacharacters escaped.
std::string re2Escape(const std::string& text);

// Returns the duration in milliseconds of a VirtualService duration ("1.5s", "500ms", "1m").
std::optional<int64_t> parseDurationMs(const std::string& text);
// Returns a Gateway API duration ("1h30m", "1500ms") for milliseconds.
std::string gatewayDuration(int64_t ms);

void translateAuthorizationPolicy(Context& ctx, const json& doc, const AuthorizationPolicy& ap);
void translateRequestAuthentication(Context& ctx, const json& doc,
                                    const RequestAuthentication& ra);
void translateWasmPlugin(Context& ctx, const json& doc, const WasmPlugin& wp);
void translateTrafficExtension(Context& ctx, const json& doc, const TrafficExtension& te);
void translatePeerAuthentication(Context& ctx, const json& doc, const PeerAuthentication& pa);
void translateVirtualService(Context& ctx, const json& doc, const VirtualService& vs);

}  // namespace ambient_guard::translation
