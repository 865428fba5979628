#include <spdlog/spdlog.h>

#include "kube/watch_internal.h"
#include "model/decode.h"

namespace ambient_guard {

using Clock = std::chrono::steady_clock;

namespace {

// Pages up to this size (a few hundred objects of a few KiB) keep the page parser's buffers.
constexpr size_t kKeptPageParserBytes = 8 << 20;
// Events up to this size keep the event parser's buffers (objects are a few KiB).
constexpr size_t kKeptEventParserBytes = 1 << 20;
// The most items reserved ahead on a list's remainingItemCount.
constexpr uint64_t kMaxAnnouncedItems = 1 << 20;

// Returns the metadata of `obj`, or null when it has none (or not an object).
JsonValue metadataOf(const JsonValue& obj) {
  JsonPtr meta = obj.find("metadata");
  return meta != nullptr && meta->is_object() ? *meta : JsonValue();
}

}  // namespace

namespace watch_internal {

// Labels rules read on objects other than Namespaces are all in Istio's domains
// (istio.io/use-waypoint, istio.io/waypoint-for, ...). Keeping only those is what lets 100k
// objects fit in a few tens of MiB: chart and app labels are most of a Service's metadata.
bool ruleLabel(std::string_view key) {
  auto slash = key.find('/');
  if (slash == std::string_view::npos) {
    return false;
  }
  std::string_view prefix = key.substr(0, slash);
  return prefix == "istio.io" || prefix.ends_with(".istio.io");
}

void compactLabels(AnyObject& obj) {
  if (kindOf(obj) == Kind::kNamespace) {
    return;  // allowedRoutes namespace selectors may use any Namespace label
  }
  Labels& labels = metaOf(obj).labels;
  size_t keep = 0;
  for (const auto& kv : labels.items()) {
    keep += ruleLabel(kv.first) ? 1 : 0;
  }
  if (keep == labels.size()) {
    return;
  }
  std::vector<std::pair<std::string, std::string>> kept;
  kept.reserve(keep);
  for (const auto& kv : labels.items()) {
    if (ruleLabel(kv.first)) {
      kept.push_back(kv);
    }
  }
  labels = Labels(std::move(kept));
}

}  // namespace watch_internal

using namespace watch_internal;  // NOLINT: this file implements the internals

std::optional<AnyObject> KubeWatch::Impl::Worker::decode(const JsonValue& item, bool deep) {
  if (deep && !withinDepth(item, kMaxObjectDepth)) {
    spdlog::warn("watch {}: skipping object: nesting deeper than {}", kindName(res_.kind),
                 kMaxObjectDepth);
    return std::nullopt;
  }
  // Items of built-in lists carry no apiVersion/kind (the List has them); CRD items and watch
  // event objects do.
  auto decoded = decodeListItem(item, res_.apiVersion(), kindName(res_.kind));
  if (!decoded.ok()) {
    // A malformed object must not block the others; the apiserver's own validation makes
    // this rare (e.g. a CRD without a schema).
    spdlog::warn("watch {}: skipping object: {}", kindName(res_.kind), decoded.error());
    return std::nullopt;
  }
  if (!decoded->has_value()) {
    return std::nullopt;
  }
  AnyObject obj = std::move(**decoded);
  if (owner_.options_.compact_labels) {
    compactLabels(obj);
  }
  return obj;
}

Outcome KubeWatch::Impl::Worker::list() {
  std::vector<AnyObject> objects;
  std::string cont;
  std::string rv;
  do {
    std::string target =
        res_.path() + "?limit=" + std::to_string(owner_.options_.page_size) + res_.selectorQuery();
    if (!cont.empty()) {
      target += "&continue=" + queryEscape(cont);
    }
    ApiResponse r = client_.get(target, owner_.options_.list_read_timeout);
    if (owner_.stopping()) {
      return Outcome::kStopped;
    }
    if (r.status == 0) {
      setError("list " + res_.path() + ": " + r.error);
      return Outcome::kError;
    }
    if (r.status == 404 && cont.empty()) {
      return Outcome::kMissing;
    }
    if (r.status == 403 && res_.optional) {
      setError("HTTP 403: " + statusMessage(r.body));
      return Outcome::kForbidden;
    }
    if (r.status != 200) {
      setError("list " + res_.path() + ": HTTP " + std::to_string(r.status) + ": " +
               statusMessage(r.body));
      // 410: the continue token expired (~5 min on etcd); the caller starts a new list.
      return r.status == 410 ? Outcome::kGone
                             : (r.status == 401 ? Outcome::kUnauthorized : Outcome::kError);
    }
    std::lock_guard<std::mutex> gate(owner_.decode_mu_);
    // The document holds copies of the strings: the body can go before the objects are decoded.
    auto page = parseListPage(r.body, r.body.capacity() - r.body.size(), owner_.page_parser_);
    std::string().swap(r.body);
    if (!page.ok()) {
      setError("list " + res_.path() + ": " + page.error());
      return Outcome::kError;
    }
    rv = std::move(page->resource_version);
    cont = std::move(page->continue_token);
    if (const size_t n = page->items.size(); n > 0) {
      // Room for the whole kind at once when the page says how many items follow: growing
      // (copies of up to twice the objects) and fitting at the end (another copy) are what
      // memory peaks at for the largest kind. Otherwise grow geometrically: reserving the
      // exact size page after page moves every object listed so far once per page (quadratic
      // in the size of the kind). The count is an estimate and the server's word: bounded.
      if (objects.capacity() < objects.size() + n) {
        const size_t announced =
            objects.size() + n + std::min<uint64_t>(page->remaining_items, kMaxAnnouncedItems);
        objects.reserve(std::max(2 * objects.capacity(), announced));
      }
      for (const JsonValue item : page->items) {
        if (auto obj = decode(item, page->deep)) {
          objects.push_back(std::move(*obj));
        }
      }
    }
    // A page far larger than the usual ones leaves no buffers its size behind.
    owner_.page_parser_.trim(kKeptPageParserBytes);
  } while (!cont.empty());
  objects.shrink_to_fit();
  {
    // Lists are rare once the kinds are watched: keep no buffers the size of a page between them.
    std::lock_guard<std::mutex> gate(owner_.decode_mu_);
    owner_.page_parser_.trim(0);
  }
  // The status first: whoever sees the listed objects in a snapshot sees this list's status too.
  {
    std::lock_guard<std::mutex> lock(mu_);
    status_.resource_version = rv;
    status_.lists++;
    status_.listed = true;
    status_.missing = false;
    status_.forbidden = false;
  }
  owner_.push(Update{Update::Type::kReplace, res_.kind, std::move(objects), std::nullopt, {}});
  owner_.touch(res_.kind);
  return Outcome::kOk;
}

bool KubeWatch::Impl::Worker::handleEvent(std::string_view line, Outcome& verdict,
                                          std::string& error) {
  auto parsed = parseWatchEvent(line, &event_parser_);
  event_parser_.trim(kKeptEventParserBytes);
  if (!parsed.ok()) {
    error = parsed.error();
    verdict = Outcome::kError;
    return false;
  }
  const std::string& type = parsed->type;
  const JsonValue& obj = parsed->object;
  if (type == "ERROR") {
    // Usually a Status with code 410 "too old resource version" (reason Expired or Gone). The
    // code is read only when it is an integer: a malformed Status is an error, not a crash.
    const int code = parsed->code;
    const std::string& reason = parsed->reason;
    error = "watch ERROR " + std::to_string(code) + " " + reason + ": " + parsed->message;
    verdict =
        (code == 410 || reason == "Expired" || reason == "Gone") ? Outcome::kGone : Outcome::kError;
    return false;
  }
  std::string rv = stringMember(metadataOf(obj), "resourceVersion");
  if (type == "ADDED" || type == "MODIFIED") {
    if (auto decoded = decode(obj, parsed->deep)) {
      owner_.push(Update{Update::Type::kPut, res_.kind, {}, std::move(decoded), {}});
    }
  } else if (type == "DELETED") {
    const JsonValue meta = metadataOf(obj);
    ObjectKey key{res_.kind, stringMember(meta, "namespace"), stringMember(meta, "name")};
    if (res_.kind == Kind::kNamespace || res_.kind == Kind::kGatewayClass) {
      key.ns.clear();
    }
    owner_.push(Update{Update::Type::kRemove, res_.kind, {}, std::nullopt, std::move(key)});
  } else if (type != "BOOKMARK") {
    spdlog::warn("watch {}: ignoring event type \"{}\"", kindName(res_.kind), type);
  }
  if (!rv.empty()) {
    setResourceVersion(std::move(rv));
  }
  owner_.touch(res_.kind);
  return true;
}

Outcome KubeWatch::Impl::Worker::watch() {
  const KubeWatchOptions& opt = owner_.options_;
  std::uniform_int_distribution<int> timeout_dist(
      opt.watch_timeout_min_s, std::max(opt.watch_timeout_min_s, opt.watch_timeout_max_s));
  const int timeout = timeout_dist(rng_);
  const std::string target = res_.path() + "?watch=true&allowWatchBookmarks=true" +
                             res_.selectorQuery() +
                             "&resourceVersion=" + queryEscape(resourceVersion()) +
                             "&timeoutSeconds=" + std::to_string(timeout);
  constexpr size_t kMaxEventBytes = 64 << 20;
  WatchEventFramer framer(kMaxEventBytes);
  std::optional<Outcome> verdict;
  std::string error;
  const auto began = Clock::now();
  bool any_event = false;
  // Events are newline-delimited, but chunk boundaries are not event boundaries: keep the
  // unterminated tail for the next chunk.
  auto on_data = [&](std::string_view data) {
    if (owner_.stopping()) {
      verdict = Outcome::kStopped;
      return false;
    }
    const auto framed = framer.append(data, [&](std::string_view line) {
      Outcome v = Outcome::kOk;
      any_event = true;
      if (!handleEvent(line, v, error)) {
        verdict = v;
        return false;
      }
      return true;
    });
    if (framed == WatchEventFramer::Status::kTooLarge) {
      error = "watch event larger than 64 MiB";
      verdict = Outcome::kError;
    }
    return framed == WatchEventFramer::Status::kOk;
  };
  // The read timeout outlasts timeoutSeconds so that the server, not us, ends a quiet watch.
  ApiResponse r = client_.stream(target, std::chrono::seconds(timeout + 30), on_data);
  if (owner_.stopping()) {
    return Outcome::kStopped;
  }
  if (verdict) {
    setError(error);
    return *verdict;
  }
  if (r.status == 0 || (r.status >= 200 && r.status < 300 && !r.error.empty())) {
    setError("watch " + res_.path() + ": connection lost: " + r.error);
    return Outcome::kError;
  }
  if (r.status != 200) {
    setError("watch " + res_.path() + ": HTTP " + std::to_string(r.status) + ": " +
             statusMessage(r.body));
    switch (r.status) {
      case 410:
        return Outcome::kGone;
      case 404:
        return Outcome::kMissing;
      case 403:
        // RBAC changed under a running watch: relist, which decides absent or an error.
        return res_.optional ? Outcome::kGone : Outcome::kError;
      case 401:
        return Outcome::kUnauthorized;
      default:
        return Outcome::kError;
    }
  }
  if (framer.partial()) {
    setError("watch " + res_.path() + ": stream ended inside an event");
    return Outcome::kError;
  }
  // A clean end (timeoutSeconds): resume at once, unless the server ends watches immediately.
  if (!any_event && Clock::now() - began < std::chrono::seconds(1)) {
    return Outcome::kError;
  }
  // The server ended the watch cleanly: nothing changed that it did not send, so the state is
  // current as of now.
  owner_.touch(res_.kind);
  return Outcome::kEnded;
}

void KubeWatch::Impl::Worker::countRestart(const std::string& why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    status_.restarts++;
  }
  owner_.restarts_counter_[static_cast<int>(res_.kind)]->Increment();
  spdlog::info("watch {}: restarting: {}", kindName(res_.kind), why);
}

void KubeWatch::Impl::Worker::run() {
  // Nothing the API server sends may end the process: an exception (a bug) restarts the loop
  // with a fresh list after a backoff, and the kind stays stale until then.
  while (!owner_.stopping()) {
    try {
      loop();
      break;
    } catch (const std::exception& e) {
      countRestart(std::string("internal error: ") + e.what());
    } catch (...) {
      countRestart("internal error");
    }
    if (!owner_.sleepFor(backoff_.next())) {
      break;
    }
  }
  std::lock_guard<std::mutex> lock(owner_.stop_mu_);
  done_ = true;
  owner_.stop_cv_.notify_all();
}

void KubeWatch::Impl::Worker::loop() {
  bool need_list = true;
  bool missing_reported = false;
  bool forbidden_reported = false;
  while (!owner_.stopping()) {
    if (need_list) {
      Outcome o = list();
      if (o == Outcome::kStopped) {
        break;
      }
      if (o == Outcome::kOk) {
        need_list = false;
        backoff_.reset();
        published_missing_ = false;
        missing_reported = forbidden_reported = false;
      } else if (o == Outcome::kMissing || o == Outcome::kForbidden) {
        // Both leave the kind empty ("not known" to the rules) without holding readiness back.
        const bool forbidden = o == Outcome::kForbidden;
        if (!forbidden && !missing_reported) {
          spdlog::warn(
              "{} is not served (404): its CRD is probably not installed; retrying "
              "every {} s without holding readiness back",
              res_.path(), owner_.options_.missing_retry.count() / 1000.0);
          missing_reported = true;
        } else if (forbidden && !forbidden_reported) {
          spdlog::warn(
              "{} is forbidden ({}): the rules that read {}s treat them as unknown; grant "
              "get, list and watch on them (the Role ambient-guard-istio-control-plane of "
              "deploy/base/rbac.yaml); retrying every {} s without holding readiness back",
              res_.path(), status().last_error, kindName(res_.kind),
              owner_.options_.missing_retry.count() / 1000.0);
          forbidden_reported = true;
        }
        {
          std::lock_guard<std::mutex> lock(mu_);
          status_.missing = !forbidden;
          status_.forbidden = forbidden;
          status_.listed = true;
          status_.last_error = forbidden ? status_.last_error : "not served (404)";
        }
        if (!published_missing_) {
          owner_.push(Update{Update::Type::kMissing, res_.kind, {}, std::nullopt, {}});
          published_missing_ = true;
        }
        if (!owner_.sleepFor(owner_.options_.missing_retry)) {
          break;
        }
        continue;
      } else {
        countRestart(status().last_error);
        if (!owner_.sleepFor(backoff_.next())) {
          break;
        }
        continue;
      }
    }
    Outcome o = watch();
    switch (o) {
      case Outcome::kStopped:
        break;
      case Outcome::kEnded:
        backoff_.reset();
        continue;
      case Outcome::kGone:
      case Outcome::kMissing:
        need_list = true;  // relist and replace: deletions in the gap are not replayed
        [[fallthrough]];
      default:
        countRestart(status().last_error);
        if (!owner_.sleepFor(backoff_.next())) {
          break;
        }
        continue;
    }
    break;
  }
}

}  // namespace ambient_guard
