// What list and watch read, parsed once (simdjson) and decoded from the parsed document: noise
// real objects carry (managedFields, the last-applied annotation) changes nothing and is not
// kept, malformed pages and Statuses are errors or zeros, hostile nesting is refused.
#include "kube/watch_event.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "model/decode.h"

namespace ambient_guard {
namespace {

using nlohmann::json;

constexpr const char* kLastApplied = "kubectl.kubernetes.io/last-applied-configuration";

// A Pod (its decoder keeps some annotations) as the API server sends it, with or without the
// two fields that dominate real objects.
json pod(bool noisy) {
  json p = json::parse(R"({
    "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"},
                 "annotations": {"sidecar.istio.io/inject": "false"}},
    "spec": {"containers": [{"name": "web", "image": "web:1"}], "nodeName": "n1"},
    "status": {"phase": "Running"}})");
  if (noisy) {
    json fields = json::object();
    for (int i = 0; i < 2000; ++i) {
      fields["f:field-" + std::to_string(i)] = {{".", json::object()}, {"f:x", json::object()}};
    }
    p["metadata"]["managedFields"] = json::array(
        {{{"manager", "kubectl"}, {"operation", "Update"}, {"fieldsV1", fields}}});
    json copy = p;
    copy["metadata"].erase("managedFields");
    p["metadata"]["annotations"][kLastApplied] = copy.dump();
  }
  return p;
}

// Returns the Pod `item` decodes to (as a core list item: no apiVersion/kind).
Pod decodedPod(const JsonValue& item) {
  auto decoded = decodeListItem(item, "v1", "Pod");
  EXPECT_TRUE(decoded.ok()) << decoded.error();
  if (!decoded.ok() || !decoded->has_value()) {
    ADD_FAILURE() << "not decoded";
    return Pod{};
  }
  return std::get<Pod>(**decoded);
}

void expectSamePod(const Pod& got, const Pod& want) {
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.ns, want.ns);
  EXPECT_EQ(got.labels.str(), want.labels.str());
  EXPECT_EQ(got.annotations.str(), want.annotations.str());
  EXPECT_EQ(got.node, want.node);
  EXPECT_EQ(got.phase, want.phase);
  ASSERT_EQ(got.spec.containers.size(), want.spec.containers.size());
  EXPECT_FALSE(got.annotations.has(kLastApplied));
}

std::string listPage(const json& items) {
  return json{{"kind", "PodList"},
              {"apiVersion", "v1"},
              {"metadata", {{"resourceVersion", "42"}, {"continue", "next"}}},
              {"items", items}}
      .dump();
}

TEST(ListPage, ManagedFieldsAndLastAppliedDecodeAsWithoutThemAndAreNotKept) {
  const std::string body = listPage(json::array({pod(true), pod(false)}));
  ASSERT_GT(body.size(), 60000u);
  JsonParser parser;
  auto page = parseListPage(body, 0, parser);
  ASSERT_TRUE(page.ok()) << page.error();
  EXPECT_EQ(page->resource_version, "42");
  EXPECT_EQ(page->continue_token, "next");
  EXPECT_FALSE(page->deep);
  ASSERT_EQ(page->items.size(), 2u);
  const Pod noisy = decodedPod(page->items[0]);
  const Pod clean = decodedPod(page->items[1]);
  expectSamePod(noisy, clean);
  EXPECT_EQ(noisy.annotations.str(), "sidecar.istio.io/inject=false");
}

TEST(WatchEvent, ManagedFieldsAndLastAppliedDecodeAsWithoutThemAndAreNotKept) {
  auto noisy = parseWatchEvent(json{{"type", "ADDED"}, {"object", pod(true)}}.dump());
  auto clean = parseWatchEvent(json{{"type", "ADDED"}, {"object", pod(false)}}.dump());
  ASSERT_TRUE(noisy.ok()) << noisy.error();
  ASSERT_TRUE(clean.ok()) << clean.error();
  EXPECT_EQ(noisy->type, "ADDED");
  expectSamePod(decodedPod(noisy->object), decodedPod(clean->object));
}

TEST(ListPage, WhatIsNotAListIsTheSameError) {
  JsonParser parser;
  for (const char* body : {R"({"items":{}})", R"({"items":"x"})", R"({"items":1})",
                           R"({"items":true})", R"([])", R"("items")", "{", "", "not json",
                           "{\"items\":[]} trailing"}) {
    SCOPED_TRACE(body);
    auto page = parseListPage(body, 0, parser);
    ASSERT_FALSE(page.ok());
    EXPECT_EQ(page.error(), "the response is not a List");
  }
  for (const char* body : {R"({"items":null})", R"({})", R"({"items":[]})"}) {
    SCOPED_TRACE(body);
    auto page = parseListPage(body, 0, parser);
    ASSERT_TRUE(page.ok()) << page.error();
    EXPECT_EQ(page->items.size(), 0u);
  }
}

TEST(ListPage, RemainingItemCountIsACountOrZero) {
  JsonParser parser;
  struct Case {
    const char* count;
    uint64_t want;
  };
  for (const Case& c : {Case{"3", 3}, Case{"0", 0}, Case{"-3", 0}, Case{R"("3")", 0},
                        Case{"3.5", 0}, Case{"null", 0}, Case{"18446744073709551615",
                                                             18446744073709551615u}}) {
    SCOPED_TRACE(c.count);
    auto page = parseListPage(
        std::string(R"({"metadata":{"remainingItemCount":)") + c.count + R"(},"items":[]})", 0,
        parser);
    ASSERT_TRUE(page.ok()) << page.error();
    EXPECT_EQ(page->remaining_items, c.want);
  }
}

TEST(ListPage, ParsesInPlaceFromAPaddedBody) {
  std::string body = listPage(json::array({pod(false)}));
  body.reserve(body.size() + 64);
  JsonParser parser;
  auto page = parseListPage(body, body.capacity() - body.size(), parser);
  ASSERT_TRUE(page.ok()) << page.error();
  std::string().swap(body);  // the document holds its own copy of the strings
  EXPECT_EQ(decodedPod(page->items[0]).name, "web-1");
}

TEST(ListPage, AnIntegerPastSixtyFourBitsDoesNotFailThePage) {
  // Go writes a float64 below 1e21 without exponent; nlohmann read it as a double.
  const std::string body = R"({"metadata":{"resourceVersion":"7"},"items":[
    {"metadata":{"name":"a","namespace":"shop"},"spec":{"x":100000000000000000000,
     "y":-9223372036854775809,"s":"100000000000000000000","u":18446744073709551615}},
    {"metadata":{"name":"b","namespace":"shop"},"spec":{}}]})";
  JsonParser parser;
  auto page = parseListPage(body, 0, parser);
  ASSERT_TRUE(page.ok()) << page.error();
  ASSERT_EQ(page->items.size(), 2u);
  const JsonValue spec = *page->items[0].find("spec");
  EXPECT_TRUE(spec.find("x")->is_number_float());
  EXPECT_DOUBLE_EQ(spec.find("x")->get<double>(), 1e20);
  EXPECT_TRUE(spec.find("y")->is_number_float());
  EXPECT_EQ(spec.find("s")->string_view(), "100000000000000000000");
  EXPECT_TRUE(spec.find("u")->is_number_unsigned());  // fits: unchanged
  // A number no double holds stays an error, as nlohmann had it.
  EXPECT_FALSE(parseListPage(R"({"items":[{"x":1e999}]})", 0, parser).ok());
}

TEST(WatchEvent, AParserOfItsOwnIsReusedAndTrimmedWithoutTouchingParsedEvents) {
  JsonParser parser;
  json big = pod(false);
  big["metadata"]["annotations"]["big"] = std::string(2 << 20, 'x');
  auto first = parseWatchEvent(json{{"type", "ADDED"}, {"object", big}}.dump(), &parser);
  ASSERT_TRUE(first.ok()) << first.error();
  parser.trim(1 << 20);  // the buffers go; the event's document is its own
  auto second = parseWatchEvent(json{{"type", "MODIFIED"}, {"object", pod(false)}}.dump(), &parser);
  ASSERT_TRUE(second.ok()) << second.error();
  EXPECT_EQ(first->object.find("metadata")->find("annotations")->find("big")->string_view().size(),
            size_t{2} << 20);
  expectSamePod(decodedPod(first->object), decodedPod(second->object));
}

TEST(WatchEvent, ErrorStatusCodeIsAnIntegerFrom0To999OrZero) {
  struct Case {
    const char* code;
    int want;
  };
  for (const Case& c : {Case{"410", 410}, Case{R"("410")", 0}, Case{"410.0", 0}, Case{"-5", 0},
                        Case{"1000", 0}, Case{"18446744073709551615", 0}, Case{"null", 0},
                        Case{"[410]", 0}, Case{"0", 0}, Case{"999", 999}}) {
    SCOPED_TRACE(c.code);
    auto event = parseWatchEvent(std::string(R"({"type":"ERROR","object":{"kind":"Status",)") +
                                 R"("reason":"Expired","message":"too old","code":)" + c.code +
                                 "}}");
    ASSERT_TRUE(event.ok()) << event.error();
    EXPECT_EQ(event->type, "ERROR");
    EXPECT_EQ(event->code, c.want);
    EXPECT_EQ(event->reason, "Expired");
    EXPECT_EQ(event->message, "too old");
  }
  // Without the code at all.
  auto event = parseWatchEvent(R"({"type":"ERROR","object":{"kind":"Status"}})");
  ASSERT_TRUE(event.ok()) << event.error();
  EXPECT_EQ(event->code, 0);
  EXPECT_EQ(event->reason, "");
}

TEST(WatchEvent, MalformedEventsAreErrors) {
  struct Case {
    const char* line;
    const char* error_prefix;
  };
  for (const Case& c : {Case{"\x01\x02 not json", "malformed watch event"},
                        Case{R"([{"type":"ADDED"}])", "malformed watch event"},
                        Case{R"({"type":"ADDED","object":{})", "malformed watch event"},
                        Case{R"({"type":"ADDED"})", "watch event without an object"},
                        Case{R"({"type":"ADDED","object":[]})", "watch event without an object"},
                        Case{R"({"type":"ADDED","object":"x"})",
                             "watch event without an object"}}) {
    SCOPED_TRACE(c.line);
    auto event = parseWatchEvent(c.line);
    ASSERT_FALSE(event.ok());
    EXPECT_EQ(event.error().rfind(c.error_prefix, 0), 0u) << event.error();
  }
}

TEST(WatchEvent, BookmarksAndDeletionsKeepTheirMetadata) {
  auto bookmark = parseWatchEvent(
      R"({"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"12"}}})");
  ASSERT_TRUE(bookmark.ok()) << bookmark.error();
  EXPECT_EQ(bookmark->type, "BOOKMARK");
  EXPECT_EQ(bookmark->object.find("metadata")->find("resourceVersion")->string_view(), "12");
  EXPECT_EQ(bookmark->code, 0);
}

std::string nested(int depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

TEST(WatchEvent, DeepNestingIsRefusedNotACrash) {
  // Deeper than an object may be but readable: parsed, flagged, and the object refused.
  auto deep = parseWatchEvent(R"({"type":"ADDED","object":{"metadata":{"name":"a"},"spec":)" +
                              nested(400) + "}}");
  ASSERT_TRUE(deep.ok()) << deep.error();
  EXPECT_TRUE(deep->deep);
  EXPECT_FALSE(withinDepth(deep->object, kMaxObjectDepth));
  // Within the limit: not flagged.
  auto shallow = parseWatchEvent(R"({"type":"ADDED","object":{"spec":)" + nested(200) + "}}");
  ASSERT_TRUE(shallow.ok()) << shallow.error();
  EXPECT_FALSE(shallow->deep);
  EXPECT_TRUE(withinDepth(shallow->object, kMaxObjectDepth));
  // Past what is read at all: an error, and a truncated one too.
  for (const std::string& line :
       {R"({"type":"ADDED","object":{"spec":)" + nested(100000) + "}}",
        R"({"type":"ADDED","object":{"spec":)" + std::string(100000, '[')}) {
    auto event = parseWatchEvent(line);
    ASSERT_FALSE(event.ok());
    EXPECT_EQ(event.error().rfind("malformed watch event", 0), 0u) << event.error();
  }
}

TEST(ListPage, DeepNestingIsRefusedNotACrash) {
  JsonParser parser;
  auto page = parseListPage(
      R"({"items":[{"metadata":{"name":"deep"},"spec":)" + nested(400) +
          R"(},{"metadata":{"name":"fine","namespace":"shop"},"spec":{}}]})",
      0, parser);
  ASSERT_TRUE(page.ok()) << page.error();
  EXPECT_TRUE(page->deep);
  EXPECT_FALSE(withinDepth(page->items[0], kMaxObjectDepth));
  EXPECT_TRUE(withinDepth(page->items[1], kMaxObjectDepth));
  auto hostile = parseListPage(R"({"items":[)" + nested(100000) + "]}", 0, parser);
  ASSERT_FALSE(hostile.ok());
  EXPECT_EQ(hostile.error(), "the response is not a List");
}

TEST(StatusMessage, IsTheStatusMessageOrTheBodysStart) {
  EXPECT_EQ(statusMessage(R"({"kind":"Status","message":"forbidden: no"})"), "forbidden: no");
  EXPECT_EQ(statusMessage("plain text"), "plain text");
  EXPECT_EQ(statusMessage(std::string(300, 'x')), std::string(200, 'x'));
  EXPECT_EQ(statusMessage(R"({"message":7})"), R"({"message":7})");
}

}  // namespace
}  // namespace ambient_guard
