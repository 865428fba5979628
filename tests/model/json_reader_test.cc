// The fast JSON reader against nlohmann::json::parse: the same values for valid documents (types
// included), errors for invalid ones, and managedFields left out on request.
#include "model/json_reader.h"

#include <filesystem>
#include <random>

#include <gtest/gtest.h>

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
  auto got = readJson(text);
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_EQ(got->dump(), want.dump());
}

TEST(JsonReader, MatchesNlohmannOnExamples) {
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(std::string(AG_SOURCE_DIR) + "/examples")) {
    if (entry.path().extension() == ".json") {
      auto text = readFileText(entry.path().string());
      ASSERT_TRUE(text.ok());
      expectSame(*text);
    }
  }
}

TEST(JsonReader, MatchesNlohmannOnEdgeCases) {
  for (const char* text : {
           "0", "-0", "1", "-1", "9223372036854775807", "-9223372036854775808",
           "9223372036854775808", "18446744073709551615", "18446744073709551616",
           "-9223372036854775809", "1.5", "-1.5e10", "1E-5", "1e308", "1e-400", "0.1",
           "true", "false", "null", "\"\"", "[]", "{}", " [ 1 , 2 ] ", "\n{\"a\":\t[]}\r\n",
           R"("\"\\\/\b\f\n\r\t")", R"("\u0041\u00e9\u20ac\ud83d\ude00")", R"("caf\u00E9 ☕")",
           R"({"a":1,"a":2})", R"({"k":{"x":[{"y":null}]}})", R"([[[[[]]]]])",
       }) {
    expectSame(text);
  }
}

TEST(JsonReader, RejectsWhatNlohmannRejects) {
  for (const char* text : {
           "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "[1 2]", "01", "1.",
           ".5", "-", "+1", "1e", "1e+", "tru", "nul", "\"abc", "\"a\nb\"", R"("\x")",
           R"("\u12")", R"("\ud83d")", R"("\ude00")", R"("\ud83d\u0041")", "1e400", "[1] x",
           "{\"a\":1}}", "NaN", "Infinity",
       }) {
    SCOPED_TRACE(text);
    EXPECT_THROW(json::parse(text), json::exception);
    EXPECT_FALSE(readJson(text).ok());
  }
  EXPECT_FALSE(readJson(std::string(300, '[') + std::string(300, ']')).ok());  // too deep
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

TEST(JsonReader, MatchesNlohmannOnRandomDocuments) {
  std::mt19937_64 rng(20240501);
  for (int i = 0; i < 3000; ++i) {
    const json doc = randomValue(rng, 0);
    expectSame(doc.dump());
    expectSame(doc.dump(2, ' ', /*ensure_ascii=*/true));
  }
}

TEST(JsonReader, DropsManagedFieldsUnderMetadataOnly) {
  const std::string text = R"({"metadata":{"name":"a","managedFields":[{"manager":"kubectl",
    "fieldsV1":{"f:metadata":{}}}],"labels":{"managedFields":"kept"}},
    "spec":{"managedFields":"kept too"}})";
  auto dropped = readJson(text, JsonReadOptions{.drop_managed_fields = true});
  ASSERT_TRUE(dropped.ok()) << dropped.error();
  EXPECT_EQ(*dropped, json::parse(R"({"metadata":{"name":"a","labels":{"managedFields":"kept"}},
    "spec":{"managedFields":"kept too"}})"));
  auto kept = readJson(text);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(*kept, json::parse(text));
  // Dropped members are still checked.
  EXPECT_FALSE(readJson(R"({"metadata":{"managedFields":[1,]}})",
                        JsonReadOptions{.drop_managed_fields = true})
                   .ok());
}

}  // namespace
}  // namespace ambient_guard
