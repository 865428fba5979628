// parseJson (simdjson) read through JsonValue against nlohmann::json::parse: the same values for
// valid documents (types included), errors that say what and where for invalid ones.
#include "model/json_value.h"

#include <filesystem>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/state_file.h"

namespace ambient_guard {
namespace {

using nlohmann::json;

// dump() tells int from unsigned from float, so equal dumps mean equal values and types.
void expectSame(std::string_view text) {
  SCOPED_TRACE(std::string(text.substr(0, 200)));
  json want;
  try {
    want = json::parse(text);
  } catch (const json::exception& e) {
    FAIL() << "nlohmann rejects: " << e.what();
  }
  auto got = parseJson(text);
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_EQ(toNlohmann(got->root()).dump(), want.dump());
}

TEST(JsonValue, MatchesNlohmannOnExamples) {
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(std::string(AG_SOURCE_DIR) + "/examples")) {
    if (entry.path().extension() == ".json") {
      auto text = readFileText(entry.path().string());
      ASSERT_TRUE(text.ok());
      expectSame(*text);
    }
  }
}

TEST(JsonValue, MatchesNlohmannOnEdgeCases) {
  for (const char* text : {
           "0", "-0", "1", "-1", "9223372036854775807", "-9223372036854775808",
           "9223372036854775808", "18446744073709551615", "1.5", "-1.5e10", "1E-5", "1e308", "1e-400", "0.1",
           "true", "false", "null", "\"\"", "[]", "{}", " [ 1 , 2 ] ", "\n{\"a\":\t[]}\r\n",
           R"("\"\\\/\b\f\n\r\t")", R"("\u0041\u00e9\u20ac\ud83d\ude00")", R"("caf\u00E9 ☕")",
           R"({"a":1,"a":2})", R"({"k":{"x":[{"y":null}]}})", R"([[[[[]]]]])",
       }) {
    expectSame(text);
  }
}

TEST(JsonValue, RejectsWhatNlohmannRejects) {
  for (const char* text : {
           "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "[1 2]", "01", "1.",
           ".5", "-", "+1", "1e", "1e+", "tru", "nul", "\"abc", "\"a\nb\"", R"("\x")",
           R"("\u12")", R"("\ud83d")", R"("\ude00")", R"("\ud83d\u0041")", "1e400", "[1] x",
           "{\"a\":1}}", "NaN", "Infinity",
       }) {
    SCOPED_TRACE(text);
    EXPECT_THROW(json::parse(text), json::exception);
    EXPECT_FALSE(parseJson(text).ok());
  }
}

// Random documents with every kind of value, dumped with and without ASCII escaping.
json randomValue(std::mt19937_64& rng, int depth) {
  std::uniform_int_distribution<int> pick(0, depth > 4 ? 5 : 7);
  auto randomString = [&] {
    static const std::vector<std::string> parts = {
        "a", "Z", "istio.io/rev", " ", "\"", "\\", "/", "\n", "\t", "\x01", "\x1f", "é", "☕",
        "😀", "~0", "~1", "\xc3\xa9t\xc3\xa9"};
    std::string s;
    const int n = static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) {
      s += parts[rng() % parts.size()];
    }
    return s;
  };
  switch (pick(rng)) {
    case 0:
      return nullptr;
    case 1:
      return rng() % 2 == 0;
    case 2:
      return static_cast<int64_t>(rng());
    case 3:
      return static_cast<uint64_t>(rng());
    case 4:
      return std::ldexp(static_cast<double>(static_cast<int64_t>(rng() % 2000001) - 1000000),
                        static_cast<int>(rng() % 80) - 40);
    case 5:
      return randomString();
    case 6: {
      json arr = json::array();
      const int n = static_cast<int>(rng() % 5);
      for (int i = 0; i < n; ++i) {
        arr.push_back(randomValue(rng, depth + 1));
      }
      return arr;
    }
    default: {
      json obj = json::object();
      const int n = static_cast<int>(rng() % 5);
      for (int i = 0; i < n; ++i) {
        obj[randomString()] = randomValue(rng, depth + 1);
      }
      return obj;
    }
  }
}

TEST(JsonValue, MatchesNlohmannOnRandomDocuments) {
  std::mt19937_64 rng(20240501);
  for (int i = 0; i < 3000; ++i) {
    const json doc = randomValue(rng, 0);
    expectSame(doc.dump());
    expectSame(doc.dump(2, ' ', /*ensure_ascii=*/true));
  }
}

// Each error names what is wrong and, where simdjson's on-demand walk can tell, the byte.
TEST(JsonValue, ErrorsSayWhatAndWhere) {
  struct Case {
    std::string text;
    std::string error;
  };
  const std::vector<Case> cases = {
      {std::string(257, '[') + std::string(257, ']'), "byte 256: nesting too deep"},
      {R"({"a":[1,2)", "invalid structure"},                  // truncated
      {R"({"a":"x)", "unterminated string"},                   // truncated in a string
      {"{\"a\":\"\xff\"}", "byte 6: invalid UTF-8"},           // bad byte
      {"{\"a\":\"\xc3\"}", "byte 6: invalid UTF-8"},           // truncated sequence
      {"{\"a\":\"\xed\xa0\x80\"}", "byte 6: invalid UTF-8"},   // encoded surrogate
      {R"({"a":1e400})", "byte 5: invalid number"},                   // huge double
      {R"({"a":123456789012345678901234567890})", "invalid number"},  // past uint64
      {R"({"a":-9223372036854775809})", "invalid number"},     // past int64
      {R"({"a":tru})", "invalid literal"},
      {R"({"a":1} x)", "invalid structure"},
      {"", "no JSON value"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto got = parseJson(c.text);
    ASSERT_FALSE(got.ok());
    EXPECT_NE(got.error().find(c.error), std::string::npos) << got.error();
  }
  auto big = parseJson("[1]", JsonParseOptions{.max_bytes = 2});
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().find("too large"), std::string::npos) << big.error();
  // The limit is the number of nested arrays/objects: exactly 256 passes.
  EXPECT_TRUE(parseJson(std::string(256, '[') + std::string(256, ']')).ok());
}

TEST(JsonValue, ErrorPositionPointsAtTheFault) {
  auto got = parseJson(R"({"a":[1,2,],"b":0})");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().rfind("byte ", 0), 0u) << got.error();
}

// Of repeated keys the last one wins, as in nlohmann and Go's encoding/json (the apiserver): the
// webhook must read the value the apiserver stores.
TEST(JsonValue, RepeatedKeysLastWins) {
  auto got = parseJson(R"({"a":1,"b":2,"a":3})");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->root().find("a"));
  EXPECT_EQ(got->root().find("a")->get<int64_t>(), 3);
  EXPECT_EQ(toNlohmann(got->root()), json::parse(R"({"a":3,"b":2})"));
}

TEST(JsonValue, ViewsReadLikeNlohmann) {
  auto got = parseJson(R"({"s":"x","n":null,"i":-2,"u":18446744073709551615,"d":1.5,"t":true,
    "l":[1,"2"],"o":{}})");
  ASSERT_TRUE(got.ok());
  const JsonValue r = got->root();
  EXPECT_EQ(r.size(), 8u);
  EXPECT_TRUE(*r.find("s") == "x");
  EXPECT_TRUE(r.find("n")->is_null());
  EXPECT_FALSE(r.find("missing"));
  EXPECT_TRUE(r.find("u")->is_number_unsigned());
  EXPECT_TRUE(r.find("i")->is_number_integer());
  EXPECT_FALSE(r.find("d")->is_number_integer());
  EXPECT_EQ(r.find("d")->dump(), "1.5");
  EXPECT_EQ((*r.find("l"))[1].get<std::string>(), "2");
  EXPECT_THROW((*r.find("l"))[2], JsonTypeError);
  EXPECT_THROW(r.find("s")->get<int64_t>(), JsonTypeError);
  EXPECT_TRUE(r.find("o")->empty());
  EXPECT_FALSE(r.find("s")->find("x"));  // find on a non-object: nothing, no throw
  EXPECT_TRUE(JsonValue().is_null());
  EXPECT_EQ(JsonDocument().root().size(), 0u);
}

// Indexing in order is linear overall (a decoder loop over a hostile list must not be
// quadratic), and indexing backwards or into another array still reads the right element.
TEST(JsonValue, IndexingReadsTheRightElements) {
  std::string text = "[";
  const size_t n = 200000;
  for (size_t i = 0; i < n; ++i) {
    text += (i ? "," : "") + std::to_string(i);
  }
  text += "]";
  auto doc = parseJson(text);
  ASSERT_TRUE(doc.ok());
  const JsonValue a = doc->root();
  ASSERT_EQ(a.size(), n);
  uint64_t sum = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    sum += a[i].get<uint64_t>();
  }
  EXPECT_EQ(sum, n * (n - 1) / 2);
  auto other = parseJson("[[10,11],[20,21,22]]");
  ASSERT_TRUE(other.ok());
  const JsonValue o = other->root();
  EXPECT_EQ(o[1][2].get<int64_t>(), 22);
  EXPECT_EQ(o[0][1].get<int64_t>(), 11);
  EXPECT_EQ(o[1][0].get<int64_t>(), 20);
  EXPECT_EQ(a[5].get<int64_t>(), 5);
  EXPECT_EQ(a[n - 1].get<int64_t>(), static_cast<int64_t>(n - 1));
  EXPECT_EQ(a[3].get<int64_t>(), 3);
  EXPECT_THROW(a[n], JsonTypeError);
}

// Views stay valid when their document is moved (the document is on the heap), and a nested
// parse (a JSON string inside a document) does not disturb the outer document.
TEST(JsonValue, ViewsSurviveMovesAndNestedParses) {
  auto outer = parseJson(R"({"values":"{\"a\":[1,2]}","k":"v"})");
  ASSERT_TRUE(outer.ok());
  const JsonValue values = *outer->root().find("values");
  JsonDocument moved = std::move(*outer);
  auto inner = parseJson(values.string_view());
  ASSERT_TRUE(inner.ok());
  EXPECT_EQ(inner->root().find("a")->size(), 2u);
  EXPECT_EQ(moved.root().find("k")->get<std::string>(), "v");
}

TEST(JsonValue, BigIntegersReadAsDoublesWhenAsked) {
  JsonParseOptions widen;
  widen.big_integers_as_doubles = true;
  // Read as nlohmann reads them: the same values and types, integers that fit unchanged.
  for (const char* text :
       {"100000000000000000000", "-9223372036854775809", "[18446744073709551616,1]",
        R"({"a":"\"100000000000000000000","b":[99999999999999999999999,-1,1e3]})",
        "[18446744073709551615,-9223372036854775808,12345678901234567890123.5]"}) {
    SCOPED_TRACE(text);
    auto doc = parseJson(text, widen);
    ASSERT_TRUE(doc.ok()) << doc.error();
    EXPECT_EQ(doc->root().dump(), json::parse(text).dump());
  }
  // Refused by default (as before), and a double out of range is an error either way.
  EXPECT_FALSE(parseJson("100000000000000000000").ok());
  EXPECT_FALSE(parseJson("[100000000000000000000,1e400]", widen).ok());
  EXPECT_FALSE(parseJson("[100000000000000000000", widen).ok());
}

}  // namespace
}  // namespace ambient_guard
