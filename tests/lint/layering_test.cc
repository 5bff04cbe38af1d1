// Enforces the allowed dependency directions between Augur's parts (shared/reference/style.md
// §5.2): CMake cannot stop a .cc from including another part's header, so this test reads
// every #include under include/augur and src and fails on an arrow that is not allowed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>

namespace fs = std::filesystem;

namespace {

// part -> parts it may include (besides itself). Parts not listed yet may include nothing.
const std::map<std::string, std::set<std::string>> kAllowed = {
    {"core", {}},
    // Header-only helpers shared by several parts (src/common/, never in include/).
    {"common", {"core"}},
    {"stats", {"core"}},
    {"judge", {"core", "stats"}},
    {"sources", {"core", "common"}},
    // The archive provider reads Kayenta's metricSetPairList through contracts (one parser).
    {"sources_archive", {"core", "common", "sources", "contracts", "judge"}},
    {"routers", {"core", "common"}},
    {"notifiers", {"core", "common"}},
    {"analysis", {"core", "judge", "stats", "sources"}},
    {"rollout", {"core", "analysis", "judge", "stats", "routers", "notifiers", "common"}},
    {"contracts", {"core", "judge", "stats", "rollout", "routers"}},
    {"config", {"core", "judge", "contracts", "common"}},
    {"store", {"core"}},
    {"demo", {}},
    {"replay",
     {"core", "rollout", "analysis", "judge", "stats", "sources", "routers", "contracts",
      "config"}},
    {"server",
     {"core", "contracts", "config", "analysis", "judge", "stats", "store", "common", "sources",
      "rollout", "routers", "notifiers", "replay"}},
    {"cli", {"*"}},
    {"app", {"*"}},
};

// Third-party headers a part may use; public headers may use none of these.
const std::map<std::string, std::set<std::string>> kThirdParty = {
    {"stats", {"boost", "Eigen", "hwy"}},
    {"contracts", {"nlohmann"}},
    {"sources", {"yaml-cpp", "httplib.h", "nlohmann"}},
    {"sources_archive", {"nlohmann", "zlib.h"}},
    {"routers", {"httplib.h", "nlohmann"}},
    {"notifiers", {"httplib.h", "nlohmann"}},
    {"replay", {"nlohmann"}},
    {"common", {"yaml-cpp", "httplib.h"}},
    {"config", {"nlohmann", "yaml-cpp"}},
    {"store", {"sqlite3.h"}},
    {"rollout", {"yaml-cpp"}},
    {"demo", {"httplib.h", "prometheus"}},
    {"server", {"httplib.h", "prometheus", "nlohmann"}},
};
const std::set<std::string> kKnownThirdParty = {
    "boost", "Eigen", "nlohmann", "httplib.h", "prometheus", "yaml-cpp", "sqlite3.h", "zlib.h", "hwy"};

std::string PartOf(const fs::path& rel) {  // rel: "src/stats/x.cc" or "include/augur/stats/x.h"
  auto it = rel.begin();
  if (*it == "include") ++it;  // include/augur/<part>
  ++it;
  const std::string part = it->string();
  // Providers of a kind that need more than the kind's interface get their own row.
  if (part == "sources" && ++it != rel.end() && it->string() == "archive") return "sources_archive";
  return part;
}

TEST(Layering, IncludesFollowAllowedDirections) {
  const fs::path root = AUGUR_SOURCE_DIR;
  const std::regex include_re(R"(^\s*#\s*include\s*[<"]([^">]+)[">])");
  int files = 0;
  for (const char* top : {"include/augur", "src"}) {
    for (const auto& entry : fs::recursive_directory_iterator(root / top)) {
      if (!entry.is_regular_file()) continue;
      const auto ext = entry.path().extension();
      if (ext != ".h" && ext != ".cc") continue;
      ++files;
      const fs::path rel = fs::relative(entry.path(), root);
      const std::string part = PartOf(rel);
      const bool is_public = rel.begin()->string() == "include";
      ASSERT_TRUE(kAllowed.count(part)) << rel << ": part '" << part << "' missing from the table";
      const auto& allowed = kAllowed.at(part);
      std::ifstream in(entry.path());
      std::string line;
      int lineno = 0;
      while (std::getline(in, line)) {
        ++lineno;
        std::smatch m;
        if (!std::regex_search(line, m, include_re)) continue;
        const std::string inc = m[1];
        const std::string first = inc.substr(0, inc.find('/'));
        std::string target;
        if (first == "augur") {
          const std::string rest = inc.substr(6);
          target = rest.substr(0, rest.find('/'));
        } else if (kAllowed.count(first) && inc.find('/') != std::string::npos) {
          target = first;  // private header "stats/sort.h"
          EXPECT_FALSE(is_public) << rel << ":" << lineno << " public header includes private "
                                  << inc;
          if (target != "common") {
            EXPECT_EQ(target, part)
                << rel << ":" << lineno << " private headers stay in their part";
          }
        } else if (kKnownThirdParty.count(first)) {
          // nlohmann/json_fwd.hpp only declares the json types: a public header of a part that
          // may use nlohmann can take a parsed document without pulling the parser into every
          // includer (contracts' JudgeDataFromJson, which spares the daemon a re-parse).
          const bool declarations_only = inc == "nlohmann/json_fwd.hpp";
          EXPECT_TRUE(!is_public || declarations_only)
              << rel << ":" << lineno << " public header includes " << inc;
          if (!allowed.count("*")) {
            const auto tp = kThirdParty.find(part);
            EXPECT_TRUE(tp != kThirdParty.end() && tp->second.count(first))
                << rel << ":" << lineno << " part '" << part << "' may not use " << inc;
          }
          continue;
        } else {
          continue;  // standard library
        }
        if (target == part || allowed.count("*")) continue;
        EXPECT_TRUE(allowed.count(target))
            << rel << ":" << lineno << " '" << part << "' may not depend on '" << target << "'";
      }
    }
  }
  EXPECT_GT(files, 10);
}

TEST(Layering, StatsDoesNoIo) {
  const fs::path root = AUGUR_SOURCE_DIR;
  for (const char* dir : {"src/stats", "include/augur/stats"}) {
    for (const auto& entry : fs::recursive_directory_iterator(root / dir)) {
      std::ifstream in(entry.path());
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      for (const char* banned :
           {"<iostream>", "<fstream>", "<cstdio>", "<filesystem>", "std::cout"}) {
        EXPECT_EQ(text.find(banned), std::string::npos) << entry.path() << " uses " << banned;
      }
    }
  }
}

}  // namespace
