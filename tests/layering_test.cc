// The tree is the architecture: one folder per layer, dependencies pointing down only.
//
//   cli → webhook, migrate → kube, audit → rules → model
//
// Reads the #include "…" lines of every source file and fails on one that points up or sideways
// (model including rules, rules including kube, kube including audit, migrate including webhook,
// anything including cli, …). Tests follow the layer they mirror: tests/rules/ may include what
// rules/ may, plus the shared fixtures in tests/testlib/.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const std::string kSourceDir = AG_SOURCE_DIR;

// The layers and, for each, the folders its files may include (itself included).
const std::map<std::string, std::set<std::string>>& allowed() {
  static const std::map<std::string, std::set<std::string>> kAllowed = {
      {"model", {"model"}},
      {"rules", {"rules", "model"}},
      {"kube", {"kube", "model"}},
      {"audit", {"audit", "model"}},
      {"webhook", {"webhook", "kube", "audit", "rules", "model"}},
      {"migrate", {"migrate", "kube", "audit", "rules", "model"}},
      {"cli", {"cli", "webhook", "migrate", "kube", "audit", "rules", "model"}},
  };
  return kAllowed;
}

struct Include {
  std::string file;  // relative to the source tree
  int line = 0;
  std::string target;  // e.g. "rules/rule.h"
};

std::vector<Include> includesOf(const fs::path& path) {
  static const std::regex kInclude(R"re(^\s*#\s*include\s*"([^"]+)")re");
  std::vector<Include> out;
  std::ifstream in(path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::smatch m;
    if (std::regex_search(line, m, kInclude)) {
      out.push_back({fs::relative(path, kSourceDir).string(), n, m[1].str()});
    }
  }
  return out;
}

std::vector<fs::path> sourcesUnder(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) {
    return out;
  }
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".h" || ext == ".cc" || ext == ".cpp")) {
      out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string topFolder(const std::string& include) {
  const size_t slash = include.find('/');
  return slash == std::string::npos ? std::string() : include.substr(0, slash);
}

// Returns a line per include of `path` that leaves `may_include` (tests/… paths are checked by
// the caller).
std::vector<std::string> violations(const fs::path& path, const std::set<std::string>& may_include,
                                    const std::string& what) {
  std::vector<std::string> out;
  for (const Include& inc : includesOf(path)) {
    const std::string top = topFolder(inc.target);
    if (top == "tests") {
      continue;
    }
    if (allowed().count(top) != 0 && may_include.count(top) == 0) {
      out.push_back(inc.file + ":" + std::to_string(inc.line) + ": " + what + " includes \"" +
                    inc.target + "\"");
    }
  }
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) {
    s += l + "\n";
  }
  return s;
}

TEST(Layering, EveryLayerIncludesOnlyItselfAndTheLayersBelow) {
  std::vector<std::string> bad;
  size_t files = 0;
  for (const auto& [layer, may] : allowed()) {
    for (const auto& path : sourcesUnder(fs::path(kSourceDir) / layer)) {
      ++files;
      auto v = violations(path, may, layer + "/");
      bad.insert(bad.end(), v.begin(), v.end());
    }
  }
  EXPECT_GT(files, 100u) << "the layer folders were not found under " << kSourceDir;
  EXPECT_TRUE(bad.empty()) << "includes pointing up or sideways:\n" << joined(bad);
}

TEST(Layering, TestsIncludeOnlyTheLayerTheyMirrorAndBelow) {
  std::vector<std::string> bad;
  for (const auto& [layer, may] : allowed()) {
    for (const auto& path : sourcesUnder(fs::path(kSourceDir) / "tests" / layer)) {
      auto v = violations(path, may, "tests/" + layer + "/");
      bad.insert(bad.end(), v.begin(), v.end());
      for (const Include& inc : includesOf(path)) {
        const std::string& t = inc.target;
        if (topFolder(t) == "tests" && t.rfind("tests/testlib/", 0) != 0 &&
            t.rfind("tests/" + layer + "/", 0) != 0) {
          bad.push_back(inc.file + ":" + std::to_string(inc.line) + ": includes \"" + t +
                        "\" (tests share fixtures only through tests/testlib/)");
        }
      }
    }
  }
  EXPECT_TRUE(bad.empty()) << joined(bad);
}

TEST(Layering, NothingOutsideCliIncludesCli) {
  std::vector<std::string> bad;
  for (const char* dir :
       {"model", "rules", "kube", "audit", "webhook", "migrate", "tests", "bench", "fuzz"}) {
    for (const auto& path : sourcesUnder(fs::path(kSourceDir) / dir)) {
      for (const Include& inc : includesOf(path)) {
        if (topFolder(inc.target) == "cli") {
          bad.push_back(inc.file + ":" + std::to_string(inc.line) + ": includes \"" + inc.target +
                        "\"");
        }
      }
    }
  }
  EXPECT_TRUE(bad.empty()) << joined(bad);
}

// No source of the product sits outside a layer folder (a new top-level folder would escape the
// checks above).
TEST(Layering, EveryProductSourceIsInALayerFolder) {
  std::vector<std::string> stray;
  for (const auto& e : fs::directory_iterator(kSourceDir)) {
    if (!e.is_directory()) {
      const std::string ext = e.path().extension().string();
      if (ext == ".h" || ext == ".cc") {
        stray.push_back(e.path().filename().string());
      }
      continue;
    }
    const std::string name = e.path().filename().string();
    if (allowed().count(name) != 0 || name == "tests" || name == "bench" || name == "fuzz" ||
        name.rfind("build", 0) == 0 || name[0] == '.') {
      continue;
    }
    for (const auto& path : sourcesUnder(e.path())) {
      stray.push_back(fs::relative(path, kSourceDir).string());
    }
  }
  EXPECT_TRUE(stray.empty()) << "sources outside the layer folders:\n" << joined(stray);
}

// The check itself can fail: an include from model/ of rules/ is reported.
TEST(Layering, ReportsAnUpwardInclude) {
  const fs::path dir = fs::temp_directory_path() / ("ag-layering-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "bad.h";
  std::ofstream(file) << "#pragma once\n#include \"model/objects.h\"\n#include \"rules/rule.h\"\n";
  auto v = violations(file, allowed().at("model"), "model/");
  fs::remove_all(dir);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_NE(v[0].find(":3: model/ includes \"rules/rule.h\""), std::string::npos) << v[0];
}

}  // namespace
