// AdmissionReview v1 on the wire and the pipeline behind /validate and /mutate, checked against
// what the kube-apiserver verifies (spec/admission-contract.md §0-§1, §5).
#include "webhook/admission.h"

#include <gtest/gtest.h>

#include "model/base64.h"
#include "model/state_file.h"
#include "rules/rule.h"
#include "tests/testlib/testlib.h"
#include "webhook/admission_pipeline.h"

namespace ambient_guard {
namespace {

using nlohmann::json;

std::string example(const std::string& name) {
  auto text = readFileText(std::string(AG_SOURCE_DIR) + "/examples/admission/" + name);
  EXPECT_TRUE(text.ok()) << text.error();
  return text.ok() ? *text : std::string();
}

json review(const json& request) {
  return {{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", request}};
}

TEST(Admission, ParsesARequest) {
  auto req = parseAdmissionReview(example("deny-peerauthentication-disable.json"));
  ASSERT_TRUE(req.ok()) << req.error();
  EXPECT_EQ(req->uid, "0b5f6c2e-8c1d-4d57-9a2e-5d0c3f2a1b01");
  EXPECT_EQ(req->kind.group, "security.istio.io");
  EXPECT_EQ(req->kind.kind, "PeerAuthentication");
  EXPECT_EQ(req->operation, "CREATE");
  EXPECT_EQ(req->ns, "shop");
  EXPECT_EQ(req->username, "alice@example.com");
  EXPECT_EQ(req->groups, (std::vector<std::string>{"shop-devs", "system:authenticated"}));
  EXPECT_FALSE(req->dry_run);
  EXPECT_TRUE(req->object.is_object());
  EXPECT_TRUE(req->old_object.is_null());
}

TEST(Admission, RejectsWhatIsNotAnAdmissionReviewV1) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{", "malformed JSON"},
      {"[]", "not an AdmissionReview"},
      {R"({"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"a"}})",
       "expected apiVersion admission.k8s.io/v1"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})", "no request"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}})",
       "request.uid is missing"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"a","operation":"PATCH"}})",
       "request.operation"},
  };
  for (const auto& [body, error] : cases) {
    SCOPED_TRACE(body);
    auto req = parseAdmissionReview(body);
    ASSERT_FALSE(req.ok());
    EXPECT_NE(req.error().find(error), std::string::npos) << req.error();
  }
}

TEST(Admission, NamespaceRequestsConcernTheNamespaceItself) {
  auto req = parseAdmissionReview(example("namespace-enroll.json"));
  ASSERT_TRUE(req.ok()) << req.error();
  EXPECT_EQ(req->ns, req->name);  // spec §5.1
  auto change = decodeChange(*req);
  ASSERT_TRUE(change.ok()) << change.error();
  ASSERT_TRUE(change->has_value());
  EXPECT_EQ((*change)->op, Operation::kUpdate);
  ASSERT_TRUE((*change)->object.has_value());
  ASSERT_TRUE((*change)->old_object.has_value());
  EXPECT_EQ(metaOf(*(*change)->object).name, "bookinfo");
}

TEST(Admission, DeleteReadsOldObject) {
  json r = {{"uid", "u"},
            {"kind", {{"group", "security.istio.io"}, {"version", "v1"}, {"kind", "PeerAuthentication"}}},
            {"name", "p"},
            {"namespace", "shop"},
            {"operation", "DELETE"},
            {"object", nullptr},
            {"oldObject",
             {{"apiVersion", "security.istio.io/v1"},
              {"kind", "PeerAuthentication"},
              {"metadata", {{"name", "p"}, {"namespace", "shop"}}},
              {"spec", {{"mtls", {{"mode", "STRICT"}}}}}}},
            {"dryRun", false}};
  auto req = parseAdmissionReview(review(r).dump());
  ASSERT_TRUE(req.ok()) << req.error();
  auto change = decodeChange(*req);
  ASSERT_TRUE(change.ok() && change->has_value());
  EXPECT_EQ((*change)->op, Operation::kDelete);
  EXPECT_FALSE((*change)->object.has_value());
  ASSERT_TRUE((*change)->old_object.has_value());
  EXPECT_EQ(keyOf(*(*change)->old_object).str(), "PeerAuthentication shop/p");
}

TEST(Admission, ObjectsWithoutNamespaceTakeTheRequestNamespace) {
  json r = {{"uid", "u"},
            {"kind", {{"group", "security.istio.io"}, {"version", "v1"}, {"kind", "PeerAuthentication"}}},
            {"namespace", "shop"},
            {"operation", "CREATE"},
            {"object",
             {{"apiVersion", "security.istio.io/v1"},
              {"kind", "PeerAuthentication"},
              {"metadata", {{"name", "p"}}}}}};
  auto req = parseAdmissionReview(review(r).dump());
  ASSERT_TRUE(req.ok());
  auto change = decodeChange(*req);
  ASSERT_TRUE(change.ok() && change->has_value());
  EXPECT_EQ(metaOf(*(*change)->object).ns, "shop");
}

TEST(Admission, SubresourcesAndUnknownKindsAreNotReviewed) {
  json status = {{"uid", "u"},
                 {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Namespace"}}},
                 {"subResource", "status"},
                 {"operation", "UPDATE"},
                 {"object", {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "a"}}}}}};
  auto req = parseAdmissionReview(review(status).dump());
  ASSERT_TRUE(req.ok());
  auto change = decodeChange(*req);
  ASSERT_TRUE(change.ok());
  EXPECT_FALSE(change->has_value());

  json lease = {{"uid", "u"},
                {"kind", {{"group", "coordination.k8s.io"}, {"version", "v1"}, {"kind", "Lease"}}},
                {"operation", "CREATE"},
                {"object",
                 {{"apiVersion", "coordination.k8s.io/v1"}, {"kind", "Lease"}, {"metadata", {{"name", "a"}}}}}};
  req = parseAdmissionReview(review(lease).dump());
  ASSERT_TRUE(req.ok());
  change = decodeChange(*req);
  ASSERT_TRUE(change.ok());
  EXPECT_FALSE(change->has_value());
}

TEST(Admission, ResponseShapes) {
  AdmissionResponse allow;
  allow.uid = "u-1";
  EXPECT_EQ(json::parse(serializeAdmissionResponse(allow)),
            json::parse(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",
                            "response":{"uid":"u-1","allowed":true}})"));

  AdmissionResponse deny;
  deny.uid = "u-2";
  deny.allowed = false;
  deny.message = "[a] one\n[b] two";
  deny.warnings = {"[c] careful"};
  deny.audit_annotations = {{"mode", "enforce"}};
  EXPECT_EQ(json::parse(serializeAdmissionResponse(deny)),
            json::parse(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",
              "response":{"uid":"u-2","allowed":false,
                "status":{"code":403,"reason":"Forbidden","message":"[a] one\n[b] two"},
                "warnings":["[c] careful"],"auditAnnotations":{"mode":"enforce"}}})"));

  AdmissionResponse empty_patch;
  empty_patch.uid = "u-3";
  empty_patch.patch = json::array();
  json r = json::parse(serializeAdmissionResponse(empty_patch))["response"];
  EXPECT_FALSE(r.contains("patchType"));
  EXPECT_FALSE(r.contains("patch"));

  AdmissionResponse patch;
  patch.uid = "u-4";
  patch.patch = json::parse(
      R"([{"op":"add","path":"/metadata/labels/istio.io~1dataplane-mode","value":"ambient"}])");
  r = json::parse(serializeAdmissionResponse(patch))["response"];
  EXPECT_EQ(r["patchType"], "JSONPatch");
  // The contract's own example (spec §1.2).
  EXPECT_EQ(r["patch"],
            "W3sib3AiOiJhZGQiLCJwYXRoIjoiL21ldGFkYXRhL2xhYmVscy9pc3Rpby5pb34xZGF0YXBsYW5lLW1vZGUi"
            "LCJ2YWx1ZSI6ImFtYmllbnQifV0=");
}

// The response is written without building a tree; its bytes must be what nlohmann's dump of
// the same object gives (sorted members, escapes, invalid UTF-8 replaced), for every shape.
TEST(Admission, ResponseBytesMatchNlohmannDump) {
  auto reference = [](const AdmissionResponse& resp) {
    json r = json::object();
    r["uid"] = resp.uid;
    r["allowed"] = resp.allowed;
    if (!resp.allowed) {
      r["status"] = {{"code", 403}, {"reason", "Forbidden"}, {"message", resp.message}};
    }
    if (!resp.warnings.empty()) {
      r["warnings"] = resp.warnings;
    }
    if (!resp.audit_annotations.empty()) {
      r["auditAnnotations"] = resp.audit_annotations;
    }
    if (resp.patch.is_array() && !resp.patch.empty()) {
      r["patchType"] = "JSONPatch";
      r["patch"] = base64Encode(resp.patch.dump(-1, ' ', false, json::error_handler_t::replace));
    }
    json review = {{"apiVersion", kAdmissionApiVersion}, {"kind", "AdmissionReview"},
                   {"response", std::move(r)}};
    return review.dump(-1, ' ', false, json::error_handler_t::replace);
  };
  const std::vector<std::string> texts = {
      "", "plain", "quote \" and \\ slash /", "tab\tnewline\n\x01\x1f\x7f", "caf\xc3\xa9 \xe2\x98\x95",
      "bad \xff\xfe utf-8 \xc3", "\xed\xa0\x80 surrogate"};
  for (const auto& t : texts) {
    SCOPED_TRACE(t);
    AdmissionResponse resp;
    resp.uid = t;
    EXPECT_EQ(serializeAdmissionResponse(resp), reference(resp));
    resp.allowed = false;
    resp.message = "[r] " + t;
    resp.warnings = {t, "second " + t};
    resp.audit_annotations = {{"mode", t}, {"decision", "deny"}, {"findings", "[" + t + "]"}};
    resp.patch = json::array({{{"op", "add"}, {"path", "/metadata/labels/a"}, {"value", t}}});
    EXPECT_EQ(serializeAdmissionResponse(resp), reference(resp));
  }
}

// Only the members rules read are decoded: managedFields, however large or odd, is never
// converted (a value there that no decoder accepts does not matter), and repeated keys read the
// last value as the apiserver (Go's encoding/json) does.
TEST(Admission, ManagedFieldsAreNeverReadAndRepeatedKeysTakeTheLast) {
  const std::string body = R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",
    "request":{"uid":"u","kind":{"group":"security.istio.io","version":"v1",
    "kind":"PeerAuthentication"},"namespace":"shop","operation":"CREATE","object":{
    "apiVersion":"security.istio.io/v1","kind":"PeerAuthentication","metadata":{"name":"p",
    "managedFields":[{"manager":"kubectl","fieldsV1":{"f:spec":{"f:mtls":{}}},"x":[1e300,
    18446744073709551615,-9223372036854775808,null,true,{"deep":[[[[{}]]]]}]}],
    "name":"q"},"spec":{"mtls":{"mode":"DISABLE"}}}}})";
  auto req = parseAdmissionReview(body);
  ASSERT_TRUE(req.ok()) << req.error();
  auto change = decodeChange(*req);
  ASSERT_TRUE(change.ok()) << change.error();
  ASSERT_TRUE(change->has_value());
  EXPECT_EQ(keyOf(*(*change)->object).str(), "PeerAuthentication shop/q");
}

TEST(Admission, RequestFieldsRepeatedOrOfAnotherTypeReadAsTheLastOne) {
  // The request is read in one pass: of a repeated member the last one counts, whole (a later
  // userInfo without groups has none), and a member of another type reads as absent.
  const std::string body = R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",
    "request":{"uid":"first","uid":"second","operation":"DELETE","operation":"CREATE",
    "kind":{"group":"g","version":"v","kind":"K"},"kind":{"kind":"PeerAuthentication","group":
    "security.istio.io"},"name":7,"namespace":"a","namespace":"shop",
    "userInfo":{"username":"alice","groups":["x"]},"userInfo":{"groups":["y","z",3],
    "groups":["w"],"username":"bob"},"dryRun":true,"dryRun":"yes","subResource":"status",
    "subResource":null,"object":null,"object":{"apiVersion":"security.istio.io/v1",
    "kind":"PeerAuthentication","metadata":{"name":"p"}},"oldObject":{"a":1},"oldObject":null}})";
  auto req = parseAdmissionReview(body);
  ASSERT_TRUE(req.ok()) << req.error();
  EXPECT_EQ(req->uid, "second");
  EXPECT_EQ(req->operation, "CREATE");
  EXPECT_EQ(req->kind.group, "security.istio.io");
  EXPECT_EQ(req->kind.version, "");
  EXPECT_EQ(req->kind.kind, "PeerAuthentication");
  EXPECT_EQ(req->name, "");
  EXPECT_EQ(req->ns, "shop");
  EXPECT_EQ(req->username, "bob");
  EXPECT_EQ(req->groups, std::vector<std::string>{"w"});
  EXPECT_FALSE(req->dry_run);
  EXPECT_EQ(req->sub_resource, "");
  EXPECT_TRUE(req->object.is_object());
  EXPECT_TRUE(req->old_object.is_null());
  EXPECT_EQ(req->objectName(), "p");

  auto no_uid = parseAdmissionReview(R"({"apiVersion":"admission.k8s.io/v1","kind":
    "AdmissionReview","request":{"uid":"u","operation":"CREATE","uid":5}})");
  ASSERT_FALSE(no_uid.ok());
  EXPECT_NE(no_uid.error().find("request.uid is missing"), std::string::npos) << no_uid.error();
}

TEST(Admission, MalformedBodiesSayWhereAndWhat) {
  for (const auto& [body, want] : std::vector<std::pair<std::string, std::string>>{
           {R"({"apiVersion":"admission.k8s.io/v1","request":{"uid":"u",)", "malformed JSON: "},
           {"{\"a\":\"\xff\"}", "malformed JSON: byte 6: invalid UTF-8"},
           {std::string(300, '[') + std::string(300, ']'), "malformed JSON: byte 256: nesting too deep"},
           {R"({"a":1e999})", "malformed JSON: byte 5: invalid number"},
           {"[]", "the body is not an AdmissionReview object"}}) {
    SCOPED_TRACE(body.substr(0, 80));
    auto req = parseAdmissionReview(body);
    ASSERT_FALSE(req.ok());
    EXPECT_EQ(req.error().rfind(want, 0), 0u) << req.error();
  }
}

TEST(Admission, Base64PadsLikeGo) {
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(base64Encode("f"), "Zg==");
  EXPECT_EQ(base64Encode("fo"), "Zm8=");
  EXPECT_EQ(base64Encode("foo"), "Zm9v");
  EXPECT_EQ(base64Decode(base64Encode("any \xff bytes")), "any \xff bytes");
}

TEST(Admission, AuditAnnotationKeys) {
  EXPECT_TRUE(validAuditAnnotationKey("findings"));
  EXPECT_TRUE(validAuditAnnotationKey("dry-run"));
  EXPECT_TRUE(validAuditAnnotationKey("a.b_c-d"));
  EXPECT_FALSE(validAuditAnnotationKey(""));
  EXPECT_FALSE(validAuditAnnotationKey("a/b"));
  EXPECT_FALSE(validAuditAnnotationKey("-a"));
  EXPECT_FALSE(validAuditAnnotationKey(std::string(64, 'a')));
}

// The pipeline over the bundled demo cluster.
class PipelineTest : public ::testing::Test {
 protected:
  PipelineTest()
      : store_(loadDemo()),
        reviewer_(rules::makeDefaultRules(), rules::MeshSettings{}),
        enforcer_(Config{}, ruleDefaults(reviewer_.rules())),
        pipeline_(reviewer_, enforcer_, store_, &metrics_) {}

  static std::shared_ptr<const Snapshot> loadDemo() {
    std::vector<AnyObject> objects;
    auto loaded = loadFile(std::string(AG_SOURCE_DIR) + "/examples/demo-backup.yaml", objects);
    EXPECT_TRUE(loaded.ok()) << loaded.error();
    return Snapshot::build(std::move(objects));
  }

  json validate(const std::string& body, const std::string& want_decision) {
    AdmissionOutcome out = pipeline_.validate(body);
    EXPECT_EQ(out.http_status, 200) << out.body;
    EXPECT_EQ(out.decision, want_decision);
    json r = json::parse(out.body);
    EXPECT_EQ(r["apiVersion"], "admission.k8s.io/v1");
    EXPECT_EQ(r["kind"], "AdmissionReview");
    const json& resp = r["response"];
    EXPECT_FALSE(resp.contains("patch")) << "a validating webhook must never patch";
    EXPECT_FALSE(resp.contains("patchType"));
    if (resp.contains("warnings")) {
      for (const auto& w : resp["warnings"]) {
        EXPECT_LE(w.get<std::string>().size(), 120u);
        EXPECT_EQ(w.get<std::string>().find('\n'), std::string::npos);
      }
    }
    if (resp.contains("auditAnnotations")) {
      for (const auto& [k, v] : resp["auditAnnotations"].items()) {
        EXPECT_TRUE(validAuditAnnotationKey(k)) << k;
      }
    }
    return resp;
  }

  StateStore store_;
  Reviewer reviewer_;
  Metrics metrics_;
  Enforcer enforcer_;
  AdmissionPipeline pipeline_;
};

TEST_F(PipelineTest, DeniesWithStatusAndRuleIds) {
  json resp = validate(example("deny-peerauthentication-disable.json"), "denied");
  EXPECT_EQ(resp["uid"], "0b5f6c2e-8c1d-4d57-9a2e-5d0c3f2a1b01");
  EXPECT_EQ(resp["allowed"], false);
  EXPECT_EQ(resp["status"]["code"], 403);
  EXPECT_EQ(resp["status"]["reason"], "Forbidden");
  EXPECT_EQ(resp["status"]["message"].get<std::string>().rfind("[peer-authentication-disable] ", 0),
            0u);
  const json findings = json::parse(resp["auditAnnotations"]["findings"].get<std::string>());
  ASSERT_FALSE(findings.empty());
  EXPECT_EQ(findings[0]["rule"], "peer-authentication-disable");
  EXPECT_EQ(findings[0]["enforced"], true);
  EXPECT_EQ(resp["auditAnnotations"]["decision"], "deny");
}

TEST_F(PipelineTest, WarnsAndAllows) {
  json resp = validate(example("warn-virtualservice.json"), "warned");
  EXPECT_EQ(resp["allowed"], true);
  EXPECT_FALSE(resp.contains("status"));
  ASSERT_TRUE(resp.contains("warnings"));
  EXPECT_EQ(resp["warnings"][0].get<std::string>().rfind("[virtualservice-needs-httproute] ", 0),
            0u);
  // The full text is in the audit annotations.
  EXPECT_NE(resp["auditAnnotations"]["findings"].get<std::string>().find("HTTPRoute"),
            std::string::npos);

  resp = validate(example("allow-authorizationpolicy.json"), "allowed");
  EXPECT_EQ(resp, json::parse(R"({"uid":"0b5f6c2e-8c1d-4d57-9a2e-5d0c3f2a1b03","allowed":true})"));
}

TEST_F(PipelineTest, DryRunRequestsAreAnsweredAndMarked) {
  json body = json::parse(example("deny-peerauthentication-disable.json"));
  body["request"]["dryRun"] = true;
  json resp = validate(body.dump(), "denied");
  EXPECT_EQ(resp["allowed"], false);
  EXPECT_EQ(resp["auditAnnotations"]["dry-run"], "true");
}

TEST_F(PipelineTest, ExemptNamespacesAreRecordedNotEnforced) {
  json body = json::parse(example("deny-peerauthentication-disable.json"));
  body["request"]["namespace"] = "kube-system";
  body["request"]["object"]["metadata"]["namespace"] = "kube-system";
  AdmissionOutcome out = pipeline_.validate(body.dump());
  EXPECT_EQ(out.decision, "exempted");
  json resp = json::parse(out.body)["response"];
  EXPECT_EQ(resp["allowed"], true);
  EXPECT_EQ(resp["auditAnnotations"]["exempted"], "namespace kube-system");
}

TEST_F(PipelineTest, EnrollmentIsReviewedAsTheNamespace) {
  // As sent, the namespace keeps istio-injection=enabled: the sidecar wins, nothing is ambient
  // yet, and only the dual labels are reported.
  json resp = validate(example("namespace-enroll.json"), "warned");
  EXPECT_EQ(resp["warnings"][0].get<std::string>().rfind("[dual-dataplane-labels]", 0), 0u);
  // After /mutate removed the injection label (the validating phase sees the final object),
  // bookinfo really becomes ambient, and its selector AuthorizationPolicy with HTTP
  // methods/paths and no waypoint is denied.
  json body = json::parse(example("namespace-enroll.json"));
  body["request"]["object"]["metadata"]["labels"].erase("istio-injection");
  resp = validate(body.dump(), "denied");
  EXPECT_NE(resp["status"]["message"].get<std::string>().find("[l7-policy-without-waypoint]"),
            std::string::npos);
}

TEST_F(PipelineTest, MalformedBodyIs400) {
  AdmissionOutcome out = pipeline_.validate("{not json");
  EXPECT_EQ(out.http_status, 400);
  EXPECT_EQ(out.decision, "invalid");
  out = pipeline_.mutate("{not json");
  EXPECT_EQ(out.http_status, 400);
}

// /mutate reads the enablement selectors from the Reviewer the rules use, per request: with a
// custom selector, its label enrolls and dataplane-mode=ambient alone does not.
TEST(Pipeline, MutateFollowsTheReviewersEnablementSelectors) {
  auto parsed = ambient::parseEnablementSelectors(
      "[{namespaceSelector: {matchLabels: {platform.example.com/mesh: ambient}}}]",
      "--ambient-enablement-selector");
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  rules::MeshSettings mesh;
  mesh.enablement = *parsed;
  StateStore store(Snapshot::empty());
  Metrics metrics;
  Reviewer reviewer(rules::makeDefaultRules(), mesh);
  Enforcer enforcer(Config{}, ruleDefaults(reviewer.rules()));
  AdmissionPipeline pipeline(reviewer, enforcer, store, &metrics);
  json review = json::parse(example("namespace-enroll.json"));
  json& object = review["request"]["object"];
  ASSERT_TRUE(object["metadata"]["labels"].contains("istio-injection"));
  // The example's dataplane-mode=ambient is not enrollment for this istio-cni.
  AdmissionOutcome out = pipeline.mutate(review.dump());
  EXPECT_EQ(out.decision, "allowed") << out.body;
  object["metadata"]["labels"]["platform.example.com/mesh"] = "ambient";
  out = pipeline.mutate(review.dump());
  EXPECT_EQ(out.decision, "patched") << out.body;
  json resp = json::parse(out.body)["response"];
  EXPECT_EQ(resp["auditAnnotations"]["mutation"], "enroll");
  json patch = json::parse(base64Decode(resp["patch"].get<std::string>()).value_or(""));
  EXPECT_FALSE(object.patch(patch)["metadata"]["labels"].contains("istio-injection"));
}

TEST_F(PipelineTest, MutateEnrollmentPatchesOnlyNamespaces) {
  AdmissionOutcome out = pipeline_.mutate(example("namespace-enroll.json"));
  EXPECT_EQ(out.decision, "patched");
  json resp = json::parse(out.body)["response"];
  EXPECT_EQ(resp["allowed"], true);
  EXPECT_EQ(resp["patchType"], "JSONPatch");
  json patch = json::parse(base64Decode(resp["patch"].get<std::string>()).value_or(""));
  json object = json::parse(example("namespace-enroll.json"))["request"]["object"];
  json patched = object.patch(patch);
  EXPECT_FALSE(patched["metadata"]["labels"].contains("istio-injection"));
  EXPECT_EQ(resp["auditAnnotations"]["mutation"], "enroll");

  out = pipeline_.mutate(example("deny-peerauthentication-disable.json"));
  EXPECT_EQ(out.decision, "allowed");
  resp = json::parse(out.body)["response"];
  EXPECT_FALSE(resp.contains("patchType"));
  EXPECT_FALSE(resp.contains("patch"));
}

}  // namespace
}  // namespace ambient_guard
