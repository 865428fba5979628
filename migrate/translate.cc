#include "migrate/translate.h"

#include <algorithm>
#include <map>
#include <set>

#include "migrate/translate_internal.h"
#include "model/decode.h"
#include "rules/ambient.h"

namespace ambient_guard {

namespace translation {

ordered_json ordered(const json& j) {
  if (j.is_object()) {
    ordered_json out = ordered_json::object();
    for (const auto& [k, v] : j.items()) {
      out[k] = ordered(v);
    }
    return out;
  }
  if (j.is_array()) {
    ordered_json out = ordered_json::array();
    for (const auto& v : j) {
      out.push_back(ordered(v));
    }
    return out;
  }
  switch (j.type()) {
    case json::value_t::string:
      return j.get<std::string>();
    case json::value_t::boolean:
      return j.get<bool>();
    case json::value_t::number_integer:
      return j.get<int64_t>();
    case json::value_t::number_unsigned:
      return j.get<uint64_t>();
    case json::value_t::number_float:
      return j.get<double>();
    default:
      return nullptr;
  }
}

std::string compact(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

const json* member(const json& j, const char* key) {
  if (!j.is_object()) {
    return nullptr;
  }
  auto it = j.find(key);
  return (it == j.end() || it->is_null()) ? nullptr : &*it;
}

std::string text(const json& j, const char* key) {
  const json* m = member(j, key);
  if (m == nullptr) {
    return "";
  }
  return m->is_string() ? m->get<std::string>() : m->dump();
}

ordered_json cleanMetadata(const json& doc, const std::string& ns) {
  ordered_json meta = ordered_json::object();
  const json* m = member(doc, "metadata");
  meta["name"] = m != nullptr ? text(*m, "name") : "";
  if (!ns.empty()) {
    meta["namespace"] = ns;
  }
  if (m == nullptr) {
    return meta;
  }
  if (const json* labels = member(*m, "labels"); labels != nullptr && !labels->empty()) {
    meta["labels"] = ordered(*labels);
  }
  if (const json* ann = member(*m, "annotations"); ann != nullptr && ann->is_object()) {
    ordered_json kept = ordered_json::object();
    for (const auto& [k, v] : ann->items()) {
      if (k != "kubectl.kubernetes.io/last-applied-configuration") {
        kept[k] = ordered(v);
      }
    }
    if (!kept.empty()) {
      meta["annotations"] = std::move(kept);
    }
  }
  return meta;
}

ordered_json skeleton(const std::string& api_version, const std::string& kind,
                      ordered_json metadata) {
  ordered_json o = ordered_json::object();
  o["apiVersion"] = api_version;
  o["kind"] = kind;
  o["metadata"] = std::move(metadata);
  return o;
}

void addSource(Context& ctx, const json& doc, const ObjectRef& ref, bool superseded) {
  ordered_json original = skeleton(text(doc, "apiVersion"), ref.kind, cleanMetadata(doc, ref.ns));
  if (const json* spec = member(doc, "spec")) {
    original["spec"] = ordered(*spec);
  }
  ctx.out.sources.push_back({ref, std::move(original), superseded});
}

namespace {

void dispatch(Context& ctx, Kind kind, const json& doc, const AnyObject& obj) {
    switch (kind) {
      case Kind::kAuthorizationPolicy:
        translateAuthorizationPolicy(ctx, doc, std::get<AuthorizationPolicy>(obj));
        break;
      case Kind::kRequestAuthentication:
        translateRequestAuthentication(ctx, doc, std::get<RequestAuthentication>(obj));
        break;
      case Kind::kWasmPlugin:
        translateWasmPlugin(ctx, doc, std::get<WasmPlugin>(obj));
        break;
      case Kind::kTrafficExtension:
        translateTrafficExtension(ctx, doc, std::get<TrafficExtension>(obj));
        break;
      case Kind::kPeerAuthentication:
        translatePeerAuthentication(ctx, doc, std::get<PeerAuthentication>(obj));
        break;
      case Kind::kVirtualService:
        translateVirtualService(ctx, doc, std::get<VirtualService>(obj));
        break;
      default:
        break;
    }
}

}  // namespace
}  // namespace translation

void applyDefaultNamespace(std::vector<RawDocument>& docs, const std::string& ns) {
  static const std::set<std::string> kNamespaced = {
      "Service",        "ServiceEntry",     "Gateway",          "HTTPRoute",
      "VirtualService", "DestinationRule",  "EnvoyFilter",      "Sidecar",
      "WasmPlugin",     "AuthorizationPolicy", "PeerAuthentication", "RequestAuthentication",
      "TrafficExtension"};
  for (RawDocument& raw : docs) {
    if (!raw.doc.is_object() || kNamespaced.count(documentKind(raw.doc)) == 0) {
      continue;
    }
    nlohmann::json& meta = raw.doc["metadata"];
    if (meta.is_object() && translation::text(meta, "namespace").empty()) {
      meta["namespace"] = ns;
    }
  }
}

std::string ObjectRef::str() const { return kind + " " + (ns.empty() ? name : ns + "/" + name); }

TranslateResult translate(const std::vector<RawDocument>& inputs, const ClusterView& state,
                          const std::vector<RawDocument>& context,
                          const TranslateOptions& options) {
  using namespace translation;  // NOLINT(google-build-using-namespace): .cc file, own namespace
  TranslateResult out;
  Context ctx{state, context, options, out};
  for (const RawDocument& raw : inputs) {
    if (!raw.doc.is_object()) {
      continue;
    }
    std::optional<Kind> kind = kindFromApi(text(raw.doc, "apiVersion"), documentKind(raw.doc));
    if (!kind) {
      continue;  // Deployments and the like: nothing to translate
    }
    std::vector<RawDocument> one{raw};
    applyDefaultNamespace(one, options.default_namespace);
    const json& doc = one.front().doc;
    const std::string ns = text(doc.value("metadata", json::object()), "namespace");
    if (!options.namespaces.empty() &&
        std::find(options.namespaces.begin(), options.namespaces.end(), ns) ==
            options.namespaces.end()) {
      continue;
    }
    auto decoded = decodeObject(doc, raw.line);
    if (!decoded.ok()) {
      ctx.note(TranslationNote::Level::kWarning, documentKind(doc) + " " + ns,
               "not translated: " + decoded.error());
      continue;
    }
    if (!decoded->has_value()) {
      continue;
    }
    const AnyObject& obj = **decoded;
    try {
      dispatch(ctx, *kind, doc, obj);
    } catch (const nlohmann::json::exception& e) {
      // A field of an unexpected type deep inside a route or rule.
      ctx.note(TranslationNote::Level::kWarning, keyOf(obj).str(),
               std::string("not translated: unexpected value: ") + e.what());
    }
  }
  return out;
}


std::string TranslateResult::yaml() const {
  std::string out;
  for (const TranslatedObject& o : objects) {
    std::string text = writeYaml({o.doc});
    if (!o.commented_out) {
      out += text;
      continue;
    }
    // "---" and then every line as a comment: an empty document, which kubectl skips.
    size_t pos = text.rfind("---\n", 0) == 0 ? 4 : 0;
    out += "---\n";
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      end = end == std::string::npos ? text.size() : end + 1;
      const std::string line = text.substr(pos, end - pos);
      out += line.rfind("#", 0) == 0 || line == "\n" ? line : "#   " + line;
      pos = end;
    }
  }
  return out;
}

nlohmann::ordered_json TranslateResult::list() const {
  nlohmann::ordered_json items = nlohmann::ordered_json::array();
  for (const TranslatedObject& o : objects) {
    if (!o.commented_out) {
      items.push_back(o.doc.value);
    }
  }
  nlohmann::ordered_json l = nlohmann::ordered_json::object();
  l["apiVersion"] = "v1";
  l["kind"] = "List";
  l["items"] = std::move(items);
  return l;
}

std::string TranslateResult::rollbackYaml() const {
  std::string head =
      "Rollback: `kubectl apply -f` this file restores the objects the translation replaced";
  bool created = false;
  for (const TranslatedObject& o : objects) {
    if (!o.replaces && !o.commented_out) {
      head += std::string(created ? "" : ";\nthen delete the objects it created:") + "\n  " +
              o.ref.str();
      created = true;
    }
  }
  std::vector<YamlDocument> docs;
  for (const SourceObject& s : sources) {
    if (!s.superseded) {
      continue;
    }
    YamlDocument d;
    d.value = s.original;
    if (docs.empty()) {
      d.comment("", head);
    }
    d.comment("", "Original " + s.ref.str() + ", saved by ambient-guard translate.");
    docs.push_back(std::move(d));
  }
  return writeYaml(docs);
}

std::string TranslateResult::summary() const {
  size_t replaced = 0;
  size_t commented = 0;
  for (const TranslatedObject& o : objects) {
    replaced += o.replaces ? 1 : 0;
    commented += o.commented_out ? 1 : 0;
  }
  size_t review = 0;
  size_t warnings = 0;
  std::vector<std::string> order;
  std::map<std::string, std::vector<const TranslationNote*>> by_object;
  for (const TranslationNote& n : notes) {
    if (by_object.find(n.object) == by_object.end()) {
      order.push_back(n.object);
    }
    by_object[n.object].push_back(&n);
    review += n.level == TranslationNote::Level::kReview ? 1 : 0;
    warnings += n.level == TranslationNote::Level::kWarning ? 1 : 0;
  }
  std::string out = "ambient-guard translate: " + std::to_string(objects.size() - commented) +
                    " objects written (" + std::to_string(replaced) + " replace their source, " +
                    std::to_string(objects.size() - commented - replaced) + " new)" +
                    (commented > 0 ? ", " + std::to_string(commented) + " commented out" : "") +
                    "; " + std::to_string(review) + " to review, " + std::to_string(warnings) +
                    " warnings\n";
  for (const std::string& obj : order) {
    out += obj + "\n";
    for (const TranslationNote* n : by_object[obj]) {
      const char* tag = n->level == TranslationNote::Level::kWarning  ? "WARNING"
                        : n->level == TranslationNote::Level::kReview ? "REVIEW "
                                                                      : "       ";
      out += "  " + std::string(tag) + " " + n->text + "\n";
    }
  }
  return out;
}

}  // namespace ambient_guard
