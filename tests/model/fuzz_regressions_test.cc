// Inputs the fuzz targets (fuzz/, scripts/fuzz.sh) found, kept as regression tests. Each one
// hung, crashed or blew up memory before its fix.
#include <gtest/gtest.h>

#include "model/state_file.h"

namespace ambient_guard {
namespace {

// fuzz_state_loader: yaml-cpp 0.7 emits null events for ever on this malformed flow sequence;
// the loader kept appending them (a hang, then out of memory). Now it stops with an error.
TEST(FuzzRegressions, StateLoaderStopsOnAParserThatNeverEnds) {
  auto text = readFileText(std::string(AG_TESTDATA_DIR) + "/fuzz/state-loader-parser-loop.yaml");
  ASSERT_TRUE(text.ok()) << text.error();
  std::vector<AnyObject> objects;
  auto loaded = loadText(*text, "loop.yaml", objects);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().find("loop.yaml:"), std::string::npos) << loaded.error();
}

// Nested aliases double at every level: 2^30 values from a few hundred bytes.
TEST(FuzzRegressions, StateLoaderRefusesAliasesThatExpandTooFar) {
  std::string text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: laughs}\na0: &a0 [x, x]\n";
  for (int i = 1; i <= 30; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev + ", " + prev +
            "]\n";
  }
  std::vector<AnyObject> objects;
  auto loaded = loadText(text, "laughs.yaml", objects);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().find("aliases"), std::string::npos) << loaded.error();
  // A few aliases, as real manifests use them, still load.
  objects.clear();
  auto fine = loadText("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels: &l "
                       "{team: a}\n  annotations: *l\n",
                       "fine.yaml", objects);
  ASSERT_TRUE(fine.ok()) << fine.error();
  EXPECT_EQ(objects.size(), 1u);
}

}  // namespace
}  // namespace ambient_guard
