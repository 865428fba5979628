#include "model/label_selector.h"

#include <gtest/gtest.h>

namespace ambient_guard {
namespace {

KubeLabelSelector selector(Labels match, std::vector<KubeSelectorRequirement> exprs) {
  KubeLabelSelector s;
  s.match_labels = std::move(match);
  s.expressions = std::move(exprs);
  return s;
}

TEST(LabelSelector, EmptyMatchesEverything) {
  const KubeLabelSelector s;
  EXPECT_TRUE(selectorEmpty(s));
  EXPECT_TRUE(selectorMatches(s, Labels()));
  EXPECT_TRUE(selectorMatches(s, Labels(Labels::Items{{"a", "b"}})));
  EXPECT_EQ(selectorString(s), "");
}

TEST(LabelSelector, MatchLabelsAndEveryOperator) {
  const KubeLabelSelector s = selector(Labels(Labels::Items{{"team", "web"}}),
                                       {{"tier", "In", {"gold", "silver"}},
                                        {"istio.io/dataplane-mode", "NotIn", {"none"}},
                                        {"app", "Exists", {}},
                                        {"legacy", "DoesNotExist", {}}});
  EXPECT_FALSE(selectorEmpty(s));
  EXPECT_TRUE(
      selectorMatches(s, Labels(Labels::Items{{"team", "web"}, {"tier", "gold"}, {"app", "x"}})));
  // NotIn holds when the key is absent, fails on a listed value.
  EXPECT_FALSE(selectorMatches(
      s,
      Labels(Labels::Items{
          {"team", "web"}, {"tier", "gold"}, {"app", "x"}, {"istio.io/dataplane-mode", "none"}})));
  EXPECT_FALSE(
      selectorMatches(s, Labels(Labels::Items{{"team", "web"}, {"tier", "bronze"}, {"app", "x"}})));
  EXPECT_FALSE(selectorMatches(s, Labels(Labels::Items{{"team", "web"}, {"tier", "gold"}})));
  EXPECT_FALSE(selectorMatches(
      s, Labels(Labels::Items{{"team", "web"}, {"tier", "gold"}, {"app", "x"}, {"legacy", ""}})));
  EXPECT_FALSE(selectorMatches(s, Labels(Labels::Items{{"tier", "gold"}, {"app", "x"}})));
  EXPECT_EQ(selectorString(s),
            "team=web,tier in (gold,silver),istio.io/dataplane-mode notin (none),app,!legacy");
}

TEST(LabelSelector, UnknownOperatorMatchesNothing) {
  const KubeLabelSelector s = selector(Labels(), {{"a", "Gt", {"1"}}});
  EXPECT_FALSE(selectorMatches(s, Labels(Labels::Items{{"a", "2"}})));
  EXPECT_FALSE(selectorMatches(s, Labels()));
}

}  // namespace
}  // namespace ambient_guard
