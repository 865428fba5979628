#include "rules/rule.h"

namespace ambient_guard::rules {

std::string_view actionName(Action action) {
  switch (action) {
    case Action::kDeny:
      return "deny";
    case Action::kWarn:
      return "warn";
    case Action::kDryrun:
      return "dryrun";
    case Action::kOff:
      return "off";
  }
  return "off";
}

std::optional<Action> parseAction(std::string_view text) {
  for (Action a : {Action::kDeny, Action::kWarn, Action::kDryrun, Action::kOff}) {
    if (actionName(a) == text) {
      return a;
    }
  }
  return std::nullopt;
}

std::string Finding::identity() const {
  return rule + "|" + object.str() + "|" + ns + "|" + field;
}

std::string oneLine(std::string_view text, size_t limit) {
  std::string out;
  out.reserve(std::min(text.size(), limit));
  for (unsigned char c : text) {
    out.push_back((c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c));
  }
  if (out.size() <= limit) {
    return out;
  }
  // Cut on a UTF-8 boundary, leaving room for "...", so the result is at most `limit` bytes.
  size_t cut = limit > 3 ? limit - 3 : 0;
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  out.resize(cut);
  out += "...";
  return out;
}

}  // namespace ambient_guard::rules
