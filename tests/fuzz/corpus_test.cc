// Replays the fuzz corpus through the fuzzers' invariant checks in the normal build (any
// compiler, no libFuzzer needed), and pins the bugs fuzzing found as regression tests.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "augur/sources/prometheus_client.h"
#include "checks.h"
#include "sources/prometheus_client_internal.h"

namespace augur::fuzz {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> CorpusFiles(const char* name) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(fs::path(AUGUR_FUZZ_CORPUS_DIR) / name)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  return files;
}

std::string Slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string QueryCorpus(const char* name) {
  return Slurp(fs::path(AUGUR_FUZZ_CORPUS_DIR) / "query_response" / name);
}

TEST(FuzzCorpusTest, ExpositionCorpusHoldsTheInvariants) {
  const auto files = CorpusFiles("exposition");
  EXPECT_GE(files.size(), 5u);
  for (const fs::path& file : files) {
    EXPECT_EQ(CheckExposition(Slurp(file)), "") << file;
  }
}

TEST(FuzzCorpusTest, QueryResponseCorpusHoldsTheInvariants) {
  const auto files = CorpusFiles("query_response");
  EXPECT_GE(files.size(), 5u);
  for (const fs::path& file : files) {
    EXPECT_EQ(CheckQueryResponse(Slurp(file)), "") << file;
  }
}

TEST(FuzzCorpusTest, ChecksAreNotVacuous) {
  // Accepted, so the round trips ran.
  EXPECT_EQ(CheckExposition("a{b=\"c\"} 1\n# EOF\n"), "");
  EXPECT_EQ(
      CheckQueryResponse(R"({"status":"success","data":{"resultType":"vector","result":[]}})"), "");
  // The scanner handles Prometheus's usual answers itself (else the fast path would be dead
  // code and the differential check empty) ...
  for (const char* name : {"haproxy_matrix.json", "matrix_special_values.json",
                           "vector_warnings.json", "extra_keys.json"}) {
    EXPECT_TRUE(sources::internal::ScanQueryResponse(QueryCorpus(name)).has_value()) << name;
  }
  // ... and leaves escapes, errors, scalars and unusual member order to the DOM path.
  for (const char* name : {"escapes_unicode_numbers.json", "error_timeout.json", "scalar.json",
                           "descending_timestamps.json", "reordered_extra_keys.json"}) {
    EXPECT_FALSE(sources::internal::ScanQueryResponse(QueryCorpus(name)).has_value()) << name;
  }
}

// Found while writing the fuzzer: to quote a malformed point in the error message the DOM path
// called nlohmann's dump(), which recurses once per nesting level, so 100,000 nested arrays
// (200 KB) overflowed the stack.
TEST(FuzzRegressionTest, DeeplyNestedPointIsBadDataNotAStackOverflow) {
  for (const std::string type : {"matrix", "vector"}) {
    const int depth = 200'000;  // 100,000 was enough to crash
    std::string body = R"({"status":"success","data":{"resultType":")" + type +
                       R"(","result":[{"metric":{},"value)";
    body += type == "matrix" ? "s\":[" : "\":";
    body.append(depth, '[');
    body.append(depth, ']');
    body += type == "matrix" ? "]}]}}" : "}]}}";
    auto r = sources::ParseQueryResponse(body);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kBadData);
    EXPECT_LT(r.error().message.size(), 300u) << r.error().message;
  }
}

// The header promises ascending timestamps per series (and PrometheusClient's stitching of
// split range queries relies on it); the parser used to pass any order through.
TEST(FuzzRegressionTest, NonAscendingMatrixTimestampsAreBadData) {
  for (const char* values :
       {R"([[1700000015,"1"],[1700000000,"2"]])", R"([[1700000000,"1"],[1700000000,"2"]])",
        R"([[1700000000.0004,"1"],[1700000000.0001,"2"]])"}) {
    const std::string body =
        std::string(R"({"status":"success","data":{"resultType":"matrix","result":[)") +
        R"({"metric":{"job":"x"},"values":)" + values + "}]}}";
    auto r = sources::ParseQueryResponse(body);
    ASSERT_FALSE(r) << values;
    EXPECT_EQ(r.error().code, ErrorCode::kBadData);
    EXPECT_NE(r.error().message.find("ascending"), std::string::npos) << r.error().message;
  }
}

// nlohmann's parse error quotes the offending token whole, and the message used to carry it:
// a 5 KB unterminated string gave a 5 KB error message (a 256 MB body, a 256 MB log line).
TEST(FuzzRegressionTest, InvalidJsonMessageIsBounded) {
  auto repeat = [](std::string prefix, char c) { return prefix.append(5000, c); };
  for (const std::string& body :
       {repeat("\"", 'a'), repeat("[", '1') + "]", repeat(R"({"status":")", 'x')}) {
    auto r = sources::ParseQueryResponse(body);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kBadData);
    EXPECT_LT(r.error().message.size(), 300u) << r.error().message;
    EXPECT_EQ(CheckQueryResponse(body), "");
  }
}

}  // namespace
}  // namespace augur::fuzz
