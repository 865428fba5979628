// The YAML writer: scalars a YAML reader cannot misread, comments where they are anchored, and
// output that parses back to the same JSON.
#include "model/yaml_writer.h"

#include <gtest/gtest.h>

#include "model/state_file.h"

namespace ambient_guard {
namespace {

using nlohmann::ordered_json;

TEST(YamlWriter, QuotesScalarsThatWouldChangeType) {
  struct Case {
    std::string in;
    std::string out;
  };
  const std::vector<Case> cases = {
      {"reviews", "reviews"},
      {"/api/v1", "/api/v1"},
      {"cluster.local/ns/shop/sa/web", "cluster.local/ns/shop/sa/web"},
      {"true", "\"true\""},
      {"Yes", "\"Yes\""},
      {"off", "\"off\""},
      {"null", "\"null\""},
      {"~", "\"~\""},
      {"8080", "\"8080\""},
      {"1.5s", "\"1.5s\""},
      {"2001-12-14", "\"2001-12-14\""},
      {".inf", "\".inf\""},
      {"-1", "\"-1\""},
      {"", "\"\""},
      {"a: b", "\"a: b\""},
      {"x #y", "\"x #y\""},
      {"*.example.com", "\"*.example.com\""},
      {"/prefix/*", "\"/prefix/*\""},
      {"quote\"and\\back", "\"quote\\\"and\\\\back\""},
      {"line\nbreak", "\"line\\nbreak\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    EXPECT_EQ(yamlScalar(c.in), c.out);
  }
}

TEST(YamlWriter, PlacesCommentsAtTheirAnchors) {
  YamlDocument d;
  d.value = ordered_json::parse(
      R"({"kind":"HTTPRoute","spec":{"rules":[{"matches":[{"path":{"type":"Exact","value":"/a"}}],
          "backendRefs":[{"name":"web","port":80}]},{}]}})");
  d.comment("", "head");
  d.comment("/spec/rules/0", "before the first rule");
  d.comment("/spec/rules/0/backendRefs", "before backendRefs");
  d.comment("/spec/rules/0/$end", "after the first rule's fields");
  d.comment("/spec/rules/1/$end", "inside the empty rule");
  d.comment("/spec/$end", "end of spec\n- a list item");
  EXPECT_EQ(writeYaml({d}), R"(---
# head
kind: HTTPRoute
spec:
  rules:
    # before the first rule
    - matches:
        - path:
            type: Exact
            value: /a
      # before backendRefs
      backendRefs:
        - name: web
          port: 80
      # after the first rule's fields
    - {}
      # inside the empty rule
  # end of spec
  # - a list item
)");
}

TEST(YamlWriter, WrapsLongCommentsAtOneHundredColumns) {
  YamlDocument d;
  d.value = ordered_json{{"a", {{"b", 1}}}};
  std::string long_text;
  for (int i = 0; i < 40; ++i) {
    long_text += "word" + std::to_string(i) + " ";
  }
  d.comment("/a/b", long_text);
  d.comment("/a/b", "- " + long_text);
  const std::string out = writeYaml({d});
  size_t start = 0;
  int lines = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    EXPECT_LE(end - start, 100u) << out.substr(start, end - start);
    start = end + 1;
    ++lines;
  }
  EXPECT_GT(lines, 6);
  EXPECT_NE(out.find("\n  #   word15"), std::string::npos) << out;  // list items hang
}

TEST(YamlWriter, ParsesBackToTheSameJson) {
  const ordered_json v = ordered_json::parse(R"({
    "apiVersion": "v1", "kind": "X", "metadata": {"name": "n", "labels": {"istio.io/rev": "1-24"}},
    "spec": {"empty": {}, "none": [], "nested": [[1, 2], ["a"]], "flag": false, "null": null,
             "weights": [0, 1000000], "fraction": 12.5, "keys": {"8080": {"mode": "STRICT"},
             "with space": "x", "*": "star", "~": "tilde"},
             "text": ["GET", "/info*", "request.headers[x-user]", "", " lead", "trail ", "ünï"]}})");
  YamlDocument d;
  d.value = v;
  d.comment("/spec/nested/0", "comment on a nested list");
  auto docs = parseDocuments(writeYaml({d, d}), "out");
  ASSERT_TRUE(docs.ok()) << docs.error();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[0].doc, nlohmann::json::parse(v.dump()));
  EXPECT_EQ((*docs)[1].doc, nlohmann::json::parse(v.dump()));
}

TEST(YamlWriter, EscapesPointerSegments) {
  EXPECT_EQ(pointerAppend("/metadata/labels", "istio.io/rev"), "/metadata/labels/istio.io~1rev");
  EXPECT_EQ(pointerAppend("", "a~b"), "/a~0b");
  EXPECT_EQ(pointerAppend("/spec/rules", 3), "/spec/rules/3");
}

}  // namespace
}  // namespace ambient_guard
