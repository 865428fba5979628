// dual-dataplane-labels through the Reviewer: Namespace writes (the sidecar wins over ambient,
// invalid dataplane-mode values), pre-existing marking, deletes and the pre-flight.
#include "rules/dual_dataplane_labels.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "rules/reviewer.h"
#include "tests/rules/rule_test_util.h"
#include "tests/testlib/testlib.h"

namespace ambient_guard {
namespace {

using rules::Action;
using testing::createOf;
using testing::deleteOf;
using testing::Expect;
using testing::expectFindings;
using testing::ofRule;
using testing::stateFromYaml;
using testing::updateOf;

constexpr std::string_view kRule = "dual-dataplane-labels";

constexpr const char* kCluster = R"(
apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: mixed, labels: {istio-injection: enabled, istio.io/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: mixed}
spec: {selector: {app: web}}
)";

std::string ns(const std::string& name, const std::string& labels) {
  return "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + name + ", labels: " + labels +
         "}\n";
}

const std::string kModeField = "metadata.labels[istio.io/dataplane-mode]";

TEST(DualDataplaneLabels, NamespaceWrites) {
  struct Case {
    std::string name;
    std::string labels;  // of Namespace "shop", created
    std::vector<Expect> want;
  };
  const std::vector<Case> cases = {
      {"istio-injection=enabled and ambient: the sidecar wins",
       "{istio-injection: enabled, istio.io/dataplane-mode: ambient}",
       {{.object = "Namespace shop",
         .field = "metadata.labels",
         .action = Action::kWarn,
         .fragments = {"has more than one type of injection labels [istio-injection=enabled "
                       "istio.io/dataplane-mode=ambient], which may lead to undefined behavior "
                       "(IST0123)",
                       "The sidecar wins", "`kubectl label namespace shop istio-injection-`",
                       "kubectl rollout restart deployment -n shop"},
         .ns = "shop",
         .summary = {"the sidecar wins; remove istio-injection"}}}},
      {"istio.io/rev and ambient: the sidecar wins",
       "{istio.io/rev: canary, istio.io/dataplane-mode: ambient}",
       {{.object = "Namespace shop",
         .field = "metadata.labels",
         .action = Action::kWarn,
         .fragments = {"[istio.io/rev=canary istio.io/dataplane-mode=ambient]",
                       "`kubectl label namespace shop istio.io/rev-`"},
         .summary = {"remove istio.io/rev"}}}},
      {"istio-injection=disabled and ambient",
       "{istio-injection: disabled, istio.io/dataplane-mode: ambient}",
       {}},
      {"istio.io/rev blocked by istio-injection=disabled, and ambient",
       "{istio.io/rev: canary, istio-injection: disabled, istio.io/dataplane-mode: ambient}",
       {}},
      {"ambient only", "{istio.io/dataplane-mode: ambient}", {}},
      {"none", "{istio.io/dataplane-mode: none}", {}},
      {"sidecar only", "{istio-injection: enabled}", {}},
      {"invalid dataplane-mode \"Ambient\"",
       "{istio.io/dataplane-mode: Ambient}",
       {{.object = "Namespace shop",
         .field = kModeField,
         .action = Action::kDeny,
         .fragments = {"istio.io/dataplane-mode=\"Ambient\"", "case-sensitive",
                       "`kubectl label namespace shop istio.io/dataplane-mode=ambient "
                       "--overwrite`"},
         .summary = {"invalid istio.io/dataplane-mode \"Ambient\""}}}},
      {"invalid dataplane-mode \"enabled\"",
       "{istio.io/dataplane-mode: enabled}",
       {{.object = "Namespace shop", .field = kModeField, .action = Action::kDeny}}},
      {"invalid value with injection: only the invalid value (not ambient, so not mixed)",
       "{istio-injection: enabled, istio.io/dataplane-mode: Ambient}",
       {{.object = "Namespace shop", .field = kModeField, .action = Action::kDeny}}},
  };
  const Reviewer reviewer = testing::defaultReviewer();
  auto state = stateFromYaml(kCluster);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    // As a new namespace, and as the relabelling of the existing sidecar namespace "shop".
    expectFindings(
        ofRule(reviewer.review(*state, createOf(ns("fresh", c.labels))), kRule),
        [&] {
          std::vector<Expect> want = c.want;
          for (auto& w : want) {
            w.object = "Namespace fresh";
            w.fragments.clear();
            w.summary.clear();
            if (!w.ns.empty()) {
              w.ns = "fresh";
            }
          }
          return want;
        }(),
        kRule);
    expectFindings(ofRule(reviewer.review(*state, updateOf(ns("shop", "{istio-injection: enabled}"),
                                                           ns("shop", c.labels))),
                          kRule),
                   c.want, kRule);
  }
}

TEST(DualDataplaneLabels, LifecycleAndPreExisting) {
  struct Case {
    std::string name;
    std::function<Change()> change;
    std::vector<Expect> want;
  };
  const std::string mixed =
      ns("mixed", "{istio-injection: enabled, istio.io/dataplane-mode: ambient}");
  const std::vector<Case> cases = {
      {"unrelated label edit on a mixed namespace: pre-existing",
       [&] {
         return updateOf(
             mixed,
             ns("mixed", "{istio-injection: enabled, istio.io/dataplane-mode: ambient, team: x}"));
       },
       {{.object = "Namespace mixed",
         .field = "metadata.labels",
         .action = Action::kWarn,
         .pre_existing = true}}},
      {"removing istio-injection fixes it",
       [&] { return updateOf(mixed, ns("mixed", "{istio.io/dataplane-mode: ambient}")); },
       {}},
      {"deleting the namespace", [&] { return deleteOf(mixed); }, {}},
      {"a Service write in the mixed namespace is not this rule's subject",
       [&] {
         return createOf(
             "apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: mixed}\n"
             "spec: {selector: {app: api}}\n");
       },
       {}},
  };
  const Reviewer reviewer = testing::defaultReviewer();
  auto state = stateFromYaml(kCluster);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    expectFindings(ofRule(reviewer.review(*state, c.change()), kRule), c.want, kRule);
  }
}

TEST(DualDataplaneLabels, PreflightReviewNamespace) {
  struct Case {
    std::string name;
    std::string ns;
    std::vector<Expect> want;
  };
  // The what-if enrollment removes the injection labels, so only the namespace as it is counts.
  const std::vector<Case> cases = {
      {"mixed namespace",
       "mixed",
       {{.object = "Namespace mixed", .field = "metadata.labels", .action = Action::kWarn}}},
      {"sidecar namespace", "shop", {}},
      {"namespace the cluster does not have", "ghost", {}},
  };
  const Reviewer reviewer = testing::defaultReviewer();
  auto state = stateFromYaml(std::string(kCluster) + "---\n" +
                             ns("bad", "{istio.io/dataplane-mode: Ambient}"));
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    expectFindings(ofRule(reviewer.reviewNamespace(*state, c.ns), kRule), c.want, kRule);
  }
  expectFindings(ofRule(reviewer.reviewNamespace(*state, "bad"), kRule),
                 {{.object = "Namespace bad", .field = kModeField, .action = Action::kDeny}},
                 kRule);
}

}  // namespace
}  // namespace ambient_guard
