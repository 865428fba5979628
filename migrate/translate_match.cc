// VirtualService HTTPMatchRequest → HTTPRoute matches (spec §5.1, the match rows), and the
// small conversions the rules share (regular expressions, durations).
#include <array>
#include <cctype>
#include <cmath>
#include <regex>

#include "migrate/translate_internal.h"

namespace ambient_guard::translation {
namespace {

// HTTPRoute's HTTPMethod enum ([GW] apis/v1/httproute_types.go).
constexpr std::array<const char*, 9> kMethods = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                                 "CONNECT", "OPTIONS", "TRACE", "PATCH"};
constexpr size_t kMaxHeaderMatches = 16;  // HR: headers MaxItems=16 (queryParams likewise)

struct StringMatch {
  std::string type;  // Exact | RegularExpression
  std::string value;
  std::string note;  // set when the conversion is derived, not literal
  bool ok = true;
};

// A VirtualService StringMatch for headers and query parameters.
StringMatch stringMatch(const json& sm) {
  StringMatch out;
  if (!sm.is_object()) {
    out.ok = false;
    return out;
  }
  if (const json* v = member(sm, "exact")) {
    out.type = "Exact";
    out.value = v->is_string() ? v->get<std::string>() : v->dump();
  } else if (const json* r = member(sm, "regex")) {
    out.type = "RegularExpression";
    out.value = r->is_string() ? r->get<std::string>() : r->dump();
  } else if (const json* p = member(sm, "prefix")) {
    const std::string prefix = p->is_string() ? p->get<std::string>() : p->dump();
    out.type = "RegularExpression";
    out.value = re2Escape(prefix) + ".*";
    out.note = "prefix \"" + prefix + "\" has no HTTPRoute equivalent; written as the equivalent "
               "RE2 regular expression";
  } else if (sm.empty()) {
    out.type = "RegularExpression";
    out.value = ".*";
    out.note = "an empty match (header present) is written as the regular expression \".*\"";
  } else {
    out.ok = false;
  }
  return out;
}

ordered_json pathMatch(const std::string& type, const std::string& value) {
  return ordered_json{{"type", type}, {"value", value}};
}

}  // namespace

std::string re2Escape(const std::string& text) {
  static constexpr std::string_view kMeta = "\\.+*?()|[]{}^$";
  std::string out;
  for (char c : text) {
    if (kMeta.find(c) != std::string_view::npos) {
      out += '\\';
    }
    out += c;
  }
  return out;
}

std::optional<int64_t> parseDurationMs(const std::string& text) {
  if (text.empty()) {
    return std::nullopt;
  }
  long double total_ns = 0;
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) != 0 ||
                               text[i] == '.')) {
      ++i;
    }
    if (i == start) {
      return std::nullopt;
    }
    long double number = 0;
    try {
      number = std::stold(text.substr(start, i - start));
    } catch (const std::exception&) {
      return std::nullopt;
    }
    const size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i])) != 0) {
      ++i;
    }
    const std::string unit = text.substr(unit_start, i - unit_start);
    long double factor = 0;
    if (unit == "h") {
      factor = 3.6e12L;
    } else if (unit == "m") {
      factor = 6e10L;
    } else if (unit == "s") {
      factor = 1e9L;
    } else if (unit == "ms") {
      factor = 1e6L;
    } else if (unit == "us") {
      factor = 1e3L;
    } else if (unit == "ns") {
      factor = 1;
    } else {
      return std::nullopt;
    }
    total_ns += number * factor;
  }
  int64_t ms = std::llround(total_ns / 1e6L);
  if (ms == 0 && total_ns > 0) {
    ms = 1;  // keep a non-zero timeout non-zero ("0s" disables it)
  }
  return ms;
}

std::string gatewayDuration(int64_t ms) {
  if (ms <= 0) {
    return "0s";
  }
  const int64_t h = ms / 3'600'000;
  const int64_t m = ms / 60'000 % 60;
  const int64_t s = ms / 1000 % 60;
  const int64_t rest = ms % 1000;
  std::string out;
  if (h > 0) {
    out += std::to_string(h) + "h";
  }
  if (m > 0) {
    out += std::to_string(m) + "m";
  }
  if (s > 0) {
    out += std::to_string(s) + "s";
  }
  if (rest > 0) {
    out += std::to_string(rest) + "ms";
  }
  return out;
}

MatchResult convertMatch(const json& match, const std::string& path, const RouteScope& scope,
                         bool prefix_as_path_prefix) {
  MatchResult r;
  auto omit = [&](std::string why) {
    r.matches.clear();
    r.omitted = std::move(why);
    return r;
  };
  if (!match.is_object()) {
    return omit("not an object");
  }
  ordered_json m = ordered_json::object();
  std::vector<std::string> methods;
  const bool icase = match.value("ignoreUriCase", false);
  for (const auto& [key, v] : match.items()) {
    const std::string field = path + "." + key;
    if (key == "uri") {
      std::string type;
      std::string value;
      std::string note;
      if (const json* e = member(v, "exact")) {
        type = icase ? "RegularExpression" : "Exact";
        value = icase ? "(?i)" + re2Escape(e->get<std::string>()) : e->get<std::string>();
      } else if (const json* p = member(v, "prefix")) {
        const std::string prefix = p->get<std::string>();
        if (icase) {
          type = "RegularExpression";
          value = "(?i)" + re2Escape(prefix) + ".*";
        } else if (prefix == "/") {
          type = "PathPrefix";
          value = "/";
        } else if (prefix_as_path_prefix || prefix.back() == '/') {
          type = "PathPrefix";
          value = prefix;
          note = field + ".prefix \"" + prefix + "\": HTTPRoute PathPrefix matches whole path "
                 "segments (and ignores a trailing /), a VirtualService prefix is a raw string "
                 "prefix: " +
                 (prefix.back() == '/'
                      ? "this also matches \"" + prefix.substr(0, prefix.size() - 1) + "\"."
                      : "\"" + prefix + "x\" no longer matches.");
          r.review = true;
          r.gaps.push_back(field + ".prefix (PathPrefix matches whole segments)");
        } else {
          type = "RegularExpression";
          value = re2Escape(prefix) + ".*";
          r.gaps.push_back(field + ".prefix (written as a regular expression)");
          note = field + ".prefix \"" + prefix + "\" is a raw string prefix (it matches \"" +
                 prefix + "x\" too); PathPrefix would match whole segments only, so it is "
                 "written as the equivalent RE2 regular expression. Use PathPrefix if only "
                 "whole segments were meant.";
        }
      } else if (const json* re = member(v, "regex")) {
        type = "RegularExpression";
        value = icase ? "(?i)(?:" + re->get<std::string>() + ")" : re->get<std::string>();
      } else {
        return omit(field + " has no exact, prefix or regex");
      }
      if (icase) {
        r.gaps.push_back(path + ".ignoreUriCase (written as a (?i) regular expression)");
        note = path + ".ignoreUriCase has no HTTPRoute equivalent; emulated with a (?i) regular "
               "expression.";
      }
      m["path"] = pathMatch(type, value);
      if (!note.empty()) {
        r.comments.push_back({"/path", note});
      }
    } else if (key == "ignoreUriCase") {
      continue;  // applied to uri above; without uri it changes nothing
    } else if (key == "method") {
      const std::string exact = member(v, "exact") != nullptr ? text(v, "exact") : "";
      for (const char* method : kMethods) {
        const std::string name = method;
        bool hit = false;
        if (member(v, "exact") != nullptr) {
          hit = name == exact;
        } else if (const json* p = member(v, "prefix")) {
          hit = name.rfind(p->get<std::string>(), 0) == 0;
        } else if (const json* re = member(v, "regex")) {
          try {
            hit = std::regex_match(name, std::regex(re->get<std::string>()));
          } catch (const std::regex_error&) {
            return omit(field + ".regex cannot be expanded into HTTP methods");
          }
        }
        if (hit) {
          methods.push_back(name);
        }
      }
      if (methods.empty()) {
        return omit(field + " " + compact(v) + " matches no HTTPRoute method");
      }
      if (member(v, "exact") == nullptr) {
        r.gaps.push_back(field + " (expanded into one match per method)");
        r.comments.push_back({"", field + " " + compact(v) + " expanded into one match per "
                                  "method (HTTPRoute matches methods exactly)."});
      }
    } else if (key == "headers" || key == "queryParams") {
      if (!v.is_object()) {
        return omit(field + " is not a map");
      }
      if (v.size() > kMaxHeaderMatches) {
        return omit(field + " has more than 16 entries (HTTPRoute's limit)");
      }
      ordered_json list = ordered_json::array();
      for (const auto& [name, sm] : v.items()) {
        if (name.rfind("@request.auth.claims", 0) == 0) {
          return omit(field + "." + name + ": JWT claim routing has no HTTPRoute equivalent");
        }
        if (!name.empty() && name[0] == ':') {
          return omit(field + "." + name + ": pseudo-headers cannot be matched in HTTPRoute");
        }
        StringMatch s = stringMatch(sm);
        if (!s.ok) {
          return omit(field + "." + name + " " + compact(sm) + " cannot be expressed");
        }
        if (!s.note.empty()) {
          r.gaps.push_back(field + "." + name + " (written as a regular expression)");
          r.comments.push_back({"/" + key + "/" + std::to_string(list.size()),
                                field + "." + name + ": " + s.note + "."});
        }
        list.push_back(ordered_json{{"name", name}, {"type", s.type}, {"value", s.value}});
      }
      m[key] = std::move(list);
    } else if (key == "port") {
      const int32_t port = v.is_number_integer() ? v.get<int32_t>() : std::atoi(text(match, "port").c_str());
      if (!scope.parent_port || *scope.parent_port != port) {
        return omit(field + " " + std::to_string(port) +
                    ": HTTPRoute restricts ports per parentRef, not per match; split the route "
                    "into one HTTPRoute per port");
      }
    } else if (key == "gateways") {
      bool mesh = false;
      for (const auto& g : v) {
        mesh = mesh || (g.is_string() && g.get<std::string>() == "mesh");
      }
      if (!mesh) {
        return omit(field + " " + compact(v) + ": applies to ingress gateways only; it stays in "
                            "the VirtualService");
      }
      r.comments.push_back({"", field + " " + compact(v) + ": only its mesh part is kept."});
    } else if (key == "name" || key == "statPrefix") {
      r.gaps.push_back(field + " (dropped)");
      r.comments.push_back({"", field + " \"" + text(match, key.c_str()) +
                                    "\" has no HTTPRoute equivalent; dropped (it does not "
                                    "change which requests match)."});
    } else {
      // sourceLabels, sourceNamespace, withoutHeaders, authority, scheme, and anything newer:
      // conditions HTTPRoute cannot express. Dropping them would widen the match.
      return omit(field + " " + compact(v) + " has no HTTPRoute equivalent");
    }
  }
  // Field order as in the Gateway API documentation.
  ordered_json base = ordered_json::object();
  for (const char* k : {"path", "headers", "queryParams"}) {
    if (m.contains(k)) {
      base[k] = m[k];
    }
  }
  if (methods.empty()) {
    r.matches.push_back(base);
  }
  for (const std::string& method : methods) {
    ordered_json one = base;
    one["method"] = method;
    r.matches.push_back(std::move(one));
  }
  return r;
}

}  // namespace ambient_guard::translation
